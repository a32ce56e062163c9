/* libFuzzer target for the update payload reader and validator (src/codec/validate.c) on the tiny
 * model. The first byte picks what the rest is:
 *   0: a whole payload file, read with a receiver's expectations and again as `inspect` reads it;
 *   1: tensor data only: the harness wraps it in valid, signed metadata, so mutations reach the
 *      per-tensor checks behind the hash and signature (per tensor: a 2-byte length and that many
 *      index bytes, then the codes and quant params at their expected lengths);
 *   2: raw input to the index and code decoders with a fuzzed geometry.
 * An accepted payload must decode to positions inside their blocks, sorted, with finite values. */
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress.h"
#include "codec/indexcode.h"
#include "codec/validate.h"
#include "codec/wire.h"
#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What stays the same across inputs: keys, the model, and a valid payload's metadata. */
typedef struct {
    int ready;
    tp_keypair key;
    tp_model_config model;
    tp_codec_params params;
    tp_layout layout;
    tp_wire_kv meta[32];
    char keys[32][32], values[32][600];
    int nmeta;
} harness;

static harness H;

static void setup(void) {
    if (H.ready) return;
    if (sodium_init() < 0) abort();
    uint8_t seed[32] = {1};
    tp_err kerr;
    if (tp_keypair_from_seed(TP_KEY_SR25519, seed, &H.key, &kerr)) abort();
    tp_config c;
    tp_err err;
    if (tp_config_named("tiny", &c, &err)) abort();
    H.model = c.model;
    tp_codec_params_default(&H.params);
    if (tp_layout_init(&H.model, &H.layout, &err)) abort();
    tp_update u;
    if (tp_update_init_layout(&u, &H.layout, &H.params, &err)) abort();
    memset(u.mem, 0, (size_t)u.nnz * 3);
    for (int i = 0; i < u.n; i++)
        for (int64_t j = 0; j < u.t[i].geom.nblocks * u.t[i].k; j++) u.t[i].idx[j] = (uint16_t)(j % u.t[i].k);
    tp_wire_info info = {.window = 12, .uid = 3, .global_step = 40};
    strcpy(info.run_version, "2.1.3");
    uint8_t *buf;
    size_t len;
    if (tp_wire_encode(&u, &H.model, &info, &H.key, &buf, &len, &err)) abort();
    tp_st st;
    if (tp_st_parse(buf, len, 1000, &st, &err)) abort();
    const char *k;
    json_t *v;
    json_object_foreach(st.metadata, k, v) {
        if (H.nmeta == 32) abort();
        snprintf(H.keys[H.nmeta], sizeof H.keys[0], "%s", k);
        snprintf(H.values[H.nmeta], sizeof H.values[0], "%s", json_string_value(v));
        H.meta[H.nmeta] = (tp_wire_kv){H.keys[H.nmeta], H.values[H.nmeta]};
        H.nmeta++;
    }
    tp_st_free(&st);
    free(buf);
    tp_update_free(&u);
    H.ready = 1;
}

/* An accepted payload must hold what the validator promises. */
static void check_valid(const tp_payload *p) {
    if (!p->valid || p->reason != TP_REJ_NONE) abort();
    const tp_update *u = &p->update;
    for (int i = 0; i < u->n; i++) {
        const tp_sparse *s = &u->t[i];
        for (int64_t b = 0; b < s->geom.nblocks; b++)
            for (int64_t j = 0; j < s->k; j++) {
                int64_t e = b * s->k + j;
                if (s->idx[e] >= s->geom.totalk || (j && s->idx[e] <= s->idx[e - 1])) abort();
                if (s->codes[e] >= u->params.bins) abort();
                if (!isfinite(s->lookup[s->codes[e]] + s->shift)) abort();
            }
    }
    /* And it decompresses without incident. */
    float *out = malloc(sizeof(float) * p->layout.total);
    tp_codec_ws *ws;
    tp_err err;
    if (!out || tp_codec_ws_new(1, &ws, &err)) abort();
    if (tp_decompress_model(u, &p->layout, ws, out, &err)) abort();
    for (size_t i = 0; i < p->layout.total; i++)
        if (!isfinite(out[i])) abort();
    tp_codec_ws_free(ws);
    free(out);
}

