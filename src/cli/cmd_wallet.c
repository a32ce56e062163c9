/* templar wallet create|show NAME: ed25519 hotkeys under ~/.templar/wallets (or $TEMPLAR_HOME). */
#include <stdio.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "net/wallet.h"

static const char usage_text[] =
    "usage: templar wallet create NAME\n"
    "       templar wallet show NAME\n"
    "\n"
    "create makes an ed25519 hotkey in $TEMPLAR_HOME/wallets/NAME (default ~/.templar/wallets/NAME):\n"
    "'hotkey' holds the key pair (mode 0600), 'hotkey.pub' the public key. show prints the public key.\n";

int cmd_wallet(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc != 3 || (strcmp(argv[1], "create") && strcmp(argv[1], "show")))
        return cli_usage("wallet", "expected 'create NAME' or 'show NAME'");
    tp_err err = {0};
    char home[4096];
    tp_wallet w;
    if (tp_wallet_home(home, sizeof home, &err)) return cli_fail("wallet", &err);
    if (!strcmp(argv[1], "create")) {
        if (tp_wallet_create(home, argv[2], &w, &err)) return cli_fail("wallet", &err);
        printf("created wallet %s in %s/wallets/%s\nhotkey %s\n", argv[2], home, argv[2], w.pk_hex);
    } else {
        if (tp_wallet_load(home, argv[2], &w, &err)) return cli_fail("wallet", &err);
        printf("wallet %s\nhotkey %s\n", argv[2], w.pk_hex);
    }
    tp_wallet_clear(&w);
    return 0;
}
