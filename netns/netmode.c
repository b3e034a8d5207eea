#define _GNU_SOURCE
#include "netns/netmode.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

static int parse_bool(const char *key, const char *v, bool *ret,
                      berth_error_t *err)
{
    if (strcmp(v, "true") == 0)
        *ret = true;
    else if (strcmp(v, "false") == 0)
        *ret = false;
    else
        return berth_error_new(err, 0, "invalid value \"%s\" for %s: must "
                               "be true or false", v, key);
    return 0;
}

/* 10.0.2.0/24 -> ip .100, gateway .2, dns .3 of the network */
static int parse_cidr(const char *v, struct net_mode *m, berth_error_t *err)
{
    char addr[32];
    struct in_addr a;
    const char *slash = strchr(v, '/');
    char *end;
    long prefix = slash ? strtol(slash + 1, &end, 10) : -1;
    if (slash == NULL || (size_t)(slash - v) >= sizeof addr || *end != '\0' ||
        prefix < 8 || prefix > 25)
        return berth_error_new(err, 0, "invalid cidr \"%s\": an IPv4 network "
                               "with a prefix of 8 to 25 bits", v);
    memcpy(addr, v, (size_t)(slash - v));
    addr[slash - v] = '\0';
    if (inet_pton(AF_INET, addr, &a) != 1)
        return berth_error_new(err, 0, "invalid cidr \"%s\"", v);
    uint32_t mask = prefix == 0 ? 0 : ~0U << (32 - prefix);
    uint32_t net = ntohl(a.s_addr) & mask;
    struct in_addr x;
    const struct {
        char *out;
        uint32_t host;
    } parts[] = {{m->ip, 100}, {m->gateway, 2}, {m->dns, 3}};
    for (size_t i = 0; i < 3; i++) {
        x.s_addr = htonl(net | parts[i].host);
        inet_ntop(AF_INET, &x, parts[i].out, 16);
    }
    x.s_addr = htonl(net);
    char nbuf[16];
    inet_ntop(AF_INET, &x, nbuf, sizeof nbuf);
    snprintf(m->cidr, sizeof m->cidr, "%s/%ld", nbuf, prefix);
    return 0;
}

static int parse_slirp_opts(const char *opts, struct net_mode *m,
                            berth_error_t *err)
{
    _cleanup_strv_ char **kv = strv_split(opts, ",");
    for (size_t i = 0; kv && kv[i]; i++) {
        char *eq = strchr(kv[i], '=');
        if (eq == NULL)
            return berth_error_new(err, 0, "invalid slirp4netns option \"%s\"",
                                   kv[i]);
        *eq = '\0';
        const char *k = kv[i], *v = eq + 1;
        int r = 0;
        if (strcmp(k, "allow_host_loopback") == 0) {
            r = parse_bool(k, v, &m->allow_host_loopback, err);
        } else if (strcmp(k, "enable_ipv6") == 0) {
            r = parse_bool(k, v, &m->enable_ipv6, err);
        } else if (strcmp(k, "mtu") == 0) {
            char *end;
            long mtu = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || mtu < 68 || mtu > 65521)
                return berth_error_new(err, 0, "invalid mtu \"%s\"", v);
            m->mtu = (int)mtu;
        } else if (strcmp(k, "cidr") == 0) {
            r = parse_cidr(v, m, err);
        } else if (strcmp(k, "port_handler") == 0) {
            if (strcmp(v, "slirp4netns") != 0)
                return berth_error_new(err, 0, "port_handler=%s is not "
                                       "supported: berth forwards ports with "
                                       "slirp4netns", v);
        } else {
            return berth_error_new(err, 0, "unknown slirp4netns option \"%s\"",
                                   k);
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

int net_mode_parse(const char *value, struct net_mode *m, berth_error_t *err)
{
    *m = (struct net_mode){.kind = NET_SLIRP, .mtu = 65520};
    parse_cidr("10.0.2.0/24", m, err);
    if (value == NULL || strcmp(value, "private") == 0 ||
        strcmp(value, "slirp4netns") == 0)
        return 0;
    if (strcmp(value, "none") == 0) {
        m->kind = NET_NONE;
        return 0;
    }
    if (strcmp(value, "host") == 0) {
        m->kind = NET_HOST;
        return 0;
    }
    if (strncmp(value, "container:", 10) == 0 || strncmp(value, "ns:", 3) == 0) {
        bool ctr = value[0] == 'c';
        const char *t = value + (ctr ? 10 : 3);
        if (*t == '\0' || strlen(t) >= sizeof m->target || (!ctr && *t != '/'))
            return berth_error_new(err, 0, "invalid network \"%s\": %s",
                                   value, ctr ? "a container name is needed"
                                              : "an absolute path is needed");
        m->kind = ctr ? NET_CONTAINER : NET_NS;
        snprintf(m->target, sizeof m->target, "%s", t);
        return 0;
    }
    if (strncmp(value, "slirp4netns:", 12) == 0)
        return parse_slirp_opts(value + 12, m, err);
    /* names of container networks: [a-zA-Z0-9][a-zA-Z0-9_.-]* each */
    bool ok = *value != '\0' && strlen(value) < sizeof m->target;
    for (const char *p = value; ok && *p; p++) {
        bool first = p == value || p[-1] == ',';
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9');
        if (*p == ',')
            ok = !first && p[1] != '\0';
        else
            ok = alnum || (!first && (*p == '_' || *p == '.' || *p == '-'));
    }
    if (!ok)
        return berth_error_new(err, 0, "network \"%s\" is not supported: use "
                               "none, host, container:NAME, ns:PATH, "
                               "slirp4netns[:OPTIONS] or the name of a "
                               "network", value);
    m->kind = NET_BRIDGE;
    snprintf(m->target, sizeof m->target, "%s", value);
    return 0;
}

char **net_mode_slirp_args(const struct net_mode *m)
{
    char **v = NULL;
    strv_append(&v, "--configure");
    strv_push(&v, xasprintf("--mtu=%d", m->mtu));
    strv_push(&v, xasprintf("--cidr=%s", m->cidr));
    if (!m->allow_host_loopback)
        strv_append(&v, "--disable-host-loopback");
    if (m->enable_ipv6)
        strv_append(&v, "--enable-ipv6");
    strv_append(&v, "--enable-sandbox");
    strv_append(&v, "--enable-seccomp");
    return v;
}
