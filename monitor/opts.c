#define _GNU_SOURCE
#include "monitor/monitor.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_ID = 256, OPT_BUNDLE, OPT_EXIT_DIR, OPT_LOG_PATH, OPT_LOG_DRIVER,
    OPT_LOG_MAX_SIZE, OPT_TERMINAL, OPT_STDIN, OPT_ATTACH_SOCKET, OPT_RUNTIME,
    OPT_RUNTIME_ARG, OPT_RM_CMD, OPT_RESTART, OPT_SYNC_FD, OPT_START_FD,
    OPT_DETACH_KEYS, OPT_PID_FILE, OPT_SLIRP4NETNS, OPT_SLIRP_ARG,
    OPT_NET_DIR, OPT_PUBLISH, OPT_NET_HOOK, OPT_SLIRP_API, OPT_GUEST_ADDR,
    OPT_NET_HOOK_DOWN,
};

static const struct option monitor_long_opts[] = {
    {"id", required_argument, NULL, OPT_ID},
    {"bundle", required_argument, NULL, OPT_BUNDLE},
    {"exit-dir", required_argument, NULL, OPT_EXIT_DIR},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {"log-driver", required_argument, NULL, OPT_LOG_DRIVER},
    {"log-max-size", required_argument, NULL, OPT_LOG_MAX_SIZE},
    {"terminal", no_argument, NULL, OPT_TERMINAL},
    {"stdin", no_argument, NULL, OPT_STDIN},
    {"attach-socket", required_argument, NULL, OPT_ATTACH_SOCKET},
    {"runtime", required_argument, NULL, OPT_RUNTIME},
    {"runtime-arg", required_argument, NULL, OPT_RUNTIME_ARG},
    {"rm-cmd", required_argument, NULL, OPT_RM_CMD},
    {"restart", required_argument, NULL, OPT_RESTART},
    {"sync-fd", required_argument, NULL, OPT_SYNC_FD},
    {"start-fd", required_argument, NULL, OPT_START_FD},
    {"detach-keys", required_argument, NULL, OPT_DETACH_KEYS},
    {"pid-file", required_argument, NULL, OPT_PID_FILE},
    {"slirp4netns", required_argument, NULL, OPT_SLIRP4NETNS},
    {"slirp-arg", required_argument, NULL, OPT_SLIRP_ARG},
    {"net-dir", required_argument, NULL, OPT_NET_DIR},
    {"publish", required_argument, NULL, OPT_PUBLISH},
    {"net-hook", required_argument, NULL, OPT_NET_HOOK},
    {"net-hook-down", required_argument, NULL, OPT_NET_HOOK_DOWN},
    {"slirp-api", required_argument, NULL, OPT_SLIRP_API},
    {"guest-addr", required_argument, NULL, OPT_GUEST_ADDR},
    {NULL, 0, NULL, 0},
};

static int monitor_parse_ll(const char *s, long long min, long long max,
                            long long *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *ret = v;
    return 0;
}

int monitor_restart_parse(const char *s, enum monitor_restart *ret_policy,
                          int *ret_max, char *err)
{
    long long n = -1;
    if (strcmp(s, "no") == 0) {
        *ret_policy = MONITOR_RESTART_NO;
    } else if (strcmp(s, "always") == 0) {
        *ret_policy = MONITOR_RESTART_ALWAYS;
    } else if (strcmp(s, "unless-stopped") == 0) {
        *ret_policy = MONITOR_RESTART_UNLESS_STOPPED;
    } else if (strncmp(s, "on-failure", 10) == 0 &&
               (s[10] == '\0' || s[10] == ':')) {
        if (s[10] == ':' && monitor_parse_ll(s + 11, 0, INT_MAX, &n) < 0)
            return monitor_err(err, 0, "invalid restart retry count in %s", s);
        *ret_policy = MONITOR_RESTART_ON_FAILURE;
    } else {
        /* podman's wording */
        return monitor_err(err, 0, "invalid restart policy %s", s);
    }
    *ret_max = (int)n;
    return 0;
}

bool monitor_should_restart(const struct monitor_opts *o, int code,
                            int restarts, bool stopped)
{
    if (stopped)
        return false;
    switch (o->restart) {
    case MONITOR_RESTART_ON_FAILURE:
        return code != 0 && (o->restart_max < 0 || restarts < o->restart_max);
    case MONITOR_RESTART_ALWAYS:
    case MONITOR_RESTART_UNLESS_STOPPED:
        return true;
    case MONITOR_RESTART_NO:
    default:
        return false;
    }
}

