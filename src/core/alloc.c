#include "core/alloc.h"

#include <stdlib.h>
#include <string.h>

__attribute__((weak)) bool tp_alloc_should_fail(size_t n) {
    (void)n;
    return false;
}

static void *nomem(tp_err *err, size_t n) {
    tp_fail(err, TP_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return NULL;
}

void *tp_malloc(size_t n, tp_err *err) {
    void *p = tp_alloc_should_fail(n) ? NULL : malloc(n ? n : 1);
    return p ? p : nomem(err, n);
}

void *tp_calloc(size_t count, size_t size, tp_err *err) {
    if (size && count > (size_t)-1 / size) return nomem(err, (size_t)-1);
    size_t n = count * size;
    void *p = tp_alloc_should_fail(n) ? NULL : calloc(n ? n : 1, 1);
    return p ? p : nomem(err, n);
}

void *tp_realloc(void *p, size_t n, tp_err *err) {
    void *q = tp_alloc_should_fail(n) ? NULL : realloc(p, n ? n : 1);
    return q ? q : nomem(err, n);
}

char *tp_strdup(const char *s, tp_err *err) {
    size_t n = strlen(s) + 1;
    char *d = tp_malloc(n, err);
    if (d) memcpy(d, s, n);
    return d;
}

void *tp_alloc_aligned(size_t n, tp_err *err) {
    size_t rounded = (n + 63) & ~(size_t)63;
    if (rounded < n) return nomem(err, n);
    void *p = tp_alloc_should_fail(n) ? NULL : aligned_alloc(64, rounded ? rounded : 64);
    if (!p) return nomem(err, n);
    memset(p, 0, rounded ? rounded : 64);
    return p;
}
