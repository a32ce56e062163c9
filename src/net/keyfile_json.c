/* A btcli keyfile's JSON and the key pair it holds.
 *
 * Fields (opentensor/bittensor bittensor/keyfile.py serialized_keypair_to_keyfile_data, v6-v7, and
 * opentensor/btwallet src/keyfile.rs of the same name, v2-v4): "accountId" and "publicKey" (both "0x"
 * ++ the 32-byte public key in lower-case hex), "privateKey" ("0x" ++ 64 bytes), "secretPhrase" (the
 * BIP-39 mnemonic), "secretSeed" ("0x" ++ the 32-byte mini secret the pair was expanded from),
 * "ss58Address" (prefix 42). bittensor writes absent values as null, btwallet leaves them out; btwallet
 * reads the file as a map of string-or-null (HashMap<String, Option<String>>), so every value written
 * here is a string or null. Readers strip an optional "0x" (btwallet: trim_start_matches("0x")).
 *
 * privateKey of an sr25519 key is schnorrkel's canonical SecretKey::to_bytes (the scalar mod l ++ the
 * nonce): btwallet's Keypair::private_key is sp_core's sr25519 Pair::to_raw_vec, i.e. secret.to_bytes()
 * (src/keypair.rs), read back by Pair::from_seed_slice, i.e. SecretKey::from_bytes, which requires a
 * canonical scalar; bittensor v6-v7 took it from py-sr25519-bindings' pair_from_seed, also
 * secret.to_bytes() (polkascan/py-sr25519-bindings src/lib.rs). btwallet's own test vector
 * (tests/test_keyfile.py, test_create_keypair_from_private_key) is in that form. polkadot-js keeps the
 * "ed25519" form (scalar × 8) instead; it is accepted here too, told apart by the public key.
 *
 * The key type is not in btcli's JSON (btcli keys are sr25519: btwallet's Keypair refuses any other
 * crypto_type). templar writes "cryptoType": "ed25519" for its ed25519 keys and honours the field when
 * present; otherwise the type is the one under which the secret gives the stated public key, sr25519
 * first. An ed25519 key's privateKey is libsodium's secret key (seed ++ public key) and its secretSeed
 * is written as null, so that btwallet, which would expand a seed as sr25519, fails on the file rather
 * than silently reading another key. */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/hex.h"
#include "core/json.h"
#include "crypto/sr25519.h"
#include "net/keyfile_internal.h"
#include "substrate/ss58.h"

typedef struct {
    const char *account, *pub, *priv, *phrase, *seed, *ss58, *type;
} fields;

/* Secret material taken from the fields; wiped by the caller. */
typedef struct {
    int has_priv, has_seed, has_want;
    uint8_t priv[64], seed[32], want[32];
} material;

/* Hex of exactly n bytes, with or without "0x", either case. */
static int parse_hex(const char *s, uint8_t *out, size_t n) {
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    if (strlen(s) != 2 * n) return -1;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0) return -1;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | v : v);
    }
    return 0;
}

static tp_status get_field(json_t *root, const char *name, const char **out, tp_err *err) {
    json_t *v = json_object_get(root, name);
    *out = NULL;
    if (!v || json_is_null(v)) return TP_OK;
    if (!json_is_string(v)) return tp_fail(err, TP_ERR_FORMAT, "keyfile field \"%s\" is not a string", name);
    *out = json_string_value(v);
    return TP_OK;
}

static tp_status get_fields(json_t *root, fields *f, tp_err *err) {
    if (!json_is_object(root)) return tp_fail(err, TP_ERR_FORMAT, "the keyfile's JSON is not an object");
    tp_status st;
    if ((st = get_field(root, "accountId", &f->account, err)) || (st = get_field(root, "publicKey", &f->pub, err)) ||
        (st = get_field(root, "privateKey", &f->priv, err)) || (st = get_field(root, "secretPhrase", &f->phrase, err)) ||
        (st = get_field(root, "secretSeed", &f->seed, err)) || (st = get_field(root, "ss58Address", &f->ss58, err)) ||
        (st = get_field(root, "cryptoType", &f->type, err)))
        return st;
    return TP_OK;
}

