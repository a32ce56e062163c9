/* templar compress: the signed update message a miner publishes for θ_before − θ_after, with error
 * feedback carried between windows (DESIGN §7.5, §8). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/codec_opts.h"
#include "cli/commands.h"
#include "codec/compress.h"
#include "codec/wire.h"
#include "codec/workspace.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "model/checkpoint.h"
#include "net/wallet.h"
#include "neuron/run_config.h"

static const char usage_text[] =
    "usage: templar compress --before DIR --after DIR --wallet NAME --uid U --window W --out FILE\n"
    "                        [--ef FILE] [--ef-out FILE] [--step N] [--run-version V] [codec options]\n"
    "\n"
    "Writes the signed SparseLoCo message for the pseudo-gradient before - after of two model\n"
    "directories. Error feedback: e = 0.9*e + delta, the protocol's decay (e from --ef, else 0); the\n"
    "message is compress(e); e - decompress(message) is written to --ef-out.\n"
    "  --ef FILE|DIR       error feedback from a previous --ef-out file or a checkpoint directory\n"
    "  --step N            global step recorded in the message (default 0)\n"
    "  --run-version V     run version (default v1)\n" CODEC_OPTIONS_HELP;

typedef struct {
    const char *before, *after, *wallet, *out, *ef, *ef_out, *run_version;
    int64_t uid, window, step;
    tp_codec_params params;
} compress_args;

/* Returns 0 to run, -1 after --help, 2 on a usage error. */
static int parse_args(int argc, char **argv, compress_args *a) {
    static const struct option opts[] = {{"before", required_argument, 0, 'b'},  {"after", required_argument, 0, 'a'},
                                         {"wallet", required_argument, 0, 'w'},  {"uid", required_argument, 0, 'u'},
                                         {"window", required_argument, 0, 'W'},  {"out", required_argument, 0, 'o'},
                                         {"ef", required_argument, 0, 'e'},      {"ef-out", required_argument, 0, 'E'},
                                         {"step", required_argument, 0, 's'},    {"run-version", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},          CODEC_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    *a = (compress_args){.run_version = "v1", .uid = -1, .window = -1};
    tp_codec_params_default(&a->params);
    int c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((r = cli_codec_option("compress", c, optarg, &a->params))) {
            if (r == 2) return 2;
            continue;
        }
        switch (c) {
        case 'b': a->before = optarg; break;
        case 'a': a->after = optarg; break;
        case 'w': a->wallet = optarg; break;
        case 'o': a->out = optarg; break;
        case 'e': a->ef = optarg; break;
        case 'E': a->ef_out = optarg; break;
        case 'r': a->run_version = optarg; break;
        case 'u':
            if (cli_parse_i64("compress", "--uid", optarg, 0, UINT32_MAX, &a->uid)) return 2;
            break;
        case 'W':
            if (cli_parse_i64("compress", "--window", optarg, 0, INT64_MAX, &a->window)) return 2;
            break;
        case 's':
            if (cli_parse_i64("compress", "--step", optarg, 0, INT64_MAX, &a->step)) return 2;
            break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return cli_usage("compress", "unknown option");
        }
    }
    if (!a->before || !a->after || !a->wallet || !a->out || a->uid < 0 || a->window < 0)
        return cli_usage("compress", "--before, --after, --wallet, --uid, --window and --out are required");
    if (!tp_run_version_ok(a->run_version))
        return cli_usage("compress", "--run-version must be 1-63 of [A-Za-z0-9._-]");
    return 0;
}

typedef struct {
    tp_wallet w;
    int have_wallet;
    tp_llama *mb, *ma; /* before, after */
    float *e, *delta;  /* error feedback, before - after */
    tp_codec_ws *ws;
    tp_update u;
    uint8_t *bytes; /* the signed message */
    size_t len;
} compressor;

static void compressor_free(compressor *cp) {
    if (cp->have_wallet) tp_wallet_clear(&cp->w);
    tp_llama_free(cp->mb);
    tp_llama_free(cp->ma);
    tp_codec_ws_free(cp->ws);
    tp_update_free(&cp->u);
    free(cp->e);
    free(cp->delta);
    free(cp->bytes);
}

