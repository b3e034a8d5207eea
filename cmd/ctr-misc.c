/* Container commands around a running container: attach, top, pause,
 * unpause, and rename. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/container.h"
#include "cmd/format.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/cgroup.h"
#include "storage/containers.h"
#include "storage/store.h"

int cmd_attach(struct cli_global *g, int argc, char **argv, berth_error_t *err);
int cmd_top(struct cli_global *g, int argc, char **argv, berth_error_t *err);
int cmd_pause(struct cli_global *g, int argc, char **argv, berth_error_t *err);
int cmd_unpause(struct cli_global *g, int argc, char **argv,
                berth_error_t *err);
int cmd_rename(struct cli_global *g, int argc, char **argv, berth_error_t *err);

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}

static const char *misc_status(json_t *rec)
{
    const char *st = json_get_str(json_object_get(rec, "state"), "status");
    return st ? st : "created";
}

static pid_t misc_init_pid(json_t *rec)
{
    return (pid_t)json_get_int(json_object_get(rec, "state"), "pid", 0);
}

/* ---- the processes of a container: those in its init's pid namespace */

static bool ns_ino(pid_t pid, const char *ns, ino_t *ret)
{
    char p[64];
    struct stat st;
    snprintf(p, sizeof p, "/proc/%d/ns/%s", (int)pid, ns);
    if (stat(p, &st) < 0)
        return false;
    *ret = st.st_ino;
    return true;
}

static size_t scan_pidns(pid_t init, pid_t **ret)
{
    ino_t want, got;
    pid_t *v = NULL;
    size_t n = 0;
    if (!ns_ino(init, "pid", &want))
        return 0;
    _cleanup_closedir_ DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || !ns_ino((pid_t)pid, "pid", &got) ||
            got != want)
            continue;
        v = xrealloc(v, (n + 1) * sizeof *v);
        v[n++] = (pid_t)pid;
    }
    *ret = v;
    return n;
}

static bool same_userns(pid_t pid)
{
    ino_t a, b;
    return ns_ino(pid, "user", &a) && ns_ino(getpid(), "user", &b) && a == b;
}

/* Rootless, processes of subordinate ids are not ours to inspect or
 * signal from here; inside the user namespace the monitor created (which
 * we own) they are.  Runs fn in a child that joined it; fn writes its
 * results to fd. */
