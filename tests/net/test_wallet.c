#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/fileio.h"
#include "net/wallet.h"

static void tmp_home(char *out, size_t n) {
    snprintf(out, n, "/tmp/templar-wallet-XXXXXX");
    cr_assert(mkdtemp(out));
}

Test(wallet, create_load_sign_verify) {
    char home[64], path[256];
    tmp_home(home, sizeof home);
    tp_wallet a, b;
    tp_err err;
    cr_assert_eq(tp_wallet_create(home, "miner-1", &a, &err), TP_OK, "%s", err.msg);
    snprintf(path, sizeof path, "%s/wallets/miner-1/hotkey", home);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600, "secret key mode is %o", sb.st_mode & 0777);
    cr_assert_eq(tp_wallet_load(home, "miner-1", &b, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(memcmp(a.pk, b.pk, sizeof a.pk), 0);
    cr_assert_str_eq(a.pk_hex, b.pk_hex);
    unsigned char sig[crypto_sign_BYTES];
    const unsigned char msg[] = "window 7";
    crypto_sign_detached(sig, NULL, msg, sizeof msg, b.sk);
    cr_assert_eq(crypto_sign_verify_detached(sig, msg, sizeof msg, a.pk), 0);
    cr_assert_neq(tp_wallet_create(home, "miner-1", &a, &err), TP_OK, "a wallet must never be overwritten");
    cr_assert(strstr(err.msg, "exists"), "%s", err.msg);

    cr_assert_eq(chmod(path, 0644), 0);
    cr_assert_neq(tp_wallet_load(home, "miner-1", &b, &err), TP_OK);
    cr_assert(strstr(err.msg, "readable by others"), "%s", err.msg);
    tp_remove_tree(home, &err);
}

Test(wallet, bad_names_and_files) {
    char home[64], path[256];
    tmp_home(home, sizeof home);
    tp_wallet w;
    tp_err err;
    static const char *bad[] = {"", "../x", ".hidden", "a/b", "sp ace"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_neq(tp_wallet_create(home, bad[i], &w, &err), TP_OK, "accepted name '%s'", bad[i]);
    cr_assert_neq(tp_wallet_load(home, "nobody", &w, &err), TP_OK);
    cr_assert(strstr(err.msg, "templar wallet create nobody"), "%s", err.msg);
    cr_assert_eq(tp_wallet_create(home, "v", &w, &err), TP_OK);
    snprintf(path, sizeof path, "%s/wallets/v/hotkey", home);
    const char *junk = "{\"public_key\": \"00\", \"secret_key\": \"zz\"}";
    FILE *f = fopen(path, "w");
    fputs(junk, f);
    fclose(f);
    cr_assert_neq(tp_wallet_load(home, "v", &w, &err), TP_OK);
    cr_assert(strstr(err.msg, "not a templar hotkey"), "%s", err.msg);
    tp_remove_tree(home, &err);
}
