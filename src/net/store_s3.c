/* The S3 backend: path-style requests (https://HOST/BUCKET/KEY) signed by libcurl's SigV4, one
 * request type shared by the synchronous calls here and the gather's multi loop (store_gather.c).
 *
 * Signing notes, checked against a SigV4 verifier (tests/net/sigv4_server.py): libcurl signs the
 * x-amz-content-sha256 value we send as the payload hash, and uses the path and query exactly as
 * given, so both are built here already in canonical form (RFC 3986 encoding, query parameters
 * sorted), which is what S3 recomputes. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/curl_errors.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "net/s3_xml.h"
#include "net/store_internal.h"

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define LIST_PAGE_MAX (32u << 20) /* a page of 1000 keys is ~300 KB; anything near this is hostile */
#define URL_MAX 16384

/* ---- URI parsing ---- */

/* Copies uri with any userinfo ("user:secret@") replaced by "***@", for messages. */
static void redact(const char *uri, char *out, size_t n) {
    const char *sep = strstr(uri, "://");
    const char *auth = sep ? sep + 3 : uri;
    const char *slash = strchr(auth, '/');
    const char *at = NULL;
    for (const char *p = auth; *p && p != slash; p++)
        if (*p == '@') at = p;
    if (!at) {
        snprintf(out, n, "%s", uri);
        return;
    }
    snprintf(out, n, "%.*s***%s", (int)(auth - uri), uri, at);
}

/* HOST[:PORT] or [IPv6][:PORT]; writes "scheme://authority" to out. */
static int parse_authority(const char *scheme, const char *a, size_t n, char *out, size_t out_n) {
    if (!n) return -1;
    size_t i = 0;
    if (a[0] == '[') {
        for (i = 1; i < n && a[i] != ']'; i++)
            if (!isxdigit((unsigned char)a[i]) && a[i] != ':' && a[i] != '.') return -1;
        if (i >= n || i == 1) return -1;
        i++;
    } else {
        for (; i < n && a[i] != ':'; i++)
            if (!isalnum((unsigned char)a[i]) && a[i] != '.' && a[i] != '-' && a[i] != '_') return -1;
        if (i == 0) return -1;
    }
    if (i < n) {
        if (a[i] != ':' || i + 1 == n || n - i - 1 > 5) return -1;
        long port = 0;
        for (size_t k = i + 1; k < n; k++) {
            if (!isdigit((unsigned char)a[k])) return -1;
            port = port * 10 + (a[k] - '0');
        }
        if (port < 1 || port > 65535) return -1;
    }
    if ((size_t)snprintf(out, out_n, "%s://%.*s", scheme, (int)n, a) >= out_n) return -1;
    return 0;
}

/* S3 bucket naming rules (3-63 of a-z 0-9 . -, alphanumeric at both ends). */
static int valid_bucket(const char *b, size_t n) {
    if (n < 3 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-')) return 0;
    }
    return isalnum((unsigned char)b[0]) && isalnum((unsigned char)b[n - 1]);
}

/* Printable ASCII without spaces: these values go into HTTP headers. */
static int header_safe(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f) return 0;
    return 1;
}

