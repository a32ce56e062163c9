#include "codec/compress.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "codec/quantize.h"
#include "codec/select.h"
#include "core/alloc.h"
#include "core/fileio.h"

#ifdef __AVX2__
#include <immintrin.h>
#endif

/* How the compressor treats its input: read-only (plain compression) or as error-feedback state. */
typedef struct {
    float *e;           /* EF state, updated in place; NULL for plain compression */
    const float *x;     /* plain input */
    const float *delta; /* NULL: zero */
    float beta, lambda;
} source;

/* DeMo mode: loads block b into th->bv (EF: updating e first). */
static void load_block(const source *src, const tp_block_geom *g, int64_t b, tp_thread_ws *th) {
    int64_t origin = tp_block_origin(g, b), br = g->br, bc = g->bc, cols = g->cols;
    for (int64_t r = 0; r < br; r++) {
        float *v = th->bv + r * bc;
        int64_t at = origin + r * cols;
        if (!src->e) {
            memcpy(v, src->x + at, sizeof(float) * (size_t)bc);
            continue;
        }
        float *e = src->e + at;
        for (int64_t c = 0; c < bc; c++) {
            /* Separate statements so that no compiler fuses them into an FMA: every node must
             * round the same way. */
            float a = src->beta * e[c];
            float s = src->delta ? src->lambda * src->delta[at + c] : 0.0f;
            v[c] = src->delta ? a + s : a;
        }
        memcpy(e, v, sizeof(float) * (size_t)bc);
    }
}

/* Next block's gathering threshold from this block's k-th largest magnitude: a little below it, so
 * that blocks of a similar distribution gather somewhat more than k candidates in the first pass. */
static uint32_t next_threshold(uint32_t T) {
    if (T == 0 || T >= TP_KEY_INF) return 0;
    union {
        uint32_t u;
        float f;
    } x = {.u = T};
    x.f *= 0.9f;
    return x.u;
}

/* One pass over the segment: the error-feedback update (EF mode) and the magnitude keys, block
 * after block, into th->bk; mx[i] gets the largest key of the segment's block i, which is
 * >= TP_KEY_INF exactly when the block holds a non-finite value. */
static void scan_segment(const source *src, const tp_block_geom *g, int64_t y, int64_t x0, int64_t nx,
                         tp_thread_ws *th, uint32_t *mx) {
    const int64_t br = g->br, bc = g->bc, totalk = g->totalk;
    const float beta = src->beta, lambda = src->lambda;
    for (int64_t i = 0; i < nx; i++) mx[i] = 0;
#ifdef __AVX2__
    const __m256 vb = _mm256_set1_ps(beta), vl = _mm256_set1_ps(lambda);
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff);
#endif
    for (int64_t r = 0; r < br; r++) {
        const int64_t at = (y * br + r) * g->cols + x0 * bc;
        float *e = src->e ? src->e + at : NULL;
        const float *x = e ? e : src->x + at, *d = src->delta ? src->delta + at : NULL;
        for (int64_t i = 0; i < nx; i++) {
            uint32_t *key = th->bk + i * totalk + r * bc, kmax = 0;
            const int64_t o = i * bc;
            int64_t c = 0;
#ifdef __AVX2__
            __m256i vmx = _mm256_setzero_si256();
            for (; c + 8 <= bc; c += 8) {
                __m256 v = _mm256_loadu_ps(x + o + c);
                if (e) {
                    /* Multiply and add apart, never fused: the same rounding as the scalar path. */
                    v = _mm256_mul_ps(vb, v);
                    if (d) v = _mm256_add_ps(v, _mm256_mul_ps(vl, _mm256_loadu_ps(d + o + c)));
                    _mm256_storeu_ps(e + o + c, v);
                }
                __m256i kv = _mm256_and_si256(_mm256_castps_si256(v), absmask);
                _mm256_storeu_si256((__m256i *)(key + c), kv);
                vmx = _mm256_max_epi32(vmx, kv);
            }
            uint32_t lanes[8];
            _mm256_storeu_si256((__m256i *)lanes, vmx);
            for (int l = 0; l < 8; l++) kmax = lanes[l] > kmax ? lanes[l] : kmax;
#endif
            for (; c < bc; c++) {
                float v = x[o + c];
                if (e) {
                    /* Separate statements: no FMA contraction, the same rounding everywhere. */
                    float a = beta * v;
                    if (d) {
                        float t = lambda * d[o + c];
                        v = a + t;
                    } else {
                        v = a;
                    }
                    e[o + c] = v;
                }
                uint32_t k = tp_mag_key(v);
                key[c] = k;
                kmax = k > kmax ? k : kmax;
            }
            mx[i] = kmax > mx[i] ? kmax : mx[i];
        }
    }
}

