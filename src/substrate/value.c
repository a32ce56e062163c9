#include "substrate/value.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/hex.h"
#include "core/json.h"

typedef unsigned __int128 u128;

/* A zero-size element costs no input, so a sequence of them needs its own bound. */
#define MAX_ZERO_SIZE_ELEMS 1024

static const struct {
    const char *name;
    int bytes; /* integers: width */
    bool is_signed;
} PRIM[] = {
    [TP_PRIM_BOOL] = {"bool", 1, false}, [TP_PRIM_CHAR] = {"char", 4, false}, [TP_PRIM_STR] = {"str", 0, false},
    [TP_PRIM_U8] = {"u8", 1, false},     [TP_PRIM_U16] = {"u16", 2, false},   [TP_PRIM_U32] = {"u32", 4, false},
    [TP_PRIM_U64] = {"u64", 8, false},   [TP_PRIM_U128] = {"u128", 16, false}, [TP_PRIM_U256] = {"u256", 32, false},
    [TP_PRIM_I8] = {"i8", 1, true},      [TP_PRIM_I16] = {"i16", 2, true},    [TP_PRIM_I32] = {"i32", 4, true},
    [TP_PRIM_I64] = {"i64", 8, true},    [TP_PRIM_I128] = {"i128", 16, true}, [TP_PRIM_I256] = {"i256", 32, true},
};

static bool is_int_prim(tp_prim p) { return p >= TP_PRIM_U8 && p != TP_PRIM_U256 && p != TP_PRIM_I256; }

/* ---- the walk: metadata, error, where in the value we are ---- */

typedef struct {
    const tp_metadata *md;
    tp_err *err;
    tp_status code; /* what a shape error is: TP_ERR_ARG when encoding, TP_ERR_FORMAT when decoding */
    int depth;
    size_t plen;
    char path[256];
} walk;

static void walk_init(walk *w, const tp_metadata *md, tp_status code, const char *root, tp_err *err) {
    w->md = md;
    w->err = err;
    w->code = code;
    w->depth = 0;
    snprintf(w->path, sizeof w->path, "%s", root);
    w->plen = strlen(w->path);
}

/* Appends to the path (truncating when it is long); returns the length to pop back to. */
static size_t push(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(walk *w, const char *fmt, ...) {
    size_t old = w->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->path + old, sizeof w->path - old, fmt, ap);
    va_end(ap);
    if (n > 0) w->plen = old + (size_t)n < sizeof w->path ? old + (size_t)n : sizeof w->path - 1;
    return old;
}
static size_t push_field(walk *w, const char *name) { return push(w, w->plen ? ".%.60s" : "%.60s", name); }
static size_t push_index(walk *w, size_t i) { return push(w, "[%zu]", i); }
static void pop(walk *w, size_t old) {
    w->plen = old;
    w->path[old] = 0;
}

static tp_status fail(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static tp_status fail(walk *w, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->plen) return tp_fail(w->err, w->code, "%s: %s", w->path, msg);
    return tp_fail(w->err, w->code, "%s", msg);
}

/* A SCALE reader's error, with the path in front. */
static tp_status at_path(walk *w, tp_status st) {
    if (st && w->plen) tp_wrap(w->err, "%s", w->path);
    return st;
}

static tp_status nomem(walk *w) { return tp_fail(w->err, TP_ERR_NOMEM, "out of memory building a JSON value"); }

static const char *type_name(const tp_metadata *md, uint32_t ty) {
    const char *p = md->types[ty].path;
    return p && *p ? p : "(unnamed type)";
}

/* ---- shape rules shared by both directions ---- */

static bool is_newtype(const tp_md_type *t) {
    return t->kind == TP_TY_COMPOSITE && t->n_fields == 1 && !t->fields[0].name;
}

static bool all_named(const tp_md_field *f, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (!f[i].name) return false;
    return n > 0;
}

/* Through newtypes only: what the JSON of ty looks like. */
static uint32_t through_newtypes(const tp_metadata *md, uint32_t ty) {
    for (int i = 0; i < TP_MD_MAX_DEPTH && is_newtype(&md->types[ty]); i++) ty = md->types[ty].fields[0].type;
    return ty;
}

