/* The store interface: URI dispatch, key rules, the download sink, and what both backends share. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "net/store_internal.h"

void tp_store_opts_default(tp_store_opts *o) {
    o->connect_timeout_s = 10;
    o->low_speed_time_s = 30;
    o->low_speed_bps = 1024;
    o->request_timeout_s = 0;
    o->max_attempts = 4;
    o->backoff_s = 0.25;
    o->list_page_size = 0;
    o->sign_payload = 0;
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

tp_status tp_store_open(const char *uri, const tp_store_creds *creds, const tp_store_opts *opts, tp_store **out,
                        tp_err *err) {
    *out = NULL;
    if (!uri || !*uri) return tp_fail(err, TP_ERR_ARG, "empty store URI");
    size_t n = strlen(uri);
    if (n >= TP_STORE_URI_MAX) return tp_fail(err, TP_ERR_ARG, "store URI is longer than %d bytes", TP_STORE_URI_MAX - 1);
    tp_store *s = tp_calloc(1, sizeof *s, err);
    if (!s) return TP_ERR_NOMEM;
    memcpy(s->uri, uri, n + 1);
    /* Trailing slashes name the same bucket; keep one spelling for messages and comparisons. */
    while (n > 1 && s->uri[n - 1] == '/' && s->uri[n - 2] != '/') s->uri[--n] = 0;
    if (opts) s->opts = *opts;
    else tp_store_opts_default(&s->opts);
    if (s->opts.max_attempts < 1) s->opts.max_attempts = 1;
    /* Jitter only has to differ between processes retrying at once, not be unpredictable. */
    tp_rng_seed(&s->rng, (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)(tp_wall_now() * 1e9) ^
                             (uint64_t)(uintptr_t)s);
    tp_status st;
    if (has_prefix(s->uri, "file://")) {
        s->local = 1;
        st = tp_file_open(s, s->uri + 7, uri, err);
    } else if (has_prefix(s->uri, "s3://") || has_prefix(s->uri, "s3+http://") || has_prefix(s->uri, "s3+https://")) {
        st = tp_s3_open(s, uri, creds, err);
    } else {
        st = tp_fail(err, TP_ERR_ARG,
                     "store URI '%s' is not file://DIR, s3://BUCKET, s3+https://HOST[:PORT]/BUCKET or "
                     "s3+http://HOST[:PORT]/BUCKET",
                     uri);
    }
    if (st) {
        tp_store_close(s);
        return st;
    }
    *out = s;
    return TP_OK;
}

void tp_store_close(tp_store *s) {
    if (!s) return;
    if (!s->local) tp_s3_close(s);
    free(s);
}

const char *tp_store_uri(const tp_store *s) { return s->uri; }
int tp_store_is_local(const tp_store *s) { return s->local; }

tp_status tp_store_check_key(const char *key, tp_err *err) {
    if (!key || !*key) return tp_fail(err, TP_ERR_ARG, "empty object key");
    size_t n = strlen(key);
    if (n > TP_STORE_KEY_MAX) return tp_fail(err, TP_ERR_ARG, "object key is %zu bytes, more than %d", n, TP_STORE_KEY_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x20 || c == 0x7f) return tp_fail(err, TP_ERR_ARG, "object key has a control character at byte %zu", i);
    }
    const char *p = key;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return tp_fail(err, TP_ERR_ARG, "object key '%s' has an empty, '.' or '..' path component", key);
        if (!strncmp(p, TP_STORE_PART_PREFIX, strlen(TP_STORE_PART_PREFIX)))
            return tp_fail(err, TP_ERR_ARG, "object key '%s' uses the reserved prefix '%s'", key, TP_STORE_PART_PREFIX);
        if (!slash) break;
        p = slash + 1;
    }
    return TP_OK;
}

const char *tp_fetch_name(tp_fetch f) {
    switch (f) {
    case TP_FETCH_OK: return "OK";
    case TP_FETCH_NOT_FOUND: return "NOT_FOUND";
    case TP_FETCH_TOO_EARLY: return "TOO_EARLY";
    case TP_FETCH_TOO_LATE: return "TOO_LATE";
    case TP_FETCH_TOO_BIG: return "TOO_BIG";
    case TP_FETCH_ERROR: return "ERROR";
    }
    return "?";
}

/* ---- sink ---- */

#define SINK_IOBUF (1 << 20)

