#define _GNU_SOURCE
#include "netns/ports.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* --- parsing -p --- */

/* The pieces of one -p value, pointing into a scratch copy. */
struct port_spec {
    const char *ip;    /* NULL: not given */
    const char *host;  /* NULL: not given; "": choose */
    const char *ctr;
    const char *proto; /* NULL: tcp */
};

/* A port number, digits only: strtol would take " 80", "+80" and "0x50". */
static int port_number(const char *s, long *ret, berth_error_t *err)
{
    size_t len = strlen(s);
    if (len == 0 || strspn(s, "0123456789") != len)
        return berth_error_new(err, 0, "\"%s\" is not a port number", s);
    /* anything longer than 6 digits is out of range and might overflow */
    long v = len > 6 ? 1000000 : strtol(s, NULL, 10);
    *ret = v;
    return 0;
}

static int port_in_range(long v, berth_error_t *err)
{
    if (v < 1 || v > 65535)
        return berth_error_new(err, 0,
                               "port numbers must be between 1 and 65535 "
                               "(inclusive), got %ld",
                               v);
    return 0;
}

/* "80" or "80-81": first port and how many. */
static int port_range(const char *s, int *ret_start, int *ret_len,
                      berth_error_t *err)
{
    const char *dash = strchr(s, '-');
    long a, b;
    if (dash == s)
        return berth_error_new(err, 0, "port numbers cannot be negative");
    if (dash == NULL) {
        if (port_number(s, &a, err) < 0 || port_in_range(a, err) < 0)
            return -1;
        *ret_start = (int)a;
        *ret_len = 1;
        return 0;
    }
    if (strchr(dash + 1, '-'))
        return berth_error_new(err, 0, "port ranges are formatted as "
                                       "startPort-stopPort");
    if (dash[1] == '\0')
        return berth_error_new(err, 0, "must provide ending number for port "
                                       "range");
    _cleanup_free_ char *first = xstrndup(s, (size_t)(dash - s));
    if (port_number(first, &a, err) < 0 || port_in_range(a, err) < 0 ||
        port_number(dash + 1, &b, err) < 0 || port_in_range(b, err) < 0)
        return -1;
    if (b <= a)
        return berth_error_new(err, 0,
                               "the end port of a range must be higher than "
                               "the start port - %ld is not higher than %ld",
                               b, a);
    *ret_start = (int)a;
    *ret_len = (int)(b - a + 1);
    return 0;
}

/* Split "[IP]:HOST:CTR" / "IP:HOST:CTR" / "HOST:CTR" / "CTR" and "/PROTO"
 * in place, with podman's rules (pkg/specgenutil CreatePortBindings). */
