#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/npy.h"

#define PY "/usr/bin/python3"

static char g_dir[64];

static void setup(void) {
    strcpy(g_dir, "/tmp/tp-npy-XXXXXX");
    cr_assert_not_null(mkdtemp(g_dir));
}

static void teardown(void) { tp_remove_tree(g_dir, &(tp_err){0}); }

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

/* Fills n elements of dtype dt with a recognisable pattern (value i*3-5, as the dtype allows). */
static void fill(tp_dtype dt, void *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int64_t v = (int64_t)i * 3 - 5;
        switch (dt) {
        case TP_DT_U8: ((uint8_t *)p)[i] = (uint8_t)(i * 7 + 1); break;
        case TP_DT_I32: ((int32_t *)p)[i] = (int32_t)v; break;
        case TP_DT_U32: ((uint32_t *)p)[i] = (uint32_t)i * 100000u + 7u; break;
        case TP_DT_I64: ((int64_t *)p)[i] = v * 1000000007LL; break;
        case TP_DT_F32: ((float *)p)[i] = (float)v * 0.25f; break;
        case TP_DT_F64: ((double *)p)[i] = (double)v * 0.125; break;
        default: break;
        }
    }
}

static uint8_t *slurp(const char *path, size_t *len) {
    uint8_t *b;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1u << 30, &b, len, &err), TP_OK, "%s", err.msg);
    return b;
}

/* Builds an .npy image from a literal header dict: version, dict (padded with spaces and '\n'),
 * then ndata bytes of 0xAB. */
