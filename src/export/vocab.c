/* Spelled vocabularies and their distinctness check, shared by the Hugging Face and GGUF exports. */
#include "export/vocab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "export/bytelevel.h"

void tp_spelled_vocab_free(tp_spelled_vocab *s) {
    free(s->text);
    free(s->off);
    s->text = NULL;
    s->off = NULL;
}

static tp_status spell(const tp_tokenizer *tok, tp_spelled_vocab *s, tp_err *err) {
    *s = (tp_spelled_vocab){.n = tp_tokenizer_vocab_size(tok)};
    size_t total = sizeof TP_EOT_NAME, len;
    for (int i = 0; i < s->n; i++) {
        tp_tokenizer_token_bytes(tok, (uint32_t)i, &len);
        total += 2 * len + 1;
    }
    s->off = tp_malloc(sizeof *s->off * (size_t)s->n, err);
    if (s->off) s->text = tp_malloc(total, err);
    if (!s->text) return TP_ERR_NOMEM;
    size_t pos = 0;
    for (int i = 0; i < s->n; i++) {
        s->off[i] = pos;
        const uint8_t *bytes = tp_tokenizer_token_bytes(tok, (uint32_t)i, &len);
        if ((uint32_t)i == tp_tokenizer_eot(tok)) { /* its bytes are empty: it has a name instead */
            memcpy(s->text + pos, TP_EOT_NAME, sizeof TP_EOT_NAME);
            pos += sizeof TP_EOT_NAME;
        } else {
            pos += tp_bytelevel_spell(bytes, len, s->text + pos) + 1;
        }
    }
    return TP_OK;
}

static int cmp_spelled(const void *a, const void *b, void *ctx) {
    const tp_spelled_vocab *s = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    int c = strcmp(tp_spelled(s, x), tp_spelled(s, y));
    return c ? c : (x > y) - (x < y);
}

static tp_status check_distinct(const tp_spelled_vocab *s, tp_err *err) {
    int *ids = tp_malloc(sizeof *ids * (size_t)s->n, err);
    if (!ids) return TP_ERR_NOMEM;
    for (int i = 0; i < s->n; i++) ids[i] = i;
    qsort_r(ids, (size_t)s->n, sizeof *ids, cmp_spelled, (void *)s);
    tp_status st = TP_OK;
    for (int i = 1; i < s->n && !st; i++)
        if (!strcmp(tp_spelled(s, ids[i - 1]), tp_spelled(s, ids[i])))
            st = tp_fail(err, TP_ERR_CONFIG, "tokens %d and %d of the tokenizer have the same bytes (\"%.200s\" "
                         "spelled byte-level): Hugging Face and llama.cpp vocabularies map each string to one id",
                         ids[i - 1], ids[i], tp_spelled(s, ids[i]));
    free(ids);
    return st;
}

tp_status tp_spell_vocab(const tp_tokenizer *tok, tp_spelled_vocab *s, tp_err *err) {
    tp_status st = spell(tok, s, err);
    return st ? st : check_distinct(s, err);
}
