/* templar train: trains a model on token shards with AdamW, logging loss, learning rate, tokens/s
 * and MFU, evaluating held-out loss, and writing atomic checkpoints that --resume continues from
 * exactly (bit-identical to an uninterrupted run at the same thread count). */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "data/sampler.h"
#include "data/shards.h"
#include "export/hf_tokenizer.h"
#include "model/checkpoint.h"
#include "model/kernels.h"
#include "model/train_step.h"

static const char usage_text[] =
    "usage: templar train --data DIR --steps N [--config small|base|tiny|FILE.json] [--batch B]\n"
    "                     [--out DIR] [--init MODEL_DIR] [--resume CHECKPOINT_DIR] [--peak-gflops G] [--json]\n"
    "\n"
    "Trains a LLaMA model on the train_*.npy shards of DIR (written by 'templar prep') and evaluates the\n"
    "held-out loss on its val_*.npy shards every train.eval_every steps and at the end.\n"
    "\n"
    "  --config NAME|FILE  named config (default small) or a JSON file {\"base\",\"model\",\"train\"}\n"
    "  --steps N           total optimiser steps (with --resume: the total including earlier steps)\n"
    "  --batch B           sequences per step (overrides train.batch_size)\n"
    "  --out DIR           checkpoint directory (default runs/train; with --resume, the resumed one)\n"
    "  --init DIR          start from the weights (and architecture) of a model directory\n"
    "  --resume DIR        continue a checkpoint: weights, optimiser state, step and training config\n"
    "  --eval-every K      held-out evaluation period (overrides train.eval_every)\n"
    "  --stop-at S         stop after step S with a checkpoint, keeping the schedule of --steps\n"
    "                      (train in pieces; --resume continues exactly as one uninterrupted run)\n"
    "  --peak-gflops G     the MFU denominator: this machine's sgemm peak in GFLOP/s (default: measured\n"
    "                      at start as the best of several trials; see below)\n"
    "  --json              print one JSON summary object as the last line of stdout\n"
    "\n"
    "MFU is the model's FLOPs per second over the sgemm peak. Other work on the machine during the\n"
    "measurement makes the peak low, so it is measured again at the end of the run and whenever a step\n"
    "runs faster than it (and raised to the step's own rate if still lower): MFU never exceeds 100%,\n"
    "and the run says when the machine was busy (\"machine_busy\" in --json).\n"
    "\n"
    "A checkpoint directory holds model.safetensors + config.json (loadable by Hugging Face\n"
    "LlamaForCausalLM), optimizer.safetensors and, when DIR has a tokenizer, templar_tokenizer.json (a\n"
    "copy of it) with its Hugging Face files tokenizer.json, tokenizer_config.json and\n"
    "generation_config.json. It is replaced atomically.\n";

typedef struct {
    const char *config, *data, *out, *init, *resume;
    int64_t steps, batch, eval_every, stop_at;
    double peak_gflops; /* 0: measure it */
    int json;
} train_args;

typedef struct {
    tp_config cfg;
    tp_shards *data;
    tp_llama *model;
    tp_adamw opt;
    int32_t *batch;
    uint64_t *picks;
    int eot;
    char tok_path[4200]; /* the data directory's tokenizer */
    tp_hf_checkpoint_files tok_files; /* written into every checkpoint */
    int n_tok_files;
} trainer;

