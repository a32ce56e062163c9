/* Key pairs of either type, and secret URIs read the way Substrate's SecretUri and
 * Pair::from_string_with_seed read them (sp-core), so that a URI names the same account here as in
 * subkey, btcli and polkadot-js.
 *
 * Every local copy of a phrase, seed or secret is wiped with sodium_memzero before returning, on
 * error paths too; a failed call leaves *kp cleared. */
#include "crypto/keypair.h"

#include <sodium.h>
#include <string.h>

#include "crypto/bip39.h"
#include "crypto/sr25519.h"

/* Substrate's DEV_PHRASE: a URI that starts with a path ("//Alice") derives from it. */
#define DEV_PHRASE "bottom drive obey lake curtain smoke basket hold race lonely fit walk"
/* Room for a phrase and generous whitespace; a longer one cannot be a valid phrase anyway. */
#define PHRASE_CAP 1024

const char *tp_key_type_name(tp_key_type t) {
    switch (t) {
    case TP_KEY_ED25519: return "ed25519";
    case TP_KEY_SR25519: return "sr25519";
    }
    return NULL;
}

tp_status tp_key_type_parse(const char *name, tp_key_type *t, tp_err *err) {
    if (name && !strcmp(name, "ed25519")) *t = TP_KEY_ED25519;
    else if (name && !strcmp(name, "sr25519")) *t = TP_KEY_SR25519;
    else return tp_fail(err, TP_ERR_ARG, "unknown key type '%.40s' (ed25519 or sr25519)", name ? name : "(null)");
    return TP_OK;
}

static tp_status check_type(tp_key_type t, tp_err *err) {
    if (!tp_key_type_name(t)) return tp_fail(err, TP_ERR_ARG, "unknown key type %d", (int)t);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    return TP_OK;
}

void tp_keypair_clear(tp_keypair *kp) { sodium_memzero(kp, sizeof *kp); }

tp_status tp_keypair_from_seed(tp_key_type t, const uint8_t seed[32], tp_keypair *kp, tp_err *err) {
    tp_status st = check_type(t, err);
    if (st != TP_OK) {
        tp_keypair_clear(kp);
        return st;
    }
    uint8_t s[32];
    memcpy(s, seed, 32); /* seed may be kp->seed, which is cleared next */
    tp_keypair_clear(kp);
    kp->type = t;
    if (t == TP_KEY_ED25519) crypto_sign_seed_keypair(kp->pub, kp->secret, s);
    else tp_sr25519_from_seed(s, kp->secret, kp->pub);
    memcpy(kp->seed, s, 32);
    kp->has_seed = 1;
    sodium_memzero(s, sizeof s);
    return TP_OK;
}

tp_status tp_keypair_generate(tp_key_type t, tp_keypair *kp, tp_err *err) {
    tp_status st = check_type(t, err);
    if (st != TP_OK) {
        tp_keypair_clear(kp);
        return st;
    }
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    st = tp_keypair_from_seed(t, seed, kp, err);
    sodium_memzero(seed, sizeof seed);
    return st;
}

/* ---------------------------------------------------------------- secret URIs */

/* A URI cut into its parts (pointers into it): "PHRASE" "PATH" "///PASSWORD". */
typedef struct {
    const char *phrase; /* trimmed; NULL: none was given, so the development phrase */
    size_t phrase_len;
    const char *path; /* junctions, each "/soft" or "//hard" */
    size_t path_len;
    const char *password; /* NULL without "///" */
} suri_parts;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Substrate's grammar: ^PHRASE?(//?[^/]+)*(///.*)?$. The phrase is everything before the first '/';
 * the password is everything after the first "///" met at a junction's start, slashes included. */
static tp_status suri_split(const char *suri, suri_parts *p, tp_err *err) {
    memset(p, 0, sizeof *p);
    const char *end = suri + strcspn(suri, "/"), *a = suri, *b = end;
    while (a < b && is_space(*a)) a++;
    while (b > a && is_space(b[-1])) b--;
    if (a < b) {
        p->phrase = a;
        p->phrase_len = (size_t)(b - a);
    } else if (end != suri || !*end) { /* blank rather than absent: not the development phrase */
        return tp_fail(err, TP_ERR_ARG, *suri ? "the secret URI's phrase is blank" : "the secret URI is empty");
    }
    const char *s = end;
    for (int j = 1; *s == '/'; j++) {
        if (s[1] == '/' && s[2] == '/') {
            p->password = s + 3;
            break;
        }
        size_t n = strcspn(s + 1 + (s[1] == '/'), "/");
        if (n == 0) return tp_fail(err, TP_ERR_ARG, "junction %d of the secret URI's path has no name", j);
        s += 1 + (s[1] == '/') + n;
    }
    p->path = end;
    p->path_len = (size_t)(s - end);
    return TP_OK;
}

