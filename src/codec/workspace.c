#include "codec/workspace.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "codec/quantize.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/sort.h"

tp_status tp_codec_ws_new(int nthreads, tp_codec_ws **out, tp_err *err) {
    *out = NULL;
    if (nthreads <= 0) nthreads = omp_get_max_threads();
    if (nthreads > 1024) nthreads = 1024;
    tp_codec_ws *ws = tp_calloc(1, sizeof *ws, err);
    if (!ws) return TP_ERR_NOMEM;
    ws->th = tp_calloc((size_t)nthreads, sizeof *ws->th, err);
    if (!ws->th) {
        free(ws);
        return TP_ERR_NOMEM;
    }
    ws->nthreads = nthreads;
    *out = ws;
    return TP_OK;
}

void tp_codec_ws_free(tp_codec_ws *ws) {
    if (!ws) return;
    free(ws->thread_mem);
    free(ws->th);
    free(ws->vals_mem);
    free(ws->q_mem);
    tp_dct_plan_free(&ws->dct);
    free(ws);
}

tp_status tp_codec_ws_reserve(tp_codec_ws *ws, int64_t totalk, int64_t nvals, int bins, tp_err *err) {
    if (totalk > ws->cap_totalk) {
        /* Per thread: 8 + 4 + 4 + 4 + 2 + 2 bytes per entry plus the key buffer, each array 64-byte
         * aligned. */
        size_t n = (size_t)(totalk + 32) & ~(size_t)31, nk = n > TP_SEG_KEYS ? n : TP_SEG_KEYS;
        size_t per = n * (8 + 4 + 4 + 4 + 2 + 2) + nk * 4;
        uint8_t *mem = tp_alloc_aligned(per * (size_t)ws->nthreads, err);
        if (!mem) return TP_ERR_NOMEM;
        free(ws->thread_mem);
        ws->thread_mem = mem;
        for (int t = 0; t < ws->nthreads; t++) {
            uint8_t *p = mem + per * (size_t)t;
            tp_thread_ws *th = &ws->th[t];
            th->dtmp = (double *)p;
            p += n * 8;
            th->bv = (float *)p;
            p += n * 4;
            th->bk = (uint32_t *)p;
            th->bseg = (float *)p;
            p += nk * 4;
            th->ckey = (uint32_t *)p;
            p += n * 4;
            th->ktmp = (uint32_t *)p;
            p += n * 4;
            th->cpos = (uint16_t *)p;
            p += n * 2;
            th->cnt = (uint16_t *)p;
        }
        ws->cap_totalk = totalk;
    }
    if (nvals > ws->cap_vals) {
        float *v = tp_malloc(sizeof(float) * (size_t)nvals * (size_t)ws->nthreads, err);
        if (!v) return TP_ERR_NOMEM;
        free(ws->vals_mem);
        ws->vals_mem = v;
        for (int t = 0; t < ws->nthreads; t++) ws->th[t].vals = v + (size_t)nvals * (size_t)t;
        ws->cap_vals = nvals;
    }
    int64_t nq = tp_quantize_scratch(nvals, bins < 16 ? 16 : bins);
    if (nq > ws->cap_q) {
        double *q = tp_malloc(sizeof(double) * (size_t)nq * (size_t)ws->nthreads, err);
        if (!q) return TP_ERR_NOMEM;
        free(ws->q_mem);
        ws->q_mem = q;
        for (int t = 0; t < ws->nthreads; t++) ws->th[t].qscratch = q + (size_t)nq * (size_t)t;
        ws->cap_q = nq;
    }
    return TP_OK;
}

tp_status tp_codec_ws_reserve_layout(tp_codec_ws *ws, const tp_layout *L, const tp_codec_params *p, tp_err *err) {
    int64_t max_totalk = 1, max_vals = 1;
    for (int i = 0; i < L->n_tensors; i++) {
        tp_block_geom g;
        tp_status st = tp_block_geom_init(L->tensors[i].ndim, L->tensors[i].shape, p->target_chunk, &g, err);
        if (st) return st;
        int64_t nv = g.nblocks * tp_codec_k(p, g.totalk);
        if (g.totalk > max_totalk) max_totalk = g.totalk;
        if (nv > max_vals) max_vals = nv;
    }
    return tp_codec_ws_reserve(ws, max_totalk, max_vals, p->bins, err);
}

/* Orders tensor indices by size, largest first (ctx: the geometries). */
static int largest_first(const void *a, const void *b, void *ctx) {
    const tp_block_geom *const *geoms = ctx;
    int64_t x = geoms[*(const int *)a]->numel, y = geoms[*(const int *)b]->numel;
    return (x < y) - (x > y);
}

int tp_codec_schedule(const tp_block_geom *const *geoms, int n, int nthreads, int all_shared, int *order) {
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += geoms[i]->numel;
    int shared = 0;
    for (int i = 0; i < n; i++)
        if (all_shared || nthreads <= 1 || geoms[i]->numel * 2 * nthreads > total) order[shared++] = i;
    int rest = shared;
    for (int i = 0; i < n; i++)
        if (!(all_shared || nthreads <= 1 || geoms[i]->numel * 2 * nthreads > total)) order[rest++] = i;
    /* Largest first among the rest (stable: ties keep layout order). */
    tp_sort_stable(order + shared, (size_t)(n - shared), sizeof *order, largest_first, (void *)geoms);
    return shared;
}

tp_status tp_codec_ws_dct(tp_codec_ws *ws, int br, int bc, const tp_dct_plan **plan, tp_err *err) {
    if (!ws->dct.cr || ws->dct.br != br || ws->dct.bc != bc) {
        tp_dct_plan_free(&ws->dct);
        tp_status st = tp_dct_plan_init(&ws->dct, br, bc, err);
        if (st) return st;
    }
    *plan = &ws->dct;
    return TP_OK;
}
