/* templar train / grad / generate as a user runs them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"
#include "core/fileio.h"
#include "core/safetensors.h"

Test(train, resume_is_bit_identical_to_an_uninterrupted_run, .timeout = 120) {
    char dir[256], data[512], full[512], part[512], a[600], b[600];
    cli_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(full, sizeof full, "%s/full", dir);
    snprintf(part, sizeof part, "%s/part", dir);
    cli_make_data(data, 512, 40000, 4000);
    char *out;
    int rc = cli_run(&out, "train --config tiny --data %s --steps 24 --out %s", data, full);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "train --config tiny --data %s --steps 24 --stop-at 11 --out %s", data, part);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    snprintf(a, sizeof a, "%s/model.safetensors", full);
    snprintf(b, sizeof b, "%s/model.safetensors", part);
    cr_assert(!cli_same_file(a, b), "the stopped run must differ before it is resumed");
    rc = cli_run(&out, "train --resume %s --data %s --steps 24", part, data);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    cr_assert(cli_same_file(a, b), "resumed weights differ from the uninterrupted run");
    snprintf(a, sizeof a, "%s/optimizer.safetensors", full);
    snprintf(b, sizeof b, "%s/optimizer.safetensors", part);
    cr_assert(cli_same_file(a, b), "resumed optimizer state differs from the uninterrupted run");
    tp_err err;
    tp_remove_tree(dir, &err);
}

/* Every "MFU x%" the log prints lies in [lo, 100]; returns how many there were. */
static int check_printed_mfu(const char *out, double lo) {
    int n = 0;
    for (const char *p = strstr(out, "MFU "); p; p = strstr(p + 1, "MFU ")) {
        double v;
        if (sscanf(p + 4, "%lf%%", &v) != 1) continue; /* "MFU is relative to ..." */
        cr_assert(v >= lo && v <= 100.0, "printed MFU %g%% outside [%g, 100]: %s", v, lo, out);
        n++;
    }
    return n;
}

/* The JSON summary: the object on the last line of the log. */
static json_t *summary(const char *out) {
    const char *last = strrchr(out, '{');
    cr_assert(last, "no JSON summary in: %s", out);
    json_t *j = json_loads(last, 0, NULL);
    cr_assert(j, "last line is not JSON: %s", last);
    return j;
}

static double num(const json_t *j, const char *key) {
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_number(v), "the summary lacks the number %s", key);
    return json_number_value(v);
}

Test(train, learns_and_reports_json, .timeout = 120) {
    char dir[256], data[512], run[512];
    cli_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(run, sizeof run, "%s/run", dir);
    cli_make_data(data, 512, 60000, 4000);
    char *out;
    int rc = cli_run(&out, "train --config tiny --data %s --steps 80 --out %s --json", data, run);
    cr_assert_eq(rc, 0, "%s", out);
    json_t *j = summary(out);
    double start = json_number_value(json_object_get(j, "heldout_loss_start"));
    double end = json_number_value(json_object_get(j, "heldout_loss"));
    cr_assert(json_number_value(json_object_get(j, "tokens_per_s")) > 0);
    cr_assert(json_is_number(json_object_get(j, "final_loss")));
    cr_assert_eq(json_integer_value(json_object_get(j, "steps")), 80);
    cr_assert(end < 0.7 * start, "held-out loss %f -> %f did not fall", start, end);
    cr_assert(strstr(out, "MFU"), "the log names MFU");
    cr_assert(strstr(out, "sgemm peak"), "the log prints the measured peak");
    /* MFU is a fraction of the peak, which is the best of its trials (and only ever raised). */
    cr_assert_eq(check_printed_mfu(out, 0.05), 9, "%s", out); /* every 10th step and the summary */
    cr_assert(num(j, "mfu") > 0 && num(j, "mfu") <= 1.0, "mfu %g", num(j, "mfu"));
    cr_assert_eq(json_integer_value(json_object_get(j, "sgemm_peak_trials")), 5);
    cr_assert(num(j, "sgemm_peak_median_gflops") > 0);
    cr_assert(num(j, "sgemm_peak_median_gflops") <= num(j, "sgemm_peak_start_gflops"));
    cr_assert(num(j, "sgemm_peak_start_gflops") <= num(j, "sgemm_peak_gflops"));
    cr_assert(num(j, "sgemm_peak_cpu_share") > 0);
    cr_assert(json_is_boolean(json_object_get(j, "machine_busy")), "the summary lacks machine_busy");
    json_decref(j);
    free(out);
    tp_err err;
    tp_remove_tree(dir, &err);
}

