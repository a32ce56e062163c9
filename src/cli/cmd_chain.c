/* Placeholder until the chain command lands (issue 4). */
#include <stdio.h>

#include "cli/commands.h"

int cmd_chain(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "templar chain: not built yet\n");
    return 1;
}
