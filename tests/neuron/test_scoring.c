/* Validator scoring maths against shared/conformance/scoring.json: every OpenSkill posterior within
 * 1e-9, the sync-score curve and the weight schedule within 1e-12. Plus properties the vectors do not
 * pin down: ties, monotonicity, steps_behind, and the weight budget. */
#include <criterion/criterion.h>

#include "../support/conformance.h"
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "neuron/openskill.h"
#include "neuron/sync_score.h"
#include "neuron/weights.h"

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_number(v), "missing number %s", key);
    return json_number_value(v);
}

static tp_openskill_params params_from(json_t *os) {
    return (tp_openskill_params){.mu0 = num(os, "mu0"),
                                 .sigma0 = num(os, "sigma0"),
                                 .beta = num(os, "beta"),
                                 .tau = num(os, "tau"),
                                 .kappa = num(os, "kappa")};
}

Test(scoring, defaults_match_vectors) {
    json_t *j = conformance_json("scoring.json");
    tp_openskill_params v = params_from(json_object_get(j, "openskill_plackett_luce"));
    tp_openskill_params d = tp_openskill_defaults();
    cr_assert_eq(d.mu0, v.mu0);
    cr_assert_eq(d.sigma0, v.sigma0);
    cr_assert_eq(d.beta, v.beta);
    cr_assert_eq(d.tau, v.tau);
    cr_assert_eq(d.kappa, v.kappa);
    json_decref(j);
}

Test(scoring, openskill_plackett_luce) {
    json_t *j = conformance_json("scoring.json");
    json_t *os = json_object_get(j, "openskill_plackett_luce");
    tp_openskill_params p = params_from(os);
    json_t *cases = json_object_get(os, "cases");
    cr_assert(json_array_size(cases) > 0);
    size_t ci;
    json_t *c;
    json_array_foreach(cases, ci, c) {
        json_t *prior = json_object_get(c, "prior"), *scores = json_object_get(c, "scores"),
               *post = json_object_get(c, "posterior");
        size_t n = json_array_size(prior);
        cr_assert(n > 0 && n <= 64 && json_array_size(scores) == n && json_array_size(post) == n);
        tp_rating r[64];
        double s[64];
        for (size_t i = 0; i < n; i++) {
            r[i].mu = json_number_value(json_array_get(json_array_get(prior, i), 0));
            r[i].sigma = json_number_value(json_array_get(json_array_get(prior, i), 1));
            s[i] = json_number_value(json_array_get(scores, i));
        }
        tp_err err = {0};
        cr_assert_eq(tp_openskill_rate(&p, r, s, (int64_t)n, &err), TP_OK, "%s", err.msg);
        for (size_t i = 0; i < n; i++) {
            double mu = json_number_value(json_array_get(json_array_get(post, i), 0));
            double sg = json_number_value(json_array_get(json_array_get(post, i), 1));
            cr_expect(fabs(r[i].mu - mu) <= 1e-9, "case %zu player %zu: mu %.17g want %.17g", ci, i,
                      r[i].mu, mu);
            cr_expect(fabs(r[i].sigma - sg) <= 1e-9, "case %zu player %zu: sigma %.17g want %.17g",
                      ci, i, r[i].sigma, sg);
        }
    }
    json_decref(j);
}

Test(scoring, openskill_ties_share_and_order_holds) {
    tp_openskill_params p = tp_openskill_defaults();
    enum { N = 7 };
    double s[N] = {0.3, -0.1, 0.3, 0.0, 0.05, -0.1, 0.0};
    tp_rating r[N];
    for (int i = 0; i < N; i++) r[i] = tp_rating_new(&p);
    tp_err err = {0};
    cr_assert_eq(tp_openskill_rate(&p, r, s, N, &err), TP_OK, "%s", err.msg);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < N; k++) {
            if (s[i] == s[k]) {
                cr_expect_eq(r[i].mu, r[k].mu, "tied %d,%d differ in mu", i, k);
                cr_expect_eq(r[i].sigma, r[k].sigma, "tied %d,%d differ in sigma", i, k);
            }
            if (s[i] > s[k]) cr_expect_geq(r[i].mu, r[k].mu, "better %d got lower mu than %d", i, k);
        }
    /* Order of players in the game does not matter. */
    double s2[N];
    tp_rating r2[N];
    for (int i = 0; i < N; i++) {
        s2[i] = s[N - 1 - i];
        r2[i] = tp_rating_new(&p);
    }
    cr_assert_eq(tp_openskill_rate(&p, r2, s2, N, &err), TP_OK);
    for (int i = 0; i < N; i++) {
        cr_expect(fabs(r2[i].mu - r[N - 1 - i].mu) < 1e-12);
        cr_expect(fabs(r2[i].sigma - r[N - 1 - i].sigma) < 1e-12);
    }
}

