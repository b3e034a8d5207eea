#define _GNU_SOURCE
#include "storage/unpack.h"

/* How the unpacker stays inside the layer, and the choices it makes:
 * - every file is created by this code relative to a directory fd, never
 *   by archive_write_disk: parents are opened with openat2(RESOLVE_BENEATH
 *   | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), or one O_NOFOLLOW
 *   openat per component where the kernel lacks openat2;
 * - one pass: the decompressed stream is hashed as the tar parser reads
 *   it, then drained, so the diff id covers trailing padding too;
 * - a hard link to a file only a lower layer holds is copied up, then
 *   linked; device nodes refused with EPERM (rootless) are skipped; where
 *   a whiteout device or the opaque xattr cannot be made, the OCI
 *   ".wh.NAME" / ".wh..wh..opq" file is kept instead;
 * - overlay's own xattrs (trusted.overlay.*, user.overlay.*) in a tar are
 *   dropped; the unpacked tree is synced (syncfs) before returning, since
 *   the caller renames it into the store next. */

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "storage/layer-stream.h"

static int entry_err(berth_error_t *err, const char *entry, int errnum,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int entry_err(berth_error_t *err, const char *entry, int errnum,
                     const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    berth_error_new(err, errnum, "layer entry \"%s\": %s", entry, msg);
    free(msg);
    return -1;
}




/* Entry name to a clean relative path ("" for the root); NULL when it is
 * absolute or has a ".." component. */
static char *path_clean(const char *name)
{
    if (name[0] == '/')
        return NULL;
    char *out = xmalloc(strlen(name) + 1);
    size_t len = 0;
    const char *p = name;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            free(out);
            return NULL;
        }
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (len > 0)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n;
        while (*p == '/')
            p++;
    }
    out[len] = '\0';
    return out;
}

/* ---- directory records -------------------------------------------- */

/* One record per directory of this layer.  It carries the metadata applied
 * at the end (dirs stay 0700 while filled, since a layer may write into a
 * 0555 dir) and which lower layers still show through below it, so the
 * symlink check of lower layers runs once per directory, not per entry. */
struct dirrec {
    struct dirrec *next; /* hash chain */
    char *path;
    uint64_t *mask; /* lowers visible below this dir; NULL: none */
    bool dead, meta, has_times;
    mode_t mode;
    uid_t uid;
    gid_t gid;
    struct timespec times[2];
};

struct unpacker {
    const struct unpack_opts *opts;
    struct layer_tee *tee;
    int root;
    bool no_openat2;
    size_t nlowers, nwords;
    int *lower_fds;
    struct dirrec **recs; /* creation order */
    size_t nrecs, cap;
    struct dirrec **buckets;
    size_t nbuckets;
    int64_t size;
};

