/* The payload validator against hostile input (DESIGN §8, §13): a corpus of malformed payloads,
 * each made from a valid one (re-signed with the test key where the point is to get past the
 * signature), must be rejected with the expected named reason, and no rejected payload may hand out
 * a message. Sweeps over every truncation and every byte's bit flip make sure nothing slips
 * through or crashes. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/compress.h"
#include "codec/indexcode.h"
#include "codec/validate.h"
#include "codec/wire.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "model/config.h"

#define Q_PROJ "model.layers.0.self_attn.q_proj.weight"
#define NORM "model.norm.weight"

static tp_model_config g_model;
/* The uid's registered sr25519 hotkey, another sr25519 key, and an ed25519 key. */
static tp_keypair g_key, g_other, g_ed;

static void keys(void) {
    uint8_t seed[32] = {1};
    tp_err err;
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &g_key, &err), TP_OK, "%s", err.msg);
    seed[0] = 2;
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &g_other, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_ED25519, seed, &g_ed, &err), TP_OK, "%s", err.msg);
    tp_config c;
    cr_assert_eq(tp_config_named("tiny", &c, &err), TP_OK);
    g_model = c.model;
}

/* A valid payload for the tiny model with these codec parameters. */
static uint8_t *valid_payload(const tp_codec_params *p, size_t *len) {
    tp_layout L;
    tp_err err;
    cr_assert_eq(tp_layout_init(&g_model, &L, &err), TP_OK);
    float *e = calloc(L.total, sizeof(float)), *d = malloc(sizeof(float) * L.total);
    tp_rng r;
    tp_rng_seed(&r, 3);
    for (size_t i = 0; i < L.total; i++) d[i] = tp_rng_normal(&r) * 1e-3f;
    tp_codec_ws *ws;
    cr_assert_eq(tp_codec_ws_new(0, &ws, &err), TP_OK);
    tp_update u;
    cr_assert_eq(tp_update_init_layout(&u, &L, p, &err), TP_OK);
    cr_assert_eq(tp_ef_compress_model(e, d, 0.95f, 1.0f, &L, ws, &u, &err), TP_OK);
    tp_wire_info info = {.window = 12, .uid = 3, .global_step = 40};
    snprintf(info.run_version, sizeof info.run_version, "2.1.3");
    uint8_t *buf;
    cr_assert_eq(tp_wire_encode(&u, &g_model, &info, &g_key, &buf, len, &err), TP_OK, "%s", err.msg);
    tp_update_free(&u);
    tp_codec_ws_free(ws);
    free(e);
    free(d);
    tp_layout_free(&L);
    return buf;
}

/* ---- drafts: a parsed payload that can be edited and re-assembled ---- */

typedef struct {
    char name[128];
    tp_dtype dt;
    int ndim;
    int64_t shape[TP_ST_MAX_DIMS];
    uint8_t *data;
    size_t n;
} dtensor;

typedef struct {
    char key[64];
    char value[600];
} dkv;

typedef struct {
    dtensor t[256];
    int nt;
    dkv m[40];
    int nm;
    const tp_keypair *sk; /* signing key; NULL: unsigned */
} draft;

static draft *draft_from(const uint8_t *buf, size_t len) {
    tp_st st;
    tp_err err;
    cr_assert_eq(tp_st_parse(buf, len, 1000, &st, &err), TP_OK, "%s", err.msg);
    draft *d = calloc(1, sizeof *d);
    for (int i = 0; i < st.n; i++) {
        dtensor *t = &d->t[d->nt++];
        snprintf(t->name, sizeof t->name, "%s", st.tensors[i].name);
        t->dt = st.tensors[i].dtype;
        t->ndim = st.tensors[i].ndim;
        memcpy(t->shape, st.tensors[i].shape, sizeof t->shape);
        t->n = st.tensors[i].nbytes;
        t->data = malloc(t->n + 1);
        memcpy(t->data, st.tensors[i].data, t->n);
    }
    const char *k;
    json_t *v;
    json_object_foreach(st.metadata, k, v) {
        dkv *m = &d->m[d->nm++];
        snprintf(m->key, sizeof m->key, "%s", k);
        snprintf(m->value, sizeof m->value, "%s", json_string_value(v));
    }
    tp_st_free(&st);
    d->sk = &g_key;
    return d;
}

