/* btcli wallets (Bittensor's layout and keyfile format), so that a Bittensor user's existing keys sign
 * for templar as they are. Sources for each fact are cited in keyfile.c, keyfile_json.c,
 * keyfile_crypt.c and keyfile_password.c (opentensor/btwallet v2-v4, opentensor/bittensor v6-v7).
 *
 * Layout: WALLET_PATH/NAME/coldkey (the coldkey, usually password-encrypted), NAME/coldkeypub.txt (its
 * public half), NAME/hotkeys/HOTKEY (a hotkey, plain). WALLET_PATH defaults to ~/.bittensor/wallets.
 * A keyfile is JSON: {"accountId": "0x…", "publicKey": "0x…", "privateKey": "0x…" (64 bytes; for
 * sr25519 schnorrkel's canonical SecretKey bytes, scalar ++ nonce — polkadot-js's "ed25519" form,
 * scalar × 8, is read too), "secretPhrase": …, "secretSeed": "0x…" (32 bytes), "ss58Address": "5…"};
 * an encrypted one is "$NACL" ++ nonce (24) ++ NaCl secretbox of that JSON under an Argon2i key of the
 * password (btcli's salt and limits: 8 passes, 512 MiB). The older encrypted formats (ansible vault,
 * fernet) are refused with a message saying how to re-encrypt. The key type is not in btcli's JSON: it
 * is the one whose public key the secret gives (sr25519 first); templar writes "cryptoType": "ed25519"
 * for ed25519 keys beside it, and honours the field when present.
 *
 * Keyfiles holding a secret are written 0600 (directories created 0700), via a temporary name and a
 * rename, never over an existing file; one that group or others may open is refused. */
#ifndef TP_NET_KEYFILE_H
#define TP_NET_KEYFILE_H

#include <stddef.h>

#include "core/error.h"
#include "crypto/keypair.h"

#define TP_WALLET_PATH_MAX 1024

/* The wallets directory: path if given, else $BT_WALLET_PATH, else $HOME/.bittensor/wallets. */
tp_status tp_btcli_wallet_path(const char *path, char *out, size_t cap, tp_err *err);

/* The password of wallet NAME's encrypted coldkey: from btcli's per-wallet environment variable
 * (BT_COLD_PW_<NAME>, the password in clear; the name upper-cased, '-' also accepted as '_'), else a
 * prompt without echo on the controlling terminal, else an error saying which variable to set. Never
 * logged. (Current btwallet reads a per-file variable instead, which tp_keyfile_read also tries.) */
tp_status tp_btcli_password(const char *wallet, char *out, size_t cap, tp_err *err);

/* Reads a keyfile holding a secret (refusing one that group or others may open). An encrypted one's
 * password comes from btwallet's per-file variable BT_PW_<FILE PATH, '/' and '.' as '_', upper case>
 * (holding base64 of the password XOR the variable's name, as btwallet stores it), else as
 * tp_btcli_password for wallet (NULL: the name of file's directory; "": no per-wallet variable). */
tp_status tp_keyfile_read(const char *file, const char *wallet, tp_keypair *kp, tp_err *err);
/* Parses keyfile bytes already read (the JSON, or an encrypted "$NACL" blob with password). */
tp_status tp_keyfile_parse(const uint8_t *bytes, size_t len, const char *password, tp_keypair *kp, tp_err *err);
/* Writes kp as a keyfile; password non-NULL encrypts it ("$NACL"). phrase may be NULL. */
tp_status tp_keyfile_write(const char *file, const tp_keypair *kp, const char *phrase, const char *password,
                           tp_err *err);
/* Writes the public half (coldkeypub.txt's JSON, mode 0644), never over an existing file. */
tp_status tp_keyfile_write_public(const char *file, const tp_keypair *kp, tp_err *err);

/* The hotkey HOTKEY and the coldkey of wallet NAME under path (tp_btcli_wallet_path); NAME and HOTKEY
 * default to "default" when NULL. coldkey may be NULL to read the hotkey only; when read, it must match
 * coldkeypub.txt if that exists. */
tp_status tp_btcli_load(const char *path, const char *name, const char *hotkey, tp_keypair *hot, tp_keypair *cold,
                        tp_err *err);

#endif
