/* SparseLoCo against the reference implementation's vectors (shared/conformance/sparseloco, see its
 * README for the tolerances): index sets exactly, codes except at rounding boundaries, quantisation
 * parameters and dense values within 1e-5 relative (1e-6 absolute). The directory comes from
 * TEMPLAR_CONFORMANCE_DIR, so the same tests run on other vector sets. */
#include <criterion/criterion.h>

#include "../support/conformance.h"
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "codec/chunking.h"
#include "codec/compress.h"
#include "codec/indexcode.h"
#include "core/fileio.h"
#include "core/npy.h"

#define REL 1e-5
#define ABS 1e-6

static void case_root(char *out, size_t n) { conformance_path(out, n, "sparseloco"); }

/* Case folders whose name starts with prefix, sorted; returns the count. */
static int list_cases(const char *prefix, char names[][128], int max) {
    char root[4096];
    case_root(root, sizeof root);
    DIR *d = opendir(root);
    cr_assert_not_null(d, "conformance vectors not found at %s (set TEMPLAR_CONFORMANCE_DIR)", root);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && !strncmp(e->d_name, prefix, strlen(prefix)) && n < max)
            snprintf(names[n++], 128, "%.127s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, 128, (int (*)(const void *, const void *))strcmp);
    return n;
}

static json_t *load_case(const char *name) {
    char root[4096], path[4400];
    case_root(root, sizeof root);
    snprintf(path, sizeof path, "%s/%s/case.json", root, name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    cr_assert_not_null(j, "%s: %s", path, je.text);
    return j;
}

typedef struct {
    uint8_t *buf;
    tp_npy npy;
} array;

static array load_array(const char *name, const char *file, tp_dtype dt) {
    char root[4096], path[4400];
    case_root(root, sizeof root);
    snprintf(path, sizeof path, "%s/%s/%s.npy", root, name, file);
    array a;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1u << 30, &a.buf, &len, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_npy_parse(a.buf, len, &a.npy, &err), TP_OK, "%s: %s", path, err.msg);
    cr_assert_eq(a.npy.dtype, dt, "%s has dtype %s", path, tp_dtype_npy(a.npy.dtype));
    return a;
}

static int64_t jint(json_t *j, const char *key) {
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_integer(v), "case.json lacks integer '%s'", key);
    return json_integer_value(v);
}

static double jnum(json_t *j, const char *key) {
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_number(v), "case.json lacks number '%s'", key);
    return json_number_value(v);
}

static tp_codec_params case_params(json_t *j) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    p.topk = (int)jint(j, "topk");
    p.target_chunk = (int)jint(j, "target_chunk");
    p.bins = (int)jint(j, "bins");
    p.range = (float)jnum(j, "range");
    json_t *dct = json_object_get(j, "use_dct");
    p.use_dct = dct && json_is_true(dct);
    return p;
}

static void case_shape(json_t *j, int *ndim, int64_t shape[2]) {
    json_t *s = json_object_get(j, "shape");
    cr_assert(json_is_array(s) && json_array_size(s) >= 1 && json_array_size(s) <= 2);
    *ndim = (int)json_array_size(s);
    for (int i = 0; i < *ndim; i++) shape[i] = json_integer_value(json_array_get(s, (size_t)i));
}

/* A one-tensor message sized for the case. */
static void one_tensor(tp_update *u, const char *name, int ndim, const int64_t shape[2], const tp_codec_params *p) {
    tp_tensor_info t = {.ndim = ndim, .shape = {shape[0], ndim == 2 ? shape[1] : 0}};
    snprintf(t.name, sizeof t.name, "%s", name);
    tp_err err;
    cr_assert_eq(tp_update_init(u, &t, 1, p, &err), TP_OK, "%s", err.msg);
}

static double close_dev(double got, double want) { return fabs(got - want) / (ABS + REL * fabs(want)); }

