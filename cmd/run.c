/* berth run and berth create: resolve (and pull) the image, create the
 * record and root filesystem, write the bundle, and for run launch the
 * monitor, attach and start. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/network.h"
#include "cmd/pod.h"
#include "cmd/run.h"
#include "image/pull.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/etc-files.h"
#include "netns/netmode.h"
#include "netns/ports.h"
#include "rootless/userns.h"
#include "runtime/cgroup.h"
#include "runtime/spec.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/rootfs.h"
#include "storage/volumes.h"
#include "storage/store.h"

struct run_flags {
    bool detach, interactive, tty, rm, privileged, read_only, init, quiet,
        publish_all;
    char *name, *hostname, *entrypoint, *workdir, *user, *stop_signal,
        *pull, *network, *shm_size, *runtime, *log_driver, *detach_keys,
        *restart, *memory, *memory_swap, *cpus, *cpu_shares, *pids_limit,
        *pod;
    int stop_timeout;
    char **env, **env_file, **volume, **mount, **label, **cap_add,
        **cap_drop, **security_opt, **group_add, **ulimit, **device, **tmpfs,
        **log_opt, **annotation, **publish, **add_host, **dns, **dns_search,
        **dns_option;
};

#define RUN_OPTS(f)                                                            \
    {"add-host", 0, CLI_STRV, &(f).add_host, "host:ip",                        \
     "Add a custom host-to-IP mapping (host:ip)"},                             \
        {"annotation", 0, CLI_STRV, &(f).annotation, "key=value",              \
         "Add annotations to container"},                                      \
        {"cap-add", 0, CLI_STRV, &(f).cap_add, "strings",                      \
         "Add capabilities to the container"},                                 \
        {"cap-drop", 0, CLI_STRV, &(f).cap_drop, "strings",                    \
         "Drop capabilities from the container"},                              \
        {"cpu-shares", 'c', CLI_STRING, &(f).cpu_shares, "uint",               \
         "CPU shares (relative weight)"},                                      \
        {"cpus", 0, CLI_STRING, &(f).cpus, "float",                            \
         "Number of CPUs. The default is 0.000 which means no limit"},         \
        {"detach-keys", 0, CLI_STRING, &(f).detach_keys, "[a-Z]",              \
         "Override the key sequence for detaching a container"},               \
        {"device", 0, CLI_STRV, &(f).device, "stringArray",                    \
         "Add a host device to the container"},                                \
        {"dns", 0, CLI_STRV, &(f).dns, "ip", "Set custom DNS servers"},        \
        {"dns-option", 0, CLI_STRV, &(f).dns_option, "option",                 \
         "Set custom DNS options"},                                            \
        {"dns-search", 0, CLI_STRV, &(f).dns_search, "domain",                 \
         "Set custom DNS search domains"},                                     \
        {"entrypoint", 0, CLI_STRING, &(f).entrypoint, "string",               \
         "Overwrite the default ENTRYPOINT of the image"},                     \
        {"env", 'e', CLI_STRV, &(f).env, "stringArray",                        \
         "Set environment variables in container"},                            \
        {"env-file", 0, CLI_STRV, &(f).env_file, "stringArray",                \
         "Read in a file of environment variables"},                           \
        {"group-add", 0, CLI_STRV, &(f).group_add, "strings",                  \
         "Add additional groups to the primary container process"},            \
        {"hostname", 'h', CLI_STRING, &(f).hostname, "string",                 \
         "Set container hostname"},                                            \
        {"init", 0, CLI_BOOL, &(f).init, NULL,                                 \
         "Run an init inside the container that forwards signals and reaps "   \
         "processes"},                                                         \
        {"interactive", 'i', CLI_BOOL, &(f).interactive, NULL,                 \
         "Keep STDIN open even if not attached"},                              \
        {"label", 'l', CLI_STRV, &(f).label, "stringArray",                    \
         "Set metadata on container"},                                         \
        {"log-driver", 0, CLI_STRING, &(f).log_driver, "string",               \
         "Logging driver for the container (k8s-file, none)"},                 \
        {"log-opt", 0, CLI_STRV, &(f).log_opt, "stringArray",                  \
         "Logging driver options (max-size=SIZE)"},                            \
        {"memory", 'm', CLI_STRING, &(f).memory, "string",                     \
         "Memory limit (format: <number>[<unit>])"},                           \
        {"memory-swap", 0, CLI_STRING, &(f).memory_swap, "string",             \
         "Swap limit equal to memory plus swap"},                              \
        {"mount", 0, CLI_STRV, &(f).mount, "stringArray",                      \
         "Attach a filesystem mount to the container"},                        \
        {"name", 0, CLI_STRING, &(f).name, "string",                           \
         "Assign a name to the container"},                                    \
        {"network", 0, CLI_STRING, &(f).network, "string",                     \
         "Connect a container to a network (slirp4netns[:OPTS], none, host)"}, \
        {"net", 0, CLI_STRING, &(f).network, "string", "Same as --network"},   \
        {"pids-limit", 0, CLI_STRING, &(f).pids_limit, "int",                  \
         "Tune container pids limit (set -1 for unlimited)"},                  \
        {"pod", 0, CLI_STRING, &(f).pod, "string",                             \
         "Run container in an existing pod (new:NAME creates it)"},            \
        {"privileged", 0, CLI_BOOL, &(f).privileged, NULL,                     \
         "Give extended privileges to container"},                             \
        {"publish", 'p', CLI_STRV, &(f).publish, "strings",                    \
         "Publish a container's port, or a range of ports, to the host"},      \
        {"publish-all", 'P', CLI_BOOL, &(f).publish_all, NULL,                 \
         "Publish all exposed ports to random ports on the host interfaces"},  \
        {"pull", 0, CLI_STRING, &(f).pull, "string",                           \
         "Pull image policy (always, missing, never)"},                        \
        {"quiet", 'q', CLI_BOOL, &(f).quiet, NULL,                             \
         "Suppress output information when pulling images"},                   \
        {"read-only", 0, CLI_BOOL, &(f).read_only, NULL,                       \
         "Make containers root filesystem read-only"},                         \
        {"restart", 0, CLI_STRING, &(f).restart, "string",                     \
         "Restart policy to apply when a container exits (no, on-failure[:N], " \
         "always, unless-stopped)"},                                           \
        {"rm", 0, CLI_BOOL, &(f).rm, NULL,                                     \
         "Remove container (and pod if created) after exit"},                  \
        {"runtime", 0, CLI_STRING, &(f).runtime, "string",                     \
         "Path to the OCI runtime binary to use (default: berth's own)"},      \
        {"security-opt", 0, CLI_STRV, &(f).security_opt, "stringArray",        \
         "Security Options"},                                                  \
        {"shm-size", 0, CLI_STRING, &(f).shm_size, "string",                   \
         "Size of /dev/shm (format: <number>[<unit>])"},                       \
        {"stop-signal", 0, CLI_STRING, &(f).stop_signal, "string",             \
         "Signal to stop a container. Default is SIGTERM"},                    \
        {"stop-timeout", 0, CLI_INT, &(f).stop_timeout, "uint",                \
         "Timeout (in seconds) that containers stopped by user command have "  \
         "to exit. If exceeded, the container will be forcibly stopped via "   \
         "SIGKILL"},                                                           \
        {"tmpfs", 0, CLI_STRV, &(f).tmpfs, "tmpfs", "Mount a temporary "       \
                                                    "filesystem (tmpfs) into " \
                                                    "a container"},            \
        {"tty", 't', CLI_BOOL, &(f).tty, NULL, "Allocate a pseudo-TTY"},       \
        {"ulimit", 0, CLI_STRV, &(f).ulimit, "ulimit", "Ulimit options"},      \
        {"user", 'u', CLI_STRING, &(f).user, "string",                         \
         "Username or UID (format: <name|uid>[:<group|gid>])"},                \
        {"volume", 'v', CLI_STRV, &(f).volume, "stringArray",                  \
         "Bind mount a volume into the container"},                            \
        {"workdir", 'w', CLI_STRING, &(f).workdir, "string",                   \
         "Working directory inside the container"}

static void run_flags_free(struct run_flags *f)
{
    char **strs[] = {&f->name, &f->hostname, &f->entrypoint, &f->workdir,
                     &f->user, &f->stop_signal, &f->pull, &f->network,
                     &f->shm_size, &f->runtime, &f->log_driver,
                     &f->detach_keys, &f->restart, &f->memory,
                     &f->memory_swap, &f->cpus, &f->cpu_shares,
                     &f->pids_limit, &f->pod};
    char ***vs[] = {&f->env, &f->env_file, &f->volume, &f->mount, &f->label,
                    &f->cap_add, &f->cap_drop, &f->security_opt,
                    &f->group_add, &f->ulimit, &f->device, &f->tmpfs,
                    &f->log_opt, &f->annotation, &f->publish, &f->add_host,
                    &f->dns, &f->dns_search, &f->dns_option};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
        strv_free(*vs[i]);
}

/* The image: found locally, or pulled as --pull says. */
static int resolve_image(struct store *s, const struct run_flags *f,
                         const char *name, json_t **ret, berth_error_t *err)
{
    const char *policy = f->pull ? f->pull : "missing";
    berth_error_t e = NULL;
    if (strcmp(policy, "always") && strcmp(policy, "missing") &&
        strcmp(policy, "never") && strcmp(policy, "newer"))
        return berth_error_new(err, 0,
                               "invalid pull policy \"%s\": must be always, "
                               "missing, newer or never",
                               policy);
    if (strcmp(policy, "always") != 0 && images_lookup(s, name, ret, &e) == 0)
        return 0;
    if (e && e->errnum != ENOENT) {
        *err = e;
        return -1;
    }
    berth_error_free(&e);
    if (strcmp(policy, "never") == 0)
        return berth_error_new(err, 0, "%s: image not known", name);
    struct pull_opts po = {.reg = {.tls_verify = -1}};
    struct progress *prog = progress_new(f->quiet);
    _cleanup_free_ char *id = NULL;
    po.on_event = progress_pull_event;
    po.event_arg = prog;
    int r = platform_resolve(NULL, NULL, NULL, NULL, &po.platform, err);
    if (r == 0)
        r = image_pull(s, name, &po, &id, err);
    progress_free(prog);
    platform_clear(&po.platform);
    if (r < 0)
        return -1;
    return images_get(s, id, ret, err);
}

