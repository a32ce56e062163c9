/* JSON-RPC 2.0 reply checking, and the hex strings RPC values come in. The reply comes from whatever endpoint the user named: nothing in it
 * is trusted, and the text of a server's error message reaches our error messages (and so logs and
 * terminals) only cleaned and capped. */
#include "substrate/rpc_reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/hex.h"
#include "core/json.h"
#include "substrate/rpc.h"

void tp_rpc_clean_text(const char *s, size_t n, char *out, size_t out_n) {
    if (!out_n) return;
    size_t k = 0, i = 0;
    int in_multibyte = 0;
    for (; i < n && s[i] && k + 1 < out_n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            /* One '?' per UTF-8 sequence: continuation bytes after a non-ASCII byte add nothing. */
            if (!(in_multibyte && (c & 0xc0) == 0x80)) out[k++] = '?';
            in_multibyte = 1;
            continue;
        }
        in_multibyte = 0;
        out[k++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (i < n && s[i] && out_n >= 4) { /* cut short: say so */
        k = k + 3 < out_n ? k : out_n - 4;
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
}

/* The error object's text: "MESSAGE" or "MESSAGE: DATA" (data as it is when a string, else as
 * compact JSON), cleaned and capped. */
static void error_text(const json_t *e, char *out, size_t out_n) {
    char raw[2 * TP_RPC_MSG_MAX];
    const json_t *m = json_object_get(e, "message"), *d = json_object_get(e, "data");
    int k = snprintf(raw, sizeof raw, "%s", json_is_string(m) ? json_string_value(m) : "(no message)");
    if (d && !json_is_null(d) && k >= 0 && (size_t)k + 3 < sizeof raw) {
        if (json_is_string(d)) {
            snprintf(raw + k, sizeof raw - (size_t)k, ": %s", json_string_value(d));
        } else {
            char *dump = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
            snprintf(raw + k, sizeof raw - (size_t)k, ": %s", dump ? dump : "(data)");
            free(dump);
        }
    }
    /* A string may hold a NUL (\u0000): the text ends there, which cleaning then marks as nothing. */
    tp_rpc_clean_text(raw, strlen(raw), out, out_n < TP_RPC_MSG_MAX ? out_n : TP_RPC_MSG_MAX);
}

/* "jsonrpc": "2.0", and the id: ours, or null only on an error (a server that could not read our
 * request at all cannot know its id). */
static tp_status check_envelope(const json_t *j, int64_t id, const char *method, int is_error, tp_err *err) {
    const json_t *v = json_object_get(j, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0"))
        return tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply is not JSON-RPC 2.0 (no \"jsonrpc\": \"2.0\")", method);
    const json_t *rid = json_object_get(j, "id");
    if (json_is_integer(rid) && json_integer_value(rid) == id) return TP_OK;
    if (is_error && json_is_null(rid)) return TP_OK;
    if (json_is_integer(rid))
        return tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply is for request %lld, not ours (%lld)", method,
                       (long long)json_integer_value(rid), (long long)id);
    return tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply has %s id, not our request's %lld", method,
                   rid ? "a non-integer" : "no", (long long)id);
}

static tp_status take_error(const json_t *e, const char *method, int64_t *err_code, char *err_msg, size_t err_msg_n,
                            tp_err *err) {
    const json_t *code = json_object_get(e, "code"), *m = json_object_get(e, "message");
    if (!json_is_object(e) || (code && !json_is_integer(code)) || (m && !json_is_string(m)))
        return tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply's error is not an object with an integer code and a "
                       "message", method);
    char text[TP_RPC_MSG_MAX];
    error_text(e, text, sizeof text);
    /* chopsticks' HTTP server sends no code at all; a code of 0 would read as "no error". */
    *err_code = code && json_integer_value(code) ? json_integer_value(code) : TP_RPC_NO_CODE;
    if (err_msg_n) snprintf(err_msg, err_msg_n, "%s", text);
    if (!code) return tp_fail(err, TP_ERR_IO, "RPC %.128s: error: %s", method, text);
    return tp_fail(err, TP_ERR_IO, "RPC %.128s: error %lld: %s", method, (long long)json_integer_value(code), text);
}

/* Replaces anything unprintable in err->msg: jansson quotes the offending bytes in its messages. */
static tp_status clean_err(tp_err *err) {
    char clean[sizeof err->msg];
    tp_rpc_clean_text(err->msg, sizeof err->msg, clean, sizeof clean);
    memcpy(err->msg, clean, sizeof clean);
    return err->code;
}

tp_status tp_rpc_parse_reply(const char *body, size_t len, int64_t id, const char *method, json_t **result,
                             int64_t *err_code, char *err_msg, size_t err_msg_n, tp_err *err) {
    *result = NULL;
    *err_code = 0;
    if (err_msg_n) err_msg[0] = 0;
    char what[160];
    snprintf(what, sizeof what, "RPC %.128s reply", method);
    json_t *j;
    if (tp_json_parse(body, len, JSON_REJECT_DUPLICATES, what, &j, err)) return clean_err(err);
    tp_status st;
    const json_t *res = json_is_object(j) ? json_object_get(j, "result") : NULL;
    const json_t *e = json_is_object(j) ? json_object_get(j, "error") : NULL;
    if (!json_is_object(j)) st = tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply is not a JSON object", method);
    else if (res && e) st = tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply has both a result and an error", method);
    else if (!res && !e) st = tp_fail(err, TP_ERR_FORMAT, "RPC %.128s: the reply has neither a result nor an error", method);
    else st = check_envelope(j, id, method, e != NULL, err);
    if (!st && e) st = take_error(e, method, err_code, err_msg, err_msg_n, err);
    if (!st) *result = json_incref((json_t *)res);
    json_decref(j);
    return st;
}

/* ---------------------------------------------------------------- hex values */

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

tp_status tp_rpc_unhex(const json_t *v, size_t max, uint8_t **out, size_t *n, const char *what, tp_err *err) {
    *out = NULL;
    *n = 0;
    if (!json_is_string(v)) return tp_fail(err, TP_ERR_FORMAT, "%s: expected a 0x-prefixed hex string", what);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len < 2 || s[0] != '0' || s[1] != 'x')
        return tp_fail(err, TP_ERR_FORMAT, "%s: expected a 0x-prefixed hex string", what);
    s += 2;
    len -= 2;
    if (len % 2) return tp_fail(err, TP_ERR_FORMAT, "%s: odd number of hex digits (%zu)", what, len);
    if (len / 2 > max)
        return tp_fail(err, TP_ERR_FORMAT, "%s: %zu bytes, more than the limit of %zu", what, len / 2, max);
    uint8_t *b = tp_malloc(len / 2, err);
    if (!b) return tp_wrap(err, "%s", what);
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return tp_fail(err, TP_ERR_FORMAT, "%s: not a hex digit at position %zu", what, 2 * i + (hi < 0 ? 2 : 3));
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    *n = len / 2;
    return TP_OK;
}

json_t *tp_rpc_hex(const uint8_t *p, size_t n) {
    if (n > (SIZE_MAX - 3) / 2) return NULL;
    tp_err e;
    char *s = tp_malloc(2 * n + 3, &e);
    if (!s) return NULL;
    s[0] = '0';
    s[1] = 'x';
    tp_hex(p, n, s + 2);
    json_t *j = json_stringn_nocheck(s, 2 * n + 2);
    free(s);
    return j;
}
