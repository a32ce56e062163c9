/* Yuma consensus against shared/conformance/yuma.json: every field of every epoch within 1e-9, the
 * second epoch fed the first epoch's bonds. Plus the edge cases the vectors do not reach. */
#include <criterion/criterion.h>

#include "../support/conformance.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/yuma.h"

#define TOL 1e-9

/* Flattens a JSON vector or matrix into out; returns the element count and the row length. */
static int64_t flatten(json_t *a, double *out, int64_t cap, int64_t *cols) {
    int64_t n = 0;
    *cols = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (json_is_array(v)) {
            size_t k;
            json_t *x;
            *cols = (int64_t)json_array_size(v);
            json_array_foreach(v, k, x) {
                cr_assert_lt(n, cap);
                out[n++] = json_number_value(x);
            }
        } else {
            cr_assert_lt(n, cap);
            out[n++] = json_number_value(v);
        }
    }
    return n;
}

static void expect_field(json_t *epoch, const char *name, const double *got, int64_t n, int e) {
    double want[4096];
    int64_t cols;
    json_t *a = json_object_get(epoch, name);
    cr_assert_not_null(a, "epoch %d has no field %s", e, name);
    cr_assert_eq(flatten(a, want, 4096, &cols), n, "epoch %d %s: size", e, name);
    for (int64_t k = 0; k < n; k++)
        cr_assert(fabs(got[k] - want[k]) <= TOL, "epoch %d %s[%lld] = %.17g, want %.17g", e, name, (long long)k, got[k],
                  want[k]);
}

