/* pod create, start, stop, kill, restart, rm, ps, inspect, exists, prune;
 * and the pods `run --pod` joins (see cmd/pod.h). */
#define _GNU_SOURCE
#include "cmd/pod.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/format.h"
#include "cmd/run.h"
#include "image/import.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/ports.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/pods.h"
#include "storage/store.h"

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}

/* ---- the infra image: berth-init as /pause, nothing else ---- */

static int write_pause_tar(const char *init, int fd, berth_error_t *err)
{
    _cleanup_free_ char *data = NULL;
    size_t len = 0;
    if (fs_read_file(init, &data, &len, err) < 0)
        return -1;
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int r = -1;
    archive_entry_set_pathname(e, "pause");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0755);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, 0, 0);
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK ||
        archive_write_header(a, e) != ARCHIVE_OK ||
        archive_write_data(a, data, len) != (la_ssize_t)len ||
        archive_write_close(a) != ARCHIVE_OK)
        berth_error_new(err, archive_errno(a), "write the pause image: %s",
                        archive_error_string(a));
    else
        r = 0;
    archive_entry_free(e);
    archive_write_free(a);
    return r;
}

int pod_pause_image(struct store *s, berth_error_t *err)
{
    _cleanup_json_ json_t *img = NULL;
    berth_error_t e = NULL;
    if (images_lookup(s, PAUSE_IMAGE, &img, &e) == 0)
        return 0;
    berth_error_free(&e);
    _cleanup_free_ char *init = ctr_helper_path("berth-init", "BERTH_INIT");
    if (init == NULL)
        return berth_error_new(err, 0, "pods need berth-init (the infra "
                               "process): not found beside berth or in "
                               "../libexec/berth (set BERTH_INIT)");
    const char *t = getenv("TMPDIR");
    _cleanup_free_ char *tar =
        xasprintf("%s/berth-pause-XXXXXX", t && *t ? t : "/tmp");
    int fd = mkostemp(tar, O_CLOEXEC);
    if (fd < 0)
        return berth_error_new(err, errno, "create %s", tar);
    char *const changes[] = {"ENTRYPOINT [\"/pause\", \"--pause\"]", NULL};
    struct import_opts o = {.changes = changes,
                            .message = "berth's pod infra image",
                            .name = PAUSE_IMAGE};
    _cleanup_free_ char *id = NULL;
    int r = write_pause_tar(init, fd, err);
    close(fd);
    if (r == 0)
        r = image_import(s, tar, &o, &id, err);
    unlink(tar);
    return r < 0 ? berth_error_prefix(err, "build %s", PAUSE_IMAGE) : 0;
}

/* ---- pods and their containers ---- */

struct pod_opts {
    char *name, *network, *hostname, *share;
    char **publish, **label;
};

static void pod_opts_free(struct pod_opts *o)
{
    free(o->name);
    free(o->network);
    free(o->hostname);
    free(o->share);
    strv_free(o->publish);
    strv_free(o->label);
}

static int set_infra(json_t *rec, void *arg, berth_error_t *err)
{
    (void)err;
    json_object_set_new(rec, "infra_id", json_string(arg));
    return 0;
}

