/* Byte-level BPE: pre-tokenisation, the merge table and its file format, encoding and decoding.
 * Training lives in tokenizer_train.c. */
#include "data/tokenizer.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/hash.h"

/* ---------------------------------------------------------------- pre-tokenisation */

enum { C_SPACE = TP_PRETOK_SPACE, C_LETTER = TP_PRETOK_LETTER, C_DIGIT = TP_PRETOK_DIGIT, C_OTHER = TP_PRETOK_OTHER };

static inline int byte_class(uint8_t c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) return C_LETTER;
    if (c >= '0' && c <= '9') return C_DIGIT;
    if (c == ' ' || (c >= '\t' && c <= '\r')) return C_SPACE;
    return C_OTHER;
}

tp_pretok_class tp_pretok_byte_class(uint8_t c) { return (tp_pretok_class)byte_class(c); }

size_t tp_pretok_chunk(const uint8_t *s, size_t len) {
    const size_t max = len < TP_PRETOK_MAX_CHUNK ? len : TP_PRETOK_MAX_CHUNK;
    if (s[0] == '\'' && len >= 2) {
        uint8_t a = s[1];
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if (len >= 3) {
            uint8_t b = s[2];
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
        }
    }
    int k = byte_class(s[0]);
    size_t j = 1;
    if (s[0] == ' ' && len >= 2 && byte_class(s[1]) != C_SPACE) {
        k = byte_class(s[1]); /* a single space joins the word that follows it */
        j = 2;
    }
    while (j < max && byte_class(s[j]) == k) j++;
    /* A whitespace run before a word leaves its last space to that word (GPT-2's \s+(?!\S)). */
    if (k == C_SPACE && j < max && j > 1 && s[j - 1] == ' ') return j - 1;
    return j;
}

size_t tp_pretok_safe_prefix(const uint8_t *s, size_t len) {
    /* A chunk is final once 3 bytes past its end are visible: no rule looks further ahead. */
    size_t pos = 0;
    while (pos < len) {
        size_t c = tp_pretok_chunk(s + pos, len - pos);
        if (pos + c + 3 > len) break;
        pos += c;
    }
    return pos;
}

/* ---------------------------------------------------------------- hashing */


/* ---------------------------------------------------------------- the tokenizer */

struct tp_tokenizer {
    int vocab_size, n_merges;
    uint32_t *merges;     /* 2 * n_merges */
    uint64_t *rank_keys;  /* open addressing: (a << 32 | b) + 1, 0 = empty */
    uint32_t *rank_vals;  /* merge index */
    uint64_t rank_mask;
    uint32_t *tok_off;    /* vocab_size + 1 offsets into tok_bytes */
    uint8_t *tok_bytes;
};

static inline uint64_t pair_key(uint32_t a, uint32_t b) { return ((uint64_t)a << 32 | b) + 1; }

/* Rank of merge (a, b), or UINT32_MAX if there is none. */
static inline uint32_t pair_rank(const tp_tokenizer *t, uint32_t a, uint32_t b) {
    uint64_t key = pair_key(a, b);
    for (uint64_t i = tp_mix64(key) & t->rank_mask;; i = (i + 1) & t->rank_mask) {
        if (t->rank_keys[i] == key) return t->rank_vals[i];
        if (t->rank_keys[i] == 0) return UINT32_MAX;
    }
}

void tp_tokenizer_free(tp_tokenizer *t) {
    if (!t) return;
    free(t->merges);
    free(t->rank_keys);
    free(t->rank_vals);
    free(t->tok_off);
    free(t->tok_bytes);
    free(t);
}

