/* The chain (DESIGN §6, §10): blocks and their timestamps, hotkey registration (hotkey → uid),
 * stake, commitments (a node's bucket and its read credentials), weights, and Yuma consensus every
 * `tempo` blocks, read back as a metagraph.
 *
 * A chain is named by a URI. `local:PATH` is the SQLite ledger (chain_local.c), shared by every
 * process of a machine; `subtensor+http://HOST:PORT?netuid=N` is Bittensor's chain over JSON-RPC
 * (chain_subtensor.h), one subnet of it. A handle is for one thread; open one per process or thread.
 *
 * The local ledger trusts whoever can write its file: it does not check signatures. Stake is set by
 * the operator of the local net. Weights are validated here, before any backend sees them. */
#ifndef TP_NET_CHAIN_H
#define TP_NET_CHAIN_H

#include <stdint.h>

#include "core/error.h"
#include "crypto/keypair.h"
#include "net/wallet.h"

#define TP_HOTKEY_MAX 128
#define TP_CHAIN_URI_MAX 1024
#define TP_CHAIN_MAX_UIDS 1024 /* bounds the Yuma matrices (validators × uids) */

typedef struct tp_chain tp_chain;

typedef enum { TP_CLOCK_WALL = 0, TP_CLOCK_LOCKSTEP = 1 } tp_chain_clock;

/* Fixed at creation. */
typedef struct {
    int64_t block_time_ms;     /* wall clock: block = floor((now − genesis) / block_time); 12000 */
    int64_t blocks_per_window; /* window = floor(block / blocks_per_window); 10 */
    int64_t tempo;             /* Yuma runs at every block that is a multiple of tempo; 100 */
    tp_chain_clock clock;      /* wall, or lockstep: a counter that tp_chain_advance moves */
    int64_t max_uids;          /* registrations beyond this are refused; 256 */
    double permit_stake;       /* validator permit: stake >= permit_stake (> 0); 1 */
    double kappa;              /* Yuma consensus quorum; 0.5 */
    double bond_alpha;         /* Yuma bond EMA rate; 0.1 */
    double emission_per_block; /* each epoch emits tempo × this, split 50/50 (yuma.h); 1 */
} tp_chain_config;

typedef struct {
    tp_chain_config cfg;
    double genesis;           /* wall-clock seconds at creation: the timestamp of block 0 */
    int64_t block;            /* current block */
    double block_ts;          /* its timestamp */
    int64_t window;           /* floor(block / blocks_per_window) */
    int64_t epochs;           /* epochs run so far */
    int64_t last_epoch_block; /* the last tempo boundary an epoch ran for (0: none yet) */
    int64_t n_uids;           /* registered */
    double poll_s;            /* how often a client waiting for a block should look again */
} tp_chain_info;

typedef struct {
    char uri[TP_CHAIN_URI_MAX]; /* the node's bucket: file://DIR, s3://B, s3+http(s)://HOST/B */
    char access_key_id[256];    /* read credentials for it; empty when the bucket needs none */
    char secret_access_key[256];
    int64_t block; /* when it was committed (0 in a commitment being made) */
    /* How the committing hotkey signs its updates: the chain knows an account only by its 32
     * bytes, so the key type travels here, written by the hotkey itself. */
    tp_key_type key_type;
} tp_commitment;

typedef struct {
    int64_t uid;
    char hotkey[TP_HOTKEY_MAX + 1];
    double stake;
    int validator_permit;
    double rank, consensus, incentive, dividends, emission; /* from the last epoch */
    int64_t registered_block;
    int64_t last_update;          /* block of the last set_weights (or of registration) */
    char store[TP_CHAIN_URI_MAX]; /* committed bucket URI, empty if none (credentials: tp_chain_commitment) */
} tp_neuron;

typedef struct {
    int64_t block;
    int64_t epochs;
    int64_t n;
    tp_neuron *neurons; /* index = uid */
} tp_metagraph;

typedef struct {
    int64_t uid;   /* the validator */
    int64_t block; /* when they were set; -1 if never */
    int64_t n;
    int64_t *uids;   /* ascending */
    double *weights; /* normalised: they sum to 1 */
} tp_weights;

void tp_chain_config_default(tp_chain_config *cfg);
/* Checks ranges; names the first bad field. */
tp_status tp_chain_config_check(const tp_chain_config *cfg, tp_err *err);

/* Creates a new chain; refuses an existing one. */
tp_status tp_chain_create(const char *uri, const tp_chain_config *cfg, tp_err *err);
/* Opens an existing chain; a missing, foreign or corrupted ledger is an error naming it. */
tp_status tp_chain_open(const char *uri, tp_chain **out, tp_err *err);
/* Opens a chain only to read it: nothing is written, not even the epochs that are due (reads see the
 * last epoch that ran). Writes fail. */
tp_status tp_chain_open_read_only(const char *uri, tp_chain **out, tp_err *err);
void tp_chain_close(tp_chain *c);
/* The keys this handle signs with: the hotkey signs commitments and weights, the coldkey
 * registrations and stake (Subtensor). Either may be NULL. The handle keeps a copy of the secrets
 * and wipes it on close. The local ledger signs nothing and ignores them. */
