/* What miners and validators share (DESIGN §6, §9, §11): the node's identity on the chain, its
 * bucket, the model, the window clock, the peers' buckets, the start window and peer lists, local
 * state that survives a restart, catch-up, and the one retry-from-saved-state loop.
 *
 * Internal to the neuron layer: other layers start a neuron through miner.h or validator.h. */
#ifndef TP_NEURON_NODE_H
#define TP_NEURON_NODE_H

#include <jansson.h>
#include <stdint.h>

#include "codec/workspace.h"
#include "data/shards.h"
#include "model/adamw.h"
#include "model/llama.h"
#include "net/chain.h"
#include "net/store.h"
#include "net/wallet.h"
#include "neuron/node_opts.h"
#include "neuron/peers.h"
#include "neuron/run_config.h"

/* Largest JSON control object (start window, peer list, checkpoint index) read from a bucket. */
#define TP_NODE_SMALL_JSON_MAX 4096

/* A peer's bucket, opened on first use from its chain commitment. */
typedef struct {
    char *uri; /* malloc'ed; NULL until opened */
    tp_store *store;
    tp_key_type key_type; /* how the uid's hotkey signs, from the same commitment */
    int key_type_known;   /* key_type was read from the chain */
} tp_peer_store;

typedef struct {
    tp_node_opts o;
    char state_dir[1024];
    tp_run_config rc;
    tp_wallet wallet;
    tp_chain *chain;
    tp_chain_config ccfg;
    tp_store *store;
    int64_t uid;
    tp_shards *shards;
    int eot;
    tp_llama *model;
    tp_codec_ws *ws;
    /* protocol.outer_momentum > 0: the outer momentum, which every node holds alike (saved with its
     * state and in the leader's checkpoints), then scratch for one aggregate; one allocation of
     * 2 x layout.total floats. NULL otherwise. */
    float *outer_m;
    size_t max_payload;
    int64_t start_window;       /* -1 until known */
    tp_metagraph mg;            /* refreshed by tp_node_refresh */
    int64_t leader;             /* uid of the leader validator, -1 if none */
    tp_peer_store *peer_stores; /* TP_CHAIN_MAX_UIDS, index = uid */
    tp_peer_list peers;         /* the list adopted for the current window */
    int have_peers;
} tp_node;

/* Opens the node for the run config rc (loaded from o->config by the caller, which needs it first to
 * size the model): with_grads for a miner (training), batch rows of activations. *out is owned by
 * the caller: close it with tp_node_close (also NULL). */
tp_status tp_node_open(const tp_node_opts *o, const tp_run_config *rc, int with_grads, int batch, tp_node **out,
                       tp_err *err);
void tp_node_close(tp_node *n);

/* Re-reads the metagraph and the leader. */
tp_status tp_node_refresh(tp_node *n, tp_err *err);
/* True once the stop flag was raised; tp_node_stopped_err fills err for it. */
int tp_node_stopped(const tp_node *n);
tp_status tp_node_stopped_err(tp_err *err);

/* ---- time */
int64_t tp_node_first_block(const tp_node *n, int64_t window);
/* The block at which window W's put window closes (DESIGN §6). */
int64_t tp_node_put_close_block(const tp_node *n, int64_t window);
/* When block b is expected on the wall clock (tp_wall_now's seconds); INFINITY under a lockstep
 * clock, whose blocks come only when every node waits for them. */
tp_status tp_node_block_due(tp_node *n, int64_t block, double *due, tp_err *err);
/* Waits for block b, telling the wait hook first. TP_ERR_STOPPED when the stop flag is raised. */
tp_status tp_node_await_block(tp_node *n, int64_t block, tp_err *err);
/* Lets time pass before trying something again: waits for the next block. */
tp_status tp_node_pause(tp_node *n, tp_err *err);
/* The put window of window W's uploads: [ts(first block of W+1), ts(that + put_window_blocks)], on the
 * wall clock at least put_window_blocks block times long. Only once the closing block was reached. */
tp_status tp_node_put_window(tp_node *n, int64_t window, double *not_before, double *not_after, tp_err *err);

/* ---- buckets and keys */
/* A peer's bucket (*out = NULL when it committed none); this node's own for its own uid. The store
 * stays owned by the node. */
tp_status tp_node_peer_store(tp_node *n, int64_t uid, tp_store **out, tp_err *err);
/* How uid's hotkey signs (its commitment's key type; this node's own wallet's for its own uid); a uid
 * without a commitment signs ed25519 (what templar's nodes before key types committed). */
tp_status tp_node_peer_key_type(tp_node *n, int64_t uid, tp_key_type *out, tp_err *err);
/* Formats one of the run's keys (TP_KEY_MAX bytes is always enough). */
void tp_node_key(const tp_node *n, tp_key_kind kind, int64_t window, int64_t uid, const char *file, char *out,
                 size_t cap);
