/* What the client's files share (private to src/substrate). */
#ifndef TP_SUBSTRATE_CLIENT_INTERNAL_H
#define TP_SUBSTRATE_CLIENT_INTERNAL_H

#include "substrate/client.h"

struct tp_sub {
    tp_rpc *rpc;
    tp_metadata *md;
    tp_sub_opts o;
    uint8_t genesis[32];
    uint32_t spec_version, tx_version;
    int64_t block_time_ms;
};

/* "0x…" → exactly 32 bytes. */
tp_status tp_sub_hash_from_json(const json_t *v, uint8_t out[32], const char *what, tp_err *err);
/* A block number as the RPC writes it: a "0x…" hex string or an integer. */
tp_status tp_sub_number_from_json(const json_t *v, int64_t *out, const char *what, tp_err *err);
/* Re-reads the runtime version, and the metadata when the spec version changed. */
tp_status tp_sub_refresh_runtime(tp_sub *c, tp_err *err);

#endif
