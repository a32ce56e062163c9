#include "node_fixture.h"

#include <criterion/criterion.h>
#include <omp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli/cli_test_util.h"
#include "codec/compress.h"
#include "codec/wire.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/npy.h"
#include "core/rng.h"

#define TRAIN_TOKENS 40000
#define VAL_TOKENS 4000

/* Overwrites every training token with one outside the vocabulary. */
static void corrupt_train(const char *dir, int vocab) {
    char path[1100];
    snprintf(path, sizeof path, "%s/train_000000.npy", dir);
    uint32_t *tok = malloc(sizeof(uint32_t) * TRAIN_TOKENS);
    for (int i = 0; i < TRAIN_TOKENS; i++) tok[i] = (uint32_t)vocab + 7;
    int64_t shape[1] = {TRAIN_TOKENS};
    tp_err err;
    cr_assert_eq(tp_npy_write(path, TP_DT_U32, 1, shape, tok, &err), TP_OK, "%s", err.msg);
    free(tok);
}

static void make_metagraph(node_fixture *f) {
    tp_node *n = f->n;
    n->mg.n = FX_FIRST_MINER + f->miners;
    n->mg.neurons = calloc((size_t)n->mg.n, sizeof *n->mg.neurons);
    for (int64_t u = 0; u < n->mg.n; u++) {
        tp_neuron *x = &n->mg.neurons[u];
        x->uid = u;
        snprintf(x->store, sizeof x->store, "file:///nonexistent/uid-%lld", (long long)u);
        if (u == 1) {
            x->validator_permit = 1;
            x->stake = 1000;
            snprintf(x->hotkey, sizeof x->hotkey, "%s", n->wallet.pk_hex);
        } else if (u >= FX_FIRST_MINER) {
            tp_hex(f->keys[u - FX_FIRST_MINER].pub, 32, x->hotkey);
        }
    }
}

void fx_open(node_fixture *f, int miners, int data_ok) {
    memset(f, 0, sizeof *f);
    cr_assert(sodium_init() >= 0 && miners <= FX_MAX_MINERS);
    f->miners = miners;
    cli_tmpdir(f->dir, sizeof f->dir);
    tp_node *n = f->n = calloc(1, sizeof *n);
    tp_err err;
    cr_assert_eq(tp_run_config_load("tiny", &n->rc, &err), TP_OK, "%s", err.msg);
    snprintf(n->rc.data, sizeof n->rc.data, "%s/data", f->dir);
    cli_make_data(n->rc.data, n->rc.cfg.model.vocab_size, TRAIN_TOKENS, VAL_TOKENS);
    if (!data_ok) corrupt_train(n->rc.data, n->rc.cfg.model.vocab_size);
    cr_assert_eq(tp_shards_open(n->rc.data, &n->shards, &err), TP_OK, "%s", err.msg);
    n->eot = tp_shards_eot(n->shards);
    const tp_model_config *mc = &n->rc.cfg.model;
    int batch = n->rc.proto.eval_samples > n->rc.cfg.train.batch_size ? n->rc.proto.eval_samples : n->rc.cfg.train.batch_size;
    cr_assert_eq(tp_llama_create(mc, batch, mc->seq_len, 0, &n->model, &err), TP_OK, "%s", err.msg);
    tp_llama_init_random(n->model, n->rc.cfg.train.seed, n->rc.cfg.train.init_std);
    cr_assert_eq(tp_codec_ws_new(omp_get_max_threads(), &n->ws, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tp_wire_max_bytes(mc, &n->rc.codec, &n->max_payload, &err), TP_OK, "%s", err.msg);
    uint8_t seed[32] = {99};
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &n->wallet.key, &err), TP_OK, "%s", err.msg);
    tp_hex(n->wallet.key.pub, 32, n->wallet.pk_hex);
    /* What the miners' commitments would say: their hotkeys sign sr25519. */
    n->peer_stores = calloc(TP_CHAIN_MAX_UIDS, sizeof *n->peer_stores);
    cr_assert(n->peer_stores);
    for (int i = 0; i < miners; i++) {
        seed[0] = (uint8_t)(i + 1);
        cr_assert_eq(tp_keypair_from_seed(TP_KEY_SR25519, seed, &f->keys[i], &err), TP_OK, "%s", err.msg);
        n->peer_stores[FX_FIRST_MINER + i].key_type = TP_KEY_SR25519;
        n->peer_stores[FX_FIRST_MINER + i].key_type_known = 1;
    }
    n->uid = 1;
    n->start_window = 10;
    n->leader = 1;
    make_metagraph(f);
    tp_validator *v = &f->v;
    v->n = n;
    v->os = tp_openskill_defaults();
    v->m = calloc(TP_CHAIN_MAX_UIDS, sizeof *v->m);
    for (int i = 0; i < TP_CHAIN_MAX_UIDS; i++) tp_vminer_reset(&v->m[i], &v->os);
    v->backup = malloc(n->model->layout.total * sizeof(float));
    v->nsamp = (int64_t)n->model->layout.n_tensors * TP_FP_SAMPLES;
    v->prev = calloc((size_t)v->nsamp * 2, sizeof(float));
    v->ema = v->prev + v->nsamp;
}