static int in_userns(pid_t init, void (*fn)(void *arg, int fd), void *arg,
                     int fd, berth_error_t *err)
{
    pid_t child = fork();
    if (child < 0)
        return berth_error_new(err, errno, "fork");
    if (child == 0) {
        char p[64];
        snprintf(p, sizeof p, "/proc/%d/ns/user", (int)init);
        int nsfd = open(p, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0 || setns(nsfd, CLONE_NEWUSER) < 0)
            _exit(1);
        fn(arg, fd);
        _exit(0);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return berth_error_new(err, 0, "join the container's user namespace");
    return 0;
}

static void scan_to_fd(void *arg, int fd)
{
    _cleanup_free_ pid_t *v = NULL;
    size_t n = scan_pidns(*(pid_t *)arg, &v);
    for (size_t i = 0; i < n; i++)
        dprintf(fd, "%d\n", (int)v[i]);
}

/* Host pids of every process of the container. */
static int ctr_pids(json_t *rec, pid_t **ret, size_t *ret_n,
                    berth_error_t *err)
{
    pid_t init = misc_init_pid(rec);
    *ret = NULL;
    *ret_n = 0;
    if (init <= 0)
        return berth_error_new(err, 0, "container %s is not running",
                               json_get_str(rec, "name"));
    if (geteuid() == 0 || same_userns(init)) {
        *ret_n = scan_pidns(init, ret);
        return 0;
    }
    _cleanup_free_ char *path = NULL;
    char tmpl[] = "/tmp/berth-top-XXXXXX";
    _cleanup_close_ int fd = mkstemp(tmpl);
    if (fd < 0)
        return berth_error_new(err, errno, "mkstemp");
    unlink(tmpl);
    if (in_userns(init, scan_to_fd, &init, fd, err) < 0)
        return -1;
    _cleanup_free_ char *buf = NULL;
    path = xasprintf("/proc/self/fd/%d", fd);
    if (fs_read_file(path, &buf, NULL, err) < 0)
        return -1;
    _cleanup_strv_ char **lines = strv_split(buf, "\n");
    for (size_t i = 0; lines[i]; i++) {
        if (*lines[i] == '\0')
            continue;
        *ret = xrealloc(*ret, (*ret_n + 1) * sizeof **ret);
        (*ret)[(*ret_n)++] = (pid_t)atoi(lines[i]);
    }
    return 0;
}

/* ---- attach ---- */

int cmd_attach(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "attach", NULL, "[options] CONTAINER",
        "Attach to a running container", NULL, NULL};
    bool no_stdin = false;
    _cleanup_free_ char *keys = NULL;
    const struct cli_opt opts[] = {
        {"detach-keys", 0, CLI_STRING, &keys, "string",
         "Select the key sequence for detaching a container"},
        {"no-stdin", 0, CLI_BOOL, &no_stdin, NULL,
         "Do not attach STDIN. The default is false"},
        NO_OPTS,
    };
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    int optind = 0, r, code = -1;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("attach", argc - optind, 1, 1, err) < 0 ||
        cli_store(g, &s, err) < 0 || ctr_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    const char *st = misc_status(rec);
    if (strcmp(st, "running") != 0 && strcmp(st, "paused") != 0)
        return berth_error_new(err, 0, "you can only attach to running "
                               "containers");
    json_t *o = json_object_get(rec, "options");
    bool tty = json_is_true(json_object_get(o, "tty"));
    bool interactive =
        !no_stdin && json_is_true(json_object_get(o, "interactive"));
    if (keys == NULL && json_get_str(o, "detach_keys"))
        keys = xstrdup(json_get_str(o, "detach_keys"));
    int fd = -1;
    if (ctr_attach_connect(s, json_get_str(rec, "id"), &fd, err) < 0)
        return -1;
    r = ctr_attach_fd(s, rec, fd, interactive, tty, keys, &code, err);
    close(fd);
    if (r < 0)
        return -1;
    return code < 0 ? 0 : code;
}

/* ---- top ---- */

struct proc_info {
    pid_t host_pid, ns_pid, host_ppid;
    long uid, gid; /* as the container sees them */
    unsigned long long utime, stime, start; /* clock ticks */
    int tty_nr;
    char *comm, *args;
};

/* "0 100000 65536" lines: a host id to the container's. */
static long map_id(const char *map, long host)
{
    _cleanup_strv_ char **lines = strv_split(map ? map : "", "\n");
    for (size_t i = 0; lines[i]; i++) {
        long in, out, len;
        if (sscanf(lines[i], "%ld %ld %ld", &in, &out, &len) == 3 &&
            host >= out && host < out + len)
            return in + (host - out);
    }
    return map && *map ? 65534 : host;
}

