/* Chopsticks' development RPCs: build blocks on request, write state, set the clock. */
#include "substrate/client_internal.h"
#include "substrate/storage_key.h"
#include "substrate/value.h"

tp_status tp_sub_dev_new_blocks(tp_sub *c, int64_t count, tp_err *err) {
    if (count < 1) return tp_fail(err, TP_ERR_ARG, "dev_newBlock: count must be at least 1");
    json_t *params = json_pack("[{s:I}]", "count", (json_int_t)count), *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_rpc_call(c->rpc, "dev_newBlock", params, &res, err);
    json_decref(params);
    json_decref(res);
    return st ? tp_wrap(err, "building %lld blocks (is the endpoint a chopsticks dev chain?)", (long long)count)
              : TP_OK;
}

static tp_status set_pairs(tp_sub *c, const tp_scale_buf *key, const tp_scale_buf *val, tp_err *err) {
    json_t *params = json_pack("[[[o, o]]]", tp_rpc_hex(key->data, key->len), tp_rpc_hex(val->data, val->len));
    json_t *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_rpc_call(c->rpc, "dev_setStorage", params, &res, err);
    json_decref(params);
    json_decref(res);
    return st;
}

tp_status tp_sub_dev_set_storage(tp_sub *c, const char *pallet, const char *entry, const json_t *keys,
                                 const json_t *value, tp_err *err) {
    const tp_md_storage *e = NULL;
    tp_scale_buf key, val;
    tp_scale_buf_init(&key);
    tp_scale_buf_init(&val);
    tp_status st = tp_storage_key(c->md, pallet, entry, keys, &key, &e, err);
    if (!st) st = tp_value_encode(c->md, e->value_type, value, &val, err);
    if (!st) st = set_pairs(c, &key, &val, err);
    tp_scale_buf_free(&key);
    tp_scale_buf_free(&val);
    return st ? tp_wrap(err, "writing %s.%s", pallet, entry) : TP_OK;
}

tp_status tp_sub_dev_time_travel(tp_sub *c, double unix_seconds, tp_err *err) {
    json_t *params = json_pack("[I]", (json_int_t)(unix_seconds * 1000.0)), *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_rpc_call(c->rpc, "dev_timeTravel", params, &res, err);
    json_decref(params);
    json_decref(res);
    return st ? tp_wrap(err, "setting the chain's clock") : TP_OK;
}
