/* The paying gate across random wallets (issue 10): the adversary mix — noise, wrong data, a noisy
 * copy, a partial trainer, a lazy one, a sybil pair — beside honest miners on the tiny config, in 20
 * localnets with random wallets (no --seed: every run's validator draws other samples). No cheater
 * may ever hold weight, nor come near the gate's threshold, and the honest miners' evidence must
 * grow (so the test fails if the gate simply paid nobody because it measured nothing). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "core/fileio.h"
#include "localnet_test_util.h"
#include "neuron/gate.h"
#include "neuron/run_config.h"

#define RUNS_PER_TEST 10 /* two tests: criterion runs them side by side */
#define WINDOWS 14
#define MIX "--miners 10 --validators 1 --adversary noise --adversary wrong-data --adversary noisy-copy " \
            "--adversary partial --adversary lazy-data --adversary sybil:2"

typedef struct {
    int runs, cheater_windows_paid, honest_runs_growing;
    double cheater_max_evidence, honest_final_sum;
    char worst[32]; /* the role of the cheater with the most evidence */
    int honest_count;
} tally;

static int is_cheater(const char *role) {
    return strcmp(role, "honest") && strcmp(role, "owner") && strcmp(role, "validator");
}

/* Weight rows in the report: a cheater holding weight in any window counts. */
static void count_paid(json_t *report, tally *t) {
    json_t *roles = json_object_get(report, "roles"), *w;
    size_t i;
    json_array_foreach(json_object_get(report, "windows"), i, w) {
        const char *vk;
        json_t *row;
        json_object_foreach(json_object_get(w, "weights"), vk, row) {
            const char *uk;
            json_t *x;
            json_object_foreach(row, uk, x) {
                const char *role = json_string_value(json_object_get(roles, uk));
                if (role && is_cheater(role) && json_number_value(x) > 0) {
                    t->cheater_windows_paid++;
                    cr_log_warn("window %zu: %s uid %s holds weight %g", i, role, uk, json_number_value(x));
                }
            }
        }
    }
}

/* The validator's evidence per miner over the run (scores: [score, own_gain, z, evidence]): the
 * largest any cheater reached, and each honest miner's last. */
static void read_evidence(const char *dir, json_t *roles, tally *t) {
    char path[4400];
    snprintf(path, sizeof path, "%s/state/validator-0/metrics.jsonl", dir);
    FILE *f = fopen(path, "r");
    cr_assert(f, "%s", path);
    static char line[1 << 16];
    json_t *honest_last = json_object();
    while (fgets(line, sizeof line, f)) {
        json_t *rec = json_loads(line, 0, NULL), *s;
        const char *uk;
        json_object_foreach(json_object_get(rec, "scores"), uk, s) {
            double e = json_number_value(json_array_get(s, 3));
            const char *role = json_string_value(json_object_get(roles, uk));
            if (role && is_cheater(role) && e > t->cheater_max_evidence) {
                t->cheater_max_evidence = e;
                snprintf(t->worst, sizeof t->worst, "%s", role);
            }
            if (role && !strcmp(role, "honest")) json_object_set_new(honest_last, uk, json_real(e));
        }
        json_decref(rec);
    }
    fclose(f);
    const char *uk;
    json_t *e;
    int growing = 0;
    json_object_foreach(honest_last, uk, e) {
        t->honest_final_sum += json_real_value(e);
        t->honest_count++;
        growing |= json_real_value(e) > 0;
    }
    t->honest_runs_growing += growing;
    json_decref(honest_last);
}

static void run_seeds(int first) {
    tally t = {0};
    for (int r = 0; r < RUNS_PER_TEST; r++) {
        char dir[4200], out[4300], *log;
        cli_tmpdir(dir, sizeof dir);
        snprintf(out, sizeof out, "%s/net", dir);
        int rc = cli_run(&log, "localnet --config tiny --windows %d " MIX " --out %s", WINDOWS, out);
        cr_assert_eq(rc, 0, "run %d: localnet failed:\n%s", first + r, log);
        free(log);
        json_t *report = ln_load_report(out);
        count_paid(report, &t);
        read_evidence(out, json_object_get(report, "roles"), &t);
        json_decref(report);
        t.runs++;
        tp_err err;
        tp_remove_tree(dir, &err);
    }
    tp_run_config rc;
    tp_err err;
    cr_assert_eq(tp_run_config_load("tiny", &rc, &err), TP_OK);
    tp_gate_params gp = tp_gate_defaults(rc.proto.gate_alpha, rc.proto.gate_horizon);
    double h = tp_gate_threshold(&gp);
    cr_log_info("runs %d..%d: cheater miner-windows paid %d, largest cheater evidence %.2f nats (%s; threshold %.1f), "
                "honest miners' mean final evidence %.2f, runs with honest evidence %d/%d",
                first, first + RUNS_PER_TEST - 1, t.cheater_windows_paid, t.cheater_max_evidence,
                t.worst[0] ? t.worst : "none", h,
                t.honest_final_sum / t.honest_count, t.honest_runs_growing, t.runs);
    cr_assert_eq(t.cheater_windows_paid, 0, "a cheater held weight in %d miner-windows", t.cheater_windows_paid);
    cr_assert(t.cheater_max_evidence < h, "a cheater's evidence reached %.2f nats (threshold %.1f)",
              t.cheater_max_evidence, h);
    cr_assert(t.honest_runs_growing == t.runs, "honest evidence grew in only %d of %d runs", t.honest_runs_growing,
              t.runs);
}

Test(gate_seeds, first_ten_random_wallets, .timeout = LN_TIME_LIMIT(1800)) { run_seeds(1); }
Test(gate_seeds, second_ten_random_wallets, .timeout = LN_TIME_LIMIT(1800)) { run_seeds(RUNS_PER_TEST + 1); }