static bool read_proc(pid_t pid, const char *uid_map, const char *gid_map,
                      struct proc_info *p)
{
    char path[64];
    _cleanup_free_ char *stat = NULL, *status = NULL, *cmdline = NULL;
    size_t clen = 0;
    berth_error_t e = NULL;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (fs_read_file(path, &stat, NULL, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (fs_read_file(path, &status, NULL, &e) < 0) {
        berth_error_free(&e);
        return false;
    }
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    if (fs_read_file(path, &cmdline, &clen, &e) < 0)
        berth_error_free(&e);
    char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');
    if (lp == NULL || rp == NULL)
        return false;
    *rp = '\0';
    p->host_pid = pid;
    p->comm = xstrdup(lp + 1);
    int ppid = 0;
    /* fields after comm: state ppid pgrp session tty_nr tpgid flags minflt
     * cminflt majflt cmajflt utime stime cutime cstime priority nice
     * num_threads itrealvalue starttime */
    sscanf(rp + 2, "%*c %d %*d %*d %d %*d %*u %*u %*u %*u %*u %llu %llu "
                   "%*d %*d %*d %*d %*d %*d %llu",
           &ppid, &p->tty_nr, &p->utime, &p->stime, &p->start);
    p->host_ppid = (pid_t)ppid;
    const char *ns = strstr(status, "\nNSpid:");
    p->ns_pid = pid;
    if (ns) {
        const char *end = strchr(ns + 1, '\n');
        const char *last = end ? end : ns + strlen(ns);
        while (last > ns && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        while (last > ns && last[-1] >= '0' && last[-1] <= '9')
            last--;
        p->ns_pid = (pid_t)atoi(last);
    }
    const char *u = strstr(status, "\nUid:");
    const char *gg = strstr(status, "\nGid:");
    p->uid = map_id(uid_map, u ? atol(u + 5) : 0);
    p->gid = map_id(gid_map, gg ? atol(gg + 5) : 0);
    for (size_t i = 0; cmdline && i + 1 < clen; i++)
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    p->args = cmdline && clen ? xstrdup(cmdline) : xasprintf("[%s]", p->comm);
    return true;
}

/* A name from the container's passwd or group file, else the number. */
static char *id_name(const char *file, long id)
{
    _cleanup_free_ char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(file, &buf, NULL, &e) == 0) {
        _cleanup_strv_ char **lines = strv_split(buf, "\n");
        for (size_t i = 0; lines[i]; i++) {
            _cleanup_strv_ char **f = strv_split(lines[i], ":");
            if (strv_len(f) >= 3 && atol(f[2]) == id &&
                f[2][0] >= '0' && f[2][0] <= '9')
                return xstrdup(f[0]);
        }
    }
    berth_error_free(&e);
    return xasprintf("%ld", id);
}

/* Go's time.Duration.String() for ns >= 0 (what psgo prints). */
static char *go_duration(unsigned long long ns)
{
    if (ns == 0)
        return xstrdup("0s");
    if (ns < 1000000ULL)
        return xasprintf("%gµs", (double)ns / 1e3);
    if (ns < 1000000000ULL)
        return xasprintf("%gms", (double)ns / 1e6);
    unsigned long long h = ns / 3600000000000ULL;
    unsigned long long m = ns / 60000000000ULL % 60;
    unsigned long long sns = ns % 60000000000ULL;
    char sec[48];
    snprintf(sec, sizeof sec, "%llu.%09llu", sns / 1000000000ULL,
             sns % 1000000000ULL);
    size_t l = strlen(sec);
    while (sec[l - 1] == '0')
        sec[--l] = '\0';
    if (sec[l - 1] == '.')
        sec[--l] = '\0';
    if (h)
        return xasprintf("%lluh%llum%ss", h, m, sec);
    if (m)
        return xasprintf("%llum%ss", m, sec);
    return xasprintf("%ss", sec);
}

static char *tty_name(int tty_nr)
{
    unsigned major = ((unsigned)tty_nr >> 8) & 0xfff;
    unsigned minor = ((unsigned)tty_nr & 0xff) | (((unsigned)tty_nr >> 12) &
                                                   0xfff00);
    if (tty_nr == 0)
        return xstrdup("?");
    if (major >= 136 && major <= 143)
        return xasprintf("pts/%u", minor + (major - 136) * 256);
    if (major == 4)
        return xasprintf("tty%u", minor);
    return xstrdup("?");
}

static const struct {
    const char *name, *code, *header;
} top_desc[] = {
    {"user", "%U", "USER"},     {"pid", "%p", "PID"},
    {"ppid", "%P", "PPID"},     {"pcpu", "%C", "%CPU"},
    {"etime", "%t", "ELAPSED"}, {"tty", "%y", "TTY"},
    {"time", "%x", "TIME"},     {"args", "%a", "COMMAND"},
    {"comm", "%c", "COMMAND"},  {"group", "%G", "GROUP"},
    {"uid", NULL, "UID"},       {"gid", NULL, "GID"},
};
#define N_TOP_DESC (sizeof top_desc / sizeof top_desc[0])

struct top_ctx {
    const char *passwd, *group;
    unsigned long long uptime_ns;
    long ticks;
    pid_t *host, *nspid; /* for PPID as the container sees it */
    size_t n;
};

static char *top_cell(const struct top_ctx *c, const struct proc_info *p,
                      size_t d)
{
    /* integer nanoseconds: Go prints exact durations, "1.46s" */
    unsigned long long tick_ns = 1000000000ULL / (unsigned long long)c->ticks;
    unsigned long long cpu_ns = (p->utime + p->stime) * tick_ns;
    unsigned long long start_ns = p->start * tick_ns;
    unsigned long long el_ns =
        c->uptime_ns > start_ns ? c->uptime_ns - start_ns : 0;
    switch (d) {
    case 0: return id_name(c->passwd, p->uid);
    case 1: return xasprintf("%d", (int)p->ns_pid);
    case 2:
        for (size_t i = 0; i < c->n; i++)
            if (c->host[i] == p->host_ppid)
                return xasprintf("%d", (int)c->nspid[i]);
        return xstrdup("0");
    case 3:
        return xasprintf("%.3f", el_ns ? 100.0 * (double)cpu_ns /
                                             (double)el_ns : 0.0);
    case 4: return go_duration(el_ns);
    case 5: return tty_name(p->tty_nr);
    case 6: return go_duration(cpu_ns / 1000000000ULL * 1000000000ULL);
    case 7: return xstrdup(p->args);
    case 8: return xstrdup(p->comm);
    case 9: return id_name(c->group, p->gid);
    case 10: return xasprintf("%ld", p->uid);
    case 11: return xasprintf("%ld", p->gid);
    default: return xstrdup("");
    }
}

/* Descriptors as podman takes them: separate arguments or one
 * comma/space-separated list; "pid" or its AIX code "%p". */
static int top_parse(char **args, int n, size_t **ret, size_t *ret_n,
                     berth_error_t *err)
{
    static const size_t dflt[] = {0, 1, 2, 3, 4, 5, 6, 7};
    *ret_n = 0;
    *ret = NULL;
    for (int i = 0; i < n; i++) {
        _cleanup_strv_ char **parts = strv_split(args[i], ", ");
        for (size_t j = 0; parts[j]; j++) {
            if (*parts[j] == '\0')
                continue;
            size_t d = 0;
            while (d < N_TOP_DESC && strcmp(top_desc[d].name, parts[j]) != 0 &&
                   !(top_desc[d].code &&
                     strcmp(top_desc[d].code, parts[j]) == 0))
                d++;
            if (d == N_TOP_DESC) {
                free(*ret);
                *ret = NULL;
                return berth_error_new(err, 0, "unknown descriptor: %s",
                                       parts[j]);
            }
            *ret = xrealloc(*ret, (*ret_n + 1) * sizeof **ret);
            (*ret)[(*ret_n)++] = d;
        }
    }
    if (*ret_n == 0) {
        *ret = xmalloc(sizeof dflt);
        memcpy(*ret, dflt, sizeof dflt);
        *ret_n = sizeof dflt / sizeof dflt[0];
    }
    return 0;
}

static int cmp_nspid(const void *a, const void *b)
{
    const struct proc_info *x = a, *y = b;
    return (x->ns_pid > y->ns_pid) - (x->ns_pid < y->ns_pid);
}

static void top_print(struct store *s, json_t *rec, struct proc_info *ps,
                      size_t n, const size_t *desc, size_t nd)
{
    const char *id = json_get_str(rec, "id");
    _cleanup_free_ char *passwd = containers_path(s, id,
                                                  "userdata/lookup/etc/passwd");
    _cleanup_free_ char *group = containers_path(s, id,
                                                 "userdata/lookup/etc/group");
    _cleanup_free_ char *up = NULL;
    berth_error_t e = NULL;
    struct top_ctx c = {passwd, group, 0, sysconf(_SC_CLK_TCK), NULL, NULL, n};
    if (c.ticks <= 0)
        c.ticks = 100;
    /* "12345.67 ...": seconds and hundredths */
    unsigned long long sec = 0, cs = 0;
    if (fs_read_file("/proc/uptime", &up, NULL, &e) == 0 &&
        sscanf(up, "%llu.%2llu", &sec, &cs) >= 1)
        c.uptime_ns = sec * 1000000000ULL + cs * 10000000ULL;
    berth_error_free(&e);
    c.host = xcalloc(n + 1, sizeof *c.host);
    c.nspid = xcalloc(n + 1, sizeof *c.nspid);
    for (size_t i = 0; i < n; i++) {
        c.host[i] = ps[i].host_pid;
        c.nspid[i] = ps[i].ns_pid;
    }
    struct tabwriter *tw = tabwriter_new();
    for (size_t i = 0; i < nd; i++) {
        tabwriter_write(tw, top_desc[desc[i]].header);
        tabwriter_write(tw, i + 1 < nd ? "\t" : "\n");
    }
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < nd; i++) {
            _cleanup_free_ char *cell = top_cell(&c, &ps[r], desc[i]);
            tabwriter_write(tw, cell);
            tabwriter_write(tw, i + 1 < nd ? "\t" : "\n");
        }
    tabwriter_flush(tw, stdout);
    free(c.host);
    free(c.nspid);
}

static int top_container(struct store *s, json_t *rec, const size_t *desc,
                         size_t nd, berth_error_t *err)
{
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (ctr_pids(rec, &pids, &n, err) < 0)
        return -1;
    pid_t init = misc_init_pid(rec);
    char p[64];
    _cleanup_free_ char *uid_map = NULL, *gid_map = NULL;
    berth_error_t e = NULL;
    snprintf(p, sizeof p, "/proc/%d/uid_map", (int)init);
    if (fs_read_file(p, &uid_map, NULL, &e) < 0)
        berth_error_free(&e);
    snprintf(p, sizeof p, "/proc/%d/gid_map", (int)init);
    if (fs_read_file(p, &gid_map, NULL, &e) < 0)
        berth_error_free(&e);
    struct proc_info *ps = xcalloc(n + 1, sizeof *ps);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (read_proc(pids[i], uid_map, gid_map, &ps[m]))
            m++;
    qsort(ps, m, sizeof *ps, cmp_nspid);
    top_print(s, rec, ps, m, desc, nd);
    for (size_t i = 0; i < m; i++) {
        free(ps[i].comm);
        free(ps[i].args);
    }
    free(ps);
    return 0;
}

int cmd_top(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "top", NULL, "CONTAINER [FORMAT-DESCRIPTORS...]",
        "Display the running processes of a container", NULL, NULL};
    const struct cli_opt opts[] = {NO_OPTS};
    _cleanup_json_ json_t *rec = NULL;
    _cleanup_free_ size_t *desc = NULL;
    struct store *s = NULL;
    size_t nd = 0;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, true, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("top", argc - optind, 1, -1, err) < 0 ||
        top_parse(argv + optind + 1, argc - optind - 1, &desc, &nd, err) < 0 ||
        cli_store(g, &s, err) < 0 || ctr_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    const char *st = misc_status(rec);
    if (strcmp(st, "running") != 0 && strcmp(st, "paused") != 0)
        return berth_error_new(err, 0, "top can only be used on running "
                               "containers: container state improper");
    return top_container(s, rec, desc, nd, err) < 0 ? -1 : 0;
}

