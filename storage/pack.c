#define _GNU_SOURCE
#include "storage/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "storage/layer-stream.h"

/* layer_pack and layer_recompress: directories and tar streams back into
 * gzip layers with both digests. */
/* ---- writing gzip layers ------------------------------------------- */

/* libarchive's gzip filter behind its "raw" format compresses a byte
 * stream without zlib of our own; the mtime is left out of the gzip
 * header so packing the same tree twice gives the same digest. */
struct gz_sink {
    struct archive *a;
    const char *path;
    int fd;
    struct sha256 hash;
    int64_t size;
};

static la_ssize_t gz_sink_cb(struct archive *a, void *data, const void *buf,
                             size_t len)
{
    struct gz_sink *s = data;
    if (layer_write_full(s->fd, buf, len, -1) < 0) {
        archive_set_error(a, errno, "write %s", s->path);
        return -1;
    }
    sha256_update(&s->hash, buf, len);
    s->size += (int64_t)len;
    return (la_ssize_t)len;
}

static int gz_sink_open(struct gz_sink *s, const char *dest,
                        berth_error_t *err)
{
    _cleanup_aentry_ struct archive_entry *e = archive_entry_new();

    sha256_init(&s->hash);
    s->path = dest;
    s->fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (s->fd < 0)
        return berth_error_new(err, errno, "create %s", dest);
    s->a = archive_write_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_pathname(e, "layer.tar");
    if (archive_write_set_format_raw(s->a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(s->a) != ARCHIVE_OK ||
        archive_write_set_options(s->a, "gzip:!timestamp") != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(s->a, 0) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(s->a, 1) != ARCHIVE_OK ||
        archive_write_open(s->a, s, NULL, gz_sink_cb, NULL) != ARCHIVE_OK ||
        archive_write_header(s->a, e) != ARCHIVE_OK)
        return berth_error_new(err, 0, "gzip %s: %s", dest,
                               archive_error_string(s->a));
    return 0;
}

static int gz_sink_finish(struct gz_sink *s, char **ret_digest,
                          int64_t *ret_size, berth_error_t *err)
{
    if (archive_write_close(s->a) != ARCHIVE_OK)
        return berth_error_new(err, 0, "gzip %s: %s", s->path,
                               archive_error_string(s->a));
    if (fsync(s->fd) < 0)
        return berth_error_new(err, errno, "fsync %s", s->path);
    if (ret_digest)
        *ret_digest = layer_digest_of(&s->hash);
    if (ret_size)
        *ret_size = s->size;
    return 0;
}

/* Frees the writer; on failure the partial file goes too. */
static void gz_sink_done(struct gz_sink *s, bool failed)
{
    if (s->a)
        archive_write_free(s->a);
    if (s->fd >= 0)
        close(s->fd);
    if (failed && s->path)
        unlink(s->path);
}

int layer_recompress(const char *src, const char *dest, char **ret_digest,
                     char **ret_diff_id, int64_t *ret_size,
                     berth_error_t *err)
{
    struct gz_sink s = {.fd = -1};
    struct layer_tee tee = {.fd = -1};
    const void *buf;
    la_ssize_t n;
    int r;

    r = layer_tee_open(src, &tee, err);
    if (r == 0)
        r = gz_sink_open(&s, dest, err);
    while (r == 0 && (n = layer_tee_read(NULL, &tee, &buf)) > 0)
        if (archive_write_data(s.a, buf, (size_t)n) < 0)
            r = berth_error_new(err, 0, "gzip %s: %s", dest,
                                archive_error_string(s.a));
    if (r == 0 && tee.error)
        r = berth_error_new(err, 0, "read %s: %s", src, tee.error);
    if (r == 0)
        r = gz_sink_finish(&s, ret_digest, ret_size, err);
    if (r == 0 && ret_diff_id)
        *ret_diff_id = layer_digest_of(&tee.hash);
    gz_sink_done(&s, r < 0);
    layer_tee_done(&tee);
    if (r < 0)
        return berth_error_prefix(err, "recompress layer %s", src);
    return 0;
}

/* ---- packing a layer directory ------------------------------------- */

struct pack_link {
    dev_t dev;
    ino_t ino;
    char *path;
};

struct packer {
    struct archive *tar;
    struct gz_sink gz;
    struct sha256 diff;
    struct pack_link *links;
    size_t nlinks;
};

static la_ssize_t pack_tar_cb(struct archive *a, void *data, const void *buf,
                              size_t len)
{
    struct packer *p = data;
    sha256_update(&p->diff, buf, len);
    if (archive_write_data(p->gz.a, buf, len) < 0) {
        archive_set_error(a, EIO, "%s", archive_error_string(p->gz.a));
        return -1;
    }
    return (la_ssize_t)len;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pack_xattrs(struct archive_entry *e, const char *abs,
                       berth_error_t *err)
{
    ssize_t n = llistxattr(abs, NULL, 0);
    if (n <= 0)
        return 0;
    _cleanup_free_ char *names = xmalloc((size_t)n);
    n = llistxattr(abs, names, (size_t)n);
    if (n < 0)
        return berth_error_new(err, errno, "list xattrs of %s", abs);
    _cleanup_strv_ char **v = NULL;
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1)
        if (!layer_is_overlay_xattr(names + i))
            strv_append(&v, names + i);
    if (v)
        qsort(v, strv_len(v), sizeof(char *), name_cmp);
    for (size_t i = 0; v && v[i]; i++) {
        ssize_t len = lgetxattr(abs, v[i], NULL, 0);
        _cleanup_free_ char *val = xmalloc(len > 0 ? (size_t)len : 1);
        if (len < 0 || (len = lgetxattr(abs, v[i], val, (size_t)len)) < 0)
            return berth_error_new(err, errno, "get xattr %s of %s", v[i],
                                   abs);
        archive_entry_xattr_add_entry(e, v[i], val, (size_t)len);
    }
    return 0;
}

/* Hard links become tar links to the first path seen (walk order). */
static const char *pack_link_of(struct packer *p, const struct stat *st,
                                const char *rel)
{
    if (st->st_nlink < 2)
        return NULL;
    for (size_t i = 0; i < p->nlinks; i++)
        if (p->links[i].dev == st->st_dev && p->links[i].ino == st->st_ino)
            return p->links[i].path;
    p->links = xrealloc(p->links, (p->nlinks + 1) * sizeof(*p->links));
    p->links[p->nlinks++] =
        (struct pack_link){st->st_dev, st->st_ino, xstrdup(rel)};
    return NULL;
}

static int pack_data(struct packer *p, const char *abs, int64_t size,
                     berth_error_t *err)
{
    _cleanup_close_ int fd = open(abs, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    char buf[65536];
    int64_t done = 0;

    if (fd < 0)
        return berth_error_new(err, errno, "open %s", abs);
    while (done < size) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error_new(err, errno, "read %s", abs);
        if (n == 0)
            return berth_error_new(err, 0, "%s changed while packing", abs);
        if (n > size - done)
            n = (ssize_t)(size - done);
        if (archive_write_data(p->tar, buf, (size_t)n) < 0)
            return berth_error_new(err, 0, "pack %s: %s", abs,
                                   archive_error_string(p->tar));
        done += n;
    }
    return 0;
}

/* One tar entry from a stat.  Fields are set one by one, not with
 * archive_entry_copy_stat, so no atime/ctime/dev/ino reaches the pax
 * headers and mtimes are whole seconds, as docker's layers have them:
 * the same tree always packs to the same bytes. */
static int pack_entry(struct packer *p, const char *rel, const char *abs,
                      const struct stat *st, bool whiteout,
                      berth_error_t *err)
{
    _cleanup_aentry_ struct archive_entry *e = archive_entry_new();
    char target[PATH_MAX];
    const char *link = NULL;
    mode_t type = whiteout ? S_IFREG : st->st_mode & S_IFMT;

    archive_entry_set_pathname(e, rel);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, st->st_mode & 07777);
    archive_entry_set_uid(e, st->st_uid);
    archive_entry_set_gid(e, st->st_gid);
    archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
    if (type == S_IFREG && !whiteout) {
        link = pack_link_of(p, st, rel);
        if (link)
            archive_entry_set_hardlink(e, link);
        else
            archive_entry_set_size(e, st->st_size);
    } else if (type == S_IFLNK) {
        ssize_t n = readlink(abs, target, sizeof(target) - 1);
        if (n < 0)
            return berth_error_new(err, errno, "readlink %s", abs);
        target[n] = '\0';
        archive_entry_set_symlink(e, target);
    } else if (type == S_IFCHR || type == S_IFBLK) {
        archive_entry_set_rdev(e, st->st_rdev);
    }
    if (!whiteout && pack_xattrs(e, abs, err) < 0)
        return -1;
    if (archive_write_header(p->tar, e) != ARCHIVE_OK)
        return berth_error_new(err, 0, "pack %s: %s", abs,
                               archive_error_string(p->tar));
    if (type == S_IFREG && !whiteout && !link &&
        pack_data(p, abs, st->st_size, err) < 0)
        return -1;
    return 0;
}

