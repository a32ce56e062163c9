/* localnet setup: everything that exists before the first process starts. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include "localnet/localnet.h"
#include "core/alloc.h"
#include "core/fileio.h"
#include "net/wallet.h"
#include "neuron/run_config.h"

void ln_note(ln_net *net, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("localnet: %s\n", msg);
    fflush(stdout);
    if (!net->notes) net->notes = json_array();
    if (net->notes) json_array_append_new(net->notes, json_string(msg));
}

void ln_net_free(ln_net *net) {
    for (int i = 0; net->nodes && i < net->n_nodes; i++) ln_wait_reader_close(&net->nodes[i].wait);
    free(net->nodes);
    net->nodes = NULL;
    ln_env_free(net->env);
    net->env = NULL;
    json_decref(net->notes);
    net->notes = NULL;
}

/* ---------------------------------------------------------------- paths */

static tp_status pathf(char *out, size_t n, tp_err *err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static tp_status pathf(char *out, size_t n, tp_err *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= n) return tp_fail(err, TP_ERR_ARG, "path too long: %.200s...", out);
    return TP_OK;
}

/* DIR must be new, or a directory without a report or a chain (a run is never overwritten). */
static tp_status prepare_out_dir(ln_net *net, tp_err *err) {
    const char *out = net->opt.out;
    char p[LN_PATH_MAX];
    if (tp_path_exists(out)) {
        if (!tp_path_is_dir(out)) return tp_fail(err, TP_ERR_ARG, "--out %s exists and is not a directory", out);
        static const char *const taken[] = {"report.json", "chain.db", "localnet.json"};
        for (size_t i = 0; i < sizeof taken / sizeof *taken; i++) {
            tp_status st = pathf(p, sizeof p, err, "%s/%s", out, taken[i]);
            if (st) return st;
            if (tp_path_exists(p))
                return tp_fail(err, TP_ERR_ARG, "--out %s already holds a run (%s); use a new or empty directory", out,
                               taken[i]);
        }
    }
    tp_status st = tp_mkdirs(out, err);
    if (st) return st;
    if (!realpath(out, net->dir)) return tp_fail(err, TP_ERR_IO, "cannot resolve %s: %s", out, strerror(errno));
    static const char *const subdirs[] = {"home", "state", "logs", "plots"};
    for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++)
        if ((st = pathf(p, sizeof p, err, "%s/%s", net->dir, subdirs[i])) || (st = tp_mkdirs(p, err))) return st;
    return TP_OK;
}

tp_status ln_locate(ln_net *net, tp_err *err) {
    ssize_t n = readlink("/proc/self/exe", net->bin, sizeof net->bin - 1);
    if (n <= 0 || (size_t)n >= sizeof net->bin - 1)
        return tp_fail(err, TP_ERR_IO, "cannot find the templar binary (/proc/self/exe)");
    net->bin[n] = 0;
    const char *root = getenv("TEMPLAR_ROOT");
    if (root && *root) {
        if (!realpath(root, net->repo)) return tp_fail(err, TP_ERR_ARG, "TEMPLAR_ROOT %s: %s", root, strerror(errno));
        return TP_OK;
    }
    /* build/templar → the repository is the parent of the binary's directory. */
    char tmp[LN_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", net->bin);
    char *d = dirname(tmp);
    snprintf(net->repo, sizeof net->repo, "%s", dirname(d));
    return TP_OK;
}

/* ---------------------------------------------------------------- data */

static tp_status run_step(char *const argv[], const char *log, tp_err *err) {
    int code;
    tp_status st = ln_run_command(argv, NULL, log, &code, err);
    if (st) return st;
    if (code) return tp_fail(err, TP_ERR_IO, "%s failed (exit status %d); see %s", argv[0], code, log);
    return TP_OK;
}

/* The lock that makes concurrent preparations (localnets, tests) of REPO/data wait for each other. */
static tp_status lock_data(const char *repo, int *fd, tp_err *err) {
    char dir[LN_PATH_MAX], lock[LN_PATH_MAX];
    tp_status st;
    if ((st = pathf(dir, sizeof dir, err, "%s/data", repo)) || (st = pathf(lock, sizeof lock, err, "%s/.prep.lock", dir)) ||
        (st = tp_mkdirs(dir, err)))
        return st;
    *fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) return tp_fail(err, TP_ERR_IO, "cannot open %s: %s", lock, strerror(errno));
    while (flock(*fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            close(*fd);
            return tp_fail(err, TP_ERR_IO, "cannot lock %s: %s", lock, strerror(errno));
        }
    }
    return TP_OK;
}