static int pod_create_full(struct store *s, const struct pod_opts *o,
                           json_t **ret, berth_error_t *err)
{
    _cleanup_strv_ char **share =
        strv_split(o->share ? o->share : "net,ipc,uts", ",");
    json_t *shares = json_array();
    bool net = false;
    for (size_t i = 0; share && share[i]; i++) {
        if (strcmp(share[i], "none") == 0 || share[i][0] == '\0')
            continue;
        if (strcmp(share[i], "net") && strcmp(share[i], "ipc") &&
            strcmp(share[i], "uts")) {
            json_decref(shares);
            return berth_error_new(err, 0, "invalid kernel namespace to "
                                   "share: %s: berth pods share net, ipc "
                                   "and uts", share[i]);
        }
        net = net || strcmp(share[i], "net") == 0;
        json_array_append_new(shares, json_string(share[i]));
    }
    json_t *publish = json_array();
    _cleanup_free_ struct port_map *maps = NULL;
    size_t n = 0;
    for (size_t i = 0; o->publish && o->publish[i]; i++) {
        if (ports_parse(o->publish[i], &maps, &n, err) < 0) {
            json_decref(shares);
            json_decref(publish);
            return -1;
        }
        json_array_append_new(publish, json_string(o->publish[i]));
    }
    if (n > 0 && !net) {
        json_decref(shares);
        json_decref(publish);
        return berth_error_new(err, 0, "you must share the network namespace "
                               "to publish ports: --share net");
    }
    json_t *labels = json_object();
    for (size_t i = 0; o->label && o->label[i]; i++) {
        const char *eq = strchr(o->label[i], '=');
        _cleanup_free_ char *k =
            eq ? xstrndup(o->label[i], (size_t)(eq - o->label[i]))
               : xstrdup(o->label[i]);
        json_object_set_new(labels, k, json_string(eq ? eq + 1 : ""));
    }
    _cleanup_json_ json_t *fields = json_pack(
        "{s:s?,s:s,s:o,s:s,s:o,s:o}", "name", o->name, "hostname",
        o->hostname ? o->hostname : "", "share", shares, "network",
        o->network ? o->network : "", "publish", publish, "labels", labels);
    _cleanup_json_ json_t *pod = NULL, *infra = NULL;
    if (pod_pause_image(s, err) < 0 || pods_create(s, fields, &pod, err) < 0)
        return -1;
    const char *id = json_get_str(pod, "id");
    if (run_create_infra(s, pod, PAUSE_IMAGE, &infra, err) < 0 ||
        pods_update(s, id, set_infra, (void *)json_get_str(infra, "id"), ret,
                    err) < 0) {
        berth_error_t e = NULL;
        if (infra)
            ctr_remove(s, json_get_str(infra, "id"), true, &e);
        berth_error_free(&e);
        if (pods_delete(s, id, &e) < 0)
            berth_error_free(&e);
        return -1;
    }
    return 0;
}

int pod_resolve_for_run(struct store *s, const char *spec, json_t **ret,
                        berth_error_t *err)
{
    if (strncmp(spec, "new:", 4) == 0) {
        struct pod_opts o = {.name = xstrdup(spec + 4)};
        int r = pod_create_full(s, &o, ret, err);
        pod_opts_free(&o);
        return r;
    }
    return pods_lookup(s, spec, ret, err);
}

