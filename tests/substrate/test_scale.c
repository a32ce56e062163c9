/* SCALE primitives: the compact vectors of parity-scale-codec's documentation and the boundaries of
 * each mode, canonical-form refusal, fixed-width integers, bounded lengths, u128 decimal text. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "../support/alloc_fail.h"
#include "core/hex.h"
#include "substrate/scale.h"

/* Hex of a writer's contents (at most 64 bytes). */
static void buf_hex(const tp_scale_buf *b, char out[129]) {
    cr_assert_leq(b->len, 64);
    tp_hex(b->data, b->len, out);
}

static size_t unhex(const char *s, uint8_t *b) {
    size_t n = strlen(s) / 2;
    cr_assert_eq(tp_unhex(s, b, n), 0, "bad hex in the test: %s", s);
    return n;
}

typedef struct {
    tp_u128 v;
    const char *hex;
} compact_case;

#define U(x) {.lo = (x), .hi = 0}
/* parity-scale-codec's README (0, 1, 42, 69, 65535, 100000000000000) and every mode boundary. */
static const compact_case CASES[] = {
    {U(0), "00"},
    {U(1), "04"},
    {U(42), "a8"},
    {U(63), "fc"},
    {U(64), "0101"},
    {U(69), "1501"},
    {U(16383), "fdff"},
    {U(16384), "02000100"},
    {U(65535), "feff0300"},
    {U((1u << 30) - 1), "feffffff"},
    {U(1u << 30), "0300000040"},
    {U(0xffffffffu), "03ffffffff"},
    {U(0x100000000ull), "070000000001"},
    {U(100000000000000ull), "0b00407a10f35a"},
    {U(UINT64_MAX), "13ffffffffffffffff"},
    {{.lo = 0, .hi = 1}, "170000000000000000" "01"},
    {{.lo = UINT64_MAX, .hi = UINT64_MAX}, "33ffffffffffffffffffffffffffffffff"},
};

Test(substrate, scale_compact_vectors) {
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        const compact_case *c = &CASES[i];
        char hex[129];
        tp_scale_buf b;
        tp_scale_buf_init(&b);
        tp_scale_put_compact_u128(&b, c->v);
        buf_hex(&b, hex);
        cr_expect_str_eq(hex, c->hex, "case %zu: compact u128 encodes to %s, want %s", i, hex, c->hex);
        if (!c->v.hi) {
            tp_scale_buf_free(&b);
            tp_scale_put_compact(&b, c->v.lo);
            buf_hex(&b, hex);
            cr_expect_str_eq(hex, c->hex, "case %zu: compact u64 encodes to %s", i, hex);
        }
        tp_scale_buf_free(&b);

        uint8_t bytes[32];
        size_t n = unhex(c->hex, bytes);
        tp_scale_reader r;
        tp_err err;
        tp_u128 got;
        tp_scale_reader_init(&r, bytes, n);
        cr_assert_eq(tp_scale_get_compact_u128(&r, &got, "x", &err), TP_OK, "case %zu: %s", i, err.msg);
        cr_expect(got.lo == c->v.lo && got.hi == c->v.hi && r.pos == n, "case %zu decodes wrong", i);
        uint64_t g64;
        tp_scale_reader_init(&r, bytes, n);
        tp_status st = tp_scale_get_compact(&r, &g64, "x", &err);
        if (c->v.hi) {
            cr_expect_eq(st, TP_ERR_FORMAT, "case %zu: a u128 value read as u64 is accepted", i);
            cr_expect(strstr(err.msg, "out of range"), "%s", err.msg);
        } else {
            cr_expect(st == TP_OK && g64 == c->v.lo && r.pos == n, "case %zu: u64 decode (%s)", i, err.msg);
        }
    }
}

