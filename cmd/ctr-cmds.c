/* Container lifecycle commands: start, stop, kill, restart, rm, wait,
 * logs, container exists. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/network.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/pods.h"
#include "storage/volumes.h"
#include "storage/store.h"

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}

static const char *status_of(json_t *rec)
{
    const char *st = json_get_str(json_object_get(rec, "state"), "status");
    return st ? st : "created";
}

static bool is_running(json_t *rec)
{
    const char *st = status_of(rec);
    return strcmp(st, "running") == 0 || strcmp(st, "paused") == 0;
}

/* Podman reports each failing name and exits with the last error. */

int ctr_start_one(struct store *s, const char *name, bool attach,
                  bool interactive, int *ret_code, berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (ctr_lookup(s, name, &rec, err) < 0)
        return -1;
    if (is_running(rec))
        return 0; /* podman: starting a running container is a no-op */
    const char *id = json_get_str(rec, "id");
    bool waiting = strcmp(status_of(rec), "created") == 0 &&
                   ctr_monitor_alive(s, id);
    /* the last life's monitor records the exit code before it deletes
     * the runtime's container and leaves: let it finish (bounded, 5 s) */
    for (int n = 0; !waiting && n < 500 && ctr_monitor_alive(s, id); n++)
        poll(NULL, 0, 10);
    /* a fresh monitor unless one is waiting from `create` */
    if (!waiting && ctr_launch(s, &rec, err) < 0)
        return -1;
    if (!attach)
        return ctr_release(s, &rec, err);
    int fd = -1;
    if (ctr_attach_connect(s, json_get_str(rec, "id"), &fd, err) < 0)
        return -1;
    int r = ctr_release(s, &rec, err);
    /* the options of the record ctr_release left: the old one is freed */
    json_t *o = json_object_get(rec, "options");
    if (r == 0)
        r = ctr_attach_fd(s, rec, fd, interactive,
                          json_is_true(json_object_get(o, "tty")),
                          json_get_str(o, "detach_keys"), ret_code, err);
    close(fd);
    return r;
}

int cmd_start(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "start", NULL, "[options] CONTAINER [CONTAINER...]",
        "Start one or more containers", NULL, NULL};
    bool attach = false, interactive = false;
    const struct cli_opt opts[] = {
        {"attach", 'a', CLI_BOOL, &attach, NULL,
         "Attach container's STDOUT and STDERR"},
        {"interactive", 'i', CLI_BOOL, &interactive, NULL,
         "Make STDIN available to the contained process"},
        NO_OPTS,
    };
    struct store *s = NULL;
    struct multi m = {0};
    int optind = 0, r, code = 0;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("start", argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if ((attach || interactive) && argc - optind > 1)
        return berth_error_new(err, 0, "you cannot start and attach "
                               "multiple containers at once");
    for (int i = optind; i < argc; i++) {
        berth_error_t e = NULL;
        if (ctr_start_one(s, argv[i], attach || interactive, interactive, &code,
                      &e) < 0)
            multi_fail(&m, &e);
        else if (!attach && !interactive)
            printf("%s\n", argv[i]);
    }
    if (multi_done(&m, err) < 0)
        return -1;
    return (attach || interactive) && code > 0 ? code : 0;
}

/* stop: STOPSIGNAL, then SIGKILL after the timeout; waits for the exit. */
/* A paused container takes the signal that ends it only once thawed
 * (podman's stop and rm -f of a paused container) */
static void thaw_paused(struct store *s, json_t *rec)
{
    berth_error_t e = NULL;
    if (strcmp(status_of(rec), "paused") == 0 && ctr_freeze(s, rec, false, &e) < 0)
        berth_error_free(&e);
}

