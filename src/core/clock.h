#ifndef TP_CORE_CLOCK_H
#define TP_CORE_CLOCK_H
/* Monotonic seconds, for measuring durations. */
double tp_now(void);
/* Wall-clock seconds since the epoch. */
double tp_wall_now(void);
/* Sleeps this many seconds (none when <= 0), going on after a signal handler ran. */
void tp_sleep(double seconds);
#endif