void fx_close(node_fixture *f) {
    tp_node *n = f->n;
    free(f->v.m);
    free(f->v.backup);
    free(f->v.prev);
    tp_metagraph_free(&n->mg);
    tp_codec_ws_free(n->ws);
    tp_llama_free(n->model);
    tp_shards_close(n->shards);
    free(n->peer_stores);
    free(n);
    tp_err err;
    tp_remove_tree(f->dir, &err);
}

/* Miner i's signed update of window W: a random Δ (seeded by miner and window) through the codec. */
static void signed_update(node_fixture *f, int i, uint32_t uid, int64_t window, uint8_t **bytes, size_t *len) {
    tp_node *n = f->n;
    const tp_layout *L = &n->model->layout;
    float *d = malloc(L->total * sizeof(float));
    tp_rng r;
    tp_rng_seed(&r, (uint64_t)window * 131 + (uint64_t)i);
    for (size_t k = 0; k < L->total; k++) d[k] = tp_rng_normal(&r) * 1e-3f;
    tp_update u;
    tp_err err;
    cr_assert_eq(tp_update_init_layout(&u, L, &n->rc.codec, &err), TP_OK);
    cr_assert_eq(tp_compress_model(d, L, n->ws, &u, &err), TP_OK, "%s", err.msg);
    tp_wire_info info = {.window = (uint64_t)window, .uid = uid};
    snprintf(info.run_version, sizeof info.run_version, "%s", n->rc.proto.run_version);
    cr_assert_eq(tp_wire_encode(&u, &n->rc.cfg.model, &info, &f->keys[uid - FX_FIRST_MINER], bytes, len, &err), TP_OK,
                 "%s", err.msg);
    tp_update_free(&u);
    free(d);
}

void fx_gather(node_fixture *f, int64_t window, const fx_kind *kinds, tp_window_gather *g) {
    tp_err err;
    cr_assert_eq(tp_window_gather_init(g, f->miners, &err), TP_OK);
    g->n = f->miners;
    for (int i = 0; i < f->miners; i++) {
        uint32_t uid = (uint32_t)(FX_FIRST_MINER + i);
        g->uid[i] = uid;
        g->mtime[i] = 1000.0 + i;
        g->fetch[i] = kinds[i] == FX_MISSING ? TP_FETCH_NOT_FOUND : TP_FETCH_OK;
        g->reject[i] = TP_REJ_NONE;
        if (kinds[i] == FX_VALID) signed_update(f, i, uid, window, &g->bytes[i], &g->len[i]);
        else if (kinds[i] == FX_COPY_OF_FIRST) signed_update(f, 0, uid, window, &g->bytes[i], &g->len[i]);
        else if (kinds[i] == FX_GARBAGE) {
            g->len[i] = 100;
            g->bytes[i] = calloc(1, 101);
        }
    }
    cr_assert_eq(tp_node_validate_gather(f->n, window, g, &err), TP_OK, "%s", err.msg);
}

void fx_peers_all(node_fixture *f, int64_t window, tp_peer_list *pl) {
    int64_t fill[FX_MAX_MINERS];
    for (int i = 0; i < f->miners; i++) fill[i] = FX_FIRST_MINER + i;
    tp_peers_build(window, NULL, 0, fill, f->miners, f->n->rc.proto.gather_peers, f->n->rc.proto.reserve_peers, pl);
}
