/* The Subtensor backend's metagraph: a subnet's per-uid vectors and maps, read in a few requests. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "net/chain_subtensor.h"

static double number(const json_t *v) {
    if (json_is_integer(v)) return (double)json_integer_value(v);
    if (json_is_string(v)) return strtod(json_string_value(v), NULL); /* u128 beyond int64 */
    return 0;
}

/* One per-uid map, read for every uid: keys are [netuid, uid] or [netuid, hotkey]. */
static tp_status read_per_uid(tp_subtensor *s, const char *pallet, const char *entry, const json_t *hotkeys,
                              int64_t n, json_t **values, tp_err *err) {
    json_t *list = json_array();
    tp_status st = list ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    for (int64_t u = 0; !st && u < n; u++) {
        json_t *k = hotkeys ? json_pack("[i, O]", s->netuid, json_array_get(hotkeys, (size_t)u))
                            : json_pack("[i, I]", s->netuid, (json_int_t)u);
        if (json_array_append_new(list, k)) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    }
    if (!st) st = tp_sub_storage_many(s->sub, pallet, entry, list, NULL, values, err);
    json_decref(list);
    return st;
}

/* Stake per hotkey: TotalHotkeyStake (before dTAO) or TotalHotkeyAlpha(hotkey, netuid) (dTAO). */
static tp_status read_stakes(tp_subtensor *s, const json_t *hotkeys, json_t **values, tp_err *err) {
    const tp_md_pallet *p = tp_md_find_pallet(tp_sub_metadata(s->sub), "SubtensorModule");
    int dtao = p && !tp_md_find_storage(p, "TotalHotkeyStake");
    json_t *list = json_array();
    tp_status st = list ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    size_t i;
    const json_t *hk;
    json_array_foreach(hotkeys, i, hk) {
        json_t *k = dtao ? json_pack("[O, i]", hk, s->netuid) : json_pack("[O]", hk);
        if (!st && json_array_append_new(list, k)) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    }
    if (!st)
        st = tp_sub_storage_many(s->sub, "SubtensorModule", dtao ? "TotalHotkeyAlpha" : "TotalHotkeyStake", list, NULL,
                                 values, err);
    json_decref(list);
    return st;
}

typedef struct {
    json_t *hotkeys, *stakes, *registered, *commitments;
    json_t *incentive, *dividends, *emission, *last_update, *permit, *rank, *consensus;
} subnet_reads;

static void reads_free(subnet_reads *r) {
    json_t **all[] = {&r->hotkeys,   &r->stakes,    &r->registered,  &r->commitments, &r->incentive, &r->dividends,
                      &r->emission,  &r->last_update, &r->permit,    &r->rank,        &r->consensus};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) json_decref(*all[i]);
}

static tp_status read_vector(tp_subtensor *s, const char *entry, json_t **v, tp_err *err) {
    return tp_subtensor_read(s, "SubtensorModule", entry, json_pack("[i]", s->netuid), v, err);
}

static tp_status read_subnet(tp_subtensor *s, int64_t n, subnet_reads *r, tp_err *err) {
    tp_status st = read_per_uid(s, "SubtensorModule", "Keys", NULL, n, &r->hotkeys, err);
    if (!st) st = read_stakes(s, r->hotkeys, &r->stakes, err);
    if (!st) st = read_per_uid(s, "SubtensorModule", "BlockAtRegistration", NULL, n, &r->registered, err);
    if (!st) st = read_per_uid(s, "Commitments", "CommitmentOf", r->hotkeys, n, &r->commitments, err);
    if (!st) st = read_vector(s, "Incentive", &r->incentive, err);
    if (!st) st = read_vector(s, "Dividends", &r->dividends, err);
    if (!st) st = read_vector(s, "Emission", &r->emission, err);
    if (!st) st = read_vector(s, "LastUpdate", &r->last_update, err);
    if (!st) st = read_vector(s, "ValidatorPermit", &r->permit, err);
    if (!st) st = read_vector(s, "Rank", &r->rank, err);
    if (!st) st = read_vector(s, "Consensus", &r->consensus, err);
    return st;
}

static double share(const json_t *vec, int64_t u) { return number(json_array_get(vec, (size_t)u)) / 65535.0; }

static tp_status fill_neuron(const subnet_reads *r, int64_t u, tp_neuron *nd, tp_err *err) {
    const char *hk = json_string_value(json_array_get(r->hotkeys, (size_t)u));
    if (!hk || strlen(hk) != 66) return tp_fail(err, TP_ERR_FORMAT, "Keys: uid %lld has no account", (long long)u);
    nd->uid = u;
    snprintf(nd->hotkey, sizeof nd->hotkey, "%s", hk + 2);
    nd->stake = number(json_array_get(r->stakes, (size_t)u)) / TP_RAO_PER_TAO;
    nd->validator_permit = json_is_true(json_array_get(r->permit, (size_t)u));
    nd->rank = share(r->rank, u);
    nd->consensus = share(r->consensus, u);
    nd->incentive = share(r->incentive, u);
    nd->dividends = share(r->dividends, u);
    nd->emission = number(json_array_get(r->emission, (size_t)u)) / TP_RAO_PER_TAO;
    nd->registered_block = (int64_t)number(json_array_get(r->registered, (size_t)u));
    nd->last_update = (int64_t)number(json_array_get(r->last_update, (size_t)u));
    const json_t *reg = json_array_get(r->commitments, (size_t)u);
    tp_commitment cm;
    if (reg && !json_is_null(reg) && !tp_subtensor_parse_commitment(reg, &cm, err))
        snprintf(nd->store, sizeof nd->store, "%s", cm.uri);
    return TP_OK; /* a malformed commitment shows as none here; tp_chain_commitment reports it */
}

tp_status tp_subtensor_metagraph(void *self, tp_metagraph *out, tp_err *err) {
    tp_subtensor *s = self;
    memset(out, 0, sizeof *out);
    tp_chain_info info;
    subnet_reads r = {0};
    tp_status st = s->sub ? TP_OK : TP_ERR_INTERNAL;
    if (!st) st = tp_subtensor_info(self, &info, err);
    if (!st) st = read_subnet(s, info.n_uids, &r, err);
    if (!st && info.n_uids && !(out->neurons = tp_calloc((size_t)info.n_uids, sizeof *out->neurons, err)))
        st = err->code;
    for (int64_t u = 0; !st && u < info.n_uids; u++) st = fill_neuron(&r, u, &out->neurons[u], err);
    reads_free(&r);
    if (st) {
        tp_metagraph_free(out);
        return tp_wrap(err, "reading the metagraph of subnet %u", s->netuid);
    }
    out->n = info.n_uids;
    out->block = info.block;
    out->epochs = info.epochs;
    return TP_OK;
}