tp_status tp_tokenizer_from_merges(const uint32_t *merges, int n_merges, tp_tokenizer **out, tp_err *err) {
    *out = NULL;
    if (n_merges < 0 || n_merges > TP_TOKENIZER_MAX_VOCAB - TP_TOKENIZER_MIN_VOCAB)
        return tp_fail(err, TP_ERR_FORMAT, "%d merges is outside [0, %d]", n_merges,
                       TP_TOKENIZER_MAX_VOCAB - TP_TOKENIZER_MIN_VOCAB);
    int vocab = n_merges + TP_TOKENIZER_MIN_VOCAB;
    tp_tokenizer *t = tp_calloc(1, sizeof *t, err);
    if (!t) return TP_ERR_NOMEM;
    t->vocab_size = vocab;
    t->n_merges = n_merges;
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n_merges) cap <<= 1;
    t->rank_mask = cap - 1;
    t->merges = tp_malloc(2 * (size_t)n_merges * sizeof *t->merges, err);
    t->rank_keys = t->merges ? tp_calloc(cap, sizeof *t->rank_keys, err) : NULL;
    t->rank_vals = t->rank_keys ? tp_malloc(cap * sizeof *t->rank_vals, err) : NULL;
    t->tok_off = t->rank_vals ? tp_malloc(((size_t)vocab + 1) * sizeof *t->tok_off, err) : NULL;
    if (!t->tok_off) {
        tp_tokenizer_free(t);
        return TP_ERR_NOMEM;
    }
    /* Token lengths first: each merge concatenates two earlier tokens, capped by the chunk length
     * so that a hostile file cannot make lengths grow exponentially. */
    uint64_t total = 256;
    for (int i = 0; i < 256; i++) t->tok_off[i] = (uint32_t)i;
    for (int i = 0; i < n_merges; i++) {
        uint32_t a = merges[2 * i], b = merges[2 * i + 1], id = 256 + (uint32_t)i;
        if (a >= id || b >= id) {
            tp_tokenizer_free(t);
            return tp_fail(err, TP_ERR_FORMAT, "merge %d ([%" PRIu32 ", %" PRIu32 "]) refers to an id >= %" PRIu32
                           " (merges may only use bytes and earlier merges)", i, a, b, id);
        }
        uint64_t la = a < 256 ? 1 : t->tok_off[a + 1] - t->tok_off[a];
        uint64_t lb = b < 256 ? 1 : t->tok_off[b + 1] - t->tok_off[b];
        if (la + lb > TP_PRETOK_MAX_CHUNK) {
            tp_tokenizer_free(t);
            return tp_fail(err, TP_ERR_FORMAT, "merge %d makes a token of %" PRIu64 " bytes, longer than the %d a chunk"
                           " can hold", i, la + lb, TP_PRETOK_MAX_CHUNK);
        }
        t->tok_off[id] = (uint32_t)total;
        total += la + lb;
        t->tok_off[id + 1] = (uint32_t)total; /* provisional end, rewritten by the next token's start */
        uint64_t key = pair_key(a, b);
        uint64_t k = tp_mix64(key) & t->rank_mask;
        while (t->rank_keys[k] && t->rank_keys[k] != key) k = (k + 1) & t->rank_mask;
        if (t->rank_keys[k]) {
            uint32_t first = t->rank_vals[k];
            tp_tokenizer_free(t);
            return tp_fail(err, TP_ERR_FORMAT, "merge %d ([%" PRIu32 ", %" PRIu32 "]) repeats merge %" PRIu32, i, a, b,
                           first);
        }
        t->rank_keys[k] = key;
        t->rank_vals[k] = (uint32_t)i;
        t->merges[2 * i] = a;
        t->merges[2 * i + 1] = b;
    }
    t->tok_off[vocab - 1] = (uint32_t)total; /* EOT: empty */
    t->tok_off[vocab] = (uint32_t)total;
    t->tok_bytes = tp_malloc(total, err);
    if (!t->tok_bytes) {
        tp_tokenizer_free(t);
        return TP_ERR_NOMEM;
    }
    for (int i = 0; i < 256; i++) t->tok_bytes[i] = (uint8_t)i;
    for (int i = 0; i < n_merges; i++) {
        uint32_t a = t->merges[2 * i], b = t->merges[2 * i + 1];
        uint32_t la = t->tok_off[a + 1] - t->tok_off[a];
        uint8_t *dst = t->tok_bytes + t->tok_off[256 + i];
        memcpy(dst, t->tok_bytes + t->tok_off[a], la);
        memcpy(dst + la, t->tok_bytes + t->tok_off[b], t->tok_off[b + 1] - t->tok_off[b]);
    }
    *out = t;
    return TP_OK;
}

