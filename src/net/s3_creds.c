/* S3 credentials: the standard AWS environment variables, else an INI credentials file that only
 * its owner can access. Messages name variables, files and line numbers, never values. */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/store.h"
#include "core/alloc.h"
#include "net/wallet.h"

#define CREDS_FILE_MAX (64 * 1024)

void tp_store_creds_clear(tp_store_creds *c) { sodium_memzero(c, sizeof *c); }

static tp_status set_field(char *dst, size_t n, const char *src, size_t len, const char *what, const char *where,
                           tp_err *err) {
    if (len >= n) return tp_fail(err, TP_ERR_CONFIG, "%s in %s is too long", what, where);
    memcpy(dst, src, len);
    dst[len] = 0;
    return TP_OK;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Parses one profile out of an INI buffer. *found: the profile exists. */
static tp_status parse_ini(char *text, const char *path, const char *profile, tp_store_creds *c, int *found,
                           tp_err *err) {
    *found = 0;
    int in_profile = 0, line_no = 0;
    for (char *line = text, *next; line; line = next) {
        /* One line at a time, blank ones counted, so messages can give the right line number. */
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        while (is_blank(*line)) line++;
        size_t n = strlen(line);
        while (n && is_blank(line[n - 1])) line[--n] = 0;
        if (!n || line[0] == '#' || line[0] == ';') continue;
        if (line[0] == '[') {
            if (line[n - 1] != ']') return tp_fail(err, TP_ERR_CONFIG, "%s line %d: unterminated section header", path, line_no);
            line[n - 1] = 0;
            char *name = line + 1;
            while (is_blank(*name)) name++;
            if (!strncmp(name, "profile ", 8)) name += 8;
            while (is_blank(*name)) name++;
            size_t k = strlen(name);
            while (k && is_blank(name[k - 1])) name[--k] = 0;
            in_profile = !strcmp(name, profile);
            if (in_profile) *found = 1;
            continue;
        }
        if (!in_profile) continue;
        char *eq = strchr(line, '=');
        if (!eq) return tp_fail(err, TP_ERR_CONFIG, "%s line %d: expected 'name = value'", path, line_no);
        char *kend = eq;
        while (kend > line && is_blank(kend[-1])) kend--;
        *kend = 0;
        char *val = eq + 1;
        while (is_blank(*val)) val++;
        size_t vlen = strlen(val);
        tp_status st = TP_OK;
        if (!strcmp(line, "aws_access_key_id"))
            st = set_field(c->access_key, sizeof c->access_key, val, vlen, "aws_access_key_id", path, err);
        else if (!strcmp(line, "aws_secret_access_key"))
            st = set_field(c->secret_key, sizeof c->secret_key, val, vlen, "aws_secret_access_key", path, err);
        else if (!strcmp(line, "aws_session_token"))
            st = set_field(c->session_token, sizeof c->session_token, val, vlen, "aws_session_token", path, err);
        else if (!strcmp(line, "region"))
            st = set_field(c->region, sizeof c->region, val, vlen, "region", path, err);
        if (st) return st;
    }
    return TP_OK;
}

/* Loads profile from path if the file exists. *exists and *found report what was there. */
static tp_status load_file(const char *path, const char *profile, tp_store_creds *c, int *exists, int *found,
                           tp_err *err) {
    *exists = *found = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) return TP_OK;
        return tp_fail(err, TP_ERR_CONFIG, "cannot open credentials file %s: %s", path, strerror(errno));
    }
    *exists = 1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tp_fail(err, TP_ERR_CONFIG, "credentials file %s is not a regular file", path);
    }
    /* Secrets that others can read (or replace) are not secrets: refuse, as ssh does. */
    if (sb.st_mode & 077) {
        close(fd);
        return tp_fail(err, TP_ERR_CONFIG, "credentials file %s is accessible by group or others (mode %04o); run chmod 600 %s",
                       path, (unsigned)(sb.st_mode & 07777), path);
    }
    if (sb.st_size > CREDS_FILE_MAX) {
        close(fd);
        return tp_fail(err, TP_ERR_CONFIG, "credentials file %s is larger than %d bytes", path, CREDS_FILE_MAX);
    }
    char *buf = tp_malloc(CREDS_FILE_MAX + 1, err);
    if (!buf) {
        close(fd);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, CREDS_FILE_MAX - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
        if (got == CREDS_FILE_MAX) break;
    }
    close(fd);
    buf[got] = 0;
    tp_status st = memchr(buf, 0, got) ? tp_fail(err, TP_ERR_CONFIG, "credentials file %s holds a NUL byte", path)
                                       : parse_ini(buf, path, profile, c, found, err);
    sodium_memzero(buf, CREDS_FILE_MAX + 1);
    free(buf);
    if (st) return st;
    if (*found && (!c->access_key[0] || !c->secret_key[0]))
        return tp_fail(err, TP_ERR_CONFIG, "profile [%s] in %s lacks aws_access_key_id or aws_secret_access_key", profile,
                       path);
    return TP_OK;
}

