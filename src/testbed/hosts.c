/* Testbed hosts: network namespaces on a private bridge, made and removed with `ip`. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testbed/hosts.h"

#define NS_PREFIX "templar-"
#define NETNS_DIR "/run/netns"
#define OCTET_FIRST 64 /* 10.64.0.0/16 … 10.254.0.0/16: rarely used by real networks */
#define OCTET_LAST 254

/* ---------------------------------------------------------------- commands */

tp_status tb_command(const char *log, char *const argv[], tp_err *err) {
    fflush(stdout);
    fflush(stderr);
    int out = open(log && log[0] ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out < 0) return tp_fail(err, TP_ERR_IO, "cannot open %s: %s", log, strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(out);
    if (pid < 0) return tp_fail(err, TP_ERR_IO, "fork: %s", strerror(errno));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return tp_fail(err, TP_ERR_IO, "waitpid: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return TP_OK;
    char cmd[512];
    size_t len = 0;
    cmd[0] = 0;
    for (int i = 0; argv[i] && len + 2 < sizeof cmd; i++)
        len += (size_t)snprintf(cmd + len, sizeof cmd - len, "%s%s", i ? " " : "", argv[i]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return tp_fail(err, TP_ERR_CONFIG, "%s: command not found", argv[0]);
    return tp_fail(err, TP_ERR_IO, "`%s` failed (exit %d)%s%s", cmd, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                   log && log[0] ? "; see " : "", log && log[0] ? log : "");
}

#define RUN(log, err, ...) tb_command((log), (char *const[]){__VA_ARGS__, NULL}, (err))

static int on_path(const char *prog) {
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/sbin:/sbin", path ? path : "/usr/bin:/bin");
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", d, prog);
        if (access(p, X_OK) == 0) return 1;
    }
    return 0;
}

tp_status tb_check_privilege(tp_err *err) {
    if (geteuid() != 0)
        return tp_fail(err, TP_ERR_CONFIG, "a testbed makes network namespaces, which needs root (run it as root, "
                                           "e.g. with sudo)");
    if (!on_path("ip") || !on_path("tc"))
        return tp_fail(err, TP_ERR_CONFIG, "`ip` and `tc` are missing: install iproute2 (scripts/install-deps does)");
    return TP_OK;
}

/* ---------------------------------------------------------------- sweeping */

/* The PID in "templar-<hex>-…" or "tb<hex>-br"; 0 when name is not ours. */
static pid_t owner_of(const char *name, const char *prefix, const char *suffix) {
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl)) return 0;
    char *end;
    unsigned long pid = strtoul(name + pl, &end, 16);
    if (end == name + pl || strncmp(end, suffix, strlen(suffix)) || pid == 0 || pid > 0x7fffffff) return 0;
    return (pid_t)pid;
}

static int gone(pid_t pid) { return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH; }

void tb_hosts_sweep(const char *log) {
    tp_err ignored;
    DIR *d = opendir(NETNS_DIR);
    for (struct dirent *e; d && (e = readdir(d));)
        if (gone(owner_of(e->d_name, NS_PREFIX, "-"))) RUN(log, &ignored, "ip", "netns", "del", e->d_name);
    if (d) closedir(d);
    d = opendir("/sys/class/net");
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 3, "-br") && gone(owner_of(e->d_name, "tb", "-br")))
            RUN(log, &ignored, "ip", "link", "del", e->d_name);
    }
    if (d) closedir(d);
}

/* ---------------------------------------------------------------- making */

/* A second octet no address of this machine uses in 10.0.0.0/8. */
static int free_octet(int start, tp_err *err) {
    char used[256] = {0};
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
            if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
                uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
                if (a >> 24 == 10) used[(a >> 16) & 255] = 1;
            }
        freeifaddrs(ifs);
    }
    int span = OCTET_LAST - OCTET_FIRST + 1;
    for (int i = 0; i < span; i++) {
        int o = OCTET_FIRST + (start + i) % span;
        if (!used[o]) return o;
    }
    return tp_fail(err, TP_ERR_IO, "every subnet 10.%d-%d.0.0/16 is in use on this machine", OCTET_FIRST, OCTET_LAST), -1;
}

static tp_status check_names(const char *const *names, int n, tp_err *err) {
    if (n < 1 || n > TB_HOSTS_MAX) return tp_fail(err, TP_ERR_ARG, "a testbed has 1 to %d hosts, not %d", TB_HOSTS_MAX, n);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (!len || len > 20 || strspn(names[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") != len)
            return tp_fail(err, TP_ERR_ARG, "host name '%s': 1 to 20 letters, digits or '-'", names[i]);
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j])) return tp_fail(err, TP_ERR_ARG, "host name '%s' given twice", names[i]);
    }
    return TP_OK;
}