int tp_tokenizer_vocab_size(const tp_tokenizer *t) { return t->vocab_size; }
uint32_t tp_tokenizer_eot(const tp_tokenizer *t) { return (uint32_t)t->vocab_size - 1; }
int tp_tokenizer_num_merges(const tp_tokenizer *t) { return t->n_merges; }

void tp_tokenizer_merge(const tp_tokenizer *t, int i, uint32_t *a, uint32_t *b) {
    *a = t->merges[2 * i];
    *b = t->merges[2 * i + 1];
}

const uint8_t *tp_tokenizer_token_bytes(const tp_tokenizer *t, uint32_t id, size_t *len) {
    if (id >= (uint32_t)t->vocab_size) return NULL;
    *len = t->tok_off[id + 1] - t->tok_off[id];
    return t->tok_bytes + t->tok_off[id];
}

/* ---------------------------------------------------------------- file format */

static tp_status get_int(json_t *root, const char *key, json_int_t lo, json_int_t hi, json_int_t *v, tp_err *err) {
    json_t *j = json_object_get(root, key);
    if (!j) return tp_fail(err, TP_ERR_FORMAT, "missing \"%s\"", key);
    if (!json_is_integer(j)) return tp_fail(err, TP_ERR_FORMAT, "\"%s\" must be an integer", key);
    *v = json_integer_value(j);
    if (*v < lo || *v > hi)
        return tp_fail(err, TP_ERR_FORMAT, "\"%s\" is %lld, outside [%lld, %lld]", key, (long long)*v, (long long)lo,
                       (long long)hi);
    return TP_OK;
}

static tp_status parse_json(json_t *root, tp_tokenizer **out, tp_err *err) {
    if (!json_is_object(root)) return tp_fail(err, TP_ERR_FORMAT, "top level must be a JSON object");
    /* Checkpoints carry both files; name the one templar reads rather than its unknown keys. */
    if (!json_object_get(root, "format") && json_is_object(json_object_get(root, "model")))
        return tp_fail(err, TP_ERR_FORMAT, "this is a Hugging Face tokenizer (tokenizers' tokenizer.json), not templar's"
                       " format; templar reads its own file, which a model directory keeps as templar_tokenizer.json");
    static const char *const known[] = {"format", "version", "vocab_size", "eot_token", "merges"};
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        size_t k = 0;
        while (k < sizeof known / sizeof *known && strcmp(key, known[k])) k++;
        if (k == sizeof known / sizeof *known) return tp_fail(err, TP_ERR_FORMAT, "unknown key \"%.100s\"", key);
    }
    json_t *fmt = json_object_get(root, "format");
    if (!fmt) return tp_fail(err, TP_ERR_FORMAT, "missing \"format\"");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), "templar-bpe"))
        return tp_fail(err, TP_ERR_FORMAT, "\"format\" must be \"templar-bpe\"");
    json_int_t version, vocab, eot;
    tp_status st;
    if ((st = get_int(root, "version", 1, 1, &version, err)) ||
        (st = get_int(root, "vocab_size", TP_TOKENIZER_MIN_VOCAB, TP_TOKENIZER_MAX_VOCAB, &vocab, err)) ||
        (st = get_int(root, "eot_token", 0, TP_TOKENIZER_MAX_VOCAB, &eot, err)))
        return st;
    if (eot != vocab - 1)
        return tp_fail(err, TP_ERR_FORMAT, "\"eot_token\" is %lld but must be vocab_size-1 = %lld", (long long)eot,
                       (long long)vocab - 1);
    json_t *merges = json_object_get(root, "merges");
    if (!merges) return tp_fail(err, TP_ERR_FORMAT, "missing \"merges\"");
    if (!json_is_array(merges)) return tp_fail(err, TP_ERR_FORMAT, "\"merges\" must be an array");
    size_t n = json_array_size(merges);
    if (n != (size_t)(vocab - TP_TOKENIZER_MIN_VOCAB))
        return tp_fail(err, TP_ERR_FORMAT, "\"merges\" has %zu entries but vocab_size %lld needs %lld", n,
                       (long long)vocab, (long long)vocab - TP_TOKENIZER_MIN_VOCAB);
    uint32_t *m = tp_malloc(2 * (n ? n : 1) * sizeof *m, err);
    if (!m) return TP_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(merges, i);
        if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_integer(json_array_get(p, 0)) ||
            !json_is_integer(json_array_get(p, 1))) {
            free(m);
            return tp_fail(err, TP_ERR_FORMAT, "merge %zu must be an array of two integers", i);
        }
        for (int k = 0; k < 2; k++) {
            json_int_t v = json_integer_value(json_array_get(p, (size_t)k));
            if (v < 0 || v >= 256 + (json_int_t)i) {
                free(m);
                return tp_fail(err, TP_ERR_FORMAT, "merge %zu refers to id %lld, which is not a byte or an earlier"
                               " merge (must be < %lld)", i, (long long)v, 256 + (long long)i);
            }
            m[2 * i + (size_t)k] = (uint32_t)v;
        }
    }
    st = tp_tokenizer_from_merges(m, (int)n, out, err);
    free(m);
    return st;
}

