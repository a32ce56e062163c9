#include "substrate/extrinsic.h"

#include <sodium.h>
#include <string.h>

#include "substrate/rpc.h"
#include "substrate/value.h"

#define SIGNED_V4 0x84 /* bit 7: signed; low bits: extrinsic format version 4 */


uint16_t tp_era_encode(uint64_t period, uint64_t block) {
    uint64_t p = 4;
    while (p < period && p < 65536) p <<= 1;
    uint64_t phase = block % p;
    uint64_t quantize = p >> 12 ? p >> 12 : 1;
    unsigned tz = (unsigned)__builtin_ctzll(p);
    unsigned low = tz - 1 < 1 ? 1 : tz - 1 > 15 ? 15 : tz - 1;
    return (uint16_t)(low | ((phase / quantize) << 4));
}


static uint32_t type_by_path(const tp_metadata *md, const char *path) {
    for (uint32_t i = 0; i < md->n_types; i++)
        if (!strcmp(md->types[i].path, path)) return i;
    return UINT32_MAX;
}

/* The two pieces one signed extension contributes. */
typedef struct {
    tp_scale_buf *extra, *additional;
} ext_out;

static tp_status encode_json(const tp_metadata *md, uint32_t ty, json_t *v, tp_scale_buf *out, const char *ext,
                             tp_err *err) {
    if (!v) return tp_fail(err, TP_ERR_NOMEM, "out of memory encoding signed extension %s", ext);
    tp_status st = tp_value_encode(md, ty, v, out, err);
    json_decref(v);
    return st ? tp_wrap(err, "signed extension %s", ext) : TP_OK;
}

static tp_status encode_mortality(const tp_metadata *md, const tp_md_signed_ext *e, const tp_tx_params *p, ext_out o,
                                  tp_err *err) {
    const char *path = md->types[tp_md_resolve(md, e->extra_type)].path; /* CheckMortality(Era) */
    if (!strstr(path, "Era"))
        return tp_fail(err, TP_ERR_FORMAT, "signed extension %s: its data is %s, not an Era", e->identifier, path);
    if (p->era_period == 0) {
        tp_scale_put_u8(o.extra, 0);
    } else {
        uint16_t era = tp_era_encode(p->era_period, p->era_block);
        tp_scale_put_u16(o.extra, era);
    }
    return encode_json(md, e->additional_type, tp_rpc_hex(p->era_block_hash, 32), o.additional, e->identifier, err);
}

static tp_status encode_known(const tp_metadata *md, const tp_md_signed_ext *e, const tp_tx_params *p, ext_out o,
                              int *known, tp_err *err) {
    const char *id = e->identifier;
    *known = 1;
    if (!strcmp(id, "CheckSpecVersion"))
        return encode_json(md, e->additional_type, json_integer(p->spec_version), o.additional, id, err);
    if (!strcmp(id, "CheckTxVersion"))
        return encode_json(md, e->additional_type, json_integer(p->tx_version), o.additional, id, err);
    if (!strcmp(id, "CheckGenesis"))
        return encode_json(md, e->additional_type, tp_rpc_hex(p->genesis_hash, 32), o.additional, id, err);
    if (!strcmp(id, "CheckMortality") || !strcmp(id, "CheckEra")) return encode_mortality(md, e, p, o, err);
    if (!strcmp(id, "CheckNonce"))
        return encode_json(md, e->extra_type, json_integer((json_int_t)p->nonce), o.extra, id, err);
    if (!strcmp(id, "ChargeTransactionPayment")) {
        char tip[48];
        tp_u128_format(p->tip, tip);
        return encode_json(md, e->extra_type, json_string(tip), o.extra, id, err);
    }
    if (!strcmp(id, "CheckMetadataHash")) { /* mode Disabled, no hash: we do not sign over metadata */
        tp_status st = encode_json(md, e->extra_type, json_pack("{s:s}", "mode", "Disabled"), o.extra, id, err);
        return st ? st : encode_json(md, e->additional_type, json_null(), o.additional, id, err);
    }
    *known = 0;
    return TP_OK;
}

