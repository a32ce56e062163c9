/* btcli wallets on disk: where they are, reading keyfiles (with the permission check) and writing them
 * (0600, temporary name then a rename that never replaces an existing file).
 *
 * Layout (opentensor/btwallet src/wallet.rs create_coldkey_file / coldkeypub_file / create_hotkey_file,
 * src/constants.rs): WALLET_PATH/NAME/coldkey, WALLET_PATH/NAME/coldkeypub.txt,
 * WALLET_PATH/NAME/hotkeys/HOTKEY; WALLET_PATH defaults to "~/.bittensor/wallets/" with "~" expanded
 * (shellexpand::tilde), and $BT_WALLET_PATH, when set, replaces that default (it is the default of
 * --wallet.path in Wallet::add_args, src/wallet.rs and src/python_bindings.rs); NAME and HOTKEY default
 * to "default" (BT_WALLET_NAME, BT_WALLET_HOTKEY in src/constants.rs). */
#include "net/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "net/keyfile_internal.h"
#include "substrate/ss58.h"

#define DEFAULT_WALLET_PATH "~/.bittensor/wallets"
#define DEFAULT_NAME "default"

tp_status tp_btcli_wallet_path(const char *path, char *out, size_t cap, tp_err *err) {
    const char *src = path && *path ? path : getenv("BT_WALLET_PATH");
    if (!src || !*src) src = DEFAULT_WALLET_PATH;
    const char *home = "", *rest = src;
    if (src[0] == '~' && (src[1] == '/' || src[1] == 0)) {
        home = getenv("HOME");
        if (!home || !*home) return tp_fail(err, TP_ERR_ARG, "the wallet path %s needs $HOME, which is not set", src);
        rest = src + 1;
    }
    int n = snprintf(out, cap, "%s%s", home, rest);
    if (n < 0 || (size_t)n >= cap) return tp_fail(err, TP_ERR_ARG, "the wallet path %s is too long", src);
    while (n > 1 && out[n - 1] == '/') out[--n] = 0; /* as Rust's Path::join sees "wallets/" */
    return TP_OK;
}

/* Reads a keyfile that holds a secret, refusing one that others than its owner can open. */
static tp_status read_private(const char *file, uint8_t **out, size_t *len, tp_err *err) {
    *out = NULL;
    *len = 0;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return tp_fail(err, TP_ERR_IO, "cannot open keyfile %s: %s", file, strerror(errno));
    struct stat sb;
    tp_status st = TP_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) st = tp_fail(err, TP_ERR_IO, "%s is not a regular file", file);
    else if (sb.st_mode & 077)
        st = tp_fail(err, TP_ERR_IO, "keyfile %s holds a secret key but others than its owner may open it (mode %03o); "
                                     "run 'chmod 600 %s'",
                     file, (unsigned)(sb.st_mode & 0777), file);
    else if (sb.st_size > KF_MAX_BYTES)
        st = tp_fail(err, TP_ERR_FORMAT, "%s is %lld bytes, too large for a keyfile", file, (long long)sb.st_size);
    size_t n = st ? 0 : (size_t)sb.st_size, got = 0;
    uint8_t *buf = st ? NULL : tp_malloc(n + 1, err);
    if (!st && !buf) st = TP_ERR_NOMEM;
    while (!st && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) st = tp_fail(err, TP_ERR_IO, "reading %s: %s", file, r < 0 ? strerror(errno) : "file shrank");
        else got += (size_t)r;
    }
    close(fd);
    if (st) {
        kf_free_secret(buf, n + 1);
        return st;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return TP_OK;
}