/* userdata/lookup/etc/{passwd,group}: the image's files, from the
 * top-most layer that has them, so users resolve before any mount. */
static int lookup_root(struct store *s, json_t *image, const char *dir,
                       berth_error_t *err)
{
    static const char *const files[] = {"etc/passwd", "etc/group"};
    json_t *layers = json_object_get(image, "layers");
    _cleanup_free_ char *etc = xasprintf("%s/etc", dir);
    if (fs_mkdir_p(etc, 0755, err) < 0)
        return -1;
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = json_array_size(layers); i > 0; i--) {
            const char *chain = json_get_str(json_array_get(layers, i - 1),
                                             "chain_id");
            _cleanup_free_ char *diff = store_layer_diff(s, chain);
            _cleanup_free_ char *src = xasprintf("%s/%s", diff, files[k]);
            if (!fs_exists(src))
                continue;
            _cleanup_free_ char *dst = xasprintf("%s/%s", dir, files[k]);
            berth_error_t e = NULL;
            if (fs_copy_file(src, dst, &e) < 0)
                berth_error_free(&e); /* unreadable: numeric users only */
            break;
        }
    }
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text,
                      berth_error_t *err)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    return fs_write_file_atomic(p, text, strlen(text), 0644, err);
}

/* /etc/hostname, /etc/hosts and /etc/resolv.conf of the container. */
/* host.containers.internal: slirp4netns's gateway when it leads to the
 * host's loopback, else the host's first non-loopback IPv4 address (as
 * podman); NULL when there is none. */
