#include "core/alloc.h"
#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

tp_status tp_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *len, tp_err *err) {
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(err, TP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tp_fail(err, TP_ERR_IO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return tp_fail(err, TP_ERR_FORMAT, "%s is %lld bytes, more than the limit of %zu", path,
                       (long long)st.st_size, max_bytes);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = tp_malloc(n + 1, err);
    if (!buf) {
        close(fd);
        return TP_ERR_NOMEM;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return tp_fail(err, TP_ERR_IO, "reading %s: %s", path, r < 0 ? strerror(errno) : "file shrank");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    *out = buf;
    *len = n;
    return TP_OK;
}

tp_status tp_atomic_open(tp_atomic_file *af, const char *path, tp_err *err) {
    af->f = NULL;
    if (snprintf(af->path, sizeof af->path, "%s", path) >= (int)sizeof af->path)
        return tp_fail(err, TP_ERR_ARG, "path too long: %s", path);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) return tp_fail(err, TP_ERR_IO, "cannot create %s: %s", af->tmp, strerror(errno));
    return TP_OK;
}

tp_status tp_atomic_write(tp_atomic_file *af, const void *data, size_t len, tp_err *err) {
    if (len && fwrite(data, 1, len, af->f) != len)
        return tp_fail(err, TP_ERR_IO, "writing %s: %s", af->tmp, strerror(errno));
    return TP_OK;
}

tp_status tp_atomic_commit(tp_atomic_file *af, tp_err *err) {
    int bad = fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    bad |= fclose(af->f) != 0;
    af->f = NULL;
    if (bad) {
        unlink(af->tmp);
        return tp_fail(err, TP_ERR_IO, "writing %s: %s", af->tmp, strerror(saved));
    }
    if (rename(af->tmp, af->path) != 0) {
        saved = errno;
        unlink(af->tmp);
        return tp_fail(err, TP_ERR_IO, "renaming %s to %s: %s", af->tmp, af->path, strerror(saved));
    }
    return TP_OK;
}

void tp_atomic_abort(tp_atomic_file *af) {
    if (af->f) fclose(af->f);
    af->f = NULL;
    unlink(af->tmp);
}

tp_status tp_write_file_atomic(const char *path, const void *data, size_t len, tp_err *err) {
    tp_atomic_file af;
    tp_status st = tp_atomic_open(&af, path, err);
    if (st) return st;
    if ((st = tp_atomic_write(&af, data, len, err))) {
        tp_atomic_abort(&af);
        return st;
    }
    return tp_atomic_commit(&af, err);
}

tp_status tp_mkdirs(const char *path, tp_err *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return tp_fail(err, TP_ERR_ARG, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return tp_fail(err, TP_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return tp_fail(err, TP_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
    return TP_OK;
}

tp_status tp_remove_tree(const char *path, tp_err *err) {
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? TP_OK : tp_fail(err, TP_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return tp_fail(err, TP_ERR_IO, "cannot open directory %s: %s", path, strerror(errno));
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char child[4096];
            if (tp_path_join(child, sizeof child, path, e->d_name, err) || tp_remove_tree(child, err)) {
                closedir(d);
                return err->code;
            }
        }
        closedir(d);
        if (rmdir(path) != 0) return tp_fail(err, TP_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    } else if (unlink(path) != 0) {
        return tp_fail(err, TP_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    return TP_OK;
}

tp_status tp_replace_dir(const char *src, const char *dst, tp_err *err) {
    char old[4200];
    snprintf(old, sizeof old, "%s.old.%ld", dst, (long)getpid());
    int had_old = tp_path_exists(dst);
    if (had_old && rename(dst, old) != 0)
        return tp_fail(err, TP_ERR_IO, "moving %s aside: %s", dst, strerror(errno));
    if (rename(src, dst) != 0) {
        int saved = errno;
        if (had_old) rename(old, dst);
        return tp_fail(err, TP_ERR_IO, "renaming %s to %s: %s", src, dst, strerror(saved));
    }
    return had_old ? tp_remove_tree(old, err) : TP_OK;
}

int tp_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int tp_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

tp_status tp_path_join(char *out, size_t n, const char *a, const char *b, tp_err *err) {
    if (snprintf(out, n, "%s/%s", a, b) >= (int)n) return tp_fail(err, TP_ERR_ARG, "path too long: %s/%s", a, b);
    return TP_OK;
}

void tp_fsync_dir_of(const char *path) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir) dir[1] = 0;
    else if (slash) *slash = 0;
    else snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}
