/* localnet --baseline: what decentralization cost. Centralized `templar train` on as many tokens as
 * the run's honest miners trained on, at their global batch (honest miners × batch) and with the
 * miners' learning rate (constant after the warm-up: miners never reach the end of a schedule),
 * evaluated by `templar eval` on the leader's held-out samples. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "localnet/localnet.h"
#include "core/fileio.h"
#include "neuron/run_config.h"

static tp_status tokens_trained(const ln_net *net, double *tokens, tp_err *err) {
    char path[LN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/report.json", net->dir);
    json_error_t je;
    json_t *rep = json_load_file(path, 0, &je);
    json_t *t = rep ? json_object_get(rep, "tokens_trained") : NULL;
    *tokens = json_is_number(t) ? json_number_value(t) : NAN;
    json_decref(rep);
    if (!isfinite(*tokens)) return tp_fail(err, TP_ERR_FORMAT, "%s: no tokens_trained", path);
    return TP_OK;
}

/* The baseline's model config and the miners' train config with a constant LR after warm-up. */
static tp_status write_train_config(const tp_run_config *rc, const char *path, tp_err *err) {
    tp_train_config t = rc->cfg.train;
    t.eta_min_factor = 1.0;
    json_t *root = json_pack("{s:o, s:o}", "model", tp_model_config_to_json(&rc->cfg.model), "train",
                             tp_train_config_to_json(&t));
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!text) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return st;
}

/* The held-out loss `templar eval --json` printed as the last line of path. */
static tp_status read_eval(const char *path, double *loss, tp_err *err) {
    uint8_t *text;
    size_t len;
    tp_status st = tp_read_file(path, 1 << 20, &text, &len, err);
    if (st) return st;
    const char *last = (const char *)text;
    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '\n') last = (const char *)text + i + 1;
    json_t *j = json_loads(last, JSON_DISABLE_EOF_CHECK, NULL);
    *loss = json_is_number(json_object_get(j, "loss")) ? json_number_value(json_object_get(j, "loss")) : NAN;
    json_decref(j);
    free(text);
    return isfinite(*loss) ? TP_OK : tp_fail(err, TP_ERR_FORMAT, "%s: no held-out loss", path);
}

static tp_status train_and_eval(ln_net *net, const tp_run_config *rc, int64_t batch, int64_t steps, int samples,
                                double *loss, tp_err *err) {
    char dir[LN_PATH_MAX + 16], cfg[LN_PATH_MAX + 32], model[LN_PATH_MAX + 32], log[LN_PATH_MAX + 32],
        out[LN_PATH_MAX + 32], b[24], s[24], n[24];
    snprintf(dir, sizeof dir, "%s/baseline", net->dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", dir);
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(log, sizeof log, "%s/logs/baseline.log", net->dir);
    snprintf(out, sizeof out, "%s/eval.json", dir);
    snprintf(b, sizeof b, "%lld", (long long)batch);
    snprintf(s, sizeof s, "%lld", (long long)steps);
    snprintf(n, sizeof n, "%d", samples);
    tp_status st = tp_mkdirs(dir, err);
    if (!st) st = write_train_config(rc, cfg, err);
    char *train[] = {"train", "--config", cfg, "--data", (char *)rc->data, "--batch", b, "--steps", s, "--out", model,
                     "--peak-gflops", "1", NULL};
    if (!st) st = ln_run_templar(net, "the baseline's training", train, log, err);
    char *eval[] = {"eval", "--model", model, "--data", (char *)rc->data, "--samples", n, "--json", NULL};
    if (!st && tp_path_exists(out) && unlink(out) < 0) st = tp_fail(err, TP_ERR_IO, "removing %s: %s", out, strerror(errno));
    if (!st) st = ln_run_templar(net, "the baseline's evaluation", eval, out, err);
    return st ? st : read_eval(out, loss, err);
}

tp_status ln_baseline(ln_net *net, tp_err *err) {
    tp_run_config rc;
    double tokens;
    tp_status st = tp_run_config_load(net->run_json, &rc, err);
    if (!st) st = tokens_trained(net, &tokens, err);
    if (st) return tp_wrap(err, "the baseline");
    int64_t honest = 0;
    for (int i = 0; i < net->n_nodes; i++) honest += net->nodes[i].kind == LN_MINER && !net->nodes[i].adversary[0];
    int B = rc.cfg.train.batch_size, T = rc.cfg.model.seq_len, samples = rc.proto.heldout_batches * B;
    int64_t batch = honest * B, steps = llround(tokens / ((double)batch * T));
    if (samples <= 0) return tp_fail(err, TP_ERR_CONFIG, "--baseline: protocol.heldout_batches is 0 (nothing to compare)");
    if (honest == 0 || steps < 1)
        return tp_fail(err, TP_ERR_ARG, "--baseline: the honest miners trained on %.0f tokens, less than one step", tokens);
    printf("localnet: centralized baseline: batch %lld x %lld steps (%.0f tokens), logs in %s/logs/baseline.log\n",
           (long long)batch, (long long)steps, tokens, net->dir);
    fflush(stdout);
    double loss;
    if ((st = train_and_eval(net, &rc, batch, steps, samples, &loss, err))) return st;
    json_t *rec = json_pack("{s:f, s:I, s:I, s:i, s:f, s:i, s:s}", "tokens", (double)(batch * steps) * T, "batch",
                            (json_int_t)batch, "steps", (json_int_t)steps, "seq_len", T, "heldout_loss", loss,
                            "heldout_samples", samples, "model", "baseline/model");
    char *text = rec ? json_dumps(rec, JSON_INDENT(1)) : NULL;
    json_decref(rec);
    if (!text) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    char path[LN_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/" LN_BASELINE_FILE, net->dir);
    st = tp_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return st;
}