static uint8_t *make_npy(int major, int minor, const char *dict, size_t ndata, size_t *len) {
    size_t prefix = major == 1 ? 10 : 12;
    size_t dl = strlen(dict);
    size_t total = prefix + dl + 1;
    total = (total + 63) / 64 * 64;
    size_t hlen = total - prefix;
    uint8_t *b = malloc(total + ndata + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)major;
    b[7] = (uint8_t)minor;
    for (size_t i = 0; i < prefix - 8; i++) b[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(b + prefix, dict, dl);
    memset(b + prefix + dl, ' ', hlen - dl - 1);
    b[total - 1] = '\n';
    memset(b + total, 0xAB, ndata);
    *len = total + ndata;
    return b;
}

static tp_status parse_dict(const char *dict, size_t ndata, tp_npy *out, tp_err *err) {
    size_t len;
    uint8_t *b = make_npy(1, 0, dict, ndata, &len);
    tp_status st = tp_npy_parse(b, len, out, err);
    free(b);
    return st;
}

TestSuite(npy, .init = setup, .fini = teardown);

Test(npy, dtype_names) {
    cr_assert_eq(tp_dtype_size(TP_DT_U8), 1);
    cr_assert_eq(tp_dtype_size(TP_DT_F64), 8);
    cr_assert_str_eq(tp_dtype_npy(TP_DT_U32), "<u4");
    cr_assert_str_eq(tp_dtype_npy(TP_DT_U8), "|u1");
}

Test(npy, roundtrip_every_dtype) {
    for (int d = 0; d < TP_DT_COUNT; d++) {
        tp_dtype dt = (tp_dtype)d;
        int64_t shape[3] = {2, 3, 5};
        size_t n = 30, nb = n * tp_dtype_size(dt);
        uint8_t *data = malloc(nb);
        fill(dt, data, n);
        char p[128];
        path_in(p, sizeof p, "a.npy");
        tp_err err;
        cr_assert_eq(tp_npy_write(p, dt, 3, shape, data, &err), TP_OK, "%s", err.msg);
        tp_npy_map m;
        cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(m.npy.dtype, dt);
        cr_assert_eq(m.npy.ndim, 3);
        cr_assert_eq(m.npy.shape[0], 2);
        cr_assert_eq(m.npy.shape[1], 3);
        cr_assert_eq(m.npy.shape[2], 5);
        cr_assert_eq(m.npy.count, 30);
        cr_assert_eq(m.npy.header_len % 64, 0, "data should start 64-byte aligned");
        cr_assert_eq(((const uint8_t *)m.map)[m.npy.header_len - 1], '\n');
        cr_assert_eq(memcmp(m.npy.data, data, nb), 0);
        cr_assert_eq(m.map_len, m.npy.header_len + nb);
        tp_npy_map_close(&m);
        cr_assert_null(m.map);
        free(data);
    }
}

Test(npy, scalar_and_empty) {
    char p[128];
    path_in(p, sizeof p, "s.npy");
    tp_err err;
    double x = 3.5;
    cr_assert_eq(tp_npy_write(p, TP_DT_F64, 0, NULL, &x, &err), TP_OK, "%s", err.msg);
    tp_npy_map m;
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.npy.ndim, 0);
    cr_assert_eq(m.npy.count, 1);
    cr_assert_eq(*(const double *)m.npy.data, 3.5);
    tp_npy_map_close(&m);

    int64_t s0[1] = {0};
    cr_assert_eq(tp_npy_write(p, TP_DT_U32, 1, s0, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.npy.ndim, 1);
    cr_assert_eq(m.npy.count, 0);
    tp_npy_map_close(&m);

    int64_t s2[2] = {3, 0};
    cr_assert_eq(tp_npy_write(p, TP_DT_I64, 2, s2, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.npy.ndim, 2);
    cr_assert_eq(m.npy.shape[0], 3);
    cr_assert_eq(m.npy.count, 0);
    tp_npy_map_close(&m);
}

Test(npy, write_rejects_bad_arguments) {
    char p[128];
    path_in(p, sizeof p, "bad.npy");
    tp_err err;
    int64_t neg[1] = {-1}, big[2] = {INT64_MAX, 2}, ok[1] = {4};
    cr_assert_eq(tp_npy_write(p, TP_DT_U8, 1, neg, "x", &err), TP_ERR_ARG);
    cr_assert_eq(tp_npy_write(p, TP_DT_U8, 2, big, "x", &err), TP_ERR_ARG);
    cr_assert_eq(tp_npy_write(p, TP_DT_U8, 9, ok, "x", &err), TP_ERR_ARG);
    cr_assert_eq(tp_npy_write(p, TP_DT_COUNT, 1, ok, "xxxx", &err), TP_ERR_ARG);
    cr_assert_eq(tp_npy_write(p, TP_DT_U8, 1, ok, NULL, &err), TP_ERR_ARG);
    cr_assert(!tp_path_exists(p));
}

Test(npy, stream_several_appends) {
    char p[128];
    path_in(p, sizeof p, "train_000000.npy");
    tp_err err;
    tp_npy_stream *s;
    cr_assert_eq(tp_npy_stream_open(p, TP_DT_U32, &s, &err), TP_OK, "%s", err.msg);
    /* More than the 1 MiB stdio buffer in total, in uneven pieces, one of them empty. */
    size_t total = 0, sizes[] = {1, 0, 1000, 300000, 7, 123456};
    uint32_t *chunk = malloc(300000 * sizeof *chunk);
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        for (size_t i = 0; i < sizes[c]; i++) chunk[i] = (uint32_t)(total + i);
        cr_assert_eq(tp_npy_stream_append(s, chunk, sizes[c], &err), TP_OK, "%s", err.msg);
        total += sizes[c];
        cr_assert_eq(tp_npy_stream_count(s), (int64_t)total);
    }
    free(chunk);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    cr_assert(!tp_path_exists(p), "nothing under the real name before close");
    cr_assert(tp_path_exists(tmp));
    cr_assert_eq(tp_npy_stream_close(s, &err), TP_OK, "%s", err.msg);
    cr_assert(!tp_path_exists(tmp));
    tp_npy_map m;
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.npy.dtype, TP_DT_U32);
    cr_assert_eq(m.npy.ndim, 1);
    cr_assert_eq(m.npy.count, (int64_t)total);
    cr_assert_eq(m.npy.header_len, 128);
    const uint32_t *d = (const uint32_t *)m.npy.data;
    for (size_t i = 0; i < total; i++) cr_assert_eq(d[i], (uint32_t)i);
    tp_npy_map_close(&m);
}

