/* What miners and validators share (DESIGN §6, §9, §11): the node's identity on the chain, its
 * bucket, the model, the window clock, the peers' buckets, the gather of a window's updates with
 * validation, the outer step, the `debug-W` fingerprint, local state that survives a restart, and
 * catch-up through the leader's checkpoints and `aggregator-W` objects. */
#ifndef TP_NEURON_NODE_H
#define TP_NEURON_NODE_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "codec/validate.h"
#include "codec/workspace.h"
#include "data/shards.h"
#include "model/adamw.h"
#include "model/llama.h"
#include "net/chain.h"
#include "net/store.h"
#include "net/wallet.h"
#include "neuron/fingerprint.h"
#include "neuron/peers.h"
#include "neuron/run_config.h"

typedef struct {
    const char *wallet;   /* wallet name under TEMPLAR_HOME */
    const char *chain;    /* chain URI */
    const char *store;    /* this node's bucket URI */
    const char *config;   /* run config name or file */
    const char *state;    /* local state directory; NULL: $TEMPLAR_HOME/state/<wallet> */
    int with_grads;       /* miners train */
    int batch;            /* activation capacity (rows) */
    const volatile sig_atomic_t *stop; /* set by a signal handler: return TP_ERR_STOPPED soon */
    FILE *log;            /* one line per event */
} tp_node_opts;

/* A peer's bucket, opened on first use from its chain commitment. */
typedef struct {
    char uri[TP_CHAIN_URI_MAX];
    tp_store *store;
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
    size_t max_payload;
    int64_t start_window; /* -1 until known */
    tp_metagraph mg;      /* refreshed by tp_node_refresh */
    int64_t leader;       /* uid of the leader validator, -1 if none */
    tp_peer_store peer_stores[TP_CHAIN_MAX_UIDS];
    tp_peer_list peers;   /* the list adopted for the current window */
    int have_peers;
} tp_node;

/* Opens the node for the run config rc (loaded from o->config by the caller, which needs it first
 * to size o->batch). */
tp_status tp_node_open(tp_node *n, const tp_node_opts *o, const tp_run_config *rc, tp_err *err);
void tp_node_close(tp_node *n);

/* Re-reads the metagraph and the leader. */
tp_status tp_node_refresh(tp_node *n, tp_err *err);

/* Announces that the node needs block b and waits for it (lockstep: the localnet driver advances
 * the clock once every node waits). TP_ERR_STOPPED when the stop flag is raised. */
tp_status tp_node_await_block(tp_node *n, int64_t block, tp_err *err);
int64_t tp_node_first_block(const tp_node *n, int64_t window);
/* The put window of window W's uploads: [ts(first block of W+1), ts(that + put_window_blocks)].
 * Only once the closing block was reached. */
tp_status tp_node_put_window(tp_node *n, int64_t window, double *not_before, double *not_after, tp_err *err);
int64_t tp_node_put_close_block(const tp_node *n, int64_t window);

/* A peer's bucket (*out = NULL when it committed none); this node's own for its own uid. */
tp_status tp_node_peer_store(tp_node *n, int64_t uid, tp_store **out, tp_err *err);

/* Formats one of the run's keys. */
void tp_node_key(const tp_node *n, tp_key_kind kind, int64_t window, int64_t uid, const char *file, char *out,
                 size_t cap);

/* Puts JSON text (compact) under key in the node's own bucket. */
tp_status tp_node_put_text(tp_node *n, const char *key, const char *text, tp_err *err);
/* Reads a small object from uid's bucket; *found = 0 when it is not there (any other failure is an
 * error). *mtime receives LastModified. */
tp_status tp_node_get_small(tp_node *n, int64_t uid, const char *key, size_t max, char **out, size_t *len,
                            double *mtime, int *found, tp_err *err);

/* Waits for the leader's start window (polling its bucket). */
tp_status tp_node_start_window(tp_node *n, tp_err *err);