static const char *env_region(void) {
    const char *r = getenv("AWS_REGION");
    return r && *r ? r : getenv("AWS_DEFAULT_REGION");
}

void tp_store_env_region(char *out, size_t n) {
    const char *r = env_region();
    snprintf(out, n, "%s", r ? r : "");
}

tp_status tp_store_creds_load(tp_store_creds *c, int *found, tp_err *err) {
    memset(c, 0, sizeof *c);
    *found = 0;
    const char *region = env_region();
    if (region && *region &&
        set_field(c->region, sizeof c->region, region, strlen(region), "AWS_REGION", "the environment", err))
        return TP_ERR_CONFIG;

    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    int have_ak = ak && *ak, have_sk = sk && *sk;
    if (have_ak != have_sk)
        return tp_fail(err, TP_ERR_CONFIG, "%s is set but %s is not", have_ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                       have_ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    if (have_ak) {
        const char *tok = getenv("AWS_SESSION_TOKEN");
        tp_status st = set_field(c->access_key, sizeof c->access_key, ak, strlen(ak), "AWS_ACCESS_KEY_ID", "the environment", err);
        if (!st) st = set_field(c->secret_key, sizeof c->secret_key, sk, strlen(sk), "AWS_SECRET_ACCESS_KEY", "the environment", err);
        if (!st && tok && *tok)
            st = set_field(c->session_token, sizeof c->session_token, tok, strlen(tok), "AWS_SESSION_TOKEN", "the environment", err);
        if (st) {
            tp_store_creds_clear(c);
            return st;
        }
        *found = 1;
        return TP_OK;
    }

    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";
    char home[4096], paths[3][4200];
    int np = 0, explicit_file = 0;
    const char *shared = getenv("AWS_SHARED_CREDENTIALS_FILE");
    if (shared && *shared) {
        snprintf(paths[np++], sizeof paths[0], "%s", shared);
        explicit_file = 1;
    } else {
        tp_err ignore;
        if (tp_wallet_home(home, sizeof home, &ignore) == TP_OK) snprintf(paths[np++], sizeof paths[0], "%s/credentials", home);
        const char *user = getenv("HOME");
        if (user && *user) snprintf(paths[np++], sizeof paths[0], "%s/.aws/credentials", user);
    }
    for (int i = 0; i < np; i++) {
        tp_store_creds fc;
        memset(&fc, 0, sizeof fc);
        int exists, in_file;
        tp_status st = load_file(paths[i], profile, &fc, &exists, &in_file, err);
        if (st) {
            tp_store_creds_clear(&fc);
            tp_store_creds_clear(c);
            return st;
        }
        if (explicit_file && !exists)
            return tp_fail(err, TP_ERR_CONFIG, "AWS_SHARED_CREDENTIALS_FILE names %s, which does not exist", paths[i]);
        if (explicit_file && !in_file)
            return tp_fail(err, TP_ERR_CONFIG, "credentials file %s has no profile [%s]", paths[i], profile);
        if (!in_file) {
            tp_store_creds_clear(&fc);
            continue;
        }
        memcpy(c->access_key, fc.access_key, sizeof c->access_key);
        memcpy(c->secret_key, fc.secret_key, sizeof c->secret_key);
        memcpy(c->session_token, fc.session_token, sizeof c->session_token);
        if (!c->region[0]) memcpy(c->region, fc.region, sizeof c->region);
        tp_store_creds_clear(&fc);
        *found = 1;
        return TP_OK;
    }
    return TP_OK;
}
