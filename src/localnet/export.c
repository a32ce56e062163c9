/* A run's product: the leader's final model exported for Hugging Face and llama.cpp, so that what the
 * network trained can be used at once. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/fileio.h"
#include "localnet/localnet.h"
#include "neuron/run_config.h"

/* The leader's last model: state/<leader>/node-<window of its node.json>. */
static tp_status final_model(const ln_net *net, char *out, size_t n, tp_err *err) {
    char path[LN_PATH_MAX + 64];
    const char *leader = net->nodes[net->leader].name;
    snprintf(path, sizeof path, "%s/state/%s/node.json", net->dir, leader);
    json_error_t je;
    json_t *node = json_load_file(path, 0, &je);
    json_t *w = node ? json_object_get(node, "window") : NULL;
    long long window = json_is_integer(w) ? (long long)json_integer_value(w) : -1;
    json_decref(node);
    if (window < 0) return tp_fail(err, TP_ERR_FORMAT, "%s: no window (%s)", path, node ? "no \"window\"" : je.text);
    if ((size_t)snprintf(out, n, "%s/state/%s/node-%lld", net->dir, leader, window) >= n)
        return tp_fail(err, TP_ERR_ARG, "path too long under %s", net->dir);
    if (!tp_path_exists(out)) return tp_fail(err, TP_ERR_IO, "the leader's final model %s is missing", out);
    return TP_OK;
}

tp_status ln_export(ln_net *net, tp_err *err) {
    tp_run_config rc;
    char model[LN_PATH_MAX + 96], tok[LN_PATH_MAX + 32], hf[LN_PATH_MAX + 16], gguf[LN_PATH_MAX + 32],
        report[LN_PATH_MAX + 16], log[LN_PATH_MAX + 32], dir[LN_PATH_MAX + 16], name[96];
    tp_status st = tp_run_config_load(net->run_json, &rc, err);
    if (!st) st = final_model(net, model, sizeof model, err);
    if (st) return tp_wrap(err, "the export");
    snprintf(tok, sizeof tok, "%s/tokenizer.json", rc.data); /* the data directory's, templar's format */
    snprintf(dir, sizeof dir, "%s/export", net->dir);
    snprintf(hf, sizeof hf, "%s/" LN_EXPORT_HF, net->dir);
    snprintf(gguf, sizeof gguf, "%s/" LN_EXPORT_GGUF, net->dir);
    snprintf(report, sizeof report, "%s/report.json", net->dir);
    snprintf(log, sizeof log, "%s/logs/export.log", net->dir);
    const char *config = net->opt.config ? net->opt.config : "tiny";
    snprintf(name, sizeof name, "templar-localnet%s%.64s", strchr(config, '/') ? "" : "-", strchr(config, '/') ? "" : config);
    if ((st = tp_mkdirs(dir, err))) return st;
    char *to_hf[] = {"export", "hf", "--model", model, "--tokenizer", tok, "--report", report, "--name", name,
                     "--out", hf, NULL};
    char *to_gguf[] = {"export", "gguf", "--model", model, "--tokenizer", tok, "--name", name, "--out", gguf, NULL};
    if ((st = ln_run_templar(net, "the Hugging Face export", to_hf, log, err)) ||
        (st = ln_run_templar(net, "the GGUF export", to_gguf, log, err)))
        return st;
    printf("export: %s (Hugging Face), %s (llama.cpp)\n", hf, gguf);
    fflush(stdout);
    return TP_OK;
}