/* The pod's containers (records), the infra container first. */
static json_t *pod_members(struct store *s, json_t *pod)
{
    _cleanup_json_ json_t *all = NULL;
    json_t *out = json_array();
    berth_error_t e = NULL;
    const char *id = json_get_str(pod, "id");
    if (containers_list(s, &all, &e) < 0) {
        berth_error_free(&e);
        return out;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        json_t *o = json_object_get(rec, "options");
        const char *p = json_get_str(o, "pod");
        if (p == NULL || strcmp(p, id) != 0)
            continue;
        /* ctr_lookup brings the state up to date (exited monitors) */
        json_t *fresh = NULL;
        if (ctr_lookup(s, json_get_str(rec, "id"), &fresh, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        if (json_is_true(json_object_get(o, "infra")))
            json_array_insert_new(out, 0, fresh);
        else
            json_array_append_new(out, fresh);
    }
    return out;
}

static const char *ctr_status(json_t *rec)
{
    const char *st = json_get_str(json_object_get(rec, "state"), "status");
    return st ? st : "created";
}

static bool ctr_is_running(json_t *rec)
{
    const char *st = ctr_status(rec);
    return strcmp(st, "running") == 0 || strcmp(st, "paused") == 0;
}

/* podman's pod states */
static const char *pod_status(json_t *members)
{
    size_t n = json_array_size(members), running = 0, created = 0, paused = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(members, i, rec) {
        const char *st = ctr_status(rec);
        running += strcmp(st, "running") == 0;
        paused += strcmp(st, "paused") == 0;
        created += strcmp(st, "created") == 0 ||
                   strcmp(st, "configured") == 0;
    }
    if (n == 0 || created == n)
        return "Created";
    if (running == n)
        return "Running";
    if (paused == n)
        return "Paused";
    if (running + paused > 0)
        return "Degraded";
    return "Exited";
}


static int pod_start_one(struct store *s, json_t *pod, berth_error_t *err)
{
    _cleanup_json_ json_t *members = pod_members(s, pod);
    size_t i;
    json_t *rec;
    int code;
    json_array_foreach(members, i, rec) {
        if (ctr_is_running(rec))
            continue;
        if (ctr_start_one(s, json_get_str(rec, "id"), false, false, &code,
                          err) < 0)
            return berth_error_prefix(err, "start container %s of pod %s",
                                      json_get_str(rec, "name"),
                                      json_get_str(pod, "name"));
    }
    return 0;
}

/* the containers first, then the infra */
static int pod_stop_one(struct store *s, json_t *pod, int timeout,
                        berth_error_t *err)
{
    _cleanup_json_ json_t *members = pod_members(s, pod);
    for (size_t i = json_array_size(members); i-- > 0;) {
        json_t *rec = json_array_get(members, i);
        if (ctr_is_running(rec) &&
            ctr_stop_one(s, json_get_str(rec, "id"), timeout, err) < 0)
            return -1;
    }
    return 0;
}

static int pod_rm_one(struct store *s, json_t *pod, bool force,
                      berth_error_t *err)
{
    _cleanup_json_ json_t *members = pod_members(s, pod);
    size_t i;
    json_t *rec;
    json_array_foreach(members, i, rec) {
        if (!force && ctr_is_running(rec))
            return berth_error_new(err, 0, "pod %s has containers that are "
                                   "not ready to be removed: cannot remove "
                                   "container %s as it is running - running "
                                   "or paused containers cannot be removed "
                                   "without force: container state improper",
                                   json_get_str(pod, "id"),
                                   json_get_str(rec, "id"));
    }
    /* the containers before the infra whose namespaces they hold */
    for (i = json_array_size(members); i-- > 0;) {
        rec = json_array_get(members, i);
        berth_error_t e = NULL;
        if (ctr_remove(s, json_get_str(rec, "id"), true, &e) < 0 &&
            e->errnum != ENOENT) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
    }
    return pods_delete(s, json_get_str(pod, "id"), err);
}

/* ---- commands ---- */

enum pod_action { POD_START, POD_STOP, POD_KILL, POD_RESTART, POD_RM };

static int pod_each(struct store *s, char **names, int n, enum pod_action a,
                    int timeout, int sig, bool force, bool ignore,
                    berth_error_t *err)
{
    struct multi m = {0};
    for (int k = 0; k < n; k++) {
        _cleanup_json_ json_t *pod = NULL, *members = NULL;
        berth_error_t e = NULL;
        int r = pods_lookup(s, names[k], &pod, &e);
        if (r < 0 && ignore && e->errnum == ENOENT) {
            berth_error_free(&e);
            continue;
        }
        if (r == 0) {
            switch (a) {
            case POD_START:
                r = pod_start_one(s, pod, &e);
                break;
            case POD_STOP:
                r = pod_stop_one(s, pod, timeout, &e);
                break;
            case POD_RESTART:
                r = pod_stop_one(s, pod, timeout, &e);
                if (r == 0)
                    r = pod_start_one(s, pod, &e);
                break;
            case POD_KILL: {
                members = pod_members(s, pod);
                size_t i;
                json_t *rec;
                bool any = false;
                json_array_foreach(members, i, rec) {
                    if (!ctr_is_running(rec))
                        continue;
                    any = true;
                    if (ctr_signal(s, rec, sig, &e) < 0) {
                        r = -1;
                        break;
                    }
                }
                if (r == 0 && !any)
                    r = berth_error_new(&e, 0, "no containers in pod %s are "
                                        "running",
                                        json_get_str(pod, "name"));
                break;
            }
            case POD_RM:
            default:
                r = pod_rm_one(s, pod, force, &e);
                break;
            }
        }
        if (r < 0) {
            if (e->errnum == ENOENT && a == POD_RM)
                berth_error_set_exit(&e, 1);
            multi_fail(&m, &e);
            continue;
        }
        printf("%s\n", json_get_str(pod, "id"));
    }
    return multi_done(&m, err);
}

/* the names or, with --all, every pod */
static char **pod_names(struct store *s, bool all, int argc, char **argv,
                        int optind, berth_error_t *err)
{
    char **v = xcalloc(1, sizeof(char *));
    if (!all) {
        for (int i = optind; i < argc; i++)
            strv_append(&v, argv[i]);
        return v;
    }
    _cleanup_json_ json_t *list = NULL;
    if (pods_list(s, &list, err) < 0) {
        strv_free(v);
        return NULL;
    }
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p)
        strv_append(&v, json_get_str(p, "id"));
    return v;
}

static int pod_simple(struct cli_global *g, int argc, char **argv,
                      enum pod_action a, berth_error_t *err)
{
    static const char *const names[] = {"pod start", "pod stop", "pod kill",
                                        "pod restart", "pod rm"};
    static const char *const summaries[] = {
        "Start one or more pods", "Stop one or more pods",
        "Send the specified signal or SIGKILL to containers in pod",
        "Restart one or more pods", "Remove one or more stopped pods and "
                                    "containers"};
    const struct cli_command self = {names[a], NULL, "[options] POD [POD...]",
                                     summaries[a], NULL, NULL};
    bool all = false, force = false, ignore = false;
    int timeout = -1;
    _cleanup_free_ char *signame = NULL;
    struct cli_opt opts[6] = {
        {"all", 'a', CLI_BOOL, &all, NULL, "Act on all pods"}};
    size_t n = 1;
    if (a == POD_STOP || a == POD_RESTART || a == POD_RM)
        opts[n++] = (struct cli_opt){"time", 't', CLI_INT, &timeout, "int",
                                     "Seconds to wait for pod stop before "
                                     "killing the container"};
    if (a == POD_STOP || a == POD_RM)
        opts[n++] = (struct cli_opt){"ignore", 'i', CLI_BOOL, &ignore, NULL,
                                     "Ignore errors when a specified pod is "
                                     "missing"};
    if (a == POD_RM)
        opts[n++] = (struct cli_opt){"force", 'f', CLI_BOOL, &force, NULL,
                                     "Force removal of a running pod by first "
                                     "stopping all containers, then removing "
                                     "all containers in the pod"};
    if (a == POD_KILL)
        opts[n++] = (struct cli_opt){"signal", 's', CLI_STRING, &signame,
                                     "string", "Signal to send to the "
                                     "containers in the pod"};
    opts[n] = (struct cli_opt)NO_OPTS;
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if ((!all && cli_nargs(names[a], argc - optind, 1, -1, err) < 0) ||
        cli_store(g, &s, err) < 0)
        return -1;
    int sig = SIGKILL;
    if (signame && (sig = ctr_parse_signal(signame)) <= 0)
        return berth_error_new(err, 0, "invalid signal: %s", signame);
    _cleanup_strv_ char **v = pod_names(s, all, argc, argv, optind, err);
    if (v == NULL)
        return -1;
    return pod_each(s, v, (int)strv_len(v), a, timeout, sig, force, ignore,
                    err);
}

int cmd_pod_start(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err)
{
    return pod_simple(g, argc, argv, POD_START, err);
}

int cmd_pod_stop(struct cli_global *g, int argc, char **argv,
                 berth_error_t *err)
{
    return pod_simple(g, argc, argv, POD_STOP, err);
}

int cmd_pod_kill(struct cli_global *g, int argc, char **argv,
                 berth_error_t *err)
{
    return pod_simple(g, argc, argv, POD_KILL, err);
}

int cmd_pod_restart(struct cli_global *g, int argc, char **argv,
                    berth_error_t *err)
{
    return pod_simple(g, argc, argv, POD_RESTART, err);
}

int cmd_pod_rm(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    return pod_simple(g, argc, argv, POD_RM, err);
}

int cmd_pod_create(struct cli_global *g, int argc, char **argv,
                   berth_error_t *err)
{
    static const struct cli_command self = {
        "pod create", NULL, "[options] [NAME]", "Create a new empty pod", NULL,
        NULL};
    struct pod_opts o = {0};
    const struct cli_opt opts[] = {
        {"hostname", 0, CLI_STRING, &o.hostname, "string",
         "Set the pod's hostname"},
        {"label", 'l', CLI_STRV, &o.label, "stringArray",
         "Set metadata on pod (default [])"},
        {"name", 'n', CLI_STRING, &o.name, "string", "Assign a name to the pod"},
        {"network", 0, CLI_STRING, &o.network, "string",
         "Connect the pod to a network (slirp4netns[:OPTS], none, host)"},
        {"publish", 'p', CLI_STRV, &o.publish, "strings",
         "Publish a container's port, or a range of ports, to the host"},
        {"share", 0, CLI_STRING, &o.share, "string",
         "A comma delimited list of kernel namespaces the pod will share "
         "(default \"net,ipc,uts\")"},
        NO_OPTS,
    };
    struct store *s = NULL;
    _cleanup_json_ json_t *pod = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r == 0 && cli_nargs("pod create", argc - optind, 0, 1, err) < 0)
        r = -1;
    if (r == 0 && optind < argc) {
        if (o.name)
            r = berth_error_new(err, 0, "cannot specify --name and a name");
        else
            o.name = xstrdup(argv[optind]);
    }
    if (r == 0 && cli_store(g, &s, err) < 0)
        r = -1;
    if (r == 0 && (r = pod_create_full(s, &o, &pod, err)) == 0)
        printf("%s\n", json_get_str(pod, "id"));
    pod_opts_free(&o);
    return r > 0 ? 0 : r;
}

