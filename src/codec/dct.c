#include "codec/dct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"

void tp_dct_basis(int n, double *out) {
    const double pi = 3.14159265358979323846;
    for (int f = 0; f < n; f++) {
        double s = f == 0 ? sqrt(1.0 / n) : sqrt(2.0 / n);
        for (int i = 0; i < n; i++) out[(size_t)f * n + i] = s * cos(pi * (2 * i + 1) * f / (2.0 * n));
    }
}

tp_status tp_dct_plan_init(tp_dct_plan *p, int br, int bc, tp_err *err) {
    memset(p, 0, sizeof *p);
    if (br < 1 || bc < 1 || br > 4096 || bc > 4096) return tp_fail(err, TP_ERR_ARG, "dct: bad block %dx%d", br, bc);
    p->cr = tp_malloc(sizeof(double) * ((size_t)br * br + (size_t)bc * bc), err);
    if (!p->cr) return TP_ERR_NOMEM;
    p->cc = p->cr + (size_t)br * br;
    p->br = br;
    p->bc = bc;
    tp_dct_basis(br, p->cr);
    tp_dct_basis(bc, p->cc);
    return TP_OK;
}

void tp_dct_plan_free(tp_dct_plan *p) {
    free(p->cr);
    memset(p, 0, sizeof *p);
}

/* Both directions are t = A x along columns, then out = t B along rows, with A, B chosen so that
 * the forward pass is Cr x Cc^T and the inverse Cr^T y Cc. */
static void transform(const tp_dct_plan *p, const float *in, float *out, double *tmp, int inverse) {
    int br = p->br, bc = p->bc;
    /* tmp[f][j] = sum_i A[f][i] in[i][j] with A = Cr (forward) or Cr^T (inverse). */
    for (int f = 0; f < br; f++) {
        double *t = tmp + (size_t)f * bc;
        for (int j = 0; j < bc; j++) t[j] = 0;
        for (int i = 0; i < br; i++) {
            double a = inverse ? p->cr[(size_t)i * br + f] : p->cr[(size_t)f * br + i];
            const float *row = in + (size_t)i * bc;
            for (int j = 0; j < bc; j++) {
                /* Product and sum apart: no FMA contraction, the same rounding in every build. */
                double prod = a * row[j];
                t[j] += prod;
            }
        }
    }
    /* out[f][g] = sum_j tmp[f][j] B[j][g] with B = Cc^T (forward) or Cc (inverse). */
    for (int f = 0; f < br; f++) {
        const double *t = tmp + (size_t)f * bc;
        for (int g = 0; g < bc; g++) {
            double s = 0;
            for (int j = 0; j < bc; j++) {
                double prod = t[j] * (inverse ? p->cc[(size_t)j * bc + g] : p->cc[(size_t)g * bc + j]);
                s += prod;
            }
            out[(size_t)f * bc + g] = (float)s;
        }
    }
}

void tp_dct_forward(const tp_dct_plan *p, const float *x, float *y, double *tmp) { transform(p, x, y, tmp, 0); }

void tp_dct_inverse(const tp_dct_plan *p, const float *y, float *x, double *tmp) { transform(p, y, x, tmp, 1); }