static int spec_split(char *s, struct port_spec *p, berth_error_t *err)
{
    char *slash = strchr(s, '/');
    if (slash) {
        if (strchr(slash + 1, '/'))
            return berth_error_new(err, 0, "protocol can only be specified "
                                           "once");
        *slash = '\0';
        p->proto = slash + 1;
    }
    char *rb = strchr(s, ']');
    if (rb) {
        if (s[0] != '[' || strchr(rb + 1, ']'))
            return berth_error_new(err, 0, "IPv6 addresses must be enclosed "
                                           "by []");
        if (rb[1] != ':')
            return berth_error_new(err, 0, "IPv6 address must be followed "
                                           "by a colon (':')");
        *rb = '\0';
        p->ip = s + 1;
        char *rest = rb + 2, *colon = strchr(rest, ':');
        if (colon == NULL || strchr(colon + 1, ':'))
            return berth_error_new(err, 0, "with an IPv6 address the format "
                                           "is [IP]:HOSTPORT:CTRPORT");
        *colon = '\0';
        p->host = rest;
        p->ctr = colon + 1;
        return 0;
    }
    char *c1 = strchr(s, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (c2 && strchr(c2 + 1, ':'))
        return berth_error_new(err, 0, "format is [[IP:][HOSTPORT]:]CTRPORT"
                                       "[/PROTO] (IPv6 addresses go in "
                                       "brackets: [::1]:8080:80)");
    if (c2) {
        *c1 = *c2 = '\0';
        p->ip = s;
        p->host = c1 + 1;
        p->ctr = c2 + 1;
    } else if (c1) {
        *c1 = '\0';
        p->host = s;
        p->ctr = c1 + 1;
    } else {
        p->ctr = s;
    }
    return 0;
}

/* Canonical text of a host IP; "" for 0.0.0.0 as podman keeps it. */
static int host_ip_canon(const char *ip, char ret[64], berth_error_t *err)
{
    unsigned char buf[sizeof(struct in6_addr)];
    int af = strchr(ip, ':') ? AF_INET6 : AF_INET;
    if (ip[0] == '\0')
        return berth_error_new(err, 0, "must provide a non-empty host IP to "
                                       "publish");
    if (inet_pton(af, ip, buf) != 1)
        return berth_error_new(err, 0, "cannot parse \"%s\" as an IP address",
                               ip);
    if (strcmp(ip, "0.0.0.0") == 0) {
        ret[0] = '\0';
        return 0;
    }
    if (inet_ntop(af, buf, ret, 64) == NULL)
        return berth_error_new(err, errno, "format IP address %s", ip);
    return 0;
}

static int proto_canon(const char *proto, char ret[4], berth_error_t *err)
{
    if (proto == NULL) {
        strcpy(ret, "tcp");
        return 0;
    }
    if (proto[0] == '\0')
        return berth_error_new(err, 0, "must provide a non-empty protocol to "
                                       "publish");
    /* podman also knows sctp; our forwarders (slirp4netns, the rootless
     * port helper) carry only tcp and udp. */
    if (strcasecmp(proto, "tcp") != 0 && strcasecmp(proto, "udp") != 0)
        return berth_error_new(err, 0, "unknown protocol \"%s\": only tcp "
                                       "and udp are supported",
                               proto);
    for (int i = 0; i < 3; i++)
        ret[i] = (char)tolower((unsigned char)proto[i]);
    ret[3] = '\0';
    return 0;
}

static int spec_parse(const char *spec, struct port_map **maps, size_t *n,
                      berth_error_t *err)
{
    _cleanup_free_ char *s = xstrdup(spec);
    struct port_spec p = {0};
    struct port_map tmpl = {0};
    int ctr, ctr_len, host = 0, host_len;
    if (spec_split(s, &p, err) < 0 || proto_canon(p.proto, tmpl.protocol,
                                                  err) < 0)
        return -1;
    if (p.ip && host_ip_canon(p.ip, tmpl.host_ip, err) < 0)
        return -1;
    if (p.ctr[0] == '\0')
        return berth_error_new(err, 0, "must provide a non-empty container "
                                       "port to publish");
    if (port_range(p.ctr, &ctr, &ctr_len, err) < 0)
        return berth_error_prefix(err, "container port");
    host_len = ctr_len;
    /* "" and "0": the engine chooses (podman takes "", docker also "0") */
    if (p.host && p.host[0] && strcmp(p.host, "0") != 0) {
        if (port_range(p.host, &host, &host_len, err) < 0)
            return berth_error_prefix(err, "host port");
        if (host_len != ctr_len)
            return berth_error_new(err, 0,
                                   "host and container port ranges have "
                                   "different lengths: %d vs %d",
                                   host_len, ctr_len);
    }
    *maps = xrealloc(*maps, (*n + (size_t)ctr_len) * sizeof(**maps));
    for (int i = 0; i < ctr_len; i++) {
        struct port_map *m = &(*maps)[(*n)++];
        *m = tmpl;
        m->container_port = ctr + i;
        m->host_port = host ? host + i : 0;
    }
    return 0;
}

int ports_parse(const char *spec, struct port_map **maps, size_t *n,
                berth_error_t *err)
{
    if (spec_parse(spec, maps, n, err) < 0)
        return berth_error_prefix(err, "invalid port \"%s\"", spec);
    return 0;
}

static int exposed_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    long px = strtol(x, NULL, 10), py = strtol(y, NULL, 10);
    if (px != py)
        return px < py ? -1 : 1;
    return strcmp(x, y);
}

static bool already_published(const struct port_map *maps, size_t n,
                              const struct port_map *m)
{
    for (size_t i = 0; i < n; i++)
        if (maps[i].container_port == m->container_port &&
            strcmp(maps[i].protocol, m->protocol) == 0)
            return true;
    return false;
}

