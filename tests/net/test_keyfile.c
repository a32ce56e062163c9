/* btcli keyfiles (net/keyfile.h): read and written as btcli does, checked against material made
 * without templar's code (tests/net/keyfile_ref.mjs: polkadot-js for the keys, @noble/hashes' Argon2i and
 * polkadot-js's secretbox for "$NACL") and against btwallet's own test vector. Encryption costs an
 * Argon2i run at btcli's limits (512 MiB, a few seconds) each time, so only a handful of cases encrypt. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "net/keyfile.h"

/* ------------------------------------------------------------------ the reference (keyfile_ref.mjs) */

/* The answers (parsed JSON objects) to the requests, one line each on the script's stdin. */
static json_t *reference(const char *const *requests, size_t n) {
    const char *root = getenv("TEMPLAR_ROOT");
    cr_assert(root && *root, "TEMPLAR_ROOT is not set (run the tests through make)");
    char input[] = "/tmp/templar-keyfile-ref-XXXXXX", cmd[4096];
    int fd = mkstemp(input);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < n; i++) fprintf(f, "%s\n", requests[i]);
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "node '%s/tests/net/keyfile_ref.mjs' < '%s' 2>&1", root, input);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    json_t *answers = json_array();
    static char line[65536];
    while (fgets(line, sizeof line, p)) {
        json_t *j = json_loads(line, 0, NULL);
        cr_assert_not_null(j, "keyfile_ref.mjs: %s (it needs Node 20 and tools/ from scripts/install-deps)", line);
        json_array_append_new(answers, j);
    }
    int rc = pclose(p);
    unlink(input);
    cr_assert(rc == 0 && json_array_size(answers) == n, "keyfile_ref.mjs failed (exit %d, %zu of %zu answers)", rc,
              json_array_size(answers), n);
    return answers;
}

static const char *field(json_t *answers, size_t i, const char *name) {
    const char *s = json_string_value(json_object_get(json_array_get(answers, i), name));
    cr_assert_not_null(s, "reference answer %zu has no %s", i, name);
    return s;
}

static void unhex(const char *s, uint8_t *b, size_t n) {
    if (s[0] == '0' && s[1] == 'x') s += 2;
    cr_assert_eq(tp_unhex(s, b, n), 0, "bad hex %s", s);
}

/* ------------------------------------------------------------------ helpers */

static void temp_dir(char *out, size_t n) {
    snprintf(out, n, "/tmp/templar-keyfile-XXXXXX");
    cr_assert_not_null(mkdtemp(out));
}

static void put_file(const char *path, const void *data, size_t len, mode_t mode) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot write %s", path);
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(chmod(path, mode), 0);
}

static char *slurp(const char *path, size_t *len) {
    uint8_t *b;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1 << 20, &b, len, &err), TP_OK, "%s", err.msg);
    return (char *)b;
}

static unsigned mode_of(const char *path) {
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "no %s", path);
    return (unsigned)(sb.st_mode & 0777);
}

/* tp_keyfile_parse of a NUL-terminated text; the error message when it fails. */
static tp_status parse_text(const char *text, const char *password, tp_keypair *kp, tp_err *err) {
    return tp_keyfile_parse((const uint8_t *)text, strlen(text), password, kp, err);
}

static void expect_error(const char *text, const char *want) {
    tp_keypair kp;
    tp_err err;
    cr_assert_neq(parse_text(text, "pw", &kp, &err), TP_OK, "accepted: %s", text);
    cr_assert(strstr(err.msg, want), "error for %s is \"%s\", wanted \"%s\"", text, err.msg, want);
}

/* btwallet's variable for a keyfile (src/keyfile.rs env_var_name) and its stored form of a password
 * (save_password_to_env: base64 of password XOR name), written out here independently. */
