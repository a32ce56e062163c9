/* templar localnet: a whole network on this machine. Wallets, a local chain, buckets (directories or
 * an s3rver), one process per neuron; K windows on a lockstep or wall clock; faults on demand; then a
 * report (JSON, Markdown, plots). The pieces live in localnet_*.c (see localnet.h). */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/alloc.h"
#include "localnet/localnet.h"
#include "neuron/adversary.h"

/* The command's name in messages: the testbed is the localnet across hosts. */
#define CMD (o->hosts ? "testbed" : "localnet")

static const char usage_text[] =
    "usage: templar localnet --miners N --validators V --windows K --out DIR [OPTIONS]\n"
    "       templar localnet report DIR      rebuild the report of an earlier run from DIR\n"
    "\n"
    "Runs a whole templar network on this machine: makes wallets, a local chain (local:DIR/chain.db),\n"
    "one bucket per neuron, the data if missing; starts every validator and miner as its own process;\n"
    "runs K windows from the start window the leader validator publishes; stops every process (also on\n"
    "Ctrl-C or SIGTERM, exit status 130); writes DIR/report.json, DIR/report.md and PNG plots\n"
    "(DIR/loss.png, weights.png, gather.png; needs gnuplot).\n"
    "\n"
    "  --miners N              miners (uids V+1..V+N), N >= 1\n"
    "  --validators V          validators (uids 1..V; uid 0 is the owner, the burn uid), V >= 1\n"
    "  --windows K             windows to run, K >= 1\n"
    "  --out DIR               the run directory; refused if it holds a report or a chain\n"
    "  --config NAME|FILE      run config: tiny (default), small, or a run config file whose data\n"
    "                          directory exists. For a name the shards are <repo>/data/NAME-VOCAB,\n"
    "                          prepared on first use (corpus, tokenizer, prep); <repo> is\n"
    "                          $TEMPLAR_ROOT, else the parent of the binary's directory\n"
    "  --adversary MODE[:COUNT]  the last COUNT (default 1) miners run adversary MODE; repeatable, the\n"
    "                          modes fill the highest uids in the order given. MODE: noise zero copy\n"
    "                          scale stale late garbage nan free-rider wrong-data noisy-copy\n"
    "                          partial lazy-data sybil (pairs: an even COUNT), or slow (an honest\n"
    "                          miner with half the inner steps)\n"
    "  --stake S               a validator's stake, in uid order; repeatable or comma-separated\n"
    "                          (default 1000/(i+1) for validator-i; each >= 1, the permit stake).\n"
    "                          The highest stake is the leader\n"
    "  --store file|s3         buckets are directories DIR/buckets/<wallet> (default), or buckets of\n"
    "                          an s3rver started on a free loopback port with its data in DIR/s3\n"
    "  --clock lockstep|wall   lockstep (default): the chain advances as soon as every live neuron\n"
    "                          has announced that it waits for a later block; wall: real time\n"
    "  --block-time MS         wall clock: milliseconds per block (default 1000)\n"
    "  --blocks-per-window B   default 6; Yuma runs every 2B blocks\n"
    "  --fault SPEC            repeatable; W and R are windows counted from the start window:\n"
    "                            kill:WALLET@W:R  SIGKILL neuron WALLET when the chain enters window\n"
    "                                             W, restart it (same command) when it enters R > W\n"
    "                            s3-down@W:R      stop s3rver at W, start it again at R (--store s3)\n"
    "  --timeout S             give up, naming who is stuck: lockstep, after S seconds without\n"
    "                          progress (default 600); wall, after S seconds in all (default the\n"
    "                          wall time of K+5 windows)\n"
    "  --chain local|subtensor[:SPEC]\n"
    "                          local (default): a SQLite ledger, DIR/chain.db; subtensor: a real\n"
    "                          Subtensor runtime under chopsticks (SPEC 143, the default: the real\n"
    "                          Yuma epoch; 218: dTAO call shapes), started on a free loopback port;\n"
    "                          an operator wallet makes the subnet, registers and stakes every node;\n"
    "                          localnet builds its blocks (in lockstep, or one per --block-time on\n"
    "                          the wall clock), each stamped with the real time\n"
    "  --seed N                derive every wallet's key from N (test networks only): with the\n"
    "                          lockstep clock the whole run, scores included, then repeats exactly\n"
    "  --key-type sr25519|ed25519\n"
    "                          every wallet's keys (default sr25519, as Bittensor's wallets)\n"
    "  --baseline              after the run, what decentralization cost: `templar train` on as many\n"
    "                          tokens as the honest miners trained on, at their global batch and\n"
    "                          the miners' LR (constant after warm-up), evaluated on the leader's\n"
    "                          held-out samples (DIR/baseline.json; the report compares)\n"
    "\n"
    "Wallets: owner, validator-0..V-1, miner-0..N-1, btcli's layout: hotkey 'default' of each in\n"
    "DIR/home/wallets/NAME/hotkeys/ (TEMPLAR_HOME=DIR/home for every neuron); on Subtensor the operator's\n"
    "coldkey in DIR/home/wallets/operator/coldkey.\n"
    "Neurons: templar validator|miner --wallet W --chain local:DIR/chain.db --store URI\n"
    "         --config DIR/run.json --state DIR/state/W [--adversary MODE], with OMP_NUM_THREADS=1\n"
    "         unless set, stdout and stderr appended to DIR/logs/W.log. Each appends one JSON line per\n"
    "         window to DIR/state/W/metrics.jsonl; the report is built from those and the chain.\n"
    "The lockstep clock advances once every live neuron waits for a later block (each tells localnet\n"
    "through a pipe, TEMPLAR_WAIT_FD); a neuron retrying after a failure waits for the next block, so\n"
    "time passes during an outage exactly as the neurons let it.\n";