/* The wallet, both models and the error feedback carried in (zero without --ef). */
static tp_status load_inputs(const compress_args *a, compressor *cp, tp_err *err) {
    tp_status st = tp_codec_params_check(&a->params, err);
    if (!st) st = tp_wallet_load(NULL, a->wallet, NULL, &cp->w, err);
    if (st) return st;
    cp->have_wallet = 1;
    st = tp_checkpoint_load_model(a->before, 1, 2, 0, &cp->mb, err);
    if (!st) st = tp_checkpoint_load_model(a->after, 1, 2, 0, &cp->ma, err);
    if (st) return st;
    if (memcmp(&cp->mb->cfg, &cp->ma->cfg, sizeof cp->mb->cfg))
        return tp_fail(err, TP_ERR_CONFIG, "%s and %s hold different model configurations", a->before, a->after);
    const tp_layout *L = &cp->mb->layout;
    if (!(cp->e = tp_alloc_aligned(L->total * sizeof *cp->e, err)) ||
        !(cp->delta = tp_alloc_aligned(L->total * sizeof *cp->delta, err)))
        return TP_ERR_NOMEM;
    /* --ef names the file a previous --ef-out wrote, or a checkpoint directory holding one. */
    if (!a->ef) return TP_OK;
    if (tp_path_is_dir(a->ef)) return tp_checkpoint_load_error_feedback(a->ef, L, cp->e, err);
    return tp_checkpoint_read_tensors(a->ef, L, TP_ERROR_FEEDBACK_PREFIX, cp->e, err);
}

/* The update compress(e) after e = beta*e + (before - after), leaving e - decompress(update) in e;
 * then its signed wire message. */
static tp_status encode_update(const compress_args *a, compressor *cp, tp_err *err) {
    const tp_layout *L = &cp->mb->layout;
    tp_protocol proto; /* a miner's error-feedback decay */
    tp_protocol_default(&proto);
    for (size_t i = 0; i < L->total; i++) cp->delta[i] = cp->mb->params[i] - cp->ma->params[i];
    tp_status st = tp_codec_ws_new(0, &cp->ws, err);
    if (!st) st = tp_codec_ws_reserve_layout(cp->ws, L, &a->params, err);
    if (!st) st = tp_update_init_layout(&cp->u, L, &a->params, err);
    if (!st) st = tp_ef_compress_model(cp->e, cp->delta, (float)proto.ef_beta, 1.0f, L, cp->ws, &cp->u, err);
    if (st) return st;
    tp_wire_info info = {.window = (uint64_t)a->window, .uid = (uint32_t)a->uid, .global_step = (uint64_t)a->step};
    snprintf(info.run_version, sizeof info.run_version, "%s", a->run_version);
    return tp_wire_encode(&cp->u, &cp->mb->cfg, &info, &cp->w.key, &cp->bytes, &cp->len, err);
}

/* The message to --out, the remaining error feedback to --ef-out. */
static tp_status write_outputs(const compress_args *a, const compressor *cp, tp_err *err) {
    const tp_layout *L = &cp->mb->layout;
    tp_status st = tp_write_file_atomic(a->out, cp->bytes, cp->len, err);
    if (st) return st;
    if (a->ef_out && (st = tp_checkpoint_write_tensors(a->ef_out, L, cp->e, TP_ERROR_FEEDBACK_PREFIX, NULL, 0.0f, err)))
        return st;
    printf("wrote %s: %zu bytes for %zu parameters (%.4f bytes/param), %lld entries, window %lld, uid %lld\n", a->out,
           cp->len, L->total, (double)cp->len / (double)L->total, (long long)cp->u.nnz, (long long)a->window,
           (long long)a->uid);
    return TP_OK;
}

int cmd_compress(int argc, char **argv) {
    compress_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    tp_err err = {0};
    compressor cp = {0};
    rc = load_inputs(&a, &cp, &err) || encode_update(&a, &cp, &err) || write_outputs(&a, &cp, &err);
    if (rc) cli_fail("compress", &err);
    compressor_free(&cp);
    return rc;
}
