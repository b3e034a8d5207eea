#define _GNU_SOURCE
#include "lib/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

int fs_mkdir_p(const char *path, mode_t mode, berth_error_t *err)
{
    _cleanup_free_ char *p = xstrdup(path);
    size_t len = strlen(p);

    for (size_t i = 1; i <= len; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST)
            return berth_error_new(err, errno, "mkdir %s", p);
        p[i] = c;
    }
    return 0;
}

int fs_read_file(const char *path, char **ret, size_t *ret_len,
                 berth_error_t *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    _cleanup_free_ char *buf = NULL;
    size_t len = 0, cap = 0;

    if (fd < 0)
        return berth_error_new(err, errno, "open %s", path);
    for (;;) {
        if (cap - len < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap + 1);
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return berth_error_new(err, errno, "read %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (buf == NULL)
        buf = xmalloc(1);
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    *ret = TAKE_PTR(buf);
    return 0;
}

int fs_fsync_dir(const char *dir)
{
    _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    return fsync(fd);
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Create PATH.tmp-XXXXXX and flock it for as long as it is written: a
 * cleaner (store_tmp_gc) removes only unlocked ones, the debris of a
 * killed writer.  A cleaner may remove ours between create and lock, so
 * check we hold the file that is at the name. */
static int create_locked_tmp(const char *path, char **ret_tmp, int *ret_fd,
                             berth_error_t *err)
{
    for (int attempt = 0; attempt < 16; attempt++) {
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        struct stat a, b;
        if (fd < 0)
            return berth_error_new(err, errno, "create %s", tmp);
        if (flock(fd, LOCK_EX) < 0)
            return berth_error_new(err, errno, "lock %s", tmp);
        if (fstat(fd, &a) == 0 && stat(tmp, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            *ret_tmp = TAKE_PTR(tmp);
            *ret_fd = TAKE_FD(fd);
            return 0;
        }
    }
    return berth_error_new(err, 0, "create %s.tmp-XXXXXX: raced with a cleaner",
                           path);
}

int fs_write_file_atomic(const char *path, const void *data, size_t len,
                         mode_t mode, berth_error_t *err)
{
    _cleanup_free_ char *tmp = NULL;
    _cleanup_free_ char *dircopy = xstrdup(path);
    _cleanup_close_ int fd = -1;

    if (create_locked_tmp(path, &tmp, &fd, err) < 0)
        return -1;
    if (fchmod(fd, mode) < 0 || write_all(fd, data, len) < 0 ||
        fsync(fd) < 0) {
        int e = errno;
        unlink(tmp);
        return berth_error_new(err, e, "write %s", path);
    }
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return berth_error_new(err, e, "rename %s", path);
    }
    fs_fsync_dir(dirname(dircopy));
    return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    if (flag == FTW_DNR) {
        /* a directory we may not read (overlay leaves work/work mode 000):
         * ours to open up, then remove like any other */
        if (chmod(path, 0700) < 0 ||
            nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS) < 0)
            return -1;
        return 0;
    }
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int fs_rm_rf(const char *path, berth_error_t *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return berth_error_new(err, errno, "stat %s", path);
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0 && errno != ENOENT)
            return berth_error_new(err, errno, "remove %s", path);
        return 0;
    }
    /* make directories writable first: layers may hold 0555 dirs */
    if (nftw(path, rm_cb, 64, FTW_DEPTH | FTW_PHYS) < 0) {
        int e = errno;
        if (e == EACCES || e == EPERM) {
            /* retry once after granting owner write on every directory */
            pid_t pid = fork();
            if (pid == 0) {
                execlp("chmod", "chmod", "-R", "u+rwx", path, (char *)NULL);
                _exit(127);
            }
            if (pid > 0) {
                int status;
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                    ;
                if (nftw(path, rm_cb, 64, FTW_DEPTH | FTW_PHYS) == 0)
                    return 0;
                e = errno;
            }
        }
        return berth_error_new(err, e, "remove %s", path);
    }
    return 0;
}

bool fs_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int fs_lock(const char *path, bool shared, int *ret_fd, berth_error_t *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return berth_error_new(err, errno, "open lock %s", path);
    while (flock(fd, shared ? LOCK_SH : LOCK_EX) < 0) {
        if (errno == EINTR)
            continue;
        int e = errno;
        close(fd);
        return berth_error_new(err, e, "lock %s", path);
    }
    *ret_fd = fd;
    return 0;
}

int fs_trylock(const char *path, int *ret_fd, berth_error_t *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return berth_error_new(err, errno, "open lock %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return 0;
        return berth_error_new(err, e, "lock %s", path);
    }
    *ret_fd = fd;
    return 1;
}

static unsigned long long du_total;
static int du_cb(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        du_total += (unsigned long long)st->st_size;
    return 0;
}

int fs_du(const char *path, unsigned long long *ret, berth_error_t *err)
{
    du_total = 0;
    if (nftw(path, du_cb, 64, FTW_PHYS) < 0 && errno != ENOENT)
        return berth_error_new(err, errno, "scan %s", path);
    *ret = du_total;
    return 0;
}

int fs_copy_file(const char *src, const char *dst, berth_error_t *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    if (fs_read_file(src, &data, &len, err) < 0)
        return -1;
    return fs_write_file_atomic(dst, data, len, 0644, err);
}

char *fs_find_exec(const char *name)
{
    struct stat st;
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 && stat(name, &st) == 0 &&
                       S_ISREG(st.st_mode)
                   ? xstrdup(name)
                   : NULL;
    const char *path = getenv("PATH");
    _cleanup_strv_ char **dirs =
        strv_split(path && *path ? path : "/usr/local/bin:/usr/bin:/bin", ":");
    for (size_t i = 0; dirs && dirs[i]; i++) {
        char *p = xasprintf("%s/%s", *dirs[i] ? dirs[i] : ".", name);
        if (access(p, X_OK) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            return p;
        free(p);
    }
    return NULL;
}
