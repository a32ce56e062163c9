#include "codec/wire.h"

#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/indexcode.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/json.h"
#include "model/layout.h"

int tp_run_version_ok(const char *s) {
    size_t n = strlen(s);
    if (n < 1 || n > TP_WIRE_RUN_VERSION_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* ---- model config ---- */

tp_status tp_model_canonical(const tp_model_config *m, char *out, size_t n, tp_err *err) {
    int w = snprintf(out, n, "dim=%d;layers=%d;heads=%d;kv_heads=%d;ffn=%d;vocab=%d;seq=%d;rope_theta=%.9g;"
                             "norm_eps=%.9g;tie=%d",
                     m->dim, m->n_layers, m->n_heads, m->n_kv_heads, m->ffn_dim, m->vocab_size, m->seq_len,
                     (double)m->rope_theta, (double)m->norm_eps, m->tie_embeddings ? 1 : 0);
    if (w < 0 || (size_t)w >= n) return tp_fail(err, TP_ERR_ARG, "model config text does not fit %zu bytes", n);
    return TP_OK;
}

tp_status tp_model_digest(const tp_model_config *m, uint8_t out[32], tp_err *err) {
    char s[512];
    tp_status st = tp_model_canonical(m, s, sizeof s, err);
    if (st) return st;
    crypto_generichash(out, 32, (const unsigned char *)s, strlen(s), NULL, 0);
    return TP_OK;
}

/* Reads "key=" then a value up to ';' or the end into val; advances *s. */
static int field(const char **s, const char *key, char *val, size_t n) {
    size_t kl = strlen(key);
    if (strncmp(*s, key, kl) || (*s)[kl] != '=') return -1;
    const char *v = *s + kl + 1, *end = strchr(v, ';');
    size_t len = end ? (size_t)(end - v) : strlen(v);
    if (len < 1 || len >= n) return -1;
    memcpy(val, v, len);
    val[len] = 0;
    *s = end ? end + 1 : v + len;
    return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out) {
    if (strlen(v) > 9) return -1;
    for (const char *c = v; *c; c++)
        if (*c < '0' || *c > '9') return -1;
    long x = strtol(v, NULL, 10);
    if (x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

tp_status tp_model_parse_canonical(const char *s, tp_model_config *m, tp_err *err) {
    static const char *keys[] = {"dim", "layers", "heads", "kv_heads", "ffn", "vocab", "seq", "rope_theta",
                                 "norm_eps", "tie"};
    memset(m, 0, sizeof *m);
    int *ints[] = {&m->dim, &m->n_layers, &m->n_heads, &m->n_kv_heads, &m->ffn_dim, &m->vocab_size, &m->seq_len};
    static const int hi[] = {1 << 20, 1 << 12, 1 << 16, 1 << 16, 1 << 22, 1 << 24, 1 << 24};
    const char *p = s;
    char v[64];
    for (int i = 0; i < 10; i++) {
        if (field(&p, keys[i], v, sizeof v)) return tp_fail(err, TP_ERR_FORMAT, "model config: field '%s' missing or malformed", keys[i]);
        if (i < 7) {
            if (parse_int(v, 1, hi[i], ints[i]))
                return tp_fail(err, TP_ERR_FORMAT, "model config: '%s' is not an integer in [1, %d]", keys[i], hi[i]);
        } else if (i < 9) {
            char *end;
            double d = strtod(v, &end);
            if (*end || !isfinite(d) || d <= 0 || d > 1e30)
                return tp_fail(err, TP_ERR_FORMAT, "model config: '%s' is not a positive number", keys[i]);
            if (i == 7) m->rope_theta = (float)d;
            else m->norm_eps = (float)d;
        } else if (parse_int(v, 0, 1, &m->tie_embeddings)) {
            return tp_fail(err, TP_ERR_FORMAT, "model config: 'tie' is not 0 or 1");
        }
    }
    if (*p) return tp_fail(err, TP_ERR_FORMAT, "model config: unexpected text after the last field");
    if (tp_model_config_validate(m, err)) {
        tp_wrap(err, "model config");
        return err->code = TP_ERR_FORMAT;
    }
    char again[512];
    if (tp_model_canonical(m, again, sizeof again, err) || strcmp(again, s))
        return tp_fail(err, TP_ERR_FORMAT, "model config: not in canonical form");
    return TP_OK;
}

/* ---- sizes ---- */

tp_status tp_wire_max_bytes(const tp_model_config *m, const tp_codec_params *p, size_t *out, tp_err *err) {
    tp_status st = tp_codec_params_check(p, err);
    if (st) return st;
    tp_layout L;
    if ((st = tp_layout_init(m, &L, err))) return st;
    /* Header: metadata is bounded by its fixed keys and value lengths; each tensor entry by its
     * name and three 20-digit integers. */
    uint64_t total = 16 + 4096;
    int bits = tp_codec_code_bits(p->bins);
    for (int i = 0; i < L.n_tensors && !st; i++) {
        tp_block_geom g;
        if ((st = tp_block_geom_init(L.tensors[i].ndim, L.tensors[i].shape, p->target_chunk, &g, err))) break;
        int64_t k = tp_codec_k(p, g.totalk), nnz = g.nblocks * k;
        total += 3 * (strlen(L.tensors[i].name) + 128);
        total += p->index_coding == TP_IDX_RICE ? tp_rice_max_bytes(g.nblocks, k, g.totalk) : tp_pack12_bytes(nnz);
        total += tp_codes_bytes(nnz, bits) + 4 * (2 + (uint64_t)p->bins);
    }
    tp_layout_free(&L);
    if (st) return st;
    if (total > SIZE_MAX / 2) return tp_fail(err, TP_ERR_CONFIG, "payload bound overflows");
    *out = (size_t)total;
    return TP_OK;
}

/* ---- canonical header and signature ---- */

static const char *dtype_name(tp_dtype dt) {
    switch (dt) {
    case TP_DT_U8: return "U8";
    case TP_DT_I32: return "I32";
    case TP_DT_U32: return "U32";
    case TP_DT_I64: return "I64";
    case TP_DT_F32: return "F32";
    case TP_DT_F64: return "F64";
    default: return "?";
    }
}

typedef struct {
    const char *name;
    tp_dtype dtype;
    int ndim;
    const int64_t *shape;
    uint64_t begin, end;
} entry;

/* Canonical header without the signature, then the data hash. meta is not modified. */
static tp_status signed_bytes(const entry *e, int n, json_t *meta, const uint8_t hash[32], uint8_t **msg,
                              size_t *len, tp_err *err) {
    *msg = NULL;
    json_t *root = json_object(), *m = json_deep_copy(meta);
    if (!root || !m) goto nomem;
    json_object_del(m, "signature");
    if (json_object_set_new(root, "__metadata__", m)) {
        m = NULL;
        goto nomem;
    }
    m = NULL;
    for (int i = 0; i < n; i++) {
        json_t *shape = json_array();
        if (!shape) goto nomem;
        for (int d = 0; d < e[i].ndim; d++)
            if (json_array_append_new(shape, json_integer(e[i].shape[d]))) {
                json_decref(shape);
                goto nomem;
            }
        json_t *v = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype_name(e[i].dtype), "shape", shape, "data_offsets",
                              (json_int_t)e[i].begin, (json_int_t)e[i].end);
        if (!v || json_object_set_new(root, e[i].name, v)) goto nomem;
    }
    char *s;
    size_t sl;
    tp_status st = tp_json_dump(root, JSON_COMPACT | JSON_SORT_KEYS, &s, &sl, err);
    json_decref(root);
    if (st) return st;
    uint8_t *buf = tp_malloc(sl + 32, err);
    if (!buf) {
        free(s);
        return TP_ERR_NOMEM;
    }
    memcpy(buf, s, sl);
    memcpy(buf + sl, hash, 32);
    free(s);
    *msg = buf;
    *len = sl + 32;
    return TP_OK;
nomem:
    json_decref(root);
    json_decref(m);
    return tp_fail(err, TP_ERR_NOMEM, "out of memory");
}

tp_status tp_wire_signed_bytes(const tp_st *st, const uint8_t data_hash[32], uint8_t **msg, size_t *len,
                               tp_err *err) {
    entry *e = tp_calloc(st->n ? (size_t)st->n : 1, sizeof *e, err);
    if (!e) return TP_ERR_NOMEM;
    for (int i = 0; i < st->n; i++) {
        const tp_st_tensor *t = &st->tensors[i];
        uint64_t b = (uint64_t)(t->data - st->data);
        e[i] = (entry){t->name, t->dtype, t->ndim, t->shape, b, b + t->nbytes};
    }
    json_t *empty = st->metadata ? NULL : json_object();
    tp_status s = signed_bytes(e, st->n, st->metadata ? st->metadata : empty, data_hash, msg, len, err);
    json_decref(empty);
    free(e);
    return s;
}

tp_status tp_wire_assemble(const tp_wire_tensor *t, int n, const tp_wire_kv *meta, int nmeta,
                           const tp_keypair *signer, uint8_t **out, size_t *len, tp_err *err) {
    *out = NULL;
    *len = 0;
    tp_status st = TP_OK;
    entry *e = tp_calloc(n ? (size_t)n : 1, sizeof *e, err);
    json_t *mj = json_object();
    tp_st_writer *w = tp_st_writer_new(err);
    if (!e || !mj || !w) {
        st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, 32);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        if ((st = tp_st_add(w, t[i].name, t[i].dtype, t[i].ndim, t[i].shape, t[i].data, err))) goto done;
        if (t[i].nbytes) crypto_generichash_update(&hs, t[i].data, t[i].nbytes);
        e[i] = (entry){t[i].name, t[i].dtype, t[i].ndim, t[i].shape, at, at + t[i].nbytes};
        at += t[i].nbytes;
    }
    uint8_t hash[32];
    crypto_generichash_final(&hs, hash, 32);
    char hex[129];
    tp_hex(hash, 32, hex);
    for (int i = 0; i < nmeta; i++) {
        if (!strcmp(meta[i].key, "signature") || !strcmp(meta[i].key, "data_hash")) continue;
        /* tp_st_set_meta checks the text is UTF-8, so a failure of jansson below is memory. */
        if ((st = tp_st_set_meta(w, meta[i].key, meta[i].value, err))) goto done;
        json_t *v = json_string(meta[i].value);
        if (!v || json_object_set_new(mj, meta[i].key, v)) {
            st = tp_fail(err, TP_ERR_NOMEM, "wire: out of memory");
            goto done;
        }
    }
    if (json_object_set_new(mj, "data_hash", json_string(hex)) || (st = tp_st_set_meta(w, "data_hash", hex, err))) {
        if (!st) st = tp_fail(err, TP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (signer) {
        uint8_t *msg, sig[TP_KEY_SIGNATURE_BYTES];
        size_t ml;
        if ((st = signed_bytes(e, n, mj, hash, &msg, &ml, err))) goto done;
        st = tp_keypair_sign(signer, msg, ml, sig, err);
        free(msg);
        if (st) goto done;
        tp_hex(sig, sizeof sig, hex);
        if ((st = tp_st_set_meta(w, "signature", hex, err))) goto done;
    }
    st = tp_st_write_mem(w, out, len, err);
done:
    tp_st_writer_free(w);
    json_decref(mj);
    free(e);
    return st;
}

/* ---- encoder ---- */

tp_status tp_wire_encode(const tp_update *u, const tp_model_config *m, const tp_wire_info *info,
                         const tp_keypair *signer, uint8_t **out, size_t *len, tp_err *err) {
    *out = NULL;
    *len = 0;
    const tp_codec_params *p = &u->params;
    tp_status st = tp_codec_params_check(p, err);
    if (st) return st;
    if (!tp_run_version_ok(info->run_version))
        return tp_fail(err, TP_ERR_ARG, "wire: run version '%.80s' must be 1-63 of [A-Za-z0-9._-]", info->run_version);
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    tp_layout L;
    if ((st = tp_layout_init(m, &L, err))) return st;
    int n = u->n;
    size_t *size = NULL;
    int *rice_r = NULL;
    uint8_t *data = NULL;
    tp_wire_tensor *wt = NULL;
    char (*names)[80] = NULL;
    if (n != L.n_tensors) {
        st = tp_fail(err, TP_ERR_ARG, "wire: message has %d tensors, the model %d", n, L.n_tensors);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        const tp_sparse *s = &u->t[i];
        const tp_tensor_info *ti = &L.tensors[i];
        if (strcmp(s->name, ti->name) || s->geom.ndim != ti->ndim || s->geom.numel != (int64_t)ti->count ||
            (ti->ndim == 2 && s->geom.rows != ti->shape[0])) {
            st = tp_fail(err, TP_ERR_ARG, "wire: message tensor %d ('%s') does not match the model's '%s'", i, s->name,
                         ti->name);
            goto done;
        }
    }
    size = tp_calloc((size_t)n * 3, sizeof *size, err);
    rice_r = tp_calloc((size_t)n + 1, sizeof *rice_r, err);
    wt = tp_calloc((size_t)n * 3 + 1, sizeof *wt, err);
    names = tp_calloc((size_t)n * 3 + 1, sizeof *names, err);
    if (!size || !rice_r || !wt || !names) {
        st = TP_ERR_NOMEM;
        goto done;
    }
    const int bits = tp_codec_code_bits(p->bins);
    int bad = -1;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        const tp_sparse *s = &u->t[i];
        int64_t nnz = s->geom.nblocks * s->k;
        if (p->index_coding == TP_IDX_RICE) rice_r[i] = tp_rice_choose(s->idx, s->geom.nblocks, s->k, &size[3 * i]);
        else size[3 * i] = tp_pack12_bytes(nnz);
        size[3 * i + 1] = tp_codes_bytes(nnz, bits);
        size[3 * i + 2] = sizeof(float) * (2 + (size_t)p->bins);
    }
    size_t total = 0;
    for (int i = 0; i < 3 * n; i++) total += size[i];
    data = tp_malloc(total + 1, err);
    if (!data) {
        st = TP_ERR_NOMEM;
        goto done;
    }
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        static const char *suffix[3] = {"idx", "val", "qp"};
        for (int j = 0; j < 3; j++) {
            tp_wire_tensor *x = &wt[3 * i + j];
            snprintf(names[3 * i + j], sizeof names[0], "%s.%s", u->t[i].name, suffix[j]);
            x->name = names[3 * i + j];
            x->dtype = j == 2 ? TP_DT_F32 : TP_DT_U8;
            x->ndim = 1;
            x->shape[0] = j == 2 ? (int64_t)(2 + p->bins) : (int64_t)size[3 * i + j];
            x->data = data + at;
            x->nbytes = size[3 * i + j];
            at += size[3 * i + j];
        }
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        const tp_sparse *s = &u->t[i];
        int64_t nnz = s->geom.nblocks * s->k;
        uint8_t *idx = (uint8_t *)wt[3 * i].data, *val = (uint8_t *)wt[3 * i + 1].data;
        if (p->index_coding == TP_IDX_RICE) {
            if (tp_rice_encode(s->idx, s->geom.nblocks, s->k, rice_r[i], idx, size[3 * i]) != size[3 * i]) {
#pragma omp critical
                bad = i;
            }
        } else {
            tp_pack12(s->idx, nnz, idx);
        }
        tp_codes_pack(s->codes, nnz, bits, val);
        float qp[2 + TP_CODEC_MAX_BINS];
        qp[0] = s->shift;
        qp[1] = s->scale;
        memcpy(qp + 2, s->lookup, sizeof(float) * (size_t)p->bins);
        memcpy((uint8_t *)wt[3 * i + 2].data, qp, size[3 * i + 2]);
    }
    if (bad >= 0) {
        st = tp_fail(err, TP_ERR_ARG, "wire: positions of '%s' are not strictly increasing inside a block",
                     u->t[bad].name);
        goto done;
    }

    char window[24], uid[16], step[24], chunk[16], topk[16], bins[16], range[32], hot[65], sdig[65], mdig[65];
    char mcfg[512];
    uint8_t digest[32];
    snprintf(window, sizeof window, "%" PRIu64, info->window);
    snprintf(uid, sizeof uid, "%" PRIu32, info->uid);
    snprintf(step, sizeof step, "%" PRIu64, info->global_step);
    snprintf(chunk, sizeof chunk, "%d", p->target_chunk);
    snprintf(topk, sizeof topk, "%d", p->topk);
    snprintf(bins, sizeof bins, "%d", p->bins);
    snprintf(range, sizeof range, "%.9g", (double)p->range);
    tp_hex(signer->pub, 32, hot);
    tp_hex(info->sample_digest, 32, sdig);
    if ((st = tp_model_canonical(m, mcfg, sizeof mcfg, err)) || (st = tp_model_digest(m, digest, err))) goto done;
    tp_hex(digest, 32, mdig);
    char version[8];
    snprintf(version, sizeof version, "%d", TP_WIRE_VERSION);
    const tp_wire_kv meta[] = {
        {"format", TP_WIRE_FORMAT}, {"format_version", version}, {"window", window}, {"uid", uid},
        {"global_step", step}, {"hotkey", hot}, {"key_type", tp_key_type_name(signer->type)}, {"run_version", info->run_version}, {"model_config", mcfg},
        {"model_digest", mdig}, {"chunk", chunk}, {"topk", topk}, {"bins", bins}, {"range", range},
        {"dct", p->use_dct ? "1" : "0"}, {"index_coding", tp_index_coding_name(p->index_coding)},
        {"sample_digest", sdig},
    };
    st = tp_wire_assemble(wt, 3 * n, meta, (int)(sizeof meta / sizeof *meta), signer, out, len, err);
done:
    tp_layout_free(&L);
    free(size);
    free(rice_r);
    free(data);
    free(wt);
    free(names);
    return st;
}