/* "0x" and 64 hex digits of either case (Substrate's array_bytes::hex2bytes). */
static tp_status parse_hex_seed(const char *h, size_t n, uint8_t seed[32], tp_err *err) {
    if (n != 64) return tp_fail(err, TP_ERR_ARG, "a hex seed is 32 bytes (64 hex digits after 0x), not %zu digits", n);
    for (size_t i = 0; i < 64; i++) {
        char c = h[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) {
            sodium_memzero(seed, 32);
            return tp_fail(err, TP_ERR_ARG, "the hex seed has a character that is not a hex digit (digit %zu)", i + 1);
        }
        seed[i / 2] = (uint8_t)(i % 2 ? seed[i / 2] | v : v << 4);
    }
    return TP_OK;
}

/* The root seed: a hex seed as it is (a password is ignored, as Substrate ignores it), or the mini
 * secret of the phrase (or of the development phrase) and the password. */
static tp_status suri_root_seed(const suri_parts *p, uint8_t seed[32], tp_err *err) {
    if (!p->phrase) return tp_bip39_mini_secret(DEV_PHRASE, p->password, seed, err);
    if (p->phrase_len >= 2 && !memcmp(p->phrase, "0x", 2)) return parse_hex_seed(p->phrase + 2, p->phrase_len - 2, seed, err);
    if (p->phrase_len >= PHRASE_CAP)
        return tp_fail(err, TP_ERR_ARG, "the secret URI's phrase is too long (%zu bytes)", p->phrase_len);
    char phrase[PHRASE_CAP];
    memcpy(phrase, p->phrase, p->phrase_len);
    phrase[p->phrase_len] = 0;
    tp_status st = tp_bip39_mini_secret(phrase, p->password, seed, err);
    sodium_memzero(phrase, sizeof phrase);
    return st == TP_OK ? st : tp_wrap(err, "the secret URI's phrase");
}

/* Rust's u64::from_str, which Substrate tries first: an optional '+', decimal digits, no overflow. */
static int parse_u64(const char *s, size_t n, uint64_t *v) {
    size_t i = n && s[0] == '+';
    if (i == n) return 0;
    uint64_t x = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10) return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

/* SCALE's compact encoding of a length into out (at most 9 bytes); returns its size. */
static size_t scale_compact(uint64_t n, uint8_t out[9]) {
    size_t k;
    if (n < 1u << 6) {
        out[0] = (uint8_t)(n << 2);
        return 1;
    }
    if (n < 1u << 14) k = 2, n = n << 2 | 1;
    else if (n < 1u << 30) k = 4, n = n << 2 | 2;
    else {
        size_t m = 4;
        while (m < 8 && n >> (8 * m)) m++;
        out[0] = (uint8_t)((m - 4) << 2 | 3);
        for (size_t i = 0; i < m; i++) out[1 + i] = (uint8_t)(n >> (8 * i));
        return 1 + m;
    }
    for (size_t i = 0; i < k; i++) out[i] = (uint8_t)(n >> (8 * i));
    return k;
}

/* Substrate's DeriveJunction::soft(x): the SCALE encoding of x (a u64 when the name parses as one,
 * else the name as a string), zero-padded to 32 bytes, or its BLAKE2b-256 when longer than 32. */
static void chain_code(const char *name, size_t n, uint8_t cc[32]) {
    uint64_t v;
    memset(cc, 0, 32);
    if (parse_u64(name, n, &v)) {
        for (int i = 0; i < 8; i++) cc[i] = (uint8_t)(v >> (8 * i));
        return;
    }
    uint8_t pre[9];
    size_t k = scale_compact(n, pre);
    if (k + n <= 32) {
        memcpy(cc, pre, k);
        memcpy(cc + k, name, n);
        return;
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, pre, k);
    crypto_generichash_update(&st, (const uint8_t *)name, n);
    crypto_generichash_final(&st, cc, 32);
    sodium_memzero(&st, sizeof st);
}

/* The junction at *pos of the path (*pos advances past it): its chain code and hardness. */
static void next_junction(const suri_parts *p, size_t *pos, uint8_t cc[32], int *hard) {
    const char *s = p->path + *pos;
    *hard = s[1] == '/';
    const char *name = s + 1 + *hard;
    size_t n = strcspn(name, "/");
    chain_code(name, n, cc);
    *pos = (size_t)(name + n - p->path);
}

/* Substrate's ed25519 derive_hard_junction: blake2_256(("Ed25519HDKD", seed, cc).encode()), the
 * tag a SCALE string (its compact length 11 first). */