static tp_status encode_extensions(const tp_metadata *md, const tp_tx_params *p, ext_out o, tp_err *err) {
    for (uint32_t i = 0; i < md->n_signed_exts; i++) {
        const tp_md_signed_ext *e = &md->signed_exts[i];
        int known;
        tp_status st = encode_known(md, e, p, o, &known, err);
        if (st) return st;
        if (known) continue;
        /* CheckNonZeroSender, CheckWeight and the runtime's own checks carry nothing. */
        if (!tp_md_is_empty(md, e->extra_type) || !tp_md_is_empty(md, e->additional_type))
            return tp_fail(err, TP_ERR_FORMAT,
                           "the runtime's signed extension %s carries data this client does not know how to fill; "
                           "refusing to sign rather than guess (a newer templar may support this runtime)",
                           e->identifier);
    }
    return TP_OK;
}

static tp_status sign_payload(const tp_keypair *s, const tp_scale_buf *call_extra_add, uint8_t sig[64], tp_err *err) {
    const uint8_t *msg = call_extra_add->data;
    size_t n = call_extra_add->len;
    uint8_t digest[32];
    if (n > 256) { /* long payloads are signed through their hash */
        crypto_generichash(digest, sizeof digest, msg, n, NULL, 0);
        msg = digest;
        n = sizeof digest;
    }
    return tp_keypair_sign(s, msg, n, sig, err);
}

static tp_status encode_signer(const tp_metadata *md, const tp_keypair *s, const uint8_t sig[64], tp_scale_buf *out,
                               tp_err *err) {
    uint32_t addr_ty = type_by_path(md, "sp_runtime::multiaddress::MultiAddress");
    uint32_t sig_ty = type_by_path(md, "sp_runtime::MultiSignature");
    if (addr_ty == UINT32_MAX || sig_ty == UINT32_MAX)
        return tp_fail(err, TP_ERR_FORMAT, "the runtime's metadata has no %s type: not a chain this client can sign for",
                       addr_ty == UINT32_MAX ? "MultiAddress" : "MultiSignature");
    json_t *addr = json_pack("{s:o}", "Id", tp_rpc_hex(s->pub, 32));
    tp_status st = encode_json(md, addr_ty, addr, out, "address", err);
    if (st) return st;
    json_t *sj = json_pack("{s:o}", s->type == TP_KEY_ED25519 ? "Ed25519" : "Sr25519", tp_rpc_hex(sig, 64));
    return encode_json(md, sig_ty, sj, out, "signature", err);
}

tp_status tp_extrinsic_sign(const tp_metadata *md, const tp_keypair *s, const tp_tx_params *p, const uint8_t *call,
                            size_t call_len, tp_scale_buf *out, tp_err *err) {
    if (md->extrinsic_version != 4)
        return tp_fail(err, TP_ERR_FORMAT, "the runtime uses extrinsic format v%u; this client signs v4",
                       md->extrinsic_version);
    tp_scale_buf extra, additional, payload, body;
    tp_scale_buf_init(&extra);
    tp_scale_buf_init(&additional);
    tp_scale_buf_init(&payload);
    tp_scale_buf_init(&body);
    uint8_t sig[64];
    tp_status st = encode_extensions(md, p, (ext_out){&extra, &additional}, err);
    if (!st) {
        tp_scale_put_bytes(&payload, call, call_len);
        tp_scale_put_bytes(&payload, extra.data, extra.len);
        tp_scale_put_bytes(&payload, additional.data, additional.len);
        st = tp_scale_buf_check(&payload, err);
    }
    if (!st) st = sign_payload(s, &payload, sig, err);
    if (!st) {
        tp_scale_put_u8(&body, SIGNED_V4);
        st = encode_signer(md, s, sig, &body, err);
    }
    if (!st) {
        tp_scale_put_bytes(&body, extra.data, extra.len);
        tp_scale_put_bytes(&body, call, call_len);
        st = tp_scale_buf_check(&body, err);
    }
    if (!st) {
        tp_scale_put_vec(out, body.data, body.len);
        st = tp_scale_buf_check(out, err);
    }
    sodium_memzero(sig, sizeof sig);
    tp_scale_buf_free(&extra);
    tp_scale_buf_free(&additional);
    tp_scale_buf_free(&payload);
    tp_scale_buf_free(&body);
    return st;
}
