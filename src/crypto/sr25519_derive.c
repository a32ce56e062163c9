/* Substrate's sr25519 key derivation (sp-core's derive_hard_junction and derive_soft: schnorrkel's
 * derive.rs with an empty index and the junction's 32-byte chain code). Both run the transcript
 *   SchnorrRistrettoHDKD: sign-bytes = "", chain-code = cc, ...
 * Hard: ... secret-key = the secret scalar, challenge HDKD-hard (32 bytes) = the child's mini secret.
 * Soft: ... public-key = A, challenge HDKD-scalar (64 bytes, reduced) = t, challenge HDKD-chaincode;
 * the child's key is a + t (public A + tB), its nonce seed a transcript witness of the parent's
 * secret and fresh randomness, as schnorrkel draws it (so it differs on every call). */
#include "crypto/sr25519.h"

#include <sodium.h>
#include <string.h>

#include "crypto/merlin.h"
#include "crypto/sr25519_internal.h"

static void hdkd_transcript(tp_merlin *t, const uint8_t chain_code[32]) {
    tp_merlin_init(t, "SchnorrRistrettoHDKD");
    tp_merlin_append(t, "sign-bytes", (const uint8_t *)"", 0);
    tp_merlin_append(t, "chain-code", chain_code, 32);
}

tp_status tp_sr25519_derive_hard(const uint8_t secret[64], const uint8_t chain_code[32], uint8_t seed_out[32],
                                 tp_err *err) {
    tp_status st = tp_sr25519_check_secret(secret, err);
    if (st != TP_OK) return st;
    tp_merlin t;
    hdkd_transcript(&t, chain_code);
    tp_merlin_append(&t, "secret-key", secret, 32); /* the scalar only, not the nonce seed */
    tp_merlin_challenge(&t, "HDKD-hard", seed_out, 32);
    tp_merlin_wipe(&t);
    return TP_OK;
}

/* schnorrkel's derive_scalar_and_chaincode: the tweak t. The child chain code is drawn too, though
 * Substrate drops it, because the nonce witness forks the transcript after it. */
static void soft_tweak(tp_merlin *t, const uint8_t chain_code[32], const uint8_t pub[32], uint8_t tweak[32]) {
    uint8_t child_chain_code[32];
    hdkd_transcript(t, chain_code);
    tp_merlin_append(t, "public-key", pub, 32);
    tp_sr25519_challenge_scalar(t, "HDKD-scalar", tweak);
    tp_merlin_challenge(t, "HDKD-chaincode", child_chain_code, sizeof child_chain_code);
}

/* witness_bytes("HDKD-nonce", [nonce, key ++ nonce]): the child's nonce seed. */
static void soft_nonce(const tp_merlin *t, const uint8_t secret[64], const uint8_t entropy[32], uint8_t nonce[32]) {
    tp_merlin_rng rng;
    tp_merlin_rng_init(&rng, t);
    tp_merlin_rng_rekey(&rng, "HDKD-nonce", secret + 32, 32);
    tp_merlin_rng_rekey(&rng, "HDKD-nonce", secret, 64);
    tp_merlin_rng_finalize(&rng, entropy);
    tp_merlin_rng_fill(&rng, nonce, 32);
    tp_merlin_rng_wipe(&rng);
}

tp_status tp_sr25519_derive_soft_entropy(const uint8_t secret[64], const uint8_t chain_code[32],
                                         const uint8_t entropy[32], uint8_t secret_out[64], uint8_t pub_out[32],
                                         tp_err *err) {
    uint8_t pub[32], tweak[32], key[32], nonce[32], child_pub[32];
    tp_status st = tp_sr25519_public(secret, pub, err);
    if (st != TP_OK) return st;
    tp_merlin t;
    soft_tweak(&t, chain_code, pub, tweak);
    soft_nonce(&t, secret, entropy, nonce);
    crypto_core_ristretto255_scalar_add(key, secret, tweak);
    if (crypto_scalarmult_ristretto255_base(child_pub, key) != 0) {
        st = tp_fail(err, TP_ERR_INTERNAL, "sr25519: the soft-derived key is zero");
    } else { /* written last: secret_out may be secret */
        memcpy(secret_out, key, 32);
        memcpy(secret_out + 32, nonce, 32);
        memcpy(pub_out, child_pub, 32);
    }
    sodium_memzero(key, sizeof key);
    sodium_memzero(nonce, sizeof nonce);
    sodium_memzero(tweak, sizeof tweak);
    tp_merlin_wipe(&t);
    return st;
}

tp_status tp_sr25519_derive_soft(const uint8_t secret[64], const uint8_t chain_code[32], uint8_t secret_out[64],
                                 uint8_t pub_out[32], tp_err *err) {
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    uint8_t entropy[32];
    randombytes_buf(entropy, sizeof entropy);
    tp_status st = tp_sr25519_derive_soft_entropy(secret, chain_code, entropy, secret_out, pub_out, err);
    sodium_memzero(entropy, sizeof entropy);
    return st;
}

tp_status tp_sr25519_derive_soft_public(const uint8_t pub[32], const uint8_t chain_code[32], uint8_t pub_out[32],
                                        tp_err *err) {
    if (!tp_sr25519_valid_public(pub))
        return tp_fail(err, TP_ERR_FORMAT, "sr25519 public key: not the encoding of a usable Ristretto255 point");
    tp_merlin t;
    uint8_t tweak[32], tb[32], child[32];
    soft_tweak(&t, chain_code, pub, tweak);
    /* t = 0 (never in practice) would make tB the identity, which libsodium refuses to output */
    if (crypto_scalarmult_ristretto255_base(tb, tweak) != 0) memset(tb, 0, 32);
    if (crypto_core_ristretto255_add(child, pub, tb) != 0 || sodium_is_zero(child, 32))
        return tp_fail(err, TP_ERR_INTERNAL, "sr25519: the soft-derived public key is the identity");
    memcpy(pub_out, child, 32);
    return TP_OK;
}
