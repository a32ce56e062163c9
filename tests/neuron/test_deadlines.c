/* Deadlines from link speeds: the put window and gather timeout grow with the payload and shrink with
 * the rate, never below the config's own, and the stated minimum link is exactly what they allow. */
#include <criterion/criterion.h>
#include <math.h>

#include "neuron/deadlines.h"

Test(deadlines, from_links) {
    tp_protocol p;
    tp_protocol_default(&p);
    tp_deadlines d;
    /* A fast link and a small payload: the config's own deadlines stand. */
    tp_deadlines_from_link(&p, &(tp_link_speed){100e6, 100e6, 0.08}, 120000, 3, 12.0, &d);
    cr_assert_eq(d.put_window_blocks, p.put_window_blocks);
    cr_assert_float_eq(d.gather_timeout_s, p.gather_timeout_s, 1e-12);
    /* The minimum link fills the put window exactly, without the margin. */
    double put_s = p.put_window_blocks * 12.0, latency = 4 * 0.08;
    cr_assert_float_eq(d.min_up_bps, 8.0 * 120000 / (put_s - latency), 1e-6);
    cr_assert_float_eq(d.min_down_bps, 8.0 * 3 * 120000 / (p.gather_timeout_s - latency), 1e-6);
    /* A 150M-sized update on 20 Mbit/s with 1 s blocks: 2 × (8 × 3.7 MB / 20 Mbit/s + 4 RTT) = 3.6 s of
     * put window, 4 blocks; 8 peers' updates take 2 × (11.8 + 0.32) s to gather. */
    tp_deadlines_from_link(&p, &(tp_link_speed){20e6, 20e6, 0.08}, 3700000, 8, 1.0, &d);
    cr_assert_eq(d.put_window_blocks, (int)ceil(2 * (8.0 * 3700000 / 20e6 + latency)));
    cr_assert_float_eq(d.gather_timeout_s, 2 * (8.0 * 8 * 3700000 / 20e6 + latency), 1e-9);
    cr_assert(d.min_up_bps < 20e6 && d.min_down_bps < 20e6, "the measured link meets its own deadlines");
    /* Twice the payload never shortens a deadline. */
    tp_deadlines twice;
    tp_deadlines_from_link(&p, &(tp_link_speed){20e6, 20e6, 0.08}, 7400000, 8, 1.0, &twice);
    cr_assert_geq(twice.put_window_blocks, d.put_window_blocks);
    cr_assert_geq(twice.gather_timeout_s, d.gather_timeout_s);
}