static const char testbed_usage_text[] =
    "usage: templar testbed --miners N --validators V --windows K --out DIR [OPTIONS]   (as root)\n"
    "\n"
    "A templar network across hosts: every validator and miner, the chain (Subtensor under chopsticks)\n"
    "and the store (s3rver) each run on a host of their own, a Linux network namespace with its own\n"
    "address on a private bridge (10.X.0.0/16), made before the run and removed after it. A neuron's\n"
    "host has its own TEMPLAR_HOME with its wallet alone and its own run config (DIR/hosts/<wallet>/),\n"
    "and reaches the chain and the store only over its link. Before the neurons start, each neuron\n"
    "host's link to the store is measured (round trip, rate each way; DIR/links.json) and the put\n"
    "window and gather timeout are set from those measurements and the block time.\n"
    "\n"
    "Every option of templar localnet works here (the store is s3 and the chain subtensor), plus:\n"
    "  --link SPEC             every host's link: delay=TIME,rate=RATE, e.g. delay=40ms,rate=100mbit.\n"
    "                          The delay is added to everything the host sends (a round trip between\n"
    "                          two 40 ms hosts takes 80 ms); the rate limits each direction (tc tbf).\n"
    "                          Default: no delay, no limit\n"
    "  --host-link HOST:SPEC   one host's link (HOST: validator-I, miner-J, chain or s3); the parts it\n"
    "                          leaves out come from --link. Repeatable\n"
    "  --fault partition:WALLET@W:R\n"
    "                          the link of WALLET's host is down from window W until window R\n"
    "\n"
    "Delay without netem: a relay in front of the chain's and the store's port holds each byte back\n"
    "by the sender's delay. Needs root, iproute2 (ip, tc) and the kernel's veth, bridge and tbf.\n";

/* Set by the signal handler; the driver polls it. The only mutable static: a handler has no other
 * way to reach the program. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

/* ---------------------------------------------------------------- arguments */