static char *host_gateway(const struct net_mode *nm)
{
    if (nm->kind != NET_SLIRP)
        return NULL;
    if (nm->allow_host_loopback)
        return xstrdup(nm->gateway);
    struct ifaddrs *ifs = NULL, *i;
    char buf[INET_ADDRSTRLEN], *ret = NULL;
    if (getifaddrs(&ifs) < 0)
        return NULL;
    for (i = ifs; i && ret == NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct sockaddr_in *in = (struct sockaddr_in *)i->ifa_addr;
        if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf))
            ret = xstrdup(buf);
    }
    freeifaddrs(ifs);
    return ret;
}

static int write_etc_files(const char *userdata, const struct run_flags *f,
                           const struct net_mode *nm, const char *hostname,
                           const char *name, const char *ip,
                           berth_error_t *err)
{
    _cleanup_free_ char *hn = xasprintf("%s\n", hostname);
    _cleanup_free_ char *host_hosts = NULL, *host_resolv = NULL;
    _cleanup_free_ char *hosts = NULL, *resolv = NULL;
    _cleanup_free_ char *gw = host_gateway(nm);
    berth_error_t e = NULL;
    if (fs_read_file("/etc/resolv.conf", &host_resolv, NULL, &e) < 0) {
        berth_error_free(&e);
        host_resolv = xstrdup("");
    }
    if (nm->kind == NET_HOST &&
        fs_read_file("/etc/hosts", &host_hosts, NULL, &e) < 0) {
        berth_error_free(&e);
        host_hosts = xstrdup("");
    }
    struct etc_hosts_opts ho = {
        .hostname = hostname, .name = name,
        .ip = ip ? ip : nm->kind == NET_SLIRP ? nm->ip : NULL,
        .add_hosts = f->add_host,
        .host_gateway = gw, .base = host_hosts};
    struct etc_resolv_opts ro = {
        .host_resolv = host_resolv, .dns = f->dns,
        .dns_search = f->dns_search, .dns_option = f->dns_option,
        /* a user's networks get out through the holder's slirp4netns */
        .slirp_dns = nm->kind == NET_SLIRP ||
                             (nm->kind == NET_BRIDGE && !network_rootful())
                         ? nm->dns
                         : NULL,
        .keep_loopback = nm->kind == NET_HOST};
    if (etc_hosts_render(&ho, &hosts, err) < 0 ||
        etc_resolv_render(&ro, &resolv, err) < 0)
        return -1;
    if (write_text(userdata, "hostname", hn, err) < 0 ||
        write_text(userdata, "hosts", hosts, err) < 0 ||
        write_text(userdata, "resolv.conf", resolv, err) < 0)
        return -1;
    return 0;
}

static json_t *labels_object(char **labels, json_t *image_config)
{
    json_t *o = json_object();
    json_t *img = json_object_get(json_object_get(image_config, "config"),
                                  "Labels");
    if (json_is_object(img))
        json_object_update(o, img);
    for (size_t i = 0; labels && labels[i]; i++) {
        char *eq = strchr(labels[i], '=');
        _cleanup_free_ char *k =
            eq ? xstrndup(labels[i], (size_t)(eq - labels[i]))
               : xstrdup(labels[i]);
        json_object_set_new(o, k, json_string(eq ? eq + 1 : ""));
    }
    return o;
}

