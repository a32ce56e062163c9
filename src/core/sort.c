#include "core/sort.h"

#include <stdlib.h>
#include <string.h>

void tp_sort_stable(void *base, size_t n, size_t size, tp_cmp_fn cmp, void *ctx) {
    unsigned char *b = base, tmp[64];
    if (size > sizeof tmp) abort(); /* a programming error: this sort is for small elements */
    for (size_t i = 1; i < n; i++) {
        size_t j = i;
        memcpy(tmp, b + i * size, size);
        while (j > 0 && cmp(b + (j - 1) * size, tmp, ctx) > 0) {
            memcpy(b + j * size, b + (j - 1) * size, size);
            j--;
        }
        memcpy(b + j * size, tmp, size);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double tp_lower_quantile(double *x, size_t n, double q) {
    qsort(x, n, sizeof *x, cmp_double);
    return x[(size_t)(q * (double)(n - 1))];
}

double tp_lower_median(double *x, size_t n) { return tp_lower_quantile(x, n, 0.5); }