static int parse_adversary(ln_opts *o, const char *s) {
    if (o->n_adv == LN_MAX_ADV) return cli_usage(CMD, "at most %d --adversary options", LN_MAX_ADV);
    const char *colon = strchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    char mode[LN_MODE_MAX];
    if (len == 0 || len >= sizeof mode) return cli_usage(CMD, "--adversary expects MODE[:COUNT], got '%s'", s);
    memcpy(mode, s, len);
    mode[len] = 0;
    tp_adversary_spec adv;
    if (tp_adversary_parse(mode, &adv) || adv.mode == TP_ADV_NONE || adv.partner >= 0) {
        char list[256];
        tp_adversary_list(list, sizeof list);
        return cli_usage(CMD, "unknown adversary mode '%s' (modes: %s)", mode, list);
    }
    int64_t count = 1;
    if (colon && cli_parse_i64(CMD, "--adversary COUNT", colon + 1, 1, LN_MAX_NODES, &count)) return 2;
    snprintf(o->adv[o->n_adv].mode, sizeof o->adv[o->n_adv].mode, "%s", mode);
    o->adv[o->n_adv++].count = count;
    return 0;
}

static int parse_stakes(ln_opts *o, const char *s) {
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item) return cli_usage(CMD, "--stake: empty or overlong item in '%s'", s);
        memcpy(item, p, len);
        item[len] = 0;
        double v;
        if (cli_parse_f64(CMD, "--stake", item, &v)) return 2;
        if (v < 1) return cli_usage(CMD, "--stake %s: a validator needs stake >= 1 (the permit stake)", item);
        if (o->n_stakes == LN_MAX_NODES) return cli_usage(CMD, "too many --stake values");
        o->stakes[o->n_stakes++] = v;
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* "W:R" with 0 <= W < R. */
static int parse_window_pair(const ln_opts *o, const char *spec, const char *s, ln_fault *f) {
    const char *colon = strchr(s, ':');
    char *end;
    long long w = colon ? strtoll(s, &end, 10) : -1;
    if (!colon || end != colon || colon == s || w < 0)
        return cli_usage(CMD, "--fault %s: expected ...@W:R with windows W < R (offsets from the start window)",
                         spec);
    long long r = strtoll(colon + 1, &end, 10);
    if (*end || end == colon + 1 || r <= w || r > 1000000)
        return cli_usage(CMD, "--fault %s: the restart window R must be an integer greater than W", spec);
    f->at = w;
    f->until = r;
    return 0;
}

static int parse_fault(ln_opts *o, const char *s) {
    if (o->n_faults == LN_MAX_FAULTS) return cli_usage(CMD, "at most %d --fault options", LN_MAX_FAULTS);
    ln_fault *f = &o->faults[o->n_faults];
    memset(f, 0, sizeof *f);
    if (strlen(s) >= sizeof f->spec) return cli_usage(CMD, "--fault '%s' is too long", s);
    snprintf(f->spec, sizeof f->spec, "%s", s);
    const char *at = strchr(s, '@'), *colon = strchr(s, ':');
    if ((!strncmp(s, "kill:", 5) || !strncmp(s, "partition:", 10)) && at && colon < at) {
        size_t len = (size_t)(at - (colon + 1));
        if (len == 0 || len >= sizeof f->wallet)
            return cli_usage(CMD, "--fault %s: expected %.*s:WALLET@W:R", s, (int)(colon - s), s);
        memcpy(f->wallet, colon + 1, len);
        f->wallet[len] = 0;
        f->kind = s[0] == 'k' ? LN_FAULT_KILL : LN_FAULT_PARTITION;
    } else if (!strncmp(s, "s3-down@", 8)) {
        f->kind = LN_FAULT_S3_DOWN;
    } else {
        return cli_usage(CMD, "--fault '%s': expected kill:WALLET@W:R%s or s3-down@W:R", s,
                         o->hosts ? ", partition:WALLET@W:R" : "");
    }
    if (parse_window_pair(o, s, at + 1, f)) return 2;
    o->n_faults++;
    return 0;
}

