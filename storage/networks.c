#define _GNU_SOURCE
#include "storage/networks.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/records.h"

/* Why this is safe without a database:
 * - create and delete hold the store lock "networks" exclusively: the
 *   lowest free default name and subnet, and the overlap check, are reads
 *   followed by a write that two creates must not interleave.  The record
 *   still appears by link(2) of a complete temp file, which fails when the
 *   name exists: a record is never overwritten nor seen half written;
 * - allocate and release hold the same lock shared, so they run in
 *   parallel with each other: an address is claimed by open(O_EXCL) of its
 *   file, which exactly one process wins.  The shared lock keeps them off
 *   a network being deleted, which they would otherwise leave a NAME.ips
 *   that a later network of the same name inherits.  One container's
 *   allocations are serialized by its caller (the container's lock);
 * - delete removes NAME.ips before NAME.json: a crash in between leaves a
 *   network without addresses, never addresses without their network
 *   (create clears a leftover NAME.ips anyway). */

#define NETWORKS_LOCK "locks/networks.lock"
#define DEFAULT_NAME_PREFIX "berth"
/* NAME.json must fit in a file name */
#define NAME_LEN_MAX (NAME_MAX - 5)
/* longest container id an address file holds */
#define HOLDER_MAX 255

struct subnet {
    uint32_t net; /* host byte order */
    int prefix;
};

/* berth_error_new with errnum kept but not appended to the message (the
 * message is podman's own); err may be NULL for a silent check. */
__attribute__((format(printf, 3, 4))) static int
fail(berth_error_t *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    if (err == NULL)
        return -1;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    berth_error_new(err, 0, "%s", msg);
    free(msg);
    (*err)->errnum = errnum;
    return -1;
}

static int not_found(const char *what, berth_error_t *err)
{
    return fail(err, ENOENT,
                "unable to find network with name or ID %s: network not found",
                what);
}

static char *record_path(struct store *s, const char *name)
{
    return store_path(s, "networks/%s.json", name);
}

static char *ips_path(struct store *s, const char *name)
{
    return store_path(s, "networks/%s.ips", name);
}

static int lock_networks(struct store *s, bool shared, int *ret_fd,
                         berth_error_t *err)
{
    _cleanup_free_ char *p = store_path(s, NETWORKS_LOCK);
    return fs_lock(p, shared, ret_fd, err);
}

static bool name_ok(const char *name)
{
    return strlen(name) <= NAME_LEN_MAX && record_name_valid(name);
}

static int check_name(const char *name, berth_error_t *err)
{
    if (strlen(name) > NAME_LEN_MAX)
        return fail(err, EINVAL,
                    "invalid network name \"%s\": at most %d characters", name,
                    NAME_LEN_MAX);
    if (!record_name_valid(name))
        return fail(err, EINVAL,
                    "invalid network name \"%s\": names must match "
                    "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
                    name);
    return 0;
}

/* --- IPv4 arithmetic --- */

static bool ip_parse(const char *s, uint32_t *ret)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return false;
    *ret = ntohl(a.s_addr);
    return true;
}

static void ip_format(uint32_t ip, char buf[INET_ADDRSTRLEN])
{
    struct in_addr a = {.s_addr = htonl(ip)};
    inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN);
}

