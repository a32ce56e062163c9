/* The Subtensor backend: connection, URI, clock and reads (chain_subtensor.h). Writes are in
 * chain_subtensor_tx.c. */
#include "net/chain_subtensor.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "net/subtensor_clock.h"

json_t *tp_subtensor_account(const char *hotkey_hex) {
    char buf[2 + TP_HOTKEY_MAX + 1];
    snprintf(buf, sizeof buf, "0x%s", hotkey_hex);
    return json_string(buf);
}

tp_status tp_subtensor_read(tp_subtensor *s, const char *pallet, const char *entry, json_t *keys, json_t **value,
                            tp_err *err) {
    tp_status st = tp_sub_storage(s->sub, pallet, entry, keys, NULL, value, err);
    json_decref(keys);
    return st;
}

static tp_status read_int(tp_subtensor *s, const char *entry, int64_t *out, tp_err *err) {
    json_t *v = NULL;
    tp_status st = tp_subtensor_read(s, "SubtensorModule", entry, json_pack("[i]", s->netuid), &v, err);
    if (!st && !json_is_integer(v)) st = tp_fail(err, TP_ERR_FORMAT, "SubtensorModule.%s is not an integer", entry);
    if (!st) *out = json_integer_value(v);
    json_decref(v);
    return st;
}

/* "netuid=3&blocks_per_window=10&clock=lockstep" */
static tp_status parse_query(const char *q, tp_subtensor_uri *u, tp_err *err) {
    char buf[TP_CHAIN_URI_MAX];
    snprintf(buf, sizeof buf, "%s", q);
    for (char *save = NULL, *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '='), *end = NULL;
        if (!eq) return tp_fail(err, TP_ERR_ARG, "chain URI: '%s' is not KEY=VALUE", kv);
        *eq = 0;
        const char *v = eq + 1;
        long long n = strtoll(v, &end, 10);
        int numeric = *v && !*end;
        if (!strcmp(kv, "netuid") && numeric && n >= 0 && n <= 65535) {
            u->netuid = (int)n;
        } else if (!strcmp(kv, "blocks_per_window") && numeric && n >= 1 && n <= 1000000) {
            u->blocks_per_window = n;
        } else if (!strcmp(kv, "block_time_ms") && numeric && n >= 1 && n <= 86400000) {
            u->block_time_ms = n;
        } else if (!strcmp(kv, "clock") && (!strcmp(v, "lockstep") || !strcmp(v, "wall"))) {
            u->clock = !strcmp(v, "lockstep") ? TP_CLOCK_LOCKSTEP : TP_CLOCK_WALL;
        } else {
            return tp_fail(err, TP_ERR_ARG,
                           "chain URI: bad parameter %s=%s (netuid=0-65535, blocks_per_window=1-1000000, "
                           "block_time_ms=1-86400000, clock=wall|lockstep)",
                           kv, v);
        }
    }
    return TP_OK;
}

tp_status tp_subtensor_parse_uri(const char *uri, tp_subtensor_uri *u, tp_err *err) {
    const char *rest = !strncmp(uri, "subtensor+", 10) ? uri + 10 : uri;
    if (strncmp(rest, "http://", 7) && strncmp(rest, "https://", 8))
        return tp_fail(err, TP_ERR_ARG, "chain URI '%s': expected subtensor+http://HOST:PORT?netuid=N", uri);
    const char *q = strchr(rest, '?');
    size_t len = q ? (size_t)(q - rest) : strlen(rest);
    if (len >= sizeof u->url) return tp_fail(err, TP_ERR_ARG, "chain URI '%s' is too long", uri);
    memcpy(u->url, rest, len);
    u->url[len] = 0;
    u->netuid = -1;
    u->blocks_per_window = 10;
    u->block_time_ms = 0;
    u->clock = TP_CLOCK_WALL;
    return q ? parse_query(q + 1, u, err) : TP_OK;
}

static void sub_close(void *self) {
    tp_subtensor *s = self;
    if (!s) return;
    tp_sub_close(s->sub);
    tp_keypair_clear(&s->hotkey);
    tp_keypair_clear(&s->coldkey);
    free(s);
}

static tp_status sub_set_keys(void *self, const tp_wallet *hotkey, const tp_wallet *coldkey, tp_err *err) {
    tp_subtensor *s = self;
    (void)err;
    s->has_hotkey = hotkey != NULL;
    s->has_coldkey = coldkey != NULL;
    if (hotkey) s->hotkey = hotkey->key;
    if (coldkey) s->coldkey = coldkey->key;
    return TP_OK;
}

