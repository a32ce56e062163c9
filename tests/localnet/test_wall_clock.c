/* Miners on the wall clock train until their window's end, never past it (issue 12): asked for far
 * more inner steps than a window of a few seconds holds, every miner stops in time, and every update
 * of every training window is gathered (none refused as late). The margin is two orders of
 * magnitude at least (a tiny model's step against a 6 s window), so the outcome does not hang on timing. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "localnet_test_util.h"

#define ASKED 5000 /* × the batch: within the tiny corpus, whose samples a window draws without repeats */

/* The tiny config's shards, prepared by a one-window run when this clone has none yet. */
static void tiny_data(char *out, size_t n) {
    const char *root = getenv("TEMPLAR_ROOT");
    cr_assert(root, "TEMPLAR_ROOT is not set");
    snprintf(out, n, "%s/data/tiny-512", root);
    if (tp_path_exists(out)) return;
    char dir[256];
    json_decref(ln_run(dir, sizeof dir, NULL, "--miners 1 --validators 1 --windows 1"));
    cr_assert(tp_path_exists(out), "the localnet did not prepare %s", out);
}

static void check_miner(const char *net, const char *wallet, int *windows) {
    char path[4400];
    snprintf(path, sizeof path, "%s/state/%s/metrics.jsonl", net, wallet);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no metrics at %s", path);
    char line[8192];
    while (fgets(line, sizeof line, f)) {
        json_t *rec = json_loads(line, 0, NULL);
        cr_assert(rec, "%s: a line is not JSON", path);
        if (!json_is_true(json_object_get(rec, "null_round")) && !json_is_true(json_object_get(rec, "catch_up"))) {
            json_int_t steps = json_integer_value(json_object_get(rec, "inner_steps"));
            cr_expect(steps > 0 && steps < ASKED, "%s: %lld inner steps of %d", wallet, (long long)steps, ASKED);
            cr_expect_eq(ln_num(rec, "gathered"), ln_num(rec, "gather_of"), "%s: %s", wallet, line);
            (*windows)++;
        }
        json_decref(rec);
    }
    fclose(f);
}

Test(wall_clock, miners_stop_inner_steps_at_the_window_end, .timeout = 900) {
    char data[4200], dir[256], cfg[4400];
    tiny_data(data, sizeof data);
    cli_tmpdir(dir, sizeof dir);
    snprintf(cfg, sizeof cfg, "%s/run.json", dir);
    char text[8600];
    snprintf(text, sizeof text, "{\"base\": \"tiny\", \"data\": \"%s\", \"protocol\": {\"inner_steps\": %d}}", data,
             ASKED);
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(cfg, text, strlen(text), &err), TP_OK, "%s", err.msg);
    char *log;
    int rc = cli_run(&log, "localnet --config %s --miners 2 --validators 1 --windows 3 --clock wall --block-time 500 "
                           "--blocks-per-window 12 --out %s/net",
                     cfg, dir);
    cr_assert_eq(rc, 0, "localnet failed:\n%s", log);
    free(log);
    char net[4300];
    snprintf(net, sizeof net, "%s/net", dir);
    int windows = 0;
    check_miner(net, "miner-0", &windows);
    check_miner(net, "miner-1", &windows);
    cr_expect(windows >= 2, "only %d training windows recorded", windows);
    tp_remove_tree(dir, &err);
}
