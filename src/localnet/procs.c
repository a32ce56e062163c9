/* localnet processes: the neurons, s3rver and the helper commands (data preparation, gnuplot).
 * Neurons and s3rver run in their own process groups, so a Ctrl-C at the terminal reaches only
 * localnet, which then stops them in order (neurons first, storage last); and they get SIGTERM if
 * localnet itself dies, so a crashed run leaves nothing behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "localnet/localnet.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "testbed/host_proc.h"

extern char **environ;

#define EXIT_POLL_S 0.02        /* how often a stopping child is checked for having exited */
#define S3_LISTEN_POLL_S 0.02   /* how often a starting s3rver's port is tried */
#define S3_LISTEN_TIMEOUT_S 30  /* s3rver (node) starts in about a second; this is a hang */
#define S3_STOP_GRACE_S 5       /* after SIGTERM, before SIGKILL */
#define S3_PORT_ATTEMPTS 3      /* free ports tried when another process takes the one we chose */

/* ---------------------------------------------------------------- environment */

static int key_is(const char *entry, const char *key) {
    size_t n = strlen(key);
    return !strncmp(entry, key, n) && entry[n] == '=';
}

/* base (NULL: environ) without the keys of sets (KEY=VALUE) and of drops (KEY), then sets.
 * NULL-terminated, every string malloc'ed. */
static char **env_with(char *const *base, const char *const *sets, int n_sets, const char *const *drops, int n_drops,
                       tp_err *err) {
    if (!base) base = environ;
    size_t n = 0;
    for (char *const *e = base; *e; e++) n++;
    char **env = calloc(n + (size_t)n_sets + 1, sizeof *env);
    if (!env) return tp_fail(err, TP_ERR_NOMEM, "out of memory"), NULL;
    size_t k = 0;
    for (char *const *e = base; *e; e++) {
        int skip = 0;
        for (int i = 0; !skip && i < n_sets; i++) {
            char key[256];
            const char *eq = strchr(sets[i], '=');
            snprintf(key, sizeof key, "%.*s", (int)(eq - sets[i]), sets[i]);
            skip = key_is(*e, key);
        }
        for (int i = 0; !skip && i < n_drops; i++) skip = key_is(*e, drops[i]);
        if (!skip && !(env[k++] = strdup(*e))) goto oom;
    }
    for (int i = 0; i < n_sets; i++)
        if (!(env[k++] = strdup(sets[i]))) goto oom;
    return env;
oom:
    for (size_t i = 0; i < k; i++) free(env[i]);
    free(env);
    return tp_fail(err, TP_ERR_NOMEM, "out of memory"), NULL;
}

void ln_env_free(char **env) {
    if (!env) return;
    for (char **e = env; *e; e++) free(*e);
    free(env);
}

tp_status ln_env_build(ln_net *net, tp_err *err) {
    char home[LN_PATH_MAX + 32];
    snprintf(home, sizeof home, "TEMPLAR_HOME=%s/home", net->dir);
    const char *sets[10] = {home};
    int n = 1;
    /* Many processes share few cores: one OpenMP thread each unless the user decided otherwise. */
    if (!getenv("OMP_NUM_THREADS")) sets[n++] = "OMP_NUM_THREADS=1";
    char wait_fd[64];
    snprintf(wait_fd, sizeof wait_fd, "%s=%d", LN_WAIT_FD_ENV, LN_WAIT_FD);
    if (!net->opt.wall) sets[n++] = wait_fd;
    const char *drops[] = {"AWS_SESSION_TOKEN", "AWS_PROFILE"};
    int n_drops = 0;
    if (net->opt.s3) {
        /* s3rver's fixed credentials, also committed as every bucket's read credentials. */
        sets[n++] = "AWS_ACCESS_KEY_ID=S3RVER";
        sets[n++] = "AWS_SECRET_ACCESS_KEY=S3RVER";
        sets[n++] = "AWS_REGION=us-east-1";
        sets[n++] = TP_ENV_STORE_READ_KEY_ID "=S3RVER";
        sets[n++] = TP_ENV_STORE_READ_SECRET "=S3RVER";
        n_drops = 2;
    }
    ln_env_free(net->env);
    net->env = env_with(NULL, sets, n, drops, n_drops, err);
    return net->env ? TP_OK : err->code;
}

/* ---------------------------------------------------------------- spawning */

