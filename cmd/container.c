#define _GNU_SOURCE
#include "cmd/container.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/store.h"

char *ctr_helper_path(const char *name, const char *env_var)
{
    const char *env = getenv(env_var);
    char self[PATH_MAX];
    ssize_t n;

    if (env && *env)
        return xstrdup(env);
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = '\0';
    char *dir = dirname(self);
    char *p = xasprintf("%s/%s", dir, name);
    if (access(p, X_OK) == 0)
        return p;
    free(p);
    p = xasprintf("%s/../libexec/berth/%s", dir, name);
    if (access(p, X_OK) == 0)
        return p;
    free(p);
    return NULL;
}

char *ctr_monitor_path(berth_error_t *err)
{
    char *p = ctr_helper_path("berth-monitor", "BERTH_MONITOR");
    if (p == NULL)
        berth_error_new(err, 0,
                        "berth-monitor not found beside berth or in "
                        "../libexec/berth (set BERTH_MONITOR or run make "
                        "install)");
    return p;
}

char *ctr_exit_dir(struct store *s)
{
    return xasprintf("%s/exits", s->runroot);
}

const char *ctr_ext_runtime(json_t *rec)
{
    const char *r = json_get_str(json_object_get(rec, "options"), "runtime");
    return r && *r ? r : NULL;
}

char *ctr_runtime_root(struct store *s, json_t *rec)
{
    return xasprintf("%s/%s", s->runroot,
                     ctr_ext_runtime(rec) ? "ext-runtime" : "oci-runtime");
}

char *ctr_run_file(struct store *s, const char *id, const char *name)
{
    _cleanup_free_ char *dir = containers_run_path(s, id);
    return xasprintf("%s/%s", dir, name);
}

pid_t ctr_monitor_pid(struct store *s, const char *id)
{
    _cleanup_free_ char *pidf = ctr_run_file(s, id, "monitor.pid");
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(pidf, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return 0;
    }
    return (pid_t)atoi(buf);
}