tp_status tp_tokenizer_load_mem(const uint8_t *buf, size_t len, tp_tokenizer **out, tp_err *err) {
    *out = NULL;
    if (len > TP_TOKENIZER_MAX_FILE)
        return tp_fail(err, TP_ERR_FORMAT, "tokenizer file is %zu bytes, more than the limit of %zu", len,
                       TP_TOKENIZER_MAX_FILE);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return tp_fail(err, TP_ERR_FORMAT, "tokenizer is not valid JSON (line %d, column %d): %s", jerr.line,
                       jerr.column, jerr.text);
    tp_status st = parse_json(root, out, err);
    json_decref(root);
    if (st) tp_wrap(err, "invalid tokenizer");
    return st;
}

tp_status tp_tokenizer_load(const char *path, tp_tokenizer **out, tp_err *err) {
    uint8_t *buf;
    size_t len;
    *out = NULL;
    tp_status st = tp_read_file(path, TP_TOKENIZER_MAX_FILE, &buf, &len, err);
    if (st) return st;
    st = tp_tokenizer_load_mem(buf, len, out, err);
    free(buf);
    if (st) tp_wrap(err, "%s", path);
    return st;
}

tp_status tp_tokenizer_save(const tp_tokenizer *t, const char *path, tp_err *err) {
    /* One merge per line keeps the file diffable; 24 bytes covers "[1048575,1048575],\n". */
    size_t cap = 256 + (size_t)t->n_merges * 24;
    char *buf = tp_malloc(cap, err);
    if (!buf) return TP_ERR_NOMEM;
    size_t n = (size_t)snprintf(buf, cap,
                                "{\"format\":\"templar-bpe\",\"version\":1,\"vocab_size\":%d,\"eot_token\":%d,"
                                "\"merges\":[",
                                t->vocab_size, t->vocab_size - 1);
    for (int i = 0; i < t->n_merges; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s\n[%" PRIu32 ",%" PRIu32 "]", i ? "," : "", t->merges[2 * i],
                              t->merges[2 * i + 1]);
    n += (size_t)snprintf(buf + n, cap - n, "]}\n");
    tp_status st = tp_write_file_atomic(path, buf, n, err);
    free(buf);
    return st;
}

/* ---------------------------------------------------------------- token arrays */

tp_status tp_tokens_reserve(tp_tokens *t, size_t extra, tp_err *err) {
    if (t->cap - t->n >= extra) return TP_OK;
    size_t cap = t->cap ? t->cap : 1024;
    while (cap - t->n < extra) cap *= 2;
    uint32_t *p = realloc(t->ids, cap * sizeof *p);
    if (!p) return tp_fail(err, TP_ERR_NOMEM, "out of memory growing a token array to %zu tokens", cap);
    t->ids = p;
    t->cap = cap;
    return TP_OK;
}

tp_status tp_tokens_push(tp_tokens *t, uint32_t id, tp_err *err) {
    tp_status st = tp_tokens_reserve(t, 1, err);
    if (st) return st;
    t->ids[t->n++] = id;
    return TP_OK;
}

void tp_tokens_free(tp_tokens *t) {
    free(t->ids);
    t->ids = NULL;
    t->n = t->cap = 0;
}

/* ---------------------------------------------------------------- encoding */

