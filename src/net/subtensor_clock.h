/* Blocks on a development Subtensor (chopsticks, blocks built on request) stamped with real time.
 *
 * The runtime stamps each block one slot after its parent's timestamp and requires the slot to
 * advance, so a chain built faster than real time would run ahead of the wall clock, and uploads
 * judged against block timestamps would all look early. Before each block the builder therefore
 * moves the chain's clock to one slot before now (dev_timeTravel sets the timestamp and the slot
 * together): the block then carries the wall time it was built at, however fast blocks come. */
#ifndef TP_NET_SUBTENSOR_CLOCK_H
#define TP_NET_SUBTENSOR_CLOCK_H

#include "substrate/client.h"

/* Builds one block stamped now; retried when chopsticks fails to build it. */
tp_status tp_subtensor_build_block(tp_sub *c, tp_err *err);
/* A tp_sub_wait_fn for a development chain nobody else drives: builds the block (ctx: the tp_sub). */
tp_status tp_subtensor_wait_by_building(void *ctx, int64_t head, tp_err *err);

#endif