/* A peak below what the steps achieve (as a busy machine measures it) is measured again and raised,
 * so MFU stays at most 100 %: --peak-gflops gives such a peak without depending on the load. A
 * peak above them is kept, and a given peak says nothing about a busy machine. */
Test(train, mfu_is_a_fraction_of_a_peak, .timeout = 120) {
    char dir[256], data[512];
    cli_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    cli_make_data(data, 512, 20000, 4000);
    char *out;
    int rc =
        cli_run(&out, "train --config tiny --data %s --steps 6 --out %s/low --json --peak-gflops 0.001", data, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "above the sgemm peak"), "a step beat the given peak unannounced: %s", out);
    cr_assert_eq(check_printed_mfu(out, 0.05), 7, "%s", out); /* 6 steps and the summary */
    json_t *j = summary(out);
    cr_assert(num(j, "mfu") > 0 && num(j, "mfu") <= 1.0, "mfu %g: %s", num(j, "mfu"), out);
    cr_assert_eq(num(j, "sgemm_peak_start_gflops"), 0.001);
    cr_assert(num(j, "sgemm_peak_gflops") > 1.0, "the peak was not raised: %s", out);
    cr_assert_geq(json_integer_value(json_object_get(j, "sgemm_peak_remeasures")), 1);
    cr_assert_eq(json_integer_value(json_object_get(j, "sgemm_peak_trials")), 0, "a given peak has no trials");
    cr_assert(json_is_null(json_object_get(j, "sgemm_peak_median_gflops")));
    cr_assert(json_is_boolean(json_object_get(j, "machine_busy")));
    json_decref(j);
    free(out);

    rc = cli_run(&out, "train --config tiny --data %s --steps 6 --out %s/high --json --peak-gflops 1e6", data, dir);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(!strstr(out, "above the sgemm peak") && !strstr(out, "machine: busy"), "%s", out);
    cr_assert_eq(check_printed_mfu(out, 0.0), 7, "%s", out);
    j = summary(out);
    cr_assert(num(j, "mfu") > 0 && num(j, "mfu") < 1e-3, "mfu %g: %s", num(j, "mfu"), out);
    cr_assert_eq(num(j, "sgemm_peak_gflops"), 1e6);
    cr_assert_eq(json_integer_value(json_object_get(j, "sgemm_peak_remeasures")), 0);
    cr_assert(json_is_false(json_object_get(j, "machine_busy")), "%s", out);
    json_decref(j);
    free(out);

    cr_assert_eq(cli_run(&out, "train --config tiny --data %s --steps 1 --peak-gflops 0", data), 2);
    cr_assert(strstr(out, "--peak-gflops"), "%s", out);
    free(out);
    tp_err err;
    tp_remove_tree(dir, &err);
}

/* A NaN in the weights makes the loss non-finite: training stops with a message and the checkpoint
 * already in --out is left exactly as it was. */
