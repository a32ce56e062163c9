#include "keys_ref.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

json_t *keys_ref(const json_t *requests) {
    const char *root = getenv("TEMPLAR_ROOT");
    cr_assert(root && *root, "TEMPLAR_ROOT is not set (run the tests through make)");
    char input[] = "/tmp/templar-keys-ref-XXXXXX", cmd[8192];
    int fd = mkstemp(input);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    size_t i;
    json_t *r;
    json_array_foreach(requests, i, r) {
        char *line = json_dumps(r, JSON_COMPACT);
        fprintf(f, "%s\n", line);
        free(line);
    }
    cr_assert_eq(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "node '%s/tests/crypto/keys_ref.mjs' < '%s' 2>&1", root, input);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    json_t *lines = json_array();
    static char line[65536];
    while (fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        json_array_append_new(lines, json_string(line));
    }
    int rc = pclose(p);
    unlink(input);
    const char *first = json_array_size(lines) ? json_string_value(json_array_get(lines, 0)) : "(no output)";
    cr_assert(rc == 0 && json_array_size(lines) == json_array_size(requests),
              "keys_ref.mjs failed (exit status %d, %zu of %zu lines): %s\nIt needs Node 20 on PATH and "
              "@polkadot/util-crypto and @polkadot/keyring in tools/ (run scripts/install-deps).",
              rc, json_array_size(lines), json_array_size(requests), first);
    return lines;
}
