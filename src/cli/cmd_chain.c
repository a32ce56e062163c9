/* templar chain SUBCOMMAND --chain URI ...: the chain from the command line (a local ledger,
 * local:PATH, or a Subtensor subnet, subtensor+http://…?netuid=N). Hotkeys come from wallets
 * ($TEMPLAR_HOME/wallets/NAME); store read credentials come from the environment, never from argv. */
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/chain_bench.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "core/hex.h"
#include "net/chain.h"
#include "net/wallet.h"

#define CMD "chain"

static const char usage_text[] =
    "usage: templar chain SUBCOMMAND --chain URI [OPTIONS]\n"
    "\n"
    "The chain: hotkeys registered as uids, stake, store commitments, weights and Yuma consensus.\n"
    "URI is local:PATH, a SQLite ledger shared by every process of this machine, or\n"
    "subtensor+http(s)://HOST:PORT?netuid=N[&blocks_per_window=B][&clock=lockstep], one subnet of\n"
    "Bittensor's chain over JSON-RPC (registration and stake are then signed by --coldkey WALLET;\n"
    "init and epoch are for the local ledger). $TEMPLAR_CHAIN is the default for --chain.\n"
    "\n"
    "subcommands:\n"
    "  init         create a ledger (clock, block time, tempo, max uids, permit stake)\n"
    "  info         the ledger's settings, current block, window and epoch count\n"
    "  register     register a wallet's hotkey under the next free uid\n"
    "  stake        set the stake of a hotkey (the operator of a local net does this)\n"
    "  commit       commit a wallet's store bucket (and read credentials) for peers to find\n"
    "  set-weights  set a validator's weights (needs a validator permit; once per window)\n"
    "  weights      print the weights a validator uid has set\n"
    "  epoch        run Yuma consensus now\n"
    "  advance      move a lockstep clock forward\n"
    "  metagraph    every uid: hotkey, stake, permit, incentive, dividends, emission, last update\n"
    "\n"
    "'templar chain SUBCOMMAND --help' describes one.\n";

enum {
    O_CHAIN = 1 << 0,
    O_WALLET = 1 << 1,
    O_HOTKEY = 1 << 2,
    O_AMOUNT = 1 << 3,
    O_STORE = 1 << 4,
    O_UIDS = 1 << 5,
    O_WEIGHTS = 1 << 6,
    O_BLOCK_TIME = 1 << 7,
    O_BPW = 1 << 8,
    O_TEMPO = 1 << 9,
    O_CLOCK = 1 << 10,
    O_MAX_UIDS = 1 << 11,
    O_PERMIT = 1 << 12,
    O_BLOCKS = 1 << 13,
    O_JSON = 1 << 14,
    O_UID = 1 << 15,
    O_EMISSION = 1 << 16,
    O_COLDKEY = 1 << 17,
    O_WALLET_PATH = 1 << 18,
};

typedef struct {
    unsigned given;
    const char *chain, *wallet, *hotkey, *coldkey, *wallet_path, *store, *uids, *weights;
    double amount;
    int64_t blocks, uid;
    int json;
    tp_chain_config cfg;
} chain_args;

typedef struct {
    const char *name;
    unsigned allowed, required;
    int (*run)(chain_args *a);
    const char *usage;
} subcommand;

/* ---------------------------------------------------------------- helpers */

static int fail(const tp_err *err) { return cli_fail(CMD, err); }

static int open_chain(const chain_args *a, tp_chain **c) {
    tp_err err = {0};
    if (tp_chain_open(a->chain, c, &err)) return fail(&err);
    return 0;
}

/* --wallet's hotkey (--hotkey names it); keep_secret 0: only the public key is needed (the secret is
 * wiped at once). */
static int load_wallet(const chain_args *a, int keep_secret, tp_wallet *w) {
    tp_err err = {0};
    if (tp_wallet_load(a->wallet_path, a->wallet, a->hotkey, w, &err)) return fail(&err);
    if (!keep_secret) tp_wallet_clear(w);
    return 0;
}

