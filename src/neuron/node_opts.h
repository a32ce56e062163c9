/* How a miner or validator is started: its wallet, chain, bucket, run config, local state, and what
 * it tells the program that runs it. The public face of the neuron layer (with miner.h and
 * validator.h); everything else in src/neuron is the layer's own. */
#ifndef TP_NEURON_NODE_OPTS_H
#define TP_NEURON_NODE_OPTS_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

/* Told each time the node has nothing to do before chain block `block` (it then polls the chain
 * until the block is there). A program that drives the chain's clock (a lockstep localnet) uses it
 * to know when every node waits; fn NULL: nobody listens. Called on the node's thread. */
typedef struct {
    void (*fn)(void *ctx, int64_t block);
    void *ctx;
} tp_wait_hook;

typedef struct {
    const char *wallet;      /* wallet name (net/wallet.h) */
    const char *hotkey;      /* its hotkey; NULL: "default" (or an older templar wallet) */
    const char *wallet_path; /* the wallets directory; NULL: tp_wallet_path's default */
    const char *chain;  /* chain URI */
    const char *store;  /* this node's bucket URI */
    const char *config; /* run config name or file */
    const char *state;  /* local state directory; NULL: $TEMPLAR_HOME/state/<wallet> */
    const volatile sig_atomic_t *stop; /* set by a signal handler: return TP_ERR_STOPPED soon */
    FILE *log;          /* one line per event; NULL: silent */
    tp_wait_hook on_wait;
} tp_node_opts;

#endif
