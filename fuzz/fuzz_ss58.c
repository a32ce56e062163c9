/* libFuzzer target for SS58 addresses (tp_ss58_decode): addresses come from users, configs and
 * other nodes. An accepted address must encode back to exactly the same text; and any prefix and
 * account taken from the input must encode to an address that decodes back to them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/ss58.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 256) return 0;
    char *s = malloc(size + 1); /* exactly the input and its NUL: a read past it is caught */
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    uint8_t account[32];
    uint16_t prefix;
    tp_err err;
    char back[TP_SS58_MAX];
    if (tp_ss58_decode(s, account, &prefix, &err) == TP_OK) {
        if (tp_ss58_encode(prefix, account, back, &err) != TP_OK || strcmp(back, s)) abort();
    } else if (err.code != TP_ERR_FORMAT && err.code != TP_ERR_INTERNAL) {
        abort();
    }
    if (size >= 34) { /* the other way: bytes to an address and back */
        uint16_t p = (uint16_t)((data[0] | data[1] << 8) % 16384);
        if (tp_ss58_encode(p, data + 2, back, &err) == TP_OK) {
            uint8_t a[32];
            uint16_t q;
            if (p == 46 || p == 47) abort();
            if (tp_ss58_decode(back, a, &q, &err) != TP_OK || q != p || memcmp(a, data + 2, 32)) abort();
            if (strlen(back) >= TP_SS58_MAX) abort();
        } else if (p != 46 && p != 47) {
            abort();
        }
    }
    free(s);
    return 0;
}
