/* JSON-RPC 2.0 over HTTP POST with one libcurl easy handle, so the connection is kept between calls.
 * The transport decides only whether a reply arrived (and whether trying again can help); what the
 * reply says is rpc_reply.c's business. */
#include "substrate/rpc.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/curl_errors.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "substrate/rpc_reply.h"

#define URL_MAX 4096
#define SHOWN_MAX 300
#define METHOD_MAX 128
#define KEEP_BUFFER (4u << 20) /* a reply buffer bigger than this is freed after the call */
#define BACKOFF_MAX_S 30.0
#define CONNECT_TIMEOUT_S 10.0

struct tp_rpc {
    CURL *easy;
    struct curl_slist *headers;
    tp_rpc_opts o;
    char shown[SHOWN_MAX]; /* scheme://host[:port] only: a path or query may hold an API key */
    int64_t next_id;
    tp_rpc_stats stats;
    int64_t last_code;
    char last_msg[TP_RPC_MSG_MAX];
    /* The reply being received. */
    char *buf;
    size_t len, cap;
    int64_t received;
    int too_big, no_memory;
    char curl_err[CURL_ERROR_SIZE];
};

void tp_rpc_opts_default(tp_rpc_opts *o) {
    o->timeout_s = 60;
    o->retries = 4;
    o->backoff_s = 0.25;
    o->max_reply = (size_t)64 << 20;
}

/* ---------------------------------------------------------------- opening */

/* url must be http(s)://… of printable ASCII; shown gets "scheme://host[:port]" without userinfo. */
static tp_status check_url(const char *url, char *shown, tp_err *err) {
    size_t n = strnlen(url, URL_MAX);
    const char *auth = !strncmp(url, "http://", 7) ? url + 7 : !strncmp(url, "https://", 8) ? url + 8 : NULL;
    if (!auth || n == URL_MAX || !auth[0])
        return tp_fail(err, TP_ERR_ARG, "RPC URL must be http://HOST[:PORT][/PATH] or https://… (at most %d characters)",
                       URL_MAX - 1);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return tp_fail(err, TP_ERR_ARG, "RPC URL holds a space, control or non-ASCII character at position %td",
                           p - url);
    size_t an = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', an);
    const char *host = at ? at + 1 : auth;
    snprintf(shown, SHOWN_MAX, "%.*s%.*s", (int)(auth - url), url, (int)(an - (size_t)(host - auth)), host);
    return TP_OK;
}

static tp_status check_opts(const tp_rpc_opts *o, tp_err *err) {
    if (!(o->timeout_s > 0) || o->timeout_s > 86400)
        return tp_fail(err, TP_ERR_ARG, "RPC timeout %g s: must be above 0 and at most a day", o->timeout_s);
    if (o->retries < 0 || o->retries > 100) return tp_fail(err, TP_ERR_ARG, "RPC retries %d: must be 0-100", o->retries);
    if (!(o->backoff_s >= 0) || o->backoff_s > BACKOFF_MAX_S)
        return tp_fail(err, TP_ERR_ARG, "RPC backoff %g s: must be 0-%g", o->backoff_s, BACKOFF_MAX_S);
    if (o->max_reply < 64 || o->max_reply > ((size_t)1 << 34))
        return tp_fail(err, TP_ERR_ARG, "RPC reply limit %zu bytes: must be 64 B - 16 GiB", o->max_reply);
    return TP_OK;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud);

static tp_status setup_handle(tp_rpc *r, const char *url, tp_err *err) {
    r->easy = curl_easy_init();
    if (!r->easy) return tp_fail(err, TP_ERR_INTERNAL, "libcurl failed to create a handle");
    const char *hs[] = {"Content-Type: application/json", "Accept: application/json", "Expect:"};
    for (size_t i = 0; i < sizeof hs / sizeof *hs; i++) {
        struct curl_slist *t = curl_slist_append(r->headers, hs[i]);
        if (!t) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
        r->headers = t;
    }
    double connect_s = r->o.timeout_s < CONNECT_TIMEOUT_S ? r->o.timeout_s : CONNECT_TIMEOUT_S;
    CURL *e = r->easy;
    CURLcode c = curl_easy_setopt(e, CURLOPT_URL, url);
    if (!c) c = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!c) c = curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (!c) c = curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (!c) c = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (!c) c = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
    if (!c) c = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    if (!c) c = curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    if (!c) c = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(r->o.timeout_s * 1000));
    if (!c) c = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(connect_s * 1000));
    /* A declared Content-Length above the limit is refused before any body is read. */
    if (!c) c = curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->o.max_reply);
    if (c) return tp_fail(err, TP_ERR_INTERNAL, "RPC %s: libcurl refused an option: %s", r->shown, curl_easy_strerror(c));
    return TP_OK;
}

tp_status tp_rpc_open(const char *url, const tp_rpc_opts *opts, tp_rpc **out, tp_err *err) {
    *out = NULL;
    tp_rpc *r = tp_calloc(1, sizeof *r, err);
    if (!r) return err->code;
    if (opts) r->o = *opts;
    else tp_rpc_opts_default(&r->o);
    tp_status st = check_url(url, r->shown, err);
    if (!st) st = check_opts(&r->o, err);
    if (!st) st = setup_handle(r, url, err);
    if (st) {
        tp_rpc_close(r);
        return st;
    }
    *out = r;
    return TP_OK;
}

void tp_rpc_close(tp_rpc *r) {
    if (!r) return;
    if (r->easy) curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->buf);
    free(r);
}

