/* network create, ls, inspect, rm, prune, connect, disconnect; the
 * hidden net-setup the monitor runs; the holder of the shared network
 * namespace (see cmd/network.h). */
#define _GNU_SOURCE
#include "cmd/network.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cli.h"
#include "cmd/commands.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/format.h"
#include "cmd/pod.h"
#include "cmd/run.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/netlink.h"
#include "netns/ports.h"
#include "rootless/userns.h"
#include "storage/containers.h"
#include "storage/networks.h"
#include "storage/store.h"

#define NO_OPTS {NULL, 0, 0, NULL, NULL, NULL}
#define HOSTS_MARK "# berth: containers on the same networks\n"

static int nft_apply(struct store *s, berth_error_t *err);
static char *ports_marker(struct store *s, const char *id);

/* ---- which containers are on which network ---- */

static bool on_network(json_t *rec, const char *net)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(rec, "options"),
                                       "networks"), i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), net) == 0)
            return true;
    }
    return false;
}

/* Root's default network resolves no names, as podman's: its containers
 * are strangers to each other. */
static bool named_network(const char *net)
{
    return net && !(network_rootful() && strcmp(net, NETWORK_DEFAULT) == 0);
}

/* On a network whose members know each other by name. */
static bool on_named_network(json_t *rec)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(rec, "options"),
                                       "networks"), i, v) {
        if (named_network(json_string_value(v)))
            return true;
    }
    return false;
}

static bool on_any_network(json_t *rec)
{
    json_t *o = json_object_get(rec, "options");
    return json_array_size(json_object_get(o, "networks")) > 0 &&
           !json_is_true(json_object_get(o, "hidden"));
}

/* ---- /etc/hosts: the others on the same networks ---- */

/* Rewrite the block after HOSTS_MARK in rec's hosts file, in place: the
 * file is bind-mounted into the running container by its inode. */
