/* libFuzzer target for btcli keyfiles (tp_keyfile_parse): the bytes of a file in a wallet directory,
 * which anyone able to write there controls. A key pair accepted must be whole: its public key is the
 * one its secret gives, and it signs what its public key verifies. A refusal is a format error (or
 * memory running out), never anything else.
 *
 * Encrypted ("$NACL") inputs long enough to hold a nonce and a MAC are skipped: opening one runs
 * Argon2i at btcli's limits (512 MiB, seconds), which parse must keep for compatibility, and which
 * would leave the fuzzer a handful of executions a minute. What comes before the key derivation (the
 * prefix and the length checks) is still reached by shorter inputs; after it, a secretbox either opens
 * (the MAC holds, so the JSON inside is what the plain inputs exercise) or does not. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/keyfile.h"

#define NACL_MIN (5 + 24 + 16) /* "$NACL" ++ nonce ++ MAC */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_pair(const tp_keypair *kp) {
    uint8_t sig[64], msg[] = "fuzz";
    tp_err err;
    if (kp->type == TP_KEY_ED25519) {
        uint8_t pub[32];
        crypto_sign_ed25519_sk_to_pk(pub, kp->secret);
        if (memcmp(pub, kp->pub, 32)) abort();
    } else if (kp->type != TP_KEY_SR25519) {
        abort();
    }
    if (tp_keypair_sign(kp, msg, sizeof msg, sig, &err) != TP_OK) abort();
    if (tp_key_verify(kp->type, kp->pub, msg, sizeof msg, sig) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536) return 0;
    if (size >= NACL_MIN && !memcmp(data, "$NACL", 5)) return 0;
    uint8_t *b = malloc(size ? size : 1); /* exactly the input: a read past it is caught */
    if (!b) return 0;
    memcpy(b, data, size);
    tp_keypair kp;
    tp_err err;
    if (tp_keyfile_parse(b, size, "fuzz password", &kp, &err) == TP_OK) {
        check_pair(&kp);
        tp_keypair_clear(&kp);
    } else if (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM && err.code != TP_ERR_INTERNAL) {
        abort();
    }
    free(b);
    return 0;
}
