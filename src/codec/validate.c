#include "codec/validate.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/indexcode.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "core/safetensors.h"

static const char *const REASONS[TP_REJ_COUNT] = {
    [TP_REJ_NONE] = "valid",
    [TP_REJ_TOO_LARGE] = "too_large",
    [TP_REJ_MALFORMED] = "malformed",
    [TP_REJ_UNKNOWN_FORMAT] = "unknown_format",
    [TP_REJ_WRONG_WINDOW] = "wrong_window",
    [TP_REJ_WRONG_UID] = "wrong_uid",
    [TP_REJ_WRONG_VERSION] = "wrong_version",
    [TP_REJ_WRONG_MODEL] = "wrong_model",
    [TP_REJ_WRONG_K] = "wrong_k",
    [TP_REJ_WRONG_PARAMS] = "wrong_params",
    [TP_REJ_WRONG_KEY_TYPE] = "wrong_key_type",
    [TP_REJ_BAD_SIGNATURE] = "bad_signature",
    [TP_REJ_BAD_HASH] = "bad_hash",
    [TP_REJ_EXTRA_TENSOR] = "extra_tensor",
    [TP_REJ_MISSING_TENSOR] = "missing_tensor",
    [TP_REJ_BAD_LENGTH] = "bad_length",
    [TP_REJ_BAD_QUANT] = "bad_quant_params",
    [TP_REJ_INDEX_RANGE] = "index_out_of_range",
    [TP_REJ_INDEX_UNSORTED] = "index_unsorted",
    [TP_REJ_INDEX_DUPLICATE] = "index_duplicate",
    [TP_REJ_BAD_CODE] = "bad_code",
    [TP_REJ_NONFINITE] = "nonfinite_value",
    [TP_REJ_INTERNAL] = "internal",
};

const char *tp_reject_name(tp_reject r) { return (unsigned)r < TP_REJ_COUNT ? REASONS[r] : "unknown"; }

/* A verdict: reason plus message. */
typedef struct {
    tp_reject reason;
    char msg[400];
} verdict;

__attribute__((format(printf, 3, 4))) static int reject(verdict *v, tp_reject r, const char *fmt, ...) {
    v->reason = r;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Rejects for reason r because of error e, unless e is the reader's own trouble (out of memory):
 * that is no verdict on the payload. */
static int reject_err(verdict *v, tp_reject r, const tp_err *e) {
    return reject(v, e->code == TP_ERR_NOMEM ? TP_REJ_INTERNAL : r, "%s", e->msg);
}

/* Strict decimal: digits only, no leading zeros, at most 20 digits, fits 64 bits. */
static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    size_t n = strlen(s);
    if (n < 1 || n > 20 || (n > 1 && s[0] == '0')) return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10) return -1;
        x = x * 10 + d;
    }
    if (x > max) return -1;
    *out = x;
    return 0;
}

static const char *const META_KEYS[] = {
    "format", "format_version", "window", "uid", "global_step", "hotkey", "run_version", "model_config",
    "model_digest", "chunk", "topk", "bins", "range", "dct", "index_coding", "sample_digest", "data_hash",
    "signature", "key_type",
};
#define N_META_KEYS (int)(sizeof META_KEYS / sizeof *META_KEYS)

