/* Allocation-failure injection for the tests (SQLite's approach): a unit of work runs once without
 * failures to count its allocations, then once for every N with the Nth allocation failing.
 *
 * Two scopes. AF_OURS fails only the project's checked allocator (core/alloc.h): every run must then
 * fail with TP_ERR_NOMEM or give exactly the clean result. AF_WITH_JANSSON fails jansson's
 * allocations too: jansson 2.14 itself cannot always tell (its lexer drops bytes of a string it
 * cannot grow, so a valid document may parse wrong), so there a run may fail with any error; it must
 * still not crash, leak or give a wrong result. */
#ifndef TP_TESTS_ALLOC_FAIL_H
#define TP_TESTS_ALLOC_FAIL_H

#include "core/error.h"

typedef enum { AF_OURS, AF_WITH_JANSSON } af_scope;

/* Counts allocations from now; the nth (1-based) fails, 0: none fails. */
void af_arm(long nth, af_scope scope);
/* Stops counting and failing. Returns how many allocations were made while armed. */
long af_disarm(void);
/* Whether the armed failure happened. */
int af_fired(void);

/* A unit of work: runs on ctx, returns its status. */
typedef tp_status (*af_unit_fn)(void *ctx, tp_err *err);
/* Called after each run: st and err are the unit's result, fired whether its allocation failed. It
 * checks that nothing is corrupt, then puts ctx back as it was for the next run. */
typedef void (*af_check_fn)(void *ctx, tp_status st, const tp_err *err, int fired);

/* Runs the unit once clean, then with allocation N failing for N = 1, 1 + stride, 1 + 2·stride, ...
 * up to the clean run's count (stride 1: every allocation). Returns the clean run's count. */
long af_run_all(af_unit_fn unit, af_check_fn check, void *ctx, long stride, af_scope scope);

#endif