Test(scoring, openskill_edge_cases) {
    tp_openskill_params p = tp_openskill_defaults();
    tp_err err = {0};
    cr_assert_eq(tp_openskill_rate(&p, NULL, NULL, 0, &err), TP_OK);
    /* A lone player only has its sigma widened by tau. */
    tp_rating one = tp_rating_new(&p);
    double s = 1.0;
    cr_assert_eq(tp_openskill_rate(&p, &one, &s, 1, &err), TP_OK);
    cr_expect_eq(one.mu, p.mu0);
    cr_expect(fabs(one.sigma - sqrt(p.sigma0 * p.sigma0 + p.tau * p.tau)) < 1e-12);
    cr_expect(fabs(tp_rating_ordinal(one) - (one.mu - 3 * one.sigma)) < 1e-15);
    /* A non-finite score is refused and nothing changes. */
    tp_rating r[2] = {tp_rating_new(&p), tp_rating_new(&p)};
    double bad[2] = {0.1, NAN};
    cr_assert_eq(tp_openskill_rate(&p, r, bad, 2, &err), TP_ERR_NUMERIC);
    cr_expect_eq(r[0].mu, p.mu0);
    cr_expect_eq(r[1].sigma, p.sigma0);
    /* Huge mu does not overflow exp(mu/c). */
    tp_rating big[2] = {{1e6, 8}, {1e6 - 1, 8}};
    double sc[2] = {1, 0};
    cr_assert_eq(tp_openskill_rate(&p, big, sc, 2, &err), TP_OK);
    cr_expect(isfinite(big[0].mu) && isfinite(big[1].mu) && big[0].mu > big[1].mu);
}

Test(scoring, sync_score_curve) {
    json_t *j = conformance_json("scoring.json");
    json_t *vals = json_object_get(json_object_get(j, "sync_score"), "values");
    cr_assert(json_object_size(vals) > 0);
    const char *key;
    json_t *v;
    json_object_foreach(vals, key, v) {
        double x = strtod(key, NULL), want = json_number_value(v);
        double got = tp_sync_score(x);
        cr_expect(fabs(got - want) <= 1e-12, "sync_score(%s) = %.17g want %.17g", key, got, want);
    }
    json_decref(j);
    cr_expect_eq(tp_sync_score(-1), 1.0);
    cr_expect_eq(tp_sync_score(INFINITY), 0.0);
    cr_expect_eq(tp_sync_score(NAN), 0.0);
}

