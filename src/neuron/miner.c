#include "neuron/miner.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "codec/compress.h"
#include "codec/wire.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/hex.h"
#include "data/sampler.h"
#include "model/train_step.h"
#include "neuron/gather.h"
#include "neuron/miner_state.h"

static void miner_free(tp_miner *m) {
    tp_update_free(&m->msg);
    tp_adamw_free(&m->opt);
    free(m->ef);
    free(m->batch);
    free(m->pool);
    tp_node_close(m->n);
}

tp_status tp_miner_await(tp_miner *m, int64_t block, tp_err *err) {
    double t = tp_now();
    tp_status st = tp_node_await_block(m->n, block, err);
    m->wait_s += tp_now() - t;
    return st;
}

/* ---------------------------------------------------------------- training and the message */

/* Whether another inner step still ends before m->train_until, judged by the steps so far this
 * window (done of them since t0) or else by the last window's. */
static int step_fits(const tp_miner *m, int done, double t0) {
    double step = done > 0 ? (tp_now() - t0) / done : m->step_s;
    return !isfinite(m->train_until) || tp_wall_now() + 1.25 * step + m->pack_s <= m->train_until;
}

tp_status tp_miner_train_samples(tp_miner *m, const uint64_t *samples, int steps, tp_err *err) {
    tp_node *n = m->n;
    const tp_train_config *tc = &n->rc.cfg.train;
    int B = tc->batch_size, T = n->rc.cfg.model.seq_len, s;
    size_t total = n->model->layout.total;
    memcpy(m->theta0, n->model->params, total * sizeof(float));
    if (n->rc.proto.reset_inner_optimizer) tp_adamw_reset_moments(&m->opt, total);
    double t0 = tp_now(), sum = 0;
    tp_status st = TP_OK;
    for (s = 0; s < steps && step_fits(m, s, t0); s++) {
        for (int i = 0; !st && i < B; i++)
            st = tp_shards_read_sample(n->shards, TP_SPLIT_TRAIN, T, samples[(size_t)s * B + i], m->batch + (size_t)i * T,
                                       err);
        tp_step_result r;
        double lr = tp_lr_at(tc, m->opt.step, INT64_MAX / 2);
        if (!st) st = tp_train_step(n->model, &m->opt, tc, m->batch, B, T, n->eot, lr, &r, err);
        if (st) return st;
        sum += r.loss;
        if (tp_node_stopped(n)) return tp_node_stopped_err(err);
    }
    for (size_t i = 0; i < total; i++) {
        m->delta[i] = m->theta0[i] - n->model->params[i];
        n->model->params[i] = m->theta0[i];
    }
    if (s < steps)
        tp_node_log(n, "trained %d of %d inner steps: the next would have ended after the window (%.2f s a step)", s,
                    steps, s ? (tp_now() - t0) / s : m->step_s);
    if (s > 0) m->step_s = (tp_now() - t0) / s;
    m->steps_done = s;
    m->loss = s > 0 ? sum / s : NAN;
    m->train_s += tp_now() - t0;
    m->tokens += (double)s * B * T;
    return TP_OK;
}

tp_status tp_miner_train(tp_miner *m, int64_t window, uint32_t data_uid, int steps, tp_err *err) {
    tp_node *n = m->n;
    int B = n->rc.cfg.train.batch_size, T = n->rc.cfg.model.seq_len, S = n->rc.proto.inner_steps;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, T);
    tp_status st = tp_sample_pool(data_uid, (uint64_t)window, ns, (uint64_t)S * B, m->pool, err);
    return st ? st : tp_miner_train_samples(m, m->pool, steps, err);
}

tp_status tp_miner_compress_ef(tp_miner *m, tp_err *err) {
    const tp_layout *L = &m->n->model->layout;
    return tp_ef_compress_model(m->ef, m->delta, (float)m->n->rc.proto.ef_beta, 1.f, L, m->n->ws, &m->msg, err);
}

