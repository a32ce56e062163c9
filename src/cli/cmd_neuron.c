/* `templar miner` and `templar validator`: a long-running neuron. SIGINT/SIGTERM stop it at the
 * next safe point (every file it writes is written atomically, so a SIGKILL loses nothing either). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "localnet/wait_channel.h"
#include "neuron/adversary.h"
#include "neuron/miner.h"
#include "neuron/validator.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

static void announce_wait(void *ctx, int64_t block) { ln_wait_announce(*(const int *)ctx, block); }

static const char miner_usage[] =
    "usage: templar miner --wallet NAME [--hotkey HOTKEY] [--wallet-path DIR] --chain URI --store URI\n"
    "                     [--config NAME|FILE] [--state DIR] [--adversary MODE]\n"
    "\n"
    "Trains the shared model on the samples the protocol assigns to this hotkey, one window at a time\n"
    "(DESIGN §11): inner AdamW steps, the pseudo-gradient through error feedback and SparseLoCo\n"
    "compression, a signed upload to its bucket at the start of the next window, the gather of its\n"
    "peers' updates, the outer step and a debug-W fingerprint. It commits its bucket on chain, waits\n"
    "for the leader's start window, and after a restart catches up every window it missed. One log\n"
    "line per window: loss, tokens/s, bytes up and down, peers gathered, seconds training,\n"
    "communicating and waiting. Metrics go to STATE/metrics.jsonl.\n"
    "\n"
    "  --wallet NAME      a btcli wallet (sr25519 or ed25519): its hotkey signs the updates and chain\n"
    "                     calls (registered with 'templar chain register' or btcli)\n"
    "  --hotkey HOTKEY    the wallet's hotkey (default: default, as btcli's)\n"
    "  --wallet-path DIR  the wallets directory (default $TEMPLAR_HOME/wallets when TEMPLAR_HOME is set,\n"
    "                     else $BT_WALLET_PATH, else ~/.bittensor/wallets); templar's older ed25519\n"
    "                     wallets ($TEMPLAR_HOME/wallets/NAME/hotkey) still load\n"
    "  --chain URI        local:PATH\n"
    "  --store URI        this node's bucket: file://DIR, s3://BUCKET, s3+http(s)://HOST/BUCKET\n"
    "                     (S3 credentials from AWS_* or a 0600 credentials file; read credentials to\n"
    "                     commit from TEMPLAR_STORE_READ_ACCESS_KEY_ID / _SECRET_ACCESS_KEY)\n"
    "  --config C         run config: a name (tiny, small) or a JSON file (default small)\n"
    "  --state DIR        local state (model, optimizer, error feedback; default\n"
    "                     $TEMPLAR_HOME/state/NAME)\n"
    "  --adversary MODE   for testing validators: noise zero copy scale stale late garbage nan\n"
    "                     free-rider wrong-data noisy-copy partial sybil@PARTNER_UID lazy-data,\n"
    "                     or slow (honest, half the inner steps); default: honest\n";

static const char validator_usage[] =
    "usage: templar validator --wallet NAME [--hotkey HOTKEY] [--wallet-path DIR] --chain URI --store URI\n"
    "                         [--config NAME|FILE] [--state DIR]\n"
    "\n"
    "Processes window W during W+1 (DESIGN §12): gathers every active miner's update, applies the peer\n"
    "list's outer step, penalises missing, late, invalid, copied and out-of-sync uploads, evaluates\n"
    "miners on their own and on random samples (the Gauntlet), rates them with OpenSkill and sets\n"
    "weights every few windows. The validator with the highest stake is the leader: it publishes the\n"
    "start window, peer lists, aggregator-W and checkpoints. Ratings live in STATE/validator.db and\n"
    "survive a restart. Options as for 'templar miner' (no --adversary).\n";

static int run(const char *cmd, int argc, char **argv) {
    int is_miner = !strcmp(cmd, "miner");
    static const struct option opts[] = {{"wallet", required_argument, 0, 'w'}, {"chain", required_argument, 0, 'c'},
                                         {"store", required_argument, 0, 's'},  {"config", required_argument, 0, 'f'},
                                         {"state", required_argument, 0, 'S'},  {"adversary", required_argument, 0, 'a'},
                                         {"hotkey", required_argument, 0, 'k'}, {"wallet-path", required_argument, 0, 'p'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    tp_node_opts o = {.config = "small", .log = stderr};
    tp_adversary_spec adv = {.mode = TP_ADV_NONE, .partner = -1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': o.wallet = optarg; break;
        case 'k': o.hotkey = optarg; break;
        case 'p': o.wallet_path = optarg; break;
        case 'c': o.chain = optarg; break;
        case 's': o.store = optarg; break;
        case 'f': o.config = optarg; break;
        case 'S': o.state = optarg; break;
        case 'a':
            if (!is_miner) return cli_usage(cmd, "--adversary is a miner option");
            if (tp_adversary_parse(optarg, &adv)) {
                char list[256];
                tp_adversary_list(list, sizeof list);
                return cli_usage(cmd, "unknown adversary '%s' (%s)", optarg, list);
            }
            break;
        case 'h': fputs(is_miner ? miner_usage : validator_usage, stdout); return 0;
        default: return cli_usage(cmd, "unknown option");
        }
    }
    if (!o.wallet || !o.chain || !o.store) return cli_usage(cmd, "--wallet, --chain and --store are required");
    if (optind < argc) return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    o.stop = &stop_flag;
    /* Under a lockstep localnet, every wait is told to its driver, which moves the clock. */
    int wait_fd = ln_wait_fd_from_env();
    if (wait_fd >= 0) o.on_wait = (tp_wait_hook){.fn = announce_wait, .ctx = &wait_fd};
    tp_err err = {0};
    tp_status st = !is_miner ? tp_validator_run(&o, &err) : adv.mode ? tp_adversary_run(&o, &adv, &err) : tp_miner_run(&o, &err);
    if (st == TP_ERR_STOPPED) {
        fprintf(stderr, "templar %s: stopped\n", cmd);
        return 0;
    }
    return st ? cli_fail(cmd, &err) : 0;
}

int cmd_miner(int argc, char **argv) { return run("miner", argc, argv); }
int cmd_validator(int argc, char **argv) { return run("validator", argc, argv); }