static uint32_t subnet_mask(int prefix)
{
    return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

static uint32_t subnet_broadcast(const struct subnet *sn)
{
    return sn->net | ~subnet_mask(sn->prefix);
}

/* "A.B.C.D/P"; buf holds at least 19 bytes */
static void subnet_format(const struct subnet *sn, char buf[32])
{
    char a[INET_ADDRSTRLEN];
    ip_format(sn->net, a);
    snprintf(buf, 32, "%s/%d", a, sn->prefix);
}

static bool subnets_overlap(const struct subnet *a, const struct subnet *b)
{
    uint32_t m = subnet_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
    return (a->net & m) == (b->net & m);
}

/* A host address: inside, neither the network nor the broadcast address. */
static bool subnet_has_host(const struct subnet *sn, uint32_t ip)
{
    return (ip & subnet_mask(sn->prefix)) == sn->net && ip != sn->net &&
           ip != subnet_broadcast(sn);
}

/* Strict: the canonical text only (glibc's inet_pton refuses leading
 * zeros in the address; we refuse them in the length), so a subnet is
 * written back as it was given. */
static int subnet_parse(const char *s, struct subnet *ret, berth_error_t *err)
{
    const char *slash = strchr(s, '/');
    const char *len = slash ? slash + 1 : "";
    size_t alen = slash ? (size_t)(slash - s) : 0, llen = strlen(len);
    char addr[INET_ADDRSTRLEN];
    uint32_t ip;

    if (strchr(s, ':'))
        return fail(err, EINVAL,
                    "invalid subnet \"%s\": only IPv4 is supported", s);
    if (alen == 0 || alen >= sizeof addr || llen == 0 || llen > 2 ||
        strspn(len, "0123456789") != llen || (llen == 2 && len[0] == '0'))
        return fail(err, EINVAL,
                    "invalid subnet \"%s\": not an IPv4 CIDR such as "
                    "10.89.1.0/24",
                    s);
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (!ip_parse(addr, &ip))
        return fail(err, EINVAL,
                    "invalid subnet \"%s\": not an IPv4 CIDR such as "
                    "10.89.1.0/24",
                    s);
    int prefix = atoi(len);
    if (prefix < 8 || prefix > 30)
        return fail(err, EINVAL,
                    "invalid subnet \"%s\": prefix length must be 8 to 30", s);
    struct subnet sn = {.net = ip & subnet_mask(prefix), .prefix = prefix};
    if (sn.net != ip) {
        char want[32];
        subnet_format(&sn, want);
        return fail(err, EINVAL,
                    "invalid subnet \"%s\": host bits must be zero (did you "
                    "mean %s?)",
                    s, want);
    }
    *ret = sn;
    return 0;
}

/* A record's subnet and gateway, as create wrote them. */
static int record_ipam(json_t *rec, struct subnet *ret_sn, uint32_t *ret_gw,
                       berth_error_t *err)
{
    const char *sub = json_get_str(rec, "subnet");
    const char *gw = json_get_str(rec, "gateway");
    const char *name = json_get_str(rec, "name");
    if (sub == NULL || gw == NULL || subnet_parse(sub, ret_sn, NULL) < 0 ||
        !ip_parse(gw, ret_gw))
        return berth_error_new(err, 0,
                               "network %s: the record has no valid subnet "
                               "and gateway",
                               name ? name : "?");
    return 0;
}

/* --- records --- */

/* A record that parses but is not NAME's (edited by hand) counts as torn:
 * list skips it. */
static int network_get(struct store *s, const char *name, json_t **ret,
                       berth_error_t *err)
{
    if (!name_ok(name))
        return not_found(name, err);
    _cleanup_free_ char *path = record_path(s, name);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *j = json_load_path(path, &e);
    if (j == NULL && e->errnum == ENOENT) {
        berth_error_free(&e);
        return not_found(name, err);
    }
    if (j == NULL) {
        *err = e;
        return -1;
    }
    const char *rname = json_get_str(j, "name");
    if (rname == NULL || strcmp(rname, name) != 0)
        return berth_error_new(err, 0, "%s: not the record of network %s", path,
                               name);
    *ret = TAKE_PTR(j);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    return strcmp(json_get_str(*x, "name"), json_get_str(*y, "name"));
}

int networks_list(struct store *s, json_t **ret, berth_error_t *err)
{
    _cleanup_free_ char *top = store_path(s, "networks");
    _cleanup_closedir_ DIR *d = opendir(top);
    json_t **v = NULL;
    size_t n = 0;
    struct dirent *de;

    if (d == NULL && errno != ENOENT)
        return berth_error_new(err, errno, "open %s", top);
    while (d && (de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        berth_error_t e = NULL;
        json_t *j = NULL;
        if (len <= 5 || !str_has_suffix(de->d_name, ".json"))
            continue;
        _cleanup_free_ char *name = xstrndup(de->d_name, len - 5);
        if (network_get(s, name, &j, &e) < 0) {
            berth_error_free(&e);
            continue;
        }
        v = xrealloc(v, (n + 1) * sizeof(*v));
        v[n++] = j;
    }
    if (n)
        qsort(v, n, sizeof(*v), cmp_name);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    *ret = arr;
    return 0;
}

/* podman's order: the name, then a full or unique partial id. */
int networks_lookup(struct store *s, const char *name_or_id, json_t **ret,
                    berth_error_t *err)
{
    berth_error_t e = NULL;
    if (network_get(s, name_or_id, ret, &e) == 0)
        return 0;
    if (e->errnum != ENOENT) {
        *err = e;
        return -1;
    }
    berth_error_free(&e);
    if (!record_id_valid(name_or_id, 1))
        return not_found(name_or_id, err);

    _cleanup_json_ json_t *all = NULL;
    json_t *found = NULL, *rec;
    size_t i;
    if (networks_list(s, &all, err) < 0)
        return -1;
    json_array_foreach(all, i, rec)
    {
        const char *id = json_get_str(rec, "id");
        if (id == NULL || !str_has_prefix(id, name_or_id))
            continue;
        if (found)
            return fail(err, 0, "more than one result for network ID %s",
                        name_or_id);
        found = rec;
    }
    if (found == NULL)
        return not_found(name_or_id, err);
    *ret = json_incref(found);
    return 0;
}

/* --- create --- */

static bool overlaps_any(json_t *all, const struct subnet *sn)
{
    json_t *rec;
    size_t i;
    json_array_foreach(all, i, rec)
    {
        struct subnet o;
        const char *sub = json_get_str(rec, "subnet");
        if (sub && subnet_parse(sub, &o, NULL) == 0 && subnets_overlap(&o, sn))
            return true;
    }
    return false;
}

static int pick_subnet(json_t *all, struct subnet *ret, berth_error_t *err)
{
    for (uint32_t n = 1; n <= 255; n++) {
        struct subnet c = {.net = (10u << 24) | (89u << 16) | (n << 8),
                           .prefix = 24};
        if (!overlaps_any(all, &c)) {
            *ret = c;
            return 0;
        }
    }
    return fail(err, ENOSPC, "could not find free subnet from subnet pools");
}

/* The lowest berthN whose record file does not exist, torn ones included
 * (their name is taken: link(2) would fail). */
static int pick_name(struct store *s, char **ret, berth_error_t *err)
{
    for (unsigned n = 1; n < 1000000; n++) {
        _cleanup_free_ char *name = xasprintf(DEFAULT_NAME_PREFIX "%u", n);
        _cleanup_free_ char *path = record_path(s, name);
        if (!fs_exists(path)) {
            *ret = TAKE_PTR(name);
            return 0;
        }
    }
    return berth_error_new(err, 0, "cannot find a free network name");
}

static bool id_used(json_t *all, const char *id)
{
    json_t *rec;
    size_t i;
    json_array_foreach(all, i, rec)
    {
        const char *x = json_get_str(rec, "id");
        if (x && strcmp(x, id) == 0)
            return true;
    }
    return false;
}

static json_t *new_record(json_t *all, const char *name,
                          const struct subnet *sn, uint32_t gw,
                          const struct network_opts *o)
{
    char id[65], sub[32], gws[INET_ADDRSTRLEN], bridge[16];
    do
        record_id_new(id);
    while (id_used(all, id));
    subnet_format(sn, sub);
    ip_format(gw, gws);
    /* "bn-" + 8 hex: within the kernel's IFNAMSIZ - 1 = 15 */
    if (o->bridge && strlen(o->bridge) < sizeof bridge)
        snprintf(bridge, sizeof bridge, "%s", o->bridge);
    else
        snprintf(bridge, sizeof bridge, "bn-%.8s", id);
    _cleanup_free_ char *now = time_rfc3339_now();
    json_t *labels =
        json_is_object(o->labels) ? json_deep_copy(o->labels) : json_object();
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:o,s:s}", "name", name,
                     "id", id, "driver", "bridge", "created", now, "subnet",
                     sub, "gateway", gws, "internal", (int)o->internal,
                     "labels", labels, "bridge", bridge);
}