/* Header fields into out; rejects malformed or unknown metadata. */
static int parse_header(const tp_st *st, tp_payload *out, uint8_t sig[64], verdict *v) {
    if (!st->metadata) return reject(v, TP_REJ_MALFORMED, "no __metadata__");
    const char *fmt = tp_st_meta(st, "format"), *ver = tp_st_meta(st, "format_version");
    if (!fmt || !ver) return reject(v, TP_REJ_MALFORMED, "metadata lacks 'format' or 'format_version'");
    if (strcmp(fmt, TP_WIRE_FORMAT))
        return reject(v, TP_REJ_UNKNOWN_FORMAT, "format '%.60s', expected '%s'", fmt, TP_WIRE_FORMAT);
    uint64_t x;
    if (parse_u64(ver, 1000000, &x) || x != TP_WIRE_VERSION)
        return reject(v, TP_REJ_UNKNOWN_FORMAT, "format version '%.20s', expected %d", ver, TP_WIRE_VERSION);
    const char *key;
    json_t *val;
    json_object_foreach(st->metadata, key, val) {
        int known = 0;
        for (int i = 0; i < N_META_KEYS; i++) known |= !strcmp(key, META_KEYS[i]);
        if (!known) return reject(v, TP_REJ_MALFORMED, "unknown metadata key '%.60s'", key);
    }
    const char *m[N_META_KEYS];
    for (int i = 0; i < N_META_KEYS; i++)
        if (!(m[i] = tp_st_meta(st, META_KEYS[i])))
            return reject(v, TP_REJ_MALFORMED, "metadata lacks '%s'", META_KEYS[i]);
    tp_wire_info *info = &out->info;
    if (parse_u64(m[2], UINT64_MAX, &info->window)) return reject(v, TP_REJ_MALFORMED, "bad 'window'");
    if (parse_u64(m[3], UINT32_MAX, &x)) return reject(v, TP_REJ_MALFORMED, "bad 'uid'");
    info->uid = (uint32_t)x;
    if (parse_u64(m[4], UINT64_MAX, &info->global_step)) return reject(v, TP_REJ_MALFORMED, "bad 'global_step'");
    if (tp_unhex(m[5], out->hotkey, 32)) return reject(v, TP_REJ_MALFORMED, "'hotkey' is not 64 hex digits");
    if (!tp_run_version_ok(m[6])) return reject(v, TP_REJ_MALFORMED, "bad 'run_version'");
    snprintf(info->run_version, sizeof info->run_version, "%s", m[6]);
    tp_err e = {0};
    if (tp_model_parse_canonical(m[7], &out->model, &e)) return reject_err(v, TP_REJ_MALFORMED, &e);
    if (tp_unhex(m[8], out->model_digest, 32)) return reject(v, TP_REJ_MALFORMED, "'model_digest' is not 64 hex digits");
    uint8_t d[32];
    if (tp_model_digest(&out->model, d, &e) || memcmp(d, out->model_digest, 32))
        return reject(v, TP_REJ_MALFORMED, "'model_digest' is not the digest of 'model_config'");
    tp_codec_params *p = &out->params;
    tp_codec_params_default(p);
    uint64_t c, k, b;
    if (parse_u64(m[9], TP_CHUNK_MAX, &c) || parse_u64(m[10], 1u << 16, &k) || parse_u64(m[11], 16, &b))
        return reject(v, TP_REJ_MALFORMED, "bad 'chunk', 'topk' or 'bins'");
    p->target_chunk = (int)c;
    p->topk = (int)k;
    p->bins = (int)b;
    char *end;
    double r = strtod(m[12], &end);
    char again[32];
    snprintf(again, sizeof again, "%.9g", (double)(float)r);
    if (*end || strcmp(again, m[12])) return reject(v, TP_REJ_MALFORMED, "bad 'range'");
    p->range = (float)r;
    if (strcmp(m[13], "0") && strcmp(m[13], "1")) return reject(v, TP_REJ_MALFORMED, "bad 'dct'");
    p->use_dct = m[13][0] == '1';
    if (tp_index_coding_parse(m[14], &p->index_coding)) return reject(v, TP_REJ_MALFORMED, "unknown 'index_coding'");
    if (tp_codec_params_check(p, &e)) return reject_err(v, TP_REJ_MALFORMED, &e);
    if (tp_unhex(m[15], info->sample_digest, 32)) return reject(v, TP_REJ_MALFORMED, "'sample_digest' is not 64 hex digits");
    if (tp_unhex(m[16], out->data_hash, 32)) return reject(v, TP_REJ_MALFORMED, "'data_hash' is not 64 hex digits");
    if (tp_unhex(m[17], sig, 64)) return reject(v, TP_REJ_MALFORMED, "'signature' is not 128 hex digits");
    if (tp_key_type_parse(m[18], &out->key_type, &e)) return reject_err(v, TP_REJ_MALFORMED, &e);
    out->have_header = 1;
    return 0;
}

