/* podman's views of a container: `ps` rows and the `inspect` document. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/container.h"
#include "cmd/image-view.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/ports.h"
#include "storage/networks.h"
#include "storage/containers.h"
#include "storage/store.h"

static int64_t unix_of(const char *rfc)
{
    int64_t t = 0;
    if (rfc == NULL || time_parse_rfc3339(rfc, &t) < 0)
        return 0;
    return t;
}

/* "Up 3 seconds", "Exited (1) 2 minutes ago", "Created" */
static char *status_text(json_t *st)
{
    const char *s = json_get_str(st, "status");
    int64_t now = (int64_t)time(NULL);
    if (s == NULL || strcmp(s, "created") == 0)
        return xstrdup("Created");
    if (strcmp(s, "running") == 0 || strcmp(s, "paused") == 0) {
        _cleanup_free_ char *ago =
            format_ago(now - unix_of(json_get_str(st, "startedAt")));
        /* "3 seconds ago" -> "Up 3 seconds" */
        size_t l = strlen(ago);
        if (l > 4 && strcmp(ago + l - 4, " ago") == 0)
            ago[l - 4] = '\0';
        return xasprintf("Up %s%s", ago,
                         strcmp(s, "paused") == 0 ? " (Paused)" : "");
    }
    _cleanup_free_ char *ago =
        format_ago(now - unix_of(json_get_str(st, "finishedAt")));
    return xasprintf("Exited (%lld) %s", (long long)json_get_int(st, "exitCode", 0),
                     ago);
}

static char *command_text(json_t *args)
{
    _cleanup_strv_ char **v = NULL;
    size_t i;
    json_t *a;
    json_array_foreach(args, i, a) strv_append(&v, json_string_value(a));
    return v ? strv_join(v, " ") : xstrdup("");
}

json_t *ctr_ps_row(json_t *rec, bool no_trunc)
{
    json_t *st = json_object_get(rec, "state");
    json_t *o = json_object_get(rec, "options");
    const char *id = json_get_str(rec, "id");
    const char *status = json_get_str(st, "status");
    _cleanup_free_ char *stxt = status_text(st);
    _cleanup_free_ char *cmd = command_text(json_object_get(o, "args"));
    _cleanup_free_ char *created_ago =
        format_ago((int64_t)time(NULL) - unix_of(json_get_str(rec, "created")));
    _cleanup_free_ char *created_at =
        image_view_go_time(json_get_str(rec, "created"));
    if (!no_trunc && strlen(cmd) > 20)
        strcpy(cmd + 17, "...");
    bool exited = status && strcmp(status, "exited") == 0;
    _cleanup_free_ struct port_map *ports = NULL;
    size_t nports = 0;
    ports_from_json(json_object_get(o, "ports"), &ports, &nports);
    _cleanup_free_ char *ports_str = ports_ps_string(ports, nports);
    return json_pack(
        "{s:s#,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:b,s:I,s:O,s:s,"
        "s:s,s:I}",
        "ID", id, no_trunc ? (int)strlen(id) : 12, "Id", id, "Image",
        json_get_str(rec, "image_name") ? json_get_str(rec, "image_name") : "",
        "ImageID", json_get_str(rec, "image") ? json_get_str(rec, "image") : "",
        "Command", cmd, "Created", created_ago, "CreatedAt", created_at,
        "Status", stxt, "Names", json_get_str(rec, "name"), "State",
        status ? status : "created", "ExitCode",
        (json_int_t)json_get_int(st, "exitCode", 0), "Exited", exited, "Pid",
        (json_int_t)json_get_int(st, "pid", 0), "Labels",
        json_object_get(o, "labels") ? json_object_get(o, "labels")
                                     : json_object(),
        "Ports", ports_str, "RunningFor", created_ago, "CreatedUnix",
        (json_int_t)unix_of(json_get_str(rec, "created")));
}

static json_t *mounts_view(json_t *mounts)
{
    json_t *out = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(mounts, i, m) {
        const char *type = json_get_str(m, "type");
        if (type == NULL || strcmp(type, "bind") != 0)
            continue;
        const char *dst = json_get_str(m, "destination");
        /* the per-container /etc files are berth's, not the user's */
        if (dst && (strcmp(dst, "/etc/hosts") == 0 ||
                    strcmp(dst, "/etc/resolv.conf") == 0 ||
                    strcmp(dst, "/etc/hostname") == 0))
            continue;
        bool ro = false;
        size_t k;
        json_t *opt;
        json_array_foreach(json_object_get(m, "options"), k, opt) {
            if (json_is_string(opt) && strcmp(json_string_value(opt), "ro") == 0)
                ro = true;
        }
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:O}", "Type", "bind",
                           "Source", json_get_str(m, "source"), "Destination",
                           dst, "Mode", "", "RW", !ro, "Options",
                           json_object_get(m, "options")));
    }
    return out;
}

/* The monitor counts restarts in its exit record (EXIT_DIR/ID.json). */
static int restart_count(struct store *s, const char *id)
{
    _cleanup_free_ char *dir = ctr_exit_dir(s);
    _cleanup_free_ char *p = xasprintf("%s/%s.json", dir, id);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *j = json_load_path(p, &e);
    berth_error_free(&e);
    return (int)json_get_int(j, "restartCount", 0);
}

