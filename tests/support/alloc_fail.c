#include "alloc_fail.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "core/alloc.h"

/* The test binary's state of the injector (each criterion test runs in its own process). */
static atomic_long armed, count, fail_at, fired;

bool tp_alloc_should_fail(size_t n) {
    (void)n;
    if (!atomic_load(&armed)) return false;
    long k = atomic_fetch_add(&count, 1) + 1;
    if (k != atomic_load(&fail_at)) return false;
    atomic_store(&fired, 1);
    return true;
}

static void *json_alloc(size_t n) { return tp_alloc_should_fail(n) ? NULL : malloc(n); }

void af_arm(long nth, af_scope scope) {
    atomic_store(&count, 0);
    atomic_store(&fired, 0);
    atomic_store(&fail_at, nth);
    if (scope == AF_WITH_JANSSON) json_set_alloc_funcs(json_alloc, free);
    atomic_store(&armed, 1);
}

long af_disarm(void) {
    atomic_store(&armed, 0);
    json_set_alloc_funcs(malloc, free);
    return atomic_load(&count);
}

int af_fired(void) { return (int)atomic_load(&fired); }

long af_run_all(af_unit_fn unit, af_check_fn check, void *ctx, long stride, af_scope scope) {
    tp_err err = {0};
    af_arm(0, scope);
    tp_status st = unit(ctx, &err);
    long total = af_disarm();
    cr_assert_eq(st, TP_OK, "the unit fails without any injected failure: %s", err.msg);
    check(ctx, st, &err, 0);
    cr_assert(total > 0, "the unit allocates nothing: the injector cannot reach it");
    for (long n = 1; n <= total; n += stride > 0 ? stride : 1) {
        err = (tp_err){0};
        af_arm(n, scope);
        st = unit(ctx, &err);
        af_disarm();
        cr_assert(!st || af_fired(), "run %ld: failed without an injected failure: %s", n, err.msg);
        cr_assert(!st || st == TP_ERR_NOMEM || scope == AF_WITH_JANSSON,
                  "run %ld: allocation %ld failed but the unit reported %d (%s), not out of memory", n, n, st, err.msg);
        check(ctx, st, &err, af_fired());
    }
    cr_log_info("%ld allocations; the Nth failed for N = 1, %ld, ...", total, 1 + stride);
    return total;
}