static void ed25519_hard(uint8_t seed[32], const uint8_t cc[32]) {
    static const uint8_t tag[12] = {11 << 2, 'E', 'd', '2', '5', '5', '1', '9', 'H', 'D', 'K', 'D'};
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    crypto_generichash_update(&st, tag, sizeof tag);
    crypto_generichash_update(&st, seed, 32);
    crypto_generichash_update(&st, cc, 32);
    crypto_generichash_final(&st, seed, 32);
    sodium_memzero(&st, sizeof st);
}

/* ed25519 derives seeds, hard junctions only, and makes the pair once at the end. */
static tp_status derive_ed25519(const suri_parts *p, uint8_t seed[32], tp_keypair *kp, tp_err *err) {
    uint8_t cc[32];
    int hard;
    for (size_t pos = 0, j = 1; pos < p->path_len; j++) {
        next_junction(p, &pos, cc, &hard);
        if (!hard) {
            sodium_memzero(cc, sizeof cc);
            return tp_fail(err, TP_ERR_ARG,
                           "junction %zu of the secret URI's path is soft ('/'); ed25519 keys derive only hard "
                           "junctions ('//')", j);
        }
        ed25519_hard(seed, cc);
    }
    sodium_memzero(cc, sizeof cc);
    return tp_keypair_from_seed(TP_KEY_ED25519, seed, kp, err);
}

/* sr25519 walks pairs: a hard junction gives a new mini secret (so the pair keeps a seed), a soft one a
 * new pair directly (no seed reproduces it). */
static tp_status derive_sr25519(const suri_parts *p, uint8_t seed[32], tp_keypair *kp, tp_err *err) {
    tp_status st = tp_keypair_from_seed(TP_KEY_SR25519, seed, kp, err);
    uint8_t cc[32], secret[64], pub[32];
    int hard;
    for (size_t pos = 0; st == TP_OK && pos < p->path_len;) {
        next_junction(p, &pos, cc, &hard);
        if (hard) {
            st = tp_sr25519_derive_hard(kp->secret, cc, seed, err);
            if (st == TP_OK) st = tp_keypair_from_seed(TP_KEY_SR25519, seed, kp, err);
        } else {
            st = tp_sr25519_derive_soft(kp->secret, cc, secret, pub, err);
            if (st == TP_OK) {
                memcpy(kp->secret, secret, 64);
                memcpy(kp->pub, pub, 32);
                sodium_memzero(kp->seed, sizeof kp->seed);
                kp->has_seed = 0;
            }
        }
    }
    sodium_memzero(cc, sizeof cc);
    sodium_memzero(secret, sizeof secret);
    return st;
}

tp_status tp_keypair_from_suri(tp_key_type t, const char *suri, tp_keypair *kp, tp_err *err) {
    tp_keypair_clear(kp);
    tp_status st = check_type(t, err);
    if (st != TP_OK) return st;
    if (!suri) return tp_fail(err, TP_ERR_ARG, "no secret URI given");
    suri_parts p;
    uint8_t seed[32];
    st = suri_split(suri, &p, err);
    if (st == TP_OK) st = suri_root_seed(&p, seed, err);
    if (st == TP_OK) st = t == TP_KEY_ED25519 ? derive_ed25519(&p, seed, kp, err) : derive_sr25519(&p, seed, kp, err);
    sodium_memzero(seed, sizeof seed);
    if (st != TP_OK) tp_keypair_clear(kp);
    return st;
}

/* ---------------------------------------------------------------- signatures */

tp_status tp_keypair_sign(const tp_keypair *kp, const uint8_t *msg, size_t len, uint8_t sig[64], tp_err *err) {
    tp_status st = check_type(kp->type, err);
    if (st != TP_OK) return st;
    if (kp->type == TP_KEY_SR25519) return tp_sr25519_sign(kp->secret, kp->pub, msg, len, sig, err);
    if (crypto_sign_detached(sig, NULL, msg, len, kp->secret) != 0)
        return tp_fail(err, TP_ERR_INTERNAL, "ed25519 signing failed");
    return TP_OK;
}

int tp_key_verify(tp_key_type t, const uint8_t pub[32], const uint8_t *msg, size_t len, const uint8_t sig[64]) {
    if (sodium_init() < 0) return -1;
    if (t == TP_KEY_ED25519) return crypto_sign_verify_detached(sig, msg, len, pub) == 0 ? 0 : -1;
    if (t == TP_KEY_SR25519) return tp_sr25519_verify(sig, msg, len, pub) == 0 ? 0 : -1;
    return -1;
}