tp_status tp_s3_open(tp_store *s, const char *given, const tp_store_creds *creds, tp_err *err) {
    tp_s3 *q = &s->s3;
    const char *uri = s->uri;
    char shown[TP_STORE_URI_MAX];
    redact(given, shown, sizeof shown);
    const char *usage = "expected s3://BUCKET, s3+https://HOST[:PORT]/BUCKET or s3+http://HOST[:PORT]/BUCKET";
    const char *bucket;
    if (!strncmp(uri, "s3://", 5)) {
        bucket = uri + 5;
        const char *ep = getenv("AWS_ENDPOINT_URL");
        if (ep && *ep) {
            char ep_shown[TP_STORE_URI_MAX];
            redact(ep, ep_shown, sizeof ep_shown);
            int https = !strncmp(ep, "https://", 8), http = !strncmp(ep, "http://", 7);
            const char *a = https ? ep + 8 : http ? ep + 7 : NULL;
            size_t an = a ? strcspn(a, "/") : 0;
            if (!a || (a[an] && strcmp(a + an, "/")) || memchr(a, '@', an) ||
                parse_authority(https ? "https" : "http", a, an, q->endpoint, sizeof q->endpoint))
                return tp_fail(err, TP_ERR_ARG, "AWS_ENDPOINT_URL '%s' is not http(s)://HOST[:PORT] (needed by store URI '%s')",
                               ep_shown, shown);
        } else {
            q->endpoint[0] = 0; /* AWS itself; set once the region is known */
        }
    } else {
        int https = !strncmp(uri, "s3+https://", 11);
        const char *a = uri + (https ? 11 : 10);
        size_t an = strcspn(a, "/");
        if (memchr(a, '@', an))
            return tp_fail(err, TP_ERR_ARG,
                           "store URI '%s' must not hold credentials (use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                           "or a credentials file)",
                           shown);
        if (!a[an] || parse_authority(https ? "https" : "http", a, an, q->endpoint, sizeof q->endpoint))
            return tp_fail(err, TP_ERR_ARG, "store URI '%s' has no valid HOST[:PORT]/BUCKET: %s", shown, usage);
        bucket = a + an + 1;
    }
    size_t bn = strlen(bucket);
    if (memchr(bucket, '/', bn))
        return tp_fail(err, TP_ERR_ARG, "store URI '%s' names a path below the bucket; give keys separately (%s)", shown, usage);
    if (strpbrk(bucket, "?#@"))
        return tp_fail(err, TP_ERR_ARG, "store URI '%s' has a query, fragment or '@' where the bucket should be", shown);
    if (!valid_bucket(bucket, bn))
        return tp_fail(err, TP_ERR_ARG,
                       "store URI '%s': bucket name '%s' must be 3-63 characters of a-z, 0-9, '.' and '-', starting and "
                       "ending with a letter or digit",
                       shown, bucket);
    memcpy(q->bucket, bucket, bn + 1);

    int found = 1;
    if (creds) q->creds = *creds;
    else if (tp_store_creds_load(&q->creds, &found, err))
        return tp_wrap(err, "credentials for %s", shown);
    q->anonymous = !found || !q->creds.access_key[0];
    if (!q->anonymous) {
        if (!q->creds.secret_key[0]) return tp_fail(err, TP_ERR_CONFIG, "credentials for %s have an access key but no secret key", shown);
        if (!header_safe(q->creds.access_key))
            return tp_fail(err, TP_ERR_CONFIG, "the access key id for %s has spaces or control characters", shown);
        if (q->creds.session_token[0] && !header_safe(q->creds.session_token))
            return tp_fail(err, TP_ERR_CONFIG, "the session token for %s has spaces or control characters", shown);
    }
    const char *region = q->creds.region[0] ? q->creds.region : "us-east-1";
    for (const char *p = region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return tp_fail(err, TP_ERR_CONFIG, "region '%s' may hold only a-z, 0-9 and '-'", region);
    snprintf(q->sigv4, sizeof q->sigv4, "aws:amz:%s:s3", region);
    if (!q->endpoint[0]) snprintf(q->endpoint, sizeof q->endpoint, "https://s3.%s.amazonaws.com", region);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    q->easy = curl_easy_init();
    if (!q->easy) return tp_fail(err, TP_ERR_INTERNAL, "libcurl failed to create a handle");
    return TP_OK;
}

void tp_s3_close(tp_store *s) {
    if (s->s3.easy) curl_easy_cleanup(s->s3.easy);
    s->s3.easy = NULL;
    tp_store_creds_clear(&s->s3.creds);
}

/* ---- one request ---- */

/* RFC 3986 percent-encoding as SigV4 wants it: unreserved characters kept, '/' kept if asked. */
static int uri_encode(const char *src, int keep_slash, char *out, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        int keep = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/');
        if (k + 4 > n) return -1;
        if (keep) out[k++] = (char)*p;
        else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = 0;
    return 0;
}

static int ieq_prefix(const char *line, size_t n, const char *name) {
    size_t k = strlen(name);
    if (n < k) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)line[i]) != name[i]) return 0;
    return 1;
}

