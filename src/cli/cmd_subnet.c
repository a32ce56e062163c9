/* templar subnet SUBCOMMAND --chain subtensor+http://…: operator commands for a Subtensor test
 * network (net/subtensor_admin.h). Keys come from wallets; nothing secret is read from argv. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "net/subtensor_admin.h"
#include "net/wallet.h"

#define CMD "subnet"
#define MAX_PARAMS 32

static const char usage_text[] =
    "usage: templar subnet SUBCOMMAND --chain subtensor+http://HOST:PORT[?netuid=N] [OPTIONS]\n"
    "\n"
    "Operator commands for a Subtensor test network. Miners and validators of an existing subnet\n"
    "need none of them.\n"
    "\n"
    "subcommands:\n"
    "  create     register a new subnet, owned by --coldkey (prints its netuid)\n"
    "  set        set hyperparameters through Sudo: NAME=VALUE ... (e.g. tempo=10\n"
    "             weights_set_rate_limit=0; global ones such as network_rate_limit=0 need no netuid);\n"
    "             --sudo NAME is the wallet holding the chain's sudo key\n"
    "  root-vote  (runtimes before dTAO) register --wallet's hotkey on the root network with\n"
    "             --coldkey and give the subnet all of its root weight, so the subnet is paid\n"
    "  fund       development chain (chopsticks) only: set the free balance of --wallet's coldkey to\n"
    "             --amount TAO\n"
    "  sudo-key   development chain only: make --wallet's coldkey the chain's sudo key\n";

typedef struct {
    const char *chain, *coldkey, *wallet, *sudo;
    double amount;
    int have_amount;
    const char *params[MAX_PARAMS];
    int n_params;
} subnet_args;

/* Wallet name's coldkey (cold) or default hotkey. */
static int load(const char *name, int cold, tp_keypair *s) {
    tp_err err = {0};
    tp_wallet w;
    if (cold ? tp_wallet_load_coldkey(NULL, name, &w, &err) : tp_wallet_load(NULL, name, NULL, &w, &err))
        return cli_fail(CMD, &err);
    *s = w.key;
    tp_wallet_clear(&w);
    return 0;
}

static int need(const char *v, const char *opt, const char *sub) {
    return v ? 0 : cli_usage(CMD, "%s needs %s", sub, opt);
}

static int run_create(tp_sub *c, const subnet_args *a) {
    tp_keypair cold = {0}, owner = {0};
    int rc = need(a->coldkey, "--coldkey NAME", "create") || load(a->coldkey, 1, &cold);
    if (!rc) rc = a->wallet ? load(a->wallet, 0, &owner) : (owner = cold, 0);
    int netuid = -1;
    tp_err err = {0};
    if (!rc && tp_subtensor_create_subnet(c, &cold, owner.pub, &netuid, &err)) rc = cli_fail(CMD, &err);
    if (!rc) printf("created subnet %d\n", netuid);
    tp_keypair_clear(&cold);
    tp_keypair_clear(&owner);
    return rc;
}

static int run_set(tp_sub *c, const subnet_args *a, int netuid) {
    const char *names[MAX_PARAMS];
    char buf[MAX_PARAMS][128];
    int64_t values[MAX_PARAMS];
    if (need(a->sudo, "--sudo NAME", "set")) return 2;
    if (!a->n_params) return cli_usage(CMD, "set needs at least one NAME=VALUE");
    for (int i = 0; i < a->n_params; i++) {
        const char *eq = strchr(a->params[i], '=');
        if (!eq || eq == a->params[i] || (size_t)(eq - a->params[i]) >= sizeof buf[i])
            return cli_usage(CMD, "'%s' is not NAME=VALUE", a->params[i]);
        snprintf(buf[i], sizeof buf[i], "%.*s", (int)(eq - a->params[i]), a->params[i]);
        names[i] = buf[i];
        if (cli_parse_i64(CMD, buf[i], eq + 1, 0, INT64_MAX, &values[i])) return 2;
    }
    tp_keypair sudo = {0};
    if (load(a->sudo, 1, &sudo)) return 1;
    tp_err err = {0};
    int rc = tp_subtensor_sudo_set(c, &sudo, netuid, names, values, a->n_params, &err) ? cli_fail(CMD, &err) : 0;
    tp_keypair_clear(&sudo);
    if (!rc) printf("set %d hyperparameter%s%s\n", a->n_params, a->n_params == 1 ? "" : "s", netuid >= 0 ? "" : " (global)");
    return rc;
}

