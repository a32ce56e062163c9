/* Lower-case hexadecimal for keys, hashes and signatures. Parsing is strict (lower case only, exact
 * length), so a header field has exactly one valid spelling. */
#ifndef TP_CORE_HEX_H
#define TP_CORE_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2n hex digits and a NUL to out. */
void tp_hex(const uint8_t *b, size_t n, char *out);
/* Parses exactly 2n lower-case hex digits into b; 0 on success, -1 otherwise. */
int tp_unhex(const char *s, uint8_t *b, size_t n);

#endif