static void draft_free(draft *d) {
    for (int i = 0; i < d->nt; i++) free(d->t[i].data);
    free(d);
}

static void set_meta(draft *d, const char *key, const char *value) {
    for (int i = 0; i < d->nm; i++)
        if (!strcmp(d->m[i].key, key)) {
            snprintf(d->m[i].value, sizeof d->m[i].value, "%s", value);
            return;
        }
    dkv *m = &d->m[d->nm++];
    snprintf(m->key, sizeof m->key, "%s", key);
    snprintf(m->value, sizeof m->value, "%s", value);
}

static void del_meta(draft *d, const char *key) {
    for (int i = 0; i < d->nm; i++)
        if (!strcmp(d->m[i].key, key)) {
            d->m[i] = d->m[--d->nm];
            return;
        }
    cr_assert_fail("no metadata key %s", key);
}

static dtensor *find(draft *d, const char *name) {
    for (int i = 0; i < d->nt; i++)
        if (!strcmp(d->t[i].name, name)) return &d->t[i];
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

static void del_tensor(draft *d, const char *name) {
    dtensor *t = find(d, name);
    free(t->data);
    *t = d->t[--d->nt];
}

/* Replaces a 1-D U8/F32 tensor's bytes (and its shape to match). */
static void set_bytes(dtensor *t, const void *data, size_t n) {
    uint8_t *copy = malloc(n + 1); /* data may be t's own bytes */
    if (n) memcpy(copy, data, n);
    free(t->data);
    t->data = copy;
    t->n = n;
    t->ndim = 1;
    t->shape[0] = (int64_t)(t->dt == TP_DT_F32 ? n / 4 : n);
}

static uint8_t *draft_build(const draft *d, size_t *len) {
    tp_wire_tensor t[256];
    tp_wire_kv m[40];
    for (int i = 0; i < d->nt; i++) {
        t[i] = (tp_wire_tensor){.name = d->t[i].name, .dtype = d->t[i].dt, .ndim = d->t[i].ndim, .data = d->t[i].data,
                                .nbytes = d->t[i].n};
        memcpy(t[i].shape, d->t[i].shape, sizeof t[i].shape);
    }
    for (int i = 0; i < d->nm; i++) m[i] = (tp_wire_kv){d->m[i].key, d->m[i].value};
    uint8_t *buf;
    tp_err err;
    cr_assert_eq(tp_wire_assemble(t, d->nt, m, d->nm, d->sk, &buf, len, &err), TP_OK, "%s", err.msg);
    return buf;
}

/* Replaces the first occurrence of a string inside buf by another of the same length. */
static void patch(uint8_t *buf, size_t len, const char *from, const char *to) {
    size_t n = strlen(from);
    cr_assert_eq(strlen(to), n);
    for (size_t i = 0; i + n <= len; i++)
        if (!memcmp(buf + i, from, n)) {
            memcpy(buf + i, to, n);
            return;
        }
    cr_assert_fail("'%s' not in payload", from);
}

/* A raw safetensors file from a header text and data bytes. */
static uint8_t *raw_file(const char *header, const void *data, size_t dn, size_t *len) {
    size_t hn = strlen(header);
    uint8_t *b = malloc(8 + hn + dn + 1);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hn >> (8 * i));
    memcpy(b + 8, header, hn);
    if (dn) memcpy(b + 8 + hn, data, dn);
    *len = 8 + hn + dn;
    return b;
}

/* ---- index stream edits ---- */

static int64_t nnz_of(const tp_codec_params *p, int ndim, int64_t r, int64_t c, tp_block_geom *g) {
    int64_t shape[2] = {r, c};
    tp_err err;
    cr_assert_eq(tp_block_geom_init(ndim, shape, p->target_chunk, g, &err), TP_OK);
    return g->nblocks * tp_codec_k(p, g->totalk);
}

typedef void (*pos_edit)(uint16_t *pos, int64_t k, int64_t totalk);

/* Decodes the index stream of tensor name (shape ndim/r/c), edits the first block's positions,
 * and re-encodes it with the same coding. */
