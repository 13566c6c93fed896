/* crc32.c — zlib-compatible CRC-32 (IEEE 802.3, reflected 0xEDB88320), slicing-by-8. */
#include <pthread.h>
#include "ifg_internal.h"

#define CRC32_POLY 0xEDB88320u

/* table[k][b]: the CRC register after byte b followed by k zero bytes (the register starting at 0). */
static uint32_t (*crc32_storage(void))[256] {
    static uint32_t table[8][256];
    return table;
}

static void crc32_fill(void) {
    uint32_t (*table)[256] = crc32_storage();
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int bit = 0; bit < 8; bit++) c = (c >> 1) ^ (CRC32_POLY & (0u - (c & 1u)));
        table[0][b] = c;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t b = 0; b < 256; b++) table[k][b] = (table[k - 1][b] >> 8) ^ table[0][table[k - 1][b] & 0xFF];
}

/* The tables, generated once (deterministically) on first use. */
static const uint32_t (*crc32_tables(void))[256] {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc32_fill);
    return (const uint32_t (*)[256])crc32_storage();
}

uint32_t ifg_crc32(uint32_t crc, const void *data, size_t n) {
    const uint32_t (*t)[256] = crc32_tables();
    const uint8_t *p = data;
    crc = ~crc;
    for (; n >= 8; p += 8, n -= 8) {
        uint32_t lo = crc ^ ifg_get_u32(p), hi = ifg_get_u32(p + 4);
        crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
              t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    }
    for (; n > 0; p++, n--) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xFF];
    return ~crc;
}