static int parse_args(int argc, char **argv, train_args *a) {
    static const struct option opts[] = {{"config", required_argument, 0, 'c'}, {"data", required_argument, 0, 'd'},
                                         {"steps", required_argument, 0, 's'},  {"batch", required_argument, 0, 'b'},
                                         {"out", required_argument, 0, 'o'},    {"init", required_argument, 0, 'i'},
                                         {"resume", required_argument, 0, 'r'}, {"json", no_argument, 0, 'j'},
                                         {"eval-every", required_argument, 0, 'e'}, {"stop-at", required_argument, 0, 'S'},
                                         {"peak-gflops", required_argument, 0, 'P'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->batch = a->eval_every = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->config = optarg; break;
        case 'd': a->data = optarg; break;
        case 'o': a->out = optarg; break;
        case 'i': a->init = optarg; break;
        case 'r': a->resume = optarg; break;
        case 'j': a->json = 1; break;
        case 's':
            if (cli_parse_i64("train", "--steps", optarg, 0, INT32_MAX, &a->steps)) return 2;
            break;
        case 'b':
            if (cli_parse_i64("train", "--batch", optarg, 1, 1 << 16, &a->batch)) return 2;
            break;
        case 'e':
            if (cli_parse_i64("train", "--eval-every", optarg, 0, INT32_MAX, &a->eval_every)) return 2;
            break;
        case 'S':
            if (cli_parse_i64("train", "--stop-at", optarg, 1, INT32_MAX, &a->stop_at)) return 2;
            break;
        case 'P':
            if (cli_parse_f64("train", "--peak-gflops", optarg, &a->peak_gflops)) return 2;
            if (!(a->peak_gflops > 0)) return cli_usage("train", "--peak-gflops expects a positive number");
            break;
        case 'h': fputs(usage_text, stdout); return -1;
        default: return cli_usage("train", "unknown option");
        }
    }
    if (optind < argc) return cli_usage("train", "unexpected argument '%s'", argv[optind]);
    if (!a->data) return cli_usage("train", "--data DIR is required");
    if (!a->steps) return cli_usage("train", "--steps N (N > 0) is required");
    if (a->init && a->resume) return cli_usage("train", "--init and --resume exclude each other");
    if (a->resume && a->config) return cli_usage("train", "--resume takes its config from the checkpoint; drop --config");
    if (!a->out) a->out = a->resume ? a->resume : "runs/train";
    if (!a->stop_at || a->stop_at > a->steps) a->stop_at = a->steps;
    return 0;
}

/* Model and training configuration from --config / --init / --resume. */
static tp_status resolve_config(const train_args *a, tp_config *cfg, json_t **resume_train, tp_err *err) {
    tp_status st = tp_config_resolve(a->config ? a->config : "small", cfg, err);
    if (st) return st;
    const char *dir = a->init ? a->init : a->resume;
    if (dir && (st = tp_checkpoint_read_config(dir, &cfg->model, err))) return st;
    if (a->resume) {
        /* Training settings come from the checkpoint so the continuation is exact. */
        tp_layout L;
        tp_adamw probe = {0};
        if ((st = tp_layout_init(&cfg->model, &L, err))) return st;
        st = tp_adamw_init(&probe, &L, err);
        if (!st) st = tp_checkpoint_load_optimizer(a->resume, &L, &probe, resume_train, err);
        tp_adamw_free(&probe);
        tp_layout_free(&L);
        if (st) return st;
        if (!*resume_train) return tp_fail(err, TP_ERR_FORMAT, "%s has no training configuration to resume", a->resume);
        json_t *wrapped = json_pack("{sO}", "train", *resume_train);
        tp_config saved;
        st = tp_config_from_json(wrapped, &saved, err);
        json_decref(wrapped);
        if (st) return tp_wrap(err, "%s: saved training configuration", a->resume);
        cfg->train = saved.train;
    }
    if (a->batch > 0) cfg->train.batch_size = (int)a->batch;
    if (a->eval_every >= 0) cfg->train.eval_every = (int)a->eval_every;
    return tp_train_config_validate(&cfg->train, err);
}

/* Batch of step s: B distinct training samples drawn with a seed derived from (seed, s), so a
 * resumed run sees exactly the batches an uninterrupted one would. */
static tp_status load_train_batch(trainer *tr, int64_t step, tp_err *err) {
    int B = tr->cfg.train.batch_size, T = tr->cfg.model.seq_len;
    uint64_t n = tp_shards_num_samples(tr->data, TP_SPLIT_TRAIN, T);
    uint64_t seed = tr->cfg.train.seed * 0x9e3779b97f4a7c15ull + (uint64_t)step;
    tp_status st = tp_sample_pool_seeded(seed, n, (uint64_t)B, tr->picks, err);
    for (int i = 0; !st && i < B; i++)
        st = tp_shards_read_sample(tr->data, TP_SPLIT_TRAIN, T, tr->picks[i], tr->batch + (size_t)i * T, err);
    return st;
}

