/* A real Subtensor runtime on this machine: chopsticks (the npm package @acala-network/chopsticks,
 * installed under tools/ by scripts/install-deps) runs the runtime's wasm from a chain spec and
 * builds a block only when asked (dev_newBlock), serving JSON-RPC over HTTP on a loopback port.
 * See shared/subtensor/README.md for the runtimes and what they do.
 *
 * tp_chopsticks_start spawns `node chopsticks.cjs …` in its own process group (a Ctrl-C at the
 * terminal reaches only us; tp_chopsticks_stop ends the whole group) and returns once chopsticks says
 * it listens, read from its output, never guessed by sleeping. The child is killed if the thread that
 * started it exits (PR_SET_PDEATHSIG), so start it from a thread that outlives it, e.g. the main one.
 * A thread keeps draining its output into the log file until it stops, so it never blocks on a full
 * pipe. */
#ifndef TP_LOCALNET_CHOPSTICKS_H
#define TP_LOCALNET_CHOPSTICKS_H

#include <sys/types.h>

#include "core/error.h"

#define TP_CHOPSTICKS_URL_MAX 64

typedef struct {
    /* The templar checkout (TEMPLAR_ROOT), from which the defaults below are found; may be NULL when
     * runtime_dir and script are both given. */
    const char *root;
    /* The folder with raw_spec_testfinney.json, code_143.hex and raonet.json. NULL: the environment's
     * TEMPLAR_SUBTENSOR_DIR, else ROOT/../shared/subtensor. */
    const char *runtime_dir;
    /* 143 (testfinney genesis + the early-2024 mainnet runtime: real Yuma epochs) or 218 (raonet:
     * dTAO call shapes). */
    int spec;
    /* NULL: ROOT/tools/node_modules/@acala-network/chopsticks/chopsticks.cjs */
    const char *script;
    /* The node binary; NULL: `node` from PATH. */
    const char *node;
    /* A storage overrides file (--import-storage), or NULL for none. */
    const char *storage;
    /* chopsticks' output (stdout and stderr) is written here, truncated first; NULL: discarded. */
    const char *log_path;
    /* Seconds to wait for it to listen; 0: 120. */
    double ready_timeout_s;
    /* >= 0: an open network namespace (a testbed host) to run it in; it then listens on that host's
     * loopback. -1 (the default): ours. */
    int netns_fd;
} tp_chopsticks_opts;

typedef struct tp_chopsticks_proc tp_chopsticks_proc; /* private: the process and its output */

typedef struct {
    pid_t pid; /* also its process group id; 0 once stopped */
    int port;
    char url[TP_CHOPSTICKS_URL_MAX]; /* http://127.0.0.1:PORT (WebSocket: ws:// on the same port) */
    tp_chopsticks_proc *proc;        /* private (this struct may be moved; stop it once) */
} tp_chopsticks;

/* Defaults: spec 143, everything else NULL or 0. */
void tp_chopsticks_opts_default(tp_chopsticks_opts *o);

/* Starts chopsticks on a free loopback port (another one if that port is taken meanwhile, up to 3
 * tries) and waits until it listens. Errors: chopsticks, node or a runtime file missing (naming what
 * to install or where it looked), an early exit or no readiness within the timeout (quoting the last
 * lines of its output). On failure nothing is left running. */
tp_status tp_chopsticks_start(const tp_chopsticks_opts *opts, tp_chopsticks *out, tp_err *err);

/* SIGTERM to its process group, up to 5 s to exit, then SIGKILL; waits for it and the drain thread.
 * Safe to call twice, and on a zeroed struct. */
void tp_chopsticks_stop(tp_chopsticks *c);

#endif