Test(substrate, scale_compact_noncanonical_refused) {
    /* Each is a valid value written longer than needed; parity-scale-codec refuses all of them. */
    static const char *const bad[] = {
        "0100",               /* 0 in two bytes */
        "fd00",               /* 63 in two bytes */
        "02000000",           /* 0 in four bytes */
        "feff0000",           /* 16383 in four bytes */
        "03ffffff3f",         /* 2^30 − 1 in big-integer mode */
        "0700000000" "00",    /* 0 in five bytes */
        "07ffffffff00",       /* 2^32 − 1 in five bytes: top byte zero */
        "13ffffffffffffff00", /* 2^56 − 1 in eight bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t bytes[32];
        size_t n = unhex(bad[i], bytes);
        tp_scale_reader r;
        tp_err err;
        uint64_t v;
        tp_u128 w;
        tp_scale_reader_init(&r, bytes, n);
        cr_expect_eq(tp_scale_get_compact(&r, &v, "a length", &err), TP_ERR_FORMAT, "%s accepted as u64", bad[i]);
        cr_expect(strstr(err.msg, "shortest form") && strstr(err.msg, "a length"), "%s: %s", bad[i], err.msg);
        tp_scale_reader_init(&r, bytes, n);
        cr_expect_eq(tp_scale_get_compact_u128(&r, &w, "x", &err), TP_ERR_FORMAT, "%s accepted as u128", bad[i]);
    }
    /* 17 bytes is past u128 too. */
    uint8_t big[18] = {0x37};
    big[17] = 1;
    tp_scale_reader r;
    tp_err err;
    tp_u128 w;
    tp_scale_reader_init(&r, big, sizeof big);
    cr_expect_eq(tp_scale_get_compact_u128(&r, &w, "x", &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "out of range"), "%s", err.msg);
}

Test(substrate, scale_truncated_reads_name_what) {
    static const char *const cut[] = {"", "01", "020000", "03ffffff", "13ffffffffffffff"};
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        uint8_t bytes[16];
        size_t n = unhex(cut[i], bytes);
        tp_scale_reader r;
        tp_err err;
        uint64_t v;
        tp_scale_reader_init(&r, bytes, n);
        cr_expect_eq(tp_scale_get_compact(&r, &v, "pallet count", &err), TP_ERR_FORMAT, "'%s' accepted", cut[i]);
        cr_expect(strstr(err.msg, "truncated reading pallet count"), "%s", err.msg);
    }
    uint8_t two[2] = {1, 2};
    tp_scale_reader r;
    tp_err err;
    uint32_t v32;
    tp_scale_reader_init(&r, two, 2);
    cr_assert_eq(tp_scale_get_u32(&r, &v32, "spec version", &err), TP_ERR_FORMAT);
    cr_expect_str_eq(err.msg, "SCALE: truncated reading spec version: need 4 bytes, 2 left");
    cr_expect_eq(r.pos, 0, "a failed read moved the reader");
}

Test(substrate, scale_fixed_width_little_endian) {
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_scale_put_u8(&b, 0xab);
    tp_scale_put_u16(&b, 0x1234);
    tp_scale_put_u32(&b, 0xdeadbeef);
    tp_scale_put_u64(&b, 0x0102030405060708ull);
    tp_scale_put_u128(&b, (tp_u128){.lo = 0x1112131415161718ull, .hi = 0x2122232425262728ull});
    tp_err err;
    cr_assert_eq(tp_scale_buf_check(&b, &err), TP_OK);
    char hex[129];
    buf_hex(&b, hex);
    cr_expect_str_eq(hex, "ab" "3412" "efbeadde" "0807060504030201" "18171615141312112827262524232221");
    tp_scale_reader r;
    tp_scale_reader_init(&r, b.data, b.len);
    uint8_t a;
    uint16_t c;
    uint32_t d;
    uint64_t e;
    tp_u128 f;
    cr_assert_eq(tp_scale_get_u8(&r, &a, "a", &err) | tp_scale_get_u16(&r, &c, "c", &err) |
                     tp_scale_get_u32(&r, &d, "d", &err) | tp_scale_get_u64(&r, &e, "e", &err) |
                     tp_scale_get_u128(&r, &f, "f", &err),
                 TP_OK, "%s", err.msg);
    cr_expect(a == 0xab && c == 0x1234 && d == 0xdeadbeef && e == 0x0102030405060708ull);
    cr_expect(f.lo == 0x1112131415161718ull && f.hi == 0x2122232425262728ull);
    cr_expect_eq(tp_scale_left(&r), 0);
    tp_scale_buf_free(&b);
}

