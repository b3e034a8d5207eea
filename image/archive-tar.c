#define _GNU_SOURCE
#include "image/archive-internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

/* ------------------------------------------------------------------ */
/* writing                                                              */

int arc_writer_open(struct arc_writer *w, int fd, berth_error_t *err)
{
    w->written = NULL;
    w->a = archive_write_new();
    /* ustar headers, pax extensions only for what ustar can't hold (long
     * names): what docker and podman write and every tar reads */
    if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
        berth_error_new(err, 0, "start archive: %s",
                        archive_error_string(w->a));
        archive_write_free(w->a);
        w->a = NULL;
        return -1;
    }
    return 0;
}

void arc_writer_free(struct arc_writer *w)
{
    if (w->a)
        archive_write_free(w->a);
    w->a = NULL;
    strv_free(w->written);
    w->written = NULL;
}

int arc_writer_close(struct arc_writer *w, berth_error_t *err)
{
    int r = 0;
    if (archive_write_close(w->a) != ARCHIVE_OK)
        r = berth_error_new(err, archive_errno(w->a), "finish archive: %s",
                            archive_error_string(w->a));
    arc_writer_free(w);
    return r;
}

bool arc_writer_seen(struct arc_writer *w, const char *name)
{
    if (strv_contains(w->written, name))
        return true;
    strv_append(&w->written, name);
    return false;
}

static int arc_put_entry(struct arc_writer *w, const char *name,
                         mode_t type, mode_t perm, int64_t size,
                         berth_error_t *err)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, size);
    /* fixed owner and time: the same images give the same archive */
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    int r = archive_write_header(w->a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK)
        return berth_error_new(err, archive_errno(w->a), "write %s: %s", name,
                               archive_error_string(w->a));
    return 0;
}

int arc_write_dir(struct arc_writer *w, const char *name, berth_error_t *err)
{
    if (arc_writer_seen(w, name))
        return 0;
    return arc_put_entry(w, name, AE_IFDIR, 0755, 0, err);
}

int arc_write_header(struct arc_writer *w, const char *name, int64_t size,
                     berth_error_t *err)
{
    return arc_put_entry(w, name, AE_IFREG, 0644, size, err);
}

