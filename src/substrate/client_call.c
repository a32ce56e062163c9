/* Signed calls: sign, submit, follow into a block, and read its events for the outcome. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "substrate/client_internal.h"
#include "substrate/ss58.h"
#include "substrate/value.h"

static tp_status next_nonce(tp_sub *c, const tp_keypair *s, uint64_t *nonce, tp_err *err) {
    char addr[TP_SS58_MAX];
    tp_status st = tp_ss58_encode(TP_SS58_BITTENSOR, s->pub, addr, err);
    json_t *params = st ? NULL : json_pack("[s]", addr), *res = NULL;
    if (!st && !params) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_rpc_call(c->rpc, "system_accountNextIndex", params, &res, err);
    if (!st && (!json_is_integer(res) || json_integer_value(res) < 0))
        st = tp_fail(err, TP_ERR_FORMAT, "system_accountNextIndex: not a nonce");
    if (!st) *nonce = (uint64_t)json_integer_value(res);
    json_decref(params);
    json_decref(res);
    return st;
}

/* The signed extrinsic for the call, as "0x…" text; *start receives the best block when signed. */
static tp_status sign_call(tp_sub *c, const tp_keypair *s, const char *pallet, const char *call, const json_t *args,
                           json_t **hex, int64_t *start, tp_err *err) {
    tp_tx_params p = {.era_period = c->o.era_period};
    memcpy(p.genesis_hash, c->genesis, 32);
    tp_scale_buf body, xt;
    tp_scale_buf_init(&body);
    tp_scale_buf_init(&xt);
    tp_status st = tp_sub_refresh_runtime(c, err);
    if (!st) st = tp_value_encode_call(c->md, pallet, call, args, &body, err);
    if (!st) st = next_nonce(c, s, &p.nonce, err);
    if (!st) st = tp_sub_head(c, start, p.era_block_hash, err);
    p.era_block = st ? 0 : (uint64_t)*start;
    p.spec_version = c->spec_version; /* after the refresh: the runtime the call is signed for */
    p.tx_version = c->tx_version;
    if (!st) st = tp_extrinsic_sign(c->md, s, &p, body.data, body.len, &xt, err);
    if (!st && !(*hex = tp_rpc_hex(xt.data, xt.len))) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_scale_buf_free(&body);
    tp_scale_buf_free(&xt);
    return st;
}

/* The position of extrinsic hex in block number, or -1. */
static tp_status find_in_block(tp_sub *c, int64_t number, const char *hex, tp_sub_receipt *r, int *found,
                               tp_err *err) {
    *found = 0;
    tp_status st = tp_sub_block_hash(c, number, r->block_hash, err);
    json_t *params = st ? NULL : json_pack("[o]", tp_rpc_hex(r->block_hash, 32)), *res = NULL;
    if (!st && !params) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_rpc_call(c->rpc, "chain_getBlock", params, &res, err);
    const json_t *xts = json_object_get(json_object_get(res, "block"), "extrinsics");
    if (!st && !json_is_array(xts)) st = tp_fail(err, TP_ERR_FORMAT, "chain_getBlock: no extrinsics in block %lld",
                                                 (long long)number);
    size_t i;
    const json_t *x;
    if (!st) json_array_foreach(xts, i, x) {
            const char *s = json_string_value(x);
            if (s && !strcmp(s, hex)) {
                *found = 1;
                r->block = number;
                r->index = (uint32_t)i;
                break;
            }
        }
    json_decref(params);
    json_decref(res);
    return st;
}

static tp_status wait_for_block(tp_sub *c, int64_t head, tp_err *err) {
    if (c->o.wait) return c->o.wait(c->o.wait_ctx, head, err);
    int64_t ms = c->block_time_ms / 4 > 0 ? c->block_time_ms / 4 : 250;
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    return TP_OK;
}

/* Looks through each new block after start for the extrinsic, waiting for blocks as needed. */
static tp_status follow(tp_sub *c, const char *hex, int64_t start, tp_sub_receipt *r, tp_err *err) {
    int64_t checked = start;
    for (;;) {
        int64_t head;
        uint8_t hash[32];
        tp_status st = tp_sub_head(c, &head, hash, err);
        for (int64_t b = checked + 1; !st && b <= head; b++) {
            int found;
            if ((st = find_in_block(c, b, hex, r, &found, err)) || found) return st;
            checked = b;
        }
        if (st) return st;
        if (checked - start >= c->o.inclusion_blocks)
            return tp_fail_transient(err, TP_ERR_IO, "the call was not included in the %lld blocks after #%lld",
                                     (long long)c->o.inclusion_blocks, (long long)start);
        if ((st = wait_for_block(c, head, err))) return st;
    }
}