/* Worst deviation, in units of the tolerance (<= 1 passes), over n floats. */
static double worst(const float *got, const float *want, int64_t n, int64_t *at) {
    double w = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = close_dev(got[i], want[i]);
        if (!(d <= w)) {
            w = d;
            if (at) *at = i;
        }
    }
    return w;
}

static int cmp_u16(const void *a, const void *b) { return *(const uint16_t *)a - *(const uint16_t *)b; }

Test(conformance, chunk_rule) {
    json_t *j = load_case("chunk_rule");
    int64_t target = jint(j, "target_chunk");
    json_t *m = json_object_get(j, "chunk_for_dim");
    cr_assert(json_is_object(m) && json_object_size(m) > 0);
    const char *key;
    json_t *v;
    json_object_foreach(m, key, v) {
        int64_t n = strtoll(key, NULL, 10);
        cr_expect_eq(tp_chunk_size(n, target), json_integer_value(v), "chunk(%lld) = %lld, reference %lld",
                     (long long)n, (long long)tp_chunk_size(n, target), (long long)json_integer_value(v));
    }
    json_decref(j);
}

static void run_compress_case(const char *name) {
    json_t *j = load_case(name);
    tp_codec_params p = case_params(j);
    int ndim;
    int64_t shape[2];
    case_shape(j, &ndim, shape);
    array in = load_array(name, "input", TP_DT_F32), ridx = load_array(name, "indices", TP_DT_I32),
          rcodes = load_array(name, "codes", TP_DT_U8), rdense = load_array(name, "dense", TP_DT_F32),
          rpack = load_array(name, "packed12", TP_DT_U8);
    tp_update u;
    one_tensor(&u, name, ndim, shape, &p);
    tp_sparse *s = &u.t[0];
    const tp_block_geom *g = &s->geom;

    /* Geometry: chunk_shape is (blocks..., block dims...) and totalk the block size. */
    json_t *cs = json_object_get(j, "chunk_shape");
    if (ndim == 2) {
        cr_assert_eq(json_integer_value(json_array_get(cs, 0)), g->nby, "%s: block rows", name);
        cr_assert_eq(json_integer_value(json_array_get(cs, 1)), g->nbx, "%s: block columns", name);
        cr_assert_eq(json_integer_value(json_array_get(cs, 2)), g->br, "%s: block height", name);
        cr_assert_eq(json_integer_value(json_array_get(cs, 3)), g->bc, "%s: block width", name);
    } else {
        cr_assert_eq(json_integer_value(json_array_get(cs, 0)), g->nblocks, "%s: blocks", name);
        cr_assert_eq(json_integer_value(json_array_get(cs, 1)), g->bc, "%s: block width", name);
    }
    cr_assert_eq(jint(j, "totalk"), g->totalk, "%s: totalk", name);
    cr_assert_eq(ridx.npy.count, g->nblocks * s->k, "%s: reference keeps %lld entries, we %lld", name,
                 (long long)ridx.npy.count, (long long)(g->nblocks * s->k));

    tp_codec_ws *ws;
    tp_err err;
    cr_assert_eq(tp_codec_ws_new(0, &ws, &err), TP_OK);
    const float *x = (const float *)in.npy.data;
    cr_assert_eq(tp_compress_tensor(x, &p, ws, s, &err), TP_OK, "%s: %s", name, err.msg);

    /* Index sets, block by block: ours are sorted, the reference's are sorted too. */
    const int32_t *ri = (const int32_t *)ridx.npy.data;
    for (int64_t b = 0; b < g->nblocks; b++)
        for (int64_t i = 0; i < s->k; i++)
            cr_assert_eq(s->idx[b * s->k + i], ri[b * s->k + i], "%s: block %lld entry %lld: %u, reference %d", name,
                         (long long)b, (long long)i, s->idx[b * s->k + i], ri[b * s->k + i]);

    /* Quantisation parameters. */
    double dshift = close_dev(s->shift, jnum(j, "shift")), dscale = close_dev(s->scale, jnum(j, "scale"));
    cr_assert(dshift <= 1, "%s: shift %.9g, reference %.9g", name, (double)s->shift, jnum(j, "shift"));
    cr_assert(dscale <= 1, "%s: scale %.9g, reference %.9g", name, (double)s->scale, jnum(j, "scale"));
    cr_assert_eq(jint(j, "offset"), p.bins / 2);
    json_t *lk = json_object_get(j, "lookup");
    cr_assert_eq((int)json_array_size(lk), p.bins);
    double dlook = 0;
    for (int b = 0; b < p.bins; b++) {
        double want = json_number_value(json_array_get(lk, (size_t)b)), d = close_dev(s->lookup[b], want);
        cr_assert(d <= 1, "%s: lookup[%d] %.9g, reference %.9g", name, b, (double)s->lookup[b], want);
        dlook = d > dlook ? d : dlook;
    }

    /* Codes: equal except where c/scale lies within 1e-5 of a rounding boundary. */
    const uint8_t *rc = rcodes.npy.data;
    int boundary = 0;
    const tp_dct_plan *plan = NULL;
    float *coef = NULL;
    if (p.use_dct) {
        /* The values the codes quantise are DCT coefficients: recompute them for the check. */
        cr_assert_eq(tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, &err), TP_OK);
        coef = malloc(sizeof(float) * (size_t)g->numel);
        double *tmp = malloc(sizeof(double) * (size_t)g->totalk);
        float *blk = malloc(sizeof(float) * (size_t)g->totalk);
        for (int64_t b = 0; b < g->nblocks; b++) {
            for (int64_t i = 0; i < g->totalk; i++) blk[i] = x[tp_block_offset(g, b, i)];
            tp_dct_forward(plan, blk, coef + b * g->totalk, tmp);
        }
        free(tmp);
        free(blk);
    }
    for (int64_t b = 0; b < g->nblocks; b++)
        for (int64_t i = 0; i < s->k; i++) {
            int64_t e = b * s->k + i;
            if (s->codes[e] == rc[e]) continue;
            float v = coef ? coef[b * g->totalk + s->idx[e]] : x[tp_block_offset(g, b, s->idx[e])];
            double t = ((double)v - s->shift) / s->scale + p.bins / 2, frac = t - floor(t);
            cr_assert(fabs(frac - 0.5) < 1e-5 && abs((int)s->codes[e] - (int)rc[e]) == 1,
                      "%s: code of entry %lld is %u, reference %u (c/scale + offset = %.9g)", name, (long long)e,
                      s->codes[e], rc[e], t);
            boundary++;
        }
    free(coef);

    /* Dense reconstruction. */
    float *dense = malloc(sizeof(float) * (size_t)g->numel);
    cr_assert_eq(tp_decompress_tensor(s, &p, ws, dense, &err), TP_OK, "%s", err.msg);
    int64_t at = 0;
    double ddense = worst(dense, (const float *)rdense.npy.data, g->numel, &at);
    cr_assert(ddense <= 1, "%s: dense[%lld] = %.9g, reference %.9g", name, (long long)at, (double)dense[at],
              (double)((const float *)rdense.npy.data)[at]);

    /* The reference's 12-bit stream, in its own (unsorted) order: unpack, compare the sets, repack. */
    int64_t nnz = g->nblocks * s->k;
    cr_assert_eq(rpack.npy.count, (int64_t)tp_pack12_bytes(nnz), "%s: packed12 length", name);
    uint16_t *un = malloc(sizeof(uint16_t) * (size_t)nnz);
    uint8_t *re = malloc(tp_pack12_bytes(nnz));
    cr_assert_eq(tp_unpack12(rpack.npy.data, (size_t)rpack.npy.count, nnz, un), 0);
    tp_pack12(un, nnz, re);
    cr_assert_eq(memcmp(re, rpack.npy.data, (size_t)rpack.npy.count), 0, "%s: repacked 12-bit stream differs", name);
    for (int64_t b = 0; b < g->nblocks; b++) {
        qsort(un + b * s->k, (size_t)s->k, sizeof *un, cmp_u16);
        for (int64_t i = 0; i < s->k; i++)
            cr_assert_eq(un[b * s->k + i], ri[b * s->k + i], "%s: packed12 block %lld differs", name, (long long)b);
    }
    /* Our packing of the sorted positions round-trips. */
    tp_pack12(s->idx, nnz, re);
    cr_assert_eq(tp_unpack12(re, tp_pack12_bytes(nnz), nnz, un), 0);
    cr_assert_eq(memcmp(un, s->idx, sizeof(uint16_t) * (size_t)nnz), 0);

    cr_log_info("%s: indices exact, %d boundary codes, worst deviation (x tolerance): shift %.3g scale %.3g "
                "lookup %.3g dense %.3g",
                name, boundary, dshift, dscale, dlook, ddense);
    free(un);
    free(re);
    free(dense);
    tp_codec_ws_free(ws);
    tp_update_free(&u);
    free(in.buf);
    free(ridx.buf);
    free(rcodes.buf);
    free(rdense.buf);
    free(rpack.buf);
    json_decref(j);
}

