#define _GNU_SOURCE
#include "runtime/runtime-internal.h"

#include <ctype.h>
#include <errno.h>
#include <seccomp.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

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

int rt_seccomp_build(json_t *seccomp, void **ret_ctx, berth_error_t *err)
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

int rt_seccomp_load(void *ctx, berth_error_t *err)
{
    if (ctx == NULL)
        return 0;
    int r = seccomp_load(ctx);
    if (r < 0)
        return berth_error_new(err, -r, "load seccomp filter");
    return 0;
}

void rt_seccomp_free(void *ctx)
{
    if (ctx)
        seccomp_release(ctx);
}
