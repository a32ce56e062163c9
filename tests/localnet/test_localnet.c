/* templar localnet without neurons: --help, every argument error (exit 2, a message naming the
 * problem), refusing a directory that holds a run, and the report built from a hand-made run
 * directory (localnet.json, metrics.jsonl files with torn lines, a chain with weights). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "net/chain.h"

#define BASE "localnet --miners 2 --validators 1 --windows 2 --out /tmp/templar-localnet-never-made"
#define TB "testbed --miners 2 --validators 1 --windows 2 --out /tmp/templar-localnet-never-made"

static void expect_usage(const char *args, const char *needle) {
    char *out;
    int rc = cli_run(&out, "%s", args);
    cr_expect_eq(rc, 2, "'%s' exited %d, not 2: %s", args, rc, out);
    cr_expect(strstr(out, needle), "'%s': expected '%s' in: %s", args, needle, out);
    free(out);
}

Test(localnet, help) {
    char *out;
    cr_assert_eq(cli_run(&out, "localnet --help"), 0);
    const char *needles[] = {"usage", "--miners", "--validators", "--windows", "--adversary", "--store", "--clock",
                             "--block-time", "--blocks-per-window", "--fault", "--stake", "--out", "kill:WALLET@W:R",
                             "s3-down@W:R", "report DIR"};
    for (size_t i = 0; i < sizeof needles / sizeof *needles; i++)
        cr_expect(strstr(out, needles[i]), "help lacks %s", needles[i]);
    free(out);
    cr_assert_eq(cli_run(&out, "--help"), 0);
    cr_expect(strstr(out, "localnet"), "top-level help lacks localnet: %s", out);
    free(out);
}

Test(localnet, argument_errors) {
    expect_usage("localnet", "--miners N is required");
    expect_usage("localnet --validators 1 --windows 1 --out /tmp/x", "--miners N is required");
    expect_usage("localnet --miners 1 --windows 1 --out /tmp/x", "--validators V is required");
    expect_usage("localnet --miners 1 --validators 1 --out /tmp/x", "--windows K is required");
    expect_usage("localnet --miners 1 --validators 1 --windows 1", "--out DIR is required");
    expect_usage("localnet --miners 0 --validators 1 --windows 1 --out /tmp/x", "--miners");
    expect_usage("localnet --miners 1 --validators 0 --windows 1 --out /tmp/x", "--validators");
    expect_usage("localnet --miners 1 --validators 1 --windows 0 --out /tmp/x", "--windows");
    expect_usage("localnet --miners x --validators 1 --windows 1 --out /tmp/x", "--miners");
    expect_usage(BASE " --adversary sneaky", "unknown adversary mode 'sneaky'");
    expect_usage(BASE " --adversary noise:0", "--adversary COUNT");
    expect_usage(BASE " --adversary noise:2 --adversary zero", "3 adversaries but there are only 2 miners");
    expect_usage(BASE " --store ftp", "--store expects file or s3");
    expect_usage(BASE " --clock fast", "--clock expects lockstep or wall");
    expect_usage(BASE " --block-time 0", "--block-time");
    expect_usage(BASE " --blocks-per-window 0", "--blocks-per-window");
    expect_usage(BASE " --stake 0.5", "needs stake >= 1");
    expect_usage(BASE " --stake 10,20", "2 --stake values for 1 validators");
    expect_usage(BASE " --stake ten", "--stake");
    expect_usage(BASE " --fault s3-down@1:2", "needs --store s3");
    expect_usage(BASE " --fault kill:miner-2@1:2", "unknown wallet 'miner-2'");
    expect_usage(BASE " --fault kill:validator-1@1:2", "unknown wallet 'validator-1'");
    expect_usage(BASE " --fault kill:owner@1:2", "unknown wallet 'owner'");
    expect_usage(BASE " --fault kill:miner-01@1:2", "unknown wallet 'miner-01'");
    expect_usage(BASE " --fault kill:miner-1@3:2", "greater than W");
    expect_usage(BASE " --fault kill:miner-1@3", "W < R");
    expect_usage(BASE " --fault explode@1:2", "expected kill:WALLET@W:R or s3-down@W:R");
    expect_usage(BASE " --timeout -1", "--timeout");
    expect_usage(BASE " --frobnicate 1", "unknown option '--frobnicate'");
    expect_usage(BASE " --out", "--out needs a value");
    expect_usage(BASE " stray", "unexpected argument 'stray'");
    expect_usage("localnet report", "report expects one argument");
    expect_usage(BASE " --fault partition:miner-1@1:2", "partitions need hosts (templar testbed)");
    expect_usage(BASE " --link delay=40ms", "--link and --host-link are for hosts");
    /* The testbed: the same options, links, partitions; the store and chain must be the shared ones. */
    expect_usage(TB " --store file", "a testbed needs --store s3 and --chain subtensor");
    expect_usage(TB " --chain local", "a testbed needs --store s3 and --chain subtensor");
    expect_usage(TB " --link delay=40", "--link: link 'delay=40'");
    expect_usage(TB " --link rate=fast", "--link: link 'rate=fast'");
    expect_usage(TB " --host-link miner-5:rate=1mbit", "--host-link miner-5: unknown host");
    expect_usage(TB " --host-link rate=1mbit", "--host-link expects HOST:");
    expect_usage(TB " --fault partition:miner-9@1:2", "unknown wallet 'miner-9'");
    expect_usage(TB " --fault cut@1:2", "partition:WALLET@W:R");
    char dir[64];
    cli_tmpdir(dir, sizeof dir);
    /* Nothing was created for any of them. */
    cr_expect(!tp_path_exists("/tmp/templar-localnet-never-made"));
    char *out;
    cr_expect_eq(cli_run(&out, "localnet report %s", dir), 1);
    cr_expect(strstr(out, "not a localnet run directory"), "%s", out);
    free(out);
    tp_err err;
    tp_remove_tree(dir, &err);
}