static void hosts_refresh_one(struct store *s, json_t *rec, json_t *all)
{
    const char *id = json_get_str(rec, "id");
    _cleanup_free_ char *path = containers_path(s, id, "userdata/hosts");
    _cleanup_free_ char *text = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(path, &text, NULL, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    char *mark = strstr(text, HOSTS_MARK);
    if (mark)
        *mark = '\0';
    _cleanup_free_ char *block = xstrdup(HOSTS_MARK);
    size_t i, k;
    json_t *other, *net;
    json_array_foreach(all, i, other) {
        const char *oid = json_get_str(other, "id");
        json_t *oo = json_object_get(other, "options");
        if (strcmp(oid, id) == 0 || json_is_true(json_object_get(oo, "hidden")))
            continue;
        json_array_foreach(json_object_get(json_object_get(rec, "options"),
                                           "networks"), k, net) {
            const char *n = json_string_value(net);
            const char *ip = json_get_str(json_object_get(oo, "ips"), n);
            if (!named_network(n) || ip == NULL || !on_network(other, n))
                continue;
            char *b = xasprintf("%s%s\t%s %.12s\n", block, ip,
                                json_get_str(other, "name"), oid);
            free(block);
            block = b;
            break;
        }
    }
    _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    /* a container removed meanwhile has nothing left to update */
    if (fd < 0 && errno == ENOENT)
        return;
    if (fd < 0 || write(fd, text, strlen(text)) < 0 ||
        write(fd, block, strlen(block)) < 0)
        print_warning("update %s: %s", path, strerror(errno));
}

void network_hosts_refresh(struct store *s)
{
    _cleanup_json_ json_t *all = NULL;
    berth_error_t e = NULL;
    if (containers_list(s, &all, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        if (on_named_network(rec))
            hosts_refresh_one(s, rec, all);
    }
}

/* ---- root's default network ---- */

int network_default(struct store *s, const char **ret, berth_error_t *err)
{
    *ret = NULL;
    if (!network_rootful())
        return 0;
    _cleanup_json_ json_t *n = NULL;
    berth_error_t e = NULL;
    if (networks_lookup(s, NETWORK_DEFAULT, &n, &e) < 0) {
        berth_error_free(&e);
        struct network_opts o = {NETWORK_DEFAULT, "10.88.0.0/16", NULL, false,
                                 NULL, "berth0"};
        /* parallel first runs race to create it: whoever loses finds it */
        if (networks_create(s, &o, &n, &e) < 0) {
            berth_error_t e2 = NULL;
            if (networks_lookup(s, NETWORK_DEFAULT, &n, &e2) < 0) {
                berth_error_free(&e2);
                *err = e;
                return berth_error_prefix(err, "the default network");
            }
        }
        berth_error_free(&e);
    }
    *ret = NETWORK_DEFAULT;
    return 0;
}

/* ---- the holder ---- */

int network_holder_pid(struct store *s, pid_t *ret, berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    berth_error_t e = NULL;
    /* one creator and starter at a time: parallel runs on networks */
    _cleanup_close_ int lock = -1;
    if (store_lock(s, "netns-holder", &lock, err) < 0)
        return -1;
    if (ctr_lookup(s, NETNS_HOLDER, &rec, &e) < 0) {
        if (e->errnum != ENOENT) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
        if (pod_pause_image(s, err) < 0 ||
            run_create_holder(s, NETNS_HOLDER, PAUSE_IMAGE, &rec, err) < 0)
            return berth_error_prefix(err, "the network namespace holder");
    }
    const char *st = json_get_str(json_object_get(rec, "state"), "status");
    int code;
    if ((st == NULL || strcmp(st, "running") != 0) &&
        ctr_start_one(s, NETNS_HOLDER, false, false, &code, err) < 0)
        return berth_error_prefix(err, "start the network namespace holder");
    json_decref(rec);
    rec = NULL;
    if (ctr_lookup(s, NETNS_HOLDER, &rec, err) < 0)
        return -1;
    *ret = (pid_t)json_get_int(json_object_get(rec, "state"), "pid", 0);
    if (*ret <= 0)
        return berth_error_new(err, 0, "the network namespace holder is not "
                               "running");
    return 0;
}

void network_holder_release(struct store *s)
{
    _cleanup_json_ json_t *all = NULL;
    berth_error_t e = NULL;
    _cleanup_close_ int lock = -1;
    if (store_lock(s, "netns-holder", &lock, &e) < 0 ||
        containers_list(s, &all, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    size_t i;
    json_t *rec;
    bool holder = false;
    json_array_foreach(all, i, rec) {
        if (on_any_network(rec))
            return;
        holder = holder || strcmp(json_get_str(rec, "name"), NETNS_HOLDER) == 0;
    }
    if (holder && ctr_remove(s, NETNS_HOLDER, true, &e) < 0)
        berth_error_free(&e);
}

/* ---- attaching at create, detaching at rm ---- */

static int set_networks(json_t *rec, void *arg, berth_error_t *err)
{
    json_t *o = json_object_get(rec, "options");
    json_t *nets = arg;
    (void)err;
    json_object_set(o, "networks", json_object_get(nets, "networks"));
    json_object_set(o, "ips", json_object_get(nets, "ips"));
    return 0;
}

int network_attach_new(struct store *s, json_t **rec, const char *names,
                       berth_error_t *err)
{
    const char *id = json_get_str(*rec, "id");
    _cleanup_strv_ char **v = strv_split(names, ",");
    _cleanup_json_ json_t *nets =
        json_pack("{s:[],s:{}}", "networks", "ips");
    for (size_t i = 0; v && v[i]; i++) {
        _cleanup_json_ json_t *n = NULL;
        _cleanup_free_ char *ip = NULL;
        if (networks_lookup(s, v[i], &n, err) < 0 ||
            networks_ip_allocate(s, json_get_str(n, "name"), id, &ip,
                                 err) < 0)
            goto fail;
        json_array_append_new(json_object_get(nets, "networks"),
                              json_string(json_get_str(n, "name")));
        json_object_set_new(json_object_get(nets, "ips"),
                            json_get_str(n, "name"), json_string(ip));
    }
    json_t *upd = NULL;
    if (containers_update(s, id, set_networks, nets, &upd, err) < 0)
        goto fail;
    json_decref(*rec);
    *rec = upd;
    network_hosts_refresh(s);
    return 0;
fail:;
    size_t i;
    json_t *n;
    json_array_foreach(json_object_get(nets, "networks"), i, n) {
        berth_error_t e = NULL;
        if (networks_ip_release(s, json_string_value(n), id, &e) < 0)
            berth_error_free(&e);
    }
    return -1;
}

void network_detach_all(struct store *s, json_t *rec)
{
    if (network_rootful()) {
        /* its published ports leave the DNAT rules */
        _cleanup_free_ char *marker = ports_marker(s, json_get_str(rec, "id"));
        berth_error_t e2 = NULL;
        if (unlink(marker) == 0 && nft_apply(s, &e2) < 0)
            print_warning("%s", e2->msg);
        berth_error_free(&e2);
    }
    json_t *o = json_object_get(rec, "options");
    size_t i;
    json_t *n;
    if (json_array_size(json_object_get(o, "networks")) == 0 ||
        json_is_true(json_object_get(o, "hidden")))
        return;
    json_array_foreach(json_object_get(o, "networks"), i, n) {
        berth_error_t e = NULL;
        if (networks_ip_release(s, json_string_value(n),
                                json_get_str(rec, "id"), &e) < 0)
            berth_error_free(&e);
    }
    network_hosts_refresh(s);
    network_holder_release(s);
}

/* A removed network's bridge goes too (root: it lives in the host's
 * namespace; a user's goes with the holder). */
static int network_delete_all(struct store *s, const char *name,
                              berth_error_t *err)
{
    _cleanup_json_ json_t *n = NULL;
    if (network_rootful() && networks_lookup(s, name, &n, err) < 0)
        return -1;
    if (networks_delete(s, name, err) < 0)
        return -1;
    if (n) {
        berth_error_t e = NULL;
        if (nl_link_delete(json_get_str(n, "bridge"), &e) < 0 ||
            nft_apply(s, &e) < 0)
            print_warning("%s", e->msg);
        berth_error_free(&e);
    }
    return 0;
}

void network_remove_all(struct store *s)
{
    _cleanup_json_ json_t *list = NULL;
    berth_error_t e = NULL;
    if (networks_list(s, &list, &e) < 0) {
        berth_error_free(&e);
        return;
    }
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n) {
        if (network_delete_all(s, json_get_str(n, "name"), &e) < 0)
            berth_error_free(&e);
    }
}

/* ---- wiring a container in (net-setup, connect) ---- */

static int prefix_of(const char *cidr)
{
    const char *sl = strchr(cidr, '/');
    return sl ? atoi(sl + 1) : 24;
}

/* The host end of a container's veth on a network: bv + 6 hex of the
 * container + 5 of the network (13 characters, stable per pair). */
static char *veth_name(const char *ctr_id, json_t *net)
{
    return xasprintf("bv%.6s%.5s", ctr_id, json_get_str(net, "id"));
}

/* As root, networks live in the host's namespace (podman's bridge):
 * masquerade to anywhere, ports by DNAT.  For a user they live in the
 * holder's namespace, whose way out is slirp4netns's tap0. */
bool network_rootful(void)
{
    return geteuid() == 0 && !userns_in_child();
}

static char *append(char *script, char *line)
{
    char *x = xasprintf("%s%s", script, line);
    free(script);
    free(line);
    return x;
}

/* RUNROOT/containers/ID/ports.active: a running container's published
 * ports are in the DNAT rules (root only) */
static char *ports_marker(struct store *s, const char *id)
{
    _cleanup_free_ char *dir = containers_run_path(s, id);
    return xasprintf("%s/ports.active", dir);
}

/* DNAT for the published ports of running containers on networks */
static char *nft_ports(struct store *s, char *script)
{
    _cleanup_json_ json_t *all = NULL;
    berth_error_t e = NULL;
    if (containers_list(s, &all, &e) < 0) {
        berth_error_free(&e);
        return script;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        json_t *o = json_object_get(rec, "options");
        const char *net = json_string_value(
            json_array_get(json_object_get(o, "networks"), 0));
        const char *ip = net ? json_get_str(json_object_get(o, "ips"), net)
                             : NULL;
        _cleanup_free_ char *marker = ports_marker(s, json_get_str(rec, "id"));
        if (ip == NULL || !fs_exists(marker))
            continue;
        _cleanup_free_ struct port_map *m = NULL;
        size_t n = 0;
        ports_from_json(json_object_get(o, "ports"), &m, &n);
        for (size_t k = 0; k < n; k++) {
            _cleanup_free_ char *match =
                m[k].host_ip[0] ? xasprintf("ip daddr %s", m[k].host_ip)
                                : xstrdup("fib daddr type local");
            static const char *const chains[] = {"nat_pre", "nat_local"};
            for (size_t c = 0; c < 2; c++)
                script = append(
                    script,
                    xasprintf("add rule ip berth %s %s %s dport %d dnat to "
                              "%s:%d\n",
                              chains[c], match, m[k].protocol, m[k].host_port,
                              ip, m[k].container_port));
        }
    }
    return script;
}

/* masquerade out of every non-internal network (root: to anywhere else;
 * a user: to slirp4netns's tap0), nothing out of internal ones, nothing
 * from one network to another, published ports (root): the whole berth
 * table, rewritten */
static int nft_apply(struct store *s, berth_error_t *err)
{
    _cleanup_json_ json_t *nets = NULL;
    if (networks_list(s, &nets, err) < 0)
        return -1;
    bool root = network_rootful();
    char *script = xstrdup(
        "add table ip berth\n"
        "add chain ip berth nat_out { type nat hook postrouting priority "
        "srcnat; }\n"
        "add chain ip berth filter_fwd { type filter hook forward priority 0; }\n"
        "flush chain ip berth nat_out\nflush chain ip berth filter_fwd\n");
    if (root)
        script = append(script, xstrdup(
            "add chain ip berth nat_pre { type nat hook prerouting priority "
            "dstnat; }\n"
            "add chain ip berth nat_local { type nat hook output priority "
            "-100; }\n"
            "flush chain ip berth nat_pre\nflush chain ip berth nat_local\n"));
    _cleanup_free_ char *bridges = xstrdup("");
    size_t i;
    json_t *n;
    json_array_foreach(nets, i, n) {
        char *x = xasprintf("%s%s\"%s\"", bridges, i ? ", " : "",
                            json_get_str(n, "bridge"));
        free(bridges);
        bridges = x;
    }
    json_array_foreach(nets, i, n) {
        const char *br = json_get_str(n, "bridge");
        const char *sub = json_get_str(n, "subnet");
        /* networks are apart from each other (bridged traffic within one
         * network reaches this hook too where br_netfilter is loaded);
         * an internal one has no way out either */
        if (json_is_true(json_object_get(n, "internal")))
            script = append(script,
                            xasprintf("add rule ip berth filter_fwd iifname "
                                      "\"%s\" oifname != \"%s\" drop\n",
                                      br, br));
        else if (root)
            script = append(
                script,
                xasprintf("add rule ip berth filter_fwd iifname \"%s\" "
                          "oifname != \"%s\" oifname { %s } drop\n"
                          "add rule ip berth nat_out ip saddr %s ip daddr != "
                          "%s masquerade\n"
                          "add rule ip berth nat_out ip saddr 127.0.0.0/8 "
                          "oifname \"%s\" masquerade\n",
                          br, br, bridges, sub, sub, br));
        else
            script = append(
                script,
                xasprintf("add rule ip berth filter_fwd iifname \"%s\" "
                          "oifname != { \"%s\", \"tap0\" } drop\n"
                          "add rule ip berth nat_out ip saddr %s oifname "
                          "\"tap0\" masquerade\n",
                          br, br, sub));
    }
    if (root)
        script = nft_ports(s, script);
    _cleanup_free_ char *owned = script;
    /* a user's $PATH often lacks the sbin directories nft lives in */
    _cleanup_free_ char *nft = fs_find_exec("nft");
    if (nft == NULL)
        nft = fs_find_exec("/usr/sbin/nft");
    if (nft == NULL)
        nft = fs_find_exec("/sbin/nft");
    if (nft == NULL)
        return berth_error_new(err, ENOENT, "nft not found in $PATH: "
                               "install nftables for container networks");
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return berth_error_new(err, errno, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pfd[0], STDIN_FILENO);
        execl(nft, "nft", "-f", "-", (char *)NULL);
        _exit(127);
    }
    close(pfd[0]);
    (void)!write(pfd[1], owned, strlen(owned));
    close(pfd[1]);
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return berth_error_new(err, 0, "nft could not set up the networks' "
                               "rules");
    return 0;
}

static int write_sysctl(const char *path, berth_error_t *err)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "1", 1) != 1)
        return berth_error_new(err, errno, "write 1 to %s", path);
    return 0;
}

