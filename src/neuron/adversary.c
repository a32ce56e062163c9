#include "neuron/adversary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/compress.h"
#include "codec/validate.h"
#include "codec/wire.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/rng.h"
#include "data/sampler.h"
#include "neuron/miner_state.h"

static const char *const adversary_names[TP_ADV_COUNT] = {
    "none", "noise",      "zero",    "copy",  "scale",     "stale", "late", "garbage", "nan", "free-rider",
    "wrong-data", "noisy-copy", "partial", "sybil", "lazy-data", "slow"};

/* A pool of samples no miner holds: wrong-data trains there. */
#define WRONG_DATA_UID_OFFSET 1000003u
/* How far the scale adversary blows its update up. */
#define SCALE_FACTOR 100.f
/* The late adversary's upload comes this long after the put window closed, beyond any store's
 * timestamp resolution (whole seconds on S3). */
#define LATE_MARGIN_FILE_S 0.05
#define LATE_MARGIN_S3_S 1.5
/* The share of a victim's positions per block the noisy copier keeps: below the copy check's 0.4. */
#define NOISY_COPY_KEEP 0.25

const char *tp_adversary_name(tp_adversary a) { return a >= 0 && a < TP_ADV_COUNT ? adversary_names[a] : "?"; }

int tp_adversary_parse(const char *s, tp_adversary_spec *out) {
    const char *at = strchr(s, '@');
    size_t len = at ? (size_t)(at - s) : strlen(s);
    out->partner = -1;
    for (int i = 0; i < TP_ADV_COUNT; i++) {
        if (strlen(adversary_names[i]) != len || strncmp(s, adversary_names[i], len)) continue;
        out->mode = (tp_adversary)i;
        if (!at) return 0;
        char *end;
        long long u = i == TP_ADV_SYBIL ? strtoll(at + 1, &end, 10) : -1;
        if (u < 0 || u >= TP_CHAIN_MAX_UIDS || end == at + 1 || *end) return -1;
        out->partner = u;
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

typedef struct {
    tp_adversary_spec spec;
    tp_update stale; /* the stale adversary's update of the window before */
    int have_stale;
} adversary;

/* ---------------------------------------------------------------- messages */

static tp_status honest(tp_miner *m, int64_t window, uint32_t data_uid, tp_err *err) {
    tp_status st = tp_miner_train(m, window, data_uid, m->n->rc.proto.inner_steps, err);
    return st ? st : tp_miner_compress_ef(m, err);
}

/* Replaces Δ by Gaussian noise of the same norm per tensor. */
static void noise_like_delta(tp_miner *m, int64_t window) {
    const tp_layout *L = &m->n->model->layout;
    tp_rng r;
    tp_rng_seed(&r, ((uint64_t)m->n->uid << 32) ^ (uint64_t)window ^ 0x6e6f697365ULL);
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

/* Sends last window's update; this window's training only refreshes the one it sends next. */
static tp_status stale_message(tp_miner *m, adversary *a, int64_t window, tp_err *err) {
    tp_node *n = m->n;
    tp_status st = TP_OK;
    if (!a->stale.n && (st = tp_update_init_layout(&a->stale, &n->model->layout, &n->rc.codec, err))) return st;
    if (a->have_stale) update_copy(&m->msg, &a->stale);
    if ((st = tp_miner_train(m, window, (uint32_t)n->uid, n->rc.proto.inner_steps, err)) ||
        (st = tp_ef_compress_model(m->ef, m->delta, (float)n->rc.proto.ef_beta, 1.f, &n->model->layout, n->ws,
                                   &a->stale, err)))
        return st;
    if (!a->have_stale) update_copy(&m->msg, &a->stale);
    a->have_stale = 1;
    return TP_OK;
}

static void scale_message(tp_update *u, float f) {
    for (int t = 0; t < u->n; t++) {
        tp_sparse *s = &u->t[t];
        s->shift *= f;
        s->scale *= f;
        for (int b = 0; b < TP_CODEC_MAX_BINS; b++) s->lookup[b] *= f;
    }
}

/* The pair's one unit of work, done the same in both processes (same θ, same optimizer path): half
 * the inner steps on each partner's pool, lower uid first. Each then keeps the in-block positions of
 * its uid's parity, so the two uploads are disjoint halves of one update. */
static tp_status sybil_message(tp_miner *m, adversary *a, int64_t window, tp_err *err) {
    tp_node *n = m->n;
    int B = n->rc.cfg.train.batch_size, S = n->rc.proto.inner_steps, half = S / 2 > 0 ? S / 2 : 1;
    int64_t lo = n->uid < a->spec.partner ? n->uid : a->spec.partner, hi = lo == n->uid ? a->spec.partner : n->uid;
    uint64_t ns = tp_shards_num_samples(n->shards, TP_SPLIT_TRAIN, n->rc.cfg.model.seq_len);
    uint64_t *both = tp_malloc(sizeof(uint64_t) * (size_t)(2 * half) * B, err);
    if (!both) return err->code;
    tp_status st = tp_sample_pool((uint32_t)hi, (uint64_t)window, ns, (uint64_t)S * B, m->pool, err);
    if (!st) memcpy(both + (size_t)half * B, m->pool, sizeof(uint64_t) * (size_t)half * B);
    if (!st) st = tp_sample_pool((uint32_t)lo, (uint64_t)window, ns, (uint64_t)S * B, m->pool, err);
    if (!st) memcpy(both, m->pool, sizeof(uint64_t) * (size_t)half * B);
    if (!st) st = tp_miner_train_samples(m, both, 2 * half, err);
    free(both);
    if (!st) st = tp_sample_pool((uint32_t)n->uid, (uint64_t)window, ns, (uint64_t)S * B, m->pool, err);
    const tp_layout *L = &n->model->layout;
    for (size_t i = 0; !st && i < L->total; i++)
        if ((int64_t)(i & 1) != (n->uid & 1)) m->delta[i] = 0;
    return st ? st : tp_compress_model(m->delta, L, n->ws, &m->msg, err);
}

static tp_status message(tp_miner *m, int64_t window, tp_err *err) {
    adversary *a = m->hook->ctx;
    tp_node *n = m->n;
    const tp_layout *L = &n->model->layout;
    int S = n->rc.proto.inner_steps;
    tp_status st;
    switch (a->spec.mode) {
    case TP_ADV_NOISE:
        if ((st = tp_miner_train(m, window, (uint32_t)n->uid, n->rc.proto.inner_steps, err))) return st;
        noise_like_delta(m, window);
        return tp_compress_model(m->delta, L, n->ws, &m->msg, err);
    case TP_ADV_ZERO:
        memset(m->delta, 0, L->total * sizeof(float));
        return tp_compress_model(m->delta, L, n->ws, &m->msg, err);
    case TP_ADV_FREE_RIDER: return tp_compress_model(m->last_agg, L, n->ws, &m->msg, err);
    case TP_ADV_STALE: return stale_message(m, a, window, err);
    case TP_ADV_WRONG_DATA: return honest(m, window, (uint32_t)n->uid + WRONG_DATA_UID_OFFSET, err);
    case TP_ADV_SCALE:
        if (!(st = honest(m, window, (uint32_t)n->uid, err))) scale_message(&m->msg, SCALE_FACTOR);
        return st;
    case TP_ADV_NAN:
        if (!(st = honest(m, window, (uint32_t)n->uid, err))) m->msg.t[0].lookup[0] = NAN;
        return st;
    case TP_ADV_PARTIAL:
        if ((st = tp_miner_train(m, window, (uint32_t)n->uid, 1, err))) return st;
        for (size_t i = 0; i < L->total; i++) m->delta[i] *= (float)S;
        return tp_miner_compress_ef(m, err);
    case TP_ADV_LAZY_DATA: /* every other window, samples that are not its own */
        return honest(m, window, (uint32_t)n->uid + (window & 1 ? WRONG_DATA_UID_OFFSET : 0), err);
    case TP_ADV_SLOW:
        if ((st = tp_miner_train(m, window, (uint32_t)n->uid, (S + 1) / 2, err))) return st;
        return tp_miner_compress_ef(m, err);
    case TP_ADV_SYBIL: return sybil_message(m, a, window, err);
    case TP_ADV_NOISY_COPY: return TP_OK; /* what it uploads is made at upload time */
    default: return honest(m, window, (uint32_t)n->uid, err);
    }
}

/* ---------------------------------------------------------------- uploads */

/* The first other gather peer's upload of this window, decoded. It is looked for one block into the
 * put window, once the victim, which uploads at its opening, has done so. */
static tp_status fetch_victim(tp_miner *m, int64_t window, tp_payload *p, tp_err *err) {
    tp_node *n = m->n;
    int64_t victim = -1;
    memset(p, 0, sizeof *p);
    for (int i = 0; i < n->peers.n_gather && victim < 0; i++)
        if (n->peers.gather[i] != n->uid) victim = n->peers.gather[i];
    if (victim < 0) return tp_fail(err, TP_ERR_IO, "no other peer to copy");
    tp_status st = tp_miner_await(m, tp_node_first_block(n, window + 1) + 1, err);
    char key[TP_KEY_MAX], *data;
    size_t dlen;
    int found;
    tp_node_key(n, TP_KEY_GRADIENT, window, victim, NULL, key, sizeof key);
    if (st || (st = tp_node_get_small(n, victim, key, n->max_payload, &data, &dlen, NULL, &found, err))) return st;
    if (!found)
        return tp_fail(err, TP_ERR_IO, "uid %lld uploaded nothing for window %lld", (long long)victim, (long long)window);
    tp_payload_expect exp = {.model = &n->rc.cfg.model, .params = &n->rc.codec};
    st = tp_payload_read((const uint8_t *)data, dlen, &exp, p, err);
    free(data);
    return st;
}

/* The victim's upload re-signed as ours. */
static tp_status copy_victim(tp_miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_payload p;
    tp_status st = fetch_victim(m, window, &p, err);
    if (!st) {
        tp_wire_info info = p.info;
        info.uid = (uint32_t)m->n->uid;
        st = tp_wire_encode(&p.update, &m->n->rc.cfg.model, &info, &m->n->wallet.key, bytes, len, err);
    }
    tp_payload_free(&p);
    return st;
}

/* Keeps the victim's NOISY_COPY_KEEP largest entries per block and moves the others to positions the
 * victim did not use, with the value nearest zero: most of the signal, under the copy threshold. */
static void move_positions(tp_update *u, int bins, tp_rng *r) {
    for (int t = 0; t < u->n; t++) {
        tp_sparse *s = &u->t[t];
        float deq[TP_CODEC_MAX_BINS];
        tp_sparse_dequant_table(s, bins, deq);
        int quiet = 0;
        for (int b = 1; b < bins; b++) quiet = fabsf(deq[b]) < fabsf(deq[quiet]) ? b : quiet;
        int64_t k = s->k, keep = (int64_t)(NOISY_COPY_KEEP * (double)k), totalk = s->geom.totalk;
        for (int64_t blk = 0; blk < s->geom.nblocks && k < totalk; blk++) {
            uint16_t *idx = s->idx + blk * k;
            uint8_t *code = s->codes + blk * k;
            /* Largest magnitudes first, then the moved entries: a selection sort is enough for k ≤ 64·64. */
            for (int64_t i = 0; i < keep; i++)
                for (int64_t j = i + 1; j < k; j++)
                    if (fabsf(deq[code[j]]) > fabsf(deq[code[i]])) {
                        uint16_t ti = idx[i];
                        uint8_t tc = code[i];
                        idx[i] = idx[j], code[i] = code[j], idx[j] = ti, code[j] = tc;
                    }
            for (int64_t i = keep; i < k; i++) {
                uint16_t pos;
                int used;
                do {
                    pos = (uint16_t)(tp_rng_next(r) % (uint64_t)totalk);
                    used = 0;
                    for (int64_t j = 0; j < i && !used; j++) used = idx[j] == pos;
                } while (used);
                idx[i] = pos;
                code[i] = (uint8_t)quiet;
            }
            for (int64_t i = 1; i < k; i++) /* positions ascending, as the wire format requires */
                for (int64_t j = i; j > 0 && idx[j - 1] > idx[j]; j--) {
                    uint16_t ti = idx[j];
                    uint8_t tc = code[j];
                    idx[j] = idx[j - 1], code[j] = code[j - 1], idx[j - 1] = ti, code[j - 1] = tc;
                }
        }
    }
}

static tp_status noisy_copy(tp_miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_node *n = m->n;
    tp_payload p;
    tp_status st = fetch_victim(m, window, &p, err);
    if (st) return st;
    tp_rng r;
    tp_rng_seed(&r, ((uint64_t)n->uid << 32) ^ (uint64_t)window);
    move_positions(&p.update, n->rc.codec.bins, &r);
    tp_wire_info info = p.info;
    info.uid = (uint32_t)n->uid;
    st = tp_wire_encode(&p.update, &n->rc.cfg.model, &info, &n->wallet.key, bytes, len, err);
    tp_payload_free(&p);
    return st;
}

static tp_status garbage(tp_miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err) {
    tp_node *n = m->n;
    size_t sz = n->max_payload / 4 + 64;
    uint8_t *g = tp_malloc(sz, err);
    if (!g) return err->code;
    tp_rng r;
    tp_rng_seed(&r, (uint64_t)window * 7919u + (uint64_t)n->uid);
    for (size_t i = 0; i < sz; i++) g[i] = (uint8_t)tp_rng_next(&r);
    memcpy(g, "\x40\0\0\0\0\0\0\0{\"__metadata__\":{\"format\":\"templar\"", 40);
    *bytes = g;
    *len = sz;
    return TP_OK;
}

/* Waits until the put window has certainly closed, whatever the store's timestamp resolution. */
static tp_status after_put_window(tp_miner *m, int64_t window, tp_err *err) {
    double nb, na;
    tp_status st = tp_miner_await(m, tp_node_put_close_block(m->n, window), err);
    if (st || (st = tp_node_put_window(m->n, window, &nb, &na, err))) return st;
    tp_sleep(na + (tp_store_is_local(m->n->store) ? LATE_MARGIN_FILE_S : LATE_MARGIN_S3_S) - tp_wall_now());
    return TP_OK;
}

static tp_status upload(tp_miner *m, int64_t window, int null_round, uint8_t **bytes, size_t *len, tp_err *err) {
    adversary *a = m->hook->ctx;
    tp_status st;
    switch (a->spec.mode) {
    case TP_ADV_GARBAGE: return garbage(m, window, bytes, len, err);
    case TP_ADV_LATE:
        if ((st = after_put_window(m, window, err))) return st;
        return tp_miner_encode(m, window, bytes, len, err);
    case TP_ADV_COPY:
    case TP_ADV_NOISY_COPY:
        if (null_round) return tp_miner_encode(m, window, bytes, len, err);
        st = a->spec.mode == TP_ADV_COPY ? copy_victim(m, window, bytes, len, err) : noisy_copy(m, window, bytes, len, err);
        if (st && st != TP_ERR_STOPPED) {
            tp_node_log(m->n, "window %lld: nothing to copy: %s", (long long)window, err->msg);
            st = TP_OK;
        }
        return st;
    default: return tp_miner_encode(m, window, bytes, len, err);
    }
}

tp_status tp_adversary_run(const tp_node_opts *o, const tp_adversary_spec *spec, tp_err *err) {
    if (spec->mode == TP_ADV_NONE) return tp_miner_run_hooked(o, NULL, err);
    if (spec->mode < 0 || spec->mode >= TP_ADV_COUNT) return tp_fail(err, TP_ERR_ARG, "unknown adversary %d", (int)spec->mode);
    if (spec->mode == TP_ADV_SYBIL && spec->partner < 0)
        return tp_fail(err, TP_ERR_ARG, "a sybil needs its partner's uid: sybil@UID");
    adversary a = {.spec = *spec};
    tp_miner_hook hook = {.name = adversary_names[spec->mode], .ctx = &a, .message = message, .upload = upload};
    tp_status st = tp_miner_run_hooked(o, &hook, err);
    tp_update_free(&a.stale);
    return st;
}