void tp_sub_dispatch_error_name(const tp_metadata *md, const json_t *e, char *out, size_t n) {
    const char *kind = json_is_string(e) ? json_string_value(e) : NULL;
    const json_t *inner = NULL;
    if (!kind && json_is_object(e) && json_object_size(e) == 1) {
        kind = json_object_iter_key(json_object_iter((json_t *)e));
        inner = json_object_iter_value(json_object_iter((json_t *)e));
    }
    if (!kind) {
        snprintf(out, n, "an undecodable dispatch error");
        return;
    }
    if (!strcmp(kind, "Module") && json_is_object(inner)) {
        const json_t *idx = json_object_get(inner, "index"), *code = json_object_get(inner, "error");
        int64_t tag = json_is_integer(code) ? json_integer_value(code) : -1;
        const char *hex = json_string_value(code);
        if (hex && strlen(hex) >= 4 && !strncmp(hex, "0x", 2)) tag = strtol((char[3]){hex[2], hex[3], 0}, NULL, 16);
        const tp_md_pallet *p = json_is_integer(idx) ? tp_md_pallet_at(md, (uint8_t)json_integer_value(idx)) : NULL;
        const tp_md_variant *v = p && p->has_errors && tag >= 0 ? tp_md_variant_tagged(md, p->errors_type, (uint8_t)tag) : NULL;
        if (v) snprintf(out, n, "%s.%s", p->name, v->name);
        else snprintf(out, n, "error %lld of pallet %lld", (long long)tag, (long long)json_integer_value(idx));
        return;
    }
    const char *sub = json_is_string(inner) ? json_string_value(inner) : NULL;
    snprintf(out, n, "%s%s%s", kind, sub ? "." : "", sub ? sub : "");
}

/* The dispatch error of one event of our extrinsic, or NULL when the event reports none. */
static const json_t *event_error(const json_t *event) {
    const json_t *sys = json_object_get(json_object_get(event, "System"), "ExtrinsicFailed");
    if (sys) return json_object_get(sys, "dispatch_error");
    const json_t *sudo = json_object_get(json_object_get(event, "Sudo"), "Sudid");
    if (sudo) return json_object_get(json_object_get(sudo, "sudo_result"), "Err");
    const json_t *batch = json_object_get(json_object_get(event, "Utility"), "BatchInterrupted");
    if (batch) return json_object_get(batch, "error");
    return NULL;
}

void tp_sub_receipt_free(tp_sub_receipt *r) {
    json_decref(r->events);
    r->events = NULL;
}

const json_t *tp_sub_receipt_event(const tp_sub_receipt *r, const char *pallet, const char *name) {
    size_t i;
    const json_t *e;
    json_array_foreach(r->events, i, e) {
        const json_t *f = json_object_get(json_object_get(e, pallet), name);
        if (f) return f;
    }
    return NULL;
}

/* Collects the events of our extrinsic into r->events and fails on the first that reports an error. */
static tp_status check_events(tp_sub *c, tp_sub_receipt *r, const char *what, tp_err *err) {
    json_t *events = NULL;
    tp_status st = tp_sub_storage(c, "System", "Events", NULL, r->block_hash, &events, err);
    if (st) return tp_wrap(err, "reading the events of block #%lld", (long long)r->block);
    if (!(r->events = json_array())) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    size_t i;
    const json_t *rec;
    json_array_foreach(events, i, rec) {
        const json_t *phase = json_object_get(json_object_get(rec, "phase"), "ApplyExtrinsic");
        if (st || !json_is_integer(phase) || json_integer_value(phase) != r->index) continue;
        json_t *event = json_object_get(rec, "event");
        if (json_array_append(r->events, event)) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        const json_t *e = event_error(event);
        if (st || !e) continue;
        char name[256];
        tp_sub_dispatch_error_name(c->md, e, name, sizeof name);
        st = tp_fail(err, TP_ERR_ARG, "%s failed in block #%lld: %s", what, (long long)r->block, name);
    }
    json_decref(events);
    return st;
}

/* A resend after a lost reply finds the transaction already in the pool (1013): it was submitted. */
static tp_status submit(tp_sub *c, const json_t *params, json_t **res, tp_err *err) {
    tp_status st = tp_rpc_call(c->rpc, "author_submitExtrinsic", params, res, err);
    const char *msg = "";
    int64_t code = st ? tp_rpc_last_error(c->rpc, &msg) : 0;
    if (st && (code == 1013 || strstr(msg, "already imported"))) return TP_OK;
    if (st && !err->retryable) tp_wrap(err, "the node refused the transaction (nothing was submitted)");
    return st;
}

tp_status tp_sub_call(tp_sub *c, const tp_keypair *s, const char *pallet, const char *call, const json_t *args,
                      tp_sub_receipt *receipt, tp_err *err) {
    char what[160];
    snprintf(what, sizeof what, "%s.%s", pallet, call);
    json_t *hex = NULL, *params = NULL, *res = NULL;
    int64_t start = 0;
    tp_sub_receipt r = {0};
    tp_status st = sign_call(c, s, pallet, call, args, &hex, &start, err);
    if (!st && !(params = json_pack("[O]", hex))) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = submit(c, params, &res, err);
    if (!st) st = follow(c, json_string_value(hex), start, &r, err);
    if (!st) st = check_events(c, &r, what, err);
    json_decref(hex);
    json_decref(params);
    json_decref(res);
    if (st || !receipt) tp_sub_receipt_free(&r);
    if (st) return tp_wrap(err, "%s", what);
    if (receipt) *receipt = r;
    return TP_OK;
}