Test(npy, stream_empty_and_every_dtype) {
    for (int dt = 0; dt < TP_DT_COUNT; dt++) {
        char p[128];
        path_in(p, sizeof p, "e.npy");
        tp_err err;
        tp_npy_stream *s;
        cr_assert_eq(tp_npy_stream_open(p, (tp_dtype)dt, &s, &err), TP_OK, "%s", err.msg);
        uint8_t data[64];
        fill((tp_dtype)dt, data, 3);
        if (dt % 2) cr_assert_eq(tp_npy_stream_append(s, data, 3, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_npy_stream_close(s, &err), TP_OK, "%s", err.msg);
        tp_npy_map m;
        cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(m.npy.dtype, (tp_dtype)dt);
        cr_assert_eq(m.npy.count, dt % 2 ? 3 : 0);
        if (dt % 2) cr_assert_eq(memcmp(m.npy.data, data, 3 * tp_dtype_size((tp_dtype)dt)), 0);
        tp_npy_map_close(&m);
    }
}

Test(npy, stream_abort_leaves_nothing) {
    char p[128], tmp[256];
    path_in(p, sizeof p, "x.npy");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", p, (long)getpid());
    tp_err err;
    tp_npy_stream *s;
    cr_assert_eq(tp_npy_stream_open(p, TP_DT_U8, &s, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_npy_stream_append(s, "abc", 3, &err), TP_OK);
    tp_npy_stream_abort(s);
    cr_assert(!tp_path_exists(p));
    cr_assert(!tp_path_exists(tmp));
    tp_npy_stream_abort(NULL);
}

Test(npy, map_open_empty_tiny_missing) {
    char p[128];
    tp_err err;
    tp_npy_map m;
    path_in(p, sizeof p, "empty.npy");
    FILE *f = fopen(p, "wb");
    fclose(f);
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_ERR_FORMAT);
    cr_assert_null(m.map);
    tp_npy_map_close(&m);
    path_in(p, sizeof p, "tiny.npy");
    f = fopen(p, "wb");
    fwrite("\x93NUM", 1, 4, f);
    fclose(f);
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_ERR_FORMAT);
    path_in(p, sizeof p, "header-only.npy");
    f = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00\x00\x00", 1, 10, f);
    fclose(f);
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "header-only.npy"), "%s", err.msg);
    path_in(p, sizeof p, "missing.npy");
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_ERR_IO);
    cr_assert_eq(tp_npy_map_open(g_dir, &m, &err), TP_ERR_IO);
}

Test(npy, parse_versions_2_and_3) {
    for (int major = 1; major <= 3; major++) {
        size_t len;
        uint8_t *b = make_npy(major, 0, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", 16, &len);
        tp_npy n;
        tp_err err;
        cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_OK, "v%d: %s", major, err.msg);
        cr_assert_eq(n.count, 4);
        cr_assert_eq(n.header_len, len - 16);
        cr_assert_eq(n.data, b + len - 16);
        free(b);
    }
}

Test(npy, parse_accepts_header_variants) {
    tp_npy n;
    tp_err err;
    cr_assert_eq(parse_dict("{\"shape\":(3,),\"descr\":\"<u1\",\"fortran_order\":False}", 3, &n, &err), TP_OK, "%s",
                 err.msg);
    cr_assert_eq(n.dtype, TP_DT_U8);
    cr_assert_eq(parse_dict("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", 1, &n, &err), TP_OK);
    cr_assert_eq(n.ndim, 0);
    cr_assert_eq(n.count, 1);
    cr_assert_eq(parse_dict("{ 'descr' : '<f8' , 'fortran_order' : False , 'shape' : ( 1 , 2 ) }", 16, &n, &err),
                 TP_OK, "%s", err.msg);
    cr_assert_eq(n.ndim, 2);
    cr_assert_eq(parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }", 0, &n,
                            &err),
                 TP_OK, "%s", err.msg);
    cr_assert_eq(n.count, 0);
    cr_assert_eq(parse_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1), }", 8, &n, &err),
                 TP_OK, "%s", err.msg);
    cr_assert_eq(n.ndim, 8);
}

