#define _GNU_SOURCE
#include "runtime/runtime-internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"

struct rt_seccomp {
    scmp_filter_ctx ctx;    /* when the program could not be exported */
    struct sock_fprog prog; /* the BPF program, from the cache or fresh */
};

static int seccomp_action(const char *name, json_t *errno_ret,
                          int64_t dflt_errno, uint32_t *ret,
                          berth_error_t *err)
{
    int64_t e = json_is_integer(errno_ret) ? json_integer_value(errno_ret)
                                           : dflt_errno;
    if (name == NULL)
        return berth_error_new(err, 0, "seccomp: missing action");
    if (strcmp(name, "SCMP_ACT_ALLOW") == 0)
        *ret = SCMP_ACT_ALLOW;
    else if (strcmp(name, "SCMP_ACT_ERRNO") == 0)
        *ret = SCMP_ACT_ERRNO((uint16_t)e);
    else if (strcmp(name, "SCMP_ACT_KILL") == 0 ||
             strcmp(name, "SCMP_ACT_KILL_THREAD") == 0)
        *ret = SCMP_ACT_KILL;
    else if (strcmp(name, "SCMP_ACT_KILL_PROCESS") == 0)
        *ret = SCMP_ACT_KILL_PROCESS;
    else if (strcmp(name, "SCMP_ACT_TRAP") == 0)
        *ret = SCMP_ACT_TRAP;
    else if (strcmp(name, "SCMP_ACT_TRACE") == 0)
        *ret = SCMP_ACT_TRACE((uint16_t)e);
    else if (strcmp(name, "SCMP_ACT_LOG") == 0)
        *ret = SCMP_ACT_LOG;
    else
        return berth_error_new(err, 0, "seccomp: unsupported action %s",
                               name);
    return 0;
}

static int seccomp_op(const char *name, enum scmp_compare *ret)
{
    static const struct {
        const char *name;
        enum scmp_compare op;
    } ops[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},       {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},       {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},       {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; name && i < sizeof(ops) / sizeof(ops[0]); i++)
        if (strcmp(ops[i].name, name) == 0) {
            *ret = ops[i].op;
            return 0;
        }
    return -1;
}

