/* sr25519 keys, signing and verification: schnorrkel's construction (w3f/schnorrkel, sign.rs and
 * keys.rs) on libsodium's Ristretto255 group. A signature on msg by the key (a, A = aB) is
 * R = rB, s = k*a + r, with k the challenge of the transcript
 *   SigningContext: "" = "substrate", sign-bytes = msg, proto-name = "Schnorr-sig", sign:pk = A,
 *   sign:R = R, challenge sign:c (64 bytes, reduced)
 * and r drawn from that transcript rekeyed with the secret nonce and fresh randomness. Only the
 * functions that draw randomness call sodium_init: SHA-512 and the group arithmetic need none. */
#include "crypto/sr25519.h"

#include <sodium.h>
#include <string.h>

#include "crypto/merlin.h"
#include "crypto/sr25519_internal.h"

static const char signing_context[] = "substrate";

/* Ed25519-style secret scalars are multiples of the cofactor 8; schnorrkel keeps them divided by 8
 * (a clean scalar mod l) and multiplies back only for the "ed25519" byte form. */
static void divide_by_cofactor(uint8_t s[32]) {
    uint8_t carry = 0;
    for (int i = 31; i >= 0; i--) {
        uint8_t low = s[i] & 7;
        s[i] = (uint8_t)((s[i] >> 3) | carry);
        carry = (uint8_t)(low << 5);
    }
}

static void multiply_by_cofactor(uint8_t s[32]) {
    uint8_t carry = 0;
    for (int i = 0; i < 32; i++) {
        uint8_t high = s[i] >> 5;
        s[i] = (uint8_t)((s[i] << 3) | carry);
        carry = high;
    }
}

bool tp_sr25519_scalar_is_canonical(const uint8_t s[32]) {
    uint8_t wide[64] = {0}, reduced[32];
    memcpy(wide, s, 32);
    crypto_core_ristretto255_scalar_reduce(reduced, wide);
    bool ok = sodium_memcmp(reduced, s, 32) == 0;
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(reduced, sizeof reduced);
    return ok;
}

tp_status tp_sr25519_check_secret(const uint8_t secret[64], tp_err *err) {
    if (!tp_sr25519_scalar_is_canonical(secret))
        return tp_fail(err, TP_ERR_FORMAT, "sr25519 secret key: the scalar is not reduced modulo the group order");
    if (sodium_is_zero(secret, 32)) return tp_fail(err, TP_ERR_FORMAT, "sr25519 secret key: the scalar is zero");
    return TP_OK;
}

/* schnorrkel would take the identity (all zeros) as a public key, but anyone can sign for it: refuse
 * it, as @scure/sr25519 (polkadot-js) does. */
bool tp_sr25519_valid_public(const uint8_t pub[32]) {
    return crypto_core_ristretto255_is_valid_point(pub) == 1 && !sodium_is_zero(pub, 32);
}

void tp_sr25519_challenge_scalar(tp_merlin *t, const char *label, uint8_t out[32]) {
    uint8_t wide[64];
    tp_merlin_challenge(t, label, wide, sizeof wide);
    crypto_core_ristretto255_scalar_reduce(out, wide);
    sodium_memzero(wide, sizeof wide);
}

void tp_sr25519_from_seed(const uint8_t seed[32], uint8_t secret[64], uint8_t pub[32]) {
    uint8_t h[64];
    crypto_hash_sha512(h, seed, 32);
    /* ed25519's clamp: pointless in a prime-order group, kept by schnorrkel for ed25519 likeness. The
     * quotient lies in [2^251, 2^252), below l, so it is canonical and never zero. */
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
    divide_by_cofactor(h);
    memcpy(secret, h, 64); /* the scalar, then the nonce seed: SHA-512's upper half */
    sodium_memzero(h, sizeof h);
    if (crypto_scalarmult_ristretto255_base(pub, secret) != 0) memset(pub, 0, 32); /* unreachable */
}

tp_status tp_sr25519_public(const uint8_t secret[64], uint8_t pub[32], tp_err *err) {
    tp_status st = tp_sr25519_check_secret(secret, err);
    if (st != TP_OK) return st;
    if (crypto_scalarmult_ristretto255_base(pub, secret) != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "sr25519: the public key is the identity");
    return TP_OK;
}

/* The low three bits of the ed25519 form are dropped, as schnorrkel's from_ed25519_bytes drops them. */
tp_status tp_sr25519_from_ed25519_bytes(const uint8_t in[64], uint8_t secret[64], tp_err *err) {
    uint8_t key[32];
    memcpy(key, in, 32);
    divide_by_cofactor(key);
    tp_status st = TP_OK;
    if (!tp_sr25519_scalar_is_canonical(key))
        st = tp_fail(err, TP_ERR_FORMAT, "sr25519 secret key (ed25519 form): the scalar / 8 is not reduced");
    else if (sodium_is_zero(key, 32))
        st = tp_fail(err, TP_ERR_FORMAT, "sr25519 secret key (ed25519 form): the scalar is zero");
    if (st == TP_OK) {
        memmove(secret + 32, in + 32, 32); /* in and secret may be one buffer */
        memcpy(secret, key, 32);
    }
    sodium_memzero(key, sizeof key);
    return st;
}

void tp_sr25519_to_ed25519_bytes(const uint8_t secret[64], uint8_t out[64]) {
    uint8_t key[32];
    memcpy(key, secret, 32);
    multiply_by_cofactor(key); /* a canonical scalar is below 2^253: times 8 still fits */
    memmove(out + 32, secret + 32, 32);
    memcpy(out, key, 32);
    sodium_memzero(key, sizeof key);
}

