#define _GNU_SOURCE
#include "runtime/spec.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/spec-internal.h"

static const struct {
    const char *name;
    int resource;
} ulimit_names[] = {
    {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},
    {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},       {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},   {"rttime", RLIMIT_RTTIME},
    {"sigpending", RLIMIT_SIGPENDING}, {"stack", RLIMIT_STACK},
};
#define N_ULIMITS (sizeof(ulimit_names) / sizeof(ulimit_names[0]))

/* "-1" and "unlimited" are RLIM_INFINITY, as podman. */
static bool parse_rlim(const char *s, uint64_t *ret)
{
    char *end;
    if (!strcmp(s, "-1") || !strcmp(s, "unlimited")) {
        *ret = UINT64_MAX;
        return true;
    }
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *ret = v;
    return true;
}

static json_t *rlimit_json(const char *name, uint64_t soft, uint64_t hard)
{
    _cleanup_free_ char *type = xasprintf("RLIMIT_%s", name);
    for (char *p = type; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    /* jansson integers are signed, so RLIM_INFINITY is written as -1:
     * crun and berth's runtime read it back as unlimited (runc, decoding
     * into a Go uint64, would reject it). */
    return json_pack("{s:s, s:I, s:I}", "type", type, "soft",
                     (json_int_t)soft, "hard", (json_int_t)hard);
}

int spec_parse_ulimit(const char *spec, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *s = xstrdup(spec ? spec : "");
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return berth_error_new(err, 0,
                               "invalid ulimit \"%s\": expected "
                               "name=soft[:hard]",
                               s);
    *eq++ = '\0';
    size_t i;
    for (i = 0; i < N_ULIMITS; i++)
        if (strcmp(ulimit_names[i].name, s) == 0)
            break;
    if (i == N_ULIMITS)
        return berth_error_new(err, 0, "invalid ulimit \"%s\": unknown type "
                               "\"%s\"", spec, s);
    char *colon = strchr(eq, ':');
    if (colon)
        *colon++ = '\0';
    uint64_t soft, hard;
    if (!parse_rlim(eq, &soft) || !parse_rlim(colon ? colon : eq, &hard))
        return berth_error_new(err, 0, "invalid ulimit \"%s\": bad value",
                               spec);
    if (soft > hard)
        return berth_error_new(err, 0,
                               "invalid ulimit \"%s\": soft limit %s is "
                               "greater than hard limit %s",
                               spec, eq, colon);
    *ret = rlimit_json(s, soft, hard);
    return 0;
}

static int ulimit_resource(const char *type)
{
    for (size_t i = 0; i < N_ULIMITS; i++)
        if (strcasecmp(type + strlen("RLIMIT_"), ulimit_names[i].name) == 0)
            return ulimit_names[i].resource;
    return -1;
}

/* Raising a hard limit needs CAP_SYS_RESOURCE: a rootless user lacks it,
 * and so does root in many CI sandboxes and inside other containers. */
static bool can_raise_rlimits(bool rootless)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2] = {{0}};
    if (rootless || syscall(SYS_capget, &h, d) < 0)
        return false;
    return d[CAP_SYS_RESOURCE / 32].effective &
           (1U << (CAP_SYS_RESOURCE % 32));
}

/* podman's defaults (containers.conf): 1048576 open files and 4194304
 * processes; without the right to raise a hard limit, the current hard
 * limit when it is lower, as podman does rootless. */
static json_t *default_rlimit(const char *name, uint64_t want, bool rootless)
{
    struct rlimit cur;
    int res = ulimit_resource(name);
    if (!can_raise_rlimits(rootless) && res >= 0 && getrlimit(res, &cur) == 0 &&
        cur.rlim_max != RLIM_INFINITY && cur.rlim_max < want)
        want = cur.rlim_max;
    return rlimit_json(name + strlen("RLIMIT_"), want, want);
}

int spec_build_rlimits(json_t *process, const struct spec_opts *o,
                       berth_error_t *err)
{
    _cleanup_json_ json_t *user = json_array();
    for (size_t i = 0; o->ulimits && o->ulimits[i]; i++) {
        json_t *r;
        if (spec_parse_ulimit(o->ulimits[i], &r, err) < 0)
            return -1;
        json_array_append_new(user, r);
        struct rlimit cur;
        uint64_t hard = (uint64_t)json_integer_value(json_object_get(r, "hard"));
        int res = ulimit_resource(json_get_str(r, "type"));
        if (!can_raise_rlimits(o->rootless) && getrlimit(res, &cur) == 0 &&
            cur.rlim_max != RLIM_INFINITY && hard > cur.rlim_max)
            return berth_error_new(err, 0,
                                   "invalid ulimit \"%s\": hard limit is "
                                   "above the current hard limit %llu, which "
                                   "only a process with CAP_SYS_RESOURCE can "
                                   "raise",
                                   o->ulimits[i],
                                   (unsigned long long)cur.rlim_max);
    }
    json_t *out = json_array();
    json_object_set_new(process, "rlimits", out);
    static const struct {
        const char *type;
        uint64_t dflt;
    } dflts[] = {{"RLIMIT_NOFILE", 1048576}, {"RLIMIT_NPROC", 4194304}};
    for (size_t d = 0; d < 2; d++) {
        bool given = false;
        size_t i;
        json_t *r;
        json_array_foreach(user, i, r) given |=
            strcmp(json_get_str(r, "type"), dflts[d].type) == 0;
        if (!given)
            json_array_append_new(out, default_rlimit(dflts[d].type,
                                                      dflts[d].dflt,
                                                      o->rootless));
    }
    json_array_extend(out, user);
    return 0;
}

