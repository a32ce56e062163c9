/* A validator's persistent state in SQLite (WAL): per-uid ratings, averages and counters, its sync
 * reference, and the last window it processed, written in one transaction per window so a crash
 * leaves either the old or the new state. */
#ifndef TP_NEURON_VALIDATOR_STATE_H
#define TP_NEURON_VALIDATOR_STATE_H

#include <stdint.h>

#include "core/error.h"
#include "neuron/openskill.h"

typedef struct {
    tp_rating rating;
    double binary_ma;
    double final;      /* last final score, penalties applied */
    double sync;       /* last sync score (1 until measured) */
    int64_t n_evals;   /* Gauntlet evaluations */
    int64_t n_pos;     /* of which the own-data advantage was positive */
    double evidence;   /* the paying gate's evidence against "no own-data advantage", in nats (gate.h) */
    double last_z;     /* the gate's scaled z of the last evaluation; NaN before the first */
    int64_t strikes;   /* evaluations whose update did not help (each restarts the evidence) */
    int64_t last_eval; /* window of the last evaluation, −1 never */
    int64_t inactive;  /* consecutive windows without a valid upload */
    int64_t quarantine_until; /* excluded from weights and peers before this window */
} tp_vminer;

void tp_vminer_reset(tp_vminer *m, const tp_openskill_params *p);

typedef struct tp_vstate tp_vstate;

tp_status tp_vstate_open(const char *path, tp_vstate **out, tp_err *err);
void tp_vstate_close(tp_vstate *s);
/* Loads everything; *last_window = −1 for a new validator. miners has max_uids entries (reset
 * first by the caller); sync arrays of nsamp floats. */
tp_status tp_vstate_load(tp_vstate *s, int64_t *last_window, tp_vminer *miners, int64_t max_uids, float *prev,
                         float *ema, int64_t nsamp, int *have_sync, tp_err *err);
tp_status tp_vstate_save(tp_vstate *s, int64_t last_window, const tp_vminer *miners, int64_t n_uids, const float *prev,
                         const float *ema, int64_t nsamp, int have_sync, tp_err *err);

#endif
