/* sr25519: Schnorr signatures over Ristretto255 with Merlin transcripts (schnorrkel), as Substrate
 * and Bittensor sign. Built on libsodium's Ristretto255 group and scalar arithmetic.
 *
 * Secrets are 64 bytes in schnorrkel's canonical form: the secret scalar (32 bytes, little endian,
 * reduced) ++ the signing nonce (32 bytes), as btcli's keyfiles hold them. polkadot-js keeps them in
 * schnorrkel's "ed25519" form instead (the scalar multiplied by the cofactor 8): convert with the two
 * functions below. Signatures use the signing context "substrate". */
#ifndef TP_CRYPTO_SR25519_H
#define TP_CRYPTO_SR25519_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define TP_SR25519_SEED_BYTES 32
#define TP_SR25519_PUBLIC_BYTES 32
#define TP_SR25519_SECRET_BYTES 64
#define TP_SR25519_SIGNATURE_BYTES 64

/* The key pair of a 32-byte mini secret, expanded as Substrate expands it (ExpansionMode::Ed25519). */
void tp_sr25519_from_seed(const uint8_t seed[32], uint8_t secret[64], uint8_t pub[32]);
/* The public key of a canonical secret; an unreduced or zero scalar is an error (TP_ERR_FORMAT). */
tp_status tp_sr25519_public(const uint8_t secret[64], uint8_t pub[32], tp_err *err);
/* Between the canonical form and the "ed25519" form (scalar × 8 ++ nonce) of polkadot-js.
 * from_ed25519_bytes drops the three bits below the cofactor, as schnorrkel does, and refuses a
 * quotient that is not reduced or is zero (TP_ERR_FORMAT). in and secret may be the same buffer. */
tp_status tp_sr25519_from_ed25519_bytes(const uint8_t in[64], uint8_t secret[64], tp_err *err);
void tp_sr25519_to_ed25519_bytes(const uint8_t secret[64], uint8_t out[64]);

/* Signs msg (context "substrate"); the witness mixes the nonce with fresh randomness, as schnorrkel's,
 * so two signatures of one message differ. pub must be the secret's public key (TP_ERR_ARG if not);
 * the signature carries schnorrkel's marker (the top bit of byte 63). */
tp_status tp_sr25519_sign(const uint8_t secret[64], const uint8_t pub[32], const uint8_t *msg, size_t len,
                          uint8_t sig[64], tp_err *err);
/* 0 when sig is a valid signature of msg by pub (context "substrate"), -1 otherwise (including a
 * malformed signature or public key). Refused as schnorrkel refuses them: a signature without the
 * marker (ed25519's, or pre-audit schnorrkel's), a non-canonical s or R. Also refused, as polkadot-js
 * refuses it (schnorrkel would not): the identity as a public key, for which anyone can sign. */
int tp_sr25519_verify(const uint8_t sig[64], const uint8_t *msg, size_t len, const uint8_t pub[32]);

/* Substrate's key derivation with a 32-byte chain code (a junction's: "//Alice" is hard, "/0" soft).
 * Hard: the child's mini secret (expand it with tp_sr25519_from_seed). Soft: the child pair, and the
 * child public key from the public alone. As in schnorrkel, a soft child's nonce seed is drawn with
 * fresh randomness, so only its scalar and public key are reproducible. secret_out may be secret. */
tp_status tp_sr25519_derive_hard(const uint8_t secret[64], const uint8_t chain_code[32], uint8_t seed_out[32],
                                 tp_err *err);
tp_status tp_sr25519_derive_soft(const uint8_t secret[64], const uint8_t chain_code[32], uint8_t secret_out[64],
                                 uint8_t pub_out[32], tp_err *err);
tp_status tp_sr25519_derive_soft_public(const uint8_t pub[32], const uint8_t chain_code[32], uint8_t pub_out[32],
                                        tp_err *err);

#endif
