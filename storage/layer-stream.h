/* Private to storage/unpack.c and storage/pack.c: the layer stream
 * reader that hashes the decompressed bytes while the tar parser reads
 * them (one pass gives the diff id), and helpers both directions share. */
#ifndef BERTH_STORAGE_LAYER_STREAM_H
#define BERTH_STORAGE_LAYER_STREAM_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "lib/cleanup.h"
#include "lib/error.h"
#include "lib/sha256.h"

#define LAYER_BLOCK (128 * 1024)
#define OPAQUE_NAME ".wh..wh..opq"
#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."

static inline void layer_readp(struct archive **a)
{
    if (*a)
        archive_read_free(*a);
}
static inline void layer_entryp(struct archive_entry **e)
{
    if (*e)
        archive_entry_free(*e);
}
#define _cleanup_aread_ _cleanup_(layer_readp)
#define _cleanup_aentry_ _cleanup_(layer_entryp)

struct layer_tee {
    struct archive *outer;
    struct sha256 hash;
    char *error; /* outer's message, which the inner archive would lose */
    int fd;
    bool eof;
};

/* Open `path` (gzip, zstd or plain); t zeroed but for fd = -1. */
int layer_tee_open(const char *path, struct layer_tee *t, berth_error_t *err);
/* archive_read_open callback: the next decompressed block, hashed. */
la_ssize_t layer_tee_read(struct archive *a, void *data, const void **buf);
/* Hash whatever follows the tar end-of-archive blocks. */
int layer_tee_drain(struct layer_tee *t);
const char *layer_tee_error(struct layer_tee *t, struct archive *inner);
void layer_tee_done(struct layer_tee *t);
/* "sha256:<hex>" of a finished hash. */
char *layer_digest_of(struct sha256 *h);
/* write/pwrite (off >= 0) everything, retrying on EINTR. */
int layer_write_full(int fd, const void *buf, size_t len, off_t off);
bool layer_is_whiteout(const struct stat *st);
bool layer_is_overlay_xattr(const char *name);

#endif
