#include <criterion/criterion.h>
#include <string.h>

#include "export/bytelevel.h"

/* The table GPT-2's encoder.py builds: printable bytes for themselves, the 68 others from U+0100. */
Test(bytelevel, matches_gpt2_table) {
    cr_assert_eq(tp_bytelevel_codepoint('A'), 'A');
    cr_assert_eq(tp_bytelevel_codepoint(0x00), 0x100);
    cr_assert_eq(tp_bytelevel_codepoint(' '), 0x120); /* "Ġ" */
    cr_assert_eq(tp_bytelevel_codepoint('\n'), 0x10A); /* "Ċ" */
    cr_assert_eq(tp_bytelevel_codepoint(0x7F), 0x121);
    cr_assert_eq(tp_bytelevel_codepoint(0xAD), 0x143);
    cr_assert_eq(tp_bytelevel_codepoint(0xFF), 0xFF);
    int seen[0x200] = {0};
    for (int b = 0; b < 256; b++) {
        uint32_t cp = tp_bytelevel_codepoint((uint8_t)b);
        cr_assert(cp < 0x144, "byte %d maps past the table", b);
        cr_assert(!seen[cp]++, "two bytes map to U+%04X", cp);
    }
}

Test(bytelevel, spells_in_utf8) {
    char out[16];
    size_t n = tp_bytelevel_spell((const uint8_t *)" hi\n", 4, out);
    cr_assert_eq(n, 6);
    cr_assert_str_eq(out, "\xC4\xA0hi\xC4\x8A"); /* "Ġhi" + "Ċ" */
}
