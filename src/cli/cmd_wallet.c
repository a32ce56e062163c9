/* templar wallet create|show NAME: ed25519 hotkeys under ~/.templar/wallets (or $TEMPLAR_HOME). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "net/chain.h"
#include "net/wallet.h"
#include "substrate/ss58.h"

static const char usage_text[] =
    "usage: templar wallet create NAME\n"
    "       templar wallet show NAME [--chain URI]\n"
    "\n"
    "create makes an ed25519 hotkey in $TEMPLAR_HOME/wallets/NAME (default ~/.templar/wallets/NAME):\n"
    "'hotkey' holds the key pair (mode 0600), 'hotkey.pub' the public key. Both print the public key\n"
    "and its SS58 address (what Subtensor calls the account; send TAO there to fund a coldkey); show,\n"
    "given a chain (local:PATH or subtensor+http://…?netuid=N), the uid it is registered as there.\n";

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

int cmd_wallet(int argc, char **argv) {
    static const struct option opts[] = {
        {"chain", required_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    const char *chain = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'c') return cli_usage("wallet", "unknown option");
        chain = optarg;
    }
    /* getopt moved the options to the front: what is left is SUBCOMMAND NAME. */
    char **pos = argv + optind;
    int npos = argc - optind;
    if (npos != 2 || (strcmp(pos[0], "create") && strcmp(pos[0], "show")))
        return cli_usage("wallet", "expected 'create NAME' or 'show NAME [--chain URI]'");
    if (chain && strcmp(pos[0], "show")) return cli_usage("wallet", "--chain applies to 'show' only");
    const char *name = pos[1];
    tp_err err = {0};
    char home[4096];
    tp_wallet w;
    if (tp_wallet_home(home, sizeof home, &err)) return cli_fail("wallet", &err);
    if (!strcmp(pos[0], "create")) {
        if (tp_wallet_create(home, name, &w, &err)) return cli_fail("wallet", &err);
        printf("created wallet %s in %s/wallets/%s\nhotkey %s\n", name, home, name, w.pk_hex);
    } else {
        if (tp_wallet_load(home, name, &w, &err)) return cli_fail("wallet", &err);
        printf("wallet %s\nhotkey %s\n", name, w.pk_hex);
    }
    char ss58[TP_SS58_MAX];
    if (!tp_ss58_encode(TP_SS58_BITTENSOR, w.pk, ss58, &err)) printf("address %s (SS58, for Subtensor)\n", ss58);
    tp_wallet_clear(&w);
    return chain ? show_uid(chain, &w) : 0;
}