int ctr_stop_one(struct store *s, const char *name, int timeout,
                 berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (ctr_lookup(s, name, &rec, err) < 0)
        return -1;
    const char *id = json_get_str(rec, "id");
    json_t *o = json_object_get(rec, "options");
    if (!is_running(rec))
        return 0;
    /* the monitor must not restart what the user stopped */
    _cleanup_free_ char *exits = ctr_exit_dir(s);
    _cleanup_free_ char *marker = xasprintf("%s/%s.stopped", exits, id);
    if (fs_write_file_atomic(marker, "", 0, 0644, err) < 0)
        return -1;
    if (timeout < 0)
        timeout = (int)json_get_int(o, "stop_timeout", 10);
    int sig = ctr_parse_signal(json_get_str(o, "stop_signal"));
    if (ctr_signal(s, rec, sig > 0 ? sig : SIGTERM, err) < 0)
        return -1;
    thaw_paused(s, rec);
    /* wait up to the timeout for the exit file, then kill */
    _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in >= 0)
        inotify_add_watch(in, exits, IN_MOVED_TO | IN_CLOSE_WRITE);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (ctr_read_exit(s, id) >= 0 || !ctr_monitor_alive(s, id))
            break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - t0.tv_sec) * 1000 +
                  (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms >= timeout * 1000L) {
            berth_error_t e = NULL;
            if (ctr_signal(s, rec, SIGKILL, &e) < 0)
                berth_error_free(&e);
            int code;
            ctr_wait_exit(s, id, &code);
            break;
        }
        struct pollfd p = {.fd = in, .events = POLLIN};
        if (poll(&p, 1, (int)(timeout * 1000L - ms < 500 ? timeout * 1000L - ms
                                                          : 500)) > 0) {
            char buf[4096];
            while (read(in, buf, sizeof buf) > 0)
                ;
        }
    }
    json_t *r = json_incref(rec);
    int ret = ctr_refresh(s, &r, err);
    json_decref(r);
    return ret;
}

int cmd_stop(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "stop", NULL, "[options] CONTAINER [CONTAINER...]",
        "Stop one or more containers", NULL, NULL};
    bool all = false, ignore = false;
    int timeout = -1;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Stop all running containers"},
        {"ignore", 'i', CLI_BOOL, &ignore, NULL,
         "Ignore errors when a specified container is missing"},
        {"time", 't', CLI_INT, &timeout, "int",
         "Seconds to wait for stop before killing the container"},
        NO_OPTS,
    };
    struct store *s = NULL;
    struct multi m = {0};
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (!all && cli_nargs("stop", argc - optind, 1, -1, err) < 0)
        return -1;
    if (cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_strv_ char **names = NULL;
    if (all) {
        _cleanup_json_ json_t *list = NULL;
        if (ctr_list(s, &list, err) < 0)
            return -1;
        for (size_t i = 0; i < json_array_size(list); i++)
            if (is_running(json_array_get(list, i)))
                strv_append(&names, json_get_str(json_array_get(list, i), "id"));
    }
    for (int i = optind; i < argc; i++)
        strv_append(&names, argv[i]);
    for (size_t i = 0; names && names[i]; i++) {
        berth_error_t e = NULL;
        if (ctr_stop_one(s, names[i], timeout, &e) < 0) {
            if (ignore && e->errnum == ENOENT)
                berth_error_free(&e);
            else
                multi_fail(&m, &e);
        } else {
            printf("%s\n", names[i]);
        }
    }
    return multi_done(&m, err);
}

int cmd_kill(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "kill", NULL, "[options] CONTAINER [CONTAINER...]",
        "Kill one or more running containers with a specific signal", NULL,
        NULL};
    _cleanup_free_ char *signame = NULL;
    const struct cli_opt opts[] = {
        {"signal", 's', CLI_STRING, &signame, "string",
         "Signal to send to the container"},
        NO_OPTS,
    };
    struct store *s = NULL;
    struct multi m = {0};
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("kill", argc - optind, 1, -1, err) < 0)
        return -1;
    int sig = signame ? ctr_parse_signal(signame) : SIGKILL;
    if (sig < 0)
        return berth_error_new(err, 0, "invalid signal: %s", signame);
    if (cli_store(g, &s, err) < 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        _cleanup_json_ json_t *rec = NULL;
        berth_error_t e = NULL;
        if (ctr_lookup(s, argv[i], &rec, &e) < 0) {
            multi_fail(&m, &e);
            continue;
        }
        if (!is_running(rec)) {
            berth_error_new(&e, 0, "can only kill running containers. %s is "
                            "in state %s: container state improper",
                            json_get_str(rec, "id"), status_of(rec));
            multi_fail(&m, &e);
            continue;
        }
        if (ctr_signal(s, rec, sig, &e) < 0)
            multi_fail(&m, &e);
        else
            printf("%s\n", argv[i]);
    }
    return multi_done(&m, err);
}

