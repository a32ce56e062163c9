/* templar inspect: header, per-tensor statistics and the validation verdict of an update file.
 * Exit 0 only for a valid payload, 1 for a rejected one; never a crash on any input. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "codec/validate.h"
#include "model/checkpoint.h"

static const char usage_text[] =
    "usage: templar inspect FILE [--model DIR] [--pubkey HEX] [--window W] [--uid U] [--run-version V]\n"
    "\n"
    "Validates an update message and prints its header, per-tensor statistics (k, density, bytes,\n"
    "quantisation parameters) and the verdict. --model checks it against a model directory's config\n"
    "(and the size limit that config implies); --pubkey requires the signature of that hotkey; --window,\n"
    "--uid and --run-version require those header values. Exit status: 0 valid, 1 rejected, 2 usage.\n";

static void print_header(const tp_payload *p) {
    char hex[65];
    printf("header\n");
    printf("  window       %llu\n", (unsigned long long)p->info.window);
    printf("  uid          %u\n", p->info.uid);
    printf("  global step  %llu\n", (unsigned long long)p->info.global_step);
    printf("  run version  %s\n", p->info.run_version);
    tp_hex(p->hotkey, 32, hex);
    printf("  hotkey       %s\n", hex);
    tp_hex(p->model_digest, 32, hex);
    printf("  model        dim %d, %d layers, %d heads, %d kv heads, ffn %d, vocab %d (digest %.16s…)\n",
           p->model.dim, p->model.n_layers, p->model.n_heads, p->model.n_kv_heads, p->model.ffn_dim,
           p->model.vocab_size, hex);
    printf("  codec        chunk %d, topk %d, bins %d, range %g, index coding %s%s\n", p->params.target_chunk,
           p->params.topk, p->params.bins, (double)p->params.range, tp_index_coding_name(p->params.index_coding),
           p->params.use_dct ? ", DCT" : "");
    tp_hex(p->data_hash, 32, hex);
    printf("  data hash    %s\n", hex);
    printf("  size         %zu bytes (header %zu)\n", p->total_bytes, p->header_bytes);
}

static void print_tensors(const tp_payload *p) {
    printf("%-48s %12s %6s %8s %10s %12s %12s\n", "tensor", "params", "k", "density", "bytes", "shift", "scale");
    size_t params = 0;
    for (int i = 0; i < p->update.n; i++) {
        const tp_sparse *s = &p->update.t[i];
        const tp_payload_tensor *t = &p->stats[i];
        int64_t count = p->layout.tensors[i].count;
        int64_t kept = s->k * s->geom.nblocks;
        params += (size_t)count;
        printf("%-48s %12lld %6lld %7.3f%% %10zu %12.4g %12.4g\n", s->name, (long long)count, (long long)s->k,
               100.0 * (double)kept / (double)count, t->idx_bytes + t->val_bytes + t->qp_bytes, (double)s->shift,
               (double)s->scale);
    }
    printf("total: %d tensors, %zu parameters, %lld entries, %.4f bytes/param\n", p->update.n, params,
           (long long)p->update.nnz, (double)p->total_bytes / (double)params);
}

int cmd_inspect(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},  {"pubkey", required_argument, 0, 'p'},
                                         {"window", required_argument, 0, 'W'}, {"uid", required_argument, 0, 'u'},
                                         {"run-version", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_dir = NULL, *pubkey_hex = NULL;
    tp_payload_expect exp = {0};
    int64_t v;
    uint8_t pubkey[32];
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'p': pubkey_hex = optarg; break;
        case 'r': exp.run_version = optarg; break;
        case 'W':
            if (cli_parse_i64("inspect", "--window", optarg, 0, INT64_MAX, &v)) return 2;
            exp.check_window = 1;
            exp.window = (uint64_t)v;
            break;
        case 'u':
            if (cli_parse_i64("inspect", "--uid", optarg, 0, UINT32_MAX, &v)) return 2;
            exp.check_uid = 1;
            exp.uid = (uint32_t)v;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage("inspect", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage("inspect", "expected exactly one FILE");
    if (pubkey_hex) {
        if (tp_unhex(pubkey_hex, pubkey, sizeof pubkey)) return cli_usage("inspect", "--pubkey must be 64 hex digits");
        exp.pubkey = pubkey;
    }
    tp_err err = {0};
    tp_model_config cfg;
    if (model_dir) {
        if (tp_checkpoint_read_config(model_dir, &cfg, &err)) return cli_fail("inspect", &err);
        exp.model = &cfg;
    }
    tp_payload p;
    tp_status st = tp_payload_load(argv[optind], &exp, &p, &err);
    if (p.have_header) print_header(&p);
    if (p.valid) print_tensors(&p);
    if (st == TP_OK) {
        printf("verdict: valid%s\n", exp.pubkey ? " (signature verified against --pubkey)" : " (self-signed: pass --pubkey to check the signer)");
    } else if (st == TP_ERR_FORMAT) {
        printf("verdict: rejected (%s): %s\n", tp_reject_name(p.reason), err.msg);
    } else {
        printf("verdict: not checked: %s\n", err.msg);
    }
    tp_payload_free(&p);
    return st == TP_OK ? 0 : 1;
}