static int ns_open(pid_t pid, int *ret, berth_error_t *err)
{
    _cleanup_free_ char *p = xasprintf("/proc/%d/ns/net", (int)pid);
    *ret = open(p, O_RDONLY | O_CLOEXEC);
    return *ret < 0 ? berth_error_new(err, errno, "open %s", p) : 0;
}

static int ns_enter(int fd, berth_error_t *err)
{
    return setns(fd, CLONE_NEWNET) < 0
               ? berth_error_new(err, errno, "enter a network namespace")
               : 0;
}

/* Plug rec's container (init pid) into its networks (only: just that
 * one).  Runs in the holder's user namespace, in a process of its own: it
 * may be left in another network namespace. */
static int wire(struct store *s, json_t *rec, pid_t pid, const char *only,
                berth_error_t *err)
{
    json_t *o = json_object_get(rec, "options");
    const char *id = json_get_str(rec, "id");
    bool root = network_rootful();
    _cleanup_json_ json_t *holder = NULL;
    _cleanup_close_ int self = -1, hns = -1, cns = -1;
    if (ns_open(getpid(), &self, err) < 0 || ns_open(pid, &cns, err) < 0)
        return -1;
    if (!root) {
        if (ctr_lookup(s, NETNS_HOLDER, &holder, err) < 0 ||
            ns_open((pid_t)json_get_int(json_object_get(holder, "state"),
                                        "pid", 0),
                    &hns, err) < 0)
            return -1;
    }
    int r = -1;
    size_t i;
    json_t *v;
    if (!root && ns_enter(hns, err) < 0)
        return -1;
    if (write_sysctl("/proc/sys/net/ipv4/ip_forward", err) < 0)
        goto back;
    /* slirp4netns forwards published ports straight to containers'
     * addresses: tap0 answers its ARP for them */
    if (!root && write_sysctl("/proc/sys/net/ipv4/conf/tap0/proxy_arp", err) < 0)
        goto back;
    if (root && json_array_size(json_object_get(o, "ports")) > 0) {
        _cleanup_free_ char *marker = ports_marker(s, id);
        if (fs_write_file_atomic(marker, "", 0, 0600, err) < 0)
            goto back;
    }
    json_array_foreach(json_object_get(o, "networks"), i, v) {
        const char *name = json_string_value(v);
        _cleanup_json_ json_t *net = NULL;
        if (only && strcmp(only, name) != 0)
            continue;
        if (networks_lookup(s, name, &net, err) < 0)
            goto back;
        _cleanup_free_ char *hv = veth_name(id, net);
        _cleanup_free_ char *cv = xasprintf("eth%zu", i);
        const char *br = json_get_str(net, "bridge");
        berth_error_t e = NULL;
        if (nl_link_delete(hv, &e) < 0)
            berth_error_free(&e);
        _cleanup_free_ char *localnet =
            xasprintf("/proc/sys/net/ipv4/conf/%s/route_localnet", br);
        if (nl_bridge_ensure(br, err) < 0 ||
            /* DNAT of ports published on the host's loopback (root) */
            (root && write_sysctl(localnet, err) < 0) ||
            nl_addr_add(br, json_get_str(net, "gateway"),
                        prefix_of(json_get_str(net, "subnet")), err) < 0 ||
            nl_veth_create(hv, cv, cns, err) < 0 ||
            nl_link_set_master(hv, br, err) < 0 || nl_link_up(hv, err) < 0)
            goto back;
    }
    if (nft_apply(s, err) < 0)
        goto back;
    if (ns_enter(cns, err) < 0)
        goto back;
    if (nl_link_up("lo", err) < 0)
        goto back;
    json_array_foreach(json_object_get(o, "networks"), i, v) {
        const char *name = json_string_value(v);
        _cleanup_json_ json_t *net = NULL;
        if (only && strcmp(only, name) != 0)
            continue;
        _cleanup_free_ char *cv = xasprintf("eth%zu", i);
        const char *ip = json_get_str(json_object_get(o, "ips"), name);
        if (networks_lookup(s, name, &net, err) < 0 || ip == NULL ||
            nl_addr_add(cv, ip, prefix_of(json_get_str(net, "subnet")),
                        err) < 0 ||
            nl_link_up(cv, err) < 0)
            goto back;
        /* the first network is the way out */
        if (i == 0 && !json_is_true(json_object_get(net, "internal")) &&
            nl_route_add_default(cv, json_get_str(net, "gateway"), err) < 0)
            goto back;
    }
    r = 0;
back:
    /* best effort: rootless, our first namespace belongs to the initial
     * user namespace, where we have no right to enter; callers are
     * processes of their own (the monitor's hook, a userns_run child) */
    (void)!setns(self, CLONE_NEWNET);
    return r;
}