/* Remove a container: kill it first with force, then its files. */
int ctr_remove(struct store *s, const char *name, bool force,
               berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (ctr_lookup(s, name, &rec, err) < 0)
        return -1;
    const char *id = json_get_str(rec, "id");
    if (is_running(rec)) {
        if (!force)
            return berth_error_new(err, 0,
                                   "cannot remove container %s as it is "
                                   "running - running or paused containers "
                                   "cannot be removed without force: "
                                   "container state improper",
                                   id);
        _cleanup_free_ char *exits = ctr_exit_dir(s);
        _cleanup_free_ char *marker = xasprintf("%s/%s.stopped", exits, id);
        berth_error_t e = NULL;
        if (fs_write_file_atomic(marker, "", 0, 0644, &e) < 0 ||
            ctr_signal(s, rec, SIGKILL, &e) < 0)
            berth_error_free(&e);
        thaw_paused(s, rec);
        int code;
        ctr_wait_exit(s, id, &code);
    } else if (ctr_monitor_alive(s, id)) {
        /* a monitor waiting to start (its start fifo never sees EOF: it
         * holds a writer itself): "x" makes it delete the runtime's
         * container, whose init waits on its exec fifo, and leave.  The
         * record may still say "configured" when the `run` that started
         * the monitor was killed before it wrote "created". */
        _cleanup_free_ char *fifo = ctr_run_file(s, id, "start");
        int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0 && write(fd, "x", 1) == 1) {
            for (int n = 0; n < 200 && ctr_monitor_alive(s, id); n++)
                poll(NULL, 0, 25); /* bounded: 5 s */
        }
        if (fd >= 0)
            close(fd);
        /* still there (stuck before it could read the abort): -f is
         * force, its session goes (the monitor leads its own) */
        pid_t mpid = ctr_monitor_pid(s, id);
        if (force && mpid > 0 && ctr_monitor_alive(s, id))
            kill(-mpid, SIGKILL);
    }
    /* a --rm container is removed by its own monitor, maybe before the
     * `run` in the foreground read the exit code: that run removes it */
    bool keep_code =
        json_is_true(json_object_get(json_object_get(rec, "options"), "rm"));
    if (containers_delete(s, id, err) < 0)
        return -1;
    network_detach_all(s, rec);
    _cleanup_free_ char *exits = ctr_exit_dir(s);
    static const char *const suffixes[] = {".stopped", ".ctl", "", ".json"};
    for (size_t i = 0; i < (keep_code ? 2 : 4); i++) {
        _cleanup_free_ char *p = xasprintf("%s/%s%s", exits, id, suffixes[i]);
        unlink(p);
    }
    return 0;
}

/* The id of the pod whose infra container rec is, while the pod exists. */
static char *infra_pod(struct store *s, json_t *rec)
{
    json_t *o = json_object_get(rec, "options");
    _cleanup_json_ json_t *pod = NULL;
    berth_error_t e = NULL;
    if (!json_is_true(json_object_get(o, "infra")) ||
        pods_lookup(s, json_get_str(o, "pod"), &pod, &e) < 0) {
        berth_error_free(&e);
        return NULL;
    }
    return xstrdup(json_get_str(pod, "id"));
}