Test(yuma, conformance_vectors) {
    json_t *j = conformance_json("yuma.json");
    tp_yuma_params p = {json_number_value(json_object_get(j, "kappa")),
                        json_number_value(json_object_get(j, "bond_alpha"))};
    cr_assert_eq(p.kappa, 0.5);
    cr_assert_eq(p.bond_alpha, 0.1);
    json_t *epochs = json_object_get(j, "epochs");
    cr_assert(json_array_size(epochs) >= 2);
    double prev[4096];
    int have_prev = 0;
    size_t e;
    json_t *ep;
    json_array_foreach(epochs, e, ep) {
        double w[4096], s[256];
        int64_t n_uid, dummy;
        int64_t m = flatten(json_object_get(ep, "weights"), w, 4096, &n_uid);
        int64_t n_val = flatten(json_object_get(ep, "stake"), s, 256, &dummy);
        cr_assert_eq(m, n_val * n_uid);
        tp_yuma_result r;
        tp_err err;
        cr_assert_eq(tp_yuma_result_alloc(&r, n_val, n_uid, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(tp_yuma_epoch(&p, n_val, n_uid, w, s, have_prev ? prev : NULL, &r, &err), TP_OK, "%s", err.msg);
        int en = (int)e;
        expect_field(ep, "normalized_weights", r.weights, m, en);
        expect_field(ep, "consensus", r.consensus, n_uid, en);
        expect_field(ep, "clipped", r.clipped, m, en);
        expect_field(ep, "rank", r.rank, n_uid, en);
        expect_field(ep, "incentive", r.incentive, n_uid, en);
        expect_field(ep, "bonds", r.bonds, m, en);
        expect_field(ep, "dividends", r.dividends, n_val, en);
        for (int64_t k = 0; k < m; k++) prev[k] = r.bonds[k];
        have_prev = 1;
        tp_yuma_result_free(&r);
    }
    json_decref(j);
}

Test(yuma, consensus_is_stake_weighted_median) {
    /* Two validators with 0.3 + 0.2 of the stake say 0.9; together they are exactly κ. */
    double w[] = {0.9, 0.1, 0.9, 0.1, 0.1, 0.9};
    double s[] = {0.3, 0.2, 0.5};
    tp_yuma_params p = tp_yuma_default_params();
    tp_yuma_result r;
    tp_err err;
    cr_assert_eq(tp_yuma_result_alloc(&r, 3, 2, &err), TP_OK);
    cr_assert_eq(tp_yuma_epoch(&p, 3, 2, w, s, NULL, &r, &err), TP_OK, "%s", err.msg);
    cr_assert_float_eq(r.consensus[0], 0.9, 1e-12);
    cr_assert_float_eq(r.consensus[1], 0.9, 1e-12);
    /* A validator with 0.49 of the stake alone cannot lift a column: it is clipped to 0. */
    double w2[] = {1, 0, 0, 1, 0, 1};
    double s2[] = {0.49, 0.02, 0.49};
    cr_assert_eq(tp_yuma_epoch(&p, 3, 2, w2, s2, NULL, &r, &err), TP_OK);
    cr_assert_float_eq(r.consensus[0], 0.0, 1e-12);
    cr_assert_float_eq(r.consensus[1], 1.0, 1e-12);
    cr_assert_float_eq(r.incentive[1], 1.0, 1e-12);
    tp_yuma_result_free(&r);
}

Test(yuma, degenerate_inputs) {
    tp_yuma_params p = tp_yuma_default_params();
    tp_yuma_result r;
    tp_err err;
    double w[] = {0.5, 0.5, 0, 0};
    double zero[] = {0, 0};
    cr_assert_eq(tp_yuma_result_alloc(&r, 2, 2, &err), TP_OK);
    cr_assert_eq(tp_yuma_epoch(&p, 2, 2, w, zero, NULL, &r, &err), TP_OK, "no stake is not an error");
    for (int k = 0; k < 2; k++) cr_assert_eq(r.incentive[k], 0.0);
    double s[] = {1, 1};
    cr_assert_eq(tp_yuma_epoch(&p, 2, 2, w, s, NULL, &r, &err), TP_OK);
    cr_assert_float_eq(r.incentive[0] + r.incentive[1], 1.0, 1e-12);
    cr_assert_eq(r.dividends[1], 0.0, "an all-zero row earns nothing");
    double bad[] = {NAN, 1, 0, 0};
    cr_assert_eq(tp_yuma_epoch(&p, 2, 2, bad, s, NULL, &r, &err), TP_ERR_NUMERIC);
    double neg[] = {-1, 1, 0, 0};
    cr_assert_eq(tp_yuma_epoch(&p, 2, 2, neg, s, NULL, &r, &err), TP_ERR_NUMERIC);
    tp_yuma_result_free(&r);
    tp_yuma_result r0;
    cr_assert_eq(tp_yuma_result_alloc(&r0, 0, 3, &err), TP_OK);
    cr_assert_eq(tp_yuma_epoch(&p, 0, 3, NULL, NULL, NULL, &r0, &err), TP_OK, "no validators is not an error");
    tp_yuma_result_free(&r0);
}

Test(yuma, emission_split) {
    tp_yuma_params p = tp_yuma_default_params();
    tp_yuma_result r;
    tp_err err;
    double s[] = {3, 1};
    int64_t val_uid[] = {0, 3}, n = 4;
    double wide[8] = {0, 0.5, 0.5, 0, 0, 0.5, 0.5, 0};
    cr_assert_eq(tp_yuma_result_alloc(&r, 2, n, &err), TP_OK);
    cr_assert_eq(tp_yuma_epoch(&p, 2, n, wide, s, NULL, &r, &err), TP_OK);
    double em[4];
    tp_yuma_emission(&r, val_uid, 10.0, em);
    cr_assert_float_eq(em[0] + em[1] + em[2] + em[3], 10.0, 1e-9);
    cr_assert_float_eq(em[1], 2.5, 1e-9);
    cr_assert_float_eq(em[2], 2.5, 1e-9);
    cr_assert_float_eq(em[0], 5.0 * 0.75, 1e-9);
    cr_assert_float_eq(em[3], 5.0 * 0.25, 1e-9);
    tp_yuma_result_free(&r);
}