static int parse_link(ln_opts *o, const char *opt, const char *spec, tb_link *l) {
    tp_err err = {0};
    if (tb_link_parse(spec, l, &err)) return cli_usage(CMD, "%s: %s", opt, err.msg);
    return 0;
}

/* --host-link HOST:SPEC: that host's link, starting from --link's (whichever comes first). */
static int parse_host_link(ln_opts *o, const char *s) {
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= LN_NAME_MAX)
        return cli_usage(CMD, "--host-link expects HOST:delay=TIME,rate=RATE, got '%s'", s);
    if (o->n_host_links == (int)(sizeof o->host_links / sizeof *o->host_links))
        return cli_usage(CMD, "too many --host-link options");
    int i = o->n_host_links;
    snprintf(o->host_links[i].host, sizeof o->host_links[i].host, "%.*s", (int)(colon - s), s);
    o->host_links[i].link = (tb_link){-1, -1}; /* unset parts are filled from --link at the end */
    if (parse_link(o, "--host-link", colon + 1, &o->host_links[i].link)) return 2;
    o->n_host_links++;
    return 0;
}

/* A kill fault must name a neuron of this network: validator-I (I < V) or miner-J (J < N). */
static int wallet_in_net(const ln_opts *o, const char *w) {
    const char *num;
    int64_t limit;
    if (!strncmp(w, "validator-", 10)) num = w + 10, limit = o->validators;
    else if (!strncmp(w, "miner-", 6)) num = w + 6, limit = o->miners;
    else return 0;
    if (!*num || (num[0] == '0' && num[1])) return 0; /* one spelling per wallet */
    char *end;
    long long i = strtoll(num, &end, 10);
    return !*end && i >= 0 && i < limit;
}

/* What the options say together: required ones, counts that fit, faults that name real nodes. */
static int check_args(const ln_opts *o) {
    if (o->miners < 0) return cli_usage(CMD, "--miners N is required (N >= 1)");
    if (o->validators < 0) return cli_usage(CMD, "--validators V is required (V >= 1)");
    if (o->windows < 0) return cli_usage(CMD, "--windows K is required (K >= 1)");
    if (!o->out) return cli_usage(CMD, "--out DIR is required");
    if (1 + o->validators + o->miners > LN_MAX_NODES)
        return cli_usage(CMD, "1 + validators + miners must be at most %d uids", LN_MAX_NODES);
    int64_t adversaries = 0;
    for (int i = 0; i < o->n_adv; i++) adversaries += o->adv[i].count;
    if (adversaries > o->miners)
        return cli_usage(CMD, "--adversary asks for %" PRId64 " adversaries but there are only %" PRId64 " miners",
                         adversaries, o->miners);
    for (int i = 0; i < o->n_adv; i++)
        if (!strcmp(o->adv[i].mode, "sybil") && o->adv[i].count % 2)
            return cli_usage(CMD, "--adversary sybil:%" PRId64 ": sybils come in pairs (an even count)", o->adv[i].count);
    if (o->n_stakes > o->validators)
        return cli_usage(CMD, "%d --stake values for %" PRId64 " validators", o->n_stakes, o->validators);
    if (!o->hosts && (o->n_host_links || o->link.delay_s || o->link.rate_bps))
        return cli_usage(CMD, "--link and --host-link are for hosts (templar testbed)");
    if (o->hosts && (!o->s3 || !o->subtensor))
        return cli_usage(CMD, "hosts share no files: a testbed needs --store s3 and --chain subtensor");
    for (int i = 0; i < o->n_host_links; i++) {
        const char *h = o->host_links[i].host;
        if (strcmp(h, "chain") && strcmp(h, "s3") && !wallet_in_net(o, h))
            return cli_usage(CMD, "--host-link %s: unknown host (chain, s3, validator-I or miner-J)", h);
    }
    for (int i = 0; i < o->n_faults; i++) {
        const ln_fault *f = &o->faults[i];
        if (f->kind == LN_FAULT_S3_DOWN && !o->s3) return cli_usage(CMD, "--fault %s needs --store s3", f->spec);
        if (f->kind == LN_FAULT_PARTITION && !o->hosts)
            return cli_usage(CMD, "--fault %s: partitions need hosts (templar testbed)", f->spec);
        if (f->kind != LN_FAULT_S3_DOWN && !wallet_in_net(o, f->wallet))
            return cli_usage(CMD,
                             "--fault %s: unknown wallet '%s' (validator-0..validator-%" PRId64
                             " or miner-0..miner-%" PRId64 ")",
                             f->spec, f->wallet, o->validators - 1, o->miners - 1);
    }
    return 0;
}

