/* A whole templar network on one machine (`templar localnet`), split by concern: setup.c (the run
 * directory, data, wallets, chain), procs.c (child processes: neurons, s3rver, helper commands),
 * wait_channel.c (how a neuron tells the lockstep clock it waits), drive.c (the clock, faults,
 * progress and the stop condition), run.c (a run from setup to report) and report.c (report.json,
 * report.md and the plots, from what a run left in its directory). The CLI only parses arguments.
 *
 * Layout of a run directory DIR: home/ (TEMPLAR_HOME of every neuron), chain.db, run.json,
 * localnet.json (the setup: every node's wallet, uid, role, stake; what the report is built from),
 * buckets/<wallet>/ or s3/, state/<wallet>/ (with metrics.jsonl), logs/<wallet>.log, plots/. */
#ifndef TP_LOCALNET_LOCALNET_H
#define TP_LOCALNET_LOCALNET_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "localnet/chopsticks.h"
#include "localnet/wait_channel.h"
#include "net/chain.h"
#include "neuron/deadlines.h"
#include "testbed/hosts.h"
#include "testbed/link.h"

#define LN_PATH_MAX 4096
#define LN_NAME_MAX 32
#define LN_MODE_MAX 16
#define LN_MAX_ADV 32
#define LN_MAX_FAULTS 64
#define LN_MAX_NODES TP_CHAIN_MAX_UIDS
#define LN_METRICS_MAX ((size_t)256 << 20) /* largest metrics.jsonl the report reads */
#define LN_TESTBED_NEURON_NICE 10 /* see ln_spawn */
#define LN_BASELINE_FILE "baseline.json" /* localnet --baseline: the centralized run's result */

typedef enum { LN_OWNER, LN_VALIDATOR, LN_MINER } ln_kind;

typedef enum {
    LN_IDLE,    /* not started (the owner is never started) */
    LN_RUNNING,
    LN_DOWN,    /* killed by a fault; restarts later */
    LN_DEAD,    /* exited on its own: reported once, no longer waited for */
    LN_STOPPED, /* stopped by localnet at the end */
} ln_state;

typedef struct {
    char name[LN_NAME_MAX]; /* wallet: owner, validator-I, miner-J */
    ln_kind kind;
    int64_t uid;
    double stake;
    char adversary[LN_MODE_MAX]; /* miners: "" when honest */
    int64_t partner;             /* a sybil's partner uid, else -1 */
    char hotkey[TP_HOTKEY_MAX + 1];
    char store[TP_CHAIN_URI_MAX]; /* --store URI of the neuron */
    pid_t pid;
    ln_state state;
    ln_wait_reader wait; /* lockstep: what the running process announced (fd -1 otherwise) */
    tb_host *host;       /* --hosts: the host it runs on (NULL: this machine) */
    /* metrics.jsonl, read incrementally by the driver */
    off_t offset;        /* bytes consumed (whole lines only) */
    int64_t last_window; /* highest window recorded; -1: none */
    int64_t records;
} ln_node;

typedef enum { LN_FAULT_KILL, LN_FAULT_S3_DOWN, LN_FAULT_PARTITION } ln_fault_kind;

typedef struct {
    ln_fault_kind kind;          /* kill:WALLET@W:R, s3-down@W:R, partition:WALLET@W:R */
    char wallet[LN_NAME_MAX];
    int64_t at, until;           /* offsets from the start window */
    int fired, restored;
    char spec[96];
} ln_fault;

typedef struct {
    int64_t miners, validators, windows;
    const char *config; /* tiny, small, or a run config file */
    const char *out;
    int s3;             /* --store s3 */
    int wall;           /* --clock wall */
    int subtensor;      /* --chain subtensor[:SPEC]: the spec (143, 218), 0 for the local ledger */
    int64_t block_time_ms, blocks_per_window;
    double timeout_s;   /* 0: the defaults (see the help) */
    int have_seed;      /* --seed: wallets derived from it, so a lockstep run repeats exactly */
    int64_t seed;
    tp_key_type key_type; /* --key-type: every wallet's (sr25519, Bittensor's, by default) */
    int baseline;         /* --baseline: centralized training on the same tokens after the run */
    struct {
        char mode[LN_MODE_MAX];
        int64_t count;
    } adv[LN_MAX_ADV];
    int n_adv;
    double stakes[LN_MAX_NODES];
    int n_stakes;
    ln_fault faults[LN_MAX_FAULTS];
    int n_faults;
    int hosts;    /* --hosts (templar testbed): every neuron, the chain and the store on a host of its own */
    tb_link link; /* every host's link */
    struct {
        char host[LN_NAME_MAX];
        tb_link link;
    } host_links[LN_MAX_NODES + 2]; /* --host-link HOST:SPEC, over `link` */
    int n_host_links;
} ln_opts;

typedef struct {
    pid_t pid;
    int port;
    int down; /* stopped by a fault */
    char bin[LN_PATH_MAX];
    char dir[LN_PATH_MAX];
    tb_host *host;  /* --hosts: the store's host (s3rver on its loopback, a relay on its address) */
    pid_t relay;
} ln_s3;

