/* The file:// backend: the URI's path is the bucket directory, a key is a relative file path below
 * it. Writes go to a hidden temporary file in the target's directory (TP_STORE_PART_PREFIX), are
 * fsynced and renamed into place, so readers see the old object or the new one, never a part.
 * The file's mtime is LastModified. A key cannot be both an object and a "directory" ("a" and
 * "a/b"), unlike S3; templar's key scheme never needs that. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/store_internal.h"
#include "core/alloc.h"

/* File times have nanosecond fields but the kernel stamps them from its coarse clock, up to a timer
 * tick behind the wall clock: the put-window check must allow for that. */
#define FILE_MTIME_RES 0.02

#define COPY_CHUNK (1 << 20)
#define MAX_DEPTH 128

tp_status tp_file_open(tp_store *s, const char *path, const char *given, tp_err *err) {
    if (!*path) return tp_fail(err, TP_ERR_ARG, "store URI '%s' names no directory (use file:///abs/dir or file://rel/dir)", given);
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20) return tp_fail(err, TP_ERR_ARG, "store URI '%s' has a control character", given);
    if (snprintf(s->dir, sizeof s->dir, "%s", path) >= (int)sizeof s->dir)
        return tp_fail(err, TP_ERR_ARG, "store URI '%s': path too long", given);
    return TP_OK;
}

static tp_status key_path(tp_store *s, const char *key, char *out, size_t n, tp_err *err) {
    if (snprintf(out, n, "%s/%s", s->dir, key) >= (int)n)
        return tp_fail(err, TP_ERR_ARG, "%s/%s: path too long", s->uri, key);
    return TP_OK;
}

static tp_fetch not_found(tp_store *s, const char *key, tp_err *err) {
    struct stat sb;
    if (stat(s->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        tp_fail(err, TP_ERR_IO, "%s/%s: not found (no bucket directory %s)", s->uri, key, s->dir);
    else
        tp_fail(err, TP_ERR_IO, "%s/%s: not found", s->uri, key);
    return TP_FETCH_NOT_FOUND;
}

static void fill_stat(const struct stat *sb, tp_store_stat *st) {
    st->size = (uint64_t)sb->st_size;
    st->mtime = (double)sb->st_mtim.tv_sec + (double)sb->st_mtim.tv_nsec * 1e-9;
    st->mtime_res = FILE_MTIME_RES;
}

static int write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Copies src into fd; -1 with errno on failure (*src_failed says which side). */
static int copy_file(const char *src, int fd, int *src_failed) {
    *src_failed = 1;
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return -1;
    struct stat sb;
    if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(in);
        errno = EINVAL;
        return -1;
    }
    tp_err e;
    uint8_t *buf = tp_malloc(COPY_CHUNK, &e);
    if (!buf) {
        close(in);
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0) break;
        if (write_all(fd, buf, (size_t)r)) {
            *src_failed = 0;
            rc = -1;
            break;
        }
    }
    int saved = errno;
    free(buf);
    close(in);
    errno = saved;
    return rc;
}

