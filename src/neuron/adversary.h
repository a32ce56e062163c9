/* Test adversaries: miners that cheat in one chosen way, for testing the validators. Each runs the
 * ordinary miner with one hook (miner_state.h) that replaces what it uploads; the honest miner's
 * code knows nothing of them. */
#ifndef TP_NEURON_ADVERSARY_H
#define TP_NEURON_ADVERSARY_H

#include <stddef.h>

#include "core/error.h"
#include "neuron/node_opts.h"

typedef enum {
    TP_ADV_NONE = 0,
    TP_ADV_NOISE,      /* a random update of the honest update's norm */
    TP_ADV_ZERO,       /* an all-zero update */
    TP_ADV_COPY,       /* re-signs another miner's update of the same window */
    TP_ADV_SCALE,      /* the honest update × 100 */
    TP_ADV_STALE,      /* last window's update, re-signed for this one */
    TP_ADV_LATE,       /* the honest update, uploaded after the put window */
    TP_ADV_GARBAGE,    /* random bytes */
    TP_ADV_NAN,        /* the honest update with NaN quantisation values */
    TP_ADV_FREE_RIDER, /* no training: re-uploads the previous aggregate */
    TP_ADV_WRONG_DATA, /* trains on samples not assigned to it */
    TP_ADV_NOISY_COPY, /* another miner's update with most of its positions moved: under the copy check */
    TP_ADV_PARTIAL,    /* trains 1 of the inner steps and scales its update up to look whole */
    TP_ADV_SYBIL,      /* one miner's work on two uids: trains once on both uids' samples, each uploads half */
    TP_ADV_LAZY_DATA,  /* trains on its assigned samples only every other window (else on others) */
    TP_ADV_SLOW,       /* not a cheater: an honest miner that manages only half the inner steps */
    TP_ADV_COUNT
} tp_adversary;

typedef struct {
    tp_adversary mode;
    int64_t partner; /* sybil: the uid it shares its work with; -1 otherwise */
} tp_adversary_spec;

const char *tp_adversary_name(tp_adversary a); /* "none", "noise", ..., "lazy-data", "slow" */
/* MODE, or sybil@UID (the partner's uid). 0 on success. */
int tp_adversary_parse(const char *s, tp_adversary_spec *out);
/* Every adversary mode (not "none"), space-separated, for messages. */
void tp_adversary_list(char *out, size_t cap);

/* Runs a miner that cheats as spec says (TP_ADV_NONE: an honest miner). */
tp_status tp_adversary_run(const tp_node_opts *o, const tp_adversary_spec *spec, tp_err *err);

#endif