/* ---- pause / unpause ---- */

struct sig_arg {
    pid_t *pids;
    size_t n;
    int sig;
};

static void signal_all(void *arg, int fd)
{
    struct sig_arg *a = arg;
    (void)fd;
    for (size_t i = 0; i < a->n; i++)
        kill(a->pids[i], a->sig);
}

/* The freezer when the container has a cgroup we may freeze. */
static int freeze_cgroup(struct store *s, json_t *rec, bool freeze)
{
    _cleanup_free_ char *cfgp =
        containers_path(s, json_get_str(rec, "id"), "userdata/config.json");
    berth_error_t e = NULL;
    _cleanup_json_ json_t *cfg = json_load_path(cfgp, &e);
    const char *cg = json_get_str(json_object_get(cfg, "linux"),
                                  "cgroupsPath");
    struct cgroup_info info = {0};
    int r = -1;
    if (cg && *cg == '/' &&
        cgroup_detect("/sys/fs/cgroup", &info, &e) == 0 &&
        cgroup_freeze(&info, cg, freeze, &e) == 0)
        r = 0;
    berth_error_free(&e);
    cgroup_info_clear(&info);
    return r;
}

/* Without a freezer (rootless without a delegated cgroup, which is the
 * common case, and no cgroupsPath in the bundle) the container is paused
 * by SIGSTOP to every process in its pid namespace and resumed by SIGCONT.
 * Unlike the freezer, a process forked between the scan and the signal
 * escapes, and the processes see SIGCHLD/job-control effects. */
