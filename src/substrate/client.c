#include "substrate/client.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "substrate/client_internal.h"
#include "substrate/storage_key.h"
#include "substrate/value.h"

void tp_sub_opts_default(tp_sub_opts *o) {
    memset(o, 0, sizeof *o);
    tp_rpc_opts_default(&o->rpc);
    o->era_period = 64;
    o->inclusion_blocks = 32;
}

tp_status tp_sub_hash_from_json(const json_t *v, uint8_t out[32], const char *what, tp_err *err) {
    uint8_t *b = NULL;
    size_t n = 0;
    tp_status st = tp_rpc_unhex(v, 32, &b, &n, what, err);
    if (!st && n != 32) st = tp_fail(err, TP_ERR_FORMAT, "%s: %zu bytes where a 32-byte hash belongs", what, n);
    if (!st) memcpy(out, b, 32);
    free(b);
    return st;
}

tp_status tp_sub_number_from_json(const json_t *v, int64_t *out, const char *what, tp_err *err) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = json_integer_value(v);
        return TP_OK;
    }
    const char *s = json_string_value(v);
    if (!s || strncmp(s, "0x", 2) || !s[2] || strlen(s) > 2 + 15)
        return tp_fail(err, TP_ERR_FORMAT, "%s: not a block number", what);
    char *end;
    long long n = strtoll(s + 2, &end, 16);
    if (*end) return tp_fail(err, TP_ERR_FORMAT, "%s: not a block number", what);
    *out = n;
    return TP_OK;
}

/* Option<Vec<u8>> from Metadata_metadata_at_version, or NULL bytes when the runtime has no v15. */
static tp_status fetch_metadata_v15(tp_sub *c, uint8_t **bytes, size_t *n, tp_err *err) {
    json_t *params = json_pack("[s, s]", "Metadata_metadata_at_version", "0x0f000000"), *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_rpc_call(c->rpc, "state_call", params, &res, err);
    json_decref(params);
    *bytes = NULL;
    if (st) return err->retryable ? st : TP_OK; /* no such runtime API: an older runtime, v14 it is */
    uint8_t *raw = NULL;
    size_t raw_n = 0;
    st = tp_rpc_unhex(res, TP_MD_MAX_BYTES + 16, &raw, &raw_n, "Metadata_metadata_at_version", err);
    json_decref(res);
    if (st) return st;
    tp_scale_reader r;
    tp_scale_reader_init(&r, raw, raw_n);
    uint8_t some = 0;
    const uint8_t *md = NULL;
    st = tp_scale_get_u8(&r, &some, "metadata option", err);
    if (!st && some == 1) st = tp_scale_get_vec(&r, TP_MD_MAX_BYTES, &md, n, "metadata v15", err);
    if (!st && md && (*bytes = tp_malloc(*n ? *n : 1, err))) memcpy(*bytes, md, *n);
    else if (!st && md) st = err->code;
    free(raw);
    return st;
}

static tp_status load_metadata(tp_sub *c, tp_err *err) {
    uint8_t *bytes = NULL;
    size_t n = 0;
    tp_status st = fetch_metadata_v15(c, &bytes, &n, err);
    if (!st && !bytes) {
        json_t *res = NULL;
        st = tp_rpc_call(c->rpc, "state_getMetadata", NULL, &res, err);
        if (!st) st = tp_rpc_unhex(res, TP_MD_MAX_BYTES, &bytes, &n, "state_getMetadata", err);
        json_decref(res);
    }
    tp_metadata *md = NULL;
    if (!st) st = tp_metadata_parse(bytes, n, &md, err);
    free(bytes);
    if (st) return tp_wrap(err, "reading the runtime's metadata");
    tp_metadata_free(c->md);
    c->md = md;
    return TP_OK;
}

static tp_status read_block_time(tp_sub *c, tp_err *err) {
    json_t *v = NULL;
    tp_status st = tp_sub_constant(c, "Timestamp", "MinimumPeriod", &v, err);
    if (st) return tp_wrap(err, "reading the block time");
    c->block_time_ms = json_is_integer(v) ? 2 * json_integer_value(v) : 0;
    json_decref(v);
    if (c->block_time_ms <= 0) return tp_fail(err, TP_ERR_FORMAT, "Timestamp.MinimumPeriod is not a positive number");
    return TP_OK;
}

