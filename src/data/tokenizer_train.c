/* BPE training. The text is reduced to its distinct pre-token chunks with counts ("words"); merges
 * then work on the words only. For each adjacent pair we keep its weighted count and a list of the
 * words it occurs in, so a merge touches just the words holding the chosen pair, and a max-heap with
 * lazily refreshed entries finds the next pair. Work per merge is proportional to the words it
 * changes, which makes vocab 8192 on ~30 MB of text a matter of seconds. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/hash.h"
#include "data/tokenizer.h"


/* Grows *p (n elements used, *cap allocated) to hold at least need elements. */
static tp_status grow(void **p, size_t *cap, size_t need, size_t elem, tp_err *err) {
    if (need <= *cap) return TP_OK;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return tp_fail(err, TP_ERR_NOMEM, "out of memory growing to %zu x %zu bytes", c, elem);
    *p = q;
    *cap = c;
    return TP_OK;
}

/* ---------------------------------------------------------------- chunk counting */

typedef struct {
    uint64_t hash;
    size_t off;
    uint32_t len;
    int64_t count;
} word;

struct tp_bpe_trainer {
    uint8_t *keys;
    size_t keys_len, keys_cap;
    word *words;
    size_t n_words, words_cap;
    uint32_t *slots; /* word index + 1; 0 = empty */
    size_t slot_mask;
    int finished;
};

tp_status tp_bpe_trainer_new(tp_bpe_trainer **out, tp_err *err) {
    *out = NULL;
    tp_bpe_trainer *t = tp_calloc(1, sizeof *t, err);
    if (!t) return TP_ERR_NOMEM;
    t->slot_mask = (1u << 16) - 1;
    t->slots = tp_calloc(t->slot_mask + 1, sizeof *t->slots, err);
    if (!t->slots) {
        free(t);
        return TP_ERR_NOMEM;
    }
    *out = t;
    return TP_OK;
}

void tp_bpe_trainer_free(tp_bpe_trainer *t) {
    if (!t) return;
    free(t->keys);
    free(t->words);
    free(t->slots);
    free(t);
}

uint64_t tp_bpe_trainer_unique_chunks(const tp_bpe_trainer *t) { return t->n_words; }

static tp_status rehash_words(tp_bpe_trainer *t, tp_err *err) {
    size_t cap = (t->slot_mask + 1) * 2;
    uint32_t *s = tp_calloc(cap, sizeof *s, err);
    if (!s) return TP_ERR_NOMEM;
    for (size_t w = 0; w < t->n_words; w++) {
        size_t i = t->words[w].hash & (cap - 1);
        while (s[i]) i = (i + 1) & (cap - 1);
        s[i] = (uint32_t)w + 1;
    }
    free(t->slots);
    t->slots = s;
    t->slot_mask = cap - 1;
    return TP_OK;
}

static tp_status count_chunk(tp_bpe_trainer *t, const uint8_t *c, size_t n, tp_err *err) {
    uint64_t h = tp_hash_bytes(c, n);
    size_t i = h & t->slot_mask;
    for (; t->slots[i]; i = (i + 1) & t->slot_mask) {
        word *w = &t->words[t->slots[i] - 1];
        if (w->hash == h && w->len == n && !memcmp(t->keys + w->off, c, n)) {
            w->count++;
            return TP_OK;
        }
    }
    if (t->n_words >= UINT32_MAX - 1) return tp_fail(err, TP_ERR_ARG, "more than 2^32 distinct chunks");
    tp_status st;
    if ((st = grow((void **)&t->keys, &t->keys_cap, t->keys_len + n, 1, err)) ||
        (st = grow((void **)&t->words, &t->words_cap, t->n_words + 1, sizeof *t->words, err)))
        return st;
    memcpy(t->keys + t->keys_len, c, n);
    t->words[t->n_words] = (word){h, t->keys_len, (uint32_t)n, 1};
    t->keys_len += n;
    t->slots[i] = (uint32_t)++t->n_words;
    if (t->n_words * 2 > t->slot_mask) return rehash_words(t, err);
    return TP_OK;
}

tp_status tp_bpe_trainer_add(tp_bpe_trainer *t, const uint8_t *text, size_t len, tp_err *err) {
    if (t->finished) return tp_fail(err, TP_ERR_ARG, "BPE trainer already finished");
    size_t pos = 0;
    while (pos < len) {
        size_t c = tp_pretok_chunk(text + pos, len - pos);
        tp_status st = count_chunk(t, text + pos, c, err);
        if (st) return st;
        pos += c;
    }
    return TP_OK;
}

