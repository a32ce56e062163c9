/* Signing keys of either kind Substrate accounts use here: ed25519 (libsodium) and sr25519
 * (sr25519.h). A key pair is made from a 32-byte seed (Substrate's mini secret) or from a secret URI
 * the way Substrate tooling reads it (suri below). Holds a secret: wipe it with tp_keypair_clear. */
#ifndef TP_CRYPTO_KEYPAIR_H
#define TP_CRYPTO_KEYPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The numbers are MultiSignature's variant indices (Ed25519 = 0, Sr25519 = 1). */
typedef enum { TP_KEY_ED25519 = 0, TP_KEY_SR25519 = 1 } tp_key_type;

#define TP_KEY_PUBLIC_BYTES 32
#define TP_KEY_SIGNATURE_BYTES 64

typedef struct {
    tp_key_type type;
    uint8_t pub[32];
    /* ed25519: libsodium's secret key (seed ++ public key); sr25519: canonical secret (sr25519.h) */
    uint8_t secret[64];
    uint8_t seed[32]; /* the mini secret it was made from, when known (has_seed) */
    int has_seed;
} tp_keypair;

/* "ed25519" / "sr25519"; NULL for anything else. */
const char *tp_key_type_name(tp_key_type t);
/* Parses a key type name; the error names the accepted ones. */
tp_status tp_key_type_parse(const char *name, tp_key_type *t, tp_err *err);

tp_status tp_keypair_from_seed(tp_key_type t, const uint8_t seed[32], tp_keypair *kp, tp_err *err);
/* A fresh random key pair (from a random seed). */
tp_status tp_keypair_generate(tp_key_type t, tp_keypair *kp, tp_err *err);
/* From a secret URI: "PHRASE[//hard|/soft…][///password]", "0xHEXSEED[//…]" or "//Alice"-style paths
 * on Substrate's development phrase. A BIP-39 phrase gives the mini secret from its entropy (bip39.h).
 * sr25519 takes hard and soft junctions; ed25519 hard ones only (a soft one is an error).
 * As Substrate reads it (sp-core SecretUri): the phrase is everything before the first '/' (a URI
 * that starts with '/' uses the development phrase); the password is everything after the first
 * "///"; a hex seed is exactly 32 bytes and ignores the password. A junction that reads as a decimal
 * u64 is that number (little endian), any other name its SCALE string, hashed (BLAKE2b-256) when the
 * encoding is over 32 bytes. After a soft junction the pair has no seed (has_seed 0). Refusals:
 * TP_ERR_ARG for the URI's shape, TP_ERR_FORMAT for its phrase (bip39.h); *kp is cleared. */
tp_status tp_keypair_from_suri(tp_key_type t, const char *suri, tp_keypair *kp, tp_err *err);

/* Signs msg (sr25519: context "substrate"). */
tp_status tp_keypair_sign(const tp_keypair *kp, const uint8_t *msg, size_t len, uint8_t sig[64], tp_err *err);
/* 0 when sig is pub's valid signature of msg under key type t, -1 otherwise. */
int tp_key_verify(tp_key_type t, const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64]);

void tp_keypair_clear(tp_keypair *kp);

#endif
