#define _GNU_SOURCE
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

char *rt_path_in_root(const char *root, const char *path)
{
    char *rest = xstrdup(path);
    char *cur = xstrdup("");
    int links = 0;

    while (*rest) {
        char *s = rest;
        while (*s == '/')
            s++;
        size_t n = strcspn(s, "/");
        char *comp = xstrndup(s, n);
        char *next = xstrdup(s + n);
        free(rest);
        rest = next;
        if (n == 0 || strcmp(comp, ".") == 0) {
            free(comp);
            continue;
        }
        if (strcmp(comp, "..") == 0) {
            /* ".." at the root stays at the root, as in the kernel */
            char *sl = strrchr(cur, '/');
            if (sl)
                *sl = '\0';
            free(comp);
            continue;
        }
        char *cand = xasprintf("%s/%s", cur, comp);
        char *host = xasprintf("%s%s", root, cand);
        char buf[PATH_MAX];
        ssize_t l = links < 40 ? readlink(host, buf, sizeof(buf) - 1) : -1;
        free(comp);
        free(host);
        if (l > 0) {
            buf[l] = '\0';
            links++;
            char *nr = xasprintf("%s/%s", buf, rest);
            free(rest);
            rest = nr;
            if (buf[0] == '/')
                cur[0] = '\0';
            free(cand);
            continue;
        }
        free(cur);
        cur = cand;
    }
    char *ret = xasprintf("%s%s", root, cur);
    free(rest);
    free(cur);
    return ret;
}

void rt_mount_opts_parse(json_t *options, struct rt_mount_opts *ret)
{
    static const struct {
        const char *name;
        bool clear;
        unsigned long flag;
    } table[] = {
        {"ro", false, MS_RDONLY},          {"rw", true, MS_RDONLY},
        {"nosuid", false, MS_NOSUID},      {"suid", true, MS_NOSUID},
        {"nodev", false, MS_NODEV},        {"dev", true, MS_NODEV},
        {"noexec", false, MS_NOEXEC},      {"exec", true, MS_NOEXEC},
        {"sync", false, MS_SYNCHRONOUS},   {"async", true, MS_SYNCHRONOUS},
        {"dirsync", false, MS_DIRSYNC},    {"remount", false, MS_REMOUNT},
        {"mand", false, MS_MANDLOCK},      {"nomand", true, MS_MANDLOCK},
        {"noatime", false, MS_NOATIME},    {"atime", true, MS_NOATIME},
        {"nodiratime", false, MS_NODIRATIME},
        {"diratime", true, MS_NODIRATIME}, {"relatime", false, MS_RELATIME},
        {"norelatime", true, MS_RELATIME},
        {"strictatime", false, MS_STRICTATIME},
        {"nostrictatime", true, MS_STRICTATIME},
    };
    static const struct {
        const char *name;
        unsigned long flag;
    } prop[] = {
        {"private", MS_PRIVATE},
        {"rprivate", MS_PRIVATE | MS_REC},
        {"shared", MS_SHARED},
        {"rshared", MS_SHARED | MS_REC},
        {"slave", MS_SLAVE},
        {"rslave", MS_SLAVE | MS_REC},
        {"unbindable", MS_UNBINDABLE},
        {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    size_t i;
    json_t *v;
    char **data = NULL;

    memset(ret, 0, sizeof(*ret));
    json_array_foreach(options, i, v)
    {
        const char *o = json_string_value(v);
        bool known = false;
        if (o == NULL)
            continue;
        if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
            ret->bind = true;
            ret->rec = ret->rec || o[0] == 'r';
            continue;
        }
        for (size_t k = 0; !known && k < sizeof(table) / sizeof(table[0]); k++)
            if (strcmp(table[k].name, o) == 0) {
                known = true;
                if (table[k].clear) {
                    ret->flags &= ~table[k].flag;
                    ret->clear |= table[k].flag;
                } else {
                    ret->flags |= table[k].flag;
                    ret->clear &= ~table[k].flag;
                }
            }
        for (size_t k = 0; !known && k < sizeof(prop) / sizeof(prop[0]); k++)
            if (strcmp(prop[k].name, o) == 0) {
                known = true;
                ret->propagation = prop[k].flag;
            }
        /* runc's own extension with no kernel meaning */
        if (!known && strcmp(o, "tmpcopyup") != 0)
            strv_append(&data, o);
    }
    ret->data = data ? strv_join(data, ",") : NULL;
    strv_free(data);
}

static int mkdir_all(const char *path, berth_error_t *err)
{
    return fs_mkdir_p(path, 0755, err);
}

static int touch_file(const char *path, berth_error_t *err)
{
    _cleanup_free_ char *dir = xstrdup(path);
    char *sl = strrchr(dir, '/');
    if (sl && sl != dir) {
        *sl = '\0';
        if (mkdir_all(dir, err) < 0)
            return -1;
    }
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EISDIR)
        return berth_error_new(err, errno, "create %s", path);
    if (fd >= 0)
        close(fd);
    return 0;
}

