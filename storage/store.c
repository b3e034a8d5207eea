#define _GNU_SOURCE
#include "storage/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"

char *store_default_root(void)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (!userns_rootless())
        return xstrdup("/var/lib/berth");
    if (xdg && *xdg)
        return xasprintf("%s/berth", xdg);
    return xasprintf("%s/.local/share/berth", home && *home ? home : "/tmp");
}

char *store_default_runroot(void)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (!userns_rootless())
        return xstrdup("/run/berth");
    /* su and many ssh logins leave XDG_RUNTIME_DIR unset */
    if (xdg && *xdg)
        return xasprintf("%s/berth", xdg);
    return xasprintf("/tmp/berth-%u", (unsigned)getuid());
}

char *store_path(const struct store *s, const char *fmt, ...)
{
    va_list ap;
    char *rel = NULL;
    va_start(ap, fmt);
    if (vasprintf(&rel, fmt, ap) < 0)
        abort();
    va_end(ap);
    char *p = xasprintf("%s/%s", s->root, rel);
    free(rel);
    return p;
}

static int check_driver(struct store *s, const char *want, berth_error_t *err)
{
    _cleanup_free_ char *cfg = store_path(s, "storage.json");
    _cleanup_json_ json_t *j = NULL;
    berth_error_t lerr = NULL;

    if (want && strcmp(want, "overlay") != 0 && strcmp(want, "vfs") != 0)
        return berth_error_new(err, 0,
                               "unknown storage driver \"%s\" (supported: "
                               "overlay, vfs)",
                               want);
    j = json_load_path(cfg, &lerr);
    if (j == NULL) {
        bool missing = lerr->errnum == ENOENT;
        berth_error_free(&lerr);
        if (!missing)
            return berth_error_new(err, 0, "%s is corrupt: remove it to "
                                   "choose the storage driver again", cfg);
        s->driver = xstrdup(want ? want : "overlay");
        json_decref(j);
        j = json_pack("{s:s}", "driver", s->driver);
        return json_write_path(cfg, j, err);
    }
    const char *have = json_get_str(j, "driver");
    if (have == NULL)
        have = "overlay";
    if (want && strcmp(want, have) != 0)
        return berth_error_new(err, 0,
                               "storage driver \"%s\" does not match the "
                               "driver \"%s\" the store at %s was created "
                               "with (use --root for a separate store, or "
                               "berth system reset)",
                               want, have, s->root);
    s->driver = xstrdup(have);
    return 0;
}

int store_open(const struct store_opts *opts, struct store **ret,
               berth_error_t *err)
{
    static const char *const dirs[] = {"blobs/sha256", "layers", "images",
                                       "containers", "names",
                                       "tmp", "locks"};
    struct store *s = xcalloc(1, sizeof(*s));

    s->root = opts->root ? xstrdup(opts->root) : store_default_root();
    s->runroot =
        opts->runroot ? xstrdup(opts->runroot) : store_default_runroot();
    s->rootless = userns_rootless();
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        _cleanup_free_ char *d = store_path(s, "%s", dirs[i]);
        if (fs_mkdir_p(d, 0700, err) < 0)
            goto fail;
    }
    if (fs_mkdir_p(s->runroot, 0700, err) < 0)
        goto fail;
    if (check_driver(s, opts->driver, err) < 0)
        goto fail;
    store_tmp_gc(s);
    *ret = s;
    return 0;
fail:
    berth_error_prefix(err, "open store %s", s->root);
    store_free(s);
    return -1;
}

void store_free(struct store *s)
{
    if (s == NULL)
        return;
    free(s->root);
    free(s->runroot);
    free(s->driver);
    free(s);
}

int store_tmp_new(struct store *s, struct store_tmp *ret, berth_error_t *err)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        _cleanup_free_ char *lock = store_path(s, "tmp/XXXXXX.lock");
        int fd = mkostemps(lock, 5, O_CLOEXEC);
        struct stat a, b;
        if (fd < 0)
            return berth_error_new(err, errno, "create %s", lock);
        if (flock(fd, LOCK_EX) < 0) {
            close(fd);
            return berth_error_new(err, errno, "lock %s", lock);
        }
        /* A cleaner may have taken and removed the file between create
         * and lock: make sure we hold the lock of the file at the path. */
        if (fstat(fd, &a) < 0 || stat(lock, &b) < 0 || a.st_ino != b.st_ino) {
            close(fd);
            continue;
        }
        lock[strlen(lock) - 5] = '\0';
        ret->path = TAKE_PTR(lock);
        ret->lock_fd = fd;
        return 0;
    }
    return berth_error_new(err, 0, "cannot create a temporary entry in %s/tmp",
                           s->root);
}

void store_tmp_done(struct store *s, struct store_tmp *tmp)
{
    if (tmp->path == NULL)
        return;
    berth_error_t e = NULL;
    if (store_rm_tree(s, tmp->path, &e) < 0)
        berth_error_free(&e);
    _cleanup_free_ char *lock = xasprintf("%s.lock", tmp->path);
    unlink(lock);
    if (tmp->lock_fd >= 0)
        close(tmp->lock_fd);
    free(tmp->path);
    tmp->path = NULL;
    tmp->lock_fd = -1;
}

/* fs_write_file_atomic's PATH.tmp-XXXXXX files are flocked while written:
 * an unlocked one is left by a killed writer. */
static void atomic_debris_gc(struct store *s, const char *sub)
{
    _cleanup_free_ char *dir = store_path(s, "%s", sub);
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".tmp-") == NULL)
            continue;
        _cleanup_close_ int fd = openat(dirfd(d), de->d_name,
                                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
            continue;
        /* a writer that renamed it into place before we locked leaves
         * nothing at this name: ENOENT is fine */
        unlinkat(dirfd(d), de->d_name, 0);
    }
}