/* Write rec to path, which must not exist: a complete temp file is
 * linked in, so readers never see it half written, and link(2) fails with
 * EEXIST (as open(O_EXCL)) when the name is taken. */
static int write_new(struct store *s, const char *path, json_t *rec,
                     berth_error_t *err)
{
    struct store_tmp tmp = {.path = NULL, .lock_fd = -1};
    int r = -1;
    if (store_tmp_new(s, &tmp, err) < 0)
        return -1;
    /* straight into the locked entry: a temp file beside it would be
     * debris to another command's cleaner, which may remove it under us */
    _cleanup_free_ char *text = json_dumps(rec, JSON_INDENT(2));
    int fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 || text == NULL ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
        fsync(fd) < 0)
        berth_error_new(err, errno, "write %s", tmp.path);
    else if (link(tmp.path, path) == 0)
        r = 0;
    else
        berth_error_new(err, errno, "create %s", path);
    if (fd >= 0)
        close(fd);
    store_tmp_done(s, &tmp);
    return r;
}

static int name_taken(const char *name, berth_error_t *err)
{
    return fail(err, EEXIST,
                "network name %s already used: network already exists", name);
}

/* The subnet and gateway asked for, checked on their own. */
static int opts_ipam(const struct network_opts *o, struct subnet *ret_sn,
                     uint32_t *ret_gw, berth_error_t *err)
{
    if (o->subnet && subnet_parse(o->subnet, ret_sn, err) < 0)
        return -1;
    if (o->gateway == NULL)
        return 0;
    /* podman's CLI refuses this too: the default subnet is unknown yet */
    if (o->subnet == NULL)
        return fail(err, EINVAL, "cannot set gateway or range without subnet");
    if (!ip_parse(o->gateway, ret_gw))
        return fail(err, EINVAL, "invalid gateway \"%s\": not an IPv4 address",
                    o->gateway);
    if (!subnet_has_host(ret_sn, *ret_gw))
        return fail(err, EINVAL, "gateway %s is not in subnet %s", o->gateway,
                    o->subnet);
    return 0;
}