int cmd_rm(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "rm", NULL, "[options] CONTAINER [CONTAINER...]",
        "Remove one or more containers", NULL, NULL};
    bool all = false, force = false, ignore = false, volumes = false;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Remove all containers"},
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Force removal of a running or unusable container"},
        {"ignore", 'i', CLI_BOOL, &ignore, NULL,
         "Ignore errors when a specified container is missing"},
        {"volumes", 'v', CLI_BOOL, &volumes, NULL,
         "Remove anonymous volumes associated with the container"},
        NO_OPTS,
    };
    struct store *s = NULL;
    struct multi m = {0};
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (!all && cli_nargs("rm", argc - optind, 1, -1, err) < 0)
        return -1;
    if (cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_strv_ char **names = NULL;
    if (all) {
        _cleanup_json_ json_t *list = NULL;
        if (containers_list(s, &list, err) < 0)
            return -1;
        /* a pod's infra goes with its pod (pod rm) */
        for (size_t i = 0; i < json_array_size(list); i++) {
            _cleanup_free_ char *pod = infra_pod(s, json_array_get(list, i));
            if (pod == NULL && !json_is_true(json_object_get(
                                   json_object_get(json_array_get(list, i),
                                                   "options"),
                                   "hidden")))
                strv_append(&names,
                            json_get_str(json_array_get(list, i), "id"));
        }
    }
    for (int i = optind; i < argc; i++)
        strv_append(&names, argv[i]);
    for (size_t i = 0; names && names[i]; i++) {
        berth_error_t e = NULL;
        json_t *vrec = NULL;
        _cleanup_json_ json_t *irec = NULL;
        _cleanup_free_ char *pod = NULL;
        if (ctr_lookup(s, names[i], &irec, &e) == 0 &&
            (pod = infra_pod(s, irec)) != NULL) {
            berth_error_new(&e, 0, "container %s is the infra container of "
                            "pod %s and cannot be removed without removing "
                            "the pod", json_get_str(irec, "id"), pod);
            multi_fail(&m, &e);
            continue;
        }
        berth_error_free(&e);
        if (volumes && ctr_lookup(s, names[i], &vrec, &e) < 0)
            berth_error_free(&e);
        if (ctr_remove(s, names[i], force, &e) < 0) {
            json_decref(vrec);
            /* podman: exit 1 when a container does not exist */
            if (e->errnum == ENOENT && (ignore || force)) {
                berth_error_free(&e);
                continue;
            }
            if (e->errnum == ENOENT)
                berth_error_set_exit(&e, 1);
            else if (strstr(e->msg, "container state improper"))
                berth_error_set_exit(&e, 2);
            multi_fail(&m, &e);
        } else {
            /* -v: the container's anonymous volumes go with it */
            if (vrec && volumes_remove_anonymous_of(s, vrec, &e) < 0) {
                print_warning("%s, ignoring", e->msg);
                berth_error_free(&e);
            }
            json_decref(vrec);
            printf("%s\n", names[i]);
        }
    }
    return multi_done(&m, err);
}

int cmd_restart(struct cli_global *g, int argc, char **argv,
                berth_error_t *err)
{
    static const struct cli_command self = {
        "restart", NULL, "[options] CONTAINER [CONTAINER...]",
        "Restart one or more containers", NULL, NULL};
    int timeout = -1;
    const struct cli_opt opts[] = {
        {"time", 't', CLI_INT, &timeout, "int",
         "Seconds to wait for stop before killing the container"},
        NO_OPTS,
    };
    struct store *s = NULL;
    struct multi m = {0};
    int optind = 0, r, code;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("restart", argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        berth_error_t e = NULL;
        if (ctr_stop_one(s, argv[i], timeout, &e) < 0 ||
            ctr_start_one(s, argv[i], false, false, &code, &e) < 0)
            multi_fail(&m, &e);
        else
            printf("%s\n", argv[i]);
    }
    return multi_done(&m, err);
}

int cmd_wait(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "wait", NULL, "[options] CONTAINER [CONTAINER...]",
        "Block on one or more containers", NULL, NULL};
    const struct cli_opt opts[] = {NO_OPTS};
    struct store *s = NULL;
    struct multi m = {0};
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("wait", argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        _cleanup_json_ json_t *rec = NULL;
        berth_error_t e = NULL;
        int code = -1;
        if (ctr_lookup(s, argv[i], &rec, &e) < 0) {
            multi_fail(&m, &e);
            continue;
        }
        if (is_running(rec) || ctr_monitor_alive(s, json_get_str(rec, "id")))
            ctr_wait_exit(s, json_get_str(rec, "id"), &code);
        else
            code = (int)json_get_int(json_object_get(rec, "state"),
                                     "exitCode", 0);
        printf("%d\n", code);
    }
    return multi_done(&m, err);
}

int cmd_container_exists(struct cli_global *g, int argc, char **argv,
                         berth_error_t *err)
{
    static const struct cli_command self = {
        "container exists", NULL, "CONTAINER",
        "Check if a container exists in local storage", NULL, NULL};
    const struct cli_opt opts[] = {NO_OPTS};
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("container exists", argc - optind, 1, 1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    berth_error_t e = NULL;
    if (containers_lookup(s, argv[optind], &rec, &e) < 0) {
        if (e->errnum == ENOENT) {
            berth_error_free(&e);
            return 1;
        }
        *err = e;
        return -1;
    }
    return 0;
}