static json_t *pod_doc(struct store *s, json_t *pod, bool no_trunc)
{
    _cleanup_json_ json_t *members = pod_members(s, pod);
    json_t *ctrs = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(members, i, rec) {
        json_array_append_new(
            ctrs, json_pack("{s:s,s:s,s:s}", "Id", json_get_str(rec, "id"),
                            "Name", json_get_str(rec, "name"), "State",
                            ctr_status(rec)));
    }
    _cleanup_free_ struct port_map *maps = NULL;
    size_t n = 0;
    json_t *infra = json_array_get(members, 0);
    ports_from_json(json_object_get(json_object_get(infra, "options"), "ports"),
                    &maps, &n);
    const char *id = json_get_str(pod, "id");
    const char *created = json_get_str(pod, "created");
    int64_t t = 0;
    if (created == NULL || time_parse_rfc3339(created, &t) < 0)
        t = (int64_t)time(NULL);
    _cleanup_free_ char *ago = format_ago((int64_t)time(NULL) - t);
    const char *hn = json_get_str(pod, "hostname");
    return json_pack(
        "{s:s,s:s#,s:s,s:s,s:s,s:s,s:s,s:O,s:b,s:s,s:s#,s:O,s:I,s:o,s:{s:o,s:s}}",
        "Id", id, "ID", id, no_trunc ? (int)strlen(id) : 12, "Name",
        json_get_str(pod, "name"), "Created", created ? created : "",
        "CreatedAgo", ago, "State", pod_status(members), "Hostname",
        hn && *hn ? hn : json_get_str(pod, "name"), "Labels",
        json_object_get(pod, "labels") ? json_object_get(pod, "labels")
                                       : json_object(),
        "CreateInfra", 1, "InfraContainerId", json_get_str(pod, "infra_id"),
        "InfraId", json_get_str(pod, "infra_id"),
        no_trunc ? (int)strlen(json_get_str(pod, "infra_id"))
                 : (int)(strlen(json_get_str(pod, "infra_id")) < 12
                             ? strlen(json_get_str(pod, "infra_id"))
                             : 12),
        "SharedNamespaces", json_object_get(pod, "share"), "NumContainers",
        (json_int_t)json_array_size(members), "Containers", ctrs,
        "InfraConfig", "PortBindings", ports_inspect_json(maps, n), "NetworkMode",
        json_get_str(pod, "network") && *json_get_str(pod, "network")
            ? json_get_str(pod, "network")
            : "slirp4netns");
}

