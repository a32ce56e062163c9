/* Object storage: one interface over two backends, named by a URI.
 *
 *   file://PATH                      PATH (absolute as file:///abs/dir, or relative as file://rel/dir)
 *                                    is the bucket: a directory, created by the first put. A key
 *                                    "a/b" is the file PATH/a/b. Writes go to a temporary file in the
 *                                    same directory and are renamed into place; the file's mtime
 *                                    (nanoseconds) is its LastModified.
 *   s3+https://HOST[:PORT]/BUCKET    any S3-compatible service (AWS, R2, MinIO, s3rver), path-style;
 *   s3+http://HOST[:PORT]/BUCKET     plain HTTP (loopback test servers).
 *   s3://BUCKET                      the endpoint comes from AWS_ENDPOINT_URL (as the AWS tools do),
 *                                    default https://s3.REGION.amazonaws.com.
 *
 * S3 requests are signed with SigV4 by libcurl. Credentials come from the caller (read credentials
 * committed on chain) or, when it passes none, tp_store_creds_load: AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN / AWS_REGION, else a credentials file that only its
 * owner may access. They are never taken from a URI or argv and never appear in a message.
 *
 * Keys (both backends, so code tested on file:// behaves the same on S3): 1-1024 bytes, no control
 * characters, no leading '/', no empty, "." or ".." path components, no component starting with
 * ".tp-part-" (the file backend's temporary files).
 *
 * LastModified is wall-clock epoch seconds with a resolution: S3 gives whole seconds on GET and HEAD
 * (an HTTP date) and milliseconds in listings; the file backend gives nanosecond fields stamped from
 * the kernel's coarse clock (up to a tick behind the wall clock). The put-window check (DESIGN §6)
 * gives the benefit of that doubt: an object is TOO_EARLY only if it was certainly stored before
 * not_before, TOO_LATE only if certainly after not_after.
 *
 * libcurl: the program should call curl_global_init(CURL_GLOBAL_DEFAULT) once before starting any
 * thread (the CLI does); otherwise libcurl initialises itself on first use. A tp_store handle is used
 * by one thread at a time; different handles may be used from different threads. */
#ifndef TP_NET_STORE_H
#define TP_NET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_STORE_KEY_MAX 1024

typedef struct tp_store tp_store;

typedef struct {
    double connect_timeout_s; /* TCP + TLS connect; default 10 */
    double low_speed_time_s;  /* abort a transfer slower than low_speed_bps for this long; default 30 */
    long low_speed_bps;       /* default 1024 bytes/s */
    double request_timeout_s; /* one attempt of one request, 0 = none (the default) */
    int max_attempts;         /* tries per request, including the first; default 4 */
    double backoff_s;         /* delay before the first retry (doubling, capped at 8 s, jittered); 0.25 */
    int list_page_size;       /* keys per ListObjectsV2 page; 0 = the server's default (1000) */
    int sign_payload;         /* S3 puts: sign the body's SHA-256 (x-amz-content-sha256) so the server
                                 rejects a body altered in transit, at the cost of one more pass over
                                 it. Off by default: https already protects the body, and templar's
                                 payloads carry their own hash and ed25519 signature (DESIGN §8). */
} tp_store_opts;

void tp_store_opts_default(tp_store_opts *o);

typedef struct {
    char access_key[256];
    char secret_key[256];
    char session_token[4096]; /* empty unless temporary credentials */
    char region[64];          /* empty: us-east-1 */
} tp_store_creds;

/* Fills creds from the environment, else from the first credentials file that exists among
 * $AWS_SHARED_CREDENTIALS_FILE, $TEMPLAR_HOME/credentials (default ~/.templar/credentials) and
 * ~/.aws/credentials (profile $AWS_PROFILE, default "default"; keys aws_access_key_id,
 * aws_secret_access_key, aws_session_token, region). A file that group or others may access is
 * refused. *found = 0 (and TP_OK) when there are none: requests then go unsigned (public buckets). */
tp_status tp_store_creds_load(tp_store_creds *creds, int *found, tp_err *err);
/* The region from the environment (AWS_REGION, else AWS_DEFAULT_REGION, as the AWS tools read them)
 * into out; "" when neither is set. */
void tp_store_env_region(char *out, size_t n);
/* Wipes secrets from memory. */
void tp_store_creds_clear(tp_store_creds *creds);

/* Parses uri and prepares the backend. creds: NULL loads them with tp_store_creds_load (ignored for
 * file://). opts: NULL for the defaults. A malformed URI fails with TP_ERR_ARG naming it. */
tp_status tp_store_open(const char *uri, const tp_store_creds *creds, const tp_store_opts *opts, tp_store **out,
                        tp_err *err);
void tp_store_close(tp_store *s);
/* The URI the store was opened with (no credentials ever live in it). */
const char *tp_store_uri(const tp_store *s);
/* 1 for file://, 0 for S3. */
int tp_store_is_local(const tp_store *s);