/* Under the exclusive lock: name, subnet, then the record. */
static int create_locked(struct store *s, const struct network_opts *o,
                         struct subnet *sn, uint32_t gw, json_t **ret,
                         berth_error_t *err)
{
    _cleanup_json_ json_t *all = NULL, *rec = NULL;
    _cleanup_free_ char *name = NULL, *path = NULL, *ips = NULL;

    if (networks_list(s, &all, err) < 0)
        return -1;
    if (o->name)
        name = xstrdup(o->name);
    else if (pick_name(s, &name, err) < 0)
        return -1;
    path = record_path(s, name);
    if (fs_exists(path))
        return name_taken(name, err);
    if (o->subnet && overlaps_any(all, sn))
        return fail(err, EADDRINUSE,
                    "subnet %s is already used on the host or by another "
                    "config",
                    o->subnet);
    if (o->subnet == NULL && pick_subnet(all, sn, err) < 0)
        return -1;
    if (o->gateway == NULL)
        gw = sn->net + 1;
    rec = new_record(all, name, sn, gw, o);
    /* addresses of a network of this name that a crash left behind */
    ips = ips_path(s, name);
    if (fs_rm_rf(ips, err) < 0)
        return -1;
    berth_error_t e = NULL;
    if (write_new(s, path, rec, &e) < 0) {
        if (e->errnum != EEXIST) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
        return name_taken(name, err);
    }
    *ret = TAKE_PTR(rec);
    return 0;
}

int networks_create(struct store *s, const struct network_opts *o, json_t **ret,
                    berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_free_ char *top = store_path(s, "networks");
    struct subnet sn = {0, 0};
    uint32_t gw = 0;

    if (o->name && check_name(o->name, err) < 0)
        return -1;
    if (opts_ipam(o, &sn, &gw, err) < 0)
        return -1;
    if (fs_mkdir_p(top, 0700, err) < 0 ||
        lock_networks(s, false, &lock, err) < 0)
        return -1;
    return create_locked(s, o, &sn, gw, ret, err);
}

