#include "codec/chunking.h"

#include <inttypes.h>
#include <string.h>

int64_t tp_chunk_size(int64_t n, int64_t target) {
    if (n <= target) return n;
    /* Divisors come in pairs (d, n/d); scanning d up to sqrt(n) finds the largest one <= target
     * in O(sqrt n) without factorising. */
    int64_t best = 1;
    for (int64_t d = 1; d * d <= n; d++) {
        if (n % d) continue;
        if (d <= target && d > best) best = d;
        int64_t e = n / d;
        if (e <= target && e > best) best = e;
    }
    return best;
}

tp_status tp_block_geom_init(int ndim, const int64_t *shape, int64_t target_chunk, tp_block_geom *g, tp_err *err) {
    memset(g, 0, sizeof *g);
    if (ndim != 1 && ndim != 2)
        return tp_fail(err, TP_ERR_ARG, "codec: tensors must have 1 or 2 dimensions, not %d", ndim);
    if (target_chunk < 1 || target_chunk > TP_CHUNK_MAX)
        return tp_fail(err, TP_ERR_ARG, "codec: target chunk %" PRId64 " is outside [1, %d]", target_chunk,
                       TP_CHUNK_MAX);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 40))
            return tp_fail(err, TP_ERR_ARG, "codec: dimension %d of size %" PRId64 " is outside [1, 2^40]", i,
                           shape[i]);
    g->ndim = ndim;
    g->rows = ndim == 2 ? shape[0] : 1;
    g->cols = ndim == 2 ? shape[1] : shape[0];
    if (g->rows > (INT64_MAX >> 2) / g->cols) return tp_fail(err, TP_ERR_ARG, "codec: tensor too large");
    g->br = ndim == 2 ? tp_chunk_size(g->rows, target_chunk) : 1;
    g->bc = tp_chunk_size(g->cols, target_chunk);
    g->nby = g->rows / g->br;
    g->nbx = g->cols / g->bc;
    g->nblocks = g->nby * g->nbx;
    g->totalk = g->br * g->bc;
    g->numel = g->rows * g->cols;
    return TP_OK;
}
