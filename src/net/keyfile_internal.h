/* Shared between the keyfile sources (keyfile.c: files and wallets; keyfile_json.c: the JSON and the
 * key it holds; keyfile_crypt.c: "$NACL" encryption; keyfile_password.c: where a password comes from).
 * Not for use outside src/net/keyfile*.c. */
#ifndef TP_NET_KEYFILE_INTERNAL_H
#define TP_NET_KEYFILE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/keypair.h"

/* "$NACL" ++ nonce (24) ++ secretbox MAC (16) ++ ciphertext (btwallet src/keyfile.rs encrypt_keyfile_data). */
#define KF_NACL_MAGIC "$NACL"
#define KF_NACL_MAGIC_LEN 5
#define KF_NACL_MIN (KF_NACL_MAGIC_LEN + 24 + 16)
/* Keyfiles are a few hundred bytes; anything much larger is not one. */
#define KF_MAX_BYTES 65536
#define KF_PASSWORD_MAX 1024

/* keyfile_crypt.c. Whether bytes start with an encryption marker btcli writes or once wrote. */
int kf_is_nacl(const uint8_t *b, size_t len);
/* TP_ERR_FORMAT naming the legacy format (ansible vault, fernet) and how to re-encrypt, or TP_OK when
 * the bytes are neither. */
tp_status kf_refuse_legacy(const uint8_t *b, size_t len, tp_err *err);
/* Opens a "$NACL" blob: *plain (NUL-terminated, not counted in *plain_len) is the JSON; wipe it with
 * kf_free_secret. A failed MAC is reported as a wrong password. */
tp_status kf_nacl_decrypt(const uint8_t *blob, size_t len, const char *password, uint8_t **plain, size_t *plain_len,
                          tp_err *err);
/* Encrypts plain into a new "$NACL" blob (*blob, free with free(); it holds no secret in clear). */
tp_status kf_nacl_encrypt(const uint8_t *plain, size_t len, const char *password, uint8_t **blob, size_t *blob_len,
                          tp_err *err);
/* Wipes and frees a buffer that held a secret (NULL is fine). */
void kf_free_secret(void *p, size_t len);

/* keyfile_json.c. The key pair of a keyfile's JSON text, checked (see keyfile.h). */
tp_status kf_json_parse(const char *text, size_t len, tp_keypair *kp, tp_err *err);
/* The public key a public keyfile (coldkeypub.txt) states. */
tp_status kf_json_public_key(const char *text, size_t len, uint8_t pub[32], tp_err *err);
/* A keyfile's JSON text for kp: with the secret (phrase may be NULL), or public only (secret == 0).
 * *out is NUL-terminated; wipe it with kf_free_secret(*out, *len). */
tp_status kf_json_write(const tp_keypair *kp, const char *phrase, int secret, char **out, size_t *len, tp_err *err);

/* keyfile_password.c. The password for keyfile `file` (may be NULL) of wallet `wallet`: btwallet's
 * per-file variable, btcli's older per-wallet one, else a prompt on the terminal. wallet NULL: the
 * name of file's directory; "": no per-wallet variable. */
tp_status kf_password(const char *file, const char *wallet, char *out, size_t cap, tp_err *err);

#endif
