#include "net/subtensor_admin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/chain_subtensor.h"
#include "net/subtensor_clock.h"

tp_status tp_subtensor_connect(const char *uri, tp_sub **out, int *netuid, tp_err *err) {
    tp_subtensor_uri u;
    tp_status st = tp_subtensor_parse_uri(uri, &u, err);
    if (!st) st = tp_sub_open(u.url, NULL, out, err);
    if (!st && u.clock == TP_CLOCK_LOCKSTEP) tp_sub_set_wait(*out, tp_subtensor_wait_by_building, *out);
    *netuid = st ? -1 : u.netuid;
    return st;
}

int tp_subtensor_is_legacy(const tp_sub *c) {
    const tp_md_pallet *p = tp_md_find_pallet(tp_sub_metadata(c), "SubtensorModule");
    return p && tp_md_find_storage(p, "TotalHotkeyStake") != NULL;
}

/* AccountInfo with the runtime's own field names: its default, with providers 1 and a free balance. */
tp_status tp_subtensor_dev_fund(tp_sub *c, const uint8_t account[32], double tao, tp_err *err) {
    json_t *info = NULL, *keys = json_pack("[o]", tp_rpc_hex(account, 32));
    tp_status st = tp_sub_storage(c, "System", "Account", keys, NULL, &info, err);
    char free_rao[48];
    snprintf(free_rao, sizeof free_rao, "%.0f", floor(tao * TP_RAO_PER_TAO));
    json_t *data = json_object_get(info, "data");
    if (!st && (!json_is_object(data) || !json_object_get(data, "free")))
        st = tp_fail(err, TP_ERR_FORMAT, "System.Account has no data.free: not a balances runtime");
    if (!st && (json_object_set_new(info, "providers", json_integer(1)) ||
                json_object_set_new(data, "free", json_string(free_rao))))
        st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_sub_dev_set_storage(c, "System", "Account", keys, info, err);
    json_decref(keys);
    json_decref(info);
    return st;
}

tp_status tp_subtensor_dev_set_sudo(tp_sub *c, const uint8_t account[32], tp_err *err) {
    json_t *v = tp_rpc_hex(account, 32);
    tp_status st = v ? tp_sub_dev_set_storage(c, "Sudo", "Key", NULL, v, err) : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    json_decref(v);
    return st;
}

/* The call's arguments by name: "hotkey" → owner, "mechid" → 1 (the only mechanism), others refused. */
static tp_status register_network_args(tp_sub *c, const uint8_t owner[32], json_t **args, tp_err *err) {
    const tp_metadata *md = tp_sub_metadata(c);
    const tp_md_variant *v = tp_md_find_call(md, tp_md_find_pallet(md, "SubtensorModule"), "register_network");
    if (!v) return tp_fail(err, TP_ERR_FORMAT, "the runtime has no SubtensorModule.register_network");
    *args = json_object();
    for (uint32_t i = 0; *args && i < v->n_fields; i++) {
        const char *name = v->fields[i].name ? v->fields[i].name : "";
        if (!strcmp(name, "hotkey")) json_object_set_new(*args, name, tp_rpc_hex(owner, 32));
        else if (!strcmp(name, "mechid")) json_object_set_new(*args, name, json_integer(1));
        else {
            json_decref(*args);
            *args = NULL;
            return tp_fail(err, TP_ERR_FORMAT, "register_network takes an argument '%s' this client does not know", name);
        }
    }
    return *args ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
}

tp_status tp_subtensor_create_subnet(tp_sub *c, const tp_keypair *coldkey, const uint8_t owner_hotkey[32],
                                     int *netuid, tp_err *err) {
    json_t *args = NULL;
    tp_sub_receipt r = {0};
    tp_status st = register_network_args(c, owner_hotkey, &args, err);
    if (!st) st = tp_sub_call(c, coldkey, "SubtensorModule", "register_network", args, &r, err);
    json_decref(args);
    const json_t *ev = st ? NULL : tp_sub_receipt_event(&r, "SubtensorModule", "NetworkAdded");
    /* NetworkAdded(netuid, modality): unnamed fields decode as an array */
    const json_t *id = json_is_array(ev) ? json_array_get(ev, 0) : ev;
    if (!st && !json_is_integer(id)) st = tp_fail(err, TP_ERR_FORMAT, "register_network: no NetworkAdded event");
    if (!st) *netuid = (int)json_integer_value(id);
    tp_sub_receipt_free(&r);
    return st;
}