static void edit_positions(draft *d, const tp_codec_params *p, const char *name, int ndim, int64_t r, int64_t c,
                           pos_edit edit) {
    char full[160];
    snprintf(full, sizeof full, "%s.idx", name);
    dtensor *t = find(d, full);
    tp_block_geom g;
    int64_t nnz = nnz_of(p, ndim, r, c, &g), k = tp_codec_k(p, g.totalk);
    uint16_t *pos = malloc(sizeof(uint16_t) * (size_t)nnz);
    if (p->index_coding == TP_IDX_12BIT) {
        cr_assert_eq(tp_unpack12(t->data, t->n, nnz, pos), 0);
        edit(pos, k, g.totalk);
        uint8_t *b = malloc(tp_pack12_bytes(nnz));
        tp_pack12(pos, nnz, b);
        set_bytes(t, b, tp_pack12_bytes(nnz));
        free(b);
    } else {
        cr_assert_eq(tp_rice_decode(t->data, t->n, g.nblocks, k, g.totalk, pos).status, TP_RICE_OK);
        edit(pos, k, g.totalk);
        int rp = t->data[0];
        size_t cap = 1 << 20;
        uint8_t *b = malloc(cap);
        size_t n = tp_rice_encode(pos, g.nblocks, k, rp, b, cap);
        cr_assert(n > 0);
        set_bytes(t, b, n);
        free(b);
    }
    free(pos);
}

static void dup_pos(uint16_t *pos, int64_t k, int64_t totalk) {
    (void)k;
    (void)totalk;
    pos[5] = pos[4];
}
static void swap_pos(uint16_t *pos, int64_t k, int64_t totalk) {
    (void)k;
    (void)totalk;
    uint16_t t = pos[2];
    pos[2] = pos[3];
    pos[3] = t;
}
static void far_pos(uint16_t *pos, int64_t k, int64_t totalk) { pos[k - 1] = (uint16_t)(totalk + 5); }

/* ---- the corpus ---- */

typedef enum { BASE_RICE, BASE_12BIT, BASE_SMALLK } base_kind;

static tp_codec_params base_params(base_kind b) {
    tp_codec_params p;
    tp_codec_params_default(&p);
    if (b == BASE_12BIT) p.index_coding = TP_IDX_12BIT;
    if (b == BASE_SMALLK) {
        p.topk = 10; /* 10 codes of 2 bits leave padding bits in small tensors */
        p.bins = 3;  /* code 3 is invalid */
    }
    return p;
}

static tp_payload_expect expect_for(const tp_codec_params *p) {
    static tp_codec_params keep[3];
    static int at = 0;
    keep[at % 3] = *p;
    tp_payload_expect e = {.model = &g_model, .params = &keep[at++ % 3], .check_window = 1, .window = 12,
                           .check_uid = 1, .uid = 3, .run_version = "2.1.3", .pubkey = g_key.pub,
                           .check_key_type = 1, .key_type = TP_KEY_SR25519};
    return e;
}

static void expect_reject(const uint8_t *buf, size_t len, const tp_payload_expect *exp, tp_reject want,
                          const char *what) {
    tp_payload p;
    tp_err err = {0};
    tp_status st = tp_payload_read(buf, len, exp, &p, &err);
    cr_assert_eq(st, TP_ERR_FORMAT, "%s: accepted (status %d)", what, st);
    cr_assert_eq(p.reason, want, "%s: rejected as %s, expected %s (%s)", what, tp_reject_name(p.reason),
                 tp_reject_name(want), err.msg);
    cr_assert(!strncmp(err.msg, tp_reject_name(want), strlen(tp_reject_name(want))), "%s: message '%s'", what, err.msg);
    /* Nothing of a rejected payload is usable. */
    cr_assert(!p.valid && !p.update.t && !p.update.mem && !p.stats, "%s: rejected payload kept its message", what);
    tp_payload_free(&p);
}

/* One corpus entry: a base payload, an edit, the expected reason. */
typedef struct {
    const char *what;
    base_kind base;
    void (*edit)(draft *d, const tp_codec_params *p);
    tp_reject want;
} corpus_case;

static void e_format(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "format", "other-codec"); }
static void e_version(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "format_version", "1"); } /* the version before key_type */
static void e_window(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "window", "13"); }
static void e_uid(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "uid", "4"); }
static void e_run(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "run_version", "2.1.4"); }
static void e_window_zeros(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "window", "012"); }
static void e_uid_huge(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "uid", "4294967296"); }
static void e_topk(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "topk", "32"); }
static void e_topk_absurd(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "topk", "99999999"); }
static void e_bins(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "bins", "8"); }
static void e_coding(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "index_coding", "12bit"); }
static void e_coding_unknown(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "index_coding", "zip"); }
static void e_range(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "range", "6.0"); }
static void e_missing_key(draft *d, const tp_codec_params *p) { (void)p, del_meta(d, "sample_digest"); }
static void e_extra_key(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "note", "hello"); }
static void e_unsigned(draft *d, const tp_codec_params *p) { (void)p, d->sk = NULL; }
static void e_hotkey_hex(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "hotkey", "zz"); }

