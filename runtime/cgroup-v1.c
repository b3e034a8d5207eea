#define _GNU_SOURCE
#include "runtime/cgroup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/cgroup-internal.h"

static const struct {
    unsigned bit;
    const char *dir;
} v1_dirs[] = {
    {CGROUP_CPU, "cpu"},       {CGROUP_CPUSET, "cpuset"},
    {CGROUP_IO, "blkio"},      {CGROUP_MEMORY, "memory"},
    {CGROUP_PIDS, "pids"},     {CGROUP_FREEZER, "freezer"},
};
#define N_V1 (sizeof(v1_dirs) / sizeof(v1_dirs[0]))

static char *v1_dir(const struct cgroup_info *info, const char *ctrl,
                    const char *path)
{
    return xasprintf("%s/%s%s%s", info->mountpoint, ctrl,
                     *path == '/' ? "" : "/", path);
}

/* A new v1 cpuset starts with no cpus and no mems, and the kernel then
 * refuses every task (ENOSPC): copy the parent's down each level. */
static int cpuset_fill(const struct cgroup_info *info, const char *path,
                       berth_error_t *err)
{
    for (const char *p = path; (p = strchr(p + 1, '/')) || *path;) {
        size_t len = p ? (size_t)(p - path) : strlen(path);
        _cleanup_free_ char *rel = xstrndup(path, len);
        _cleanup_free_ char *dir = v1_dir(info, "cpuset", rel);
        _cleanup_free_ char *parent = xstrdup(dir);
        *strrchr(parent, '/') = '\0';
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
        for (size_t i = 0; i < 2; i++) {
            _cleanup_free_ char *cur = NULL, *up = NULL;
            berth_error_t e = NULL;
            if (cgroup_read(dir, files[i], &cur, &e) < 0 ||
                cgroup_read(parent, files[i], &up, &e) < 0) {
                berth_error_free(&e); /* not this kernel's files */
                continue;
            }
            if (*cur == '\0' && cgroup_write(dir, files[i], up, err) < 0)
                return -1;
        }
        if (p == NULL)
            break;
    }
    return 0;
}

static int v1_create(const struct cgroup_info *info, const char *path,
                     berth_error_t *err)
{
    for (size_t i = 0; i < N_V1; i++) {
        if (!(info->delegated & v1_dirs[i].bit))
            continue;
        _cleanup_free_ char *dir = v1_dir(info, v1_dirs[i].dir, path);
        if (fs_mkdir_p(dir, 0755, err) < 0)
            return berth_error_prefix(err, "create cgroup");
        if (v1_dirs[i].bit == CGROUP_CPUSET && cpuset_fill(info, path, err) < 0)
            return berth_error_prefix(err, "create cgroup");
    }
    return 0;
}

static int v1_enter(const struct cgroup_info *info, const char *path,
                    pid_t pid, berth_error_t *err)
{
    _cleanup_free_ char *v = xasprintf("%d", (int)pid);
    for (size_t i = 0; i < N_V1; i++) {
        if (!(info->delegated & v1_dirs[i].bit))
            continue;
        _cleanup_free_ char *dir = v1_dir(info, v1_dirs[i].dir, path);
        if (!fs_exists(dir))
            continue;
        if (cgroup_write(dir, "cgroup.procs", v, err) < 0)
            return berth_error_prefix(err, "join cgroup");
    }
    return 0;
}

static int v1_destroy(const struct cgroup_info *info, const char *path,
                      berth_error_t *err)
{
    for (size_t i = 0; i < N_V1; i++) {
        if (!(info->delegated & v1_dirs[i].bit))
            continue;
        _cleanup_free_ char *dir = v1_dir(info, v1_dirs[i].dir, path);
        /* every hierarchy, whatever one of them says; the first error */
        berth_error_t e = NULL;
        if (cgroup_rmdir_tree(dir, &e) < 0 && *err == NULL)
            *err = e;
        else
            berth_error_free(&e);
    }
    return *err ? -1 : 0;
}

