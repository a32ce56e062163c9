/* templar eval: the held-out loss of a model directory on samples spread evenly over the val split,
 * the one evaluator that compares models trained in different ways (bench/parity.sh). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "data/shards.h"
#include "model/checkpoint.h"
#include "model/llama.h"

static const char usage_text[] =
    "usage: templar eval --model DIR --data DIR [--samples N] [--batch B] [--json]\n"
    "\n"
    "Prints the mean token cross-entropy of the model in DIR (model.safetensors + config.json, e.g. a\n"
    "checkpoint of 'templar train' or a neuron's state) on N samples of the model's seq_len tokens\n"
    "from the val_*.npy shards of --data: sample i of N is val sample floor(i * count / N), so every\n"
    "model evaluated with the same N and data sees the same tokens. Targets are weighted equally.\n"
    "  --samples N  held-out samples (default 48; at most the split's count)\n"
    "  --batch B    samples per forward pass (default 8; the result does not depend on it)\n"
    "  --json       print {\"loss\", \"samples\", \"targets\"} instead of the loss alone\n";

typedef struct {
    const char *model, *data;
    int64_t samples, batch;
    int json;
} eval_args;

static int parse(int argc, char **argv, eval_args *a) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
                                         {"samples", required_argument, 0, 'n'}, {"batch", required_argument, 0, 'b'},
                                         {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *a = (eval_args){.samples = 48, .batch = 8};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'd': a->data = optarg; break;
        case 'j': a->json = 1; break;
        case 'n':
            if (cli_parse_i64("eval", "--samples", optarg, 1, 1 << 24, &a->samples)) return 2;
            break;
        case 'b':
            if (cli_parse_i64("eval", "--batch", optarg, 1, 4096, &a->batch)) return 2;
            break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return cli_usage("eval", "unknown option");
        }
    }
    if (!a->model || !a->data) return cli_usage("eval", "--model and --data are required");
    return 0;
}

/* Sum of the counted targets' cross-entropy over the chosen samples, and their count. */
static tp_status evaluate(tp_llama *m, tp_shards *data, const eval_args *a, double *sum, double *targets, tp_err *err) {
    int T = m->cfg.seq_len, B = (int)a->batch;
    uint64_t n = tp_shards_num_samples(data, TP_SPLIT_VAL, T);
    if ((uint64_t)a->samples > n)
        return tp_fail(err, TP_ERR_ARG, "--samples %lld: the held-out split has only %llu samples of %d tokens",
                       (long long)a->samples, (unsigned long long)n, T);
    int32_t *tok = tp_malloc(sizeof(int32_t) * (size_t)B * (size_t)T, err);
    if (!tok) return err->code;
    tp_status st = TP_OK;
    *sum = *targets = 0;
    for (int64_t first = 0; !st && first < a->samples; first += B) {
        int b = a->samples - first < B ? (int)(a->samples - first) : B;
        for (int i = 0; !st && i < b; i++)
            st = tp_shards_read_sample(data, TP_SPLIT_VAL, T, (uint64_t)(first + i) * n / (uint64_t)a->samples,
                                       tok + (size_t)i * T, err);
        float loss;
        if (st || (st = tp_llama_forward(m, tok, b, T, tp_shards_eot(data), &loss, err))) break;
        double cnt = (double)tp_llama_last_target_count(m);
        *sum += (double)loss * cnt;
        *targets += cnt;
    }
    free(tok);
    return st;
}

int cmd_eval(int argc, char **argv) {
    eval_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    tp_err err = {0};
    tp_llama *m = NULL;
    tp_shards *data = NULL;
    double sum = 0, targets = 0;
    rc = 1;
    if (tp_checkpoint_load_model(a.model, (int)a.batch, 0, 0, &m, &err) || tp_shards_open(a.data, &data, &err) ||
        evaluate(m, data, &a, &sum, &targets, &err))
        goto done;
    if (targets <= 0) {
        tp_fail(&err, TP_ERR_ARG, "the chosen held-out samples have no counted targets");
        goto done;
    }
    if (a.json) printf("{\"loss\": %.6f, \"samples\": %lld, \"targets\": %.0f}\n", sum / targets, (long long)a.samples,
                       targets);
    else printf("%.6f\n", sum / targets);
    rc = 0;
done:
    if (rc) cli_fail("eval", &err);
    tp_shards_close(data);
    tp_llama_free(m);
    return rc;
}