/* --hosts: the testbed's hosts, their relays and what their links measured. */
typedef struct {
    tb_hosts hosts;
    tb_host *chain;       /* the chain's host (--chain subtensor) */
    pid_t chain_relay;
    json_t *links;        /* per host: configured and measured link, for the report */
} ln_testbed;

typedef struct {
    ln_opts opt;
    char dir[LN_PATH_MAX];  /* absolute --out */
    char repo[LN_PATH_MAX]; /* TEMPLAR_ROOT, else the binary's directory's parent */
    char bin[LN_PATH_MAX];  /* this templar binary, for the neurons */
    char chain_uri[TP_CHAIN_URI_MAX];
    char run_json[LN_PATH_MAX];
    ln_node *nodes; /* index = uid */
    int n_nodes;
    int leader;     /* index of the highest-stake validator */
    ln_s3 s3;
    tp_chopsticks chopsticks; /* --chain subtensor: the chain's process */
    char chain_url[96]; /* --chain subtensor: its RPC endpoint (http://ADDR:PORT) as the neurons reach it */
    ln_testbed tb;
    char **env;     /* the neurons' environment (NULL-terminated) */
    json_t *notes;  /* events worth a line in the report (deaths, faults, timeouts) */
} ln_net;

/* ---- setup.c */
/* Makes DIR and everything a run needs before any process starts: run.json (and the data, prepared
 * once per repository under a lock), wallets, the chain with every uid registered and staked, the
 * bucket directories, localnet.json. Prints what it does on stdout. */
tp_status ln_setup(ln_net *net, tp_err *err);
/* This templar binary (net->bin) and the checkout (net->repo): TEMPLAR_ROOT, else the parent of the
 * binary's directory. */
tp_status ln_locate(ln_net *net, tp_err *err);
/* The real corpus REPO/data/corpus (scripts/get-corpus) and REPO/data/tokenizer-VOCAB.json trained on
 * it by bin (a templar binary), each made only if missing, under the lock REPO/data/.prep.lock that
 * every preparation of REPO/data takes (localnets, tests). The steps' output goes to log. */
