/* Scenarios a and b of the local network on the real Subtensor runtime (spec 143 under chopsticks,
 * started by `templar localnet --chain subtensor`): the same protocol, with registration, stake,
 * commitments, weights and the Yuma epoch all on Subtensor, the incentive in the report read from
 * it. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"

static json_t *run_on_subtensor(char *dir, size_t n, const char *args) {
    cli_tmpdir(dir, n);
    char out[4200];
    snprintf(out, sizeof out, "%s/net", dir);
    char *log;
    int rc = cli_run(&log, "localnet --chain subtensor --config tiny --seed 1 --out %s %s", out, args);
    cr_assert_eq(rc, 0, "localnet --chain subtensor %s failed:\n%s", args, log);
    free(log);
    char path[4300];
    snprintf(path, sizeof path, "%s/report.json", out);
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    cr_assert(r, "%s: %s", path, je.text);
    snprintf(dir + strlen(dir), n - strlen(dir), "/net");
    return r;
}

static const char *role(json_t *r, const char *uid) {
    return json_string_value(json_object_get(json_object_get(r, "roles"), uid));
}

static double num(json_t *obj, const char *key) { return json_number_value(json_object_get(obj, key)); }

/* Every honest miner and validator holds the same model after each window. */
static void assert_in_sync(json_t *r) {
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(r, "windows"), i, w) {
        const char *ref = NULL, *uid;
        json_t *v;
        int honest = 0;
        json_object_foreach(json_object_get(w, "fingerprints"), uid, v) {
            const char *ro = role(r, uid);
            if (strcmp(ro, "honest") && strcmp(ro, "validator")) continue;
            honest++;
            if (!ref) ref = json_string_value(v);
            cr_assert_str_eq(json_string_value(v), ref, "window %zu: uid %s (%s) differs", i, uid, ro);
        }
        cr_assert(honest >= 2, "window %zu: fingerprints of %d honest nodes", i, honest);
    }
}

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
            *calls += num(io, "calls");
            *bytes += num(io, "bytes_up") + num(io, "bytes_down");
            *secs += num(io, "seconds");
            ++*windows;
        }
        json_decref(j);
    }
    fclose(f);
    cr_assert(*windows > 0, "%s recorded no chain traffic", wallet);
}

Test(subtensor_net, a_honest_network_on_subtensor, .timeout = 1200) {
    char dir[4200];
    json_t *r = run_on_subtensor(dir, sizeof dir, "--miners 4 --validators 1 --windows 24");
    json_t *ws = json_object_get(r, "windows");
    cr_assert_eq(json_array_size(ws), 24);
    double first = num(json_array_get(ws, 0), "heldout_loss"), last = num(json_array_get(ws, 23), "heldout_loss");
    cr_assert(last < first - 0.3, "held-out loss %.4f -> %.4f did not fall", first, last);
    assert_in_sync(r);
    json_t *inc = json_object_get(r, "incentive");
    for (int u = 2; u <= 5; u++) {
        char k[16];
        snprintf(k, sizeof k, "%d", u);
        cr_assert_str_eq(role(r, k), "honest");
        cr_assert(num(inc, k) > 0, "honest uid %d has no incentive on Subtensor", u);
    }
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

Test(subtensor_net, b_adversaries_earn_nothing_on_subtensor, .timeout = 1200) {
    char dir[4200];
    json_t *r = run_on_subtensor(dir, sizeof dir,
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
            cr_assert(num(inc, uid) > 0, "honest uid %s has no incentive", uid);
        } else if (strcmp(ro, "owner") && strcmp(ro, "validator")) {
            cr_assert(num(inc, uid) == 0 && num(fw, uid) == 0, "%s uid %s earns %g (weight %g)", ro, uid,
                      num(inc, uid), num(fw, uid));
        }
    }
    cr_assert_eq(honest, 3);
    assert_in_sync(r);
    json_decref(r);
}