Test(conformance, compress) {
    char names[64][128];
    int n = list_cases("compress_", names, 64);
    cr_assert(n >= 1, "no compress_* cases");
    for (int i = 0; i < n; i++) run_compress_case(names[i]);
}

Test(conformance, error_feedback) {
    char names[16][128];
    int n = list_cases("error_feedback_", names, 16);
    cr_assert(n >= 1, "no error_feedback_* cases");
    for (int c = 0; c < n; c++) {
        const char *name = names[c];
        json_t *j = load_case(name);
        tp_codec_params p = case_params(j);
        int ndim;
        int64_t shape[2];
        case_shape(j, &ndim, shape);
        float beta = (float)jnum(j, "beta"), lambda = (float)jnum(j, "lambda");
        array ep = load_array(name, "e_prev", TP_DT_F32), dl = load_array(name, "delta", TP_DT_F32),
              tr = load_array(name, "transmitted", TP_DT_F32), en = load_array(name, "e_new", TP_DT_F32);
        tp_update u;
        one_tensor(&u, name, ndim, shape, &p);
        int64_t n_el = u.t[0].geom.numel;
        float *e = malloc(sizeof(float) * (size_t)n_el), *sent = malloc(sizeof(float) * (size_t)n_el);
        memcpy(e, ep.npy.data, sizeof(float) * (size_t)n_el);
        tp_codec_ws *ws;
        tp_err err;
        cr_assert_eq(tp_codec_ws_new(0, &ws, &err), TP_OK);
        cr_assert_eq(tp_ef_compress_tensor(e, (const float *)dl.npy.data, beta, lambda, &p, ws, &u.t[0], &err), TP_OK,
                     "%s", err.msg);
        cr_assert_eq(tp_decompress_tensor(&u.t[0], &p, ws, sent, &err), TP_OK);
        int64_t at = 0;
        double dt = worst(sent, (const float *)tr.npy.data, n_el, &at);
        cr_assert(dt <= 1, "%s: transmitted[%lld] = %.9g, reference %.9g", name, (long long)at, (double)sent[at],
                  (double)((const float *)tr.npy.data)[at]);
        double de = worst(e, (const float *)en.npy.data, n_el, &at);
        cr_assert(de <= 1, "%s: e_new[%lld] = %.9g, reference %.9g", name, (long long)at, (double)e[at],
                  (double)((const float *)en.npy.data)[at]);
        cr_log_info("%s: worst deviation (x tolerance): transmitted %.3g e_new %.3g", name, dt, de);
        free(e);
        free(sent);
        tp_codec_ws_free(ws);
        tp_update_free(&u);
        free(ep.buf);
        free(dl.buf);
        free(tr.buf);
        free(en.buf);
        json_decref(j);
    }
}

