/* Wallets: an ed25519 hotkey (libsodium) under HOME/wallets/NAME/. The secret key file is created
 * with mode 0600 and refused when anyone but the owner can read it. HOME is ~/.templar unless
 * TEMPLAR_HOME says otherwise; callers resolve it (tp_wallet_home) and pass it in. */
#ifndef TP_NET_WALLET_H
#define TP_NET_WALLET_H

#include <sodium.h>
#include <stddef.h>

#include "core/error.h"

typedef struct {
    char name[128];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    char pk_hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
} tp_wallet;

/* Writes the wallet home directory into out: $TEMPLAR_HOME, else $HOME/.templar. */
tp_status tp_wallet_home(char *out, size_t n, tp_err *err);
/* Names are 1-64 characters of [A-Za-z0-9_.-], not starting with '.'. */
tp_status tp_wallet_check_name(const char *name, tp_err *err);
/* Creates a new hotkey; refuses to overwrite an existing wallet. */
tp_status tp_wallet_create(const char *home, const char *name, tp_wallet *w, tp_err *err);
/* The same with the key derived from a 32-byte seed: reproducible test networks (never for real keys). */
tp_status tp_wallet_create_from_seed(const char *home, const char *name, const uint8_t seed[32], tp_wallet *w,
                                     tp_err *err);
tp_status tp_wallet_load(const char *home, const char *name, tp_wallet *w, tp_err *err);
/* Wipes the secret key from memory. */
void tp_wallet_clear(tp_wallet *w);


#endif