/* Flags the kernel locks on mounts inherited from a more privileged
 * mount namespace: a remount inside a user namespace that drops one of
 * them fails with EPERM, so carry the current ones over. */
static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    unsigned long f = 0;
    if (statvfs(path, &sv) < 0)
        return 0;
    if (sv.f_flag & ST_NOSUID)
        f |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV)
        f |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC)
        f |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME)
        f |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME)
        f |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME)
        f |= MS_RELATIME;
    return f;
}

static int bind_remount(const char *target, unsigned long flags,
                        unsigned long clear, berth_error_t *err)
{
    unsigned long f = flags | (locked_flags(target) & ~clear);
    f &= ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | f, NULL) < 0)
        return berth_error_new(err, errno, "remount %s", target);
    return 0;
}

/* A recursive read-only bind: MS_RDONLY on the remount reaches the top
 * mount only, so the submounts (the host's cgroup hierarchies under
 * /sys/fs/cgroup) are remounted one by one. */
static int remount_submounts_ro(const char *target, berth_error_t *err)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0, tlen = strlen(target);
    if (f == NULL)
        return berth_error_new(err, errno, "open /proc/self/mountinfo");
    while (getline(&line, &cap, f) > 0) {
        char mp[PATH_MAX];
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ...; octal escapes in
         * MOUNTPOINT (spaces) leave the path unmatched, harmless here */
        if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
            continue;
        if (strncmp(mp, target, tlen) != 0 || mp[tlen] != '/')
            continue;
        if (bind_remount(mp, MS_RDONLY, 0, err) < 0)
            return -1;
    }
    return 0;
}

static int do_bind(const char *source, const char *target, bool rec,
                   unsigned long flags, unsigned long clear,
                   berth_error_t *err)
{
    struct stat st;
    if (stat(source, &st) < 0)
        return berth_error_new(err, errno, "bind mount source %s", source);
    if (S_ISDIR(st.st_mode) ? mkdir_all(target, err) < 0
                            : touch_file(target, err) < 0)
        return -1;
    if (mount(source, target, NULL, MS_BIND | (rec ? MS_REC : 0), NULL) < 0)
        return berth_error_new(err, errno, "bind mount %s on %s", source,
                               target);
    flags &= ~(MS_BIND | MS_REC | MS_REMOUNT);
    if (flags != 0 && bind_remount(target, flags, clear, err) < 0)
        return -1;
    if (rec && (flags & MS_RDONLY) && remount_submounts_ro(target, err) < 0)
        return -1;
    return 0;
}

/* A filesystem the kernel refuses inside a user namespace (sysfs without
 * a network namespace of our own, cgroup v1 hierarchies, mqueue without
 * an ipc namespace) is bound from the host instead, as runc does. */
static int mount_fs(const char *type, const char *source, const char *target,
                    struct rt_mount_opts *o, berth_error_t *err)
{
    const char *host = strcmp(type, "sysfs") == 0    ? "/sys"
                       : strcmp(type, "mqueue") == 0 ? "/dev/mqueue"
                                                     : NULL;
    if (mkdir_all(target, err) < 0)
        return -1;
    if (mount(source, target, type, o->flags, o->data) == 0)
        return 0;
    int e = errno;
    if (strcmp(type, "devpts") == 0 && o->data && strstr(o->data, "gid=")) {
        /* gid 5 (tty) is not mapped in a single-id user namespace */
        _cleanup_strv_ char **v = strv_split(o->data, ",");
        _cleanup_strv_ char **keep = NULL;
        for (char **p = v; *p; p++)
            if (!str_has_prefix(*p, "gid="))
                strv_append(&keep, *p);
        _cleanup_free_ char *d = keep ? strv_join(keep, ",") : NULL;
        if (mount(source, target, type, o->flags, d) == 0)
            return 0;
    }
    if (host && (e == EPERM || e == EACCES || e == EINVAL) && fs_exists(host))
        return do_bind(host, target, true, o->flags, o->clear, err);
    return berth_error_new(err, e, "mount %s on %s", type, target);
}