/* The public key the fields state (publicKey, accountId, ss58Address agreeing), if any. */
static tp_status stated_public(const fields *f, material *m, tp_err *err) {
    uint8_t k[32];
    char hex[65];
    if (f->pub) {
        if (parse_hex(f->pub, m->want, 32)) return tp_fail(err, TP_ERR_FORMAT, "keyfile publicKey is not 32 bytes of hex");
        m->has_want = 1;
    }
    if (f->account) {
        if (parse_hex(f->account, k, 32)) return tp_fail(err, TP_ERR_FORMAT, "keyfile accountId is not 32 bytes of hex");
        if (m->has_want && memcmp(k, m->want, 32)) return tp_fail(err, TP_ERR_FORMAT, "keyfile accountId and publicKey differ");
        memcpy(m->want, k, 32);
        m->has_want = 1;
    }
    if (!f->ss58) return TP_OK;
    tp_status st = tp_ss58_decode(f->ss58, k, NULL, err);
    if (st) return tp_wrap(err, "keyfile ss58Address");
    if (m->has_want && memcmp(k, m->want, 32)) {
        char expect[TP_SS58_MAX];
        tp_hex(m->want, 32, hex);
        if (tp_ss58_encode(TP_SS58_BITTENSOR, m->want, expect, err)) return err->code;
        return tp_fail(err, TP_ERR_FORMAT, "keyfile ss58Address %s is not the address of its publicKey 0x%s (%s)", f->ss58,
                       hex, expect);
    }
    memcpy(m->want, k, 32);
    m->has_want = 1;
    return TP_OK;
}

/* kp from a 64-byte privateKey read as type t, giving want when want is non-NULL. 0 when it does. */
static int from_private(tp_key_type t, const uint8_t priv[64], const uint8_t *want, tp_keypair *kp) {
    tp_err e;
    memset(kp, 0, sizeof *kp);
    kp->type = t;
    if (t == TP_KEY_ED25519) {
        if (tp_keypair_from_seed(t, priv, kp, &e)) return -1;
        return memcmp(kp->pub, priv + 32, 32) || (want && memcmp(kp->pub, want, 32)) ? -1 : 0;
    }
    /* btcli's canonical form first, then polkadot-js's "ed25519" form. */
    if (tp_sr25519_public(priv, kp->pub, &e) == TP_OK && (!want || !memcmp(kp->pub, want, 32))) {
        memcpy(kp->secret, priv, 64);
        return 0;
    }
    if (tp_sr25519_from_ed25519_bytes(priv, kp->secret, &e) == TP_OK && tp_sr25519_public(kp->secret, kp->pub, &e) == TP_OK &&
        (!want || !memcmp(kp->pub, want, 32)))
        return 0;
    return -1;
}

/* The key pair of type t that all of m's secrets give (and m's stated public key, when there is one). */
static int key_of_type(tp_key_type t, const material *m, tp_keypair *kp) {
    const uint8_t *want = m->has_want ? m->want : NULL;
    tp_keypair s;
    tp_err e;
    int ok = 1;
    if (m->has_priv) ok = from_private(t, m->priv, want, kp) == 0;
    if (ok && m->has_seed) {
        ok = tp_keypair_from_seed(t, m->seed, &s, &e) == TP_OK && (!want || !memcmp(s.pub, want, 32)) &&
             (!m->has_priv || !memcmp(s.pub, kp->pub, 32));
        if (ok && !m->has_priv) *kp = s;
        if (ok && m->has_priv) {
            memcpy(kp->seed, s.seed, 32);
            kp->has_seed = 1;
        }
        tp_keypair_clear(&s);
    }
    if (!ok) tp_keypair_clear(kp);
    return ok ? 0 : -1;
}

/* A value from the file, safe to quote in a message (printable ASCII, short), else a placeholder. */
static const char *quotable(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e) return "(not printable)";
    return n <= 32 ? s : "(too long)";
}

/* The types to try: cryptoType's, else sr25519 then ed25519. With a privateKey and no stated public
 * key, ed25519 goes first: its privateKey carries the public key (seed ++ public key), which an sr25519
 * secret never matches, while an ed25519 seed is a canonical sr25519 scalar one time in sixteen. */
static tp_status key_types(const fields *f, tp_key_type types[2], int *n, tp_err *err) {
    *n = 0;
    if (!f->type) {
        int ed_first = f->priv && !f->pub && !f->account && !f->ss58;
        types[(*n)++] = ed_first ? TP_KEY_ED25519 : TP_KEY_SR25519;
        types[(*n)++] = ed_first ? TP_KEY_SR25519 : TP_KEY_ED25519;
        return TP_OK;
    }
    tp_err e;
    if (tp_key_type_parse(f->type, &types[0], &e))
        return tp_fail(err, TP_ERR_FORMAT, "unknown key type \"%s\" in the keyfile's cryptoType (templar reads sr25519 "
                                           "and ed25519 keys)",
                       quotable(f->type));
    *n = 1;
    return TP_OK;
}

