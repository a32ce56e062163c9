#ifndef TP_CORE_CLOCK_H
#define TP_CORE_CLOCK_H
/* Monotonic seconds, for measuring durations. */
double tp_now(void);
/* Wall-clock seconds since the epoch. */
double tp_wall_now(void);
#endif
