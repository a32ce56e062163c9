/* Block geometry of SparseLoCo (DESIGN §7.1). Every tensor dimension n is cut into chunks of the
 * largest divisor of n that is at most the target chunk; a 2-D tensor (R, C) becomes a grid of
 * (r, c) blocks, each flattened row-major, and a 1-D tensor (L) is treated as the 2-D tensor (1, L)
 * so that one code path serves both. */
#ifndef TP_CODEC_CHUNKING_H
#define TP_CODEC_CHUNKING_H

#include <stdint.h>

#include "core/error.h"

/* Upper bound on target_chunk: keeps a 2-D block at most 256 x 256 = 65536 entries, so an in-block
 * position always fits in 16 bits. */
#define TP_CHUNK_MAX 256

typedef struct {
    int ndim;            /* 1 or 2, as given */
    int64_t rows, cols;  /* 1-D (L) is stored as rows = 1, cols = L */
    int64_t br, bc;      /* block height and width */
    int64_t nby, nbx;    /* blocks along rows and columns */
    int64_t nblocks;     /* nby * nbx; block b = (b / nbx, b % nbx) */
    int64_t totalk;      /* entries per block: br * bc */
    int64_t numel;
} tp_block_geom;

/* Largest divisor of n that is <= target; n itself if n <= target. n >= 1, target >= 1. */
int64_t tp_chunk_size(int64_t n, int64_t target);

/* Geometry of a tensor of ndim (1 or 2) dimensions, each >= 1. */
tp_status tp_block_geom_init(int ndim, const int64_t *shape, int64_t target_chunk, tp_block_geom *g, tp_err *err);

/* Flat (row-major) offset of in-block position pos of block b. */
static inline int64_t tp_block_offset(const tp_block_geom *g, int64_t b, int64_t pos) {
    int64_t y = b / g->nbx, x = b - y * g->nbx;
    int64_t r = pos / g->bc, c = pos - r * g->bc;
    return (y * g->br + r) * g->cols + x * g->bc + c;
}

/* Flat offset of the first entry of block b. */
static inline int64_t tp_block_origin(const tp_block_geom *g, int64_t b) {
    int64_t y = b / g->nbx, x = b - y * g->nbx;
    return y * g->br * g->cols + x * g->bc;
}

#endif