static void e_other_model(draft *d, const tp_codec_params *p) {
    (void)p;
    tp_config c;
    tp_err err;
    cr_assert_eq(tp_config_named("small", &c, &err), TP_OK);
    char text[512], hex[65];
    uint8_t dig[32];
    cr_assert_eq(tp_model_canonical(&c.model, text, sizeof text, &err), TP_OK);
    cr_assert_eq(tp_model_digest(&c.model, dig, &err), TP_OK);
    tp_hex(dig, 32, hex);
    set_meta(d, "model_config", text);
    set_meta(d, "model_digest", hex);
}

static void e_digest_mismatch(draft *d, const tp_codec_params *p) {
    (void)p;
    set_meta(d, "model_digest", "0000000000000000000000000000000000000000000000000000000000000000");
}

static void e_other_signer(draft *d, const tp_codec_params *p) {
    (void)p;
    char hex[65];
    tp_hex(g_other.pub, 32, hex);
    set_meta(d, "hotkey", hex);
    d->sk = &g_other;
}

static void e_forged(draft *d, const tp_codec_params *p) { (void)p, d->sk = &g_other; /* hotkey stays ours */ }

static void e_key_type_unknown(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "key_type", "ecdsa"); }
/* A valid ed25519 payload where the uid registered an sr25519 hotkey. */
static void e_key_type_other(draft *d, const tp_codec_params *p) {
    (void)p;
    char hex[65];
    tp_hex(g_ed.pub, 32, hex);
    set_meta(d, "hotkey", hex);
    set_meta(d, "key_type", "ed25519");
    d->sk = &g_ed;
}
/* The registered hotkey's sr25519 signature, the header claiming ed25519. */
static void e_key_type_lie(draft *d, const tp_codec_params *p) { (void)p, set_meta(d, "key_type", "ed25519"); }

static void e_missing_tensor(draft *d, const tp_codec_params *p) { (void)p, del_tensor(d, Q_PROJ ".qp"); }
static void e_missing_param(draft *d, const tp_codec_params *p) {
    (void)p;
    del_tensor(d, NORM ".idx");
    del_tensor(d, NORM ".val");
    del_tensor(d, NORM ".qp");
}

static void e_extra_tensor(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = &d->t[d->nt++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "model.layers.9.mlp.up_proj.weight.idx");
    t->dt = TP_DT_U8;
    uint8_t b[4] = {1, 2, 3, 4};
    t->data = NULL;
    set_bytes(t, b, 4);
}

static void e_extra_suffix(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = &d->t[d->nt++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, NORM ".bias");
    t->dt = TP_DT_U8;
    uint8_t b[1] = {0};
    set_bytes(t, b, 1);
}

static void e_val_short(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = find(d, Q_PROJ ".val");
    set_bytes(t, t->data, t->n - 1);
}

static void e_qp_dtype(draft *d, const tp_codec_params *p) {
    (void)p;
    find(d, Q_PROJ ".qp")->dt = TP_DT_U8;
    find(d, Q_PROJ ".qp")->shape[0] *= 4;
}

static void e_qp_count(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = find(d, Q_PROJ ".qp");
    set_bytes(t, t->data, t->n - 4);
}

static void e_idx_2d(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = find(d, Q_PROJ ".idx");
    if (t->n % 2) set_bytes(t, t->data, t->n - 1); /* the shape change is the point */
    t->ndim = 2;
    t->shape[1] = 2;
    t->shape[0] = (int64_t)t->n / 2;
}

static void e_idx_empty(draft *d, const tp_codec_params *p) { (void)p, set_bytes(find(d, Q_PROJ ".idx"), "", 0); }