/* type "cgroup": cgroup2 where the host has the unified hierarchy; on
 * hybrid and v1 hosts the host's tree is bound read-only (v1 hierarchies
 * cannot be mounted in a user namespace). */
static int mount_cgroup(const char *target, struct rt_mount_opts *o,
                        berth_error_t *err)
{
    struct statfs sf;
    if (statfs("/sys/fs/cgroup", &sf) == 0 &&
        (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC) {
        if (mkdir_all(target, err) < 0)
            return -1;
        if (mount("cgroup2", target, "cgroup2", o->flags, NULL) == 0)
            return 0;
    }
    if (!fs_exists("/sys/fs/cgroup"))
        return 0;
    return do_bind("/sys/fs/cgroup", target, true, o->flags | MS_RDONLY,
                   o->clear, err);
}

static int mount_entry(struct rt_init *c, json_t *m, berth_error_t *err)
{
    const char *dest = json_get_str(m, "destination");
    const char *type = json_get_str(m, "type");
    const char *source = json_get_str(m, "source");
    struct rt_mount_opts o;
    int r;

    if (dest == NULL || dest[0] != '/')
        return berth_error_new(err, 0, "mount destination %s is not an "
                                       "absolute path",
                               dest ? dest : "(missing)");
    rt_mount_opts_parse(json_object_get(m, "options"), &o);
    _cleanup_free_ char *data = o.data;
    _cleanup_free_ char *target = rt_path_in_root(c->rootfs, dest);
    if (type && strcmp(type, "bind") == 0)
        o.bind = true;
    if (o.bind)
        r = do_bind(source ? source : "", target, o.rec, o.flags, o.clear,
                    err);
    else if (type && strcmp(type, "cgroup") == 0)
        r = mount_cgroup(target, &o, err);
    else if (type)
        r = mount_fs(type, source ? source : type, target, &o, err);
    else
        r = berth_error_new(err, 0, "mount %s: no type", dest);
    if (r < 0)
        return -1;
    if (o.propagation && mount(NULL, target, NULL, o.propagation, NULL) < 0)
        return berth_error_new(err, errno, "set propagation of %s", dest);
    return 0;
}

static int make_device(struct rt_init *c, const char *path, char type,
                       unsigned maj, unsigned min, mode_t mode, uid_t uid,
                       gid_t gid, berth_error_t *err)
{
    _cleanup_free_ char *target = rt_path_in_root(c->rootfs, path);
    mode_t fmt = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
    _cleanup_free_ char *dir = xstrdup(target);
    *strrchr(dir, '/') = '\0';
    if (mkdir_all(dir, err) < 0)
        return -1;
    if (!c->userns) {
        unlink(target);
        if (mknod(target, fmt | (mode & 07777), makedev(maj, min)) == 0) {
            if (chown(target, uid, gid) < 0)
                return berth_error_new(err, errno, "chown %s", target);
            return 0;
        }
        if (errno != EPERM)
            return berth_error_new(err, errno, "mknod %s", target);
    }
    /* no mknod in a user namespace: bind the host's node */
    if (!fs_exists(path))
        return berth_error_new(err, ENOENT, "device %s", path);
    return do_bind(path, target, false, 0, 0, err);
}

static int setup_devices(struct rt_init *c, berth_error_t *err)
{
    static const struct {
        const char *path;
        unsigned maj, min;
    } dflt[] = {{"/dev/null", 1, 3},    {"/dev/zero", 1, 5},
                {"/dev/full", 1, 7},    {"/dev/random", 1, 8},
                {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
    json_t *devs = json_object_get(json_object_get(c->config, "linux"),
                                   "devices");
    size_t i;
    json_t *d;

    json_array_foreach(devs, i, d)
    {
        const char *path = json_get_str(d, "path");
        const char *type = json_get_str(d, "type");
        if (path == NULL || type == NULL)
            return berth_error_new(err, 0, "linux.devices: path and type "
                                           "are required");
        if (make_device(c, path, type[0], (unsigned)json_get_int(d, "major", 0),
                        (unsigned)json_get_int(d, "minor", 0),
                        (mode_t)json_get_int(d, "fileMode", 0666),
                        (uid_t)json_get_int(d, "uid", 0),
                        (gid_t)json_get_int(d, "gid", 0), err) < 0)
            return -1;
    }
    for (size_t k = 0; k < sizeof(dflt) / sizeof(dflt[0]); k++) {
        bool listed = false;
        json_array_foreach(devs, i, d)
        {
            const char *p = json_get_str(d, "path");
            listed = listed || (p && strcmp(p, dflt[k].path) == 0);
        }
        if (!listed && make_device(c, dflt[k].path, 'c', dflt[k].maj,
                                   dflt[k].min, 0666, 0, 0, err) < 0)
            return -1;
    }
    return 0;
}

static int setup_dev_links(struct rt_init *c, berth_error_t *err)
{
    static const char *const links[][2] = {
        {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
        {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
        {"/proc/kcore", "/dev/core"},       {"pts/ptmx", "/dev/ptmx"},
    };
    for (size_t k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
        _cleanup_free_ char *t = rt_path_in_root(c->rootfs, links[k][1]);
        if (strcmp(links[k][1], "/dev/ptmx") == 0)
            unlink(t);
        if (symlink(links[k][0], t) < 0 && errno != EEXIST)
            return berth_error_new(err, errno, "symlink %s", t);
    }
    return 0;
}

/* The pty comes from the container's own devpts instance; its slave is
 * bound on /dev/console as runc does. */
static int setup_console(struct rt_init *c, berth_error_t *err)
{
    _cleanup_free_ char *ptmx = rt_path_in_root(c->rootfs, "/dev/ptmx");
    _cleanup_free_ char *console = rt_path_in_root(c->rootfs, "/dev/console");
    c->pty_master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (c->pty_master < 0)
        return berth_error_new(err, errno, "open %s", ptmx);
    if (unlockpt(c->pty_master) < 0)
        return berth_error_new(err, errno, "unlockpt");
    c->pty_slave = ioctl(c->pty_master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (c->pty_slave < 0)
        return berth_error_new(err, errno, "open the pty's peer");
    _cleanup_free_ char *self = xasprintf("/proc/self/fd/%d", c->pty_slave);
    if (touch_file(console, err) < 0)
        return -1;
    if (mount(self, console, NULL, MS_BIND, NULL) < 0)
        return berth_error_new(err, errno, "bind the console on %s", console);
    return 0;
}

static unsigned long root_propagation(json_t *linux_)
{
    const char *p = json_get_str(linux_, "rootfsPropagation");
    if (p == NULL)
        return MS_SLAVE | MS_REC;
    struct rt_mount_opts o;
    json_t *a = json_pack("[s]", p);
    rt_mount_opts_parse(a, &o);
    json_decref(a);
    free(o.data);
    return o.propagation ? o.propagation : MS_SLAVE | MS_REC;
}

int rt_rootfs_prepare(struct rt_init *c, berth_error_t *err)
{
    json_t *linux_ = json_object_get(c->config, "linux");
    size_t i;
    json_t *m;

    /* Nothing we mount may reach the host: no shared propagation from
     * here on (a shared rootfs parent also makes pivot_root fail). */
    unsigned long prop = root_propagation(linux_);
    if (mount(NULL, "/", NULL, (prop & MS_SHARED) ? MS_PRIVATE | MS_REC : prop,
              NULL) < 0)
        return berth_error_new(err, errno, "make / private");
    /* pivot_root needs the new root to be a mount point */
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berth_error_new(err, errno, "bind mount rootfs %s", c->rootfs);
    json_array_foreach(json_object_get(c->config, "mounts"), i, m)
    {
        if (mount_entry(c, m, err) < 0)
            return -1;
    }
    if (setup_devices(c, err) < 0 || setup_dev_links(c, err) < 0)
        return -1;
    if (json_is_true(json_object_get(c->process, "terminal")) &&
        c->console_fd >= 0 && setup_console(c, err) < 0)
        return -1;
    return 0;
}

int rt_rootfs_pivot(struct rt_init *c, berth_error_t *err)
{
    _cleanup_close_ int oldroot = open("/", O_DIRECTORY | O_PATH | O_CLOEXEC);
    _cleanup_close_ int newroot =
        open(c->rootfs, O_DIRECTORY | O_PATH | O_CLOEXEC);
    if (oldroot < 0 || newroot < 0)
        return berth_error_new(err, errno, "open %s", c->rootfs);
    if (fchdir(newroot) < 0)
        return berth_error_new(err, errno, "chdir %s", c->rootfs);
    /* pivot_root(".", "."), as runc: the old root ends up stacked under the
     * new one and needs no directory inside the container's rootfs. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return berth_error_new(err, errno, "pivot_root %s", c->rootfs);
    if (fchdir(oldroot) < 0)
        return berth_error_new(err, errno, "chdir to the old root");
    /* As bubblewrap: the old root may still be shared with the host's mount
     * namespace (rootfsPropagation "shared", or mounts made shared by
     * systemd), and unmounting it there would propagate the unmount to
     * the host.  Make it rprivate first, then detach it. */
    if (mount(NULL, ".", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return berth_error_new(err, errno, "make the old root rprivate");
    if (umount2(".", MNT_DETACH) < 0)
        return berth_error_new(err, errno, "unmount the old root");
    if (chdir("/") < 0)
        return berth_error_new(err, errno, "chdir /");
    unsigned long prop = root_propagation(json_object_get(c->config, "linux"));
    if ((prop & MS_SHARED) && mount(NULL, "/", NULL, prop, NULL) < 0)
        return berth_error_new(err, errno, "make / shared");
    return 0;
}

static int write_sysctls(json_t *sysctl, berth_error_t *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(sysctl, key, v)
    {
        _cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
        for (char *p = path + strlen("/proc/sys/"); *p; p++)
            if (*p == '.')
                *p = '/';
        const char *val = json_string_value(v);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || val == NULL ||
            write(fd, val, strlen(val)) != (ssize_t)strlen(val))
            return berth_error_new(err, errno, "set sysctl %s", key);
    }
    return 0;
}

static int mask_paths(json_t *paths, berth_error_t *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(paths, i, v)
    {
        const char *p = json_string_value(v);
        struct stat st;
        if (p == NULL || stat(p, &st) < 0)
            continue;
        int r = S_ISDIR(st.st_mode)
                    ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0k")
                    : mount("/dev/null", p, NULL, MS_BIND, NULL);
        if (r < 0)
            return berth_error_new(err, errno, "mask %s", p);
    }
    return 0;
}

static int readonly_paths(json_t *paths, berth_error_t *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(paths, i, v)
    {
        const char *p = json_string_value(v);
        if (p == NULL)
            continue;
        if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0) {
            if (errno == ENOENT)
                continue;
            return berth_error_new(err, errno, "bind %s read-only", p);
        }
        if (bind_remount(p, MS_RDONLY, 0, err) < 0)
            return -1;
    }
    return 0;
}

int rt_rootfs_finalize(struct rt_init *c, berth_error_t *err)
{
    json_t *linux_ = json_object_get(c->config, "linux");
    const char *host = json_get_str(c->config, "hostname");
    const char *dom = json_get_str(c->config, "domainname");

    if (host && sethostname(host, strlen(host)) < 0)
        return berth_error_new(err, errno, "set hostname %s", host);
    if (dom && setdomainname(dom, strlen(dom)) < 0)
        return berth_error_new(err, errno, "set domainname %s", dom);
    if (write_sysctls(json_object_get(linux_, "sysctl"), err) < 0 ||
        readonly_paths(json_object_get(linux_, "readonlyPaths"), err) < 0 ||
        mask_paths(json_object_get(linux_, "maskedPaths"), err) < 0)
        return -1;
    if (json_is_true(
            json_object_get(json_object_get(c->config, "root"), "readonly")) &&
        bind_remount("/", MS_RDONLY, 0, err) < 0)
        return -1;
    return 0;
}