static int check_expectations(const tp_payload *out, const tp_payload_expect *exp, verdict *v) {
    const tp_wire_info *info = &out->info;
    if (exp->check_window && info->window != exp->window)
        return reject(v, TP_REJ_WRONG_WINDOW, "window %" PRIu64 ", expected %" PRIu64, info->window, exp->window);
    if (exp->check_uid && info->uid != exp->uid)
        return reject(v, TP_REJ_WRONG_UID, "uid %" PRIu32 ", expected %" PRIu32, info->uid, exp->uid);
    if (exp->run_version && strcmp(info->run_version, exp->run_version))
        return reject(v, TP_REJ_WRONG_VERSION, "run version '%s', expected '%.64s'", info->run_version,
                      exp->run_version);
    if (exp->model) {
        uint8_t d[32];
        tp_err e;
        if (tp_model_digest(exp->model, d, &e) || memcmp(d, out->model_digest, 32)) {
            char text[512] = "?";
            tp_model_canonical(&out->model, text, sizeof text, &e);
            return reject(v, TP_REJ_WRONG_MODEL, "model config '%.300s' is not the expected one", text);
        }
    }
    if (exp->params) {
        const tp_codec_params *a = &out->params, *b = exp->params;
        if (a->topk != b->topk) return reject(v, TP_REJ_WRONG_K, "topk %d, expected %d", a->topk, b->topk);
        if (a->target_chunk != b->target_chunk || a->bins != b->bins || a->range != b->range ||
            a->use_dct != b->use_dct || a->index_coding != b->index_coding)
            return reject(v, TP_REJ_WRONG_PARAMS,
                          "codec chunk %d bins %d range %g dct %d coding %s, expected %d, %d, %g, %d, %s",
                          a->target_chunk, a->bins, (double)a->range, a->use_dct, tp_index_coding_name(a->index_coding),
                          b->target_chunk, b->bins, (double)b->range, b->use_dct, tp_index_coding_name(b->index_coding));
    }
    if (exp->check_key_type && exp->key_type != out->key_type)
        return reject(v, TP_REJ_WRONG_KEY_TYPE, "signed with an %s key, but uid %" PRIu32 " registered an %s hotkey",
                      tp_key_type_name(out->key_type), info->uid, tp_key_type_name(exp->key_type));
    if (exp->pubkey && memcmp(exp->pubkey, out->hotkey, 32)) {
        char got[65], want[65];
        tp_hex(out->hotkey, 32, got);
        tp_hex(exp->pubkey, 32, want);
        return reject(v, TP_REJ_BAD_SIGNATURE, "signed by hotkey %s, expected %s", got, want);
    }
    return 0;
}

/* Per-tensor structure: names, dtypes, shapes, byte lengths. tens[i][j] gets the .idx/.val/.qp of
 * layout tensor i. */
static int match_tensors(const tp_st *st, const tp_payload *out, const tp_st_tensor *(*tens)[3], verdict *v) {
    static const char *suffix[3] = {"idx", "val", "qp"};
    const tp_layout *L = &out->layout;
    for (int s = 0; s < st->n; s++) {
        const char *name = st->tensors[s].name, *dot = strrchr(name, '.');
        int j = -1, i = -1;
        if (dot)
            for (int q = 0; q < 3; q++)
                if (!strcmp(dot + 1, suffix[q])) j = q;
        if (j >= 0) {
            size_t bl = (size_t)(dot - name);
            for (int t = 0; t < L->n_tensors && i < 0; t++)
                if (strlen(L->tensors[t].name) == bl && !memcmp(L->tensors[t].name, name, bl)) i = t;
        }
        if (i < 0) return reject(v, TP_REJ_EXTRA_TENSOR, "unexpected tensor '%.120s'", name);
        if (tens[i][j]) return reject(v, TP_REJ_MALFORMED, "tensor '%.120s' appears twice", name);
        tens[i][j] = &st->tensors[s];
    }
    for (int i = 0; i < L->n_tensors; i++)
        for (int j = 0; j < 3; j++)
            if (!tens[i][j])
                return reject(v, TP_REJ_MISSING_TENSOR, "tensor '%s.%s' is missing", L->tensors[i].name, suffix[j]);
    return 0;
}