/* The monitor's hooks: `berth NAME CONTAINER --pid PID`.  Returns 1 with
 * the store, the container's record and pid; 0 for --help; -1. */
static int hook_begin(const char *name, struct cli_global *g, int argc,
                      char **argv, struct store **s, json_t **rec, int *pid,
                      berth_error_t *err)
{
    const struct cli_command self = {name, NULL, "CONTAINER --pid PID", NULL,
                                     NULL, NULL};
    const struct cli_opt opts[] = {
        {"pid", 0, CLI_INT, pid, "int", "The container's init"},
        NO_OPTS,
    };
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs(name, argc - optind, 1, 1, err) < 0 ||
        cli_store(g, s, err) < 0 || ctr_lookup(*s, argv[optind], rec, err) < 0)
        return -1;
    return 1;
}

/* `berth net-setup ID --pid PID`: the monitor's hook after each create
 * (rootless: in the holder's user namespace). */
int cmd_net_setup(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err)
{
    struct store *s = NULL;
    _cleanup_json_ json_t *rec = NULL;
    int pid = 0;
    int r = hook_begin("net-setup", g, argc, argv, &s, &rec, &pid, err);
    if (r <= 0)
        return r;
    if (pid <= 0)
        return berth_error_new(err, 0, "net-setup: --pid is required");
    return wire(s, rec, (pid_t)pid, NULL, err);
}

