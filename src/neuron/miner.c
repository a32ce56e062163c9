#include "neuron/miner.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "codec/aggregate.h"
#include "codec/compress.h"
#include "codec/wire.h"
#include "core/clock.h"
#include "core/hex.h"
#include "core/rng.h"
#include "data/sampler.h"
#include "model/train_step.h"

static const char *const adversary_names[TP_ADV_COUNT] = {
    "none", "noise", "zero", "copy", "scale", "stale", "late", "garbage", "nan", "free-rider", "wrong-data"};

const char *tp_adversary_name(tp_adversary a) {
    return a >= 0 && a < TP_ADV_COUNT ? adversary_names[a] : "?";
}

int tp_adversary_parse(const char *s, tp_adversary *out) {
    for (int i = 0; i < TP_ADV_COUNT; i++)
        if (!strcmp(s, adversary_names[i])) {
            *out = (tp_adversary)i;
            return 0;
        }
    return -1;
}

void tp_adversary_list(char *out, size_t cap) {
    size_t len = 0;
    if (cap) out[0] = 0;
    for (int i = TP_ADV_NONE + 1; i < TP_ADV_COUNT && len < cap; i++) {
        int k = snprintf(out + len, cap - len, "%s%s", len ? " " : "", adversary_names[i]);
        if (k < 0) break;
        len += (size_t)k;
    }
}

/* A pool of samples no miner holds: wrong-data trains there. */
#define WRONG_DATA_UID_OFFSET 1000003u

typedef struct {
    tp_node n;
    tp_adversary adv;
    tp_adamw opt;
    float *ef, *theta0, *delta, *last_agg; /* one allocation of 4 × total floats */
    int32_t *batch;
    uint64_t *pool;
    tp_update msg, stale;
    int have_stale;
    /* per-window figures */
    double loss, train_s, wait_s, tokens;
    uint64_t bytes_up, bytes_down;
} miner;

static void miner_free(miner *m) {
    tp_update_free(&m->msg);
    tp_update_free(&m->stale);
    tp_adamw_free(&m->opt);
    free(m->ef);
    free(m->batch);
    free(m->pool);
    tp_node_close(&m->n);
}

static tp_status await_block(miner *m, int64_t block, tp_err *err) {
    double t = tp_now();
    tp_status st = tp_node_await_block(&m->n, block, err);
    m->wait_s += tp_now() - t;
    return st;
}

static void update_copy(tp_update *dst, const tp_update *src) {
    for (int t = 0; t < src->n; t++) {
        const tp_sparse *a = &src->t[t];
        tp_sparse *b = &dst->t[t];
        size_t cnt = (size_t)(a->geom.nblocks * a->k);
        memcpy(b->idx, a->idx, cnt * sizeof *a->idx);
        memcpy(b->codes, a->codes, cnt);
        b->shift = a->shift;
        b->scale = a->scale;
        memcpy(b->lookup, a->lookup, sizeof a->lookup);
    }
}

/* Inner steps on the pool of (uid, W); leaves Δ = θ_start − θ_end in m->delta and θ at θ_start. */
static tp_status train_window(miner *m, int64_t window, tp_err *err) {
    tp_node *n = &m->n;
    const tp_train_config *tc = &n->rc.cfg.train;
    int B = tc->batch_size, T = n->rc.cfg.model.seq_len, S = n->rc.proto.inner_steps;
    size_t total = n->model->layout.total;
    uint32_t data_uid = (uint32_t)n->uid + (m->adv == TP_ADV_WRONG_DATA ? WRONG_DATA_UID_OFFSET : 0);
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, T);
    tp_status st = tp_sample_pool(data_uid, (uint64_t)window, ns, (uint64_t)S * B, m->pool, err);
    if (st) return st;
    memcpy(m->theta0, n->model->params, total * sizeof(float));
    double t0 = tp_now(), sum = 0;
    for (int s = 0; s < S; s++) {
        for (int i = 0; !st && i < B; i++)
            st = tp_shards_read_sample(n->shards, TP_SPLIT_TRAIN, T, m->pool[(size_t)s * B + i], m->batch + (size_t)i * T,
                                       err);
        tp_step_result r;
        double lr = tp_lr_at(tc, m->opt.step, INT64_MAX / 2);
        if (!st) st = tp_train_step(n->model, &m->opt, tc, m->batch, B, T, n->eot, lr, &r, err);
        if (st) return st;
        sum += r.loss;
        if (n->o.stop && *n->o.stop) return tp_fail(err, TP_ERR_STOPPED, "stopped");
    }
    for (size_t i = 0; i < total; i++) {
        m->delta[i] = m->theta0[i] - n->model->params[i];
        n->model->params[i] = m->theta0[i];
    }
    m->loss = sum / S;
    m->train_s += tp_now() - t0;
    m->tokens += (double)S * B * T;
    return TP_OK;
}