static json_t *strv_json(char *const *v)
{
    json_t *a = json_array();
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static int check_flags(const struct run_flags *f, berth_error_t *err)
{
    struct net_mode nm;
    if (net_mode_parse(f->network, &nm, err) < 0)
        return -1;
    if (f->log_driver && strcmp(f->log_driver, "k8s-file") != 0 &&
        strcmp(f->log_driver, "none") != 0)
        return berth_error_new(err, 0, "invalid log driver \"%s\": supported "
                               "are k8s-file and none", f->log_driver);
    if (f->stop_signal && ctr_parse_signal(f->stop_signal) < 0)
        return berth_error_new(err, 0, "invalid signal: %s", f->stop_signal);
    if (f->restart && strcmp(f->restart, "no") != 0 &&
        strcmp(f->restart, "always") != 0 &&
        strcmp(f->restart, "unless-stopped") != 0 &&
        strncmp(f->restart, "on-failure", 10) != 0)
        return berth_error_new(err, 0, "invalid restart policy \"%s\"",
                               f->restart);
    if (f->rm && f->restart && strcmp(f->restart, "no") != 0)
        return berth_error_new(err, 0, "the --rm option conflicts with "
                               "--restart, when the restartPolicy is not "
                               "\"\" and \"no\"");
    return 0;
}

static const char *log_max_size(char **opts, berth_error_t *err)
{
    const char *v = NULL;
    for (size_t i = 0; opts && opts[i]; i++) {
        if (str_has_prefix(opts[i], "max-size=")) {
            v = opts[i] + 9;
            if (parse_size(v) <= 0)
                return berth_error_new(err, 0, "invalid log option \"%s\": "
                                       "max-size must be a size like 10m",
                                       opts[i]),
                       (const char *)NULL;
        }
        else if (!str_has_prefix(opts[i], "path=") &&
                 !str_has_prefix(opts[i], "tag="))
            return berth_error_new(err, 0, "invalid log option \"%s\"",
                                   opts[i]),
                   (const char *)NULL;
    }
    return v ? v : "";
}

static json_t *options_json(const struct run_flags *f, json_t *cfg,
                            const char *maxsize, const char *runtime,
                            json_t *ports)
{
    json_t *o = json_pack(
        "{s:b,s:b,s:b,s:s,s:s,s:s,s:s,s:s,s:i,s:o,s:s,s:b,s:b}", "tty",
        f->tty, "interactive", f->interactive, "rm", f->rm, "log_driver",
        f->log_driver ? f->log_driver : "k8s-file", "runtime",
        runtime ? runtime : "", "restart", f->restart ? f->restart : "",
        "stop_signal", f->stop_signal ? f->stop_signal : "SIGTERM",
        "network", f->network ? f->network : NET_DEFAULT, "stop_timeout",
        f->stop_timeout >= 0 ? f->stop_timeout : 10, "labels",
        labels_object(f->label, cfg), "detach_keys",
        f->detach_keys ? f->detach_keys : "ctrl-p,ctrl-q", "privileged",
        f->privileged, "read_only", f->read_only);
    json_object_set_new(o, "ports", ports);
    if (maxsize && *maxsize) {
        /* the monitor takes bytes; validated by log_max_size */
        _cleanup_free_ char *bytes =
            xasprintf("%lld", (long long)parse_size(maxsize));
        json_object_set_new(o, "log_max_size", json_string(bytes));
    }
    return o;
}

struct spec_fields {
    json_t *spec;
    const char *hostname;
};

static int keep_spec(json_t *rec, void *arg, berth_error_t *err)
{
    struct spec_fields *sf = arg;
    json_t *p = json_object_get(sf->spec, "process");
    json_t *o = json_object_get(rec, "options");
    (void)err;
    json_object_set(o, "args", json_object_get(p, "args"));
    json_object_set(o, "env", json_object_get(p, "env"));
    json_object_set(o, "cwd", json_object_get(p, "cwd"));
    json_object_set(o, "user", json_object_get(p, "user"));
    json_object_set(o, "mounts", json_object_get(sf->spec, "mounts"));
    json_object_set_new(o, "hostname", json_string(sf->hostname));
    return 0;
}

/* --init: berth-init, bind-mounted read-only at /run/berth-init, runs the
 * command as its child (signals forwarded, orphans reaped). */
static int add_init(json_t *spec, berth_error_t *err)
{
    _cleanup_free_ char *init = ctr_helper_path("berth-init", "BERTH_INIT");
    if (init == NULL)
        return berth_error_new(err, 0, "--init: berth-init not found beside "
                               "berth or in ../libexec/berth (set "
                               "BERTH_INIT or run make install)");
    json_t *args = json_object_get(json_object_get(spec, "process"), "args");
    json_array_insert_new(args, 0, json_string("--"));
    json_array_insert_new(args, 0, json_string("/run/berth-init"));
    json_array_append_new(
        json_object_get(spec, "mounts"),
        json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", "/run/berth-init",
                  "type", "bind", "source", init, "options", "bind", "ro",
                  "nosuid"));
    return 0;
}

