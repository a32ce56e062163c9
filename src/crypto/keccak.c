/* Keccak-f[1600]: 24 rounds of theta, rho, pi, chi and iota on 25 64-bit lanes. A plain loop
 * version: STROBE calls it once per 166 bytes of transcript, so speed hardly matters. */
#include "crypto/keccak.h"

#include <sodium.h>

static const uint64_t round_constants[24] = {
    0x0000000000000001ull, 0x0000000000008082ull, 0x800000000000808aull, 0x8000000080008000ull,
    0x000000000000808bull, 0x0000000080000001ull, 0x8000000080008081ull, 0x8000000000008009ull,
    0x000000000000008aull, 0x0000000000000088ull, 0x0000000080008009ull, 0x000000008000000aull,
    0x000000008000808bull, 0x800000000000008bull, 0x8000000000008089ull, 0x8000000000008003ull,
    0x8000000000008002ull, 0x8000000000000080ull, 0x000000000000800aull, 0x800000008000000aull,
    0x8000000080008081ull, 0x8000000000008080ull, 0x0000000080000001ull, 0x8000000080008008ull,
};

/* rho's rotation of lane x + 5y. */
static const unsigned rho_offsets[25] = {
    0,  1,  62, 28, 27, /* y = 0 */
    36, 44, 6,  55, 20, /* y = 1 */
    3,  10, 43, 25, 39, /* y = 2 */
    41, 45, 15, 21, 8,  /* y = 3 */
    18, 2,  61, 56, 14, /* y = 4 */
};

static uint64_t rotl(uint64_t v, unsigned n) { return (v << n) | (v >> ((64 - n) & 63)); }

static void keccak_round(uint64_t a[25], uint64_t rc) {
    uint64_t c[5], b[25];
    for (int x = 0; x < 5; x++) c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20];
    for (int x = 0; x < 5; x++) {
        uint64_t d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1);
        for (int y = 0; y < 25; y += 5) a[x + y] ^= d;
    }
    /* rho and pi: lane (x, y) moves to (y, 2x + 3y) */
    for (int x = 0; x < 5; x++)
        for (int y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rho_offsets[x + 5 * y]);
    for (int y = 0; y < 25; y += 5)
        for (int x = 0; x < 5; x++) a[x + y] = b[x + y] ^ (~b[(x + 1) % 5 + y] & b[(x + 2) % 5 + y]);
    a[0] ^= rc;
    sodium_memzero(b, sizeof b); /* a copy of the state: it may hold transcript secrets */
    sodium_memzero(c, sizeof c);
}

void tp_keccak_f1600(uint8_t state[TP_KECCAK_STATE_BYTES]) {
    uint64_t a[25];
    for (int i = 0; i < 25; i++) {
        uint64_t v = 0;
        for (int j = 7; j >= 0; j--) v = v << 8 | state[8 * i + j];
        a[i] = v;
    }
    for (int r = 0; r < 24; r++) keccak_round(a, round_constants[r]);
    for (int i = 0; i < 25; i++)
        for (int j = 0; j < 8; j++) state[8 * i + j] = (uint8_t)(a[i] >> (8 * j));
    sodium_memzero(a, sizeof a); /* the lanes may hold transcript secrets (a witness, a key) */
}