/* Cache size: slots (a power of two), half of them usable, with 64 key bytes and 16 ids per slot. */
#define CACHE_SLOTS_MAX (1u << 16)
#define CACHE_SLOTS_MIN (1u << 8)

typedef struct {
    uint64_t hash;
    uint32_t key_off, val_off;
    uint16_t key_len, val_len;
} cache_entry;

struct tp_encoder {
    const tp_tokenizer *tok;
    uint32_t n_slots, key_cap, val_cap;
    uint32_t *slots;       /* entry index + 1, 0 = empty */
    cache_entry *entries;
    uint32_t n_entries;
    uint8_t *keys;
    uint32_t keys_used;
    uint32_t *vals;
    uint32_t vals_used;
    uint32_t sym[TP_PRETOK_MAX_CHUNK], rank[TP_PRETOK_MAX_CHUNK], tmp_sym[TP_PRETOK_MAX_CHUNK],
        tmp_rank[TP_PRETOK_MAX_CHUNK];
};

void tp_encoder_free(tp_encoder *e) {
    if (!e) return;
    free(e->slots);
    free(e->entries);
    free(e->keys);
    free(e->vals);
    free(e);
}

static tp_status encoder_new(const tp_tokenizer *tok, uint32_t n_slots, tp_encoder **out, tp_err *err) {
    *out = NULL;
    tp_encoder *e = tp_calloc(1, sizeof *e, err);
    if (!e) return TP_ERR_NOMEM;
    e->tok = tok;
    e->n_slots = n_slots;
    e->key_cap = n_slots * 64;
    e->val_cap = n_slots * 16;
    e->slots = tp_calloc(n_slots, sizeof *e->slots, err);
    e->entries = e->slots ? tp_malloc(n_slots / 2 * sizeof *e->entries, err) : NULL;
    e->keys = e->entries ? tp_malloc(e->key_cap, err) : NULL;
    e->vals = e->keys ? tp_malloc(e->val_cap * sizeof *e->vals, err) : NULL;
    if (!e->vals) {
        tp_encoder_free(e);
        return TP_ERR_NOMEM;
    }
    *out = e;
    return TP_OK;
}

tp_status tp_encoder_new(const tp_tokenizer *tok, tp_encoder **out, tp_err *err) {
    return encoder_new(tok, CACHE_SLOTS_MAX, out, err);
}

/* BPE on one chunk: repeatedly merge every occurrence (left to right) of the adjacent pair with the
 * lowest merge rank. Ranks of untouched neighbours are carried over, so each round costs hash lookups
 * only around the merged positions. Leaves the result in e->sym, returns its length. */
static size_t bpe_chunk(tp_encoder *e, const uint8_t *s, size_t n) {
    const tp_tokenizer *t = e->tok;
    uint32_t *sym = e->sym, *rank = e->rank;
    for (size_t i = 0; i < n; i++) sym[i] = s[i];
    if (n < 2) return n;
    for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_rank(t, sym[i], sym[i + 1]);
    for (;;) {
        uint32_t best = UINT32_MAX;
        for (size_t i = 0; i + 1 < n; i++)
            if (rank[i] < best) best = rank[i];
        if (best == UINT32_MAX) break;
        uint32_t id = 256 + best;
        /* Compact into tmp; merged positions get a marker rank, so only the pairs around them are
         * looked up again. */
        uint32_t *ns = e->tmp_sym, *nr = e->tmp_rank;
        size_t m = 0, i = 0;
        while (i < n) {
            if (i + 1 < n && rank[i] == best) {
                ns[m] = id;
                nr[m] = UINT32_MAX - 1; /* marker: recompute */
                i += 2;
            } else {
                ns[m] = sym[i];
                nr[m] = i + 1 < n ? rank[i] : UINT32_MAX;
                i++;
            }
            m++;
        }
        for (size_t k = 0; k + 1 < m; k++) {
            if (nr[k] == UINT32_MAX - 1 || nr[k + 1] == UINT32_MAX - 1)
                rank[k] = pair_rank(t, ns[k], ns[k + 1]);
            else
                rank[k] = nr[k];
            sym[k] = ns[k];
        }
        sym[m - 1] = ns[m - 1];
        n = m;
        if (n < 2) break;
    }
    return n;
}