/* The pod's namespaces other than the network (done by --network
 * container:) joined by path, rewritten at each start; a joined UTS
 * namespace keeps the pod's hostname. */
static void spec_join(json_t *spec, json_t *join)
{
    size_t i, k;
    json_t *v, *ns;
    json_t *linux_ = json_object_get(spec, "linux");
    json_array_foreach(json_object_get(join, "namespaces"), i, v) {
        const char *t = json_string_value(v);
        if (t == NULL || strcmp(t, "network") == 0)
            continue;
        json_array_foreach(json_object_get(linux_, "namespaces"), k, ns) {
            if (strcmp(json_get_str(ns, "type"), t) == 0)
                json_object_set_new(ns, "path",
                                    json_sprintf("/proc/self/ns/%s", t));
        }
        if (strcmp(t, "uts") == 0)
            json_object_del(spec, "hostname");
    }
}

/* A container's address on its first network, or NULL. */
static const char *first_ip(json_t *rec)
{
    json_t *o = json_object_get(rec, "options");
    const char *net =
        json_string_value(json_array_get(json_object_get(o, "networks"), 0));
    return net ? json_get_str(json_object_get(o, "ips"), net) : NULL;
}

/* Bundle: the OCI config.json for the container, from image and flags. */
static int write_bundle(struct store *s, const struct run_flags *f,
                        json_t *image, json_t *cfg, json_t **rec,
                        char **cmd, berth_error_t *err)
{
    _cleanup_free_ char *id = xstrdup(json_get_str(*rec, "id"));
    _cleanup_free_ char *userdata = containers_path(s, id, "userdata");
    _cleanup_free_ char *lookup = xasprintf("%s/lookup", userdata);
    _cleanup_free_ char *merged = containers_path(s, id, "merged");
    _cleanup_free_ char *hosts = xasprintf("%s/hosts", userdata);
    _cleanup_free_ char *resolv = xasprintf("%s/resolv.conf", userdata);
    _cleanup_free_ char *hostname_path = xasprintf("%s/hostname", userdata);
    _cleanup_free_ char *short_id = xstrndup(id, 12);
    _cleanup_free_ char *bundle = xasprintf("%s/config.json", userdata);
    _cleanup_json_ json_t *resources = NULL, *spec = NULL;
    const char *hostname = f->hostname ? f->hostname : short_id;
    struct net_mode nm;
    if (net_mode_parse(f->network, &nm, err) < 0)
        return -1;
    bool host_net = nm.kind == NET_HOST;

    /* container:NAME shares the other's /etc/hosts and resolv.conf too */
    _cleanup_free_ char *netpath = NULL;
    if (nm.kind == NET_CONTAINER) {
        _cleanup_json_ json_t *t = NULL;
        if (ctr_lookup(s, nm.target, &t, err) < 0)
            return berth_error_prefix(err, "network container:%s", nm.target);
        const char *tid = json_get_str(t, "id");
        free(hosts);
        free(resolv);
        hosts = containers_path(s, tid, "userdata/hosts");
        resolv = containers_path(s, tid, "userdata/resolv.conf");
        /* the path is the other's pid at each start (ctr_launch) */
        netpath = xstrdup("/proc/self/ns/net");
    } else if (nm.kind == NET_NS) {
        netpath = xstrdup(nm.target);
    }
    if (fs_mkdir_p(userdata, 0700, err) < 0 ||
        lookup_root(s, image, lookup, err) < 0 ||
        write_etc_files(userdata, f, &nm, hostname,
                        json_get_str(*rec, "name"), first_ip(*rec), err) < 0)
        return -1;
    struct spec_resource_opts ro = {.memory = f->memory,
                                    .memory_swap = f->memory_swap,
                                    .cpus = f->cpus,
                                    .cpu_shares = f->cpu_shares,
                                    .pids_limit = f->pids_limit};
    if (spec_parse_resources(&ro, &resources, err) < 0)
        return -1;
    /* the image's VOLUMEs no flag covers become anonymous volumes */
    _cleanup_strv_ char **vols = NULL, **img_vols = NULL;
    if (volumes_for_image(cfg, f->volume, f->mount, f->tmpfs, &img_vols,
                          err) < 0)
        return -1;
    for (size_t i = 0; f->volume && f->volume[i]; i++)
        strv_append(&vols, f->volume[i]);
    for (size_t i = 0; img_vols && img_vols[i]; i++)
        strv_append(&vols, img_vols[i]);
    /* a cgroup of its own where we may make one (limits, the freezer);
     * the limits that cannot be applied are said now, plainly */
    struct cgroup_info cg = {0};
    _cleanup_free_ char *cgpath = NULL;
    berth_error_t cge = NULL;
    bool cg_ok = !userns_in_child() && cgroup_detect(NULL, &cg, &cge) == 0 &&
                 cgroup_usable(&cg);
    berth_error_free(&cge);
    if (cg_ok)
        cgpath = cgroup_container_path(&cg, id);
    _cleanup_strv_ char **cgw = NULL;
    cgroup_check_resources(&cg, cg_ok, resources, &cgw);
    cgroup_info_clear(&cg);
    for (size_t i = 0; cgw && cgw[i]; i++)
        print_warning("%s", cgw[i]);
    struct spec_opts o = {
        .rootfs = lookup, .hostname = host_net ? NULL : hostname,
        .command = cmd, .entrypoint = f->entrypoint, .env = f->env,
        .env_files = f->env_file, .workdir = f->workdir, .user = f->user,
        .group_add = f->group_add, .tty = f->tty, .ulimits = f->ulimit,
        .cap_add = f->cap_add, .cap_drop = f->cap_drop,
        .privileged = f->privileged, .security_opts = f->security_opt,
        .shm_size = f->shm_size, .hosts_path = hosts,
        .resolv_conf_path = resolv, .hostname_path = hostname_path,
        .volume_resolve = volumes_spec_resolve, .volume_resolve_arg = s,
        .volumes = vols, .mounts = f->mount, .tmpfs = f->tmpfs,
        .read_only = f->read_only, .devices = f->device,
        .network = host_net ? "host" : "none", .network_path = netpath,
        .cgroups_path = cgpath, .resources = resources,
        .rootless = s->rootless, .annotations = f->annotation};
    /* a new volume is seeded from the image at its mount point */
    if (spec_generate(cfg, &o, &spec, err) < 0 ||
        volumes_seed_spec(s, spec, image, err) < 0 ||
        (f->init && add_init(spec, err) < 0))
        return -1;
    spec_join(spec, json_object_get(json_object_get(*rec, "options"), "join"));
    json_object_set_new(json_object_get(spec, "root"), "path",
                        json_string(merged));
    if (json_write_path(bundle, spec, err) < 0)
        return -1;
    struct spec_fields sf = {spec, hostname};
    json_t *upd = NULL;
    if (containers_update(s, id, keep_spec, &sf, &upd, err) < 0)
        return -1;
    json_decref(*rec);
    *rec = upd;
    return 0;
}

