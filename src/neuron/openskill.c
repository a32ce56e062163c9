/* Plackett-Luce update, following openskill.py (PlackettLuce._compute with default gamma
 * sqrt(σ²)/c, no weights, no sigma limit) so ratings match the reference to rounding. The one
 * departure from the textbook loop is in ties, chosen to reproduce scoring.json (see omega). */
#include "neuron/openskill.h"

#include "core/alloc.h"
#include <math.h>
#include <stdlib.h>

tp_openskill_params tp_openskill_defaults(void) {
    return (tp_openskill_params){
        .mu0 = 25.0, .sigma0 = 25.0 / 3.0, .beta = 7.0, .tau = 0.1, .kappa = 0.0001};
}

tp_rating tp_rating_new(const tp_openskill_params *p) {
    return (tp_rating){.mu = p->mu0, .sigma = p->sigma0};
}

double tp_rating_ordinal(tp_rating r) { return r.mu - 3.0 * r.sigma; }

tp_status tp_openskill_rate(const tp_openskill_params *p, tp_rating *ratings, const double *scores,
                            int64_t n, tp_err *err) {
    if (!p || n < 0 || (n > 0 && (!ratings || !scores)))
        return tp_fail(err, TP_ERR_ARG, "openskill: bad arguments");
    if (!(p->beta > 0) || !(p->tau >= 0) || !(p->kappa > 0) || !isfinite(p->beta) ||
        !isfinite(p->tau) || !isfinite(p->kappa))
        return tp_fail(err, TP_ERR_CONFIG, "openskill: beta, tau, kappa must be finite, beta > 0");
    if (n == 0) return TP_OK;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(scores[i]))
            return tp_fail(err, TP_ERR_NUMERIC, "openskill: score %lld is not finite", (long long)i);
        if (!isfinite(ratings[i].mu) || !isfinite(ratings[i].sigma) || !(ratings[i].sigma > 0))
            return tp_fail(err, TP_ERR_NUMERIC, "openskill: rating %lld is invalid", (long long)i);
    }

    /* Scratch: widened σ², rank, e = exp(μ/c), sum_q, a (rank counts). */
    double *buf = tp_malloc((size_t)n * 4 * sizeof *buf, err);
    int64_t *rank = buf ? tp_malloc((size_t)n * sizeof *rank, err) : NULL;
    if (!rank) {
        free(buf);
        return err->code;
    }
    double *s2 = buf, *e = buf + n, *sum_q = buf + 2 * n, *a = buf + 3 * n;

    double c2 = 0, mu_max = ratings[0].mu;
    for (int64_t i = 0; i < n; i++) {
        s2[i] = ratings[i].sigma * ratings[i].sigma + p->tau * p->tau;
        c2 += s2[i] + p->beta * p->beta;
        if (ratings[i].mu > mu_max) mu_max = ratings[i].mu;
        /* Rank = number of strictly better players: ties share a rank, 0 is best. */
        rank[i] = 0;
        for (int64_t j = 0; j < n; j++) rank[i] += scores[j] > scores[i];
    }
    double c = sqrt(c2);
    /* exp(μ/c) only ever appears in ratios, so shifting by the largest μ avoids overflow. */
    for (int64_t i = 0; i < n; i++) e[i] = exp((ratings[i].mu - mu_max) / c);
    for (int64_t q = 0; q < n; q++) {
        sum_q[q] = 0;
        a[q] = 0;
        for (int64_t i = 0; i < n; i++) {
            if (rank[i] >= rank[q]) sum_q[q] += e[i];
            if (rank[i] == rank[q]) a[q] += 1;
        }
    }

    for (int64_t i = 0; i < n; i++) {
        double omega = 0, delta = 0;
        for (int64_t q = 0; q < n; q++) {
            if (rank[q] > rank[i]) continue; /* only players ranked at or above i */
            double r = e[i] / sum_q[q];
            delta += r * (1 - r) / a[q];
            /* A tied player counts as i itself here (rank, not index, decides): that is what
             * makes tied players share the rating of an outright winner, as the vectors do. */
            omega += (rank[q] == rank[i] ? 1 - r : -r) / a[q];
        }
        omega *= s2[i] / c;
        delta *= s2[i] / c2;
        delta *= sqrt(s2[i]) / c; /* gamma */
        /* One player per team, so the player's share of the team variance is 1. */
        ratings[i].mu += omega;
        ratings[i].sigma = sqrt(s2[i]) * sqrt(fmax(1 - delta, p->kappa));
    }
    free(buf);
    free(rank);
    return TP_OK;
}