static void btwallet_env(const char *file, const char *password, char *name, size_t ncap, char *value, size_t vcap) {
    int n = snprintf(name, ncap, "BT_PW_%s", file);
    for (int i = 6; i < n; i++) name[i] = name[i] == '/' || name[i] == '.' ? '_' : (char)toupper((unsigned char)name[i]);
    size_t plen = strlen(password), klen = strlen(name);
    uint8_t x[256];
    for (size_t i = 0; i < plen; i++) x[i] = (uint8_t)password[i] ^ (uint8_t)name[i % klen];
    sodium_bin2base64(value, vcap, x, plen, sodium_base64_VARIANT_ORIGINAL);
}

#define SEED_A "0707070707070707070707070707070707070707070707070707070707070707"
#define SEED_B "2a9f5c3e1d0b7a6948372615f4e3d2c1b0a99887766554433221100ffeeddccb"

/* ------------------------------------------------------------------ key material and JSON */

/* A btwallet-style keyfile (compact JSON, its field set) of the reference's sr25519 key of a seed
 * parses to that key; so does polkadot-js's "ed25519" form of the secret, and a seed-only file. */
Test(keyfile, sr25519_reference_keyfiles_parse) {
    const char *req[] = {"[\"sr25519\",\"" SEED_A "\"]", "[\"sr25519\",\"" SEED_B "\"]"};
    json_t *ref = reference(req, 2);
    const char *seeds[] = {SEED_A, SEED_B};
    for (size_t i = 0; i < 2; i++) {
        char text[1024];
        const char *pub = field(ref, i, "publicKey"), *ss58 = field(ref, i, "ss58Address");
        snprintf(text, sizeof text,
                 "{\"privateKey\":\"0x%s\",\"publicKey\":\"0x%s\",\"secretSeed\":\"0x%s\",\"accountId\":\"0x%s\","
                 "\"ss58Address\":\"%s\"}",
                 field(ref, i, "privateKey"), pub, seeds[i], pub, ss58);
        tp_keypair kp;
        tp_err err;
        cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "%s", err.msg);
        uint8_t want_pub[32], want_secret[64], want_seed[32];
        unhex(pub, want_pub, 32);
        unhex(field(ref, i, "privateKey"), want_secret, 64);
        unhex(seeds[i], want_seed, 32);
        cr_assert_eq(kp.type, TP_KEY_SR25519);
        cr_assert_arr_eq(kp.pub, want_pub, 32);
        cr_assert_arr_eq(kp.secret, want_secret, 64, "the canonical secret differs from btcli's privateKey");
        cr_assert(kp.has_seed);
        cr_assert_arr_eq(kp.seed, want_seed, 32);

        snprintf(text, sizeof text, "{\"publicKey\": \"0x%s\", \"privateKey\": \"0x%s\"}", pub, field(ref, i, "ed25519Secret"));
        cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "polkadot-js form: %s", err.msg);
        cr_assert_eq(kp.type, TP_KEY_SR25519);
        cr_assert_arr_eq(kp.secret, want_secret, 64);
        snprintf(text, sizeof text, "{\"secretSeed\": \"0x%s\", \"ss58Address\": \"%s\"}", seeds[i], ss58);
        cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "seed only: %s", err.msg);
        cr_assert_eq(kp.type, TP_KEY_SR25519);
        cr_assert_arr_eq(kp.pub, want_pub, 32);
        tp_keypair_clear(&kp);
    }
    json_decref(ref);
}

/* btwallet's own vector (tests/test_keyfile.py, test_create_keypair_from_private_key): a canonical
 * privateKey and its public key. */
Test(keyfile, btwallet_private_key_vector) {
    static const char *priv = "0x1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a9cffd34d9fb01cae1fba61aeed184c"
                              "817442a2186d5172416729a4b54dd4b84e";
    static const char *pub = "e4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446";
    char text[512];
    tp_keypair kp;
    tp_err err;
    uint8_t want[32];
    unhex(pub, want, 32);
    snprintf(text, sizeof text, "{\"privateKey\": \"%s\", \"publicKey\": \"0x%s\", \"secretPhrase\": null}", priv, pub);
    cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(kp.type, TP_KEY_SR25519);
    cr_assert_arr_eq(kp.pub, want, 32);
    cr_assert(!kp.has_seed);
    snprintf(text, sizeof text, "{\"privateKey\": \"%s\"}", priv); /* no public key stated: still sr25519 */
    cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(kp.type, TP_KEY_SR25519);
    cr_assert_arr_eq(kp.pub, want, 32);
    tp_keypair_clear(&kp);
}