static size_t header_value(const char *line, size_t n, size_t skip, char *out, size_t out_n) {
    const char *v = line + skip, *e = line + n;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t')) e--;
    size_t len = (size_t)(e - v);
    if (len >= out_n) len = out_n - 1;
    memcpy(out, v, len);
    out[len] = 0;
    return len;
}

/* "URI/KEY: detail" (or "URI: detail" for bucket requests). */
static void req_say(tp_s3_req *r, tp_err *err, tp_status code, const char *detail) {
    tp_fail(err, code, "%s%s%s: %s", r->store->uri, r->key ? "/" : "", r->key ? r->key : "", detail);
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud) {
    tp_s3_req *r = ud;
    size_t n = size * nitems;
    char v[128];
    if (n >= 5 && !memcmp(line, "HTTP/", 5)) {
        /* A new response (after 100 Continue, say): forget the previous one's headers. */
        const char *sp = memchr(line, ' ', n);
        r->status = 0;
        if (sp && (size_t)(sp - line) + 4 <= n && isdigit((unsigned char)sp[1]) && isdigit((unsigned char)sp[2]) &&
            isdigit((unsigned char)sp[3]))
            r->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
        r->have_len = r->have_time = 0;
        return n;
    }
    if (ieq_prefix(line, n, "content-length:")) {
        size_t len = header_value(line, n, 15, v, sizeof v);
        uint64_t x = 0;
        int ok = len > 0 && len <= 19;
        for (size_t i = 0; ok && i < len; i++) {
            if (!isdigit((unsigned char)v[i])) ok = 0;
            else x = x * 10 + (uint64_t)(v[i] - '0');
        }
        if (ok) {
            r->content_length = x;
            r->have_len = 1;
        }
        return n;
    }
    if (ieq_prefix(line, n, "last-modified:")) {
        header_value(line, n, 14, v, sizeof v);
        time_t t = curl_getdate(v, NULL);
        if (t != (time_t)-1) {
            r->last_modified = (double)t;
            r->have_time = 1;
        }
        return n;
    }
    int blank = (n == 2 && line[0] == '\r' && line[1] == '\n') || (n == 1 && line[0] == '\n');
    if (!blank || r->status < 200 || r->status >= 300 || !r->sink) return n;
    /* End of a successful GET's headers: decide from them whether the body is wanted at all. */
    if (r->not_before > 0 || r->not_after > 0) {
        if (!r->have_time) {
            r->verdict = TP_FETCH_ERROR;
            snprintf(r->sink_msg, sizeof r->sink_msg, "no Last-Modified header to judge the put window by");
            return 0;
        }
        tp_fetch f = tp_store_judge_time(r->last_modified, 1.0, r->not_before, r->not_after);
        if (f != TP_FETCH_OK) {
            r->verdict = f;
            return 0;
        }
    }
    if (r->have_len && r->content_length > r->max_bytes) {
        r->verdict = TP_FETCH_TOO_BIG;
        return 0;
    }
    if (r->have_len) {
        tp_err e;
        if (tp_sink_reserve(r->sink, r->content_length, &e)) {
            r->sink_err = e.code;
            snprintf(r->sink_msg, sizeof r->sink_msg, "%.*s", (int)sizeof r->sink_msg - 1, e.msg);
            return 0;
        }
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    tp_s3_req *r = ud;
    size_t n = size * nmemb;
    if (r->status < 200 || r->status >= 300) {
        /* An error document: keep its start for the message. */
        size_t room = sizeof r->errbody - 1 - r->errlen;
        size_t k = n < room ? n : room;
        memcpy(r->errbody + r->errlen, p, k);
        r->errlen += k;
        r->errbody[r->errlen] = 0;
        return n;
    }
    if (!r->sink) return n;
    if (r->body + n > r->max_bytes) { /* no or a lying Content-Length: the limit still holds */
        r->verdict = TP_FETCH_TOO_BIG;
        return 0;
    }
    tp_err e;
    if (tp_sink_write(r->sink, p, n, &e)) {
        r->sink_err = e.code;
        snprintf(r->sink_msg, sizeof r->sink_msg, "%.*s", (int)sizeof r->sink_msg - 1, e.msg);
        return 0;
    }
    r->body += n;
    r->received += n;
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud) {
    tp_s3_req *r = ud;
    size_t want = size * nitems;
    uint64_t left = r->up_len - r->up_off;
    if (want > left) want = (size_t)left;
    if (!want) return 0;
    if (r->up_mem) {
        memcpy(buf, r->up_mem + r->up_off, want);
    } else {
        size_t got = fread(buf, 1, want, r->up_file);
        if (got == 0) return CURL_READFUNC_ABORT; /* the file shrank under us */
        want = got;
    }
    r->up_off += want;
    return want;
}

tp_status tp_s3_req_setup(tp_s3_req *r, CURL *easy, const char *method, const char *key, const char *query,
                          tp_err *err) {
    tp_store *s = r->store;
    tp_s3 *q = &s->s3;
    char *url = tp_malloc(URL_MAX, err);
    if (!url) return err->code;
    size_t k = (size_t)snprintf(url, URL_MAX, "%s/%s", q->endpoint, q->bucket);
    if (key) {
        url[k++] = '/';
        if (uri_encode(key, 1, url + k, URL_MAX - k)) {
            free(url);
            return tp_fail(err, TP_ERR_ARG, "%s/%s: key too long", s->uri, key);
        }
        k += strlen(url + k);
    }
    if (query && (size_t)snprintf(url + k, URL_MAX - k, "?%s", query) >= URL_MAX - k) {
        free(url);
        return tp_fail(err, TP_ERR_ARG, "%s: request URL too long", s->uri);
    }
    curl_easy_reset(easy);
    CURLcode c = curl_easy_setopt(easy, CURLOPT_URL, url);
    free(url);
    char h[128];
    snprintf(h, sizeof h, "x-amz-content-sha256: %s", r->payload_hash ? r->payload_hash : EMPTY_SHA256);
    curl_slist_free_all(r->headers);
    r->headers = curl_slist_append(NULL, h);
    struct curl_slist *t = r->headers;
    if (t && !q->anonymous && q->creds.session_token[0]) {
        tp_err e;
        char *tok = tp_malloc(sizeof q->creds.session_token + 32, &e);
        if (tok) {
            snprintf(tok, sizeof q->creds.session_token + 32, "x-amz-security-token: %s", q->creds.session_token);
            t = curl_slist_append(r->headers, tok);
            sodium_memzero(tok, sizeof q->creds.session_token + 32);
            free(tok);
        } else {
            t = NULL;
        }
        if (t) r->headers = t;
    }
    if (!t) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!c) c = curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->headers);
    if (!c && !q->anonymous) {
        c = curl_easy_setopt(easy, CURLOPT_AWS_SIGV4, q->sigv4);
        if (!c) c = curl_easy_setopt(easy, CURLOPT_USERNAME, q->creds.access_key);
        if (!c) c = curl_easy_setopt(easy, CURLOPT_PASSWORD, q->creds.secret_key);
    }
    if (!c) c = curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!c) c = curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    if (!c) c = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->curl_err);
    if (!c) c = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    if (!c) c = curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
    if (!c) c = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    if (!c) c = curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
    /* Bigger receive chunks than the 16 KiB default: a quarter of the syscalls for large objects. */
    if (!c && r->sink) c = curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (!c) c = curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(s->opts.connect_timeout_s * 1000));
    if (!c && s->opts.low_speed_time_s > 0) {
        c = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, s->opts.low_speed_bps);
        if (!c) c = curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)(s->opts.low_speed_time_s + 0.5));
    }
    if (!c && s->opts.request_timeout_s > 0)
        c = curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)(s->opts.request_timeout_s * 1000));
    if (!c && !strcmp(method, "HEAD")) c = curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (!c && !strcmp(method, "DELETE")) c = curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "DELETE");
    if (!c && !strcmp(method, "PUT")) {
        c = curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        if (!c) c = curl_easy_setopt(easy, CURLOPT_READFUNCTION, on_read);
        if (!c) c = curl_easy_setopt(easy, CURLOPT_READDATA, r);
        if (!c) c = curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->up_len);
    }
    if (!c) c = curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
    if (c) return tp_fail(err, TP_ERR_INTERNAL, "%s: libcurl refused an option: %s", s->uri, curl_easy_strerror(c));
    return TP_OK;
}