/* This window's message in m->msg: zero in a null round, else the honest one or the hook's. */
static tp_status make_message(tp_miner *m, int64_t window, int null_round, tp_err *err) {
    tp_node *n = m->n;
    if (null_round) {
        memset(m->ef, 0, n->model->layout.total * sizeof(float));
        return tp_ef_compress_model(m->ef, NULL, 0.f, 1.f, &n->model->layout, n->ws, &m->msg, err);
    }
    /* Training stops in time for the update to be packed and stored from the next window's first block. */
    tp_status st = tp_node_block_due(n, tp_node_first_block(n, window + 1), &m->train_until, err);
    m->compress_s = 0;
    if (st) return st;
    if (m->hook && m->hook->message) return m->hook->message(m, window, err);
    if ((st = tp_miner_train(m, window, (uint32_t)n->uid, n->rc.proto.inner_steps, err))) return st;
    double t = tp_now();
    st = tp_miner_compress_ef(m, err);
    m->compress_s = tp_now() - t;
    return st;
}

tp_status tp_miner_encode(tp_miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_node *n = m->n;
    tp_wire_info info;
    memset(&info, 0, sizeof info);
    info.window = (uint64_t)window;
    info.uid = (uint32_t)n->uid;
    info.global_step = (uint64_t)m->opt.step;
    snprintf(info.run_version, sizeof info.run_version, "%s", n->rc.proto.run_version);
    crypto_generichash(info.sample_digest, sizeof info.sample_digest, (const uint8_t *)m->pool,
                       sizeof(uint64_t) * (size_t)n->rc.proto.inner_steps * (size_t)n->rc.cfg.train.batch_size, NULL,
                       0);
    return tp_wire_encode(&m->msg, &n->rc.cfg.model, &info, &n->wallet.key, bytes, len, err);
}

/* ---------------------------------------------------------------- one window */

/* Uploads gradient-W at the start of W+1. A failed upload loses nothing of an honest update: what
 * was not sent goes back into error feedback. */
static tp_status upload(tp_miner *m, int64_t window, int null_round, tp_err *err) {
    tp_node *n = m->n;
    tp_status st = tp_miner_await(m, tp_node_first_block(n, window + 1), err);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (st) return st;
    double t = tp_now();
    if (m->hook && m->hook->upload) st = m->hook->upload(m, window, null_round, &bytes, &len, err);
    else st = tp_miner_encode(m, window, &bytes, &len, err);
    if (st) return st;
    m->pack_s = m->compress_s + (tp_now() - t);
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_GRADIENT, window, n->uid, NULL, key, sizeof key);
    tp_err e;
    if (bytes && tp_store_put(n->store, key, bytes, len, &e)) {
        tp_node_log(n, "window %lld: upload failed (%s); keeping the update in error feedback", (long long)window, e.msg);
        int honest = !m->hook || !m->hook->message;
        if (honest && !null_round && !tp_decompress_model(&m->msg, &n->model->layout, n->ws, m->delta, &e))
            for (size_t i = 0; i < n->model->layout.total; i++) m->ef[i] += m->delta[i];
    } else
        m->bytes_up += len;
    free(bytes);
    return TP_OK;
}

/* Logs why the peers that did not count failed, when fewer than asked for were applied. */
static void log_failed_peers(tp_miner *m, int64_t window, const tp_window_gather *g) {
    for (int i = 0; i < g->n; i++) {
        if (g->payload[i].valid || g->fetch[i] == TP_FETCH_NOT_FOUND) continue;
        char when[128] = "";
        /* A time verdict says by how much: clocks and block times are what an operator checks. */
        if (g->fetch[i] == TP_FETCH_TOO_EARLY || g->fetch[i] == TP_FETCH_TOO_LATE)
            snprintf(when, sizeof when, " (stored %.3f s %s the put window %.3f..%.3f)",
                     g->fetch[i] == TP_FETCH_TOO_EARLY ? g->not_before - g->mtime[i] : g->mtime[i] - g->not_after,
                     g->fetch[i] == TP_FETCH_TOO_EARLY ? "before" : "after", g->not_before, g->not_after);
        tp_node_log(m->n, "window %lld: uid %lld: %s%s%s%s", (long long)window, (long long)g->uid[i],
                    tp_fetch_name(g->fetch[i]), g->fetch[i] == TP_FETCH_OK ? " but " : "",
                    g->fetch[i] == TP_FETCH_OK ? tp_reject_name(g->reject[i]) : "", when);
    }
}