Test(localnet, refuses_a_directory_holding_a_run) {
    char dir[64], path[128];
    cli_tmpdir(dir, sizeof dir);
    tp_err err;
    static const char *const taken[] = {"chain.db", "report.json"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, taken[i]);
        cr_assert_eq(tp_write_file_atomic(path, "x", 1, &err), TP_OK);
        char *out;
        cr_expect_eq(cli_run(&out, "localnet --miners 1 --validators 1 --windows 1 --out %s", dir), 1);
        cr_expect(strstr(out, "already holds a run"), "%s", out);
        free(out);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/file", dir);
    cr_assert_eq(tp_write_file_atomic(path, "x", 1, &err), TP_OK);
    char *out;
    cr_expect_eq(cli_run(&out, "localnet --miners 1 --validators 1 --windows 1 --out %s", path), 1);
    cr_expect(strstr(out, "not a directory"), "%s", out);
    free(out);
    tp_remove_tree(dir, &err);
}

Test(localnet, bad_config_leaves_nothing_behind) {
    char dir[64], out_dir[128], cfg[128];
    cli_tmpdir(dir, sizeof dir);
    snprintf(out_dir, sizeof out_dir, "%s/run", dir);
    char *out;
    cr_expect_eq(cli_run(&out, "localnet --miners 1 --validators 1 --windows 1 --config huge --out %s", out_dir), 1);
    cr_expect(strstr(out, "--config huge"), "%s", out);
    free(out);
    snprintf(cfg, sizeof cfg, "%s/run.json", dir);
    tp_err err;
    const char *text = "{\"base\": \"tiny\", \"data\": \"/nonexistent/tiny-512\"}";
    cr_assert_eq(tp_write_file_atomic(cfg, text, strlen(text), &err), TP_OK);
    cr_expect_eq(cli_run(&out, "localnet --miners 1 --validators 1 --windows 1 --config %s --out %s", cfg, out_dir), 1);
    cr_expect(strstr(out, "/nonexistent/tiny-512"), "%s", out);
    free(out);
    cr_expect(!tp_path_exists(out_dir), "a failed setup made %s", out_dir);
    tp_remove_tree(dir, &err);
}

/* ---------------------------------------------------------------- the report from a fake run */

