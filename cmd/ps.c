/* ps, logs and container inspect. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/format.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/pods.h"
#include "storage/store.h"

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}

static bool label_ok(json_t *rec, const char *want)
{
    json_t *labels = json_object_get(json_object_get(rec, "options"), "labels");
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *k =
        eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    const char *have = json_get_str(labels, k);
    return have && (eq == NULL || strcmp(have, eq + 1) == 0);
}

/* One --filter KEY=VALUE: 1 keep, 0 drop, -1 bad filter. */
static int filter_one(struct store *s, json_t *rec, const char *f,
                      berth_error_t *err)
{
    const char *eq = strchr(f, '=');
    if (eq == NULL)
        return berth_error_new(err, 0, "invalid filter \"%s\": expected "
                               "KEY=VALUE", f);
    _cleanup_free_ char *key = xstrndup(f, (size_t)(eq - f));
    const char *v = eq + 1;
    json_t *st = json_object_get(rec, "state");
    if (strcmp(key, "status") == 0) {
        static const char *const ok[] = {"created", "running", "paused",
                                         "exited", "stopped", "removing",
                                         "unknown", NULL};
        if (!strv_contains((char **)ok, v))
            return berth_error_new(err, 0, "invalid status filter \"%s\"", v);
        return strcmp(json_get_str(st, "status") ? json_get_str(st, "status")
                                                 : "created", v) == 0;
    }
    if (strcmp(key, "name") == 0) {
        const char *n = json_get_str(rec, "name");
        return n && (strstr(n, v) != NULL || fnmatch(v, n, 0) == 0);
    }
    if (strcmp(key, "id") == 0)
        return str_has_prefix(json_get_str(rec, "id"), v);
    if (strcmp(key, "label") == 0)
        return label_ok(rec, v);
    if (strcmp(key, "exited") == 0)
        return strcmp(json_get_str(st, "status") ? json_get_str(st, "status")
                                                 : "", "exited") == 0 &&
               json_get_int(st, "exitCode", -1) == atoi(v);
    if (strcmp(key, "ancestor") == 0) {
        _cleanup_json_ json_t *img = NULL;
        berth_error_t e = NULL;
        const char *name = json_get_str(rec, "image_name");
        if (name && (strcmp(name, v) == 0 || fnmatch(v, name, 0) == 0))
            return 1;
        if (images_lookup(s, v, &img, &e) < 0) {
            berth_error_free(&e);
            return 0;
        }
        return strcmp(json_get_str(img, "id"), json_get_str(rec, "image")) == 0;
    }
    return berth_error_new(err, 0, "invalid filter \"%s\"", key);
}

/* .Pod and .PodName: the pod's id (12 digits) and name, "" for none */
static void pod_columns(struct store *s, json_t *rec, json_t *row,
                        bool no_trunc)
{
    const char *id = json_get_str(json_object_get(rec, "options"), "pod");
    _cleanup_json_ json_t *pod = NULL;
    berth_error_t e = NULL;
    if (id && pods_lookup(s, id, &pod, &e) < 0)
        berth_error_free(&e);
    json_object_set_new(row, "Pod",
                        json_stringn(id ? id : "",
                                     id && !no_trunc && strlen(id) > 12
                                         ? 12
                                         : (id ? strlen(id) : 0)));
    json_object_set_new(row, "PodName",
                        json_string(pod ? json_get_str(pod, "name") : ""));
}

