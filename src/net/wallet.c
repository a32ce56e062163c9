#include "net/wallet.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/hex.h"

#define KEY_FILE "hotkey"
#define PUB_FILE "hotkey.pub"

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

tp_status tp_wallet_check_name(const char *name, tp_err *err) {
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '.')
        return tp_fail(err, TP_ERR_ARG, "wallet name '%s' must be 1-64 characters and not start with '.'", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                 c == '.';
        if (!ok) return tp_fail(err, TP_ERR_ARG, "wallet name '%s' may hold only letters, digits, '_', '-' and '.'", name);
    }
    return TP_OK;
}

static tp_status wallet_dir(const char *home, const char *name, char *out, size_t n, tp_err *err) {
    tp_status st = tp_wallet_check_name(name, err);
    if (st) return st;
    if (snprintf(out, n, "%s/wallets/%s", home, name) >= (int)n) return tp_fail(err, TP_ERR_ARG, "wallet path too long");
    return TP_OK;
}

/* Writes a file that only the owner may read, atomically (temporary name, then rename). */
static tp_status write_private(const char *path, const char *text, tp_err *err) {
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return tp_fail(err, TP_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    size_t len = strlen(text);
    int bad = write(fd, text, len) != (ssize_t)len || fsync(fd) != 0;
    bad |= close(fd) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return tp_fail(err, TP_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    }
    return TP_OK;
}

static tp_status create(const char *home, const char *name, const uint8_t *seed, tp_wallet *w, tp_err *err) {
    char dir[4096], path[4200];
    tp_status st = wallet_dir(home, name, dir, sizeof dir, err);
    if (st) return st;
    snprintf(path, sizeof path, "%s/" KEY_FILE, dir);
    if (tp_path_exists(path)) return tp_fail(err, TP_ERR_ARG, "wallet '%s' already exists (%s)", name, path);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    if ((st = tp_mkdirs(dir, err))) return st;
    chmod(dir, 0700);
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    if (seed) crypto_sign_seed_keypair(w->pk, w->sk, seed);
    else crypto_sign_keypair(w->pk, w->sk);
    tp_hex(w->pk, sizeof w->pk, w->pk_hex);
    char sk_hex[2 * crypto_sign_SECRETKEYBYTES + 1], text[512];
    tp_hex(w->sk, sizeof w->sk, sk_hex);
    snprintf(text, sizeof text, "{\"type\": \"ed25519\", \"public_key\": \"%s\", \"secret_key\": \"%s\"}\n", w->pk_hex,
             sk_hex);
    sodium_memzero(sk_hex, sizeof sk_hex);
    st = write_private(path, text, err);
    sodium_memzero(text, sizeof text);
    if (st) return st;
    snprintf(path, sizeof path, "%s/" PUB_FILE, dir);
    snprintf(text, sizeof text, "%s\n", w->pk_hex);
    return tp_write_file_atomic(path, text, strlen(text), err);
}

tp_status tp_wallet_create(const char *home, const char *name, tp_wallet *w, tp_err *err) {
    return create(home, name, NULL, w, err);
}

tp_status tp_wallet_create_from_seed(const char *home, const char *name, const uint8_t seed[32], tp_wallet *w,
                                     tp_err *err) {
    return create(home, name, seed, w, err);
}

tp_status tp_wallet_load(const char *home, const char *name, tp_wallet *w, tp_err *err) {
    char dir[4096], path[4200];
    tp_status st = wallet_dir(home, name, dir, sizeof dir, err);
    if (st) return st;
    snprintf(path, sizeof path, "%s/" KEY_FILE, dir);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return tp_fail(err, TP_ERR_IO, "no wallet '%s' (%s: %s); create it with 'templar wallet create %s'", name, path,
                       strerror(errno), name);
    if (sb.st_mode & 077)
        return tp_fail(err, TP_ERR_IO, "%s is readable by others (mode %03o); run 'chmod 600 %s'", path,
                       (unsigned)(sb.st_mode & 0777), path);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    uint8_t *buf;
    size_t len;
    if ((st = tp_read_file(path, 4096, &buf, &len, err))) return st;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
    sodium_memzero(buf, len);
    free(buf);
    const char *pk = root ? json_string_value(json_object_get(root, "public_key")) : NULL;
    const char *sk = root ? json_string_value(json_object_get(root, "secret_key")) : NULL;
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    unsigned char derived[crypto_sign_PUBLICKEYBYTES];
    if (!pk || !sk || tp_unhex(pk, w->pk, sizeof w->pk) || tp_unhex(sk, w->sk, sizeof w->sk))
        st = tp_fail(err, TP_ERR_FORMAT, "%s is not a templar hotkey file", path);
    else if (crypto_sign_ed25519_sk_to_pk(derived, w->sk) != 0 || memcmp(derived, w->pk, sizeof derived))
        st = tp_fail(err, TP_ERR_FORMAT, "%s: the public key does not belong to the secret key", path);
    json_decref(root);
    if (st) {
        tp_wallet_clear(w);
        return st;
    }
    tp_hex(w->pk, sizeof w->pk, w->pk_hex);
    return TP_OK;
}

void tp_wallet_clear(tp_wallet *w) { sodium_memzero(w->sk, sizeof w->sk); }
