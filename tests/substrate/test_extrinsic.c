/* Signed extrinsics from the real metadata of spec 143: the layout, a signature that verifies over
 * the payload Substrate signs, mortal eras as Substrate encodes them, and an unknown signed
 * extension refused by name. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/extrinsic.h"
#include "substrate/value.h"
#include "substrate_test_util.h"

static void make_signer(tp_keypair *s) {
    uint8_t seed[32] = {7};
    s->type = TP_KEY_ED25519;
    crypto_sign_seed_keypair(s->pub, s->secret, seed);
}

static void remark(const tp_metadata *md, tp_scale_buf *call, size_t len) {
    char *hex = malloc(2 * len + 3);
    strcpy(hex, "0x");
    for (size_t i = 0; i < len; i++) sprintf(hex + 2 + 2 * i, "%02x", (unsigned)(i & 0xff));
    json_t *args = json_pack("{s:s}", "remark", hex);
    tp_err err = {0};
    cr_assert_eq(tp_value_encode_call(md, "System", "remark", args, call, &err), TP_OK, "%s", err.msg);
    json_decref(args);
    free(hex);
}

/* Mortal eras as polkadot-js encodes them (ExtrinsicEra {current, period}: a502, 4e9c, a502, 3100
 * little-endian): a quantised phase for long periods, periods rounded up to a power of two, at least 4. */
Test(substrate, era_encoding) {
    cr_assert_eq(tp_era_encode(64, 42), 0x02a5);
    cr_assert_eq(tp_era_encode(32768, 20000), 0x9c4e);
    cr_assert_eq(tp_era_encode(60, 42), 0x02a5);
    cr_assert_eq(tp_era_encode(1, 3), 0x0031);
}

/* The layout and the signature, for a short call (signed directly) and a long one (signed through
 * its BLAKE2b-256 hash). */
Test(substrate, extrinsic_layout_and_signature) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    tp_keypair s;
    make_signer(&s);
    tp_tx_params p = {.spec_version = 143, .tx_version = 1, .nonce = 5, .era_period = 64, .era_block = 42};
    memset(p.genesis_hash, 0xab, 32);
    memset(p.era_block_hash, 0xcd, 32);
    for (int big = 0; big < 2; big++) {
        tp_scale_buf call, xt;
        tp_scale_buf_init(&call);
        tp_scale_buf_init(&xt);
        remark(md, &call, big ? 400 : 8);
        tp_err err = {0};
        cr_assert_eq(tp_extrinsic_sign(md, &s, &p, call.data, call.len, &xt, &err), TP_OK, "%s", err.msg);
        tp_scale_reader r;
        tp_scale_reader_init(&r, xt.data, xt.len);
        size_t len;
        cr_assert_eq(tp_scale_get_len(&r, 1, xt.len, &len, "length", &err), TP_OK);
        cr_assert_eq(len, tp_scale_left(&r));
        const uint8_t *b = xt.data + r.pos;
        cr_assert_eq(b[0], 0x84);
        cr_assert_eq(b[1], 0, "MultiAddress::Id");
        cr_assert(!memcmp(b + 2, s.pub, 32));
        cr_assert_eq(b[34], 0, "MultiSignature::Ed25519");
        const uint8_t *sig = b + 35, *extra = b + 99;
        /* extra: era (2 bytes), compact nonce 5, compact tip 0; then the call */
        uint16_t era = tp_era_encode(64, 42);
        cr_assert(extra[0] == (era & 0xff) && extra[1] == era >> 8 && extra[2] == 5 << 2 && extra[3] == 0);
        cr_assert(!memcmp(extra + 4, call.data, call.len));
        cr_assert_eq(len, 99 + 4 + call.len);
        /* What Substrate signs: call ++ extra ++ (spec, tx version, genesis, era block hash). */
        tp_scale_buf payload;
        tp_scale_buf_init(&payload);
        tp_scale_put_bytes(&payload, call.data, call.len);
        tp_scale_put_bytes(&payload, extra, 4);
        tp_scale_put_u32(&payload, 143);
        tp_scale_put_u32(&payload, 1);
        tp_scale_put_bytes(&payload, p.genesis_hash, 32);
        tp_scale_put_bytes(&payload, p.era_block_hash, 32);
        uint8_t digest[32];
        const uint8_t *msg = payload.data;
        size_t mlen = payload.len;
        if (mlen > 256) {
            crypto_generichash(digest, 32, msg, mlen, NULL, 0);
            msg = digest;
            mlen = 32;
        }
        cr_assert_eq(big, payload.len > 256);
        cr_assert_eq(crypto_sign_verify_detached(sig, msg, mlen, s.pub), 0, "the signature does not verify");
        tp_scale_buf_free(&payload);
        tp_scale_buf_free(&call);
        tp_scale_buf_free(&xt);
    }
    tp_keypair_clear(&s);
    tp_metadata_free(md);
}

/* A signed extension this client does not know, carrying data, is refused by name. */
Test(substrate, unknown_signed_extension_is_refused) {
    tp_metadata *md = sub_load_metadata("metadata-143-v14.bin");
    tp_md_signed_ext *ext = (tp_md_signed_ext *)md->signed_exts;
    uint32_t i = 0;
    while (i < md->n_signed_exts && strcmp(ext[i].identifier, "CheckNonce")) i++;
    cr_assert_lt(i, md->n_signed_exts);
    ext[i].identifier = "CheckSomethingNew"; /* CheckNonce's data, under a name we do not know */
    tp_keypair s;
    make_signer(&s);
    tp_tx_params p = {.spec_version = 143, .tx_version = 1};
    tp_scale_buf call, xt;
    tp_scale_buf_init(&call);
    tp_scale_buf_init(&xt);
    remark(md, &call, 4);
    tp_err err = {0};
    cr_assert_neq(tp_extrinsic_sign(md, &s, &p, call.data, call.len, &xt, &err), TP_OK);
    cr_assert(strstr(err.msg, "CheckSomethingNew") && strstr(err.msg, "refusing"), "%s", err.msg);
    tp_scale_buf_free(&call);
    tp_scale_buf_free(&xt);
    tp_keypair_clear(&s);
    tp_metadata_free(md);
}