/* The parts of --host-link that were not given come from --link. */
static void fill_host_links(ln_opts *o) {
    for (int i = 0; i < o->n_host_links; i++) {
        tb_link *l = &o->host_links[i].link;
        if (l->delay_s < 0) l->delay_s = o->link.delay_s;
        if (l->rate_bps < 0) l->rate_bps = o->link.rate_bps;
    }
}

static int parse_args(int argc, char **argv, int hosts, ln_opts *o) {
    enum { O_MINERS = 1000, O_VALIDATORS, O_WINDOWS, O_CONFIG, O_ADV, O_STORE, O_CLOCK, O_BLOCK_TIME, O_BPW,
           O_FAULT, O_STAKE, O_OUT, O_TIMEOUT, O_SEED, O_CHAIN, O_LINK, O_HOST_LINK, O_KEY_TYPE, O_BASELINE };
    static const struct option opts[] = {{"miners", required_argument, 0, O_MINERS},
                                         {"validators", required_argument, 0, O_VALIDATORS},
                                         {"windows", required_argument, 0, O_WINDOWS},
                                         {"config", required_argument, 0, O_CONFIG},
                                         {"adversary", required_argument, 0, O_ADV},
                                         {"store", required_argument, 0, O_STORE},
                                         {"clock", required_argument, 0, O_CLOCK},
                                         {"block-time", required_argument, 0, O_BLOCK_TIME},
                                         {"blocks-per-window", required_argument, 0, O_BPW},
                                         {"fault", required_argument, 0, O_FAULT},
                                         {"stake", required_argument, 0, O_STAKE},
                                         {"out", required_argument, 0, O_OUT},
                                         {"timeout", required_argument, 0, O_TIMEOUT},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"chain", required_argument, 0, O_CHAIN},
                                         {"link", required_argument, 0, O_LINK},
                                         {"host-link", required_argument, 0, O_HOST_LINK},
                                         {"key-type", required_argument, 0, O_KEY_TYPE},
                                         {"baseline", no_argument, 0, O_BASELINE},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    /* A testbed's hosts share no files: S3 and Subtensor unless told otherwise (then refused). */
    o->hosts = hosts;
    o->s3 = hosts;
    o->subtensor = hosts ? 143 : 0;
    o->config = "tiny";
    o->block_time_ms = 1000;
    o->blocks_per_window = 6;
    o->key_type = TP_KEY_SR25519;
    o->miners = o->validators = o->windows = -1;
    int c;
    optind = 1;
    opterr = 0; /* our own messages, through cli_usage */
    while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case O_MINERS: rc = cli_parse_i64(CMD, "--miners", optarg, 1, LN_MAX_NODES - 2, &o->miners); break;
        case O_VALIDATORS:
            rc = cli_parse_i64(CMD, "--validators", optarg, 1, LN_MAX_NODES - 2, &o->validators);
            break;
        case O_WINDOWS: rc = cli_parse_i64(CMD, "--windows", optarg, 1, 1000000, &o->windows); break;
        case O_CONFIG:
            if (!*optarg) return cli_usage(CMD, "--config needs a name or a file");
            o->config = optarg;
            break;
        case O_ADV: rc = parse_adversary(o, optarg); break;
        case O_STORE:
            if (!strcmp(optarg, "file")) o->s3 = 0;
            else if (!strcmp(optarg, "s3")) o->s3 = 1;
            else return cli_usage(CMD, "--store expects file or s3, got '%s'", optarg);
            break;
        case O_CLOCK:
            if (!strcmp(optarg, "lockstep")) o->wall = 0;
            else if (!strcmp(optarg, "wall")) o->wall = 1;
            else return cli_usage(CMD, "--clock expects lockstep or wall, got '%s'", optarg);
            break;
        case O_BLOCK_TIME: rc = cli_parse_i64(CMD, "--block-time", optarg, 1, 86400000, &o->block_time_ms); break;
        case O_BPW: rc = cli_parse_i64(CMD, "--blocks-per-window", optarg, 1, 1000000, &o->blocks_per_window); break;
        case O_FAULT: rc = parse_fault(o, optarg); break;
        case O_STAKE: rc = parse_stakes(o, optarg); break;
        case O_OUT:
            if (!*optarg) return cli_usage(CMD, "--out needs a directory");
            o->out = optarg;
            break;
        case O_TIMEOUT:
            rc = cli_parse_f64(CMD, "--timeout", optarg, &o->timeout_s);
            if (!rc && o->timeout_s <= 0) return cli_usage(CMD, "--timeout expects a positive number of seconds");
            break;
        case O_SEED:
            rc = cli_parse_i64(CMD, "--seed", optarg, 0, INT64_MAX, &o->seed);
            o->have_seed = 1;
            break;
        case O_KEY_TYPE: {
            tp_err e;
            if (tp_key_type_parse(optarg, &o->key_type, &e)) return cli_usage(CMD, "--key-type: %s", e.msg);
            break;
        }
        case O_CHAIN:
            if (!strcmp(optarg, "local")) o->subtensor = 0;
            else if (!strcmp(optarg, "subtensor") || !strcmp(optarg, "subtensor:143")) o->subtensor = 143;
            else if (!strcmp(optarg, "subtensor:218")) o->subtensor = 218;
            else return cli_usage(CMD, "--chain expects local, subtensor (spec 143) or subtensor:218, got '%s'", optarg);
            break;
        case O_BASELINE: o->baseline = 1; break;
        case O_LINK: rc = parse_link(o, "--link", optarg, &o->link); break;
        case O_HOST_LINK: rc = parse_host_link(o, optarg); break;
        case ':': return cli_usage(CMD, "%s needs a value", argv[optind - 1]);
        default: return cli_usage(CMD, "unknown option '%s'", argv[optind - 1]);
        }
        if (rc) return rc;
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    fill_host_links(o);
    return check_args(o);
}

/* ---------------------------------------------------------------- run */

static void install_handlers(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int run_net(int argc, char **argv, int hosts) {
    tp_err err = {0};
    if (argc >= 2 && !strcmp(argv[1], "report")) {
        if (argc != 3) return cli_usage("localnet", "report expects one argument: the run directory");
        return ln_report_rebuild(argv[2], &err) ? cli_fail("localnet", &err) : 0;
    }
    /* Before anything is made: a testbed without the privilege to make hosts leaves nothing behind. */
    if (hosts && tb_check_privilege(&err)) return cli_fail("testbed", &err);
    ln_net *net = tp_calloc(1, sizeof *net, &err);
    if (!net) return cli_fail("localnet", &err);
    int rc = parse_args(argc, argv, hosts, &net->opt);
    if (!rc) {
        stop_signal = 0;
        install_handlers();
        rc = ln_run(net, &stop_signal);
    }
    ln_net_free(net);
    free(net);
    return rc;
}

int cmd_localnet(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    return run_net(argc, argv, 0);
}

int cmd_testbed(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(testbed_usage_text, stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "report")) return cli_usage("testbed", "use templar localnet report DIR");
    return run_net(argc, argv, 1);
}
