/* debug-W fingerprints: hash and samples from parameters, and their JSON form. */
#include "neuron/fingerprint.h"

#include <float.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/hex.h"
#include "core/json.h"

size_t tp_fp_sample_pos(size_t count, int j) { return j == 0 ? count / 3 : 2 * count / 3; }

void tp_fingerprint_free(tp_fingerprint *fp) {
    if (!fp) return;
    free(fp->samples);
    memset(fp, 0, sizeof *fp);
}

static tp_status fp_alloc(tp_fingerprint *fp, int n, tp_err *err) {
    memset(fp, 0, sizeof *fp);
    if (!(fp->samples = tp_calloc((size_t)(n > 0 ? n : 1) * TP_FP_SAMPLES, sizeof *fp->samples, err)))
        return err->code;
    fp->n = n;
    return TP_OK;
}

/* Feeds floats as little-endian bytes; on a big-endian host they go through a small swap buffer. */
static void hash_floats(crypto_generichash_state *hs, const float *x, size_t n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    crypto_generichash_update(hs, (const unsigned char *)x, n * sizeof *x);
#else
    unsigned char buf[4096];
    while (n > 0) {
        size_t m = n < sizeof buf / 4 ? n : sizeof buf / 4;
        for (size_t i = 0; i < m; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            for (int b = 0; b < 4; b++) buf[4 * i + b] = (unsigned char)(u >> (8 * b));
        }
        crypto_generichash_update(hs, buf, m * 4);
        x += m;
        n -= m;
    }
#endif
}

tp_status tp_fingerprint_compute(const tp_layout *L, const float *params, uint64_t window, uint32_t uid,
                                 tp_fingerprint *out, tp_err *err) {
    tp_status st = fp_alloc(out, L->n_tensors, err);
    if (st) return st;
    if (sodium_init() < 0) {
        tp_fingerprint_free(out);
        return tp_fail(err, TP_ERR_INTERNAL, "fingerprint: libsodium failed to initialise");
    }
    out->window = window;
    out->uid = uid;
    crypto_generichash_state hs;
    crypto_generichash_init(&hs, NULL, 0, TP_FP_HASH_BYTES);
    for (int t = 0; t < L->n_tensors; t++) {
        const tp_tensor_info *ti = &L->tensors[t];
        if (ti->count == 0 || ti->offset + ti->count > L->total) {
            tp_fingerprint_free(out);
            return tp_fail(err, TP_ERR_ARG, "fingerprint: tensor '%s' outside the parameters", ti->name);
        }
        hash_floats(&hs, params + ti->offset, ti->count);
        for (int j = 0; j < TP_FP_SAMPLES; j++)
            out->samples[t * TP_FP_SAMPLES + j] = params[ti->offset + tp_fp_sample_pos(ti->count, j)];
    }
    crypto_generichash_final(&hs, out->hash, TP_FP_HASH_BYTES);
    return TP_OK;
}

size_t tp_fingerprint_max_json(const tp_layout *L) {
    /* Envelope and hash, then per tensor its quoted name and two numbers of at most ~25 characters,
     * with generous room for whitespace from other writers. */
    return 512 + (size_t)L->n_tensors * (2 * sizeof L->tensors[0].name + 2 * 64 + 32);
}

tp_status tp_fingerprint_to_json(const tp_fingerprint *fp, const tp_layout *L, char **out, tp_err *err) {
    *out = NULL;
    if (fp->n != L->n_tensors) return tp_fail(err, TP_ERR_ARG, "fingerprint: %d samples for %d tensors", fp->n, L->n_tensors);
    if (fp->window > (uint64_t)INT64_MAX) return tp_fail(err, TP_ERR_ARG, "fingerprint: window out of range");
    for (int i = 0; i < fp->n * TP_FP_SAMPLES; i++)
        if (!isfinite(fp->samples[i]))
            return tp_fail(err, TP_ERR_NUMERIC, "fingerprint: non-finite sample in '%s'", L->tensors[i / TP_FP_SAMPLES].name);
    char hex[2 * TP_FP_HASH_BYTES + 1];
    tp_hex(fp->hash, TP_FP_HASH_BYTES, hex);
    json_t *samples = json_object();
    json_t *root = json_pack("{s:I, s:I, s:s, s:o, s:I, s:I}", "window", (json_int_t)fp->window, "uid",
                             (json_int_t)fp->uid, "hash", hex, "samples", samples, "gathered",
                             (json_int_t)fp->gathered, "gather_of", (json_int_t)fp->gather_of);
    if (!root) return tp_fail(err, TP_ERR_NOMEM, "fingerprint: out of memory");
    int bad = 0;
    for (int t = 0; t < fp->n && !bad; t++)
        bad = json_object_set_new(samples, L->tensors[t].name,
                                  json_pack("[f, f]", (double)fp->samples[t * 2], (double)fp->samples[t * 2 + 1]));
    /* Sorted keys so a fingerprint has one byte form; the parser does not depend on the order. */
    *out = NULL;
    tp_status st = bad ? tp_fail(err, TP_ERR_NOMEM, "fingerprint: out of memory")
                       : tp_json_dump(root, JSON_COMPACT | JSON_SORT_KEYS, out, NULL, err);
    json_decref(root);
    return st;
}

