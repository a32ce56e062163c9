/* Peer lists (DESIGN §12.5): which miners' updates every node applies in window W, published by the
 * leader validator as peers-W: {"window": W, "gather": [uids], "reserve": [uids]}. Gather peers are
 * applied when valid; reserve peers fill failures in order. */
#ifndef TP_NEURON_PEERS_H
#define TP_NEURON_PEERS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_PEERS_MAX 256
#define TP_PEERS_JSON_MAX 8192

typedef struct {
    int64_t window;
    int n_gather, n_reserve;
    int64_t gather[TP_PEERS_MAX];
    int64_t reserve[TP_PEERS_MAX];
} tp_peer_list;

/* Compact JSON; *out is malloc'ed. */
tp_status tp_peers_to_json(const tp_peer_list *p, char **out, tp_err *err);
/* Strict parser for untrusted bytes: exactly the three fields, uids in [0, max_uid), no uid twice
 * across both lists, at most TP_PEERS_MAX each. */
tp_status tp_peers_parse(const char *buf, size_t len, int64_t max_uid, tp_peer_list *out, tp_err *err);

/* Builds the list from per-uid standing: rank[i] (best first) are uids with positive weight;
 * fill[] are eligible unrated uids in the order they may fill empty slots. */
void tp_peers_build(int64_t window, const int64_t *ranked, int n_ranked, const int64_t *fill, int n_fill,
                    int gather_peers, int reserve_peers, tp_peer_list *out);

#endif
