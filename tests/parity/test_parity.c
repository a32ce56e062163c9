/* PyTorch parity of `templar grad` and `templar train`: runs tests/parity/parity.py (which writes
 * random models and tokens, runs the binary and compares with an independent PyTorch LLaMA) and
 * asserts that every check passed. Needs Debian's /usr/bin/python3 with torch and numpy. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define PYTHON "/usr/bin/python3"

static int exit_status(int rc) {
    if (rc == -1) return -1;
    if (WIFEXITED(rc)) return WEXITSTATUS(rc);
    return 128 + (WIFSIGNALED(rc) ? WTERMSIG(rc) : 0);
}

static void print_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
    fclose(f);
}

Test(parity, pytorch, .timeout = 600) {
    const char *root = getenv("TEMPLAR_ROOT");
    const char *bin = getenv("TEMPLAR_BIN");
    cr_assert(root && *root, "TEMPLAR_ROOT is not set");
    cr_assert(bin && *bin, "TEMPLAR_BIN is not set");

    /* PyTorch is a declared test dependency (scripts/install-deps): its absence is a failure. */
    cr_assert_eq(exit_status(system(PYTHON " -c 'import torch, numpy' >/dev/null 2>&1")), 0,
                 "parity: " PYTHON " cannot import torch and numpy; run scripts/install-deps");

    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/templar-parity-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    cr_assert(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);

    char log[4200], cmd[16384];
    snprintf(log, sizeof log, "%s/parity.log", dir);
    int n = snprintf(cmd, sizeof cmd, PYTHON " '%s/tests/parity/parity.py' --templar '%s' --workdir '%s' >'%s' 2>&1",
                     root, bin, dir, log);
    cr_assert(n > 0 && (size_t)n < sizeof cmd, "command line too long");
    int st = exit_status(system(cmd));
    if (st != 0) {
        fprintf(stderr, "---- parity.py output (workdir kept: %s) ----\n", dir);
        print_file(log);
        fprintf(stderr, "---- end of parity.py output ----\n");
    } else {
        char rm[4200];
        snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
        if (system(rm) != 0) fprintf(stderr, "parity: could not remove %s\n", dir);
    }
    cr_assert_eq(st, 0, "parity.py exited with status %d (output above)", st);
}
