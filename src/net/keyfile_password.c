/* Where the password of an encrypted keyfile comes from, in the order btcli's wallet library looks:
 *
 * 1. btwallet v2.0.2-v4 (opentensor/btwallet src/keyfile.rs, Keyfile::env_var_name and
 *    get_password_from_environment / decrypt_password): the variable "BT_PW_" ++ the keyfile's path
 *    (as btwallet spells it: the wallet path with "~" expanded, joined with "/") with every '/' and '.'
 *    made '_', upper-cased. Its value is not the password in clear but standard padded base64 of the
 *    password's bytes XOR the variable's name (repeated), which is what btwallet's
 *    save_password_to_env stores.
 * 2. btcli's older per-wallet variable, the password in clear: bittensor v6-v7 (opentensor/bittensor
 *    bittensor/keyfile.py get_coldkey_password_from_environment) reads the variable whose upper-cased
 *    name is "BT_COLD_PW_" ++ the upper-cased wallet name; btwallet v2.0.0-v2.0.1 (src/keyfile.rs) the
 *    same with '-' made '_'. Both spellings are accepted.
 * 3. A prompt on the controlling terminal (/dev/tty), without echo. The typed password is trimmed of
 *    surrounding white space, as btwallet's ask_password trims it.
 *
 * Nothing here logs or quotes a password. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "net/keyfile.h"
#include "net/keyfile_internal.h"

#define NAME_MAX_LEN (TP_WALLET_PATH_MAX + 64)

static tp_status copy_password(const char *src, size_t n, char *out, size_t cap, tp_err *err) {
    if (n >= cap) return tp_fail(err, TP_ERR_ARG, "the password is longer than %zu bytes", cap - 1);
    memcpy(out, src, n);
    out[n] = 0;
    return TP_OK;
}

/* btwallet's variable name for keyfile `file`. */
static tp_status bt_pw_name(const char *file, char *out, size_t cap, tp_err *err) {
    size_t n = strlen(file);
    if (n + 7 > cap) return tp_fail(err, TP_ERR_ARG, "keyfile path too long: %s", file);
    memcpy(out, "BT_PW_", 6);
    for (size_t i = 0; i < n; i++) {
        char c = file[i];
        out[6 + i] = c == '/' || c == '.' ? '_' : (char)toupper((unsigned char)c);
    }
    out[6 + n] = 0;
    return TP_OK;
}

