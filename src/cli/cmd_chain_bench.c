/* templar chain bench-yuma: the time of one Yuma epoch with random weights, two ways:
 *   maths:  tp_yuma_epoch alone on dense matrices (the bond EMA path, as every epoch after the first);
 *   ledger: tp_chain_epoch on a lockstep SQLite ledger in a temporary directory, i.e. one write
 *           transaction that reads stake, weights and bonds, runs Yuma and stores incentives,
 *           dividends, emission and bonds.
 * Each is the median over --reps runs after one warm-up. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/chain_bench.h"
#include "cli/cli_util.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "core/sort.h"
#include "net/chain.h"
#include "net/yuma.h"

#define CMD "chain bench-yuma"

static const char usage_text[] =
    "usage: templar chain bench-yuma [--uids N] [--validators V] [--reps R] [--json]\n"
    "\n"
    "Times one Yuma epoch with N uids (default 256) and V validators (default 64) setting random\n"
    "weights on every uid: the maths alone, and a whole epoch on a temporary SQLite ledger. Prints\n"
    "the (lower) median of R runs (default 20) in milliseconds.\n";


static tp_status bench_maths(int64_t n_uid, int64_t n_val, int64_t reps, tp_rng *rng, double *ms, tp_err *err) {
    size_t m = (size_t)(n_uid * n_val);
    double *w = tp_malloc(sizeof(double) * m, err), *s = tp_malloc(sizeof(double) * (size_t)n_val, err);
    double *t = tp_malloc(sizeof(double) * (size_t)(reps + 1), err);
    tp_yuma_result r = {0};
    tp_status st = w && s && t ? tp_yuma_result_alloc(&r, n_val, n_uid, err) : TP_ERR_NOMEM;
    if (!st) {
        for (size_t k = 0; k < m; k++) w[k] = tp_rng_float(rng);
        for (int64_t i = 0; i < n_val; i++) s[i] = 1 + 99 * tp_rng_float(rng);
        tp_yuma_params p = tp_yuma_default_params();
        st = tp_yuma_epoch(&p, n_val, n_uid, w, s, NULL, &r, err); /* warm-up; its bonds seed the EMA */
        double *prev = tp_malloc(sizeof(double) * m, err);
        if (!prev) st = TP_ERR_NOMEM;
        for (int64_t k = 0; k < reps && !st; k++) {
            memcpy(prev, r.bonds, sizeof(double) * m);
            double t0 = tp_now();
            st = tp_yuma_epoch(&p, n_val, n_uid, w, s, prev, &r, err);
            t[k] = (tp_now() - t0) * 1e3;
        }
        free(prev);
        if (!st) *ms = tp_lower_median(t, (size_t)reps);
    }
    tp_yuma_result_free(&r);
    free(w);
    free(s);
    free(t);
    return st;
}

static tp_status bench_ledger(int64_t n_uid, int64_t n_val, int64_t reps, tp_rng *rng, double *ms, tp_err *err) {
    char dir[] = "/tmp/templar-bench-yuma-XXXXXX", uri[128];
    if (!mkdtemp(dir)) return tp_fail(err, TP_ERR_IO, "cannot make a temporary directory under /tmp");
    snprintf(uri, sizeof uri, "local:%s/chain.db", dir);
    tp_chain_config cfg;
    tp_chain_config_default(&cfg);
    cfg.clock = TP_CLOCK_LOCKSTEP;
    cfg.max_uids = n_uid;
    cfg.tempo = 1000000;
    tp_chain *c = NULL;
    int64_t *uids = tp_malloc(sizeof(int64_t) * (size_t)n_uid, err);
    double *w = tp_malloc(sizeof(double) * (size_t)n_uid, err),
           *t = tp_malloc(sizeof(double) * (size_t)(reps + 1), err);
    tp_status st = uids && w && t ? tp_chain_create(uri, &cfg, err) : TP_ERR_NOMEM;
    if (!st) st = tp_chain_open(uri, &c, err);
    for (int64_t u = 0; u < n_uid && !st; u++) {
        char hk[32];
        snprintf(hk, sizeof hk, "bench%" PRId64, u);
        uids[u] = u;
        st = tp_chain_register(c, hk, &(int64_t){0}, NULL, err);
        if (!st && u < n_val) st = tp_chain_set_stake(c, hk, 1 + 99 * tp_rng_float(rng), err);
    }
    for (int64_t v = 0; v < n_val && !st; v++) {
        char hk[32];
        snprintf(hk, sizeof hk, "bench%" PRId64, v);
        for (int64_t u = 0; u < n_uid; u++) w[u] = tp_rng_float(rng);
        st = tp_chain_set_weights(c, hk, uids, n_uid, w, n_uid, err);
    }
    if (!st) st = tp_chain_epoch(c, err); /* warm-up; later epochs take the bond EMA path */
    for (int64_t k = 0; k < reps && !st; k++) {
        double t0 = tp_now();
        st = tp_chain_epoch(c, err);
        t[k] = (tp_now() - t0) * 1e3;
    }
    if (!st) *ms = tp_lower_median(t, (size_t)reps);
    tp_chain_close(c);
    free(uids);
    free(w);
    free(t);
    tp_err ignore;
    tp_remove_tree(dir, &ignore);
    return st;
}

int chain_bench_yuma(int argc, char **argv) {
    static const struct option opts[] = {{"uids", required_argument, 0, 'u'}, {"validators", required_argument, 0, 'v'},
                                         {"reps", required_argument, 0, 'r'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    int64_t n_uid = 256, n_val = 64, reps = 20;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u':
            if (cli_parse_i64(CMD, "--uids", optarg, 1, TP_CHAIN_MAX_UIDS, &n_uid)) return 2;
            break;
        case 'v':
            if (cli_parse_i64(CMD, "--validators", optarg, 1, TP_CHAIN_MAX_UIDS, &n_val)) return 2;
            break;
        case 'r':
            if (cli_parse_i64(CMD, "--reps", optarg, 1, 10000, &reps)) return 2;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage(CMD, "unknown option");
        }
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (n_val > n_uid) return cli_usage(CMD, "--validators %" PRId64 " exceeds --uids %" PRId64, n_val, n_uid);
    tp_rng rng;
    tp_rng_seed(&rng, 42);
    tp_err err = {0};
    double maths = 0, ledger = 0;
    if (bench_maths(n_uid, n_val, reps, &rng, &maths, &err) || bench_ledger(n_uid, n_val, reps, &rng, &ledger, &err))
        return cli_fail(CMD, &err);
    if (json)
        printf("{\"uids\": %" PRId64 ", \"validators\": %" PRId64 ", \"reps\": %" PRId64
               ", \"yuma_ms\": %.4f, \"ledger_epoch_ms\": %.4f}\n",
               n_uid, n_val, reps, maths, ledger);
    else
        printf("yuma epoch, %" PRId64 " uids x %" PRId64 " validators (median of %" PRId64 "):\n"
               "  maths only        %9.3f ms\n"
               "  ledger epoch      %9.3f ms  (SQLite read + Yuma + write, one transaction)\n",
               n_uid, n_val, reps, maths, ledger);
    return 0;
}