bool ctr_monitor_alive(struct store *s, const char *id)
{
    _cleanup_free_ char *pidf = ctr_run_file(s, id, "monitor.pid");
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(pidf, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    pid_t pid = (pid_t)atoi(buf);
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return false;
    /* the pid may have been reused: it must still be a monitor, and a
     * killed one not yet reaped (a zombie) is dead */
    _cleanup_free_ char *statp = xasprintf("/proc/%d/stat", (int)pid);
    _cleanup_free_ char *stat = NULL;
    if (fs_read_file(statp, &stat, NULL, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    /* "PID (comm) STATE ..." */
    const char *rp = strrchr(stat, ')');
    if (rp == NULL || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X')
        return false;
    return strstr(stat, "(berth-monitor)") != NULL;
}

struct exit_info {
    int code;
    const char *finished;
};

static int set_exited(json_t *rec, void *arg, berth_error_t *err)
{
    struct exit_info *x = arg;
    json_t *st = json_object_get(rec, "state");
    (void)err;
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(rec, "state", st);
    }
    json_object_set_new(st, "status", json_string("exited"));
    json_object_set_new(st, "exitCode", json_integer(x->code));
    json_object_set_new(st, "pid", json_integer(0));
    if (x->finished)
        json_object_set_new(st, "finishedAt", json_string(x->finished));
    return 0;
}

int ctr_refresh(struct store *s, json_t **rec, berth_error_t *err)
{
    const char *id = json_get_str(*rec, "id");
    const char *status = json_get_str(json_object_get(*rec, "state"), "status");
    if (status == NULL || (strcmp(status, "running") != 0 &&
                           strcmp(status, "created") != 0 &&
                           strcmp(status, "paused") != 0 &&
                           strcmp(status, "stopping") != 0))
        return 0;
    if (strcmp(status, "created") == 0 &&
        json_get_int(json_object_get(*rec, "state"), "pid", 0) == 0)
        return 0; /* created, monitor not started yet (create --no-start) */
    _cleanup_free_ char *dir = ctr_exit_dir(s);
    _cleanup_free_ char *code_path = xasprintf("%s/%s", dir, id);
    _cleanup_free_ char *json_path = xasprintf("%s/%s.json", dir, id);
    _cleanup_free_ char *code = NULL;
    _cleanup_free_ char *now = NULL;
    _cleanup_json_ json_t *xj = NULL;
    struct exit_info x = {-1, NULL};
    berth_error_t e = NULL;

    if (fs_read_file(code_path, &code, NULL, &e) == 0) {
        x.code = atoi(code);
        xj = json_load_path(json_path, &e);
        berth_error_free(&e);
        x.finished = json_get_str(xj, "exitedAt");
        if (x.finished == NULL) {
            /* the code is written first, the JSON just after */
            now = time_rfc3339_now();
            x.finished = now;
        }
    } else {
        berth_error_free(&e);
        if (ctr_monitor_alive(s, id))
            return 0;
        /* the monitor died without recording an exit (killed): report
         * the container as exited with an unknown code rather than
         * running forever (podman #439) */
        now = time_rfc3339_now();
        x.finished = now;
    }
    json_t *upd = NULL;
    if (containers_update(s, id, set_exited, &x, &upd, err) < 0)
        return -1;
    json_decref(*rec);
    *rec = upd;
    return 0;
}

int ctr_lookup(struct store *s, const char *name_or_id, json_t **ret,
               berth_error_t *err)
{
    json_t *rec = NULL;
    if (containers_lookup(s, name_or_id, &rec, err) < 0)
        return -1;
    if (ctr_refresh(s, &rec, err) < 0) {
        json_decref(rec);
        return -1;
    }
    *ret = rec;
    return 0;
}

int ctr_list(struct store *s, json_t **ret, berth_error_t *err)
{
    json_t *all = NULL;
    if (containers_list(s, &all, err) < 0)
        return -1;
    for (size_t i = 0; i < json_array_size(all); i++) {
        json_t *rec = json_incref(json_array_get(all, i));
        berth_error_t e = NULL;
        if (ctr_refresh(s, &rec, &e) < 0)
            berth_error_free(&e); /* removed meanwhile: keep what we had */
        json_array_set_new(all, i, rec);
    }
    *ret = all;
    return 0;
}

static const struct {
    const char *name;
    int num;
} signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT},
    {"ILL", SIGILL},   {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},
    {"BUS", SIGBUS},   {"FPE", SIGFPE},       {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

int ctr_parse_signal(const char *s)
{
    if (s == NULL || *s == '\0')
        return -1;
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (*end == '\0')
        return n > 0 && n < 65 ? (int)n : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (strcasecmp(s, signals[i].name) == 0)
            return signals[i].num;
    return -1;
}

int ctr_signal(struct store *s, json_t *rec, int sig, berth_error_t *err)
{
    pid_t pid = (pid_t)json_get_int(json_object_get(rec, "state"), "pid", 0);
    (void)s;
    if (pid <= 0)
        return berth_error_new(err, 0, "container %s is not running",
                               json_get_str(rec, "name"));
    if (kill(pid, sig) == 0)
        return 0;
    if (errno != EPERM)
        return berth_error_new(err, errno, "signal container %s",
                               json_get_str(rec, "name"));
    /* a process of a subordinate id: signal it from inside its user
     * namespace, which we own */
    _cleanup_free_ char *ns = xasprintf("/proc/%d/ns/user", (int)pid);
    pid_t child = fork();
    if (child < 0)
        return berth_error_new(err, errno, "fork");
    if (child == 0) {
        int fd = open(ns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWUSER) < 0 || kill(pid, sig) < 0)
            _exit(errno ? errno : 1);
        _exit(0);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return berth_error_new(err, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                               "signal container %s",
                               json_get_str(rec, "name"));
    return 0;
}
