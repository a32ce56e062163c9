/* templar generate: samples a continuation of a prompt from a model directory. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "data/tokenizer.h"
#include "export/model_dir.h"
#include "model/checkpoint.h"
#include "model/llama.h"

static const char usage_text[] =
    "usage: templar generate --model DIR --prompt TEXT [--tokens N] [--temperature T] [--top-k K]\n"
    "                        [--seed S] [--tokenizer FILE]\n"
    "\n"
    "Samples up to N tokens (default 100) after TEXT from the model in DIR and prints the text. The\n"
    "tokenizer defaults to DIR/templar_tokenizer.json (in checkpoints older than the Hugging Face files:\n"
    "DIR/tokenizer.json). Sampling stops at the end-of-document token.\n"
    "  --temperature T  softmax temperature (default 0.8; 0 = greedy)\n"
    "  --top-k K        sample among the K most likely tokens (default 40; 0 = all)\n";

/* Draws a token from logits (modified in place) with temperature and top-k. */
static int sample(float *logits, int v, double temperature, int top_k, tp_rng *rng) {
    int best = 0;
    for (int i = 1; i < v; i++)
        if (logits[i] > logits[best]) best = i;
    if (temperature <= 0) return best;
    float cutoff = -INFINITY;
    if (top_k > 0 && top_k < v) {
        /* k-th largest by repeated selection of the threshold: v is small enough for this. */
        float *copy = malloc(sizeof(float) * (size_t)v);
        if (!copy) return best;
        memcpy(copy, logits, sizeof(float) * (size_t)v);
        for (int k = 0; k < top_k; k++) {
            int arg = 0;
            for (int i = 1; i < v; i++)
                if (copy[i] > copy[arg]) arg = i;
            cutoff = copy[arg];
            copy[arg] = -INFINITY;
        }
        free(copy);
    }
    double sum = 0;
    for (int i = 0; i < v; i++) {
        double p = logits[i] >= cutoff ? exp((logits[i] - logits[best]) / temperature) : 0.0;
        logits[i] = (float)p;
        sum += p;
    }
    double u = tp_rng_float(rng) * sum, acc = 0;
    for (int i = 0; i < v; i++) {
        acc += logits[i];
        if (u < acc) return i;
    }
    return best;
}

int cmd_generate(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},     {"prompt", required_argument, 0, 'p'},
                                         {"tokens", required_argument, 0, 'n'},    {"temperature", required_argument, 0, 't'},
                                         {"top-k", required_argument, 0, 'k'},     {"seed", required_argument, 0, 's'},
                                         {"tokenizer", required_argument, 0, 'z'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_dir = NULL, *prompt = NULL, *tok_path = NULL;
    int64_t n_new = 100, top_k = 40, seed = 1;
    double temperature = 0.8;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 'p': prompt = optarg; break;
        case 'z': tok_path = optarg; break;
        case 'n':
            if (cli_parse_i64("generate", "--tokens", optarg, 1, 100000, &n_new)) return 2;
            break;
        case 'k':
            if (cli_parse_i64("generate", "--top-k", optarg, 0, 1 << 24, &top_k)) return 2;
            break;
        case 's':
            if (cli_parse_i64("generate", "--seed", optarg, 0, INT64_MAX, &seed)) return 2;
            break;
        case 't':
            if (cli_parse_f64("generate", "--temperature", optarg, &temperature)) return 2;
            if (temperature < 0) return cli_usage("generate", "--temperature must not be negative");
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage("generate", "unknown option");
        }
    }
    if (!model_dir || !prompt) return cli_usage("generate", "--model and --prompt are required");

    tp_err err = {0};
    char path[4200];
    tp_tokenizer *tok = NULL;
    tp_llama *m = NULL;
    uint32_t *ids = NULL;
    int32_t *ctx = NULL;
    size_t n_prompt = 0;
    int rc = 1;
    if (tp_checkpoint_load_model(model_dir, 1, 0, 0, &m, &err) ||
        tp_export_load_tokenizer(model_dir, tok_path, &tok, path, sizeof path, &err))
        goto done;
    tok_path = path;
    const tp_model_config cfg = m->cfg;
    if (tp_tokenizer_vocab_size(tok) != cfg.vocab_size) {
        tp_fail(&err, TP_ERR_CONFIG, "vocab_size %d of the model does not match the tokenizer %s (%d)", cfg.vocab_size,
                tok_path, tp_tokenizer_vocab_size(tok));
        goto done;
    }
    if (tp_tokenizer_encode(tok, (const uint8_t *)prompt, strlen(prompt), &ids, &n_prompt, &err))
        goto done;
    size_t cap = n_prompt + (size_t)n_new + 1;
    if (!(ctx = tp_malloc(cap * sizeof *ctx, &err))) goto done;
    /* An empty prompt starts a new document. */
    size_t len = 0;
    if (!n_prompt) ctx[len++] = (int32_t)tp_tokenizer_eot(tok);
    for (size_t i = 0; i < n_prompt; i++) ctx[len++] = (int32_t)ids[i];
    tp_rng rng;
    tp_rng_seed(&rng, (uint64_t)seed);
    fputs(prompt, stdout);
    for (int64_t i = 0; i < n_new; i++) {
        size_t window = len < (size_t)cfg.seq_len ? len : (size_t)cfg.seq_len;
        const float *logits;
        if (tp_llama_logits(m, ctx + len - window, 1, (int)window, &logits, &err)) goto done;
        float *last = (float *)logits + (window - 1) * (size_t)cfg.vocab_size;
        int next = sample(last, cfg.vocab_size, temperature, (int)top_k, &rng);
        if ((uint32_t)next == tp_tokenizer_eot(tok)) break;
        ctx[len++] = next;
        size_t blen;
        const uint8_t *bytes = tp_tokenizer_token_bytes(tok, (uint32_t)next, &blen);
        fwrite(bytes, 1, blen, stdout);
        fflush(stdout);
    }
    fputc('\n', stdout);
    rc = 0;
done:
    if (rc) cli_fail("generate", &err);
    tp_llama_free(m);
    tp_tokenizer_free(tok);
    free(ids);
    free(ctx);
    return rc;
}