/* Opens the chain and gives it the keys a Subtensor chain signs with: --wallet's as the hotkey,
 * --coldkey's as the coldkey (the local ledger ignores them). */
static int open_chain_signing(const chain_args *a, tp_chain **c) {
    tp_wallet hot, cold;
    int have_hot = a->wallet != NULL, have_cold = a->coldkey != NULL;
    if (have_hot && load_wallet(a, 1, &hot)) return 1;
    tp_err err = {0};
    int rc = have_cold && tp_wallet_load_coldkey(a->wallet_path, a->coldkey, &cold, &err) ? fail(&err) : 0;
    if (!rc) rc = open_chain(a, c);
    if (!rc && tp_chain_set_keys(*c, have_hot ? &hot : NULL, have_cold ? &cold : NULL, &err)) {
        tp_chain_close(*c);
        rc = fail(&err);
    }
    if (have_hot) tp_wallet_clear(&hot);
    if (have_cold) tp_wallet_clear(&cold);
    return rc;
}

/* The hotkey of --wallet (and --hotkey, its name), or --hotkey alone: an account, hex or SS58 (or
 * on the local ledger any hotkey name it takes). */
static int resolve_hotkey(const chain_args *a, char *out, size_t n) {
    if (!a->wallet) {
        tp_err err = {0}, why;
        char hex[2 * TP_KEY_PUBLIC_BYTES + 1];
        if (!tp_account_parse(a->hotkey, hex, &why)) snprintf(out, n, "%s", hex);
        else if (!tp_chain_check_hotkey(a->hotkey, &err)) snprintf(out, n, "%s", a->hotkey);
        else return fail(&why);
        return 0;
    }
    tp_wallet w;
    if (load_wallet(a, 0, &w)) return 1;
    snprintf(out, n, "%s", w.pk_hex);
    return 0;
}

/* An account's SS58 address (Bittensor's way to show it); a local ledger's other hotkey names as they are. */
static const char *hotkey_text(const char *hotkey, char ss58[TP_SS58_MAX]) {
    uint8_t account[32];
    tp_err ignored;
    if (strlen(hotkey) != 64 || tp_unhex(hotkey, account, 32) ||
        tp_ss58_encode(TP_SS58_BITTENSOR, account, ss58, &ignored))
        return hotkey;
    return ss58;
}

static int count_items(const char *s) {
    int n = 1;
    for (; *s; s++) n += *s == ',';
    return n;
}

/* Comma-separated list; each item must parse completely. NaN and infinities parse as numbers so
 * the chain can refuse them by name. */
static int parse_list(const char *opt, const char *s, int is_int, int64_t *iv, double *dv, int64_t cap, int64_t *n) {
    *n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        if (len == 0 || len >= sizeof item) return cli_usage(CMD, "%s: empty or overlong item in '%s'", opt, s);
        if (*n >= cap) return cli_usage(CMD, "%s: more than %" PRId64 " items", opt, cap);
        memcpy(item, p, len);
        item[len] = 0;
        char *end;
        if (is_int) {
            long long v = strtoll(item, &end, 10);
            if (*end || end == item) return cli_usage(CMD, "%s: '%s' is not an integer uid", opt, item);
            iv[(*n)++] = v;
        } else {
            double v = strtod(item, &end);
            if (*end || end == item) return cli_usage(CMD, "%s: '%s' is not a number", opt, item);
            dv[(*n)++] = v;
        }
        if (!comma) return 0;
        p = comma + 1;
    }
}

/* ---------------------------------------------------------------- subcommands */

static const char *clock_name(tp_chain_clock c) { return c == TP_CLOCK_LOCKSTEP ? "lockstep" : "wall"; }

static int run_init(chain_args *a) {
    tp_err err = {0};
    if (tp_chain_create(a->chain, &a->cfg, &err)) return fail(&err);
    const tp_chain_config *c = &a->cfg;
    printf("created %s: %s clock, block time %" PRId64 " ms, %" PRId64 " blocks per window, tempo %" PRId64
           ", max uids %" PRId64 ", permit stake %g\n",
           a->chain, clock_name(c->clock), c->block_time_ms, c->blocks_per_window, c->tempo, c->max_uids,
           c->permit_stake);
    return 0;
}