static bool is_byte(const tp_metadata *md, uint32_t ty) {
    const tp_md_type *t = &md->types[through_newtypes(md, ty)];
    return t->kind == TP_TY_PRIMITIVE && t->prim == TP_PRIM_U8;
}

/* Option<T>: path "Option", None = 0 without fields, Some = 1 with one. */
static bool is_option(const tp_md_type *t) {
    return t->kind == TP_TY_VARIANT && t->path && !strcmp(t->path, "Option") && t->n_variants == 2 &&
           ((!strcmp(t->variants[0].name, "None") && t->variants[0].index == 0 && !t->variants[0].n_fields &&
             !strcmp(t->variants[1].name, "Some") && t->variants[1].index == 1 && t->variants[1].n_fields == 1) ||
            (!strcmp(t->variants[1].name, "None") && t->variants[1].index == 0 && !t->variants[1].n_fields &&
             !strcmp(t->variants[0].name, "Some") && t->variants[0].index == 1 && t->variants[0].n_fields == 1));
}

static uint32_t option_inner(const tp_md_type *t) {
    return t->variants[0].n_fields ? t->variants[0].fields[0].type : t->variants[1].fields[0].type;
}

/* Whether ty's JSON can be null. Option<T> is written as null-or-T only when T's cannot (else None
 * and Some(null) would read the same); otherwise it is an ordinary variant. */
static bool may_be_null(const tp_metadata *md, uint32_t ty, int depth) {
    if (depth > TP_MD_MAX_DEPTH) return true;
    const tp_md_type *t = &md->types[through_newtypes(md, ty)];
    if (t->kind == TP_TY_TUPLE) return t->n_tuple == 0;
    if (t->kind == TP_TY_COMPOSITE) return t->n_fields == 0;
    if (is_option(t)) return !may_be_null(md, option_inner(t), depth + 1);
    return false;
}

static bool option_shortcut(const tp_metadata *md, const tp_md_type *t) {
    return is_option(t) && !may_be_null(md, option_inner(t), 0);
}

/* ---- integers: sign and magnitude, so u128 and i128 share one path ---- */

typedef struct {
    bool neg;
    u128 mag;
} num;

static bool num_fits(num x, tp_prim p) {
    int bits = PRIM[p].bytes * 8;
    u128 max = bits == 128 ? ~(u128)0 : ((u128)1 << bits) - 1;
    if (!PRIM[p].is_signed) return !x.neg || x.mag == 0 ? x.mag <= max : false;
    u128 half = (u128)1 << (bits - 1);
    return x.neg ? x.mag <= half : x.mag < half;
}

/* Two's complement bits of x (which fits its type). */
static u128 num_bits(num x) { return x.neg ? ~x.mag + 1 : x.mag; }

static tp_status json_num(walk *w, const json_t *v, num *x, tp_prim p) {
    if (json_is_integer(v)) {
        long long i = json_integer_value(v);
        x->neg = i < 0;
        x->mag = i < 0 ? (u128)(-(i + 1)) + 1 : (u128)i;
        if (!num_fits(*x, p)) return fail(w, "%lld is out of range for %s", i, PRIM[p].name);
        return TP_OK;
    }
    if (!json_is_string(v)) return fail(w, "expected an integer (%s) or a decimal string", PRIM[p].name);
    const char *s = json_string_value(v);
    x->neg = *s == '-';
    const char *digits = s + x->neg;
    tp_u128 m;
    if (json_string_length(v) != strlen(s) || !*digits || strspn(digits, "0123456789") != strlen(digits))
        return fail(w, "\"%.60s\" is not a decimal integer", s);
    if (tp_u128_parse(digits, &m)) return fail(w, "%.60s is out of range for %s", s, PRIM[p].name);
    x->mag = (u128)m.hi << 64 | m.lo;
    if (!num_fits(*x, p)) return fail(w, "%.60s is out of range for %s", s, PRIM[p].name);
    return TP_OK;
}