/* ---------------------------------------------------------------- one exchange */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud) {
    tp_rpc *r = ud;
    size_t n = size * nmemb;
    r->received += (int64_t)n;
    if (n > r->o.max_reply - r->len) { /* no or a lying Content-Length: the limit still holds */
        r->too_big = 1;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 64 * 1024;
        while (cap < r->len + n + 1) cap *= 2;
        if (cap > r->o.max_reply + 1) cap = r->o.max_reply + 1;
        tp_err e;
        char *b = tp_realloc(r->buf, cap, &e);
        if (!b) {
            r->no_memory = 1;
            return 0;
        }
        r->buf = b;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    r->buf[r->len] = 0;
    return n;
}

/* Sends body once; TP_OK when an HTTP 2xx reply arrived whole (in r->buf). A failure says in
 * err->retryable whether another attempt can help. */
static tp_status post_once(tp_rpc *r, const char *method, const char *body, size_t len, tp_err *err) {
    r->len = 0;
    r->received = 0;
    r->too_big = r->no_memory = 0;
    r->curl_err[0] = 0;
    CURLcode rc = curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body);
    if (!rc) rc = curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    if (!rc) rc = curl_easy_perform(r->easy);
    r->stats.calls++;
    r->stats.bytes_sent += (int64_t)len;
    r->stats.bytes_received += r->received;
    if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED)
        return tp_fail(err, TP_ERR_FORMAT, "RPC %s at %s: the reply is larger than the limit of %zu bytes", method,
                       r->shown, r->o.max_reply);
    if (r->no_memory) return tp_fail(err, TP_ERR_NOMEM, "RPC %s at %s: out of memory for the reply", method, r->shown);
    if (rc != CURLE_OK) {
        char detail[CURL_ERROR_SIZE];
        tp_rpc_clean_text(r->curl_err, sizeof r->curl_err, detail, sizeof detail);
        tp_fail(err, TP_ERR_IO, "RPC %s at %s: %s%s%s", method, r->shown, curl_easy_strerror(rc), detail[0] ? ": " : "",
                detail);
        err->retryable = tp_curl_transient(rc);
        return err->code;
    }
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) return TP_OK;
    char excerpt[160];
    tp_rpc_clean_text(r->buf ? r->buf : "", r->len, excerpt, sizeof excerpt);
    tp_fail(err, TP_ERR_IO, "RPC %s at %s: HTTP %ld%s%s", method, r->shown, status, excerpt[0] ? ": " : "", excerpt);
    /* The server's trouble (5xx) or a request to come back later; any other answer would repeat. */
    err->retryable = status >= 500 || status == 408 || status == 429;
    return err->code;
}

/* post_once with up to o.retries more attempts while the failure is transient. */
static tp_status post(tp_rpc *r, const char *method, const char *body, size_t len, tp_err *err) {
    double delay = r->o.backoff_s;
    int attempt;
    tp_status st = TP_OK;
    for (attempt = 1;; attempt++) {
        st = post_once(r, method, body, len, err);
        if (!st || !err->retryable || attempt > r->o.retries) break;
        tp_sleep(delay);
        delay = delay * 2 < BACKOFF_MAX_S ? delay * 2 : BACKOFF_MAX_S;
    }
    if (st && attempt > 1) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n, " (after %d attempts)", attempt);
    }
    return st;
}

/* ---------------------------------------------------------------- calls */

static tp_status build_request(const char *method, const json_t *params, int64_t id, char **body, size_t *len,
                               tp_err *err) {
    size_t n = strnlen(method, METHOD_MAX + 1);
    if (!n || n > METHOD_MAX) return tp_fail(err, TP_ERR_ARG, "RPC method name is empty or longer than %d", METHOD_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)method[i] <= 0x20 || (unsigned char)method[i] >= 0x7f)
            return tp_fail(err, TP_ERR_ARG, "RPC method name holds a space or control character");
    if (params && !json_is_array(params))
        return tp_fail(err, TP_ERR_ARG, "RPC %s: params must be a JSON array", method);
    json_t *p = params ? json_incref((json_t *)params) : json_array();
    /* "o" takes over p's reference, also when packing fails. */
    json_t *req = p ? json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method,
                                "params", p)
                    : NULL;
    if (!req) return tp_fail(err, TP_ERR_NOMEM, "RPC %s: out of memory building the request", method);
    tp_status st = tp_json_dump(req, JSON_COMPACT, body, len, err);
    json_decref(req);
    return st ? tp_wrap(err, "RPC %s: building the request", method) : TP_OK;
}

tp_status tp_rpc_call(tp_rpc *r, const char *method, const json_t *params, json_t **result, tp_err *err) {
    *result = NULL;
    r->last_code = 0;
    r->last_msg[0] = 0;
    double t0 = tp_now();
    int64_t id = ++r->next_id;
    char *body = NULL;
    size_t len = 0;
    tp_status st = build_request(method, params, id, &body, &len, err);
    if (!st) st = post(r, method, body, len, err);
    if (!st)
        st = tp_rpc_parse_reply(r->buf, r->len, id, method, result, &r->last_code, r->last_msg, sizeof r->last_msg,
                                err);
    free(body);
    if (r->cap > KEEP_BUFFER) { /* one huge reply (metadata, a state dump) need not stay resident */
        free(r->buf);
        r->buf = NULL;
        r->cap = r->len = 0;
    }
    r->stats.seconds += tp_now() - t0;
    return st;
}

int64_t tp_rpc_last_error(const tp_rpc *r, const char **message) {
    if (message) *message = r->last_msg;
    return r->last_code;
}

void tp_rpc_stats_get(const tp_rpc *r, tp_rpc_stats *out) { *out = r->stats; }

void tp_rpc_stats_reset(tp_rpc *r) { memset(&r->stats, 0, sizeof r->stats); }
