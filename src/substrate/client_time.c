/* A block's time from its own body: the Timestamp.set inherent it carries. The state's
 * Timestamp.Now at a block says the same on a real node, but a development chain that moves its
 * clock (chopsticks' dev_timeTravel) writes Timestamp.Now into the head's state, so an older block's
 * state no longer tells when it was built; its body always does. */
#include <stdlib.h>
#include <string.h>

#include "substrate/client_internal.h"
#include "substrate/scale.h"

#define EXTRINSIC_MAX ((size_t)4 << 20)
#define UNSIGNED_V4 0x04 /* extrinsic format version 4, no signature */

tp_status tp_sub_timestamp_set(const uint8_t *b, size_t n, uint8_t pallet, uint8_t call, int *is, uint64_t *ms,
                               tp_err *err) {
    tp_scale_reader r;
    tp_scale_reader_init(&r, b, n);
    uint64_t len;
    uint8_t version = 0, p = 0, c = 0;
    *is = 0;
    tp_status st = tp_scale_get_compact(&r, &len, "extrinsic length", err);
    if (!st && len != tp_scale_left(&r)) return tp_fail(err, TP_ERR_FORMAT, "extrinsic length %llu, %zu bytes follow",
                                                        (unsigned long long)len, tp_scale_left(&r));
    if (!st) st = tp_scale_get_u8(&r, &version, "extrinsic version", err);
    if (st || version != UNSIGNED_V4 || tp_scale_left(&r) < 2) return st;
    if ((st = tp_scale_get_u8(&r, &p, "pallet", err)) || (st = tp_scale_get_u8(&r, &c, "call", err))) return st;
    if (p != pallet || c != call) return TP_OK;
    if ((st = tp_scale_get_compact(&r, ms, "Timestamp.set now", err))) return st;
    if (tp_scale_left(&r)) return tp_fail(err, TP_ERR_FORMAT, "Timestamp.set: %zu trailing bytes", tp_scale_left(&r));
    *is = 1;
    return TP_OK;
}

static tp_status timestamp_call(const tp_sub *c, uint8_t *pallet, uint8_t *call, tp_err *err) {
    const tp_metadata *md = tp_sub_metadata(c);
    const tp_md_pallet *p = tp_md_find_pallet(md, "Timestamp");
    const tp_md_variant *v = p && p->has_calls ? tp_md_find_call(md, p, "set") : NULL;
    if (!v) return tp_fail(err, TP_ERR_FORMAT, "the runtime has no Timestamp.set call");
    *pallet = p->index;
    *call = v->index;
    return TP_OK;
}

tp_status tp_sub_block_time(tp_sub *c, const uint8_t hash[32], double *unix_seconds, tp_err *err) {
    uint8_t pallet = 0, call = 0;
    tp_status st = timestamp_call(c, &pallet, &call, err);
    if (st) return st;
    json_t *params = json_pack("[o]", tp_rpc_hex(hash, 32)), *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    st = tp_rpc_call(c->rpc, "chain_getBlock", params, &res, err);
    json_decref(params);
    const json_t *xts = json_object_get(json_object_get(res, "block"), "extrinsics"), *x;
    if (!st && !json_is_array(xts)) st = tp_fail(err, TP_ERR_FORMAT, "chain_getBlock: a block without extrinsics");
    int found = 0;
    size_t i;
    json_array_foreach(xts, i, x) {
        uint8_t *b = NULL;
        size_t n = 0;
        uint64_t ms = 0;
        if (st || found) break;
        if (!(st = tp_rpc_unhex(x, EXTRINSIC_MAX, &b, &n, "an extrinsic", err)))
            st = tp_sub_timestamp_set(b, n, pallet, call, &found, &ms, err);
        free(b);
        if (found) *unix_seconds = (double)ms / 1000.0;
    }
    json_decref(res);
    if (!st && !found) st = tp_fail(err, TP_ERR_FORMAT, "the block carries no Timestamp.set");
    return st ? tp_wrap(err, "reading a block's time") : TP_OK;
}
