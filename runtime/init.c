#define _GNU_SOURCE
#include "runtime/runtime-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"

int rt_send(int sock, char type, const char *payload)
{
    _cleanup_free_ char *msg = xasprintf("%c%s", type, payload);
    return send(sock, msg, strlen(msg), MSG_NOSIGNAL) < 0 ? -1 : 0;
}

_Noreturn void rt_child_fail(int sock, berth_error_t *err)
{
    int code = *err ? (*err)->exit_code : 125;
    _cleanup_free_ char *line = berth_error_serialize(err);
    /* crun #335: the runtime process prints the error, once; only when it
     * is gone (after create returned) does the container's stderr get it */
    if (line == NULL || rt_send(sock, RT_MSG_ERROR, line) < 0)
        dprintf(2, "berth: %s\n", *err ? (*err)->msg : "internal error");
    berth_error_free(err);
    _exit(code);
}

static int ns_flag(const char *type)
{
    static const struct {
        const char *name;
        int flag;
    } t[] = {
        {"user", CLONE_NEWUSER}, {"pid", CLONE_NEWPID},
        {"mount", CLONE_NEWNS},  {"network", CLONE_NEWNET},
        {"ipc", CLONE_NEWIPC},   {"uts", CLONE_NEWUTS},
        {"cgroup", CLONE_NEWCGROUP},
    };
    for (size_t i = 0; type && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, type) == 0)
            return t[i].flag;
    return -1;
}

/* Join the namespaces given by path (the user namespace first: it owns
 * the others), and collect the flags of the new ones. */
static int join_namespaces(json_t *nss, int *ret_new, berth_error_t *err)
{
    size_t i;
    json_t *ns;
    int fds[8], types[8], n = 0, r = 0;

    *ret_new = 0;
    json_array_foreach(nss, i, ns)
    {
        const char *type = json_get_str(ns, "type");
        const char *path = json_get_str(ns, "path");
        int flag = ns_flag(type);
        if (flag < 0) {
            r = berth_error_new(err, 0, "unsupported namespace type %s",
                                type ? type : "(missing)");
            break;
        }
        if (path == NULL || path[0] == '\0') {
            *ret_new |= flag;
            continue;
        }
        int fd = n < 8 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fd < 0) {
            r = berth_error_new(err, errno, "open %s namespace %s", type, path);
            break;
        }
        /* the user namespace goes first */
        int at = flag == CLONE_NEWUSER ? 0 : n;
        memmove(fds + at + 1, fds + at, sizeof(int) * (size_t)(n - at));
        memmove(types + at + 1, types + at, sizeof(int) * (size_t)(n - at));
        fds[at] = fd;
        types[at] = flag;
        n++;
    }
    for (int k = 0; k < n; k++) {
        if (r == 0 && setns(fds[k], types[k]) < 0)
            r = berth_error_new(err, errno, "join namespace");
        close(fds[k]);
    }
    return r;
}

static int new_userns(struct rt_init *c, berth_error_t *err)
{
    char ack = 0;
    if (unshare(CLONE_NEWUSER) < 0)
        return berth_error_new(err, errno,
                               "cannot create a user namespace (is "
                               "user.max_user_namespaces > 0?)");
    if (rt_send(c->sock, RT_MSG_USERNS, "") < 0 ||
        recv(c->sock, &ack, 1, 0) != 1 || ack != 'M')
        return berth_error_new(err, 0, "user namespace mapping failed");
    /* uid 0 may be unmapped (process.user only); keep the ids then */
    (void)!setresgid(0, 0, 0);
    (void)!setresuid(0, 0, 0);
    return 0;
}

static _Noreturn void init_main(struct rt_init *c)
{
    berth_error_t err = NULL;

    if (rt_rootfs_prepare(c, &err) < 0 || rt_rootfs_pivot(c, &err) < 0 ||
        rt_rootfs_finalize(c, &err) < 0)
        rt_child_fail(c->sock, &err);
    rt_process_run(c);
}

_Noreturn void rt_child_main(struct rt_init *c)
{
    berth_error_t err = NULL;
    json_t *linux_ = json_object_get(c->config, "linux");
    int flags = 0;

    if (c->bundle && chdir(c->bundle) < 0) {
        berth_error_new(&err, errno, "chdir %s", c->bundle);
        rt_child_fail(c->sock, &err);
    }
    if (join_namespaces(json_object_get(linux_, "namespaces"), &flags, &err) <
        0)
        rt_child_fail(c->sock, &err);
    if (!(flags & CLONE_NEWNS)) {
        berth_error_new(&err, 0, "linux.namespaces must include a new "
                                 "\"mount\" namespace");
        rt_child_fail(c->sock, &err);
    }
    if ((flags & CLONE_NEWUSER) && new_userns(c, &err) < 0)
        rt_child_fail(c->sock, &err);
    /* unshared after the user namespace exists, so that it owns them */
    if (unshare(flags & ~CLONE_NEWUSER) < 0) {
        berth_error_new(&err, errno, "create namespaces");
        rt_child_fail(c->sock, &err);
    }
    /* a new pid namespace takes effect for children: fork its pid 1 */
    pid_t pid = fork();
    if (pid < 0) {
        berth_error_new(&err, errno, "fork the container init");
        rt_child_fail(c->sock, &err);
    }
    if (pid == 0)
        init_main(c);
    char buf[32];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    rt_send(c->sock, RT_MSG_PID, buf);
    _exit(0);
}