/* A JSON integer when it fits in int64, else a decimal string. */
static tp_status num_json(walk *w, num x, json_t **out) {
    if (x.neg ? x.mag <= (u128)INT64_MAX + 1 : x.mag <= INT64_MAX) {
        *out = json_integer(x.neg ? (json_int_t)(-(long long)(x.mag - 1) - 1) : (json_int_t)x.mag);
    } else {
        char s[42];
        s[0] = '-';
        tp_u128_format((tp_u128){.lo = (uint64_t)x.mag, .hi = (uint64_t)(x.mag >> 64)}, s + 1);
        *out = json_string(x.neg ? s : s + 1);
    }
    return *out ? TP_OK : nomem(w);
}

/* ---- encoding ---- */

static tp_status enc(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out);

static void put_le(tp_scale_buf *out, u128 v, int n) {
    uint8_t b[16];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    tp_scale_put_bytes(out, b, (size_t)n);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* "0x…" into bytes; want_len (SIZE_MAX: any) is the exact byte count of an array. */
static tp_status enc_hex(walk *w, const json_t *v, size_t want_len, bool prefix_len, tp_scale_buf *out) {
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 2 || s[0] != '0' || s[1] != 'x' || n % 2) return fail(w, "expected \"0x\" and an even number of hex digits");
    size_t bytes = (n - 2) / 2;
    if (want_len != SIZE_MAX && bytes != want_len) return fail(w, "expected %zu bytes, got %zu", want_len, bytes);
    if (prefix_len) tp_scale_put_compact(out, bytes);
    for (size_t i = 0; i < bytes; i++) {
        int hi = hexval(s[2 + 2 * i]), lo = hexval(s[3 + 2 * i]);
        if (hi < 0 || lo < 0) return fail(w, "not a hex digit at offset %zu", 2 + 2 * i);
        tp_scale_put_u8(out, (uint8_t)(hi << 4 | lo));
    }
    return TP_OK;
}

static tp_status enc_elems(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out) {
    for (size_t i = 0; i < json_array_size(v); i++) {
        size_t old = push_index(w, i);
        tp_status st = enc(w, ty, json_array_get(v, i), out);
        pop(w, old);
        if (st) return st;
    }
    return TP_OK;
}

/* Sequence (len SIZE_MAX, length-prefixed) or array (exactly len elements). */
static tp_status enc_list(walk *w, uint32_t elem, size_t len, const json_t *v, tp_scale_buf *out) {
    bool seq = len == SIZE_MAX;
    if (json_is_string(v) && is_byte(w->md, elem)) return enc_hex(w, v, len, seq, out);
    if (!json_is_array(v)) return fail(w, is_byte(w->md, elem) ? "expected a \"0x…\" hex string or an array"
                                                                  : "expected an array");
    if (!seq && json_array_size(v) != len)
        return fail(w, "expected %zu elements, got %zu", len, json_array_size(v));
    if (seq) tp_scale_put_compact(out, json_array_size(v));
    return enc_elems(w, elem, v, out);
}

static tp_status enc_named(walk *w, const tp_md_field *f, uint32_t n, const json_t *v, tp_scale_buf *out) {
    if (!json_is_object(v)) return fail(w, "expected an object with field%s '%.60s'%s", n > 1 ? "s" : "", f[0].name,
                                        n > 1 ? ", …" : "");
    for (uint32_t i = 0; i < n; i++) {
        const json_t *x = json_object_get(v, f[i].name);
        if (!x) return fail(w, "missing field '%.60s'", f[i].name);
        size_t old = push_field(w, f[i].name);
        tp_status st = enc(w, f[i].type, x, out);
        pop(w, old);
        if (st) return st;
    }
    if (json_object_size(v) == n) return TP_OK;
    const char *key;
    const json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        uint32_t i = 0;
        while (i < n && strcmp(f[i].name, key)) i++;
        if (i == n) return fail(w, "unexpected field '%.60s'", key);
    }
    return TP_OK;
}

