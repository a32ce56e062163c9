#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/safetensors.h"

#define PY "/usr/bin/python3"

static char g_dir[64];

static void setup(void) {
    strcpy(g_dir, "/tmp/tp-st-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void) { tp_remove_tree(g_dir, &(tp_err){0}); }

TestSuite(safetensors, .init = setup, .fini = teardown);

/* A fixed set of tensors covering every dtype, a scalar and an empty tensor. */
static const float g_f32[6] = {0, 0.5f, 1, 1.5f, 2, 2.5f};
static const double g_f64[3] = {-1.25, 0, 1e300};
static const int64_t g_i64 = -7;
static const int32_t g_i32[4] = {-2147483647 - 1, -1, 0, 2147483647};
static const uint32_t g_u32[2] = {0, 4294967295u};
static const uint8_t g_u8[5] = {1, 2, 3, 254, 255};

static tp_st_writer *sample_writer(int with_meta) {
    tp_err err;
    tp_st_writer *w = tp_st_writer_new(&err);
    cr_assert_not_null(w);
    int64_t s23[2] = {2, 3}, s3[1] = {3}, s4[1] = {4}, s2[1] = {2}, s5[1] = {5}, s0[2] = {0, 7};
    /* Added out of name order, so layout order and key order differ. */
    cr_assert_eq(tp_st_add(w, "model.w", TP_DT_F32, 2, s23, g_f32, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "b.f64", TP_DT_F64, 1, s3, g_f64, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "step", TP_DT_I64, 0, NULL, &g_i64, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "empty", TP_DT_F32, 2, s0, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "i32", TP_DT_I32, 1, s4, g_i32, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "u32", TP_DT_U32, 1, s2, g_u32, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "a.u8", TP_DT_U8, 1, s5, g_u8, &err), TP_OK, "%s", err.msg);
    if (with_meta) {
        cr_assert_eq(tp_st_set_meta(w, "format", "pt", &err), TP_OK);
        cr_assert_eq(tp_st_set_meta(w, "window", "12", &err), TP_OK);
        cr_assert_eq(tp_st_set_meta(w, "window", "13", &err), TP_OK); /* last value wins */
    }
    return w;
}

static void check_sample(const tp_st *st, int with_meta) {
    cr_assert_eq(st->n, 7);
    static const char *order[] = {"model.w", "b.f64", "step", "empty", "i32", "u32", "a.u8"};
    for (int i = 0; i < 7; i++) {
        cr_assert_str_eq(st->tensors[i].name, order[i], "tensor %d", i);
        if (i) cr_assert_eq(st->tensors[i].data, st->tensors[i - 1].data + st->tensors[i - 1].nbytes);
    }
    cr_assert_eq(st->tensors[0].data, st->data);
    cr_assert_eq(st->data_len, sizeof g_f32 + sizeof g_f64 + 8 + sizeof g_i32 + sizeof g_u32 + sizeof g_u8);
    const tp_st_tensor *t = tp_st_find(st, "model.w");
    cr_assert_not_null(t);
    cr_assert_eq(t->dtype, TP_DT_F32);
    cr_assert_eq(t->ndim, 2);
    cr_assert_eq(t->shape[0], 2);
    cr_assert_eq(t->shape[1], 3);
    cr_assert_eq(t->count, 6);
    cr_assert_eq(memcmp(t->data, g_f32, sizeof g_f32), 0);
    t = tp_st_find(st, "step");
    cr_assert_eq(t->ndim, 0);
    cr_assert_eq(t->count, 1);
    cr_assert_eq(t->nbytes, 8);
    cr_assert_eq(memcmp(t->data, &g_i64, 8), 0);
    t = tp_st_find(st, "empty");
    cr_assert_eq(t->count, 0);
    cr_assert_eq(t->nbytes, 0);
    cr_assert_eq(t->shape[1], 7);
    cr_assert_eq(memcmp(tp_st_find(st, "b.f64")->data, g_f64, sizeof g_f64), 0);
    cr_assert_eq(memcmp(tp_st_find(st, "i32")->data, g_i32, sizeof g_i32), 0);
    cr_assert_eq(tp_st_find(st, "i32")->dtype, TP_DT_I32);
    cr_assert_eq(memcmp(tp_st_find(st, "u32")->data, g_u32, sizeof g_u32), 0);
    cr_assert_eq(tp_st_find(st, "u32")->dtype, TP_DT_U32);
    cr_assert_eq(memcmp(tp_st_find(st, "a.u8")->data, g_u8, sizeof g_u8), 0);
    cr_assert_eq(tp_st_find(st, "a.u8")->dtype, TP_DT_U8);
    cr_assert_eq(tp_st_find(st, "b.f64")->dtype, TP_DT_F64);
    cr_assert_null(tp_st_find(st, "missing"));
    if (with_meta) {
        cr_assert_str_eq(tp_st_meta(st, "format"), "pt");
        cr_assert_str_eq(tp_st_meta(st, "window"), "13");
        cr_assert_null(tp_st_meta(st, "nope"));
    } else {
        cr_assert_null(st->metadata);
        cr_assert_null(tp_st_meta(st, "format"));
    }
}

Test(safetensors, roundtrip_memory) {
    for (int meta = 0; meta <= 1; meta++) {
        tp_st_writer *w = sample_writer(meta);
        uint8_t *buf;
        size_t len;
        tp_err err;
        cr_assert_eq(tp_st_write_mem(w, &buf, &len, &err), TP_OK, "%s", err.msg);
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
        cr_assert_eq((8 + n) % 8, 0, "data section must start 8-byte aligned");
        cr_assert_eq(buf[8], '{');
        cr_assert_eq(memmem(buf + 8, n, "__metadata__", 12) != NULL, meta);
        tp_st st;
        cr_assert_eq(tp_st_parse(buf, len, 100, &st, &err), TP_OK, "%s", err.msg);
        check_sample(&st, meta);
        tp_st_free(&st);
        tp_st_free(&st); /* idempotent */
        free(buf);
        tp_st_writer_free(w);
    }
}

Test(safetensors, deterministic_bytes) {
    tp_st_writer *a = sample_writer(1), *b = sample_writer(1);
    uint8_t *x, *y;
    size_t lx, ly;
    tp_err err;
    cr_assert_eq(tp_st_write_mem(a, &x, &lx, &err), TP_OK);
    cr_assert_eq(tp_st_write_mem(b, &y, &ly, &err), TP_OK);
    cr_assert_eq(lx, ly);
    cr_assert_eq(memcmp(x, y, lx), 0);
    /* The file writer produces the same bytes as the memory writer. */
    char p[128];
    snprintf(p, sizeof p, "%s/m.safetensors", g_dir);
    cr_assert_eq(tp_st_write_file(a, p, &err), TP_OK, "%s", err.msg);
    uint8_t *z;
    size_t lz;
    cr_assert_eq(tp_read_file(p, 1 << 20, &z, &lz, &err), TP_OK);
    cr_assert_eq(lz, lx);
    cr_assert_eq(memcmp(x, z, lx), 0);
    free(x);
    free(y);
    free(z);
    tp_st_writer_free(a);
    tp_st_writer_free(b);
}

Test(safetensors, roundtrip_file) {
    tp_st_writer *w = sample_writer(1);
    char p[128];
    snprintf(p, sizeof p, "%s/model.safetensors", g_dir);
    tp_err err;
    cr_assert_eq(tp_st_write_file(w, p, &err), TP_OK, "%s", err.msg);
    tp_st_writer_free(w);
    tp_st_file f;
    cr_assert_eq(tp_st_load(p, 1 << 20, 100, &f, &err), TP_OK, "%s", err.msg);
    check_sample(&f.st, 1);
    tp_st_file_free(&f);
    tp_st_file_free(&f);
    /* Bounded read and tensor limit. */
    cr_assert_eq(tp_st_load(p, 100, 100, &f, &err), TP_ERR_FORMAT);
    cr_assert_null(f.bytes);
    cr_assert_eq(tp_st_load(p, 1 << 20, 6, &f, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, p), "%s", err.msg);
    cr_assert(strstr(err.msg, "limit"), "%s", err.msg);
    snprintf(p, sizeof p, "%s/missing.safetensors", g_dir);
    cr_assert_eq(tp_st_load(p, 1 << 20, 100, &f, &err), TP_ERR_IO);
}

Test(safetensors, empty_file_and_only_metadata) {
    tp_err err;
    tp_st_writer *w = tp_st_writer_new(&err);
    uint8_t *buf;
    size_t len;
    cr_assert_eq(tp_st_write_mem(w, &buf, &len, &err), TP_OK);
    tp_st st;
    cr_assert_eq(tp_st_parse(buf, len, 0, &st, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(st.n, 0);
    cr_assert_eq(st.data_len, 0);
    tp_st_free(&st);
    free(buf);
    cr_assert_eq(tp_st_set_meta(w, "k", "v", &err), TP_OK);
    cr_assert_eq(tp_st_write_mem(w, &buf, &len, &err), TP_OK);
    cr_assert_eq(tp_st_parse(buf, len, 0, &st, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(tp_st_meta(&st, "k"), "v");
    tp_st_free(&st);
    free(buf);
    tp_st_writer_free(w);
}

Test(safetensors, writer_rejects_bad_arguments) {
    tp_err err;
    tp_st_writer *w = tp_st_writer_new(&err);
    int64_t s1[1] = {1}, neg[1] = {-1}, big[2] = {INT64_MAX, 3};
    float x = 1;
    cr_assert_eq(tp_st_add(w, "x", TP_DT_F32, 1, s1, &x, &err), TP_OK);
    cr_assert_eq(tp_st_add(w, "x", TP_DT_F32, 1, s1, &x, &err), TP_ERR_ARG);
    cr_assert(strstr(err.msg, "twice"), "%s", err.msg);
    cr_assert_eq(tp_st_add(w, "__metadata__", TP_DT_F32, 1, s1, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, NULL, TP_DT_F32, 1, s1, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, "n", TP_DT_F32, 1, neg, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, "b", TP_DT_F32, 2, big, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, "d", TP_DT_COUNT, 1, s1, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, "m", TP_DT_F32, 9, s1, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, "z", TP_DT_F32, 1, s1, NULL, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_add(w, "\xff\xfe", TP_DT_F32, 1, s1, &x, &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_set_meta(w, "k", "\xff", &err), TP_ERR_ARG);
    cr_assert_eq(tp_st_set_meta(w, "\xff", "v", &err), TP_ERR_ARG);
    /* Failed adds leave the writer usable and unchanged. */
    uint8_t *buf;
    size_t len;
    cr_assert_eq(tp_st_write_mem(w, &buf, &len, &err), TP_OK);
    tp_st st;
    cr_assert_eq(tp_st_parse(buf, len, 10, &st, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(st.n, 1);
    cr_assert_null(st.metadata);
    tp_st_free(&st);
    free(buf);
    tp_st_writer_free(w);
    tp_st_writer_free(NULL);
}

Test(safetensors, every_truncation_rejected) {
    tp_st_writer *w = sample_writer(1);
    uint8_t *full;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_st_write_mem(w, &full, &len, &err), TP_OK);
    tp_st_writer_free(w);
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *b = malloc(cut ? cut : 1);
        memcpy(b, full, cut);
        tp_st st;
        cr_assert_eq(tp_st_parse(b, cut, 100, &st, &err), TP_ERR_FORMAT, "truncation at %zu accepted", cut);
        cr_assert_null(st.tensors);
        free(b);
    }
    /* One extra byte is an uncovered tail. */
    uint8_t *b = malloc(len + 1);
    memcpy(b, full, len);
    b[len] = 0;
    tp_st st;
    cr_assert_eq(tp_st_parse(b, len + 1, 100, &st, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "not covered"), "%s", err.msg);
    free(b);
    free(full);
}

/* Builds a file from a literal header and `ndata` data bytes. */
static uint8_t *make_st(const char *json, size_t ndata, size_t *len) {
    size_t n = strlen(json);
    uint8_t *b = malloc(8 + n + ndata + 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)n >> (8 * i));
    memcpy(b + 8, json, n);
    memset(b + 8 + n, 0x5A, ndata);
    *len = 8 + n + ndata;
    return b;
}

static tp_status parse_json(const char *json, size_t ndata, int max_tensors, tp_err *err) {
    size_t len;
    uint8_t *b = make_st(json, ndata, &len);
    tp_st st;
    tp_status s = tp_st_parse(b, len, max_tensors, &st, err);
    if (s == TP_OK) tp_st_free(&st);
    free(b);
    return s;
}

static void expect_bad(const char *json, size_t ndata, const char *needle) {
    tp_err err = {0};
    tp_status st = parse_json(json, ndata, 10, &err);
    cr_expect_eq(st, TP_ERR_FORMAT, "accepted: %s", json);
    if (needle) cr_expect(strstr(err.msg, needle), "'%s' -> '%s' (wanted '%s')", json, err.msg, needle);
}

#define T(name, dt, shape, b, e) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":[" b "," e "]}"

Test(safetensors, parse_accepts_valid_variants) {
    tp_err err;
    cr_assert_eq(parse_json("{}", 0, 0, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(parse_json("{}        ", 0, 0, &err), TP_OK, "%s", err.msg); /* space padding */
    cr_assert_eq(parse_json("{" T("a", "F32", "[2]", "0", "8") "," T("b", "U8", "[0]", "8", "8") "}", 8, 2, &err),
                 TP_OK, "%s", err.msg);
    /* Several zero-size tensors at the same offset, and one at the very start. */
    cr_assert_eq(parse_json("{" T("z1", "F32", "[0]", "0", "0") "," T("a", "I64", "[]", "0", "8") "," T(
                                "z2", "I32", "[3,0]", "8", "8") "," T("z3", "U32", "[0]", "8", "8") "}",
                            8, 4, &err),
                 TP_OK, "%s", err.msg);
    cr_assert_eq(parse_json("{\"__metadata__\":{}," T("a", "U8", "[1,1,1,1,1,1,1,1]", "0", "1") "}", 1, 1, &err),
                 TP_OK, "%s", err.msg);
}

Test(safetensors, parse_rejects_bad_input) {
    expect_bad("[]", 0, "not a JSON object");
    expect_bad("\"x\"", 0, "JSON");
    expect_bad("{", 0, "JSON");
    expect_bad("{} x", 0, "JSON");
    expect_bad("", 0, "JSON");
    expect_bad("{\"a\":1,\"a\":1}", 0, "JSON");
    expect_bad("{" T("a", "F32", "[1]", "0", "4") "," T("a", "F32", "[1]", "4", "8") "}", 8, "JSON");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "JSON");
    /* dtypes */
    expect_bad("{" T("w", "BF16", "[2]", "0", "4") "}", 4, "tensor 'w' has dtype BF16; only U8, I32");
    expect_bad("{" T("w", "F16", "[2]", "0", "4") "}", 4, "dtype F16");
    expect_bad("{" T("w", "BOOL", "[2]", "0", "2") "}", 2, "dtype BOOL");
    expect_bad("{" T("w", "f32", "[2]", "0", "8") "}", 8, "dtype f32");
    expect_bad("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'dtype' is not a string");
    /* fields */
    expect_bad("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'w': missing field 'dtype'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "missing field 'shape'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "missing field 'data_offsets'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, "unexpected field 'x'");
    expect_bad("{\"w\":[1,2]}", 0, "tensor 'w': entry is not an object");
    expect_bad("{\"w\":null}", 0, "not an object");
    /* shapes */
    expect_bad("{" T("w", "F32", "[-1]", "0", "4") "}", 4, "'shape'");
    expect_bad("{" T("w", "F32", "[1.0]", "0", "4") "}", 4, "'shape'");
    expect_bad("{" T("w", "F32", "[\"1\"]", "0", "4") "}", 4, "'shape'");
    expect_bad("{" T("w", "F32", "1", "0", "4") "}", 4, "'shape' is not an array");
    expect_bad("{" T("w", "U8", "[1,1,1,1,1,1,1,1,1]", "0", "1") "}", 1, "dimensions");
    expect_bad("{" T("w", "U8", "[4294967296,4294967296]", "0", "1") "}", 1, "overflow");
    expect_bad("{" T("w", "F64", "[4611686018427387904]", "0", "1") "}", 1, "too large");
    expect_bad("{" T("w", "U8", "[99999999999999999999]", "0", "1") "}", 1, "JSON");
    /* offsets */
    expect_bad("{" T("w", "F32", "[1]", "4", "0") "}", 4, "ends before it begins");
    expect_bad("{" T("w", "F32", "[1]", "0", "8") "}", 4, "past the 4-byte data section");
    expect_bad("{" T("w", "F32", "[2]", "0", "4") "}", 4, "need 8");
    expect_bad("{" T("w", "F32", "[1]", "-4", "0") "}", 4, "'data_offsets'");
    expect_bad("{" T("w", "F32", "[1]", "0", "1e1") "}", 4, "'data_offsets'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "'data_offsets'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,4]}}", 4, "'data_offsets'");
    expect_bad("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{}}}", 4, "'data_offsets'");
    expect_bad("{" T("w", "U8", "[1]", "0", "18446744073709551615") "}", 4, "JSON");
    /* layout */
    expect_bad("{" T("a", "F32", "[2]", "0", "8") "," T("b", "F32", "[2]", "4", "12") "}", 12, "overlaps");
    expect_bad("{" T("a", "F32", "[2]", "0", "8") "," T("b", "F32", "[2]", "0", "8") "}", 8, "overlaps");
    expect_bad("{" T("a", "F32", "[2]", "0", "8") "," T("z", "F32", "[0]", "4", "4") "}", 8, "overlaps");
    expect_bad("{" T("a", "F32", "[1]", "0", "4") "," T("b", "F32", "[1]", "8", "12") "}", 12, "gap of 4");
    expect_bad("{" T("a", "F32", "[1]", "4", "8") "}", 8, "gap");
    expect_bad("{" T("a", "F32", "[1]", "0", "4") "}", 8, "4 bytes after the last tensor");
    expect_bad("{}", 1, "not covered");
    /* metadata */
    expect_bad("{\"__metadata__\":{\"k\":1}}", 0, "'__metadata__' value for key 'k' is not a string");
    expect_bad("{\"__metadata__\":{\"k\":null}}", 0, "not a string");
    expect_bad("{\"__metadata__\":{\"k\":{\"a\":\"b\"}}}", 0, "not a string");
    expect_bad("{\"__metadata__\":[\"k\"]}", 0, "'__metadata__' is not an object");
    expect_bad("{\"__metadata__\":\"x\"}", 0, "not an object");
    /* strings */
    expect_bad("{\"a\\u0000b\":{}}", 0, "JSON");
    expect_bad("{\"\xff\":{}}", 0, "JSON");
}

Test(safetensors, tensor_count_limit) {
    tp_err err;
    const char *two = "{" T("a", "U8", "[1]", "0", "1") "," T("b", "U8", "[1]", "1", "2") ",\"__metadata__\":{}}";
    cr_assert_eq(parse_json(two, 2, 2, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(parse_json(two, 2, 1, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "2 tensors, more than the limit of 1"), "%s", err.msg);
    cr_assert_eq(parse_json(two, 2, 0, &err), TP_ERR_FORMAT);
    cr_assert_eq(parse_json(two, 2, -1, &err), TP_ERR_FORMAT);
}

Test(safetensors, header_length_checks) {
    tp_err err;
    tp_st st;
    size_t len;
    uint8_t *b = make_st("{}", 0, &len);
    b[0] = 3; /* 3 < 2? no: 3 > len - 8 = 2 */
    cr_assert_eq(tp_st_parse(b, len, 1, &st, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "runs past the end"), "%s", err.msg);
    memset(b, 0xff, 8);
    cr_assert_eq(tp_st_parse(b, len, 1, &st, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "exceeds the limit"), "%s", err.msg);
    uint64_t n = (uint64_t)TP_ST_MAX_HEADER + 1;
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(n >> (8 * i));
    cr_assert_eq(tp_st_parse(b, len, 1, &st, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "exceeds the limit"), "%s", err.msg);
    b[0] = 0;
    memset(b, 0, 8);
    cr_assert_eq(tp_st_parse(b, len, 1, &st, &err), TP_ERR_FORMAT); /* empty header is not JSON */
    cr_assert_eq(tp_st_parse(b, 7, 1, &st, &(tp_err){0}), TP_ERR_FORMAT);
    cr_assert_eq(tp_st_parse(b, 0, 1, &st, &(tp_err){0}), TP_ERR_FORMAT);
    free(b);
}

Test(safetensors, python_reader_reads_ours) {
    if (access(PY, X_OK) != 0 || system(PY " -c 'import numpy' 2>/dev/null") != 0)
        cr_skip_test("no numpy at " PY);
    tp_st_writer *w = sample_writer(1);
    char p[128], script[128];
    snprintf(p, sizeof p, "%s/model.safetensors", g_dir);
    tp_err err;
    cr_assert_eq(tp_st_write_file(w, p, &err), TP_OK, "%s", err.msg);
    tp_st_writer_free(w);
    snprintf(script, sizeof script, "%s/read.py", g_dir);
    FILE *f = fopen(script, "w");
    /* A minimal reader that follows the format spec (and the checks the reference library makes). */
    fprintf(f,
            "import json, struct, sys, numpy as np\n"
            "b = open(sys.argv[1], 'rb').read()\n"
            "n, = struct.unpack('<Q', b[:8])\n"
            "assert (8 + n) %% 8 == 0 and b[8:9] == b'{'\n"
            "h = json.loads(b[8:8 + n])\n"
            "meta = h.pop('__metadata__')\n"
            "assert meta == {'format': 'pt', 'window': '13'}, meta\n"
            "data = b[8 + n:]\n"
            "dt = {'U8': '<u1', 'I32': '<i4', 'U32': '<u4', 'I64': '<i8', 'F32': '<f4', 'F64': '<f8'}\n"
            "t = {}\n"
            "pos = 0\n"
            "for k, v in sorted(h.items(), key=lambda kv: kv[1]['data_offsets']):\n"
            "    s, e = v['data_offsets']\n"
            "    assert s == pos, (k, s, pos)\n"
            "    pos = e\n"
            "    t[k] = np.frombuffer(data[s:e], dtype=dt[v['dtype']]).reshape(v['shape'])\n"
            "assert pos == len(data)\n"
            "assert (t['model.w'] == np.arange(6, dtype='<f4').reshape(2, 3) * 0.5).all()\n"
            "assert (t['b.f64'] == np.array([-1.25, 0, 1e300])).all()\n"
            "assert t['step'].shape == () and t['step'] == -7\n"
            "assert t['empty'].shape == (0, 7) and t['empty'].dtype == np.float32\n"
            "assert (t['i32'] == np.array([-2**31, -1, 0, 2**31 - 1])).all()\n"
            "assert (t['u32'] == np.array([0, 2**32 - 1])).all() and t['u32'].dtype == np.uint32\n"
            "assert (t['a.u8'] == np.array([1, 2, 3, 254, 255])).all()\n"
            "assert list(h) == sorted(h)\n");
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, PY " %s %s", script, p);
    cr_assert_eq(system(cmd), 0, "the Python reader rejected our file");
}