/* Top-k of block b from its keys (and, in DeMo mode, its coefficients in bv): positions into
 * s->idx, their values into vals. */
static void select_block(const source *src, const tp_dct_plan *plan, tp_sparse *s, float *vals, tp_thread_ws *th,
                         int64_t b, const uint32_t *keys, uint32_t mx, int *bad) {
    const tp_block_geom *g = &s->geom;
    const int64_t k = s->k, totalk = g->totalk;
    uint16_t *idx = s->idx + b * k;
    float *v = vals + b * k;
    if (mx >= TP_KEY_INF) {
        *bad = 1;
        for (int64_t j = 0; j < k; j++) idx[j] = (uint16_t)j;
    } else if (mx == 0) {
        /* All zero (a null round): ties all the way, so the lowest positions. */
        for (int64_t j = 0; j < k; j++) idx[j] = (uint16_t)j;
    } else {
        int m = -1;
        if (th->t_est && k < totalk) {
            /* Gathering more candidates than this costs more than sampling a threshold. */
            int cap = (int)(totalk / 8 > 4 * k ? totalk / 8 : 4 * k);
            m = tp_gather_at_least(keys, (int)totalk, th->t_est, th->cpos, th->ckey);
            if (m > cap) m = -1;
        }
        uint32_t T = tp_select_topk(keys, (int)totalk, (int)k, m, idx, th->cpos, th->ckey, th->ktmp);
        th->t_est = next_threshold(T);
    }
    if (plan) {
        for (int64_t j = 0; j < k; j++) v[j] = th->bv[idx[j]];
    } else {
        const uint64_t inv = tp_pos_inv(g->bc);
        const float *base = (src->e ? src->e : src->x) + tp_block_origin(g, b);
        for (int64_t j = 0; j < k; j++) {
            int64_t r = tp_pos_row(idx[j], inv);
            v[j] = base[r * g->cols + (idx[j] - r * g->bc)];
        }
    }
}

/* Selection over segments [s0, s1) of s; sets *bad if a block holds a non-finite value. */
static void select_segments(const source *src, const tp_dct_plan *plan, tp_sparse *s, float *vals, tp_thread_ws *th,
                            int64_t s0, int64_t s1, int *bad) {
    const tp_block_geom *g = &s->geom;
    const int64_t totalk = g->totalk;
    uint32_t mx[TP_SEG_MAX_BLOCKS];
    th->t_est = 0;
    for (int64_t sg = s0; sg < s1; sg++) {
        int64_t y, x0, nx;
        tp_seg_range(g, sg, &y, &x0, &nx);
        if (!plan) scan_segment(src, g, y, x0, nx, th, mx);
        for (int64_t i = 0; i < nx; i++) {
            int64_t b = y * g->nbx + x0 + i;
            if (plan) {
                load_block(src, g, b, th);
                tp_dct_forward(plan, th->bv, th->bv, th->dtmp);
                uint32_t m = 0;
                for (int64_t j = 0; j < totalk; j++) {
                    uint32_t key = tp_mag_key(th->bv[j]);
                    th->bk[j] = key;
                    m = key > m ? key : m;
                }
                select_block(src, plan, s, vals, th, b, th->bk, m, bad);
            } else {
                select_block(src, plan, s, vals, th, b, th->bk + i * totalk, mx[i], bad);
            }
        }
    }
}