tp_status tp_sink_begin(tp_sink *k, const char *path, tp_err *err) {
    memset(k, 0, sizeof *k);
    if (!path) return TP_OK;
    k->to_file = 1;
    tp_status st = tp_atomic_open(&k->af, path, err);
    if (st) return st;
    /* Large writes: objects are megabytes and curl hands them over 16 KiB at a time. */
    tp_err ignored; /* without the larger buffer, writes still work */
    k->iobuf = tp_malloc(SINK_IOBUF, &ignored);
    if (k->iobuf) setvbuf(k->af.f, k->iobuf, _IOFBF, SINK_IOBUF);
    k->open = 1;
    return TP_OK;
}

tp_status tp_sink_reserve(tp_sink *k, uint64_t n, tp_err *err) {
    if (k->to_file || n + 1 <= k->cap) return TP_OK;
    if (n >= SIZE_MAX) return tp_fail(err, TP_ERR_NOMEM, "object of %llu bytes does not fit in memory", (unsigned long long)n);
    uint8_t *b = tp_realloc(k->buf, (size_t)n + 1, err);
    if (!b) return tp_fail(err, TP_ERR_NOMEM, "out of memory for an object of %llu bytes", (unsigned long long)n);
    k->buf = b;
    k->cap = (size_t)n + 1;
    return TP_OK;
}

tp_status tp_sink_write(tp_sink *k, const void *p, size_t n, tp_err *err) {
    if (k->to_file) return tp_atomic_write(&k->af, p, n, err);
    if (k->len + n + 1 > k->cap) {
        size_t want = k->cap ? k->cap : 64 * 1024;
        while (want < k->len + n + 1) want *= 2;
        tp_status st = tp_sink_reserve(k, want - 1, err);
        if (st) return st;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    return TP_OK;
}

tp_status tp_sink_reset(tp_sink *k, tp_err *err) {
    k->len = 0;
    if (!k->to_file) return TP_OK;
    if (fflush(k->af.f) != 0 || ftruncate(fileno(k->af.f), 0) != 0 || fseeko(k->af.f, 0, SEEK_SET) != 0)
        return tp_fail(err, TP_ERR_IO, "cannot rewind %s: %s", k->af.tmp, strerror(errno));
    return TP_OK;
}

tp_status tp_sink_commit(tp_sink *k, uint8_t **data, size_t *len, tp_err *err) {
    if (k->to_file) {
        k->open = 0;
        tp_status st = tp_atomic_commit(&k->af, err);
        free(k->iobuf);
        k->iobuf = NULL;
        return st;
    }
    tp_status st = tp_sink_reserve(k, k->len, err);
    if (st) return st;
    k->buf[k->len] = 0;
    if (data) {
        *data = k->buf;
        if (len) *len = k->len;
    } else {
        free(k->buf);
    }
    k->buf = NULL;
    k->len = k->cap = 0;
    return TP_OK;
}

void tp_sink_abort(tp_sink *k) {
    if (k->to_file && k->open) tp_atomic_abort(&k->af);
    k->open = 0;
    free(k->iobuf);
    k->iobuf = NULL;
    free(k->buf);
    k->buf = NULL;
    k->len = k->cap = 0;
}

/* ---- shared helpers ---- */

tp_fetch tp_store_judge_time(double t, double res, double not_before, double not_after) {
    if (not_before > 0 && t + res <= not_before) return TP_FETCH_TOO_EARLY;
    if (not_after > 0 && t > not_after) return TP_FETCH_TOO_LATE;
    return TP_FETCH_OK;
}

/* The longest delay between two tries of a request. */
#define BACKOFF_CAP_S 8.0

double tp_store_backoff(tp_store *s, int attempt) {
    double d = s->opts.backoff_s;
    for (int i = 1; i < attempt && d < BACKOFF_CAP_S; i++) d *= 2;
    if (d > BACKOFF_CAP_S) d = BACKOFF_CAP_S;
    /* "Equal jitter": half fixed, half random, so retries of many clients spread out but never
     * collapse to zero delay. */
    double u = (double)(tp_rng_next(&s->rng) >> 11) * 0x1.0p-53;
    return d * (0.5 + 0.5 * u);
}

void tp_store_format_time(double t, char *out, size_t n) {
    time_t sec = (time_t)floor(t);
    int ms = (int)floor((t - (double)sec) * 1000.0);
    if (ms > 999) ms = 999;
    struct tm tm;
    if (!gmtime_r(&sec, &tm)) {
        snprintf(out, n, "?");
        return;
    }
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ms);
}