tp_status tp_s3_req_reset(tp_s3_req *r, tp_err *err) {
    r->status = 0;
    r->have_len = r->have_time = 0;
    r->content_length = 0;
    r->verdict = TP_FETCH_OK;
    r->body = 0;
    r->sink_err = TP_OK;
    r->sink_msg[0] = 0;
    r->errlen = 0;
    r->errbody[0] = 0;
    r->curl_err[0] = 0;
    r->up_off = 0;
    if (r->up_file && fseeko(r->up_file, 0, SEEK_SET) != 0)
        return tp_fail(err, TP_ERR_IO, "%s/%s: cannot rewind the upload: %s", r->store->uri, r->key ? r->key : "",
                       strerror(errno));
    if (r->sink) return tp_sink_reset(r->sink, err);
    return TP_OK;
}

void tp_s3_req_free(tp_s3_req *r) {
    curl_slist_free_all(r->headers);
    r->headers = NULL;
}

tp_fetch tp_s3_req_result(tp_s3_req *r, CURLcode rc, int *retry, tp_err *err) {
    *retry = 0;
    char detail[768];
    if (r->verdict != TP_FETCH_OK) {
        if (r->verdict == TP_FETCH_TOO_BIG) {
            if (r->have_len)
                snprintf(detail, sizeof detail, "%llu bytes, more than the limit of %llu (not downloaded)",
                         (unsigned long long)r->content_length, (unsigned long long)r->max_bytes);
            else
                snprintf(detail, sizeof detail, "more than the limit of %llu bytes", (unsigned long long)r->max_bytes);
            req_say(r, err, TP_ERR_FORMAT, detail);
        } else if (r->verdict == TP_FETCH_TOO_EARLY || r->verdict == TP_FETCH_TOO_LATE) {
            char t[40];
            tp_store_format_time(r->last_modified, t, sizeof t);
            snprintf(detail, sizeof detail, "stored at %s, %s the put window", t,
                     r->verdict == TP_FETCH_TOO_EARLY ? "before" : "after");
            req_say(r, err, TP_ERR_IO, detail);
        } else {
            req_say(r, err, TP_ERR_IO, r->sink_msg);
        }
        return r->verdict;
    }
    if (r->sink_err) {
        req_say(r, err, r->sink_err, r->sink_msg);
        return TP_FETCH_ERROR;
    }
    if (rc != CURLE_OK) {
        snprintf(detail, sizeof detail, "%s%s%s", curl_easy_strerror(rc), r->curl_err[0] ? ": " : "", r->curl_err);
        req_say(r, err, TP_ERR_IO, detail);
        *retry = tp_curl_transient(rc);
        err->retryable = *retry;
        return TP_FETCH_ERROR;
    }
    if (r->status >= 200 && r->status < 300) return TP_FETCH_OK;
    char code[64], msg[256];
    if (tp_s3_parse_error(r->errbody, r->errlen, code, sizeof code, msg, sizeof msg) != TP_OK) {
        snprintf(code, sizeof code, "%s", r->status == 404 ? "not found" : "no S3 error document");
        msg[0] = 0;
    }
    snprintf(detail, sizeof detail, "HTTP %ld %s%s%s%s", r->status, code, msg[0] ? ": " : "", msg,
             r->status == 403 && r->store->s3.anonymous
                 ? " (no credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or write a credentials file)"
                 : "");
    req_say(r, err, TP_ERR_IO, detail);
    if (r->status == 404) return TP_FETCH_NOT_FOUND;
    /* 5xx are the server's trouble (S3 throttles with 503 SlowDown), 408 and 429 ask us to come back
     * later; any other 4xx answer (403: wrong credentials, no such bucket) would not change on a
     * retry, so none is retried. Timeouts and connection errors are retried by the caller. */
    *retry = r->status >= 500 || r->status == 408 || r->status == 429;
    err->retryable = *retry;
    return TP_FETCH_ERROR;
}

