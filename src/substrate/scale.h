/* SCALE, the Substrate wire codec (parity-scale-codec): little-endian fixed-width integers, compact
 * integers (1, 2, 4 or 5+ bytes by the two low bits of the first byte), length-prefixed vectors
 * and strings, options and enums as a one-byte tag.
 *
 * The writer grows a heap buffer and remembers an allocation failure, so a sequence of puts is
 * checked once at the end (tp_scale_buf_check). The reader is bounded: every get checks the bytes
 * left and fails with TP_ERR_FORMAT naming what it was reading; compact integers must be in their
 * shortest form, as parity-scale-codec requires. */
#ifndef TP_SUBSTRATE_SCALE_H
#define TP_SUBSTRATE_SCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* An unsigned 128-bit value (balances are u128). */
typedef struct {
    uint64_t lo, hi;
} tp_u128;

typedef struct {
    uint8_t *data; /* owned; free with tp_scale_buf_free */
    size_t len, cap;
    bool failed; /* an allocation failed: the contents are incomplete */
} tp_scale_buf;

void tp_scale_buf_init(tp_scale_buf *b);
void tp_scale_buf_free(tp_scale_buf *b);
/* TP_ERR_NOMEM if any put failed since init. */
tp_status tp_scale_buf_check(const tp_scale_buf *b, tp_err *err);

void tp_scale_put_bytes(tp_scale_buf *b, const void *p, size_t n); /* raw, no length prefix */
void tp_scale_put_u8(tp_scale_buf *b, uint8_t v);
void tp_scale_put_u16(tp_scale_buf *b, uint16_t v);
void tp_scale_put_u32(tp_scale_buf *b, uint32_t v);
void tp_scale_put_u64(tp_scale_buf *b, uint64_t v);
void tp_scale_put_u128(tp_scale_buf *b, tp_u128 v);
void tp_scale_put_compact(tp_scale_buf *b, uint64_t v);
void tp_scale_put_compact_u128(tp_scale_buf *b, tp_u128 v);
/* Compact length, then the bytes (Vec<u8>, String). */
void tp_scale_put_vec(tp_scale_buf *b, const void *p, size_t n);

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} tp_scale_reader;

static inline void tp_scale_reader_init(tp_scale_reader *r, const uint8_t *p, size_t len) {
    r->p = p;
    r->len = len;
    r->pos = 0;
}
static inline size_t tp_scale_left(const tp_scale_reader *r) { return r->len - r->pos; }

/* Each names `what` in its error ("SCALE: truncated reading <what>: need 4 bytes, 1 left"). */
tp_status tp_scale_get_bytes(tp_scale_reader *r, size_t n, const uint8_t **out, const char *what, tp_err *err);
tp_status tp_scale_get_u8(tp_scale_reader *r, uint8_t *v, const char *what, tp_err *err);
tp_status tp_scale_get_u16(tp_scale_reader *r, uint16_t *v, const char *what, tp_err *err);
tp_status tp_scale_get_u32(tp_scale_reader *r, uint32_t *v, const char *what, tp_err *err);
tp_status tp_scale_get_u64(tp_scale_reader *r, uint64_t *v, const char *what, tp_err *err);
tp_status tp_scale_get_u128(tp_scale_reader *r, tp_u128 *v, const char *what, tp_err *err);
/* A bool is one byte, 0 or 1; anything else is an error. */
tp_status tp_scale_get_bool(tp_scale_reader *r, bool *v, const char *what, tp_err *err);
/* Refuses values above 2^64 − 1 and non-canonical (longer than needed) encodings. */
tp_status tp_scale_get_compact(tp_scale_reader *r, uint64_t *v, const char *what, tp_err *err);
tp_status tp_scale_get_compact_u128(tp_scale_reader *r, tp_u128 *v, const char *what, tp_err *err);
/* A compact length that must not exceed max_len nor the bytes left divided by min_elem_size (so a
 * hostile length cannot make the caller allocate more than the input could describe). */
tp_status tp_scale_get_len(tp_scale_reader *r, size_t min_elem_size, size_t max_len, size_t *n, const char *what,
                           tp_err *err);
/* A length-prefixed byte string (Vec<u8>, String) of at most max_len bytes; *out points into the input. */
tp_status tp_scale_get_vec(tp_scale_reader *r, size_t max_len, const uint8_t **out, size_t *n, const char *what,
                           tp_err *err);

/* Decimal text of a u128 into out (at least 40 bytes). */
void tp_u128_format(tp_u128 v, char *out);
/* Parses decimal digits only (no sign, no spaces); refuses overflow. 0 on success, -1 otherwise. */
int tp_u128_parse(const char *s, tp_u128 *v);

#endif