tp_status tp_keyfile_parse(const uint8_t *bytes, size_t len, const char *password, tp_keypair *kp, tp_err *err) {
    memset(kp, 0, sizeof *kp);
    if (!kf_is_nacl(bytes, len)) {
        tp_status st = kf_refuse_legacy(bytes, len, err);
        return st ? st : kf_json_parse((const char *)bytes, len, kp, err);
    }
    uint8_t *plain;
    size_t n;
    tp_status st = kf_nacl_decrypt(bytes, len, password, &plain, &n, err);
    if (st) return st;
    st = kf_json_parse((const char *)plain, n, kp, err);
    kf_free_secret(plain, n + 1);
    if (st == TP_ERR_FORMAT) tp_wrap(err, "the decrypted keyfile");
    return st;
}

tp_status tp_keyfile_read(const char *file, const char *wallet, tp_keypair *kp, tp_err *err) {
    uint8_t *bytes;
    size_t len;
    memset(kp, 0, sizeof *kp);
    tp_status st = read_private(file, &bytes, &len, err);
    if (st) return st;
    char password[KF_PASSWORD_MAX];
    const char *pw = NULL;
    if (kf_is_nacl(bytes, len) && len >= KF_NACL_MIN) { /* a truncated one fails without asking */
        if ((st = kf_password(file, wallet, password, sizeof password, err))) {
            kf_free_secret(bytes, len + 1);
            return st;
        }
        pw = password;
    }
    st = tp_keyfile_parse(bytes, len, pw, kp, err);
    sodium_memzero(password, sizeof password);
    kf_free_secret(bytes, len + 1);
    return st ? tp_wrap(err, "keyfile %s", file) : TP_OK;
}

/* Creates the missing directories above file, mode 0700. */
static tp_status make_parents(const char *file, tp_err *err) {
    char buf[TP_WALLET_PATH_MAX + 512];
    if (snprintf(buf, sizeof buf, "%s", file) >= (int)sizeof buf) return tp_fail(err, TP_ERR_ARG, "path too long: %s", file);
    for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = 0;
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return tp_fail(err, TP_ERR_IO, "cannot create directory %s: %s", buf, strerror(errno));
        *p = '/';
    }
    return TP_OK;
}

static tp_status write_all(int fd, const void *data, size_t len) {
    const uint8_t *p = data;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return TP_ERR_IO;
        p += r;
        len -= (size_t)r;
    }
    return TP_OK;
}

/* Moves tmp to file unless file exists (atomically where the file system allows). */
static int place_new(const char *tmp, const char *file) {
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, file, RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
    if (link(tmp, file) != 0) return -1; /* link never replaces; the temporary name goes after */
    unlink(tmp);
    return 0;
}

/* Writes a new file with mode, via a temporary name; an existing file is never replaced. */
static tp_status write_new(const char *file, const void *data, size_t len, mode_t mode, tp_err *err) {
    if (tp_path_exists(file))
        return tp_fail(err, TP_ERR_ARG, "keyfile %s already exists; templar never overwrites one (move it away first)", file);
    tp_status st = make_parents(file, err);
    if (st) return st;
    char tmp[TP_WALLET_PATH_MAX + 600];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%08x", file, (long)getpid(), randombytes_random()) >= (int)sizeof tmp)
        return tp_fail(err, TP_ERR_ARG, "path too long: %s", file);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return tp_fail(err, TP_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    int bad = fchmod(fd, mode) != 0 || write_all(fd, data, len) != TP_OK || fsync(fd) != 0;
    int saved = errno;
    bad |= close(fd) != 0;
    if (bad) {
        unlink(tmp);
        return tp_fail(err, TP_ERR_IO, "writing %s: %s", tmp, strerror(saved));
    }
    if (place_new(tmp, file) != 0) {
        saved = errno;
        unlink(tmp);
        if (saved == EEXIST)
            return tp_fail(err, TP_ERR_ARG, "keyfile %s already exists; templar never overwrites one (move it away first)",
                           file);
        return tp_fail(err, TP_ERR_IO, "renaming %s to %s: %s", tmp, file, strerror(saved));
    }
    tp_fsync_dir_of(file);
    return TP_OK;
}

tp_status tp_keyfile_write(const char *file, const tp_keypair *kp, const char *phrase, const char *password,
                           tp_err *err) {
    char *json;
    size_t len;
    tp_status st = kf_json_write(kp, phrase, 1, &json, &len, err);
    if (st) return st;
    if (!password) {
        st = write_new(file, json, len, 0600, err);
        kf_free_secret(json, len + 1);
        return st;
    }
    uint8_t *blob;
    size_t blob_len;
    st = kf_nacl_encrypt((const uint8_t *)json, len, password, &blob, &blob_len, err);
    kf_free_secret(json, len + 1);
    if (st) return st;
    st = write_new(file, blob, blob_len, 0600, err);
    free(blob);
    return st;
}

tp_status tp_keyfile_write_public(const char *file, const tp_keypair *kp, tp_err *err) {
    char *json;
    size_t len;
    tp_status st = kf_json_write(kp, NULL, 0, &json, &len, err);
    if (st) return st;
    st = write_new(file, json, len, 0644, err);
    free(json);
    return st;
}

/* A wallet or hotkey name is one path component. */
static tp_status check_component(const char *what, const char *s, tp_err *err) {
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strchr(s, '/') || strlen(s) > 255)
        return tp_fail(err, TP_ERR_ARG, "%s name '%s' is not a file name", what, s);
    return TP_OK;
}