/* Gathers the peers' updates once the put window closed and takes the outer step; *applied and
 * *gather_of say how many of how many were applied. */
static tp_status gather_and_step(tp_miner *m, int64_t window, int *applied, int *gather_of, tp_err *err) {
    tp_node *n = m->n;
    tp_window_gather g;
    int idx[TP_AGG_MAX_PEERS];
    size_t total = n->model->layout.total;
    tp_status st = tp_node_gather_peers(n, window, &g, err);
    if (!st) {
        m->bytes_down += g.bytes_down;
        *applied = tp_node_select_applied(n, &n->peers, &g, idx);
        *gather_of = tp_node_gather_of(n, &n->peers);
        if (*applied < *gather_of) log_failed_peers(m, window, &g);
        memcpy(m->theta0, n->model->params, total * sizeof(float));
        st = tp_node_outer_step(n, &g, idx, *applied, err);
    }
    tp_window_gather_free(&g);
    for (size_t i = 0; !st && i < total; i++) m->last_agg[i] = m->theta0[i] - n->model->params[i];
    return st;
}

static tp_status record_window(tp_miner *m, int64_t window, int null_round, int applied, int gather_of,
                               const char *hex, double wall, tp_err *err) {
    tp_node *n = m->n;
    double comm = wall - m->train_s - m->wait_s, tps = m->train_s > 0 ? m->tokens / m->train_s : 0;
    tp_node_log(n,
                "window %lld: loss %.4f, %.0f tok/s, up %llu B, down %llu B, %d/%d peers, train %.2f s, comm %.2f s, "
                "wait %.2f s, %d inner steps%s",
                (long long)window, m->loss, tps, (unsigned long long)m->bytes_up, (unsigned long long)m->bytes_down,
                applied, gather_of, m->train_s, comm, m->wait_s, m->steps_done, null_round ? " (null round)" : "");
    json_t *rec = json_pack("{ss sI sI ss so sf sf sI sI si si si sf sf sf sf so? sb sb}", "role", "miner", "uid",
                            (json_int_t)n->uid, "window", (json_int_t)window, "adversary",
                            m->hook ? m->hook->name : "none", "loss",
                            isfinite(m->loss) ? json_real(m->loss) : json_null(), "tokens", m->tokens, "tokens_per_s",
                            tps, "bytes_up",
                            (json_int_t)m->bytes_up, "bytes_down", (json_int_t)m->bytes_down, "gathered", applied,
                            "gather_of", gather_of, "inner_steps", m->steps_done, "train_s", m->train_s, "comm_s", comm,
                            "wait_s", m->wait_s,
                            "wall_s", wall, "fingerprint", hex[0] ? json_string(hex) : NULL, "catch_up", 0,
                            "null_round", null_round);
    return tp_node_metrics(n, rec, err);
}