static void write_text(const char *dir, const char *rel, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    char parent[512];
    snprintf(parent, sizeof parent, "%s", path);
    *strrchr(parent, '/') = 0;
    tp_err err;
    cr_assert_eq(tp_mkdirs(parent, &err), TP_OK, "%s", err.msg);
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

#define FP(c) "\"" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c "\""
#define FA FP("aa")
#define FB FP("bb")
#define FC FP("cc")
#define FD FP("dd")

/* Owner uid 0; validators uid 1 (stake 1000, the leader) and 2 (stake 500); miners uid 3 (honest)
 * and 4 (noise). K = 3 windows from start window 5. */
static void make_fake_run(const char *dir) {
    write_text(dir, "localnet.json",
               "{\"config\": \"tiny\", \"miners\": 2, \"validators\": 2, \"windows\": 3, \"clock\": \"lockstep\","
               " \"store\": \"file\", \"block_time_ms\": 1000, \"blocks_per_window\": 6, \"leader\": 1,"
               " \"faults\": [\"kill:miner-1@1:2\"], \"nodes\": ["
               "{\"wallet\": \"owner\", \"uid\": 0, \"role\": \"owner\", \"stake\": 0},"
               "{\"wallet\": \"validator-0\", \"uid\": 1, \"role\": \"validator\", \"stake\": 1000},"
               "{\"wallet\": \"validator-1\", \"uid\": 2, \"role\": \"validator\", \"stake\": 500},"
               "{\"wallet\": \"miner-0\", \"uid\": 3, \"role\": \"honest\", \"stake\": 0},"
               "{\"wallet\": \"miner-1\", \"uid\": 4, \"role\": \"noise\", \"stake\": 0}]}");
    write_text(dir, "state/validator-0/metrics.jsonl",
               "{\"role\":\"validator\",\"uid\":1,\"window\":5,\"start_window\":5,\"leader\":true,\"heldout_loss\":4.0,"
               "\"fingerprint\":" FA ",\"gathered\":2,\"gather_of\":2,\"gather_success\":1.0,\"evaluated\":[3],"
               "\"finals\":{\"3\":1.5},\"peers\":{\"gather\":[3,4],\"reserve\":[]}}\n"
               "{\"role\":\"validator\",\"uid\":1,\"window\":6,\"start_window\":5,\"leader\":true,\"heldout_loss\":3.5,"
               "\"fingerprint\":" FB ",\"gathered\":1,\"gather_of\":2,\"gather_success\":0.5,\"evaluated\":[4],"
               "\"finals\":{},\"weights\":{\"0\":0.5,\"3\":0.5},\"peers\":{\"gather\":[3],\"reserve\":[]}}\n"
               "{\"role\":\"validator\",\"uid\":1,\"window\":7,\"start_window\":5,\"leader\":true,\"heldout_loss\":null,"
               "\"fingerprint\":" FC ",\"gathered\":1,\"gather_of\":1,\"gather_success\":1.0,\"evaluated\":[],"
               "\"finals\":{},\"peers\":{\"gather\":[3],\"reserve\":[]}}\n"
               "{\"role\":\"validator\",\"uid\":1,\"win"); /* torn by a crash */
    write_text(dir, "state/validator-1/metrics.jsonl",
               "{\"role\":\"validator\",\"uid\":2,\"window\":5,\"start_window\":5,\"leader\":false,\"heldout_loss\":9.9,"
               "\"fingerprint\":" FA ",\"gather_success\":0.1,\"weights\":{\"0\":0.5,\"3\":0.5}}\n"
               "{\"role\":\"validator\",\"uid\":2,\"window\":6,\"start_window\":5,\"leader\":false,\"heldout_loss\":9.9,"
               "\"fingerprint\":" FB ",\"gather_success\":0.1}\n"
               "{\"role\":\"validator\",\"uid\":2,\"window\":7,\"start_window\":5,\"leader\":false,\"heldout_loss\":9.9,"
               "\"fingerprint\":" FC ",\"gather_success\":0.1,\"weights\":{\"0\":2,\"3\":1,\"4\":1}}\n");
    write_text(dir, "state/miner-0/metrics.jsonl",
               "{\"role\":\"miner\",\"uid\":3,\"window\":4,\"adversary\":\"none\",\"loss\":5,\"tokens\":9999,\"tokens_per_s\":1,"
               "\"bytes_up\":9999,\"bytes_down\":9999,\"train_s\":100,\"comm_s\":100,\"wait_s\":100,\"wall_s\":100,"
               "\"fingerprint\":null,\"catch_up\":true}\n"
               "{\"role\":\"miner\",\"uid\":3,\"window\":5,\"adversary\":\"none\",\"loss\":5,\"tokens\":1000,\"bytes_up\":100,"
               "\"bytes_down\":10,\"train_s\":1,\"comm_s\":0.5,\"wait_s\":0.25,\"wall_s\":2,\"fingerprint\":" FA
               ",\"catch_up\":false}\n"
               "{\"role\":\"miner\",\"uid\":3,\"window\":6,\"adversary\":\"none\",\"loss\":4,\"tokens\":2000,\"bytes_up\":200,"
               "\"bytes_down\":20,\"train_s\":1,\"comm_s\":0.5,\"wait_s\":0.25,\"wall_s\":2,\"fingerprint\":" FB
               ",\"catch_up\":false}\n"
               "{\"role\":\"miner\",\"uid\":3,\"window\":7,\"adversary\":\"none\",\"loss\":3,\"tokens\":3000,\"bytes_up\":300,"
               "\"bytes_down\":30,\"train_s\":1,\"comm_s\":0.5,\"wait_s\":0.25,\"wall_s\":2,\"fingerprint\":" FC
               ",\"catch_up\":false}\n");
    write_text(dir, "state/miner-1/metrics.jsonl",
               "not json at all\n"
               "{\"role\":\"miner\",\"uid\":4,\"window\":5,\"adversary\":\"noise\",\"tokens\":777,\"bytes_up\":1,\"bytes_down\":1,"
               "\"train_s\":1,\"comm_s\":1,\"wait_s\":1,\"wall_s\":4,\"fingerprint\":" FD ",\"catch_up\":false}\n"
               "{\"role\":\"miner\",\"uid\":4,\"window\":6,\"adversary\":\"noise\",\"bytes_up\":1,\"bytes_down\":1,"
               "\"train_s\":1,\"comm_s\":1,\"wait_s\":1,\"wall_s\":4,\"fingerprint\":null,\"catch_up\":false}\n");

    /* The chain: both validators' final rows. */
    char uri[256];
    snprintf(uri, sizeof uri, "local:%s/chain.db", dir);
    tp_chain_config cfg;
    tp_chain_config_default(&cfg);
    cfg.clock = TP_CLOCK_LOCKSTEP;
    cfg.blocks_per_window = 6;
    cfg.tempo = 12;
    tp_err err;
    cr_assert_eq(tp_chain_create(uri, &cfg, &err), TP_OK, "%s", err.msg);
    tp_chain *c;
    cr_assert_eq(tp_chain_open(uri, &c, &err), TP_OK, "%s", err.msg);
    const char *hk[] = {"hk0", "hk1", "hk2", "hk3", "hk4"};
    for (int i = 0; i < 5; i++) {
        int64_t uid;
        int is_new;
        cr_assert_eq(tp_chain_register(c, hk[i], &uid, &is_new, &err), TP_OK, "%s", err.msg);
        cr_assert_eq(uid, i);
    }
    cr_assert_eq(tp_chain_set_stake(c, "hk1", 1000, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_chain_set_stake(c, "hk2", 500, &err), TP_OK, "%s", err.msg);
    int64_t u1[] = {0, 3}, u2[] = {0, 3, 4};
    double w1[] = {0.5, 0.5}, w2[] = {0.5, 0.25, 0.25};
    cr_assert_eq(tp_chain_set_weights(c, "hk1", u1, 2, w1, 2, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_chain_set_weights(c, "hk2", u2, 3, w2, 3, &err), TP_OK, "%s", err.msg);
    /* A run ends with one more epoch, so its last weights count. */
    cr_assert_eq(tp_chain_epoch(c, &err), TP_OK, "%s", err.msg);
    tp_chain_close(c);
}

static double jget(json_t *root, const char *path) {
    /* "a.b.c": nested object keys */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = root;
    for (char *save, *tok = strtok_r(buf, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    cr_assert(json_is_number(v), "%s is not a number", path);
    return json_number_value(v);
}

#define NEAR(a, b) cr_expect(fabs((a) - (b)) < 1e-9, "%s = %.12g, expected %.12g", #a, (double)(a), (double)(b))

/* The bytes of a file, for checking that something did not change it. */
static char *slurp(const char *path, size_t *len) {
    uint8_t *b;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 64u << 20, &b, len, &err), TP_OK, "%s", err.msg);
    return (char *)b;
}

Test(localnet, report_rebuild_does_not_write_the_chain) {
    char dir[64], db[128];
    cli_tmpdir(dir, sizeof dir);
    make_fake_run(dir);
    snprintf(db, sizeof db, "%s/chain.db", dir);
    size_t n0, n1;
    char *before = slurp(db, &n0), *out;
    /* The old report ran an epoch of its own; a rebuild only reads. */
    cr_assert_eq(cli_run(&out, "localnet report %s", dir), 0, "%s", out);
    free(out);
    cr_assert_eq(cli_run(&out, "localnet report %s", dir), 0, "%s", out);
    free(out);
    char *after = slurp(db, &n1);
    cr_assert(n0 == n1 && !memcmp(before, after, n0), "localnet report changed %s", db);
    free(before);
    free(after);
}

Test(localnet, report_from_fake_metrics) {
    char dir[64];
    cli_tmpdir(dir, sizeof dir);
    make_fake_run(dir);
    char *out;
    cr_assert_eq(cli_run(&out, "localnet report %s", dir), 0, "%s", out);
    cr_expect(strstr(out, "report.json"), "%s", out);
    free(out);

    char path[256];
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_error_t je;
    json_t *r = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    cr_assert(r, "report.json: %s", je.text);
    cr_expect_str_eq(json_string_value(json_object_get(r, "config")), "tiny");
    cr_expect_eq(json_integer_value(json_object_get(r, "miners")), 2);
    cr_expect_eq(json_integer_value(json_object_get(r, "validators")), 2);
    cr_expect_eq(json_integer_value(json_object_get(r, "window_count")), 3);
    cr_expect_eq(json_integer_value(json_object_get(r, "start_window")), 5);
    cr_expect_str_eq(json_string_value(json_object_get(r, "clock")), "lockstep");
    cr_expect_str_eq(json_string_value(json_object_get(r, "store")), "file");
    cr_expect_str_eq(json_string_value(json_object_get(r, "outcome")), "rebuilt");
    cr_expect_eq(json_integer_value(json_object_get(r, "leader")), 1);

    json_t *roles = json_object_get(r, "roles");
    const char *want_roles[] = {"owner", "validator", "validator", "honest", "noise"};
    for (int u = 0; u < 5; u++) {
        char k[16];
        snprintf(k, sizeof k, "%d", u);
        cr_expect_str_eq(json_string_value(json_object_get(roles, k)), want_roles[u]);
    }

    /* windows: 5, 6, 7 from the leader (the other validator's losses are ignored) */
    json_t *ws = json_object_get(r, "windows");
    cr_assert(json_is_array(ws));
    cr_assert_eq(json_array_size(ws), 3);
    json_t *w5 = json_array_get(ws, 0), *w6 = json_array_get(ws, 1), *w7 = json_array_get(ws, 2);
    cr_expect_eq(json_integer_value(json_object_get(w5, "window")), 5);
    cr_expect_eq(json_integer_value(json_object_get(w7, "window")), 7);
    NEAR(jget(w5, "heldout_loss"), 4.0);
    NEAR(jget(w6, "heldout_loss"), 3.5);
    cr_expect(json_is_null(json_object_get(w7, "heldout_loss")));
    NEAR(jget(w5, "gather_success"), 1.0);
    NEAR(jget(w6, "gather_success"), 0.5);
    /* fingerprints of every neuron with one; miner-1 has none in window 6 */
    json_t *f5 = json_object_get(w5, "fingerprints"), *f6 = json_object_get(w6, "fingerprints");
    cr_expect_eq(json_object_size(f5), 4);
    cr_expect_str_eq(json_string_value(json_object_get(f5, "3")), json_string_value(json_object_get(f5, "1")));
    cr_expect(!strncmp(json_string_value(json_object_get(f5, "3")), "aaaa", 4));
    cr_expect(!strncmp(json_string_value(json_object_get(f5, "4")), "dddd", 4));
    cr_expect_eq(json_object_size(f6), 3);
    cr_expect(!json_object_get(f6, "4"));
    cr_expect_eq(json_integer_value(json_object_get(w5, "honest_fingerprints_distinct")), 1);
    /* weights: each validator's latest row at or before the window; none before its first */
    json_t *wt5 = json_object_get(w5, "weights"), *wt6 = json_object_get(w6, "weights"), *wt7 = json_object_get(w7, "weights");
    cr_expect(!json_object_get(wt5, "1"));
    NEAR(jget(wt5, "2.3"), 0.5);
    NEAR(jget(wt6, "1.3"), 0.5);
    NEAR(jget(wt6, "2.3"), 0.5);
    cr_expect(!json_object_get(json_object_get(wt6, "2"), "4"));
    NEAR(jget(wt7, "1.3"), 0.5);
    NEAR(jget(wt7, "2.4"), 1.0);

    /* final weights from the chain, stake-weighted: (1000·row1 + 500·row2) / 1500 */
    json_t *fw = json_object_get(r, "final_weights");
    NEAR(jget(fw, "0"), 0.5);
    NEAR(jget(fw, "3"), (1000 * 0.5 + 500 * 0.25) / 1500);
    NEAR(jget(fw, "4"), 500 * 0.25 / 1500);
    NEAR(jget(fw, "1"), 0.0);
    json_t *inc = json_object_get(r, "incentive");
    cr_expect_eq(json_object_size(inc), 5);
    double sum = 0;
    for (int u = 0; u < 5; u++) {
        char k[16];
        snprintf(k, sizeof k, "%d", u);
        sum += jget(inc, k);
    }
    NEAR(sum, 1.0);

    /* miners: catch-up windows excluded */
    NEAR(jget(r, "utilization.3"), 0.5);
    NEAR(jget(r, "utilization.4"), 0.25);
    cr_expect(!json_object_get(json_object_get(r, "utilization"), "1"));
    NEAR(jget(r, "bytes_per_window.3.up"), 200);
    NEAR(jget(r, "bytes_per_window.3.down"), 20);
    NEAR(jget(r, "timings.3.train_s"), 1);
    NEAR(jget(r, "timings.3.comm_s"), 0.5);
    NEAR(jget(r, "timings.3.wait_s"), 0.25);
    NEAR(jget(r, "tokens_trained"), 6000);
    json_decref(r);

    snprintf(path, sizeof path, "%s/report.md", dir);
    uint8_t *md;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1 << 20, &md, &len, &err), TP_OK, "%s", err.msg);
    /* Tokens: the honest miner's live windows only (not its catch-up, not the noise miner's). */
    cr_expect(strstr((char *)md, "| 6 | 3000 | 3.5000 | 50% |"), "%s", md);
    cr_expect(strstr((char *)md, "| tokens | 6000 trained on by the honest miners |"), "%s", md);
    cr_expect(strstr((char *)md, "| 4 | miner-1 | noise |"), "%s", md);
    cr_expect(strstr((char *)md, "kill:miner-1@1:2"), "%s", md);
    free(md);
    /* Plots when gnuplot is installed (scripts/install-deps); otherwise the report says why not. */
    snprintf(path, sizeof path, "%s/plots/plots.gp", dir);
    cr_expect(tp_path_exists(path));
    if (system("command -v gnuplot >/dev/null 2>&1") == 0) {
        const char *pngs[] = {"loss.png", "weights.png", "gather.png"};
        for (int i = 0; i < 3; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, pngs[i]);
            cr_expect(tp_path_exists(path), "%s missing", path);
        }
    }
    tp_remove_tree(dir, &err);
}

Test(localnet, report_keeps_the_outcome_and_handles_a_silent_leader) {
    char dir[64];
    cli_tmpdir(dir, sizeof dir);
    make_fake_run(dir);
    char path[256];
    snprintf(path, sizeof path, "%s/state/validator-0/metrics.jsonl", dir);
    unlink(path); /* the leader recorded nothing: no start window */
    write_text(dir, "report.json", "{\"outcome\": \"interrupted\", \"notes\": [\"stopped by a test\"]}");
    char *out;
    cr_assert_eq(cli_run(&out, "localnet report %s", dir), 0, "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/report.json", dir);
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    cr_assert(r, "%s", je.text);
    cr_expect_str_eq(json_string_value(json_object_get(r, "outcome")), "interrupted");
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(r, "notes"), 0)), "stopped by a test");
    cr_expect(json_is_null(json_object_get(r, "start_window")));
    cr_expect_eq(json_array_size(json_object_get(r, "windows")), 0);
    cr_expect_eq(json_object_size(json_object_get(r, "final_weights")), 5);
    json_decref(r);
    tp_err err;
    tp_remove_tree(dir, &err);
}
