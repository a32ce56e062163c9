/* templar chain ... and templar wallet show --chain, as a user runs them ($TEMPLAR_BIN, wallets in a
 * temporary $TEMPLAR_HOME): the whole flow, every refusal by name, damaged ledgers, 8 concurrent
 * processes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "net/chain.h"

typedef struct {
    char dir[256];
    char chain[300];
} env;

static void setup(env *e) {
    cli_tmpdir(e->dir, sizeof e->dir);
    char home[300];
    snprintf(home, sizeof home, "%s/home", e->dir);
    setenv("TEMPLAR_HOME", home, 1);
    unsetenv("TEMPLAR_CHAIN");
    unsetenv("TEMPLAR_STORE_READ_ACCESS_KEY_ID");
    unsetenv("TEMPLAR_STORE_READ_SECRET_ACCESS_KEY");
    snprintf(e->chain, sizeof e->chain, "local:%s/chain.db", e->dir);
}

static void teardown(env *e) {
    tp_err err;
    tp_remove_tree(e->dir, &err);
}

/* Runs and expects exit status `want`; with a needle, the output must contain it. Returns the output. */
static char *expect(int want, const char *needle, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static char *expect(int want, const char *needle, const char *fmt, ...) {
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char *out;
    int rc = cli_run(&out, "%s", args);
    cr_assert_eq(rc, want, "templar %s: exit %d, want %d:\n%s", args, rc, want, out);
    if (needle) cr_assert(strstr(out, needle), "templar %s: output lacks '%s':\n%s", args, needle, out);
    return out;
}

#define RUN(want, needle, ...) free(expect(want, needle, __VA_ARGS__))

static json_t *metagraph_json(const env *e) {
    char *out = expect(0, NULL, "chain metagraph --chain %s --json", e->chain);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    cr_assert_not_null(j, "metagraph --json is not JSON (%s):\n%s", je.text, out);
    cr_assert(json_is_array(j));
    free(out);
    return j;
}

Test(chain_cli, help) {
    RUN(0, "subcommands", "chain --help");
    static const char *subs[] = {"init",        "info",    "register", "stake",   "commit",
                                 "set-weights", "weights", "epoch",    "advance", "metagraph"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) RUN(0, "usage: templar chain", "chain %s --help", subs[i]);
    RUN(0, "--chain URI", "wallet --help");
    RUN(2, "unknown subcommand", "chain fly --chain local:/tmp/x");
    RUN(2, NULL, "chain");
}

Test(chain_cli, full_flow, .timeout = 60) {
    env e;
    setup(&e);
    static const char *names[] = {"val", "m1", "m2", "late"};
    for (int i = 0; i < 4; i++) RUN(0, "hotkey", "wallet create %s --no-password", names[i]);
    RUN(0, "lockstep clock",
        "chain init --chain %s --clock lockstep --tempo 4 --blocks-per-window 2 --max-uids 3 "
        "--permit-stake 10",
        e.chain);
    RUN(1, "already exists", "chain init --chain %s", e.chain);
    RUN(0, "as uid 0", "chain register --chain %s --wallet val", e.chain);
    RUN(0, "as uid 1", "chain register --chain %s --wallet m1", e.chain);
    RUN(0, "as uid 2", "chain register --chain %s --wallet m2", e.chain);
    RUN(0, "already registered as uid 1", "chain register --chain %s --wallet m1", e.chain);
    RUN(1, "full", "chain register --chain %s --wallet late", e.chain);
    RUN(0, "uid 2", "wallet show m2 --chain %s", e.chain);
    RUN(0, "not registered", "wallet show late --chain %s", e.chain);

    RUN(0, "validator permit yes", "chain stake --chain %s --wallet val --amount 50", e.chain);
    RUN(0, "validator permit no", "chain stake --chain %s --wallet m1 --amount 1", e.chain);
    RUN(1, "wallet 'ghost'", "chain stake --chain %s --wallet ghost --amount 1", e.chain);
    RUN(1, "unknown hotkey", "chain stake --chain %s --wallet late --amount 1", e.chain);
    RUN(1, "unknown hotkey", "chain stake --chain %s --hotkey abcdef --amount 1", e.chain);
    RUN(1, "neither 64 lowercase hex digits nor an SS58 address", "chain stake --chain %s --hotkey a/b --amount 1", e.chain);
    RUN(1, "unknown hotkey", "chain stake --chain %s --hotkey 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY --amount 1", e.chain);
    RUN(2, "--amount", "chain stake --chain %s --wallet val --amount -inf", e.chain);
    RUN(1, "stake", "chain stake --chain %s --wallet val --amount -5", e.chain);
    RUN(2, "--hotkey ACCOUNT", "chain stake --chain %s --amount 5", e.chain);

    setenv("TEMPLAR_STORE_READ_ACCESS_KEY_ID", "READONLYKEY", 1);
    setenv("TEMPLAR_STORE_READ_SECRET_ACCESS_KEY", "SUPERSECRETVALUE", 1);
    char *out = expect(0, "with read credentials",
                       "chain commit --chain %s --wallet m1 --store s3+http://127.0.0.1:9/m1", e.chain);
    cr_assert_null(strstr(out, "SUPERSECRETVALUE"), "a secret was printed:\n%s", out);
    free(out);
    unsetenv("TEMPLAR_STORE_READ_ACCESS_KEY_ID");
    RUN(1, "both", "chain commit --chain %s --wallet m2 --store s3://bucket", e.chain);
    unsetenv("TEMPLAR_STORE_READ_SECRET_ACCESS_KEY");
    RUN(0, "committed store file://", "chain commit --chain %s --wallet m2 --store file://%s/buckets/m2", e.chain,
        e.dir);
    RUN(1, "malformed store URI 'ftp://x'", "chain commit --chain %s --wallet m2 --store ftp://x", e.chain);

    RUN(1, "NaN", "chain set-weights --chain %s --wallet val --uids 1,2 --weights nan,1", e.chain);
    RUN(1, "negative", "chain set-weights --chain %s --wallet val --uids 1,2 --weights 0.5,-0.5", e.chain);
    RUN(1, "lengths must match", "chain set-weights --chain %s --wallet val --uids 1,2,0 --weights 0.5,0.5", e.chain);
    RUN(1, "unknown uid 7", "chain set-weights --chain %s --wallet val --uids 1,7 --weights 0.5,0.5", e.chain);
    RUN(2, "not a number", "chain set-weights --chain %s --wallet val --uids 1,2 --weights 0.5,abc", e.chain);
    RUN(2, "not an integer", "chain set-weights --chain %s --wallet val --uids 1,b --weights 0.5,0.5", e.chain);
    RUN(1, "no validator permit", "chain set-weights --chain %s --wallet m1 --uids 1,2 --weights 0.5,0.5", e.chain);
    RUN(1, "unknown hotkey", "chain set-weights --chain %s --wallet late --uids 1,2 --weights 0.5,0.5", e.chain);
    RUN(0, "set weights on 2 uids", "chain set-weights --chain %s --wallet val --uids 1,2 --weights 3,1", e.chain);
    RUN(1, "once per window", "chain set-weights --chain %s --wallet val --uids 1,2 --weights 3,1", e.chain);
    RUN(0, "0.750000", "chain weights --chain %s --uid 0", e.chain);

    RUN(0, "block 3", "chain advance --chain %s --blocks 3", e.chain);
    RUN(0, "epochs 1", "chain advance --chain %s", e.chain);
    RUN(0, "ran epoch 2", "chain epoch --chain %s", e.chain);
    RUN(0, "epochs 2", "chain info --chain %s", e.chain);

    json_t *m = metagraph_json(&e);
    cr_assert_eq(json_array_size(m), 3);
    static const char *fields[] = {"uid",       "hotkey",    "stake",    "validator_permit",
                                   "incentive", "dividends", "emission", "last_update"};
    double inc = 0, em = 0;
    for (size_t u = 0; u < 3; u++) {
        json_t *n = json_array_get(m, u);
        for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
            cr_assert_not_null(json_object_get(n, fields[k]), "uid %zu lacks %s", u, fields[k]);
        cr_assert_eq(json_integer_value(json_object_get(n, "uid")), (json_int_t)u);
        inc += json_number_value(json_object_get(n, "incentive"));
        em += json_number_value(json_object_get(n, "emission"));
    }
    json_t *v = json_array_get(m, 0), *m1 = json_array_get(m, 1);
    cr_assert(json_is_true(json_object_get(v, "validator_permit")));
    cr_assert(json_is_false(json_object_get(m1, "validator_permit")));
    cr_assert_eq(json_number_value(json_object_get(v, "stake")), 50.0);
    cr_assert_eq(json_integer_value(json_object_get(v, "last_update")), 0);
    cr_assert_float_eq(json_number_value(json_object_get(m1, "incentive")), 0.75, 1e-12);
    cr_assert_float_eq(json_number_value(json_object_get(v, "dividends")), 1.0, 1e-12);
    cr_assert_float_eq(inc, 1.0, 1e-12);
    cr_assert_float_eq(em, 4.0, 1e-9, "tempo 4 x 1 per block");
    out = expect(0, NULL, "chain metagraph --chain %s --json", e.chain);
    cr_assert_null(strstr(out, "SUPERSECRETVALUE"));
    free(out);
    json_decref(m);

    /* The read credentials are on the chain for peers. */
    tp_chain *c;
    tp_err err;
    cr_assert_eq(tp_chain_open(e.chain, &c, &err), TP_OK, "%s", err.msg);
    tp_commitment cm;
    int found;
    cr_assert_eq(tp_chain_commitment(c, 1, &cm, &found, &err), TP_OK);
    cr_assert(found);
    cr_assert_str_eq(cm.access_key_id, "READONLYKEY");
    cr_assert_str_eq(cm.secret_access_key, "SUPERSECRETVALUE");
    tp_chain_close(c);

    RUN(0, "s3+http://127.0.0.1:9/m1", "chain metagraph --chain %s", e.chain);
    setenv("TEMPLAR_CHAIN", e.chain, 1);
    RUN(0, "block 4", "chain info");
    unsetenv("TEMPLAR_CHAIN");
    teardown(&e);
}

Test(chain_cli, bad_input_is_named, .timeout = 60) {
    env e;
    setup(&e);
    RUN(0, "hotkey", "wallet create w --no-password");
    RUN(1, "malformed chain URI 'foo:bar'", "chain metagraph --chain foo:bar");
    RUN(1, "malformed chain URI", "chain metagraph --chain local:");
    RUN(1, "no ledger at", "chain metagraph --chain %s", e.chain);
    RUN(2, "--clock expects wall or lockstep", "chain init --chain %s --clock sundial", e.chain);
    RUN(2, "--tempo", "chain init --chain %s --tempo 0", e.chain);
    RUN(2, "does not apply", "chain register --chain %s --wallet w --amount 3", e.chain);
    RUN(2, "needs --chain", "chain register --wallet w");
    RUN(0, "wall clock", "chain init --chain %s --block-time-ms 60000", e.chain);
    RUN(1, "only a lockstep clock can be advanced", "chain advance --chain %s", e.chain);
    RUN(0, "as uid 0", "chain register --chain %s --wallet w", e.chain);

    char path[400], bad[500];
    snprintf(path, sizeof path, "%s/chain.db", e.dir);
    snprintf(bad, sizeof bad, "%s/garbage.db", e.dir);
    FILE *f = fopen(bad, "wb");
    for (int i = 0; i < 4096; i++) fputc((i * 131) & 0xff, f);
    fclose(f);
    RUN(1, "not a templar ledger", "chain metagraph --chain local:%s", bad);
    RUN(1, "garbage.db", "chain register --chain local:%s --wallet w", bad);
    RUN(1, "not a templar ledger", "wallet show w --chain local:%s", bad);

    uint8_t *bytes;
    size_t len;
    tp_err err;
    cr_assert_eq(tp_read_file(path, 1 << 24, &bytes, &len, &err), TP_OK);
    snprintf(bad, sizeof bad, "%s/truncated.db", e.dir);
    cr_assert_eq(tp_write_file_atomic(bad, bytes, len - 4096, &err), TP_OK);
    RUN(1, "corrupted", "chain metagraph --chain local:%s", bad);
    RUN(1, "corrupted", "chain stake --chain local:%s --wallet w --amount 1", bad);
    free(bytes);
    teardown(&e);
}

/* Eight `templar chain` processes at once, each registering, staking and committing three hotkeys. */
Test(chain_cli, eight_processes, .timeout = 120) {
    env e;
    setup(&e);
    RUN(0, NULL, "chain init --chain %s --clock lockstep --max-uids 32", e.chain);
    const char *bin = getenv("TEMPLAR_BIN");
    char script[8192];
    int n = snprintf(script, sizeof script, "set -e; ");
    for (int p = 0; p < 8; p++) {
        n += snprintf(script + n, sizeof script - (size_t)n, "( for k in 0 1 2; do h=p%dk$k; ", p);
        n += snprintf(script + n, sizeof script - (size_t)n,
                      "%s chain register --chain %s --hotkey $h >/dev/null && "
                      "%s chain stake --chain %s --hotkey $h --amount %d$k >/dev/null && "
                      "%s chain metagraph --chain %s --json >/dev/null || exit 1; done ) & pids=\"$pids $!\"; ",
                      bin, e.chain, bin, e.chain, p + 1, bin, e.chain);
    }
    snprintf(script + n, sizeof script - (size_t)n, "for p in $pids; do wait $p; done");
    cr_assert_lt((size_t)n, sizeof script - 64);
    cr_assert_eq(system(script), 0, "a concurrent templar chain process failed");
    json_t *m = metagraph_json(&e);
    cr_assert_eq(json_array_size(m), 24);
    int seen[8][3] = {{0}};
    for (size_t u = 0; u < 24; u++) {
        json_t *nr = json_array_get(m, u);
        int p, k;
        cr_assert_eq(json_integer_value(json_object_get(nr, "uid")), (json_int_t)u);
        cr_assert_eq(sscanf(json_string_value(json_object_get(nr, "hotkey")), "p%dk%d", &p, &k), 2);
        cr_assert_not(seen[p][k]++, "p%dk%d registered twice", p, k);
        cr_assert_eq(json_number_value(json_object_get(nr, "stake")), (p + 1) * 10 + k);
    }
    json_decref(m);
    teardown(&e);
}
