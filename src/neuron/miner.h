/* The miner (DESIGN §11): per window, inner AdamW steps on its assigned samples, the pseudo-gradient
 * through error feedback and compression, a signed upload inside the put window, the gather of its
 * peers' updates, the outer step and the debug-W fingerprint. Local state after every window, so a
 * restart loses nothing, and catch-up so it never skips a window.
 *
 * Adversaries are built in for testing the validators (off by default): each replaces the honest
 * upload with a way of cheating (see tp_adversary). */
#ifndef TP_NEURON_MINER_H
#define TP_NEURON_MINER_H

#include "neuron/node.h"

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
    TP_ADV_COUNT
} tp_adversary;

const char *tp_adversary_name(tp_adversary a); /* "none", "noise", ..., "free-rider", "wrong-data" */
int tp_adversary_parse(const char *s, tp_adversary *out); /* 0 on success */
/* Every adversary mode (not "none"), space-separated, for messages. */
void tp_adversary_list(char *out, size_t cap);

tp_status tp_miner_run(const tp_node_opts *o, tp_adversary adv, tp_err *err);

#endif
