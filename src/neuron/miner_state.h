/* The miner's working state and the one hook through which a test adversary (adversary.c) changes
 * what a miner uploads. Internal to the neuron layer: the honest miner (miner.c) runs with no hook. */
#ifndef TP_NEURON_MINER_STATE_H
#define TP_NEURON_MINER_STATE_H

#include "codec/sparse.h"
#include "model/adamw.h"
#include "neuron/node.h"

typedef struct tp_miner tp_miner;

/* Each member NULL means the honest behaviour. */
typedef struct {
    const char *name; /* for logs and metrics ("none" when honest) */
    void *ctx;        /* the adversary's own state */
    /* Builds this window's message in m->msg (never called in a null round). */
    tp_status (*message)(tp_miner *m, int64_t window, tp_err *err);
    /* The bytes to upload for the window (malloc'ed, or *bytes NULL to upload nothing), called at
     * the first block of W+1; it may wait longer before returning. */
    tp_status (*upload)(tp_miner *m, int64_t window, int null_round, uint8_t **bytes, size_t *len, tp_err *err);
} tp_miner_hook;

struct tp_miner {
    tp_node *n;
    const tp_miner_hook *hook;
    tp_adamw opt;
    float *ef, *theta0, *delta, *last_agg; /* one allocation of 4 × total floats */
    int32_t *batch;
    uint64_t *pool;
    tp_update msg;
    /* Inner steps stop when the next would end after train_until (wall seconds; INFINITY: never),
     * so that an update is never late: the window's end less what compressing took last time. */
    double train_until, step_s, pack_s, compress_s; /* pack: the last window's compress + encode */
    /* this window's figures */
    double loss, train_s, wait_s, tokens;
    int steps_done;
    uint64_t bytes_up, bytes_down;
};

/* Inner steps (steps of them, fewer when m->train_until comes first) on the sample pool of data_uid for window W; leaves Δ = θ_start − θ_end
 * in m->delta and θ at θ_start. m->pool holds that pool (the payload's sample digest). */
tp_status tp_miner_train(tp_miner *m, int64_t window, uint32_t data_uid, int steps, tp_err *err);
/* The same on given samples: step s uses samples[s·batch .. (s+1)·batch). */
tp_status tp_miner_train_samples(tp_miner *m, const uint64_t *samples, int steps, tp_err *err);
/* The honest message: error feedback of Δ, compressed into m->msg. */
tp_status tp_miner_compress_ef(tp_miner *m, tp_err *err);
/* m->msg as window W's signed payload (malloc'ed). */
tp_status tp_miner_encode(tp_miner *m, int64_t window, uint8_t **bytes, size_t *len, tp_err *err);
/* tp_node_await_block, counted as waiting time. */
tp_status tp_miner_await(tp_miner *m, int64_t block, tp_err *err);

/* Runs a miner whose uploads the hook shapes (NULL: an honest miner). */
tp_status tp_miner_run_hooked(const tp_node_opts *o, const tp_miner_hook *hook, tp_err *err);

#endif