int ports_from_exposed(json_t *image_config, struct port_map **maps,
                       size_t *n, berth_error_t *err)
{
    json_t *cfg = json_object_get(image_config, "config");
    json_t *exposed = json_object_get(cfg ? cfg : image_config,
                                      "ExposedPorts");
    _cleanup_strv_ char **keys = xcalloc(1, sizeof(char *));
    _cleanup_free_ struct port_map *got = NULL;
    size_t ngot = 0;
    const char *k;
    json_t *v;
    json_object_foreach(exposed, k, v)
        strv_append(&keys, k);
    /* jansson's key order is the file's: sort for a stable -P */
    qsort(keys, strv_len(keys), sizeof(char *), exposed_cmp);
    for (char **key = keys; *key; key++) {
        /* EXPOSE takes a container port or range and a protocol only */
        if (strchr(*key, ':'))
            return berth_error_new(err, 0, "invalid exposed port \"%s\" in "
                                           "the image config",
                                   *key);
        if (spec_parse(*key, &got, &ngot, err) < 0)
            return berth_error_prefix(err, "invalid exposed port \"%s\" in "
                                           "the image config",
                                      *key);
    }
    /* -p 8080:80 with -P publishes 80 once, on 8080, as podman */
    for (size_t i = 0; i < ngot; i++) {
        if (already_published(*maps, *n, &got[i]))
            continue;
        *maps = xrealloc(*maps, (*n + 1) * sizeof(**maps));
        (*maps)[(*n)++] = got[i];
    }
    return 0;
}

/* --- choosing and checking host ports --- */

static void close_fds(int **fds)
{
    if (*fds == NULL)
        return;
    for (int *p = *fds; *p != -2; p++)
        if (*p >= 0)
            close(*p);
    free(*fds);
}

static int map_sockaddr(const struct port_map *m, int port,
                        struct sockaddr_storage *ss, socklen_t *len,
                        berth_error_t *err)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (m->host_ip[0] == '\0' || inet_pton(AF_INET, m->host_ip,
                                           &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (m->host_ip[0] == '\0')
            a4->sin_addr.s_addr = htonl(INADDR_ANY);
        *len = sizeof(*a4);
        return 0;
    }
    if (inet_pton(AF_INET6, m->host_ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*a6);
        return 0;
    }
    return berth_error_new(err, 0, "cannot parse \"%s\" as an IP address",
                           m->host_ip);
}

/* Go's wording, as podman's rootlessport: "address already in use". */
static int listen_error(const struct port_map *m, int errnum,
                        berth_error_t *err)
{
    const char *proto = strcmp(m->protocol, "udp") == 0 ? "UDP" : "TCP";
    _cleanup_free_ char *why = xstrdup(strerror(errnum));
    why[0] = (char)tolower((unsigned char)why[0]);
    bool v6 = strchr(m->host_ip, ':') != NULL;
    if (m->host_port == 0)
        berth_error_new(err, 0, "cannot choose a free %s port on %s: %s",
                        proto, m->host_ip[0] ? m->host_ip : "0.0.0.0", why);
    else if (m->host_ip[0])
        berth_error_new(err, 0, "cannot listen on the %s port %s%s%s:%d: %s",
                        proto, v6 ? "[" : "", m->host_ip, v6 ? "]" : "",
                        m->host_port, why);
    else
        berth_error_new(err, 0, "cannot listen on the %s port %d: %s", proto,
                        m->host_port, why);
    (*err)->errnum = errnum;
    return -1;
}

/* Bind m's address and port (0: any) and return the socket, still open so
 * that later maps of the same call cannot get the same port. */
static int map_bind(const struct port_map *m, int *ret_fd, int *ret_port,
                    berth_error_t *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    bool udp = strcmp(m->protocol, "udp") == 0;
    if (map_sockaddr(m, m->host_port, &ss, &len, err) < 0)
        return -1;
    _cleanup_close_ int fd = socket(ss.ss_family, (udp ? SOCK_DGRAM
                                                       : SOCK_STREAM) |
                                                      SOCK_CLOEXEC,
                                    0);
    if (fd < 0)
        return berth_error_new(err, errno, "socket");
    /* A port whose last connection sits in TIME_WAIT is free to listen on
     * for the forwarder (which sets SO_REUSEADDR, as every Go listener);
     * only a socket still listening makes bind fail. */
    int one = 1;
    if (!udp && m->host_port != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return berth_error_new(err, errno, "setsockopt SO_REUSEADDR");
    if (bind(fd, (struct sockaddr *)&ss, len) < 0)
        return listen_error(m, errno, err);
    /* Two bound, non-listening SO_REUSEADDR sockets may share a port:
     * listen so that "-p 8080:80 -p 8080:81" fails here, not later. */
    if (!udp && m->host_port != 0 && listen(fd, 1) < 0)
        return listen_error(m, errno, err);
    len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return berth_error_new(err, errno, "getsockname");
    *ret_port = ntohs(ss.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&ss)->sin6_port
                          : ((struct sockaddr_in *)&ss)->sin_port);
    *ret_fd = TAKE_FD(fd);
    return 0;
}

