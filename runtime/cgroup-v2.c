#define _GNU_SOURCE
#include "runtime/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/cgroup-internal.h"

static char *v2_dir(const struct cgroup_info *info, const char *path)
{
    return xasprintf("%s%s%s", info->mountpoint, *path == '/' ? "" : "/",
                     path);
}

/* "+cpu +memory ..." for the controllers the user may enable. */
static char *enable_list(unsigned mask)
{
    static const unsigned order[] = {CGROUP_CPU, CGROUP_CPUSET, CGROUP_IO,
                                     CGROUP_MEMORY, CGROUP_PIDS};
    char *s = xstrdup("");
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (mask & order[i]) {
            char *n = xasprintf("%s%s+%s", s, *s ? " " : "",
                                cgroup_controller_name(order[i]));
            free(s);
            s = n;
        }
    return s;
}

/* Enable controllers in DIR's subtree_control: all at once, else one by
 * one so a controller the parent lacks does not cost the others.  What
 * stays disabled shows up as a warning when limits are applied. */
static void enable_controllers(const char *dir, unsigned mask)
{
    _cleanup_free_ char *all = enable_list(mask);
    berth_error_t e = NULL;
    if (!*all || cgroup_write(dir, "cgroup.subtree_control", all, &e) == 0)
        return;
    berth_error_free(&e);
    _cleanup_strv_ char **each = strv_split(all, " ");
    for (size_t i = 0; each[i]; i++)
        if (cgroup_write(dir, "cgroup.subtree_control", each[i], &e) < 0)
            berth_error_free(&e);
}

static int v2_create(const struct cgroup_info *info, const char *path,
                     berth_error_t *err)
{
    _cleanup_free_ char *dir = v2_dir(info, path);
    const char *base = info->base_path ? info->base_path : "/";
    size_t blen = strcmp(base, "/") ? strlen(base) : 0;
    if (fs_mkdir_p(dir, 0755, err) < 0)
        return berth_error_prefix(err, "create cgroup");
    /* Every ancestor from the base down to the new cgroup's parent must
     * pass the controllers on (cgroup v2's top-down constraint); above
     * the base they are not the user's to change. */
    for (const char *p = path; (p = strchr(p, '/')); p++) {
        size_t len = (size_t)(p - path);
        if (len < blen || strncmp(path, base, blen) != 0 ||
            (len > blen && path[blen] != '/'))
            continue;
        _cleanup_free_ char *rel = xstrndup(path, len);
        _cleanup_free_ char *anc = v2_dir(info, rel);
        enable_controllers(anc, info->delegated);
    }
    return 0;
}

static int v2_enter(const struct cgroup_info *info, const char *path,
                    pid_t pid, berth_error_t *err)
{
    _cleanup_free_ char *dir = v2_dir(info, path);
    _cleanup_free_ char *v = xasprintf("%d", (int)pid);
    if (cgroup_write(dir, "cgroup.procs", v, err) < 0)
        return berth_error_prefix(err, "join cgroup");
    return 0;
}

static int v2_destroy(const struct cgroup_info *info, const char *path,
                      berth_error_t *err)
{
    _cleanup_free_ char *dir = v2_dir(info, path);
    return cgroup_rmdir_tree(dir, err);
}

/* Freezing is asynchronous: cgroup.events says "frozen 1" once every
 * task stopped; poll(2) reports POLLPRI when that file changes. */
static int v2_wait_frozen(const char *dir, bool freeze, berth_error_t *err)
{
    _cleanup_free_ char *events = xasprintf("%s/cgroup.events", dir);
    for (int tries = 0; tries < 50; tries++) {
        int64_t state = cgroup_read_keyed(dir, "cgroup.events", "frozen");
        if (state < 0 || state == (freeze ? 1 : 0))
            return 0; /* no frozen key: nothing to wait for */
        _cleanup_close_ int fd = open(events, O_RDONLY | O_CLOEXEC);
        struct pollfd pfd = {.fd = fd, .events = POLLPRI};
        if (fd < 0 || poll(&pfd, 1, 100) < 0)
            return berth_error_new(err, errno, "wait for %s", events);
    }
    return berth_error_new(err, ETIMEDOUT, "%s %s", freeze ? "freeze" : "thaw",
                           dir);
}

static int v2_freeze(const struct cgroup_info *info, const char *path,
                     bool freeze, berth_error_t *err)
{
    _cleanup_free_ char *dir = v2_dir(info, path);
    if (cgroup_write(dir, "cgroup.freeze", freeze ? "1" : "0", err) < 0)
        return berth_error_prefix(err, freeze ? "pause" : "unpause");
    return v2_wait_frozen(dir, freeze, err);
}

struct v2_apply {
    const struct cgroup_info *info;
    const char *dir;
    char ***warnings;
};

/* Write one limit, or warn why it cannot be. */
static int v2_set(struct v2_apply *a, unsigned ctrl, const char *what,
                  const char *file, const char *value, berth_error_t *err)
{
    berth_error_t e = NULL;
    if (!(a->info->delegated & ctrl)) {
        cgroup_warn_missing(a->warnings, a->info, what, ctrl);
        return 0;
    }
    if (cgroup_write(a->dir, file, value, &e) == 0)
        return 0;
    if (e->errnum != ENOENT) {
        *err = e;
        return berth_error_prefix(err, "%s", what);
    }
    berth_error_free(&e);
    if (strcmp(file, "memory.swap.max") == 0)
        cgroup_warn(a->warnings,
                    "%s not applied: the kernel has no swap accounting "
                    "(memory.swap.max missing)",
                    what);
    else
        cgroup_warn(a->warnings,
                    "%s not applied: %s is missing (controller %s is not "
                    "enabled for the container's cgroup)",
                    what, file, cgroup_controller_name(ctrl));
    return 0;
}