/* Runs a prepared request on the store's own handle with bounded retries. */
static tp_fetch run(tp_s3_req *r, const char *method, const char *query, tp_err *err) {
    tp_store *s = r->store;
    if (tp_s3_req_setup(r, s->s3.easy, method, r->key, query, err)) return TP_FETCH_ERROR;
    tp_fetch f = TP_FETCH_ERROR;
    int attempt;
    for (attempt = 1;; attempt++) {
        if (tp_s3_req_reset(r, err)) return TP_FETCH_ERROR;
        CURLcode rc = curl_easy_perform(s->s3.easy);
        int retry;
        f = tp_s3_req_result(r, rc, &retry, err);
        if (f == TP_FETCH_OK || !retry || attempt >= s->opts.max_attempts) break;
        tp_sleep(tp_store_backoff(s, attempt));
    }
    if (f != TP_FETCH_OK && attempt > 1) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (after %d attempts)", attempt);
    }
    return f;
}

tp_status tp_s3_put(tp_store *s, const char *key, const void *data, size_t len, const char *src_path, tp_err *err) {
    tp_s3_req r;
    memset(&r, 0, sizeof r);
    r.store = s;
    r.key = key;
    char hash_hex[65], *iobuf = NULL;
    unsigned char hash[crypto_hash_sha256_BYTES];
    tp_status st = TP_OK;
    if (src_path) {
        r.up_file = fopen(src_path, "rb");
        if (!r.up_file) return tp_fail(err, TP_ERR_IO, "%s/%s: cannot open %s: %s", s->uri, key, src_path, strerror(errno));
        struct stat sb;
        if (fstat(fileno(r.up_file), &sb) != 0 || !S_ISREG(sb.st_mode)) {
            fclose(r.up_file);
            return tp_fail(err, TP_ERR_IO, "%s/%s: %s is not a regular file", s->uri, key, src_path);
        }
        r.up_len = (uint64_t)sb.st_size;
        /* Fewer, larger reads than stdio's default 4 KiB (glibc needs the buffer given to honour a size). */
        tp_err ignored; /* without the larger buffer, reads still work */
        iobuf = tp_malloc(1 << 20, &ignored);
        if (iobuf) setvbuf(r.up_file, iobuf, _IOFBF, 1 << 20);
        if (s->opts.sign_payload) {
            crypto_hash_sha256_state hs;
            crypto_hash_sha256_init(&hs);
            unsigned char buf[1 << 16];
            size_t got;
            uint64_t total = 0;
            while ((got = fread(buf, 1, sizeof buf, r.up_file)) > 0) {
                crypto_hash_sha256_update(&hs, buf, got);
                total += got;
            }
            crypto_hash_sha256_final(&hs, hash);
            if (ferror(r.up_file) || total != r.up_len)
                st = tp_fail(err, TP_ERR_IO, "%s/%s: reading %s failed or it changed size", s->uri, key, src_path);
        }
    } else {
        r.up_mem = data;
        r.up_len = len;
        if (s->opts.sign_payload) crypto_hash_sha256(hash, data ? data : (const void *)"", len);
    }
    if (!st) {
        if (s->opts.sign_payload) {
            for (int i = 0; i < 32; i++) snprintf(hash_hex + 2 * i, 3, "%02x", hash[i]);
            r.payload_hash = hash_hex;
        } else {
            r.payload_hash = "UNSIGNED-PAYLOAD";
        }
        if (run(&r, "PUT", NULL, err) != TP_FETCH_OK) st = err->code ? err->code : TP_ERR_IO;
    }
    if (r.up_file) fclose(r.up_file);
    free(iobuf);
    tp_s3_req_free(&r);
    return st;
}