/* The fields of a composite or of a variant. */
static tp_status enc_fields(walk *w, const tp_md_field *f, uint32_t n, const json_t *v, tp_scale_buf *out) {
    if (n == 0) {
        if (json_is_null(v) || (json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v)))
            return TP_OK;
        return fail(w, "expected null (a value without fields)");
    }
    if (n == 1 && !f[0].name) return enc(w, f[0].type, v, out);
    if (all_named(f, n)) return enc_named(w, f, n, v, out);
    if (!json_is_array(v) || json_array_size(v) != n) return fail(w, "expected an array of %u elements", n);
    for (uint32_t i = 0; i < n; i++) {
        size_t old = push_index(w, i);
        tp_status st = enc(w, f[i].type, json_array_get(v, i), out);
        pop(w, old);
        if (st) return st;
    }
    return TP_OK;
}

static tp_status enc_variant(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out) {
    const tp_md_type *t = &w->md->types[ty];
    if (option_shortcut(w->md, t)) {
        tp_scale_put_u8(out, json_is_null(v) ? 0 : 1);
        return json_is_null(v) ? TP_OK : enc(w, option_inner(t), v, out);
    }
    const char *name = json_is_string(v) ? json_string_value(v) : NULL;
    const json_t *fields = NULL;
    if (json_is_object(v) && json_object_size(v) == 1) {
        name = json_object_iter_key(json_object_iter((json_t *)v));
        fields = json_object_iter_value(json_object_iter((json_t *)v));
    }
    if (!name) return fail(w, "expected a variant of %s: \"Name\" or {\"Name\": fields}", type_name(w->md, ty));
    const tp_md_variant *var = tp_md_variant_named(w->md, ty, name);
    if (!var) return fail(w, "%s has no variant '%.60s'", type_name(w->md, ty), name);
    if (!fields && var->n_fields) return fail(w, "variant '%.60s' has fields: write {\"%.60s\": …}", name, name);
    tp_scale_put_u8(out, var->index);
    if (!fields) return TP_OK;
    size_t old = push_field(w, name);
    tp_status st = enc_fields(w, var->fields, var->n_fields, fields, out);
    pop(w, old);
    return st;
}

static tp_status enc_char(walk *w, const json_t *v, tp_scale_buf *out) {
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t n = json_string_length(v);
    int len = !n ? 0 : s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (!len || (size_t)len != n) return fail(w, "expected a string of one character");
    uint32_t cp = len == 1 ? s[0] : s[0] & (0x7fu >> len);
    for (int i = 1; i < len; i++) cp = cp << 6 | (s[i] & 0x3f);
    tp_scale_put_u32(out, cp); /* jansson has checked the UTF-8 */
    return TP_OK;
}

static tp_status enc_prim(walk *w, tp_prim p, const json_t *v, tp_scale_buf *out) {
    if (p == TP_PRIM_BOOL) {
        if (!json_is_boolean(v)) return fail(w, "expected true or false");
        tp_scale_put_u8(out, json_is_true(v));
        return TP_OK;
    }
    if ((p == TP_PRIM_STR || p == TP_PRIM_CHAR) && !json_is_string(v)) return fail(w, "expected a string");
    if (p == TP_PRIM_STR) {
        tp_scale_put_vec(out, json_string_value(v), json_string_length(v));
        return TP_OK;
    }
    if (p == TP_PRIM_CHAR) return enc_char(w, v, out);
    if (!is_int_prim(p)) return fail(w, "%s values are not supported", PRIM[p].name);
    num x;
    tp_status st = json_num(w, v, &x, p);
    if (!st) put_le(out, num_bits(x), PRIM[p].bytes);
    return st;
}

static tp_status enc_compact(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out) {
    uint32_t target = tp_md_resolve(w->md, ty);
    const tp_md_type *t = &w->md->types[target];
    if (tp_md_is_empty(w->md, target)) {
        if (!json_is_null(v)) return fail(w, "expected null (a compact of nothing)");
        return TP_OK;
    }
    if (t->kind != TP_TY_PRIMITIVE || !is_int_prim(t->prim) || PRIM[t->prim].is_signed)
        return fail(w, "a compact of %s is not supported", type_name(w->md, target));
    num x;
    tp_status st = json_num(w, v, &x, t->prim);
    if (!st) tp_scale_put_compact_u128(out, (tp_u128){.lo = (uint64_t)x.mag, .hi = (uint64_t)(x.mag >> 64)});
    return st;
}