/* -p values; ports need a network of the container's own to reach */
static int parse_ports(const struct run_flags *f, json_t *cfg,
                       struct port_map **ports, size_t *n, berth_error_t *err)
{
    struct net_mode nm;
    for (size_t i = 0; f->publish && f->publish[i]; i++) {
        if (ports_parse(f->publish[i], ports, n, err) < 0)
            return -1;
    }
    if (f->publish_all && ports_from_exposed(cfg, ports, n, err) < 0)
        return -1;
    if (*n == 0 || net_mode_parse(f->network, &nm, err) < 0)
        return 0;
    if (nm.kind == NET_HOST) {
        /* podman: the host's ports are the container's already */
        print_warning("port mappings have been discarded as one of the Host, "
                      "Container, Pod, and None network modes are in use");
        free(*ports);
        *ports = NULL;
        *n = 0;
        return 0;
    }
    if (nm.kind != NET_SLIRP && nm.kind != NET_BRIDGE)
        return berth_error_new(err, 0, "cannot set port bindings on an "
                               "existing container network namespace: "
                               "--network %s", f->network);
    return 0;
}

/* --pod: the pod's infra container lends the namespaces the pod shares;
 * what the pod owns (ports, network, hostname) cannot be set per
 * container (podman's messages).  *ret_join: {"container": INFRA,
 * "namespaces": [...]}, the namespaces entered at every start. */
static int pod_join_flags(struct store *s, struct run_flags *f, json_t **ret_pod,
                          json_t **ret_join, berth_error_t *err)
{
    if (pod_resolve_for_run(s, f->pod, ret_pod, err) < 0)
        return -1;
    json_t *share = json_object_get(*ret_pod, "share");
    const char *infra = json_get_str(*ret_pod, "infra_id");
    json_t *nss = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(share, i, v) {
        const char *n = json_string_value(v);
        if (n && strcmp(n, "net") == 0) {
            if (f->publish || f->publish_all)
                return json_decref(nss),
                       berth_error_new(err, 0, "invalid config provided: "
                                       "published or exposed ports must be "
                                       "defined when the pod is created: "
                                       "network cannot be configured when it "
                                       "is shared with a pod");
            if (f->network)
                return json_decref(nss),
                       berth_error_new(err, 0, "invalid config provided: "
                                       "networks must be defined when the pod "
                                       "is created: network cannot be "
                                       "configured when it is shared with a "
                                       "pod");
            f->network = xasprintf("container:%s", infra);
            json_array_append_new(nss, json_string("network"));
        } else if (n && (strcmp(n, "ipc") == 0 || strcmp(n, "uts") == 0)) {
            if (strcmp(n, "uts") == 0 && f->hostname)
                return json_decref(nss),
                       berth_error_new(err, 0, "invalid config provided: "
                                       "cannot set hostname when joining the "
                                       "pod UTS namespace");
            json_array_append_new(nss, json_string(n));
        }
    }
    *ret_join = json_pack("{s:s,s:o}", "container", infra, "namespaces", nss);
    return 0;
}