static int pause_one(struct store *s, const char *name, bool pause,
                     berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (ctr_lookup(s, name, &rec, err) < 0)
        return -1;
    const char *st = misc_status(rec);
    if (pause && strcmp(st, "running") != 0)
        return berth_error_new(err, 0, "\"%s\" is not running, can't pause: "
                               "container state improper",
                               json_get_str(rec, "id"));
    if (!pause && strcmp(st, "paused") != 0)
        return berth_error_new(err, 0, "\"%s\" is not paused, can't unpause: "
                               "container state improper",
                               json_get_str(rec, "id"));
    if (ctr_freeze(s, rec, pause, err) < 0)
        return -1;
    struct container_state cs = {.status = pause ? "paused" : "running",
                                 .pid = -1, .exit_code = -1};
    return containers_set_state(s, json_get_str(rec, "id"), &cs, err);
}

int ctr_freeze(struct store *s, json_t *rec, bool pause, berth_error_t *err)
{
    if (freeze_cgroup(s, rec, pause) < 0) {
        struct sig_arg a = {NULL, 0, pause ? SIGSTOP : SIGCONT};
        if (ctr_pids(rec, &a.pids, &a.n, err) < 0)
            return -1;
        pid_t init = misc_init_pid(rec);
        int r = 0;
        if (geteuid() == 0 || same_userns(init))
            signal_all(&a, -1);
        else
            r = in_userns(init, signal_all, &a, -1, err);
        free(a.pids);
        if (r < 0)
            return -1;
    }
    return 0;
}

