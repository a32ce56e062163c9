/* Codec properties beyond the reference vectors: any shape (odd sizes, 1-D, 1 x 1) against a naive
 * implementation of DESIGN §7, exact top-k with ties, determinism across runs and thread counts,
 * the error-feedback identity, aggregation rules, index codings and the wire round trip. */
#include <criterion/criterion.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "codec/bench.h"
#include "codec/chunking.h"
#include "codec/compress.h"
#include "codec/indexcode.h"
#include "codec/select.h"
#include "codec/validate.h"
#include "codec/wire.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/layout.h"

static tp_codec_ws *new_ws(int threads) {
    tp_codec_ws *ws;
    tp_err err;
    cr_assert_eq(tp_codec_ws_new(threads, &ws, &err), TP_OK);
    return ws;
}

static void fill_normal(float *x, int64_t n, uint64_t seed, float sigma) {
    tp_rng r;
    tp_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) x[i] = tp_rng_normal(&r) * sigma;
}

static void one_tensor(tp_update *u, int ndim, int64_t r, int64_t c, const tp_codec_params *p) {
    tp_tensor_info t = {.name = "t", .ndim = ndim, .shape = {r, c}};
    tp_err err;
    cr_assert_eq(tp_update_init(u, &t, 1, p, &err), TP_OK, "%s", err.msg);
}

/* ---- chunking ---- */

Test(codec_chunking, largest_divisor_rule) {
    for (int64_t n = 1; n <= 3000; n++)
        for (int64_t target = 1; target <= 130; target += 7) {
            int64_t want = n <= target ? n : 1;
            if (n > target)
                for (int64_t d = target; d >= 1; d--)
                    if (n % d == 0) {
                        want = d;
                        break;
                    }
            cr_assert_eq(tp_chunk_size(n, target), want, "n=%lld target=%lld", (long long)n, (long long)target);
        }
}

Test(codec_chunking, geometry) {
    tp_block_geom g;
    tp_err err;
    int64_t s2[2] = {96, 100};
    cr_assert_eq(tp_block_geom_init(2, s2, 64, &g, &err), TP_OK);
    cr_assert(g.br == 48 && g.bc == 50 && g.nby == 2 && g.nbx == 2 && g.totalk == 2400 && g.numel == 9600);
    /* Block (1, 1), position 51 = row 1, column 1 inside the block. */
    cr_assert_eq(tp_block_offset(&g, 3, 51), (48 + 1) * 100 + 50 + 1);
    int64_t s1[1] = {100};
    cr_assert_eq(tp_block_geom_init(1, s1, 64, &g, &err), TP_OK);
    cr_assert(g.br == 1 && g.bc == 50 && g.nblocks == 2 && g.rows == 1 && g.cols == 100);
    cr_assert_eq(tp_block_offset(&g, 1, 7), 57);
    int64_t bad[2] = {0, 4};
    cr_assert_neq(tp_block_geom_init(2, bad, 64, &g, &err), TP_OK);
    cr_assert_neq(tp_block_geom_init(3, s2, 64, &g, &err), TP_OK);
    cr_assert_neq(tp_block_geom_init(2, s2, 0, &g, &err), TP_OK);
    /* Every position of every block maps to a distinct element. */
    int64_t s3[2] = {12, 15};
    cr_assert_eq(tp_block_geom_init(2, s3, 4, &g, &err), TP_OK);
    char seen[180] = {0};
    for (int64_t b = 0; b < g.nblocks; b++)
        for (int64_t i = 0; i < g.totalk; i++) {
            int64_t o = tp_block_offset(&g, b, i);
            cr_assert(o >= 0 && o < 180 && !seen[o]);
            seen[o] = 1;
        }
}

Test(codec_chunking, k_rule) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    cr_assert_eq(tp_codec_k(&p, 4096), 64);
    cr_assert_eq(tp_codec_k(&p, 50), 50);
    cr_assert_eq(tp_codec_k(&p, 63), 62);
    cr_assert_eq(tp_codec_k(&p, 3), 2);
    cr_assert_eq(tp_codec_k(&p, 2), 2);
    cr_assert_eq(tp_codec_k(&p, 1), 1);
    p.topk = 7;
    cr_assert_eq(tp_codec_k(&p, 4096), 6);
    p.topk = 1;
    cr_assert_eq(tp_codec_k(&p, 4096), 2);
}

/* ---- selection ---- */

typedef struct {
    uint32_t key;
    int pos;
} kp;

static int by_key_desc(const void *a, const void *b) {
    const kp *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return x->pos - y->pos;
}

static int cmp_u16(const void *a, const void *b) { return *(const uint16_t *)a - *(const uint16_t *)b; }

Test(codec_select, exact_with_ties_and_any_sizes) {
    static const int sizes[] = {1, 2, 3, 7, 50, 64, 100, 1000, 1024, 2400, 4096, 5000, 65536};
    uint32_t *keys = malloc(sizeof(uint32_t) * 65536), *ck = malloc(sizeof(uint32_t) * 65536),
             *tmp = malloc(sizeof(uint32_t) * 65536);
    uint16_t *cp = malloc(sizeof(uint16_t) * 65536), *out = malloc(sizeof(uint16_t) * 65536),
             *want = malloc(sizeof(uint16_t) * 65536);
    kp *all = malloc(sizeof(kp) * 65536);
    tp_rng r;
    tp_rng_seed(&r, 5);
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        int n = sizes[si];
        for (int mode = 0; mode < 5; mode++) {
            for (int i = 0; i < n; i++) {
                float v = tp_rng_normal(&r);
                if (mode == 1) v = (float)(int)(v * 2); /* many ties, many zeros */
                if (mode == 2) v = 0;
                if (mode == 3) v = (i % 17 == 0) ? 1e30f : 1e-30f * v;
                if (mode == 4) v = (float)(i % 5); /* ascending runs */
                keys[i] = tp_mag_key(v);
                all[i] = (kp){keys[i], i};
            }
            qsort(all, (size_t)n, sizeof *all, by_key_desc);
            static const int ks[] = {1, 2, 8, 64, 100, 1000};
            for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
                int k = ks[ki] < n ? ks[ki] : n;
                for (int i = 0; i < k; i++) want[i] = (uint16_t)all[i].pos;
                qsort(want, (size_t)k, sizeof *want, cmp_u16);
                uint32_t T = tp_select_topk(keys, n, k, -1, out, cp, ck, tmp);
                cr_assert_eq(memcmp(out, want, sizeof(uint16_t) * (size_t)k), 0, "n=%d k=%d mode=%d", n, k, mode);
                cr_assert_eq(T, all[k - 1].key);
                /* Pre-gathered candidates at a threshold below, at and above the answer. */
                uint32_t ts[3] = {T / 2 + 1, T ? T : 1, T + 1};
                for (int t = 0; t < 3; t++) {
                    int m = tp_gather_at_least(keys, n, ts[t], cp, ck);
                    tp_select_topk(keys, n, k, m, out, cp, ck, tmp);
                    cr_assert_eq(memcmp(out, want, sizeof(uint16_t) * (size_t)k), 0, "n=%d k=%d mode=%d t=%d", n, k,
                                 mode, t);
                }
            }
        }
    }
    free(keys);
    free(ck);
    free(tmp);
    free(cp);
    free(out);
    free(want);
    free(all);
}

