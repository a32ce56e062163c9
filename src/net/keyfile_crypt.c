/* btcli's keyfile encryption.
 *
 * "$NACL" format (opentensor/bittensor bittensor/keyfile.py encrypt_keyfile_data, v6-v7, PyNaCl;
 * opentensor/btwallet src/keyfile.rs encrypt_keyfile_data / derive_key, v2-v4, sodiumoxide): the key
 * is Argon2i (version 1.3) of the UTF-8 password with the fixed 16-byte salt NACL_SALT below and
 * libsodium's argon2i OPSLIMIT_SENSITIVE / MEMLIMIT_SENSITIVE (8 passes, 512 MiB: PyNaCl's
 * pwhash.argon2i and sodiumoxide's pwhash::argon2i13 both take crypto_pwhash_argon2i_*_SENSITIVE;
 * not the generic crypto_pwhash_*_SENSITIVE, which are Argon2id's), 32 bytes out. The file is
 * b"$NACL" ++ nonce (24) ++ crypto_secretbox_easy (MAC 16 ++ ciphertext): PyNaCl's
 * SecretBox.encrypt returns nonce ++ ciphertext, sodiumoxide's secretbox::seal the same ciphertext.
 *
 * Older formats, refused here (both files above, keyfile_data_is_encrypted_ansible / _legacy): an
 * Ansible Vault ("$ANSIBLE_VAULT" prefix) and the "legacy" Fernet token ("gAAAAA" prefix, PBKDF2). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "net/keyfile_internal.h"

/* NACL_SALT = b"\x13q\x83\xdf\xf1Z\t\xbc\x9c\x90\xb5Q\x879\xe9\xb1" in both sources named above. */
static const uint8_t NACL_SALT[crypto_pwhash_argon2i_SALTBYTES] = {
    0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1,
};

#define RE_ENCRYPT                                                                                                  \
    "re-encrypt it with btcli's current format (\"btcli wallet update\" in bittensor 6-7, or regenerate the " \
    "coldkey from its mnemonic with a current btcli)"

int kf_is_nacl(const uint8_t *b, size_t len) {
    return len >= KF_NACL_MAGIC_LEN && memcmp(b, KF_NACL_MAGIC, KF_NACL_MAGIC_LEN) == 0;
}

tp_status kf_refuse_legacy(const uint8_t *b, size_t len, tp_err *err) {
    if (len >= 14 && memcmp(b, "$ANSIBLE_VAULT", 14) == 0)
        return tp_fail(err, TP_ERR_FORMAT, "the keyfile is encrypted as an Ansible Vault, an old btcli format "
                                           "templar does not read; " RE_ENCRYPT);
    if (len >= 6 && memcmp(b, "gAAAAA", 6) == 0)
        return tp_fail(err, TP_ERR_FORMAT, "the keyfile is encrypted with btcli's legacy Fernet format, which "
                                           "templar does not read; " RE_ENCRYPT);
    return TP_OK;
}

void kf_free_secret(void *p, size_t len) {
    if (!p) return;
    sodium_memzero(p, len);
    free(p);
}

static tp_status derive_key(const char *password, uint8_t key[crypto_secretbox_KEYBYTES], tp_err *err) {
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, password, strlen(password), NACL_SALT,
                      crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE, crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE,
                      crypto_pwhash_ALG_ARGON2I13) != 0)
        return tp_fail(err, TP_ERR_NOMEM, "deriving the keyfile key failed: Argon2i as btcli runs it needs %u MiB "
                                          "of memory",
                       (unsigned)(crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE >> 20));
    return TP_OK;
}

tp_status kf_nacl_decrypt(const uint8_t *blob, size_t len, const char *password, uint8_t **plain, size_t *plain_len,
                          tp_err *err) {
    *plain = NULL;
    *plain_len = 0;
    if (!kf_is_nacl(blob, len)) return tp_fail(err, TP_ERR_INTERNAL, "not a $NACL keyfile");
    if (len < KF_NACL_MIN)
        return tp_fail(err, TP_ERR_FORMAT, "the encrypted ($NACL) keyfile is truncated: %zu bytes, fewer than the "
                                           "%d of its header, nonce and MAC",
                       len, KF_NACL_MIN);
    if (!password) return tp_fail(err, TP_ERR_ARG, "the keyfile is encrypted and no password was given");
    const uint8_t *nonce = blob + KF_NACL_MAGIC_LEN, *box = nonce + crypto_secretbox_NONCEBYTES;
    size_t box_len = len - KF_NACL_MAGIC_LEN - crypto_secretbox_NONCEBYTES;
    size_t n = box_len - crypto_secretbox_MACBYTES;
    uint8_t *out = tp_malloc(n + 1, err);
    if (!out) return TP_ERR_NOMEM;
    uint8_t key[crypto_secretbox_KEYBYTES];
    tp_status st = derive_key(password, key, err);
    if (st == TP_OK && crypto_secretbox_open_easy(out, box, box_len, nonce, key) != 0)
        st = tp_fail(err, TP_ERR_ARG, "wrong password: the encrypted keyfile does not open with it");
    sodium_memzero(key, sizeof key);
    if (st) {
        kf_free_secret(out, n + 1);
        return st;
    }
    out[n] = 0;
    *plain = out;
    *plain_len = n;
    return TP_OK;
}

tp_status kf_nacl_encrypt(const uint8_t *plain, size_t len, const char *password, uint8_t **blob, size_t *blob_len,
                          tp_err *err) {
    *blob = NULL;
    *blob_len = 0;
    size_t n = KF_NACL_MIN + len;
    uint8_t *out = tp_malloc(n, err);
    if (!out) return TP_ERR_NOMEM;
    uint8_t key[crypto_secretbox_KEYBYTES];
    tp_status st = derive_key(password, key, err);
    if (st) {
        free(out);
        return st;
    }
    memcpy(out, KF_NACL_MAGIC, KF_NACL_MAGIC_LEN);
    uint8_t *nonce = out + KF_NACL_MAGIC_LEN;
    randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES, plain, len, nonce, key);
    sodium_memzero(key, sizeof key);
    *blob = out;
    *blob_len = n;
    return TP_OK;
}