/* What templar writes for a key is, field by field, what the reference says btcli holds for it. */
static void check_written(const char *file, json_t *ref, size_t i, tp_key_type t, const char *seed) {
    size_t len;
    char *text = slurp(file, &len);
    json_t *j = json_loads(text, 0, NULL);
    cr_assert_not_null(j, "%s is not JSON", file);
    char hexpub[67], hexpriv[131], hexseed[67];
    snprintf(hexpub, sizeof hexpub, "0x%s", field(ref, i, "publicKey"));
    snprintf(hexpriv, sizeof hexpriv, "0x%s", field(ref, i, "privateKey"));
    snprintf(hexseed, sizeof hexseed, "0x%s", seed);
    cr_assert_str_eq(json_string_value(json_object_get(j, "publicKey")), hexpub);
    cr_assert_str_eq(json_string_value(json_object_get(j, "accountId")), hexpub);
    cr_assert_str_eq(json_string_value(json_object_get(j, "privateKey")), hexpriv);
    cr_assert_str_eq(json_string_value(json_object_get(j, "ss58Address")), field(ref, i, "ss58Address"));
    if (t == TP_KEY_SR25519) {
        cr_assert_str_eq(json_string_value(json_object_get(j, "secretSeed")), hexseed);
        cr_assert_null(json_object_get(j, "cryptoType"));
    } else {
        cr_assert(json_is_null(json_object_get(j, "secretSeed")), "an ed25519 keyfile must not offer btwallet a seed");
        cr_assert_str_eq(json_string_value(json_object_get(j, "cryptoType")), "ed25519");
    }
    json_decref(j);
    sodium_memzero(text, len);
    free(text);
}