/* decompress(s) over blocks [b0, b1) into dst, the tensor's dense layout: dst ← the values
 * (decompression), or dst ← dst − the values (error feedback: e ← e − decompress(s)). */
static void blocks_out(const tp_sparse *s, const tp_codec_params *p, const tp_dct_plan *plan, tp_thread_ws *th,
                       float *dst, int subtract, int64_t b0, int64_t b1) {
    const tp_block_geom *g = &s->geom;
    const int64_t k = s->k;
    const uint64_t inv = tp_pos_inv(g->bc);
    float deq[TP_CODEC_MAX_BINS];
    tp_sparse_dequant_table(s, p->bins, deq);
    for (int64_t b = b0; b < b1; b++) {
        const uint16_t *idx = s->idx + b * k;
        const uint8_t *code = s->codes + b * k;
        float *o = dst + tp_block_origin(g, b);
        if (!plan) {
            /* Zeroing the block's rows brings them into cache for the scatter that follows. */
            for (int64_t r = 0; !subtract && r < g->br; r++) memset(o + r * g->cols, 0, sizeof(float) * (size_t)g->bc);
            for (int64_t j = 0; j < k; j++) {
                int64_t r = tp_pos_row(idx[j], inv);
                float *x = o + r * g->cols + (idx[j] - r * g->bc);
                *x = subtract ? *x - deq[code[j]] : deq[code[j]];
            }
        } else {
            memset(th->bv, 0, sizeof(float) * (size_t)g->totalk);
            for (int64_t j = 0; j < k; j++) th->bv[idx[j]] = deq[code[j]];
            tp_dct_inverse(plan, th->bv, th->bv, th->dtmp);
            for (int64_t r = 0; r < g->br; r++) {
                float *x = o + r * g->cols;
                const float *t = th->bv + r * g->bc;
                if (subtract)
                    for (int64_t c = 0; c < g->bc; c++) x[c] = x[c] - t[c];
                else
                    memcpy(x, t, sizeof(float) * (size_t)g->bc);
            }
        }
    }
}

static void finish_quant(const tp_quant *q, tp_sparse *s) {
    s->shift = q->shift;
    s->scale = q->scale;
    memcpy(s->lookup, q->lookup, sizeof s->lookup);
}

/* One tensor on the calling thread alone (th is its scratch). The workspace must be reserved. */
static int compress_serial(const source *src, const tp_codec_params *p, tp_thread_ws *th, tp_sparse *s) {
    int bad = 0;
    select_segments(src, NULL, s, th->vals, th, 0, tp_seg_count(&s->geom), &bad);
    if (bad) return -1;
    tp_quant q;
    tp_quantize(th->vals, s->geom.nblocks * s->k, p->bins, p->range, s->codes, &q, th->qscratch, 1);
    finish_quant(&q, s);
    if (src->e) blocks_out(s, p, NULL, th, src->e, 1, 0, s->geom.nblocks);
    return 0;
}

/* One tensor with every thread of the workspace on its blocks. */
static tp_status compress_shared(const source *src, const tp_codec_params *p, tp_codec_ws *ws, tp_sparse *s,
                                 tp_err *err) {
    const tp_block_geom *g = &s->geom;
    const int64_t k = s->k, nb = g->nblocks, totalk = g->totalk;
    if (k != tp_codec_k(p, totalk)) return tp_fail(err, TP_ERR_ARG, "codec: tensor '%s' sized for another k", s->name);
    tp_status st = tp_codec_ws_reserve(ws, totalk, nb * k, p->bins, err);
    if (st) return st;
    const tp_dct_plan *plan = NULL;
    if (p->use_dct && (st = tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, err))) return st;
    const int T = ws->nthreads;
    float *vals = ws->th[0].vals;
    int bad = 0;
