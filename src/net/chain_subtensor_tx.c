/* The Subtensor backend's writes: registration and stake (signed by the coldkey), commitments and
 * weights (signed by the hotkey), and reading commitments back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "net/chain_subtensor.h"

static tp_status writable(tp_subtensor *s, const char *what, tp_err *err) {
    return s->read_only ? tp_fail(err, TP_ERR_ARG, "%s: the chain was opened read-only", what) : TP_OK;
}

static tp_status need_coldkey(tp_subtensor *s, const char *what, tp_err *err) {
    tp_status st = writable(s, what, err);
    if (!st && !s->has_coldkey)
        st = tp_fail(err, TP_ERR_ARG, "%s on Subtensor is signed by a coldkey: give one (--coldkey WALLET)", what);
    return st;
}

tp_status tp_subtensor_need_hotkey(tp_subtensor *s, const char *hotkey, const char *what, tp_err *err) {
    tp_status st = writable(s, what, err);
    char hex[65];
    if (!st && !s->has_hotkey) return tp_fail(err, TP_ERR_ARG, "%s on Subtensor is signed by the hotkey: none given", what);
    if (!st) tp_hex(s->hotkey.pub, 32, hex);
    if (!st && strcmp(hex, hotkey))
        st = tp_fail(err, TP_ERR_ARG, "%s for hotkey %.16s…, but the chain signs with hotkey %.16s…", what, hotkey, hex);
    return st;
}

tp_status tp_subtensor_register(void *self, const char *hotkey, int64_t *uid, int *is_new, tp_err *err) {
    tp_subtensor *s = self;
    *is_new = 0;
    tp_status st = tp_subtensor_uid(self, hotkey, uid, err);
    if (st || *uid >= 0) return st;
    if ((st = need_coldkey(s, "registering", err))) return st;
    json_t *args = json_pack("{s:i, s:o}", "netuid", s->netuid, "hotkey", tp_subtensor_account(hotkey));
    st = args ? tp_sub_call(s->sub, &s->coldkey, "SubtensorModule", "burned_register", args, NULL, err)
              : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    json_decref(args);
    if (!st) st = tp_subtensor_uid(self, hotkey, uid, err);
    if (!st && *uid < 0) st = tp_fail(err, TP_ERR_INTERNAL, "burned_register succeeded but the hotkey has no uid");
    if (!st) *is_new = 1;
    return st;
}

/* The hotkey's stake in rao on this subnet. */
static tp_status stake_rao(tp_subtensor *s, const char *hotkey, int dtao, double *rao, tp_err *err) {
    json_t *v = NULL;
    json_t *keys = dtao ? json_pack("[o, i]", tp_subtensor_account(hotkey), s->netuid)
                        : json_pack("[o]", tp_subtensor_account(hotkey));
    tp_status st = tp_subtensor_read(s, "SubtensorModule", dtao ? "TotalHotkeyAlpha" : "TotalHotkeyStake", keys, &v,
                                     err);
    if (!st) *rao = json_is_integer(v) ? (double)json_integer_value(v) : strtod(json_string_value(v) ?: "0", NULL);
    json_decref(v);
    return st;
}

/* add_stake / remove_stake: (hotkey, amount) before dTAO, (hotkey, netuid, amount) after; the
 * argument list comes from the metadata. */
static json_t *stake_args(tp_subtensor *s, const char *call, const char *hotkey, uint64_t rao) {
    const tp_metadata *md = tp_sub_metadata(s->sub);
    const tp_md_variant *v = tp_md_find_call(md, tp_md_find_pallet(md, "SubtensorModule"), call);
    json_t *args = json_object();
    for (uint32_t i = 0; v && args && i < v->n_fields; i++) {
        const char *name = v->fields[i].name ? v->fields[i].name : "";
        json_t *val = !strcmp(name, "hotkey")   ? tp_subtensor_account(hotkey)
                      : !strcmp(name, "netuid") ? json_integer(s->netuid)
                                                : json_integer((json_int_t)rao); /* amount_staked / amount_unstaked */
        json_object_set_new(args, name, val);
    }
    return args;
}

tp_status tp_subtensor_set_stake(void *self, const char *hotkey, double amount, tp_err *err) {
    tp_subtensor *s = self;
    tp_status st = need_coldkey(s, "staking", err);
    if (st) return st;
    const tp_md_pallet *p = tp_md_find_pallet(tp_sub_metadata(s->sub), "SubtensorModule");
    int dtao = p && !tp_md_find_storage(p, "TotalHotkeyStake");
    double have = 0, want = floor(amount * TP_RAO_PER_TAO);
    if ((st = stake_rao(s, hotkey, dtao, &have, err))) return st;
    if (fabs(want - have) < 1) return TP_OK;
    const char *call = want > have ? "add_stake" : "remove_stake";
    json_t *args = stake_args(s, call, hotkey, (uint64_t)fabs(want - have));
    st = args ? tp_sub_call(s->sub, &s->coldkey, "SubtensorModule", call, args, NULL, err)
              : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    json_decref(args);
    return st;
}

tp_status tp_subtensor_set_weights(void *self, const char *hotkey, const int64_t *uids, const double *weights,
                                   int64_t n, tp_err *err) {
    tp_subtensor *s = self;
    tp_status st = tp_subtensor_need_hotkey(s, hotkey, "setting weights", err);
    if (st) return st;
    double max = 0;
    for (int64_t i = 0; i < n; i++) max = weights[i] > max ? weights[i] : max;
    json_t *dests = json_array(), *ws = json_array(), *version = NULL;
    for (int64_t i = 0; dests && ws && i < n; i++) { /* max-normalised to u16, as Bittensor clients do */
        json_array_append_new(dests, json_integer(uids[i]));
        json_array_append_new(ws, json_integer((json_int_t)lround(weights[i] / max * 65535.0)));
    }
    st = tp_subtensor_read(s, "SubtensorModule", "WeightsVersionKey", json_pack("[i]", s->netuid), &version, err);
    json_t *args = st ? NULL
                      : json_pack("{s:i, s:O, s:O, s:O}", "netuid", s->netuid, "dests", dests, "weights", ws,
                                  "version_key", version);
    if (!st && !args) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_sub_call(s->sub, &s->hotkey, "SubtensorModule", "set_weights", args, NULL, err);
    json_decref(dests);
    json_decref(ws);
    json_decref(version);
    json_decref(args);
    return st;
}