static void unlock_data(int fd) {
    flock(fd, LOCK_UN);
    close(fd);
}

/* The corpus and the tokenizer, each made only if missing; the caller holds the lock. */
static tp_status make_corpus(const char *repo, const char *bin, int vocab, const char *log, tp_err *err) {
    char corpus[LN_PATH_MAX], train[LN_PATH_MAX], tok[LN_PATH_MAX], script[LN_PATH_MAX], vocab_s[16];
    tp_status st;
    if ((st = pathf(corpus, sizeof corpus, err, "%s/data/corpus", repo)) ||
        (st = pathf(train, sizeof train, err, "%s/train.txt", corpus)) ||
        (st = pathf(tok, sizeof tok, err, "%s/data/tokenizer-%d.json", repo, vocab)) ||
        (st = pathf(script, sizeof script, err, "%s/scripts/get-corpus", repo)))
        return st;
    snprintf(vocab_s, sizeof vocab_s, "%d", vocab);
    if (!tp_path_exists(train)) {
        char *argv[] = {script, corpus, NULL};
        st = run_step(argv, log, err);
    }
    if (!st && !tp_path_exists(tok)) {
        char *argv[] = {(char *)bin, "tokenizer", "train", "--vocab", vocab_s, "--out", tok, train, NULL};
        st = run_step(argv, log, err);
    }
    return st;
}

tp_status ln_prepare_corpus(const char *repo, const char *bin, int vocab, const char *log, tp_err *err) {
    int fd;
    tp_status st = lock_data(repo, &fd, err);
    if (st) return st;
    st = make_corpus(repo, bin, vocab, log, err);
    unlock_data(fd);
    return st ? tp_wrap(err, "preparing the corpus") : TP_OK;
}

/* Corpus, tokenizer and shards for a named config, each made only if missing, under the lock so
 * that concurrent localnets (tests) prepare the data once. */
static tp_status prepare_named_data(ln_net *net, int vocab, const char *data, tp_err *err) {
    char meta[LN_PATH_MAX + 16], val[LN_PATH_MAX], train[LN_PATH_MAX], tok[LN_PATH_MAX], log[LN_PATH_MAX];
    tp_status st;
    if ((st = pathf(meta, sizeof meta, err, "%s/meta.json", data))) return st;
    if (tp_path_exists(meta)) return TP_OK;
    if ((st = pathf(train, sizeof train, err, "%s/data/corpus/train.txt", net->repo)) ||
        (st = pathf(val, sizeof val, err, "%s/data/corpus/val.txt", net->repo)) ||
        (st = pathf(tok, sizeof tok, err, "%s/data/tokenizer-%d.json", net->repo, vocab)) ||
        (st = pathf(log, sizeof log, err, "%s/logs/prep.log", net->dir)))
        return st;
    int fd;
    if ((st = lock_data(net->repo, &fd, err))) return st;
    if (!tp_path_exists(meta)) { /* someone else may have made it while we waited */
        printf("localnet: preparing %s (log: %s)\n", data, log);
        fflush(stdout);
        st = make_corpus(net->repo, net->bin, vocab, log, err);
        if (!st) {
            char *argv[] = {net->bin, "prep", "--tokenizer", tok, "--out", (char *)data, "--val", val, train, NULL};
            st = run_step(argv, log, err);
        }
        if (!st && !tp_path_exists(meta)) st = tp_fail(err, TP_ERR_IO, "prep did not write %s; see %s", meta, log);
    }
    unlock_data(fd);
    return st ? tp_wrap(err, "preparing the data") : TP_OK;
}

