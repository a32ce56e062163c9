#include "net/subtensor_clock.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "substrate/storage_key.h"

static void time_key(int64_t block, uint8_t key[40]) {
    tp_twox128("Templar", 7, key);
    tp_twox128("LockstepTime", 12, key + 16);
    uint64_t b = (uint64_t)block;
    for (int i = 0; i < 8; i++) key[32 + i] = (uint8_t)(b >> (8 * i));
}

/* Chopsticks can fail to build a block (spec 218 right after genesis: "Timestamp slot must match
 * CurrentSlot") and answer as if it had; the head tells. */
#define BUILD_TRIES 5

tp_status tp_subtensor_build_block(tp_sub *c, tp_err *err) {
    int64_t head, now;
    uint8_t key[40], val[8];
    tp_status st = tp_sub_head_number(c, &head, err);
    if (st) return st;
    uint64_t ms = (uint64_t)(tp_wall_now() * 1000.0);
    for (int i = 0; i < 8; i++) val[i] = (uint8_t)(ms >> (8 * i));
    time_key(head + 1, key);
    if ((st = tp_sub_dev_set_raw(c, key, sizeof key, val, sizeof val, err))) return st;
    for (int t = 0; t < BUILD_TRIES; t++) {
        if ((st = tp_sub_dev_new_blocks(c, 1, err)) || (st = tp_sub_head_number(c, &now, err))) return st;
        if (now > head) return TP_OK;
    }
    return tp_fail(err, TP_ERR_IO, "the development chain failed to build block #%lld %d times (see its log)",
                   (long long)head + 1, BUILD_TRIES);
}

tp_status tp_subtensor_lockstep_time(tp_sub *c, int64_t block, double *ts, int *found, tp_err *err) {
    uint8_t key[40], *v = NULL;
    size_t n = 0;
    time_key(block, key);
    tp_status st = tp_sub_storage_raw(c, key, sizeof key, NULL, &v, &n, found, err);
    if (!st && *found && n != 8) st = tp_fail(err, TP_ERR_FORMAT, "block %lld's lockstep time is not 8 bytes", (long long)block);
    if (!st && *found) {
        uint64_t ms = 0;
        for (int i = 0; i < 8; i++) ms |= (uint64_t)v[i] << (8 * i);
        *ts = (double)ms / 1000.0;
    }
    free(v);
    return st;
}

tp_status tp_subtensor_wait_by_building(void *ctx, int64_t head, tp_err *err) {
    (void)head;
    return tp_subtensor_build_block(ctx, err);
}