static int parse_int_flag(const char *flag, const char *v, int64_t min,
                          int64_t max, int64_t *ret, berth_error_t *err)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < min || n > max)
        return berth_error_new(err, 0, "invalid %s \"%s\"", flag, v);
    *ret = n;
    return 0;
}

/* Sizes: "-1" is unlimited where allowed; else b/k/m/g units. */
static int parse_mem_flag(const char *flag, const char *v, bool allow_unl,
                          int64_t *ret, berth_error_t *err)
{
    if (allow_unl && strcmp(v, "-1") == 0) {
        *ret = -1;
        return 0;
    }
    int64_t n = parse_size(v);
    if (n < 0)
        return berth_error_new(err, 0, "invalid %s \"%s\"", flag, v);
    *ret = n;
    return 0;
}

static int resources_memory(const struct spec_resource_opts *r, json_t *res,
                            berth_error_t *err)
{
    int64_t limit = 0, swap = 0, resv = 0;
    json_t *mem = json_object();
    json_object_set_new(res, "memory", mem);
    if (r->memory) {
        if (parse_mem_flag("--memory", r->memory, false, &limit, err) < 0)
            return -1;
        /* the kernel refuses smaller limits; podman's wording */
        if (limit < 6 * 1024 * 1024)
            return berth_error_new(err, 0,
                                   "minimum memory limit allowed is 6MB");
        json_object_set_new(mem, "limit", json_integer(limit));
    }
    if (r->memory_swap) {
        if (!r->memory)
            return berth_error_new(err, 0,
                                   "you must provide a memory limit when "
                                   "specifying a memory-swap limit");
        if (parse_mem_flag("--memory-swap", r->memory_swap, true, &swap,
                           err) < 0)
            return -1;
        if (swap != -1 && swap < limit)
            return berth_error_new(err, 0,
                                   "you must provide a memory-swap limit "
                                   "greater than or equal to the memory "
                                   "limit");
        json_object_set_new(mem, "swap", json_integer(swap));
    } else if (r->memory) {
        /* podman: swap defaults to as much again as the memory limit */
        json_object_set_new(mem, "swap", json_integer(2 * limit));
    }
    if (r->memory_reservation) {
        if (parse_mem_flag("--memory-reservation", r->memory_reservation,
                           false, &resv, err) < 0)
            return -1;
        json_object_set_new(mem, "reservation", json_integer(resv));
    }
    if (json_object_size(mem) == 0)
        json_object_del(res, "memory");
    return 0;
}

static int resources_cpus(const char *cpus, json_t *cpu, berth_error_t *err)
{
    char *end;
    errno = 0;
    double v = strtod(cpus, &end);
    if (!*cpus || *end || errno || !(v > 0) || v > 1e6)
        return berth_error_new(err, 0, "invalid --cpus \"%s\"", cpus);
    json_object_set_new(cpu, "period", json_integer(100000));
    json_object_set_new(cpu, "quota",
                        json_integer((json_int_t)llround(v * 100000)));
    return 0;
}

static int resources_cpu(const struct spec_resource_opts *r, json_t *res,
                         berth_error_t *err)
{
    json_t *cpu = json_object();
    int64_t n;
    json_object_set_new(res, "cpu", cpu);
    if (r->cpus && (r->cpu_quota || r->cpu_period))
        return berth_error_new(err, 0, "--cpus and --cpu-quota/--cpu-period "
                               "cannot be set together");
    if (r->cpus && resources_cpus(r->cpus, cpu, err) < 0)
        return -1;
    if (r->cpu_quota) {
        if (parse_int_flag("--cpu-quota", r->cpu_quota, 1000, INT64_MAX, &n,
                           err) < 0)
            return -1;
        json_object_set_new(cpu, "quota", json_integer(n));
    }
    if (r->cpu_period) {
        if (parse_int_flag("--cpu-period", r->cpu_period, 1000, 1000000, &n,
                           err) < 0)
            return -1;
        json_object_set_new(cpu, "period", json_integer(n));
    }
    if (r->cpu_shares) {
        if (parse_int_flag("--cpu-shares", r->cpu_shares, 2, 262144, &n,
                           err) < 0)
            return -1;
        json_object_set_new(cpu, "shares", json_integer(n));
    }
    const char *sets[][2] = {{"--cpuset-cpus", r->cpuset_cpus},
                             {"--cpuset-mems", r->cpuset_mems}};
    for (size_t i = 0; i < 2; i++) {
        const char *v = sets[i][1];
        if (v == NULL)
            continue;
        if (!*v || strspn(v, "0123456789,-") != strlen(v))
            return berth_error_new(err, 0, "invalid %s \"%s\"", sets[i][0],
                                   v);
        json_object_set_new(cpu, i ? "mems" : "cpus", json_string(v));
    }
    if (json_object_size(cpu) == 0)
        json_object_del(res, "cpu");
    return 0;
}

int spec_parse_resources(const struct spec_resource_opts *r, json_t **ret,
                         berth_error_t *err)
{
    _cleanup_json_ json_t *res = json_object();
    int64_t n;
    if (resources_memory(r, res, err) < 0 || resources_cpu(r, res, err) < 0)
        return -1;
    if (r->pids_limit) {
        if (parse_int_flag("--pids-limit", r->pids_limit, -1, INT64_MAX, &n,
                           err) < 0)
            return -1;
        /* podman: 0 and -1 both mean unlimited */
        json_object_set_new(res, "pids",
                            json_pack("{s:I}", "limit",
                                      (json_int_t)(n <= 0 ? -1 : n)));
    }
    if (r->blkio_weight) {
        if (parse_int_flag("--blkio-weight", r->blkio_weight, 10, 1000, &n,
                           err) < 0)
            return -1;
        json_object_set_new(res, "blockIO",
                            json_pack("{s:I}", "weight", (json_int_t)n));
    }
    *ret = TAKE_PTR(res);
    return 0;
}