tp_status tp_chain_set_keys(tp_chain *c, const tp_wallet *hotkey, const tp_wallet *coldkey, tp_err *err);

static inline int64_t tp_window_of_block(int64_t block, int64_t blocks_per_window) {
    return blocks_per_window > 0 ? block / blocks_per_window : 0;
}
static inline int64_t tp_window_first_block(int64_t window, int64_t blocks_per_window) {
    return window * blocks_per_window;
}

/* How a handle waits for the chain to build the block after head, when a call must see its
 * transaction in a block (Subtensor): fn returns once that block may exist. Without one the
 * backend sleeps (a live chain) or builds the block itself (a lockstep development chain). */
typedef tp_status (*tp_chain_wait_fn)(void *ctx, int64_t head, tp_err *err);
void tp_chain_set_wait(tp_chain *c, tp_chain_wait_fn fn, void *ctx);

/* What a handle exchanged with a remote chain (all zero for the local ledger). */
typedef struct {
    int64_t calls;
    int64_t bytes_up, bytes_down;
    double seconds;
} tp_chain_io;
/* The traffic since the last take (or the open), then starts counting again. */
void tp_chain_io_take(tp_chain *c, tp_chain_io *out);

/* Configuration, current block, window, epoch count. Also runs any epoch that is due. */
tp_status tp_chain_info_get(tp_chain *c, tp_chain_info *out, tp_err *err);
/* Timestamp (wall seconds) of a block. Lockstep: when the counter reached it; a future block is an
 * error. Wall clock: genesis + block × block_time. */
tp_status tp_chain_block_timestamp(tp_chain *c, int64_t block, double *ts, tp_err *err);

/* Hotkeys are 1-128 letters and digits (a wallet's hex public key). */
tp_status tp_chain_check_hotkey(const char *hotkey, tp_err *err);
/* Registers hotkey under the next free uid; an already registered hotkey keeps its uid (*is_new = 0). */
tp_status tp_chain_register(tp_chain *c, const char *hotkey, int64_t *uid, int *is_new, tp_err *err);
/* The uid of a hotkey, or -1 when it is not registered. */
tp_status tp_chain_uid(tp_chain *c, const char *hotkey, int64_t *uid, tp_err *err);
/* Sets (not adds) the stake of a registered hotkey: finite and >= 0. */
tp_status tp_chain_set_stake(tp_chain *c, const char *hotkey, double amount, tp_err *err);

/* The environment variables holding the read credentials a node commits for its bucket (read-only
 * keys: everyone who reads the chain sees them). */
#define TP_ENV_STORE_READ_KEY_ID "TEMPLAR_STORE_READ_ACCESS_KEY_ID"
#define TP_ENV_STORE_READ_SECRET "TEMPLAR_STORE_READ_SECRET_ACCESS_KEY"
/* The commitment for bucket uri: the URI plus the read credentials from the environment (both or
 * neither), checked with tp_chain_check_commitment; key type ed25519 (set it to the hotkey's). */
tp_status tp_commitment_from_env(const char *uri, tp_commitment *cm, tp_err *err);

/* Checks a bucket URI's form (scheme and a non-empty rest, no spaces or control characters) and the
 * credentials (both or neither, printable). */
tp_status tp_chain_check_commitment(const tp_commitment *cm, tp_err *err);
tp_status tp_chain_commit(tp_chain *c, const char *hotkey, const tp_commitment *cm, tp_err *err);
/* *found = 0 when the uid has no commitment; a malformed one (the ledger is untrusted) is an error. */
tp_status tp_chain_commitment(tp_chain *c, int64_t uid, tp_commitment *out, int *found, tp_err *err);

/* Sets the weight row of a validator. Refused, each with its own message: lengths that differ, no
 * weights, a weight that is NaN/infinite or negative, a uid given twice, weights summing to zero, an
 * unknown uid, a hotkey without a validator permit, a second set in the same window. The chain
 * normalises the row to sum 1. */
tp_status tp_chain_set_weights(tp_chain *c, const char *hotkey, const int64_t *uids, int64_t n_uids,
                               const double *weights, int64_t n_weights, tp_err *err);
/* The weight row of validator uid (out->n = 0, block = -1 if it never set one). Free with tp_weights_free. */
tp_status tp_chain_weights(tp_chain *c, int64_t uid, tp_weights *out, tp_err *err);
void tp_weights_free(tp_weights *w);

/* Every neuron, after running any epoch that is due. Free with tp_metagraph_free. */
tp_status tp_chain_metagraph(tp_chain *c, tp_metagraph *out, tp_err *err);
void tp_metagraph_free(tp_metagraph *m);

/* Runs the epochs that are due, then one more Yuma epoch now (outside the tempo schedule). */
tp_status tp_chain_epoch(tp_chain *c, tp_err *err);
/* Lockstep clock only: moves the block counter forward by blocks (>= 1), running the epochs whose
 * boundaries it crosses; *block (may be NULL) receives the new block. */
tp_status tp_chain_advance(tp_chain *c, int64_t blocks, int64_t *block, tp_err *err);

#endif
