/* Sample assignment (DESIGN §5): the seed formula, draws without replacement, the exact draw order
 * (pinned: it is the cross-machine contract), and that the O(count) implementation equals a plain
 * Fisher-Yates shuffle over a real array. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "data/sampler.h"

Test(sampler, seed_formula) {
    cr_assert_eq(tp_sample_seed(0, 0), 0);
    cr_assert_eq(tp_sample_seed(7, 12345), (uint64_t)((7u * 1000003u) ^ 12345u));
    /* uid × 1000003 overflows 32 bits: computed in 64 bits, then reduced mod 2^32. */
    uint64_t want = ((uint64_t)0xffffffffu * 1000003u ^ ((1ull << 40) + 5)) & 0xffffffffu;
    cr_assert_eq(tp_sample_seed(0xffffffffu, (1ull << 40) + 5), want);
    cr_assert_eq(want, 0xfff0bdb8u);
}

Test(sampler, pinned_pool) {
    /* Computed once (and reproduced by an independent Python SplitMix64/xoshiro256** + Lemire
     * implementation); changing it breaks every node's data assignment. */
    static const uint64_t want[8] = {89047, 62235, 41668, 20287, 46498, 40564, 13574, 66628};
    uint64_t got[8];
    tp_err err;
    cr_assert_eq(tp_sample_pool(7, 12345, 100000, 8, got, &err), TP_OK);
    for (int i = 0; i < 8; i++) cr_assert_eq(got[i], want[i], "position %d: %" PRIu64 " != %" PRIu64, i, got[i], want[i]);
}

Test(sampler, repeatable_distinct_in_range) {
    uint64_t a[500], b[500];
    tp_err err;
    for (uint64_t n = 500; n <= 1000000000000ull; n *= 100) {
        cr_assert_eq(tp_sample_pool(3, 99, n, 500, a, &err), TP_OK);
        cr_assert_eq(tp_sample_pool(3, 99, n, 500, b, &err), TP_OK);
        cr_assert(!memcmp(a, b, sizeof a), "two calls differ for n=%" PRIu64, n);
        for (int i = 0; i < 500; i++) {
            cr_assert_lt(a[i], n);
            for (int j = 0; j < i; j++) cr_assert_neq(a[i], a[j], "duplicate %" PRIu64 " for n=%" PRIu64, a[i], n);
        }
    }
    /* count == n: a permutation. */
    cr_assert_eq(tp_sample_pool(3, 99, 500, 500, a, &err), TP_OK);
    char seen[500] = {0};
    for (int i = 0; i < 500; i++) seen[a[i]]++;
    for (int i = 0; i < 500; i++) cr_assert_eq(seen[i], 1);
}

Test(sampler, different_uid_or_window_differ) {
    uint64_t a[16], b[16], c[16];
    tp_err err;
    cr_assert_eq(tp_sample_pool(1, 10, 1u << 20, 16, a, &err), TP_OK);
    cr_assert_eq(tp_sample_pool(2, 10, 1u << 20, 16, b, &err), TP_OK);
    cr_assert_eq(tp_sample_pool(1, 11, 1u << 20, 16, c, &err), TP_OK);
    cr_assert(memcmp(a, b, sizeof a), "uid does not change the pool");
    cr_assert(memcmp(a, c, sizeof a), "window does not change the pool");
    cr_assert_eq(tp_sample_pool_seeded(tp_sample_seed(2, 10), 1u << 20, 16, c, &err), TP_OK);
    cr_assert(!memcmp(b, c, sizeof b), "tp_sample_pool is not the seeded draw with the DESIGN seed");
}

Test(sampler, errors_and_empty) {
    uint64_t out[4];
    tp_err err;
    cr_assert_eq(tp_sample_pool(1, 1, 3, 4, out, &err), TP_ERR_ARG);
    cr_assert(strstr(err.msg, "cannot draw 4 distinct samples from 3"), "%s", err.msg);
    cr_assert_eq(tp_sample_pool(1, 1, 0, 1, out, &err), TP_ERR_ARG);
    cr_assert_eq(tp_sample_pool(1, 1, 0, 0, out, &err), TP_OK);
    cr_assert_eq(tp_sample_pool(1, 1, 1, 1, out, &err), TP_OK);
    cr_assert_eq(out[0], 0);
}

/* The sparse shuffle must equal a textbook partial Fisher-Yates on a materialised array. */
Test(sampler, equals_plain_fisher_yates) {
    uint64_t arr[64], got[64];
    tp_err err;
    for (uint64_t seed = 0; seed < 300; seed++) {
        uint64_t n = 1 + seed % 64, count = seed % (n + 1);
        for (uint64_t i = 0; i < n; i++) arr[i] = i;
        tp_rng r;
        tp_rng_seed(&r, seed * 7919);
        for (uint64_t k = 0; k < count; k++) {
            uint64_t j = k + tp_rng_below(&r, n - k), t = arr[k];
            arr[k] = arr[j];
            arr[j] = t;
        }
        cr_assert_eq(tp_sample_pool_seeded(seed * 7919, n, count, got, &err), TP_OK);
        for (uint64_t k = 0; k < count; k++) cr_assert_eq(got[k], arr[k], "seed %" PRIu64 " position %" PRIu64, seed, k);
    }
}

Test(sampler, roughly_uniform) {
    int hist[10] = {0};
    uint64_t out[1];
    tp_err err;
    for (uint32_t uid = 0; uid < 20000; uid++) {
        cr_assert_eq(tp_sample_pool(uid, 5, 10, 1, out, &err), TP_OK);
        hist[out[0]]++;
    }
    for (int i = 0; i < 10; i++) cr_assert(hist[i] > 1700 && hist[i] < 2300, "bucket %d has %d of 20000", i, hist[i]);
}