Test(train, non_finite_loss_stops_and_keeps_the_last_checkpoint, .timeout = 120) {
    char dir[256], data[512], good[512], bad[512], path[600], saved[600];
    cli_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(bad, sizeof bad, "%s/bad", dir);
    cli_make_data(data, 512, 20000, 4000);
    char *out;
    int rc = cli_run(&out, "train --config tiny --data %s --steps 3 --out %s", data, good);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "train --config tiny --data %s --steps 3 --out %s", data, bad);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    /* Poison one weight of the copy. */
    snprintf(path, sizeof path, "%s/model.safetensors", bad);
    tp_st_file f;
    tp_err err;
    cr_assert_eq(tp_st_load(path, 1u << 30, 100, &f, &err), TP_OK, "%s", err.msg);
    const tp_st_tensor *t = tp_st_find(&f.st, "model.norm.weight");
    cr_assert(t);
    float nan = NAN;
    memcpy(f.bytes + (t->data - f.bytes), &nan, sizeof nan);
    cr_assert_eq(tp_write_file_atomic(path, f.bytes, f.len, &err), TP_OK);
    tp_st_file_free(&f);

    snprintf(saved, sizeof saved, "%s/model.safetensors.before", dir);
    snprintf(path, sizeof path, "%s/model.safetensors", good);
    uint8_t *bytes;
    size_t len;
    cr_assert_eq(tp_read_file(path, 1u << 30, &bytes, &len, &err), TP_OK);
    cr_assert_eq(tp_write_file_atomic(saved, bytes, len, &err), TP_OK);
    free(bytes);
    rc = cli_run(&out, "train --init %s --config tiny --data %s --steps 3 --out %s", bad, data, good);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "loss is nan") || strstr(out, "loss is -nan"), "%s", out);
    cr_assert(strstr(out, "intact"), "%s", out);
    cr_assert(cli_same_file(path, saved), "the last good checkpoint changed");
    free(out);
    tp_remove_tree(dir, &err);
}

Test(train, bad_input_names_what_is_wrong, .timeout = 60) {
    char dir[256], data[512], cfg[512];
    cli_tmpdir(dir, sizeof dir);
    snprintf(data, sizeof data, "%s/data", dir);
    cli_make_data(data, 512, 20000, 4000);
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"{\"base\": \"tiny\", \"model\": {\"n_heads\": 3}}", "n_heads"},
        {"{\"base\": \"tiny\", \"model\": {\"n_kv_heads\": 3}}", "n_kv_heads"},
        {"{\"base\": \"tiny\", \"model\": {\"vocab_size\": 1024}}", "vocab_size"},
        {"{\"base\": \"tiny\", \"modle\": {}}", "modle"},
        {"{\"base\": \"tiny\", \"train\": {\"learning_rate\": 1}}", "train.learning_rate"},
        {"{\"base\": \"tiny\",", "json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(cfg, sizeof cfg, "%s/cfg%zu.json", dir, i);
        tp_err err;
        cr_assert_eq(tp_write_file_atomic(cfg, cases[i].json, strlen(cases[i].json), &err), TP_OK);
        char *out;
        int rc = cli_run(&out, "train --config %s --data %s --steps 1 --out %s/run", cfg, data, dir);
        cr_assert_neq(rc, 0, "accepted %s", cases[i].json);
        cr_assert(strcasestr(out, cases[i].needle), "error for %s does not name %s: %s", cases[i].json,
                  cases[i].needle, out);
        free(out);
    }
    char *out;
    cr_assert_eq(cli_run(&out, "train --config tiny --data %s/missing --steps 1", dir), 1);
    cr_assert(strstr(out, "missing"), "%s", out);
    free(out);
    cr_assert_eq(cli_run(&out, "train --config tiny --data %s --steps x", data), 2);
    cr_assert(strstr(out, "--steps"), "%s", out);
    free(out);
    tp_err err;
    tp_remove_tree(dir, &err);
}

Test(cli, every_command_has_help) {
    static const char *cmds[] = {"train", "grad", "generate", "tokenizer", "prep", "wallet", "compress", "inspect", "apply", "bench",
                                 "miner", "validator", "localnet", "chain", "store"};
    char *out;
    cr_assert_eq(cli_run(&out, "--help"), 0);
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        cr_assert(strstr(out, cmds[i]), "top-level help lacks %s", cmds[i]);
    }
    free(out);
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        cr_assert_eq(cli_run(&out, "%s --help", cmds[i]), 0, "templar %s --help failed", cmds[i]);
        cr_assert(strstr(out, "usage"), "templar %s --help: %s", cmds[i], out);
        free(out);
    }
    cr_assert_eq(cli_run(&out, "frobnicate"), 2);
    cr_assert(strstr(out, "unknown command"), "%s", out);
    free(out);
}
