#include "core/progress.h"

#include <unistd.h>

#include "core/clock.h"

void tp_progress_start(tp_progress *p, const char *label, uint64_t total, FILE *out) {
    p->label = label;
    p->total = total;
    p->done = 0;
    p->t_start = p->t_last = tp_now();
    p->out = out;
    p->tty = isatty(fileno(out));
}

static void draw(tp_progress *p, int final) {
    double dt = tp_now() - p->t_start;
    double mbs = dt > 0 ? (double)p->done / 1e6 / dt : 0;
    char eta[32] = "?";
    if (p->total && p->done && !final) {
        double left = dt * (double)(p->total - (p->done < p->total ? p->done : p->total)) / (double)p->done;
        snprintf(eta, sizeof eta, "%dm%02ds", (int)left / 60, (int)left % 60);
    } else if (final) {
        snprintf(eta, sizeof eta, "done in %.1fs", dt);
    }
    double frac = p->total ? (double)p->done / (double)p->total : 0;
    if (frac > 1) frac = 1;
    char bar[31];
    int filled = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < filled ? '#' : '.';
    bar[30] = 0;
    fprintf(p->out, "%s%s [%s] %5.1f%% %8.1f MB %6.1f MB/s ETA %s%s", p->tty ? "\r" : "", p->label, bar,
            frac * 100, (double)p->done / 1e6, mbs, eta, p->tty && !final ? "\033[K" : "\n");
    fflush(p->out);
}

void tp_progress_update(tp_progress *p, uint64_t done) {
    p->done = done;
    double now = tp_now();
    if (now - p->t_last < (p->tty ? 0.1 : 5.0)) return;
    p->t_last = now;
    draw(p, 0);
}

void tp_progress_finish(tp_progress *p) { draw(p, 1); }
