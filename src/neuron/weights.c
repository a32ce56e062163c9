/* Weight schedule. The normalisation (cap the reserve tier against the raw gather tier, then rescale
 * both) is the one that reproduces shared/conformance/scoring.json exactly. */
#include "neuron/weights.h"

#include "core/alloc.h"
#include <math.h>
#include <stdlib.h>

tp_weight_params tp_weight_defaults(void) {
    return (tp_weight_params){.burn_uid = 0,
                              .burn_rate = 0.5,
                              .gather_peer_count = 20,
                              .reserve_peer_count = 10,
                              .gather_share = 0.75,
                              .gather_top_ratio = 2.0,
                              .reserve_decay_ratio = 0.5,
                              .reserve_cap_ratio = 0.5};
}

double tp_final_score(tp_rating r, double binary_ma, double sync_score) {
    return tp_rating_ordinal(r) * fmax(0.0, binary_ma) * sync_score;
}

typedef struct {
    double final;
    int64_t uid;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->final != y->final) return x->final > y->final ? -1 : 1;
    return (x->uid > y->uid) - (x->uid < y->uid);
}

tp_status tp_rank_finals(const double *finals, int64_t n_uids, int64_t burn_uid, int64_t *order,
                         int64_t *n_ranked, tp_err *err) {
    if (n_uids < 0 || !n_ranked || (n_uids > 0 && (!finals || !order)))
        return tp_fail(err, TP_ERR_ARG, "rank finals: bad arguments");
    ranked *r = tp_malloc((size_t)(n_uids > 0 ? n_uids : 1) * sizeof *r, err);
    if (!r) return err->code;
    int64_t k = 0;
    for (int64_t u = 0; u < n_uids; u++)
        if (u != burn_uid && isfinite(finals[u]) && finals[u] > 0)
            r[k++] = (ranked){.final = finals[u], .uid = u};
    qsort(r, (size_t)k, sizeof *r, cmp_ranked);
    for (int64_t i = 0; i < k; i++) order[i] = r[i].uid;
    *n_ranked = k;
    free(r);
    return TP_OK;
}

static tp_status check_params(const tp_weight_params *p, tp_err *err) {
    if (!(p->burn_rate >= 0 && p->burn_rate <= 1) || !(p->gather_share > 0 && p->gather_share <= 1) ||
        !(p->gather_top_ratio >= 1) || !isfinite(p->gather_top_ratio) ||
        !(p->reserve_decay_ratio > 0 && p->reserve_decay_ratio <= 1) ||
        !(p->reserve_cap_ratio >= 0) || !isfinite(p->reserve_cap_ratio) ||
        p->gather_peer_count < 1 || p->reserve_peer_count < 0)
        return tp_fail(err, TP_ERR_CONFIG, "weight schedule: impossible parameters");
    return TP_OK;
}

tp_status tp_weight_schedule(const tp_weight_params *p, const double *finals, int64_t n_uids,
                             double *weights, tp_err *err) {
    if (!p || n_uids < 0 || (n_uids > 0 && (!finals || !weights)))
        return tp_fail(err, TP_ERR_ARG, "weight schedule: bad arguments");
    tp_status st = check_params(p, err);
    if (st != TP_OK) return st;
    if (p->burn_uid < 0 || p->burn_uid >= n_uids)
        return tp_fail(err, TP_ERR_ARG, "weight schedule: burn uid %lld outside %lld uids",
                       (long long)p->burn_uid, (long long)n_uids);

    int64_t *order = tp_malloc((size_t)n_uids * sizeof *order, err);
    if (!order) return err->code;
    int64_t n_ranked = 0;
    st = tp_rank_finals(finals, n_uids, p->burn_uid, order, &n_ranked, err);
    if (st != TP_OK) {
        free(order);
        return st;
    }

    for (int64_t u = 0; u < n_uids; u++) weights[u] = 0.0;
    weights[p->burn_uid] = p->burn_rate;
    int64_t ng = n_ranked < p->gather_peer_count ? n_ranked : p->gather_peer_count;
    int64_t nr = n_ranked - ng < p->reserve_peer_count ? n_ranked - ng : p->reserve_peer_count;
    if (ng == 0) {
        free(order);
        return TP_OK;
    }

    /* Gather tier: w_i ∝ top_ratio − (top_ratio − 1)·i/(ng − 1), so the last is 1 unit. */
    double ramp_sum = 0;
    for (int64_t i = 0; i < ng; i++) {
        double frac = ng == 1 ? 0.0 : (double)i / (double)(ng - 1);
        double w = ng == 1 ? 1.0 : p->gather_top_ratio - (p->gather_top_ratio - 1) * frac;
        weights[order[i]] = w;
        ramp_sum += w;
    }
    for (int64_t i = 0; i < ng; i++) weights[order[i]] *= p->gather_share / ramp_sum;
    double total = p->gather_share;

    if (nr > 0) {
        double geo_sum = 0, w = 1.0;
        for (int64_t i = 0; i < nr; i++, w *= p->reserve_decay_ratio) geo_sum += w;
        double first = (1.0 - p->gather_share) / geo_sum;
        double cap = p->reserve_cap_ratio * weights[order[ng - 1]];
        if (first > cap) first = cap;
        w = first;
        for (int64_t i = 0; i < nr; i++, w *= p->reserve_decay_ratio) {
            weights[order[ng + i]] = w;
            total += w;
        }
    }

    /* Both tiers together take exactly the non-burn share. */
    double scale = (1.0 - p->burn_rate) / total;
    for (int64_t i = 0; i < ng + nr; i++) weights[order[i]] *= scale;
    free(order);
    return TP_OK;
}