/* The config and its data directory, checked before DIR is made so that a bad --config leaves
 * nothing behind. A named config's data may not exist yet (prepare_named_data makes it). */
static tp_status resolve_run_config(ln_net *net, tp_run_config *rc, int *named, tp_err *err) {
    const char *cfg = net->opt.config;
    tp_status st = tp_run_config_load(cfg, rc, err);
    if (st) return tp_wrap(err, "--config %s", cfg);
    *named = !tp_config_is_path(cfg);
    char data[LN_PATH_MAX], meta[LN_PATH_MAX + 16];
    if (*named) {
        st = pathf(data, sizeof data, err, "%s/data/%s-%d", net->repo, cfg, rc->cfg.model.vocab_size);
    } else {
        if (!realpath(rc->data, data))
            return tp_fail(err, TP_ERR_CONFIG, "--config %s: data directory %s: %s", cfg, rc->data, strerror(errno));
        if ((st = pathf(meta, sizeof meta, err, "%s/meta.json", data))) return st;
        if (!tp_path_exists(meta))
            return tp_fail(err, TP_ERR_CONFIG, "--config %s: data directory %s has no meta.json (run templar prep)",
                           cfg, data);
    }
    if (!st && snprintf(rc->data, sizeof rc->data, "%s", data) >= (int)sizeof rc->data)
        st = tp_fail(err, TP_ERR_CONFIG, "data path too long: %.200s...", data);
    return st;
}

/* run.json: the config with an absolute data directory, so every neuron reads the same shards
 * whatever its working directory. */
static tp_status write_run_config(ln_net *net, const tp_run_config *rc, int named, tp_err *err) {
    tp_status st;
    if (named && (st = prepare_named_data(net, rc->cfg.model.vocab_size, rc->data, err))) return st;
    if ((st = pathf(net->run_json, sizeof net->run_json, err, "%s/run.json", net->dir))) return st;
    return tp_run_config_save(rc, net->run_json, err);
}

/* ---------------------------------------------------------------- nodes, wallets, chain */

static tp_status make_nodes(ln_net *net, tp_err *err) {
    const ln_opts *o = &net->opt;
    int n = (int)(1 + o->validators + o->miners);
    if (!(net->nodes = tp_calloc((size_t)n, sizeof *net->nodes, err))) return err->code;
    net->n_nodes = n;
    for (int i = 0; i < n; i++) {
        ln_node *nd = &net->nodes[i];
        nd->uid = i;
        nd->partner = -1;
        nd->last_window = -1;
        ln_wait_reader_init(&nd->wait, -1);
        if (i == 0) {
            nd->kind = LN_OWNER;
            snprintf(nd->name, sizeof nd->name, "owner");
        } else if (i <= o->validators) {
            int v = i - 1;
            nd->kind = LN_VALIDATOR;
            snprintf(nd->name, sizeof nd->name, "validator-%d", v);
            nd->stake = v < o->n_stakes ? o->stakes[v] : 1000.0 / (v + 1);
        } else {
            nd->kind = LN_MINER;
            snprintf(nd->name, sizeof nd->name, "miner-%d", (int)(i - 1 - o->validators));
        }
    }
    /* Adversaries take the last miners, in the order the modes were given. */
    int64_t total = 0;
    for (int a = 0; a < o->n_adv; a++) total += o->adv[a].count;
    int next = n - (int)total;
    for (int a = 0; a < o->n_adv; a++)
        for (int64_t k = 0; k < o->adv[a].count; k++, next++) {
            ln_node *nd = &net->nodes[next];
            snprintf(nd->adversary, sizeof nd->adversary, "%s", o->adv[a].mode);
            /* Sybils come in pairs of neighbouring uids (their count is even). */
            if (!strcmp(o->adv[a].mode, "sybil")) nd->partner = k % 2 ? next - 1 : next + 1;
        }
    net->leader = 1;
    for (int i = 2; i <= o->validators; i++)
        if (net->nodes[i].stake > net->nodes[net->leader].stake) net->leader = i;
    return TP_OK;
}