tp_status tp_file_put(tp_store *s, const char *key, const void *data, size_t len, const char *src_path, tp_err *err) {
    char path[4096], dir[4096], tmp[4200];
    tp_status st = key_path(s, key, path, sizeof path, err);
    if (st) return st;
    memcpy(dir, path, sizeof dir);
    char *slash = strrchr(dir, '/');
    *slash = 0; /* key_path always put one in */
    if ((st = tp_mkdirs(dir, err))) return tp_wrap(err, "%s/%s", s->uri, key);
    /* Unique per process and call, so concurrent writers of one key never share a temporary file. */
    snprintf(tmp, sizeof tmp, "%s/" TP_STORE_PART_PREFIX "%ld-%016llx", dir, (long)getpid(),
             (unsigned long long)tp_rng_next(&s->rng));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return tp_fail(err, TP_ERR_IO, "%s/%s: cannot create %s: %s", s->uri, key, tmp, strerror(errno));
    int bad = 0, src_failed = 0;
    if (src_path) bad = copy_file(src_path, fd, &src_failed);
    else bad = write_all(fd, data, len);
    int saved = errno;
    if (!bad) {
        /* mtime is the upload time readers judge (DESIGN §6): stamp it when the bytes are complete. */
        bad = fsync(fd) != 0 || futimens(fd, NULL) != 0;
        saved = errno;
    }
    if (close(fd) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (!bad && rename(tmp, path) != 0) {
        bad = 1;
        saved = errno;
    }
    if (bad) {
        unlink(tmp);
        if (src_failed) return tp_fail(err, TP_ERR_IO, "%s/%s: cannot read %s: %s", s->uri, key, src_path, strerror(saved));
        return tp_fail(err, TP_ERR_IO, "%s/%s: writing %s: %s", s->uri, key, path, strerror(saved));
    }
    tp_fsync_dir_of(path); /* the rename itself made durable */
    return TP_OK;
}

static int open_object(tp_store *s, const char *key, struct stat *sb, tp_fetch *f, tp_err *err) {
    char path[4096];
    if (key_path(s, key, path, sizeof path, err)) {
        *f = TP_FETCH_ERROR;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) *f = not_found(s, key, err);
        else {
            tp_fail(err, TP_ERR_IO, "%s/%s: cannot open %s: %s", s->uri, key, path, strerror(errno));
            *f = TP_FETCH_ERROR;
        }
        return -1;
    }
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        /* A directory where a key was asked for: on S3 that key would simply not exist. */
        *f = not_found(s, key, err);
        return -1;
    }
    return fd;
}

tp_fetch tp_file_get(tp_store *s, const char *key, uint64_t max_bytes, double not_before, double not_after,
                     tp_sink *sink, tp_store_stat *st, uint64_t *received, tp_err *err) {
    struct stat sb;
    tp_fetch f = TP_FETCH_OK;
    int fd = open_object(s, key, &sb, &f, err);
    if (fd < 0) return f;
    fill_stat(&sb, st);
    f = tp_store_judge_time(st->mtime, st->mtime_res, not_before, not_after);
    if (f != TP_FETCH_OK) {
        close(fd);
        char t[40];
        tp_store_format_time(st->mtime, t, sizeof t);
        tp_fail(err, TP_ERR_IO, "%s/%s: stored at %s, %s the put window", s->uri, key, t,
                f == TP_FETCH_TOO_EARLY ? "before" : "after");
        return f;
    }
    if (st->size > max_bytes) {
        close(fd);
        tp_fail(err, TP_ERR_FORMAT, "%s/%s: %llu bytes, more than the limit of %llu", s->uri, key,
                (unsigned long long)st->size, (unsigned long long)max_bytes);
        return TP_FETCH_TOO_BIG;
    }
    if (tp_sink_reserve(sink, st->size, err)) {
        close(fd);
        return TP_FETCH_ERROR;
    }
    uint8_t *buf = tp_malloc(COPY_CHUNK, err);
    if (!buf) {
        close(fd);
        tp_fail(err, TP_ERR_NOMEM, "out of memory reading %s/%s", s->uri, key);
        return TP_FETCH_ERROR;
    }
    uint64_t total = 0;
    f = TP_FETCH_OK;
    for (;;) {
        ssize_t r = read(fd, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            tp_fail(err, TP_ERR_IO, "%s/%s: read: %s", s->uri, key, strerror(errno));
            f = TP_FETCH_ERROR;
            break;
        }
        if (r == 0) break;
        total += (uint64_t)r;
        if (received) *received += (uint64_t)r;
        /* The file may have been replaced by a bigger one between fstat and read; the limit holds. */
        if (total > max_bytes) {
            tp_fail(err, TP_ERR_FORMAT, "%s/%s: more than the limit of %llu bytes", s->uri, key,
                    (unsigned long long)max_bytes);
            f = TP_FETCH_TOO_BIG;
            break;
        }
        if (tp_sink_write(sink, buf, (size_t)r, err)) {
            tp_wrap(err, "%s/%s", s->uri, key);
            f = TP_FETCH_ERROR;
            break;
        }
    }
    free(buf);
    close(fd);
    if (f == TP_FETCH_OK) st->size = total;
    return f;
}

tp_fetch tp_file_head(tp_store *s, const char *key, tp_store_stat *st, tp_err *err) {
    struct stat sb;
    tp_fetch f = TP_FETCH_OK;
    int fd = open_object(s, key, &sb, &f, err);
    if (fd < 0) return f;
    fill_stat(&sb, st);
    close(fd);
    return TP_FETCH_OK;
}