static void round_trip_plain(tp_key_type t, const char *request) {
    char dir[64], file[256];
    temp_dir(dir, sizeof dir);
    json_t *ref = reference(&request, 1);
    uint8_t seed[32];
    unhex(SEED_A, seed, 32);
    tp_keypair kp, back;
    tp_err err;
    cr_assert_eq(tp_keypair_from_seed(t, seed, &kp, &err), TP_OK, "%s", err.msg);
    snprintf(file, sizeof file, "%s/w/hotkeys/default", dir);
    cr_assert_eq(tp_keyfile_write(file, &kp, "a phrase \"quoted\"", NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(mode_of(file), 0600);
    snprintf(file, sizeof file, "%s/w", dir);
    cr_assert_eq(mode_of(file), 0700, "a new wallet directory must be 0700");
    snprintf(file, sizeof file, "%s/w/hotkeys/default", dir);
    check_written(file, ref, 0, t, SEED_A);
    cr_assert_eq(tp_keyfile_read(file, NULL, &back, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(back.type, t);
    cr_assert_arr_eq(back.pub, kp.pub, 32);
    cr_assert_arr_eq(back.secret, kp.secret, 64);
    cr_assert_neq(tp_keyfile_write(file, &kp, NULL, NULL, &err), TP_OK, "a keyfile must never be overwritten");
    cr_assert(strstr(err.msg, "already exists"), "%s", err.msg);
    tp_keypair_clear(&kp);
    tp_keypair_clear(&back);
    json_decref(ref);
    tp_remove_tree(dir, &err);
}

Test(keyfile, sr25519_plain_round_trip) { round_trip_plain(TP_KEY_SR25519, "[\"sr25519\",\"" SEED_A "\"]"); }
Test(keyfile, ed25519_plain_round_trip) { round_trip_plain(TP_KEY_ED25519, "[\"ed25519\",\"" SEED_A "\"]"); }

/* An ed25519 keyfile without templar's cryptoType is told apart by its public key; one with it is
 * read as ed25519 even with no public key stated. */
Test(keyfile, ed25519_detected) {
    const char *req = "[\"ed25519\",\"" SEED_B "\"]";
    json_t *ref = reference(&req, 1);
    char text[512];
    tp_keypair kp;
    tp_err err;
    uint8_t want[32];
    unhex(field(ref, 0, "publicKey"), want, 32);
    snprintf(text, sizeof text, "{\"publicKey\": \"0x%s\", \"privateKey\": \"0x%s\", \"ss58Address\": \"%s\"}",
             field(ref, 0, "publicKey"), field(ref, 0, "privateKey"), field(ref, 0, "ss58Address"));
    cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(kp.type, TP_KEY_ED25519);
    cr_assert_arr_eq(kp.pub, want, 32);
    snprintf(text, sizeof text, "{\"privateKey\": \"0x%s\", \"cryptoType\": \"ed25519\"}", field(ref, 0, "privateKey"));
    cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(kp.type, TP_KEY_ED25519);
    cr_assert_arr_eq(kp.pub, want, 32);
    snprintf(text, sizeof text, "{\"privateKey\": \"0x%s\"}", field(ref, 0, "privateKey"));
    cr_assert_eq(parse_text(text, NULL, &kp, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(kp.type, TP_KEY_ED25519, "an ed25519 privateKey carries its public key");
    tp_keypair_clear(&kp);
    json_decref(ref);
}

/* A mnemonic alone gives the mini secret polkadot-js (and sp_core's from_phrase, btwallet) gives. */
Test(keyfile, phrase_only) {
    const char *req = "[\"mini\",\"bottom drive obey lake curtain smoke basket hold race lonely fit walk\"]";
    json_t *ref = reference(&req, 1);
    tp_keypair kp;
    tp_err err;
    uint8_t seed[32];
    unhex(field(ref, 0, "seed"), seed, 32);
    cr_assert_eq(parse_text("{\"secretPhrase\": \"bottom drive obey lake curtain smoke basket hold race lonely fit walk\"}",
                            NULL, &kp, &err),
                 TP_OK, "%s", err.msg);
    cr_assert_eq(kp.type, TP_KEY_SR25519);
    cr_assert_arr_eq(kp.seed, seed, 32);
    tp_keypair_clear(&kp);
    json_decref(ref);
}

/* ------------------------------------------------------------------ "$NACL" */

/* Made once by keyfile_ref.mjs ["nacl", REF_PASSWORD, "000102…1617", TEXT] (pure-JS Argon2i, about a
 * minute; polkadot-js's secretbox), REF_KEY its Argon2i key. TEXT is a keyfile as btwallet writes it
 * (compact JSON: secretPhrase, privateKey, publicKey, secretSeed, accountId, ss58Address) of the root key
 * of Substrate's development phrase "bottom drive obey lake curtain smoke basket hold race lonely fit
 * walk", its fields from keyfile_ref.mjs ["sr25519", mini secret]. */
#define REF_PASSWORD "tao keyfile test 1"
#define REF_PUB "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
#define REF_KEY "b8de4de84c61ad3073a2ae84b3de4434895dca36edda17c0df5927a86c648449"
#define REF_BLOB \
    "244e41434c000102030405060708090a0b0c0d0e0f1011121314151617cf7f623d6e22b38f4157e1f0e252f0d0748a80fd5a" \
    "c9efb9c38965f7e9faaac86b6dc86df1fed24039ab5670cbf6a96581b2a51de1320d8c93fc9da88cca500a14e8a338aa5b39" \
    "9429cb25f01c1185de51518bb53c1c395d089f31f1ba966cb8195a665a9bf02c429794f26043dd69a0f6ac7b6e3ccb5c8ad9" \
    "60effdf991414db1ab2ad77fd163a0382a30ab303a5cdcf6b341c1c247cec7b817b880584408f0b124effd29b7a351e08220" \
    "c47fe077df38255ecb534201694a477cbcc72b393c0feea8729cf046254df5cfb0207e07f0b3208c08f6b1a7b608548a5627" \
    "165ff35e960afd071d60e567932df4c8d3c0cd6f106a665cff753a4483dac6c8f53717d7845e247c6022428db8dfb2491c9f" \
    "b738f66d57bc70a078b68dc8af2f93a0f1e0449a10dc2cb1f569092938fe5d9dfc0ad0d7e4c6b57ecd367111eee5c2c77bef" \
    "3c85d32af80a69db59ee80130ae9db27c8b0dff063b0e42ffc249060db3ae211ed0648c4517f05ca029c9e079c6202f61910" \
    "0cee6738e8e6f4e26ea14e1076a4df920b2cd107f2ffaf5d957d876e2938badcd6c219f0c002883a9b1cccf30b7db536e1f7" \
    "c0de3a9567a46562ad549717a9ef840c3fab442c27cc5d446ae3231499241d7280a77bbb825170cfe0407ff64892b951392b" \
    "955bbf258816900ab0ff57f33c1ce216a885aa55979158e064da176aa276ccf41360de02e3887753694e967e774f51f479de" \
    "726e4a8505fdff7ad0cc6f6dbab52b28ad612388c7af02ea771b9f1c787ba0639ea6655ee04f"

static const uint8_t NACL_SALT[16] = {0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc,
                                      0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1};

Test(keyfile, reference_nacl_blob_opens, .timeout = 120) {
    /* The key: libsodium's Argon2i at btcli's limits against the pure-JS one. */
    uint8_t key[32], want_key[32];
    unhex(REF_KEY, want_key, 32);
    cr_assert_eq(crypto_pwhash(key, 32, REF_PASSWORD, strlen(REF_PASSWORD), NACL_SALT,
                               crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE, crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE,
                               crypto_pwhash_ALG_ARGON2I13),
                 0);
    cr_assert_arr_eq(key, want_key, 32, "Argon2i key differs from the reference's");
    size_t n = strlen(REF_BLOB) / 2;
    uint8_t *blob = malloc(n);
    unhex(REF_BLOB, blob, n);
    tp_keypair kp;
    tp_err err;
    cr_assert_eq(tp_keyfile_parse(blob, n, REF_PASSWORD, &kp, &err), TP_OK, "%s", err.msg);
    uint8_t pub[32];
    unhex(REF_PUB, pub, 32);
    cr_assert_eq(kp.type, TP_KEY_SR25519);
    cr_assert_arr_eq(kp.pub, pub, 32);
    tp_keypair_clear(&kp);
    free(blob);
}

/* Encrypted round trip of an sr25519 coldkey read through the wallet layout with BT_COLD_PW_<NAME>;
 * the file's layout opened with libsodium directly; a wrong password and a truncated blob. */
Test(keyfile, sr25519_encrypted_wallet, .timeout = 180) {
    char dir[64], file[256];
    temp_dir(dir, sizeof dir);
    uint8_t seed[32];
    unhex(SEED_B, seed, 32);
    tp_keypair cold, hot, c2, h2;
    tp_err err;
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &cold, &err), TP_OK, "%s", err.msg);
    unhex(SEED_A, seed, 32);
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &hot, &err), TP_OK, "%s", err.msg);
    snprintf(file, sizeof file, "%s/wallets/my-wallet/coldkey", dir);
    cr_assert_eq(tp_keyfile_write(file, &cold, NULL, "s3cret pw", &err), TP_OK, "%s", err.msg);
    cr_assert_eq(mode_of(file), 0600);
    snprintf(file, sizeof file, "%s/wallets/my-wallet/coldkeypub.txt", dir);
    cr_assert_eq(tp_keyfile_write_public(file, &cold, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(mode_of(file), 0644);
    snprintf(file, sizeof file, "%s/wallets/my-wallet/hotkeys/miner", dir);
    cr_assert_eq(tp_keyfile_write(file, &hot, NULL, NULL, &err), TP_OK, "%s", err.msg);

    /* The bytes: "$NACL" ++ nonce ++ secretbox under Argon2i(password, NACL_SALT), the JSON inside. */
    size_t len;
    snprintf(file, sizeof file, "%s/wallets/my-wallet/coldkey", dir);
    uint8_t *bytes = (uint8_t *)slurp(file, &len), key[32];
    cr_assert(len > 45 && !memcmp(bytes, "$NACL", 5));
    cr_assert_eq(crypto_pwhash(key, 32, "s3cret pw", 9, NACL_SALT, crypto_pwhash_argon2i_OPSLIMIT_SENSITIVE,
                               crypto_pwhash_argon2i_MEMLIMIT_SENSITIVE, crypto_pwhash_ALG_ARGON2I13),
                 0);
    char *plain = calloc(1, len);
    cr_assert_eq(crypto_secretbox_open_easy((uint8_t *)plain, bytes + 29, len - 29, bytes + 5, key), 0);
    cr_assert(strstr(plain, "\"privateKey\": \"0x"), "%s", "the decrypted keyfile is not btcli's JSON");

    /* Through the wallet layout, the password from btcli's BT_COLD_PW_<NAME> ('-' as '_'). */
    char path[128];
    snprintf(path, sizeof path, "%s/wallets", dir);
    setenv("BT_COLD_PW_MY_WALLET", "s3cret pw", 1);
    cr_assert_eq(tp_btcli_load(path, "my-wallet", "miner", &h2, &c2, &err), TP_OK, "%s", err.msg);
    cr_assert_arr_eq(c2.secret, cold.secret, 64);
    cr_assert_arr_eq(h2.secret, hot.secret, 64);

    cr_assert_neq(tp_keyfile_parse(bytes, len, "not it", &c2, &err), TP_OK);
    cr_assert(strstr(err.msg, "wrong password") && !strstr(err.msg, "corrupt") && !strstr(err.msg, "JSON"), "%s", err.msg);
    cr_assert_neq(tp_keyfile_parse(bytes, 40, "s3cret pw", &c2, &err), TP_OK);
    cr_assert(strstr(err.msg, "truncated"), "%s", err.msg);
    cr_assert_neq(tp_keyfile_parse(bytes, len, NULL, &c2, &err), TP_OK);
    cr_assert(strstr(err.msg, "no password"), "%s", err.msg);

    sodium_memzero(plain, len);
    free(plain);
    free(bytes);
    tp_keypair_clear(&cold);
    tp_keypair_clear(&hot);
    tp_keypair_clear(&c2);
    tp_keypair_clear(&h2);
    tp_remove_tree(dir, &err);
}

/* An encrypted ed25519 keyfile read with the password in btwallet's per-file variable, stored the
 * way btwallet stores it (base64 of password XOR the variable's name). */
Test(keyfile, ed25519_encrypted_btwallet_env, .timeout = 180) {
    char dir[64], file[256], name[512], value[512];
    temp_dir(dir, sizeof dir);
    uint8_t seed[32];
    unhex(SEED_B, seed, 32);
    tp_keypair kp, back;
    tp_err err;
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_ED25519, seed, &kp, &err), TP_OK, "%s", err.msg);
    snprintf(file, sizeof file, "%s/.bittensor/wallets/default/coldkey", dir);
    cr_assert_eq(tp_keyfile_write(file, &kp, NULL, "pässword ✓", &err), TP_OK, "%s", err.msg);
    btwallet_env(file, "pässword ✓", name, sizeof name, value, sizeof value);
    setenv(name, value, 1);
    setenv("BT_COLD_PW_DEFAULT", "not the password: BT_PW_ comes first", 1);
    cr_assert_eq(tp_keyfile_read(file, "default", &back, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(back.type, TP_KEY_ED25519);
    cr_assert_arr_eq(back.pub, kp.pub, 32);
    cr_assert_arr_eq(back.secret, kp.secret, 64);
    tp_keypair_clear(&kp);
    tp_keypair_clear(&back);
    tp_remove_tree(dir, &err);
}

/* ------------------------------------------------------------------ refusals */

#define SR_PRIV "0x1f1995bdf3a17b60626a26cfe6f564b337d46056b7a1281b64c649d592ccda0a9cffd34d9fb01cae1fba61aeed184c817442a2186d5172416729a4b54dd4b84e"
#define SR_PUB "0xe4359ad3e2716c539a1d663ebd0a51bdc5c98a12e663bb4c4402db47828c9446"
#define OTHER_PUB "0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"

Test(keyfile, malformed_and_inconsistent_refused) {
    expect_error("{\"privateKey\": \"0x12", "not valid JSON");
    expect_error("[1, 2]", "not an object");
    expect_error("{\"privateKey\": 5}", "\"privateKey\" is not a string");
    expect_error("{\"privateKey\": \"0x1234\"}", "privateKey is not 64 bytes of hex");
    expect_error("{\"publicKey\": \"" SR_PUB "\", \"ss58Address\": \"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\"}",
                 "holds no secret key");
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"publicKey\": \"" OTHER_PUB "\"}", "does not match its privateKey");
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"publicKey\": \"" OTHER_PUB "\", \"cryptoType\": \"sr25519\"}",
                 "does not match its privateKey as an sr25519 key");
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"publicKey\": \"" SR_PUB "\", \"accountId\": \"" OTHER_PUB "\"}",
                 "accountId and publicKey differ");
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"publicKey\": \"" SR_PUB
                 "\", \"ss58Address\": \"5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV\"}",
                 "ss58Address 5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV is not the address of its publicKey");
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"ss58Address\": \"5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzX\"}",
                 "ss58Address");
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"secretSeed\": \"0x" SEED_A "\"}", "privateKey and secretSeed are different sr25519 keys");
    /* Unknown key types: one named, and a secret that is no key of either type. */
    expect_error("{\"privateKey\": \"" SR_PRIV "\", \"cryptoType\": \"ecdsa\"}", "unknown key type \"ecdsa\"");
    expect_error("{\"privateKey\": \"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                 "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"}",
                 "unknown key type");
}