tp_status ln_wallet_path(const ln_net *net, char *out, size_t n, tp_err *err) {
    return pathf(out, n, err, "%s/home/wallets", net->dir);
}

const uint8_t *ln_wallet_seed(const ln_net *net, const char *name, uint8_t seed[32]) {
    if (!net->opt.have_seed) return NULL;
    char text[256];
    int len = snprintf(text, sizeof text, "templar-localnet/%lld/%s", (long long)net->opt.seed, name);
    crypto_generichash(seed, 32, (const uint8_t *)text, (size_t)len, NULL, 0);
    return seed;
}

/* Every node's hotkey: btcli's layout, hotkey "default" of a wallet named after the node. */
static tp_status make_wallets(ln_net *net, tp_err *err) {
    char path[LN_PATH_MAX];
    tp_status st = ln_wallet_path(net, path, sizeof path, err);
    for (int i = 0; !st && i < net->n_nodes; i++) {
        tp_wallet w;
        tp_err ignored;
        uint8_t seed[32];
        const char *name = net->nodes[i].name;
        /* A setup that stopped half-way left wallets behind; they are as good as new ones. */
        if (tp_wallet_load(path, name, NULL, &w, &ignored) &&
            (st = tp_wallet_create(path, name, NULL, net->opt.key_type, ln_wallet_seed(net, name, seed), &w, err)))
            break;
        snprintf(net->nodes[i].hotkey, sizeof net->nodes[i].hotkey, "%s", w.pk_hex);
        tp_wallet_clear(&w);
    }
    return st;
}

tp_status ln_register_nodes(ln_net *net, tp_chain *c, tp_err *err) {
    tp_status st = TP_OK;
    for (int i = 0; !st && i < net->n_nodes; i++) {
        ln_node *nd = &net->nodes[i];
        int64_t uid;
        int is_new;
        st = tp_chain_register(c, nd->hotkey, &uid, &is_new, err);
        if (!st && uid != nd->uid)
            st = tp_fail(err, TP_ERR_INTERNAL, "%s registered as uid %" PRId64 ", expected %" PRId64, nd->name, uid,
                         nd->uid);
        if (!st && nd->stake > 0) st = tp_chain_set_stake(c, nd->hotkey, nd->stake, err);
    }
    return st;
}

static tp_status make_chain(ln_net *net, tp_err *err) {
    const ln_opts *o = &net->opt;
    tp_status st = pathf(net->chain_uri, sizeof net->chain_uri, err, "local:%s/chain.db", net->dir);
    if (st) return st;
    tp_chain_config cfg;
    tp_chain_config_default(&cfg);
    cfg.clock = o->wall ? TP_CLOCK_WALL : TP_CLOCK_LOCKSTEP;
    cfg.block_time_ms = o->block_time_ms;
    cfg.blocks_per_window = o->blocks_per_window;
    cfg.tempo = 2 * o->blocks_per_window;
    if (cfg.max_uids < net->n_nodes) cfg.max_uids = net->n_nodes;
    if ((st = tp_chain_create(net->chain_uri, &cfg, err))) return st;
    tp_chain *c;
    if ((st = tp_chain_open(net->chain_uri, &c, err))) return st;
    st = ln_register_nodes(net, c, err);
    tp_chain_close(c);
    return st ? tp_wrap(err, "chain %s", net->chain_uri) : TP_OK;
}

