/* templar export hf: weights, tokenizer files and a model card in one atomically written directory. */
#include "export/hf_dir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/hf_tokenizer.h"
#include "model/checkpoint.h"

/* A growing text; the first failure to grow sticks and is reported at the end. */
typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} card_text;

static void addf(card_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(card_text *t, const char *fmt, ...) {
    if (t->failed) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t need = t->len + (size_t)(n < 0 ? 0 : n) + 1;
    if (n >= 0 && need > t->cap) {
        char *grown = realloc(t->s, 2 * need);
        if (grown) t->s = grown, t->cap = 2 * need;
    }
    if (n < 0 || need > t->cap) {
        t->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void card_model(card_text *t, const tp_llama *m) {
    const tp_model_config *c = &m->cfg;
    addf(t, "## Model\n\n| | |\n|---|---|\n| architecture | LlamaForCausalLM (LLaMA: RMSNorm, SwiGLU, RoPE, "
            "grouped-query attention) |\n");
    addf(t, "| parameters | %zu |\n| hidden size | %d |\n| layers | %d |\n| attention heads | %d (%d key/value) |\n",
         m->layout.total, c->dim, c->n_layers, c->n_heads, c->n_kv_heads);
    addf(t, "| feed-forward size | %d |\n| vocabulary | %d (byte-level BPE; end of document: `%s`, id %d) |\n",
         c->ffn_dim, c->vocab_size, TP_HF_EOT_TOKEN, c->vocab_size - 1);
    addf(t, "| context | %d tokens |\n| tied embeddings | %s |\n\n", c->seq_len, c->tie_embeddings ? "yes" : "no");
}

static void card_training(card_text *t, const tp_train_facts *f) {
    addf(t, "## Training\n\nTrained by a templar network (decentralized pre-training after τemplar): miners train "
            "the shared model on their own data slices, publish SparseLoCo-compressed pseudo-gradients (top-k, "
            "error feedback, 2-bit values) to object storage, and every node applies the same outer step; "
            "validators score the miners and set weights on a Bittensor chain.\n\n| | |\n|---|---|\n");
    int any = 0;
    if (f->config) any = 1, addf(t, "| run config | `%s` |\n", f->config);
    if (f->tokens >= 0) any = 1, addf(t, "| tokens trained on (honest miners) | %.0f |\n", f->tokens);
    if (f->windows >= 0) any = 1, addf(t, "| windows | %d |\n", f->windows);
    if (f->miners >= 0) any = 1, addf(t, "| miners | %d |\n", f->miners);
    if (f->validators >= 0) any = 1, addf(t, "| validators | %d |\n", f->validators);
    if (f->heldout_loss >= 0) any = 1, addf(t, "| held-out loss (nats per token) | %.4f |\n", f->heldout_loss);
    if (!any) addf(t, "| training facts | not recorded (exported from a model directory alone) |\n");
    addf(t, "\n");
}

static void card_use(card_text *t) {
    addf(t, "## Use\n\nTransformers (Python):\n\n```python\nfrom transformers import AutoModelForCausalLM, "
            "AutoTokenizer\ntok = AutoTokenizer.from_pretrained(\"path/to/this/directory\")\nmodel = "
            "AutoModelForCausalLM.from_pretrained(\"path/to/this/directory\")\nids = tok(\"The kernel\", "
            "return_tensors=\"pt\").input_ids\nprint(tok.decode(model.generate(ids, max_new_tokens=40)[0]))\n```\n\n");
    addf(t, "llama.cpp: `templar export gguf --model path/to/this/directory --out model.gguf`, then "
            "`llama-cli -m model.gguf -p \"The kernel\"`.\n\n`templar_tokenizer.json` is the same tokenizer in "
            "templar's own format; `templar generate --model path/to/this/directory` reads it.\n");
}

tp_status tp_model_card(const tp_llama *m, const tp_train_facts *facts, char **text, size_t *len, tp_err *err) {
    card_text t = {0};
    const char *name = facts->name ? facts->name : "templar model";
    addf(&t, "---\nlibrary_name: transformers\npipeline_tag: text-generation\ntags:\n- llama\n- templar\n"
             "- decentralized-training\n---\n\n# %s\n\n", name);
    card_model(&t, m);
    card_training(&t, facts);
    card_use(&t);
    if (t.failed) {
        free(t.s);
        return tp_fail(err, TP_ERR_NOMEM, "out of memory writing the model card");
    }
    *text = t.s;
    *len = t.len;
    return TP_OK;
}

tp_status tp_export_hf_dir(const char *out_dir, const tp_llama *m, const char *tokenizer_path,
                           const tp_train_facts *facts, tp_err *err) {
    tp_hf_checkpoint_files tok = {0};
    char *card = NULL;
    size_t card_len = 0;
    tp_status st = tp_hf_checkpoint_files_make(tokenizer_path, &m->cfg, &tok, err);
    if (!st) st = tp_model_card(m, facts, &card, &card_len, err);
    if (!st) {
        tp_extra_file extra[2 + TP_HF_TOKENIZER_FILES];
        memcpy(extra, tok.extra, sizeof tok.extra);
        extra[1 + TP_HF_TOKENIZER_FILES] = (tp_extra_file){.name = "README.md", .data = card, .len = card_len};
        st = tp_checkpoint_save(out_dir, m, NULL, NULL, NULL, extra, 2 + TP_HF_TOKENIZER_FILES, err);
    }
    free(card);
    tp_hf_checkpoint_files_free(&tok);
    return st;
}