int networks_delete(struct store *s, const char *name, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_json_ json_t *rec = NULL;

    if (lock_networks(s, false, &lock, err) < 0 ||
        networks_lookup(s, name, &rec, err) < 0)
        return -1;
    const char *n = json_get_str(rec, "name");
    _cleanup_free_ char *ips = ips_path(s, n);
    _cleanup_free_ char *path = record_path(s, n);
    _cleanup_free_ char *top = store_path(s, "networks");
    if (fs_rm_rf(ips, err) < 0)
        return berth_error_prefix(err, "remove network %s", n);
    if (unlink(path) < 0)
        return berth_error_new(err, errno, "remove network %s: unlink %s", n,
                               path);
    fs_fsync_dir(top);
    return 0;
}

/* --- addresses --- */

static int check_holder(const char *container_id, berth_error_t *err)
{
    if (container_id == NULL || *container_id == '\0' ||
        strlen(container_id) > HOLDER_MAX || strchr(container_id, '\n'))
        return fail(err, EINVAL, "invalid container id \"%s\"",
                    container_id ? container_id : "");
    return 0;
}

/* Whether the address file `entry` holds container_id. */
static bool held_by(int dfd, const char *entry, const char *container_id)
{
    _cleanup_close_ int fd =
        openat(dfd, entry, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char buf[HOLDER_MAX + 2];
    size_t n = 0;
    ssize_t r;
    if (fd < 0)
        return false;
    while (n < sizeof buf - 1 &&
           ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0 ||
            (r < 0 && errno == EINTR)))
        n += r > 0 ? (size_t)r : 0;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    buf[n] = '\0';
    return strcmp(buf, container_id) == 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The subnet's addresses in use, sorted, and the lowest one container_id
 * holds (0: none; 0.0.0.0 is never a host address of an allowed subnet). */
struct ips_scan {
    uint32_t *used;
    size_t n;
    uint32_t mine;
};

static void ips_scan(DIR *d, const struct subnet *sn, const char *container_id,
                     struct ips_scan *ret)
{
    struct dirent *de;
    uint32_t ip;
    memset(ret, 0, sizeof *ret);
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        if (!ip_parse(de->d_name, &ip) || !subnet_has_host(sn, ip))
            continue;
        ret->used = xrealloc(ret->used, (ret->n + 1) * sizeof(*ret->used));
        ret->used[ret->n++] = ip;
        if ((ret->mine == 0 || ip < ret->mine) &&
            held_by(dirfd(d), de->d_name, container_id))
            ret->mine = ip;
    }
    if (ret->n)
        qsort(ret->used, ret->n, sizeof(*ret->used), cmp_u32);
}

/* 0: claimed, 1: someone else holds it. */
static int ip_claim(int dfd, uint32_t ip, const char *container_id,
                    berth_error_t *err)
{
    char a[INET_ADDRSTRLEN];
    ip_format(ip, a);
    _cleanup_close_ int fd =
        openat(dfd, a, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST)
        return 1;
    if (fd < 0)
        return berth_error_new(err, errno, "claim address %s", a);
    size_t len = strlen(container_id), done = 0;
    while (done < len) {
        ssize_t r = write(fd, container_id + done, len - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            unlinkat(dfd, a, 0);
            return berth_error_new(err, e, "claim address %s", a);
        }
        done += (size_t)r;
    }
    return 0;
}

/* The lowest free host address but the gateway; ret 0 when full. */
static int ip_claim_lowest(DIR *d, const struct subnet *sn, uint32_t gw,
                           const struct ips_scan *sc, const char *container_id,
                           uint32_t *ret, berth_error_t *err)
{
    uint32_t last = subnet_broadcast(sn);
    size_t k = 0;
    for (uint32_t ip = sn->net + 1; ip < last; ip++) {
        while (k < sc->n && sc->used[k] < ip)
            k++;
        if (ip == gw || (k < sc->n && sc->used[k] == ip))
            continue;
        int r = ip_claim(dirfd(d), ip, container_id, err);
        if (r < 0)
            return -1;
        if (r == 0) {
            *ret = ip;
            return 0;
        }
    }
    *ret = 0;
    return 0;
}