Test(conformance, aggregate) {
    char names[16][128];
    int n = list_cases("aggregate_", names, 16);
    cr_assert(n >= 1, "no aggregate_* cases");
    for (int c = 0; c < n; c++) {
        const char *name = names[c];
        json_t *j = load_case(name);
        tp_codec_params p = case_params(j);
        int ndim;
        int64_t shape[2];
        case_shape(j, &ndim, shape);
        int P = (int)jint(j, "peers");
        float lr = (float)jnum(j, "outer_lr");
        array pin = load_array(name, "peer_inputs", TP_DT_F32), ragg = load_array(name, "aggregate", TP_DT_F32),
              th = load_array(name, "theta", TP_DT_F32), thn = load_array(name, "theta_next", TP_DT_F32);
        cr_assert(P >= 1 && P <= 16 && pin.npy.ndim == 3 && pin.npy.shape[0] == P);
        tp_update u[16];
        const tp_sparse *peers[16];
        tp_codec_ws *ws;
        tp_err err;
        cr_assert_eq(tp_codec_ws_new(0, &ws, &err), TP_OK);
        int64_t n_el = 0;
        for (int i = 0; i < P; i++) {
            one_tensor(&u[i], name, ndim, shape, &p);
            n_el = u[i].t[0].geom.numel;
            const float *x = (const float *)pin.npy.data + (size_t)i * (size_t)n_el;
            cr_assert_eq(tp_compress_tensor(x, &p, ws, &u[i].t[0], &err), TP_OK, "%s", err.msg);
            peers[i] = &u[i].t[0];
        }
        float *agg = malloc(sizeof(float) * (size_t)n_el), *theta = malloc(sizeof(float) * (size_t)n_el);
        int nonfinite = 0;
        cr_assert_eq(tp_aggregate_tensor(peers, P, &p, ws, agg, &nonfinite, &err), TP_OK, "%s", err.msg);
        cr_assert_not(nonfinite);
        int64_t at = 0;
        double da = worst(agg, (const float *)ragg.npy.data, n_el, &at);
        cr_assert(da <= 1, "%s: aggregate[%lld] = %.9g, reference %.9g", name, (long long)at, (double)agg[at],
                  (double)((const float *)ragg.npy.data)[at]);
        memcpy(theta, th.npy.data, sizeof(float) * (size_t)n_el);
        int skipped = 1;
        cr_assert_eq(tp_outer_step_tensor(theta, peers, P, &p, lr, ws, &skipped, &err), TP_OK, "%s", err.msg);
        cr_assert_not(skipped);
        double dth = worst(theta, (const float *)thn.npy.data, n_el, &at);
        cr_assert(dth <= 1, "%s: theta_next[%lld] = %.9g, reference %.9g", name, (long long)at, (double)theta[at],
                  (double)((const float *)thn.npy.data)[at]);
        cr_log_info("%s: worst deviation (x tolerance): aggregate %.3g theta_next %.3g", name, da, dth);
        for (int i = 0; i < P; i++) tp_update_free(&u[i]);
        free(agg);
        free(theta);
        tp_codec_ws_free(ws);
        free(pin.buf);
        free(ragg.buf);
        free(th.buf);
        free(thn.buf);
        json_decref(j);
    }
}

/* Every case folder is of a kind the tests above run, so a new vector set cannot be skipped
 * silently. */
Test(conformance, every_case_is_covered) {
    char names[256][128];
    int n = list_cases("", names, 256);
    static const char *kinds[] = {"compress_", "error_feedback_", "aggregate_", "chunk_rule"};
    for (int i = 0; i < n; i++) {
        int known = 0;
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) known |= !strncmp(names[i], kinds[k], strlen(kinds[k]));
        cr_expect(known, "case '%s' is of no known kind", names[i]);
    }
}