/* Mean loss over eval_batches batches spread evenly over the held-out split. */
static tp_status heldout_loss(trainer *tr, double *out, tp_err *err) {
    int B = tr->cfg.train.batch_size, T = tr->cfg.model.seq_len;
    uint64_t n = tp_shards_num_samples(tr->data, TP_SPLIT_VAL, T);
    uint64_t want = (uint64_t)tr->cfg.train.eval_batches * B;
    if (want > n) want = n - n % (uint64_t)B;
    if (want == 0) return tp_fail(err, TP_ERR_ARG, "the held-out split has fewer than %d samples of %d tokens", B, T);
    double sum = 0.0;
    int64_t batches = 0;
    for (uint64_t first = 0; first < want; first += (uint64_t)B, batches++) {
        for (int i = 0; i < B; i++) {
            uint64_t idx = (first + (uint64_t)i) * n / want;
            tp_status st = tp_shards_read_sample(tr->data, TP_SPLIT_VAL, T, idx, tr->batch + (size_t)i * T, err);
            if (st) return st;
        }
        float loss;
        tp_status st = tp_llama_forward(tr->model, tr->batch, B, T, tr->eot, &loss, err);
        if (st) return st;
        sum += loss;
    }
    *out = sum / (double)batches;
    return TP_OK;
}

static tp_status save(trainer *tr, const train_args *a, tp_err *err) {
    json_t *tj = tp_train_config_to_json(&tr->cfg.train);
    tp_status st = tp_checkpoint_save(a->out, tr->model, &tr->opt, NULL, tj, tr->tok_files.extra, tr->n_tok_files, err);
    json_decref(tj);
    return st;
}

static void trainer_free(trainer *tr) {
    tp_llama_free(tr->model);
    tp_adamw_free(&tr->opt);
    tp_shards_close(tr->data);
    tp_hf_checkpoint_files_free(&tr->tok_files);
    free(tr->batch);
    free(tr->picks);
}

static tp_status setup(trainer *tr, const train_args *a, tp_err *err) {
    json_t *resume_train = NULL;
    tp_status st = resolve_config(a, &tr->cfg, &resume_train, err);
    json_decref(resume_train);
    if (st) return st;
    const tp_model_config *mc = &tr->cfg.model;
    int B = tr->cfg.train.batch_size, T = mc->seq_len;
    if ((st = tp_shards_open(a->data, &tr->data, err))) return st;
    if (tp_shards_vocab_size(tr->data) != mc->vocab_size)
        return tp_fail(err, TP_ERR_CONFIG, "vocab_size %d of the model does not match the tokenizer of %s (%d)",
                       mc->vocab_size, a->data, tp_shards_vocab_size(tr->data));
    tr->eot = tp_shards_eot(tr->data);
    /* Made once, before training: a tokenizer Hugging Face cannot hold fails now, not at the first checkpoint. */
    if ((st = tp_path_join(tr->tok_path, sizeof tr->tok_path, a->data, "tokenizer.json", err))) return st;
    if (tp_path_exists(tr->tok_path)) {
        if ((st = tp_hf_checkpoint_files_make(tr->tok_path, mc, &tr->tok_files, err))) return st;
        tr->n_tok_files = 1 + TP_HF_TOKENIZER_FILES;
    }
    if (tp_shards_num_samples(tr->data, TP_SPLIT_TRAIN, T) < (uint64_t)B)
        return tp_fail(err, TP_ERR_ARG, "%s holds fewer than %d training samples of %d tokens", a->data, B, T);
    tr->batch = tp_malloc((size_t)B * T * sizeof *tr->batch, err);
    tr->picks = tp_malloc((size_t)B * sizeof *tr->picks, err);
    if (!tr->batch || !tr->picks) return TP_ERR_NOMEM;
    if ((st = tp_llama_create(mc, B, T, 1, &tr->model, err))) return st;
    if ((st = tp_adamw_init(&tr->opt, &tr->model->layout, err))) return st;
    const char *from = a->init ? a->init : a->resume;
    if (from) {
        if ((st = tp_checkpoint_load_weights(from, tr->model, err))) return st;
        if (a->resume && (st = tp_checkpoint_load_optimizer(a->resume, &tr->model->layout, &tr->opt, NULL, err)))
            return st;
    } else {
        tp_llama_init_random(tr->model, tr->cfg.train.seed, tr->cfg.train.init_std);
    }
    return TP_OK;
}

/* The MFU denominator. Other work on the machine while the peak is measured makes it low, and MFU
 * then reads above 100 %. So the peak is measured again at the end of the run, and whenever a step
 * runs faster than it; if a step still beats the new measurement, the peak is raised to the step's
 * own rate. Every MFU printed is then a fraction of a peak. */