/* Puts text under key in the node's own bucket. */
tp_status tp_node_put_text(tp_node *n, const char *key, const char *text, tp_err *err);
/* Reads an object of at most max bytes from uid's bucket into *out (malloc'ed, NUL-terminated: free
 * it); *found = 0 (and *out NULL) when it is not there, any other failure is an error. *mtime (may
 * be NULL) receives LastModified. */
tp_status tp_node_get_small(tp_node *n, int64_t uid, const char *key, size_t max, char **out, size_t *len,
                            double *mtime, int *found, tp_err *err);
/* Reads the integer `field` (>= 0) of a small JSON object in uid's bucket: {"window": N} indexes,
 * {"start_window": S}. *value = -1 when the object is not there; a malformed one is an error. */
tp_status tp_node_get_index(tp_node *n, int64_t uid, const char *key, const char *field, int64_t *value,
                            tp_err *err);

/* ---- start window and peers */
/* Waits for the leader's start window (checking once a block). */
tp_status tp_node_start_window(tp_node *n, tp_err *err);
/* The peer list before the leader has rated anyone: every registered miner (buckets may come later). */
void tp_node_default_peers(const tp_node *n, int64_t window, tp_peer_list *pl);
/* Adopts the peer list of window W: the leader's peers-W if it was stored before W began, else the
 * list adopted before, else every miner with a bucket. */
tp_status tp_node_adopt_peers(tp_node *n, int64_t window, tp_err *err);

/* ---- local state (state.c) */
/* θ (and the optimizer and error feedback when given) after window W, atomically. */
tp_status tp_node_save_state(tp_node *n, int64_t window, const tp_adamw *opt, const float *ef, tp_err *err);
/* Loads the state of window *window (−1: the latest saved); *window = −1 when there is none. The
 * latest two are kept. */
tp_status tp_node_load_state(tp_node *n, int64_t *window, tp_adamw *opt, float *ef, tp_err *err);

/* With protocol.outer_momentum: the node's outer momentum as DIR/TP_OUTER_MOMENTUM_FILE (written
 * atomically), or read from it (a missing file is an error: the run config says there is one). No-ops
 * without. */
#define TP_OUTER_MOMENTUM_FILE "outer_momentum.safetensors"
tp_status tp_node_save_outer_momentum(const tp_node *n, const char *dir, tp_err *err);
tp_status tp_node_load_outer_momentum(tp_node *n, const char *dir, tp_err *err);
/* Deletes the node's own objects of windows older than W − retention. Failures are only logged (and
 * end the pass: the next window's pass covers what this one left). */
void tp_node_retention(tp_node *n, int64_t window);
/* Appends one JSON object (consumed, also on failure) as a line to STATE/metrics.jsonl. */
tp_status tp_node_metrics(tp_node *n, json_t *record, tp_err *err);

/* ---- catch-up (catchup.c) */
/* Brings θ from the state after window *next − 1 to the state after window `to` − 1, replaying each
 * window from the leader's aggregator-W, or a live gather when there is none. A node without local
 * state first loads the leader's latest checkpoint. Never skips a window: a window it cannot replay
 * is an error. *next is advanced as windows are replayed. */
tp_status tp_node_catch_up(tp_node *n, int64_t *next, int64_t to, tp_err *err);

/* ---- the window loop (run_loop.c) */
typedef struct {
    /* Processes window W completely (state saved at its end). */
    tp_status (*window)(void *ctx, int64_t window, tp_err *err);
    /* After a failure: reloads the last saved state and sets *next to the window to process next. */
    tp_status (*recover)(void *ctx, int64_t *next, tp_err *err);
    void *ctx;
} tp_window_runner;
/* Runs windows from *next until an error that retrying cannot help (returned; TP_ERR_STOPPED after a
 * signal). A transient failure (err->retryable: storage or chain unreachable, a busy ledger) is
 * logged, and after a pause of one block the runner recovers from the saved state and goes on. */
tp_status tp_node_run_windows(tp_node *n, const tp_window_runner *r, int64_t next, tp_err *err);

/* ---- logs and evaluation */
/* Logs a line prefixed by the node's name and uid. */
void tp_node_log(tp_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Loss of θ on the given samples (rows of seq tokens) of a split. */
tp_status tp_node_loss(tp_node *n, tp_split split, const uint64_t *samples, int count, double *loss, tp_err *err);
/* Per sample: the summed loss of θ over its counted targets (sum[i]; the count is the same for every
 * θ, so sums compare directly). */
tp_status tp_node_sample_losses(tp_node *n, tp_split split, const uint64_t *samples, int count, double *sum,
                                tp_err *err);

#endif
