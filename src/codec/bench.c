#include "codec/bench.h"

#include <math.h>
#include <omp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "codec/compress.h"
#include "codec/validate.h"
#include "codec/wire.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "model/layout.h"

/* Fills x with approximately N(0, sigma^2) values (sum of four uniforms), in parallel over fixed
 * chunks with their own seeds, so the contents do not depend on the thread count. */
static void fill_gaussian(float *x, size_t n, uint64_t seed, float sigma) {
    const size_t chunk = (size_t)1 << 20;
    const int64_t nchunks = (int64_t)((n + chunk - 1) / chunk);
    /* Var of the sum of 4 U(0,1) is 1/3. */
    const float scale = sigma * sqrtf(3.0f) / 65536.0f;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        tp_rng r;
        tp_rng_seed(&r, seed * 1000003u + (uint64_t)c);
        size_t a = (size_t)c * chunk, b = a + chunk < n ? a + chunk : n;
        for (size_t i = a; i < b; i++) {
            uint64_t u = tp_rng_next(&r);
            int32_t s = (int32_t)(u & 0xffff) + (int32_t)(u >> 16 & 0xffff) + (int32_t)(u >> 32 & 0xffff) +
                        (int32_t)(u >> 48) - 2 * 65535;
            x[i] = (float)s * scale;
        }
    }
}

static void say(void (*progress)(const char *, void *), void *ctx, const char *what) {
    if (progress) progress(what, ctx);
}

tp_status tp_codec_bench(const tp_model_config *m, const tp_codec_params *p, int reps, tp_codec_bench_result *out,
                         void (*progress)(const char *phase, void *ctx), void *ctx, tp_err *err) {
    memset(out, 0, sizeof *out);
    if (reps < 1) return tp_fail(err, TP_ERR_ARG, "bench: reps must be at least 1");
    if (sodium_init() < 0) return tp_fail(err, TP_ERR_INTERNAL, "libsodium failed to initialise");
    tp_layout L;
    tp_status st = tp_layout_init(m, &L, err);
    if (st) return st;
    const size_t n = L.total;
    float *theta = NULL, *delta = NULL, *e = NULL, *dense = NULL;
    uint8_t *payload[TP_BENCH_PEERS] = {0};
    size_t plen[TP_BENCH_PEERS] = {0};
    tp_codec_ws *ws = NULL;
    tp_update u = {0};
    tp_payload got[TP_BENCH_PEERS];
    memset(got, 0, sizeof got);
    if (!(theta = tp_malloc(n * sizeof(float), err)) || !(delta = tp_malloc(n * sizeof(float), err)) ||
        !(e = tp_malloc(n * sizeof(float), err)) || !(dense = tp_malloc(n * sizeof(float), err))) {
        st = TP_ERR_NOMEM;
        goto done;
    }
    if ((st = tp_codec_ws_new(0, &ws, err)) || (st = tp_codec_ws_reserve_layout(ws, &L, p, err)) ||
        (st = tp_update_init_layout(&u, &L, p, err)))
        goto done;
    /* sr25519, as Bittensor hotkeys sign: the validation timed below verifies what the network does. */
    tp_keypair key;
    uint8_t seed[32] = {7};
    if ((st = tp_keypair_from_seed(TP_KEY_SR25519, seed, &key, err))) goto done;
    tp_wire_info info = {.window = 1, .uid = 0, .global_step = 1};
    snprintf(info.run_version, sizeof info.run_version, "bench");
    out->params = (int64_t)n;
    out->threads = ws->nthreads;
    out->reps = reps;

    /* Peers' payloads first (untimed): each its own pseudo-gradient through error feedback. */
    say(progress, ctx, "preparing peers");
    for (int i = 0; i < TP_BENCH_PEERS; i++) {
        fill_gaussian(delta, n, 100 + (uint64_t)i, 1e-3f);
        memset(e, 0, n * sizeof(float));
        info.uid = (uint32_t)i;
        if ((st = tp_ef_compress_model(e, delta, 0.95f, 1.0f, &L, ws, &u, err)) ||
            (st = tp_wire_encode(&u, m, &info, &key, &payload[i], &plen[i], err)))
            goto done;
    }
    fill_gaussian(theta, n, 1, 0.02f);
    fill_gaussian(delta, n, 2, 1e-3f);
    fill_gaussian(e, n, 3, 1e-3f);
    info.uid = 0;

    say(progress, ctx, "compress");
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        uint8_t *buf;
        size_t len;
        double t0 = tp_now();
        if ((st = tp_ef_compress_model(e, delta, 0.95f, 1.0f, &L, ws, &u, err)) ||
            (st = tp_wire_encode(&u, m, &info, &key, &buf, &len, err)))
            goto done;
        double t = tp_now() - t0;
        best = t < best ? t : best;
        out->payload_bytes = len;
        free(buf);
    }
    out->compress_s = best;

    say(progress, ctx, "decompress");
    tp_payload_expect exp = {.model = m, .params = p, .check_window = 1, .window = 1, .check_uid = 1, .uid = 0,
                             .run_version = "bench", .pubkey = key.pub};
    best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = tp_now();
        if ((st = tp_payload_read(payload[0], plen[0], &exp, &got[0], err)) ||
            (st = tp_decompress_model(&got[0].update, &L, ws, dense, err)))
            goto done;
        double t = tp_now() - t0;
        best = t < best ? t : best;
        tp_payload_free(&got[0]);
    }
    out->decompress_s = best;

    say(progress, ctx, "aggregate");
    best = INFINITY;
    for (int r = 0; r < reps; r++) {
        const tp_update *peers[TP_BENCH_PEERS];
        uint32_t uids[TP_BENCH_PEERS];
        tp_payload_expect exps[TP_BENCH_PEERS];
        tp_status sts[TP_BENCH_PEERS];
        tp_err errs[TP_BENCH_PEERS];
        const uint8_t *bufs[TP_BENCH_PEERS];
        for (int i = 0; i < TP_BENCH_PEERS; i++) {
            exps[i] = exp;
            exps[i].uid = (uint32_t)i;
            bufs[i] = payload[i];
            peers[i] = &got[i].update;
            uids[i] = (uint32_t)i;
        }
        double t0 = tp_now();
        tp_payload_read_many(bufs, plen, exps, TP_BENCH_PEERS, got, sts, errs);
        for (int i = 0; i < TP_BENCH_PEERS; i++)
            if (sts[i]) {
                st = tp_fail(err, sts[i], "bench: peer %d: %s", i, errs[i].msg);
                goto done;
            }
        int skipped = 0;
        if ((st = tp_outer_step(theta, &L, peers, uids, TP_BENCH_PEERS, 1.0f, ws, NULL, &skipped, err))) goto done;
        double t = tp_now() - t0;
        best = t < best ? t : best;
        for (int i = 0; i < TP_BENCH_PEERS; i++) tp_payload_free(&got[i]);
    }
    out->aggregate8_s = best;

    out->compress_mparam_s = (double)n / out->compress_s / 1e6;
    out->decompress_mparam_s = (double)n / out->decompress_s / 1e6;
    out->aggregate8_mparam_s = (double)n / out->aggregate8_s / 1e6;
    out->bytes_per_param = (double)out->payload_bytes / (double)n;
done:
    for (int i = 0; i < TP_BENCH_PEERS; i++) {
        tp_payload_free(&got[i]);
        free(payload[i]);
    }
    tp_update_free(&u);
    tp_codec_ws_free(ws);
    free(theta);
    free(delta);
    free(e);
    free(dense);
    tp_layout_free(&L);
    return st;
}