static tp_status take_secrets(const fields *f, material *m, tp_err *err) {
    if (f->priv) {
        if (parse_hex(f->priv, m->priv, 64)) return tp_fail(err, TP_ERR_FORMAT, "keyfile privateKey is not 64 bytes of hex");
        m->has_priv = 1;
    }
    if (f->seed) {
        if (parse_hex(f->seed, m->seed, 32)) return tp_fail(err, TP_ERR_FORMAT, "keyfile secretSeed is not 32 bytes of hex");
        m->has_seed = 1;
    }
    if (!m->has_priv && !m->has_seed && !f->phrase)
        return tp_fail(err, TP_ERR_FORMAT, "the keyfile holds no secret key (no privateKey, secretSeed or secretPhrase): a "
                                           "public keyfile such as coldkeypub.txt?");
    return TP_OK;
}

/* Only a mnemonic (no privateKey or secretSeed): its key of type t. */
static int key_of_phrase(tp_key_type t, const char *phrase, const material *m, tp_keypair *kp) {
    tp_err e;
    if (tp_keypair_from_suri(t, phrase, kp, &e)) return -1;
    if (m->has_want && memcmp(kp->pub, m->want, 32)) {
        tp_keypair_clear(kp);
        return -1;
    }
    return 0;
}

/* Whether privateKey and secretSeed, each read alone as type t, are different keys. */
static int secrets_differ(tp_key_type t, const material *m) {
    tp_keypair a, b;
    tp_err e;
    int differ = m->has_priv && m->has_seed && from_private(t, m->priv, NULL, &a) == 0 &&
                 tp_keypair_from_seed(t, m->seed, &b, &e) == TP_OK && memcmp(a.pub, b.pub, 32) != 0;
    tp_keypair_clear(&a);
    tp_keypair_clear(&b);
    return differ;
}

static tp_status no_key(const fields *f, const material *m, const tp_key_type *types, int n, tp_err *err) {
    for (int i = 0; i < n; i++)
        if (secrets_differ(types[i], m))
            return tp_fail(err, TP_ERR_FORMAT, "the keyfile's privateKey and secretSeed are different %s keys",
                           tp_key_type_name(types[i]));
    const char *what = m->has_priv && m->has_seed ? "privateKey and secretSeed" : m->has_priv ? "privateKey"
                                                                          : m->has_seed ? "secretSeed"
                                                                                        : "secretPhrase";
    char hex[65];
    tp_hex(m->want, 32, hex);
    if (f->type && m->has_want)
        return tp_fail(err, TP_ERR_FORMAT, "keyfile publicKey 0x%s does not match its %s as an %s key", hex, what, f->type);
    if (f->type) return tp_fail(err, TP_ERR_FORMAT, "the keyfile's %s: not a valid %s key", what, f->type);
    if (m->has_want)
        return tp_fail(err, TP_ERR_FORMAT, "keyfile publicKey 0x%s does not match its %s as an sr25519 or an ed25519 "
                                           "key (an unknown key type, or fields that disagree)",
                       hex, what);
    return tp_fail(err, TP_ERR_FORMAT, "the keyfile's %s: neither an sr25519 nor an ed25519 key (unknown key type)",
                   what);
}

static tp_status resolve(const fields *f, material *m, tp_keypair *kp, tp_err *err) {
    tp_key_type types[2];
    int n;
    tp_status st;
    if ((st = key_types(f, types, &n, err)) || (st = take_secrets(f, m, err)) || (st = stated_public(f, m, err))) return st;
    for (int i = 0; i < n; i++) {
        int found = m->has_priv || m->has_seed ? key_of_type(types[i], m, kp) : key_of_phrase(types[i], f->phrase, m, kp);
        if (found == 0) return TP_OK;
    }
    return no_key(f, m, types, n, err);
}

/* Wipes the string values jansson holds (the secrets among them) before the tree is freed. */
static void wipe_json(json_t *root) {
    const char *key;
    json_t *v;
    if (!json_is_object(root)) return;
    json_object_foreach(root, key, v) {
        if (json_is_string(v)) sodium_memzero((char *)json_string_value(v), json_string_length(v));
    }
}

