/* libFuzzer target for the .npy parser: any accepted input must describe data that lies entirely
 * inside the buffer, which reading every element byte lets ASan check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy of exactly `size` bytes, so a read one past the end is caught. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    tp_npy n;
    tp_err err;
    if (tp_npy_parse(buf, size, &n, &err) == TP_OK) {
        size_t nbytes = (size_t)n.count * tp_dtype_size(n.dtype);
        if (n.ndim < 0 || n.ndim > TP_NPY_MAX_DIMS || n.header_len + nbytes != size || n.data != buf + n.header_len)
            abort();
        int64_t c = 1;
        for (int i = 0; i < n.ndim; i++) c *= n.shape[i];
        if (c != n.count) abort();
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < nbytes; i++) sink ^= n.data[i];
        (void)sink;
    } else if (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM) {
        abort(); /* malformed input is always a format error, never anything else */
    }
    free(buf);
    return 0;
}