int arc_write_data(struct arc_writer *w, const void *buf, size_t len,
                   berth_error_t *err)
{
    const char *p = buf;
    while (len > 0) {
        la_ssize_t n = archive_write_data(w->a, p, len);
        if (n <= 0)
            return berth_error_new(err, archive_errno(w->a),
                                   "write archive: %s",
                                   archive_error_string(w->a));
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int arc_write_bytes(struct arc_writer *w, const char *name, const void *data,
                    size_t len, berth_error_t *err)
{
    if (arc_write_header(w, name, (int64_t)len, err) < 0)
        return -1;
    return arc_write_data(w, data, len, err);
}

int arc_write_file(struct arc_writer *w, const char *name, const char *path,
                   berth_error_t *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    _cleanup_free_ char *buf = xmalloc(1 << 16);
    int64_t left;

    if (fd < 0 || fstat(fd, &st) < 0)
        return berth_error_new(err, errno, "open %s", path);
    if (arc_write_header(w, name, st.st_size, err) < 0)
        return -1;
    for (left = st.st_size; left > 0;) {
        ssize_t n = read(fd, buf, 1 << 16);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return berth_error_new(err, errno, "read %s", path);
        if (n == 0)
            return berth_error_new(err, 0, "read %s: file shrank while "
                                   "being written", path);
        if ((int64_t)n > left)
            n = (ssize_t)left;
        if (arc_write_data(w, buf, (size_t)n, err) < 0)
            return -1;
        left -= n;
    }
    return 0;
}

struct archive *arc_decompress_open(const char *path, berth_error_t *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e = NULL;
    /* the raw format hands back the decompressed stream as one entry */
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        berth_error_new(err, archive_errno(a), "open %s: %s", path,
                        archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    if (archive_read_next_header(a, &e) != ARCHIVE_OK) {
        berth_error_new(err, archive_errno(a), "read %s: %s", path,
                        archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* ------------------------------------------------------------------ */
/* reading                                                              */

struct arc_file {
    char *name; /* cleaned entry name */
    char *file; /* content on disk, for a regular file */
    char *link; /* hard link target (cleaned) or symlink target (raw) */
    bool symlink;
};

/* An entry name without "." and empty components; NULL for absolute
 * names and, unless resolving, names with "..".  When resolving (a
 * symlink's target joined to its directory), ".." removes the previous
 * component and may not climb above the top. */
static char *arc_clean(const char *name, bool resolve)
{
    if (name == NULL || name[0] == '/' || name[0] == '\0')
        return NULL;
    _cleanup_strv_ char **parts = strv_split(name, "/");
    char **out = xcalloc(strv_len(parts) + 1, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; parts[i]; i++) {
        if (strcmp(parts[i], ".") == 0)
            continue;
        if (strcmp(parts[i], "..") == 0) {
            if (!resolve || n == 0) {
                strv_free(out);
                return NULL;
            }
            free(out[--n]);
            out[n] = NULL;
            continue;
        }
        out[n++] = xstrdup(parts[i]);
    }
    char *r = n > 0 ? strv_join(out, "/") : NULL;
    strv_free(out);
    return r;
}

static void arc_index_add(struct arc_index *ix, struct arc_file f)
{
    ix->v = xrealloc(ix->v, (ix->n + 1) * sizeof(*ix->v));
    ix->v[ix->n++] = f;
}

static int arc_save_data(struct arc_index *ix, struct archive *a,
                         const char *name, char **ret_file,
                         berth_error_t *err)
{
    char *file = xasprintf("%s/%zu", ix->dir, ix->n);
    /* layout blobs are renamed into the store as they are */
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        berth_error_new(err, errno, "create %s", file);
        free(file);
        return -1;
    }
    int r = archive_read_data_into_fd(a, fd);
    if (close(fd) < 0 && r == ARCHIVE_OK)
        r = ARCHIVE_FATAL;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        berth_error_new(err, archive_errno(a), "entry %s: %s", name, archive_error_string(a));
        free(file);
        return -1;
    }
    *ret_file = file;
    return 0;
}

static int arc_index_entry(struct arc_index *ix, struct archive *a,
                           struct archive_entry *e, berth_error_t *err)
{
    _cleanup_free_ char *name = arc_clean(archive_entry_pathname(e), false);
    const char *hl = archive_entry_hardlink(e);
    struct arc_file f = {0};

    /* names that can't be referenced (absolute, "..") are never looked
     * up: drop them */
    if (name == NULL)
        return 0;
    if (hl) {
        f.link = arc_clean(hl, false);
        if (f.link == NULL)
            return 0;
    } else if (archive_entry_filetype(e) == AE_IFREG) {
        if (arc_save_data(ix, a, name, &f.file, err) < 0)
            return -1;
    } else if (archive_entry_filetype(e) == AE_IFLNK &&
               archive_entry_symlink(e)) {
        f.link = xstrdup(archive_entry_symlink(e));
        f.symlink = true;
    } else {
        return 0;
    }
    f.name = TAKE_PTR(name);
    arc_index_add(ix, f);
    return 0;
}

int arc_index_read(struct arc_index *ix, int fd, const char *dir,
                   const char *what, berth_error_t *err)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int r;

    ix->dir = xstrdup(dir);
    ix->what = xstrdup(what);
    ix->v = NULL;
    ix->n = 0;
    /* `docker save | gzip` and friends load as well */
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK) {
        berth_error_new(err, archive_errno(a), "read %s: %s", what,
                        archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    while ((r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            berth_error_new(err, archive_errno(a),
                            "%s is not a readable tar archive: %s", what,
                            archive_error_string(a));
            archive_read_free(a);
            return -1;
        }
        if (arc_index_entry(ix, a, e, err) < 0) {
            archive_read_free(a);
            return -1;
        }
    }
    archive_read_free(a);
    return 0;
}

void arc_index_clear(struct arc_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->v[i].name);
        free(ix->v[i].file);
        free(ix->v[i].link);
    }
    free(ix->v);
    free(ix->dir);
    free(ix->what);
    memset(ix, 0, sizeof(*ix));
}

/* The last entry of that name wins, as when tar extracts. */
static struct arc_file *arc_index_find(struct arc_index *ix, const char *name)
{
    for (size_t i = ix->n; i > 0; i--)
        if (strcmp(ix->v[i - 1].name, name) == 0)
            return &ix->v[i - 1];
    return NULL;
}

bool arc_index_has(struct arc_index *ix, const char *name)
{
    _cleanup_free_ char *c = arc_clean(name, false);
    return c && arc_index_find(ix, c) != NULL;
}

int arc_index_path(struct arc_index *ix, const char *name,
                   const char **ret_path, berth_error_t *err)
{
    _cleanup_free_ char *cur = arc_clean(name, false);
    if (cur == NULL)
        return berth_error_new(err, 0,
                               "invalid path \"%s\": entries must be "
                               "relative and inside the archive",
                               name);
    for (int depth = 0; depth < 16; depth++) {
        struct arc_file *f = arc_index_find(ix, cur);
        if (f == NULL) {
            berth_error_new(err, 0, "file \"%s\" is missing from the "
                            "archive", name);
            (*err)->errnum = ENOENT;
            return -1;
        }
        if (f->file) {
            *ret_path = f->file;
            return 0;
        }
        char *next;
        if (!f->symlink) {
            next = xstrdup(f->link);
        } else {
            /* a symlink's target is relative to its own directory */
            char *slash = strrchr(cur, '/');
            _cleanup_free_ char *joined =
                f->link[0] == '/' ? NULL
                : slash ? xasprintf("%.*s/%s", (int)(slash - cur), cur, f->link)
                        : xstrdup(f->link);
            next = arc_clean(joined, true);
            if (next == NULL)
                return berth_error_new(err, 0,
                                       "entry \"%s\" is a symlink to "
                                       "\"%s\", outside the archive",
                                       name, f->link);
        }
        free(cur);
        cur = next;
    }
    return berth_error_new(err, 0, "entry \"%s\": too many levels of "
                           "links", name);
}

int arc_index_read_small(struct arc_index *ix, const char *name, char **ret,
                         size_t *ret_len, berth_error_t *err)
{
    const char *path;
    struct stat st;
    if (arc_index_path(ix, name, &path, err) < 0)
        return -1;
    if (stat(path, &st) < 0)
        return berth_error_new(err, errno, "stat %s", path);
    if (st.st_size > ARC_JSON_MAX)
        return berth_error_new(err, 0, "entry \"%s\" is too large "
                               "(%lld bytes) for a JSON document", name, (long long)st.st_size);
    return fs_read_file(path, ret, ret_len, err);
}
