/* The lockstep clock on a development Subtensor (chopsticks, blocks built on request).
 *
 * The runtime stamps each block at least one slot (12 s) after its parent, so a chain built faster
 * than real time runs ahead of the wall clock, and uploads judged against block timestamps would
 * all look early. In lockstep the process that builds a block therefore records the wall time it
 * built it at, in chain state under a key no pallet uses (twox128("Templar") ++
 * twox128("LockstepTime") ++ block as u64 LE → milliseconds as u64 LE), before building it: every
 * process that sees the block can read its time, as with the local ledger's lockstep clock. */
#ifndef TP_NET_SUBTENSOR_CLOCK_H
#define TP_NET_SUBTENSOR_CLOCK_H

#include "substrate/client.h"

/* Records the wall time for the next block, then builds it. */
tp_status tp_subtensor_build_block(tp_sub *c, tp_err *err);
/* The recorded wall time (seconds) of block; *found 0 when none was recorded (a block built by
 * another client). */
tp_status tp_subtensor_lockstep_time(tp_sub *c, int64_t block, double *ts, int *found, tp_err *err);
/* A tp_sub_wait_fn for a development chain nobody else drives: builds the block (ctx: the tp_sub). */
tp_status tp_subtensor_wait_by_building(void *ctx, int64_t head, tp_err *err);

#endif
