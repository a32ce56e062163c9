/* Private to the RPC client (and its fuzz target): checking a JSON-RPC 2.0 reply body. */
#ifndef TP_SUBSTRATE_RPC_REPLY_H
#define TP_SUBSTRATE_RPC_REPLY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Longest error text kept from a server (its message and data), after cleaning. */
#define TP_RPC_MSG_MAX 512
/* The code kept for an error object without one (chopsticks over HTTP sends only a message) or with
 * code 0, so that a code of 0 always means "no error". */
#define TP_RPC_NO_CODE (-1)

/* Checks body (len bytes, untrusted) as the reply to request `id` of `method`: a JSON object with
 * "jsonrpc": "2.0", our id, and either "result" (any JSON, null included: *result gets a new
 * reference) or an "error" object. An error object is a permanent TP_ERR_IO error "RPC METHOD: error
 * CODE: MESSAGE[: DATA]" ("error: …" when it has no code) and its code (TP_RPC_NO_CODE when none) and
 * cleaned text are kept in *err_code and err_msg (err_msg_n bytes, NUL-terminated); otherwise
 * *err_code is 0 and err_msg empty. Anything else is TP_ERR_FORMAT
 * naming the method. *result is NULL on every error. */
tp_status tp_rpc_parse_reply(const char *body, size_t len, int64_t id, const char *method, json_t **result,
                             int64_t *err_code, char *err_msg, size_t err_msg_n, tp_err *err);

/* Copies at most n bytes of untrusted text into out (out_n bytes, NUL-terminated) as printable ASCII:
 * control characters, DEL and every non-ASCII byte sequence become '?', and a cut is marked "…" as
 * "...". For putting a server's words into an error message. */
void tp_rpc_clean_text(const char *s, size_t n, char *out, size_t out_n);

#endif