/* The network's record and its NAME.ips directory, opened. */
static int open_ips(struct store *s, const char *network, bool create,
                    struct subnet *ret_sn, uint32_t *ret_gw, DIR **ret_dir,
                    berth_error_t *err)
{
    _cleanup_json_ json_t *rec = NULL;
    if (networks_lookup(s, network, &rec, err) < 0 ||
        record_ipam(rec, ret_sn, ret_gw, err) < 0)
        return -1;
    _cleanup_free_ char *ips = ips_path(s, json_get_str(rec, "name"));
    if (create && fs_mkdir_p(ips, 0700, err) < 0)
        return -1;
    DIR *d = opendir(ips);
    if (d == NULL && errno != ENOENT)
        return berth_error_new(err, errno, "open %s", ips);
    *ret_dir = d;
    return 0;
}

int networks_ip_allocate(struct store *s, const char *network,
                         const char *container_id, char **ret_ip,
                         berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_closedir_ DIR *d = NULL;
    struct subnet sn;
    struct ips_scan sc;
    uint32_t gw, ip;
    char a[INET_ADDRSTRLEN];

    if (check_holder(container_id, err) < 0 ||
        lock_networks(s, true, &lock, err) < 0 ||
        open_ips(s, network, true, &sn, &gw, &d, err) < 0)
        return -1;
    if (d == NULL)
        return berth_error_new(err, ENOENT, "network %s: open addresses",
                               network);
    ips_scan(d, &sn, container_id, &sc);
    _cleanup_free_ uint32_t *used = sc.used;
    if (sc.mine != 0) {
        ip = sc.mine;
    } else {
        if (ip_claim_lowest(d, &sn, gw, &sc, container_id, &ip, err) < 0)
            return -1;
        if (ip == 0) {
            char sub[32];
            subnet_format(&sn, sub);
            return fail(err, ENOSPC,
                        "IPAM error: failed to find free IP in range: %s", sub);
        }
    }
    ip_format(ip, a);
    *ret_ip = xstrdup(a);
    return 0;
}

char *networks_ip_of(struct store *s, const char *network,
                     const char *container_id)
{
    _cleanup_closedir_ DIR *d = NULL;
    struct subnet sn;
    struct ips_scan sc;
    uint32_t gw;
    char a[INET_ADDRSTRLEN];
    berth_error_t e = NULL;

    if (check_holder(container_id, NULL) < 0 ||
        open_ips(s, network, false, &sn, &gw, &d, &e) < 0) {
        berth_error_free(&e);
        return NULL;
    }
    if (d == NULL)
        return NULL;
    ips_scan(d, &sn, container_id, &sc);
    free(sc.used);
    if (sc.mine == 0)
        return NULL;
    ip_format(sc.mine, a);
    return xstrdup(a);
}

int networks_ip_release(struct store *s, const char *network,
                        const char *container_id, berth_error_t *err)
{
    _cleanup_close_ int lock = -1;
    _cleanup_closedir_ DIR *d = NULL;
    struct subnet sn;
    struct dirent *de;
    uint32_t gw, ip;
    berth_error_t e = NULL;

    if (check_holder(container_id, err) < 0 ||
        lock_networks(s, true, &lock, err) < 0)
        return -1;
    if (open_ips(s, network, false, &sn, &gw, &d, &e) < 0) {
        /* a network that is gone holds nothing */
        if (e->errnum != ENOENT) {
            *err = e;
            return -1;
        }
        berth_error_free(&e);
        return 0;
    }
    while (d && (de = readdir(d)) != NULL) {
        if (!ip_parse(de->d_name, &ip) ||
            !held_by(dirfd(d), de->d_name, container_id))
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
            return berth_error_new(err, errno, "release address %s on %s",
                                   de->d_name, network);
    }
    return 0;
}