/* ---- compression against a naive implementation of DESIGN §7.3-7.4 ---- */

typedef struct {
    uint16_t *idx;
    uint8_t *codes;
    float shift, scale, lookup[16];
} naive_msg;

static naive_msg naive_compress(const float *x, const tp_block_geom *g, int64_t k, const tp_codec_params *p) {
    naive_msg m;
    int64_t n = g->nblocks * k;
    m.idx = malloc(sizeof(uint16_t) * (size_t)n);
    m.codes = malloc((size_t)n);
    float *vals = malloc(sizeof(float) * (size_t)n);
    kp *all = malloc(sizeof(kp) * (size_t)g->totalk);
    for (int64_t b = 0; b < g->nblocks; b++) {
        for (int64_t i = 0; i < g->totalk; i++) all[i] = (kp){tp_mag_key(x[tp_block_offset(g, b, i)]), (int)i};
        qsort(all, (size_t)g->totalk, sizeof *all, by_key_desc);
        for (int64_t j = 0; j < k; j++) m.idx[b * k + j] = (uint16_t)all[j].pos;
        qsort(m.idx + b * k, (size_t)k, sizeof(uint16_t), cmp_u16);
        for (int64_t j = 0; j < k; j++) vals[b * k + j] = x[tp_block_offset(g, b, m.idx[b * k + j])];
    }
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += vals[i];
    m.shift = (float)(s / (double)n);
    double ss = 0;
    for (int64_t i = 0; i < n; i++) {
        float c = vals[i] - m.shift;
        ss += (double)c * c;
    }
    m.scale = n > 1 ? (float)(p->range * (sqrt(ss) / sqrt((double)(n - 1))) / p->bins) : 0.0f;
    if (m.scale == 0 || !isfinite(m.scale)) m.scale = 1;
    double bs[16] = {0}, bc[16] = {0};
    for (int64_t i = 0; i < n; i++) {
        float c = vals[i] - m.shift;
        float q = rintf(c / m.scale + (float)(p->bins / 2));
        q = q < 0 ? 0 : q > p->bins - 1 ? (float)(p->bins - 1) : q;
        m.codes[i] = (uint8_t)q;
        bs[m.codes[i]] += c;
        bc[m.codes[i]] += 1;
    }
    for (int b = 0; b < 16; b++) m.lookup[b] = bc[b] > 0 ? (float)(bs[b] / bc[b]) : 0.0f;
    free(vals);
    free(all);
    return m;
}

Test(codec_compress, any_shape_matches_naive) {
    static const int64_t shapes[][3] = {
        {1, 1, 0},   {1, 2, 0},    {1, 3, 0},     {1, 7, 0},    {1, 100, 0}, {1, 257, 0},  {1, 4097, 0},
        {1, 1024, 0}, {2, 1, 1},   {2, 1, 257},   {2, 97, 13},  {2, 65, 130}, {2, 128, 96}, {2, 3, 5},
        {2, 64, 64},  {2, 257, 3}, {2, 192, 320}, {2, 50, 2816},
    };
    tp_codec_ws *ws = new_ws(0);
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
        for (int bins = 2; bins <= 16; bins += 7) {
            tp_codec_params p;
            tp_codec_params_default(&p);
            p.bins = bins;
            p.topk = si % 3 ? 64 : 6;
            int ndim = (int)shapes[si][0];
            int64_t r = shapes[si][1], c = shapes[si][2];
            tp_update u;
            one_tensor(&u, ndim, r, c, &p);
            tp_sparse *s = &u.t[0];
            int64_t n = s->geom.numel;
            float *x = malloc(sizeof(float) * (size_t)n), *dense = malloc(sizeof(float) * (size_t)n);
            fill_normal(x, n, 100 + si, 1.0f);
            tp_err err;
            cr_assert_eq(tp_compress_tensor(x, &p, ws, s, &err), TP_OK, "%s", err.msg);
            naive_msg m = naive_compress(x, &s->geom, s->k, &p);
            int64_t nn = s->geom.nblocks * s->k;
            cr_assert_eq(memcmp(s->idx, m.idx, sizeof(uint16_t) * (size_t)nn), 0, "shape %zu idx", si);
            cr_assert_eq(memcmp(s->codes, m.codes, (size_t)nn), 0, "shape %zu codes", si);
            cr_assert(s->shift == m.shift && s->scale == m.scale, "shape %zu: %g %g vs %g %g", si, (double)s->shift,
                      (double)s->scale, (double)m.shift, (double)m.scale);
            cr_assert_eq(memcmp(s->lookup, m.lookup, sizeof(float) * (size_t)bins), 0, "shape %zu lookup", si);
            cr_assert_eq(tp_decompress_tensor(s, &p, ws, dense, &err), TP_OK);
            /* Dense: lookup + shift at the kept positions, zero elsewhere. */
            char *kept = calloc((size_t)n, 1);
            for (int64_t b = 0; b < s->geom.nblocks; b++)
                for (int64_t j = 0; j < s->k; j++) {
                    int64_t o = tp_block_offset(&s->geom, b, s->idx[b * s->k + j]);
                    kept[o] = 1;
                    cr_assert_eq(dense[o], s->lookup[s->codes[b * s->k + j]] + s->shift);
                }
            for (int64_t i = 0; i < n; i++)
                if (!kept[i]) cr_assert_eq(dense[i], 0.0f);
            free(kept);
            free(m.idx);
            free(m.codes);
            free(x);
            free(dense);
            tp_update_free(&u);
        }
    tp_codec_ws_free(ws);
}

