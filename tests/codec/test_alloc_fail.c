/* The codec under allocation failure: a miner's path (error feedback, compression, the signed
 * payload) and a receiver's (validation, the outer step over three peers) with every allocation
 * failing in turn. Each run either fails with TP_ERR_NOMEM or gives exactly the clean run's output;
 * it never crashes or leaks (the asan build checks), and a failed outer step leaves θ as it was. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "../support/alloc_fail.h"
#include "codec/aggregate.h"
#include "codec/compress.h"
#include "codec/validate.h"
#include "codec/wire.h"
#include "core/rng.h"
#include "model/config.h"

#define PEERS 3

typedef struct {
    tp_model_config model;
    tp_codec_params params;
    tp_layout L;
    tp_codec_ws *ws;
    tp_keypair key;
    float *delta, *ef, *ef0, *theta, *theta0;
    /* the clean run's results */
    uint8_t *bytes[PEERS];
    size_t len[PEERS];
    float *theta_ref;
} codec_case;

static void case_init(codec_case *c) {
    cr_assert(sodium_init() >= 0);
    tp_err err;
    tp_config cfg;
    cr_assert_eq(tp_config_named("tiny", &cfg, &err), TP_OK);
    c->model = cfg.model;
    tp_codec_params_default(&c->params);
    cr_assert_eq(tp_layout_init(&c->model, &c->L, &err), TP_OK);
    cr_assert_eq(tp_codec_ws_new(2, &c->ws, &err), TP_OK);
    uint8_t seed[32] = {7};
    tp_err kerr;
    /* ed25519: its signatures are deterministic, so every run's payloads can be compared byte for byte. */
    cr_assert_eq(tp_keypair_from_seed(TP_KEY_ED25519, seed, &c->key, &kerr), TP_OK);
    size_t n = c->L.total;
    c->delta = calloc(PEERS * n, sizeof(float));
    c->ef = calloc(PEERS * n, sizeof(float));
    c->ef0 = calloc(PEERS * n, sizeof(float));
    c->theta = malloc(n * sizeof(float));
    c->theta0 = malloc(n * sizeof(float));
    tp_rng r;
    tp_rng_seed(&r, 11);
    for (size_t i = 0; i < PEERS * n; i++) {
        c->delta[i] = tp_rng_normal(&r) * 1e-3f;
        c->ef0[i] = tp_rng_normal(&r) * 1e-4f;
    }
    for (size_t i = 0; i < n; i++) c->theta0[i] = tp_rng_normal(&r) * 0.02f;
}

static void case_reset(codec_case *c) {
    memcpy(c->ef, c->ef0, PEERS * c->L.total * sizeof(float));
    memcpy(c->theta, c->theta0, c->L.total * sizeof(float));
}

static void case_free(codec_case *c) {
    for (int p = 0; p < PEERS; p++) free(c->bytes[p]);
    free(c->delta);
    free(c->ef);
    free(c->ef0);
    free(c->theta);
    free(c->theta0);
    free(c->theta_ref);
    tp_codec_ws_free(c->ws);
    tp_layout_free(&c->L);
}

/* One peer's payload: error feedback and compression of its Δ, then the signed wire bytes. */
static tp_status make_payload(codec_case *c, int p, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_update u;
    size_t n = c->L.total;
    tp_status st = tp_update_init_layout(&u, &c->L, &c->params, err);
    if (st) return st;
    st = tp_ef_compress_model(c->ef + p * n, c->delta + p * n, 0.95f, 1.f, &c->L, c->ws, &u, err);
    tp_wire_info info = {.window = 5, .uid = (uint32_t)(10 + p), .global_step = 8};
    snprintf(info.run_version, sizeof info.run_version, "1");
    if (!st) st = tp_wire_encode(&u, &c->model, &info, &c->key, bytes, len, err);
    tp_update_free(&u);
    return st;
}

/* The whole unit: three payloads made, read back as a receiver does, and applied. */
static tp_status unit(void *ctx, tp_err *err) {
    codec_case *c = ctx;
    uint8_t *bytes[PEERS] = {0};
    size_t len[PEERS] = {0};
    tp_payload pl[PEERS];
    memset(pl, 0, sizeof pl);
    tp_status st = TP_OK;
    for (int p = 0; !st && p < PEERS; p++) st = make_payload(c, p, &bytes[p], &len[p], err);
    for (int p = 0; !st && p < PEERS; p++) {
        tp_payload_expect exp = {.model = &c->model, .params = &c->params, .pubkey = c->key.pub};
        st = tp_payload_read(bytes[p], len[p], &exp, &pl[p], err);
    }
    if (!st) {
        const tp_update *peers[PEERS];
        uint32_t uids[PEERS];
        for (int p = 0; p < PEERS; p++) {
            peers[p] = &pl[p].update;
            uids[p] = (uint32_t)(10 + p);
        }
        st = tp_outer_step(c->theta, &c->L, peers, uids, PEERS, 1.f, c->ws, NULL, NULL, err);
    }
    for (int p = 0; p < PEERS; p++) {
        tp_payload_free(&pl[p]);
        if (!c->bytes[p] && !st) {
            c->bytes[p] = bytes[p]; /* the clean run: keep as the reference */
            c->len[p] = len[p];
        } else {
            if (!st) cr_assert(len[p] == c->len[p] && !memcmp(bytes[p], c->bytes[p], len[p]), "payload %d differs", p);
            free(bytes[p]);
        }
    }
    return st;
}

static void check(void *ctx, tp_status st, const tp_err *err, int fired) {
    codec_case *c = ctx;
    size_t bytes = c->L.total * sizeof(float);
    if (!c->theta_ref) {
        c->theta_ref = malloc(bytes);
        memcpy(c->theta_ref, c->theta, bytes);
    } else if (!st) {
        cr_assert(!memcmp(c->theta, c->theta_ref, bytes), "θ after the outer step differs from the clean run");
    } else {
        cr_assert(fired, "%s", err->msg); /* af_run_all checked the status */
        /* The outer step either completed or left θ untouched. */
        cr_assert(!memcmp(c->theta, c->theta0, bytes), "a failed outer step changed θ: %s", err->msg);
    }
    case_reset(c);
}

Test(alloc_fail, codec_compress_encode_validate_aggregate, .timeout = 300) {
    codec_case c = {0};
    case_init(&c);
    case_reset(&c);
    af_run_all(unit, check, &c, 1, AF_OURS);
    case_free(&c);
}

Test(alloc_fail, codec_with_jansson_failing_too, .timeout = 600) {
    codec_case c = {0};
    case_init(&c);
    case_reset(&c);
    af_run_all(unit, check, &c, 13, AF_WITH_JANSSON); /* jansson allocates ~15,000 times */
    case_free(&c);
}