tp_status tp_sub_refresh_runtime(tp_sub *c, tp_err *err) {
    json_t *v = NULL;
    tp_status st = tp_rpc_call(c->rpc, "state_getRuntimeVersion", NULL, &v, err);
    if (st) return st;
    json_t *spec = json_object_get(v, "specVersion"), *txv = json_object_get(v, "transactionVersion");
    if (!json_is_integer(spec) || !json_is_integer(txv) || json_integer_value(spec) < 0 ||
        json_integer_value(spec) > UINT32_MAX || json_integer_value(txv) < 0 || json_integer_value(txv) > UINT32_MAX)
        st = tp_fail(err, TP_ERR_FORMAT, "state_getRuntimeVersion: no valid specVersion/transactionVersion");
    uint32_t new_spec = st ? 0 : (uint32_t)json_integer_value(spec);
    if (!st) c->tx_version = (uint32_t)json_integer_value(txv);
    json_decref(v);
    if (st || (c->md && new_spec == c->spec_version)) return st;
    c->spec_version = new_spec;
    if ((st = load_metadata(c, err))) return st;
    return read_block_time(c, err);
}

tp_status tp_sub_open(const char *url, const tp_sub_opts *opts, tp_sub **out, tp_err *err) {
    *out = NULL;
    tp_sub *c = tp_calloc(1, sizeof *c, err);
    if (!c) return err->code;
    if (opts) c->o = *opts;
    else tp_sub_opts_default(&c->o);
    tp_status st = tp_rpc_open(url, &c->o.rpc, &c->rpc, err);
    json_t *params = json_pack("[i]", 0), *res = NULL;
    if (!st && !params) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    if (!st) st = tp_rpc_call(c->rpc, "chain_getBlockHash", params, &res, err);
    if (!st) st = tp_sub_hash_from_json(res, c->genesis, "the genesis hash", err);
    json_decref(params);
    json_decref(res);
    if (!st) st = tp_sub_refresh_runtime(c, err);
    if (st) {
        tp_sub_close(c);
        return tp_wrap(err, "connecting to %s", url);
    }
    *out = c;
    return TP_OK;
}

void tp_sub_close(tp_sub *c) {
    if (!c) return;
    tp_rpc_close(c->rpc);
    tp_metadata_free(c->md);
    free(c);
}

void tp_sub_set_wait(tp_sub *c, tp_sub_wait_fn wait, void *ctx) {
    c->o.wait = wait;
    c->o.wait_ctx = ctx;
}
const tp_metadata *tp_sub_metadata(const tp_sub *c) { return c->md; }
uint32_t tp_sub_spec_version(const tp_sub *c) { return c->spec_version; }
int64_t tp_sub_block_time_ms(const tp_sub *c) { return c->block_time_ms; }
tp_rpc *tp_sub_rpc(tp_sub *c) { return c->rpc; }

tp_status tp_sub_block_hash(tp_sub *c, int64_t number, uint8_t hash[32], tp_err *err) {
    json_t *params = json_pack("[I]", (json_int_t)number), *res = NULL;
    if (!params) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_rpc_call(c->rpc, "chain_getBlockHash", params, &res, err);
    json_decref(params);
    if (!st && json_is_null(res)) st = tp_fail(err, TP_ERR_ARG, "block %lld does not exist yet", (long long)number);
    if (!st) st = tp_sub_hash_from_json(res, hash, "chain_getBlockHash", err);
    json_decref(res);
    return st;
}

tp_status tp_sub_head(tp_sub *c, int64_t *number, uint8_t hash[32], tp_err *err) {
    json_t *res = NULL, *params = NULL;
    tp_status st = tp_rpc_call(c->rpc, "chain_getBlockHash", NULL, &res, err);
    if (!st) st = tp_sub_hash_from_json(res, hash, "the best block's hash", err);
    if (!st && !(params = json_pack("[O]", res))) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
    json_decref(res);
    res = NULL;
    if (!st) st = tp_rpc_call(c->rpc, "chain_getHeader", params, &res, err);
    if (!st) st = tp_sub_number_from_json(json_object_get(res, "number"), number, "chain_getHeader number", err);
    json_decref(params);
    json_decref(res);
    return st;
}

tp_status tp_sub_head_number(tp_sub *c, int64_t *number, tp_err *err) {
    json_t *res = NULL;
    tp_status st = tp_rpc_call(c->rpc, "chain_getHeader", NULL, &res, err);
    if (!st) st = tp_sub_number_from_json(json_object_get(res, "number"), number, "chain_getHeader number", err);
    json_decref(res);
    return st;
}
