#define _GNU_SOURCE
#include "runtime/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"
#include "runtime/cgroup-internal.h"

static const struct {
    unsigned bit;
    const char *v2, *v1;
} controllers[] = {
    {CGROUP_CPU, "cpu", "cpu"},          {CGROUP_CPUSET, "cpuset", "cpuset"},
    {CGROUP_IO, "io", "blkio"},          {CGROUP_MEMORY, "memory", "memory"},
    {CGROUP_PIDS, "pids", "pids"},       {CGROUP_FREEZER, NULL, "freezer"},
};
#define N_CONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))

const char *cgroup_mode_name(enum cgroup_mode mode)
{
    switch (mode) {
    case CGROUP_MODE_V1:
        return "v1";
    case CGROUP_MODE_HYBRID:
        return "hybrid";
    case CGROUP_MODE_V2:
        return "v2";
    case CGROUP_MODE_NONE:
        return "none";
    default:
        return "unknown";
    }
}

const char *cgroup_controller_name(unsigned ctrl)
{
    for (size_t i = 0; i < N_CONTROLLERS; i++)
        if (controllers[i].bit == ctrl)
            return controllers[i].v2 ? controllers[i].v2 : controllers[i].v1;
    return "unknown";
}

void cgroup_info_clear(struct cgroup_info *info)
{
    free(info->mountpoint);
    free(info->own_path);
    free(info->base_path);
    *info = (struct cgroup_info){0};
}

int cgroup_write(const char *dir, const char *file, const char *value,
                 berth_error_t *err)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
    _cleanup_close_ int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0)
        return berth_error_new(err, errno, "open %s", p);
    size_t len = strlen(value);
    ssize_t n = write(fd, value, len);
    if (n < 0 || (size_t)n != len)
        return berth_error_new(err, n < 0 ? errno : EIO, "write %s to %s",
                               value, p);
    return 0;
}

int cgroup_read(const char *dir, const char *file, char **ret,
                berth_error_t *err)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, file);
    char *buf;
    size_t len;
    if (fs_read_file(p, &buf, &len, err) < 0)
        return -1;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
        buf[--len] = '\0';
    *ret = buf;
    return 0;
}

int64_t cgroup_read_keyed(const char *dir, const char *file, const char *key)
{
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (cgroup_read(dir, file, &buf, &e) < 0) {
        berth_error_free(&e);
        return -1;
    }
    size_t klen = strlen(key);
    for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1
                                                      : NULL)
        if (strncmp(l, key, klen) == 0 && l[klen] == ' ')
            return strtoll(l + klen + 1, NULL, 10);
    return -1;
}

int cgroup_rmdir_tree(const char *dir, berth_error_t *err)
{
    _cleanup_closedir_ DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : berth_error_new(err, errno, "open %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
            !strcmp(de->d_name, ".."))
            continue;
        _cleanup_free_ char *sub = xasprintf("%s/%s", dir, de->d_name);
        if (cgroup_rmdir_tree(sub, err) < 0)
            return -1;
    }
    /* the container's last processes may still be on their way out */
    for (int tries = 0; rmdir(dir) < 0 && errno == EBUSY && tries < 100;
         tries++)
        usleep(10000);
    if (rmdir(dir) < 0 && errno != ENOENT)
        return berth_error_new(err, errno,
                               errno == EBUSY ? "remove cgroup %s (processes "
                                                "still in it)"
                                              : "remove cgroup %s",
                               dir);
    return 0;
}

void cgroup_warn(char ***warnings, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (s == NULL)
        abort(); /* out of memory, as xasprintf */
    if (*warnings == NULL)
        *warnings = xcalloc(1, sizeof(char *));
    strv_push(warnings, s);
}

void cgroup_warn_missing(char ***warnings, const struct cgroup_info *info,
                         const char *what, unsigned ctrl)
{
    const char *name = cgroup_controller_name(ctrl);
    bool v2 = info->mode == CGROUP_MODE_V2;
    if (info->mode == CGROUP_MODE_NONE)
        cgroup_warn(warnings, "%s not applied: no cgroup file system at %s",
                    what, info->mountpoint ? info->mountpoint : "?");
    else if (!(info->available & ctrl))
        cgroup_warn(warnings,
                    "%s not applied: cgroup %s controller %s is not "
                    "available on this host",
                    what, v2 ? "v2" : "v1", name);
    else if (v2)
        cgroup_warn(warnings,
                    "%s not applied: cgroup v2 controller %s is not "
                    "delegated to user %u (run with systemd delegation, see "
                    "README)",
                    what, name, (unsigned)info->uid);
    else
        cgroup_warn(warnings,
                    "%s not applied: cgroup v1 controller %s cannot be used "
                    "by user %u (rootless limits need cgroup v2 with systemd "
                    "delegation, see README)",
                    what, name, (unsigned)info->uid);
}