void store_tmp_gc(struct store *s)
{
    _cleanup_free_ char *dir = store_path(s, "tmp");
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    char **stale = NULL;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, de->d_name);
        if (str_has_suffix(de->d_name, ".lock")) {
            int fd = -1;
            berth_error_t e = NULL;
            if (fs_trylock(path, &fd, &e) == 1) {
                path[strlen(path) - 5] = '\0';
                /* keep holding the lock until removed */
                strv_push(&stale, xasprintf("%d %s", fd, path));
            }
            berth_error_free(&e);
        } else {
            /* an entry with no lock file at all is debris too */
            _cleanup_free_ char *lock = xasprintf("%s.lock", path);
            if (!fs_exists(lock))
                strv_push(&stale, xasprintf("-1 %s", path));
        }
    }
    for (size_t i = 0; stale && stale[i]; i++) {
        char *sp = strchr(stale[i], ' ');
        int fd = atoi(stale[i]);
        struct store_tmp t = {.path = xstrdup(sp + 1), .lock_fd = fd};
        store_tmp_done(s, &t);
    }
    strv_free(stale);
    atomic_debris_gc(s, "images");
    atomic_debris_gc(s, "blobs/sha256");
    atomic_debris_gc(s, ".");
}

static int rm_tree_fn(void *arg, berth_error_t *err)
{
    return fs_rm_rf(arg, err);
}

int store_rm_tree(struct store *s, const char *path, berth_error_t *err)
{
    if (!fs_exists(path))
        return 0;
    if (!s->rootless)
        return fs_rm_rf(path, err);
    /* Fast path: a tree of our own files needs no namespace. */
    berth_error_t e = NULL;
    if (fs_rm_rf(path, &e) == 0)
        return 0;
    berth_error_free(&e);
    return userns_run(rm_tree_fn, (void *)path, err) < 0 ? -1 : 0;
}

int store_lock(struct store *s, const char *name, int *ret_fd,
               berth_error_t *err)
{
    _cleanup_free_ char *p = store_path(s, "locks/%s.lock", name);
    return fs_lock(p, false, ret_fd, err);
}

int store_pin(struct store *s, int *ret_fd, berth_error_t *err)
{
    _cleanup_free_ char *p = store_path(s, "locks/gc.lock");
    return fs_lock(p, true, ret_fd, err);
}

/* --- blobs --- */

static const char *digest_hex(const char *digest)
{
    return str_has_prefix(digest, "sha256:") ? digest + 7 : digest;
}

char *store_blob_path(struct store *s, const char *digest)
{
    return store_path(s, "blobs/sha256/%s", digest_hex(digest));
}

bool store_blob_exists(struct store *s, const char *digest)
{
    _cleanup_free_ char *p = store_blob_path(s, digest);
    return fs_exists(p);
}

int store_blob_commit(struct store *s, const char *path, const char *digest,
                      berth_error_t *err)
{
    char hex[65];
    if (sha256_file_hex(path, hex, NULL) < 0)
        return berth_error_new(err, errno, "read %s", path);
    if (strcmp(hex, digest_hex(digest)) != 0)
        return berth_error_new(err, 0,
                               "blob %s: digest mismatch (got sha256:%s)",
                               digest, hex);
    return store_blob_commit_verified(s, path, digest, err);
}

int store_blob_commit_verified(struct store *s, const char *path,
                               const char *digest, berth_error_t *err)
{
    _cleanup_free_ char *dst = store_blob_path(s, digest);
    if (rename(path, dst) < 0)
        return berth_error_new(err, errno, "rename %s to %s", path, dst);
    _cleanup_free_ char *dir = store_path(s, "blobs/sha256");
    fs_fsync_dir(dir);
    return 0;
}

/* Written in ROOT/tmp and renamed into place, so that a killed writer
 * never leaves a half blob under blobs/ (only debris in ROOT/tmp). */
static int blob_write_new(struct store *s, const char *dst, const void *data,
                          size_t len, berth_error_t *err)
{
    struct store_tmp tmp = {0};
    _cleanup_free_ char *dir = store_path(s, "blobs/sha256");
    const char *p = data;
    int r = -1;

    if (store_tmp_new(s, &tmp, err) < 0)
        return -1;
    int fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        berth_error_new(err, errno, "create %s", tmp.path);
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        p += n;
        len -= (size_t)n;
    }
    if (len > 0 || fsync(fd) < 0) {
        berth_error_new(err, errno, "write %s", tmp.path);
        close(fd);
        goto out;
    }
    close(fd);
    if (rename(tmp.path, dst) < 0) {
        berth_error_new(err, errno, "rename %s to %s", tmp.path, dst);
        goto out;
    }
    fs_fsync_dir(dir);
    r = 0;
out:
    store_tmp_done(s, &tmp);
    return r;
}

int store_blob_put(struct store *s, const void *data, size_t len,
                   char **ret_digest, berth_error_t *err)
{
    char hex[65];
    sha256_hex(data, len, hex);
    _cleanup_free_ char *dst = store_path(s, "blobs/sha256/%s", hex);
    if (!fs_exists(dst) && blob_write_new(s, dst, data, len, err) < 0)
        return -1;
    if (ret_digest)
        *ret_digest = xasprintf("sha256:%s", hex);
    return 0;
}

int store_blob_read(struct store *s, const char *digest, char **ret,
                    size_t *ret_len, berth_error_t *err)
{
    _cleanup_free_ char *p = store_blob_path(s, digest);
    return fs_read_file(p, ret, ret_len, err);
}
