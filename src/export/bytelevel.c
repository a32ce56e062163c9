/* GPT-2's bytes_to_unicode table, computed rather than listed. */
#include "export/bytelevel.h"

static int stands_for_itself(uint8_t b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b != 0xAD); }

uint32_t tp_bytelevel_codepoint(uint8_t b) {
    if (stands_for_itself(b)) return b;
    uint32_t below = 0; /* the other bytes are numbered from U+0100 in byte order */
    for (unsigned c = 0; c < b; c++) below += !stands_for_itself((uint8_t)c);
    return 256 + below;
}

size_t tp_bytelevel_spell(const uint8_t *bytes, size_t n, char *out) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = tp_bytelevel_codepoint(bytes[i]);
        if (cp < 0x80) {
            out[len++] = (char)cp;
        } else {
            out[len++] = (char)(0xC0 | (cp >> 6));
            out[len++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    out[len] = '\0';
    return len;
}