static void set_qp(draft *d, int which, float v) {
    dtensor *t = find(d, Q_PROJ ".qp");
    float *q = (float *)t->data;
    q[which] = v;
}
static void e_nan_shift(draft *d, const tp_codec_params *p) { (void)p, set_qp(d, 0, NAN); }
static void e_huge_scale(draft *d, const tp_codec_params *p) { (void)p, set_qp(d, 1, 1e5f); }
static void e_tiny_scale(draft *d, const tp_codec_params *p) { (void)p, set_qp(d, 1, 1e-13f); }
static void e_neg_inf_lookup(draft *d, const tp_codec_params *p) { (void)p, set_qp(d, 3, -INFINITY); }
static void e_overflowing(draft *d, const tp_codec_params *p) {
    (void)p;
    set_qp(d, 0, 3e38f);
    set_qp(d, 5, 3e38f);
}

static void e_dup(draft *d, const tp_codec_params *p) { edit_positions(d, p, Q_PROJ, 2, 64, 64, dup_pos); }
static void e_unsorted(draft *d, const tp_codec_params *p) { edit_positions(d, p, Q_PROJ, 2, 64, 64, swap_pos); }
static void e_range_12(draft *d, const tp_codec_params *p) { edit_positions(d, p, NORM, 1, 64, 0, far_pos); }
static void e_range_rice(draft *d, const tp_codec_params *p) { edit_positions(d, p, Q_PROJ, 2, 64, 64, far_pos); }

static void e_rice_short(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = find(d, Q_PROJ ".idx");
    set_bytes(t, t->data, t->n - 2);
}

static void e_rice_trailing(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = find(d, Q_PROJ ".idx");
    uint8_t *b = calloc(t->n + 1, 1);
    memcpy(b, t->data, t->n);
    set_bytes(t, b, t->n + 1);
    free(b);
}

static void e_rice_param(draft *d, const tp_codec_params *p) { (void)p, find(d, Q_PROJ ".idx")->data[0] = 200; }

static void e_12bit_length(draft *d, const tp_codec_params *p) {
    (void)p;
    dtensor *t = find(d, Q_PROJ ".idx");
    set_bytes(t, t->data, t->n - 3);
}

static void e_bad_code(draft *d, const tp_codec_params *p) {
    (void)p;
    find(d, Q_PROJ ".val")->data[0] |= 0x03; /* code 3 with 3 bins */
}

static void e_code_padding(draft *d, const tp_codec_params *p) {
    (void)p;
    /* 10 codes of 2 bits: the last byte's top 4 bits are padding. */
    dtensor *t = find(d, NORM ".val");
    t->data[t->n - 1] |= 0x80;
}

