/* libFuzzer target for JSON-RPC reply checking (tp_rpc_parse_reply) and the hex values in replies:
 * the bytes come from whatever RPC endpoint the user names. An accepted reply must give a result and
 * no error; an error object must leave a non-zero code and only printable ASCII in both the kept
 * message and the error message; anything else must be a format error (or out of memory). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/rpc.h"
#include "substrate/rpc_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f) abort();
}

/* A hex result must decode to half its digits, and encode back to the same text in lower case. */
static void check_hex(const json_t *v) {
    uint8_t *b;
    size_t n;
    tp_err err;
    if (tp_rpc_unhex(v, 1u << 20, &b, &n, "result", &err) != TP_OK) {
        if (b || (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM)) abort();
        return;
    }
    if (json_string_length(v) != 2 + 2 * n) abort();
    json_t *h = tp_rpc_hex(b, n);
    if (h && strncasecmp(json_string_value(h), json_string_value(v), json_string_length(v))) abort();
    json_decref(h);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy of exactly `size` bytes, so a read one past the end is caught. */
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    json_t *res = (json_t *)1;
    int64_t code = 12345;
    char msg[TP_RPC_MSG_MAX];
    tp_err err;
    tp_status st = tp_rpc_parse_reply(buf, size, 7, "author_submitExtrinsic", &res, &code, msg, sizeof msg, &err);
    if (st == TP_OK) {
        if (!res || code != 0 || msg[0]) abort();
        if (json_is_string(res)) check_hex(res);
        json_decref(res);
    } else {
        if (res) abort();
        if (st == TP_ERR_IO && (code == 0 || err.retryable)) abort();
        if (st != TP_ERR_IO && st != TP_ERR_FORMAT && st != TP_ERR_NOMEM) abort();
        if (strlen(msg) >= TP_RPC_MSG_MAX) abort();
        check_printable(msg);
        check_printable(err.msg);
    }
    char small[16];
    tp_rpc_clean_text(buf, size, small, sizeof small);
    if (strlen(small) >= sizeof small) abort();
    check_printable(small);
    free(buf);
    return 0;
}