static tp_status enc_tuple(walk *w, const tp_md_type *t, const json_t *v, tp_scale_buf *out) {
    if (!t->n_tuple) {
        if (json_is_null(v) || (json_is_array(v) && !json_array_size(v))) return TP_OK;
        return fail(w, "expected null (the unit tuple)");
    }
    if (!json_is_array(v) || json_array_size(v) != t->n_tuple)
        return fail(w, "expected an array of %u elements", t->n_tuple);
    for (uint32_t i = 0; i < t->n_tuple; i++) {
        size_t old = push_index(w, i);
        tp_status st = enc(w, t->tuple[i], json_array_get(v, i), out);
        pop(w, old);
        if (st) return st;
    }
    return TP_OK;
}

static tp_status enc_kind(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out) {
    const tp_md_type *t = &w->md->types[ty];
    switch (t->kind) {
    case TP_TY_COMPOSITE: return enc_fields(w, t->fields, t->n_fields, v, out);
    case TP_TY_VARIANT: return enc_variant(w, ty, v, out);
    case TP_TY_SEQUENCE: return enc_list(w, t->elem, SIZE_MAX, v, out);
    case TP_TY_ARRAY: return enc_list(w, t->elem, t->len, v, out);
    case TP_TY_TUPLE: return enc_tuple(w, t, v, out);
    case TP_TY_PRIMITIVE: return enc_prim(w, t->prim, v, out);
    case TP_TY_COMPACT: return enc_compact(w, t->elem, v, out);
    case TP_TY_BITSEQ: break;
    }
    return fail(w, "bit sequences are not supported");
}

static tp_status enc(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out) {
    if (w->depth >= TP_MD_MAX_DEPTH) return fail(w, "nested deeper than %d", TP_MD_MAX_DEPTH);
    if (!v) return fail(w, "missing value");
    w->depth++;
    tp_status st = enc_kind(w, ty, v, out);
    w->depth--;
    return st;
}

static tp_status enc_top(walk *w, uint32_t ty, const json_t *v, tp_scale_buf *out) {
    if (ty >= w->md->n_types) return fail(w, "type id %u is out of range (%u types)", ty, w->md->n_types);
    tp_status st = enc(w, ty, v, out);
    return st ? st : tp_scale_buf_check(out, w->err);
}

tp_status tp_value_encode(const tp_metadata *md, uint32_t ty, const json_t *v, tp_scale_buf *out, tp_err *err) {
    walk w;
    walk_init(&w, md, TP_ERR_ARG, "", err);
    return enc_top(&w, ty, v, out);
}

tp_status tp_value_encode_call(const tp_metadata *md, const char *pallet, const char *call, const json_t *args,
                               tp_scale_buf *out, tp_err *err) {
    const tp_md_pallet *p = tp_md_find_pallet(md, pallet);
    if (!p) return tp_fail(err, TP_ERR_ARG, "the runtime has no pallet '%.80s'", pallet);
    const tp_md_variant *c = tp_md_find_call(md, p, call);
    if (!c) return tp_fail(err, TP_ERR_ARG, "pallet %.80s has no call '%.80s'", pallet, call);
    walk w;
    char root[200];
    snprintf(root, sizeof root, "%.80s.%.80s", pallet, call);
    walk_init(&w, md, TP_ERR_ARG, root, err);
    if (!json_is_object(args)) return fail(&w, "the arguments are not a JSON object");
    if (c->n_fields && !all_named(c->fields, c->n_fields)) return fail(&w, "the call has unnamed arguments");
    tp_scale_put_u8(out, p->index);
    tp_scale_put_u8(out, c->index);
    tp_status st = c->n_fields ? enc_named(&w, c->fields, c->n_fields, args, out)
                               : json_object_size(args) ? fail(&w, "the call takes no arguments") : TP_OK;
    return st ? st : tp_scale_buf_check(out, err);
}

/* ---- decoding ---- */