/* A block's time: from its body (tp_sub_block_time), the state only for genesis, which has no body. */
static tp_status timestamp_at(tp_subtensor *s, int64_t number, const uint8_t hash[32], double *ts, tp_err *err) {
    if (number > 0) return tp_sub_block_time(s->sub, hash, ts, err);
    json_t *v = NULL;
    tp_status st = tp_sub_storage(s->sub, "Timestamp", "Now", NULL, hash, &v, err);
    if (!st && !json_is_integer(v)) st = tp_fail(err, TP_ERR_FORMAT, "Timestamp.Now is not an integer");
    if (!st) *ts = (double)json_integer_value(v) / 1000.0;
    json_decref(v);
    return st;
}

static tp_status sub_block_timestamp(void *self, int64_t block, double *ts, tp_err *err) {
    tp_subtensor *s = self;
    uint8_t hash[32];
    tp_status st = tp_sub_block_hash(s->sub, block, hash, err);
    return st ? st : timestamp_at(s, block, hash, ts, err);
}

static tp_status read_info(tp_subtensor *s, tp_chain_info *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    tp_chain_config_default(&out->cfg);
    out->cfg.block_time_ms = s->block_time_ms ? s->block_time_ms : tp_sub_block_time_ms(s->sub);
    out->cfg.blocks_per_window = s->blocks_per_window;
    out->cfg.clock = s->clock;
    out->cfg.emission_per_block = 0;
    uint8_t hash[32];
    int64_t kappa = 0, last = 0;
    tp_status st = tp_sub_head(s->sub, &out->block, hash, err);
    if (!st) st = timestamp_at(s, out->block, hash, &out->block_ts, err);
    if (!st) st = read_int(s, "Tempo", &out->cfg.tempo, err);
    if (!st) st = read_int(s, "MaxAllowedUids", &out->cfg.max_uids, err);
    if (!st) st = read_int(s, "Kappa", &kappa, err);
    if (!st) st = read_int(s, "SubnetworkN", &out->n_uids, err);
    if (!st) st = read_int(s, "LastMechansimStepBlock", &last, err);
    if (st) return tp_wrap(err, "reading subnet %u", s->netuid);
    out->cfg.kappa = kappa > 0 ? (double)kappa / 65535.0 : 0.5;
    out->genesis = out->block_ts - (double)out->block * (double)out->cfg.block_time_ms / 1000.0;
    out->window = tp_window_of_block(out->block, s->blocks_per_window);
    /* Subtensor runs subnet n's epoch at the start of block b (before its extrinsics) when
     * blocks_until_next_epoch is 0: (b + n + 1) % (tempo + 1) == tempo. */
    out->epochs = (out->block + s->netuid + 2) / (out->cfg.tempo + 1);
    out->last_epoch_block = last;
    /* Lockstep blocks come as fast as the driver builds them; a live chain's every block time. */
    out->poll_s = s->clock == TP_CLOCK_LOCKSTEP ? 0.02 : (double)out->cfg.block_time_ms / 4000.0;
    return TP_OK;
}

tp_status tp_subtensor_info(void *self, tp_chain_info *out, tp_err *err) {
    tp_subtensor *s = self;
    int64_t head;
    tp_status st = tp_sub_head_number(s->sub, &head, err);
    if (st) return st;
    if (!s->have_cached || s->cached.block != head) {
        s->have_cached = 0;
        if ((st = read_info(s, &s->cached, err))) return st;
        s->have_cached = 1;
    }
    *out = s->cached;
    return TP_OK;
}

tp_status tp_subtensor_uid(void *self, const char *hotkey, int64_t *uid, tp_err *err) {
    tp_subtensor *s = self;
    json_t *v = NULL;
    tp_status st = tp_subtensor_read(s, "SubtensorModule", "Uids",
                                     json_pack("[i, o]", s->netuid, tp_subtensor_account(hotkey)), &v, err);
    if (!st) *uid = json_is_integer(v) ? json_integer_value(v) : -1;
    json_decref(v);
    return st;
}