static int check_shape(const tp_st_tensor *t, tp_dtype dt, size_t count_lo, size_t count_hi, verdict *v) {
    if (t->dtype != dt || t->ndim != 1 || (size_t)t->count < count_lo || (size_t)t->count > count_hi) {
        if (count_lo == count_hi)
            return reject(v, TP_REJ_BAD_LENGTH, "tensor '%.120s' must be %s[%zu]", t->name, dt == TP_DT_U8 ? "U8" : "F32",
                          count_lo);
        return reject(v, TP_REJ_BAD_LENGTH, "tensor '%.120s' must be U8 with %zu to %zu bytes", t->name, count_lo,
                      count_hi);
    }
    return 0;
}

/* Decodes and checks one tensor into s. */
static int decode_tensor(const tp_st_tensor *const *tx, const tp_codec_params *p, tp_sparse *s,
                         tp_payload_tensor *stat, verdict *v) {
    const tp_block_geom *g = &s->geom;
    const int64_t k = s->k, nnz = g->nblocks * k;
    const int bits = tp_codec_code_bits(p->bins);
    const tp_st_tensor *ti = tx[0], *tv = tx[1], *tq = tx[2];
    size_t ilo = 1, ihi = tp_rice_max_bytes(g->nblocks, k, g->totalk);
    if (p->index_coding == TP_IDX_12BIT) ilo = ihi = tp_pack12_bytes(nnz);
    if (check_shape(ti, TP_DT_U8, ilo, ihi, v) || check_shape(tv, TP_DT_U8, tp_codes_bytes(nnz, bits),
                                                               tp_codes_bytes(nnz, bits), v) ||
        check_shape(tq, TP_DT_F32, 2 + (size_t)p->bins, 2 + (size_t)p->bins, v))
        return -1;
    stat->idx_bytes = ti->nbytes;
    stat->val_bytes = tv->nbytes;
    stat->qp_bytes = tq->nbytes;
    float qp[2 + TP_CODEC_MAX_BINS];
    memcpy(qp, tq->data, tq->nbytes);
    for (int b = 0; b < 2 + p->bins; b++)
        if (!isfinite(qp[b]))
            return reject(v, TP_REJ_BAD_QUANT, "'%s': quant param %d is not finite", s->name, b);
    if (!(fabsf(qp[1]) >= 1e-12f && fabsf(qp[1]) <= 1e4f))
        return reject(v, TP_REJ_BAD_QUANT, "'%s': |scale| %g is outside [1e-12, 1e4]", s->name, (double)qp[1]);
    s->shift = qp[0];
    s->scale = qp[1];
    memset(s->lookup, 0, sizeof s->lookup);
    memcpy(s->lookup, qp + 2, sizeof(float) * (size_t)p->bins);

    if (p->index_coding == TP_IDX_RICE) {
        stat->rice_r = ti->data[0];
        tp_rice_result r = tp_rice_decode(ti->data, ti->nbytes, g->nblocks, k, g->totalk, s->idx);
        switch (r.status) {
        case TP_RICE_OK: break;
        case TP_RICE_BAD_PARAM:
            return reject(v, TP_REJ_MALFORMED, "'%s': Rice parameter %" PRIu64 " is above %d", s->name, r.value,
                          TP_RICE_MAX_R);
        case TP_RICE_SHORT:
            return reject(v, TP_REJ_WRONG_K, "'%s': index stream ends at position %" PRId64 " of block %" PRId64
                          ", before k = %" PRId64, s->name, r.entry, r.block, k);
        case TP_RICE_RANGE:
            return reject(v, TP_REJ_INDEX_RANGE, "'%s': block %" PRId64 " has position %" PRIu64 " >= %" PRId64,
                          s->name, r.block, r.value, g->totalk);
        case TP_RICE_TRAILING:
            return reject(v, TP_REJ_WRONG_K, "'%s': index stream goes on after k = %" PRId64 " positions per block",
                          s->name, k);
        }
    } else {
        stat->rice_r = -1;
        if (tp_unpack12(ti->data, ti->nbytes, nnz, s->idx))
            return reject(v, TP_REJ_MALFORMED, "'%s': non-zero padding in the 12-bit index stream", s->name);
        for (int64_t b = 0; b < g->nblocks; b++) {
            const uint16_t *x = s->idx + b * k;
            for (int64_t j = 0; j < k; j++) {
                if (x[j] >= g->totalk)
                    return reject(v, TP_REJ_INDEX_RANGE, "'%s': block %" PRId64 " has position %u >= %" PRId64,
                                  s->name, b, x[j], g->totalk);
                if (j && x[j] == x[j - 1])
                    return reject(v, TP_REJ_INDEX_DUPLICATE, "'%s': block %" PRId64 " repeats position %u", s->name,
                                  b, x[j]);
                if (j && x[j] < x[j - 1])
                    return reject(v, TP_REJ_INDEX_UNSORTED, "'%s': block %" PRId64 " has position %u after %u",
                                  s->name, b, x[j], x[j - 1]);
            }
        }
    }
    int64_t at = 0;
    int rc = tp_codes_unpack(tv->data, nnz, bits, p->bins, s->codes, &at);
    if (rc == -1) return reject(v, TP_REJ_BAD_CODE, "'%s': code %u at entry %" PRId64 " is not below %d bins",
                                s->name, s->codes[at], at, p->bins);
    if (rc) return reject(v, TP_REJ_BAD_CODE, "'%s': padding bits after the last code are set", s->name);
    float deq[TP_CODEC_MAX_BINS];
    tp_sparse_dequant_table(s, p->bins, deq);
    for (int b = 0; b < p->bins; b++)
        if (!isfinite(deq[b]))
            return reject(v, TP_REJ_NONFINITE, "'%s': dequantised value of code %d is not finite", s->name, b);
    return 0;
}