int ports_choose(struct port_map *maps, size_t n, berth_error_t *err)
{
    _cleanup_(close_fds) int *fds = xmalloc((n + 1) * sizeof(int));
    _cleanup_free_ int *chosen = xcalloc(n, sizeof(int));
    for (size_t i = 0; i < n; i++)
        fds[i] = -1;
    fds[n] = -2;
    /* explicit ports first: a chosen port must not take one of them */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if ((maps[i].host_port == 0) != (pass == 1))
                continue;
            if (map_bind(&maps[i], &fds[i], &chosen[i], err) < 0)
                return -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        maps[i].host_port = chosen[i];
    return 0;
}

/* --- records and renderings --- */

json_t *ports_to_json(const struct port_map *maps, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:i, s:i, s:s}", "host_ip", maps[i].host_ip,
                         "host_port", maps[i].host_port, "container_port",
                         maps[i].container_port, "protocol",
                         maps[i].protocol));
    return a;
}

static int map_from_json(json_t *o, struct port_map *m)
{
    const char *ip = json_string_value(json_object_get(o, "host_ip"));
    const char *proto = json_string_value(json_object_get(o, "protocol"));
    json_t *hp = json_object_get(o, "host_port");
    json_t *cp = json_object_get(o, "container_port");
    if (!json_is_integer(hp) || !json_is_integer(cp) || proto == NULL ||
        (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0))
        return -1;
    if (ip == NULL)
        ip = "";
    json_int_t h = json_integer_value(hp), c = json_integer_value(cp);
    if (strlen(ip) >= sizeof(m->host_ip) || h < 0 || h > 65535 || c < 1 ||
        c > 65535)
        return -1;
    memset(m, 0, sizeof(*m));
    strcpy(m->host_ip, ip);
    strcpy(m->protocol, proto);
    m->host_port = (int)h;
    m->container_port = (int)c;
    return 0;
}

/* Appends, as ports_parse; a missing list (JSON null or no key) is none. */
int ports_from_json(json_t *a, struct port_map **maps, size_t *n)
{
    if (a == NULL || json_is_null(a))
        return 0;
    if (!json_is_array(a))
        return -1;
    size_t len = json_array_size(a);
    if (len == 0)
        return 0;
    struct port_map *out = xrealloc(*maps, (*n + len) * sizeof(*out));
    *maps = out;
    for (size_t i = 0; i < len; i++)
        if (map_from_json(json_array_get(a, i), &out[*n + i]) < 0)
            return -1;
    *n += len;
    return 0;
}

static const char *ip_or_any(const struct port_map *m)
{
    return m->host_ip[0] ? m->host_ip : "0.0.0.0";
}

/* podman prints IPv6 host IPs bare ("::1:8080"), without brackets. */
char *ports_port_line(const struct port_map *m)
{
    return xasprintf("%d/%s -> %s:%d", m->container_port, m->protocol,
                     ip_or_any(m), m->host_port);
}

static bool map_follows(const struct port_map *prev,
                        const struct port_map *m)
{
    return strcmp(prev->host_ip, m->host_ip) == 0 &&
           strcmp(prev->protocol, m->protocol) == 0 && prev->host_port &&
           m->host_port == prev->host_port + 1 &&
           m->container_port == prev->container_port + 1;
}

char *ports_ps_string(const struct port_map *maps, size_t n)
{
    _cleanup_strv_ char **parts = xcalloc(1, sizeof(char *));
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && map_follows(&maps[j], &maps[j + 1]))
            j++;
        const struct port_map *a = &maps[i], *b = &maps[j];
        if (j == i)
            strv_push(&parts, xasprintf("%s:%d->%d/%s", ip_or_any(a),
                                        a->host_port, a->container_port,
                                        a->protocol));
        else
            strv_push(&parts, xasprintf("%s:%d-%d->%d-%d/%s", ip_or_any(a),
                                        a->host_port, b->host_port,
                                        a->container_port,
                                        b->container_port, a->protocol));
        i = j + 1;
    }
    return strv_join(parts, ", ");
}

json_t *ports_inspect_json(const struct port_map *maps, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        _cleanup_free_ char *key = xasprintf("%d/%s", maps[i].container_port,
                                             maps[i].protocol);
        _cleanup_free_ char *hp = xasprintf("%d", maps[i].host_port);
        json_t *list = json_object_get(o, key);
        if (list == NULL) {
            list = json_array();
            json_object_set_new(o, key, list);
        }
        json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp",
                                              maps[i].host_ip, "HostPort",
                                              hp));
    }
    return o;
}