/* ---------------------------------------------------------------- merging */

#define NIL UINT32_MAX

typedef struct {
    uint32_t word, next;
} list_node;

typedef struct {
    int64_t count;
    uint32_t a, b, pair;
} heap_entry;

typedef struct {
    /* words as symbol sequences */
    uint32_t *sym;
    size_t *wofs;
    uint32_t *wlen;
    int64_t *wcnt;
    uint32_t *stamp; /* last merge (1-based) that visited the word */
    size_t n_words;
    /* pairs */
    uint32_t *pa, *pb, *phead;
    int64_t *pcnt;
    size_t n_pairs, pairs_cap;
    uint64_t *map_keys; /* (a << 32 | b) + 1, 0 = empty */
    uint32_t *map_vals;
    size_t map_mask;
    /* occurrence lists */
    list_node *nodes;
    size_t n_nodes, nodes_cap;
    /* heap */
    heap_entry *heap;
    size_t heap_n, heap_cap;
    /* pairs created during the current merge */
    uint32_t *fresh;
    size_t n_fresh, fresh_cap;
} state;

static void state_free(state *s) {
    free(s->sym);
    free(s->wofs);
    free(s->wlen);
    free(s->wcnt);
    free(s->stamp);
    free(s->pa);
    free(s->pb);
    free(s->phead);
    free(s->pcnt);
    free(s->map_keys);
    free(s->map_vals);
    free(s->nodes);
    free(s->heap);
    free(s->fresh);
}

static inline uint64_t pkey(uint32_t a, uint32_t b) { return ((uint64_t)a << 32 | b) + 1; }

static tp_status map_grow(state *s, tp_err *err) {
    size_t cap = s->map_keys ? (s->map_mask + 1) * 2 : 1u << 16;
    uint64_t *k = tp_calloc(cap, sizeof *k, err);
    uint32_t *v = k ? tp_malloc(cap * sizeof *v, err) : NULL;
    if (!v) {
        free(k);
        return TP_ERR_NOMEM;
    }
    for (size_t p = 0; p < s->n_pairs; p++) {
        uint64_t key = pkey(s->pa[p], s->pb[p]);
        size_t i = tp_mix64(key) & (cap - 1);
        while (k[i]) i = (i + 1) & (cap - 1);
        k[i] = key;
        v[i] = (uint32_t)p;
    }
    free(s->map_keys);
    free(s->map_vals);
    s->map_keys = k;
    s->map_vals = v;
    s->map_mask = cap - 1;
    return TP_OK;
}

/* Index of pair (a, b), creating it (count 0, empty list) if new. */
static tp_status pair_get(state *s, uint32_t a, uint32_t b, uint32_t *out, tp_err *err) {
    uint64_t key = pkey(a, b);
    size_t i = tp_mix64(key) & s->map_mask;
    for (; s->map_keys[i]; i = (i + 1) & s->map_mask)
        if (s->map_keys[i] == key) {
            *out = s->map_vals[i];
            return TP_OK;
        }
    if (s->n_pairs >= UINT32_MAX - 1) return tp_fail(err, TP_ERR_ARG, "more than 2^32 distinct pairs");
    tp_status st;
    size_t cap = s->pairs_cap;
    if (s->n_pairs + 1 > cap) {
        size_t c = cap;
        if ((st = grow((void **)&s->pa, &c, s->n_pairs + 1, sizeof *s->pa, err))) return st;
        c = cap;
        if ((st = grow((void **)&s->pb, &c, s->n_pairs + 1, sizeof *s->pb, err))) return st;
        c = cap;
        if ((st = grow((void **)&s->phead, &c, s->n_pairs + 1, sizeof *s->phead, err))) return st;
        c = cap;
        if ((st = grow((void **)&s->pcnt, &c, s->n_pairs + 1, sizeof *s->pcnt, err))) return st;
        s->pairs_cap = c;
    }
    uint32_t p = (uint32_t)s->n_pairs++;
    s->pa[p] = a;
    s->pb[p] = b;
    s->phead[p] = NIL;
    s->pcnt[p] = 0;
    s->map_keys[i] = key;
    s->map_vals[i] = p;
    if ((st = grow((void **)&s->fresh, &s->fresh_cap, s->n_fresh + 1, sizeof *s->fresh, err))) return st;
    s->fresh[s->n_fresh++] = p;
    if (s->n_pairs * 2 > s->map_mask && (st = map_grow(s, err))) return st;
    *out = p;
    return TP_OK;
}