/* The peer list before the leader has rated anyone: every registered miner (buckets may come later). */
void tp_node_default_peers(const tp_node *n, int64_t window, tp_peer_list *pl);

/* Adopts the peer list of window W: the leader's peers-W if it was stored before W began, else the
 * list adopted before, else every miner with a bucket. */
tp_status tp_node_adopt_peers(tp_node *n, int64_t window, tp_err *err);

/* A window's gather: payloads fetched and validated. */
typedef struct {
    int n;
    int64_t uid[TP_CHAIN_MAX_UIDS];
    tp_fetch fetch[TP_CHAIN_MAX_UIDS];
    tp_reject reject[TP_CHAIN_MAX_UIDS];
    double mtime[TP_CHAIN_MAX_UIDS];
    tp_payload *payload; /* n, valid ones have .valid */
    uint8_t **bytes;     /* raw bytes of each fetched object (NULL if none) */
    size_t *len;
    uint64_t bytes_down;
} tp_window_gather;

/* Fetches gradient-W of every uid in uids (distinct) with the put-window check, and validates them.
 * Waits for the put window to close first. */
tp_status tp_node_gather(tp_node *n, int64_t window, const int64_t *uids, int count, tp_window_gather *g,
                         tp_err *err);
/* tp_node_gather of the adopted peer list: its gather peers, then its reserve peers. */
tp_status tp_node_gather_peers(tp_node *n, int64_t window, tp_window_gather *g, tp_err *err);
void tp_window_gather_free(tp_window_gather *g);
/* Index of uid in g, or -1. */
int tp_gather_find(const tp_window_gather *g, int64_t uid);
/* Orders idx[] (indices into g) by ascending uid: the order every node processes updates in. */
void tp_gather_sort_by_uid(const tp_window_gather *g, int *idx, int count);

/* The set applied in the outer step (DESIGN §11.4): valid updates of the gather peers, the reserve
 * peers filling failures in order, at most gather_peers; ascending uid. Returns the count; idx[] are
 * indices into g. */
int tp_node_select_applied(const tp_node *n, const tp_peer_list *pl, const tp_window_gather *g, int *idx);

/* θ ← θ − outer_lr · aggregate of the selected updates. */
tp_status tp_node_outer_step(tp_node *n, const tp_window_gather *g, const int *idx, int count, tp_err *err);

/* Computes the fingerprint of θ and publishes debug-W. */
tp_status tp_node_publish_debug(tp_node *n, int64_t window, int gathered, int gather_of, tp_fingerprint *fp,
                                tp_err *err);

/* Deletes the node's own objects of windows older than W − retention. Failures are only logged. */
void tp_node_retention(tp_node *n, int64_t window);

/* Local state: θ (and the optimizer and error feedback when given) after window W, atomically. */
tp_status tp_node_save_state(tp_node *n, int64_t window, const tp_adamw *opt, const float *ef, tp_err *err);
/* Loads the state of window *window (−1: the latest saved); *window = −1 when there is none. The
 * latest two are kept. */
tp_status tp_node_load_state(tp_node *n, int64_t *window, tp_adamw *opt, float *ef, tp_err *err);

/* Brings θ from the state after window *next − 1 to the state after window `to` − 1, replaying each
 * window from the leader's aggregator-W, or a live gather when there is none. A node without local
 * state first loads the leader's latest checkpoint. Never skips a window: a window it cannot
 * replay is an error. *next is advanced as windows are replayed. */
tp_status tp_node_catch_up(tp_node *n, int64_t *next, int64_t to, tp_err *err);

/* Appends one JSON object (consumed) as a line to STATE/metrics.jsonl. */
tp_status tp_node_metrics(tp_node *n, json_t *record, tp_err *err);

/* Logs a line prefixed by the node's name and uid. */
void tp_node_log(tp_node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Loss of θ on the given training samples (rows of seq tokens). */
tp_status tp_node_loss(tp_node *n, tp_split split, const uint64_t *samples, int count, double *loss, tp_err *err);

#endif
