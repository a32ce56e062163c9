/* Final scores and the weight schedule a validator sets on chain (DESIGN §12.4–§12.5). */
#ifndef TP_NEURON_WEIGHTS_H
#define TP_NEURON_WEIGHTS_H

#include <stdint.h>

#include "core/error.h"
#include "neuron/openskill.h"

typedef struct {
    int64_t burn_uid;           /* receives burn_rate outright */
    double burn_rate;           /* share of all weight that is burned */
    int64_t gather_peer_count;  /* size of the top tier */
    int64_t reserve_peer_count; /* size of the second tier */
    double gather_share;        /* top tier's share of the non-burn weight before the reserve cap */
    double gather_top_ratio;    /* top tier: first weight / last weight (linear ramp) */
    double reserve_decay_ratio; /* reserve tier: each weight / the one before */
    double reserve_cap_ratio;   /* no reserve weight above this × the smallest top-tier weight */
} tp_weight_params;

/* burn uid 0, burn 0.5, 20 gather at 75% with top 2× last, 10 reserve halving, cap ½. */
tp_weight_params tp_weight_defaults(void);

/* final = (μ − 3σ) × max(0, binary_ma) × sync_score. */
double tp_final_score(tp_rating r, double binary_ma, double sync_score);

/* The uids that earn weight, best first: finite finals > 0, the burn uid excluded, ties broken by
 * lower uid. order must hold n_uids entries; *n_ranked gets how many were written. */
tp_status tp_rank_finals(const double *finals, int64_t n_uids, int64_t burn_uid, int64_t *order,
                         int64_t *n_ranked, tp_err *err);

/* weights[uid] for every uid < n_uids from finals[uid] (NaN for unrated uids; non-positive finals get
 * 0). The burn uid gets burn_rate. The ranked uids fill the gather tier then the reserve tier: raw
 * gather weights on a linear ramp summing to gather_share, raw reserve weights decaying geometrically
 * summing to 1 − gather_share, the reserve tier then scaled down (if needed) so its first weight is at
 * most reserve_cap_ratio × the last gather weight; finally both tiers are scaled together to sum to
 * 1 − burn_rate, so the total is 1 (burn_rate alone when nothing is ranked). */
tp_status tp_weight_schedule(const tp_weight_params *p, const double *finals, int64_t n_uids,
                             double *weights, tp_err *err);

#endif