static bool dir_is_opaque(const char *abs)
{
    char v = 0;
    return (lgetxattr(abs, "trusted.overlay.opaque", &v, 1) == 1 &&
            v == 'y') ||
           (lgetxattr(abs, "user.overlay.opaque", &v, 1) == 1 && v == 'y');
}

static char **dir_names(const char *abs, berth_error_t *err)
{
    _cleanup_closedir_ DIR *d = opendir(abs);
    char **v = xcalloc(1, sizeof(char *));
    struct dirent *de;

    if (d == NULL) {
        free(v);
        berth_error_new(err, errno, "open %s", abs);
        return NULL;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            strv_append(&v, de->d_name);
    qsort(v, strv_len(v), sizeof(char *), name_cmp);
    return v;
}

/* Depth-first in byte order of names, so the output is deterministic;
 * overlay whiteouts go back to their OCI names, the opaque marker comes
 * right after its directory. */
static int pack_dir(struct packer *p, const char *abs, const char *rel,
                    berth_error_t *err)
{
    _cleanup_strv_ char **names = dir_names(abs, err);
    struct stat st;

    if (names == NULL)
        return -1;
    if (dir_is_opaque(abs) && !strv_contains(names, OPAQUE_NAME)) {
        _cleanup_free_ char *opq =
            rel[0] ? xasprintf("%s/" OPAQUE_NAME, rel) : xstrdup(OPAQUE_NAME);
        if (lstat(abs, &st) < 0)
            return berth_error_new(err, errno, "stat %s", abs);
        if (pack_entry(p, opq, abs, &st, true, err) < 0)
            return -1;
    }
    for (size_t i = 0; names[i]; i++) {
        _cleanup_free_ char *cabs = xasprintf("%s/%s", abs, names[i]);
        _cleanup_free_ char *crel =
            rel[0] ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
        if (lstat(cabs, &st) < 0)
            return berth_error_new(err, errno, "stat %s", cabs);
        if (S_ISSOCK(st.st_mode))
            continue;
        if (layer_is_whiteout(&st)) {
            _cleanup_free_ char *wh =
                rel[0] ? xasprintf("%s/" WH_PREFIX "%s", rel, names[i])
                       : xasprintf(WH_PREFIX "%s", names[i]);
            if (pack_entry(p, wh, cabs, &st, true, err) < 0)
                return -1;
            continue;
        }
        if (pack_entry(p, crel, cabs, &st, false, err) < 0)
            return -1;
        if (S_ISDIR(st.st_mode) && pack_dir(p, cabs, crel, err) < 0)
            return -1;
    }
    return 0;
}

static int pack_tree(struct packer *p, const char *src, berth_error_t *err)
{
    struct stat st;

    if (lstat(src, &st) < 0)
        return berth_error_new(err, errno, "stat %s", src);
    if (!S_ISDIR(st.st_mode))
        return berth_error_new(err, ENOTDIR, "%s", src);
    p->tar = archive_write_new();
    /* pax_restricted: ustar headers unless an entry needs pax (long
     * names, xattrs); SCHILY.xattr is what Go's archive/tar reads */
    if (archive_write_set_format_pax_restricted(p->tar) != ARCHIVE_OK)
        return berth_error_new(err, 0, "%s", archive_error_string(p->tar));
    /* libarchive < 3.3.3 lacks the option and writes both headers */
    archive_write_set_options(p->tar, "xattrheader=SCHILY");
    if (archive_write_set_bytes_in_last_block(p->tar, 1) != ARCHIVE_OK ||
        archive_write_open(p->tar, p, NULL, pack_tar_cb, NULL) != ARCHIVE_OK)
        return berth_error_new(err, 0, "%s", archive_error_string(p->tar));
    if (pack_dir(p, src, "", err) < 0)
        return -1;
    if (archive_write_close(p->tar) != ARCHIVE_OK)
        return berth_error_new(err, 0, "%s", archive_error_string(p->tar));
    return 0;
}

int layer_pack(const char *src, const char *dest, char **ret_digest,
               char **ret_diff_id, int64_t *ret_size, berth_error_t *err)
{
    struct packer p = {.gz = {.fd = -1}};
    int r;

    sha256_init(&p.diff);
    r = gz_sink_open(&p.gz, dest, err);
    if (r == 0)
        r = pack_tree(&p, src, err);
    if (r == 0)
        r = gz_sink_finish(&p.gz, ret_digest, ret_size, err);
    if (r == 0 && ret_diff_id)
        *ret_diff_id = layer_digest_of(&p.diff);
    /* the tar writer flushes into the gzip one: free it first */
    if (p.tar)
        archive_write_free(p.tar);
    gz_sink_done(&p.gz, r < 0);
    for (size_t i = 0; i < p.nlinks; i++)
        free(p.links[i].path);
    free(p.links);
    if (r < 0)
        return berth_error_prefix(err, "pack layer %s", src);
    return 0;
}