/* The transcript of a signature up to (not including) its commitment R. */
static void signing_transcript(tp_merlin *t, const uint8_t *msg, size_t len, const uint8_t pub[32]) {
    static const char proto[] = "Schnorr-sig";
    tp_merlin_init(t, "SigningContext");
    tp_merlin_append(t, "", (const uint8_t *)signing_context, sizeof signing_context - 1);
    tp_merlin_append(t, "sign-bytes", msg, len);
    tp_merlin_append(t, "proto-name", (const uint8_t *)proto, sizeof proto - 1);
    tp_merlin_append(t, "sign:pk", pub, 32);
}

/* schnorrkel's witness_scalar("signing", [nonce]): r depends on the message, the key's nonce seed
 * and the randomness, so neither a repeated random value nor a leaked one exposes the key. */
static void signing_witness(const tp_merlin *t, const uint8_t nonce[32], const uint8_t entropy[32], uint8_t r[32]) {
    tp_merlin_rng rng;
    uint8_t wide[64];
    tp_merlin_rng_init(&rng, t);
    tp_merlin_rng_rekey(&rng, "signing", nonce, 32);
    tp_merlin_rng_finalize(&rng, entropy);
    tp_merlin_rng_fill(&rng, wide, sizeof wide);
    crypto_core_ristretto255_scalar_reduce(r, wide);
    sodium_memzero(wide, sizeof wide);
    tp_merlin_rng_wipe(&rng);
}

/* The signer's public key goes into the transcript; one that is not the secret's gives a signature
 * nobody accepts, so it is refused up front. */
static tp_status check_pair(const uint8_t secret[64], const uint8_t pub[32], tp_err *err) {
    uint8_t mine[32];
    tp_status st = tp_sr25519_public(secret, mine, err);
    if (st == TP_OK && sodium_memcmp(mine, pub, 32) != 0)
        st = tp_fail(err, TP_ERR_ARG, "sr25519: the public key does not belong to the secret key");
    return st;
}

tp_status tp_sr25519_sign_entropy(const uint8_t secret[64], const uint8_t pub[32], const uint8_t *msg, size_t len,
                                  const uint8_t entropy[32], uint8_t sig[64], tp_err *err) {
    if (len > UINT32_MAX) /* Merlin frames lengths as 32 bits */
        return tp_fail(err, TP_ERR_ARG, "sr25519: a message of %zu bytes is too long to sign", len);
    tp_status st = check_pair(secret, pub, err);
    if (st != TP_OK) return st;
    tp_merlin t;
    uint8_t r[32], R[32], k[32], kx[32], s[32];
    signing_transcript(&t, msg, len, pub);
    signing_witness(&t, secret + 32, entropy, r);
    if (crypto_scalarmult_ristretto255_base(R, r) != 0) {
        st = tp_fail(err, TP_ERR_INTERNAL, "sr25519: the signing witness is zero");
    } else {
        tp_merlin_append(&t, "sign:R", R, 32);
        tp_sr25519_challenge_scalar(&t, "sign:c", k);
        crypto_core_ristretto255_scalar_mul(kx, k, secret);
        crypto_core_ristretto255_scalar_add(s, kx, r);
        memcpy(sig, R, 32);
        memcpy(sig + 32, s, 32);
        sig[63] |= 0x80; /* schnorrkel's marker: tells sr25519 from ed25519 signatures */
    }
    sodium_memzero(r, sizeof r);
    sodium_memzero(kx, sizeof kx);
    sodium_memzero(s, sizeof s);
    tp_merlin_wipe(&t);
    return st;
}

tp_status tp_sr25519_sign(const uint8_t secret[64], const uint8_t pub[32], const uint8_t *msg, size_t len,
                          uint8_t sig[64], tp_err *err) {
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    uint8_t entropy[32];
    randombytes_buf(entropy, sizeof entropy);
    tp_status st = tp_sr25519_sign_entropy(secret, pub, msg, len, entropy, sig, err);
    sodium_memzero(entropy, sizeof entropy);
    return st;
}

/* Checks R == sB - kA on the encodings, as schnorrkel compares compressed points: an R that is not
 * the canonical encoding of its point never matches. */
int tp_sr25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t pub[32]) {
    uint8_t s[32], k[32], sb[32], ka[32], r[32];
    if (len > UINT32_MAX) return -1;
    if (!(sig[63] & 0x80)) return -1; /* no marker: an ed25519 or pre-audit schnorrkel signature */
    memcpy(s, sig + 32, 32);
    s[31] &= 0x7f;
    if (!tp_sr25519_scalar_is_canonical(s) || !tp_sr25519_valid_public(pub)) return -1;
    tp_merlin t;
    signing_transcript(&t, msg, len, pub);
    tp_merlin_append(&t, "sign:R", sig, 32);
    tp_sr25519_challenge_scalar(&t, "sign:c", k);
    /* libsodium refuses to output the identity; it encodes as all zeros, which sub accepts */
    if (crypto_scalarmult_ristretto255_base(sb, s) != 0) memset(sb, 0, 32);
    if (crypto_scalarmult_ristretto255(ka, k, pub) != 0) memset(ka, 0, 32);
    if (crypto_core_ristretto255_sub(r, sb, ka) != 0) return -1;
    return memcmp(r, sig, 32) == 0 ? 0 : -1;
}