static tp_status bad(tp_err *err, const char *what) { return tp_fail(err, TP_ERR_FORMAT, "fingerprint: %s", what); }

static int get_sample(json_t *v, float *out) {
    if (!json_is_number(v)) return -1;
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > FLT_MAX) return -1;
    *out = (float)d;
    return 0;
}

static tp_status parse_root(json_t *root, const tp_layout *L, tp_fingerprint *out, tp_err *err) {
    if (!json_is_object(root)) return bad(err, "not a JSON object");
    if (json_object_size(root) != 6)
        return bad(err, "expected exactly window, uid, hash, samples, gathered and gather_of");
    json_t *g = json_object_get(root, "gathered"), *go = json_object_get(root, "gather_of");
    if (!json_is_integer(go) || json_integer_value(go) < 0 || json_integer_value(go) > 1024)
        return bad(err, "gather_of is not an integer in [0, 1024]");
    if (!json_is_integer(g) || json_integer_value(g) < 0 || json_integer_value(g) > json_integer_value(go))
        return bad(err, "gathered is not an integer in [0, gather_of]");
    json_t *w = json_object_get(root, "window"), *u = json_object_get(root, "uid");
    json_t *h = json_object_get(root, "hash"), *s = json_object_get(root, "samples");
    if (!json_is_integer(w) || json_integer_value(w) < 0) return bad(err, "window is not a non-negative integer");
    if (!json_is_integer(u) || json_integer_value(u) < 0 || json_integer_value(u) > (json_int_t)UINT32_MAX)
        return bad(err, "uid is not an integer in [0, 2^32)");
    if (!json_is_string(h) || json_string_length(h) != 2 * TP_FP_HASH_BYTES ||
        tp_unhex(json_string_value(h), out->hash, TP_FP_HASH_BYTES) != 0)
        return bad(err, "hash is not 64 lower-case hex digits");
    if (!json_is_object(s)) return bad(err, "samples is not an object");
    if (json_object_size(s) != (size_t)L->n_tensors) return bad(err, "samples does not list every tensor exactly once");
    for (int t = 0; t < L->n_tensors; t++) {
        json_t *pair = json_object_get(s, L->tensors[t].name);
        if (!pair) return tp_fail(err, TP_ERR_FORMAT, "fingerprint: no samples for '%s'", L->tensors[t].name);
        if (!json_is_array(pair) || json_array_size(pair) != TP_FP_SAMPLES ||
            get_sample(json_array_get(pair, 0), &out->samples[t * 2]) ||
            get_sample(json_array_get(pair, 1), &out->samples[t * 2 + 1]))
            return tp_fail(err, TP_ERR_FORMAT, "fingerprint: samples of '%s' are not two finite floats",
                           L->tensors[t].name);
    }
    out->window = (uint64_t)json_integer_value(w);
    out->uid = (uint32_t)json_integer_value(u);
    out->gathered = (uint32_t)json_integer_value(g);
    out->gather_of = (uint32_t)json_integer_value(go);
    return TP_OK;
}

tp_status tp_fingerprint_parse(const char *buf, size_t len, const tp_layout *L, tp_fingerprint *out, tp_err *err) {
    tp_status st = fp_alloc(out, L->n_tensors, err);
    if (st) return st;
    size_t max = tp_fingerprint_max_json(L);
    if (len > max) return tp_fail(err, TP_ERR_FORMAT, "fingerprint: %zu bytes, more than the %zu allowed", len, max);
    json_t *root;
    if ((st = tp_json_parse(buf, len, JSON_REJECT_DUPLICATES, "fingerprint", &root, err))) return st;
    st = parse_root(root, L, out, err);
    json_decref(root);
    if (st) {
        /* Keep out allocated but zeroed so a rejected fingerprint is never mistaken for a real one. */
        memset(out->hash, 0, sizeof out->hash);
        memset(out->samples, 0, (size_t)out->n * TP_FP_SAMPLES * sizeof *out->samples);
        out->window = 0;
        out->uid = 0;
        out->gathered = out->gather_of = 0;
    }
    return st;
}