Test(codec_compress, null_round_and_non_finite) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    tp_update u;
    one_tensor(&u, 2, 128, 192, &p);
    tp_sparse *s = &u.t[0];
    float *x = calloc(128 * 192, sizeof(float));
    tp_codec_ws *ws = new_ws(0);
    tp_err err;
    /* All zero: the lowest positions, value 0, scale 1. */
    cr_assert_eq(tp_ef_compress_tensor(x, NULL, 0.95f, 1.0f, &p, ws, s, &err), TP_OK);
    for (int64_t b = 0; b < s->geom.nblocks; b++)
        for (int64_t j = 0; j < s->k; j++) cr_assert_eq(s->idx[b * s->k + j], j);
    cr_assert_eq(s->scale, 1.0f);
    for (int i = 0; i < 128 * 192; i++) cr_assert_eq(x[i], 0.0f);
    x[777] = NAN;
    cr_assert_eq(tp_compress_tensor(x, &p, ws, s, &err), TP_ERR_NUMERIC);
    cr_assert(strstr(err.msg, "non-finite"), "%s", err.msg);
    x[777] = INFINITY;
    cr_assert_eq(tp_compress_tensor(x, &p, ws, s, &err), TP_ERR_NUMERIC);
    free(x);
    tp_codec_ws_free(ws);
    tp_update_free(&u);
}

/* Every codec result is the same for 1 and 2 threads and for repeated runs. */
Test(codec_compress, deterministic_across_threads) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    const int64_t R = 192, C = 320, n = R * C;
    float *d = malloc(sizeof(float) * n), *e1 = malloc(sizeof(float) * n), *e2 = malloc(sizeof(float) * n);
    fill_normal(d, n, 1, 1e-3f);
    fill_normal(e1, n, 2, 1e-3f);
    memcpy(e2, e1, sizeof(float) * n);
    tp_codec_ws *w1 = new_ws(1), *w2 = new_ws(2);
    tp_update u1, u2;
    one_tensor(&u1, 2, R, C, &p);
    one_tensor(&u2, 2, R, C, &p);
    tp_err err;
    for (int round = 0; round < 3; round++) {
        cr_assert_eq(tp_ef_compress_tensor(e1, d, 0.95f, 1.0f, &p, w1, &u1.t[0], &err), TP_OK);
        cr_assert_eq(tp_ef_compress_tensor(e2, d, 0.95f, 1.0f, &p, w2, &u2.t[0], &err), TP_OK);
        cr_assert_eq(memcmp(e1, e2, sizeof(float) * n), 0);
        cr_assert_eq(memcmp(u1.mem, u2.mem, (size_t)u1.nnz * 3), 0);
        cr_assert(u1.t[0].shift == u2.t[0].shift && u1.t[0].scale == u2.t[0].scale);
        cr_assert_eq(memcmp(u1.t[0].lookup, u2.t[0].lookup, sizeof u1.t[0].lookup), 0);
    }
    /* Aggregation and the outer step too. */
    const tp_sparse *peers[2] = {&u1.t[0], &u2.t[0]};
    float *t1 = malloc(sizeof(float) * n), *t2 = malloc(sizeof(float) * n);
    fill_normal(t1, n, 3, 0.02f);
    memcpy(t2, t1, sizeof(float) * n);
    int skip;
    cr_assert_eq(tp_outer_step_tensor(t1, peers, 2, &p, 1.0f, w1, &skip, &err), TP_OK);
    cr_assert_eq(tp_outer_step_tensor(t2, peers, 2, &p, 1.0f, w2, &skip, &err), TP_OK);
    cr_assert_eq(memcmp(t1, t2, sizeof(float) * n), 0);
    free(t1);
    free(t2);
    free(d);
    free(e1);
    free(e2);
    tp_codec_ws_free(w1);
    tp_codec_ws_free(w2);
    tp_update_free(&u1);
    tp_update_free(&u2);
}

/* e_new = (beta e + lambda delta) - decompress(message), exactly, entry by entry; in DeMo mode up to
 * rounding of the transform. */
Test(codec_compress, error_feedback_identity) {
    for (int dct = 0; dct < 2; dct++) {
        tp_codec_params p;
        tp_codec_params_default(&p);
        p.use_dct = dct;
        const int64_t R = 128, C = 96, n = R * C;
        float *e = malloc(sizeof(float) * n), *d = malloc(sizeof(float) * n), *v = malloc(sizeof(float) * n),
              *sent = malloc(sizeof(float) * n);
        fill_normal(e, n, 11, 1.0f);
        fill_normal(d, n, 12, 1.0f);
        for (int64_t i = 0; i < n; i++) {
            float a = 0.95f * e[i];
            float b = 0.5f * d[i];
            v[i] = a + b;
        }
        tp_update u;
        one_tensor(&u, 2, R, C, &p);
        tp_codec_ws *ws = new_ws(0);
        tp_err err;
        cr_assert_eq(tp_ef_compress_tensor(e, d, 0.95f, 0.5f, &p, ws, &u.t[0], &err), TP_OK);
        cr_assert_eq(tp_decompress_tensor(&u.t[0], &p, ws, sent, &err), TP_OK);
        double worst = 0, norm_v = 0, norm_e = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!dct) cr_assert_eq(e[i], v[i] - sent[i], "entry %lld", (long long)i);
            worst = fmax(worst, fabs((double)e[i] - ((double)v[i] - sent[i])));
            norm_v += (double)v[i] * v[i];
            norm_e += (double)e[i] * e[i];
        }
        cr_assert(worst < 1e-5, "dct=%d: worst %g", dct, worst);
        /* What was sent is taken out of the residual. */
        cr_assert(norm_e < norm_v, "dct=%d", dct);
        free(e);
        free(d);
        free(v);
        free(sent);
        tp_codec_ws_free(ws);
        tp_update_free(&u);
    }
}

/* ---- aggregation ---- */

static void make_peer(tp_update *u, int64_t R, int64_t C, const tp_codec_params *p, uint64_t seed, float sigma,
                      tp_codec_ws *ws) {
    one_tensor(u, 2, R, C, p);
    float *x = malloc(sizeof(float) * (size_t)(R * C));
    fill_normal(x, R * C, seed, sigma);
    tp_err err;
    cr_assert_eq(tp_compress_tensor(x, p, ws, &u->t[0], &err), TP_OK);
    free(x);
}

