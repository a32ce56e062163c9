/* Internals of sr25519.c and sr25519_derive.c, and the deterministic cores of the two operations
 * that draw randomness, so tests can reproduce another implementation's output byte for byte
 * (@scure/sr25519 takes its randomness as an argument too). Not for other code: signing with
 * chosen "randomness" gives up the protection against a broken nonce seed. */
#ifndef TP_CRYPTO_SR25519_INTERNAL_H
#define TP_CRYPTO_SR25519_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/merlin.h"

/* tp_sr25519_sign with the witness's 32 random bytes given. */
tp_status tp_sr25519_sign_entropy(const uint8_t secret[64], const uint8_t pub[32], const uint8_t *msg, size_t len,
                                  const uint8_t entropy[32], uint8_t sig[64], tp_err *err);
/* tp_sr25519_derive_soft with the random bytes of the child's nonce given. */
tp_status tp_sr25519_derive_soft_entropy(const uint8_t secret[64], const uint8_t chain_code[32],
                                         const uint8_t entropy[32], uint8_t secret_out[64], uint8_t pub_out[32],
                                         tp_err *err);

/* Whether the 32 little-endian bytes are a scalar below the group order l. */
bool tp_sr25519_scalar_is_canonical(const uint8_t s[32]);
/* A usable secret: a canonical, non-zero scalar (the nonce half can be anything). */
tp_status tp_sr25519_check_secret(const uint8_t secret[64], tp_err *err);
/* A usable public key: the canonical encoding of a Ristretto255 point other than the identity. */
bool tp_sr25519_valid_public(const uint8_t pub[32]);
/* schnorrkel's challenge_scalar: 64 challenge bytes reduced modulo l. */
void tp_sr25519_challenge_scalar(tp_merlin *t, const char *label, uint8_t out[32]);

#endif