static tp_status dec(walk *w, uint32_t ty, tp_scale_reader *r, json_t **out);

static tp_status dec_hex(walk *w, tp_scale_reader *r, size_t n, json_t **out) {
    const uint8_t *p;
    tp_status st = tp_scale_get_bytes(r, n, &p, "bytes", w->err);
    if (st) return at_path(w, st);
    char *s = tp_malloc(2 * n + 3, w->err);
    if (!s) return TP_ERR_NOMEM;
    s[0] = '0';
    s[1] = 'x';
    tp_hex(p, n, s + 2);
    *out = json_stringn_nocheck(s, 2 * n + 2);
    free(s);
    return *out ? TP_OK : nomem(w);
}

static tp_status dec_elems(walk *w, uint32_t elem, tp_scale_reader *r, size_t n, json_t **out) {
    json_t *a = json_array();
    if (!a) return nomem(w);
    for (size_t i = 0; i < n; i++) {
        json_t *x;
        size_t old = push_index(w, i);
        tp_status st = dec(w, elem, r, &x);
        pop(w, old);
        if (!st && json_array_append_new(a, x)) st = nomem(w);
        if (st) {
            json_decref(a);
            return st;
        }
    }
    *out = a;
    return TP_OK;
}

static tp_status dec_list(walk *w, uint32_t elem, size_t len, tp_scale_reader *r, json_t **out) {
    bool empty = tp_md_is_empty(w->md, elem);
    if (len == SIZE_MAX) {
        tp_status st = tp_scale_get_len(r, empty ? 0 : 1, empty ? MAX_ZERO_SIZE_ELEMS : SIZE_MAX, &len, "sequence length",
                                        w->err);
        if (st) return at_path(w, st);
    } else if (empty && len > MAX_ZERO_SIZE_ELEMS) {
        return fail(w, "array of %zu zero-size elements (at most %d)", len, MAX_ZERO_SIZE_ELEMS);
    } else if (!empty && len > tp_scale_left(r)) {
        return fail(w, "array of %zu elements needs at least %zu bytes, %zu left", len, len, tp_scale_left(r));
    }
    if (is_byte(w->md, elem)) return dec_hex(w, r, len, out);
    return dec_elems(w, elem, r, len, out);
}

static tp_status dec_named(walk *w, const tp_md_field *f, uint32_t n, tp_scale_reader *r, json_t **out) {
    json_t *o = json_object();
    if (!o) return nomem(w);
    for (uint32_t i = 0; i < n; i++) {
        json_t *x;
        size_t old = push_field(w, f[i].name);
        tp_status st = dec(w, f[i].type, r, &x);
        pop(w, old);
        if (!st && json_object_get(o, f[i].name)) {
            json_decref(x);
            st = fail(w, "field name '%.60s' appears twice in the type", f[i].name);
        }
        if (!st && json_object_set_new(o, f[i].name, x)) st = nomem(w);
        if (st) {
            json_decref(o);
            return st;
        }
    }
    *out = o;
    return TP_OK;
}

/* A JSON array of n values, the types of unnamed fields or of a tuple's members. */
static tp_status dec_array_of(walk *w, const tp_md_field *fields, const uint32_t *types, uint32_t n,
                              tp_scale_reader *r, json_t **out) {
    json_t *a = json_array();
    if (!a) return nomem(w);
    for (uint32_t i = 0; i < n; i++) {
        json_t *x;
        size_t old = push_index(w, i);
        tp_status st = dec(w, fields ? fields[i].type : types[i], r, &x);
        pop(w, old);
        if (!st && json_array_append_new(a, x)) st = nomem(w);
        if (st) {
            json_decref(a);
            return st;
        }
    }
    *out = a;
    return TP_OK;
}

static tp_status dec_fields(walk *w, const tp_md_field *f, uint32_t n, tp_scale_reader *r, json_t **out) {
    if (n == 0) {
        *out = json_null();
        return TP_OK;
    }
    if (n == 1 && !f[0].name) return dec(w, f[0].type, r, out);
    if (all_named(f, n)) return dec_named(w, f, n, r, out);
    return dec_array_of(w, f, NULL, n, r, out);
}

