#include "localnet_test_util.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"

json_t *ln_load_report(const char *out) { return ln_load_json(out, "report.json"); }

json_t *ln_load_json(const char *out, const char *name) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", out, name);
    json_error_t je;
    json_t *r = json_load_file(path, 0, &je);
    cr_assert(r, "%s: %s", path, je.text);
    return r;
}

json_t *ln_run_cli(char *dir, size_t n, const char *command, const char *args) {
    cli_tmpdir(dir, n);
    char out[4200];
    snprintf(out, sizeof out, "%s/net", dir);
    char *log;
    /* A fixed seed: the same wallets every time, so each scenario repeats exactly (lockstep). */
    int rc = cli_run(&log, "%s --config tiny --seed 1 --out %s %s", command, out, args);
    cr_assert_eq(rc, 0, "%s %s failed:\n%s", command, args, log);
    free(log);
    json_t *r = ln_load_report(out);
    snprintf(dir + strlen(dir), n - strlen(dir), "/net");
    return r;
}

json_t *ln_run(char *dir, size_t n, const char *chain, const char *args) {
    char command[128];
    snprintf(command, sizeof command, "localnet%s%s", chain ? " --chain " : "", chain ? chain : "");
    return ln_run_cli(dir, n, command, args);
}

const char *ln_role(json_t *r, const char *uid) {
    return json_string_value(json_object_get(json_object_get(r, "roles"), uid));
}

double ln_num(json_t *obj, const char *key) { return json_number_value(json_object_get(obj, key)); }

void ln_assert_window_in_sync(json_t *r, size_t i, const char *skip) {
    json_t *w = json_array_get(json_object_get(r, "windows"), i);
    json_t *fp = json_object_get(w, "fingerprints");
    const char *ref = NULL, *uid;
    json_t *v;
    int honest = 0;
    json_object_foreach(fp, uid, v) {
        const char *ro = ln_role(r, uid);
        if (skip && !strcmp(uid, skip)) continue;
        if (strcmp(ro, "honest") && strcmp(ro, "validator")) continue;
        honest++;
        if (!ref) ref = json_string_value(v);
        cr_assert_str_eq(json_string_value(v), ref, "window %lld: uid %s (%s) differs", (long long)ln_num(w, "window"),
                         uid, ro);
    }
    cr_assert(honest >= 2, "window %zu: fingerprints of %d honest nodes", i, honest);
}

void ln_assert_in_sync(json_t *r) {
    size_t n = json_array_size(json_object_get(r, "windows"));
    for (size_t i = 0; i < n; i++) ln_assert_window_in_sync(r, i, NULL);
}
