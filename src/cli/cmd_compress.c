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

int cmd_compress(int argc, char **argv) {
    static const struct option opts[] = {{"before", required_argument, 0, 'b'},  {"after", required_argument, 0, 'a'},
                                         {"wallet", required_argument, 0, 'w'},  {"uid", required_argument, 0, 'u'},
                                         {"window", required_argument, 0, 'W'},  {"out", required_argument, 0, 'o'},
                                         {"ef", required_argument, 0, 'e'},      {"ef-out", required_argument, 0, 'E'},
                                         {"step", required_argument, 0, 's'},    {"run-version", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},          CODEC_LONG_OPTIONS,
                                         {0, 0, 0, 0}};
    const char *before = NULL, *after = NULL, *wallet = NULL, *out = NULL, *ef = NULL, *ef_out = NULL;
    const char *run_version = "v1";
    int64_t uid = -1, window = -1, step = 0;
    tp_codec_params params;
    tp_codec_params_default(&params);
    tp_protocol proto; /* a miner's error-feedback decay */
    tp_protocol_default(&proto);
    int c, r;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if ((r = cli_codec_option("compress", c, optarg, &params))) {
            if (r == 2) return 2;
            continue;
        }
        switch (c) {
        case 'b': before = optarg; break;
        case 'a': after = optarg; break;
        case 'w': wallet = optarg; break;
        case 'o': out = optarg; break;
        case 'e': ef = optarg; break;
        case 'E': ef_out = optarg; break;
        case 'r': run_version = optarg; break;
        case 'u':
            if (cli_parse_i64("compress", "--uid", optarg, 0, UINT32_MAX, &uid)) return 2;
            break;
        case 'W':
            if (cli_parse_i64("compress", "--window", optarg, 0, INT64_MAX, &window)) return 2;
            break;
        case 's':
            if (cli_parse_i64("compress", "--step", optarg, 0, INT64_MAX, &step)) return 2;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage("compress", "unknown option");
        }
    }
    if (!before || !after || !wallet || !out || uid < 0 || window < 0)
        return cli_usage("compress", "--before, --after, --wallet, --uid, --window and --out are required");
    if (!tp_run_version_ok(run_version)) return cli_usage("compress", "--run-version must be 1-63 of [A-Za-z0-9._-]");

    tp_err err = {0};
    tp_llama *mb = NULL, *ma = NULL;
    tp_codec_ws *ws = NULL;
    tp_update u = {0};
    float *e = NULL, *delta = NULL;
    uint8_t *bytes = NULL;
    size_t len = 0;
    tp_wallet w;
    int rc = 1, have_wallet = 0;
    if (tp_codec_params_check(&params, &err) || tp_wallet_load(NULL, wallet, NULL, &w, &err))
        goto done;
    have_wallet = 1;
    if (tp_checkpoint_load_model(before, 1, 2, 0, &mb, &err) || tp_checkpoint_load_model(after, 1, 2, 0, &ma, &err))
        goto done;
    if (memcmp(&mb->cfg, &ma->cfg, sizeof mb->cfg)) {
        tp_fail(&err, TP_ERR_CONFIG, "%s and %s hold different model configurations", before, after);
        goto done;
    }
    const tp_layout *L = &mb->layout;
    if (!(e = tp_alloc_aligned(L->total * sizeof *e, &err)) || !(delta = tp_alloc_aligned(L->total * sizeof *delta, &err)))
        goto done;
    /* --ef names the file a previous --ef-out wrote, or a checkpoint directory holding one. */
    if (ef && (tp_path_is_dir(ef) ? tp_checkpoint_load_error_feedback(ef, L, e, &err)
                                  : tp_checkpoint_read_tensors(ef, L, TP_ERROR_FEEDBACK_PREFIX, e, &err)))
        goto done;
    for (size_t i = 0; i < L->total; i++) delta[i] = mb->params[i] - ma->params[i];
    if (tp_codec_ws_new(0, &ws, &err) || tp_codec_ws_reserve_layout(ws, L, &params, &err) ||
        tp_update_init_layout(&u, L, &params, &err) ||
        tp_ef_compress_model(e, delta, (float)proto.ef_beta, 1.0f, L, ws, &u, &err))
        goto done;
    tp_wire_info info = {.window = (uint64_t)window, .uid = (uint32_t)uid, .global_step = (uint64_t)step};
    snprintf(info.run_version, sizeof info.run_version, "%s", run_version);
    if (tp_wire_encode(&u, &mb->cfg, &info, &w.key, &bytes, &len, &err) ||
        tp_write_file_atomic(out, bytes, len, &err))
        goto done;
    if (ef_out && tp_checkpoint_write_tensors(ef_out, L, e, TP_ERROR_FEEDBACK_PREFIX, NULL, 0.0f, &err)) goto done;
    printf("wrote %s: %zu bytes for %zu parameters (%.4f bytes/param), %lld entries, window %lld, uid %lld\n", out,
           len, L->total, (double)len / (double)L->total, (long long)u.nnz, (long long)window, (long long)uid);
    rc = 0;
done:
    if (rc) cli_fail("compress", &err);
    if (have_wallet) tp_wallet_clear(&w);
    tp_llama_free(mb);
    tp_llama_free(ma);
    tp_codec_ws_free(ws);
    tp_update_free(&u);
    free(e);
    free(delta);
    free(bytes);
    return rc;
}
