/* What a chain backend implements (private to src/net). chain.c parses the URI, validates the
 * arguments every backend would have to check (hotkey syntax, weight rows, commitments) and calls
 * through this table; the backend owns storage, the clock, the per-chain rules (max uids, permits,
 * rate limits) and when Yuma runs. */
#ifndef TP_NET_CHAIN_BACKEND_H
#define TP_NET_CHAIN_BACKEND_H

#include "net/chain.h"
#include "net/wallet.h"

typedef struct {
    const char *name;
    void (*close)(void *self);
    /* NULL for a backend that signs nothing (the local ledger trusts its file's writers). */
    tp_status (*set_keys)(void *self, const tp_wallet *hotkey, const tp_wallet *coldkey, tp_err *err);
    void (*set_wait)(void *self, tp_chain_wait_fn fn, void *ctx); /* NULL: the backend never waits */
    void (*io_take)(void *self, tp_chain_io *out); /* NULL: no remote traffic */
    tp_status (*info)(void *self, tp_chain_info *out, tp_err *err);
    tp_status (*block_timestamp)(void *self, int64_t block, double *ts, tp_err *err);
    tp_status (*register_hotkey)(void *self, const char *hotkey, int64_t *uid, int *is_new, tp_err *err);
    tp_status (*uid)(void *self, const char *hotkey, int64_t *uid, tp_err *err);
    tp_status (*set_stake)(void *self, const char *hotkey, double amount, tp_err *err);
    tp_status (*commit)(void *self, const char *hotkey, const tp_commitment *cm, tp_err *err);
    tp_status (*commitment)(void *self, int64_t uid, tp_commitment *out, int *found, tp_err *err);
    /* uids distinct and ascending, weights finite, positive and summing to 1. */
    tp_status (*set_weights)(void *self, const char *hotkey, const int64_t *uids, const double *weights, int64_t n,
                             tp_err *err);
    tp_status (*weights)(void *self, int64_t uid, tp_weights *out, tp_err *err);
    tp_status (*metagraph)(void *self, tp_metagraph *out, tp_err *err);
    tp_status (*epoch)(void *self, tp_err *err);
    tp_status (*advance)(void *self, int64_t blocks, int64_t *block, tp_err *err);
} tp_chain_ops;

struct tp_chain {
    const tp_chain_ops *ops;
    void *self;
};

/* The SQLite ledger (chain_local.c). cfg has been checked. */
tp_status tp_chain_local_create(const char *path, const tp_chain_config *cfg, tp_err *err);
tp_status tp_chain_local_open(const char *path, int read_only, void **self, const tp_chain_ops **ops, tp_err *err);

/* Subtensor over JSON-RPC (chain_subtensor.c). */
tp_status tp_chain_subtensor_open(const char *uri, int read_only, void **self, const tp_chain_ops **ops, tp_err *err);

#endif