static size_t rec_hash(const char *s)
{
    size_t h = 14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct dirrec *rec_get(struct unpacker *u, const char *path)
{
    for (struct dirrec *r = u->buckets[rec_hash(path) & (u->nbuckets - 1)];
         r; r = r->next)
        if (!r->dead && strcmp(r->path, path) == 0)
            return r;
    return NULL;
}

static void rec_rehash(struct unpacker *u)
{
    free(u->buckets);
    u->nbuckets = u->nbuckets ? u->nbuckets * 2 : 256;
    u->buckets = xcalloc(u->nbuckets, sizeof(*u->buckets));
    for (size_t i = 0; i < u->nrecs; i++) {
        struct dirrec *r = u->recs[i];
        size_t b = rec_hash(r->path) & (u->nbuckets - 1);
        r->next = u->buckets[b];
        u->buckets[b] = r;
    }
}

static struct dirrec *rec_add(struct unpacker *u, const char *path,
                              uint64_t *mask)
{
    struct dirrec *r = xcalloc(1, sizeof(*r));
    r->path = xstrdup(path);
    r->mask = mask;
    if (u->nrecs == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 64;
        u->recs = xrealloc(u->recs, u->cap * sizeof(*u->recs));
    }
    u->recs[u->nrecs++] = r;
    if (u->nrecs > u->nbuckets) {
        rec_rehash(u);
    } else {
        size_t b = rec_hash(path) & (u->nbuckets - 1);
        r->next = u->buckets[b];
        u->buckets[b] = r;
    }
    return r;
}

static bool path_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return n == 0 ||
           (strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/'));
}

/* A directory was removed: its records and its subtree's are stale. */
static void rec_kill(struct unpacker *u, const char *path)
{
    for (size_t i = 0; i < u->nrecs; i++)
        if (!u->recs[i]->dead && path_under(u->recs[i]->path, path))
            u->recs[i]->dead = true;
}

static void unpacker_done(struct unpacker *u)
{
    for (size_t i = 0; i < u->nrecs; i++) {
        free(u->recs[i]->path);
        free(u->recs[i]->mask);
        free(u->recs[i]);
    }
    free(u->recs);
    free(u->buckets);
    for (size_t i = 0; i < u->nlowers; i++)
        if (u->lower_fds[i] >= 0)
            close(u->lower_fds[i]);
    free(u->lower_fds);
    if (u->root >= 0)
        close(u->root);
}

/* ---- lower layers --------------------------------------------------- */

enum lower_kind { LOWER_NONE, LOWER_DIR, LOWER_SYMLINK, LOWER_OTHER };

struct lower_look {
    enum lower_kind kind; /* of the top-most lower holding the path */
    struct stat st;
    uint64_t *mask; /* lowers whose dir merges at this path */
};

static bool mask_has(const uint64_t *m, size_t i)
{
    return m && (m[i / 64] >> (i % 64)) & 1;
}

static bool lower_opaque(int lfd, const char *path)
{
    _cleanup_close_ int fd =
        openat(lfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    char v = 0;
    struct stat st;
    if (fd < 0)
        return false;
    if ((fgetxattr(fd, "trusted.overlay.opaque", &v, 1) == 1 && v == 'y') ||
        (fgetxattr(fd, "user.overlay.opaque", &v, 1) == 1 && v == 'y'))
        return true;
    return fstatat(fd, OPAQUE_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* A ".wh.NAME" file kept where mknod was refused also hides NAME. */
static bool lower_wh_file(int lfd, const char *path)
{
    const char *slash = strrchr(path, '/');
    _cleanup_free_ char *wh =
        slash ? xasprintf("%.*s/" WH_PREFIX "%s", (int)(slash - path), path,
                          slash + 1)
              : xasprintf(WH_PREFIX "%s", path);
    struct stat st;
    return fstatat(lfd, wh, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Overlay's lookup of `path` through the lowers still visible in its
 * parent (pmask): the first lower holding it decides what the merged view
 * shows; a whiteout or non-directory ends the search, as does an opaque
 * dir.  Only lowers whose every ancestor is a real dir are consulted, so
 * fstatat here never crosses a symlink. */
static int lowers_scan(struct unpacker *u, const char *entry,
                       const char *path, const uint64_t *pmask,
                       struct lower_look *look, berth_error_t *err)
{
    memset(look, 0, sizeof(*look));
    for (size_t i = 0; pmask && i < u->nlowers; i++) {
        struct stat st;
        if (!mask_has(pmask, i))
            continue;
        if (fstatat(u->lower_fds[i], path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT && errno != ENOTDIR)
                return entry_err(err, entry, errno, "stat %s in %s", path,
                                 u->opts->lowers[i]);
            if (lower_wh_file(u->lower_fds[i], path))
                break;
            continue;
        }
        if (layer_is_whiteout(&st))
            break;
        if (look->kind == LOWER_NONE) {
            look->st = st;
            look->kind = S_ISDIR(st.st_mode)   ? LOWER_DIR
                         : S_ISLNK(st.st_mode) ? LOWER_SYMLINK
                                               : LOWER_OTHER;
        }
        if (!S_ISDIR(st.st_mode))
            break;
        if (look->mask == NULL)
            look->mask = xcalloc(u->nwords, sizeof(uint64_t));
        look->mask[i / 64] |= 1ULL << (i % 64);
        if (lower_opaque(u->lower_fds[i], path))
            break;
    }
    return 0;
}

/* ---- safe resolution inside the layer ------------------------------- */

static int openat2_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how = {
        .flags = (uint64_t)(flags | O_NOFOLLOW | O_CLOEXEC),
        .resolve =
            RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };
    return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* Open a path of the layer without following any symlink: openat2 when
 * the kernel has it (5.6+), else one O_NOFOLLOW openat per component. */
static int open_beneath(struct unpacker *u, const char *path, int flags)
{
    if (path[0] == '\0')
        return openat(u->root, ".", flags | O_CLOEXEC);
    if (!u->no_openat2) {
        int fd = openat2_beneath(u->root, path, flags);
        if (fd >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EPERM))
            return fd;
        /* EPERM: a seccomp filter that does not know openat2 */
        u->no_openat2 = true;
    }
    _cleanup_free_ char *buf = xstrdup(path);
    int cur = openat(u->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    char *comp = buf;
    while (cur >= 0) {
        char *slash = strchr(comp, '/');
        if (slash)
            *slash = '\0';
        int fl = slash ? O_PATH | O_DIRECTORY : flags;
        int fd = openat(cur, comp, fl | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(cur);
        errno = e;
        cur = fd;
        if (!slash)
            break;
        comp = slash + 1;
    }
    return cur;
}

/* Mark a directory opaque for overlay.  trusted.* needs real root;
 * user.* serves overlay's userxattr mounts in a user namespace.  Where
 * neither can be set the ".wh..wh..opq" file is kept instead, as the
 * OCI layout has it. */
static int set_opaque(struct unpacker *u, const char *entry, int dirfd,
                      struct dirrec *rec, berth_error_t *err)
{
    _cleanup_close_ int fd =
        openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool ok = false;
    int e = 0;

    if (fd < 0)
        return entry_err(err, entry, errno, "open directory");
    if (geteuid() == 0 &&
        fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) == 0)
        ok = true;
    if (fsetxattr(fd, "user.overlay.opaque", "y", 1, 0) == 0)
        ok = true;
    else
        e = errno;
    if (!ok && e != EPERM && e != EOPNOTSUPP)
        return entry_err(err, entry, e, "set opaque xattr");
    if (!ok) {
        int f = openat(fd, OPAQUE_NAME, O_WRONLY | O_CREAT | O_NOFOLLOW |
                                            O_CLOEXEC, 0);
        if (f < 0)
            return entry_err(err, entry, errno, "create " OPAQUE_NAME);
        close(f);
    }
    for (size_t i = 0; u->nlowers > 0 && i < u->nrecs; i++) {
        struct dirrec *r = u->recs[i];
        if (!r->dead && path_under(r->path, rec->path)) {
            free(r->mask);
            r->mask = NULL;
        }
    }
    return 0;
}

/* Create directory `comp` (absent) in `cur` and its record.  look is what
 * the lowers show at that path, or NULL when the directory replaces a
 * whiteout of this layer and must hide the lowers (opaque). */
static int dir_create(struct unpacker *u, const char *entry, int cur,
                      const char *comp, const char *path,
                      struct lower_look *look, struct dirrec **ret_rec,
                      int *ret_fd, berth_error_t *err)
{
    if (mkdirat(cur, comp, 0700) < 0)
        return entry_err(err, entry, errno, "mkdir %s", path);
    _cleanup_close_ int fd =
        openat(cur, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return entry_err(err, entry, errno, "open %s", path);
    struct dirrec *r = rec_add(u, path, look ? TAKE_PTR(look->mask) : NULL);
    r->meta = true;
    r->mode = 0755;
    if (look && look->kind == LOWER_DIR) {
        /* an implied parent keeps what the lower layer showed */
        r->mode = look->st.st_mode & 07777;
        r->uid = look->st.st_uid;
        r->gid = look->st.st_gid;
        r->times[0] = look->st.st_atim;
        r->times[1] = look->st.st_mtim;
        r->has_times = true;
    }
    if (!look && set_opaque(u, entry, fd, r, err) < 0)
        return -1;
    *ret_rec = r;
    *ret_fd = TAKE_FD(fd);
    return 0;
}

/* One component of a parent path: open it as a directory of this layer,
 * creating it when missing, refusing symlinks here and in the lowers. */
static int walk_step(struct unpacker *u, const char *entry, int cur,
                     const char *comp, const char *path,
                     struct dirrec **rec, int *ret_fd, berth_error_t *err)
{
    struct lower_look look;
    struct stat st;
    struct dirrec *child = rec_get(u, path);
    int fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        if (!child) {
            if (lowers_scan(u, entry, path, (*rec)->mask, &look, err) < 0) {
                close(fd);
                return -1;
            }
            child = rec_add(u, path, look.mask);
        }
        *rec = child;
        *ret_fd = fd;
        return 0;
    }
    if (errno == ENOENT) {
        if (lowers_scan(u, entry, path, (*rec)->mask, &look, err) < 0)
            return -1;
        if (look.kind == LOWER_SYMLINK) {
            free(look.mask);
            return entry_err(err, entry, 0, "parent \"%s\" is a symlink",
                             path);
        }
        int r = dir_create(u, entry, cur, comp, path, &look, rec, ret_fd, err);
        free(look.mask);
        return r;
    }
    if (errno != ENOTDIR)
        return entry_err(err, entry, errno, "open parent \"%s\"", path);
    if (fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return entry_err(err, entry, errno, "stat parent \"%s\"", path);
    if (S_ISLNK(st.st_mode))
        return entry_err(err, entry, 0, "parent \"%s\" is a symlink", path);
    if (!layer_is_whiteout(&st))
        return entry_err(err, entry, 0, "parent \"%s\" is not a directory",
                         path);
    /* ".wh.a" then "a/b" in one layer: a fresh "a" hiding the lower one */
    if (unlinkat(cur, comp, 0) < 0)
        return entry_err(err, entry, errno, "remove whiteout %s", path);
    return dir_create(u, entry, cur, comp, path, NULL, rec, ret_fd, err);
}

/* Open the parent directory of an entry as an O_PATH fd, beneath the
 * layer and through no symlink. */
static int parent_open(struct unpacker *u, const char *entry,
                       const char *parent, int *ret_fd,
                       struct dirrec **ret_rec, berth_error_t *err)
{
    struct dirrec *rec = rec_get(u, parent);
    if (rec) {
        int fd = open_beneath(u, parent, O_PATH | O_DIRECTORY);
        if (fd >= 0) {
            *ret_fd = fd;
            *ret_rec = rec;
            return 0;
        }
    }
    _cleanup_free_ char *buf = xstrdup(parent);
    _cleanup_close_ int cur =
        openat(u->root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    char *comp = buf;
    rec = u->recs[0];
    if (cur < 0)
        return berth_error_new(err, errno, "open layer directory");
    while (comp) {
        char *slash = strchr(comp, '/');
        int fd;
        if (slash)
            *slash = '\0';
        if (walk_step(u, entry, cur, comp, buf, &rec, &fd, err) < 0)
            return -1;
        close(cur);
        cur = fd;
        if (slash)
            *slash = '/';
        comp = slash ? slash + 1 : NULL;
    }
    *ret_fd = TAKE_FD(cur);
    *ret_rec = rec;
    return 0;
}

/* ---- creating entries ----------------------------------------------- */

struct target {
    const char *entry;  /* name as in the tar, for messages */
    const char *parent; /* clean relative parent path */
    const char *base;
    int dfd; /* O_PATH fd of parent */
    struct dirrec *dir;
};

static char *target_path(const struct target *t, const char *name)
{
    return t->parent[0] ? xasprintf("%s/%s", t->parent, name)
                        : xstrdup(name);
}

static int rm_rf_at(int dfd, const char *name)
{
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dfd, name, 0);
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    _cleanup_closedir_ DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (rm_rf_at(dirfd(d), de->d_name) < 0)
            return -1;
    }
    return unlinkat(dfd, name, AT_REMOVEDIR);
}

enum clear_state { CLEAR_NONE, CLEAR_KEPT_DIR, CLEAR_WAS_WHITEOUT };

/* Make room for `name`: a later entry of the same name replaces an
 * earlier one (tar may hold duplicates); a dir over a dir is merged. */
static int clear_target(struct unpacker *u, const struct target *t,
                        const char *name, bool keep_dir, int *ret_state,
                        berth_error_t *err)
{
    struct stat st;
    *ret_state = CLEAR_NONE;
    if (fstatat(t->dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT)
            return 0;
        return entry_err(err, t->entry, errno, "stat");
    }
    if (S_ISDIR(st.st_mode)) {
        if (keep_dir) {
            *ret_state = CLEAR_KEPT_DIR;
            return 0;
        }
        _cleanup_free_ char *path = target_path(t, name);
        if (rm_rf_at(t->dfd, name) < 0)
            return entry_err(err, t->entry, errno, "remove directory");
        rec_kill(u, path);
        return 0;
    }
    if (layer_is_whiteout(&st))
        *ret_state = CLEAR_WAS_WHITEOUT;
    if (unlinkat(t->dfd, name, 0) < 0)
        return entry_err(err, t->entry, errno, "remove");
    return 0;
}

/* Owners are kept only when asked; in a single-id user namespace an
 * unmapped id makes chown fail with EINVAL and is squashed to 0. */
static int chown_at(struct unpacker *u, int fd, const char *name, uid_t uid,
                    gid_t gid, int flags)
{
    if (!u->opts->chown || fchownat(fd, name, uid, gid, flags) == 0)
        return 0;
    if (errno != EINVAL || !u->opts->squash_unmapped)
        return -1;
    if (fchownat(fd, name, 0, gid, flags) == 0 ||
        fchownat(fd, name, uid, 0, flags) == 0)
        return 0;
    return fchownat(fd, name, 0, 0, flags);
}

/* EINVAL from chown: the id has no mapping in this user namespace. */
static int chown_err(berth_error_t *err, const char *entry, int64_t uid,
                     int64_t gid)
{
    if (errno != EINVAL)
        return entry_err(err, entry, errno, "chown %lld:%lld",
                         (long long)uid, (long long)gid);
    return entry_err(err, entry, 0,
                     "chown %lld:%lld: id not mapped in the user namespace "
                     "(check /etc/subuid and /etc/subgid)",
                     (long long)uid, (long long)gid);
}

/* Unprivileged users cannot set trusted.* (EPERM), some file systems take
 * no xattrs at all, and symlinks take no user.*: those are dropped. */
static int apply_xattrs(const struct target *t, struct archive_entry *e,
                        int fd, berth_error_t *err)
{
    const char *name;
    const void *val;
    size_t size;
    char proc[64];

    if (archive_entry_xattr_reset(e) == 0)
        return 0;
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d/", t->dfd);
    _cleanup_free_ char *path = xasprintf("%s%s", proc, t->base);
    while (archive_entry_xattr_next(e, &name, &val, &size) == ARCHIVE_OK) {
        if (layer_is_overlay_xattr(name))
            continue;
        int r = fd >= 0 ? fsetxattr(fd, name, val, size, 0)
                        : lsetxattr(path, name, val, size, 0);
        if (r < 0 && errno != EPERM && errno != EOPNOTSUPP &&
            errno != EINVAL)
            return entry_err(err, t->entry, errno, "set xattr %s", name);
    }
    return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
    ts[1].tv_sec = archive_entry_mtime(e);
    ts[1].tv_nsec = archive_entry_mtime_nsec(e);
    ts[0] = ts[1];
    if (archive_entry_atime_is_set(e)) {
        ts[0].tv_sec = archive_entry_atime(e);
        ts[0].tv_nsec = archive_entry_atime_nsec(e);
    }
}

/* chown, then xattrs (chown drops security.capability), then chmod
 * (chown drops setuid/setgid), then times (each of these moves ctime
 * only).  fd is the open file, or -1 to go by name under t->dfd. */
static int apply_meta(struct unpacker *u, const struct target *t,
                      struct archive_entry *e, int fd, berth_error_t *err)
{
    mode_t mode = archive_entry_perm(e) & 07777;
    bool link = archive_entry_filetype(e) == AE_IFLNK;
    struct timespec ts[2];

    if (chown_at(u, fd >= 0 ? fd : t->dfd, fd >= 0 ? "" : t->base,
                 (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 fd >= 0 ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) < 0)
        return chown_err(err, t->entry, archive_entry_uid(e),
                         archive_entry_gid(e));
    if (apply_xattrs(t, e, fd, err) < 0)
        return -1;
    if (!link && (fd >= 0 ? fchmod(fd, mode) : fchmodat(t->dfd, t->base,
                                                        mode, 0)) < 0)
        return entry_err(err, t->entry, errno, "chmod %04o", mode);
    if (!archive_entry_mtime_is_set(e))
        return 0;
    entry_times(e, ts);
    if ((fd >= 0 ? futimens(fd, ts)
                 : utimensat(t->dfd, t->base, ts, AT_SYMLINK_NOFOLLOW)) < 0)
        return entry_err(err, t->entry, errno, "set times");
    return 0;
}

static int file_entry(struct unpacker *u, const struct target *t,
                      struct archive *ar, struct archive_entry *e,
                      berth_error_t *err)
{
    int state;
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;

    if (clear_target(u, t, t->base, false, &state, err) < 0)
        return -1;
    _cleanup_close_ int fd =
        openat(t->dfd, t->base,
               O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return entry_err(err, t->entry, errno, "create");
    /* offsets jump over the holes of sparse entries */
    while ((r = archive_read_data_block(ar, &buf, &len, &off)) == ARCHIVE_OK ||
           r == ARCHIVE_WARN) {
        if (len > 0 && layer_write_full(fd, buf, len, off) < 0)
            return entry_err(err, t->entry, errno, "write");
    }
    if (r != ARCHIVE_EOF)
        return berth_error_new(err, 0, "%s", layer_tee_error(u->tee, ar));
    if (ftruncate(fd, archive_entry_size(e)) < 0)
        return entry_err(err, t->entry, errno, "truncate");
    u->size += archive_entry_size(e);
    return apply_meta(u, t, e, fd, err);
}

static int dir_entry(struct unpacker *u, const struct target *t,
                     struct archive_entry *e, berth_error_t *err)
{
    _cleanup_free_ char *path = target_path(t, t->base);
    struct dirrec *rec = NULL;
    int state = CLEAR_NONE;

    if (t->base[0] == '\0') {
        rec = u->recs[0];
    } else {
        if (clear_target(u, t, t->base, true, &state, err) < 0)
            return -1;
        if (state == CLEAR_KEPT_DIR)
            rec = rec_get(u, path);
        if (rec == NULL) {
            struct lower_look look;
            if (state != CLEAR_KEPT_DIR && mkdirat(t->dfd, t->base, 0700) < 0)
                return entry_err(err, t->entry, errno, "mkdir");
            if (lowers_scan(u, t->entry, path, t->dir->mask, &look, err) < 0)
                return -1;
            rec = rec_add(u, path, look.mask);
        }
    }
    _cleanup_close_ int fd =
        openat(t->dfd, t->base[0] ? t->base : ".",
               O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return entry_err(err, t->entry, errno, "open directory");
    if (t->base[0] && state == CLEAR_WAS_WHITEOUT &&
        set_opaque(u, t->entry, fd, rec, err) < 0)
        return -1;
    rec->meta = true;
    rec->mode = archive_entry_perm(e) & 07777;
    rec->uid = (uid_t)archive_entry_uid(e);
    rec->gid = (gid_t)archive_entry_gid(e);
    rec->has_times = archive_entry_mtime_is_set(e);
    entry_times(e, rec->times);
    return apply_xattrs(t, e, fd, err);
}

/* ".wh.NAME" becomes the overlay whiteout: char device 0:0, which mknod
 * allows without privilege since Linux 5.8.  Where it is still refused
 * (older kernels, some file systems) the ".wh.NAME" file is kept. */
static int whiteout_entry(struct unpacker *u, const struct target *t,
                          berth_error_t *err)
{
    const char *name = t->base + strlen(WH_PREFIX);
    int state;

    if (strcmp(t->base, OPAQUE_NAME) == 0)
        return set_opaque(u, t->entry, t->dfd, t->dir, err);
    if (str_has_prefix(t->base, WH_META_PREFIX))
        return 0; /* aufs hard link metadata: meaningless for overlay */
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return entry_err(err, t->entry, 0, "invalid whiteout");
    if (clear_target(u, t, name, false, &state, err) < 0)
        return -1;
    if (mknodat(t->dfd, name, S_IFCHR, makedev(0, 0)) == 0)
        return 0;
    if (errno != EPERM)
        return entry_err(err, t->entry, errno, "mknod whiteout");
    if (clear_target(u, t, t->base, false, &state, err) < 0)
        return -1;
    int fd = openat(t->dfd, t->base,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return entry_err(err, t->entry, errno, "create");
    close(fd);
    return 0;
}

static int symlink_entry(struct unpacker *u, const struct target *t,
                         struct archive_entry *e, berth_error_t *err)
{
    const char *dst = archive_entry_symlink(e);
    int state;

    if (dst == NULL)
        return entry_err(err, t->entry, 0, "symlink without a target");
    if (clear_target(u, t, t->base, false, &state, err) < 0)
        return -1;
    if (symlinkat(dst, t->dfd, t->base) < 0)
        return entry_err(err, t->entry, errno, "symlink");
    return apply_meta(u, t, e, -1, err);
}

/* Device nodes need CAP_MKNOD in the initial user namespace; a rootless
 * unpack gets EPERM and skips them, as podman does (the runtime
 * bind-mounts /dev nodes anyway). */
static int node_entry(struct unpacker *u, const struct target *t,
                      struct archive_entry *e, berth_error_t *err)
{
    unsigned type = archive_entry_filetype(e);
    mode_t fmt = type == AE_IFCHR ? S_IFCHR
                 : type == AE_IFBLK ? S_IFBLK
                                    : S_IFIFO;
    dev_t dev = fmt == S_IFIFO ? 0 : archive_entry_rdev(e);
    int state;

    if (clear_target(u, t, t->base, false, &state, err) < 0)
        return -1;
    if (mknodat(t->dfd, t->base, fmt | 0600, dev) < 0) {
        if (errno == EPERM && fmt != S_IFIFO)
            return 0;
        return entry_err(err, t->entry, errno, "mknod");
    }
    return apply_meta(u, t, e, -1, err);
}

static void copy_xattrs(int src, int dst)
{
    ssize_t n = flistxattr(src, NULL, 0);
    if (n <= 0)
        return;
    _cleanup_free_ char *names = xmalloc((size_t)n);
    n = flistxattr(src, names, (size_t)n);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
        char val[4096];
        ssize_t len = fgetxattr(src, names + i, val, sizeof(val));
        if (len >= 0 && !layer_is_overlay_xattr(names + i))
            fsetxattr(dst, names + i, val, (size_t)len, 0);
    }
}

/* A hard link to a file that only a lower layer holds: overlay cannot link
 * across layers, so the file is copied up into this layer first (the
 * merged view is unchanged) and the link made to the copy. */
static int copy_up(struct unpacker *u, const char *entry, int tdfd,
                   const char *tpath, const char *tbase,
                   const struct dirrec *trec, berth_error_t *err)
{
    struct lower_look look;
    int src = -1;

    if (lowers_scan(u, entry, tpath, trec->mask, &look, err) < 0)
        return -1;
    free(look.mask);
    /* the first lower holding the path is the one lowers_scan saw */
    for (size_t i = 0; S_ISREG(look.st.st_mode) && i < u->nlowers && src < 0;
         i++)
        if (mask_has(trec->mask, i))
            src = openat(u->lower_fds[i], tpath,
                         O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    _cleanup_close_ int in = src;
    if (in < 0)
        return entry_err(err, entry, 0, "hard link target \"%s\" not found",
                         tpath);
    _cleanup_close_ int out =
        openat(tdfd, tbase, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                                O_CLOEXEC, 0600);
    if (out < 0)
        return entry_err(err, entry, errno, "copy up %s", tpath);
    for (;;) {
        char buf[65536];
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (n > 0 && layer_write_full(out, buf, (size_t)n, -1) < 0))
            return entry_err(err, entry, errno, "copy up %s", tpath);
        if (n == 0)
            break;
    }
    if (chown_at(u, out, "", look.st.st_uid, look.st.st_gid, AT_EMPTY_PATH) < 0)
        return chown_err(err, entry, look.st.st_uid, look.st.st_gid);
    copy_xattrs(in, out);
    struct timespec ts[2] = {look.st.st_atim, look.st.st_mtim};
    if (fchmod(out, look.st.st_mode & 07777) < 0 || futimens(out, ts) < 0)
        return entry_err(err, entry, errno, "copy up %s", tpath);
    return 0;
}

static int hardlink_entry(struct unpacker *u, const struct target *t,
                          struct archive_entry *e, berth_error_t *err)
{
    const char *link = archive_entry_hardlink(e);
    _cleanup_free_ char *tpath = path_clean(link);
    _cleanup_free_ char *self = target_path(t, t->base);
    _cleanup_close_ int tdfd = -1;
    struct dirrec *trec;
    struct stat st, cur;
    int state;

    if (tpath == NULL || tpath[0] == '\0')
        return entry_err(err, t->entry, 0,
                         "hard link target \"%s\" escapes the layer", link);
    if (strcmp(tpath, self) == 0)
        return 0;
    char *slash = strrchr(tpath, '/');
    const char *tbase = slash ? slash + 1 : tpath;
    _cleanup_free_ char *tparent =
        slash ? xstrndup(tpath, (size_t)(slash - tpath)) : xstrdup("");
    if (parent_open(u, t->entry, tparent, &tdfd, &trec, err) < 0)
        return -1;
    if (fstatat(tdfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno != ENOENT)
            return entry_err(err, t->entry, errno, "stat %s", tpath);
        if (copy_up(u, t->entry, tdfd, tpath, tbase, trec, err) < 0)
            return -1;
    } else if (S_ISDIR(st.st_mode)) {
        return entry_err(err, t->entry, 0,
                         "hard link target \"%s\" is a directory", tpath);
    } else if (fstatat(t->dfd, t->base, &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
               cur.st_ino == st.st_ino && cur.st_dev == st.st_dev) {
        return 0;
    }
    if (clear_target(u, t, t->base, false, &state, err) < 0)
        return -1;
    if (linkat(tdfd, tbase, t->dfd, t->base, 0) < 0)
        return entry_err(err, t->entry, errno, "link to %s", tpath);
    return 0;
}

static int unpack_entry(struct unpacker *u, struct archive *ar,
                        struct archive_entry *e, berth_error_t *err)
{
    const char *name = archive_entry_pathname(e);
    _cleanup_free_ char *rel = name ? path_clean(name) : NULL;
    _cleanup_close_ int dfd = -1;
    struct target t = {.entry = name};

    if (name == NULL)
        return berth_error_new(err, 0, "layer entry with an unreadable name");
    if (rel == NULL)
        return entry_err(err, name, 0, "path escapes the layer");
    char *slash = strrchr(rel, '/');
    t.base = slash ? slash + 1 : rel;
    if (slash)
        *slash = '\0';
    t.parent = slash ? rel : "";
    if (parent_open(u, name, t.parent, &dfd, &t.dir, err) < 0)
        return -1;
    t.dfd = dfd;
    if (t.base[0] == '\0' && archive_entry_filetype(e) != AE_IFDIR)
        return entry_err(err, name, 0, "layer root is not a directory");
    if (str_has_prefix(t.base, WH_PREFIX))
        return whiteout_entry(u, &t, err);
    if (archive_entry_hardlink(e))
        return hardlink_entry(u, &t, e, err);
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return file_entry(u, &t, ar, e, err);
    case AE_IFDIR:
        return dir_entry(u, &t, e, err);
    case AE_IFLNK:
        return symlink_entry(u, &t, e, err);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        return node_entry(u, &t, e, err);
    case AE_IFSOCK:
        return 0; /* sockets are runtime objects, as GNU tar skips them */
    default:
        return entry_err(err, name, 0, "unsupported file type 0%o",
                         archive_entry_filetype(e));
    }
}

/* Directory metadata last, children before parents (reverse creation
 * order), so a 0555 or 0000 directory never blocks its own filling. */
static int apply_dirs(struct unpacker *u, berth_error_t *err)
{
    for (size_t i = u->nrecs; i-- > 0;) {
        struct dirrec *r = u->recs[i];
        if (r->dead || !r->meta)
            continue;
        const char *shown = r->path[0] ? r->path : ".";
        _cleanup_close_ int fd =
            open_beneath(u, r->path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            return entry_err(err, shown, errno, "open directory");
        if (chown_at(u, fd, "", r->uid, r->gid, AT_EMPTY_PATH) < 0)
            return chown_err(err, shown, r->uid, r->gid);
        if (fchmod(fd, r->mode) < 0)
            return entry_err(err, shown, errno, "chmod %04o", r->mode);
        if (r->has_times && futimens(fd, r->times) < 0)
            return entry_err(err, shown, errno, "set times");
    }
    return 0;
}

static int unpacker_init(struct unpacker *u, const char *dest,
                         const struct unpack_opts *opts, berth_error_t *err)
{
    u->opts = opts;
    u->root = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (u->root < 0)
        return berth_error_new(err, errno, "open %s", dest);
    u->nlowers = opts->lowers ? strv_len(opts->lowers) : 0;
    u->nwords = (u->nlowers + 63) / 64;
    u->lower_fds = xcalloc(u->nlowers + 1, sizeof(int));
    for (size_t i = 0; i < u->nlowers; i++) {
        u->lower_fds[i] = open(opts->lowers[i],
                               O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (u->lower_fds[i] < 0)
            return berth_error_new(err, errno, "open lower layer %s",
                                   opts->lowers[i]);
    }
    uint64_t *all = NULL;
    if (u->nlowers > 0) {
        all = xcalloc(u->nwords, sizeof(uint64_t));
        for (size_t i = 0; i < u->nlowers; i++)
            all[i / 64] |= 1ULL << (i % 64);
    }
    rec_add(u, "", all);
    return 0;
}

static int unpack_stream(struct unpacker *u, struct layer_tee *tee,
                         berth_error_t *err)
{
    _cleanup_aread_ struct archive *ar = archive_read_new();
    struct archive_entry *e;
    int r;

    u->tee = tee;
    archive_read_support_format_tar(ar);
    archive_read_support_format_empty(ar);
    if (archive_read_open(ar, tee, NULL, layer_tee_read, NULL) != ARCHIVE_OK)
        return berth_error_new(err, 0, "%s", layer_tee_error(tee, ar));
    /* ARCHIVE_WARN: names not valid in the C locale come back as their raw
     * bytes, which is what the layer must hold */
    while ((r = archive_read_next_header(ar, &e)) == ARCHIVE_OK ||
           r == ARCHIVE_WARN)
        if (unpack_entry(u, ar, e, err) < 0)
            return -1;
    if (r != ARCHIVE_EOF)
        return berth_error_new(err, 0, "%s", layer_tee_error(tee, ar));
    if (layer_tee_drain(tee) < 0)
        return berth_error_new(err, 0, "%s", tee->error);
    return apply_dirs(u, err);
}


int layer_unpack(const char *path, const char *dest,
                 const struct unpack_opts *opts, char **ret_diff_digest,
                 int64_t *ret_size, berth_error_t *err)
{
    static const struct unpack_opts none = {0};
    struct unpacker u = {.root = -1};
    struct layer_tee tee = {.fd = -1};
    int r;

    r = unpacker_init(&u, dest, opts ? opts : &none, err);
    if (r == 0)
        r = layer_tee_open(path, &tee, err);
    if (r == 0)
        r = unpack_stream(&u, &tee, err);
    /* a layer is renamed into the store next: its content must be on disk
     * before the name is */
    if (r == 0 && syncfs(u.root) < 0)
        r = berth_error_new(err, errno, "sync %s", dest);
    if (r == 0 && ret_diff_digest)
        *ret_diff_digest = layer_digest_of(&tee.hash);
    if (r == 0 && ret_size)
        *ret_size = u.size;
    layer_tee_done(&tee);
    unpacker_done(&u);
    if (r < 0)
        return berth_error_prefix(err, "unpack layer %s", path);
    return 0;
}

