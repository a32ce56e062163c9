/* A localnet run from setup to report, and the rebuild of a report. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/fileio.h"
#include "localnet/localnet.h"

#define STOP_GRACE_S 20.0 /* how long neurons get to stop after SIGTERM */

static void print_report_paths(const char *dir) {
    printf("report: %s/report.json\n        %s/report.md\n", dir, dir);
    fflush(stdout);
}

/* One more epoch once everything stopped, so the validators' last weights count in the report,
 * and the chain's state kept for it (the chain may be gone when a report is rebuilt). */
static void final_epoch(ln_net *net) {
    tp_err err = {0};
    if (ln_final_epoch(net, &err)) ln_note(net, "the final epoch did not run: %s", err.msg);
    else if (ln_chain_snapshot(net, &err)) ln_note(net, "the chain's final state was not saved: %s", err.msg);
}

int ln_run(ln_net *net, volatile sig_atomic_t *stop) {
    tp_err err = {0};
    if (ln_setup(net, &err)) {
        ln_subtensor_stop(net);
        ln_hosts_destroy(net);
        fprintf(stderr, "templar localnet: %s\n", err.msg);
        return 1;
    }
    /* From here on every exit path stops the processes and writes a report. */
    ln_outcome outcome = LN_FAILED;
    tp_status st = ln_env_build(net, &err);
    if (!st && net->opt.s3) st = ln_s3_start(net, &err);
    if (!st && net->opt.hosts) st = ln_hosts_measure(net, &err);
    if (!st) outcome = ln_drive(net, stop, &err);
    else ln_note(net, "setup failed: %s", err.msg);
    if (outcome == LN_INTERRUPTED) ln_note(net, "interrupted by signal %d; stopping every neuron", (int)*stop);
    else if (outcome == LN_FAILED && !st) ln_note(net, "failed: %s", err.msg);
    ln_stop_all(net, STOP_GRACE_S);
    ln_s3_stop(&net->s3);
    final_epoch(net);
    const char *word = outcome == LN_DONE ? "completed" : outcome == LN_INTERRUPTED ? "interrupted" : "failed";
    tp_err rerr = {0};
    int report_ok = ln_report_write(net->dir, word, net->notes, &rerr) == TP_OK;
    if (report_ok && outcome == LN_DONE) {
        /* A failed baseline or export is a note: the network's run itself completed. */
        int rewrite = 0;
        if (net->opt.baseline && ln_baseline(net, &err)) ln_note(net, "no centralized baseline: %s", err.msg);
        if (ln_export(net, &err)) ln_note(net, "the final model was not exported: %s", err.msg), rewrite = 1;
        if (rewrite || net->opt.baseline) report_ok = ln_report_write(net->dir, word, net->notes, &rerr) == TP_OK;
    }
    ln_subtensor_stop(net);
    ln_hosts_destroy(net);
    if (report_ok) print_report_paths(net->dir);
    else fprintf(stderr, "templar localnet: writing the report: %s\n", rerr.msg);
    if (outcome == LN_FAILED) fprintf(stderr, "templar localnet: %s\n", err.msg);
    if (outcome == LN_INTERRUPTED) return 130;
    return outcome == LN_DONE && report_ok ? 0 : 1;
}

tp_status ln_report_rebuild(const char *dir, tp_err *err) {
    char path[LN_PATH_MAX];
    tp_status st = tp_path_join(path, sizeof path, dir, "localnet.json", err);
    if (st) return st;
    if (!tp_path_exists(path)) return tp_fail(err, TP_ERR_ARG, "%s is not a localnet run directory (no localnet.json)", dir);
    /* The run's own outcome and notes survive a rebuild. */
    char outcome[64] = "rebuilt";
    json_t *notes = NULL;
    if (!tp_path_join(path, sizeof path, dir, "report.json", err) && tp_path_exists(path)) {
        json_error_t je;
        json_t *old = json_load_file(path, 0, &je);
        const char *o = json_string_value(json_object_get(old, "outcome"));
        if (o && strlen(o) < sizeof outcome) snprintf(outcome, sizeof outcome, "%s", o);
        if (json_is_array(json_object_get(old, "notes"))) notes = json_incref(json_object_get(old, "notes"));
        json_decref(old);
    }
    st = ln_report_write(dir, outcome, notes, err);
    json_decref(notes);
    if (!st) print_report_paths(dir);
    return st;
}
