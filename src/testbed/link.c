/* Link shaping with tc (tbf) and link state with ip. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "testbed/link.h"

#define MAX_DELAY_S 10.0
#define MIN_RATE_BPS 8e3
#define TBF_QUEUE "100ms"     /* how long a packet may wait in the bucket's queue before it is dropped */
#define TBF_MIN_BURST 16384.0 /* bytes: a few full-size packets */
#define TBF_BURST_S 0.004     /* the bucket holds 4 ms of the rate (a kernel tick at HZ 250) */

static int parse_scaled(const char *v, const char *const *units, const double *scale, int n_units, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || !isfinite(x) || x < 0) return -1;
    for (int i = 0; i < n_units; i++)
        if (!strcasecmp(end, units[i])) {
            *out = x * scale[i];
            return 0;
        }
    return -1;
}

static tp_status parse_part(const char *part, tb_link *l, tp_err *err) {
    static const char *const time_units[] = {"us", "ms", "s"};
    static const double time_scale[] = {1e-6, 1e-3, 1};
    static const char *const rate_units[] = {"bit", "kbit", "mbit", "gbit"};
    static const double rate_scale[] = {1, 1e3, 1e6, 1e9};
    if (!strncmp(part, "delay=", 6)) {
        double d;
        if (parse_scaled(part + 6, time_units, time_scale, 3, &d) || d > MAX_DELAY_S)
            return tp_fail(err, TP_ERR_ARG, "link '%s': a delay is a number with us, ms or s, at most 10 s", part);
        l->delay_s = d;
        return TP_OK;
    }
    if (!strcmp(part, "rate=unlimited")) {
        l->rate_bps = 0;
        return TP_OK;
    }
    if (!strncmp(part, "rate=", 5)) {
        double r;
        if (parse_scaled(part + 5, rate_units, rate_scale, 4, &r) || r < MIN_RATE_BPS)
            return tp_fail(err, TP_ERR_ARG, "link '%s': a rate is a number with bit, kbit, mbit or gbit (at least 8kbit), or unlimited",
                           part);
        l->rate_bps = r;
        return TP_OK;
    }
    return tp_fail(err, TP_ERR_ARG, "link '%s': expected delay=TIME or rate=RATE", part);
}

tp_status tb_link_parse(const char *spec, tb_link *l, tp_err *err) {
    char buf[256];
    if (!spec[0] || strlen(spec) >= sizeof buf) return tp_fail(err, TP_ERR_ARG, "link '%.64s': expected delay=TIME,rate=RATE", spec);
    snprintf(buf, sizeof buf, "%s", spec);
    tb_link parsed = *l;
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        tp_status st = parse_part(p, &parsed, err);
        if (st) return st;
    }
    *l = parsed;
    return TP_OK;
}

void tb_link_describe(const tb_link *l, char *out, size_t n) {
    if (l->rate_bps > 0) snprintf(out, n, "%g ms, %g Mbit/s", l->delay_s * 1e3, l->rate_bps / 1e6);
    else snprintf(out, n, "%g ms, unlimited", l->delay_s * 1e3);
}

/* tbf on dev, inside ns (NULL: the root namespace), or no qdisc when rate is 0. */
static tp_status shape_dev(const tb_hosts *h, const char *ns, const char *dev, double rate, tp_err *err) {
    char *argv[24];
    int a = 0;
    argv[a++] = "tc";
    if (ns) argv[a++] = "-n", argv[a++] = (char *)ns;
    argv[a++] = "qdisc";
    if (rate <= 0) {
        /* No qdisc of ours: deleting one that is not there fails, which is what we want anyway. */
        argv[a++] = "del", argv[a++] = "dev", argv[a++] = (char *)dev, argv[a++] = "root", argv[a] = NULL;
        tp_err ignored;
        tb_command(h->log, argv, &ignored);
        return TP_OK;
    }
    char rate_s[32], burst_s[32];
    double burst = rate / 8 * TBF_BURST_S;
    snprintf(rate_s, sizeof rate_s, "%.0fbit", rate);
    snprintf(burst_s, sizeof burst_s, "%.0f", burst > TBF_MIN_BURST ? burst : TBF_MIN_BURST);
    argv[a++] = "replace", argv[a++] = "dev", argv[a++] = (char *)dev, argv[a++] = "root", argv[a++] = "tbf";
    argv[a++] = "rate", argv[a++] = rate_s, argv[a++] = "burst", argv[a++] = burst_s;
    argv[a++] = "latency", argv[a++] = TBF_QUEUE, argv[a] = NULL;
    return tb_command(h->log, argv, err);
}

tp_status tb_link_shape(const tb_hosts *h, const tb_host *x, const tb_link *l, tp_err *err) {
    tp_status st = shape_dev(h, x->ns, "eth0", l->rate_bps, err);
    if (!st) st = shape_dev(h, NULL, x->dev_br, l->rate_bps, err);
    return st ? tp_wrap(err, "shaping the link of %s", x->name) : TP_OK;
}

tp_status tb_link_set_up(const tb_hosts *h, tb_host *x, int up, tp_err *err) {
    tp_status st = tb_command(h->log, (char *const[]){"ip", "link", "set", x->dev_br, up ? "up" : "down", NULL}, err);
    if (st) return tp_wrap(err, "taking the link of %s %s", x->name, up ? "up" : "down");
    x->link_up = up;
    return TP_OK;
}