/* Records that word w holds pair p (once: lists are built word by word). */
static tp_status list_add(state *s, uint32_t p, uint32_t w, tp_err *err) {
    if (s->phead[p] != NIL && s->nodes[s->phead[p]].word == w) return TP_OK;
    if (s->n_nodes >= NIL - 1) return tp_fail(err, TP_ERR_ARG, "too many pair occurrences");
    tp_status st = grow((void **)&s->nodes, &s->nodes_cap, s->n_nodes + 1, sizeof *s->nodes, err);
    if (st) return st;
    s->nodes[s->n_nodes] = (list_node){w, s->phead[p]};
    s->phead[p] = (uint32_t)s->n_nodes++;
    return TP_OK;
}

/* Heap order: higher count first; ties go to the smaller (a, b). */
static inline int better(const heap_entry *x, const heap_entry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static tp_status heap_push(state *s, heap_entry e, tp_err *err) {
    tp_status st = grow((void **)&s->heap, &s->heap_cap, s->heap_n + 1, sizeof *s->heap, err);
    if (st) return st;
    size_t i = s->heap_n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!better(&e, &s->heap[parent])) break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = e;
    return TP_OK;
}

static heap_entry heap_pop(state *s) {
    heap_entry top = s->heap[0], last = s->heap[--s->heap_n];
    size_t i = 0, n = s->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && better(&s->heap[c + 1], &s->heap[c])) c++;
        if (!better(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

static tp_status state_init(state *s, const tp_bpe_trainer *t, tp_err *err) {
    memset(s, 0, sizeof *s);
    s->n_words = t->n_words;
    size_t nw = s->n_words ? s->n_words : 1;
    s->sym = tp_malloc((t->keys_len ? t->keys_len : 1) * sizeof *s->sym, err);
    s->wofs = s->sym ? tp_malloc(nw * sizeof *s->wofs, err) : NULL;
    s->wlen = s->wofs ? tp_malloc(nw * sizeof *s->wlen, err) : NULL;
    s->wcnt = s->wlen ? tp_malloc(nw * sizeof *s->wcnt, err) : NULL;
    s->stamp = s->wcnt ? tp_calloc(nw, sizeof *s->stamp, err) : NULL;
    if (!s->stamp) return TP_ERR_NOMEM;
    tp_status st = map_grow(s, err);
    if (st) return st;
    for (size_t w = 0; w < s->n_words; w++) {
        const word *wd = &t->words[w];
        s->wofs[w] = wd->off;
        s->wlen[w] = wd->len;
        s->wcnt[w] = wd->count;
        uint32_t *sy = s->sym + wd->off;
        for (uint32_t i = 0; i < wd->len; i++) sy[i] = t->keys[wd->off + i];
        for (uint32_t i = 0; i + 1 < wd->len; i++) {
            uint32_t p;
            if ((st = pair_get(s, sy[i], sy[i + 1], &p, err)) || (st = list_add(s, p, (uint32_t)w, err))) return st;
            s->pcnt[p] += wd->count;
        }
    }
    for (size_t p = 0; p < s->n_pairs; p++)
        if ((st = heap_push(s, (heap_entry){s->pcnt[p], s->pa[p], s->pb[p], (uint32_t)p}, err))) return st;
    s->n_fresh = 0;
    return TP_OK;
}

/* Replaces every (a, b) in word w by id (left to right), moving the word's pair counts. */
static tp_status merge_word(state *s, uint32_t w, uint32_t a, uint32_t b, uint32_t id, tp_err *err) {
    uint32_t *sy = s->sym + s->wofs[w];
    uint32_t n = s->wlen[w];
    uint32_t i = 0;
    while (i + 1 < n && !(sy[i] == a && sy[i + 1] == b)) i++;
    if (i + 1 >= n) return TP_OK; /* a stale list entry: the pair has left this word */
    int64_t c = s->wcnt[w];
    tp_status st;
    uint32_t p;
    for (uint32_t k = 0; k + 1 < n; k++) {
        if ((st = pair_get(s, sy[k], sy[k + 1], &p, err))) return st;
        s->pcnt[p] -= c;
    }
    uint32_t m = 0;
    for (uint32_t k = 0; k < n;) {
        if (k + 1 < n && sy[k] == a && sy[k + 1] == b) {
            sy[m++] = id;
            k += 2;
        } else {
            sy[m++] = sy[k++];
        }
    }
    s->wlen[w] = m;
    for (uint32_t k = 0; k + 1 < m; k++) {
        if ((st = pair_get(s, sy[k], sy[k + 1], &p, err))) return st;
        s->pcnt[p] += c;
        if ((sy[k] == id || sy[k + 1] == id) && (st = list_add(s, p, w, err))) return st;
    }
    return TP_OK;
}

tp_status tp_bpe_trainer_finish(tp_bpe_trainer *t, int vocab_size, tp_bpe_progress_fn progress, void *ctx,
                                tp_tokenizer **out, tp_err *err) {
    *out = NULL;
    if (t->finished) return tp_fail(err, TP_ERR_ARG, "BPE trainer already finished");
    if (vocab_size < TP_TOKENIZER_MIN_VOCAB || vocab_size > TP_TOKENIZER_MAX_VOCAB)
        return tp_fail(err, TP_ERR_ARG, "vocab size %d is outside [%d, %d]", vocab_size, TP_TOKENIZER_MIN_VOCAB,
                       TP_TOKENIZER_MAX_VOCAB);
    t->finished = 1;
    int n_merges = vocab_size - TP_TOKENIZER_MIN_VOCAB;
    uint32_t *merges = tp_malloc(2 * (size_t)(n_merges ? n_merges : 1) * sizeof *merges, err);
    if (!merges) return TP_ERR_NOMEM;
    state s;
    tp_status st = state_init(&s, t, err);
    int done = 0;
    while (!st && done < n_merges) {
        heap_entry top = {0};
        int found = 0;
        while (s.heap_n) {
            top = heap_pop(&s);
            int64_t now = s.pcnt[top.pair];
            if (now == top.count && now > 0) {
                found = 1;
                break;
            }
            if (now > 0 && (st = heap_push(&s, (heap_entry){now, top.a, top.b, top.pair}, err))) break;
        }
        if (st) break;
        if (!found) {
            st = tp_fail(err, TP_ERR_ARG, "the text allows only %d merges (every chunk is a single token), but vocab"
                         " size %d needs %d; use more text or a smaller vocab", done, vocab_size, n_merges);
            break;
        }
        uint32_t id = 256 + (uint32_t)done, a = top.a, b = top.b;
        merges[2 * done] = a;
        merges[2 * done + 1] = b;
        done++;
        s.n_fresh = 0;
        for (uint32_t nd = s.phead[top.pair]; !st && nd != NIL; nd = s.nodes[nd].next) {
            uint32_t w = s.nodes[nd].word;
            if (s.stamp[w] == (uint32_t)done) continue;
            s.stamp[w] = (uint32_t)done;
            st = merge_word(&s, w, a, b, id, err);
        }
        s.pcnt[top.pair] = 0;
        for (size_t f = 0; !st && f < s.n_fresh; f++) {
            uint32_t p = s.fresh[f];
            if (s.pcnt[p] > 0) st = heap_push(&s, (heap_entry){s.pcnt[p], s.pa[p], s.pb[p], p}, err);
        }
        if (progress && (done % 64 == 0 || done == n_merges)) progress(ctx, done, n_merges);
    }
    state_free(&s);
    if (!st) st = tp_tokenizer_from_merges(merges, n_merges, out, err);
    free(merges);
    return st;
}

tp_status tp_tokenizer_train(const uint8_t *const *texts, const size_t *lens, int n, int vocab_size,
                             tp_tokenizer **out, tp_err *err) {
    *out = NULL;
    tp_bpe_trainer *t;
    tp_status st = tp_bpe_trainer_new(&t, err);
    for (int i = 0; !st && i < n; i++) st = tp_bpe_trainer_add(t, texts[i], lens[i], err);
    if (!st) st = tp_bpe_trainer_finish(t, vocab_size, NULL, NULL, out, err);
    tp_bpe_trainer_free(t);
    return st;
}
