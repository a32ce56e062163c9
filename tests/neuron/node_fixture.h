/* A validator's node made by hand, without a chain or buckets: the tiny run config, data in a
 * temporary directory, a model, a metagraph (uid 0 the burn uid, uid 1 this validator, miners from
 * uid 2) and miners' keys; and window gathers made from the miners' signed updates, as if fetched.
 * For testing the neuron layer's window processing without a network. */
#ifndef TP_TESTS_NODE_FIXTURE_H
#define TP_TESTS_NODE_FIXTURE_H

#include "neuron/validator_phases.h"

#define FX_MAX_MINERS 8
#define FX_FIRST_MINER 2

typedef struct {
    char dir[256];
    tp_node *n;
    tp_validator v;
    int miners;
    tp_keypair keys[FX_MAX_MINERS]; /* the miners' sr25519 hotkeys */
} node_fixture;

/* data_ok 0: every training token is out of the vocabulary, so reading any sample fails (a corrupt
 * local file: the validator's own trouble). */
void fx_open(node_fixture *f, int miners, int data_ok);
void fx_close(node_fixture *f);

/* How an entry of a hand-made gather arrives. */
typedef enum {
    FX_VALID,    /* the miner's own signed update of the window */
    FX_MISSING,  /* nothing uploaded (NOT_FOUND) */
    FX_GARBAGE,  /* bytes that are no payload */
    FX_COPY_OF_FIRST, /* the first entry's update, re-signed by this miner */
} fx_kind;

/* Window W's gather of every miner (uid order), entry i arriving as kinds[i], with upload times
 * ascending in uid order; validated as tp_node_gather would. Free with tp_window_gather_free. */
void fx_gather(node_fixture *f, int64_t window, const fx_kind *kinds, tp_window_gather *g);

/* A peer list of window W with every miner a gather peer. */
void fx_peers_all(node_fixture *f, int64_t window, tp_peer_list *pl);

#endif
