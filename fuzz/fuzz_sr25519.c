/* libFuzzer target for sr25519: public keys and signatures come from the chain and other nodes
 * (tp_sr25519_verify), secret keys from keyfiles in either form (tp_sr25519_from_ed25519_bytes,
 * tp_sr25519_public). The input is read as pub (32) ++ sig (64) ++ msg, and its first 64 bytes as a
 * secret key in both forms. Verify must answer 0 or -1; a secret accepted in either form must have a
 * public key, sign messages that verify (and stop verifying when changed), round-trip between the
 * forms, and derive the same soft child from the secret as from the public key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/sr25519.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_key(const uint8_t secret[64], const uint8_t *msg, size_t len) {
    uint8_t pub[32], sig[64], child[64], child_pub[32], child_pub2[32];
    tp_err err;
    if (tp_sr25519_public(secret, pub, &err) != TP_OK) abort();
    if (tp_sr25519_sign(secret, pub, msg, len, sig, &err) != TP_OK) abort();
    if (tp_sr25519_verify(sig, msg, len, pub) != 0) abort();
    sig[len % 64] ^= 1;
    if (tp_sr25519_verify(sig, msg, len, pub) != -1) abort();
    const uint8_t *chain_code = secret + 32; /* any 32 bytes will do */
    if (tp_sr25519_derive_soft(secret, chain_code, child, child_pub, &err) != TP_OK) abort();
    if (tp_sr25519_derive_soft_public(pub, chain_code, child_pub2, &err) != TP_OK) abort();
    if (memcmp(child_pub, child_pub2, 32)) abort();
}

static void ed25519_form(const uint8_t in[64], const uint8_t *msg, size_t len) {
    uint8_t secret[64], back[64], want[64];
    tp_err err;
    if (tp_sr25519_from_ed25519_bytes(in, secret, &err) != TP_OK) {
        if (err.code != TP_ERR_FORMAT) abort();
        return;
    }
    tp_sr25519_to_ed25519_bytes(secret, back);
    memcpy(want, in, 64);
    want[0] &= 0xf8; /* the bits below the cofactor are dropped */
    if (memcmp(back, want, 64)) abort();
    check_key(secret, msg, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    if (size >= 96) {
        int v = tp_sr25519_verify(data + 32, data + 96, size - 96, data);
        if (v != 0 && v != -1) abort();
    }
    if (size >= 64) {
        uint8_t pub[32];
        tp_err err;
        ed25519_form(data, data + 64, size - 64);
        if (tp_sr25519_public(data, pub, &err) == TP_OK) check_key(data, data + 64, size - 64);
        else if (err.code != TP_ERR_FORMAT) abort();
    }
    if (size >= 32) {
        uint8_t out[32], chain_code[32] = {0};
        tp_err err;
        if (tp_sr25519_derive_soft_public(data, chain_code, out, &err) != TP_OK && err.code != TP_ERR_FORMAT) abort();
    }
    return 0;
}