typedef struct {
    tp_sgemm_peak start; /* the start-up measurement; trials 0 when --peak-gflops gave the figure */
    double gflops;       /* the denominator now */
    int remeasures;
    int busy; /* the start-up measurement looked busy, or a later one beat it */
} mfu_peak;

/* Each measurement costs ~0.2 s. */
enum { MAX_REMEASURES = 3 };

/* Other work shared our cores during the trials: they varied widely (load came and went), or our
 * threads did not get their processors' time (load stayed). */
static int sgemm_peak_busy(const tp_sgemm_peak *p) {
    return p->median_gflops < 0.8 * p->gflops || p->cpu_share < 0.85;
}

static void print_busy(const tp_sgemm_peak *p) {
    double load = 0.0;
    if (getloadavg(&load, 1) != 1) load = 0.0;
    printf("machine: busy during the peak measurement (trials: best %.1f, median %.1f GFLOP/s; our threads got "
           "%.0f%% of their cores; load %.1f on %ld cores); MFU is relative to the best trial\n",
           p->gflops, p->median_gflops, 100.0 * p->cpu_share, load, sysconf(_SC_NPROCESSORS_ONLN));
}

static void peak_start(mfu_peak *pk, double given, int threads) {
    memset(pk, 0, sizeof *pk);
    if (given > 0) {
        pk->gflops = pk->start.gflops = given;
        printf("machine: sgemm peak %g GFLOP/s on %d threads (given by --peak-gflops; the MFU denominator)\n", given,
               threads);
        return;
    }
    tp_sgemm_peak_measure(&pk->start);
    pk->gflops = pk->start.gflops;
    printf("machine: sgemm peak %.1f GFLOP/s on %d threads (best of %d trials; the MFU denominator)\n", pk->gflops,
           threads, pk->start.trials);
    pk->busy = sgemm_peak_busy(&pk->start);
    if (pk->busy) print_busy(&pk->start);
}

/* A new measurement of the peak. One more than 5 % (above the noise of an idle machine) over the
 * start-up one shows the machine was busy then, even if our threads got their CPU time (another
 * virtual machine on the same cores, say). Returns 1 if so. */
static int remeasure(mfu_peak *pk, double *gflops) {
    tp_sgemm_peak again;
    tp_sgemm_peak_measure(&again);
    pk->remeasures++;
    *gflops = again.gflops;
    int start_low = pk->start.trials && again.gflops > 1.05 * pk->start.gflops;
    if (start_low) pk->busy = 1;
    return start_low;
}

/* A step ran at `achieved` GFLOP/s, above the peak: measure again, and raise the peak to the step's
 * rate if the new measurement is still lower (a machine still busy, or a figure given too low). */
static void raise_peak(mfu_peak *pk, double achieved, int64_t step) {
    double was = pk->gflops, again;
    char why[160] = "";
    if (pk->remeasures < MAX_REMEASURES) {
        int start_low = remeasure(pk, &again);
        if (again > pk->gflops) pk->gflops = again;
        snprintf(why, sizeof why, "re-measured %.1f GFLOP/s%s", again,
                 start_low ? " (the machine was busy during the start-up measurement)" : "");
    }
    if (achieved > pk->gflops) {
        pk->gflops = achieved;
        size_t n = strlen(why);
        snprintf(why + n, sizeof why - n, "%sraised to the step's own rate", n ? "; " : "");
    }
    int digits = was >= 1 ? (int)log10(was) + 2 : 3; /* one decimal, as measured peaks print, or a given 0.001 */
    printf("machine: step %lld ran at %.1f GFLOP/s, above the sgemm peak of %.*g; %s; the MFU denominator is now "
           "%.1f GFLOP/s\n",
           (long long)step, achieved, digits, was, why, pk->gflops);
}

/* MFU of one step, raising the peak first if the step beat it, so the result is at most 1. */
static double step_mfu(mfu_peak *pk, double flops, double dt, int64_t step) {
    double achieved = flops / dt / 1e9;
    if (!(achieved > 0)) return 0.0;
    if (achieved > pk->gflops) raise_peak(pk, achieved, step);
    return achieved / pk->gflops;
}

/* The measured peak is measured once more at the end, so that a start-up measurement held down by
 * a busy machine does not stand for the whole run. A given peak is the user's to keep. */
