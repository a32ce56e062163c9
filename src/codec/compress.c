#include "codec/compress.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "codec/quantize.h"
#include "codec/select.h"

/* How compress_core treats its input: read-only (plain compression) or as error-feedback state. */
typedef struct {
    float *e;           /* EF state, updated in place; NULL for plain compression */
    const float *x;     /* plain input */
    const float *delta; /* NULL: zero */
    float beta, lambda;
} source;

/* Loads block b into th->bv (EF: updating e first) and its magnitude keys into th->bk; returns the
 * largest key, which is >= TP_KEY_INF exactly when the block holds a non-finite value. */
static uint32_t load_block(const source *src, const tp_block_geom *g, int64_t b, int dct, tp_thread_ws *th) {
    int64_t origin = tp_block_origin(g, b), br = g->br, bc = g->bc, cols = g->cols;
    uint32_t mx = 0;
    for (int64_t r = 0; r < br; r++) {
        float *v = th->bv + r * bc;
        uint32_t *key = th->bk + r * bc;
        int64_t at = origin + r * cols;
        if (src->e) {
            float *e = src->e + at;
            const float beta = src->beta, lambda = src->lambda;
            if (src->delta) {
                const float *d = src->delta + at;
                for (int64_t c = 0; c < bc; c++) {
                    /* Two statements so that no compiler fuses them into an FMA: every node must
                     * round the same way. */
                    float a = beta * e[c];
                    float s = lambda * d[c];
                    v[c] = a + s;
                }
            } else {
                for (int64_t c = 0; c < bc; c++) v[c] = beta * e[c];
            }
            memcpy(e, v, sizeof(float) * (size_t)bc);
        } else {
            memcpy(v, src->x + at, sizeof(float) * (size_t)bc);
        }
        if (!dct)
            for (int64_t c = 0; c < bc; c++) {
                uint32_t k = tp_mag_key(v[c]);
                key[c] = k;
                mx = k > mx ? k : mx;
            }
    }
    return mx;
}

static tp_status compress_core(const source *src, const tp_codec_params *p, tp_codec_ws *ws, tp_sparse *s,
                               tp_err *err) {
    const tp_block_geom *g = &s->geom;
    const int64_t k = s->k, nb = g->nblocks, totalk = g->totalk, nvals = nb * k;
    if (k != tp_codec_k(p, totalk)) return tp_fail(err, TP_ERR_ARG, "codec: tensor '%s' sized for another k", s->name);
    tp_status st = tp_codec_ws_reserve(ws, totalk, nvals, p->bins, err);
    if (st) return st;
    const tp_dct_plan *plan = NULL;
    if (p->use_dct && (st = tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, err))) return st;

    int bad = 0;
    float *vals = ws->vals;
#pragma omp parallel num_threads(ws->nthreads) if (nb > 1)
    {
        tp_thread_ws *th = &ws->th[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            uint32_t mx = load_block(src, g, b, plan != NULL, th);
            if (plan) {
                tp_dct_forward(plan, th->bv, th->bv, th->dtmp);
                for (int64_t i = 0; i < totalk; i++) {
                    uint32_t key = tp_mag_key(th->bv[i]);
                    th->bk[i] = key;
                    mx = key > mx ? key : mx;
                }
            }
            uint16_t *idx = s->idx + b * k;
            if (mx >= TP_KEY_INF) {
#pragma omp atomic write
                bad = 1;
                for (int64_t j = 0; j < k; j++) idx[j] = (uint16_t)j;
            } else {
                tp_select_topk(th->bk, (int)totalk, (int)k, idx, th->cpos, th->ckey);
            }
            float *v = vals + b * k;
            for (int64_t j = 0; j < k; j++) v[j] = th->bv[idx[j]];
        }
    }
    if (bad) return tp_fail(err, TP_ERR_NUMERIC, "codec: tensor '%s' holds a non-finite value", s->name);

    tp_quant q;
    tp_quantize(vals, nvals, p->bins, p->range, s->codes, &q, ws->qscratch, ws->nthreads);
    s->shift = q.shift;
    s->scale = q.scale;
    memcpy(s->lookup, q.lookup, sizeof s->lookup);
    if (!src->e) return TP_OK;

    /* e <- e - decompress(s). */
    float deq[TP_CODEC_MAX_BINS];
    tp_sparse_dequant_table(s, p->bins, deq);
    const uint64_t inv = tp_pos_inv(g->bc);
#pragma omp parallel num_threads(ws->nthreads) if (nb > 1)
    {
        tp_thread_ws *th = &ws->th[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            const uint16_t *idx = s->idx + b * k;
            const uint8_t *code = s->codes + b * k;
            int64_t origin = tp_block_origin(g, b);
            if (!plan) {
                for (int64_t j = 0; j < k; j++) {
                    int64_t r = tp_pos_row(idx[j], inv), c = idx[j] - r * g->bc;
                    float *e = src->e + origin + r * g->cols + c;
                    *e = *e - deq[code[j]];
                }
            } else {
                memset(th->bv, 0, sizeof(float) * (size_t)totalk);
                for (int64_t j = 0; j < k; j++) th->bv[idx[j]] = deq[code[j]];
                tp_dct_inverse(plan, th->bv, th->bv, th->dtmp);
                for (int64_t r = 0; r < g->br; r++) {
                    float *e = src->e + origin + r * g->cols;
                    const float *t = th->bv + r * g->bc;
                    for (int64_t c = 0; c < g->bc; c++) e[c] = e[c] - t[c];
                }
            }
        }
    }
    return TP_OK;
}

