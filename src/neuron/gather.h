/* A window's gather (DESIGN §11.4, §12.1): every named uid's gradient-W fetched inside the put
 * window and validated, the set every honest node applies, and the outer step. */
#ifndef TP_NEURON_GATHER_H
#define TP_NEURON_GATHER_H

#include "codec/validate.h"
#include "neuron/fingerprint.h"
#include "neuron/node.h"

typedef struct {
    int n;
    int64_t uid[TP_CHAIN_MAX_UIDS];
    tp_fetch fetch[TP_CHAIN_MAX_UIDS];
    tp_reject reject[TP_CHAIN_MAX_UIDS];
    double mtime[TP_CHAIN_MAX_UIDS];
    double not_before, not_after; /* the put window (epoch seconds, from block timestamps) */
    tp_payload *payload; /* n; valid ones have .valid */
    uint8_t **bytes;     /* raw bytes of each fetched object (NULL if none) */
    size_t *len;
    uint64_t bytes_down;
} tp_window_gather;

/* Makes room for count entries (n = 0). Whatever the result, free g with tp_window_gather_free. */
tp_status tp_window_gather_init(tp_window_gather *g, int count, tp_err *err);
/* Frees what g holds and leaves it empty (safe on an empty or zeroed g, and twice). */
void tp_window_gather_free(tp_window_gather *g);

/* Fetches gradient-W of every uid in uids (distinct) with the put-window check, and validates them;
 * waits for the put window to close first. Only the node's own trouble fails the gather (memory, a
 * local error); a peer's missing or bad upload is a per-entry outcome (fetch, reject). Whatever the
 * result, free g with tp_window_gather_free. */
tp_status tp_node_gather(tp_node *n, int64_t window, const int64_t *uids, int count, tp_window_gather *g,
                         tp_err *err);
/* tp_node_gather of the adopted peer list: its gather peers, then its reserve peers. Same contract. */
tp_status tp_node_gather_peers(tp_node *n, int64_t window, tp_window_gather *g, tp_err *err);
/* Validates g's fetched entries (bytes) as window W's updates from their uids' registered hotkeys.
 * Fails only on the node's own trouble (out of memory): then no entry has a verdict. */
tp_status tp_node_validate_gather(tp_node *n, int64_t window, tp_window_gather *g, tp_err *err);

/* Index of uid in g, or -1. */
int tp_gather_find(const tp_window_gather *g, int64_t uid);
/* Orders idx[] (indices into g) by ascending uid: the order every node processes updates in. */
void tp_gather_sort_by_uid(const tp_window_gather *g, int *idx, int count);
/* Whether an entry's failure is the uploader's doing (missing, late, early, too big, invalid), as
 * opposed to nothing fetched at all or the reader's own trouble. */
int tp_gather_failed_by_uploader(const tp_window_gather *g, int i);

/* The set applied in the outer step (DESIGN §11.4): valid updates of the gather peers, the reserve
 * peers filling failures in order, at most gather_peers; ascending uid. Returns the count; idx[] are
 * indices into g. */
int tp_node_select_applied(const tp_node *n, const tp_peer_list *pl, const tp_window_gather *g, int *idx);
/* The number of updates the peer list asks to apply: min(gather peers listed, gather_peers). */
int tp_node_gather_of(const tp_node *n, const tp_peer_list *pl);

/* θ ← θ − outer_lr · aggregate of the selected updates, or with protocol.outer_momentum through
 * the node's outer momentum (n->outer_m). */
tp_status tp_node_outer_step(tp_node *n, const tp_window_gather *g, const int *idx, int count, tp_err *err);

/* Computes the fingerprint of θ after window W into *fp (free it with tp_fingerprint_free, whatever
 * the result) and publishes it as debug-W. Only computing it can fail; a publication that fails is
 * logged, since the next window's fingerprint replaces it. */
tp_status tp_node_publish_debug(tp_node *n, int64_t window, int gathered, int gather_of, tp_fingerprint *fp,
                                tp_err *err);

#endif
