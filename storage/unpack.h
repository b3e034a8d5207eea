/* Layer unpacking with libarchive: a (gzip, zstd or plain) tar stream into
 * a layer directory, turning OCI whiteouts into overlay ones:
 *   ".wh.NAME"      -> character device 0:0 named NAME
 *   ".wh..wh..opq"  -> the directory gets the opaque xattr
 *                      ("trusted.overlay.opaque"="y" as real root, and
 *                       "user.overlay.opaque"="y" always, for overlay's
 *                       userxattr mounts in a user namespace)
 * Owners, modes (setuid included), mtimes, xattrs, hard links and symlinks
 * are kept.  No entry may write outside the layer: absolute paths and ".."
 * components are refused, and so is any entry whose parent path crosses a
 * symlink, whether the symlink was planted earlier in this layer or exists
 * in a lower layer; the error names the entry. */
#ifndef BERTH_STORAGE_UNPACK_H
#define BERTH_STORAGE_UNPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/error.h"

struct unpack_opts {
    /* Lower layer diff directories, top-most first, NULL-terminated; used
     * to refuse writes through symlinks of lower layers. May be NULL. */
    char *const *lowers;
    /* chown entries to their owners (true when root, real or in a user
     * namespace with a full mapping).  When false, owners are ignored. */
    bool chown;
    /* Ids with no mapping (single-id user namespaces) are squashed to 0
     * instead of failing. */
    bool squash_unmapped;
};

/* Unpack the tar stream in file `path` (compression detected) into
 * directory `dest` (must exist, empty).  ret_diff_digest receives
 * "sha256:<hex>" of the uncompressed stream (the layer's diff id) and
 * ret_size the sum of entry sizes; either may be NULL. */
int layer_unpack(const char *path, const char *dest,
                 const struct unpack_opts *opts, char **ret_diff_digest,
                 int64_t *ret_size, berth_error_t *err);

/* Pack directory `src` into a gzip-compressed tar at `dest`, the reverse
 * of layer_unpack (overlay whiteouts back to .wh. files).  Returns the
 * compressed digest, the uncompressed diff id and the compressed size. */
int layer_pack(const char *src, const char *dest, char **ret_digest,
               char **ret_diff_id, int64_t *ret_size, berth_error_t *err);

/* Compress an uncompressed tar stream file with gzip into dest, computing
 * both digests (used by import). Input may already be gzip/zstd/plain:
 * it is decompressed first to compute the diff id. */
int layer_recompress(const char *src, const char *dest, char **ret_digest,
                     char **ret_diff_id, int64_t *ret_size,
                     berth_error_t *err);

#endif