/* Replaces Δ by Gaussian noise of the same norm per tensor. */
static void noise_like_delta(miner *m, int64_t window) {
    const tp_layout *L = &m->n.model->layout;
    tp_rng r;
    tp_rng_seed(&r, ((uint64_t)m->n.uid << 32) ^ (uint64_t)window ^ 0x6e6f697365ULL);
    for (int t = 0; t < L->n_tensors; t++) {
        float *d = m->delta + L->tensors[t].offset;
        size_t cnt = (size_t)L->tensors[t].count;
        double ss = 0, sn = 0;
        for (size_t i = 0; i < cnt; i++) ss += (double)d[i] * d[i];
        for (size_t i = 0; i < cnt; i++) {
            d[i] = tp_rng_normal(&r);
            sn += (double)d[i] * d[i];
        }
        float f = sn > 0 ? (float)sqrt(ss / sn) : 0.f;
        for (size_t i = 0; i < cnt; i++) d[i] *= f;
    }
}

/* Builds this window's message in m->msg: the honest path (error feedback) or an adversary's. */
static tp_status make_message(miner *m, int64_t window, int null_round, tp_err *err) {
    tp_node *n = &m->n;
    const tp_layout *L = &n->model->layout;
    size_t total = L->total;
    float beta = (float)n->rc.proto.ef_beta;
    tp_status st;
    if (null_round) {
        memset(m->ef, 0, total * sizeof(float));
        return tp_ef_compress_model(m->ef, NULL, 0.f, 1.f, L, n->ws, &m->msg, err);
    }
    switch (m->adv) {
    case TP_ADV_NOISE:
        if ((st = train_window(m, window, err))) return st;
        noise_like_delta(m, window);
        return tp_compress_model(m->delta, L, n->ws, &m->msg, err);
    case TP_ADV_ZERO:
        memset(m->delta, 0, total * sizeof(float));
        return tp_compress_model(m->delta, L, n->ws, &m->msg, err);
    case TP_ADV_FREE_RIDER:
        return tp_compress_model(m->last_agg, L, n->ws, &m->msg, err);
    case TP_ADV_STALE:
        if (m->have_stale) {
            update_copy(&m->msg, &m->stale);
            if ((st = train_window(m, window, err))) return st; /* keeps the optimizer moving; not sent */
            return tp_ef_compress_model(m->ef, m->delta, beta, 1.f, L, n->ws, &m->stale, err);
        }
        if ((st = train_window(m, window, err)) || (st = tp_ef_compress_model(m->ef, m->delta, beta, 1.f, L, n->ws,
                                                                             &m->stale, err)))
            return st;
        update_copy(&m->msg, &m->stale);
        m->have_stale = 1;
        return TP_OK;
    default:
        if ((st = train_window(m, window, err)) ||
            (st = tp_ef_compress_model(m->ef, m->delta, beta, 1.f, L, n->ws, &m->msg, err)))
            return st;
        if (m->adv == TP_ADV_SCALE)
            for (int t = 0; t < m->msg.n; t++) {
                tp_sparse *s = &m->msg.t[t];
                s->shift *= 100.f;
                s->scale *= 100.f;
                for (int b = 0; b < TP_CODEC_MAX_BINS; b++) s->lookup[b] *= 100.f;
            }
        if (m->adv == TP_ADV_NAN) m->msg.t[0].lookup[0] = NAN;
        return TP_OK;
    }
}

