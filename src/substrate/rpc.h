/* JSON-RPC 2.0 over HTTP POST (libcurl): what a Substrate node and chopsticks serve on their RPC
 * port. One connection, reused; a handle is for one thread.
 *
 * Everything the endpoint sends is untrusted: a reply larger than max_reply bytes is refused, a
 * reply that is not a JSON-RPC response to our request id is an error naming the method. Transport
 * failures (refused connection, timeout, HTTP 5xx) are retried with exponential backoff up to
 * `retries` times and then reported as transient; an error object in the reply is permanent and its
 * code and message are kept (tp_rpc_last_error). Params and results are never logged: a params
 * array may hold a signed extrinsic, and the caller decides what is safe to print. */
#ifndef TP_SUBSTRATE_RPC_H
#define TP_SUBSTRATE_RPC_H

#include <jansson.h>
#include <stdint.h>

#include "core/error.h"

typedef struct tp_rpc tp_rpc;

typedef struct {
    double timeout_s;     /* per request; 60 */
    int retries;          /* transport failures retried this many times; 4 */
    double backoff_s;     /* first retry delay, doubled each time; 0.25 */
    size_t max_reply;     /* bytes; 64 MiB */
} tp_rpc_opts;

typedef struct {
    int64_t calls;          /* requests sent, retries included */
    int64_t bytes_sent;     /* request bodies */
    int64_t bytes_received; /* reply bodies */
    double seconds;         /* wall time inside tp_rpc_call */
} tp_rpc_stats;

void tp_rpc_opts_default(tp_rpc_opts *o);
/* url: http://HOST:PORT[/PATH] or https://…; opts may be NULL for the defaults. *out owned by the
 * caller: tp_rpc_close. */
tp_status tp_rpc_open(const char *url, const tp_rpc_opts *opts, tp_rpc **out, tp_err *err);
void tp_rpc_close(tp_rpc *r);

/* Calls method with params (a JSON array, borrowed; NULL for none). *result receives a new reference
 * to the reply's "result" (JSON null is a valid result). */
tp_status tp_rpc_call(tp_rpc *r, const char *method, const json_t *params, json_t **result, tp_err *err);
/* The error object of the last call that got one: its code (0 when the last call had none;
 * TP_RPC_NO_CODE, -1, when the object had no code: chopsticks' HTTP server sends only a message,
 * even for 1010/1011 transaction errors) and message (empty when none). */
int64_t tp_rpc_last_error(const tp_rpc *r, const char **message);
/* Counters since open (or the last reset). */
void tp_rpc_stats_get(const tp_rpc *r, tp_rpc_stats *out);
void tp_rpc_stats_reset(tp_rpc *r);

/* "0x…" hex ↔ bytes for RPC values. tp_rpc_unhex allocates *out (free()); refuses odd length,
 * non-hex characters, a missing 0x prefix and more than max bytes. tp_rpc_hex returns a new
 * string reference (NULL when out of memory). */
tp_status tp_rpc_unhex(const json_t *v, size_t max, uint8_t **out, size_t *n, const char *what, tp_err *err);
json_t *tp_rpc_hex(const uint8_t *p, size_t n);

#endif