#pragma omp parallel num_threads(T) if (nb > 1) reduction(| : bad)
    {
        /* Contiguous block ranges: a thread's blocks are neighbours in memory. */
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        const int64_t ns = tp_seg_count(g);
        select_segments(src, plan, s, vals, &ws->th[t], ns * t / nt, ns * (t + 1) / nt, &bad);
    }
    if (bad) return tp_fail(err, TP_ERR_NUMERIC, "codec: tensor '%s' holds a non-finite value", s->name);
    tp_quant q;
    tp_quantize(vals, nb * k, p->bins, p->range, s->codes, &q, ws->th[0].qscratch, T);
    finish_quant(&q, s);
    if (!src->e) return TP_OK;
#pragma omp parallel num_threads(T) if (nb > 1)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        blocks_out(s, p, plan, &ws->th[t], src->e, 1, nb * t / nt, nb * (t + 1) / nt);
    }
    return TP_OK;
}

tp_status tp_compress_tensor(const float *x, const tp_codec_params *p, tp_codec_ws *ws, tp_sparse *s, tp_err *err) {
    source src = {.x = x};
    return compress_shared(&src, p, ws, s, err);
}

tp_status tp_ef_compress_tensor(float *e, const float *delta, float beta, float lambda, const tp_codec_params *p,
                                tp_codec_ws *ws, tp_sparse *s, tp_err *err) {
    source src = {.e = e, .delta = delta, .beta = beta, .lambda = lambda};
    return compress_shared(&src, p, ws, s, err);
}

tp_status tp_decompress_tensor(const tp_sparse *s, const tp_codec_params *p, tp_codec_ws *ws, float *out,
                               tp_err *err) {
    const tp_block_geom *g = &s->geom;
    const int64_t nb = g->nblocks;
    tp_status st = tp_codec_ws_reserve(ws, g->totalk, 1, p->bins, err);
    if (st) return st;
    const tp_dct_plan *plan = NULL;
    if (p->use_dct && (st = tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, err))) return st;
#pragma omp parallel num_threads(ws->nthreads) if (nb > 1)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        blocks_out(s, p, plan, &ws->th[t], out, 0, nb * t / nt, nb * (t + 1) / nt);
    }
    return TP_OK;
}

static tp_status check_layout(const tp_update *u, const tp_layout *L, tp_err *err) {
    if (u->n != L->n_tensors)
        return tp_fail(err, TP_ERR_ARG, "codec: message has %d tensors, layout %d", u->n, L->n_tensors);
    for (int i = 0; i < u->n; i++)
        if ((size_t)u->t[i].geom.numel != L->tensors[i].count ||
            u->t[i].k != tp_codec_k(&u->params, u->t[i].geom.totalk))
            return tp_fail(err, TP_ERR_ARG, "codec: tensor %d of the message does not match '%s'", i,
                           L->tensors[i].name);
    return TP_OK;
}

/* The order of tp_codec_schedule for a message; returns the number of shared tensors, or -1. */
static int schedule(const tp_update *u, tp_codec_ws *ws, int *order, tp_err *err) {
    const tp_block_geom **geoms = tp_malloc(sizeof *geoms * (size_t)(u->n ? u->n : 1), err);
    if (!geoms) return -1;
    for (int i = 0; i < u->n; i++) geoms[i] = &u->t[i].geom;
    int shared = tp_codec_schedule(geoms, u->n, ws->nthreads, u->params.use_dct, order);
    free(geoms);
    return shared;
}