json_t *ctr_inspect_json(struct store *s, json_t *rec)
{
    json_t *st = json_object_get(rec, "state");
    json_t *o = json_object_get(rec, "options");
    json_t *args = json_object_get(o, "args");
    const char *status = json_get_str(st, "status");
    const char *id = json_get_str(rec, "id");
    _cleanup_free_ char *merged = containers_path(s, id, "merged");
    _cleanup_free_ char *log = containers_path(s, id, "userdata/ctr.log");
    json_t *user = json_object_get(o, "user");
    _cleanup_free_ char *userstr =
        user ? xasprintf("%lld:%lld", (long long)json_get_int(user, "uid", 0),
                         (long long)json_get_int(user, "gid", 0))
             : xstrdup("");
    json_t *rest = json_array();
    for (size_t i = 1; i < json_array_size(args); i++)
        json_array_append(rest, json_array_get(args, i));
    bool running = status && (strcmp(status, "running") == 0 ||
                              strcmp(status, "paused") == 0);
    json_t *doc = json_pack(
        "{s:s,s:s,s:s,s:s,s:o,s:{s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:I,s:I,s:s,s:s,"
        "s:s},s:s,s:s,s:s,s:s,s:i,s:s,s:o,s:{s:s,s:s,s:O,s:O,s:s,s:s,s:s,"
        "s:O,s:s,s:b,s:b,s:I},s:{s:s,s:{s:s,s:s},s:{s:s,s:i},s:s,s:b,s:b,"
        "s:b},s:{}}",
        "Id", id, "Created", json_get_str(rec, "created"), "OCIRuntime",
        json_get_str(o, "runtime") && *json_get_str(o, "runtime")
            ? json_get_str(o, "runtime")
            : "berth",
        "Path",
        json_string_value(json_array_get(args, 0))
            ? json_string_value(json_array_get(args, 0))
            : "",
        "Args", rest, "State", "OciVersion", "1.0.2", "Status",
        status ? status : "created", "Running", running, "Paused",
        status && strcmp(status, "paused") == 0, "Restarting", 0,
        "OOMKilled", 0, "Dead", 0, "Pid",
        (json_int_t)(running ? json_get_int(st, "pid", 0) : 0), "ExitCode",
        (json_int_t)json_get_int(st, "exitCode", 0), "Error", "",
        "StartedAt",
        json_get_str(st, "startedAt") ? json_get_str(st, "startedAt")
                                      : "0001-01-01T00:00:00Z",
        "FinishedAt",
        json_get_str(st, "finishedAt") ? json_get_str(st, "finishedAt")
                                       : "0001-01-01T00:00:00Z",
        "Image", json_get_str(rec, "image"), "ImageName",
        json_get_str(rec, "image_name"), "Rootfs", merged, "Name",
        json_get_str(rec, "name"), "RestartCount", restart_count(s, id),
        "Driver",
        json_get_str(rec, "driver") ? json_get_str(rec, "driver") : "",
        "Mounts", mounts_view(json_object_get(o, "mounts")), "Config",
        "Hostname", json_get_str(o, "hostname") ? json_get_str(o, "hostname")
                                                : "",
        "User", userstr, "Env",
        json_object_get(o, "env") ? json_object_get(o, "env") : json_array(),
        "Cmd", args ? args : json_array(), "Image",
        json_get_str(rec, "image_name"), "WorkingDir",
        json_get_str(o, "cwd") ? json_get_str(o, "cwd") : "/", "StopSignal",
        json_get_str(o, "stop_signal"), "Labels",
        json_object_get(o, "labels") ? json_object_get(o, "labels")
                                     : json_object(),
        "Entrypoint", "", "Tty", json_is_true(json_object_get(o, "tty")),
        "OpenStdin", json_is_true(json_object_get(o, "interactive")),
        "StopTimeout", (json_int_t)json_get_int(o, "stop_timeout", 10),
        "HostConfig", "NetworkMode", json_get_str(o, "network"), "LogConfig",
        "Type", json_get_str(o, "log_driver"), "Path", log, "RestartPolicy", "Name",
        json_get_str(o, "restart") ? json_get_str(o, "restart") : "",
        "MaximumRetryCount", 0, "Runtime",
        json_get_str(o, "runtime") && *json_get_str(o, "runtime")
            ? json_get_str(o, "runtime")
            : "berth",
        "Privileged", json_is_true(json_object_get(o, "privileged")),
        "ReadonlyRootfs", json_is_true(json_object_get(o, "read_only")),
        "AutoRemove", json_is_true(json_object_get(o, "rm")),
        "NetworkSettings");
    _cleanup_free_ struct port_map *ports = NULL;
    size_t nports = 0;
    ports_from_json(json_object_get(o, "ports"), &ports, &nports);
    json_object_set_new(json_object_get(doc, "NetworkSettings"), "Ports",
                        ports_inspect_json(ports, nports));
    json_object_set_new(json_object_get(doc, "HostConfig"), "PortBindings",
                        ports_inspect_json(ports, nports));
    /* container networks: podman's NetworkSettings.Networks and the
     * first network's address as .NetworkSettings.IPAddress */
    json_t *nets = json_object(), *ips = json_object_get(o, "ips");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(o, "networks"), i, v) {
        const char *n = json_string_value(v);
        const char *ip = json_get_str(ips, n);
        _cleanup_json_ json_t *net = NULL;
        berth_error_t e = NULL;
        if (n == NULL || ip == NULL || networks_lookup(s, n, &net, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        const char *slash = strchr(json_get_str(net, "subnet"), '/');
        json_object_set_new(
            nets, n,
            json_pack("{s:s,s:i,s:s,s:[s]}", "IPAddress", ip, "IPPrefixLen",
                      slash ? atoi(slash + 1) : 0, "Gateway",
                      json_get_str(net, "gateway"), "Aliases",
                      json_get_str(rec, "name")));
        if (i == 0)
            json_object_set_new(json_object_get(doc, "NetworkSettings"),
                                "IPAddress", json_string(ip));
    }
    json_object_set_new(json_object_get(doc, "NetworkSettings"), "Networks",
                        nets);
    return doc;
}