tp_status ln_prepare_corpus(const char *repo, const char *bin, int vocab, const char *log, tp_err *err);
/* Registers every node in uid order (refusing a uid out of order) and sets the validators' stake. */
tp_status ln_register_nodes(ln_net *net, tp_chain *c, tp_err *err);
/* The wallets directory of the run (DIR/home/wallets: TEMPLAR_HOME/wallets of every neuron). */
tp_status ln_wallet_path(const ln_net *net, char *out, size_t n, tp_err *err);
/* The key seed of wallet name: from --seed (repeatable runs), else NULL (fresh keys); seed holds 32 bytes. */
const uint8_t *ln_wallet_seed(const ln_net *net, const char *name, uint8_t seed[32]);
/* Frees what ln_setup and the drivers allocated (not the processes: stop them first). */
void ln_net_free(ln_net *net);
/* Appends a note (also printed on stdout with a "localnet: " prefix). */
void ln_note(ln_net *net, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- subtensor.c */
/* --chain subtensor: starts chopsticks on the runtime of opt.subtensor, makes the operator's keys and
 * a subnet with the localnet's tempo, registers every node in uid order (the operator's coldkey
 * registers and stakes them all), votes the subnet's emission on root (runtimes before dTAO), runs
 * one epoch for the validator permits, and sets net->chain_uri. Logs to DIR/logs/chopsticks.log. */
tp_status ln_subtensor_setup(ln_net *net, tp_err *err);
/* Stops chopsticks (nothing when none runs). */
void ln_subtensor_stop(ln_net *net);
/* Advances the chain until one more epoch has run (so the validators' last weights count). */
tp_status ln_final_epoch(ln_net *net, tp_err *err);
/* The chain's last state for the report, DIR/chain-final.json: {"neurons": [{uid, stake, incentive,
 * dividends, emission, weights: [[uid, w], ...]}, ...]}; the report reads it when the chain is gone. */
tp_status ln_chain_snapshot(ln_net *net, tp_err *err);

/* ---- hosts.c (--hosts: `templar testbed`) */
/* Makes a host per neuron, one for the chain (Subtensor) and one for the store, shapes their links,
 * and (on a chain) gives each neuron host its own home with its wallet (DIR/hosts/<wallet>/home).
 * Needs root. */
tp_status ln_hosts_create(ln_net *net, tp_err *err);
/* Starts a delaying relay on host x's address and port, in front of its service on 127.0.0.1:port. */
tp_status ln_hosts_relay(ln_net *net, tb_host *x, int port, pid_t *pid, tp_err *err);
/* Measures every neuron host's link to the store (round trip, rate each way), sets the protocol's
 * deadlines from them and the block time, and writes each host's run config
 * (DIR/hosts/<wallet>/run.json) and DIR/links.json. The store must be running. */
tp_status ln_hosts_measure(ln_net *net, tp_err *err);
/* The measurement alone: each neuron host's link to the store, one after another, into
 * net->tb.links (a JSON array); *slowest gets the lowest rates and the longest round trip. */
tp_status ln_hosts_measure_links(ln_net *net, tp_link_speed *slowest, tp_err *err);
/* Whether n's host link is down (a partition fault). */
static inline int ln_partitioned(const ln_node *n) { return n->host && !n->host->link_up; }
/* Takes the link of n's host down (a partition) or up again. */
tp_status ln_hosts_partition(ln_net *net, ln_node *n, int down, tp_err *err);
/* Stops the relays and removes every host. Safe when no host was made. */
void ln_hosts_destroy(ln_net *net);

/* ---- procs.c */
/* The neurons' environment: ours plus TEMPLAR_HOME, OMP_NUM_THREADS=1 unless set, S3 credentials. */
tp_status ln_env_build(ln_net *net, tp_err *err);
/* Frees an environment ln_env_build made (NULL: nothing). */
void ln_env_free(char **env);
/* Starts a neuron (its command line from the node), logging to DIR/logs/<wallet>.log (appended). */
tp_status ln_spawn(ln_net *net, ln_node *n, tp_err *err);
/* 1 if pid has exited (reaped; *status filled), 0 if still running. */
int ln_reaped(pid_t pid, int *status);
/* Describes a wait status: "exit status 1", "killed by signal 9". */
void ln_describe_status(int status, char *out, size_t n);
/* SIGTERM to every running neuron, up to grace_s seconds for them to exit, SIGKILL the rest. */
void ln_stop_all(ln_net *net, double grace_s);
/* SIGKILL one neuron now and reap it. */
void ln_kill_node(ln_node *n);
/* A loopback port nobody listens on now (the kernel's choice); -1 when no socket can be made. */
int ln_free_port(void);
/* s3rver: started on a free loopback port (or the same port again), one bucket per neuron. */
tp_status ln_s3_start(ln_net *net, tp_err *err);
void ln_s3_stop(ln_s3 *s3);
/* Runs argv (argv[0] looked up on PATH when it has no '/') in cwd (NULL: ours) with stdout and
 * stderr appended to log, and waits. *exit_code: its exit status; 127 when it could not be run. */
tp_status ln_run_command(char *const argv[], const char *cwd, const char *log, int *exit_code, tp_err *err);
/* Runs this templar binary with args (NULL-terminated, at most 22) to completion, its output appended
 * to log; a non-zero exit is an error naming what (e.g. "the baseline's training") and the log. */
tp_status ln_run_templar(ln_net *net, const char *what, char **args, const char *log, tp_err *err);

/* ---- drive.c */
typedef enum { LN_DONE, LN_INTERRUPTED, LN_FAILED } ln_outcome;
/* Runs the network until the leader and every live miner have finished the last window, *stop is
 * set (a signal), or it fails (err says why: every neuron died, the leader died, no progress). */
ln_outcome ln_drive(ln_net *net, volatile sig_atomic_t *stop, tp_err *err);

/* ---- run.c */
/* A whole run after the arguments were parsed: setup, the s3rver, the neurons, the drive, then every
 * process stopped and the report written, whatever happened. stop is raised by a signal handler.
 * Returns the process exit code (0 done, 1 failed, 130 interrupted); messages go to stdout/stderr. */
int ln_run(ln_net *net, volatile sig_atomic_t *stop);
/* `templar localnet report DIR`: rebuilds the report of a finished run, keeping its outcome and
 * notes. Reads the run's files and chain; writes only the report. */
tp_status ln_report_rebuild(const char *dir, tp_err *err);

/* ---- report.c */
/* Parses one metrics line: a JSON object with an integer "window", else NULL (a torn line). */
json_t *ln_parse_record(const char *line, size_t len);
/* Writes DIR/report.json, DIR/report.md and the plots (DIR/loss.png, weights.png, gather.png via
 * gnuplot; when gnuplot is missing the report says so) from DIR/localnet.json, the neurons' metrics
 * and the chain. outcome is a word for the report ("completed", "interrupted", "failed"); notes may
 * be NULL (a JSON array of strings). */
tp_status ln_report_write(const char *dir, const char *outcome, json_t *notes, tp_err *err);

/* localnet --baseline (baseline.c): after a completed run whose report is written, trains the
 * centralized baseline and writes DIR/LN_BASELINE_FILE; the caller rewrites the report. */
tp_status ln_baseline(ln_net *net, tp_err *err);

/* export.c: after a completed run whose report is written, the leader's final model as a Hugging
 * Face directory (DIR/LN_EXPORT_HF, its card from the report) and a GGUF file for llama.cpp
 * (DIR/LN_EXPORT_GGUF), through `templar export`. */
#define LN_EXPORT_HF "export/hf"
#define LN_EXPORT_GGUF "export/model.gguf"
tp_status ln_export(ln_net *net, tp_err *err);

#endif