static tp_status make_node_dirs(ln_net *net, tp_err *err) {
    char p[LN_PATH_MAX];
    tp_status st = TP_OK;
    for (int i = 1; !st && i < net->n_nodes; i++) {
        ln_node *nd = &net->nodes[i];
        if ((st = pathf(p, sizeof p, err, "%s/state/%s", net->dir, nd->name)) || (st = tp_mkdirs(p, err))) break;
        if (net->opt.s3) continue; /* the URI names s3rver's port, known once it runs */
        if ((st = pathf(p, sizeof p, err, "%s/buckets/%s", net->dir, nd->name)) || (st = tp_mkdirs(p, err)) ||
            (st = pathf(nd->store, sizeof nd->store, err, "file://%s", p)))
            break;
    }
    return st;
}

static const char *role_of(const ln_node *n) {
    switch (n->kind) {
    case LN_OWNER: return "owner";
    case LN_VALIDATOR: return "validator";
    default: return n->adversary[0] ? n->adversary : "honest";
    }
}

static tp_status write_manifest(ln_net *net, tp_err *err) {
    const ln_opts *o = &net->opt;
    json_t *nodes = json_array(), *faults = json_array();
    for (int i = 0; nodes && i < net->n_nodes; i++) {
        const ln_node *n = &net->nodes[i];
        json_array_append_new(nodes, json_pack("{s:s, s:I, s:s, s:f, s:s}", "wallet", n->name, "uid",
                                               (json_int_t)n->uid, "role", role_of(n), "stake", n->stake, "hotkey",
                                               n->hotkey));
    }
    for (int i = 0; faults && i < o->n_faults; i++) json_array_append_new(faults, json_string(o->faults[i].spec));
    json_t *root = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:o, s:o, s:b}", "config", o->config,
                             "miners", (json_int_t)o->miners, "validators", (json_int_t)o->validators, "windows",
                             (json_int_t)o->windows, "clock", o->wall ? "wall" : "lockstep", "store",
                             o->s3 ? "s3" : "file", "block_time_ms", (json_int_t)o->block_time_ms,
                             "blocks_per_window", (json_int_t)o->blocks_per_window, "chain", net->chain_uri,
                             "run_config", net->run_json, "leader", (json_int_t)net->leader, "faults", faults, "nodes",
                             nodes, "hosts", o->hosts);
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    if (!text) return tp_fail(err, TP_ERR_NOMEM, "out of memory writing localnet.json");
    char p[LN_PATH_MAX];
    tp_status st = pathf(p, sizeof p, err, "%s/localnet.json", net->dir);
    if (!st) st = tp_write_file_atomic(p, text, strlen(text), err);
    free(text);
    return st;
}

tp_status ln_setup(ln_net *net, tp_err *err) {
    tp_status st;
    tp_run_config rc;
    int named = 0;
    if ((st = ln_locate(net, err)) || (st = resolve_run_config(net, &rc, &named, err)) ||
        (st = prepare_out_dir(net, err)) || (st = write_run_config(net, &rc, named, err)) ||
        (st = make_nodes(net, err)) || (st = make_wallets(net, err)) ||
        (net->opt.hosts && (st = ln_hosts_create(net, err))) ||
        (st = net->opt.subtensor ? ln_subtensor_setup(net, err) : make_chain(net, err)) ||
        (st = make_node_dirs(net, err)) || (st = write_manifest(net, err)))
        return st;
    const ln_opts *o = &net->opt;
    printf("localnet: %s: %" PRId64 " validators, %" PRId64 " miners, %" PRId64 " windows, %s clock, %s store, "
           "%s chain%s; leader %s (uid %d)\n",
           net->dir, o->validators, o->miners, o->windows, o->wall ? "wall" : "lockstep", o->s3 ? "s3" : "file",
           o->subtensor ? "Subtensor" : "local", o->hosts ? ", each on a host of its own" : "",
           net->nodes[net->leader].name, net->leader);
    fflush(stdout);
    return TP_OK;
}