/* `berth net-teardown ID --pid PID`: the monitor's hook after each exit:
 * a container's published ports leave the DNAT rules (root). */
int cmd_net_teardown(struct cli_global *g, int argc, char **argv,
                     berth_error_t *err)
{
    struct store *s = NULL;
    _cleanup_json_ json_t *rec = NULL;
    int pid = 0;
    int r = hook_begin("net-teardown", g, argc, argv, &s, &rec, &pid, err);
    if (r <= 0)
        return r;
    _cleanup_free_ char *marker = ports_marker(s, json_get_str(rec, "id"));
    if (unlink(marker) < 0)
        return 0;
    return nft_apply(s, err);
}

/* ---- connect, disconnect: running containers change now ---- */

struct live {
    struct store *s;
    json_t *rec;
    const char *net;
    bool add;
};

static int live_fn(void *arg, berth_error_t *err)
{
    struct live *l = arg;
    pid_t pid = (pid_t)json_get_int(json_object_get(l->rec, "state"), "pid", 0);
    if (l->add)
        return wire(l->s, l->rec, pid, l->net, err);
    /* the host end's removal takes the pair away */
    _cleanup_json_ json_t *holder = NULL, *net = NULL;
    _cleanup_close_ int self = -1, hns = -1;
    if (networks_lookup(l->s, l->net, &net, err) < 0 ||
        ns_open(getpid(), &self, err) < 0)
        return -1;
    if (!network_rootful() &&
        (ctr_lookup(l->s, NETNS_HOLDER, &holder, err) < 0 ||
         ns_open((pid_t)json_get_int(json_object_get(holder, "state"), "pid",
                                     0),
                 &hns, err) < 0 ||
         ns_enter(hns, err) < 0))
        return -1;
    _cleanup_free_ char *hv = veth_name(json_get_str(l->rec, "id"), net);
    int r = nl_link_delete(hv, err);
    (void)!setns(self, CLONE_NEWNET); /* best effort, as in wire() */
    return r;
}