/* The path of one hierarchy in /proc/self/cgroup text: "" is the v2
 * line (0::/path), else a v1 controller name. */
static char *proc_cgroup_path(const char *text, const char *ctrl)
{
    _cleanup_strv_ char **lines = strv_split(text ? text : "", "\n");
    for (size_t i = 0; lines[i]; i++) {
        char *c1 = strchr(lines[i], ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        _cleanup_strv_ char **names = strv_split(c1 + 1, ",");
        if (*ctrl ? strv_contains(names, ctrl)
                  : (c1 == lines[i] + 1 && lines[i][0] == '0' && !names[0]))
            return xstrdup(c2 + 1);
    }
    return NULL;
}

static unsigned parse_v2_controllers(const char *dir)
{
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    unsigned mask = 0;
    if (cgroup_read(dir, "cgroup.controllers", &buf, &e) < 0) {
        berth_error_free(&e);
        return 0;
    }
    _cleanup_strv_ char **names = strv_split(buf, " \n");
    for (size_t i = 0; i < N_CONTROLLERS; i++)
        if (controllers[i].v2 && strv_contains(names, controllers[i].v2))
            mask |= controllers[i].bit;
    return mask;
}

static bool owned_by(const char *path, uid_t uid)
{
    struct stat st;
    return uid == 0 || (stat(path, &st) == 0 && st.st_uid == uid);
}

static void detect_v2(struct cgroup_info *info, const char *proc_cgroup)
{
    info->mode = CGROUP_MODE_V2;
    info->available = parse_v2_controllers(info->mountpoint);
    info->own_path = proc_cgroup_path(proc_cgroup, "");
    if (info->own_path == NULL)
        info->own_path = xstrdup("/");
    if (info->uid == 0) {
        info->base_path = xstrdup("/");
        info->delegated = info->available;
        return;
    }
    info->base_path = xstrdup(info->own_path);
    char *slash = strrchr(info->base_path, '/');
    if (slash && slash != info->base_path)
        *slash = '\0';
    else
        strcpy(info->base_path, "/");
    /* Delegation (systemd Delegate=yes) hands the user the subtree: its
     * cgroup.subtree_control is theirs to write, and its
     * cgroup.controllers lists what they may enable. */
    _cleanup_free_ char *base = xasprintf("%s%s", info->mountpoint,
                                          info->base_path);
    _cleanup_free_ char *ctl = xasprintf("%s/cgroup.subtree_control", base);
    if (owned_by(ctl, info->uid))
        info->delegated = parse_v2_controllers(base);
}

static void detect_v1(struct cgroup_info *info, const char *proc_cgroup)
{
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        _cleanup_free_ char *d = xasprintf("%s/%s", info->mountpoint,
                                           controllers[i].v1);
        if (!fs_exists(d))
            continue;
        info->available |= controllers[i].bit;
        /* A v1 hierarchy is root's; the rare admin who chowns a subtree
         * to a user gets it used. */
        _cleanup_free_ char *own = proc_cgroup_path(proc_cgroup,
                                                    controllers[i].v1);
        _cleanup_free_ char *od = xasprintf("%s%s", d, own ? own : "/");
        if (info->uid == 0 || (own && strcmp(own, "/") && owned_by(od,
                                                                    info->uid)))
            info->delegated |= controllers[i].bit;
    }
    if (info->available == 0) {
        info->mode = CGROUP_MODE_NONE;
        return;
    }
    _cleanup_free_ char *unified = xasprintf("%s/unified/cgroup.controllers",
                                             info->mountpoint);
    info->mode = fs_exists(unified) ? CGROUP_MODE_HYBRID : CGROUP_MODE_V1;
    info->own_path = proc_cgroup_path(proc_cgroup, "memory");
    if (info->own_path == NULL)
        info->own_path = xstrdup("/");
    info->base_path = xstrdup("/");
}

int cgroup_detect_full(const char *mountpoint, const char *proc_cgroup,
                       uid_t uid, struct cgroup_info *ret, berth_error_t *err)
{
    (void)err;
    struct cgroup_info info = {.mountpoint = xstrdup(mountpoint), .uid = uid};
    _cleanup_free_ char *v2 = xasprintf("%s/cgroup.controllers", mountpoint);
    if (fs_exists(v2))
        detect_v2(&info, proc_cgroup);
    else
        detect_v1(&info, proc_cgroup);
    if (info.base_path == NULL)
        info.base_path = xstrdup("/");
    *ret = info;
    return 0;
}

int cgroup_detect(const char *mountpoint, struct cgroup_info *ret,
                  berth_error_t *err)
{
    _cleanup_free_ char *text = NULL;
    berth_error_t e = NULL;
    /* Without /proc (an odd chroot) we still know the hierarchy. */
    if (fs_read_file("/proc/self/cgroup", &text, NULL, &e) < 0)
        berth_error_free(&e);
    return cgroup_detect_full(mountpoint ? mountpoint : "/sys/fs/cgroup",
                              text, geteuid(), ret, err);
}

