/* How far behind the shared model a miner is, from its published fingerprint samples, and the
 * resulting sync score (DESIGN §12.2). Pure functions over arrays. */
#ifndef TP_NEURON_SYNC_SCORE_H
#define TP_NEURON_SYNC_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"

/* Beyond this many steps behind the sync score is 0. */
#define TP_SYNC_MAX_STEPS 5.0
/* EMA factor of the per-step movement of each sampled value. */
#define TP_SYNC_EMA_ALPHA 0.2

/* (1 − min(x, 5)/5)^2.5; x < 0 counts as 0, NaN as hopelessly behind (0). */
double tp_sync_score(double steps_behind);

/* Folds one outer step's movement into the per-sample step-size EMA:
 * ema[i] ← (1 − α)·ema[i] + α·|cur[i] − prev[i]|, or ema[i] = |cur[i] − prev[i]| when first. */
tp_status tp_sync_ema_update(float *ema, const float *prev, const float *cur, int64_t n, bool first,
                             tp_err *err);

/* steps_behind = lower median over samples of |theirs[i] − mine[i]| / step_ema[i]; 0 when
 * hashes_match. A sample whose step size is 0 counts 0 if equal and infinitely behind otherwise; a
 * non-finite value from the miner (theirs) counts as infinitely behind. The validator's own values
 * (mine, step_ema) must be finite and non-negative steps, else TP_ERR_NUMERIC; n must be > 0 unless
 * the hashes match. *out may be +inf, which tp_sync_score maps to 0. */
tp_status tp_steps_behind(const float *mine, const float *theirs, const float *step_ema, int64_t n,
                          bool hashes_match, double *out, tp_err *err);

#endif