typedef struct {
    char *const *argv;
    char *const *envp; /* NULL: ours */
    const char *log;   /* stdout and stderr, appended; NULL: ours */
    const char *cwd;   /* NULL: ours */
    int detach;        /* own process group, SIGTERM when localnet dies */
    int use_path;      /* look argv[0] up on PATH */
    int wait_fd;       /* > 0: handed to the child as LN_WAIT_FD (the lockstep channel) */
    const tb_host *host; /* run in this testbed host's network namespace; NULL: ours */
    int nice;          /* > 0: run at this lower priority */
} spawn_req;

static tp_status spawn(const spawn_req *r, pid_t *pid, tp_err *err) {
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t p = fork();
    if (p < 0) return tp_fail(err, TP_ERR_IO, "fork: %s", strerror(errno));
    if (p == 0) {
        /* Only async-signal-safe calls from here to exec. */
        if (r->detach) {
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent) _exit(1);
        }
        if (r->host && setns(r->host->ns_fd, CLONE_NEWNET) < 0) _exit(126);
        if (r->nice > 0 && setpriority(PRIO_PROCESS, 0, r->nice) < 0) _exit(126);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (in >= 0) dup2(in, 0);
        if (r->log) {
            int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0) _exit(126);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (r->cwd && chdir(r->cwd) < 0) _exit(126);
        /* Last: whatever the opens above took, the channel ends up as LN_WAIT_FD, inherited. */
        if (r->wait_fd > 0 && (r->wait_fd == LN_WAIT_FD ? fcntl(LN_WAIT_FD, F_SETFD, 0) : dup2(r->wait_fd, LN_WAIT_FD)) < 0)
            _exit(126);
        char *const *envp = r->envp ? r->envp : environ;
        if (r->use_path) {
            environ = (char **)envp;
            execvp(r->argv[0], r->argv);
        } else {
            execve(r->argv[0], r->argv, envp);
        }
        static const char msg[] = "localnet: cannot execute the command\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(127);
    }
    if (r->detach) setpgid(p, p); /* also here: whichever of parent and child runs first */
    *pid = p;
    return TP_OK;
}