Test(scoring, steps_behind_lower_median) {
    tp_err err = {0};
    double out = -1;
    float mine[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    float theirs[4] = {1.5f, 2.0f, 2.0f, 4.0f + 8.0f};
    float step[4] = {0.25f, 0.5f, 0.5f, 1.0f};
    /* ratios 2, 0, 2, 8 -> sorted 0 2 2 8 -> lower median 2 */
    cr_assert_eq(tp_steps_behind(mine, theirs, step, 4, false, &out, &err), TP_OK, "%s", err.msg);
    cr_expect_eq(out, 2.0);
    /* Even count takes the lower of the two middle values. */
    float th2[4] = {1.25f, 2.0f, 3.5f, 7.0f}; /* ratios 1 0 1 3 -> 0 1 1 3 -> 1 */
    cr_assert_eq(tp_steps_behind(mine, th2, step, 4, false, &out, &err), TP_OK);
    cr_expect_eq(out, 1.0);
    float th3[2] = {1.0f, 5.0f}; /* ratios 0, 6 -> lower median 0 */
    cr_assert_eq(tp_steps_behind(mine, th3, step, 2, false, &out, &err), TP_OK);
    cr_expect_eq(out, 0.0);
    /* Matching hashes: 0 without looking at samples. */
    cr_assert_eq(tp_steps_behind(NULL, NULL, NULL, 0, true, &out, &err), TP_OK);
    cr_expect_eq(out, 0.0);
    /* Garbage from the miner is infinitely behind, not an error. */
    float thn[1] = {NAN};
    cr_assert_eq(tp_steps_behind(mine, thn, step, 1, false, &out, &err), TP_OK);
    cr_expect(isinf(out));
    cr_expect_eq(tp_sync_score(out), 0.0);
    /* Zero step size: equal counts 0, different infinitely behind. */
    float zs[2] = {0.0f, 0.0f};
    float t0[2] = {1.0f, 2.0f};
    cr_assert_eq(tp_steps_behind(mine, t0, zs, 2, false, &out, &err), TP_OK);
    cr_expect_eq(out, 0.0);
    /* No samples with differing hashes, or invalid own values, are errors. */
    cr_expect_eq(tp_steps_behind(mine, theirs, step, 0, false, &out, &err), TP_ERR_ARG);
    float mn[1] = {NAN};
    cr_expect_eq(tp_steps_behind(mn, theirs, step, 1, false, &out, &err), TP_ERR_NUMERIC);
}

Test(scoring, sync_ema_update) {
    tp_err err = {0};
    float ema[2] = {0, 0}, prev[2] = {0, 1}, cur[2] = {1, 0};
    cr_assert_eq(tp_sync_ema_update(ema, prev, cur, 2, true, &err), TP_OK);
    cr_expect_eq(ema[0], 1.0f);
    cr_expect_eq(ema[1], 1.0f);
    float cur2[2] = {0, 1};
    cr_assert_eq(tp_sync_ema_update(ema, prev, cur2, 2, false, &err), TP_OK);
    cr_expect(fabsf(ema[0] - 0.8f) < 1e-7f);
    cr_expect(fabsf(ema[1] - 0.8f) < 1e-7f);
}

Test(scoring, final_score) {
    tp_rating r = {.mu = 30, .sigma = 5};
    cr_expect(fabs(tp_final_score(r, 0.5, 0.8) - 15 * 0.5 * 0.8) < 1e-12);
    cr_expect_eq(tp_final_score(r, -0.3, 1.0), 0.0);
    cr_expect_eq(tp_final_score(r, 0.3, 0.0), 0.0);
}

static tp_weight_params weight_params_from(json_t *w) {
    tp_weight_params p = tp_weight_defaults();
    p.burn_uid = (int64_t)num(w, "burn_uid");
    p.burn_rate = num(w, "burn_rate");
    p.gather_peer_count = (int64_t)num(w, "gather_peer_count");
    p.reserve_peer_count = (int64_t)num(w, "reserve_peer_count");
    p.gather_share = num(w, "gather_share");
    p.gather_top_ratio = num(w, "gather_top_ratio");
    p.reserve_decay_ratio = num(w, "reserve_decay_ratio");
    return p;
}

Test(scoring, weight_schedule) {
    json_t *j = conformance_json("scoring.json");
    json_t *w = json_object_get(j, "weights");
    tp_weight_params p = weight_params_from(w);
    int64_t n = (int64_t)num(w, "n_uids");
    cr_assert(n > 0 && n <= 4096);
    double finals[4096], got[4096];
    for (int64_t u = 0; u < n; u++) finals[u] = NAN;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(w, "finals"), key, v) {
        long u = strtol(key, NULL, 10);
        cr_assert(u >= 0 && u < n);
        finals[u] = json_number_value(v);
    }
    tp_err err = {0};
    cr_assert_eq(tp_weight_schedule(&p, finals, n, got, &err), TP_OK, "%s", err.msg);
    json_t *want = json_object_get(w, "weights");
    cr_assert_eq((int64_t)json_array_size(want), n);
    double sum = 0;
    for (int64_t u = 0; u < n; u++) {
        double e = json_number_value(json_array_get(want, (size_t)u));
        cr_expect(fabs(got[u] - e) <= 1e-12, "uid %lld: %.17g want %.17g", (long long)u, got[u], e);
        sum += got[u];
    }
    cr_expect(fabs(sum - 1.0) < 1e-12, "weights sum to %.17g", sum);
    json_decref(j);
}

