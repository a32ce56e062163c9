/* The chopsticks launcher: two real Subtensor runtimes (specs 143 and 218) side by side, and stand-in
 * scripts (written here, run by node like chopsticks) for what a real one rarely does: moving to
 * another port, exiting early (EADDRINUSE: retried on another port), never becoming ready, ignoring
 * SIGTERM, and writing a lot after becoming ready (its output must keep being drained). */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "localnet/chopsticks.h"
#include "substrate/rpc.h"

static void make_tmpdir(char *out, size_t n) {
    snprintf(out, n, "/tmp/templar-chopsticks-XXXXXX");
    cr_assert(mkdtemp(out), "mkdtemp failed");
}

static void put(const char *dir, const char *name, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert(f, "cannot write %s", path);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

/* The file's text (NUL-terminated; free it), or NULL when it does not exist. */
static char *slurp(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *b;
    size_t n;
    tp_err err;
    if (tp_read_file(path, 64u << 20, &b, &n, &err)) return NULL;
    char *s = realloc(b, n + 1);
    cr_assert(s);
    s[n] = 0;
    return s;
}

static void remove_dir(const char *dir) {
    tp_err err;
    cr_expect_eq(tp_remove_tree(dir, &err), TP_OK, "%s", err.msg);
}

static void real_opts(tp_chopsticks_opts *o, int spec, const char *log) {
    tp_chopsticks_opts_default(o);
    o->root = getenv("TEMPLAR_ROOT");
    cr_assert(o->root, "TEMPLAR_ROOT is not set (run through make)");
    o->spec = spec;
    o->log_path = log;
}

/* specVersion of the runtime at url. */
static int64_t spec_version(const char *url) {
    tp_rpc *r;
    tp_err err;
    cr_assert_eq(tp_rpc_open(url, NULL, &r, &err), TP_OK, "%s", err.msg);
    json_t *v;
    cr_assert_eq(tp_rpc_call(r, "state_getRuntimeVersion", NULL, &v, &err), TP_OK, "%s", err.msg);
    json_t *spec = json_object_get(v, "specVersion"), *name = json_object_get(v, "specName");
    cr_expect_str_eq(json_string_value(name) ? json_string_value(name) : "(none)", "node-subtensor");
    int64_t s = json_is_integer(spec) ? json_integer_value(spec) : -1;
    json_decref(v);
    tp_rpc_close(r);
    return s;
}

/* Whether anything answers at url now (no retries). */
static int answers(const char *url) {
    tp_rpc_opts o;
    tp_rpc_opts_default(&o);
    o.retries = 0;
    tp_rpc *r;
    tp_err err;
    cr_assert_eq(tp_rpc_open(url, &o, &r, &err), TP_OK, "%s", err.msg);
    json_t *v = NULL;
    tp_status st = tp_rpc_call(r, "system_chain", NULL, &v, &err);
    json_decref(v);
    tp_rpc_close(r);
    if (st) cr_expect(err.retryable, "a refused connection should be transient: %s", err.msg);
    return st == TP_OK;
}

Test(localnet, chopsticks_real_runtimes) {
    char dir[64], log143[128], log218[128], needle[96];
    make_tmpdir(dir, sizeof dir);
    snprintf(log143, sizeof log143, "%s/143.log", dir);
    snprintf(log218, sizeof log218, "%s/218.log", dir);
    tp_chopsticks_opts o;
    tp_chopsticks a, b;
    tp_err err;
    real_opts(&o, 143, log143);
    cr_assert_eq(tp_chopsticks_start(&o, &a, &err), TP_OK, "%s", err.msg);
    real_opts(&o, 218, log218);
    tp_status st = tp_chopsticks_start(&o, &b, &err);
    if (st) tp_chopsticks_stop(&a);
    cr_assert_eq(st, TP_OK, "a second one while the first runs: %s", err.msg);

    cr_expect_neq(a.port, b.port);
    cr_expect_neq(a.pid, b.pid);
    cr_expect(strcmp(a.url, b.url), "both at %s", a.url);
    cr_expect_eq(spec_version(a.url), 143);
    cr_expect_eq(spec_version(b.url), 218);
    char *text = slurp(dir, "143.log");
    snprintf(needle, sizeof needle, "RPC listening on http://127.0.0.1:%d", a.port);
    cr_expect(text && strstr(text, needle), "%s lacks '%s'", log143, needle);
    free(text);

    char url_a[TP_CHOPSTICKS_URL_MAX];
    snprintf(url_a, sizeof url_a, "%s", a.url);
    tp_chopsticks_stop(&a);
    cr_expect_eq(a.pid, 0);
    cr_expect_not(answers(url_a), "%s still answers after stop", url_a);
    cr_expect(answers(b.url), "stopping one stopped the other");
    tp_chopsticks_stop(&b);
    tp_chopsticks_stop(&b); /* twice is harmless */
    tp_chopsticks zero = {0};
    tp_chopsticks_stop(&zero);
    remove_dir(dir);
}

/* A runtime folder of empty files: the launcher only checks they are there; stand-ins ignore them. */
static void fake_runtime(char *dir, size_t n) {
    make_tmpdir(dir, n);
    put(dir, "raw_spec_testfinney.json", "{}");
    put(dir, "code_143.hex", "0x00");
    put(dir, "raonet.json", "{}");
}

static void expect_start_fails(const tp_chopsticks_opts *o, tp_status code, const char *needle) {
    tp_chopsticks c;
    tp_err err;
    cr_expect_eq(tp_chopsticks_start(o, &c, &err), code, "expected '%s', got: %s", needle, err.msg);
    cr_expect(strstr(err.msg, needle), "expected '%s' in: %s", needle, err.msg);
    cr_expect(!c.proc && !c.pid, "a failed start left a process");
}

Test(localnet, chopsticks_missing_files) {
    char rt[64];
    fake_runtime(rt, sizeof rt);
    tp_chopsticks_opts o;
    real_opts(&o, 143, NULL);
    o.runtime_dir = rt;
    o.script = "/nonexistent/chopsticks.cjs";
    expect_start_fails(&o, TP_ERR_CONFIG, "chopsticks is not installed: run scripts/install-deps (no /nonexistent/chopsticks.cjs)");
    real_opts(&o, 143, NULL);
    o.runtime_dir = "/nonexistent/subtensor";
    expect_start_fails(&o, TP_ERR_CONFIG, "/nonexistent/subtensor/raw_spec_testfinney.json: No such file");
    o.spec = 218;
    expect_start_fails(&o, TP_ERR_CONFIG, "/nonexistent/subtensor/raonet.json: No such file");
    o.spec = 100;
    expect_start_fails(&o, TP_ERR_ARG, "spec 100");
    real_opts(&o, 143, NULL);
    o.runtime_dir = rt;
    o.storage = "/nonexistent/storage.json";
    expect_start_fails(&o, TP_ERR_CONFIG, "storage file /nonexistent/storage.json");
    o.storage = NULL;
    o.node = "/nonexistent/node";
    expect_start_fails(&o, TP_ERR_CONFIG, "node /nonexistent/node is not an executable");
    o.node = NULL;
    o.root = NULL;
    expect_start_fails(&o, TP_ERR_ARG, "no templar root");
    o.root = getenv("TEMPLAR_ROOT");
    o.log_path = "/nonexistent/dir/chopsticks.log";
    expect_start_fails(&o, TP_ERR_IO, "/nonexistent/dir/chopsticks.log");
    remove_dir(rt);
}

/* A stand-in that records its arguments, says it listens on the port after the one it was given (as
 * chopsticks does when its port is taken), then writes 2 MiB, far more than a pipe holds, and "END".
 * SIGTERM is handled by node's event loop, so only after all of that was written. */
static const char FAKE_READY[] =
    "const fs = require('fs');\n"
    "process.on('SIGTERM', () => process.exit(0));\n"
    "fs.writeFileSync(__dirname + '/args.txt', process.argv.slice(2).join(' '));\n"
    "const port = Number(process.argv[process.argv.indexOf('--port') + 1]) + 1;\n"
    "fs.writeSync(1, `[00:00:00] INFO: bittensor RPC listening on http://127.0.0.1:${port} and ws://127.0.0.1:${port}\\n`);\n"
    "const line = 'x'.repeat(1023) + '\\n';\n"
    "for (let i = 0; i < 2048; i++) fs.writeSync(1, line);\n"
    "fs.writeSync(2, 'END\\n');\n"
    "setInterval(() => {}, 1000);\n";

Test(localnet, chopsticks_port_from_output_and_drain) {
    char rt[64], log[128], want[1024];
    fake_runtime(rt, sizeof rt);
    put(rt, "fake.js", FAKE_READY);
    put(rt, "storage.json", "{}");
    snprintf(log, sizeof log, "%s/out.log", rt);
    tp_chopsticks_opts o;
    real_opts(&o, 143, log);
    char script[128], storage[128];
    snprintf(script, sizeof script, "%s/fake.js", rt);
    snprintf(storage, sizeof storage, "%s/storage.json", rt);
    o.runtime_dir = rt;
    o.script = script;
    o.storage = storage;
    tp_chopsticks c;
    tp_err err;
    cr_assert_eq(tp_chopsticks_start(&o, &c, &err), TP_OK, "%s", err.msg);
    tp_chopsticks_stop(&c);

    char *args = slurp(rt, "args.txt");
    cr_assert(args, "the stand-in did not run");
    int given = 0;
    const char *p = strstr(args, "--port ");
    cr_assert(p && sscanf(p, "--port %d", &given) == 1, "no --port in: %s", args);
    cr_expect_eq(c.port, given + 1, "the port is not the one the output names");
    snprintf(want, sizeof want,
             "--genesis %s/raw_spec_testfinney.json --wasm-override %s/code_143.hex --allow-unresolved-imports "
             "--build-block-mode Manual --import-storage %s --host 127.0.0.1 --port %d",
             rt, rt, storage, given);
    cr_expect_str_eq(args, want);
    free(args);
    char *text = slurp(rt, "out.log");
    cr_assert(text);
    cr_expect_gt(strlen(text), 2048u * 1024, "the log holds %zu bytes: its output was not all drained", strlen(text));
    size_t n = strlen(text);
    cr_expect(n >= 4 && !strcmp(text + n - 4, "END\n"), "the log does not end with END");
    free(text);
    remove_dir(rt);
}

/* Exits at once as chopsticks does when it cannot bind, counting its starts in starts.txt. */
static const char FAKE_ADDRINUSE[] =
    "const fs = require('fs');\n"
    "fs.appendFileSync(__dirname + '/starts.txt', 'x');\n"
    "console.error('Error: listen EADDRINUSE: address already in use 127.0.0.1');\n"
    "process.exit(3);\n";

static const char FAKE_BROKEN[] =
    "const fs = require('fs');\n"
    "fs.appendFileSync(__dirname + '/starts.txt', 'x');\n"
    "console.log('Error: FailedToParse genesis\\n\\x1b[31m    at somewhere');\n"
    "process.exit(1);\n";

static void run_failing(const char *rt, const char *source, int want_starts, const char *needle) {
    char script[128];
    snprintf(script, sizeof script, "%s/fake.js", rt);
    put(rt, "fake.js", source);
    char starts_path[128];
    snprintf(starts_path, sizeof starts_path, "%s/starts.txt", rt);
    unlink(starts_path);
    tp_chopsticks_opts o;
    real_opts(&o, 218, NULL);
    o.runtime_dir = rt;
    o.script = script;
    tp_chopsticks c;
    tp_err err;
    cr_assert_neq(tp_chopsticks_start(&o, &c, &err), TP_OK, "a failing stand-in started");
    cr_expect(strstr(err.msg, "exited before listening"), "%s", err.msg);
    cr_expect(strstr(err.msg, needle), "expected '%s' in: %s", needle, err.msg);
    cr_expect_not(err.retryable, "%s", err.msg);
    cr_expect_null(strchr(err.msg, 0x1b), "an escape character reached the message");
    char *starts = slurp(rt, "starts.txt");
    cr_expect_eq(starts ? (int)strlen(starts) : 0, want_starts, "started %s times", starts ? starts : "0");
    free(starts);
}

Test(localnet, chopsticks_early_exit) {
    char rt[64];
    fake_runtime(rt, sizeof rt);
    run_failing(rt, FAKE_ADDRINUSE, 3, "EADDRINUSE");
    run_failing(rt, FAKE_ADDRINUSE, 3, "(exit status 3; log: none)");
    run_failing(rt, FAKE_BROKEN, 1, "FailedToParse genesis");
    remove_dir(rt);
}

/* Never ready and deaf to SIGTERM: the start gives up, and SIGKILL ends it. */
static const char FAKE_HANG[] =
    "const fs = require('fs');\n"
    "process.on('SIGTERM', () => {});\n"
    "fs.writeFileSync(__dirname + '/pid.txt', String(process.pid));\n"
    "console.log('loading the runtime...');\n"
    "setInterval(() => {}, 1000);\n";

Test(localnet, chopsticks_not_ready_in_time) {
    char rt[64], script[128];
    fake_runtime(rt, sizeof rt);
    put(rt, "fake.js", FAKE_HANG);
    snprintf(script, sizeof script, "%s/fake.js", rt);
    tp_chopsticks_opts o;
    real_opts(&o, 143, NULL);
    o.runtime_dir = rt;
    o.script = script;
    o.ready_timeout_s = 5; /* long enough for node to start and say something */
    tp_chopsticks c;
    tp_err err;
    cr_assert_neq(tp_chopsticks_start(&o, &c, &err), TP_OK, "a stand-in that never listens started");
    cr_expect(strstr(err.msg, "did not listen within"), "%s", err.msg);
    cr_expect(strstr(err.msg, "loading the runtime..."), "the message does not quote its output: %s", err.msg);
    cr_expect(err.retryable, "%s", err.msg);
    char *pid = slurp(rt, "pid.txt");
    cr_assert(pid, "the stand-in never ran");
    cr_expect(kill((pid_t)atoi(pid), 0) != 0 && errno == ESRCH, "pid %s still exists", pid);
    free(pid);
    remove_dir(rt);
}