/* coldkeypub.txt, when present, must state cold's public key. */
static tp_status check_coldkeypub(const char *wallet_dir, const tp_keypair *cold, tp_err *err) {
    char file[TP_WALLET_PATH_MAX + 300];
    snprintf(file, sizeof file, "%s/coldkeypub.txt", wallet_dir);
    if (!tp_path_exists(file)) return TP_OK;
    uint8_t *text, pub[32];
    size_t len;
    tp_status st = tp_read_file(file, KF_MAX_BYTES, &text, &len, err);
    if (st) return st;
    st = kf_json_public_key((const char *)text, len, pub, err);
    free(text);
    if (st) return tp_wrap(err, "%s", file);
    if (memcmp(pub, cold->pub, 32) == 0) return TP_OK;
    char a[TP_SS58_MAX], b[TP_SS58_MAX];
    if (tp_ss58_encode(TP_SS58_BITTENSOR, pub, a, err) || tp_ss58_encode(TP_SS58_BITTENSOR, cold->pub, b, err)) return err->code;
    return tp_fail(err, TP_ERR_FORMAT, "%s states %s but the wallet's coldkey is %s", file, a, b);
}

static tp_status load_cold(const char *wallet_dir, const char *name, tp_keypair *cold, tp_err *err) {
    char file[TP_WALLET_PATH_MAX + 300];
    snprintf(file, sizeof file, "%s/coldkey", wallet_dir);
    tp_status st = tp_keyfile_read(file, name, cold, err);
    if (!st) st = check_coldkeypub(wallet_dir, cold, err);
    if (st) tp_keypair_clear(cold);
    return st;
}

tp_status tp_btcli_load(const char *path, const char *name, const char *hotkey, tp_keypair *hot, tp_keypair *cold,
                        tp_err *err) {
    char root[TP_WALLET_PATH_MAX], dir[TP_WALLET_PATH_MAX + 260], file[TP_WALLET_PATH_MAX + 540];
    name = name && *name ? name : DEFAULT_NAME;
    hotkey = hotkey && *hotkey ? hotkey : DEFAULT_NAME;
    memset(hot, 0, sizeof *hot);
    tp_status st;
    if ((st = tp_btcli_wallet_path(path, root, sizeof root, err)) || (st = check_component("wallet", name, err)) ||
        (st = check_component("hotkey", hotkey, err)))
        return st;
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    snprintf(file, sizeof file, "%s/hotkeys/%s", dir, hotkey);
    /* "": a hotkey has no per-wallet password variable, only btwallet's per-file one. */
    if ((st = tp_keyfile_read(file, "", hot, err))) return st;
    if (cold && (st = load_cold(dir, name, cold, err))) tp_keypair_clear(hot);
    return st;
}
