/* Timestamped log lines on stderr. The caller owns the verbosity; nothing here is global. */
#ifndef TP_CORE_LOG_H
#define TP_CORE_LOG_H
#include <stdio.h>
void tp_log(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif
