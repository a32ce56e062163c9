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

typedef struct {
    const char *model_dir, *out;
    double lr;
    tp_codec_params params;
    tp_payload_expect exp; /* the --window check; the model's config and params join it once it is loaded */
    char **files;
    int n_files;
} apply_args;

/* Returns 0 to run, -1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, apply_args *a) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"out", required_argument, 0, 'o'},
                                         {"outer-lr", required_argument, 0, 'l'}, {"window", required_argument, 0, 'W'},
                                         {"help", no_argument, 0, 'h'}, CODEC_LONG_OPTIONS, {0, 0, 0, 0}};
    tp_protocol proto;
    tp_protocol_default(&proto);
    *a = (apply_args){.lr = proto.outer_lr};
    tp_codec_params_default(&a->params);
    int64_t v;
    int c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((r = cli_codec_option("apply", c, optarg, &a->params))) {
            if (r == 2) return 2;
            continue;
        }
        switch (c) {
        case 'm': a->model_dir = optarg; break;
        case 'o': a->out = optarg; break;
        case 'l':
            if (cli_parse_f64("apply", "--outer-lr", optarg, &a->lr)) return 2;
            break;
        case 'W':
            if (cli_parse_i64("apply", "--window", optarg, 0, INT64_MAX, &v)) return 2;
            a->exp.check_window = 1;
            a->exp.window = (uint64_t)v;
            break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return cli_usage("apply", "unknown option");
        }
    }
    if (!a->model_dir || !a->out || optind >= argc)
        return cli_usage("apply", "--model, --out and at least one FILE are required");
    a->files = argv + optind;
    a->n_files = argc - optind;
    if (a->n_files > TP_AGG_MAX_PEERS) return cli_usage("apply", "at most %d update files", TP_AGG_MAX_PEERS);
    return 0;
}

typedef struct {
    tp_llama *m;
    tp_codec_ws *ws;
    tp_payload *pl;          /* one per file; the first n_loaded to free */
    const tp_update **peers; /* the valid updates, with their uids */
    uint32_t *uids;
    uint8_t *skipped; /* per tensor: its aggregate was not finite */
    tp_hf_checkpoint_files tok_files;
    char tok_path[4200];
    int n_valid, n_loaded, n_skipped, n_tok;
} applier;

static void applier_free(applier *ap) {
    for (int i = 0; i < ap->n_loaded; i++) tp_payload_free(&ap->pl[i]);
    free(ap->pl);
    free(ap->peers);
    free(ap->uids);
    free(ap->skipped);
    tp_hf_checkpoint_files_free(&ap->tok_files);
    tp_codec_ws_free(ap->ws);
    tp_llama_free(ap->m);
}

/* The per-file arrays, the model and its tokenizer files. */
static tp_status load_model(const apply_args *a, applier *ap, tp_err *err) {
    ap->pl = calloc((size_t)a->n_files, sizeof *ap->pl);
    ap->peers = calloc((size_t)a->n_files, sizeof *ap->peers);
    ap->uids = calloc((size_t)a->n_files, sizeof *ap->uids);
    if (!ap->pl || !ap->peers || !ap->uids) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_codec_params_check(&a->params, err);
    if (!st) st = tp_checkpoint_load_model(a->model_dir, 1, 2, 0, &ap->m, err);
    if (!st)
        st = tokenizer_files(a->model_dir, &ap->m->cfg, &ap->tok_files, ap->tok_path, sizeof ap->tok_path, &ap->n_tok,
                             err);
    return st;
}

/* Loads the update files against the model; fails when none of them is valid. */
static tp_status accept_updates(const apply_args *a, applier *ap, tp_err *err) {
    tp_payload_expect exp = a->exp;
    exp.model = &ap->m->cfg;
    exp.params = &a->params;
    tp_status st = load_updates(a->files, a->n_files, &exp, ap->pl, ap->peers, ap->uids, &ap->n_valid, &ap->n_loaded,
                                err);
    if (st) return st;
    if (!ap->n_valid) return tp_fail(err, TP_ERR_FORMAT, "no valid update among the %d files", a->n_files);
    return TP_OK;
}

/* theta - lr * aggregate, naming each tensor left unchanged because its aggregate is not finite. */
static tp_status outer_step(const apply_args *a, applier *ap, tp_err *err) {
    tp_llama *m = ap->m;
    if (!(ap->skipped = calloc((size_t)m->layout.n_tensors, 1))) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    tp_status st = tp_codec_ws_new(0, &ap->ws, err);
    if (!st) st = tp_codec_ws_reserve_layout(ap->ws, &m->layout, &a->params, err);
    if (!st)
        st = tp_outer_step(m->params, &m->layout, ap->peers, ap->uids, ap->n_valid, (float)a->lr, ap->ws, ap->skipped,
                           &ap->n_skipped, err);
    if (st) return st;
    for (int i = 0; i < m->layout.n_tensors; i++)
        if (ap->skipped[i]) printf("skipped %s: its aggregate is not finite\n", m->layout.tensors[i].name);
    return TP_OK;
}

static tp_status save_model(const apply_args *a, const applier *ap, tp_err *err) {
    tp_status st = tp_checkpoint_save(a->out, ap->m, NULL, NULL, NULL, ap->tok_files.extra, ap->n_tok, err);
    if (st) return st;
    printf("applied %d of %d updates (outer lr %g, %d tensors skipped) -> %s\n", ap->n_valid, a->n_files, a->lr,
           ap->n_skipped, a->out);
    return TP_OK;
}

int cmd_apply(int argc, char **argv) {
    apply_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    tp_err err = {0};
    applier ap = {0};
    rc = load_model(&a, &ap, &err) || accept_updates(&a, &ap, &err) || outer_step(&a, &ap, &err) ||
         save_model(&a, &ap, &err);
    if (rc) cli_fail("apply", &err);
    applier_free(&ap);
    return rc;
}