/* The copier re-signs the first other gather peer's upload as its own once it appears. */
static tp_status copy_victim(miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_node *n = &m->n;
    int64_t victim = -1;
    for (int i = 0; i < n->peers.n_gather && victim < 0; i++)
        if (n->peers.gather[i] != n->uid) victim = n->peers.gather[i];
    if (victim < 0) return tp_fail(err, TP_ERR_IO, "copy: no other peer to copy");
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_GRADIENT, window, victim, NULL, key, sizeof key);
    for (int tries = 0; tries < 500; tries++) {
        char *data;
        size_t dlen;
        int found;
        tp_status st = tp_node_get_small(n, victim, key, n->max_payload, &data, &dlen, NULL, &found, err);
        if (st) return st;
        if (found) {
            tp_payload p;
            tp_payload_expect exp = {.model = &n->rc.cfg.model, .params = &n->rc.codec};
            st = tp_payload_read((const uint8_t *)data, dlen, &exp, &p, err);
            free(data);
            if (!st) {
                tp_wire_info info = p.info;
                info.uid = (uint32_t)n->uid;
                st = tp_wire_encode(&p.update, &n->rc.cfg.model, &info, m->n.wallet.sk, bytes, len, err);
            }
            tp_payload_free(&p);
            return st;
        }
        tp_sleep(0.01);
    }
    return tp_fail(err, TP_ERR_IO, "copy: uid %lld uploaded nothing for window %lld", (long long)victim,
                   (long long)window);
}

static tp_status encode(miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_node *n = &m->n;
    if (m->adv == TP_ADV_GARBAGE) {
        size_t sz = n->max_payload / 4 + 64;
        uint8_t *g = malloc(sz);
        if (!g) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
        tp_rng r;
        tp_rng_seed(&r, (uint64_t)window * 7919u + (uint64_t)n->uid);
        for (size_t i = 0; i < sz; i++) g[i] = (uint8_t)tp_rng_next(&r);
        memcpy(g, "\x40\0\0\0\0\0\0\0{\"__metadata__\":{\"format\":\"templar\"", 40);
        *bytes = g;
        *len = sz;
        return TP_OK;
    }
    tp_wire_info info;
    memset(&info, 0, sizeof info);
    info.window = (uint64_t)window;
    info.uid = (uint32_t)n->uid;
    info.global_step = (uint64_t)m->opt.step;
    snprintf(info.run_version, sizeof info.run_version, "%s", n->rc.proto.run_version);
    crypto_generichash(info.sample_digest, sizeof info.sample_digest, (const uint8_t *)m->pool,
                       sizeof(uint64_t) * (size_t)n->rc.proto.inner_steps * (size_t)n->rc.cfg.train.batch_size, NULL,
                       0);
    return tp_wire_encode(&m->msg, &n->rc.cfg.model, &info, n->wallet.sk, bytes, len, err);
}