static tp_status sub_weights(void *self, int64_t uid, tp_weights *out, tp_err *err) {
    tp_subtensor *s = self;
    memset(out, 0, sizeof *out);
    out->uid = uid;
    out->block = -1;
    json_t *row = NULL, *last = NULL;
    tp_status st = tp_subtensor_read(s, "SubtensorModule", "Weights", json_pack("[i, I]", s->netuid, (json_int_t)uid),
                                     &row, err);
    if (!st) st = tp_subtensor_read(s, "SubtensorModule", "LastUpdate", json_pack("[i]", s->netuid), &last, err);
    size_t n = json_array_size(row), i;
    double sum = 0;
    if (!st && n && (!(out->uids = tp_calloc(n, sizeof *out->uids, err)) ||
                     !(out->weights = tp_calloc(n, sizeof *out->weights, err))))
        st = err->code;
    for (i = 0; !st && i < n; i++) {
        json_t *pair = json_array_get(row, i);
        out->uids[i] = json_integer_value(json_array_get(pair, 0));
        out->weights[i] = (double)json_integer_value(json_array_get(pair, 1));
        sum += out->weights[i];
    }
    for (i = 0; !st && i < n; i++) out->weights[i] = sum > 0 ? out->weights[i] / sum : 0;
    if (!st) out->n = (int64_t)n;
    if (!st && n && json_is_integer(json_array_get(last, (size_t)uid)))
        out->block = json_integer_value(json_array_get(last, (size_t)uid));
    json_decref(row);
    json_decref(last);
    if (st) tp_weights_free(out);
    return st;
}

static void sub_set_wait(void *self, tp_chain_wait_fn fn, void *ctx) {
    tp_subtensor *s = self;
    if (fn) tp_sub_set_wait(s->sub, fn, ctx);
    else tp_sub_set_wait(s->sub, s->clock == TP_CLOCK_LOCKSTEP ? tp_subtensor_wait_by_building : NULL, s->sub);
}

static void sub_io_take(void *self, tp_chain_io *out) {
    tp_subtensor *s = self;
    tp_rpc_stats st;
    tp_rpc_stats_get(tp_sub_rpc(s->sub), &st);
    tp_rpc_stats_reset(tp_sub_rpc(s->sub));
    *out = (tp_chain_io){st.calls, st.bytes_sent, st.bytes_received, st.seconds};
}

static tp_status sub_epoch(void *self, tp_err *err) {
    (void)self;
    return tp_fail(err, TP_ERR_ARG, "Subtensor runs epochs itself every tempo blocks; advance the chain instead");
}

static tp_status sub_advance(void *self, int64_t blocks, int64_t *block, tp_err *err) {
    tp_subtensor *s = self;
    uint8_t hash[32];
    tp_status st = TP_OK;
    for (int64_t i = 0; !st && i < blocks; i++) st = tp_subtensor_build_block(s->sub, err);
    return st ? st : tp_sub_head(s->sub, block, hash, err);
}

static const tp_chain_ops subtensor_ops = {
    .name = "subtensor",
    .close = sub_close,
    .set_keys = sub_set_keys,
    .set_wait = sub_set_wait,
    .io_take = sub_io_take,
    .info = tp_subtensor_info,
    .block_timestamp = sub_block_timestamp,
    .register_hotkey = tp_subtensor_register,
    .uid = tp_subtensor_uid,
    .set_stake = tp_subtensor_set_stake,
    .commit = tp_subtensor_commit,
    .commitment = tp_subtensor_commitment,
    .set_weights = tp_subtensor_set_weights,
    .weights = sub_weights,
    .metagraph = tp_subtensor_metagraph,
    .epoch = sub_epoch,
    .advance = sub_advance,
};

tp_status tp_chain_subtensor_open(const char *uri, int read_only, void **self, const tp_chain_ops **ops, tp_err *err) {
    tp_subtensor *s = tp_calloc(1, sizeof *s, err);
    if (!s) return err->code;
    tp_subtensor_uri u;
    s->read_only = read_only;
    tp_status st = tp_subtensor_parse_uri(uri, &u, err);
    if (!st && u.netuid < 0) st = tp_fail(err, TP_ERR_ARG, "chain URI '%s' names no subnet: add ?netuid=N", uri);
    if (!st) {
        s->netuid = (uint16_t)u.netuid;
        s->blocks_per_window = u.blocks_per_window;
        s->block_time_ms = u.block_time_ms;
        s->clock = u.clock;
        st = tp_sub_open(u.url, NULL, &s->sub, err);
    }
    if (!st) sub_set_wait(s, NULL, NULL);
    json_t *added = NULL;
    if (!st) st = tp_subtensor_read(s, "SubtensorModule", "NetworksAdded", json_pack("[i]", s->netuid), &added, err);
    if (!st && !json_is_true(added)) st = tp_fail(err, TP_ERR_ARG, "%s has no subnet %u", u.url, s->netuid);
    json_decref(added);
    if (st) {
        sub_close(s);
        return st;
    }
    *self = s;
    *ops = &subtensor_ops;
    return TP_OK;
}