/* btwallet's stored form: base64 of password XOR name. */
static tp_status bt_pw_decode(const char *name, const char *value, char *out, size_t cap, tp_err *err) {
    size_t n = 0, klen = strlen(name);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    if (sodium_base642bin((unsigned char *)out, cap - 1, value, strlen(value), NULL, &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return tp_fail(err, TP_ERR_ARG, "%s is not btwallet's stored password (base64 of the password XOR the "
                                        "variable's name) or is longer than %zu bytes",
                       name, cap - 1);
    for (size_t i = 0; i < n; i++) out[i] = (char)(out[i] ^ name[i % klen]);
    out[n] = 0;
    if (strlen(out) != n) {
        sodium_memzero(out, cap);
        return tp_fail(err, TP_ERR_ARG, "%s does not decode to a password (a NUL inside): it must be base64 of the "
                                        "password XOR the variable's name",
                       name);
    }
    return TP_OK;
}

/* The value of btcli's BT_COLD_PW_<WALLET>, either spelling, any case of the name; NULL if unset. */
static const char *cold_pw(const char *wallet) {
    char plain[256], dashless[256];
    int n = snprintf(plain, sizeof plain, "BT_COLD_PW_%s", wallet);
    if (n < 0 || n >= (int)sizeof plain) return NULL;
    for (int i = 0; i < n; i++) {
        plain[i] = (char)toupper((unsigned char)plain[i]);
        dashless[i] = plain[i] == '-' ? '_' : plain[i];
    }
    dashless[n] = 0;
    for (char **e = environ; e && *e; e++) {
        const char *s = *e;
        if ((!strncasecmp(s, plain, (size_t)n) || !strncasecmp(s, dashless, (size_t)n)) && s[n] == '=') return s + n + 1;
    }
    return NULL;
}

/* Reads a line without echo from the terminal into out. 1: no terminal; -1: error (in err). */
static int read_quiet(int fd, char *out, size_t cap, tp_err *err) {
    size_t n = 0;
    char c;
    ssize_t r;
    while ((r = read(fd, &c, 1)) == 1 && c != '\n') {
        if (n + 1 >= cap) {
            while ((r = read(fd, &c, 1)) == 1 && c != '\n') continue;
            tp_fail(err, TP_ERR_ARG, "the password typed is longer than %zu bytes", cap - 1);
            return -1;
        }
        out[n++] = c;
    }
    c = 0;
    out[n] = 0;
    if (r < 0) {
        tp_fail(err, TP_ERR_IO, "reading the password from the terminal: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void trim(char *s) {
    size_t n = strlen(s), a = 0;
    while (a < n && (s[a] == ' ' || (s[a] >= '\t' && s[a] <= '\r'))) a++;
    while (n > a && (s[n - 1] == ' ' || (s[n - 1] >= '\t' && s[n - 1] <= '\r'))) n--;
    memmove(s, s + a, n - a);
    s[n - a] = 0;
}

static int prompt_tty(const char *what, char *out, size_t cap, tp_err *err) {
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return 1;
    struct termios old, quiet;
    if (tcgetattr(fd, &old) != 0) {
        close(fd);
        return 1;
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ICANON;
    char prompt[NAME_MAX_LEN + 64];
    int pn = snprintf(prompt, sizeof prompt, "Password to unlock %s: ", what);
    int rc = tcsetattr(fd, TCSAFLUSH, &quiet) != 0 || write(fd, prompt, (size_t)pn) != pn ? 1 : 0;
    if (rc == 0) rc = read_quiet(fd, out, cap, err);
    tcsetattr(fd, TCSAFLUSH, &old);
    ssize_t w = write(fd, "\n", 1); /* the newline the hidden input did not echo; nothing to do if it fails */
    (void)w;
    close(fd);
    if (rc == 0) trim(out);
    return rc;
}

/* The wallet a keyfile belongs to when none is named: its directory's name (bittensor: the parent's stem). */
static const char *wallet_of(const char *file, char *buf, size_t cap) {
    const char *slash = strrchr(file, '/');
    if (!slash || slash == file) return NULL;
    const char *start = slash;
    while (start > file && start[-1] != '/') start--;
    size_t n = (size_t)(slash - start);
    if (n == 0 || n >= cap) return NULL;
    memcpy(buf, start, n);
    buf[n] = 0;
    return buf;
}

static tp_status no_password(const char *file, const char *wallet, const char *pw_name, tp_err *err) {
    char cold[300] = "";
    if (wallet) snprintf(cold, sizeof cold, "BT_COLD_PW_%s", wallet);
    for (char *p = cold; *p; p++) *p = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    if (file && wallet)
        return tp_fail(err, TP_ERR_ARG, "%s is encrypted and there is no terminal to ask for its password on: set %s to "
                                        "the password (or btwallet's %s, base64 of the password XOR that name)",
                       file, cold, pw_name);
    if (file)
        return tp_fail(err, TP_ERR_ARG, "%s is encrypted and there is no terminal to ask for its password on: set "
                                        "btwallet's %s (base64 of the password XOR that name)",
                       file, pw_name);
    return tp_fail(err, TP_ERR_ARG, "no password for wallet '%s' and no terminal to ask for it on: set %s to the "
                                    "password", wallet, cold);
}

tp_status kf_password(const char *file, const char *wallet, char *out, size_t cap, tp_err *err) {
    char pw_name[NAME_MAX_LEN] = "", dir[256];
    const char *v;
    if (cap < 2) return tp_fail(err, TP_ERR_ARG, "no room for a password");
    if (file) {
        tp_status st = bt_pw_name(file, pw_name, sizeof pw_name, err);
        if (st) return st;
        if ((v = getenv(pw_name))) return bt_pw_decode(pw_name, v, out, cap, err);
    }
    if (!wallet && file) wallet = wallet_of(file, dir, sizeof dir);
    if (wallet && !*wallet) wallet = NULL; /* "": no per-wallet variable (a hotkey) */
    if (wallet && (v = cold_pw(wallet))) return copy_password(v, strlen(v), out, cap, err);
    char what[NAME_MAX_LEN + 32];
    if (file) snprintf(what, sizeof what, "%s", file);
    else snprintf(what, sizeof what, "the coldkey of wallet '%s'", wallet);
    int rc = prompt_tty(what, out, cap, err);
    if (rc == 0) return TP_OK;
    sodium_memzero(out, cap);
    return rc < 0 ? err->code : no_password(file, wallet, pw_name, err);
}

tp_status tp_btcli_password(const char *wallet, char *out, size_t cap, tp_err *err) {
    if (!wallet || !*wallet) return tp_fail(err, TP_ERR_ARG, "no wallet name given for the password");
    return kf_password(NULL, wallet, out, cap, err);
}