static int run_info(chain_args *a) {
    tp_chain *c;
    if (open_chain(a, &c)) return 1;
    tp_err err = {0};
    tp_chain_info in;
    tp_status st = tp_chain_info_get(c, &in, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    if (a->json) {
        json_t *o = json_pack(
            "{s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:s, s:I, s:f, s:f, s:f, s:f}", "chain", a->chain,
            "block", (json_int_t)in.block, "block_timestamp", in.block_ts, "window", (json_int_t)in.window, "epochs",
            (json_int_t)in.epochs, "last_epoch_block", (json_int_t)in.last_epoch_block, "uids", (json_int_t)in.n_uids,
            "genesis", in.genesis, "block_time_ms", (json_int_t)in.cfg.block_time_ms, "blocks_per_window",
            (json_int_t)in.cfg.blocks_per_window, "tempo", (json_int_t)in.cfg.tempo, "clock", clock_name(in.cfg.clock),
            "max_uids", (json_int_t)in.cfg.max_uids, "permit_stake", in.cfg.permit_stake, "kappa", in.cfg.kappa,
            "bond_alpha", in.cfg.bond_alpha, "emission_per_block", in.cfg.emission_per_block);
        json_dumpf(o, stdout, JSON_REAL_PRECISION(17));
        putchar('\n');
        json_decref(o);
        return 0;
    }
    printf("chain %s\nblock %" PRId64 " (timestamp %.3f), window %" PRId64 "\n", a->chain, in.block, in.block_ts,
           in.window);
    printf("uids %" PRId64 " of %" PRId64 "; epochs %" PRId64 " (last scheduled at block %" PRId64 ")\n", in.n_uids,
           in.cfg.max_uids, in.epochs, in.last_epoch_block);
    printf("%s clock, block time %" PRId64 " ms, %" PRId64 " blocks per window, tempo %" PRId64
           ", permit stake %g, kappa %g, bond alpha %g, emission %g per block\n",
           clock_name(in.cfg.clock), in.cfg.block_time_ms, in.cfg.blocks_per_window, in.cfg.tempo, in.cfg.permit_stake,
           in.cfg.kappa, in.cfg.bond_alpha, in.cfg.emission_per_block);
    return 0;
}

static int run_register(chain_args *a) {
    char hk[TP_HOTKEY_MAX + 1];
    tp_chain *c;
    if (resolve_hotkey(a, hk, sizeof hk) || open_chain_signing(a, &c)) return 1;
    tp_err err = {0};
    int64_t uid;
    int is_new;
    tp_status st = tp_chain_register(c, hk, &uid, &is_new, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    const char *who = a->wallet ? a->wallet : hk;
    if (is_new) printf("registered %s (hotkey %s) as uid %" PRId64 "\n", who, hk, uid);
    else printf("%s (hotkey %s) is already registered as uid %" PRId64 "\n", who, hk, uid);
    return 0;
}

static int run_stake(chain_args *a) {
    char hk[TP_HOTKEY_MAX + 1];
    tp_chain *c;
    if (resolve_hotkey(a, hk, sizeof hk) || open_chain_signing(a, &c)) return 1;
    tp_err err = {0};
    int64_t uid = -1;
    tp_chain_info in;
    tp_status st = tp_chain_set_stake(c, hk, a->amount, &err);
    if (!st) st = tp_chain_uid(c, hk, &uid, &err);
    if (!st) st = tp_chain_info_get(c, &in, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    printf("uid %" PRId64 " (%s): stake %g, validator permit %s\n", uid, a->wallet ? a->wallet : hk, a->amount,
           a->amount >= in.cfg.permit_stake ? "yes" : "no");
    return 0;
}

static int run_commit(chain_args *a) {
    tp_commitment cm;
    tp_err err = {0};
    if (tp_commitment_from_env(a->store, &cm, &err)) return fail(&err); /* before the wallet: names the URI */
    char hk[TP_HOTKEY_MAX + 1];
    tp_chain *c;
    if (resolve_hotkey(a, hk, sizeof hk) || open_chain_signing(a, &c)) return 1;
    int64_t uid = -1;
    tp_status st = tp_chain_commit(c, hk, &cm, &err);
    if (!st) st = tp_chain_uid(c, hk, &uid, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    printf("uid %" PRId64 " (%s) committed store %s%s\n", uid, a->wallet ? a->wallet : hk, cm.uri,
           cm.access_key_id[0] ? " with read credentials" : "");
    return 0;
}

static int run_set_weights(chain_args *a) {
    int64_t nu, nw, cu = count_items(a->uids), cw = count_items(a->weights);
    int64_t *uids = malloc(sizeof *uids * (size_t)cu);
    double *w = malloc(sizeof *w * (size_t)cw);
    int rc = !uids || !w;
    if (!rc) rc = parse_list("--uids", a->uids, 1, uids, NULL, cu, &nu);
    if (!rc) rc = parse_list("--weights", a->weights, 0, NULL, w, cw, &nw);
    char hk[TP_HOTKEY_MAX + 1];
    tp_chain *c = NULL;
    if (!rc) rc = resolve_hotkey(a, hk, sizeof hk);
    if (!rc) rc = open_chain_signing(a, &c);
    if (!rc) {
        tp_err err = {0};
        int64_t uid = -1;
        tp_chain_info in;
        tp_status st = tp_chain_set_weights(c, hk, uids, nu, w, nw, &err);
        if (!st) st = tp_chain_uid(c, hk, &uid, &err);
        if (!st) st = tp_chain_info_get(c, &in, &err);
        if (st) rc = fail(&err);
        else
            printf("uid %" PRId64 " (%s) set weights on %" PRId64 " uids at block %" PRId64 " (window %" PRId64 ")\n",
                   uid, a->wallet ? a->wallet : hk, nu, in.block, in.window);
    }
    tp_chain_close(c);
    free(uids);
    free(w);
    return rc;
}

static int run_weights(chain_args *a) {
    tp_chain *c;
    if (open_chain(a, &c)) return 1;
    tp_err err = {0};
    tp_weights w;
    tp_status st = tp_chain_weights(c, a->uid, &w, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    if (a->json) {
        json_t *o = json_pack("{s:I, s:I, s:[], s:[]}", "uid", (json_int_t)w.uid, "block", (json_int_t)w.block, "uids",
                              "weights");
        for (int64_t i = 0; i < w.n; i++) {
            json_array_append_new(json_object_get(o, "uids"), json_integer(w.uids[i]));
            json_array_append_new(json_object_get(o, "weights"), json_real(w.weights[i]));
        }
        json_dumpf(o, stdout, JSON_REAL_PRECISION(17));
        putchar('\n');
        json_decref(o);
    } else if (w.block < 0) {
        printf("uid %" PRId64 " has set no weights\n", a->uid);
    } else {
        printf("uid %" PRId64 " set weights at block %" PRId64 ":\n", w.uid, w.block);
        for (int64_t i = 0; i < w.n; i++) printf("  uid %5" PRId64 "  %.6f\n", w.uids[i], w.weights[i]);
    }
    tp_weights_free(&w);
    return 0;
}

static int run_epoch(chain_args *a) {
    tp_chain *c;
    if (open_chain(a, &c)) return 1;
    tp_err err = {0};
    tp_chain_info in;
    tp_status st = tp_chain_epoch(c, &err);
    if (!st) st = tp_chain_info_get(c, &in, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    printf("ran epoch %" PRId64 " at block %" PRId64 "\n", in.epochs, in.block);
    return 0;
}

static int run_advance(chain_args *a) {
    tp_chain *c;
    if (open_chain(a, &c)) return 1;
    tp_err err = {0};
    int64_t block;
    tp_chain_info in;
    tp_status st = tp_chain_advance(c, a->blocks, &block, &err);
    if (!st) st = tp_chain_info_get(c, &in, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    printf("block %" PRId64 " (window %" PRId64 ", epochs %" PRId64 ")\n", block, in.window, in.epochs);
    return 0;
}

static int run_metagraph(chain_args *a) {
    tp_chain *c;
    if (open_chain(a, &c)) return 1;
    tp_err err = {0};
    tp_metagraph m;
    char ss58[TP_SS58_MAX];
    tp_status st = tp_chain_metagraph(c, &m, &err);
    tp_chain_close(c);
    if (st) return fail(&err);
    if (a->json) {
        json_t *list = json_array();
        for (int64_t i = 0; i < m.n; i++) {
            const tp_neuron *n = &m.neurons[i];
            json_array_append_new(list,
                                  json_pack("{s:I, s:s, s:s, s:f, s:b, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:s}", "uid",
                                            (json_int_t)n->uid, "hotkey", n->hotkey, "hotkey_ss58",
                                            hotkey_text(n->hotkey, ss58), "stake", n->stake,
                                            "validator_permit", n->validator_permit, "rank", n->rank, "consensus",
                                            n->consensus, "incentive", n->incentive, "dividends", n->dividends,
                                            "emission", n->emission, "last_update", (json_int_t)n->last_update,
                                            "registered_block", (json_int_t)n->registered_block, "store", n->store));
        }
        json_dumpf(list, stdout, JSON_REAL_PRECISION(17));
        putchar('\n');
        json_decref(list);
    } else {
        printf("block %" PRId64 ", epochs %" PRId64 ", %" PRId64 " uids\n", m.block, m.epochs, m.n);
        printf("%5s  %-18s %12s %6s %10s %10s %12s %11s  %s\n", "uid", "hotkey", "stake", "permit", "incentive",
               "dividends", "emission", "last_update", "store");
        for (int64_t i = 0; i < m.n; i++) {
            const tp_neuron *n = &m.neurons[i];
            char hk[20];
            const char *text = hotkey_text(n->hotkey, ss58);
            snprintf(hk, sizeof hk, "%.16s%s", text, strlen(text) > 16 ? ".." : "");
            printf("%5" PRId64 "  %-18s %12.4f %6s %10.6f %10.6f %12.4f %11" PRId64 "  %s\n", n->uid, hk, n->stake,
                   n->validator_permit ? "yes" : "-", n->incentive, n->dividends, n->emission, n->last_update,
                   n->store[0] ? n->store : "-");
        }
    }
    tp_metagraph_free(&m);
    return 0;
}

/* ---------------------------------------------------------------- dispatch */

#define HK_HELP                                                                                            \
    "  --wallet NAME   the wallet whose hotkey acts (a btcli wallet, or templar's older one)\n"            \
    "  --hotkey NAME   with --wallet: which of its hotkeys (default: default)\n"                           \
    "  --wallet-path D the wallets directory ($TEMPLAR_HOME/wallets, else $BT_WALLET_PATH, else\n"       \
    "                  ~/.bittensor/wallets)\n"
#define COLD_HELP                                                                                          \
    "  --coldkey NAME  Subtensor: the wallet whose coldkey signs and pays (burned_register, add_stake);\n" \
    "                  an encrypted one's password comes from BT_COLD_PW_<NAME> or a prompt\n"

static const subcommand subcommands[] = {
    {"init", O_CHAIN | O_BLOCK_TIME | O_BPW | O_TEMPO | O_CLOCK | O_MAX_UIDS | O_PERMIT | O_EMISSION, O_CHAIN, run_init,
     "usage: templar chain init --chain local:PATH [--clock wall|lockstep] [--block-time-ms N]\n"
     "                          [--blocks-per-window N] [--tempo N] [--max-uids N] [--permit-stake X]\n"
     "                          [--emission X]\n"
     "\n"
     "Creates a ledger; refuses an existing one. Block 0 is now (genesis).\n"
     "  --clock C             wall: block = floor((now - genesis) / block time) (default);\n"
     "                        lockstep: a counter moved by 'templar chain advance' (tests, localnets)\n"
     "  --block-time-ms N     wall clock block time (default 12000)\n"
     "  --blocks-per-window N window = floor(block / N); weights once per window (default 10)\n"
     "  --tempo N             Yuma consensus runs at every multiple of N blocks (default 100)\n"
     "  --max-uids N          registrations past N are refused (default 256, at most 1024)\n"
     "  --permit-stake X      stake at or above X holds a validator permit (default 1)\n"
     "  --emission X          emission per block; each epoch emits tempo x X, half to miners by\n"
     "                        incentive, half to validators by dividends (default 1)\n"},
    {"info", O_CHAIN | O_JSON, O_CHAIN, run_info,
     "usage: templar chain info --chain URI [--json]\n\nThe ledger's settings, the current block and window, "
     "uids and epochs.\n"},
    {"register", O_CHAIN | O_WALLET | O_HOTKEY | O_COLDKEY, O_CHAIN, run_register,
     "usage: templar chain register --chain URI --wallet NAME [--coldkey NAME]\n\n"
     "Registers the wallet's hotkey under the next free uid (a registered hotkey keeps its uid).\n" HK_HELP
     "  --hotkey ACCT   without --wallet: a hotkey given directly (hex or SS58)\n" COLD_HELP},
    {"stake", O_CHAIN | O_WALLET | O_HOTKEY | O_AMOUNT | O_COLDKEY, O_CHAIN | O_AMOUNT, run_stake,
     "usage: templar chain stake --chain URI (--wallet NAME [--hotkey NAME] | --hotkey ACCOUNT) --amount X [--coldkey NAME]\n\n"
     "Sets (not adds) the stake of a registered hotkey. On the local ledger, stake at or above its\n"
     "permit stake holds a validator permit; on Subtensor the coldkey adds or removes the difference\n"
     "(in TAO) and the subnet's top stakes hold the permits.\n" HK_HELP
     "  --hotkey ACCT   without --wallet: a hotkey given directly, hex or SS58 (the operator need\n"
     "                  not hold the wallet)\n"
     "  --amount X      the new stake, finite and >= 0\n" COLD_HELP},
    {"commit", O_CHAIN | O_WALLET | O_HOTKEY | O_STORE, O_CHAIN | O_WALLET | O_STORE, run_commit,
     "usage: templar chain commit --chain URI --wallet NAME --store URI\n\n"
     "Commits the bucket where this node publishes (file://DIR, s3://BUCKET, s3+http(s)://HOST/BUCKET)\n"
     "so peers can find it. Read credentials for it, if it needs any, come from the environment:\n"
     "  " TP_ENV_STORE_READ_KEY_ID "\n  " TP_ENV_STORE_READ_SECRET "\n"
     "(read-only keys: they are public to everyone who reads the chain; never pass keys in argv).\n"},
    {"set-weights", O_CHAIN | O_WALLET | O_HOTKEY | O_UIDS | O_WEIGHTS, O_CHAIN | O_WALLET | O_UIDS | O_WEIGHTS, run_set_weights,
     "usage: templar chain set-weights --chain URI --wallet NAME --uids 1,2,3 --weights 0.5,0.3,0.2\n\n"
     "Sets this validator's weights. Needs a validator permit; accepted once per window. The weights\n"
     "must be finite and non-negative, one per uid, uids registered and distinct; the chain\n"
     "normalises them to sum 1.\n"},
    {"weights", O_CHAIN | O_UID | O_JSON, O_CHAIN | O_UID, run_weights,
     "usage: templar chain weights --chain URI --uid N [--json]\n\nThe weights validator uid N has set, normalised.\n"},
    {"epoch", O_CHAIN, O_CHAIN, run_epoch,
     "usage: templar chain epoch --chain URI\n\n"
     "Runs Yuma consensus now (after any scheduled epochs that are due); the tempo schedule is unchanged.\n"},
    {"advance", O_CHAIN | O_BLOCKS, O_CHAIN, run_advance,
     "usage: templar chain advance --chain URI [--blocks N]\n\n"
     "Moves a lockstep clock N blocks forward (default 1), running the epochs whose boundaries it\n"
     "crosses. A wall-clock ledger refuses.\n"},
    {"metagraph", O_CHAIN | O_JSON, O_CHAIN, run_metagraph,
     "usage: templar chain metagraph --chain URI [--json]\n\n"
     "Every uid: hotkey (SS58), stake, validator permit, incentive, dividends, emission (of the last\n"
     "epoch), last update (block of the last weights or of registration) and committed store. --json\n"
     "prints a list of objects with uid, hotkey (hex), hotkey_ss58, stake, validator_permit, rank,\n"
     "consensus, incentive, dividends, emission, last_update, registered_block, store.\n"},
};

static const struct {
    const char *name;
    unsigned bit;
} option_names[] = {
    {"--chain", O_CHAIN},           {"--wallet", O_WALLET}, {"--hotkey", O_HOTKEY},   {"--amount", O_AMOUNT},
    {"--store", O_STORE},           {"--uids", O_UIDS},     {"--weights", O_WEIGHTS}, {"--block-time-ms", O_BLOCK_TIME},
    {"--blocks-per-window", O_BPW}, {"--tempo", O_TEMPO},   {"--clock", O_CLOCK},     {"--max-uids", O_MAX_UIDS},
    {"--permit-stake", O_PERMIT},   {"--blocks", O_BLOCKS}, {"--json", O_JSON},       {"--uid", O_UID},
    {"--emission", O_EMISSION},     {"--coldkey", O_COLDKEY}, {"--wallet-path", O_WALLET_PATH}};

static const char *option_name(unsigned bit) {
    for (size_t i = 0; i < sizeof option_names / sizeof *option_names; i++)
        if (option_names[i].bit == bit) return option_names[i].name;
    return "?";
}

static int parse(int argc, char **argv, const subcommand *sc, chain_args *a) {
    static const struct option opts[] = {{"chain", required_argument, 0, 'c'},
                                         {"wallet", required_argument, 0, 'w'},
                                         {"hotkey", required_argument, 0, 'k'},
                                         {"amount", required_argument, 0, 'a'},
                                         {"store", required_argument, 0, 's'},
                                         {"uids", required_argument, 0, 'u'},
                                         {"weights", required_argument, 0, 'W'},
                                         {"block-time-ms", required_argument, 0, 'B'},
                                         {"blocks-per-window", required_argument, 0, 'P'},
                                         {"tempo", required_argument, 0, 't'},
                                         {"clock", required_argument, 0, 'C'},
                                         {"max-uids", required_argument, 0, 'm'},
                                         {"permit-stake", required_argument, 0, 'p'},
                                         {"blocks", required_argument, 0, 'n'},
                                         {"json", no_argument, 0, 'j'},
                                         {"uid", required_argument, 0, 'U'},
                                         {"emission", required_argument, 0, 'e'},
                                         {"coldkey", required_argument, 0, 'K'},
                                         {"wallet-path", required_argument, 0, 'L'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    tp_chain_config_default(&a->cfg);
    a->blocks = 1;
    a->chain = getenv("TEMPLAR_CHAIN");
    if (a->chain && *a->chain) a->given |= O_CHAIN;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        unsigned bit = 0;
        int64_t v;
        switch (c) {
        case 'c': a->chain = optarg, bit = O_CHAIN; break;
        case 'w': a->wallet = optarg, bit = O_WALLET; break;
        case 'k': a->hotkey = optarg, bit = O_HOTKEY; break;
        case 'K': a->coldkey = optarg, bit = O_COLDKEY; break;
        case 'L': a->wallet_path = optarg, bit = O_WALLET_PATH; break;
        case 's': a->store = optarg, bit = O_STORE; break;
        case 'u': a->uids = optarg, bit = O_UIDS; break;
        case 'W': a->weights = optarg, bit = O_WEIGHTS; break;
        case 'j': a->json = 1, bit = O_JSON; break;
        case 'a':
            if (cli_parse_f64(CMD, "--amount", optarg, &a->amount)) return 2;
            bit = O_AMOUNT;
            break;
        case 'B':
            if (cli_parse_i64(CMD, "--block-time-ms", optarg, 1, 86400000, &a->cfg.block_time_ms)) return 2;
            bit = O_BLOCK_TIME;
            break;
        case 'P':
            if (cli_parse_i64(CMD, "--blocks-per-window", optarg, 1, 1000000, &a->cfg.blocks_per_window)) return 2;
            bit = O_BPW;
            break;
        case 't':
            if (cli_parse_i64(CMD, "--tempo", optarg, 1, 1000000, &a->cfg.tempo)) return 2;
            bit = O_TEMPO;
            break;
        case 'm':
            if (cli_parse_i64(CMD, "--max-uids", optarg, 1, TP_CHAIN_MAX_UIDS, &a->cfg.max_uids)) return 2;
            bit = O_MAX_UIDS;
            break;
        case 'p':
            if (cli_parse_f64(CMD, "--permit-stake", optarg, &a->cfg.permit_stake)) return 2;
            bit = O_PERMIT;
            break;
        case 'e':
            if (cli_parse_f64(CMD, "--emission", optarg, &a->cfg.emission_per_block)) return 2;
            bit = O_EMISSION;
            break;
        case 'n':
            if (cli_parse_i64(CMD, "--blocks", optarg, 1, 1000000000, &a->blocks)) return 2;
            bit = O_BLOCKS;
            break;
        case 'U':
            if (cli_parse_i64(CMD, "--uid", optarg, 0, TP_CHAIN_MAX_UIDS, &v)) return 2;
            a->uid = v, bit = O_UID;
            break;
        case 'C':
            if (!strcmp(optarg, "wall")) a->cfg.clock = TP_CLOCK_WALL;
            else if (!strcmp(optarg, "lockstep")) a->cfg.clock = TP_CLOCK_LOCKSTEP;
            else return cli_usage(CMD, "--clock expects wall or lockstep, got '%s'", optarg);
            bit = O_CLOCK;
            break;
        case 'h': fputs(sc->usage, stdout); return -1;
        default: return cli_usage(CMD, "unknown option (see 'templar chain %s --help')", sc->name);
        }
        unsigned allowed = sc->allowed | (sc->allowed & (O_WALLET | O_COLDKEY) ? O_WALLET_PATH : 0);
        if (!(allowed & bit)) return cli_usage(CMD, "%s does not apply to '%s'", option_name(bit), sc->name);
        a->given |= bit;
    }
    if (optind < argc) return cli_usage(CMD, "unexpected argument '%s'", argv[optind]);
    unsigned missing = sc->required & ~a->given;
    if (missing & O_CHAIN) return cli_usage(CMD, "%s needs --chain URI (or $TEMPLAR_CHAIN)", sc->name);
    for (unsigned bit = 1; bit; bit <<= 1)
        if (missing & bit) return cli_usage(CMD, "%s needs %s", sc->name, option_name(bit));
    if ((sc->allowed & O_HOTKEY) && !(a->given & (O_WALLET | O_HOTKEY)))
        return cli_usage(CMD, "%s needs --wallet NAME or --hotkey ACCOUNT", sc->name);
    return 0;
}

int cmd_chain(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* Hidden: the Yuma epoch benchmark (bench/yuma.sh). */
    if (!strcmp(argv[1], "bench-yuma")) return chain_bench_yuma(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++) {
        const subcommand *sc = &subcommands[i];
        if (strcmp(argv[1], sc->name)) continue;
        chain_args a;
        int rc = parse(argc - 1, argv + 1, sc, &a);
        if (rc) return rc < 0 ? 0 : rc;
        return sc->run(&a);
    }
    return cli_usage(CMD, "unknown subcommand '%s'", argv[1]);
}