static const corpus_case CORPUS[] = {
    {"unknown format id", BASE_RICE, e_format, TP_REJ_UNKNOWN_FORMAT},
    {"unknown format version", BASE_RICE, e_version, TP_REJ_UNKNOWN_FORMAT},
    {"wrong window", BASE_RICE, e_window, TP_REJ_WRONG_WINDOW},
    {"wrong uid", BASE_RICE, e_uid, TP_REJ_WRONG_UID},
    {"wrong run version", BASE_RICE, e_run, TP_REJ_WRONG_VERSION},
    {"window with leading zeros", BASE_RICE, e_window_zeros, TP_REJ_MALFORMED},
    {"uid beyond 32 bits", BASE_RICE, e_uid_huge, TP_REJ_MALFORMED},
    {"wrong model config", BASE_RICE, e_other_model, TP_REJ_WRONG_MODEL},
    {"model digest of another config", BASE_RICE, e_digest_mismatch, TP_REJ_MALFORMED},
    {"wrong topk", BASE_RICE, e_topk, TP_REJ_WRONG_K},
    {"absurd topk", BASE_RICE, e_topk_absurd, TP_REJ_MALFORMED},
    {"wrong bins", BASE_RICE, e_bins, TP_REJ_WRONG_PARAMS},
    {"wrong index coding", BASE_RICE, e_coding, TP_REJ_WRONG_PARAMS},
    {"unknown index coding", BASE_RICE, e_coding_unknown, TP_REJ_MALFORMED},
    {"range not canonical", BASE_RICE, e_range, TP_REJ_MALFORMED},
    {"metadata key missing", BASE_RICE, e_missing_key, TP_REJ_MALFORMED},
    {"unknown metadata key", BASE_RICE, e_extra_key, TP_REJ_MALFORMED},
    {"no signature", BASE_RICE, e_unsigned, TP_REJ_MALFORMED},
    {"hotkey not hex", BASE_RICE, e_hotkey_hex, TP_REJ_MALFORMED},
    {"signed by another hotkey", BASE_RICE, e_other_signer, TP_REJ_BAD_SIGNATURE},
    {"forged signature for our hotkey", BASE_RICE, e_forged, TP_REJ_BAD_SIGNATURE},
    {"unknown key type", BASE_RICE, e_key_type_unknown, TP_REJ_MALFORMED},
    {"a key type the uid did not register", BASE_RICE, e_key_type_other, TP_REJ_WRONG_KEY_TYPE},
    {"key type not the signature's", BASE_RICE, e_key_type_lie, TP_REJ_WRONG_KEY_TYPE},
    {"missing .qp tensor", BASE_RICE, e_missing_tensor, TP_REJ_MISSING_TENSOR},
    {"missing parameter", BASE_RICE, e_missing_param, TP_REJ_MISSING_TENSOR},
    {"extra tensor of an unknown parameter", BASE_RICE, e_extra_tensor, TP_REJ_EXTRA_TENSOR},
    {"extra tensor with an unknown suffix", BASE_RICE, e_extra_suffix, TP_REJ_EXTRA_TENSOR},
    {"codes one byte short", BASE_RICE, e_val_short, TP_REJ_BAD_LENGTH},
    {"quant params of the wrong dtype", BASE_RICE, e_qp_dtype, TP_REJ_BAD_LENGTH},
    {"one quant param missing", BASE_RICE, e_qp_count, TP_REJ_BAD_LENGTH},
    {"index stream of two dimensions", BASE_RICE, e_idx_2d, TP_REJ_BAD_LENGTH},
    {"empty index stream", BASE_RICE, e_idx_empty, TP_REJ_BAD_LENGTH},
    {"NaN shift", BASE_RICE, e_nan_shift, TP_REJ_BAD_QUANT},
    {"huge scale", BASE_RICE, e_huge_scale, TP_REJ_BAD_QUANT},
    {"tiny scale", BASE_RICE, e_tiny_scale, TP_REJ_BAD_QUANT},
    {"infinite lookup", BASE_RICE, e_neg_inf_lookup, TP_REJ_BAD_QUANT},
    {"dequantised value overflows", BASE_RICE, e_overflowing, TP_REJ_NONFINITE},
    {"duplicate index (12bit)", BASE_12BIT, e_dup, TP_REJ_INDEX_DUPLICATE},
    {"unsorted indices (12bit)", BASE_12BIT, e_unsorted, TP_REJ_INDEX_UNSORTED},
    {"index out of range (12bit)", BASE_12BIT, e_range_12, TP_REJ_INDEX_RANGE},
    {"12bit stream of the wrong length", BASE_12BIT, e_12bit_length, TP_REJ_BAD_LENGTH},
    {"index out of range (rice)", BASE_RICE, e_range_rice, TP_REJ_INDEX_RANGE},
    {"index stream too short for k", BASE_RICE, e_rice_short, TP_REJ_WRONG_K},
    {"index stream longer than k", BASE_RICE, e_rice_trailing, TP_REJ_WRONG_K},
    {"Rice parameter out of range", BASE_RICE, e_rice_param, TP_REJ_MALFORMED},
    {"code not below bins", BASE_SMALLK, e_bad_code, TP_REJ_BAD_CODE},
    {"code padding bits set", BASE_SMALLK, e_code_padding, TP_REJ_BAD_CODE},
};

TestSuite(malformed, .init = keys);

/* Equal bytes but for the signature's hex digits (sr25519 signatures are randomized). */
static int same_but_signature(const uint8_t *a, const uint8_t *b, size_t len) {
    static const char tag[] = "\"signature\":\"";
    const uint8_t *at = memmem(a, len, tag, strlen(tag));
    if (!at) return !memcmp(a, b, len);
    size_t from = (size_t)(at - a) + strlen(tag), to = from + 128;
    return to <= len && !memcmp(a, b, from) && !memcmp(a + to, b + to, len - to);
}