static tp_status parse_root(const char *text, size_t len, json_t **root, tp_err *err) {
    tp_status st = tp_json_parse(text, len, JSON_REJECT_DUPLICATES, "keyfile", root, err);
    /* jansson's message quotes the text near the error, which may be a secret: say less. */
    if (st == TP_ERR_FORMAT)
        return tp_fail(err, TP_ERR_FORMAT, "the keyfile is not valid JSON (nor an encrypted $NACL keyfile)");
    return st;
}

tp_status kf_json_parse(const char *text, size_t len, tp_keypair *kp, tp_err *err) {
    json_t *root;
    memset(kp, 0, sizeof *kp);
    tp_status st = parse_root(text, len, &root, err);
    if (st) return st;
    fields f = {0};
    material m = {0};
    st = get_fields(root, &f, err);
    if (!st) st = resolve(&f, &m, kp, err);
    sodium_memzero(&m, sizeof m);
    wipe_json(root);
    json_decref(root);
    if (st) tp_keypair_clear(kp);
    return st;
}

tp_status kf_json_public_key(const char *text, size_t len, uint8_t pub[32], tp_err *err) {
    json_t *root;
    tp_status st = parse_root(text, len, &root, err);
    if (st) return st;
    fields f = {0};
    material m = {0};
    st = get_fields(root, &f, err);
    if (!st) st = stated_public(&f, &m, err);
    if (!st && !m.has_want) st = tp_fail(err, TP_ERR_FORMAT, "the public keyfile states no publicKey or ss58Address");
    if (!st) memcpy(pub, m.want, 32);
    json_decref(root);
    return st;
}

/* s as a JSON string literal (quotes included) at out, which has room for 6 × strlen(s) + 3. */
static void json_quote(const char *s, char *out) {
    *out++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') *out++ = '\\', *out++ = (char)c;
        else if (c < 0x20) out += sprintf(out, "\\u%04x", c);
        else *out++ = (char)c;
    }
    *out++ = '"';
    *out = 0;
}

/* The order and spacing of bittensor's json.dumps; nulls where a value is absent. */
static void format_json(const tp_keypair *kp, const char *phrase_json, const char *ss58, int secret, char *out, size_t cap) {
    char pub[65], priv[129], seed[65];
    tp_hex(kp->pub, 32, pub);
    tp_hex(kp->secret, 64, priv);
    tp_hex(kp->seed, 32, seed);
    int with_seed = secret && kp->type == TP_KEY_SR25519 && kp->has_seed;
    snprintf(out, cap,
             "{\"accountId\": \"0x%s\", \"publicKey\": \"0x%s\", \"privateKey\": %s%s%s, \"secretPhrase\": %s, "
             "\"secretSeed\": %s%s%s, \"ss58Address\": \"%s\"%s}",
             pub, pub, secret ? "\"0x" : "", secret ? priv : "null", secret ? "\"" : "", phrase_json,
             with_seed ? "\"0x" : "", with_seed ? seed : "null", with_seed ? "\"" : "", ss58,
             kp->type == TP_KEY_ED25519 ? ", \"cryptoType\": \"ed25519\"" : "");
    sodium_memzero(priv, sizeof priv);
    sodium_memzero(seed, sizeof seed);
}

tp_status kf_json_write(const tp_keypair *kp, const char *phrase, int secret, char **out, size_t *len, tp_err *err) {
    *out = NULL;
    *len = 0;
    if (kp->type != TP_KEY_SR25519 && kp->type != TP_KEY_ED25519) return tp_fail(err, TP_ERR_ARG, "unknown key type %d", (int)kp->type);
    if (!secret) phrase = NULL;
    if (phrase && !tp_utf8_valid(phrase)) return tp_fail(err, TP_ERR_ARG, "the secret phrase is not valid UTF-8");
    size_t plen = phrase ? strlen(phrase) : 0;
    if (plen > 4096) return tp_fail(err, TP_ERR_ARG, "the secret phrase is longer than 4096 bytes");
    char ss58[TP_SS58_MAX];
    tp_status st = tp_ss58_encode(TP_SS58_BITTENSOR, kp->pub, ss58, err);
    if (st) return st;
    size_t qcap = 6 * plen + 8, cap = qcap + 1024;
    char *q = tp_malloc(qcap, err), *text = q ? tp_malloc(cap, err) : NULL;
    if (!text) {
        free(q);
        return TP_ERR_NOMEM;
    }
    if (phrase) json_quote(phrase, q);
    else snprintf(q, qcap, "null");
    format_json(kp, q, ss58, secret, text, cap);
    kf_free_secret(q, qcap);
    *out = text;
    *len = strlen(text);
    return TP_OK;
}
