/* Small ordering helpers, each written once: a stable sort for short arrays whose order must not
 * depend on the C library (every node orders peers the same way), and the lower median. */
#ifndef TP_CORE_SORT_H
#define TP_CORE_SORT_H

#include <stddef.h>
#include <stdint.h>

/* cmp(a, b, ctx) < 0 when a goes before b; equal elements keep their order. */
typedef int (*tp_cmp_fn)(const void *a, const void *b, void *ctx);

/* Stable insertion sort of n elements of size bytes (size <= 64): for short lists only. */
void tp_sort_stable(void *base, size_t n, size_t size, tp_cmp_fn cmp, void *ctx);

/* The lower median of x[0..n) (for even n the lower of the two middle values); sorts x. n > 0. */
double tp_lower_median(double *x, size_t n);
/* The lower q-quantile (0 ≤ q ≤ 1): x[floor(q·(n − 1))] of x sorted; sorts x. n > 0. */
double tp_lower_quantile(double *x, size_t n, double q);

#endif