static void read_payload(const uint8_t *buf, size_t len) {
    tp_payload_expect exp = {.model = &H.model, .params = &H.params, .check_window = 1, .window = 12,
                             .check_uid = 1, .uid = 3, .run_version = "2.1.3", .pubkey = H.key.pub};
    tp_payload p;
    tp_err err;
    tp_status st = tp_payload_read(buf, len, &exp, &p, &err);
    if (st == TP_OK) check_valid(&p);
    else if (st != TP_ERR_FORMAT || p.valid || p.update.t || p.reason == TP_REJ_NONE) abort();
    tp_payload_free(&p);
    st = tp_payload_read(buf, len, NULL, &p, &err);
    if (st == TP_OK) check_valid(&p);
    else if (st != TP_ERR_FORMAT || p.valid || p.update.t) abort();
    tp_payload_free(&p);
}

static void wrapped(const uint8_t *d, size_t n) {
    const tp_layout *L = &H.layout;
    int nt = 3 * L->n_tensors;
    tp_wire_tensor *t = calloc((size_t)nt, sizeof *t);
    char (*names)[80] = calloc((size_t)nt, sizeof *names);
    uint8_t *zeros = calloc(1, 1 << 16);
    if (!t || !names || !zeros) abort();
    size_t at = 0;
    for (int i = 0; i < L->n_tensors; i++) {
        tp_block_geom g;
        tp_err err;
        if (tp_block_geom_init(L->tensors[i].ndim, L->tensors[i].shape, H.params.target_chunk, &g, &err)) abort();
        int64_t nnz = g.nblocks * tp_codec_k(&H.params, g.totalk);
        size_t want[3] = {0, tp_codes_bytes(nnz, 2), 4 * (2 + (size_t)H.params.bins)};
        if (at + 2 <= n) {
            want[0] = (size_t)(d[at] | d[at + 1] << 8) % 4096;
            at += 2;
        }
        static const char *sfx[3] = {"idx", "val", "qp"};
        for (int j = 0; j < 3; j++) {
            tp_wire_tensor *x = &t[3 * i + j];
            snprintf(names[3 * i + j], sizeof names[0], "%s.%s", L->tensors[i].name, sfx[j]);
            x->name = names[3 * i + j];
            x->dtype = j == 2 ? TP_DT_F32 : TP_DT_U8;
            x->ndim = 1;
            x->shape[0] = (int64_t)(j == 2 ? want[j] / 4 : want[j]);
            x->nbytes = want[j];
            /* Input bytes while they last, zeros after. */
            if (at + want[j] <= n) {
                x->data = d + at;
                at += want[j];
            } else {
                x->data = zeros;
            }
        }
    }
    uint8_t *buf;
    size_t len;
    tp_err err;
    if (tp_wire_assemble(t, nt, H.meta, H.nmeta, &H.key, &buf, &len, &err)) abort();
    read_payload(buf, len);
    free(buf);
    free(t);
    free(names);
    free(zeros);
}

static void decoders(const uint8_t *d, size_t n) {
    if (n < 6) return;
    int64_t totalk = 1 + (d[0] | d[1] << 8) % 65536, k = 1 + d[2] % 128, nblocks = 1 + d[3] % 16;
    int bits = d[4] & 1 ? 4 : 2, bins = 2 + d[5] % 15;
    if (k > totalk) k = totalk;
    d += 6;
    n -= 6;
    uint8_t *in = malloc(n ? n : 1); /* exactly n bytes, so ASan sees any overread */
    uint16_t *pos = malloc(sizeof(uint16_t) * (size_t)(nblocks * k));
    uint8_t *codes = malloc((size_t)(nblocks * k));
    if (!in || !pos || !codes) abort();
    if (n) memcpy(in, d, n);
    tp_rice_result r = tp_rice_decode(in, n, nblocks, k, totalk, pos);
    if (r.status == TP_RICE_OK) {
        for (int64_t b = 0; b < nblocks; b++)
            for (int64_t j = 0; j < k; j++) {
                uint16_t p = pos[b * k + j];
                if (p >= totalk || (j && p <= pos[b * k + j - 1])) abort();
            }
        /* A stream the decoder accepts is exactly what the encoder writes for those positions. */
        size_t len;
        int rp = tp_rice_choose(pos, nblocks, k, &len);
        uint8_t *again = malloc(n + 1);
        if (rp == in[0] && len == n && (tp_rice_encode(pos, nblocks, k, rp, again, n) != n || memcmp(again, in, n)))
            abort();
        free(again);
    }
    if (tp_pack12_bytes(nblocks * k) == n) tp_unpack12(in, n, nblocks * k, pos);
    if (tp_codes_bytes(nblocks * k, bits) == n) tp_codes_unpack(in, nblocks * k, bits, bins, codes, NULL);
    free(in);
    free(pos);
    free(codes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup();
    if (size < 1) return 0;
    uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: read_payload(buf, size - 1); break;
    case 1: wrapped(buf, size - 1); break;
    default: decoders(buf, size - 1); break;
    }
    free(buf);
    return 0;
}