Test(keyfile, legacy_formats_refused) {
    expect_error("$ANSIBLE_VAULT;1.1;AES256\n6162636465", "Ansible Vault");
    expect_error("gAAAAABkX1234567890abcdefghijklmnop", "legacy Fernet");
    expect_error("$NACL0123456789", "truncated");
}

Test(keyfile, readable_by_others_refused) {
    char dir[64], file[256];
    temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/hotkey", dir);
    const char *text = "{\"privateKey\": \"" SR_PRIV "\"}";
    put_file(file, text, strlen(text), 0640);
    tp_keypair kp;
    tp_err err;
    cr_assert_neq(tp_keyfile_read(file, NULL, &kp, &err), TP_OK);
    char want[300];
    snprintf(want, sizeof want, "run 'chmod 600 %s'", file);
    cr_assert(strstr(err.msg, want) && strstr(err.msg, "mode 640"), "%s", err.msg);
    cr_assert_eq(chmod(file, 0600), 0);
    cr_assert_eq(tp_keyfile_read(file, NULL, &kp, &err), TP_OK, "%s", err.msg);
    tp_keypair_clear(&kp);
    tp_remove_tree(dir, &err);
}

/* Without a variable or a terminal, the error names the variable to set (run in a child without a
 * controlling terminal). */