static int seccomp_add_arches(scmp_filter_ctx ctx, json_t *arches,
                              berth_error_t *err)
{
    size_t i;
    json_t *a;
    json_array_foreach(arches, i, a)
    {
        const char *s = json_string_value(a);
        if (s == NULL || !str_has_prefix(s, "SCMP_ARCH_"))
            return berth_error_new(err, 0, "seccomp: bad architecture");
        _cleanup_free_ char *lower = xstrdup(s + strlen("SCMP_ARCH_"));
        for (char *p = lower; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        uint32_t arch = seccomp_arch_resolve_name(lower);
        /* an architecture libseccomp does not know cannot run here */
        if (arch == 0)
            continue;
        int r = seccomp_arch_add(ctx, arch);
        if (r < 0 && r != -EEXIST)
            return berth_error_new(err, -r, "seccomp: add architecture %s",
                                   s);
    }
    return 0;
}

static int seccomp_add_rule(scmp_filter_ctx ctx, json_t *rule,
                            uint32_t dflt_action, int64_t dflt_errno,
                            berth_error_t *err)
{
    uint32_t action;
    struct scmp_arg_cmp cmps[6];
    unsigned n_cmp = 0;
    size_t i;
    json_t *v;

    if (seccomp_action(json_get_str(rule, "action"),
                       json_object_get(rule, "errnoRet"), dflt_errno, &action,
                       err) < 0)
        return -1;
    /* libseccomp refuses a rule that repeats the default action */
    if (action == dflt_action)
        return 0;
    json_array_foreach(json_object_get(rule, "args"), i, v)
    {
        enum scmp_compare op;
        if (n_cmp >= 6 || seccomp_op(json_get_str(v, "op"), &op) < 0)
            return berth_error_new(err, 0, "seccomp: bad argument rule");
        cmps[n_cmp++] = (struct scmp_arg_cmp){
            (unsigned)json_get_int(v, "index", 0), op,
            (scmp_datum_t)json_integer_value(json_object_get(v, "value")),
            (scmp_datum_t)json_integer_value(json_object_get(v, "valueTwo"))};
    }
    json_array_foreach(json_object_get(rule, "names"), i, v)
    {
        const char *name = json_string_value(v);
        int nr = name ? seccomp_syscall_resolve_name(name) : __NR_SCMP_ERROR;
        /* as runc: a syscall this libseccomp does not know is skipped, so
         * one profile serves older and newer kernels */
        if (nr == __NR_SCMP_ERROR)
            continue;
        int r = seccomp_rule_add_array(ctx, action, nr, n_cmp, cmps);
        if (r < 0)
            return berth_error_new(err, -r, "seccomp: add rule for %s", name);
    }
    return 0;
}

static int seccomp_build(json_t *seccomp, scmp_filter_ctx *ret_ctx,
                         berth_error_t *err)
{
    uint32_t dflt;
    size_t i;
    json_t *rule;

    *ret_ctx = NULL;
    if (seccomp == NULL || json_is_null(seccomp))
        return 0;
    if (seccomp_action(json_get_str(seccomp, "defaultAction"),
                       json_object_get(seccomp, "defaultErrnoRet"), EPERM,
                       &dflt, err) < 0)
        return -1;
    scmp_filter_ctx ctx = seccomp_init(dflt);
    if (ctx == NULL)
        return berth_error_new(err, 0, "seccomp: init failed");
    /* no_new_privs is the process's own setting (process.noNewPrivileges) */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    if (seccomp_add_arches(ctx, json_object_get(seccomp, "architectures"),
                           err) < 0)
        goto fail;
    json_array_foreach(json_object_get(seccomp, "syscalls"), i, rule)
    {
        /* a rule's own errnoRet defaults to EPERM, not defaultErrnoRet */
        if (seccomp_add_rule(ctx, rule, dflt, EPERM, err) < 0)
            goto fail;
    }
    *ret_ctx = ctx;
    return 0;
fail:
    seccomp_release(ctx);
    return -1;
}

/* A cached program: a whole number of instructions, nothing else. */
static bool prog_read(const char *path, struct sock_fprog *prog)
{
    char *buf = NULL;
    size_t len = 0;
    berth_error_t e = NULL;
    if (fs_read_file(path, &buf, &len, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    if (len == 0 || len % sizeof(struct sock_filter) != 0 ||
        len / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        free(buf);
        return false;
    }
    prog->len = (unsigned short)(len / sizeof(struct sock_filter));
    prog->filter = (struct sock_filter *)buf;
    return true;
}

/* Export the compiled program into the cache (atomically: a temporary
 * file renamed into place) and read it back; best effort. */
static void prog_cache(scmp_filter_ctx ctx, const char *dir, const char *path,
                       struct sock_fprog *prog)
{
    berth_error_t e = NULL;
    if (fs_mkdir_p(dir, 0700, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    _cleanup_free_ char *tmp = xasprintf("%s/.tmp-XXXXXX", dir);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return;
    bool ok = seccomp_export_bpf(ctx, fd) == 0 && fsync(fd) == 0;
    close(fd);
    if (ok && prog_read(tmp, prog) && rename(tmp, path) == 0)
        return;
    unlink(tmp);
}

int rt_seccomp_prepare(json_t *seccomp, const char *cache_dir,
                       struct rt_seccomp **ret, berth_error_t *err)
{
    *ret = NULL;
    if (seccomp == NULL || json_is_null(seccomp))
        return 0;
    struct rt_seccomp *f = xcalloc(1, sizeof *f);
    _cleanup_free_ char *path = NULL;
    if (cache_dir) {
        /* the key: the profile and the libseccomp that compiles it */
        _cleanup_free_ char *dump =
            json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS);
        const struct scmp_version *v = seccomp_version();
        _cleanup_free_ char *key = xasprintf(
            "%u.%u.%u %s", v->major, v->minor, v->micro, dump ? dump : "");
        char hex[65];
        sha256_hex(key, strlen(key), hex);
        path = xasprintf("%s/%s.bpf", cache_dir, hex);
        if (prog_read(path, &f->prog)) {
            *ret = f;
            return 0;
        }
    }
    if (seccomp_build(seccomp, &f->ctx, err) < 0) {
        free(f);
        return -1;
    }
    if (path)
        prog_cache(f->ctx, cache_dir, path, &f->prog);
    *ret = f;
    return 0;
}

int rt_seccomp_load(const struct rt_seccomp *f, berth_error_t *err)
{
    if (f == NULL)
        return 0;
    if (f->prog.len > 0) {
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog) < 0)
            return berth_error_new(err, errno, "load seccomp filter");
        return 0;
    }
    int r = seccomp_load(f->ctx);
    if (r < 0)
        return berth_error_new(err, -r, "load seccomp filter");
    return 0;
}

void rt_seccomp_free(struct rt_seccomp *f)
{
    if (f == NULL)
        return;
    if (f->ctx)
        seccomp_release(f->ctx);
    free(f->prog.filter);
    free(f);
}