static void peak_final(mfu_peak *pk) {
    double again;
    if (!pk->start.trials || pk->remeasures >= MAX_REMEASURES || !remeasure(pk, &again) || again <= pk->gflops)
        return;
    printf("machine: sgemm peak re-measured at the end: %.1f GFLOP/s, above the %.1f measured at start (the machine "
           "was busy then); the run's MFU is relative to it\n",
           again, pk->start.gflops);
    pk->gflops = again;
}

/* The run's MFU: its mean rate over the final peak. Every step's rate is at most that peak, so this
 * is at most 1 up to rounding; the clamp is a last resort and says so if it ever acts. */
static double run_mfu(const mfu_peak *pk, double flops, double seconds) {
    double mfu = seconds > 0 ? flops / seconds / 1e9 / pk->gflops : 0.0;
    if (mfu > 1.0 + 1e-9) printf("machine: MFU %.1f%% clamped to 100%%\n", 100.0 * mfu);
    return mfu > 1.0 ? 1.0 : mfu;
}

/* What the run tracks from start-up to the summary. */
typedef struct {
    mfu_peak peak;
    int threads;
    double step_flops;
    int64_t first; /* the step the run starts from */
    int64_t timed_steps;
    double timed_s, last_loss, heldout, heldout_start;
} train_run;

/* Prints the model, the MFU denominator and the schedule before training starts. */
static void run_start(const trainer *tr, const train_args *a, train_run *run) {
    const tp_model_config *mc = &tr->cfg.model;
    const tp_train_config *tc = &tr->cfg.train;
    int B = tc->batch_size, T = mc->seq_len;
    *run = (train_run){.threads = omp_get_max_threads(), .step_flops = tp_llama_step_flops(mc, B, T),
                       .last_loss = NAN, .heldout = NAN, .heldout_start = NAN};
    printf("model: %lld parameters (dim %d, %d layers, %d heads, %d kv heads, ffn %d, vocab %d, seq %d)\n",
           (long long)tp_model_param_count(mc), mc->dim, mc->n_layers, mc->n_heads, mc->n_kv_heads, mc->ffn_dim,
           mc->vocab_size, T);
    peak_start(&run->peak, a->peak_gflops, run->threads);
    printf("training: steps %lld -> %lld, batch %d x %d tokens, lr %g, warmup %d\n", (long long)tr->opt.step,
           (long long)a->steps, B, T, tc->lr, tc->warmup_steps);
    fflush(stdout);
}

/* The held-out loss before the first step, unless the checkpoint already reached --stop-at. */
static tp_status start_heldout(trainer *tr, const train_args *a, train_run *run, tp_err *err) {
    run->first = tr->opt.step;
    if (run->first >= a->stop_at) {
        printf("checkpoint is already at step %lld; nothing to do\n", (long long)run->first);
    } else {
        tp_status st = heldout_loss(tr, &run->heldout_start, err);
        if (st) return st;
        printf("step %6lld | held-out loss %.4f\n", (long long)run->first, run->heldout_start);
    }
    run->heldout = run->heldout_start;
    return TP_OK;
}

/* One optimiser step, timed and logged with its MFU. */
static tp_status run_step(trainer *tr, const train_args *a, train_run *run, tp_err *err) {
    const tp_train_config *tc = &tr->cfg.train;
    int B = tc->batch_size, T = tr->cfg.model.seq_len;
    int64_t step = tr->opt.step;
    double lr = tp_lr_at(tc, step, a->steps), t0 = tp_now();
    tp_step_result r;
    tp_status st = load_train_batch(tr, step, err);
    if (st) return st;
    if ((st = tp_train_step(tr->model, &tr->opt, tc, tr->batch, B, T, tr->eot, lr, &r, err))) {
        tp_wrap(err, "stopping; the last checkpoint in %s is intact", a->out);
        return st;
    }
    double dt = tp_now() - t0, mfu = step_mfu(&run->peak, run->step_flops, dt, tr->opt.step);
    if (step > run->first) { /* the first step warms caches and thread pools */
        run->timed_s += dt;
        run->timed_steps++;
    }
    run->last_loss = r.loss;
    int64_t done_steps = tr->opt.step;
    int log_every = a->steps - run->first <= 50 ? 1 : 10;
    if (done_steps % log_every == 0 || done_steps == a->stop_at) {
        double tps = B * T / dt;
        printf("step %6lld | loss %.4f | lr %.3e | grad norm %.3f | %.0f tok/s | MFU %.1f%%\n",
               (long long)done_steps, r.loss, lr, r.grad_norm, tps, 100.0 * mfu);
        fflush(stdout);
    }
    return TP_OK;
}