static void expect_bad_dict(const char *dict, size_t ndata, const char *needle) {
    tp_npy n;
    tp_err err = {0};
    tp_status st = parse_dict(dict, ndata, &n, &err);
    cr_expect_eq(st, TP_ERR_FORMAT, "accepted: %s", dict);
    if (needle) cr_expect(strstr(err.msg, needle), "'%s' -> '%s' (wanted '%s')", dict, err.msg, needle);
}

Test(npy, parse_rejects_bad_headers) {
#define H(d, s) "{'descr': '" d "', 'fortran_order': False, 'shape': " s ", }"
    expect_bad_dict("{'descr': '<u4', 'fortran_order': True, 'shape': (2,), }", 8, "fortran");
    expect_bad_dict("{'descr': '<u4', 'fortran_order': 0, 'shape': (2,), }", 8, "fortran");
    expect_bad_dict(H(">u4", "(2,)"), 8, "dtype");
    expect_bad_dict(H("<f2", "(2,)"), 4, "dtype");
    expect_bad_dict(H("|O", "(2,)"), 16, "dtype");
    expect_bad_dict(H("<U8", "(2,)"), 64, "dtype");
    expect_bad_dict(H("<u4", "(-2,)"), 8, "negative");
    expect_bad_dict(H("<u4", "(2)"), 8, "comma");
    expect_bad_dict(H("<u4", "(,)"), 0, "shape");
    expect_bad_dict(H("<u4", "(2,,)"), 8, "shape");
    expect_bad_dict(H("<u4", "(2 3)"), 24, "shape");
    expect_bad_dict(H("<u4", "[2]"), 8, "tuple");
    expect_bad_dict(H("<u4", "(02,)"), 8, "leading zero");
    expect_bad_dict(H("<u4", "(2.0,)"), 8, "shape");
    expect_bad_dict(H("<u4", "(2L,)"), 8, "shape");
    expect_bad_dict(H("<u4", "(99999999999999999999,)"), 8, "64 bits");
    expect_bad_dict(H("<u4", "(9223372036854775807,)"), 8, "overflow");   /* count * 4 bytes */
    expect_bad_dict(H("<u1", "(4294967296, 4294967296)"), 8, "overflow"); /* count itself */
    expect_bad_dict(H("<u1", "(2305843009213693952,)"), 8, "truncated");   /* fits, but no data */
    expect_bad_dict(H("<u1", "(1,1,1,1,1,1,1,1,1)"), 1, "dimensions");
    expect_bad_dict(H("<u4", "(2,"), 8, NULL);
    expect_bad_dict("{'descr': '<u4', 'fortran_order': False}", 0, "missing key 'shape'");
    expect_bad_dict("{'fortran_order': False, 'shape': ()}", 0, "missing key 'descr'");
    expect_bad_dict("{'descr': '<u4', 'shape': ()}", 4, "missing key 'fortran_order'");
    expect_bad_dict("{'descr': '<u4', 'descr': '<u4', 'fortran_order': False, 'shape': ()}", 4, "duplicate");
    expect_bad_dict("{'descr': '<u4', 'fortran_order': False, 'shape': (), 'extra': 1}", 4, "unexpected key");
    expect_bad_dict("{'descr': '<u\\x34', 'fortran_order': False, 'shape': ()}", 4, NULL);
    expect_bad_dict("{'descr': '<u4', 'fortran_order': False, 'shape': ()} x", 4, "after the dict");
    expect_bad_dict("{'descr': '<u4' 'fortran_order': False, 'shape': ()}", 4, NULL);
    expect_bad_dict("{'descr': '<u4', 'fortran_order': False, 'shape': ()", 4, NULL);
    expect_bad_dict("{descr: '<u4', 'fortran_order': False, 'shape': ()}", 4, "key");
    expect_bad_dict("['descr', '<u4']", 4, "not a dict");
    expect_bad_dict("", 4, NULL);
    /* Data length must match exactly, and the message says which way it is off. */
    expect_bad_dict(H("<u4", "(2,)"), 7, "truncated");
    expect_bad_dict(H("<u4", "(2,)"), 9, "extra");
    expect_bad_dict(H("<u4", "()"), 0, "truncated");
    expect_bad_dict(H("<u4", "(0,)"), 1, "extra");
#undef H
}

