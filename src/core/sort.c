#include "core/sort.h"

#include <math.h>
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

double tp_lower_median(double *x, size_t n) {
    qsort(x, n, sizeof *x, cmp_double);
    return x[(n - 1) / 2];
}

double tp_sign_test_p(int64_t k, int64_t n) {
    if (n <= 0) return 1;
    double p = 0;
    for (int64_t i = k < 0 ? 0 : k; i <= n; i++)
        p += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) - (double)n * log(2.0));
    return p > 1 ? 1 : p;
}
