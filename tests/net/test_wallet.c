/* Wallets: btcli's layout for both key types (made, loaded, signing), the coldkey encrypted and not,
 * templar's older ed25519 wallets still loading, the wallet path's defaults, names, permissions, and
 * accounts named in hex or SS58. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "net/wallet.h"

static void tmp_dir(char *out, size_t n) {
    snprintf(out, n, "/tmp/templar-wallet-XXXXXX");
    cr_assert(mkdtemp(out));
}

static void expect_mode(const char *path, unsigned mode) {
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0, "no %s", path);
    cr_assert_eq(sb.st_mode & 0777, mode, "%s: mode %o", path, sb.st_mode & 0777);
}

static void sign_and_verify(const tp_wallet *signer, const tp_wallet *verifier) {
    uint8_t sig[TP_KEY_SIGNATURE_BYTES];
    const uint8_t msg[] = "window 7";
    tp_err err;
    cr_assert_eq(tp_keypair_sign(&signer->key, msg, sizeof msg, sig, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_key_verify(verifier->key.type, verifier->key.pub, msg, sizeof msg, sig), 0);
    sig[5] ^= 1;
    cr_assert_neq(tp_key_verify(verifier->key.type, verifier->key.pub, msg, sizeof msg, sig), 0);
}

Test(wallet, btcli_hotkeys_of_both_types) {
    char dir[64], path[256];
    tmp_dir(dir, sizeof dir);
    static const tp_key_type types[] = {TP_KEY_SR25519, TP_KEY_ED25519};
    for (int i = 0; i < 2; i++) {
        tp_wallet a, b;
        tp_err err;
        const char *hk = i ? "hk-ed" : NULL;
        cr_assert_eq(tp_wallet_create(dir, "miner-1", hk, types[i], NULL, &a, &err), TP_OK, "%s", err.msg);
        snprintf(path, sizeof path, "%s/miner-1/hotkeys/%s", dir, hk ? hk : "default");
        expect_mode(path, 0600);
        cr_assert_eq(tp_wallet_load(dir, "miner-1", hk, &b, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(b.key.type, types[i]);
        cr_assert_str_eq(a.pk_hex, b.pk_hex);
        cr_assert_str_eq(a.ss58, b.ss58);
        cr_assert_str_eq(b.hotkey, hk ? hk : "default");
        sign_and_verify(&b, &a);
        cr_assert_neq(tp_wallet_create(dir, "miner-1", hk, types[i], NULL, &a, &err), TP_OK, "overwrote a hotkey");
        cr_assert(strstr(err.msg, "already has hotkey"), "%s", err.msg);
        cr_assert_eq(chmod(path, 0640), 0);
        cr_assert_neq(tp_wallet_load(dir, "miner-1", hk, &b, &err), TP_OK, "a group-readable keyfile loaded");
        cr_assert(strstr(err.msg, "chmod"), "%s", err.msg);
        tp_wallet_clear(&a);
    }
    tp_err err;
    tp_remove_tree(dir, &err);
}

Test(wallet, coldkey_encrypted_and_plain) {
    char dir[64];
    tmp_dir(dir, sizeof dir);
    tp_wallet c, back;
    tp_err err;
    uint8_t seed[32] = {5};
    cr_assert_eq(tp_wallet_create_coldkey(dir, "cold-a", TP_KEY_SR25519, seed, "pw-a", &c, &err), TP_OK, "%s", err.msg);
    setenv("BT_COLD_PW_COLD_A", "pw-a", 1);
    cr_assert_eq(tp_wallet_load_coldkey(dir, "cold-a", &back, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(back.ss58, c.ss58);
    setenv("BT_COLD_PW_COLD_A", "wrong", 1);
    cr_assert_neq(tp_wallet_load_coldkey(dir, "cold-a", &back, &err), TP_OK, "a wrong password decrypted");
    cr_assert(strstr(err.msg, "password"), "%s", err.msg);
    unsetenv("BT_COLD_PW_COLD_A");
    cr_assert_eq(tp_wallet_create_coldkey(dir, "cold-b", TP_KEY_ED25519, NULL, NULL, &c, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_wallet_load_coldkey(dir, "cold-b", &back, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(back.key.type, TP_KEY_ED25519);
    cr_assert_str_eq(back.pk_hex, c.pk_hex);
    char pub[256];
    snprintf(pub, sizeof pub, "%s/cold-b/coldkeypub.txt", dir);
    cr_assert(tp_path_exists(pub), "no coldkeypub.txt");
    cr_assert_neq(tp_wallet_load_coldkey(dir, "nobody", &back, &err), TP_OK);
    cr_assert(strstr(err.msg, "has no coldkey"), "%s", err.msg);
    tp_remove_tree(dir, &err);
}

/* templar's own older wallets (HOME/wallets/NAME/hotkey, libsodium's ed25519 key) keep working. */
Test(wallet, older_templar_wallets_still_load) {
    char home[64], path[256], wdir[200];
    tmp_dir(home, sizeof home);
    setenv("TEMPLAR_HOME", home, 1);
    uint8_t pk[32], sk[64], seed[32] = {9};
    crypto_sign_seed_keypair(pk, sk, seed);
    char pkh[65], skh[129], text[400];
    tp_hex(pk, 32, pkh);
    tp_hex(sk, 64, skh);
    snprintf(wdir, sizeof wdir, "%s/wallets/old", home);
    tp_err err;
    cr_assert_eq(tp_mkdirs(wdir, &err), TP_OK);
    snprintf(path, sizeof path, "%s/hotkey", wdir);
    snprintf(text, sizeof text, "{\"type\": \"ed25519\", \"public_key\": \"%s\", \"secret_key\": \"%s\"}\n", pkh, skh);
    cr_assert_eq(tp_write_file_atomic(path, text, strlen(text), &err), TP_OK);
    chmod(path, 0600);
    tp_wallet w;
    cr_assert_eq(tp_wallet_load(NULL, "old", NULL, &w, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(w.key.type, TP_KEY_ED25519);
    cr_assert_str_eq(w.pk_hex, pkh);
    cr_assert_str_eq(w.hotkey, "");
    cr_assert_eq(tp_wallet_load_coldkey(NULL, "old", &w, &err), TP_OK, "%s", err.msg); /* its one key pays */
    cr_assert_str_eq(w.pk_hex, pkh);
    /* A damaged one names itself. */
    snprintf(text, sizeof text, "{\"public_key\": \"00\", \"secret_key\": \"zz\"}");
    cr_assert_eq(tp_write_file_atomic(path, text, strlen(text), &err), TP_OK);
    chmod(path, 0600);
    cr_assert_neq(tp_wallet_load(NULL, "old", NULL, &w, &err), TP_OK);
    cr_assert(strstr(err.msg, "not a templar hotkey"), "%s", err.msg);
    unsetenv("TEMPLAR_HOME");
    tp_remove_tree(home, &err);
}

Test(wallet, path_defaults_names_and_accounts) {
    char out[512];
    tp_err err;
    setenv("TEMPLAR_HOME", "/t/home", 1);
    cr_assert_eq(tp_wallet_path(NULL, out, sizeof out, &err), TP_OK);
    cr_assert_str_eq(out, "/t/home/wallets");
    cr_assert_eq(tp_wallet_path("/given", out, sizeof out, &err), TP_OK);
    cr_assert_str_eq(out, "/given");
    unsetenv("TEMPLAR_HOME");
    setenv("HOME", "/h", 1);
    unsetenv("BT_WALLET_PATH");
    cr_assert_eq(tp_wallet_path(NULL, out, sizeof out, &err), TP_OK);
    cr_assert_str_eq(out, "/h/.bittensor/wallets");
    tp_wallet w;
    static const char *bad[] = {"", "../x", ".hidden", "a/b", "sp ace"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_neq(tp_wallet_create("/tmp", bad[i], NULL, TP_KEY_SR25519, NULL, &w, &err), TP_OK, "name '%s'", bad[i]);
        cr_assert_neq(tp_wallet_create("/tmp", "ok", bad[i], TP_KEY_SR25519, NULL, &w, &err), TP_OK, "hotkey '%s'", bad[i]);
    }
    cr_assert_neq(tp_wallet_load("/tmp/templar-no-such-dir", "nobody", NULL, &w, &err), TP_OK);
    cr_assert(strstr(err.msg, "templar wallet create nobody"), "%s", err.msg);
    char hex[65];
    cr_assert_eq(tp_account_parse("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", hex, &err), TP_OK, "%s", err.msg);
    cr_assert_str_eq(hex, "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    cr_assert_eq(tp_account_parse("0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", hex, &err), TP_OK);
    cr_assert_str_eq(hex, "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d");
    cr_assert_neq(tp_account_parse("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", hex, &err), TP_OK);
    cr_assert(strstr(err.msg, "SS58"), "%s", err.msg);
}
