/* A run's configuration, shared by every node of a network: the model and inner-training config, the
 * data directory, the codec and the protocol settings (DESIGN §5–§12). Read from one JSON file:
 *
 *   {"base": "tiny", "model": {...}, "train": {...},          as for `templar train --config`
 *    "data": "data/tiny-512",                                 token shards (relative to the cwd)
 *    "codec": {"topk": 64, "bins": 4, "range": 6, "dct": false, "index_coding": "rice"},
 *    "protocol": {"run_version": "1", "inner_steps": 8, ...}}  keys as in tp_protocol below
 *
 * Unknown keys are errors naming the key. A bare config name ("tiny", "small") gives the defaults
 * with data "data/<name>-<vocab>". */
#ifndef TP_NEURON_RUN_CONFIG_H
#define TP_NEURON_RUN_CONFIG_H

#include <stdint.h>

#include "codec/sparse.h"
#include "core/error.h"
#include "model/config.h"
#include "neuron/keys.h"

typedef struct {
    char run_version[TP_VERSION_MAX + 1]; /* "1": part of every key and payload */
    int inner_steps;          /* AdamW steps per window; pool = inner_steps × train.batch_size samples */
    double outer_lr;          /* 0.8 */
    int mean_over_all;        /* each coordinate's sum over all gathered peers (SparseLoCo's 1/R), not over
                                 the peers that sent it; 0 */
    int clip;                 /* median-norm clipping of the peers' updates; 1 */
    double outer_momentum;    /* outer SGD momentum on the aggregate (DiLoCo's 0.9); 0: none */
    int outer_nesterov;       /* Nesterov's form of that momentum (as DiLoCo); 1 */
    int reset_inner_optimizer;/* miners start each window's AdamW moments from zero (the LR schedule goes on); 0 */
    double ef_beta;           /* error-feedback decay, 0.9 */
    double eval_lr_factor;    /* Gauntlet step = outer_lr × this; 0.25 */
    int eval_samples;         /* own and random samples per evaluated miner (at most the pool); 64 */
    int uids_per_window;      /* miners evaluated per window; 15 */
    int put_window_blocks;    /* uploads of W are accepted from the first block of W+1 for this many blocks; 2 */
    double gather_timeout_s;  /* one gather's deadline after the put window closed; 20 */
    int null_rounds;          /* windows from the start window in which miners send Δ = 0; 1 */
    int checkpoint_frequency; /* the leader publishes a checkpoint every this many windows; 5 */
    int retention_windows;    /* writers delete their own objects older than this; 12 */
    int heldout_batches;      /* validators' held-out evaluation after each window (0: none); 2 */
    int weights_every;        /* validators set weights every this many windows; 2 */
    double gate_alpha;        /* the paying gate (gate.h): the chance that a miner without an own-data
                                 advantage is ever paid; 1e-3 */
    double gate_horizon;      /* over this many evaluations; 1000 */
    int gather_peers;         /* top tier of the peer list; 20 */
    int reserve_peers;        /* second tier; 10 */
    int burn_uid;             /* 0 */
    double burn_rate;         /* 0.5 */
} tp_protocol;

typedef struct {
    tp_config cfg; /* model + inner training */
    char data[1024];
    tp_codec_params codec;
    tp_protocol proto;
} tp_run_config;

void tp_protocol_default(tp_protocol *p);
tp_status tp_protocol_check(const tp_protocol *p, tp_err *err);

/* Loads a run config from a name or a JSON file path (as tp_config_is_path decides). */
tp_status tp_run_config_load(const char *name_or_path, tp_run_config *rc, tp_err *err);
/* Writes rc as a complete JSON file (every key spelled out), atomically. */
tp_status tp_run_config_save(const tp_run_config *rc, const char *path, tp_err *err);

#endif
