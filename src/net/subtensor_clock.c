#include "net/subtensor_clock.h"

#include "core/clock.h"

/* Chopsticks can fail to build a block (spec 218 right after genesis: "Timestamp slot must match
 * CurrentSlot") and answer as if it had; the head tells. */
#define BUILD_TRIES 5

tp_status tp_subtensor_build_block(tp_sub *c, tp_err *err) {
    int64_t head, now;
    tp_status st = tp_sub_head_number(c, &head, err);
    for (int t = 0; !st && t < BUILD_TRIES; t++) {
        double slot_s = (double)tp_sub_block_time_ms(c) / 1000.0;
        if ((st = tp_sub_dev_time_travel(c, tp_wall_now() - slot_s, err)) || (st = tp_sub_dev_new_blocks(c, 1, err)) ||
            (st = tp_sub_head_number(c, &now, err)))
            return st;
        if (now > head) return TP_OK;
    }
    return st ? st
              : tp_fail(err, TP_ERR_IO, "the development chain failed to build block #%lld %d times (see its log)",
                        (long long)head + 1, BUILD_TRIES);
}

tp_status tp_subtensor_wait_by_building(void *ctx, int64_t head, tp_err *err) {
    (void)head;
    return tp_subtensor_build_block(ctx, err);
}