static void cache_clear(tp_encoder *e) {
    memset(e->slots, 0, e->n_slots * sizeof *e->slots);
    e->n_entries = e->keys_used = e->vals_used = 0;
}

tp_status tp_encoder_encode(tp_encoder *e, const uint8_t *s, size_t len, tp_tokens *out, tp_err *err) {
    size_t pos = 0;
    while (pos < len) {
        size_t c = tp_pretok_chunk(s + pos, len - pos);
        const uint8_t *chunk = s + pos;
        pos += c;
        uint64_t h = tp_hash_bytes(chunk, c);
        const uint32_t mask = e->n_slots - 1;
        uint32_t slot = (uint32_t)h & mask;
        const cache_entry *hit = NULL;
        for (; e->slots[slot]; slot = (slot + 1) & mask) {
            const cache_entry *ce = &e->entries[e->slots[slot] - 1];
            if (ce->hash == h && ce->key_len == c && !memcmp(e->keys + ce->key_off, chunk, c)) {
                hit = ce;
                break;
            }
        }
        if (hit) {
            tp_status st = tp_tokens_reserve(out, hit->val_len, err);
            if (st) return st;
            memcpy(out->ids + out->n, e->vals + hit->val_off, hit->val_len * sizeof *out->ids);
            out->n += hit->val_len;
            continue;
        }
        size_t m = bpe_chunk(e, chunk, c);
        tp_status st = tp_tokens_reserve(out, m, err);
        if (st) return st;
        memcpy(out->ids + out->n, e->sym, m * sizeof *out->ids);
        out->n += m;
        /* Remember it; a full cache starts over rather than evicting piecemeal. */
        if (e->n_entries >= e->n_slots / 2 || e->keys_used + c > e->key_cap || e->vals_used + m > e->val_cap) {
            cache_clear(e);
            slot = (uint32_t)h & mask;
        }
        cache_entry *ce = &e->entries[e->n_entries];
        *ce = (cache_entry){h, e->keys_used, e->vals_used, (uint16_t)c, (uint16_t)m};
        memcpy(e->keys + e->keys_used, chunk, c);
        memcpy(e->vals + e->vals_used, e->sym, m * sizeof *e->vals);
        e->keys_used += (uint32_t)c;
        e->vals_used += (uint32_t)m;
        e->slots[slot] = ++e->n_entries;
    }
    return TP_OK;
}

tp_status tp_tokenizer_encode(const tp_tokenizer *tok, const uint8_t *s, size_t len, uint32_t **ids, size_t *n,
                              tp_err *err) {
    *ids = NULL;
    *n = 0;
    /* A cache in proportion to the text: short one-shot calls should not pay for a big one. */
    uint32_t n_slots = CACHE_SLOTS_MIN;
    while (n_slots < CACHE_SLOTS_MAX && n_slots < len / 4) n_slots *= 2;
    tp_encoder *e;
    tp_status st = encoder_new(tok, n_slots, &e, err);
    if (st) return st;
    tp_tokens t = {0};
    st = tp_tokens_reserve(&t, len / 3 + 16, err);
    if (!st) st = tp_encoder_encode(e, s, len, &t, err);
    tp_encoder_free(e);
    if (st) {
        tp_tokens_free(&t);
        return st;
    }
    *ids = t.ids;
    *n = t.n;
    return TP_OK;
}

tp_status tp_tokenizer_decode(const tp_tokenizer *t, const uint32_t *ids, size_t n, uint8_t **out, size_t *len,
                              tp_err *err) {
    *out = NULL;
    *len = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= (uint32_t)t->vocab_size)
            return tp_fail(err, TP_ERR_ARG, "token %" PRIu32 " at position %zu is out of range (vocab_size %d)", ids[i],
                           i, t->vocab_size);
        total += t->tok_off[ids[i] + 1] - t->tok_off[ids[i]];
    }
    uint8_t *buf = tp_malloc(total + 1, err);
    if (!buf) return TP_ERR_NOMEM;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = t->tok_off[ids[i] + 1] - t->tok_off[ids[i]];
        memcpy(buf + at, t->tok_bytes + t->tok_off[ids[i]], l);
        at += l;
    }
    buf[at] = 0;
    *out = buf;
    *len = at;
    return TP_OK;
}