static tp_status make_bridge(tb_hosts *h, tp_err *err) {
    char cidr[TB_ADDR_MAX + 8];
    snprintf(cidr, sizeof cidr, "%s/16", h->bridge_addr);
    tp_status st = RUN(h->log, err, "ip", "link", "add", h->bridge, "type", "bridge");
    if (st) return st;
    h->bridge_made = 1;
    if (!(st = RUN(h->log, err, "ip", "addr", "add", cidr, "dev", h->bridge)))
        st = RUN(h->log, err, "ip", "link", "set", h->bridge, "up");
    return st;
}

static tp_status make_host(tb_hosts *h, int k, tp_err *err) {
    tb_host *x = &h->hosts[k];
    char peer[TB_IF_MAX], cidr[TB_ADDR_MAX + 8], path[TB_NS_MAX + 16];
    snprintf(peer, sizeof peer, "tb%xh%d", h->tag, k);
    snprintf(cidr, sizeof cidr, "%s/16", x->addr);
    tp_status st = RUN(h->log, err, "ip", "netns", "add", x->ns);
    if (!st) st = RUN(h->log, err, "ip", "link", "add", peer, "type", "veth", "peer", "name", x->dev_br);
    if (!st) st = RUN(h->log, err, "ip", "link", "set", peer, "netns", x->ns);
    if (!st) st = RUN(h->log, err, "ip", "link", "set", x->dev_br, "master", h->bridge, "up");
    if (!st) st = RUN(h->log, err, "ip", "-n", x->ns, "link", "set", peer, "name", "eth0");
    if (!st) st = RUN(h->log, err, "ip", "-n", x->ns, "addr", "add", cidr, "dev", "eth0");
    if (!st) st = RUN(h->log, err, "ip", "-n", x->ns, "link", "set", "eth0", "up");
    if (!st) st = RUN(h->log, err, "ip", "-n", x->ns, "link", "set", "lo", "up");
    if (st) return tp_wrap(err, "making host %s", x->name);
    snprintf(path, sizeof path, NETNS_DIR "/%s", x->ns);
    if ((x->ns_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return tp_fail(err, TP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    x->link_up = 1;
    return TP_OK;
}

static void name_hosts(tb_hosts *h, const char *const *names) {
    for (int k = 0; k < h->n; k++) {
        tb_host *x = &h->hosts[k];
        snprintf(x->name, sizeof x->name, "%s", names[k]);
        snprintf(x->ns, sizeof x->ns, NS_PREFIX "%x-%s", h->tag, names[k]);
        snprintf(x->dev_br, sizeof x->dev_br, "tb%xb%d", h->tag, k);
        snprintf(x->addr, sizeof x->addr, "10.%d.%d.%d", h->octet, (k + 2) / 256, (k + 2) % 256);
        struct in_addr a;
        inet_pton(AF_INET, x->addr, &a);
        x->addr_be = a.s_addr;
        x->ns_fd = -1;
    }
}

tp_status tb_hosts_create(tb_hosts *h, const char *const *names, int n, const char *log, tp_err *err) {
    memset(h, 0, sizeof *h);
    tp_status st = tb_check_privilege(err);
    if (st || (st = check_names(names, n, err))) return st;
    snprintf(h->log, sizeof h->log, "%s", log ? log : "");
    tb_hosts_sweep(h->log);
    h->tag = (unsigned)getpid();
    snprintf(h->bridge, sizeof h->bridge, "tb%x-br", h->tag);
    if ((h->octet = free_octet((int)getpid(), err)) < 0) return err->code;
    snprintf(h->bridge_addr, sizeof h->bridge_addr, "10.%d.0.1", h->octet);
    if (!(h->hosts = calloc((size_t)n, sizeof *h->hosts))) return tp_fail(err, TP_ERR_NOMEM, "out of memory");
    h->n = n;
    name_hosts(h, names);
    st = make_bridge(h, err);
    for (int k = 0; !st && k < n; k++) st = make_host(h, k, err);
    if (st) tb_hosts_destroy(h);
    return st;
}

void tb_hosts_destroy(tb_hosts *h) {
    tp_err ignored;
    for (int k = 0; h->hosts && k < h->n; k++) {
        tb_host *x = &h->hosts[k];
        if (x->ns_fd >= 0) close(x->ns_fd);
        char path[TB_NS_MAX + 16];
        snprintf(path, sizeof path, NETNS_DIR "/%s", x->ns);
        if (access(path, F_OK) == 0) RUN(h->log, &ignored, "ip", "netns", "del", x->ns);
    }
    if (h->bridge_made) RUN(h->log, &ignored, "ip", "link", "del", h->bridge);
    free(h->hosts);
    memset(h, 0, sizeof *h);
}

tb_host *tb_host_find(const tb_hosts *h, const char *name) {
    for (int k = 0; k < h->n; k++)
        if (!strcmp(h->hosts[k].name, name)) return &h->hosts[k];
    return NULL;
}
