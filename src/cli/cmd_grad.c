/* templar grad: loss and every gradient of a model directory on given tokens, for parity checks
 * against other implementations. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "model/checkpoint.h"
#include "model/llama.h"

static const char usage_text[] =
    "usage: templar grad --model DIR --tokens FILE.npy --out FILE.safetensors [--ignore-token ID]\n"
    "\n"
    "Computes the mean cross-entropy loss of the model in DIR (model.safetensors + config.json) on the\n"
    "tokens (an int32/uint32/int64 array [B, T]; position t predicts t+1, the last position and targets\n"
    "equal to --ignore-token do not count) and writes tensors 'loss' and 'grad.<HF name>' for every\n"
    "parameter to FILE.safetensors.\n";

/* Converts any integer .npy array [B, T] to int32, refusing values that do not fit. */
static tp_status tokens_from_npy(const tp_npy *a, int32_t **out, int *b, int *t, tp_err *err) {
    if (a->ndim != 2) return tp_fail(err, TP_ERR_FORMAT, "tokens must be a 2-D array [B, T], got %d dimensions", a->ndim);
    if (a->dtype != TP_DT_I32 && a->dtype != TP_DT_U32 && a->dtype != TP_DT_I64)
        return tp_fail(err, TP_ERR_FORMAT, "tokens must be int32, uint32 or int64, got %s", tp_dtype_npy(a->dtype));
    if (a->shape[0] <= 0 || a->shape[1] <= 1 || a->shape[0] > 1 << 20 || a->shape[1] > 1 << 20)
        return tp_fail(err, TP_ERR_FORMAT, "tokens shape [%lld, %lld] is not usable", (long long)a->shape[0],
                       (long long)a->shape[1]);
    int32_t *tok = tp_malloc((size_t)a->count * sizeof *tok, err);
    if (!tok) return TP_ERR_NOMEM;
    for (int64_t i = 0; i < a->count; i++) {
        int64_t v;
        if (a->dtype == TP_DT_I32) {
            int32_t x;
            memcpy(&x, a->data + 4 * i, 4);
            v = x;
        } else if (a->dtype == TP_DT_U32) {
            uint32_t x;
            memcpy(&x, a->data + 4 * i, 4);
            v = x;
        } else {
            memcpy(&v, a->data + 8 * i, 8);
        }
        if (v < 0 || v > INT32_MAX) {
            free(tok);
            return tp_fail(err, TP_ERR_FORMAT, "token %lld at index %lld is out of range", (long long)v, (long long)i);
        }
        tok[i] = (int32_t)v;
    }
    *out = tok;
    *b = (int)a->shape[0];
    *t = (int)a->shape[1];
    return TP_OK;
}

int cmd_grad(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"tokens", required_argument, 0, 't'},
                                         {"out", required_argument, 0, 'o'},
                                         {"ignore-token", required_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model_dir = NULL, *tokens_path = NULL, *out_path = NULL;
    int64_t ignore = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_dir = optarg; break;
        case 't': tokens_path = optarg; break;
        case 'o': out_path = optarg; break;
        case 'i':
            if (cli_parse_i64("grad", "--ignore-token", optarg, -1, INT32_MAX, &ignore)) return 2;
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        default: return cli_usage("grad", "unknown option");
        }
    }
    if (!model_dir || !tokens_path || !out_path) return cli_usage("grad", "--model, --tokens and --out are required");

    tp_err err = {0};
    tp_model_config cfg;
    tp_llama *m = NULL;
    int32_t *tokens = NULL;
    uint8_t *bytes = NULL;
    size_t len;
    tp_npy arr;
    int b = 0, t = 0, rc = 1;
    float loss;
    if (tp_checkpoint_read_config(model_dir, &cfg, &err) || tp_read_file(tokens_path, 1u << 30, &bytes, &len, &err) ||
        tp_npy_parse(bytes, len, &arr, &err) || tokens_from_npy(&arr, &tokens, &b, &t, &err))
        goto done;
    if (t > cfg.seq_len) {
        tp_fail(&err, TP_ERR_ARG, "tokens have %d positions, more than max_position_embeddings %d", t, cfg.seq_len);
        goto done;
    }
    if (tp_llama_create(&cfg, b, t, 1, &m, &err) || tp_checkpoint_load_weights(model_dir, m, &err) ||
        tp_llama_forward(m, tokens, b, t, (int)ignore, &loss, &err))
        goto done;
    tp_llama_backward(m);
    if (tp_checkpoint_write_tensors(out_path, &m->layout, m->grads, "grad.", "loss", loss, &err)) goto done;
    printf("loss %.6f over %lld targets; wrote %s\n", loss, (long long)tp_llama_last_target_count(m), out_path);
    rc = 0;
done:
    if (rc) cli_fail("grad", &err);
    tp_llama_free(m);
    free(tokens);
    free(bytes);
    return rc;
}