tp_fetch tp_s3_get(tp_store *s, const char *key, uint64_t max_bytes, tp_sink *sink, tp_store_stat *st, tp_err *err) {
    tp_s3_req r;
    memset(&r, 0, sizeof r);
    r.store = s;
    r.key = key;
    r.sink = sink;
    r.max_bytes = max_bytes;
    tp_fetch f = run(&r, "GET", NULL, err);
    if (r.have_len) st->size = r.content_length;
    if (f == TP_FETCH_OK) st->size = r.body;
    if (r.have_time) {
        st->mtime = r.last_modified;
        st->mtime_res = 1.0;
    }
    tp_s3_req_free(&r);
    return f;
}

tp_fetch tp_s3_head(tp_store *s, const char *key, tp_store_stat *st, tp_err *err) {
    tp_s3_req r;
    memset(&r, 0, sizeof r);
    r.store = s;
    r.key = key;
    tp_fetch f = run(&r, "HEAD", NULL, err);
    if (f == TP_FETCH_OK && (!r.have_len || !r.have_time)) {
        tp_fail(err, TP_ERR_FORMAT, "%s/%s: HEAD response without Content-Length or Last-Modified", s->uri, key);
        f = TP_FETCH_ERROR;
    }
    if (f == TP_FETCH_OK) {
        st->size = r.content_length;
        st->mtime = r.last_modified;
        st->mtime_res = 1.0;
    }
    tp_s3_req_free(&r);
    return f;
}

