#define _GNU_SOURCE
#include "storage/layer-stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/xalloc.h"

int layer_write_full(int fd, const void *buf, size_t len, off_t off)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        if (off >= 0)
            off += n;
    }
    return 0;
}

bool layer_is_whiteout(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/* Overlay's own xattrs are never taken from a tar (a layer could otherwise
 * plant redirects or metacopy origins) nor written into one. */
bool layer_is_overlay_xattr(const char *name)
{
    return str_has_prefix(name, "trusted.overlay.") ||
           str_has_prefix(name, "user.overlay.");
}

/* ---- reading the layer stream --------------------------------------- */

/* The decompressed stream is read once: an outer archive in "raw" format
 * undoes gzip/zstd, and its blocks are hashed as they are handed to the
 * inner tar parser, so the diff id costs no second pass. */

la_ssize_t layer_tee_read(struct archive *a, void *data, const void **buf)
{
    struct layer_tee *t = data;
    size_t size = 0;
    la_int64_t off;

    while (!t->eof) {
        int r = archive_read_data_block(t->outer, buf, &size, &off);
        if (r == ARCHIVE_EOF) {
            t->eof = true;
            break;
        }
        if (r < ARCHIVE_WARN) {
            const char *m = archive_error_string(t->outer);
            free(t->error);
            t->error = xstrdup(m ? m : "read error");
            if (a)
                archive_set_error(a, EIO, "%s", t->error);
            return -1;
        }
        if (size > 0) {
            sha256_update(&t->hash, *buf, size);
            return (la_ssize_t)size;
        }
    }
    return 0;
}

/* Read whatever follows the tar end-of-archive blocks: it is part of the
 * stream the diff id covers. */
int layer_tee_drain(struct layer_tee *t)
{
    const void *buf;
    while (layer_tee_read(NULL, t, &buf) > 0)
        ;
    return t->error ? -1 : 0;
}

const char *layer_tee_error(struct layer_tee *t, struct archive *inner)
{
    if (t && t->error)
        return t->error;
    const char *m = inner ? archive_error_string(inner) : NULL;
    return m ? m : "unknown archive error";
}

void layer_tee_done(struct layer_tee *t)
{
    if (t->outer)
        archive_read_free(t->outer);
    if (t->fd >= 0)
        close(t->fd);
    free(t->error);
}

/* Open `path` for layer_tee_read; t must be zeroed but for fd = -1.  The file is
 * opened here, not by libarchive, whose message would lose the errno. */
int layer_tee_open(const char *path, struct layer_tee *t,
                       berth_error_t *err)
{
    _cleanup_aread_ struct archive *a = archive_read_new();
    struct archive_entry *e;
    int r;

    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0)
        return berth_error_new(err, errno, "open");

    archive_read_support_filter_gzip(a);
    archive_read_support_filter_zstd(a);
    archive_read_support_filter_none(a);
    archive_read_support_format_raw(a);
    /* an empty stream is an empty layer, as Go's tar reader sees it */
    archive_read_support_format_empty(a);
    sha256_init(&t->hash);
    if (archive_read_open_fd(a, t->fd, LAYER_BLOCK) != ARCHIVE_OK ||
        (r = archive_read_next_header(a, &e)) < ARCHIVE_WARN)
        return berth_error_new(err, 0, "%s", layer_tee_error(NULL, a));
    t->eof = r == ARCHIVE_EOF;
    t->outer = TAKE_PTR(a);
    return 0;
}

char *layer_digest_of(struct sha256 *h)
{
    char hex[65];
    sha256_final_hex(h, hex);
    return xasprintf("sha256:%s", hex);
}