static int change_networks(json_t *rec, void *arg, berth_error_t *err)
{
    json_t *o = json_object_get(rec, "options");
    json_t *c = arg;
    (void)err;
    json_object_set(o, "networks", json_object_get(c, "networks"));
    json_object_set(o, "ips", json_object_get(c, "ips"));
    return 0;
}

static int connect_cmd(struct cli_global *g, int argc, char **argv, bool add,
                       berth_error_t *err)
{
    const struct cli_command self = {
        add ? "network connect" : "network disconnect", NULL,
        "[options] NETWORK CONTAINER",
        add ? "Add container to a network"
            : "Disconnect a container from a network",
        NULL, NULL};
    bool force = false;
    struct cli_opt opts[2] = {NO_OPTS, NO_OPTS};
    if (!add)
        opts[0] = (struct cli_opt){"force", 'f', CLI_BOOL, &force, NULL,
                                   "Force the disconnection"};
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs(self.name, argc - optind, 2, 2, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_json_ json_t *net = NULL, *rec = NULL;
    if (networks_lookup(s, argv[optind], &net, err) < 0 ||
        ctr_lookup(s, argv[optind + 1], &rec, err) < 0)
        return -1;
    const char *name = json_get_str(net, "name");
    const char *id = json_get_str(rec, "id");
    json_t *o = json_object_get(rec, "options");
    const char *mode = json_get_str(o, "network");
    bool was = on_network(rec, name);
    if (add && was)
        return berth_error_new(err, 0, "container %s is already connected to "
                               "network %s", id, name);
    if (!add && !was)
        return berth_error_new(err, 0, "container %s is not connected to "
                               "network %s", id, name);
    if (add && json_array_size(json_object_get(o, "networks")) == 0)
        return berth_error_new(err, 0, "container %s is not on a container "
                               "network (--network %s): berth connects only "
                               "containers created on networks",
                               id, mode ? mode : "");
    _cleanup_json_ json_t *c = json_pack(
        "{s:O,s:O}", "networks", json_object_get(o, "networks"), "ips",
        json_object_get(o, "ips"));
    json_t *nets = json_object_get(c, "networks");
    if (add) {
        _cleanup_free_ char *ip = NULL;
        if (networks_ip_allocate(s, name, id, &ip, err) < 0)
            return -1;
        json_array_append_new(nets, json_string(name));
        json_object_set_new(json_object_get(c, "ips"), name, json_string(ip));
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(nets, i, v) {
            if (strcmp(json_string_value(v), name) == 0) {
                json_array_remove(nets, i);
                break;
            }
        }
        json_object_del(json_object_get(c, "ips"), name);
    }
    _cleanup_json_ json_t *upd = NULL;
    if (containers_update(s, id, change_networks, c, &upd, err) < 0)
        return -1;
    const char *st = json_get_str(json_object_get(upd, "state"), "status");
    if (st && strcmp(st, "running") == 0) {
        pid_t hpid = 0;
        struct live l = {s, add ? upd : rec, name, add};
        if ((!network_rootful() && network_holder_pid(s, &hpid, err) < 0) ||
            userns_run_in(hpid, live_fn, &l, err) < 0)
            return -1;
    }
    if (!add) {
        berth_error_t e = NULL;
        if (networks_ip_release(s, name, id, &e) < 0)
            berth_error_free(&e);
    }
    network_hosts_refresh(s);
    return 0;
}

int cmd_network_connect(struct cli_global *g, int argc, char **argv,
                        berth_error_t *err)
{
    return connect_cmd(g, argc, argv, true, err);
}

int cmd_network_disconnect(struct cli_global *g, int argc, char **argv,
                           berth_error_t *err)
{
    return connect_cmd(g, argc, argv, false, err);
}

/* ---- create, ls, inspect, rm, prune ---- */

static json_t *network_doc(struct store *s, json_t *n)
{
    (void)s;
    return json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:[{s:s,s:s}],s:b,s:b,s:b,s:O,s:{s:s}}",
        "name", json_get_str(n, "name"), "id", json_get_str(n, "id"),
        "driver", "bridge", "network_interface", json_get_str(n, "bridge"),
        "created", json_get_str(n, "created"), "subnets", "subnet",
        json_get_str(n, "subnet"), "gateway", json_get_str(n, "gateway"),
        "ipv6_enabled", 0, "internal",
        json_is_true(json_object_get(n, "internal")), "dns_enabled", 0,
        "labels",
        json_object_get(n, "labels") ? json_object_get(n, "labels")
                                     : json_object(),
        "ipam_options", "driver", "host-local");
}