Test(npy, parse_rejects_bad_prefix) {
    size_t len;
    uint8_t *b = make_npy(1, 0, "{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", 4, &len);
    tp_npy n;
    tp_err err;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_OK, "%s", err.msg);
    b[0] = 0x92;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "magic"));
    b[0] = 0x93;
    b[6] = 4;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "version"));
    b[6] = 0;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_ERR_FORMAT);
    b[6] = 1;
    b[7] = 1;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_ERR_FORMAT);
    b[7] = 0;
    b[8] = 0xff; /* header length beyond the buffer */
    b[9] = 0xff;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_ERR_FORMAT);
    cr_assert(strstr(err.msg, "past the end"), "%s", err.msg);
    free(b);
    /* A v2 header length that does not fit in 32 bits of buffer. */
    b = make_npy(2, 0, "{'descr': '<u4', 'fortran_order': False, 'shape': (1,), }", 4, &len);
    b[11] = 0x80;
    cr_assert_eq(tp_npy_parse(b, len, &n, &err), TP_ERR_FORMAT);
    cr_assert_eq(tp_npy_parse(b, 11, &n, &err), TP_ERR_FORMAT);
    free(b);
    cr_assert_eq(tp_npy_parse((const uint8_t *)"", 0, &n, &(tp_err){0}), TP_ERR_FORMAT);
}

Test(npy, every_truncation_rejected) {
    char p[128];
    path_in(p, sizeof p, "t.npy");
    tp_err err;
    int64_t shape[2] = {3, 4};
    float data[12];
    fill(TP_DT_F32, data, 12);
    cr_assert_eq(tp_npy_write(p, TP_DT_F32, 2, shape, data, &err), TP_OK, "%s", err.msg);
    size_t len;
    uint8_t *full = slurp(p, &len);
    for (size_t cut = 0; cut < len; cut++) {
        /* A fresh allocation of exactly `cut` bytes, so ASan sees any read past it. */
        uint8_t *b = malloc(cut ? cut : 1);
        memcpy(b, full, cut);
        tp_npy n;
        cr_assert_eq(tp_npy_parse(b, cut, &n, &err), TP_ERR_FORMAT, "truncation at %zu accepted", cut);
        free(b);
    }
    tp_npy n;
    cr_assert_eq(tp_npy_parse(full, len, &n, &err), TP_OK);
    free(full);
}

static int have_numpy(void) { return access(PY, X_OK) == 0 && system(PY " -c 'import numpy' 2>/dev/null") == 0; }

Test(npy, numpy_reads_ours) {
    if (!have_numpy()) cr_skip_test("no numpy at " PY);
    tp_err err;
    char p[128];
    int64_t shape[2] = {2, 3};
    for (int dt = 0; dt < TP_DT_COUNT; dt++) {
        uint8_t data[48];
        fill((tp_dtype)dt, data, 6);
        char name[32];
        snprintf(name, sizeof name, "w%d.npy", dt);
        path_in(p, sizeof p, name);
        cr_assert_eq(tp_npy_write(p, (tp_dtype)dt, 2, shape, data, &err), TP_OK, "%s", err.msg);
    }
    double x = -2.5;
    path_in(p, sizeof p, "scalar.npy");
    cr_assert_eq(tp_npy_write(p, TP_DT_F64, 0, NULL, &x, &err), TP_OK, "%s", err.msg);
    tp_npy_stream *s;
    path_in(p, sizeof p, "stream.npy");
    cr_assert_eq(tp_npy_stream_open(p, TP_DT_U32, &s, &err), TP_OK, "%s", err.msg);
    uint32_t toks[1000];
    for (int i = 0; i < 1000; i++) toks[i] = (uint32_t)i * 70001u;
    for (int k = 0; k < 3; k++) cr_assert_eq(tp_npy_stream_append(s, toks, 1000, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_npy_stream_close(s, &err), TP_OK, "%s", err.msg);

    char script[256];
    path_in(script, sizeof script, "check.py");
    FILE *f = fopen(script, "w");
    fprintf(f,
            "import sys, numpy as np\n"
            "d = sys.argv[1]\n"
            "i = np.arange(6)\n"
            "want = [(i*7+1).astype('u1'), (i*3-5).astype('<i4'), (i*100000+7).astype('<u4'),\n"
            "        ((i*3-5)*1000000007).astype('<i8'), ((i*3-5)*0.25).astype('<f4'), ((i*3-5)*0.125).astype('<f8')]\n"
            "for k, w in enumerate(want):\n"
            "    a = np.load(f'{d}/w{k}.npy', allow_pickle=False)\n"
            "    assert a.dtype == w.dtype and a.shape == (2, 3), (k, a.dtype, a.shape)\n"
            "    assert (a.ravel() == w).all(), k\n"
            "a = np.load(f'{d}/scalar.npy')\n"
            "assert a.shape == () and a == -2.5\n"
            "a = np.load(f'{d}/stream.npy', mmap_mode='r')\n"
            "assert a.dtype == np.dtype('<u4') and a.shape == (3000,), a.shape\n"
            "assert (a == np.tile((np.arange(1000)*70001).astype('<u4'), 3)).all()\n");
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd, PY " %s %s", script, g_dir);
    cr_assert_eq(system(cmd), 0, "numpy could not read our files");
}

