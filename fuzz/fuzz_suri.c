/* libFuzzer target for BIP-39 phrases and secret URIs (tp_bip39_to_entropy, tp_keypair_from_suri):
 * they come from users, key files and configs. A refusal must be a clean error that leaves the pair
 * cleared; an accepted phrase must round-trip through its entropy; an accepted URI must give a pair
 * that signs and verifies, and whose kept seed remakes it. Each accepted phrase (and each URI on the
 * development phrase) costs a PBKDF2 of 2048 rounds, about a millisecond. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/bip39.h"
#include "crypto/keypair.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_phrase(const char *s) {
    uint8_t e[TP_BIP39_ENTROPY_MAX], back[TP_BIP39_ENTROPY_MAX];
    size_t len = 0, len2 = 0;
    char phrase[TP_BIP39_PHRASE_MAX];
    tp_err err;
    if (tp_bip39_to_entropy(s, e, &len, &err) != TP_OK) {
        if (err.code != TP_ERR_FORMAT || !err.msg[0]) abort();
        return;
    }
    if (len < 16 || len > 32 || len % 4) abort();
    if (tp_bip39_from_entropy(e, len, phrase, sizeof phrase, &err) != TP_OK) abort();
    if (tp_bip39_to_entropy(phrase, back, &len2, &err) != TP_OK || len2 != len || memcmp(back, e, len)) abort();
}

static void check_suri(tp_key_type t, const char *s) {
    static const tp_keypair zero;
    tp_keypair kp, again;
    tp_err err;
    if (tp_keypair_from_suri(t, s, &kp, &err) != TP_OK) {
        if ((err.code != TP_ERR_FORMAT && err.code != TP_ERR_ARG) || !err.msg[0]) abort();
        if (memcmp(&kp, &zero, sizeof kp)) abort(); /* a refused URI leaves no secret behind */
        return;
    }
    uint8_t sig[64];
    if (kp.type != t || tp_keypair_sign(&kp, (const uint8_t *)"fuzz", 4, sig, &err) != TP_OK) abort();
    if (tp_key_verify(t, kp.pub, (const uint8_t *)"fuzz", 4, sig) != 0) abort();
    if (kp.has_seed) {
        if (tp_keypair_from_seed(t, kp.seed, &again, &err) != TP_OK || memcmp(&again, &kp, sizeof kp)) abort();
        tp_keypair_clear(&again);
    }
    tp_keypair_clear(&kp);
}

/* The first byte picks the key type (its low bit: 0 ed25519, 1 sr25519; the seed files start with '0'
 * or '1'), so each input pays for one PBKDF2, not two; the rest is the text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 1024) return 0;
    tp_key_type t = data[0] & 1 ? TP_KEY_SR25519 : TP_KEY_ED25519;
    char *s = malloc(size); /* exactly the text and its NUL: a read past it is caught */
    if (!s) return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = 0;
    check_phrase(s);
    check_suri(t, s);
    free(s);
    return 0;
}