Test(substrate, scale_bool_is_zero_or_one) {
    uint8_t bytes[3] = {0, 1, 2};
    tp_scale_reader r;
    tp_err err;
    bool v;
    tp_scale_reader_init(&r, bytes, 3);
    cr_expect(tp_scale_get_bool(&r, &v, "b", &err) == TP_OK && !v);
    cr_expect(tp_scale_get_bool(&r, &v, "b", &err) == TP_OK && v);
    cr_expect_eq(tp_scale_get_bool(&r, &v, "flag", &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "flag") && strstr(err.msg, "0x02"), "%s", err.msg);
}

Test(substrate, scale_lengths_bounded_by_input) {
    /* Length 5 followed by 9 bytes: fine with 1-byte elements, too many for 2-byte ones. */
    uint8_t bytes[10] = {5 << 2, 'h', 'e', 'l', 'l', 'o', 1, 2, 3, 4};
    tp_scale_reader r;
    tp_err err;
    size_t n;
    tp_scale_reader_init(&r, bytes, sizeof bytes);
    cr_expect_eq(tp_scale_get_len(&r, 2, 100, &n, "weights", &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "weights") && strstr(err.msg, "needs at least 10 bytes, 9 left"), "%s", err.msg);
    tp_scale_reader_init(&r, bytes, sizeof bytes);
    cr_expect_eq(tp_scale_get_len(&r, 1, 4, &n, "name", &err), TP_ERR_FORMAT);
    cr_expect(strstr(err.msg, "exceeds the limit of 4"), "%s", err.msg);
    tp_scale_reader_init(&r, bytes, sizeof bytes);
    const uint8_t *p;
    cr_assert_eq(tp_scale_get_vec(&r, 100, &p, &n, "name", &err), TP_OK, "%s", err.msg);
    cr_expect(n == 5 && !memcmp(p, "hello", 5) && r.pos == 6);
    /* A zero element size bounds only by max_len (zero-size elements take no input). */
    tp_scale_reader_init(&r, bytes, 1);
    cr_expect(tp_scale_get_len(&r, 0, 5, &n, "units", &err) == TP_OK && n == 5);

    tp_scale_buf b;
    tp_scale_buf_init(&b);
    tp_scale_put_vec(&b, "hello", 5);
    cr_expect(b.len == 6 && !memcmp(b.data, bytes, 6));
    tp_scale_buf_free(&b);
}

Test(substrate, scale_u128_decimal) {
    static const struct {
        tp_u128 v;
        const char *s;
    } cases[] = {
        {U(0), "0"},
        {U(1), "1"},
        {U(UINT64_MAX), "18446744073709551615"},
        {{.lo = 0, .hi = 1}, "18446744073709551616"},
        {{.lo = UINT64_MAX, .hi = UINT64_MAX}, "340282366920938463463374607431768211455"},
        {{.lo = 0x35c9adc5dea00000ull, .hi = 0x36}, "1000000000000000000000"}, /* 10^21 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char s[40];
        tp_u128_format(cases[i].v, s);
        cr_expect_str_eq(s, cases[i].s, "case %zu", i);
        tp_u128 v;
        cr_expect(!tp_u128_parse(cases[i].s, &v) && v.lo == cases[i].v.lo && v.hi == cases[i].v.hi, "case %zu", i);
    }
    static const char *const bad[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1e3",
                                      "340282366920938463463374607431768211456", "999999999999999999999999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tp_u128 v;
        cr_expect_eq(tp_u128_parse(bad[i], &v), -1, "'%s' parsed", bad[i]);
    }
    /* Below 2^64 the text must match the C library's. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = x >> (i % 64);
        char want[32], got[40];
        snprintf(want, sizeof want, "%llu", (unsigned long long)v);
        tp_u128_format((tp_u128){.lo = v, .hi = 0}, got);
        cr_assert_str_eq(got, want);
    }
}

Test(substrate, scale_writer_remembers_allocation_failure) {
    tp_scale_buf b;
    tp_scale_buf_init(&b);
    af_arm(1, AF_OURS);
    tp_scale_put_u32(&b, 7);
    af_disarm();
    tp_scale_put_u32(&b, 8); /* later puts must not pretend the encoding is whole */
    tp_err err;
    cr_expect_eq(tp_scale_buf_check(&b, &err), TP_ERR_NOMEM);
    cr_expect(b.len == 0 && b.failed);
    tp_scale_buf_free(&b);
    cr_expect(!b.failed && !b.data, "free resets the writer");
}