Test(npy, we_read_numpy_files) {
    if (!have_numpy()) cr_skip_test("no numpy at " PY);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             PY " -c \"import numpy as np; from numpy.lib import format as F\n"
                "for v in [(1,0),(2,0),(3,0)]:\n"
                "  for t in ['u1','<i4','<u4','<i8','<f4','<f8']:\n"
                "    with open('%s/np_%%d_%%s.npy' %% (v[0], t[-2:]), 'wb') as f:\n"
                "      F.write_array(f, (np.arange(12).reshape(3,4)*3-5).astype(t), version=v)\n"
                "np.save('%s/np_empty.npy', np.zeros((0,5), '<f4'))\n"
                "np.save('%s/np_scalar.npy', np.int64(-42))\"",
             g_dir, g_dir, g_dir);
    cr_assert_eq(system(cmd), 0);
    static const char *suffix[TP_DT_COUNT] = {"u1", "i4", "u4", "i8", "f4", "f8"};
    for (int v = 1; v <= 3; v++)
        for (int dt = 0; dt < TP_DT_COUNT; dt++) {
            char name[64], p[128];
            snprintf(name, sizeof name, "np_%d_%s.npy", v, suffix[dt]);
            path_in(p, sizeof p, name);
            tp_npy_map m;
            tp_err err;
            cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
            cr_assert_eq(m.npy.dtype, (tp_dtype)dt);
            cr_assert_eq(m.npy.ndim, 2);
            cr_assert_eq(m.npy.count, 12);
            for (int i = 0; i < 12; i++) {
                double got = 0;
                const uint8_t *d = m.npy.data;
                switch ((tp_dtype)dt) {
                case TP_DT_U8: got = ((const uint8_t *)d)[i]; break;
                case TP_DT_I32: got = ((const int32_t *)d)[i]; break;
                case TP_DT_U32: got = ((const uint32_t *)d)[i]; break;
                case TP_DT_I64: got = (double)((const int64_t *)d)[i]; break;
                case TP_DT_F32: got = ((const float *)d)[i]; break;
                case TP_DT_F64: got = ((const double *)d)[i]; break;
                default: break;
                }
                double want = i * 3 - 5;
                if (dt == TP_DT_U8) want = (uint8_t)(i * 3 - 5);
                if (dt == TP_DT_U32) want = (uint32_t)(i * 3 - 5);
                cr_assert_eq(got, want, "%s[%d]", name, i);
            }
            tp_npy_map_close(&m);
        }
    char p[128];
    tp_npy_map m;
    tp_err err;
    path_in(p, sizeof p, "np_empty.npy");
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.npy.count, 0);
    cr_assert_eq(m.npy.shape[1], 5);
    tp_npy_map_close(&m);
    path_in(p, sizeof p, "np_scalar.npy");
    cr_assert_eq(tp_npy_map_open(p, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(m.npy.ndim, 0);
    cr_assert_eq(*(const int64_t *)m.npy.data, -42);
    tp_npy_map_close(&m);
}
