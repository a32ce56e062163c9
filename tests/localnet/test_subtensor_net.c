/* Scenarios a and b of the local network on the real Subtensor runtime (spec 143 under chopsticks,
 * started by `templar localnet --chain subtensor`): the same protocol, with registration, stake,
 * commitments, weights and the Yuma epoch all on Subtensor, the incentive in the report read from
 * it. Every node signs with an sr25519 hotkey of a btcli-format wallet (the localnet's default). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "localnet_test_util.h"
#include "net/keyfile.h"

/* The run's chain traffic, from the neurons' metrics (chain_io per window). */
static void chain_cost(const char *dir, const char *wallet, double *calls, double *bytes, double *secs, int *windows) {
    char path[4400], line[1 << 16];
    snprintf(path, sizeof path, "%s/state/%s/metrics.jsonl", dir, wallet);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    *calls = *bytes = *secs = 0;
    *windows = 0;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL), *io = json_object_get(j, "chain_io");
        if (io) {
            *calls += ln_num(io, "calls");
            *bytes += ln_num(io, "bytes_up") + ln_num(io, "bytes_down");
            *secs += ln_num(io, "seconds");
            ++*windows;
        }
        json_decref(j);
    }
    fclose(f);
    cr_assert(*windows > 0, "%s recorded no chain traffic", wallet);
}

/* Every node's hotkey is sr25519, in btcli's layout and keyfile format (what `btcli` writes), and is
 * the key it was registered under (localnet.json's hotkey). */
static void expect_btcli_sr25519_wallets(const char *dir) {
    json_t *man = ln_load_json(dir, "localnet.json"), *node;
    size_t i;
    json_array_foreach(json_object_get(man, "nodes"), i, node) {
        char file[4400], hex[65];
        snprintf(file, sizeof file, "%s/home/wallets/%s/hotkeys/default", dir,
                 json_string_value(json_object_get(node, "wallet")));
        tp_keypair kp;
        tp_err err;
        cr_assert_eq(tp_keyfile_read(file, "", &kp, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(kp.type, TP_KEY_SR25519, "%s", file);
        tp_hex(kp.pub, 32, hex);
        cr_assert_str_eq(json_string_value(json_object_get(node, "hotkey")), hex, "%s", file);
        tp_keypair_clear(&kp);
    }
    cr_assert(i >= 6, "only %zu wallets", i);
    json_decref(man);
}

Test(subtensor_net, a_honest_network_on_subtensor, .timeout = LN_TIME_LIMIT(1200)) {
    char dir[4200];
    json_t *r = ln_run(dir, sizeof dir, "subtensor", "--miners 4 --validators 1 --windows 24");
    json_t *ws = json_object_get(r, "windows");
    cr_assert_eq(json_array_size(ws), 24);
    double first = ln_num(json_array_get(ws, 0), "heldout_loss");
    double last = ln_num(json_array_get(ws, 23), "heldout_loss");
    cr_assert(last < first - 0.3, "held-out loss %.4f -> %.4f did not fall", first, last);
    ln_assert_in_sync(r);
    json_t *inc = json_object_get(r, "incentive");
    for (int u = 2; u <= 5; u++) {
        char k[16];
        snprintf(k, sizeof k, "%d", u);
        cr_assert_str_eq(ln_role(r, k), "honest");
        cr_assert(ln_num(inc, k) > 0, "honest uid %d has no incentive on Subtensor", u);
    }
    expect_btcli_sr25519_wallets(dir);
    const char *who[] = {"validator-0", "miner-0"};
    for (int i = 0; i < 2; i++) {
        double calls, bytes, secs;
        int windows;
        chain_cost(dir, who[i], &calls, &bytes, &secs, &windows);
        cr_log_info("%s: %.0f RPC calls, %.0f bytes, %.2f s per window (%d windows)", who[i], calls / windows,
                    bytes / windows, secs / windows, windows);
    }
    json_decref(r);
}

Test(subtensor_net, b_adversaries_earn_nothing_on_subtensor, .timeout = LN_TIME_LIMIT(1200)) {
    char dir[4200];
    json_t *r = ln_run(dir, sizeof dir, "subtensor",
                       "--miners 8 --validators 1 --windows 20 --adversary noise --adversary copy "
                       "--adversary free-rider --adversary wrong-data --adversary noisy-copy");
    json_t *inc = json_object_get(r, "incentive"), *fw = json_object_get(r, "final_weights");
    const char *uid;
    json_t *v;
    int honest = 0;
    json_object_foreach(json_object_get(r, "roles"), uid, v) {
        const char *ro = json_string_value(v);
        if (!strcmp(ro, "honest")) {
            honest++;
            cr_assert(ln_num(inc, uid) > 0, "honest uid %s has no incentive", uid);
        } else if (strcmp(ro, "owner") && strcmp(ro, "validator")) {
            cr_assert(ln_num(inc, uid) == 0 && ln_num(fw, uid) == 0, "%s uid %s earns %g (weight %g)", ro, uid,
                      ln_num(inc, uid), ln_num(fw, uid));
        }
    }
    cr_assert_eq(honest, 3);
    ln_assert_in_sync(r);
    json_decref(r);
}
