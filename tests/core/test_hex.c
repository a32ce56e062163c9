#include <criterion/criterion.h>
#include <string.h>

#include "core/hex.h"

Test(hex, round_trip_and_strict_parsing) {
    uint8_t in[4] = {0x00, 0xab, 0x10, 0xff}, out[4];
    char hex[9];
    tp_hex(in, 4, hex);
    cr_assert_str_eq(hex, "00ab10ff");
    cr_assert_eq(tp_unhex(hex, out, 4), 0);
    cr_assert_eq(memcmp(in, out, 4), 0);
    cr_assert_neq(tp_unhex("00ab10f", out, 4), 0, "odd length");
    cr_assert_neq(tp_unhex("00ab10fg", out, 4), 0, "not a hex digit");
    cr_assert_neq(tp_unhex("00AB10FF", out, 4), 0, "upper case has another spelling of the same bytes");
}
