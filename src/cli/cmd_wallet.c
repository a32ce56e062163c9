/* templar wallet create|show NAME: btcli wallets (sr25519 or ed25519 keys) that templar and btcli share. */
#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "net/chain.h"
#include "net/keyfile.h"
#include "net/wallet.h"

static const char usage_text[] =
    "usage: templar wallet create NAME [--hotkey HOTKEY] [--type sr25519|ed25519] [--wallet-path DIR]\n"
    "                                  [--no-password]\n"
    "       templar wallet show NAME [--hotkey HOTKEY] [--wallet-path DIR] [--chain URI]\n"
    "\n"
    "Wallets are btcli's (Bittensor's own layout and keyfiles), so an existing Bittensor wallet works\n"
    "as it is and btcli can use the wallets made here: DIR/NAME/coldkey, DIR/NAME/coldkeypub.txt and\n"
    "DIR/NAME/hotkeys/HOTKEY. DIR is --wallet-path, else $TEMPLAR_HOME/wallets when TEMPLAR_HOME is\n"
    "set, else $BT_WALLET_PATH, else ~/.bittensor/wallets.\n"
    "\n"
    "create makes the wallet's coldkey if it has none, then hotkey HOTKEY (default: default), both of\n"
    "--type (default sr25519, as btcli's). The coldkey is encrypted as btcli encrypts it (NaCl\n"
    "secretbox under an Argon2i key) with the password from BT_COLD_PW_<NAME> or asked on the\n"
    "terminal; --no-password leaves it plain (test networks). Keyfiles are written mode 0600.\n"
    "show prints the hotkey's key type, SS58 address (the account on Subtensor) and public key, and\n"
    "given a chain (local:PATH or subtensor+http://…?netuid=N) the uid it is registered as there.\n";

/* Prints "uid N" for the wallet's hotkey on the chain. */
static int show_uid(const char *uri, const tp_wallet *w) {
    tp_err err = {0};
    tp_chain *c;
    int64_t uid = -1;
    if (tp_chain_open(uri, &c, &err)) return cli_fail("wallet", &err);
    tp_status st = tp_chain_uid(c, w->pk_hex, &uid, &err);
    tp_chain_close(c);
    if (st) return cli_fail("wallet", &err);
    if (uid < 0) printf("uid none (not registered on %s)\n", uri);
    else printf("uid %" PRId64 "\n", uid);
    return 0;
}

typedef struct {
    const char *chain, *hotkey, *path;
    tp_key_type type;
    int no_password;
} wallet_args;

/* The coldkey when the wallet has none yet. */
static tp_status ensure_coldkey(const char *name, const wallet_args *a, tp_err *err) {
    tp_wallet cold;
    tp_err ignored;
    char password[1024];
    if (!tp_wallet_load_coldkey(a->path, name, &cold, &ignored)) {
        tp_wallet_clear(&cold);
        return TP_OK;
    }
    tp_status st = a->no_password ? TP_OK : tp_btcli_password(name, password, sizeof password, err);
    if (!st) st = tp_wallet_create_coldkey(a->path, name, a->type, NULL, a->no_password ? NULL : password, &cold, err);
    sodium_memzero(password, sizeof password);
    if (!st) printf("coldkey %s (%s%s)\n", cold.ss58, tp_key_type_name(cold.key.type), a->no_password ? ", not encrypted" : "");
    tp_wallet_clear(&cold);
    return st;
}

static int parse(int argc, char **argv, wallet_args *a) {
    static const struct option opts[] = {{"chain", required_argument, 0, 'c'},       {"hotkey", required_argument, 0, 'k'},
                                         {"type", required_argument, 0, 't'},        {"wallet-path", required_argument, 0, 'p'},
                                         {"no-password", no_argument, 0, 'n'},       {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->type = TP_KEY_SR25519;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        tp_err err;
        switch (c) {
        case 'c': a->chain = optarg; break;
        case 'k': a->hotkey = optarg; break;
        case 'p': a->path = optarg; break;
        case 'n': a->no_password = 1; break;
        case 't':
            if (tp_key_type_parse(optarg, &a->type, &err)) return cli_usage("wallet", "--type: %s", err.msg);
            break;
        default: return cli_usage("wallet", "unknown option");
        }
    }
    return 0;
}

int cmd_wallet(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    wallet_args a;
    int rc = parse(argc, argv, &a);
    if (rc) return rc;
    /* getopt moved the options to the front: what is left is SUBCOMMAND NAME. */
    char **pos = argv + optind;
    int npos = argc - optind, create = npos == 2 && !strcmp(pos[0], "create");
    if (npos != 2 || (!create && strcmp(pos[0], "show")))
        return cli_usage("wallet", "expected 'create NAME' or 'show NAME [--chain URI]'");
    if (a.chain && create) return cli_usage("wallet", "--chain applies to 'show' only");
    if (!create && (a.no_password || a.type != TP_KEY_SR25519))
        return cli_usage("wallet", "--type and --no-password apply to 'create' only");
    const char *name = pos[1];
    tp_err err = {0};
    tp_wallet w;
    if (create && (ensure_coldkey(name, &a, &err) || tp_wallet_create(a.path, name, a.hotkey, a.type, NULL, &w, &err)))
        return cli_fail("wallet", &err);
    if (!create && tp_wallet_load(a.path, name, a.hotkey, &w, &err)) return cli_fail("wallet", &err);
    printf("%s %s, hotkey %s\n", create ? "created wallet" : "wallet", name, w.hotkey[0] ? w.hotkey : "(templar's older format)");
    printf("hotkey %s (%s)\npublic key %s\n", w.ss58, tp_key_type_name(w.key.type), w.pk_hex);
    tp_wallet_clear(&w);
    return a.chain ? show_uid(a.chain, &w) : 0;
}