/* AdminUtils.sudo_set_<name> as a RuntimeCall value: netuid where it takes one, the value in the
 * other argument (a bool where the runtime wants one). */
static tp_status admin_call(const tp_metadata *md, int netuid, const char *name, int64_t value, json_t **call,
                            tp_err *err) {
    const tp_md_pallet *p = tp_md_find_pallet(md, "AdminUtils");
    char fn[128];
    snprintf(fn, sizeof fn, "sudo_set_%s", name);
    const tp_md_variant *v = p ? tp_md_find_call(md, p, fn) : NULL;
    if (!v) return tp_fail(err, TP_ERR_ARG, "the runtime has no hyperparameter '%s' (no AdminUtils.%s)", name, fn);
    json_t *args = json_object();
    for (uint32_t i = 0; args && i < v->n_fields; i++) {
        const char *arg = v->fields[i].name ? v->fields[i].name : "";
        const tp_md_type *t = &md->types[tp_md_resolve(md, v->fields[i].type)];
        int is_bool = t->kind == TP_TY_PRIMITIVE && t->prim == TP_PRIM_BOOL;
        json_t *val = !strcmp(arg, "netuid") ? json_integer(netuid)
                      : is_bool              ? json_boolean(value != 0)
                                             : json_integer((json_int_t)value);
        json_object_set_new(args, arg, val);
    }
    *call = args ? json_pack("{s:{s:o}}", "AdminUtils", fn, args) : NULL;
    return *call ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
}

int tp_subtensor_has_param(const tp_sub *c, const char *name) {
    const tp_metadata *md = tp_sub_metadata(c);
    const tp_md_pallet *p = tp_md_find_pallet(md, "AdminUtils");
    char fn[128];
    snprintf(fn, sizeof fn, "sudo_set_%s", name);
    return p && tp_md_find_call(md, p, fn) != NULL;
}

tp_status tp_subtensor_sudo_set(tp_sub *c, const tp_keypair *sudo, int netuid, const char *const *names,
                                const int64_t *values, int n, tp_err *err) {
    json_t *calls = json_array();
    tp_status st = calls ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    for (int i = 0; !st && i < n; i++) {
        json_t *call = NULL;
        st = admin_call(tp_sub_metadata(c), netuid, names[i], values[i], &call, err);
        if (!st && json_array_append_new(calls, call)) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    }
    json_t *inner = st ? NULL
                 : n == 1 ? json_incref(json_array_get(calls, 0))
                          : json_pack("{s:{s:{s:O}}}", "Utility", "batch_all", "calls", calls);
    json_t *args = inner ? json_pack("{s:o}", "call", inner) : NULL;
    if (!st && !args) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_sub_call(c, sudo, "Sudo", "sudo", args, NULL, err);
    json_decref(calls);
    json_decref(args);
    return st;
}

tp_status tp_subtensor_root_vote(tp_sub *c, const tp_keypair *coldkey, const tp_keypair *hotkey, int netuid,
                                 tp_err *err) {
    json_t *uid = NULL, *hk = tp_rpc_hex(hotkey->pub, 32);
    json_t *keys = json_pack("[i, O]", 0, hk);
    tp_status st = tp_sub_storage(c, "SubtensorModule", "Uids", keys, NULL, &uid, err);
    json_t *args = NULL;
    if (!st && json_is_null(uid)) {
        args = json_pack("{s:O}", "hotkey", hk);
        st = args ? tp_sub_call(c, coldkey, "SubtensorModule", "root_register", args, NULL, err)
                  : tp_fail(err, TP_ERR_NOMEM, "out of memory");
        json_decref(args);
    }
    args = st ? NULL : json_pack("{s:i, s:[i], s:[i], s:i}", "netuid", 0, "dests", netuid, "weights", 65535,
                                  "version_key", 0);
    if (!st && !args) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_sub_call(c, hotkey, "SubtensorModule", "set_weights", args, NULL, err);
    json_decref(args);
    json_decref(keys);
    json_decref(uid);
    json_decref(hk);
    return st ? tp_wrap(err, "voting subnet %d's emission on the root network", netuid) : TP_OK;
}
