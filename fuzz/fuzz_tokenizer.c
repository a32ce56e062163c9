/* libFuzzer target for the tokenizer: the file loader on untrusted bytes, then the round trip
 * decode(encode(s)) == s on the same bytes, with the loaded tokenizer when the input is a valid file
 * and with a small fixed one otherwise. Also checks that a safe-prefix cut does not change tokens. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A few merges that fire on ordinary text and on runs (aa, aaaa, "  ", NUL NUL). */
static const uint32_t fixed_merges[] = {'t', 'h', 256, 'e', ' ', 't', 258, 'h', 'a', 'a', 260, 260, ' ', ' ',
                                        0,   0,   'i', 'n', 264, 'g', 261, 261, 255, 255, 'e', ' '};

static void roundtrip(const tp_tokenizer *tok, const uint8_t *s, size_t n) {
    uint32_t *ids;
    size_t nids;
    tp_err err;
    if (tp_tokenizer_encode(tok, s, n, &ids, &nids, &err) != TP_OK) {
        if (err.code == TP_ERR_NOMEM) return;
        abort(); /* encoding never fails otherwise */
    }
    for (size_t i = 0; i < nids; i++)
        if (ids[i] >= tp_tokenizer_eot(tok)) abort();
    uint8_t *back;
    size_t blen;
    if (tp_tokenizer_decode(tok, ids, nids, &back, &blen, &err) != TP_OK) abort();
    if (blen != n || (n && memcmp(back, s, n))) abort();
    free(back);
    /* Encoding the two sides of a safe cut separately gives the same tokens. */
    size_t cut = tp_pretok_safe_prefix(s, n);
    uint32_t *a, *b;
    size_t na, nb;
    if (tp_tokenizer_encode(tok, s, cut, &a, &na, &err) == TP_OK) {
        if (tp_tokenizer_encode(tok, s + cut, n - cut, &b, &nb, &err) == TP_OK) {
            if (na + nb != nids || (na && memcmp(a, ids, na * 4)) || (nb && memcmp(b, ids + na, nb * 4))) abort();
            free(b);
        }
        free(a);
    }
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* exactly size bytes, so an over-read is caught */
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    tp_tokenizer *tok = NULL;
    tp_err err;
    if (tp_tokenizer_load_mem(buf, size, &tok, &err) == TP_OK) {
        int v = tp_tokenizer_vocab_size(tok);
        if (v < TP_TOKENIZER_MIN_VOCAB || tp_tokenizer_eot(tok) != (uint32_t)v - 1) abort();
        for (uint32_t id = 0; id < (uint32_t)v; id++) {
            size_t len;
            const uint8_t *b = tp_tokenizer_token_bytes(tok, id, &len);
            if (!b || len > TP_PRETOK_MAX_CHUNK || (id < 256 && (len != 1 || b[0] != id))) abort();
        }
    } else {
        if (tok || (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM)) abort();
        if (tp_tokenizer_from_merges(fixed_merges, (int)(sizeof fixed_merges / sizeof *fixed_merges / 2), &tok,
                                     &err) != TP_OK)
            abort();
    }
    roundtrip(tok, buf, size);
    tp_tokenizer_free(tok);
    free(buf);
    return 0;
}