static int create_container(struct store *s, struct run_flags *f,
                            const char *image_name, char **cmd, json_t **ret,
                            berth_error_t *err)
{
    _cleanup_json_ json_t *image = NULL, *cfg = NULL, *fields = NULL;
    json_t *rec = NULL;
    const char *maxsize = NULL;
    /* an external runtime, found now: the monitor runs it by this path */
    _cleanup_free_ char *runtime = NULL;
    if (f->runtime && *f->runtime &&
        (runtime = fs_find_exec(f->runtime)) == NULL)
        return berth_error_new(err, ENOENT, "OCI runtime \"%s\" not found: "
                               "no executable of that name", f->runtime);

    _cleanup_json_ json_t *pod = NULL, *join = NULL;
    if (f->pod && pod_join_flags(s, f, &pod, &join, err) < 0)
        return -1;
    /* root's default: the bridge network, as podman's */
    const char *dflt = NULL;
    if (f->network == NULL && network_default(s, &dflt, err) < 0)
        return -1;
    if (f->network == NULL && dflt)
        f->network = xstrdup(dflt);
    _cleanup_free_ struct port_map *ports = NULL;
    size_t nports = 0;
    if (check_flags(f, err) < 0 ||
        (maxsize = log_max_size(f->log_opt, err)) == NULL ||
        resolve_image(s, f, image_name, &image, err) < 0 ||
        images_config(s, image, &cfg, err) < 0 ||
        parse_ports(f, cfg, &ports, &nports, err) < 0 ||
        ports_choose(ports, nports, err) < 0)
        return -1;
    json_t *options = options_json(f, cfg, maxsize, runtime,
                                   ports_to_json(ports, nports));
    if (pod) {
        json_object_set_new(options, "pod",
                            json_string(json_get_str(pod, "id")));
        json_object_set(options, "join", join);
    }
    fields = json_pack("{s:s?,s:s,s:s,s:o,s:o}", "name", f->name, "image",
                       json_get_str(image, "id"), "image_name", image_name,
                       "command", strv_json(cmd), "options", options);
    if (containers_create(s, fields, &rec, err) < 0)
        return -1;
    struct net_mode nm;
    bool bridged = net_mode_parse(f->network, &nm, err) == 0 &&
                   nm.kind == NET_BRIDGE;
    if (rootfs_prepare(s, rec, err) < 0 ||
        (bridged && network_attach_new(s, &rec, nm.target, err) < 0) ||
        write_bundle(s, f, image, cfg, &rec, cmd, err) < 0) {
        if (bridged)
            network_detach_all(s, rec);
        berth_error_t e = NULL;
        if (containers_delete(s, json_get_str(rec, "id"), &e) < 0)
            berth_error_free(&e);
        json_decref(rec);
        return -1;
    }
    if (bridged)
        network_hosts_refresh(s);
    *ret = rec;
    return 0;
}

static int mark_infra(json_t *rec, void *arg, berth_error_t *err)
{
    json_t *o = json_object_get(rec, "options");
    (void)err;
    json_object_set_new(o, "pod", json_string(arg));
    json_object_set_new(o, "infra", json_true());
    return 0;
}

static int mark_hidden(json_t *rec, void *arg, berth_error_t *err)
{
    (void)arg;
    (void)err;
    json_object_set_new(json_object_get(rec, "options"), "hidden",
                        json_true());
    return 0;
}

int run_create_holder(struct store *s, const char *name, const char *image,
                      json_t **ret, berth_error_t *err)
{
    struct run_flags f = {0};
    f.stop_timeout = -1;
    f.name = xstrdup(name);
    f.pull = xstrdup("never");
    json_t *rec = NULL;
    int r = create_container(s, &f, image, NULL, &rec, err);
    if (r == 0) {
        json_t *upd = NULL;
        r = containers_update(s, json_get_str(rec, "id"), mark_hidden, NULL,
                              &upd, err);
        json_decref(rec);
        rec = upd;
    }
    run_flags_free(&f);
    if (r < 0) {
        json_decref(rec);
        return -1;
    }
    *ret = rec;
    return 0;
}

int run_create_infra(struct store *s, json_t *pod, const char *image,
                     json_t **ret, berth_error_t *err)
{
    struct run_flags f = {0};
    const char *id = json_get_str(pod, "id");
    const char *net = json_get_str(pod, "network");
    const char *hn = json_get_str(pod, "hostname");
    size_t i;
    json_t *v;
    f.stop_timeout = -1;
    f.name = xasprintf("%.12s-infra", id);
    f.network = net && *net ? xstrdup(net) : NULL;
    f.hostname = xstrdup(hn && *hn ? hn : json_get_str(pod, "name"));
    f.pull = xstrdup("never");
    json_array_foreach(json_object_get(pod, "publish"), i, v)
        strv_append(&f.publish, json_string_value(v));
    json_t *rec = NULL;
    int r = create_container(s, &f, image, NULL, &rec, err);
    if (r == 0) {
        json_t *upd = NULL;
        r = containers_update(s, json_get_str(rec, "id"), mark_infra,
                              (void *)id, &upd, err);
        json_decref(rec);
        rec = upd;
    }
    run_flags_free(&f);
    if (r < 0) {
        json_decref(rec);
        return -1;
    }
    *ret = rec;
    return 0;
}