void tp_payload_free(tp_payload *p) {
    if (!p) return;
    tp_layout_free(&p->layout);
    tp_update_free(&p->update);
    free(p->stats);
    memset(p, 0, sizeof *p);
}

static tp_status finish(tp_payload *out, const verdict *v, tp_err *err) {
    out->reason = v->reason;
    if (v->reason == TP_REJ_INTERNAL) return tp_fail(err, TP_ERR_NOMEM, "validating: %s", v->msg);
    return tp_fail(err, TP_ERR_FORMAT, "%s: %s", tp_reject_name(v->reason), v->msg);
}

tp_status tp_payload_read(const uint8_t *buf, size_t len, const tp_payload_expect *exp, tp_payload *out,
                          tp_err *err) {
    memset(out, 0, sizeof *out);
    out->total_bytes = len;
    static const tp_payload_expect none = {0};
    if (!exp) exp = &none;
    verdict v = {0};
    tp_err e = {0};
    tp_st st = {0};
    const tp_st_tensor *(*tens)[3] = NULL;
    verdict *tv = NULL;
    tp_status rc = TP_OK;

    size_t max = exp->max_bytes;
    if (!max && exp->model && exp->params && tp_wire_max_bytes(exp->model, exp->params, &max, &e)) {
        reject(&v, TP_REJ_INTERNAL, "%s", e.msg);
        goto out;
    }
    if (max && len > max) {
        reject(&v, TP_REJ_TOO_LARGE, "%zu bytes, more than the %zu this model and codec allow", len, max);
        goto out;
    }
    int max_tensors = 1 << 16;
    if (exp->model) max_tensors = 3 * (3 + 9 * exp->model->n_layers) + 8;
    if (tp_st_parse(buf, len, max_tensors, &st, &e)) {
        reject_err(&v, TP_REJ_MALFORMED, &e);
        goto out;
    }
    out->header_bytes = len - st.data_len;
    uint8_t sig[64];
    if (parse_header(&st, out, sig, &v) || check_expectations(out, exp, &v)) goto out;
    if (!exp->max_bytes && !(exp->model && exp->params)) {
        /* Inspecting without expectations: the payload's own config bounds it. */
        if (tp_wire_max_bytes(&out->model, &out->params, &max, &e)) {
            reject_err(&v, TP_REJ_MALFORMED, &e);
            goto out;
        }
        if (len > max) {
            reject(&v, TP_REJ_TOO_LARGE, "%zu bytes, more than the %zu its model and codec allow", len, max);
            goto out;
        }
    }
    if (sodium_init() < 0) {
        reject(&v, TP_REJ_INTERNAL, "libsodium failed to initialise");
        goto out;
    }
    uint8_t h[32];
    crypto_generichash(h, 32, st.data, st.data_len, NULL, 0);
    if (memcmp(h, out->data_hash, 32)) {
        reject(&v, TP_REJ_BAD_HASH, "data_hash does not match the data");
        goto out;
    }
    uint8_t *msg;
    size_t ml;
    if (tp_wire_signed_bytes(&st, out->data_hash, &msg, &ml, &e)) {
        reject(&v, TP_REJ_INTERNAL, "%s", e.msg);
        goto out;
    }
    int bad_sig = tp_key_verify(out->key_type, out->hotkey, msg, ml, sig);
    free(msg);
    if (bad_sig) {
        reject(&v, TP_REJ_BAD_SIGNATURE, "the %s signature does not verify with the hotkey",
               tp_key_type_name(out->key_type));
        goto out;
    }

    if (tp_layout_init(&out->model, &out->layout, &e)) {
        reject(&v, TP_REJ_INTERNAL, "%s", e.msg);
        goto out;
    }
    int n = out->layout.n_tensors;
    if (!(tens = tp_calloc((size_t)n, sizeof *tens, &e)) || !(tv = tp_calloc((size_t)n, sizeof *tv, &e)) ||
        !(out->stats = tp_calloc((size_t)n, sizeof *out->stats, &e))) {
        reject(&v, TP_REJ_INTERNAL, "%s", e.msg);
        goto out;
    }
    if (match_tensors(&st, out, tens, &v)) goto out;
    if (tp_update_init_layout(&out->update, &out->layout, &out->params, &e)) {
        reject_err(&v, TP_REJ_MALFORMED, &e);
        goto out;
    }
    /* Tensors decode in parallel; the verdict is that of the first bad tensor in layout order, so
     * it does not depend on scheduling. */
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) decode_tensor(tens[i], &out->params, &out->update.t[i], &out->stats[i], &tv[i]);
    for (int i = 0; i < n; i++)
        if (tv[i].reason) {
            v = tv[i];
            break;
        }
