/* Placeholder until the store command lands (issue 4). */
#include <stdio.h>

#include "cli/commands.h"

int cmd_store(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "templar store: not built yet\n");
    return 1;
}
