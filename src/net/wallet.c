#include "net/wallet.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "net/keyfile.h"

#define LEGACY_KEY_FILE "hotkey" /* templar's older wallets: HOME/wallets/NAME/hotkey */

tp_status tp_wallet_home(char *out, size_t n, tp_err *err) {
    const char *home = getenv("TEMPLAR_HOME");
    if (home && *home) {
        if (snprintf(out, n, "%s", home) >= (int)n) return tp_fail(err, TP_ERR_ARG, "TEMPLAR_HOME is too long");
        return TP_OK;
    }
    const char *user = getenv("HOME");
    if (!user || !*user) return tp_fail(err, TP_ERR_ARG, "neither TEMPLAR_HOME nor HOME is set");
    if (snprintf(out, n, "%s/.templar", user) >= (int)n) return tp_fail(err, TP_ERR_ARG, "HOME is too long");
    return TP_OK;
}

tp_status tp_wallet_path(const char *given, char *out, size_t n, tp_err *err) {
    const char *home = getenv("TEMPLAR_HOME");
    if (!given && home && *home) {
        if (snprintf(out, n, "%s/wallets", home) >= (int)n) return tp_fail(err, TP_ERR_ARG, "TEMPLAR_HOME is too long");
        return TP_OK;
    }
    return tp_btcli_wallet_path(given, out, n, err);
}

tp_status tp_wallet_check_name(const char *name, tp_err *err) {
    size_t n = strlen(name);
    if (n == 0 || n > TP_WALLET_NAME_MAX || name[0] == '.')
        return tp_fail(err, TP_ERR_ARG, "wallet name '%.80s' must be 1-%d characters and not start with '.'", name,
                       TP_WALLET_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                 c == '.';
        if (!ok) return tp_fail(err, TP_ERR_ARG, "wallet name '%s' may hold only letters, digits, '_', '-' and '.'", name);
    }
    return TP_OK;
}

/* Fills w's names and public forms from w->key. */
static tp_status finish(tp_wallet *w, const char *name, const char *hotkey, tp_err *err) {
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(w->hotkey, sizeof w->hotkey, "%s", hotkey ? hotkey : "");
    tp_hex(w->key.pub, TP_KEY_PUBLIC_BYTES, w->pk_hex);
    return tp_ss58_encode(TP_SS58_BITTENSOR, w->key.pub, w->ss58, err);
}

/* PATH/NAME/hotkeys/HOTKEY, PATH/NAME/coldkey (hotkey NULL) or PATH/NAME/coldkeypub.txt (pub). */
static tp_status key_file(const char *path, const char *name, const char *hotkey, int pub, char *out, size_t n,
                          tp_err *err) {
    char dir[TP_WALLET_PATH_MAX];
    tp_status st = tp_wallet_check_name(name, err);
    if (!st && hotkey) st = tp_wallet_check_name(hotkey, err);
    if (!st) st = tp_wallet_path(path, dir, sizeof dir, err);
    if (st) return st;
    int len = hotkey ? snprintf(out, n, "%s/%s/hotkeys/%s", dir, name, hotkey)
                     : snprintf(out, n, "%s/%s/%s", dir, name, pub ? "coldkeypub.txt" : "coldkey");
    return len < 0 || (size_t)len >= n ? tp_fail(err, TP_ERR_ARG, "wallet path too long") : TP_OK;
}

/* Makes the directory holding file (mode 0700, as btcli's). */
static tp_status make_parent(const char *file, tp_err *err) {
    char dir[TP_WALLET_PATH_MAX + 300];
    snprintf(dir, sizeof dir, "%s", file);
    *strrchr(dir, '/') = 0;
    tp_status st = tp_mkdirs(dir, err);
    if (!st) chmod(dir, 0700);
    return st;
}

static tp_status new_key(tp_key_type t, const uint8_t *seed, tp_keypair *kp, tp_err *err) {
    return seed ? tp_keypair_from_seed(t, seed, kp, err) : tp_keypair_generate(t, kp, err);
}

tp_status tp_wallet_save_hotkey(const char *path, const tp_wallet *w, tp_err *err) {
    char file[TP_WALLET_PATH_MAX + 300];
    const char *hotkey = w->hotkey[0] ? w->hotkey : TP_WALLET_DEFAULT_HOTKEY;
    tp_status st = key_file(path, w->name, hotkey, 0, file, sizeof file, err);
    if (st) return st;
    if (tp_path_exists(file)) return tp_fail(err, TP_ERR_ARG, "wallet '%s' already has hotkey '%s' (%s)", w->name, hotkey, file);
    return (st = make_parent(file, err)) ? st : tp_keyfile_write(file, &w->key, NULL, NULL, err);
}

tp_status tp_wallet_create(const char *path, const char *name, const char *hotkey, tp_key_type t, const uint8_t *seed,
                           tp_wallet *w, tp_err *err) {
    memset(w, 0, sizeof *w);
    hotkey = hotkey ? hotkey : TP_WALLET_DEFAULT_HOTKEY;
    tp_status st = tp_wallet_check_name(name, err);
    if (!st) st = tp_wallet_check_name(hotkey, err);
    if (!st) st = new_key(t, seed, &w->key, err);
    if (!st) st = finish(w, name, hotkey, err);
    if (!st) st = tp_wallet_save_hotkey(path, w, err);
    if (st) tp_wallet_clear(w);
    return st;
}