static double sparse_norm(const tp_sparse *s) {
    double ss = 0;
    for (int64_t i = 0; i < s->geom.nblocks * s->k; i++) {
        double v = s->lookup[s->codes[i]] + s->shift;
        ss += v * v;
    }
    return sqrt(ss);
}

Test(codec_aggregate, single_peer_is_its_decompression) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    tp_codec_ws *ws = new_ws(0);
    tp_update u;
    make_peer(&u, 128, 128, &p, 1, 1.0f, ws);
    const tp_sparse *peers[1] = {&u.t[0]};
    float *agg = malloc(sizeof(float) * 128 * 128), *dense = malloc(sizeof(float) * 128 * 128);
    int nf;
    tp_err err;
    cr_assert_eq(tp_aggregate_tensor(peers, 1, &p, ws, agg, &nf, &err), TP_OK);
    cr_assert_eq(tp_decompress_tensor(&u.t[0], &p, ws, dense, &err), TP_OK);
    for (int i = 0; i < 128 * 128; i++) cr_assert_eq(agg[i], dense[i]);
    free(agg);
    free(dense);
    tp_update_free(&u);
    tp_codec_ws_free(ws);
}

Test(codec_aggregate, lower_median_clip_and_mean) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    tp_codec_ws *ws = new_ws(0);
    /* Four peers of very different scales: the clip is the 2nd smallest norm. */
    tp_update u[4];
    const float sig[4] = {4.0f, 1.0f, 0.25f, 2.0f};
    const tp_sparse *peers[4];
    double nrm[4];
    for (int i = 0; i < 4; i++) {
        make_peer(&u[i], 64, 128, &p, 10 + (uint64_t)i, sig[i], ws);
        peers[i] = &u[i].t[0];
        nrm[i] = sparse_norm(peers[i]);
    }
    float clip[4];
    int nf;
    tp_err err;
    cr_assert_eq(tp_aggregate_clip(peers, 4, p.bins, clip, &nf, &err), TP_OK);
    double m = nrm[1]; /* sorted: 0.25, 1, 2, 4 -> lower median is peer 1's */
    for (int i = 0; i < 4; i++) {
        double want = fmin(1.0, m / (nrm[i] + 1e-8));
        cr_assert(fabs(clip[i] - want) <= 1e-6 * want, "peer %d: clip %g, want %g", i, (double)clip[i], want);
    }
    cr_assert_eq(clip[1], 1.0f);
    cr_assert_eq(clip[2], 1.0f);
    /* Mean per coordinate over the peers that sent it. */
    float *agg = malloc(sizeof(float) * 64 * 128);
    cr_assert_eq(tp_aggregate_tensor(peers, 4, &p, ws, agg, &nf, &err), TP_OK);
    const tp_block_geom *g = &peers[0]->geom;
    double *sum = calloc(64 * 128, sizeof(double));
    int *cnt = calloc(64 * 128, sizeof(int));
    for (int i = 0; i < 4; i++)
        for (int64_t b = 0; b < g->nblocks; b++)
            for (int64_t j = 0; j < peers[i]->k; j++) {
                int64_t e = b * peers[i]->k + j, o = tp_block_offset(g, b, peers[i]->idx[e]);
                float v = peers[i]->lookup[peers[i]->codes[e]] + peers[i]->shift;
                sum[o] += v * clip[i];
                cnt[o]++;
            }
    for (int i = 0; i < 64 * 128; i++) {
        double want = cnt[i] ? sum[i] / cnt[i] : 0;
        cr_assert(fabs(agg[i] - want) <= 1e-6 * fabs(want) + 1e-12, "coord %d: %g vs %g", i, (double)agg[i], want);
    }
    free(sum);
    free(cnt);
    free(agg);
    for (int i = 0; i < 4; i++) tp_update_free(&u[i]);
    tp_codec_ws_free(ws);
}

Test(codec_aggregate, non_finite_tensor_is_skipped) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    tp_codec_ws *ws = new_ws(0);
    tp_update u[2];
    make_peer(&u[0], 64, 64, &p, 1, 1.0f, ws);
    make_peer(&u[1], 64, 64, &p, 2, 1.0f, ws);
    /* A lookup entry that some code uses becomes NaN: no validator would let this through, the
     * outer step must still refuse it. */
    u[1].t[0].lookup[u[1].t[0].codes[0]] = NAN;
    const tp_sparse *peers[2] = {&u[0].t[0], &u[1].t[0]};
    float *theta = malloc(sizeof(float) * 4096), *before = malloc(sizeof(float) * 4096);
    fill_normal(theta, 4096, 3, 1.0f);
    memcpy(before, theta, sizeof(float) * 4096);
    int skipped = 0;
    tp_err err;
    cr_assert_eq(tp_outer_step_tensor(theta, peers, 2, &p, 1.0f, ws, &skipped, &err), TP_OK);
    cr_assert(skipped);
    cr_assert_eq(memcmp(theta, before, sizeof(float) * 4096), 0);
    /* Negative learning rates are refused. */
    cr_assert_eq(tp_outer_step_tensor(theta, peers, 1, &p, -1.0f, ws, &skipped, &err), TP_ERR_ARG);
    free(theta);
    free(before);
    tp_update_free(&u[0]);
    tp_update_free(&u[1]);
    tp_codec_ws_free(ws);
}

/* The outer step applies exactly the aggregate, in plain and DeMo mode alike. */
Test(codec_aggregate, outer_step_applies_the_aggregate) {
    for (int dct = 0; dct < 2; dct++) {
        tp_codec_params p;
        tp_codec_params_default(&p);
        p.use_dct = dct;
        tp_codec_ws *ws = new_ws(0);
        tp_update u[3];
        const tp_sparse *peers[3];
        for (int i = 0; i < 3; i++) {
            make_peer(&u[i], 128, 192, &p, 30 + (uint64_t)i, 1.0f + (float)i, ws);
            peers[i] = &u[i].t[0];
        }
        const int64_t n = 128 * 192;
        float *agg = malloc(sizeof(float) * n), *theta = malloc(sizeof(float) * n), *want = malloc(sizeof(float) * n);
        fill_normal(theta, n, 4, 0.02f);
        int nf, skipped;
        tp_err err;
        cr_assert_eq(tp_aggregate_tensor(peers, 3, &p, ws, agg, &nf, &err), TP_OK);
        cr_assert_not(nf);
        for (int64_t i = 0; i < n; i++) {
            float step = 0.7f * agg[i];
            want[i] = theta[i] - step;
        }
        cr_assert_eq(tp_outer_step_tensor(theta, peers, 3, &p, 0.7f, ws, &skipped, &err), TP_OK);
        cr_assert_not(skipped);
        cr_assert_eq(memcmp(theta, want, sizeof(float) * n), 0, "dct=%d", dct);
        free(agg);
        free(theta);
        free(want);
        for (int i = 0; i < 3; i++) tp_update_free(&u[i]);
        tp_codec_ws_free(ws);
    }
}