static int pause_cmd(struct cli_global *g, int argc, char **argv, bool pause,
                     berth_error_t *err)
{
    const struct cli_command self = {
        pause ? "pause" : "unpause", NULL, "CONTAINER [CONTAINER...]",
        pause ? "Pause all the processes in one or more containers"
              : "Unpause the processes in one or more containers",
        NULL, NULL};
    const struct cli_opt opts[] = {NO_OPTS};
    struct store *s = NULL;
    berth_error_t last = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs(self.name, argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        berth_error_t e = NULL;
        if (pause_one(s, argv[i], pause, &e) == 0) {
            printf("%s\n", argv[i]);
            continue;
        }
        if (last)
            fprintf(stderr, "Error: %s\n", last->msg);
        berth_error_free(&last);
        last = e;
    }
    if (last == NULL)
        return 0;
    *err = last;
    return -1;
}

int cmd_pause(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    return pause_cmd(g, argc, argv, true, err);
}

int cmd_unpause(struct cli_global *g, int argc, char **argv,
                berth_error_t *err)
{
    return pause_cmd(g, argc, argv, false, err);
}

/* ---- rename ---- */

int cmd_rename(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "rename", NULL, "CONTAINER NAME", "Rename an existing container",
        NULL, NULL};
    const struct cli_opt opts[] = {NO_OPTS};
    _cleanup_json_ json_t *rec = NULL;
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("rename", argc - optind, 2, 2, err) < 0 ||
        cli_store(g, &s, err) < 0 ||
        containers_lookup(s, argv[optind], &rec, err) < 0)
        return -1;
    return containers_rename(s, json_get_str(rec, "id"), argv[optind + 1],
                             err);
}
