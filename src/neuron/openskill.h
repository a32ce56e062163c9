/* OpenSkill Plackett-Luce ratings (openskill.py's PlackettLuce model, one player per team), used by
 * the validator to turn one window's evaluation scores into persistent skill ratings (DESIGN §12.4). */
#ifndef TP_NEURON_OPENSKILL_H
#define TP_NEURON_OPENSKILL_H

#include <stdint.h>

#include "core/error.h"

typedef struct {
    double mu;
    double sigma;
} tp_rating;

typedef struct {
    double mu0;    /* prior mean of a new player */
    double sigma0; /* prior deviation of a new player */
    double beta;   /* performance noise */
    double tau;    /* added to sigma before every game so ratings keep moving */
    double kappa;  /* floor of the sigma shrink factor */
} tp_openskill_params;

/* μ0 25, σ0 25/3, β 7, τ 0.1, κ 1e-4. */
tp_openskill_params tp_openskill_defaults(void);

/* A new player's rating: (μ0, σ0). */
tp_rating tp_rating_new(const tp_openskill_params *p);

/* The conservative skill estimate μ − 3σ. */
double tp_rating_ordinal(tp_rating r);

/* One game of n players: ratings[i] is updated in place from scores[i] (higher is better; equal
 * scores share a rank). Fails on non-finite scores or ratings, or bad parameters; ratings are left
 * untouched on failure. n == 0 is a no-op. */
tp_status tp_openskill_rate(const tp_openskill_params *p, tp_rating *ratings, const double *scores,
                            int64_t n, tp_err *err);

#endif
