#include "codec/quantize.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Values per reduction segment: fixed, so partial sums and their order never depend on threads. */
#define SEG 4096

int64_t tp_quantize_scratch(int64_t n, int bins) {
    int64_t nseg = (n + SEG - 1) / SEG;
    return nseg * (2 + 2 * (int64_t)bins);
}

void tp_quantize(const float *vals, int64_t n, int bins, float range, uint8_t *codes, tp_quant *q, double *scratch,
                 int nthreads) {
    int64_t nseg = (n + SEG - 1) / SEG;
    double *sum = scratch, *sq = scratch + nseg, *bsum = scratch + 2 * nseg, *bcnt = bsum + nseg * bins;
    if (nthreads <= 0) nthreads = omp_get_max_threads();

#pragma omp parallel for num_threads(nthreads) schedule(static) if (nseg > 1)
    for (int64_t s = 0; s < nseg; s++) {
        int64_t a = s * SEG, b = a + SEG < n ? a + SEG : n;
        double acc = 0;
        for (int64_t i = a; i < b; i++) acc += vals[i];
        sum[s] = acc;
    }
    double total = 0;
    for (int64_t s = 0; s < nseg; s++) total += sum[s];
    float shift = (float)(total / (double)n);

#pragma omp parallel for num_threads(nthreads) schedule(static) if (nseg > 1)
    for (int64_t s = 0; s < nseg; s++) {
        int64_t a = s * SEG, b = a + SEG < n ? a + SEG : n;
        double acc = 0;
        for (int64_t i = a; i < b; i++) {
            float c = vals[i] - shift;
            double sq = (double)c * c; /* apart from the sum: no FMA, the same rounding everywhere */
            acc += sq;
        }
        sq[s] = acc;
    }
    double ss = 0;
    for (int64_t s = 0; s < nseg; s++) ss += sq[s];
    float scale = n > 1 ? (float)(range * (sqrt(ss) / sqrt((double)(n - 1))) / bins) : 0.0f;
    if (scale == 0 || !isfinite(scale)) scale = 1.0f;

    float offset = (float)(bins / 2);
    float top = (float)(bins - 1);
#pragma omp parallel for num_threads(nthreads) schedule(static) if (nseg > 1)
    for (int64_t s = 0; s < nseg; s++) {
        int64_t a = s * SEG, b = a + SEG < n ? a + SEG : n;
        double bs[16] = {0}, bc[16] = {0};
        for (int64_t i = a; i < b; i++) {
            float c = vals[i] - shift;
            /* rintf rounds half to even in the default rounding mode, as torch.round does. */
            float r = rintf(c / scale + offset);
            r = r < 0 ? 0 : r > top ? top : r;
            int code = (int)r;
            codes[i] = (uint8_t)code;
            bs[code] += c;
            bc[code] += 1;
        }
        memcpy(bsum + s * bins, bs, sizeof(double) * (size_t)bins);
        memcpy(bcnt + s * bins, bc, sizeof(double) * (size_t)bins);
    }
    memset(q, 0, sizeof *q);
    q->shift = shift;
    q->scale = scale;
    for (int c = 0; c < bins; c++) {
        double s = 0, k = 0;
        for (int64_t g = 0; g < nseg; g++) {
            s += bsum[g * bins + c];
            k += bcnt[g * bins + c];
        }
        q->lookup[c] = k > 0 ? (float)(s / k) : 0.0f;
    }
}