static int run_root_vote(tp_sub *c, const subnet_args *a, int netuid) {
    if (need(a->coldkey, "--coldkey NAME", "root-vote") || need(a->wallet, "--wallet NAME", "root-vote")) return 2;
    if (netuid < 0) return cli_usage(CMD, "root-vote needs ?netuid=N in --chain");
    tp_keypair cold = {0}, hot = {0};
    int rc = load(a->coldkey, 1, &cold) || load(a->wallet, 0, &hot);
    tp_err err = {0};
    if (!rc && tp_subtensor_root_vote(c, &cold, &hot, netuid, &err)) rc = cli_fail(CMD, &err);
    if (!rc) printf("root weight of %s now goes to subnet %d\n", a->wallet, netuid);
    tp_keypair_clear(&cold);
    tp_keypair_clear(&hot);
    return rc;
}

static int run_dev(tp_sub *c, const subnet_args *a, int fund) {
    const char *sub = fund ? "fund" : "sudo-key";
    if (need(a->wallet, "--wallet NAME", sub) || (fund && !a->have_amount && need(NULL, "--amount TAO", sub))) return 2;
    tp_keypair k = {0};
    if (load(a->wallet, 1, &k)) return 1;
    tp_err err = {0};
    tp_status st = fund ? tp_subtensor_dev_fund(c, k.pub, a->amount, &err)
                        : tp_subtensor_dev_set_sudo(c, k.pub, &err);
    tp_keypair_clear(&k);
    if (st) return cli_fail(CMD, &err);
    if (fund) printf("%s holds %g TAO\n", a->wallet, a->amount);
    else printf("%s holds the sudo key\n", a->wallet);
    return 0;
}

static int parse(int argc, char **argv, subnet_args *a) {
    static const struct option opts[] = {{"chain", required_argument, 0, 'c'}, {"coldkey", required_argument, 0, 'K'},
                                         {"wallet", required_argument, 0, 'w'}, {"sudo", required_argument, 0, 'S'},
                                         {"amount", required_argument, 0, 'a'}, {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->chain = getenv("TEMPLAR_CHAIN");
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': a->chain = optarg; break;
        case 'K': a->coldkey = optarg; break;
        case 'w': a->wallet = optarg; break;
        case 'S': a->sudo = optarg; break;
        case 'a':
            if (cli_parse_f64(CMD, "--amount", optarg, &a->amount)) return 2;
            a->have_amount = 1;
            break;
        default: return cli_usage(CMD, "unknown option (see 'templar subnet --help')");
        }
    }
    for (; optind < argc; optind++) {
        if (a->n_params == MAX_PARAMS) return cli_usage(CMD, "more than %d NAME=VALUE", MAX_PARAMS);
        a->params[a->n_params++] = argv[optind];
    }
    if (!a->chain || strncmp(a->chain, "subtensor+", 10))
        return cli_usage(CMD, "needs --chain subtensor+http://HOST:PORT[?netuid=N]");
    return 0;
}

int cmd_subnet(int argc, char **argv) {
    if (argc < 2 || cli_wants_help(argc, argv)) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    subnet_args a;
    int rc = parse(argc - 1, argv + 1, &a);
    if (rc) return rc;
    if (a.n_params && strcmp(sub, "set")) return cli_usage(CMD, "unexpected argument '%s'", a.params[0]);
    tp_sub *c = NULL;
    int netuid = -1;
    tp_err err = {0};
    if (tp_subtensor_connect(a.chain, &c, &netuid, &err)) return cli_fail(CMD, &err);
    if (!strcmp(sub, "create")) rc = run_create(c, &a);
    else if (!strcmp(sub, "set")) rc = run_set(c, &a, netuid);
    else if (!strcmp(sub, "root-vote")) rc = run_root_vote(c, &a, netuid);
    else if (!strcmp(sub, "fund") || !strcmp(sub, "sudo-key")) rc = run_dev(c, &a, !strcmp(sub, "fund"));
    else rc = cli_usage(CMD, "unknown subcommand '%s'", sub);
    tp_sub_close(c);
    return rc;
}
