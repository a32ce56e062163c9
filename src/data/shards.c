#include "data/shards.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fileio.h"
#include "core/npy.h"
#include "data/tokenizer.h"

#define MAX_SHARDS 1000000

typedef struct {
    tp_npy_map map;
    char name[32];
} shard;

struct tp_shards {
    int vocab_size, eot;
    double entropy;
    char digest[65];
    shard *files[2];
    int n_files[2];
    uint64_t n_tokens[2];
};

const char *tp_split_name(tp_split split) { return split == TP_SPLIT_VAL ? "val" : "train"; }

void tp_shards_close(tp_shards *s) {
    if (!s) return;
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < s->n_files[k]; i++) tp_npy_map_close(&s->files[k][i].map);
        free(s->files[k]);
    }
    free(s);
}

static tp_status meta_int(json_t *root, const char *key, int64_t lo, int64_t hi, int64_t *v, tp_err *err) {
    json_t *j = json_object_get(root, key);
    if (!j || !json_is_integer(j)) return tp_fail(err, TP_ERR_FORMAT, "\"%s\" is missing or not an integer", key);
    *v = json_integer_value(j);
    if (*v < lo || *v > hi)
        return tp_fail(err, TP_ERR_FORMAT, "\"%s\" is %" PRId64 ", outside [%" PRId64 ", %" PRId64 "]", key, *v, lo, hi);
    return TP_OK;
}

static tp_status read_meta(tp_shards *s, const char *dir, int64_t tokens[2], int64_t files[2], tp_err *err) {
    char path[4200];
    tp_status st = tp_path_join(path, sizeof path, dir, "meta.json", err);
    if (st) return st;
    if (!tp_path_exists(path))
        return tp_fail(err, TP_ERR_IO, "%s has no meta.json: it is not a data directory, or 'templar prep' did not"
                       " finish (meta.json is written last)", dir);
    uint8_t *buf;
    size_t len;
    if ((st = tp_read_file(path, TP_SHARDS_META_MAX, &buf, &len, err))) return st;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!root) return tp_fail(err, TP_ERR_FORMAT, "%s: invalid JSON (line %d): %s", path, jerr.line, jerr.text);
    int64_t version = 0, vocab = 0, eot = 0;
    json_t *fmt = json_object_get(root, "format"), *ent = json_object_get(root, "unigram_entropy"),
           *dig = json_object_get(root, "tokenizer_blake2b");
    if (!json_is_object(root) || !json_is_string(fmt) || strcmp(json_string_value(fmt), TP_SHARDS_FORMAT))
        st = tp_fail(err, TP_ERR_FORMAT, "\"format\" must be \"%s\"", TP_SHARDS_FORMAT);
    else if (!(st = meta_int(root, "version", TP_SHARDS_VERSION, TP_SHARDS_VERSION, &version, err)) &&
             !(st = meta_int(root, "vocab_size", 257, INT32_MAX, &vocab, err)) &&
             !(st = meta_int(root, "eot_token", 0, INT32_MAX, &eot, err)) &&
             !(st = meta_int(root, "train_tokens", 0, INT64_MAX, &tokens[0], err)) &&
             !(st = meta_int(root, "val_tokens", 0, INT64_MAX, &tokens[1], err)) &&
             !(st = meta_int(root, "train_shards", 0, MAX_SHARDS, &files[0], err)) &&
             !(st = meta_int(root, "val_shards", 0, MAX_SHARDS, &files[1], err))) {
        if (eot != vocab - 1)
            st = tp_fail(err, TP_ERR_FORMAT, "\"eot_token\" %" PRId64 " is not vocab_size-1", eot);
        else if (!json_is_number(ent) || !isfinite(json_number_value(ent)) || json_number_value(ent) < 0)
            st = tp_fail(err, TP_ERR_FORMAT, "\"unigram_entropy\" is missing or not a finite number >= 0");
        else if (!json_is_string(dig) || strlen(json_string_value(dig)) != 64)
            st = tp_fail(err, TP_ERR_FORMAT, "\"tokenizer_blake2b\" is missing or not 64 hex digits");
    }
    if (!st) {
        s->vocab_size = (int)vocab;
        s->eot = (int)eot;
        s->entropy = json_number_value(ent);
        memcpy(s->digest, json_string_value(dig), 65);
    }
    json_decref(root);
    if (st) tp_wrap(err, "%s", path);
    return st;
}

/* Hashes DIR/tokenizer.json (if present) and compares with meta.json. */
static tp_status check_tokenizer(const tp_shards *s, const char *dir, tp_err *err) {
    char path[4200];
    tp_status st = tp_path_join(path, sizeof path, dir, "tokenizer.json", err);
    if (st || !tp_path_exists(path)) return st;
    uint8_t *buf;
    size_t len;
    if ((st = tp_read_file(path, TP_TOKENIZER_MAX_FILE, &buf, &len, err))) return st;
    unsigned char h[32];
    char hex[65];
    if (sodium_init() < 0) {
        free(buf);
        return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    }
    crypto_generichash(h, sizeof h, buf, len, NULL, 0);
    free(buf);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    if (strcmp(hex, s->digest))
        return tp_fail(err, TP_ERR_FORMAT, "%s has BLAKE2b %s but meta.json records %s: the shards were made with a"
                       " different tokenizer", path, hex, s->digest);
    return TP_OK;
}