char *cgroup_container_path(const struct cgroup_info *info, const char *id)
{
    if (info->uid == 0)
        return xasprintf("/berth/%s", id);
    return xasprintf("%s/berth-%s",
                     strcmp(info->base_path, "/") ? info->base_path : "",
                     id);
}

static const struct cgroup_ops *ops_for(const struct cgroup_info *info)
{
    switch (info->mode) {
    case CGROUP_MODE_V2:
        return &cgroup_ops_v2;
    case CGROUP_MODE_V1:
    case CGROUP_MODE_HYBRID:
        return &cgroup_ops_v1;
    case CGROUP_MODE_NONE:
    default:
        return NULL;
    }
}

int cgroup_create(const struct cgroup_info *info, const char *path,
                  berth_error_t *err)
{
    const struct cgroup_ops *ops = ops_for(info);
    return ops ? ops->create(info, path, err) : 0;
}

int cgroup_enter(const struct cgroup_info *info, const char *path, pid_t pid,
                 berth_error_t *err)
{
    const struct cgroup_ops *ops = ops_for(info);
    return ops ? ops->enter(info, path, pid, err) : 0;
}

int cgroup_destroy(const struct cgroup_info *info, const char *path,
                   berth_error_t *err)
{
    const struct cgroup_ops *ops = ops_for(info);
    return ops ? ops->destroy(info, path, err) : 0;
}

int cgroup_freeze(const struct cgroup_info *info, const char *path,
                  bool freeze, berth_error_t *err)
{
    const struct cgroup_ops *ops = ops_for(info);
    if (ops == NULL)
        return berth_error_new(err, 0,
                               "%s: no cgroup file system, cannot pause "
                               "containers",
                               freeze ? "pause" : "unpause");
    return ops->freeze(info, path, freeze, err);
}

/* Which limits a linux.resources object asks for, to warn for each. */
static void warn_all(const struct cgroup_info *info, json_t *res,
                     char ***warnings, unsigned applied)
{
    static const struct {
        const char *obj, *key, *what;
        unsigned ctrl;
    } limits[] = {
        {"memory", "limit", "memory limit", CGROUP_MEMORY},
        {"memory", "swap", "memory swap limit", CGROUP_MEMORY},
        {"memory", "reservation", "memory reservation", CGROUP_MEMORY},
        {"cpu", "quota", "cpu quota", CGROUP_CPU},
        {"cpu", "shares", "cpu shares", CGROUP_CPU},
        {"cpu", "cpus", "cpuset cpus", CGROUP_CPUSET},
        {"cpu", "mems", "cpuset mems", CGROUP_CPUSET},
        {"pids", "limit", "pids limit", CGROUP_PIDS},
        {"blockIO", "weight", "io weight", CGROUP_IO},
    };
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
        if (!(limits[i].ctrl & applied) &&
            json_object_get(json_object_get(res, limits[i].obj),
                            limits[i].key))
            cgroup_warn_missing(warnings, info, limits[i].what,
                                limits[i].ctrl);
}

bool cgroup_usable(const struct cgroup_info *info)
{
    if (info->mode == CGROUP_MODE_NONE)
        return false;
    if (info->uid == 0)
        return true;
    if (info->mode != CGROUP_MODE_V2)
        return false;
    _cleanup_free_ char *base =
        xasprintf("%s%s", info->mountpoint, info->base_path);
    return access(base, W_OK) == 0;
}

void cgroup_check_resources(const struct cgroup_info *info, bool usable,
                            json_t *linux_resources, char ***warnings)
{
    struct cgroup_info i = *info;
    if (!usable)
        i.delegated = 0;
    /* rootless without a cgroup of its own: explained per controller by
     * cgroup_warn_missing (v1 cannot be delegated; v2 not delegated) */
    warn_all(&i, linux_resources, warnings, i.delegated);
}

int cgroup_apply_resources(const struct cgroup_info *info, const char *path,
                           json_t *linux_resources, char ***ret_warnings,
                           berth_error_t *err)
{
    const struct cgroup_ops *ops = ops_for(info);
    if (ops == NULL) {
        warn_all(info, linux_resources, ret_warnings, 0);
        return 0;
    }
    return ops->apply(info, path, linux_resources, ret_warnings, err);
}

int cgroup_stats(const struct cgroup_info *info, const char *path,
                 struct cgroup_stats *ret, berth_error_t *err)
{
    const struct cgroup_ops *ops = ops_for(info);
    *ret = (struct cgroup_stats){-1, -1, -1, -1};
    return ops ? ops->stats(info, path, ret, err) : 0;
}
