#include "core/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

/* ---------------------------------------------------------------- a syntax check that allocates nothing
 * jansson reports a failed allocation inside its lexer as a syntax error. When it claims one, this
 * check tells whether the text really is malformed; it follows jansson's grammar (RFC 8259, an
 * object or array at the top unless JSON_DECODE_ANY, its depth limit). */

#define SYNTAX_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

typedef struct {
    const unsigned char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == (unsigned char)ch) {
        c->p++;
        return true;
    }
    return false;
}

static int hex4(cursor *c) {
    if (c->end - c->p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int ch = c->p[i], d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                                           : ch >= 'A' && ch <= 'F'   ? ch - 'A' + 10
                                                                                       : -1;
        if (d < 0) return -1;
        v = v << 4 | d;
    }
    c->p += 4;
    return v;
}

static bool syntax_string(cursor *c) {
    if (!eat(c, '"')) return false;
    while (c->p < c->end && *c->p != '"') {
        unsigned ch = *c->p++;
        if (ch < 0x20) return false;
        if (ch != '\\') continue;
        if (c->p >= c->end) return false;
        ch = *c->p++;
        if (ch != 'u') {
            if (!strchr("\"\\/bfnrt", (int)ch) || !ch) return false;
            continue;
        }
        int u = hex4(c);
        if (u < 0 || (u >= 0xdc00 && u <= 0xdfff)) return false;
        if (u >= 0xd800 && u <= 0xdbff) { /* a high surrogate needs its low one */
            if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u') return false;
            c->p += 2;
            int lo = hex4(c);
            if (lo < 0xdc00 || lo > 0xdfff) return false;
        }
    }
    return c->p++ < c->end;
}

static bool digits(cursor *c) {
    const unsigned char *start = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') c->p++;
    return c->p > start;
}

static bool syntax_number(cursor *c) {
    if (c->p < c->end && *c->p == '-') c->p++;
    if (c->p < c->end && *c->p == '0') c->p++;
    else if (!(c->p < c->end && *c->p >= '1' && *c->p <= '9' && digits(c))) return false;
    if (c->p < c->end && *c->p == '.' && (c->p++, !digits(c))) return false;
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-')) c->p++;
        if (!digits(c)) return false;
    }
    return true;
}

static bool syntax_word(cursor *c, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n)) return false;
    c->p += n;
    return true;
}

static bool syntax_value(cursor *c, int depth);

static bool syntax_container(cursor *c, int depth, char close) {
    if (depth >= SYNTAX_MAX_DEPTH) return false;
    if (eat(c, close)) return true;
    do {
        if (close == '}' && (!syntax_string(c) || !eat(c, ':'))) return false;
        if (!syntax_value(c, depth + 1)) return false;
    } while (eat(c, ','));
    return eat(c, close);
}

static bool syntax_value(cursor *c, int depth) {
    skip_ws(c);
    if (c->p >= c->end) return false;
    switch (*c->p) {
    case '{': c->p++; return syntax_container(c, depth, '}');
    case '[': c->p++; return syntax_container(c, depth, ']');
    case '"': return syntax_string(c);
    case 't': return syntax_word(c, "true");
    case 'f': return syntax_word(c, "false");
    case 'n': return syntax_word(c, "null");
    default: return syntax_number(c);
    }
}

static bool syntax_ok(const char *text, size_t len, size_t flags) {
    cursor c = {(const unsigned char *)text, (const unsigned char *)text + len};
    skip_ws(&c);
    if (!(flags & JSON_DECODE_ANY) && (c.p >= c.end || (*c.p != '{' && *c.p != '['))) return false;
    if (!syntax_value(&c, 0)) return false;
    skip_ws(&c);
    return (flags & JSON_DISABLE_EOF_CHECK) || c.p == c.end;
}

tp_status tp_json_parse(const char *text, size_t len, size_t flags, const char *what, json_t **out, tp_err *err) {
    json_error_t je;
    *out = json_loadb(text, len, flags, &je);
    if (*out) return TP_OK;
    enum json_error_code code = json_error_code(&je);
    /* jansson reports running out of memory by that code, by an error it never filled in (its lexer
     * could not start, a value could not be stored), or as a syntax error in valid text. */
    int claims_syntax = code == json_error_invalid_syntax || code == json_error_premature_end_of_input ||
                        code == json_error_end_of_input_expected;
    if (code == json_error_out_of_memory || !je.text[0] || (claims_syntax && syntax_ok(text, len, flags)))
        return tp_fail(err, TP_ERR_NOMEM, "%s: out of memory while parsing", what);
    return tp_fail(err, TP_ERR_FORMAT, "%s: invalid JSON: %s (at byte %d)", what, je.text, je.position);
}

tp_status tp_json_index(const char *text, size_t len, const char *field, const char *what, int64_t *value,
                        tp_err *err) {
    json_t *j;
    *value = -1;
    tp_status st = tp_json_parse(text, len, 0, what, &j, err);
    if (st) return st;
    json_t *v = json_object_get(j, field);
    if (json_is_integer(v) && json_integer_value(v) >= 0) *value = json_integer_value(v);
    json_decref(j);
    return *value >= 0 ? TP_OK : tp_fail(err, TP_ERR_FORMAT, "%s is malformed (no %s)", what, field);
}

json_t *tp_json_int_array(const int64_t *v, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_integer(v[i]))) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

bool tp_utf8_valid(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (more < 0 || (more == 1 && c < 0xc2) || c > 0xf4) return false;
        unsigned cp = more ? c & (0x3f >> more) : c;
        for (int i = 0; i < more; i++, p++) {
            if ((*p & 0xc0) != 0x80) return false;
            cp = cp << 6 | (*p & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

typedef struct {
    char *buf;
    size_t len, cap;
    bool failed; /* sticky: once a write failed, every later one fails too */
} dump_buf;

static int dump_to(const char *text, size_t n, void *ctx) {
    dump_buf *d = ctx;
    if (d->failed) return -1;
    if (d->len + n + 1 > d->cap) {
        size_t cap = d->cap ? d->cap : 256;
        while (cap < d->len + n + 1) cap *= 2;
        tp_err e;
        char *b = tp_realloc(d->buf, cap, &e);
        if (!b) {
            d->failed = true;
            return -1;
        }
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, text, n);
    d->len += n;
    d->buf[d->len] = 0;
    return 0;
}

tp_status tp_json_dump(const json_t *j, size_t flags, char **out, size_t *len, tp_err *err) {
    dump_buf d = {0};
    *out = NULL;
    if (json_dump_callback(j, dump_to, &d, flags) || d.failed || dump_to("", 0, &d)) {
        free(d.buf);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory writing JSON");
    }
    *out = d.buf;
    if (len) *len = d.len;
    return TP_OK;
}