static tp_status open_split(tp_shards *s, const char *dir, tp_split split, int64_t n_files, int64_t n_tokens,
                            tp_err *err) {
    const char *name = tp_split_name(split);
    s->files[split] = tp_calloc((size_t)(n_files ? n_files : 1), sizeof(shard), err);
    if (!s->files[split]) return TP_ERR_NOMEM;
    char path[4200];
    uint64_t total = 0;
    for (int64_t i = 0; i <= n_files; i++) {
        char file[32];
        snprintf(file, sizeof file, "%s_%06d.npy", name, (int)i);
        tp_status st = tp_path_join(path, sizeof path, dir, file, err);
        if (st) return st;
        if (i == n_files) { /* a leftover from an earlier, larger prep would be silently ignored otherwise */
            if (tp_path_exists(path))
                return tp_fail(err, TP_ERR_FORMAT, "%s exists but meta.json lists only %" PRId64 " %s shards", path,
                               n_files, name);
            break;
        }
        shard *sh = &s->files[split][i];
        snprintf(sh->name, sizeof sh->name, "%s", file);
        if ((st = tp_npy_map_open(path, &sh->map, err))) return st;
        s->n_files[split]++;
        const tp_npy *a = &sh->map.npy;
        if (a->dtype != TP_DT_U32 || a->ndim != 1)
            return tp_fail(err, TP_ERR_FORMAT, "%s must be a 1-D <u4 array, got %s with %d dimensions", path,
                           tp_dtype_npy(a->dtype), a->ndim);
        total += (uint64_t)a->count;
    }
    if (total != (uint64_t)n_tokens)
        return tp_fail(err, TP_ERR_FORMAT, "%s shards in %s hold %" PRIu64 " tokens but meta.json says %" PRId64, name,
                       dir, total, n_tokens);
    s->n_tokens[split] = total;
    return TP_OK;
}

tp_status tp_shards_open(const char *dir, tp_shards **out, tp_err *err) {
    *out = NULL;
    tp_shards *s = tp_calloc(1, sizeof *s, err);
    if (!s) return TP_ERR_NOMEM;
    int64_t tokens[2], files[2];
    tp_status st = read_meta(s, dir, tokens, files, err);
    if (!st) st = check_tokenizer(s, dir, err);
    if (!st) st = open_split(s, dir, TP_SPLIT_TRAIN, files[0], tokens[0], err);
    if (!st) st = open_split(s, dir, TP_SPLIT_VAL, files[1], tokens[1], err);
    if (st) {
        tp_shards_close(s);
        return st;
    }
    *out = s;
    return TP_OK;
}

int tp_shards_vocab_size(const tp_shards *s) { return s->vocab_size; }
int tp_shards_eot(const tp_shards *s) { return s->eot; }
double tp_shards_unigram_entropy(const tp_shards *s) { return s->entropy; }
const char *tp_shards_tokenizer_digest(const tp_shards *s) { return s->digest; }
int tp_shards_num_files(const tp_shards *s, tp_split split) { return s->n_files[split]; }
uint64_t tp_shards_num_tokens(const tp_shards *s, tp_split split) { return s->n_tokens[split]; }

uint64_t tp_shards_num_samples(const tp_shards *s, tp_split split, int seq) {
    if (seq < 1) return 0;
    uint64_t n = 0;
    for (int i = 0; i < s->n_files[split]; i++) n += (uint64_t)s->files[split][i].map.npy.count / (uint64_t)seq;
    return n;
}

/* Finds sample i: its shard and the byte address of its first token. */
static tp_status locate(const tp_shards *s, tp_split split, int seq, uint64_t i, const shard **sh, uint64_t *first,
                        tp_err *err) {
    if (seq < 1) return tp_fail(err, TP_ERR_ARG, "sample length %d must be positive", seq);
    uint64_t left = i;
    for (int k = 0; k < s->n_files[split]; k++) {
        uint64_t ns = (uint64_t)s->files[split][k].map.npy.count / (uint64_t)seq;
        if (left < ns) {
            *sh = &s->files[split][k];
            *first = left * (uint64_t)seq;
            return TP_OK;
        }
        left -= ns;
    }
    return tp_fail(err, TP_ERR_ARG, "%s sample %" PRIu64 " of %d tokens is out of range (%" PRIu64 " samples)",
                   tp_split_name(split), i, seq, tp_shards_num_samples(s, split, seq));
}

tp_status tp_shards_read_sample_u32(const tp_shards *s, tp_split split, int seq, uint64_t i, uint32_t *out,
                                    tp_err *err) {
    const shard *sh = NULL;
    uint64_t first = 0;
    tp_status st = locate(s, split, seq, i, &sh, &first, err);
    if (st) return st;
    const uint8_t *p = sh->map.npy.data + first * 4;
    for (int t = 0; t < seq; t++, p += 4) {
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        if (v >= (uint32_t)s->vocab_size)
            return tp_fail(err, TP_ERR_FORMAT, "%s: token %" PRIu32 " at position %" PRIu64 " is out of range"
                           " (vocab_size %d): the shard is corrupt", sh->name, v, first + (uint64_t)t, s->vocab_size);
        out[t] = v;
    }
    return TP_OK;
}

tp_status tp_shards_read_sample(const tp_shards *s, tp_split split, int seq, uint64_t i, int32_t *out, tp_err *err) {
    /* vocab_size <= INT32_MAX (checked at open), so every valid token fits. */
    return tp_shards_read_sample_u32(s, split, seq, i, (uint32_t *)out, err);
}
