/* DeMo mode (DESIGN §7.2): an orthonormal DCT-II along both axes of a block before top-k, and its
 * inverse after decompression. Blocks are small (at most 256 x 256), so the transform is two dense
 * matrix products with precomputed bases, in double precision. */
#ifndef TP_CODEC_DCT_H
#define TP_CODEC_DCT_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
    int br, bc;
    double *cr; /* br x br: cr[f * br + i] = basis f at sample i */
    double *cc; /* bc x bc */
} tp_dct_plan;

tp_status tp_dct_plan_init(tp_dct_plan *p, int br, int bc, tp_err *err);
void tp_dct_plan_free(tp_dct_plan *p);

/* Orthonormal DCT-II basis of size n: out[f * n + i]. */
void tp_dct_basis(int n, double *out);

/* y = Cr x Cc^T for a contiguous br x bc block; tmp holds br * bc doubles. In place is allowed. */
void tp_dct_forward(const tp_dct_plan *p, const float *x, float *y, double *tmp);
/* x = Cr^T y Cc, the inverse. In place is allowed. */
void tp_dct_inverse(const tp_dct_plan *p, const float *y, float *x, double *tmp);

#endif