Test(scoring, weight_schedule_properties) {
    tp_weight_params p = tp_weight_defaults();
    p.burn_uid = 0;
    tp_err err = {0};
    enum { N = 50 };
    double finals[N], w[N];
    /* Ties broken by lower uid; unrated, zero and negative uids get nothing; burn uid's final
     * ignored. */
    for (int u = 0; u < N; u++) finals[u] = (u % 3 == 0) ? 5.0 : (u % 3 == 1 ? -1.0 : NAN);
    finals[0] = 100;
    finals[4] = 0.0;
    cr_assert_eq(tp_weight_schedule(&p, finals, N, w, &err), TP_OK, "%s", err.msg);
    double sum = 0;
    for (int u = 0; u < N; u++) {
        cr_expect_geq(w[u], 0.0);
        sum += w[u];
        if (u != 0 && !(finals[u] > 0)) cr_expect_eq(w[u], 0.0, "uid %d", u);
    }
    cr_expect_eq(w[0], p.burn_rate);
    cr_expect_leq(sum, 1.0 + 1e-12);
    /* Equal finals: strictly decreasing by uid along the ramp. */
    for (int u = 6; u < N; u += 3) cr_expect_lt(w[u], w[u - 3], "uid %d vs %d", u, u - 3);

    int64_t order[N], nr = 0;
    cr_assert_eq(tp_rank_finals(finals, N, 0, order, &nr, &err), TP_OK);
    cr_expect_eq(nr, 16); /* uids 3,6,...,48 */
    cr_expect_eq(order[0], 3);
    cr_expect_eq(order[15], 48);

    /* Fewer than the gather tier: a pure ramp over what is there, top = 2 x last, sum 1. */
    double f3[5] = {NAN, 3, 1, 2, NAN};
    double w3[5];
    cr_assert_eq(tp_weight_schedule(&p, f3, 5, w3, &err), TP_OK);
    cr_expect(fabs(w3[1] - 2 * w3[2]) < 1e-15);
    cr_expect(fabs(w3[1] + w3[2] + w3[3] - (1 - p.burn_rate)) < 1e-15);
    cr_expect(w3[1] > w3[3] && w3[3] > w3[2]);

    /* Nothing positive: only the burn. */
    double f0[3] = {NAN, -1, 0};
    double w0[3];
    cr_assert_eq(tp_weight_schedule(&p, f0, 3, w0, &err), TP_OK);
    cr_expect_eq(w0[0], p.burn_rate);
    cr_expect_eq(w0[1], 0.0);
    cr_expect_eq(w0[2], 0.0);

    /* Reserve cap binds: no reserve weight exceeds half the smallest gather weight. */
    double fb[N];
    for (int u = 0; u < N; u++) fb[u] = (double)(N - u);
    cr_assert_eq(tp_weight_schedule(&p, fb, N, w, &err), TP_OK);
    double min_gather = w[20]; /* uids 1..20 are the gather tier */
    for (int u = 21; u <= 30; u++) cr_expect_leq(w[u], 0.5 * min_gather * (1 + 1e-12));
    for (int u = 31; u < N; u++) cr_expect_eq(w[u], 0.0);

    /* Bad input. */
    p.burn_uid = N;
    cr_expect_eq(tp_weight_schedule(&p, fb, N, w, &err), TP_ERR_ARG);
    p = tp_weight_defaults();
    p.gather_share = 1.5;
    cr_expect_eq(tp_weight_schedule(&p, fb, N, w, &err), TP_ERR_CONFIG);
}