int cmd_ps(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "ps", NULL, "[options]", "List containers", NULL, NULL};
    bool all = false, quiet = false, no_trunc = false, noheading = false,
         latest = false, pod = false;
    int last = -1;
    _cleanup_free_ char *format = NULL;
    _cleanup_strv_ char **filters = NULL;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         "Show all the containers, default is only running containers"},
        {"filter", 'f', CLI_STRV, &filters, "stringArray",
         "Filter output based on conditions given"},
        {"format", 0, CLI_STRING, &format, "string",
         "Pretty-print containers to JSON or using a Go template"},
        {"last", 'n', CLI_INT, &last, "int",
         "Print the n last created containers (all states)"},
        {"latest", 'l', CLI_BOOL, &latest, NULL,
         "Act on the latest container berth is aware of"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL,
         "Display the extended information"},
        {"noheading", 0, CLI_BOOL, &noheading, NULL,
         "Do not print headers"},
        {"pod", 'p', CLI_BOOL, &pod, NULL,
         "Print the ID and name of the pod the containers are associated "
         "with"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL,
         "Print the numeric IDs of the containers only"},
        NO_OPTS,
    };
    static const char *const headers[] = {"ID", "CONTAINER ID", "Pod",
                                          "POD ID", "PodName", "PODNAME",
                                          NULL};
    _cleanup_json_ json_t *list = NULL, *rows = json_array();
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("ps", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0 || ctr_list(s, &list, err) < 0)
        return -1;
    if (latest)
        last = 1;
    if (last >= 0 || filters)
        all = true;
    size_t i;
    json_t *rec;
    int shown = 0;
    json_array_foreach(list, i, rec) {
        const char *st = json_get_str(json_object_get(rec, "state"), "status");
        /* the holder of the networks' namespace is berth's, not the user's */
        if (json_is_true(json_object_get(json_object_get(rec, "options"),
                                         "hidden")))
            continue;
        if (!all && !(st && (strcmp(st, "running") == 0 ||
                             strcmp(st, "paused") == 0)))
            continue;
        bool keep = true;
        for (size_t k = 0; filters && filters[k] && keep; k++) {
            int f = filter_one(s, rec, filters[k], err);
            if (f < 0)
                return -1;
            keep = f == 1;
        }
        if (!keep)
            continue;
        if (last >= 0 && shown >= last)
            break;
        shown++;
        json_t *row = ctr_ps_row(rec, no_trunc);
        pod_columns(s, rec, row, no_trunc);
        json_array_append_new(rows, row);
    }
    if (quiet) {
        json_array_foreach(rows, i, rec) printf("%s\n", json_get_str(rec, "ID"));
        return 0;
    }
    return format_print_list(
        format,
        pod ? "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Created}}\t"
              "{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Pod}}\t{{.PodName}}"
            : "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Created}}\t"
              "{{.Status}}\t{{.Ports}}\t{{.Names}}",
        headers, rows, noheading, stdout, err);
}

/* --since/--until: RFC 3339, Unix seconds, or a Go duration ago. */
static int parse_time(const char *s, int64_t *ret, berth_error_t *err)
{
    char *end = NULL;
    if (time_parse_rfc3339(s, ret) == 0)
        return 0;
    double v = strtod(s, &end);
    if (end != s && *end == '\0') {
        *ret = (int64_t)v;
        return 0;
    }
    if (end != s && (strcmp(end, "s") == 0 || strcmp(end, "m") == 0 ||
                     strcmp(end, "h") == 0)) {
        double mult = *end == 's' ? 1 : *end == 'm' ? 60 : 3600;
        *ret = (int64_t)time(NULL) - (int64_t)(v * mult);
        return 0;
    }
    return berth_error_new(err, 0, "invalid time \"%s\": use RFC 3339, Unix "
                           "seconds or a duration like 10m", s);
}

struct log_opts {
    bool timestamps;
    int64_t since, until;
    long tail;
};

/* Print one k8s-file line "TIME STREAM F|P TEXT". */
static void print_line(const char *line, const struct log_opts *o)
{
    const char *sp1 = strchr(line, ' ');
    if (sp1 == NULL)
        return;
    const char *sp2 = strchr(sp1 + 1, ' ');
    if (sp2 == NULL)
        return;
    const char *sp3 = strchr(sp2 + 1, ' ');
    const char *text = sp3 ? sp3 + 1 : "";
    bool partial = sp2[1] == 'P';
    _cleanup_free_ char *ts = xstrndup(line, (size_t)(sp1 - line));
    int64_t t = 0;
    if ((o->since || o->until) && time_parse_rfc3339(ts, &t) == 0) {
        if (o->since && t < o->since)
            return;
        if (o->until && t > o->until)
            return;
    }
    FILE *out = strncmp(sp1 + 1, "stderr", 6) == 0 ? stderr : stdout;
    if (o->timestamps)
        fprintf(out, "%s ", ts);
    fputs(text, out);
    if (!partial)
        fputc('\n', out);
}

