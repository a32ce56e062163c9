/* Checked allocation. Every layer allocates through these, so a failure is an error with a message
 * (never a crash), and the tests can make any chosen allocation fail (tp_alloc_should_fail). */
#ifndef TP_CORE_ALLOC_H
#define TP_CORE_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Each returns NULL with TP_ERR_NOMEM in err on failure; free the result with free(). A size of 0
 * allocates 1 byte, so NULL always means failure. */
void *tp_malloc(size_t n, tp_err *err);
void *tp_calloc(size_t count, size_t size, tp_err *err); /* zeroed; count × size overflow fails */
void *tp_realloc(void *p, size_t n, tp_err *err);        /* on failure p is left as it was */
char *tp_strdup(const char *s, tp_err *err);
void *tp_alloc_aligned(size_t n, tp_err *err);            /* 64-byte aligned, zeroed */

/* Allocation-failure injection (SQLite's approach: fail the Nth allocation, for every N). The
 * program's own definition is weak and never fails; a test binary defines this function to decide
 * which allocations fail. Called once per allocation above, before it is made. */
bool tp_alloc_should_fail(size_t n);

#endif