Test(keyfile, no_terminal_names_the_variable) {
    char dir[64], file[256];
    temp_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/kf-noterm/coldkey", dir);
    char wdir[256];
    snprintf(wdir, sizeof wdir, "%s/kf-noterm", dir);
    cr_assert_eq(mkdir(wdir, 0700), 0);
    uint8_t fake[64] = "$NACL";
    put_file(file, fake, sizeof fake, 0600);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        setsid();
        unsetenv("BT_COLD_PW_KF_NOTERM");
        char pw[64], out[2048];
        tp_err e1, e2;
        tp_keypair kp;
        int a = tp_btcli_password("kf-noterm", pw, sizeof pw, &e1) != TP_OK;
        int b = tp_keyfile_read(file, NULL, &kp, &e2) != TP_OK;
        int n = snprintf(out, sizeof out, "%d%d|%s|%s", a, b, e1.msg, e2.msg);
        ssize_t w = write(fds[1], out, (size_t)n);
        _exit(w == n ? 0 : 1);
    }
    close(fds[1]);
    char got[2048] = {0};
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], got + n, sizeof got - 1 - n)) > 0) n += (size_t)r;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    cr_assert(!strncmp(got, "11|", 3), "%s", got);
    cr_assert(strstr(got, "set BT_COLD_PW_KF_NOTERM to the password"), "%s", got);
    char name[512], value[64];
    btwallet_env(file, "x", name, sizeof name, value, sizeof value);
    cr_assert(strstr(got, name), "the keyfile's error should name %s: %s", name, got);
    tp_err err;
    tp_remove_tree(dir, &err);
}