/* Reserves the workspace for every tensor of u, so that nothing allocates inside the loops. */
static tp_status reserve_for(const tp_update *u, tp_codec_ws *ws, tp_err *err) {
    int64_t max_totalk = 1, max_vals = 1;
    for (int i = 0; i < u->n; i++) {
        max_totalk = u->t[i].geom.totalk > max_totalk ? u->t[i].geom.totalk : max_totalk;
        int64_t nv = u->t[i].geom.nblocks * u->t[i].k;
        max_vals = nv > max_vals ? nv : max_vals;
    }
    return tp_codec_ws_reserve(ws, max_totalk, max_vals, u->params.bins, err);
}

static tp_status compress_model(const source *src0, const tp_layout *L, tp_codec_ws *ws, tp_update *u, tp_err *err) {
    tp_status st = check_layout(u, L, err);
    if (st || (st = reserve_for(u, ws, err))) return st;
    int *order = tp_malloc(sizeof(int) * (size_t)(u->n ? u->n : 1), err);
    if (!order) return TP_ERR_NOMEM;
    int shared = schedule(u, ws, order, err);
    if (shared < 0) {
        free(order);
        return TP_ERR_NOMEM;
    }
    for (int o = 0; o < shared && !st; o++) {
        int i = order[o];
        source src = *src0;
        size_t off = L->tensors[i].offset;
        if (src.e) src.e += off;
        if (src.x) src.x += off;
        if (src.delta) src.delta += off;
        st = compress_shared(&src, &u->params, ws, &u->t[i], err);
    }
    if (st) {
        free(order);
        return st;
    }
    int bad = -1;
#pragma omp parallel for num_threads(ws->nthreads) schedule(dynamic, 1)
    for (int o = shared; o < u->n; o++) {
        int i = order[o];
        source src = *src0;
        size_t off = L->tensors[i].offset;
        if (src.e) src.e += off;
        if (src.x) src.x += off;
        if (src.delta) src.delta += off;
        if (compress_serial(&src, &u->params, &ws->th[omp_get_thread_num()], &u->t[i])) {
#pragma omp critical(tp_compress_bad)
            if (bad < 0 || i < bad) bad = i;
        }
    }
    free(order);
    if (bad >= 0) return tp_fail(err, TP_ERR_NUMERIC, "codec: tensor '%s' holds a non-finite value", u->t[bad].name);
    return TP_OK;
}

tp_status tp_ef_compress_model(float *e, const float *delta, float beta, float lambda, const tp_layout *L,
                               tp_codec_ws *ws, tp_update *u, tp_err *err) {
    source src = {.e = e, .delta = delta, .beta = beta, .lambda = lambda};
    return compress_model(&src, L, ws, u, err);
}

tp_status tp_compress_model(const float *x, const tp_layout *L, tp_codec_ws *ws, tp_update *u, tp_err *err) {
    source src = {.x = x};
    return compress_model(&src, L, ws, u, err);
}

tp_status tp_decompress_model(const tp_update *u, const tp_layout *L, tp_codec_ws *ws, float *out, tp_err *err) {
    tp_status st = check_layout(u, L, err);
    if (st || (st = reserve_for(u, ws, err))) return st;
    int *order = tp_malloc(sizeof(int) * (size_t)(u->n ? u->n : 1), err);
    if (!order) return TP_ERR_NOMEM;
    int shared = schedule(u, ws, order, err);
    for (int o = 0; o < shared && !st; o++)
        st = tp_decompress_tensor(&u->t[order[o]], &u->params, ws, out + L->tensors[order[o]].offset, err);
    if (!st && shared >= 0) {
#pragma omp parallel for num_threads(ws->nthreads) schedule(dynamic, 1)
        for (int o = shared; o < u->n; o++) {
            const tp_sparse *s = &u->t[order[o]];
            blocks_out(s, &u->params, NULL, &ws->th[omp_get_thread_num()], out + L->tensors[order[o]].offset, 0, 0,
                       s->geom.nblocks);
        }
    }
    free(order);
    return shared < 0 ? TP_ERR_NOMEM : st;
}
