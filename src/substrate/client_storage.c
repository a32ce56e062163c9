/* Storage reads and constants, decoded by the metadata. */
#include <stdlib.h>
#include <string.h>

#include "substrate/client_internal.h"
#include "substrate/storage_key.h"
#include "substrate/value.h"

#define MAX_VALUE_BYTES (16u << 20) /* one storage value; Subtensor's largest are a few KiB */

static json_t *at_param(const uint8_t *at) { return at ? tp_rpc_hex(at, 32) : json_null(); }

/* Decodes the bytes (or the default / null when absent) of entry e. */
static tp_status decode_entry(const tp_sub *c, const tp_md_storage *e, const json_t *raw, json_t **value,
                              const char *what, tp_err *err) {
    if (json_is_null(raw)) {
        if (e->optional) return (*value = json_null()) ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
        return tp_value_decode_all(c->md, e->value_type, e->default_value, e->default_len, value, err);
    }
    uint8_t *b = NULL;
    size_t n = 0;
    tp_status st = tp_rpc_unhex(raw, MAX_VALUE_BYTES, &b, &n, what, err);
    if (!st) st = tp_value_decode_all(c->md, e->value_type, b, n, value, err);
    free(b);
    return st ? tp_wrap(err, "decoding %s", what) : TP_OK;
}

tp_status tp_sub_storage(tp_sub *c, const char *pallet, const char *entry, const json_t *keys, const uint8_t *at,
                         json_t **value, tp_err *err) {
    *value = NULL;
    tp_scale_buf key;
    tp_scale_buf_init(&key);
    const tp_md_storage *e = NULL;
    tp_status st = tp_storage_key(c->md, pallet, entry, keys, &key, &e, err);
    json_t *params = st ? NULL : json_pack("[o, o]", tp_rpc_hex(key.data, key.len), at_param(at)), *res = NULL;
    tp_scale_buf_free(&key);
    if (!st && !params) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_rpc_call(c->rpc, "state_getStorage", params, &res, err);
    json_decref(params);
    char what[160];
    snprintf(what, sizeof what, "%s.%s", pallet, entry);
    if (!st) st = decode_entry(c, e, res, value, what, err);
    json_decref(res);
    return st;
}

/* The value for key hex in a state_queryStorageAt reply's changes, or NULL when it is not there. */
static const json_t *change_for(const json_t *changes, const char *key_hex) {
    size_t i;
    const json_t *pair;
    json_array_foreach(changes, i, pair) {
        const char *k = json_string_value(json_array_get(pair, 0));
        if (json_array_size(pair) == 2 && k && !strcmp(k, key_hex)) return json_array_get(pair, 1);
    }
    return NULL;
}

static tp_status build_keys(tp_sub *c, const char *pallet, const char *entry, const json_t *key_list, json_t *hexes,
                            const tp_md_storage **e, tp_err *err) {
    size_t i;
    const json_t *keys;
    json_array_foreach(key_list, i, keys) {
        tp_scale_buf key;
        tp_scale_buf_init(&key);
        tp_status st = tp_storage_key(c->md, pallet, entry, keys, &key, e, err);
        if (!st && json_array_append_new(hexes, tp_rpc_hex(key.data, key.len)))
            st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        tp_scale_buf_free(&key);
        if (st) return st;
    }
    return TP_OK;
}

static tp_status decode_changes(tp_sub *c, const tp_md_storage *e, const json_t *hexes, const json_t *res,
                                json_t *values, const char *what, tp_err *err) {
    const json_t *changes = json_object_get(json_array_get(res, 0), "changes");
    if (json_array_size(hexes) && !json_is_array(changes))
        return tp_fail(err, TP_ERR_FORMAT, "state_queryStorageAt: no changes in the reply for %s", what);
    size_t i;
    const json_t *h;
    json_array_foreach(hexes, i, h) {
        const json_t *raw = change_for(changes, json_string_value(h));
        json_t *v = NULL;
        tp_status st = decode_entry(c, e, raw ? raw : json_null(), &v, what, err);
        if (!st && json_array_append_new(values, v)) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        if (st) return st;
    }
    return TP_OK;
}

tp_status tp_sub_storage_many(tp_sub *c, const char *pallet, const char *entry, const json_t *key_list,
                              const uint8_t *at, json_t **values, tp_err *err) {
    json_t *hexes = json_array(), *res = NULL, *params = NULL;
    *values = json_array();
    const tp_md_storage *e = NULL;
    char what[160];
    snprintf(what, sizeof what, "%s.%s", pallet, entry);
    tp_status st = hexes && *values ? TP_OK : tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = build_keys(c, pallet, entry, key_list, hexes, &e, err);
    if (!st && json_array_size(hexes)) {
        if (!(params = json_pack("[O, o]", hexes, at_param(at)))) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        if (!st) st = tp_rpc_call(c->rpc, "state_queryStorageAt", params, &res, err);
        if (!st) st = decode_changes(c, e, hexes, res, *values, what, err);
    }
    json_decref(hexes);
    json_decref(params);
    json_decref(res);
    if (st) {
        json_decref(*values);
        *values = NULL;
    }
    return st;
}

tp_status tp_sub_storage_raw(tp_sub *c, const uint8_t *key, size_t key_len, const uint8_t *at, uint8_t **out,
                             size_t *n, int *found, tp_err *err) {
    *out = NULL;
    *n = 0;
    *found = 0;
    json_t *params = json_pack("[o, o]", tp_rpc_hex(key, key_len), at_param(at)), *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_rpc_call(c->rpc, "state_getStorage", params, &res, err);
    json_decref(params);
    if (!st && !json_is_null(res)) {
        st = tp_rpc_unhex(res, MAX_VALUE_BYTES, out, n, "a storage value", err);
        *found = !st;
    }
    json_decref(res);
    return st;
}

tp_status tp_sub_constant(const tp_sub *c, const char *pallet, const char *name, json_t **value, tp_err *err) {
    const tp_md_pallet *p = tp_md_find_pallet(c->md, pallet);
    const tp_md_constant *k = p ? tp_md_find_constant(p, name) : NULL;
    if (!k) return tp_fail(err, TP_ERR_FORMAT, "the runtime has no constant %s.%s", pallet, name);
    return tp_value_decode_all(c->md, k->type, k->value, k->value_len, value, err);
}