tp_status tp_s3_delete(tp_store *s, const char *key, tp_err *err) {
    tp_s3_req r;
    memset(&r, 0, sizeof r);
    r.store = s;
    r.key = key;
    tp_fetch f = run(&r, "DELETE", NULL, err);
    /* S3 answers 204 for a missing key; a 404 means the bucket (or, elsewhere, the key) is missing. */
    if (f == TP_FETCH_NOT_FOUND && !strstr(r.errbody, "NoSuchBucket")) f = TP_FETCH_OK;
    tp_s3_req_free(&r);
    return f == TP_FETCH_OK ? TP_OK : err->code ? err->code : TP_ERR_IO;
}

tp_status tp_s3_list(tp_store *s, const char *prefix, tp_store_list *out, tp_err *err) {
    out->mtime_res = 0.001;
    char *query = tp_malloc(URL_MAX, err), *enc = query ? tp_malloc(URL_MAX, err) : NULL;
    char token[TP_S3_TOKEN_MAX] = {0}, prev[TP_S3_TOKEN_MAX] = {0};
    tp_sink sink;
    tp_sink_begin(&sink, NULL, err);
    tp_status st = TP_OK;
    if (!query || !enc) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    for (long page = 0; !st; page++) {
        /* Parameters in byte order, values percent-encoded: the canonical query SigV4 signs. */
        size_t k = 0;
        if (token[0]) {
            uri_encode(token, 0, enc, URL_MAX);
            k += (size_t)snprintf(query + k, URL_MAX - k, "continuation-token=%s&", enc);
        }
        k += (size_t)snprintf(query + k, URL_MAX - k, "list-type=2");
        if (s->opts.list_page_size > 0) k += (size_t)snprintf(query + k, URL_MAX - k, "&max-keys=%d", s->opts.list_page_size);
        if (prefix[0]) {
            uri_encode(prefix, 0, enc, URL_MAX);
            snprintf(query + k, URL_MAX - k, "&prefix=%s", enc);
        }
        tp_s3_req r;
        memset(&r, 0, sizeof r);
        r.store = s;
        r.sink = &sink;
        r.max_bytes = LIST_PAGE_MAX;
        tp_fetch f = run(&r, "GET", query, err);
        tp_s3_req_free(&r);
        if (f != TP_FETCH_OK) {
            st = err->code ? err->code : TP_ERR_IO;
            break;
        }
        int truncated;
        memcpy(prev, token, sizeof prev);
        const char *page_xml = sink.buf ? (const char *)sink.buf : ""; /* an empty body has no buffer */
        if ((st = tp_s3_parse_list(page_xml, sink.len, out, &truncated, token, err))) {
            tp_wrap(err, "%s", s->uri);
            break;
        }
        if (!truncated) break;
        if (!strcmp(prev, token)) {
            st = tp_fail(err, TP_ERR_FORMAT, "%s: the server repeated a continuation token", s->uri);
            break;
        }
        if (page > 10000000) {
            st = tp_fail(err, TP_ERR_FORMAT, "%s: listing does not end", s->uri);
            break;
        }
        sink.len = 0;
    }
    tp_sink_abort(&sink);
    free(query);
    free(enc);
    return st;
}