static tp_status dec_variant(walk *w, uint32_t ty, tp_scale_reader *r, json_t **out) {
    const tp_md_type *t = &w->md->types[ty];
    uint8_t tag;
    tp_status st = tp_scale_get_u8(r, &tag, "variant index", w->err);
    if (st) return at_path(w, st);
    const tp_md_variant *var = tp_md_variant_tagged(w->md, ty, tag);
    if (!var) return fail(w, "%s has no variant with index %u", type_name(w->md, ty), tag);
    if (option_shortcut(w->md, t)) {
        if (tag == 0) *out = json_null();
        return tag == 0 ? TP_OK : dec(w, option_inner(t), r, out);
    }
    /* Encoding finds a variant by name: a name used twice could not be written back. */
    if (tp_md_variant_named(w->md, ty, var->name) != var)
        return fail(w, "%s has two variants named '%.60s'", type_name(w->md, ty), var->name);
    if (!var->n_fields) {
        *out = json_string(var->name);
        return *out ? TP_OK : nomem(w);
    }
    json_t *fields, *o = json_object();
    if (!o) return nomem(w);
    size_t old = push_field(w, var->name);
    st = dec_fields(w, var->fields, var->n_fields, r, &fields);
    pop(w, old);
    if (!st && json_object_set_new(o, var->name, fields)) st = nomem(w);
    if (st) json_decref(o);
    else *out = o;
    return st;
}

static tp_status dec_str(walk *w, tp_scale_reader *r, json_t **out) {
    const uint8_t *p;
    size_t n;
    tp_status st = tp_scale_get_vec(r, SIZE_MAX, &p, &n, "string", w->err);
    if (st) return at_path(w, st);
    /* Rust strings may hold NUL bytes: check each NUL-free piece (no UTF-8 sequence holds a 0 byte). */
    char *s = tp_malloc(n + 1, w->err);
    if (!s) return TP_ERR_NOMEM;
    if (n) memcpy(s, p, n);
    s[n] = 0;
    bool ok = true;
    for (size_t at = 0; ok && at < n; at += strlen(s + at) + 1) ok = tp_utf8_valid(s + at);
    *out = ok ? json_stringn_nocheck(s, n) : NULL;
    free(s);
    if (!ok) return fail(w, "string is not valid UTF-8");
    return *out ? TP_OK : nomem(w);
}

static tp_status dec_char(walk *w, tp_scale_reader *r, json_t **out) {
    uint32_t cp;
    tp_status st = tp_scale_get_u32(r, &cp, "char", w->err);
    if (st) return at_path(w, st);
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return fail(w, "char 0x%x is not a Unicode scalar value", cp);
    char s[4];
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const uint8_t lead[5] = {0, 0, 0xc0, 0xe0, 0xf0};
    for (int i = n - 1; i > 0; i--, cp >>= 6) s[i] = (char)(0x80 | (cp & 0x3f));
    s[0] = (char)(lead[n] | cp);
    *out = json_stringn_nocheck(s, (size_t)n);
    return *out ? TP_OK : nomem(w);
}

static tp_status dec_int(walk *w, tp_prim p, tp_scale_reader *r, json_t **out) {
    const uint8_t *b;
    int n = PRIM[p].bytes;
    tp_status st = tp_scale_get_bytes(r, (size_t)n, &b, PRIM[p].name, w->err);
    if (st) return at_path(w, st);
    u128 bits = 0;
    for (int i = n; i-- > 0;) bits = bits << 8 | b[i];
    num x = {.neg = false, .mag = bits};
    if (PRIM[p].is_signed && (bits >> (8 * n - 1)) & 1) {
        u128 mask = n == 16 ? ~(u128)0 : ((u128)1 << (8 * n)) - 1;
        x.neg = true;
        x.mag = (~bits + 1) & mask; /* the minimum, 1000…0, is its own complement: 2^(8n−1) */
    }
    return num_json(w, x, out);
}