/* After a step: the held-out evaluation and the checkpoint, each on its period and at the last step. */
static tp_status eval_and_save(trainer *tr, const train_args *a, train_run *run, tp_err *err) {
    const tp_train_config *tc = &tr->cfg.train;
    int64_t done_steps = tr->opt.step;
    tp_status st;
    int eval_now = (tc->eval_every > 0 && done_steps % tc->eval_every == 0) || done_steps == a->stop_at;
    if (eval_now) {
        if ((st = heldout_loss(tr, &run->heldout, err))) return st;
        printf("step %6lld | held-out loss %.4f\n", (long long)done_steps, run->heldout);
    }
    int ckpt_now = (tc->checkpoint_every > 0 && done_steps % tc->checkpoint_every == 0) || done_steps == a->stop_at;
    if (ckpt_now) {
        if ((st = save(tr, a, err))) return st;
        printf("step %6lld | checkpoint %s\n", (long long)done_steps, a->out);
    }
    fflush(stdout);
    return TP_OK;
}

static tp_status train_loop(trainer *tr, const train_args *a, train_run *run, tp_err *err) {
    tp_status st = start_heldout(tr, a, run, err);
    while (!st && tr->opt.step < a->stop_at) {
        st = run_step(tr, a, run, err);
        if (!st) st = eval_and_save(tr, a, run, err);
    }
    return st;
}

/* The --json summary: one compact object on the last line of stdout. */
static void print_json(const trainer *tr, const train_run *run, double tps, double mfu) {
    const mfu_peak *peak = &run->peak;
    json_t *j = json_pack("{sI sf sf sf sf sf sf si si si}", "steps", (json_int_t)tr->opt.step, "tokens_per_s", tps,
                          "final_loss", isfinite(run->last_loss) ? run->last_loss : 0.0, "heldout_loss",
                          isfinite(run->heldout) ? run->heldout : 0.0, "heldout_loss_start",
                          isfinite(run->heldout_start) ? run->heldout_start : 0.0, "mfu", mfu, "sgemm_peak_gflops",
                          peak->gflops, "batch", tr->cfg.train.batch_size, "seq", tr->cfg.model.seq_len, "threads",
                          run->threads);
    /* The peak at start (measured or given), and how its trials went (null when given). */
    int measured = peak->start.trials > 0;
    json_object_set_new(j, "sgemm_peak_start_gflops", json_real(peak->start.gflops));
    json_object_set_new(j, "sgemm_peak_median_gflops", measured ? json_real(peak->start.median_gflops) : json_null());
    json_object_set_new(j, "sgemm_peak_trials", json_integer(peak->start.trials));
    json_object_set_new(j, "sgemm_peak_cpu_share", measured ? json_real(peak->start.cpu_share) : json_null());
    json_object_set_new(j, "sgemm_peak_remeasures", json_integer(peak->remeasures));
    json_object_set_new(j, "machine_busy", json_boolean(peak->busy));
    char *s = json_dumps(j, JSON_COMPACT);
    printf("%s\n", s);
    free(s);
    json_decref(j);
}

/* The run's throughput, MFU and held-out losses; --json adds the summary object. */
static void print_summary(const trainer *tr, const train_args *a, train_run *run) {
    int B = tr->cfg.train.batch_size, T = tr->cfg.model.seq_len;
    double tps = run->timed_steps ? (double)run->timed_steps * B * T / run->timed_s : 0.0;
    if (run->timed_steps) peak_final(&run->peak);
    double mfu = run_mfu(&run->peak, run->step_flops * (double)run->timed_steps, run->timed_s);
    printf("done: %lld steps, %.0f tokens/s, MFU %.1f%%, held-out loss %.4f -> %.4f\n", (long long)tr->opt.step, tps,
           100 * mfu, run->heldout_start, run->heldout);
    if (a->json) print_json(tr, run, tps, mfu);
}

int cmd_train(int argc, char **argv) {
    train_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    tp_err err = {0};
    trainer tr = {0};
    train_run run;
    rc = 1;
    if (!setup(&tr, &a, &err)) {
        run_start(&tr, &a, &run);
        if (!train_loop(&tr, &a, &run, &err)) {
            print_summary(&tr, &a, &run);
            rc = 0;
        }
    }
    if (rc) cli_fail("train", &err);
    trainer_free(&tr);
    return rc;
}
