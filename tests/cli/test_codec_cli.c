/* templar compress / inspect / apply as a user runs them. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_test_util.h"
#include "core/fileio.h"
#include "core/rng.h"

static char dir[256];
static char home_env[300];

static void setup(void) {
    cli_tmpdir(dir, sizeof dir);
    snprintf(home_env, sizeof home_env, "%s/home", dir);
    setenv("TEMPLAR_HOME", home_env, 1);
    char data[512], *out;
    snprintf(data, sizeof data, "%s/data", dir);
    cli_make_data(data, 512, 20000, 4000);
    int rc = cli_run(&out, "train --config tiny --data %s --steps 4 --stop-at 2 --out %s/before", data, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "train --resume %s/before --data %s --steps 4 --out %s/after", dir, data, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    /* alice ed25519, whose signatures (so payloads) are deterministic; bob sr25519, as btcli makes them. */
    cr_assert_eq(cli_run(NULL, "wallet create alice --no-password --type ed25519"), 0);
    cr_assert_eq(cli_run(NULL, "wallet create bob --no-password"), 0);
}

static void teardown(void) {
    tp_err err;
    tp_remove_tree(dir, &err);
}

static void hotkey_of(const char *wallet, char *hex) {
    char *out;
    cr_assert_eq(cli_run(&out, "wallet show %s", wallet), 0);
    char *h = strstr(out, "public key ");
    cr_assert(h, "%s", out);
    memcpy(hex, h + 11, 64);
    hex[64] = 0;
    free(out);
}

TestSuite(codec_cli, .init = setup, .fini = teardown, .timeout = 120);

Test(codec_cli, compress_is_deterministic_and_inspect_verifies) {
    char *out, a[600], b[600], key[65], other[65];
    int rc = cli_run(&out, "compress --before %s/before --after %s/after --wallet alice --uid 3 --window 9 "
                           "--out %s/g.st --ef-out %s/ef.st", dir, dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "compress --before %s/before --after %s/after --wallet alice --uid 3 --window 9 "
                       "--out %s/g2.st", dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    snprintf(a, sizeof a, "%s/g.st", dir);
    snprintf(b, sizeof b, "%s/g2.st", dir);
    cr_assert(cli_same_file(a, b), "the same inputs must give the same bytes");

    hotkey_of("alice", key);
    hotkey_of("bob", other);
    rc = cli_run(&out, "inspect %s --model %s/before --pubkey %s --window 9 --uid 3", a, dir, key);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "verdict: valid"), "%s", out);
    cr_assert(strstr(out, "model.layers.0.self_attn.q_proj.weight"), "%s", out);
    free(out);
    static const struct {
        const char *flag, *reason;
    } wrong[] = {{"--uid 4", "wrong_uid"}, {"--window 8", "wrong_window"}, {"--run-version v2", "wrong_version"}};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        rc = cli_run(&out, "inspect %s %s", a, wrong[i].flag);
        cr_assert_eq(rc, 1, "%s", out);
        cr_assert(strstr(out, wrong[i].reason), "%s: %s", wrong[i].flag, out);
        free(out);
    }
    rc = cli_run(&out, "inspect %s --pubkey %s", a, other);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "bad_signature"), "%s", out);
    free(out);
}

/* Whatever bytes it is given, inspect answers 0 or 1 with a verdict, never a crash. */
Test(codec_cli, inspect_never_crashes) {
    char *out, path[600], bad[600];
    int rc = cli_run(&out, "compress --before %s/before --after %s/after --wallet alice --uid 1 --window 1 --out %s/g.st",
                     dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/g.st", dir);
    snprintf(bad, sizeof bad, "%s/bad.st", dir);
    uint8_t *bytes;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1u << 26, &bytes, &len, &err), TP_OK);
    tp_rng rng;
    tp_rng_seed(&rng, 5);
    for (int i = 0; i < 24; i++) {
        uint8_t *copy = malloc(len);
        memcpy(copy, bytes, len);
        size_t n = len;
        if (i % 3 == 0) n = tp_rng_below(&rng, len);                           /* truncated */
        else if (i % 3 == 1) copy[tp_rng_below(&rng, len)] ^= (uint8_t)(1 + tp_rng_below(&rng, 255)); /* flipped */
        else for (size_t j = 0; j < len; j++) copy[j] = (uint8_t)tp_rng_next(&rng);                    /* noise */
        cr_assert_eq(tp_write_file_atomic(bad, copy, n, &err), TP_OK);
        free(copy);
        rc = cli_run(&out, "inspect %s --model %s/before", bad, dir);
        cr_assert(rc == 0 || rc == 1, "inspect exited %d on case %d: %s", rc, i, out);
        cr_assert(strstr(out, "verdict:"), "case %d: %s", i, out);
        free(out);
    }
    free(bytes);
    cr_assert_eq(cli_run(&out, "inspect %s/missing.st", dir), 1);
    free(out);
}

Test(codec_cli, apply_aggregates_valid_updates_and_names_rejected_ones) {
    char *out;
    int rc = cli_run(&out, "compress --before %s/before --after %s/after --wallet alice --uid 1 --window 2 --out %s/a.st",
                     dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    rc = cli_run(&out, "compress --before %s/before --after %s/after --wallet bob --uid 2 --window 2 --out %s/b.st "
                       "--ef %s/missing-ef.st", dir, dir, dir, dir);
    cr_assert_eq(rc, 1, "a missing --ef file is an error: %s", out);
    free(out);
    rc = cli_run(&out, "compress --before %s/before --after %s/after --wallet bob --uid 2 --window 2 --out %s/b.st",
                 dir, dir, dir);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char junk[600];
    snprintf(junk, sizeof junk, "%s/junk.st", dir);
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(junk, "not an update", 13, &err), TP_OK);
    rc = cli_run(&out, "apply --model %s/before --out %s/next --window 2 %s/a.st %s/b.st %s", dir, dir, dir, dir, junk);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert(strstr(out, "applied 2 of 3"), "%s", out);
    cr_assert(strstr(out, "rejected"), "%s", out);
    free(out);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/next/model.safetensors", dir);
    snprintf(b, sizeof b, "%s/before/model.safetensors", dir);
    cr_assert(!cli_same_file(a, b), "the outer step changed nothing");
    rc = cli_run(&out, "apply --model %s/before --out %s/next2 --window 3 %s/a.st", dir, dir, dir);
    cr_assert_eq(rc, 1, "%s", out);
    cr_assert(strstr(out, "wrong_window"), "%s", out);
    free(out);
}
