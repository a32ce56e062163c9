/* The Subtensor backend (private to src/net): Bittensor's chain over JSON-RPC, one subnet.
 *
 * URI: subtensor+http://HOST:PORT[/PATH]?netuid=N[&blocks_per_window=B][&block_time_ms=T][&clock=lockstep]
 * (or subtensor+https://). Every node of a network must use the same netuid and blocks_per_window
 * (default 10). On a development chain (chopsticks), tp_chain_advance builds blocks (dev_newBlock,
 * stamped with real time); clock=lockstep says nobody else builds them (a call waiting for its
 * block builds it, and waiting clients poll fast); block_time_ms gives the pace of a chain whose
 * blocks come faster than the runtime's slot (a development chain built on a timer).
 *
 * Hotkeys are the hex of the 32-byte account id (a templar wallet's public key). Amounts are TAO
 * (1e9 rao); incentive, dividends, rank, consensus are the chain's u16 shares over 65535; weights
 * are max-normalised to u16 when set and normalised to sum 1 when read. */
#ifndef TP_NET_CHAIN_SUBTENSOR_H
#define TP_NET_CHAIN_SUBTENSOR_H

#include <jansson.h>

#include "net/chain_backend.h"
#include "substrate/client.h"

/* What a subtensor+ URI says. */
typedef struct {
    char url[TP_CHAIN_URI_MAX]; /* the endpoint: http(s)://HOST:PORT[/PATH] */
    int netuid;                 /* -1 when the URI names none */
    int64_t blocks_per_window;  /* 10 unless given */
    int64_t block_time_ms;      /* 0: the runtime's (2 × Timestamp.MinimumPeriod) */
    tp_chain_clock clock;       /* wall unless clock=lockstep */
} tp_subtensor_uri;

/* Parses subtensor+http(s)://HOST:PORT[/PATH][?PARAMS] (the prefix may be left out); each bad or
 * unknown parameter is refused by name. */
tp_status tp_subtensor_parse_uri(const char *uri, tp_subtensor_uri *out, tp_err *err);

typedef struct {
    tp_sub *sub;
    uint16_t netuid;
    int64_t blocks_per_window;
    int64_t block_time_ms; /* 0: the runtime's (2 × Timestamp.MinimumPeriod) */
    tp_chain_clock clock;
    int read_only;
    int has_hotkey, has_coldkey;
    tp_keypair hotkey, coldkey;
    tp_chain_info cached; /* info at cached.block: a poll that finds no new block costs one request */
    int have_cached;
} tp_subtensor;

#define TP_RAO_PER_TAO 1e9 /* balances and stake are in rao */

/* The commitment's text on the chain: "URI" or "URI\nKEY_ID\nSECRET", in one Raw field of the
 * Commitments pallet (at most 128 bytes on the runtimes tested; the limit is read from the metadata). */
#define TP_COMMITMENT_SEP '\n'

/* Shared by the backend's files. */
json_t *tp_subtensor_account(const char *hotkey_hex); /* "0x" + hex, a new reference */
tp_status tp_subtensor_read(tp_subtensor *s, const char *pallet, const char *entry, json_t *keys, json_t **value,
                            tp_err *err); /* steals keys */
tp_status tp_subtensor_info(void *self, tp_chain_info *out, tp_err *err);
tp_status tp_subtensor_metagraph(void *self, tp_metagraph *out, tp_err *err);
tp_status tp_subtensor_uid(void *self, const char *hotkey, int64_t *uid, tp_err *err);
tp_status tp_subtensor_commit(void *self, const char *hotkey, const tp_commitment *cm, tp_err *err);
tp_status tp_subtensor_commitment(void *self, int64_t uid, tp_commitment *out, int *found, tp_err *err);
tp_status tp_subtensor_register(void *self, const char *hotkey, int64_t *uid, int *is_new, tp_err *err);
tp_status tp_subtensor_set_stake(void *self, const char *hotkey, double amount, tp_err *err);
tp_status tp_subtensor_set_weights(void *self, const char *hotkey, const int64_t *uids, const double *weights,
                                   int64_t n, tp_err *err);
/* For a call the hotkey signs: the chain is writable and signs with that hotkey. */
tp_status tp_subtensor_need_hotkey(tp_subtensor *s, const char *hotkey, const char *what, tp_err *err);
/* Decodes a CommitmentOf value (Registration {block, info {fields}}) into cm. */
tp_status tp_subtensor_parse_commitment(const json_t *reg, tp_commitment *cm, tp_err *err);

#endif