tp_status tp_compress_tensor(const float *x, const tp_codec_params *p, tp_codec_ws *ws, tp_sparse *s, tp_err *err) {
    source src = {.x = x};
    return compress_core(&src, p, ws, s, err);
}

tp_status tp_ef_compress_tensor(float *e, const float *delta, float beta, float lambda, const tp_codec_params *p,
                                tp_codec_ws *ws, tp_sparse *s, tp_err *err) {
    source src = {.e = e, .delta = delta, .beta = beta, .lambda = lambda};
    return compress_core(&src, p, ws, s, err);
}

tp_status tp_decompress_tensor(const tp_sparse *s, const tp_codec_params *p, tp_codec_ws *ws, float *out,
                               tp_err *err) {
    const tp_block_geom *g = &s->geom;
    const int64_t k = s->k, nb = g->nblocks, totalk = g->totalk;
    tp_status st = tp_codec_ws_reserve(ws, totalk, 1, p->bins, err);
    if (st) return st;
    const tp_dct_plan *plan = NULL;
    if (p->use_dct && (st = tp_codec_ws_dct(ws, (int)g->br, (int)g->bc, &plan, err))) return st;
    float deq[TP_CODEC_MAX_BINS];
    tp_sparse_dequant_table(s, p->bins, deq);
    const uint64_t inv = tp_pos_inv(g->bc);
#pragma omp parallel num_threads(ws->nthreads) if (nb > 1)
    {
        tp_thread_ws *th = &ws->th[omp_get_thread_num()];
#pragma omp for schedule(static)
        for (int64_t b = 0; b < nb; b++) {
            const uint16_t *idx = s->idx + b * k;
            const uint8_t *code = s->codes + b * k;
            float *o = out + tp_block_origin(g, b);
            if (!plan) {
                /* Zeroing the block's rows brings them into cache for the scatter that follows. */
                for (int64_t r = 0; r < g->br; r++) memset(o + r * g->cols, 0, sizeof(float) * (size_t)g->bc);
                for (int64_t j = 0; j < k; j++) {
                    int64_t r = tp_pos_row(idx[j], inv);
                    o[r * g->cols + (idx[j] - r * g->bc)] = deq[code[j]];
                }
            } else {
                memset(th->bv, 0, sizeof(float) * (size_t)totalk);
                for (int64_t j = 0; j < k; j++) th->bv[idx[j]] = deq[code[j]];
                tp_dct_inverse(plan, th->bv, th->bv, th->dtmp);
                for (int64_t r = 0; r < g->br; r++)
                    memcpy(o + r * g->cols, th->bv + r * g->bc, sizeof(float) * (size_t)g->bc);
            }
        }
    }
    return TP_OK;
}

static tp_status check_layout(const tp_update *u, const tp_layout *L, tp_err *err) {
    if (u->n != L->n_tensors)
        return tp_fail(err, TP_ERR_ARG, "codec: message has %d tensors, layout %d", u->n, L->n_tensors);
    for (int i = 0; i < u->n; i++)
        if ((size_t)u->t[i].geom.numel != L->tensors[i].count)
            return tp_fail(err, TP_ERR_ARG, "codec: tensor %d of the message does not match '%s'", i,
                           L->tensors[i].name);
    return TP_OK;
}

tp_status tp_ef_compress_model(float *e, const float *delta, float beta, float lambda, const tp_layout *L,
                               tp_codec_ws *ws, tp_update *u, tp_err *err) {
    tp_status st = check_layout(u, L, err);
    for (int i = 0; !st && i < u->n; i++) {
        size_t off = L->tensors[i].offset;
        st = tp_ef_compress_tensor(e + off, delta ? delta + off : NULL, beta, lambda, &u->params, ws, &u->t[i], err);
    }
    return st;
}

tp_status tp_compress_model(const float *x, const tp_layout *L, tp_codec_ws *ws, tp_update *u, tp_err *err) {
    tp_status st = check_layout(u, L, err);
    for (int i = 0; !st && i < u->n; i++)
        st = tp_compress_tensor(x + L->tensors[i].offset, &u->params, ws, &u->t[i], err);
    return st;
}

tp_status tp_decompress_model(const tp_update *u, const tp_layout *L, tp_codec_ws *ws, float *out, tp_err *err) {
    tp_status st = check_layout(u, L, err);
    for (int i = 0; !st && i < u->n; i++)
        st = tp_decompress_tensor(&u->t[i], &u->params, ws, out + L->tensors[i].offset, err);
    return st;
}