static tp_status dec_prim(walk *w, tp_prim p, tp_scale_reader *r, json_t **out) {
    if (p == TP_PRIM_BOOL) {
        bool b;
        tp_status st = tp_scale_get_bool(r, &b, "bool", w->err);
        if (st) return at_path(w, st);
        *out = json_boolean(b);
        return TP_OK;
    }
    if (p == TP_PRIM_STR) return dec_str(w, r, out);
    if (p == TP_PRIM_CHAR) return dec_char(w, r, out);
    if (!is_int_prim(p)) return fail(w, "%s values are not supported", PRIM[p].name);
    return dec_int(w, p, r, out);
}

static tp_status dec_compact(walk *w, uint32_t ty, tp_scale_reader *r, json_t **out) {
    uint32_t target = tp_md_resolve(w->md, ty);
    const tp_md_type *t = &w->md->types[target];
    if (tp_md_is_empty(w->md, target)) {
        *out = json_null();
        return TP_OK;
    }
    if (t->kind != TP_TY_PRIMITIVE || !is_int_prim(t->prim) || PRIM[t->prim].is_signed)
        return fail(w, "a compact of %s is not supported", type_name(w->md, target));
    tp_u128 v;
    tp_status st = tp_scale_get_compact_u128(r, &v, "compact", w->err);
    if (st) return at_path(w, st);
    num x = {.neg = false, .mag = (u128)v.hi << 64 | v.lo};
    if (!num_fits(x, t->prim)) return fail(w, "compact value is out of range for %s", PRIM[t->prim].name);
    return num_json(w, x, out);
}

static tp_status dec_tuple(walk *w, const tp_md_type *t, tp_scale_reader *r, json_t **out) {
    if (!t->n_tuple) {
        *out = json_null();
        return TP_OK;
    }
    return dec_array_of(w, NULL, t->tuple, t->n_tuple, r, out);
}

static tp_status dec_kind(walk *w, uint32_t ty, tp_scale_reader *r, json_t **out) {
    const tp_md_type *t = &w->md->types[ty];
    switch (t->kind) {
    case TP_TY_COMPOSITE: return dec_fields(w, t->fields, t->n_fields, r, out);
    case TP_TY_VARIANT: return dec_variant(w, ty, r, out);
    case TP_TY_SEQUENCE: return dec_list(w, t->elem, SIZE_MAX, r, out);
    case TP_TY_ARRAY: return dec_list(w, t->elem, t->len, r, out);
    case TP_TY_TUPLE: return dec_tuple(w, t, r, out);
    case TP_TY_PRIMITIVE: return dec_prim(w, t->prim, r, out);
    case TP_TY_COMPACT: return dec_compact(w, t->elem, r, out);
    case TP_TY_BITSEQ: break;
    }
    return fail(w, "bit sequences are not supported");
}

static tp_status dec(walk *w, uint32_t ty, tp_scale_reader *r, json_t **out) {
    if (w->depth >= TP_MD_MAX_DEPTH) return fail(w, "nested deeper than %d", TP_MD_MAX_DEPTH);
    w->depth++;
    *out = NULL;
    tp_status st = dec_kind(w, ty, r, out);
    w->depth--;
    return st;
}

tp_status tp_value_decode(const tp_metadata *md, uint32_t ty, tp_scale_reader *r, json_t **out, tp_err *err) {
    walk w;
    walk_init(&w, md, TP_ERR_FORMAT, "", err);
    *out = NULL;
    if (ty >= md->n_types) return tp_fail(err, TP_ERR_ARG, "type id %u is out of range (%u types)", ty, md->n_types);
    return dec(&w, ty, r, out);
}

tp_status tp_value_decode_all(const tp_metadata *md, uint32_t ty, const uint8_t *p, size_t n, json_t **out,
                              tp_err *err) {
    tp_scale_reader r;
    tp_scale_reader_init(&r, p, n);
    tp_status st = tp_value_decode(md, ty, &r, out, err);
    if (st) return st;
    if (tp_scale_left(&r)) {
        json_decref(*out);
        *out = NULL;
        return tp_fail(err, TP_ERR_FORMAT, "%zu trailing bytes after a value of %s", tp_scale_left(&r),
                       type_name(md, ty));
    }
    return TP_OK;
}
