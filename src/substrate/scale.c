#include "substrate/scale.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

typedef unsigned __int128 u128;

static u128 to_native(tp_u128 v) { return (u128)v.hi << 64 | v.lo; }
static tp_u128 from_native(u128 x) { return (tp_u128){.lo = (uint64_t)x, .hi = (uint64_t)(x >> 64)}; }

/* ---- writer ---- */

void tp_scale_buf_init(tp_scale_buf *b) { memset(b, 0, sizeof *b); }

void tp_scale_buf_free(tp_scale_buf *b) {
    free(b->data);
    tp_scale_buf_init(b);
}

tp_status tp_scale_buf_check(const tp_scale_buf *b, tp_err *err) {
    if (b->failed) return tp_fail(err, TP_ERR_NOMEM, "SCALE: out of memory while encoding");
    return TP_OK;
}

/* Room for n more bytes; false (and b->failed) when it cannot be had. */
static bool reserve(tp_scale_buf *b, size_t n) {
    if (b->failed) return false;
    if (n <= b->cap - b->len) return true;
    if (n > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < n) cap *= 2;
    tp_err ignored;
    uint8_t *p = tp_realloc(b->data, cap, &ignored);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void tp_scale_put_bytes(tp_scale_buf *b, const void *p, size_t n) {
    if (!n || !reserve(b, n)) return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* n little-endian bytes of v. */
static void put_le(tp_scale_buf *b, u128 v, size_t n) {
    uint8_t tmp[16];
    for (size_t i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
    tp_scale_put_bytes(b, tmp, n);
}

void tp_scale_put_u8(tp_scale_buf *b, uint8_t v) { put_le(b, v, 1); }
void tp_scale_put_u16(tp_scale_buf *b, uint16_t v) { put_le(b, v, 2); }
void tp_scale_put_u32(tp_scale_buf *b, uint32_t v) { put_le(b, v, 4); }
void tp_scale_put_u64(tp_scale_buf *b, uint64_t v) { put_le(b, v, 8); }
void tp_scale_put_u128(tp_scale_buf *b, tp_u128 v) { put_le(b, to_native(v), 16); }

static void put_compact(tp_scale_buf *b, u128 v) {
    if (v < (1u << 6)) {
        put_le(b, v << 2, 1);
    } else if (v < (1u << 14)) {
        put_le(b, v << 2 | 1, 2);
    } else if (v < (1u << 30)) {
        put_le(b, v << 2 | 2, 4);
    } else {
        /* Big-integer mode: a byte count (4 or more) in the upper six bits, then the shortest
         * little-endian form. */
        size_t n = 4;
        while (n < 16 && (v >> (8 * n))) n++;
        tp_scale_put_u8(b, (uint8_t)((n - 4) << 2 | 3));
        put_le(b, v, n);
    }
}

void tp_scale_put_compact(tp_scale_buf *b, uint64_t v) { put_compact(b, v); }
void tp_scale_put_compact_u128(tp_scale_buf *b, tp_u128 v) { put_compact(b, to_native(v)); }

void tp_scale_put_vec(tp_scale_buf *b, const void *p, size_t n) {
    tp_scale_put_compact(b, n);
    tp_scale_put_bytes(b, p, n);
}

/* ---- reader ---- */

tp_status tp_scale_get_bytes(tp_scale_reader *r, size_t n, const uint8_t **out, const char *what, tp_err *err) {
    if (n > tp_scale_left(r))
        return tp_fail(err, TP_ERR_FORMAT, "SCALE: truncated reading %s: need %zu bytes, %zu left", what, n,
                       tp_scale_left(r));
    *out = r->p + r->pos;
    r->pos += n;
    return TP_OK;
}

static tp_status get_le(tp_scale_reader *r, size_t n, u128 *v, const char *what, tp_err *err) {
    const uint8_t *p = NULL;
    tp_status st = tp_scale_get_bytes(r, n, &p, what, err);
    if (st) return st;
    u128 x = 0;
    for (size_t i = n; i-- > 0;) x = x << 8 | p[i];
    *v = x;
    return TP_OK;
}

#define GET_FIXED(name, type, n)                                                                \
    tp_status name(tp_scale_reader *r, type *v, const char *what, tp_err *err) {               \
        u128 x = 0;                                                                             \
        tp_status st = get_le(r, n, &x, what, err);                                             \
        if (!st) *v = (type)x;                                                                  \
        return st;                                                                              \
    }
GET_FIXED(tp_scale_get_u8, uint8_t, 1)
GET_FIXED(tp_scale_get_u16, uint16_t, 2)
GET_FIXED(tp_scale_get_u32, uint32_t, 4)
GET_FIXED(tp_scale_get_u64, uint64_t, 8)

tp_status tp_scale_get_u128(tp_scale_reader *r, tp_u128 *v, const char *what, tp_err *err) {
    u128 x = 0;
    tp_status st = get_le(r, 16, &x, what, err);
    if (!st) *v = from_native(x);
    return st;
}

tp_status tp_scale_get_bool(tp_scale_reader *r, bool *v, const char *what, tp_err *err) {
    uint8_t b;
    tp_status st = tp_scale_get_u8(r, &b, what, err);
    if (st) return st;
    if (b > 1) return tp_fail(err, TP_ERR_FORMAT, "SCALE: %s: bool byte is 0x%02x, not 0 or 1", what, b);
    *v = b;
    return TP_OK;
}

/* A compact integer of at most max_bytes bytes in big-integer mode, in its shortest form. */
static tp_status get_compact(tp_scale_reader *r, size_t max_bytes, u128 *v, const char *what, tp_err *err) {
    uint8_t first;
    tp_status st = tp_scale_get_u8(r, &first, what, err);
    if (st) return st;
    unsigned mode = first & 3;
    if (mode == 0) {
        *v = first >> 2;
        return TP_OK;
    }
    r->pos--; /* the first byte is part of the value in modes 1 and 2 */
    u128 x = 0;
    size_t n = mode == 1 ? 2 : mode == 2 ? 4 : 0;
    if (n) {
        if ((st = get_le(r, n, &x, what, err))) return st;
        x >>= 2;
        if (x < ((u128)1 << (mode == 1 ? 6 : 14)))
            return tp_fail(err, TP_ERR_FORMAT, "SCALE: %s: compact integer %llu is not in its shortest form", what,
                           (unsigned long long)x);
        *v = x;
        return TP_OK;
    }
    r->pos++;
    n = (size_t)(first >> 2) + 4;
    if (n > max_bytes)
        return tp_fail(err, TP_ERR_FORMAT, "SCALE: %s: compact integer of %zu bytes is out of range (at most %zu)",
                       what, n, max_bytes);
    if ((st = get_le(r, n, &x, what, err))) return st;
    if (x < ((u128)1 << 30) || (n > 4 && !(x >> (8 * (n - 1)))))
        return tp_fail(err, TP_ERR_FORMAT, "SCALE: %s: compact integer in %zu bytes is not in its shortest form",
                       what, n);
    *v = x;
    return TP_OK;
}

tp_status tp_scale_get_compact(tp_scale_reader *r, uint64_t *v, const char *what, tp_err *err) {
    u128 x = 0;
    tp_status st = get_compact(r, 8, &x, what, err);
    if (!st) *v = (uint64_t)x;
    return st;
}

tp_status tp_scale_get_compact_u128(tp_scale_reader *r, tp_u128 *v, const char *what, tp_err *err) {
    u128 x = 0;
    tp_status st = get_compact(r, 16, &x, what, err);
    if (!st) *v = from_native(x);
    return st;
}

tp_status tp_scale_get_len(tp_scale_reader *r, size_t min_elem_size, size_t max_len, size_t *n, const char *what,
                           tp_err *err) {
    uint64_t x;
    tp_status st = tp_scale_get_compact(r, &x, what, err);
    if (st) return st;
    if (x > max_len)
        return tp_fail(err, TP_ERR_FORMAT, "SCALE: %s: length %llu exceeds the limit of %zu", what,
                       (unsigned long long)x, max_len);
    if (min_elem_size && x > tp_scale_left(r) / min_elem_size)
        return tp_fail(err, TP_ERR_FORMAT, "SCALE: %s: length %llu needs at least %llu bytes, %zu left", what,
                       (unsigned long long)x, (unsigned long long)x * min_elem_size, tp_scale_left(r));
    *n = (size_t)x;
    return TP_OK;
}

tp_status tp_scale_get_vec(tp_scale_reader *r, size_t max_len, const uint8_t **out, size_t *n, const char *what,
                           tp_err *err) {
    tp_status st = tp_scale_get_len(r, 1, max_len, n, what, err);
    if (st) return st;
    return tp_scale_get_bytes(r, *n, out, what, err);
}

/* ---- decimal ---- */

void tp_u128_format(tp_u128 v, char *out) {
    u128 x = to_native(v);
    char tmp[40];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(x % 10));
        x /= 10;
    } while (x);
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

int tp_u128_parse(const char *s, tp_u128 *v) {
    if (!*s) return -1;
    const u128 max = ~(u128)0;
    u128 x = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (x > (max - d) / 10) return -1;
        x = x * 10 + d;
    }
    *v = from_native(x);
    return 0;
}
