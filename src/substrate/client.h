/* A Substrate client over JSON-RPC (rpc.h): the runtime's metadata and version, blocks, storage
 * reads decoded by the metadata, signed calls submitted and followed into a block, where their
 * events say whether they dispatched; a failure is named from the metadata
 * ("SubtensorModule.NotEnoughBalanceToStake"). A handle is for one thread.
 *
 * It follows runtime upgrades: before signing it compares the runtime's spec version with the
 * metadata it holds and reloads the metadata when they differ. */
#ifndef TP_SUBSTRATE_CLIENT_H
#define TP_SUBSTRATE_CLIENT_H

#include <jansson.h>
#include <stdint.h>

#include "substrate/extrinsic.h"
#include "substrate/metadata.h"
#include "substrate/rpc.h"

typedef struct tp_sub tp_sub;

/* Called while a call waits for the chain to build the block after `head`; returns once a new block
 * may exist, or an error to give up (e.g. the caller is stopping). */
typedef tp_status (*tp_sub_wait_fn)(void *ctx, int64_t head, tp_err *err);

typedef struct {
    tp_rpc_opts rpc;
    uint64_t era_period;      /* blocks a signed call stays valid; 64 */
    int64_t inclusion_blocks; /* new blocks to search for a submitted call before giving up; 32 */
    tp_sub_wait_fn wait;      /* NULL: sleep a quarter of the block time, for a chain that builds blocks itself */
    void *wait_ctx;
} tp_sub_opts;

void tp_sub_opts_default(tp_sub_opts *o);
/* Connects, reads the genesis hash, the runtime version and its metadata (v15 where the runtime
 * offers it, else v14). opts may be NULL. *out is owned by the caller: tp_sub_close. */
tp_status tp_sub_open(const char *url, const tp_sub_opts *opts, tp_sub **out, tp_err *err);
void tp_sub_close(tp_sub *c);
/* Replaces the waiting hook (see tp_sub_opts.wait). */
void tp_sub_set_wait(tp_sub *c, tp_sub_wait_fn wait, void *ctx);

const tp_metadata *tp_sub_metadata(const tp_sub *c);
uint32_t tp_sub_spec_version(const tp_sub *c);
/* Block time from the runtime (2 × Timestamp.MinimumPeriod), in milliseconds. */
int64_t tp_sub_block_time_ms(const tp_sub *c);
tp_rpc *tp_sub_rpc(tp_sub *c);

/* The best block: its number and hash. */
tp_status tp_sub_head(tp_sub *c, int64_t *number, uint8_t hash[32], tp_err *err);
/* The best block's number alone (one request: what a poll for a new block needs). */
tp_status tp_sub_head_number(tp_sub *c, int64_t *number, tp_err *err);
/* The hash of block number on the best chain; an error when there is no such block yet. */
tp_status tp_sub_block_hash(tp_sub *c, int64_t number, uint8_t hash[32], tp_err *err);
/* When block `hash` was built, from the Timestamp.set inherent in its body (client_time.c says why
 * not from its state); an error for a block without one (genesis). */
tp_status tp_sub_block_time(tp_sub *c, const uint8_t hash[32], double *unix_seconds, tp_err *err);
/* One extrinsic's SCALE bytes (length-prefixed, as a block body holds them): *is = 1 and *ms its
 * argument when it is the unsigned call pallet.call (Timestamp.set's indices) with one compact
 * argument and nothing after; *is = 0 for any other extrinsic. A malformed one is TP_ERR_FORMAT. */
tp_status tp_sub_timestamp_set(const uint8_t *b, size_t n, uint8_t pallet, uint8_t call, int *is, uint64_t *ms,
                               tp_err *err);

/* Reads pallet.entry for keys (a JSON array, one value per map key; NULL for a plain value) at block
 * `at` (NULL: the best block). *value is a new reference to the decoded value: the entry's default
 * when absent, or JSON null when absent from an Option entry. */
tp_status tp_sub_storage(tp_sub *c, const char *pallet, const char *entry, const json_t *keys, const uint8_t *at,
                         json_t **value, tp_err *err);
/* Many keys of one entry in one request: key_list is an array of key arrays; *values an array in
 * the same order. */
tp_status tp_sub_storage_many(tp_sub *c, const char *pallet, const char *entry, const json_t *key_list,
                              const uint8_t *at, json_t **values, tp_err *err);
/* The raw bytes at a storage key (*found 0 and *out NULL when absent). *out: free(). */
tp_status tp_sub_storage_raw(tp_sub *c, const uint8_t *key, size_t key_len, const uint8_t *at, uint8_t **out,
                             size_t *n, int *found, tp_err *err);
/* A pallet constant, decoded. */
tp_status tp_sub_constant(const tp_sub *c, const char *pallet, const char *name, json_t **value, tp_err *err);

/* Where a call landed and what it did. */
typedef struct {
    int64_t block;
    uint8_t block_hash[32];
    uint32_t index; /* position in the block */
    json_t *events; /* its events ([{"Pallet": {"Event": fields}}, …]); owned: tp_sub_receipt_free */
} tp_sub_receipt;

void tp_sub_receipt_free(tp_sub_receipt *r);
/* The fields of the first event pallet.name in r (borrowed), or NULL. */
const json_t *tp_sub_receipt_event(const tp_sub_receipt *r, const char *pallet, const char *name);

/* Signs pallet.call(args) (value.h's call shape) with s, submits it, and follows it into a block
 * (calling the wait hook while the chain has not built one). Fails with the dispatch error's name
 * when the call, or a call it wraps (Sudo, Utility batches), failed; an RPC refusal (bad nonce,
 * cannot pay fees) names the node's reason. receipt may be NULL. */
tp_status tp_sub_call(tp_sub *c, const tp_keypair *s, const char *pallet, const char *call, const json_t *args,
                      tp_sub_receipt *receipt, tp_err *err);

/* The name of a dispatch error (the JSON of a DispatchError value) from the metadata, into out. */
void tp_sub_dispatch_error_name(const tp_metadata *md, const json_t *dispatch_error, char *out, size_t n);

/* Chopsticks' development RPCs (a dev chain only). */
tp_status tp_sub_dev_new_blocks(tp_sub *c, int64_t count, tp_err *err);
/* Writes pallet.entry[keys] = value (JSON, encoded by the metadata) directly into state. */
tp_status tp_sub_dev_set_storage(tp_sub *c, const char *pallet, const char *entry, const json_t *keys,
                                 const json_t *value, tp_err *err);
/* Sets the chain's clock (its latest timestamp and slot) to unix_seconds; the next block is stamped
 * one slot later. */
tp_status tp_sub_dev_time_travel(tp_sub *c, double unix_seconds, tp_err *err);

#endif