tp_status tp_file_delete(tp_store *s, const char *key, tp_err *err) {
    char path[4096];
    tp_status st = key_path(s, key, path, sizeof path, err);
    if (st) return st;
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) return TP_OK; /* not an object: nothing to delete */
    if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR)
        return tp_fail(err, TP_ERR_IO, "%s/%s: cannot remove %s: %s", s->uri, key, path, strerror(errno));
    /* Drop directories the key's removal left empty, so old windows do not pile up as empty
     * folders; rmdir refuses non-empty ones, which ends the walk. */
    size_t root = strlen(s->dir);
    for (char *slash = strrchr(path, '/'); slash && (size_t)(slash - path) > root; slash = strrchr(path, '/')) {
        *slash = 0;
        if (rmdir(path) != 0) break;
    }
    return TP_OK;
}

typedef struct {
    tp_store *s;
    const char *prefix;
    size_t prefix_len;
    tp_store_list *out;
    tp_err *err;
} walk_ctx;

/* Could a key starting with rel + "/" match the prefix? */
static int subtree_may_match(const char *rel, size_t rel_len, const walk_ctx *w) {
    size_t n = rel_len + 1 < w->prefix_len ? rel_len + 1 : w->prefix_len;
    if (n <= rel_len) return strncmp(rel, w->prefix, n) == 0;
    return strncmp(rel, w->prefix, rel_len) == 0 && w->prefix[rel_len] == '/';
}

static tp_status walk(walk_ctx *w, char *rel, size_t rel_len, size_t rel_cap, int depth) {
    char dirpath[8192];
    if (snprintf(dirpath, sizeof dirpath, "%s%s%.*s", w->s->dir, rel_len ? "/" : "", (int)rel_len, rel) >=
        (int)sizeof dirpath)
        return tp_fail(w->err, TP_ERR_IO, "%s: path too long below %s", w->s->uri, w->s->dir);
    if (depth > MAX_DEPTH) return tp_fail(w->err, TP_ERR_IO, "%s: directories nested deeper than %d", w->s->uri, MAX_DEPTH);
    DIR *d = opendir(dirpath);
    if (!d) {
        if (!rel_len)
            return tp_fail(w->err, TP_ERR_IO, "%s: no bucket directory %s: %s", w->s->uri, w->s->dir, strerror(errno));
        return TP_OK; /* removed while we walked: nothing to list */
    }
    tp_status st = TP_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        const char *name = e->d_name;
        if (!strcmp(name, ".") || !strcmp(name, "..") ||
            !strncmp(name, TP_STORE_PART_PREFIX, strlen(TP_STORE_PART_PREFIX)))
            continue;
        size_t nl = strlen(name), child_len = rel_len + (rel_len ? 1 : 0) + nl;
        if (child_len >= rel_cap) continue; /* longer than any valid key */
        if (rel_len) rel[rel_len] = '/';
        memcpy(rel + rel_len + (rel_len ? 1 : 0), name, nl + 1);
        struct stat sb;
        if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
            if (S_ISDIR(sb.st_mode)) {
                if (subtree_may_match(rel, child_len, w)) st = walk(w, rel, child_len, rel_cap, depth + 1);
            } else if (S_ISREG(sb.st_mode) && child_len <= TP_STORE_KEY_MAX &&
                       !strncmp(rel, w->prefix, w->prefix_len)) {
                st = tp_store_list_add(w->out, rel, child_len, (uint64_t)sb.st_size,
                                       (double)sb.st_mtim.tv_sec + (double)sb.st_mtim.tv_nsec * 1e-9, w->err);
            }
        }
        rel[rel_len] = 0;
    }
    closedir(d);
    return st;
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const tp_store_entry *)a)->key, ((const tp_store_entry *)b)->key);
}

tp_status tp_file_list(tp_store *s, const char *prefix, tp_store_list *out, tp_err *err) {
    char rel[TP_STORE_KEY_MAX + 256] = {0};
    walk_ctx w = {s, prefix, strlen(prefix), out, err};
    out->mtime_res = FILE_MTIME_RES;
    tp_status st = walk(&w, rel, 0, sizeof rel, 0);
    if (st) return st;
    if (out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_entry);
    return TP_OK;
}
