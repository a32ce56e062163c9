/* Testbed hosts and links: network namespaces on a bridge (root), rate limits that hold when
 * measured, partitions, cleanup; link specs and the privilege check (any user). */
#include <criterion/criterion.h>
#include <math.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testbed/host_proc.h"
#include "testbed/hosts.h"
#include "testbed/link.h"
#include "testbed/probe.h"

#define PROBE_PORT 4700

static void need_root(void) {
    if (geteuid() != 0) cr_skip_test("network namespaces need root (CI runs as root)");
}

Test(testbed, link_specs) {
    tb_link l = {0, 0};
    tp_err err = {0};
    cr_assert_eq(tb_link_parse("delay=40ms,rate=100mbit", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_float_eq(l.delay_s, 0.040, 1e-12);
    cr_assert_float_eq(l.rate_bps, 100e6, 1e-3);
    cr_assert_eq(tb_link_parse("rate=20Mbit", &l, &err), TP_OK, "%s", err.msg);
    cr_assert_float_eq(l.delay_s, 0.040, 1e-12, "a part left out keeps its value");
    cr_assert_float_eq(l.rate_bps, 20e6, 1e-3);
    cr_assert_eq(tb_link_parse("delay=1.5s", &l, &err), TP_OK);
    cr_assert_float_eq(l.delay_s, 1.5, 1e-12);
    const char *bad[] = {"", "delay=40", "delay=-1ms", "delay=11s", "rate=100", "rate=1kbit", "loss=1%", "rate=x",
                         "delay=40ms,rate=x", "delay=nanms"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tb_link before = l;
        cr_assert_neq(tb_link_parse(bad[i], &l, &err), TP_OK, "'%s' accepted", bad[i]);
        cr_assert(strstr(err.msg, "link"), "'%s': %s", bad[i], err.msg);
        cr_assert(!memcmp(&before, &l, sizeof l), "'%s': a refused spec changed the link", bad[i]);
    }
    char text[64];
    tb_link_describe(&(tb_link){0.04, 100e6}, text, sizeof text);
    cr_assert_str_eq(text, "40 ms, 100 Mbit/s");
}

Test(testbed, needs_root) {
    pid_t p = fork();
    if (p == 0) {
        /* An ordinary user (nobody) is told what is needed. */
        if (geteuid() == 0 && setuid(65534) != 0) _exit(3);
        tp_err err = {0};
        _exit(tb_check_privilege(&err) == TP_ERR_CONFIG && strstr(err.msg, "root") && !err.retryable ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(p, &status, 0), p);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
}

static int ns_count(unsigned tag) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "templar-%x-", tag);
    DIR *d = opendir("/run/netns");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) n += !strncmp(e->d_name, prefix, strlen(prefix));
    if (d) closedir(d);
    return n;
}

typedef struct {
    const char *addr;
    size_t bytes;
    double timeout_s;
} probe_args;

static tp_status run_probe(void *ctx, void *out, size_t out_len, tp_err *err) {
    (void)out_len;
    const probe_args *a = ctx;
    return tb_probe_measure(a->addr, PROBE_PORT, a->bytes, 3, a->timeout_s, out, err);
}

Test(testbed, hosts_links_partitions, .timeout = 120) {
    need_root();
    tb_hosts h;
    tp_err err = {0};
    const char *names[] = {"alpha", "beta"};
    cr_assert_eq(tb_hosts_create(&h, names, 2, NULL, &err), TP_OK, "%s", err.msg);
    unsigned tag = h.tag;
    cr_assert_eq(ns_count(tag), 2);
    tb_host *a = tb_host_find(&h, "alpha"), *b = tb_host_find(&h, "beta");
    cr_assert(a && b && !tb_host_find(&h, "gamma"));
    cr_assert_str_neq(a->addr, b->addr);
    pid_t server = 0;
    cr_assert_eq(tb_host_serve(b, b->addr, PROBE_PORT, tb_probe_serve_forever, NULL, &server, &err), TP_OK, "%s", err.msg);
    probe_args args = {b->addr, (size_t)2 << 20, 60};
    tb_probe_result r, free_link;
    /* What this machine carries right now without shaping: a busy machine's probe is slower, and the
     * shaped link can only be asked to come near the lesser of the two. */
    cr_assert_eq(tb_host_call(a, run_probe, &args, &free_link, sizeof free_link, 90, &err), TP_OK, "%s", err.msg);
    /* beta's link: 20 Mbit/s each way, measured from alpha (no limit of its own). */
    cr_assert_eq(tb_link_shape(&h, b, &(tb_link){0, 20e6}, &err), TP_OK, "%s", err.msg);
    cr_assert_eq(tb_host_call(a, run_probe, &args, &r, sizeof r, 90, &err), TP_OK, "%s", err.msg);
    cr_log_info("20 Mbit/s link: up %.2f Mbit/s, down %.2f Mbit/s, rtt %.2f ms (unshaped: up %.2f, down %.2f)",
                r.up_bps / 1e6, r.down_bps / 1e6, r.rtt_s * 1e3, free_link.up_bps / 1e6, free_link.down_bps / 1e6);
    for (int d = 0; d < 2; d++) {
        double got = d ? r.down_bps : r.up_bps, unshaped = d ? free_link.down_bps : free_link.up_bps;
        double floor = fmin(10e6, 0.5 * unshaped);
        cr_assert(got <= 20e6 * 1.02 && got >= floor, "%s %.2f Mbit/s on a 20 Mbit/s link (unshaped %.2f)",
                  d ? "down" : "up", got / 1e6, unshaped / 1e6);
    }
    /* A partition: nothing gets through, and everything does again once the link is back. */
    cr_assert_eq(tb_link_set_up(&h, b, 0, &err), TP_OK, "%s", err.msg);
    args.bytes = 1 << 16;
    args.timeout_s = 2;
    cr_assert_neq(tb_host_call(a, run_probe, &args, &r, sizeof r, 30, &err), TP_OK, "a partitioned host answered");
    cr_assert(err.retryable, "%s", err.msg);
    cr_assert_eq(tb_link_set_up(&h, b, 1, &err), TP_OK, "%s", err.msg);
    args.timeout_s = 30;
    cr_assert_eq(tb_host_call(a, run_probe, &args, &r, sizeof r, 60, &err), TP_OK, "after the partition: %s", err.msg);
    /* Hosts are separate: beta's service is on beta's address only, not on anyone's loopback. */
    cr_assert(!tb_host_port_open(a, PROBE_PORT) && !tb_host_port_open(b, PROBE_PORT));
    tb_server_stop(&server);
    tb_hosts_destroy(&h);
    cr_assert_eq(ns_count(tag), 0, "namespaces left behind");
}

Test(testbed, bad_host_names) {
    need_root();
    tb_hosts h;
    tp_err err = {0};
    const char *dup[] = {"a", "a"}, *bad[] = {"no/slash"};
    cr_assert_eq(tb_hosts_create(&h, dup, 2, NULL, &err), TP_ERR_ARG);
    cr_assert(strstr(err.msg, "twice"), "%s", err.msg);
    cr_assert_eq(tb_hosts_create(&h, bad, 1, NULL, &err), TP_ERR_ARG);
    cr_assert(strstr(err.msg, "no/slash"), "%s", err.msg);
}
