/* Copy detection by index overlap (DESIGN §12.2): two miners that upload the same in-block
 * positions almost surely share one update, since honest top-k choices from different data diverge.
 * The later uploader of the window is the one flagged. */
#ifndef TP_NEURON_OVERLAP_H
#define TP_NEURON_OVERLAP_H

#include "codec/sparse.h"
#include "core/error.h"

#define TP_OVERLAP_FLAG 0.4          /* below: no penalty */
#define TP_OVERLAP_RESET 0.5         /* from here: rating reset */
#define TP_OVERLAP_EXCLUDE 0.6       /* from here: reset and quarantine */
#define TP_OVERLAP_EXCLUDE_WINDOWS 200

/* Size-weighted share of common in-block positions: Σ_tensors |idx_a ∩ idx_b| / Σ_tensors k·nblocks,
 * in [0, 1]. Both messages must be validated (positions ascending and unique per block) and have the
 * same tensors, block geometry and k, else TP_ERR_ARG. An empty message has overlap 0. */
tp_status tp_index_overlap(const tp_update *a, const tp_update *b, double *out, tp_err *err);

typedef enum {
    TP_COPY_NONE = 0, /* overlap < 0.4 */
    TP_COPY_HALVE,    /* 0.4 ≤ overlap < 0.5: final score ×0.5 */
    TP_COPY_RESET,    /* 0.5 ≤ overlap < 0.6: rating reset */
    TP_COPY_EXCLUDE,  /* overlap ≥ 0.6: reset and excluded for 200 windows */
} tp_copy_penalty;

typedef struct {
    tp_copy_penalty kind;
    double multiplier;   /* on the final score this window: 1, 0.5, or 0 for a reset */
    int exclude_windows; /* 200 for TP_COPY_EXCLUDE, else 0 */
} tp_copy_verdict;

/* The penalty for the later uploader of a pair with this overlap. NaN gives no penalty: only a
 * measured overlap may punish. */
tp_copy_verdict tp_copy_penalty_for(double overlap);

#endif