int ln_reaped(pid_t pid, int *status) {
    if (pid <= 0) return 1;
    pid_t r;
    while ((r = waitpid(pid, status, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (r < 0 && errno == ECHILD) *status = 0; /* reaped elsewhere already */
    return r == pid || (r < 0 && errno == ECHILD);
}

static void wait_blocking(pid_t pid, int *status) {
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
    }
}

void ln_describe_status(int status, char *out, size_t n) {
    if (WIFEXITED(status)) snprintf(out, n, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else snprintf(out, n, "wait status %d", status);
}

tp_status ln_run_command(char *const argv[], const char *cwd, const char *log, int *exit_code, tp_err *err) {
    spawn_req r = {.argv = argv, .log = log, .cwd = cwd, .use_path = !strchr(argv[0], '/')};
    pid_t pid;
    tp_status st = spawn(&r, &pid, err);
    if (st) return st;
    int status = 0;
    wait_blocking(pid, &status);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return TP_OK;
}

/* A neuron killed mid-write can leave a torn last line; end it, so the restarted neuron's first
 * record starts on a line of its own. */
static void end_torn_line(const char *path) {
    int fd = open(path, O_RDWR | O_APPEND);
    if (fd < 0) return;
    struct stat sb;
    char last;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) == 1 && last != '\n') {
        ssize_t ignored = write(fd, "\n", 1);
        (void)ignored;
    }
    close(fd);
}

tp_status ln_spawn(ln_net *net, ln_node *n, tp_err *err) {
    char state[LN_PATH_MAX + 64], log[LN_PATH_MAX + 64], metrics[LN_PATH_MAX + 96];
    snprintf(state, sizeof state, "%s/state/%s", net->dir, n->name);
    snprintf(log, sizeof log, "%s/logs/%s.log", net->dir, n->name);
    snprintf(metrics, sizeof metrics, "%s/metrics.jsonl", state);
    end_torn_line(metrics);
    char *argv[16];
    int k = 0;
    argv[k++] = net->bin;
    argv[k++] = n->kind == LN_VALIDATOR ? "validator" : "miner";
    argv[k++] = "--wallet", argv[k++] = n->name;
    argv[k++] = "--chain", argv[k++] = net->chain_uri;
    argv[k++] = "--store", argv[k++] = n->store;
    /* On a testbed host: that host's own home and run config. */
    char config[LN_PATH_MAX + 96], home[LN_PATH_MAX + 96];
    snprintf(config, sizeof config, "%s/hosts/%s/run.json", net->dir, n->name);
    snprintf(home, sizeof home, "TEMPLAR_HOME=%s/hosts/%s/home", net->dir, n->name);
    argv[k++] = "--config", argv[k++] = n->host ? config : net->run_json;
    argv[k++] = "--state", argv[k++] = state;
    char adv[LN_MODE_MAX + 32];
    if (n->partner >= 0) snprintf(adv, sizeof adv, "%s@%lld", n->adversary, (long long)n->partner);
    else snprintf(adv, sizeof adv, "%s", n->adversary);
    if (n->adversary[0]) argv[k++] = "--adversary", argv[k++] = adv;
    argv[k] = NULL;
    const char *sets[] = {home};
    char **env = n->host ? env_with(net->env, sets, 1, NULL, 0, err) : NULL;
    if (n->host && !env) return err->code;
    /* On a testbed every host stands for a machine of its own, but they share this one's cores: the
     * neurons yield to the chain and the store, which would otherwise fall behind real time (blocks
     * built late, then in a burst) while eight trainers hold every core. */
    spawn_req r = {.argv = argv, .envp = env ? env : net->env, .log = log, .detach = 1, .host = n->host,
                   .nice = n->host ? LN_TESTBED_NEURON_NICE : 0};
    int pipefd[2] = {-1, -1};
    /* A new channel per start: nothing the process announced before can be read as new. */
    if (!net->opt.wall && pipe2(pipefd, O_CLOEXEC) < 0) {
        ln_env_free(env);
        return tp_fail(err, TP_ERR_IO, "pipe: %s", strerror(errno));
    }
    r.wait_fd = pipefd[1];
    tp_status st = spawn(&r, &n->pid, err);
    ln_env_free(env);
    if (pipefd[1] >= 0) close(pipefd[1]);
    if (st) {
        if (pipefd[0] >= 0) close(pipefd[0]);
        return tp_wrap(err, "starting %s", n->name);
    }
    if (pipefd[0] >= 0) fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    ln_wait_reader_close(&n->wait);
    ln_wait_reader_init(&n->wait, pipefd[0]);
    n->state = LN_RUNNING;
    return TP_OK;
}

void ln_kill_node(ln_node *n) {
    ln_wait_reader_close(&n->wait);
    if (n->state != LN_RUNNING || n->pid <= 0) return;
    kill(n->pid, SIGKILL);
    int status;
    wait_blocking(n->pid, &status);
    n->pid = 0;
}

void ln_stop_all(ln_net *net, double grace_s) {
    int running = 0;
    for (int i = 0; i < net->n_nodes; i++) {
        ln_node *n = &net->nodes[i];
        if (n->state == LN_RUNNING && n->pid > 0) {
            kill(n->pid, SIGTERM);
            running++;
        }
    }
    double t0 = tp_now();
    while (running > 0 && tp_now() - t0 < grace_s) {
        tp_sleep(EXIT_POLL_S);
        for (int i = 0; i < net->n_nodes; i++) {
            ln_node *n = &net->nodes[i];
            int status;
            if (n->state == LN_RUNNING && ln_reaped(n->pid, &status)) {
                ln_wait_reader_close(&n->wait);
                n->state = LN_STOPPED;
                n->pid = 0;
                running--;
            }
        }
    }
    for (int i = 0; i < net->n_nodes; i++) {
        ln_node *n = &net->nodes[i];
        if (n->state != LN_RUNNING) continue;
        ln_note(net, "%s did not stop within %.0f s of SIGTERM; killed", n->name, grace_s);
        ln_kill_node(n);
        n->state = LN_STOPPED;
    }
}

/* ---------------------------------------------------------------- s3rver */

int ln_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int port_open(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = htons(port)};
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Starts s3rver on s->port and waits until it listens. *early = 1 when it exited first (the port
 * was taken in the meantime, say by a concurrent run). */
static tp_status s3_launch(ln_net *net, int *early, tp_err *err) {
    ln_s3 *s = &net->s3;
    *early = 0;
    char port[16], log[LN_PATH_MAX + 32];
    snprintf(port, sizeof port, "%d", s->port);
    snprintf(log, sizeof log, "%s/logs/s3rver.log", net->dir);
    int argc = 0, max = 10 + 2 * net->n_nodes;
    char **argv = calloc((size_t)max, sizeof *argv);
    if (!argv) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    argv[argc++] = s->bin;
    argv[argc++] = "--directory", argv[argc++] = s->dir;
    argv[argc++] = "--address", argv[argc++] = "127.0.0.1";
    argv[argc++] = "--port", argv[argc++] = port;
    argv[argc++] = "--silent";
    for (int i = 1; i < net->n_nodes; i++) argv[argc++] = "--configure-bucket", argv[argc++] = net->nodes[i].name;
    /* s3rver makes continuation tokens with DES, which OpenSSL 3 only has in its legacy provider;
     * without it every listing past one page fails with HTTP 500. */
    const char *sets[] = {"NODE_OPTIONS=--openssl-legacy-provider"};
    char **env = env_with(NULL, sets, 1, NULL, 0, err);
    tp_status st = env ? TP_OK : err->code;
    spawn_req r = {.argv = argv, .envp = env, .log = log, .detach = 1, .host = s->host};
    if (!st) st = spawn(&r, &s->pid, err);
    ln_env_free(env);
    free(argv);
    if (st) return tp_wrap(err, "starting s3rver");
    double t0 = tp_now();
    while (!(s->host ? tb_host_port_open(s->host, s->port) : port_open(s->port))) {
        int status;
        if (ln_reaped(s->pid, &status)) {
            s->pid = 0;
            char why[128];
            ln_describe_status(status, why, sizeof why);
            *early = 1;
            return tp_fail(err, TP_ERR_IO, "s3rver exited before listening (%s); see %s", why, log);
        }
        if (tp_now() - t0 > S3_LISTEN_TIMEOUT_S) {
            ln_s3_stop(s);
            return tp_fail(err, TP_ERR_IO, "s3rver did not listen on port %d within %d s; see %s", s->port,
                           S3_LISTEN_TIMEOUT_S, log);
        }
        tp_sleep(S3_LISTEN_POLL_S);
    }
    s->down = 0;
    printf("localnet: s3rver listening on %s:%d (data %s)\n", s->host ? s->host->addr : "127.0.0.1", s->port, s->dir);
    fflush(stdout);
    return TP_OK;
}

tp_status ln_s3_start(ln_net *net, tp_err *err) {
    ln_s3 *s = &net->s3;
    int early;
    /* A restart keeps the port (the buckets' URIs are committed on chain) and the data. */
    if (s->port) return s3_launch(net, &early, err);
    if (snprintf(s->bin, sizeof s->bin, "%s/tools/node_modules/.bin/s3rver", net->repo) >= (int)sizeof s->bin ||
        snprintf(s->dir, sizeof s->dir, "%s/s3", net->dir) >= (int)sizeof s->dir)
        return tp_fail(err, TP_ERR_ARG, "path too long: %.200s", net->dir);
    if (access(s->bin, X_OK) != 0) return tp_fail(err, TP_ERR_CONFIG, "%s is missing: run scripts/install-deps", s->bin);
    tp_status st = tp_mkdirs(s->dir, err);
    for (int attempt = 0; !st && attempt < S3_PORT_ATTEMPTS; attempt++) {
        if ((s->port = ln_free_port()) <= 0) return tp_fail(err, TP_ERR_IO, "no free loopback port for s3rver");
        for (int i = 1; i < net->n_nodes; i++)
            snprintf(net->nodes[i].store, sizeof net->nodes[i].store, "s3+http://%s:%d/%s",
                     s->host ? s->host->addr : "127.0.0.1", s->port, net->nodes[i].name);
        st = s3_launch(net, &early, err);
        if (!st || !early) break;
        if (attempt < S3_PORT_ATTEMPTS - 1) st = TP_OK; /* another port */
    }
    /* On a testbed the neurons reach s3rver through its host's relay (the links' delay). */
    if (!st && s->host) st = ln_hosts_relay(net, s->host, s->port, &s->relay, err);
    return st;
}

void ln_s3_stop(ln_s3 *s) {
    if (s->pid <= 0) return;
    kill(s->pid, SIGTERM);
    int status;
    double t0 = tp_now();
    while (!ln_reaped(s->pid, &status)) {
        if (tp_now() - t0 > S3_STOP_GRACE_S) {
            kill(s->pid, SIGKILL);
            wait_blocking(s->pid, &status);
            break;
        }
        tp_sleep(EXIT_POLL_S);
    }
    s->pid = 0;
}

tp_status ln_run_templar(ln_net *net, const char *what, char **args, const char *log, tp_err *err) {
    char *argv[24] = {net->bin};
    for (int i = 0; args[i] && i < 22; i++) argv[i + 1] = args[i];
    int code = 0;
    tp_status st = ln_run_command(argv, NULL, log, &code, err);
    if (st) return tp_wrap(err, "%s", what);
    if (code) return tp_fail(err, TP_ERR_INTERNAL, "%s failed (exit status %d; see %s)", what, code, log);
    return TP_OK;
}
