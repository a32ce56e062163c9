/* The error model at work in a real neuron: a permanent refusal (HTTP 403, the leader's read
 * credentials are wrong) ends the start-window wait with a message naming it, where it used to be
 * retried forever. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "../net/store_test_util.h"
#include "core/fileio.h"

static void run_ok(const char *fmt, const char *arg1, const char *arg2) {
    char *out, args[4096];
    snprintf(args, sizeof args, fmt, arg1, arg2);
    int rc = cli_run(&out, "%s", args);
    cr_assert_eq(rc, 0, "templar %s: %s", args, out);
    free(out);
}

Test(neuron_errors, a_permanent_storage_error_ends_the_start_window_wait, .timeout = 120) {
    char dir[256], path[512], chain[600], cfg[600], home[600];
    cli_tmpdir(dir, sizeof dir);
    snprintf(home, sizeof home, "%s/home", dir);
    setenv("TEMPLAR_HOME", home, 1);
    snprintf(path, sizeof path, "%s/data", dir);
    cli_make_data(path, 512, 40000, 4000);
    snprintf(cfg, sizeof cfg, "%s/run.json", dir);
    char text[1024];
    snprintf(text, sizeof text, "{\"base\": \"tiny\", \"data\": \"%s\"}", path);
    tp_err err;
    cr_assert_eq(tp_write_file_atomic(cfg, text, strlen(text), &err), TP_OK);
    snprintf(chain, sizeof chain, "local:%s/chain.db", dir);

    /* The leader's bucket answers only correctly signed requests; it commits wrong read keys. */
    test_server srv;
    sigv4_start(&srv, "leader-bucket", "AKIDRIGHT", "right-secret", NULL);
    run_ok("chain init --chain %s --clock lockstep --blocks-per-window 6%s", chain, "");
    run_ok("wallet create %s%s", "v0", " --no-password");
    run_ok("chain register --chain %s --wallet %s", chain, "v0");
    run_ok("chain stake --chain %s --wallet %s --amount 1000", chain, "v0");
    setenv("TEMPLAR_STORE_READ_ACCESS_KEY_ID", "AKIDWRONG", 1);
    setenv("TEMPLAR_STORE_READ_SECRET_ACCESS_KEY", "wrong-secret", 1);
    char args[1200];
    snprintf(args, sizeof args, "chain commit --chain %s --wallet v0 --store %%s", chain);
    run_ok(args, srv.uri, "");
    unsetenv("TEMPLAR_STORE_READ_ACCESS_KEY_ID");
    unsetenv("TEMPLAR_STORE_READ_SECRET_ACCESS_KEY");
    run_ok("wallet create %s%s", "m0", " --no-password");
    run_ok("chain register --chain %s --wallet %s", chain, "m0");

    char *out;
    int rc = cli_run(&out, "miner --wallet m0 --chain %s --store file://%s/m0 --config %s", chain, dir, cfg);
    cr_assert_eq(rc, 1, "the miner should give up, exit %d: %s", rc, out);
    cr_assert(strstr(out, "403"), "the message should name the refusal: %s", out);
    cr_assert(strstr(out, "permanent"), "the message should say retrying cannot help: %s", out);
    cr_assert(!strstr(out, "wrong-secret"), "a secret reached the output: %s", out);
    free(out);
    server_stop(&srv, 0);
    tp_remove_tree(dir, &err);
}
