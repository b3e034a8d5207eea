/* SHA-256 (FIPS 180-4), streaming; used to verify every blob and to compute
 * chain ids.  Self-contained so no crypto library is needed. */
#ifndef BERTH_LIB_SHA256_H
#define BERTH_LIB_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL into hex[65]. */
void sha256_final_hex(struct sha256 *s, char hex[65]);
void sha256_hex(const void *data, size_t len, char hex[65]);
/* Hash a file's content; returns -1 with errno set on failure. */
int sha256_file_hex(const char *path, char hex[65], uint64_t *ret_size);

/* Use the portable code even where the CPU has SHA extensions (tests). */
void sha256_force_generic(bool generic);

#endif