Test(malformed, corpus_of_edited_payloads) {
    int n = (int)(sizeof CORPUS / sizeof *CORPUS);
    uint8_t *base[3];
    size_t base_len[3];
    for (int b = 0; b < 3; b++) {
        tp_codec_params p = base_params((base_kind)b);
        base[b] = valid_payload(&p, &base_len[b]);
        /* The unedited draft re-assembles to the same valid bytes. */
        draft *d = draft_from(base[b], base_len[b]);
        size_t len;
        uint8_t *again = draft_build(d, &len);
        cr_assert(len == base_len[b] && same_but_signature(again, base[b], len), "draft round trip changed the payload");
        tp_payload_expect exp = expect_for(&p);
        tp_payload ok;
        tp_err err;
        cr_assert_eq(tp_payload_read(again, len, &exp, &ok, &err), TP_OK, "base %d: %s", b, err.msg);
        tp_payload_free(&ok);
        free(again);
        draft_free(d);
    }
    for (int i = 0; i < n; i++) {
        const corpus_case *c = &CORPUS[i];
        tp_codec_params p = base_params(c->base);
        draft *d = draft_from(base[c->base], base_len[c->base]);
        c->edit(d, &p);
        size_t len;
        uint8_t *buf = draft_build(d, &len);
        tp_payload_expect exp = expect_for(&p);
        expect_reject(buf, len, &exp, c->want, c->what);
        free(buf);
        draft_free(d);
    }
    cr_log_info("%d edited payloads rejected with the expected reason", n);
    for (int b = 0; b < 3; b++) free(base[b]);
}

/* Byte-level damage to a valid payload. */
Test(malformed, damaged_bytes) {
    tp_codec_params p = base_params(BASE_RICE);
    size_t len;
    uint8_t *good = valid_payload(&p, &len);
    tp_payload_expect exp = expect_for(&p);
    uint8_t *b = malloc(len + 64);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | good[i];
    int count = 0;
#define DAMAGED(what, n, reason)                  \
    do {                                          \
        expect_reject(b, (n), &exp, reason, what); \
        count++;                                  \
        memcpy(b, good, len);                     \
    } while (0)
    memcpy(b, good, len);
    DAMAGED("empty", 0, TP_REJ_MALFORMED);
    DAMAGED("truncated to 4 bytes", 4, TP_REJ_MALFORMED);
    DAMAGED("truncated inside the header", 8 + hlen / 2, TP_REJ_MALFORMED);
    DAMAGED("truncated inside the data", len - 100, TP_REJ_MALFORMED);
    DAMAGED("last byte missing", len - 1, TP_REJ_MALFORMED);
    b[len] = 0;
    DAMAGED("one byte appended", len + 1, TP_REJ_MALFORMED);
    b[7] = 0x10;
    DAMAGED("absurd header length", len, TP_REJ_MALFORMED);
    b[8] = '[';
    DAMAGED("header not a JSON object", len, TP_REJ_MALFORMED);
    ((uint8_t *)memchr(b + 8, ':', hlen))[0] = ' ';
    DAMAGED("JSON syntax broken", len, TP_REJ_MALFORMED);
    b[len - 1] ^= 0x01;
    DAMAGED("bit flip in the data", len, TP_REJ_BAD_HASH);
    b[8 + hlen + 40] ^= 0x10;
    DAMAGED("bit flip in an index stream", len, TP_REJ_BAD_HASH);
    {
        /* A different but well-formed step number: covered by the signature. */
        patch(b, len, "\"global_step\":\"40\"", "\"global_step\":\"41\"");
        DAMAGED("metadata value changed after signing", len, TP_REJ_BAD_SIGNATURE);
    }
    {
        const char *key = "\"signature\":\"";
        uint8_t *at = memmem(b, len, key, strlen(key));
        cr_assert(at);
        at += strlen(key);
        *at = *at == 'a' ? 'b' : 'a';
        DAMAGED("signature changed", len, TP_REJ_BAD_SIGNATURE);
        at = memmem(b, len, key, strlen(key)) + strlen(key);
        *at = 'G';
        DAMAGED("signature not hex", len, TP_REJ_MALFORMED);
    }
    {
        const char *key = "\"data_hash\":\"";
        uint8_t *at = memmem(b, len, key, strlen(key));
        cr_assert(at);
        at += strlen(key);
        *at = *at == 'a' ? 'b' : 'a';
        DAMAGED("data hash changed", len, TP_REJ_BAD_HASH);
    }
    {
        /* Over the size the model and codec allow, checked before parsing. */
        size_t max;
        tp_err err;
        cr_assert_eq(tp_wire_max_bytes(&g_model, &p, &max, &err), TP_OK);
        uint8_t *big = calloc(max + 1, 1);
        memcpy(big, good, len);
        expect_reject(big, max + 1, &exp, TP_REJ_TOO_LARGE, "one byte over the maximum");
        expect_reject(big, max + 1, &(tp_payload_expect){.max_bytes = 100}, TP_REJ_TOO_LARGE, "explicit limit");
        free(big);
        count += 2;
    }
    {
        size_t n;
        uint8_t *f = raw_file("{\"a.idx\":{\"dtype\":\"U8\",\"shape\":[1000000000000000],\"data_offsets\":[0,"
                              "1000000000000000]}}", "x", 1, &n);
        expect_reject(f, n, &exp, TP_REJ_MALFORMED, "absurd declared tensor size");
        free(f);
        f = raw_file("{\"a.idx\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"a.idx\":{\"dtype\":\"U8\","
                     "\"shape\":[1],\"data_offsets\":[0,1]}}", "x", 1, &n);
        expect_reject(f, n, &exp, TP_REJ_MALFORMED, "duplicate JSON keys");
        free(f);
        f = raw_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "x", 1, &n);
        expect_reject(f, n, &exp, TP_REJ_MALFORMED, "no metadata");
        free(f);
        /* Many tiny tensors: past the count the model allows. */
        size_t cap = 1 << 20, hn = 0;
        char *h = malloc(cap);
        hn += (size_t)snprintf(h + hn, cap - hn, "{");
        for (int i = 0; i < 200; i++)
            hn += (size_t)snprintf(h + hn, cap - hn, "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}",
                                   i ? "," : "", i);
        snprintf(h + hn, cap - hn, "}");
        f = raw_file(h, NULL, 0, &n);
        expect_reject(f, n, &exp, TP_REJ_MALFORMED, "too many tensors");
        free(f);
        free(h);
        count += 4;
    }
    cr_log_info("%d damaged payloads rejected with the expected reason", count);
    free(b);
    free(good);
}

