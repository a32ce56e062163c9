/* Per-tensor quantisation of the selected values (DESIGN §7.4): shift = mean, std = |c|_2/sqrt(n-1)
 * of the centred values c, scale = range * std / bins (1 if that is 0 or not finite),
 * code = clamp(round_half_even(c / scale + bins/2), 0, bins - 1), lookup[b] = mean of the c coded b
 * (0 if none). Sums run over fixed segments and are combined in order, so the result does not
 * depend on the number of threads. */
#ifndef TP_CODEC_QUANTIZE_H
#define TP_CODEC_QUANTIZE_H

#include <stdint.h>

typedef struct {
    float shift, scale;
    float lookup[16];
} tp_quant;

/* Doubles of scratch tp_quantize needs for n values. */
int64_t tp_quantize_scratch(int64_t n, int bins);

/* vals: n >= 1 finite values; codes: n bytes out. nthreads <= 0: OpenMP's default. */
void tp_quantize(const float *vals, int64_t n, int bins, float range, uint8_t *codes, tp_quant *q, double *scratch,
                 int nthreads);

#endif