static bool monitor_id_valid(const char *id)
{
    if (id[0] == '\0' || strcmp(id, ".") == 0 || strcmp(id, "..") == 0 ||
        strlen(id) > 255)
        return false;
    for (const char *p = id; *p; p++) {
        if (!(( *p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return false;
    }
    return true;
}

static int monitor_opt_fd(const char *s, int *ret, char *err)
{
    long long v;
    if (monitor_parse_ll(s, 0, INT_MAX, &v) < 0)
        return monitor_err(err, 0, "invalid file descriptor %s", s);
    *ret = (int)v;
    return 0;
}

static int monitor_opt_one(struct monitor_opts *o, int c, const char *arg,
                           char *err)
{
    switch (c) {
    case OPT_ID: o->id = arg; break;
    case OPT_BUNDLE: o->bundle = arg; break;
    case OPT_EXIT_DIR: o->exit_dir = arg; break;
    case OPT_LOG_PATH: o->log_path = arg; break;
    case OPT_ATTACH_SOCKET: o->attach_socket = arg; break;
    case OPT_RUNTIME: o->runtime = arg; break;
    case OPT_DETACH_KEYS: o->detach_keys = arg; break;
    case OPT_PID_FILE: o->pid_file = arg; break;
    case OPT_TERMINAL: o->terminal = true; break;
    case OPT_STDIN: o->stdin_open = true; break;
    case OPT_RUNTIME_ARG: o->runtime_args[o->n_runtime_args++] = arg; break;
    case OPT_RM_CMD: o->rm_cmd[o->n_rm_cmd++] = arg; break;
    case OPT_SLIRP4NETNS: o->slirp4netns = arg; break;
    case OPT_NET_DIR: o->net_dir = arg; break;
    case OPT_SLIRP_ARG: o->slirp_args[o->n_slirp_args++] = arg; break;
    case OPT_PUBLISH: o->publish[o->n_publish++] = arg; break;
    case OPT_NET_HOOK: o->net_hook[o->n_net_hook++] = arg; break;
    case OPT_NET_HOOK_DOWN:
        o->net_hook_down[o->n_net_hook_down++] = arg;
        break;
    case OPT_SLIRP_API: o->slirp_api = arg; break;
    case OPT_GUEST_ADDR: o->guest_addr = arg; break;
    case OPT_SYNC_FD: return monitor_opt_fd(arg, &o->sync_fd, err);
    case OPT_START_FD: return monitor_opt_fd(arg, &o->start_fd, err);
    case OPT_RESTART:
        return monitor_restart_parse(arg, &o->restart, &o->restart_max, err);
    case OPT_LOG_DRIVER:
        if (strcmp(arg, "k8s-file") == 0)
            o->log_driver = MONITOR_LOG_K8S_FILE;
        else if (strcmp(arg, "none") == 0)
            o->log_driver = MONITOR_LOG_NONE;
        else
            return monitor_err(err, 0, "unsupported log driver %s", arg);
        break;
    case OPT_LOG_MAX_SIZE:
        /* podman's "-1" means no limit */
        if (monitor_parse_ll(arg, -1, LLONG_MAX, &o->log_max_size) < 0)
            return monitor_err(err, 0, "invalid log max size %s", arg);
        if (o->log_max_size < 0)
            o->log_max_size = 0;
        break;
    default:
        return monitor_err(err, 0, "unknown option");
    }
    return 0;
}

static int monitor_opts_check(struct monitor_opts *o, char *err)
{
    if (o->id == NULL || o->bundle == NULL || o->exit_dir == NULL)
        return monitor_err(err, 0, "--id, --bundle and --exit-dir are required");
    if (!monitor_id_valid(o->id))
        return monitor_err(err, 0, "invalid container id %s", o->id);
    if (o->log_driver == MONITOR_LOG_K8S_FILE && o->log_path == NULL)
        return monitor_err(err, 0, "--log-path is required with k8s-file");
    if (o->runtime == NULL)
        o->runtime = "crun";
    if (o->slirp4netns && o->net_dir == NULL)
        return monitor_err(err, 0, "--net-dir is required with --slirp4netns");
    if (o->n_rm_cmd == 0) {
        free(o->rm_cmd);
        o->rm_cmd = NULL;
    }
    return 0;
}

int monitor_opts_parse(struct monitor_opts *o, int argc, char **argv,
                       char *err)
{
    *o = (struct monitor_opts){.sync_fd = -1, .start_fd = -1,
                               .restart_max = -1};
    /* each argument is at most one array entry: argc bounds both */
    o->runtime_args = calloc((size_t)argc + 1, sizeof(char *));
    o->rm_cmd = calloc((size_t)argc + 1, sizeof(char *));
    o->slirp_args = calloc((size_t)argc + 1, sizeof(char *));
    o->publish = calloc((size_t)argc + 1, sizeof(char *));
    o->net_hook = calloc((size_t)argc + 3, sizeof(char *));
    o->net_hook_down = calloc((size_t)argc + 3, sizeof(char *));
    if (o->runtime_args == NULL || o->rm_cmd == NULL ||
        o->slirp_args == NULL || o->publish == NULL || o->net_hook == NULL ||
        o->net_hook_down == NULL)
        return monitor_err(err, ENOMEM, "options");
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":", monitor_long_opts, NULL)) != -1) {
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            return monitor_err(err, 0, "%s option %s",
                               c == ':' ? "missing argument to" : "unknown",
                               bad ? bad : "?");
        }
        if (monitor_opt_one(o, c, optarg, err) < 0)
            return -1;
    }
    if (optind < argc)
        return monitor_err(err, 0, "unexpected argument %s", argv[optind]);
    return monitor_opts_check(o, err);
}

void monitor_opts_free(struct monitor_opts *o)
{
    free(o->runtime_args);
    free(o->rm_cmd);
    free(o->slirp_args);
    free(o->publish);
    free(o->net_hook);
    free(o->net_hook_down);
    o->net_hook = NULL;
    o->net_hook_down = NULL;
    o->runtime_args = NULL;
    o->rm_cmd = NULL;
    o->slirp_args = NULL;
    o->publish = NULL;
}