static int v1_freeze(const struct cgroup_info *info, const char *path,
                     bool freeze, berth_error_t *err)
{
    const char *want = freeze ? "FROZEN" : "THAWED";
    if (!(info->delegated & CGROUP_FREEZER))
        return berth_error_new(err, 0,
                               "%s: the cgroup v1 freezer is not available "
                               "to user %u",
                               freeze ? "pause" : "unpause",
                               (unsigned)info->uid);
    _cleanup_free_ char *dir = v1_dir(info, "freezer", path);
    /* FREEZING is transitional: ask again until the state is reached,
     * as runc does (there is no notification for freezer.state). */
    for (int tries = 0; tries < 500; tries++) {
        _cleanup_free_ char *state = NULL;
        if (cgroup_write(dir, "freezer.state", want, err) < 0 ||
            cgroup_read(dir, "freezer.state", &state, err) < 0)
            return berth_error_prefix(err, freeze ? "pause" : "unpause");
        if (strcmp(state, want) == 0)
            return 0;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return berth_error_new(err, ETIMEDOUT, "%s %s",
                           freeze ? "pause" : "unpause", dir);
}

struct v1_apply {
    const struct cgroup_info *info;
    const char *path;
    char ***warnings;
};

static int v1_set(struct v1_apply *a, unsigned ctrl, const char *what,
                  const char *file, const char *value, berth_error_t *err)
{
    berth_error_t e = NULL;
    if (!(a->info->delegated & ctrl)) {
        cgroup_warn_missing(a->warnings, a->info, what, ctrl);
        return 0;
    }
    const char *ctrl_dir = ctrl == CGROUP_IO ? "blkio"
                                             : cgroup_controller_name(ctrl);
    _cleanup_free_ char *dir = v1_dir(a->info, ctrl_dir, a->path);
    if (cgroup_write(dir, file, value, &e) == 0)
        return 0;
    if (e->errnum != ENOENT) {
        *err = e;
        return -1;
    }
    berth_error_free(&e);
    if (strcmp(file, "memory.memsw.limit_in_bytes") == 0)
        cgroup_warn(a->warnings,
                    "%s not applied: the kernel has no swap accounting "
                    "(boot with swapaccount=1)",
                    what);
    else
        cgroup_warn(a->warnings, "%s not applied: %s/%s is missing", what,
                    dir, file);
    return 0;
}

static char *num(json_t *v)
{
    return xasprintf("%lld", (long long)json_integer_value(v));
}

static int v1_memory(struct v1_apply *a, json_t *mem, berth_error_t *err)
{
    json_t *limit = json_object_get(mem, "limit");
    json_t *swap = json_object_get(mem, "swap");
    json_t *resv = json_object_get(mem, "reservation");
    _cleanup_free_ char *l = limit ? num(limit) : NULL;
    _cleanup_free_ char *s = swap ? num(swap) : NULL;
    if (limit && v1_set(a, CGROUP_MEMORY, "memory limit",
                        "memory.limit_in_bytes", l, err) < 0) {
        /* memsw must stay >= the limit: raising both needs memsw first */
        if (!swap || (*err)->errnum != EINVAL)
            return berth_error_prefix(err, "memory limit");
        berth_error_free(err);
        if (v1_set(a, CGROUP_MEMORY, "memory swap limit",
                   "memory.memsw.limit_in_bytes", s, err) < 0 ||
            v1_set(a, CGROUP_MEMORY, "memory limit", "memory.limit_in_bytes",
                   l, err) < 0)
            return berth_error_prefix(err, "memory limit");
    }
    if (swap && v1_set(a, CGROUP_MEMORY, "memory swap limit",
                       "memory.memsw.limit_in_bytes", s, err) < 0)
        return berth_error_prefix(err, "memory swap limit");
    if (resv) {
        _cleanup_free_ char *r = num(resv);
        if (v1_set(a, CGROUP_MEMORY, "memory reservation",
                   "memory.soft_limit_in_bytes", r, err) < 0)
            return berth_error_prefix(err, "memory reservation");
    }
    return 0;
}

static int v1_cpu(struct v1_apply *a, json_t *cpu, berth_error_t *err)
{
    static const struct {
        const char *key, *what, *file;
        unsigned ctrl;
    } m[] = {
        {"period", "cpu period", "cpu.cfs_period_us", CGROUP_CPU},
        {"quota", "cpu quota", "cpu.cfs_quota_us", CGROUP_CPU},
        {"shares", "cpu shares", "cpu.shares", CGROUP_CPU},
        {"cpus", "cpuset cpus", "cpuset.cpus", CGROUP_CPUSET},
        {"mems", "cpuset mems", "cpuset.mems", CGROUP_CPUSET},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        json_t *v = json_object_get(cpu, m[i].key);
        if (v == NULL)
            continue;
        _cleanup_free_ char *s = json_is_string(v)
                                     ? xstrdup(json_string_value(v))
                                     : num(v);
        if (v1_set(a, m[i].ctrl, m[i].what, m[i].file, s, err) < 0)
            return berth_error_prefix(err, "%s", m[i].what);
    }
    return 0;
}

static int v1_apply(const struct cgroup_info *info, const char *path,
                    json_t *res, char ***warnings, berth_error_t *err)
{
    struct v1_apply a = {info, path, warnings};
    json_t *pids = json_object_get(json_object_get(res, "pids"), "limit");
    json_t *weight = json_object_get(json_object_get(res, "blockIO"),
                                     "weight");
    if (v1_memory(&a, json_object_get(res, "memory"), err) < 0 ||
        v1_cpu(&a, json_object_get(res, "cpu"), err) < 0)
        return -1;
    if (pids) {
        _cleanup_free_ char *v = json_integer_value(pids) < 0 ? xstrdup("max")
                                                              : num(pids);
        if (v1_set(&a, CGROUP_PIDS, "pids limit", "pids.max", v, err) < 0)
            return berth_error_prefix(err, "pids limit");
    }
    if (weight) {
        _cleanup_free_ char *v = num(weight);
        if (v1_set(&a, CGROUP_IO, "io weight", "blkio.weight", v, err) < 0)
            return berth_error_prefix(err, "io weight");
    }
    return 0;
}

static int64_t read_num(const char *dir, const char *file)
{
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (cgroup_read(dir, file, &buf, &e) < 0) {
        berth_error_free(&e);
        return -1;
    }
    return strcmp(buf, "max") ? strtoll(buf, NULL, 10) : -1;
}

static int v1_stats(const struct cgroup_info *info, const char *path,
                    struct cgroup_stats *ret, berth_error_t *err)
{
    (void)err;
    _cleanup_free_ char *mem = v1_dir(info, "memory", path);
    _cleanup_free_ char *pids = v1_dir(info, "pids", path);
    _cleanup_free_ char *acct = v1_dir(info, "cpuacct", path);
    ret->memory_current = read_num(mem, "memory.usage_in_bytes");
    ret->memory_max = read_num(mem, "memory.limit_in_bytes");
    /* v1 reports "no limit" as a page-rounded LONG_MAX */
    if (ret->memory_max >= (INT64_C(1) << 62))
        ret->memory_max = -1;
    ret->pids_current = read_num(pids, "pids.current");
    int64_t ns = read_num(acct, "cpuacct.usage");
    ret->cpu_usage_usec = ns < 0 ? -1 : ns / 1000;
    return 0;
}

const struct cgroup_ops cgroup_ops_v1 = {
    .create = v1_create,
    .enter = v1_enter,
    .destroy = v1_destroy,
    .freeze = v1_freeze,
    .apply = v1_apply,
    .stats = v1_stats,
};