/* ---- dispatch ---- */

static tp_status check_prefix(const char *prefix, tp_err *err) {
    size_t n = strlen(prefix);
    if (n > TP_STORE_KEY_MAX) return tp_fail(err, TP_ERR_ARG, "prefix is %zu bytes, more than %d", n, TP_STORE_KEY_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)prefix[i] < 0x20 || prefix[i] == 0x7f)
            return tp_fail(err, TP_ERR_ARG, "prefix has a control character at byte %zu", i);
    return TP_OK;
}

tp_status tp_store_put(tp_store *s, const char *key, const void *data, size_t len, tp_err *err) {
    tp_status st = tp_store_check_key(key, err);
    if (st) return st;
    return s->local ? tp_file_put(s, key, data, len, NULL, err) : tp_s3_put(s, key, data, len, NULL, err);
}

tp_status tp_store_put_file(tp_store *s, const char *key, const char *path, tp_err *err) {
    tp_status st = tp_store_check_key(key, err);
    if (st) return st;
    return s->local ? tp_file_put(s, key, NULL, 0, path, err) : tp_s3_put(s, key, NULL, 0, path, err);
}

static tp_status get_into(tp_store *s, const char *key, uint64_t max_bytes, const char *path, uint8_t **data,
                          size_t *len, tp_store_stat *st, tp_fetch *why, tp_err *err) {
    tp_store_stat tmp;
    if (!st) st = &tmp;
    memset(st, 0, sizeof *st);
    if (why) *why = TP_FETCH_ERROR;
    tp_status rc = tp_store_check_key(key, err);
    if (rc) return rc;
    tp_sink sink;
    if ((rc = tp_sink_begin(&sink, path, err))) return rc;
    uint64_t received = 0;
    tp_fetch f = s->local ? tp_file_get(s, key, max_bytes, 0, 0, &sink, st, &received, err)
                          : tp_s3_get(s, key, max_bytes, &sink, st, err);
    if (f == TP_FETCH_OK && tp_sink_commit(&sink, data, len, err)) f = TP_FETCH_ERROR;
    if (f != TP_FETCH_OK) tp_sink_abort(&sink);
    if (why) *why = f;
    return f == TP_FETCH_OK ? TP_OK : err->code ? err->code : TP_ERR_IO;
}

tp_status tp_store_get(tp_store *s, const char *key, uint64_t max_bytes, uint8_t **data, size_t *len,
                       tp_store_stat *st, tp_fetch *why, tp_err *err) {
    *data = NULL;
    *len = 0;
    return get_into(s, key, max_bytes, NULL, data, len, st, why, err);
}

tp_status tp_store_get_file(tp_store *s, const char *key, uint64_t max_bytes, const char *path, tp_store_stat *st,
                            tp_fetch *why, tp_err *err) {
    if (!path || !*path) return tp_fail(err, TP_ERR_ARG, "empty output path");
    return get_into(s, key, max_bytes, path, NULL, NULL, st, why, err);
}

tp_status tp_store_head(tp_store *s, const char *key, tp_store_stat *st, tp_fetch *why, tp_err *err) {
    memset(st, 0, sizeof *st);
    if (why) *why = TP_FETCH_ERROR;
    tp_status rc = tp_store_check_key(key, err);
    if (rc) return rc;
    tp_fetch f = s->local ? tp_file_head(s, key, st, err) : tp_s3_head(s, key, st, err);
    if (why) *why = f;
    return f == TP_FETCH_OK ? TP_OK : err->code ? err->code : TP_ERR_IO;
}

tp_status tp_store_delete(tp_store *s, const char *key, tp_err *err) {
    tp_status st = tp_store_check_key(key, err);
    if (st) return st;
    return s->local ? tp_file_delete(s, key, err) : tp_s3_delete(s, key, err);
}

tp_status tp_store_list_keys(tp_store *s, const char *prefix, tp_store_list *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    if (!prefix) prefix = "";
    tp_status st = check_prefix(prefix, err);
    if (st) return st;
    return s->local ? tp_file_list(s, prefix, out, err) : tp_s3_list(s, prefix, out, err);
}