static tp_config tiny_config(void) {
    tp_config c;
    tp_err err;
    cr_assert_eq(tp_config_named("tiny", &c, &err), TP_OK);
    return c;
}

/* n messages of random models (seed + i, standard deviation 1 + i * sigma_step) over layout L. */
static void model_updates(const tp_layout *L, const tp_codec_params *p, tp_codec_ws *ws, tp_update *u, int n,
                          uint64_t seed, float sigma_step) {
    float *x = malloc(sizeof(float) * L->total);
    tp_err err;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(tp_update_init_layout(&u[i], L, p, &err), TP_OK);
        fill_normal(x, (int64_t)L->total, seed + (uint64_t)i, 1.0f + sigma_step * (float)i);
        cr_assert_eq(tp_compress_model(x, L, ws, &u[i], &err), TP_OK);
    }
    free(x);
}

/* Model-level outer step: any uid order gives the same result; duplicates are refused; the
 * report names skipped tensors. */
Test(codec_aggregate, model_outer_step_uid_order) {
    tp_config c = tiny_config();
    tp_layout L;
    tp_err err;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_codec_params p;
    tp_codec_params_default(&p);
    tp_codec_ws *ws = new_ws(0);
    tp_update u[3];
    model_updates(&L, &p, ws, u, 3, 50, 0.0f);
    float *a = malloc(sizeof(float) * L.total), *b = malloc(sizeof(float) * L.total);
    fill_normal(a, (int64_t)L.total, 9, 0.02f);
    memcpy(b, a, sizeof(float) * L.total);
    const tp_update *pa[3] = {&u[0], &u[1], &u[2]}, *pb[3] = {&u[2], &u[0], &u[1]};
    uint32_t ua[3] = {3, 7, 9}, ub[3] = {9, 3, 7};
    uint8_t *skipped = calloc((size_t)L.n_tensors, 1);
    int ns = -1;
    cr_assert_eq(tp_outer_step(a, &L, pa, ua, 3, 1.0f, ws, skipped, &ns, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(ns, 0);
    cr_assert_eq(tp_outer_step(b, &L, pb, ub, 3, 1.0f, ws, NULL, &ns, &err), TP_OK);
    cr_assert_eq(memcmp(a, b, sizeof(float) * L.total), 0);
    uint32_t dup[3] = {3, 3, 9};
    cr_assert_eq(tp_outer_step(b, &L, pa, dup, 3, 1.0f, ws, NULL, &ns, &err), TP_ERR_ARG);
    u[1].t[2].shift = INFINITY;
    cr_assert_eq(tp_outer_step(a, &L, pa, ua, 3, 1.0f, ws, skipped, &ns, &err), TP_OK);
    cr_assert_eq(ns, 1);
    cr_assert(skipped[2]);
    free(skipped);
    free(a);
    free(b);
    for (int i = 0; i < 3; i++) tp_update_free(&u[i]);
    tp_codec_ws_free(ws);
    tp_layout_free(&L);
}

/* The outer step's alternatives (tp_outer_opts) against a dense reference built from each peer's
 * decompression and its mask of sent coordinates (the same message with every value 1): the mean
 * over all peers divides by P, the default by the senders; without clipping every factor is 1. */
Test(codec_aggregate, outer_step_options_match_a_dense_reference) {
    tp_config c = tiny_config();
    tp_layout L;
    tp_err err;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_codec_params p;
    tp_codec_params_default(&p);
    tp_codec_ws *ws = new_ws(0);
    enum { P = 3 };
    tp_update u[P];
    const tp_update *peers[P];
    uint32_t uids[P] = {4, 5, 6};
    model_updates(&L, &p, ws, u, P, 70, 1.0f); /* unequal norms: clipping bites */
    for (int i = 0; i < P; i++) peers[i] = &u[i];
    float *theta0 = malloc(sizeof(float) * L.total), *theta = malloc(sizeof(float) * L.total);
    fill_normal(theta0, (int64_t)L.total, 9, 0.02f);
    for (int mode = 0; mode < 4; mode++) {
        tp_outer_opts o = {.lr = 0.8f, .mean_over_all = mode & 1, .clip = !(mode & 2)};
        memcpy(theta, theta0, sizeof(float) * L.total);
        cr_assert_eq(tp_outer_step_opts(theta, &L, peers, uids, P, &o, ws, NULL, NULL, &err), TP_OK, "%s", err.msg);
        for (int t = 0; t < L.n_tensors; t++) {
            size_t n = L.tensors[t].count, off = L.tensors[t].offset;
            double *sum = calloc(n, sizeof(double)), *cnt = calloc(n, sizeof(double));
            float *v = malloc(sizeof(float) * n), clip[P];
            const tp_sparse *ts[P] = {&u[0].t[t], &u[1].t[t], &u[2].t[t]};
            int nf;
            cr_assert_eq(tp_aggregate_clip(ts, P, p.bins, clip, &nf, &err), TP_OK);
            for (int i = 0; i < P; i++) {
                tp_sparse ones = *ts[i];
                ones.shift = 0;
                for (int b = 0; b < TP_CODEC_MAX_BINS; b++) ones.lookup[b] = 1.0f;
                cr_assert_eq(tp_decompress_tensor(&ones, &p, ws, v, &err), TP_OK);
                for (size_t j = 0; j < n; j++) cnt[j] += v[j];
                cr_assert_eq(tp_decompress_tensor(ts[i], &p, ws, v, &err), TP_OK);
                for (size_t j = 0; j < n; j++) sum[j] += (double)v[j] * (o.clip ? clip[i] : 1.0f);
            }
            for (size_t j = 0; j < n; j++) {
                double a = cnt[j] == 0 ? 0 : sum[j] / (o.mean_over_all ? P : cnt[j]);
                double want = theta0[off + j] - 0.8 * a;
                cr_assert(fabs(theta[off + j] - want) <= 1e-5 * (1 + fabs(want)), "mode %d, %s[%zu]: %g, want %g", mode,
                          L.tensors[t].name, j, (double)theta[off + j], want);
            }
            free(sum);
            free(cnt);
            free(v);
        }
    }
    free(theta0);
    free(theta);
    for (int i = 0; i < P; i++) tp_update_free(&u[i]);
    tp_codec_ws_free(ws);
    tp_layout_free(&L);
}

static void same_update(const tp_update *a, const tp_update *b, int bins) {
    cr_assert_eq(a->n, b->n);
    cr_assert_eq(a->nnz, b->nnz);
    for (int i = 0; i < a->n; i++) {
        const tp_sparse *x = &a->t[i], *y = &b->t[i];
        int64_t n = x->geom.nblocks * x->k;
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->k, y->k);
        cr_assert_eq(memcmp(x->idx, y->idx, sizeof(uint16_t) * (size_t)n), 0, "%s idx", x->name);
        cr_assert_eq(memcmp(x->codes, y->codes, (size_t)n), 0, "%s codes", x->name);
        cr_assert(x->shift == y->shift && x->scale == y->scale);
        cr_assert_eq(memcmp(x->lookup, y->lookup, sizeof(float) * (size_t)bins), 0);
    }
}

/* Whole-model calls split tensors between threads differently for each thread count; the results
 * must not change. */
Test(codec_aggregate, model_calls_identical_for_any_thread_count) {
    tp_config c;
    tp_err err;
    cr_assert_eq(tp_config_named("small", &c, &err), TP_OK);
    tp_layout L;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_codec_params p;
    tp_codec_params_default(&p);
    const int threads[3] = {1, 2, 3};
    float *e[3], *theta[3], *dense[3];
    float *d = malloc(sizeof(float) * L.total);
    fill_normal(d, (int64_t)L.total, 21, 1e-3f);
    tp_update u[3][2];
    for (int t = 0; t < 3; t++) {
        tp_codec_ws *ws = new_ws(threads[t]);
        e[t] = calloc(L.total, sizeof(float));
        theta[t] = malloc(sizeof(float) * L.total);
        dense[t] = malloc(sizeof(float) * L.total);
        fill_normal(theta[t], (int64_t)L.total, 22, 0.02f);
        for (int peer = 0; peer < 2; peer++) {
            cr_assert_eq(tp_update_init_layout(&u[t][peer], &L, &p, &err), TP_OK);
            /* Two error-feedback rounds per peer, the second on top of the first's residual. */
            cr_assert_eq(tp_ef_compress_model(e[t], d, 0.95f, 1.0f, &L, ws, &u[t][peer], &err), TP_OK);
        }
        cr_assert_eq(tp_decompress_model(&u[t][1], &L, ws, dense[t], &err), TP_OK);
        const tp_update *peers[2] = {&u[t][0], &u[t][1]};
        uint32_t uids[2] = {5, 2};
        int ns;
        cr_assert_eq(tp_outer_step(theta[t], &L, peers, uids, 2, 1.0f, ws, NULL, &ns, &err), TP_OK, "%s", err.msg);
        tp_codec_ws_free(ws);
    }
    for (int t = 1; t < 3; t++) {
        cr_assert_eq(memcmp(e[t], e[0], sizeof(float) * L.total), 0, "%d threads: error feedback differs", threads[t]);
        cr_assert_eq(memcmp(dense[t], dense[0], sizeof(float) * L.total), 0, "%d threads: decompression differs",
                     threads[t]);
        cr_assert_eq(memcmp(theta[t], theta[0], sizeof(float) * L.total), 0, "%d threads: outer step differs",
                     threads[t]);
        for (int peer = 0; peer < 2; peer++) same_update(&u[t][peer], &u[0][peer], p.bins);
    }
    for (int t = 0; t < 3; t++) {
        free(e[t]);
        free(theta[t]);
        free(dense[t]);
        tp_update_free(&u[t][0]);
        tp_update_free(&u[t][1]);
    }
    free(d);
    tp_layout_free(&L);
}

/* ---- index codings ---- */

Test(codec_index, pack12_layout) {
    uint16_t pos[3] = {0x123, 0x456, 0xabc};
    uint8_t out[6];
    cr_assert_eq(tp_pack12_bytes(3), 6);
    tp_pack12(pos, 3, out);
    const uint8_t want[6] = {0x23, 0x61, 0x45, 0xbc, 0x0a, 0x00};
    cr_assert_eq(memcmp(out, want, 6), 0);
    uint16_t back[3];
    cr_assert_eq(tp_unpack12(out, 6, 3, back), 0);
    cr_assert_eq(memcmp(back, pos, sizeof pos), 0);
    out[5] = 1; /* the padding position */
    cr_assert_eq(tp_unpack12(out, 6, 3, back), -1);
    cr_assert_eq(tp_unpack12(out, 5, 3, back), -1);
}

/* Random k-subsets of totalk: encode, decode, and the stream is no longer than the bound. */
static double rice_round_trip(int64_t nblocks, int64_t k, int64_t totalk, uint64_t seed) {
    uint16_t *pos = malloc(sizeof(uint16_t) * (size_t)(nblocks * k)),
             *back = malloc(sizeof(uint16_t) * (size_t)(nblocks * k));
    char *used = malloc((size_t)totalk);
    tp_rng r;
    tp_rng_seed(&r, seed);
    for (int64_t b = 0; b < nblocks; b++) {
        memset(used, 0, (size_t)totalk);
        for (int64_t j = 0; j < k; j++) {
            int64_t x;
            do x = (int64_t)tp_rng_below(&r, (uint64_t)totalk);
            while (used[x]);
            used[x] = 1;
        }
        int64_t j = 0;
        for (int64_t x = 0; x < totalk; x++)
            if (used[x]) pos[b * k + j++] = (uint16_t)x;
    }
    size_t bytes;
    int rp = tp_rice_choose(pos, nblocks, k, &bytes);
    cr_assert_eq((int64_t)bytes, tp_rice_bytes(pos, nblocks, k, rp));
    for (int q = 0; q <= TP_RICE_MAX_R; q++) cr_assert_geq(tp_rice_bytes(pos, nblocks, k, q), (int64_t)bytes);
    cr_assert_leq(bytes, tp_rice_max_bytes(nblocks, k, totalk));
    uint8_t *buf = malloc(bytes);
    cr_assert_eq(tp_rice_encode(pos, nblocks, k, rp, buf, bytes), bytes);
    cr_assert_eq(tp_rice_encode(pos, nblocks, k, rp, buf, bytes - 1), 0); /* refuses to overflow */
    tp_rice_result res = tp_rice_decode(buf, bytes, nblocks, k, totalk, back);
    cr_assert_eq(res.status, TP_RICE_OK, "status %d at block %lld", res.status, (long long)res.block);
    cr_assert_eq(memcmp(pos, back, sizeof(uint16_t) * (size_t)(nblocks * k)), 0);
    double bits = (double)(bytes - 1) * 8 / (double)(nblocks * k);
    free(pos);
    free(back);
    free(used);
    free(buf);
    return bits;
}

Test(codec_index, rice_round_trips_and_bits_per_index) {
    rice_round_trip(1, 1, 1, 1);
    rice_round_trip(3, 2, 2, 2);
    rice_round_trip(5, 50, 50, 3);
    rice_round_trip(4, 2, 65536, 4);
    rice_round_trip(2, 64, 65536, 5);
    rice_round_trip(7, 30, 2400, 6);
    rice_round_trip(2, 1000, 4096, 7);
    /* The budget: at most 8.0 bits per index at k = 64 of 4096 (bound ~7.4). */
    double bits = rice_round_trip(2000, 64, 4096, 42);
    cr_log_info("rice: %.3f bits per index at k = 64 of 4096", bits);
    cr_assert_leq(bits, 8.0, "%.3f bits per index", bits);
    cr_assert_geq(bits, 7.3);
}

Test(codec_index, rice_decoder_rejects_bad_streams) {
    uint16_t out[64];
    /* r > 15 */
    uint8_t bad_r[2] = {16, 0xff};
    cr_assert_eq(tp_rice_decode(bad_r, 2, 1, 2, 64, out).status, TP_RICE_BAD_PARAM);
    cr_assert_eq(tp_rice_decode(bad_r, 0, 1, 2, 64, out).status, TP_RICE_BAD_PARAM);
    /* r = 0: all zero bits never finish a unary code (range or short, never a read past the end). */
    uint8_t zeros[40] = {0};
    tp_rice_result res = tp_rice_decode(zeros, sizeof zeros, 1, 2, 64, out);
    cr_assert(res.status == TP_RICE_RANGE || res.status == TP_RICE_SHORT);
    res = tp_rice_decode(zeros, sizeof zeros, 1, 2, 65536, out);
    cr_assert_eq(res.status, TP_RICE_SHORT);
    /* r = 0, bits 1,1: positions 0, 1; extra bytes are trailing. */
    uint8_t ok[3] = {0, 0x03, 0x00};
    cr_assert_eq(tp_rice_decode(ok, 2, 1, 2, 64, out).status, TP_RICE_OK);
    cr_assert(out[0] == 0 && out[1] == 1);
    cr_assert_eq(tp_rice_decode(ok, 3, 1, 2, 64, out).status, TP_RICE_TRAILING);
    uint8_t pad[2] = {0, 0x07}; /* a set padding bit */
    cr_assert_eq(tp_rice_decode(pad, 2, 1, 2, 64, out).status, TP_RICE_TRAILING);
    /* r = 4: gap 20 in a block of 16 is out of range. */
    uint8_t far[2] = {4, 0x02 | (4 << 2)};
    res = tp_rice_decode(far, 2, 1, 1, 16, out);
    cr_assert_eq(res.status, TP_RICE_RANGE);
    /* Unsorted input cannot be encoded. */
    uint16_t unsorted[4] = {5, 3, 1, 2};
    uint8_t buf[16];
    cr_assert_eq(tp_rice_encode(unsorted, 2, 2, 2, buf, sizeof buf), 0);
    cr_assert_eq(tp_rice_bytes(unsorted, 2, 2, 2), -1);
}

Test(codec_index, code_packing) {
    uint8_t codes[7] = {3, 1, 0, 2, 3, 3, 1}, out[4], back[7];
    tp_codes_pack(codes, 7, 2, out);
    cr_assert_eq(tp_codes_bytes(7, 2), 2);
    cr_assert_eq(out[0], 3 | 1 << 2 | 0 << 4 | 2 << 6);
    cr_assert_eq(out[1], 3 | 3 << 2 | 1 << 4);
    cr_assert_eq(tp_codes_unpack(out, 7, 2, 4, back, NULL), 0);
    cr_assert_eq(memcmp(back, codes, 7), 0);
    int64_t at = -1;
    cr_assert_eq(tp_codes_unpack(out, 7, 2, 3, back, &at), -1); /* code 3 with 3 bins */
    cr_assert_eq(at, 0);
    out[1] |= 0x80;
    cr_assert_eq(tp_codes_unpack(out, 7, 2, 4, back, NULL), -2);
    uint8_t c16[3] = {15, 0, 9};
    tp_codes_pack(c16, 3, 4, out);
    cr_assert(out[0] == 0x0f && out[1] == 0x09);
    cr_assert_eq(tp_codes_unpack(out, 3, 4, 16, back, NULL), 0);
    cr_assert_eq(memcmp(back, c16, 3), 0);
}

/* ---- wire format ---- */

static void test_keys(tp_keypair *kp, tp_key_type t, int which) {
    uint8_t seed[32] = {0};
    seed[0] = (uint8_t)which;
    tp_err err;
    cr_assert_eq(tp_keypair_from_seed(t, seed, kp, &err), TP_OK, "%s", err.msg);
}

Test(codec_wire, round_trip_every_coding_and_bins) {
    tp_config c = tiny_config();
    tp_layout L;
    tp_err err;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_keypair keys[2];
    test_keys(&keys[0], TP_KEY_SR25519, 1);
    test_keys(&keys[1], TP_KEY_ED25519, 1);
    float *e = malloc(sizeof(float) * L.total), *d = malloc(sizeof(float) * L.total);
    tp_codec_ws *ws = new_ws(0);
    static const int bins[] = {2, 3, 4, 5, 16};
    for (int coding = 0; coding < 2; coding++)
        for (int dct = 0; dct < 2; dct++)
            for (size_t bi = 0; bi < sizeof bins / sizeof *bins; bi++) {
                tp_codec_params p;
                tp_codec_params_default(&p);
                p.index_coding = (tp_index_coding)coding;
                p.use_dct = dct;
                p.bins = bins[bi];
                p.topk = bi == 2 ? 64 : 10;
                memset(e, 0, sizeof(float) * L.total);
                fill_normal(d, (int64_t)L.total, bi, 1e-3f);
                tp_update u;
                cr_assert_eq(tp_update_init_layout(&u, &L, &p, &err), TP_OK);
                cr_assert_eq(tp_ef_compress_model(e, d, 0.95f, 1.0f, &L, ws, &u, &err), TP_OK, "%s", err.msg);
                tp_wire_info info = {.window = 12, .uid = 3, .global_step = 99};
                snprintf(info.run_version, sizeof info.run_version, "2.1.3");
                memset(info.sample_digest, 0xab, 32);
                uint8_t *buf, *buf2;
                size_t len, len2;
                const tp_keypair *key = &keys[(dct + (int)bi) % 2]; /* both key types across the cases */
                cr_assert_eq(tp_wire_encode(&u, &c.model, &info, key, &buf, &len, &err), TP_OK, "%s", err.msg);
                cr_assert_eq(tp_wire_encode(&u, &c.model, &info, key, &buf2, &len2, &err), TP_OK);
                /* All but the signature is deterministic; sr25519 signatures are randomized (schnorrkel's). */
                cr_assert(len == len2, "encoding is not deterministic in size");
                if (key->type == TP_KEY_ED25519) cr_assert(!memcmp(buf, buf2, len), "encoding is not deterministic");
                size_t max;
                cr_assert_eq(tp_wire_max_bytes(&c.model, &p, &max, &err), TP_OK);
                cr_assert_leq(len, max);
                tp_payload_expect exp = {.model = &c.model, .params = &p, .check_window = 1, .window = 12,
                                         .check_uid = 1, .uid = 3, .run_version = "2.1.3", .pubkey = key->pub,
                                         .check_key_type = 1, .key_type = key->type};
                tp_payload got;
                cr_assert_eq(tp_payload_read(buf, len, &exp, &got, &err), TP_OK, "coding %d dct %d bins %d: %s",
                             coding, dct, p.bins, err.msg);
                cr_assert(got.valid && got.reason == TP_REJ_NONE);
                same_update(&u, &got.update, p.bins);
                cr_assert_eq(got.info.global_step, 99);
                cr_assert_eq(memcmp(got.hotkey, key->pub, 32), 0);
                cr_assert_eq(got.key_type, key->type);
                cr_assert_eq(got.info.sample_digest[31], 0xab);
                cr_assert_eq(memcmp(&got.params, &p, sizeof p), 0);
                tp_payload_free(&got);
                /* Inspecting without expectations accepts it too. */
                cr_assert_eq(tp_payload_read(buf, len, NULL, &got, &err), TP_OK, "%s", err.msg);
                tp_payload_free(&got);
                free(buf);
                free(buf2);
                tp_update_free(&u);
            }
    free(e);
    free(d);
    tp_codec_ws_free(ws);
    tp_layout_free(&L);
}

Test(codec_wire, model_canonical_text) {
    tp_config c = tiny_config();
    char s[512];
    tp_err err;
    cr_assert_eq(tp_model_canonical(&c.model, s, sizeof s, &err), TP_OK);
    tp_model_config m;
    cr_assert_eq(tp_model_parse_canonical(s, &m, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(&m, &c.model, sizeof m), 0);
    cr_assert_neq(tp_model_parse_canonical("dim=64", &m, &err), TP_OK);
    char t[600];
    snprintf(t, sizeof t, "%s;", s);
    cr_assert_neq(tp_model_parse_canonical(t, &m, &err), TP_OK);
    snprintf(t, sizeof t, "dim=064%s", strchr(s, ';'));
    cr_assert_neq(tp_model_parse_canonical(t, &m, &err), TP_OK);
    snprintf(t, sizeof t, "dim=99999999999999999999%s", strchr(s, ';'));
    cr_assert_neq(tp_model_parse_canonical(t, &m, &err), TP_OK);
}

/* The size budget, measured on the "base" config (same tensor shapes as 150M, smaller). */
Test(codec_wire, bytes_per_param_at_defaults) {
    tp_config c;
    tp_err err;
    cr_assert_eq(tp_config_named("base", &c, &err), TP_OK);
    tp_layout L;
    cr_assert_eq(tp_layout_init(&c.model, &L, &err), TP_OK);
    tp_codec_params p;
    tp_codec_params_default(&p);
    float *e = calloc(L.total, sizeof(float)), *d = malloc(sizeof(float) * L.total);
    tp_rng r;
    tp_rng_seed(&r, 77);
    for (size_t i = 0; i < L.total; i++) d[i] = (tp_rng_float(&r) - 0.5f) * 1e-3f;
    tp_codec_ws *ws = new_ws(0);
    cr_assert_eq(tp_codec_ws_reserve_layout(ws, &L, &p, &err), TP_OK);
    tp_update u;
    cr_assert_eq(tp_update_init_layout(&u, &L, &p, &err), TP_OK);
    cr_assert_eq(tp_ef_compress_model(e, d, 0.95f, 1.0f, &L, ws, &u, &err), TP_OK);
    tp_keypair key;
    test_keys(&key, TP_KEY_SR25519, 2);
    tp_wire_info info = {.window = 1};
    snprintf(info.run_version, sizeof info.run_version, "v1");
    uint8_t *buf;
    size_t len, max;
    cr_assert_eq(tp_wire_encode(&u, &c.model, &info, &key, &buf, &len, &err), TP_OK);
    cr_assert_eq(tp_wire_max_bytes(&c.model, &p, &max, &err), TP_OK);
    double bpp = (double)len / (double)L.total;
    cr_log_info("base: %zu bytes, %.5f bytes/param (bound %.5f)", len, bpp, (double)max / (double)L.total);
    cr_assert_leq(bpp, 0.021);
    cr_assert_leq(len, max);
    free(buf);
    free(e);
    free(d);
    tp_update_free(&u);
    tp_codec_ws_free(ws);
    tp_layout_free(&L);
}