/* One window: train, upload, gather, outer step, fingerprint, state. */
static tp_status run_window(void *ctx, int64_t window, tp_err *err) {
    tp_miner *m = ctx;
    tp_node *n = m->n;
    double t_start = tp_now();
    m->train_s = m->wait_s = m->tokens = 0;
    m->steps_done = 0;
    m->bytes_up = m->bytes_down = 0;
    m->loss = NAN;
    int null_round = window < n->start_window + n->rc.proto.null_rounds, applied = 0, gather_of = 0;
    tp_status st = tp_miner_await(m, tp_node_first_block(n, window), err);
    if (st || (st = tp_node_adopt_peers(n, window, err)) || (st = make_message(m, window, null_round, err)) ||
        (st = upload(m, window, null_round, err)) ||
        (st = tp_miner_await(m, tp_node_put_close_block(n, window), err)) ||
        (st = gather_and_step(m, window, &applied, &gather_of, err)))
        return st;
    tp_fingerprint fp;
    char hex[2 * TP_FP_HASH_BYTES + 1] = "";
    st = tp_node_publish_debug(n, window, applied, gather_of, &fp, err);
    if (!st) tp_hex(fp.hash, TP_FP_HASH_BYTES, hex);
    tp_fingerprint_free(&fp);
    if (st || (st = tp_node_save_state(n, window, &m->opt, m->ef, err))) return st;
    tp_node_retention(n, window);
    return record_window(m, window, null_round, applied, gather_of, hex, tp_now() - t_start, err);
}

/* ---------------------------------------------------------------- start and recovery */

/* Brings θ to the current window from the saved state (or the leader's checkpoint) and sets *next. */
static tp_status recover(void *ctx, int64_t *next, tp_err *err) {
    tp_miner *m = ctx;
    tp_node *n = m->n;
    int64_t saved = -1;
    tp_chain_info info;
    tp_status st = tp_node_load_state(n, &saved, &m->opt, m->ef, err);
    if (st || (st = tp_chain_info_get(n->chain, &info, err))) return st;
    *next = saved >= 0 ? saved + 1 : info.window <= n->start_window ? n->start_window : -1;
    int64_t to = info.window > n->start_window ? info.window : n->start_window;
    if ((st = tp_node_catch_up(n, next, to, err))) return st;
    /* What catch-up replayed is state too: a crash now must not replay it again. */
    return *next > n->start_window && *next - 1 > saved ? tp_node_save_state(n, *next - 1, &m->opt, m->ef, err)
                                                         : TP_OK;
}

static tp_status miner_open(tp_miner *m, const tp_node_opts *o, const tp_miner_hook *hook, tp_err *err) {
    memset(m, 0, sizeof *m);
    m->hook = hook;
    tp_run_config rc;
    tp_status st = tp_run_config_load(o->config, &rc, err);
    if (st || (st = tp_node_open(o, &rc, 1, rc.cfg.train.batch_size, &m->n, err))) return st;
    size_t total = m->n->model->layout.total;
    int B = rc.cfg.train.batch_size, T = rc.cfg.model.seq_len;
    if (!(m->ef = tp_calloc(4 * total, sizeof(float), err)) ||
        !(m->batch = tp_malloc(sizeof(int32_t) * (size_t)B * T, err)) ||
        !(m->pool = tp_malloc(sizeof(uint64_t) * (size_t)B * rc.proto.inner_steps, err)))
        return err->code;
    m->theta0 = m->ef + total;
    m->delta = m->ef + 2 * total;
    m->last_agg = m->ef + 3 * total;
    if ((st = tp_adamw_init(&m->opt, &m->n->model->layout, err))) return st;
    return tp_update_init_layout(&m->msg, &m->n->model->layout, &rc.codec, err);
}

tp_status tp_miner_run_hooked(const tp_node_opts *o, const tp_miner_hook *hook, tp_err *err) {
    tp_miner m;
    int64_t next = -1;
    tp_status st = miner_open(&m, o, hook, err);
    if (!st) st = tp_node_start_window(m.n, err);
    if (!st) st = recover(&m, &next, err);
    if (!st) {
        tp_node_log(m.n, "%s miner starting at window %lld (start window %lld)", hook ? hook->name : "honest",
                    (long long)next, (long long)m.n->start_window);
        tp_window_runner r = {.window = run_window, .recover = recover, .ctx = &m};
        st = tp_node_run_windows(m.n, &r, next, err);
    }
    miner_free(&m);
    return st;
}

tp_status tp_miner_run(const tp_node_opts *o, tp_err *err) { return tp_miner_run_hooked(o, NULL, err); }