/* One window: train, upload, gather, outer step, fingerprint, state. */
static tp_status run_window(miner *m, int64_t window, tp_err *err) {
    tp_node *n = &m->n;
    const tp_protocol *p = &n->rc.proto;
    double t_start = tp_now();
    m->train_s = m->wait_s = m->tokens = 0;
    m->bytes_up = m->bytes_down = 0;
    m->loss = NAN;
    tp_status st = await_block(m, tp_node_first_block(n, window), err);
    if (st || (st = tp_node_adopt_peers(n, window, err))) return st;
    int null_round = window < n->start_window + p->null_rounds;
    if ((st = make_message(m, window, null_round, err))) return st;

    /* Upload at the start of W+1 (the late adversary after the put window). */
    if ((st = await_block(m, tp_node_first_block(n, window + 1), err))) return st;
    if (m->adv == TP_ADV_LATE) {
        /* Certainly after the put window closed, whatever the store's timestamp resolution. */
        double nb, na;
        if ((st = await_block(m, tp_node_put_close_block(n, window), err)) ||
            (st = tp_node_put_window(n, window, &nb, &na, err)))
            return st;
        double margin = tp_store_is_local(n->store) ? 0.05 : 1.5;
        tp_sleep(na + margin - tp_wall_now());
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    st = m->adv == TP_ADV_COPY && !null_round ? copy_victim(m, window, &bytes, &len, err)
                                              : encode(m, window, &bytes, &len, err);
    if (st && st != TP_ERR_STOPPED && m->adv == TP_ADV_COPY) {
        tp_node_log(n, "window %lld: nothing to copy: %s", (long long)window, err->msg);
        st = TP_OK;
    }
    if (st) return st;
    char key[TP_KEY_MAX];
    tp_node_key(n, TP_KEY_GRADIENT, window, n->uid, NULL, key, sizeof key);
    tp_err e;
    if (bytes && tp_store_put(n->store, key, bytes, len, &e)) {
        /* Nothing of the update is lost: what was not sent goes back into error feedback. */
        tp_node_log(n, "window %lld: upload failed (%s); keeping the update in error feedback", (long long)window, e.msg);
        if (m->adv == TP_ADV_NONE && !null_round) {
            float *tmp = m->delta;
            if (!tp_decompress_model(&m->msg, &n->model->layout, n->ws, tmp, &e))
                for (size_t i = 0; i < n->model->layout.total; i++) m->ef[i] += tmp[i];
        }
    } else
        m->bytes_up += len;
    free(bytes);

    /* Gather the peers' updates once the put window closed, and take the outer step. */
    if ((st = await_block(m, tp_node_put_close_block(n, window), err))) return st;
    tp_window_gather g;
    if ((st = tp_node_gather_peers(n, window, &g, err))) return st;
    m->bytes_down += g.bytes_down;
    int idx[TP_AGG_MAX_PEERS];
    int applied = tp_node_select_applied(n, &n->peers, &g, idx);
    int gather_of = n->peers.n_gather < p->gather_peers ? n->peers.n_gather : p->gather_peers;
    if (applied < gather_of)
        for (int i = 0; i < g.n; i++)
            if (!g.payload[i].valid && g.fetch[i] != TP_FETCH_NOT_FOUND)
                tp_node_log(n, "window %lld: uid %lld: %s%s%s", (long long)window, (long long)g.uid[i],
                            tp_fetch_name(g.fetch[i]), g.fetch[i] == TP_FETCH_OK ? " but " : "",
                            g.fetch[i] == TP_FETCH_OK ? tp_reject_name(g.reject[i]) : "");
    size_t total = n->model->layout.total;
    memcpy(m->theta0, n->model->params, total * sizeof(float));
    st = tp_node_outer_step(n, &g, idx, applied, err);
    tp_window_gather_free(&g);
    if (st) return st;
    for (size_t i = 0; i < total; i++) m->last_agg[i] = m->theta0[i] - n->model->params[i];

    tp_fingerprint fp = {0};
    char hex[2 * TP_FP_HASH_BYTES + 1] = "";
    if (tp_node_publish_debug(n, window, applied, gather_of, &fp, &e))
        tp_node_log(n, "window %lld: debug fingerprint not published: %s", (long long)window, e.msg);
    if (fp.samples) tp_hex(fp.hash, TP_FP_HASH_BYTES, hex);
    tp_fingerprint_free(&fp);
    if ((st = tp_node_save_state(n, window, &m->opt, m->ef, err))) return st;
    tp_node_retention(n, window);

    double wall = tp_now() - t_start, comm = wall - m->train_s - m->wait_s;
    double tps = m->train_s > 0 ? m->tokens / m->train_s : 0;
    tp_node_log(n,
                "window %lld: loss %.4f, %.0f tok/s, up %llu B, down %llu B, %d/%d peers, train %.2f s, comm %.2f s, "
                "wait %.2f s%s",
                (long long)window, m->loss, tps, (unsigned long long)m->bytes_up, (unsigned long long)m->bytes_down,
                applied, gather_of, m->train_s, comm, m->wait_s, null_round ? " (null round)" : "");
    json_t *rec = json_pack("{ss sI sI ss so sf sI sI si si sf sf sf sf so? sb sb}", "role", "miner", "uid",
                            (json_int_t)n->uid, "window", (json_int_t)window, "adversary", tp_adversary_name(m->adv),
                            "loss", isfinite(m->loss) ? json_real(m->loss) : json_null(), "tokens_per_s", tps,
                            "bytes_up", (json_int_t)m->bytes_up, "bytes_down", (json_int_t)m->bytes_down, "gathered",
                            applied, "gather_of", gather_of, "train_s", m->train_s, "comm_s", comm, "wait_s",
                            m->wait_s, "wall_s", wall, "fingerprint", hex[0] ? json_string(hex) : NULL, "catch_up", 0,
                            "null_round", null_round);
    return tp_node_metrics(n, rec, err);
}

tp_status tp_miner_run(const tp_node_opts *o, tp_adversary adv, tp_err *err) {
    miner m;
    memset(&m, 0, sizeof m);
    m.adv = adv;
    tp_node_opts no = *o;
    no.with_grads = 1;
    tp_run_config rc;
    tp_status st = tp_run_config_load(o->config, &rc, err);
    if (st) return st;
    no.batch = rc.cfg.train.batch_size;
    if ((st = tp_node_open(&m.n, &no, &rc, err))) {
        miner_free(&m);
        return st;
    }
    tp_node *n = &m.n;
    size_t total = n->model->layout.total;
    int B = rc.cfg.train.batch_size, T = rc.cfg.model.seq_len;
    m.ef = calloc(4 * total, sizeof(float));
    m.batch = malloc(sizeof(int32_t) * (size_t)B * T);
    m.pool = malloc(sizeof(uint64_t) * (size_t)B * rc.proto.inner_steps);
    if (!m.ef || !m.batch || !m.pool) st = tp_fail(err, TP_ERR_NOMEM, "miner: out of memory");
    else {
        m.theta0 = m.ef + total;
        m.delta = m.ef + 2 * total;
        m.last_agg = m.ef + 3 * total;
        if (!(st = tp_adamw_init(&m.opt, &n->model->layout, err)) &&
            !(st = tp_update_init_layout(&m.msg, &n->model->layout, &rc.codec, err)))
            st = tp_update_init_layout(&m.stale, &n->model->layout, &rc.codec, err);
    }
    int64_t next = -1;
    if (!st) st = tp_node_start_window(n, err);
    if (!st) st = tp_node_load_state(n, &next, &m.opt, m.ef, err);
    if (!st) {
        if (next >= 0) next++;
        tp_chain_info info;
        if (!(st = tp_chain_info_get(n->chain, &info, err))) {
            int64_t to = info.window > n->start_window ? info.window : n->start_window;
            if (next < 0 && info.window <= n->start_window) next = n->start_window;
            tp_node_log(n, "%s miner starting at window %lld (start window %lld)", tp_adversary_name(adv),
                        (long long)to, (long long)n->start_window);
            st = tp_node_catch_up(n, &next, to, err);
            if (!st && next > n->start_window) st = tp_node_save_state(n, next - 1, &m.opt, m.ef, err);
        }
    }
    while (!st) {
        st = run_window(&m, next, err);
        if (!st) next++;
        else if (st == TP_ERR_IO) {
            /* Storage or chain trouble: report it, go back to the last saved state and catch up. */
            tp_node_log(n, "window %lld: %s; retrying from the saved state", (long long)next, err->msg);
            tp_sleep(1);
            next = -1;
            tp_chain_info info;
            if (!(st = tp_node_load_state(n, &next, &m.opt, m.ef, err)) &&
                !(st = tp_chain_info_get(n->chain, &info, err))) {
                next = next >= 0 ? next + 1 : -1;
                st = tp_node_catch_up(n, &next, info.window > next ? info.window : next, err);
            }
        }
    }
    miner_free(&m);
    return st;
}