int cmd_network_create(struct cli_global *g, int argc, char **argv,
                       berth_error_t *err)
{
    static const struct cli_command self = {
        "network create", NULL, "[options] [NETWORK]", "Create a network",
        NULL, NULL};
    _cleanup_free_ char *subnet = NULL, *gateway = NULL, *driver = NULL;
    _cleanup_strv_ char **labels = NULL;
    bool internal = false;
    const struct cli_opt opts[] = {
        {"driver", 'd', CLI_STRING, &driver, "string",
         "Driver to manage the network (bridge)"},
        {"gateway", 0, CLI_STRING, &gateway, "ip",
         "IPv4 gateway for the subnet"},
        {"internal", 0, CLI_BOOL, &internal, NULL,
         "Restrict external access from this network"},
        {"label", 0, CLI_STRV, &labels, "stringArray",
         "Set metadata on a network"},
        {"subnet", 0, CLI_STRING, &subnet, "string",
         "Subnet in CIDR format"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("network create", argc - optind, 0, 1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (driver && strcmp(driver, "bridge") != 0)
        return berth_error_new(err, 0, "unsupported driver %s: berth has "
                               "bridge networks", driver);
    _cleanup_json_ json_t *lab = json_object(), *n = NULL;
    for (size_t i = 0; labels && labels[i]; i++) {
        const char *eq = strchr(labels[i], '=');
        _cleanup_free_ char *k =
            eq ? xstrndup(labels[i], (size_t)(eq - labels[i]))
               : xstrdup(labels[i]);
        json_object_set_new(lab, k, json_string(eq ? eq + 1 : ""));
    }
    struct network_opts o = {optind < argc ? argv[optind] : NULL, subnet,
                             gateway, internal, lab, NULL};
    if (networks_create(s, &o, &n, err) < 0)
        return -1;
    printf("%s\n", json_get_str(n, "name"));
    return 0;
}

int cmd_network_ls(struct cli_global *g, int argc, char **argv,
                   berth_error_t *err)
{
    static const struct cli_command self = {
        "network ls", "list", "[options]", "List networks", NULL, NULL};
    _cleanup_free_ char *format = NULL;
    _cleanup_strv_ char **filters = NULL;
    bool quiet = false, noheading = false, no_trunc = false;
    const struct cli_opt opts[] = {
        {"filter", 'f', CLI_STRV, &filters, "strings",
         "Provide filter values (name=, driver=, label=)"},
        {"format", 0, CLI_STRING, &format, "string",
         "Pretty-print networks to JSON or using a Go template"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL,
         "Do not truncate the network ID"},
        {"noheading", 'n', CLI_BOOL, &noheading, NULL, "Do not print headers"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "Display only names"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("network ls", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_json_ json_t *list = NULL, *rows = json_array();
    if (networks_list(s, &list, err) < 0)
        return -1;
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n) {
        bool keep = true;
        for (size_t k = 0; filters && filters[k] && keep; k++) {
            const char *f = filters[k];
            if (str_has_prefix(f, "name="))
                keep = strstr(json_get_str(n, "name"), f + 5) != NULL;
            else if (str_has_prefix(f, "driver="))
                keep = strcmp(f + 7, "bridge") == 0;
            else if (str_has_prefix(f, "label=")) {
                const char *kv = f + 6, *eq = strchr(kv, '=');
                _cleanup_free_ char *key =
                    eq ? xstrndup(kv, (size_t)(eq - kv)) : xstrdup(kv);
                const char *have =
                    json_get_str(json_object_get(n, "labels"), key);
                keep = have && (!eq || strcmp(have, eq + 1) == 0);
            } else
                return berth_error_new(err, 0, "invalid filter \"%s\"", f);
        }
        if (!keep)
            continue;
        json_t *d = network_doc(s, n);
        const char *id = json_get_str(n, "id");
        json_object_set_new(d, "ID", json_stringn(id, no_trunc ? strlen(id)
                                                               : 12));
        json_object_set_new(d, "Name", json_string(json_get_str(n, "name")));
        json_object_set_new(d, "Driver", json_string("bridge"));
        json_array_append_new(rows, d);
    }
    static const char *const headers[] = {"ID", "NETWORK ID", NULL};
    return format_print_list(quiet ? "{{.Name}}" : format,
                             "table {{.ID}}\t{{.Name}}\t{{.Driver}}", headers,
                             rows, noheading, stdout, err);
}

static json_t *network_inspect_doc(struct store *s, const char *name,
                                   berth_error_t *err)
{
    _cleanup_json_ json_t *n = NULL;
    if (networks_lookup(s, name, &n, err) < 0)
        return NULL;
    return network_doc(s, n);
}

int cmd_network_inspect(struct cli_global *g, int argc, char **argv,
                        berth_error_t *err)
{
    return inspect_each("network inspect", "[options] NETWORK [NETWORK...]",
                        "Displays the network configuration for one or more "
                        "networks",
                        "Pretty-print network to JSON or using a Go template",
                        network_inspect_doc, g, argc, argv, err);
}

/* the containers on a network (ids) */
static char **users_of(struct store *s, const char *net)
{
    _cleanup_json_ json_t *all = NULL;
    char **v = xcalloc(1, sizeof(char *));
    berth_error_t e = NULL;
    if (containers_list(s, &all, &e) < 0) {
        berth_error_free(&e);
        return v;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) {
        if (on_network(rec, net))
            strv_append(&v, json_get_str(rec, "id"));
    }
    return v;
}

static int network_rm_one(struct store *s, const char *name, bool force,
                          berth_error_t *err)
{
    _cleanup_json_ json_t *n = NULL;
    if (networks_lookup(s, name, &n, err) < 0)
        return -1;
    const char *nm = json_get_str(n, "name");
    _cleanup_strv_ char **users = users_of(s, nm);
    if (users[0] && !force) {
        berth_error_new(err, 0, "\"%s\" has associated containers with it. "
                        "Use -f to forcibly delete containers and pods: "
                        "network is being used", nm);
        berth_error_set_exit(err, 2);
        return -1;
    }
    for (size_t i = 0; users[i]; i++) {
        berth_error_t e = NULL;
        _cleanup_json_ json_t *rec = NULL;
        if (ctr_lookup(s, users[i], &rec, &e) == 0 &&
            ctr_remove(s, users[i], true, &e) == 0)
            network_detach_all(s, rec);
        berth_error_free(&e);
    }
    return network_delete_all(s, nm, err);
}

int cmd_network_rm(struct cli_global *g, int argc, char **argv,
                   berth_error_t *err)
{
    static const struct cli_command self = {
        "network rm", "remove", "[options] NETWORK [NETWORK...]",
        "Remove networks", NULL, NULL};
    bool force = false;
    const struct cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Remove any containers using the network"},
        NO_OPTS,
    };
    struct store *s = NULL;
    int optind = 0;
    int r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("network rm", argc - optind, 1, -1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    struct multi m = {0};
    for (int k = optind; k < argc; k++) {
        berth_error_t e = NULL;
        if (network_rm_one(s, argv[k], force, &e) < 0)
            multi_fail(&m, &e);
        else
            printf("%s\n", argv[k]);
    }
    return multi_done(&m, err);
}

int cmd_network_prune(struct cli_global *g, int argc, char **argv,
                      berth_error_t *err)
{
    struct store *s = NULL;
    int r = prune_begin("network prune", "Prune unused networks",
                        "WARNING! This will remove all networks not used by "
                        "at least one container.",
                        g, argc, argv, &s, err);
    if (r <= 0)
        return r;
    _cleanup_json_ json_t *list = NULL;
    if (networks_list(s, &list, err) < 0)
        return -1;
    struct multi m = {0};
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n) {
        _cleanup_strv_ char **users = users_of(s, json_get_str(n, "name"));
        berth_error_t e = NULL;
        if (users[0])
            continue;
        if (network_delete_all(s, json_get_str(n, "name"), &e) < 0)
            multi_fail(&m, &e);
        else
            printf("%s\n", json_get_str(n, "name"));
    }
    return multi_done(&m, err);
}