/* Every prefix and every single-bit flip (one bit per byte position) is rejected, never crashes,
 * and never yields a message. */
Test(malformed, truncation_and_bit_flip_sweeps) {
    tp_codec_params p = base_params(BASE_12BIT);
    size_t len;
    uint8_t *good = valid_payload(&p, &len);
    tp_payload_expect exp = expect_for(&p);
    uint8_t *b = malloc(len);
    int counts[TP_REJ_COUNT] = {0};
    for (size_t n = 0; n < len; n += (n < 4096 ? 1 : 7)) {
        memcpy(b, good, n);
        tp_payload out;
        cr_assert_eq(tp_payload_read(b, n, &exp, &out, &(tp_err){0}), TP_ERR_FORMAT, "prefix of %zu bytes accepted", n);
        cr_assert(!out.valid && !out.update.t);
        counts[out.reason]++;
        tp_payload_free(&out);
    }
    memcpy(b, good, len);
    for (size_t i = 0; i < len; i++) {
        b[i] ^= (uint8_t)(1u << (i % 8));
        tp_payload out;
        tp_status st = tp_payload_read(b, len, &exp, &out, &(tp_err){0});
        cr_assert_eq(st, TP_ERR_FORMAT, "flip of byte %zu accepted", i);
        counts[out.reason]++;
        tp_payload_free(&out);
        b[i] = good[i];
    }
    for (int r = 0; r < TP_REJ_COUNT; r++)
        if (counts[r]) cr_log_info("sweep: %d rejected as %s", counts[r], tp_reject_name((tp_reject)r));
    free(b);
    free(good);
}

/* Files: the size limit applies before reading. */
Test(malformed, load_checks_size_before_reading) {
    tp_codec_params p = base_params(BASE_RICE);
    size_t len;
    uint8_t *good = valid_payload(&p, &len);
    char path[64];
    snprintf(path, sizeof path, "/tmp/tp-malformed-%d.st", (int)getpid());
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    fwrite(good, 1, len, f);
    fclose(f);
    tp_payload_expect exp = expect_for(&p);
    tp_payload out;
    tp_err err;
    cr_assert_eq(tp_payload_load(path, &exp, &out, &err), TP_OK, "%s", err.msg);
    tp_payload_free(&out);
    exp.max_bytes = len - 1;
    cr_assert_eq(tp_payload_load(path, &exp, &out, &err), TP_ERR_FORMAT);
    cr_assert_eq(out.reason, TP_REJ_TOO_LARGE);
    tp_payload_free(&out);
    remove(path);
    free(good);
}