static json_t *pod_inspect_doc(struct store *s, const char *name,
                               berth_error_t *err)
{
    _cleanup_json_ json_t *pod = NULL;
    if (pods_lookup(s, name, &pod, err) < 0)
        return NULL;
    json_t *d = pod_doc(s, pod, true);
    json_object_del(d, "ID");
    json_object_del(d, "InfraId");
    json_object_del(d, "CreatedAgo");
    return d;
}

int cmd_pod_inspect(struct cli_global *g, int argc, char **argv,
                    berth_error_t *err)
{
    return inspect_each("pod inspect", "[options] POD [POD...]",
                        "Display a pod configuration",
                        "Format the output to a Go template or json",
                        pod_inspect_doc, g, argc, argv, err);
}

int cmd_pod_ps(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "pod ps", "ls,list", "[options]", "List pods", NULL, NULL};
    _cleanup_free_ char *format = NULL;
    bool quiet = false, no_trunc = false, noheading = false;
    const struct cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "string",
         "Pretty-print pods to JSON or using a Go template"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL,
         "Do not truncate pod and container IDs"},
        {"noheading", 'n', CLI_BOOL, &noheading, NULL,
         "Do not print headers"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "Print the numeric IDs of the "
                                               "pods only"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("pod ps", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_json_ json_t *list = NULL, *rows = json_array();
    if (pods_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *pod;
    json_array_foreach(list, i, pod)
        json_array_append_new(rows, pod_doc(s, pod, no_trunc));
    static const char *const headers[] = {
        "ID", "POD ID", "InfraId", "INFRA ID", "NumContainers",
        "# OF CONTAINERS", "State", "STATUS", "CreatedAgo", "CREATED", NULL};
    const char *fmt = quiet ? "{{.ID}}" : format;
    return format_print_list(fmt,
                             "table {{.ID}}\t{{.Name}}\t{{.State}}\t"
                             "{{.CreatedAgo}}\t{{.InfraId}}\t"
                             "{{.NumContainers}}",
                             headers, rows, noheading, stdout, err);
}

int cmd_pod_exists(struct cli_global *g, int argc, char **argv,
                   berth_error_t *err)
{
    static const struct cli_command self = {
        "pod exists", NULL, "POD", "Check if a pod exists in local storage",
        NULL, NULL};
    const struct cli_opt opts[] = {NO_OPTS};
    _cleanup_json_ json_t *pod = NULL;
    struct store *s = NULL;
    berth_error_t e = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("pod exists", argc - optind, 1, 1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (pods_lookup(s, argv[optind], &pod, &e) == 0)
        return 0;
    if (e->errnum == ENOENT) {
        berth_error_free(&e);
        return 1;
    }
    *err = e;
    return -1;
}

int cmd_pod_prune(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err)
{
    struct store *s = NULL;
    int r = prune_begin("pod prune",
                        "Remove all stopped pods and their containers",
                        "WARNING! This will remove all stopped/exited pods..",
                        g, argc, argv, &s, err);
    if (r <= 0)
        return r;
    _cleanup_json_ json_t *list = NULL;
    if (pods_list(s, &list, err) < 0)
        return -1;
    struct multi m = {0};
    size_t i;
    json_t *pod;
    json_array_foreach(list, i, pod) {
        _cleanup_json_ json_t *members = pod_members(s, pod);
        const char *st = pod_status(members);
        if (strcmp(st, "Running") == 0 || strcmp(st, "Degraded") == 0 ||
            strcmp(st, "Paused") == 0)
            continue;
        berth_error_t e = NULL;
        if (pod_rm_one(s, pod, true, &e) < 0)
            multi_fail(&m, &e);
        else
            printf("%s\n", json_get_str(pod, "id"));
    }
    return multi_done(&m, err);
}