out:
    tp_st_free(&st);
    free(tens);
    free(tv);
    if (v.reason) {
        tp_layout_free(&out->layout);
        tp_update_free(&out->update);
        free(out->stats);
        out->stats = NULL;
        rc = finish(out, &v, err);
    } else {
        out->valid = 1;
        out->reason = TP_REJ_NONE;
    }
    return rc;
}

void tp_payload_read_many(const uint8_t *const *bufs, const size_t *lens, const tp_payload_expect *exps, int n,
                          tp_payload *outs, tp_status *st, tp_err *errs) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++) {
        tp_err e;
        st[i] = tp_payload_read(bufs[i], lens[i], &exps[i], &outs[i], errs ? &errs[i] : &e);
    }
}

tp_status tp_payload_load(const char *path, const tp_payload_expect *exp, tp_payload *out, tp_err *err) {
    memset(out, 0, sizeof *out);
    size_t max = exp ? exp->max_bytes : 0;
    tp_err e = {0};
    if (!max && exp && exp->model && exp->params && tp_wire_max_bytes(exp->model, exp->params, &max, err))
        return err->code;
    if (!max) max = (size_t)1 << 34;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > max) {
        out->reason = TP_REJ_TOO_LARGE;
        out->total_bytes = (size_t)sb.st_size;
        return tp_fail(err, TP_ERR_FORMAT, "%s: %lld bytes, more than the %zu this model and codec allow",
                       tp_reject_name(TP_REJ_TOO_LARGE), (long long)sb.st_size, max);
    }
    uint8_t *buf;
    size_t len;
    tp_status st = tp_read_file(path, max, &buf, &len, &e);
    if (st == TP_ERR_FORMAT) { /* grew past the limit between stat and read */
        out->reason = TP_REJ_TOO_LARGE;
        return tp_fail(err, TP_ERR_FORMAT, "%s: %s", tp_reject_name(TP_REJ_TOO_LARGE), e.msg);
    }
    if (st) {
        *err = e;
        return st;
    }
    st = tp_payload_read(buf, len, exp, out, err);
    free(buf);
    return st;
}
