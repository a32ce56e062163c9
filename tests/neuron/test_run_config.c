/* The run config file: protocol keys parsed with their types and ranges, errors naming the key, and
 * a saved config that loads back to the same settings (every key spelled out). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "neuron/run_config.h"

static char *write_config(const char *protocol) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/templar-run-config-XXXXXX.json");
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "{\"base\": \"tiny\", \"data\": \"data/tiny-512\", \"protocol\": {%s}}", protocol);
    fclose(f);
    return path;
}

static tp_status load(const char *protocol, tp_run_config *rc, tp_err *err) {
    char *path = write_config(protocol);
    tp_status st = tp_run_config_load(path, rc, err);
    unlink(path);
    return st;
}

Test(run_config, outer_step_and_optimizer_options) {
    tp_run_config rc;
    tp_err err;
    cr_assert_eq(load("", &rc, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(rc.proto.mean_over_all, 0);
    cr_assert_eq(rc.proto.clip, 1);
    cr_assert_eq(rc.proto.reset_inner_optimizer, 0);
    cr_assert_eq(rc.proto.outer_momentum, 0);
    cr_assert_eq(rc.proto.outer_nesterov, 1);
    cr_assert_eq(load("\"mean_over_all\": true, \"clip\": false, \"reset_inner_optimizer\": true, \"outer_lr\": 0.6,"
                      " \"outer_momentum\": 0.9, \"outer_nesterov\": false",
                      &rc, &err),
                 TP_OK, "%s", err.msg);
    cr_assert_float_eq(rc.proto.outer_momentum, 0.9, 1e-12);
    cr_assert_eq(rc.proto.outer_nesterov, 0);
    cr_assert_eq(rc.proto.mean_over_all, 1);
    cr_assert_eq(rc.proto.clip, 0);
    cr_assert_eq(rc.proto.reset_inner_optimizer, 1);
    cr_assert_float_eq(rc.proto.outer_lr, 0.6, 1e-12);

    char path[] = "/tmp/templar-run-config-saved-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    close(fd);
    tp_run_config back;
    cr_assert_eq(tp_run_config_save(&rc, path, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_run_config_load(path, &back, &err), TP_OK, "%s", err.msg);
    unlink(path);
    cr_assert_eq(memcmp(&back.proto, &rc.proto, sizeof rc.proto), 0, "the protocol settings changed in a round trip");
}

Test(run_config, bad_protocol_values_name_the_key) {
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"\"clip\": 1", "protocol.clip must be true or false"},
        {"\"mean_over_all\": \"yes\"", "protocol.mean_over_all must be true or false"},
        {"\"reset_inner_optimizer\": null", "protocol.reset_inner_optimizer must be true or false"},
        {"\"outer_lr\": 0", "protocol.outer_lr must be in"},
        {"\"outer_momentum\": 1.0", "protocol.outer_momentum must be in"},
        {"\"outer_nesterov\": 0", "protocol.outer_nesterov must be true or false"},
        {"\"ef_beta\": 1.5", "protocol.ef_beta must be in"},
        {"\"inner_steps\": 0", "protocol.inner_steps must be in"},
        {"\"frobnicate\": 1", "unknown key protocol.frobnicate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tp_run_config rc;
        tp_err err = {0};
        cr_assert_eq(load(cases[i].json, &rc, &err), TP_ERR_CONFIG, "%s was accepted", cases[i].json);
        cr_assert(strstr(err.msg, cases[i].needle), "%s: '%s' lacks '%s'", cases[i].json, err.msg, cases[i].needle);
    }
}
