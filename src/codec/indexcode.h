/* Byte streams of the wire format (DESIGN §8): index codings and code packing. Decoders take
 * hostile bytes: they never read outside [in, in + len) and report what is wrong.
 *
 * 12bit: positions in pairs, three bytes per pair, exactly the reference's packing
 *   b0 = p0 & 0xff, b1 = (p0 >> 8 & 0x0f) | (p1 & 0x0f) << 4, b2 = p1 >> 4 & 0xff;
 *   an odd count is padded with a zero position.
 * rice (compact default): byte 0 is the Rice parameter r (0..15); then, block after block, each
 *   position as its gap to the previous one in the block (the first: its own value; later ones:
 *   p[j] - p[j-1] - 1), as q = gap >> r zero bits, a one bit, and the low r bits of the gap, least
 *   significant first. Bits fill bytes from the least significant bit; the last byte is padded
 *   with zero bits. Gaps cannot express unsorted or repeated positions. The encoder picks the r
 *   that minimises the length (ties: the smaller r), so the stream is a function of the positions.
 * codes: 2 bits per code for up to 4 bins (4 per byte), 4 bits for up to 16 (2 per byte), code j
 *   at bit (j * bits) % 8 of byte (j * bits) / 8; padding bits zero. */
#ifndef TP_CODEC_INDEXCODE_H
#define TP_CODEC_INDEXCODE_H

#include <stddef.h>
#include <stdint.h>

/* ---- 12bit ---- */
size_t tp_pack12_bytes(int64_t count);
void tp_pack12(const uint16_t *pos, int64_t count, uint8_t *out); /* positions < 4096 */
/* Needs len == tp_pack12_bytes(count); returns 0, or -1 if the padding position is not zero. */
int tp_unpack12(const uint8_t *in, size_t len, int64_t count, uint16_t *out);

/* ---- rice ---- */
#define TP_RICE_MAX_R 15
/* Exact stream length for parameter r; -1 if some block is not strictly increasing. */
int64_t tp_rice_bytes(const uint16_t *pos, int64_t nblocks, int64_t k, int r);
/* The parameter the encoder uses (minimal length, smallest r on ties) and, in *bytes, the stream
 * length it gives. Positions must be strictly increasing inside each block. */
int tp_rice_choose(const uint16_t *pos, int64_t nblocks, int64_t k, size_t *bytes);
/* Upper bound of the encoder's output for any valid positions of nblocks blocks of k out of totalk. */
size_t tp_rice_max_bytes(int64_t nblocks, int64_t k, int64_t totalk);
/* Writes the stream (tp_rice_bytes(..., r) bytes) to out. Returns the length, or 0 if positions
 * are not strictly increasing inside a block or do not fit cap. */
size_t tp_rice_encode(const uint16_t *pos, int64_t nblocks, int64_t k, int r, uint8_t *out, size_t cap);

typedef enum {
    TP_RICE_OK = 0,
    TP_RICE_BAD_PARAM,  /* stream empty or r > 15 */
    TP_RICE_SHORT,      /* the stream ends before nblocks * k positions */
    TP_RICE_RANGE,      /* a position is >= totalk */
    TP_RICE_TRAILING,   /* bytes (or non-zero padding bits) after the last position */
} tp_rice_status;

typedef struct {
    tp_rice_status status;
    int64_t block;   /* where it went wrong */
    int64_t entry;   /* position inside the block */
    uint64_t value;  /* the out-of-range position, or the trailing byte count */
} tp_rice_result;

tp_rice_result tp_rice_decode(const uint8_t *in, size_t len, int64_t nblocks, int64_t k, int64_t totalk,
                              uint16_t *out);

/* ---- codes ---- */
size_t tp_codes_bytes(int64_t count, int bits);
void tp_codes_pack(const uint8_t *codes, int64_t count, int bits, uint8_t *out);
/* Needs len == tp_codes_bytes(count, bits). Returns -1 (and *bad_at) at the first code >= bins, or
 * -2 if padding bits are set; 0 if all is well. */
int tp_codes_unpack(const uint8_t *in, int64_t count, int bits, int bins, uint8_t *out, int64_t *bad_at);

#endif
