/* Scratch memory of the codec, allocated once and reused for every tensor, so the per-tensor hot
 * loops allocate nothing: per-thread block buffers (values, keys, candidates, aggregation sums) and
 * per-tensor buffers (selected values, quantisation partial sums). Buffers grow on demand;
 * reserving for a whole layout up front (tp_codec_ws_reserve_layout) means they never do later.
 * A workspace serves one call at a time. */
#ifndef TP_CODEC_WORKSPACE_H
#define TP_CODEC_WORKSPACE_H

#include <stdint.h>

#include "codec/dct.h"
#include "codec/sparse.h"
#include "core/error.h"
#include "model/layout.h"

/* Blocks are worked on in segments: runs of neighbouring blocks along one block row, streamed row
 * by row so that memory is read in long contiguous runs (block by block, a block's rows are short
 * runs far apart, which starves the hardware prefetchers). A segment spans at most TP_SEG_KEYS
 * entries, the size of a thread's segment buffer. */
#define TP_SEG_KEYS 65536
#define TP_SEG_MAX_BLOCKS 1024

typedef struct {
    float *bv;      /* totalk block values */
    uint32_t *bk;   /* max(totalk, TP_SEG_KEYS) magnitude keys of a segment */
    float *bseg;    /* the same memory as bk, as a segment's dense values (aggregation) */
    uint16_t *cpos; /* totalk candidate positions */
    uint32_t *ckey; /* totalk candidate keys */
    uint32_t *ktmp; /* totalk: selection scratch */
    uint32_t t_est; /* selection threshold carried from block to block (0: none) */
    double *dtmp;   /* totalk: DCT temporary, aggregation sums */
    uint16_t *cnt;  /* totalk: aggregation counts */
    float *vals;      /* cap_vals selected values of the tensor this thread quantises */
    double *qscratch; /* cap_q doubles of quantisation partial sums */
} tp_thread_ws;

typedef struct {
    int nthreads;
    int64_t cap_totalk, cap_vals, cap_q;
    void *thread_mem, *vals_mem, *q_mem;
    tp_thread_ws *th; /* nthreads */
    tp_dct_plan dct;  /* cached for the last block shape used in DeMo mode */
} tp_codec_ws;

/* nthreads <= 0: OpenMP's default. Every parallel loop of the codec runs with this many threads. */
tp_status tp_codec_ws_new(int nthreads, tp_codec_ws **out, tp_err *err);
void tp_codec_ws_free(tp_codec_ws *ws);

/* Ensures room for blocks of totalk entries and nvals selected values with the given bins. */
tp_status tp_codec_ws_reserve(tp_codec_ws *ws, int64_t totalk, int64_t nvals, int bins, tp_err *err);
/* Reserves for every tensor of a layout, so no later call on that layout allocates. */
tp_status tp_codec_ws_reserve_layout(tp_codec_ws *ws, const tp_layout *L, const tp_codec_params *p, tp_err *err);
/* Model-level loops split the tensors: a tensor with more than total / (2 * threads) entries (or
 * any, in DeMo mode) runs alone with every thread on its blocks; the others run whole, one per
 * thread, largest first, so a model costs few synchronisations. Fills order with tensor indices,
 * the shared ones first, and returns how many are shared. */
int tp_codec_schedule(const tp_block_geom *const *geoms, int n, int nthreads, int all_shared, int *order);

/* Blocks per segment and segments of a tensor; segment i covers block row i / per_row. */
static inline int64_t tp_seg_blocks(const tp_block_geom *g) {
    int64_t n = TP_SEG_KEYS / g->totalk;
    n = n < 1 ? 1 : n > TP_SEG_MAX_BLOCKS ? TP_SEG_MAX_BLOCKS : n;
    return n < g->nbx ? n : g->nbx;
}
static inline int64_t tp_seg_count(const tp_block_geom *g) {
    int64_t n = tp_seg_blocks(g);
    return g->nby * ((g->nbx + n - 1) / n);
}
/* First block row, first block column and number of blocks of segment sg. */
static inline void tp_seg_range(const tp_block_geom *g, int64_t sg, int64_t *y, int64_t *x0, int64_t *nx) {
    int64_t per = tp_seg_blocks(g), per_row = (g->nbx + per - 1) / per;
    *y = sg / per_row;
    *x0 = (sg % per_row) * per;
    *nx = g->nbx - *x0 < per ? g->nbx - *x0 : per;
}

/* The DCT plan for a block shape (rebuilt only when the shape changes). */
tp_status tp_codec_ws_dct(tp_codec_ws *ws, int br, int bc, const tp_dct_plan **plan, tp_err *err);

#endif