tp_status tp_wallet_create_coldkey(const char *path, const char *name, tp_key_type t, const uint8_t *seed,
                                   const char *password, tp_wallet *w, tp_err *err) {
    char file[TP_WALLET_PATH_MAX + 300], pub[TP_WALLET_PATH_MAX + 300];
    memset(w, 0, sizeof *w);
    tp_status st = key_file(path, name, NULL, 0, file, sizeof file, err);
    if (!st) st = key_file(path, name, NULL, 1, pub, sizeof pub, err);
    if (st) return st;
    if (tp_path_exists(file)) return tp_fail(err, TP_ERR_ARG, "wallet '%s' already has a coldkey (%s)", name, file);
    if ((st = make_parent(file, err)) || (st = new_key(t, seed, &w->key, err)) ||
        (st = tp_keyfile_write(file, &w->key, NULL, password, err)) || (st = tp_keyfile_write_public(pub, &w->key, err)) ||
        (st = finish(w, name, NULL, err)))
        tp_wallet_clear(w);
    return st;
}

/* templar's older wallet format: {"type": "ed25519", "public_key": HEX, "secret_key": HEX} (libsodium's). */
static tp_status load_legacy(const char *file, tp_keypair *kp, tp_err *err) {
    uint8_t *buf;
    size_t len;
    tp_status st = tp_read_file(file, 4096, &buf, &len, err);
    if (st) return st;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    sodium_memzero(buf, len);
    free(buf);
    const char *pk = root ? json_string_value(json_object_get(root, "public_key")) : NULL;
    const char *sk = root ? json_string_value(json_object_get(root, "secret_key")) : NULL;
    uint8_t secret[64], pub[32];
    if (!pk || !sk || tp_unhex(sk, secret, sizeof secret) || tp_unhex(pk, pub, sizeof pub))
        st = tp_fail(err, TP_ERR_FORMAT, "%s is not a templar hotkey file", file);
    /* libsodium's secret key is seed ++ public key: the seed remakes the pair. */
    else if (!(st = tp_keypair_from_seed(TP_KEY_ED25519, secret, kp, err)) && memcmp(pub, kp->pub, 32))
        st = tp_fail(err, TP_ERR_FORMAT, "%s: the public key does not belong to the secret key", file);
    sodium_memzero(secret, sizeof secret);
    json_decref(root);
    return st;
}

/* The older wallet of name, when it exists: *found says whether it does. */
static tp_status try_legacy(const char *name, tp_wallet *w, int *found, tp_err *err) {
    char home[TP_WALLET_PATH_MAX], file[TP_WALLET_PATH_MAX + 200];
    *found = 0;
    tp_status st = tp_wallet_home(home, sizeof home, err);
    if (st) return st;
    snprintf(file, sizeof file, "%s/wallets/%s/" LEGACY_KEY_FILE, home, name);
    struct stat sb;
    if (stat(file, &sb) != 0) return TP_OK;
    *found = 1;
    if (sb.st_mode & 077)
        return tp_fail(err, TP_ERR_IO, "%s is readable by others (mode %03o); run 'chmod 600 %s'", file,
                       (unsigned)(sb.st_mode & 0777), file);
    return load_legacy(file, &w->key, err);
}

tp_status tp_wallet_load(const char *path, const char *name, const char *hotkey, tp_wallet *w, tp_err *err) {
    char file[TP_WALLET_PATH_MAX + 300];
    memset(w, 0, sizeof *w);
    const char *hk = hotkey ? hotkey : TP_WALLET_DEFAULT_HOTKEY;
    tp_status st = key_file(path, name, hk, 0, file, sizeof file, err);
    if (st) return st;
    int legacy = 0;
    if (!tp_path_exists(file) && !hotkey && !path && (st = try_legacy(name, w, &legacy, err))) return st;
    if (legacy) return finish(w, name, NULL, err);
    if (!tp_path_exists(file))
        return tp_fail(err, TP_ERR_IO, "no hotkey '%s' in wallet '%s' (%s); create it with 'templar wallet create %s%s%s'",
                       hk, name, file, name, hotkey ? " --hotkey " : "", hotkey ? hotkey : "");
    if ((st = tp_keyfile_read(file, name, &w->key, err)) || (st = finish(w, name, hk, err))) tp_wallet_clear(w);
    return st;
}

tp_status tp_wallet_load_coldkey(const char *path, const char *name, tp_wallet *w, tp_err *err) {
    char file[TP_WALLET_PATH_MAX + 300];
    memset(w, 0, sizeof *w);
    tp_status st = key_file(path, name, NULL, 0, file, sizeof file, err);
    if (st) return st;
    int legacy = 0;
    if (!tp_path_exists(file) && !path && (st = try_legacy(name, w, &legacy, err))) return st;
    if (legacy) return finish(w, name, NULL, err);
    if (!tp_path_exists(file))
        return tp_fail(err, TP_ERR_IO, "wallet '%s' has no coldkey (%s)", name, file);
    if ((st = tp_keyfile_read(file, name, &w->key, err)) || (st = finish(w, name, NULL, err))) tp_wallet_clear(w);
    return st;
}

void tp_wallet_clear(tp_wallet *w) { tp_keypair_clear(&w->key); }

tp_status tp_account_parse(const char *text, char out[2 * TP_KEY_PUBLIC_BYTES + 1], tp_err *err) {
    uint8_t account[32];
    const char *hex = strncmp(text, "0x", 2) ? text : text + 2;
    if (strlen(hex) == 64 && !tp_unhex(hex, account, 32)) {
        tp_hex(account, 32, out);
        return TP_OK;
    }
    tp_err why;
    if (tp_ss58_decode(text, account, NULL, &why))
        return tp_fail(err, TP_ERR_ARG, "'%.80s' is neither 64 lowercase hex digits nor an SS58 address (%s)", text,
                       why.msg);
    tp_hex(account, 32, out);
    return TP_OK;
}