/* Checks a key against the rules above. */
tp_status tp_store_check_key(const char *key, tp_err *err);

/* Per-object outcome of a fetch. */
typedef enum {
    TP_FETCH_OK = 0,
    TP_FETCH_NOT_FOUND, /* no such key (or no such bucket) */
    TP_FETCH_TOO_EARLY, /* stored before the window opened */
    TP_FETCH_TOO_LATE,  /* stored after the window closed */
    TP_FETCH_TOO_BIG,   /* larger than the byte limit; the body was not downloaded */
    TP_FETCH_ERROR,     /* anything else (network, permissions, malformed response, deadline) */
} tp_fetch;

const char *tp_fetch_name(tp_fetch f);

typedef struct {
    uint64_t size;
    double mtime;     /* LastModified, epoch seconds */
    double mtime_res; /* its resolution in seconds: 1 (HTTP date), 0.001 (S3 listing), 0.02 (file: the
                         kernel's coarse clock) */
} tp_store_stat;

/* Stores an object (replacing any old one). put_file reads it from a regular file. */
tp_status tp_store_put(tp_store *s, const char *key, const void *data, size_t len, tp_err *err);
tp_status tp_store_put_file(tp_store *s, const char *key, const char *path, tp_err *err);

/* Fetches an object of at most max_bytes: into a malloc'ed buffer (*data, NUL-terminated, the NUL not
 * counted in *len) or to a file written atomically (never a partial file; a failure leaves any old
 * file untouched). An object over the limit is refused from its Content-Length before the body is
 * read. Returns TP_OK only when the object was fetched; otherwise err says why and *why (may be NULL)
 * is NOT_FOUND, TOO_BIG or ERROR. st may be NULL. */
tp_status tp_store_get(tp_store *s, const char *key, uint64_t max_bytes, uint8_t **data, size_t *len,
                       tp_store_stat *st, tp_fetch *why, tp_err *err);
tp_status tp_store_get_file(tp_store *s, const char *key, uint64_t max_bytes, const char *path, tp_store_stat *st,
                            tp_fetch *why, tp_err *err);

/* Size and LastModified without the body; *why as for get (NOT_FOUND or ERROR). */
tp_status tp_store_head(tp_store *s, const char *key, tp_store_stat *st, tp_fetch *why, tp_err *err);

/* Removes an object; removing a missing key succeeds (as on S3). */
tp_status tp_store_delete(tp_store *s, const char *key, tp_err *err);

typedef struct {
    char *key;
    uint64_t size;
    double mtime;
} tp_store_entry;

typedef struct {
    tp_store_entry *v;
    size_t n, cap;
    double mtime_res;
} tp_store_list;

/* Every key starting with prefix ("" for all), in byte order, all pages. Free with
 * tp_store_list_free (also after a failure). */
tp_status tp_store_list_keys(tp_store *s, const char *prefix, tp_store_list *out, tp_err *err);
void tp_store_list_free(tp_store_list *l);

/* Gather: fetch many objects from many stores (of either backend) concurrently, under one deadline.
 * Each item names its store and key, and a file path to write atomically (NULL: into memory). The
 * caller fills the inputs; tp_store_gather fills the outputs. */
typedef struct {
    tp_store *store;
    const char *key;
    const char *path;   /* NULL: into data/len. Paths must be distinct. */
    uint64_t max_bytes; /* 0: the gather's max_bytes */
    /* outputs */
    tp_fetch status;
    uint8_t *data; /* malloc'ed, NUL-terminated; free() it */
    size_t len;
    tp_store_stat stat; /* size and LastModified when the server told them */
    int attempts;       /* requests made */
    uint64_t received;  /* body bytes read from the network or disk, including failed attempts */
    char msg[512];      /* why, when status is not OK */
} tp_gather_item;

typedef struct {
    double timeout_s;   /* the whole gather ends by now + timeout_s */
    uint64_t max_bytes; /* per object */
    double not_before;  /* put window, epoch seconds; 0 = unchecked */
    double not_after;   /* 0 = unchecked */
    int parallel;       /* transfers at once; 0 = 16 */
    int max_attempts;   /* 0 = each store's max_attempts */
} tp_gather_opts;

/* Fetches every item, retrying 5xx, timeouts and connection errors with backoff while the deadline
 * allows (4xx never). Returns TP_OK when the gather ran, whatever each item's status; an error only
 * for bad arguments or when it could not start (memory, libcurl). On return every item has a final
 * status and no item left a file or temporary file behind unless it is OK. */
tp_status tp_store_gather(tp_gather_item *items, size_t n, const tp_gather_opts *o, tp_err *err);
/* Frees the items' data buffers. */
void tp_gather_free(tp_gather_item *items, size_t n);

/* Formats epoch seconds as ISO 8601 UTC with milliseconds ("2026-01-02T03:04:05.678Z"). */
void tp_store_format_time(double t, char *out, size_t n);

#endif
