/* Wallets: the hotkey a neuron signs with, and a coldkey for the chain calls that need one.
 *
 * A wallet is a btcli wallet (keyfile.h): WALLET_PATH/NAME/hotkeys/HOTKEY (sr25519 or ed25519, plain
 * JSON, mode 0600), WALLET_PATH/NAME/coldkey (usually password-encrypted) and coldkeypub.txt, so a
 * Bittensor user's existing wallet works as it is and btcli can use the wallets templar makes.
 * WALLET_PATH (tp_wallet_path): the one given, else $TEMPLAR_HOME/wallets when TEMPLAR_HOME is set
 * (each local network's neurons), else btcli's ($BT_WALLET_PATH or ~/.bittensor/wallets).
 *
 * templar's own older wallets, an ed25519 hotkey at HOME/wallets/NAME/hotkey (HOME: tp_wallet_home),
 * still load when no hotkey is named and the wallet has no btcli hotkey "default". */
#ifndef TP_NET_WALLET_H
#define TP_NET_WALLET_H

#include <stddef.h>

#include "core/error.h"
#include "crypto/keypair.h"
#include "substrate/ss58.h"

#define TP_WALLET_DEFAULT_HOTKEY "default" /* btcli's */
#define TP_WALLET_NAME_MAX 64

typedef struct {
    char name[TP_WALLET_NAME_MAX + 1];
    char hotkey[TP_WALLET_NAME_MAX + 1]; /* btcli's hotkey name; "" for a coldkey or an older templar wallet */
    tp_keypair key;                      /* holds the secret: tp_wallet_clear wipes it */
    char pk_hex[2 * TP_KEY_PUBLIC_BYTES + 1];
    char ss58[TP_SS58_MAX]; /* the account address (prefix 42) */
} tp_wallet;

/* $TEMPLAR_HOME, else $HOME/.templar: where templar keeps its own files (older wallets, credentials). */
tp_status tp_wallet_home(char *out, size_t n, tp_err *err);
/* The wallets directory: given if not NULL, else as the header says. */
tp_status tp_wallet_path(const char *given, char *out, size_t n, tp_err *err);
/* Wallet and hotkey names are 1-64 characters of [A-Za-z0-9_.-], not starting with '.'. */
tp_status tp_wallet_check_name(const char *name, tp_err *err);

/* Makes hotkey HOTKEY (NULL: "default") of wallet NAME under path (NULL: tp_wallet_path), of key
 * type t, from a 32-byte seed (reproducible test networks only) or fresh randomness (seed NULL).
 * Refuses to overwrite an existing key. */
tp_status tp_wallet_create(const char *path, const char *name, const char *hotkey, tp_key_type t, const uint8_t *seed,
                           tp_wallet *w, tp_err *err);
/* Writes hotkey w (its wallet and hotkey names) under another wallets directory path; refuses to
 * overwrite an existing key. */
tp_status tp_wallet_save_hotkey(const char *path, const tp_wallet *w, tp_err *err);
/* Makes wallet NAME's coldkey (and coldkeypub.txt), encrypted with password unless it is NULL. */
tp_status tp_wallet_create_coldkey(const char *path, const char *name, tp_key_type t, const uint8_t *seed,
                                   const char *password, tp_wallet *w, tp_err *err);
/* Loads hotkey HOTKEY (NULL: "default", or an older templar wallet) of wallet NAME. */
tp_status tp_wallet_load(const char *path, const char *name, const char *hotkey, tp_wallet *w, tp_err *err);
/* Loads wallet NAME's coldkey, asking for its password as keyfile.h says when it is encrypted. An
 * older templar wallet has no coldkey: its one key pays, as it always did. */
tp_status tp_wallet_load_coldkey(const char *path, const char *name, tp_wallet *w, tp_err *err);
/* Wipes the secret key from memory. */
void tp_wallet_clear(tp_wallet *w);

/* A hotkey or coldkey named as text: 64 lowercase hex digits (0x optional), or an SS58 address; out gets the hex form
 * (2·32 + 1 bytes), which is how templar's chains name accounts. */
tp_status tp_account_parse(const char *text, char out[2 * TP_KEY_PUBLIC_BYTES + 1], tp_err *err);

#endif