static int parse_run(const char *name, int argc, char **argv,
                     struct run_flags *f, int *ret_optind, berth_error_t *err)
{
    const struct cli_command self = {
        name, NULL, "[options] IMAGE [COMMAND [ARG...]]",
        strcmp(name, "run") == 0 ? "Run a command in a new container"
                                 : "Create but do not start a container",
        NULL, NULL};
    const struct cli_opt run_opts[] = {
        {"detach", 'd', CLI_BOOL, &f->detach, NULL,
         "Run container in background and print container ID"},
        RUN_OPTS(*f),
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    const struct cli_opt *opts = run_opts;
    /* create has no --detach */
    if (strcmp(name, "create") == 0)
        opts = run_opts + 1;
    f->stop_timeout = -1;
    int r = cli_parse(&self, opts, argc, argv, true, ret_optind, err);
    if (r != 0)
        return r;
    return cli_nargs(name, argc - *ret_optind, 1, -1, err);
}

int cmd_create(struct cli_global *g, int argc, char **argv,
               berth_error_t *err)
{
    struct run_flags f = {0};
    struct store *s = NULL;
    json_t *rec = NULL;
    int optind = 0;
    int r = parse_run("create", argc, argv, &f, &optind, err);
    if (r == 0 && (r = cli_store(g, &s, err)) == 0)
        r = create_container(s, &f, argv[optind], argv + optind + 1, &rec,
                             err);
    if (r == 0)
        printf("%s\n", json_get_str(rec, "id"));
    json_decref(rec);
    run_flags_free(&f);
    return r > 0 ? 0 : r;
}

/* Foreground: attach before releasing the container, so no output is
 * lost, then relay until it exits. */
static int run_attached(struct store *s, json_t **rec, const struct run_flags *f,
                        int *ret_code, berth_error_t *err)
{
    int fd = -1;
    if (ctr_attach_connect(s, json_get_str(*rec, "id"), &fd, err) < 0)
        return -1;
    /* the size before the start: the command may ask for it at once */
    if (f->tty)
        ctr_send_size(s, json_get_str(*rec, "id"));
    if (ctr_release(s, rec, err) < 0) {
        close(fd);
        return -1;
    }
    int r = ctr_attach_fd(s, *rec, fd, f->interactive, f->tty, f->detach_keys,
                          ret_code, err);
    close(fd);
    return r;
}

int cmd_run(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    struct run_flags f = {0};
    struct store *s = NULL;
    json_t *rec = NULL;
    _cleanup_free_ char *id = NULL;
    int optind = 0, code = 0;
    int r = parse_run("run", argc, argv, &f, &optind, err);
    if (r != 0) {
        r = r > 0 ? 0 : -1; /* --help */
        goto out;
    }
    if ((r = cli_store(g, &s, err)) < 0 ||
        (r = create_container(s, &f, argv[optind], argv + optind + 1, &rec,
                              err)) < 0)
        goto out;
    id = xstrdup(json_get_str(rec, "id"));
    if ((r = ctr_launch(s, &rec, err)) < 0) {
        berth_error_t e = NULL;
        if (f.rm && containers_delete(s, id, &e) < 0)
            berth_error_free(&e);
        else if (f.rm)
            network_detach_all(s, rec);
        goto out;
    }
    if (f.detach) {
        if ((r = ctr_release(s, &rec, err)) == 0)
            printf("%s\n", id);
        goto out;
    }
    if ((r = run_attached(s, &rec, &f, &code, err)) < 0)
        goto out;
    if (code >= 0 && f.rm) {
        /* the monitor removes it too (rm -f -v); whoever comes second finds
         * it gone.  Anonymous volumes go with it, as podman's --rm.  The
         * exit code, which removal keeps for us, is read: drop it. */
        berth_error_t e = NULL;
        if (ctr_remove(s, id, true, &e) == 0 &&
            volumes_remove_anonymous_of(s, rec, &e) < 0)
            print_warning("%s, ignoring", e->msg);
        berth_error_free(&e);
        _cleanup_free_ char *exits = ctr_exit_dir(s);
        _cleanup_free_ char *xf = xasprintf("%s/%s", exits, id);
        _cleanup_free_ char *xj = xasprintf("%s/%s.json", exits, id);
        unlink(xf);
        unlink(xj);
    }
    /* detached (code -1): the container goes on, and so do we, with 0 */
    r = code >= 0 ? code : 0;
out:
    json_decref(rec);
    run_flags_free(&f);
    return r;
}
