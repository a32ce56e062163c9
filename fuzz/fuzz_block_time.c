/* libFuzzer target for a block body's Timestamp.set (tp_sub_timestamp_set): extrinsics come from an
 * RPC node. Whatever the bytes, the parser answers without reading past them; an accepted
 * Timestamp.set re-encodes to exactly the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "substrate/client.h"
#include "substrate/scale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2 || size > 4096) return 0;
    uint8_t pallet = data[0], call = data[1];
    size_t n = size - 2;
    uint8_t *b = malloc(n ? n : 1); /* exactly the input: a read past it is caught */
    if (!b) return 0;
    memcpy(b, data + 2, n);
    int is = 0;
    uint64_t ms = 0;
    tp_err err;
    tp_status st = tp_sub_timestamp_set(b, n, pallet, call, &is, &ms, &err);
    if (st && err.code != TP_ERR_FORMAT) abort();
    if (!st && is) {
        tp_scale_buf body, whole;
        tp_scale_buf_init(&body);
        tp_scale_buf_init(&whole);
        uint8_t head[3] = {0x04, pallet, call};
        tp_scale_put_bytes(&body, head, 3);
        tp_scale_put_compact(&body, ms);
        tp_scale_put_compact(&whole, body.len);
        tp_scale_put_bytes(&whole, body.data, body.len);
        /* Compact encodings are canonical, so the input is the only encoding of what it says. */
        if (whole.failed || whole.len != n || memcmp(whole.data, b, n)) abort();
        tp_scale_buf_free(&body);
        tp_scale_buf_free(&whole);
    }
    free(b);
    return 0;
}