/* ------------------------------------------------------------------ wallet paths and layout */

Test(keyfile, wallet_path) {
    char out[TP_WALLET_PATH_MAX];
    tp_err err;
    setenv("HOME", "/home/someone", 1);
    unsetenv("BT_WALLET_PATH");
    cr_assert_eq(tp_btcli_wallet_path(NULL, out, sizeof out, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(out, "/home/someone/.bittensor/wallets");
    setenv("BT_WALLET_PATH", "~/elsewhere/", 1);
    cr_assert_eq(tp_btcli_wallet_path(NULL, out, sizeof out, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(out, "/home/someone/elsewhere");
    cr_assert_eq(tp_btcli_wallet_path("/srv/w", out, sizeof out, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(out, "/srv/w");
    cr_assert_neq(tp_btcli_wallet_path("/srv/w", out, 4, &err), TP_OK);
    unsetenv("HOME");
    cr_assert_neq(tp_btcli_wallet_path("~/x", out, sizeof out, &err), TP_OK);
    cr_assert(strstr(err.msg, "HOME"), "%s", err.msg);
}

Test(keyfile, load_checks_coldkeypub_and_names) {
    char dir[64], file[256], path[128];
    temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/wallets", dir);
    uint8_t seed[32];
    unhex(SEED_A, seed, 32);
    tp_keypair a, b, hot, cold;
    tp_err err;
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &a, &err), TP_OK, "%s", err.msg);
    unhex(SEED_B, seed, 32);
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &b, &err), TP_OK, "%s", err.msg);
    snprintf(file, sizeof file, "%s/default/coldkey", path);
    cr_assert_eq(tp_keyfile_write(file, &a, NULL, NULL, &err), TP_OK, "%s", err.msg);
    snprintf(file, sizeof file, "%s/default/hotkeys/default", path);
    cr_assert_eq(tp_keyfile_write(file, &b, NULL, NULL, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_btcli_load(path, NULL, NULL, &hot, &cold, &err), TP_OK, "%s", err.msg);
    cr_assert_arr_eq(hot.pub, b.pub, 32);
    cr_assert_arr_eq(cold.pub, a.pub, 32);
    cr_assert_eq(tp_btcli_load(path, "default", "default", &hot, NULL, &err), TP_OK, "%s", err.msg);
    snprintf(file, sizeof file, "%s/default/coldkeypub.txt", path);
    cr_assert_eq(tp_keyfile_write_public(file, &b, &err), TP_OK, "%s", err.msg);
    cr_assert_neq(tp_btcli_load(path, NULL, NULL, &hot, &cold, &err), TP_OK);
    cr_assert(strstr(err.msg, "coldkeypub.txt states"), "%s", err.msg);
    cr_assert_neq(tp_btcli_load(path, "../etc", NULL, &hot, NULL, &err), TP_OK);
    cr_assert(strstr(err.msg, "not a file name"), "%s", err.msg);
    cr_assert_neq(tp_btcli_load(path, "nobody", NULL, &hot, NULL, &err), TP_OK);
    cr_assert(strstr(err.msg, "nobody/hotkeys/default"), "%s", err.msg);
    tp_keypair_clear(&a);
    tp_keypair_clear(&b);
    tp_keypair_clear(&hot);
    tp_keypair_clear(&cold);
    tp_remove_tree(dir, &err);
}
