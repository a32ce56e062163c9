/* libFuzzer target for the safetensors parser: any accepted input must give tensors that lie inside
 * the data section, tile it exactly, and metadata that is string -> string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    if (size) memcpy(buf, data, size);
    tp_st st;
    tp_err err;
    if (tp_st_parse(buf, size, 64, &st, &err) == TP_OK) {
        if (st.n < 0 || st.n > 64 || st.data + st.data_len != buf + size) abort();
        volatile uint8_t sink = 0;
        const uint8_t *pos = st.data;
        for (int i = 0; i < st.n; i++) {
            const tp_st_tensor *t = &st.tensors[i];
            if (t->data != pos || t->nbytes != (size_t)t->count * tp_dtype_size(t->dtype)) abort();
            if (t->ndim < 0 || t->ndim > TP_ST_MAX_DIMS) abort();
            for (size_t j = 0; j < t->nbytes; j++) sink ^= t->data[j];
            pos += t->nbytes;
            if (tp_st_find(&st, t->name) == NULL) abort();
            sink ^= (uint8_t)strlen(t->name);
        }
        if (pos != st.data + st.data_len) abort();
        if (st.metadata) {
            const char *k;
            json_t *v;
            json_object_foreach(st.metadata, k, v) {
                const char *s = tp_st_meta(&st, k);
                if (!s) abort();
                sink ^= (uint8_t)(strlen(k) + strlen(s));
            }
        }
        (void)sink;
        tp_st_free(&st);
    } else if (err.code != TP_ERR_FORMAT && err.code != TP_ERR_NOMEM) {
        abort();
    }
    free(buf);
    return 0;
}
