/* A progress bar on stderr for long work: fraction done, MB/s and ETA. Redraws at most 10×/s; on a
 * non-terminal it prints a plain line every few seconds instead. */
#ifndef TP_CORE_PROGRESS_H
#define TP_CORE_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *label;
    uint64_t total;    /* bytes; 0 if unknown */
    uint64_t done;
    double t_start, t_last;
    int tty;
    FILE *out;
} tp_progress;

void tp_progress_start(tp_progress *p, const char *label, uint64_t total, FILE *out);
void tp_progress_update(tp_progress *p, uint64_t done);
void tp_progress_finish(tp_progress *p);

#endif