static char *limit_str(json_t *v)
{
    json_int_t n = json_integer_value(v);
    return n < 0 ? xstrdup("max") : xasprintf("%lld", (long long)n);
}

static int v2_memory(struct v2_apply *a, json_t *mem, berth_error_t *err)
{
    json_t *limit = json_object_get(mem, "limit");
    json_t *swap = json_object_get(mem, "swap");
    json_t *resv = json_object_get(mem, "reservation");
    if (limit) {
        _cleanup_free_ char *v = limit_str(limit);
        if (v2_set(a, CGROUP_MEMORY, "memory limit", "memory.max", v, err) < 0)
            return -1;
    }
    if (swap) {
        /* OCI's swap is memory+swap (v1's memsw); v2 limits swap alone */
        json_int_t s = json_integer_value(swap);
        json_int_t l = limit ? json_integer_value(limit) : -1;
        _cleanup_free_ char *v = s < 0 || l < 0
                                     ? xstrdup("max")
                                     : xasprintf("%lld", (long long)(s - l));
        if (v2_set(a, CGROUP_MEMORY, "memory swap limit", "memory.swap.max",
                   v, err) < 0)
            return -1;
    }
    if (resv) {
        _cleanup_free_ char *v = limit_str(resv);
        if (v2_set(a, CGROUP_MEMORY, "memory reservation", "memory.low", v,
                   err) < 0)
            return -1;
    }
    return 0;
}

static int v2_cpu(struct v2_apply *a, json_t *cpu, berth_error_t *err)
{
    json_t *quota = json_object_get(cpu, "quota");
    json_t *period = json_object_get(cpu, "period");
    json_t *shares = json_object_get(cpu, "shares");
    if (quota || period) {
        json_int_t q = quota ? json_integer_value(quota) : -1;
        json_int_t p = period ? json_integer_value(period) : 100000;
        _cleanup_free_ char *v = q > 0 ? xasprintf("%lld %lld", (long long)q,
                                                   (long long)p)
                                       : xasprintf("max %lld", (long long)p);
        if (v2_set(a, CGROUP_CPU, "cpu quota", "cpu.max", v, err) < 0)
            return -1;
    }
    if (shares) {
        /* crun's mapping of v1 shares [2, 262144] onto weight [1, 10000] */
        json_int_t s = json_integer_value(shares);
        _cleanup_free_ char *v = xasprintf(
            "%lld", (long long)(1 + ((s - 2) * 9999) / 262142));
        if (v2_set(a, CGROUP_CPU, "cpu shares", "cpu.weight", v, err) < 0)
            return -1;
    }
    const char *keys[][3] = {{"cpus", "cpuset cpus", "cpuset.cpus"},
                             {"mems", "cpuset mems", "cpuset.mems"}};
    for (size_t i = 0; i < 2; i++) {
        const char *v = json_get_str(cpu, keys[i][0]);
        if (v && v2_set(a, CGROUP_CPUSET, keys[i][1], keys[i][2], v, err) < 0)
            return -1;
    }
    return 0;
}

static int v2_apply(const struct cgroup_info *info, const char *path,
                    json_t *res, char ***warnings, berth_error_t *err)
{
    _cleanup_free_ char *dir = v2_dir(info, path);
    struct v2_apply a = {info, dir, warnings};
    json_t *pids = json_object_get(json_object_get(res, "pids"), "limit");
    json_t *weight = json_object_get(json_object_get(res, "blockIO"),
                                     "weight");
    if (v2_memory(&a, json_object_get(res, "memory"), err) < 0 ||
        v2_cpu(&a, json_object_get(res, "cpu"), err) < 0)
        return -1;
    if (pids) {
        _cleanup_free_ char *v = limit_str(pids);
        if (v2_set(&a, CGROUP_PIDS, "pids limit", "pids.max", v, err) < 0)
            return -1;
    }
    if (weight) {
        /* blkio weight [10, 1000] onto io.weight [1, 10000], as crun */
        json_int_t w = json_integer_value(weight);
        _cleanup_free_ char *v = xasprintf(
            "default %lld", (long long)(1 + (w - 10) * 9999 / 990));
        if (v2_set(&a, CGROUP_IO, "io weight", "io.weight", v, err) < 0)
            return -1;
    }
    return 0;
}

static int v2_stats(const struct cgroup_info *info, const char *path,
                    struct cgroup_stats *ret, berth_error_t *err)
{
    _cleanup_free_ char *dir = v2_dir(info, path);
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    struct stat st;
    if (stat(dir, &st) < 0)
        return berth_error_new(err, errno, "cgroup %s", path);
    const char *files[] = {"memory.current", "memory.max", "pids.current"};
    int64_t *out[] = {&ret->memory_current, &ret->memory_max,
                      &ret->pids_current};
    for (size_t i = 0; i < 3; i++) {
        if (cgroup_read(dir, files[i], &buf, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        *out[i] = strcmp(buf, "max") ? strtoll(buf, NULL, 10) : -1;
        free(TAKE_PTR(buf));
    }
    ret->cpu_usage_usec = cgroup_read_keyed(dir, "cpu.stat", "usage_usec");
    return 0;
}

const struct cgroup_ops cgroup_ops_v2 = {
    .create = v2_create,
    .enter = v2_enter,
    .destroy = v2_destroy,
    .freeze = v2_freeze,
    .apply = v2_apply,
    .stats = v2_stats,
};
