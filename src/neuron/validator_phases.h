/* The validator's window (DESIGN §12), as named phases over one working record. Internal to the
 * neuron layer; the unit tests drive the phases that need no network on hand-made gathers.
 *
 *   gather       adopt the peer list, gather every active miner's update, pick the applied set,
 *                fetch the miners' debug-(W−1) fingerprints                       (network)
 *   judge        evaluate (Gauntlet), rate (OpenSkill), penalise missing, late and invalid
 *                uploads and inactivity, detect copies, score sync — all or nothing: on any
 *                failure no miner's standing changes                                (no network)
 *   outer step   θ ← θ − lr · aggregate of the applied set
 *   fingerprint  publish debug-W, keep it as the next window's sync reference
 *   weights      final scores → the weight schedule, set on chain every few windows
 *   leader       aggregator-W, peers-(W+2), checkpoints                            (leader only)
 *   record       local state, ratings, retention, the metrics line */
#ifndef TP_NEURON_VALIDATOR_PHASES_H
#define TP_NEURON_VALIDATOR_PHASES_H

#include "codec/aggregate.h"
#include "neuron/fingerprint.h"
#include "neuron/gather.h"
#include "neuron/openskill.h"
#include "neuron/validator_state.h"

typedef struct {
    tp_node *n;
    tp_vstate *db;            /* NULL: nothing persisted (tests) */
    tp_openskill_params os;
    tp_vminer *m;             /* TP_CHAIN_MAX_UIDS, index = uid */
    float *backup;            /* θ before an evaluation (layout.total floats) */
    float *prev, *ema;        /* the sync reference: own fingerprint samples of the last window and
                                 the EMA of how far they move per outer step (nsamp each) */
    int64_t nsamp;
    int have_sync;
    uint8_t prev_hash[TP_FP_HASH_BYTES];
    int is_leader;
} tp_validator;

typedef struct {
    int64_t uid;
    int slot;        /* its index in the gather */
    double score;    /* relative loss gain on the window's random samples */
    double score_se; /* its standard error */
    double own_gain; /* relative loss gain on the miner's own samples */
    double z;        /* the own-data advantage own_gain − score in standard errors of this evaluation */
    int df;          /* degrees of freedom of z: the fewer samples of the two sides, minus one */
} tp_eval_result;

/* Two evaluated updates that select disjoint positions (two halves of one update; independent miners
 * share about k/totalk of them and more) and each show an advantage on the other's samples (z > 0,
 * TP_SHARED_Z together) carry one miner's work on two uids. */
#define TP_SHARED_OVERLAP_MAX 0.002
#define TP_SHARED_Z 2.0
#define TP_VWINDOW_MAX_SHARED 64

/* What one window's phases found. Free with tp_vwindow_free. */
typedef struct {
    tp_window_gather g;
    tp_peer_list pl;        /* the peer list adopted for the window */
    int applied[TP_AGG_MAX_PEERS], n_applied, gather_of;
    int outage;             /* too few gather peers delivered: a storage outage, nobody is penalised */
    tp_fingerprint *fps;    /* g.n: each miner's debug-(W−1), .samples NULL when none */
    tp_eval_result *res;    /* g.n slots */
    int n_res;
    /* the evaluation's samples: the window's random ones, and each evaluated miner's own (by result) */
    int eval_n, eval_own_n;
    uint64_t *rand_s, *eval_own;
    double *lb_rand, *eval_lb_own, *eval_la_rand; /* per-sample losses before (lb) and after (la) */
    int64_t shared[TP_VWINDOW_MAX_SHARED][2];     /* uid pairs that share one miner's work */
    int n_shared;
    double *finals, *weights; /* per uid (mg.n) */
    int weights_due;        /* weights were set on chain this window */
    char fingerprint[2 * TP_FP_HASH_BYTES + 1];
    double heldout_loss;    /* NaN when not measured */
} tp_vwindow;

/* Allocates the per-uid arrays for n_uids and the per-entry ones once g is filled (g.n). */
tp_status tp_vwindow_alloc(tp_vwindow *w, int64_t n_uids, tp_err *err);
void tp_vwindow_free(tp_vwindow *w);

/* Whether uid u is a miner of the metagraph (not a validator, not the burn uid, with a bucket). */
int tp_validator_is_miner(const tp_validator *v, int64_t u);

/* ---- phases (validator_window.c, validator_eval.c, validator_judge.c, validator_leader.c) */
tp_status tp_vphase_gather(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err);
/* Evaluates up to uids_per_window miners with a valid upload into w->res; θ is left as it was. */
tp_status tp_vphase_evaluate(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err);
/* The shared-work check over the evaluated updates (after tp_vphase_evaluate measured them). */
tp_status tp_veval_shared_work(tp_validator *v, tp_vwindow *w, const double *median, tp_err *err);
/* evaluate (when the window is past the null rounds), rate, penalties, copies, sync. All or nothing. */
tp_status tp_vphase_judge(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err);
/* The parts of judge, on the miner states m (v->m or a scratch copy). */
tp_status tp_vjudge_rate(tp_validator *v, tp_vminer *m, int64_t window, const tp_vwindow *w, tp_err *err);
void tp_vjudge_penalties(tp_validator *v, tp_vminer *m, const tp_vwindow *w);
tp_status tp_vjudge_copies(tp_validator *v, tp_vminer *m, int64_t window, const tp_vwindow *w, tp_err *err);
void tp_vjudge_sync(tp_validator *v, tp_vminer *m, int64_t window, const tp_vwindow *w);
tp_status tp_vphase_fingerprint(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err);
tp_status tp_vphase_heldout(tp_validator *v, tp_vwindow *w, tp_err *err);
/* Final scores and the weight schedule; sets weights on chain when due. */
tp_status tp_vphase_weights(tp_validator *v, int64_t window, tp_vwindow *w, tp_err *err);
/* Leader duties; failures are logged (the next window publishes again). */
void tp_vphase_leader(tp_validator *v, int64_t window, const tp_vwindow *w);
tp_status tp_vphase_record(tp_validator *v, int64_t window, const tp_vwindow *w, tp_err *err);

/* The leader publishes the start window (and the first peer lists) unless it did before. */
tp_status tp_validator_publish_start(tp_validator *v, tp_err *err);

#endif
