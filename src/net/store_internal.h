/* Private to the store: the handle, the two backends' entry points, and the download sink they
 * share. Not for use outside src/net/store*.c. */
#ifndef TP_NET_STORE_INTERNAL_H
#define TP_NET_STORE_INTERNAL_H

#include <curl/curl.h>
#include <stdio.h>

#include "core/fileio.h"
#include "core/rng.h"
#include "net/store.h"

#define TP_STORE_URI_MAX 1024
/* Temporary files of the file backend start with this; listings skip them, keys may not use it. */
#define TP_STORE_PART_PREFIX ".tp-part-"

/* Appends one entry to a listing (copies key); used by the backends and the S3 listing parser. */
tp_status tp_store_list_add(tp_store_list *l, const char *key, size_t key_len, uint64_t size, double mtime,
                            tp_err *err);

typedef struct {
    char endpoint[TP_STORE_URI_MAX]; /* "http://host:port" or "https://host", no trailing '/' */
    char bucket[64];
    char sigv4[96]; /* "aws:amz:REGION:s3" */
    tp_store_creds creds;
    int anonymous;    /* no credentials: requests go unsigned */
    CURL *easy;       /* for the synchronous calls; keeps the connection alive between them */
} tp_s3;

struct tp_store {
    int local;
    char uri[TP_STORE_URI_MAX];
    tp_store_opts opts;
    char dir[4096]; /* file:// */
    tp_s3 s3;       /* s3 */
    tp_rng rng;     /* retry jitter */
};

/* Where a download goes: memory, or a temporary file renamed into place on commit. A retry resets
 * it; a failure aborts it, which removes the temporary file. */
typedef struct {
    int to_file;
    uint8_t *buf;
    size_t len, cap;
    tp_atomic_file af;
    int open;
    char *iobuf; /* stdio buffer for af.f (glibc ignores a size given without a buffer) */
} tp_sink;

tp_status tp_sink_begin(tp_sink *k, const char *path, tp_err *err);
tp_status tp_sink_reserve(tp_sink *k, uint64_t n, tp_err *err);
tp_status tp_sink_write(tp_sink *k, const void *p, size_t n, tp_err *err);
tp_status tp_sink_reset(tp_sink *k, tp_err *err);
/* Memory: hands the NUL-terminated buffer over (data may be NULL to discard it). File: fsync + rename. */
tp_status tp_sink_commit(tp_sink *k, uint8_t **data, size_t *len, tp_err *err);
void tp_sink_abort(tp_sink *k);

/* The put-window verdict for a stored time t of resolution res (DESIGN §6); bounds of 0 are off. */
tp_fetch tp_store_judge_time(double t, double res, double not_before, double not_after);
/* Seconds to wait before retry number `attempt` (1 = first retry): exponential, capped, jittered. */
double tp_store_backoff(tp_store *s, int attempt);

/* file:// backend (store_file.c). */
/* Parse s->uri (normalised); name `given` (as the caller wrote it) in messages. */
tp_status tp_file_open(tp_store *s, const char *path, const char *given, tp_err *err);
tp_status tp_file_put(tp_store *s, const char *key, const void *data, size_t len, const char *src_path, tp_err *err);
/* A window of zeros is not checked. Fills st as soon as the object is found. */
tp_fetch tp_file_get(tp_store *s, const char *key, uint64_t max_bytes, double not_before, double not_after,
                     tp_sink *sink, tp_store_stat *st, uint64_t *received, tp_err *err);
tp_fetch tp_file_head(tp_store *s, const char *key, tp_store_stat *st, tp_err *err);
tp_status tp_file_delete(tp_store *s, const char *key, tp_err *err);
tp_status tp_file_list(tp_store *s, const char *prefix, tp_store_list *out, tp_err *err);

/* S3 backend (store_s3.c). */
tp_status tp_s3_open(tp_store *s, const char *given, const tp_store_creds *creds, tp_err *err);
void tp_s3_close(tp_store *s);
tp_status tp_s3_put(tp_store *s, const char *key, const void *data, size_t len, const char *src_path, tp_err *err);
tp_fetch tp_s3_get(tp_store *s, const char *key, uint64_t max_bytes, tp_sink *sink, tp_store_stat *st, tp_err *err);
tp_fetch tp_s3_head(tp_store *s, const char *key, tp_store_stat *st, tp_err *err);
tp_status tp_s3_delete(tp_store *s, const char *key, tp_err *err);
tp_status tp_s3_list(tp_store *s, const char *prefix, tp_store_list *out, tp_err *err);

/* One S3 request's state, shared by the synchronous calls and the gather's multi loop. */
typedef struct {
    tp_store *store;
    const char *key; /* for messages */
    /* upload source */
    const uint8_t *up_mem;
    FILE *up_file;
    uint64_t up_len, up_off;
    const char *payload_hash; /* x-amz-content-sha256 of the upload; NULL: no body */
    /* download */
    tp_sink *sink;
    uint64_t max_bytes;
    double not_before, not_after;
    /* response, reset per attempt */
    long status;
    int have_len, have_time;
    uint64_t content_length;
    double last_modified;
    tp_fetch verdict; /* set by the header callback to stop a transfer early */
    uint64_t body;     /* body bytes of this attempt */
    uint64_t received; /* body bytes of all attempts */
    tp_status sink_err;
    char sink_msg[256];
    char errbody[2048];
    size_t errlen;
    char curl_err[CURL_ERROR_SIZE];
    struct curl_slist *headers;
} tp_s3_req;

/* Prepares easy for one attempt of method on key (NULL: the bucket itself) with an optional,
 * already-canonical query string. */
tp_status tp_s3_req_setup(tp_s3_req *r, CURL *easy, const char *method, const char *key, const char *query,
                          tp_err *err);
/* Clears the response state before an attempt (and rewinds the upload and the sink). */
tp_status tp_s3_req_reset(tp_s3_req *r, tp_err *err);
/* Classifies a finished attempt; *retry says whether another attempt may help. Fills err unless OK. */
tp_fetch tp_s3_req_result(tp_s3_req *r, CURLcode rc, int *retry, tp_err *err);
void tp_s3_req_free(tp_s3_req *r);

#endif
