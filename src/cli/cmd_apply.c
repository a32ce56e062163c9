/* templar apply: aggregates update messages and applies the outer step to a model (DESIGN §7.6-7.7),
 * as every node does each window. Invalid messages are reported and left out. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/codec_opts.h"
#include "cli/commands.h"
#include "codec/aggregate.h"
#include "codec/validate.h"
#include "codec/workspace.h"
#include "core/fileio.h"
#include "export/hf_tokenizer.h"
#include "export/model_dir.h"
#include "model/checkpoint.h"
#include "neuron/run_config.h"

static const char usage_text[] =
    "usage: templar apply --model DIR --out DIR [--outer-lr X] [--window W] [codec options] FILE...\n"
    "\n"
    "Validates each update FILE against the model's config and the codec parameters, aggregates the\n"
    "valid ones (lower-median norm clip, per-coordinate mean, ascending uid order) and writes\n"
    "theta - outer_lr * aggregate to --out (atomically). Rejected files are named with the reason.\n"
    "A tensor whose aggregate is not finite is left unchanged and reported. The model's tokenizer goes\n"
    "to --out too, with its Hugging Face files (as 'templar train' writes them).\n"
    "  --outer-lr X        outer learning rate (default 0.8, the protocol's)\n"
    "  --window W          require this window in every message\n" CODEC_OPTIONS_HELP;

/* The model's tokenizer goes to the new model with its Hugging Face files; *n = 0 when it has none. */
static tp_status tokenizer_files(const char *model_dir, const tp_model_config *cfg, tp_hf_checkpoint_files *f,
                                 char *used, size_t used_size, int *n, tp_err *err) {
    char own[4200], legacy[4200];
    *n = 0;
    tp_status st = tp_path_join(own, sizeof own, model_dir, TP_EXPORT_TOKENIZER_FILE, err);
    if (!st) st = tp_path_join(legacy, sizeof legacy, model_dir, TP_EXPORT_LEGACY_TOKENIZER_FILE, err);
    if (st || (!tp_path_exists(own) && !tp_path_exists(legacy))) return st;
    tp_tokenizer *tok;
    if ((st = tp_export_load_tokenizer(model_dir, NULL, &tok, used, used_size, err))) return st;
    tp_tokenizer_free(tok);
    if ((st = tp_hf_checkpoint_files_make(used, cfg, f, err))) return st;
    *n = 1 + TP_HF_TOKENIZER_FILES;
    return TP_OK;
}

/* Loads and validates each update file, naming the rejected ones; the valid ones (one per uid) go to
 * peers/uids. Fails only when memory runs out. *n_loaded counts the payloads to free. */
static tp_status load_updates(char **paths, int n_files, const tp_payload_expect *exp, tp_payload *pl,
                              const tp_update **peers, uint32_t *uids, int *n_valid, int *n_loaded, tp_err *err) {
    for (int i = 0; i < n_files; i++, (*n_loaded)++) {
        const char *path = paths[i];
        tp_err perr = {0};
        tp_status st = tp_payload_load(path, exp, &pl[i], &perr);
        if (st == TP_ERR_NOMEM) {
            *err = perr;
            return st;
        }
        if (st) {
            printf("rejected %s: %s\n", path, perr.msg);
            continue;
        }
        for (int j = 0; j < *n_valid; j++)
            if (uids[j] == pl[i].info.uid) {
                printf("rejected %s: uid %u already sent an update\n", path, pl[i].info.uid);
                st = TP_ERR_FORMAT;
            }
        if (st) continue;
        peers[*n_valid] = &pl[i].update;
        uids[(*n_valid)++] = pl[i].info.uid;
        printf("accepted %s: uid %u, window %llu\n", path, pl[i].info.uid, (unsigned long long)pl[i].info.window);
    }
    return TP_OK;
}

int cmd_apply(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"out", required_argument, 0, 'o'},
                                         {"outer-lr", required_argument, 0, 'l'}, {"window", required_argument, 0, 'W'},
                                         {"help", no_argument, 0, 'h'}, CODEC_LONG_OPTIONS, {0, 0, 0, 0}};
    const char *model_dir = NULL, *out = NULL;
    tp_protocol proto;
    tp_protocol_default(&proto);
    double lr = proto.outer_lr;
    tp_codec_params params;
    tp_codec_params_default(&params);
    tp_payload_expect exp = {0};
    int64_t v;
    int c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((r = cli_codec_option("apply", c, optarg, &params))) {
            if (r == 2) return 2;
            continue;
        }
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'o': out = optarg; break;
        case 'l':
            if (cli_parse_f64("apply", "--outer-lr", optarg, &lr)) return 2;
            break;
        case 'W':
            if (cli_parse_i64("apply", "--window", optarg, 0, INT64_MAX, &v)) return 2;
            exp.check_window = 1;
            exp.window = (uint64_t)v;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage("apply", "unknown option");
        }
    }
    if (!model_dir || !out || optind >= argc) return cli_usage("apply", "--model, --out and at least one FILE are required");
    int n_files = argc - optind;
    if (n_files > TP_AGG_MAX_PEERS) return cli_usage("apply", "at most %d update files", TP_AGG_MAX_PEERS);

    tp_err err = {0};
    tp_llama *m = NULL;
    tp_codec_ws *ws = NULL;
    tp_payload *pl = calloc((size_t)n_files, sizeof *pl);
    const tp_update **peers = calloc((size_t)n_files, sizeof *peers);
    uint32_t *uids = calloc((size_t)n_files, sizeof *uids);
    uint8_t *skipped = NULL;
    tp_hf_checkpoint_files tok_files = {0};
    char tok_path[4200];
    int rc = 1, n_valid = 0, n_loaded = 0, n_skipped = 0, n_tok = 0;
    if (!pl || !peers || !uids) {
        tp_fail(&err, TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (tp_codec_params_check(&params, &err) || tp_checkpoint_load_model(model_dir, 1, 2, 0, &m, &err) ||
        tokenizer_files(model_dir, &m->cfg, &tok_files, tok_path, sizeof tok_path, &n_tok, &err))
        goto done;
    exp.model = &m->cfg;
    exp.params = &params;
    if (load_updates(argv + optind, n_files, &exp, pl, peers, uids, &n_valid, &n_loaded, &err)) goto done;
    if (!n_valid) {
        tp_fail(&err, TP_ERR_FORMAT, "no valid update among the %d files", n_files);
        goto done;
    }
    if (!(skipped = calloc((size_t)m->layout.n_tensors, 1))) goto done;
    if (tp_codec_ws_new(0, &ws, &err) || tp_codec_ws_reserve_layout(ws, &m->layout, &params, &err) ||
        tp_outer_step(m->params, &m->layout, peers, uids, n_valid, (float)lr, ws, skipped, &n_skipped, &err))
        goto done;
    for (int i = 0; i < m->layout.n_tensors; i++)
        if (skipped[i]) printf("skipped %s: its aggregate is not finite\n", m->layout.tensors[i].name);
    if (tp_checkpoint_save(out, m, NULL, NULL, NULL, tok_files.extra, n_tok, &err)) goto done;
    printf("applied %d of %d updates (outer lr %g, %d tensors skipped) -> %s\n", n_valid, n_files, lr, n_skipped, out);
    rc = 0;
done:
    if (rc) cli_fail("apply", &err);
    for (int i = 0; i < n_loaded; i++) tp_payload_free(&pl[i]);
    free(pl);
    free(peers);
    free(uids);
    free(skipped);
    tp_hf_checkpoint_files_free(&tok_files);
    tp_codec_ws_free(ws);
    tp_llama_free(m);
    return rc;
}