static int print_log(const char *path, const struct log_opts *o, off_t *pos,
                     berth_error_t *err)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    berth_error_t e = NULL;
    if (fs_read_file(path, &buf, &len, &e) < 0) {
        if (e->errnum == ENOENT) {
            berth_error_free(&e);
            return 0;
        }
        *err = e;
        return -1;
    }
    if ((off_t)len < *pos)
        *pos = 0; /* rotated */
    _cleanup_strv_ char **lines = NULL;
    char *p = buf + *pos, *nl;
    while ((nl = strchr(p, '\n')) != NULL) {
        *nl = '\0';
        strv_append(&lines, p);
        p = nl + 1;
    }
    *pos = p - buf;
    size_t n = strv_len(lines), start = 0;
    if (o->tail >= 0 && (size_t)o->tail < n)
        start = n - (size_t)o->tail;
    for (size_t i = start; i < n; i++)
        print_line(lines[i], o);
    fflush(stdout);
    fflush(stderr);
    return 0;
}

int cmd_logs(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "logs", NULL, "[options] CONTAINER [CONTAINER...]",
        "Fetch the logs of one or more containers", NULL, NULL};
    bool follow = false, timestamps = false;
    int tail = -1;
    _cleanup_free_ char *since = NULL, *until = NULL;
    const struct cli_opt opts[] = {
        {"follow", 'f', CLI_BOOL, &follow, NULL, "Follow log output"},
        {"since", 0, CLI_STRING, &since, "string",
         "Show logs since TIMESTAMP"},
        {"tail", 'n', CLI_INT, &tail, "int",
         "Output the specified number of LINES at the end of the logs"},
        {"timestamps", 't', CLI_BOOL, &timestamps, NULL,
         "Output the timestamps in the log"},
        {"until", 0, CLI_STRING, &until, "string",
         "Show logs until TIMESTAMP"},
        NO_OPTS,
    };
    struct store *s = NULL;
    struct log_opts lo = {.tail = -1};
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("logs", argc - optind, 1, -1, err) < 0)
        return -1;
    lo.timestamps = timestamps;
    lo.tail = tail;
    if ((since && parse_time(since, &lo.since, err) < 0) ||
        (until && parse_time(until, &lo.until, err) < 0) ||
        cli_store(g, &s, err) < 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        _cleanup_json_ json_t *rec = NULL;
        if (ctr_lookup(s, argv[i], &rec, err) < 0)
            return -1;
        const char *id = json_get_str(rec, "id");
        json_t *o = json_object_get(rec, "options");
        if (json_get_str(o, "log_driver") &&
            strcmp(json_get_str(o, "log_driver"), "none") == 0)
            return berth_error_new(err, 0, "this container is using the "
                                   "'none' log driver, cannot read logs");
        _cleanup_free_ char *path = containers_path(s, id, "userdata/ctr.log");
        off_t pos = 0;
        if (print_log(path, &lo, &pos, err) < 0)
            return -1;
        if (!follow)
            continue;
        lo.tail = -1;
        _cleanup_close_ int in = inotify_init1(IN_CLOEXEC);
        _cleanup_free_ char *dir = containers_path(s, id, "userdata");
        if (in >= 0)
            inotify_add_watch(in, dir, IN_MODIFY | IN_MOVED_TO | IN_CREATE);
        while (ctr_monitor_alive(s, id)) {
            struct pollfd p = {.fd = in, .events = POLLIN};
            if (poll(&p, 1, 1000) > 0) {
                char buf[4096];
                if (read(in, buf, sizeof buf) < 0 && errno != EINTR)
                    break;
            }
            if (print_log(path, &lo, &pos, err) < 0)
                return -1;
        }
        if (print_log(path, &lo, &pos, err) < 0)
            return -1;
    }
    return 0;
}

int cmd_container_inspect(struct cli_global *g, int argc, char **argv,
                          berth_error_t *err)
{
    static const struct cli_command self = {
        "container inspect", NULL, "[options] CONTAINER [CONTAINER...]",
        "Display the configuration of a container", NULL, NULL};
    _cleanup_free_ char *format = NULL;
    bool size = false, latest = false;
    const struct cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "string",
         "Format the output to a Go template or json"},
        {"latest", 'l', CLI_BOOL, &latest, NULL,
         "Act on the latest container berth is aware of"},
        {"size", 's', CLI_BOOL, &size, NULL, "Display total file size"},
        NO_OPTS,
    };
    _cleanup_json_ json_t *docs = json_array();
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("container inspect", argc - optind, latest ? 0 : 1, -1,
                  err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    for (int i = optind; i < argc; i++) {
        _cleanup_json_ json_t *rec = NULL;
        if (ctr_lookup(s, argv[i], &rec, err) < 0)
            return -1;
        json_array_append_new(docs, ctr_inspect_json(s, rec));
    }
    return format_print_docs(docs, format, err);
}
