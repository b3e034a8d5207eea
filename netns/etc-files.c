#define _GNU_SOURCE
#include "netns/etc-files.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

static bool is_ip(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* --- /etc/hosts --- */

/* One hosts line as podman's etchosts formatLine: "IP\tNAME NAME\n". */
static void hosts_line(char ***out, const char *ip, char *const *names)
{
    _cleanup_free_ char *joined = strv_join(names, " ");
    strv_push(out, xasprintf("%s\t%s\n", ip, joined));
}

/* A line the engine adds (localhost, the container, the host gateway)
 * keeps only the names nobody set already: --add-host and the base file
 * win, as podman's addEntriesIfNotExists. */
static void hosts_line_free_names(char ***out, char *const *taken,
                                  const char *ip, const char *const *names)
{
    _cleanup_strv_ char **free_names = xcalloc(1, sizeof(char *));
    for (const char *const *n = names; *n; n++)
        if (**n && !strv_contains(taken, *n) &&
            !strv_contains(free_names, *n))
            strv_append(&free_names, *n);
    if (free_names[0])
        hosts_line(out, ip, free_names);
}

/* "NAME[;NAME...]:IP" with IP an address, [IPv6] or host-gateway; the
 * messages are podman's (cmd/podman/parse ValidateExtraHost, etchosts). */
static int add_host_parse(const char *val, const char *gateway,
                          char ***ret_names, char **ret_ip,
                          berth_error_t *err)
{
    const char *colon = strchr(val, ':');
    if (colon == NULL || colon == val)
        return berth_error_new(err, 0, "bad format for add-host: \"%s\"",
                               val);
    _cleanup_free_ char *names = xstrndup(val, (size_t)(colon - val));
    _cleanup_free_ char *ip = xstrdup(colon + 1);
    size_t len = strlen(ip);
    _cleanup_strv_ char **list = xcalloc(1, sizeof(char *));
    for (char *p = names, *semi; p; p = semi ? semi + 1 : NULL) {
        semi = strchr(p, ';');
        if (semi)
            *semi = '\0';
        if (*p == '\0')
            return berth_error_new(err, 0, "hostname in add-host \"%s\" is "
                                           "empty",
                                   val);
        strv_append(&list, p);
    }
    if (strcmp(ip, "host-gateway") == 0) {
        if (gateway == NULL || *gateway == '\0')
            return berth_error_new(err, 0,
                                   "unable to replace \"host-gateway\" of "
                                   "host entry \"%s\": host containers "
                                   "internal IP address is empty",
                                   val);
        free(ip);
        ip = xstrdup(gateway);
    } else if (len > 2 && ip[0] == '[' && ip[len - 1] == ']') {
        memmove(ip, ip + 1, len - 2);
        ip[len - 2] = '\0';
    }
    if (!is_ip(ip))
        return berth_error_new(err, 0, "invalid IP address in add-host: "
                                       "\"%s\"",
                               colon + 1);
    *ret_names = TAKE_PTR(list);
    *ret_ip = TAKE_PTR(ip);
    return 0;
}

/* The base file as podman's parseHostsFile reads it: comments and lines
 * without a name dropped, each entry rewritten "IP\tNAMES". */
static void hosts_base(const char *base, char ***out, char ***taken)
{
    _cleanup_strv_ char **lines = strv_split(base, "\n");
    for (char **l = lines; *l; l++) {
        char *hash = strchr(*l, '#');
        if (hash)
            *hash = '\0';
        _cleanup_strv_ char **f = strv_split(*l, " \t\r\f\v");
        if (strv_len(f) < 2)
            continue;
        for (char **n = f + 1; *n; n++)
            strv_append(taken, *n);
        hosts_line(out, f[0], f + 1);
    }
}

int etc_hosts_render(const struct etc_hosts_opts *o, char **ret,
                     berth_error_t *err)
{
    _cleanup_strv_ char **taken = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **head = xcalloc(1, sizeof(char *));
    _cleanup_strv_ char **out = xcalloc(1, sizeof(char *));
    for (char **h = o->add_hosts; h && *h; h++) {
        _cleanup_strv_ char **names = NULL;
        _cleanup_free_ char *ip = NULL;
        if (add_host_parse(*h, o->host_gateway, &names, &ip, err) < 0)
            return -1;
        for (char **n = names; *n; n++)
            strv_append(&taken, *n);
        hosts_line(&out, ip, names);
    }
    if (o->base)
        hosts_base(o->base, &head, &taken);
    /* A base without localhost still gets it (podman #11411); a base with
     * it, as every distribution's, replaces these lines. */
    static const char *const lh[] = {"localhost", NULL};
    _cleanup_strv_ char **pre = xcalloc(1, sizeof(char *));
    hosts_line_free_names(&pre, taken, "127.0.0.1", lh);
    hosts_line_free_names(&pre, taken, "::1", lh);
    const char *self[] = {o->hostname ? o->hostname : "",
                          o->name ? o->name : "", NULL};
    hosts_line_free_names(&out, taken, o->ip ? o->ip : "127.0.1.1", self);
    if (o->host_gateway && *o->host_gateway) {
        static const char *const gw[] = {"host.containers.internal",
                                         "host.docker.internal", NULL};
        hosts_line_free_names(&out, taken, o->host_gateway, gw);
    }
    _cleanup_free_ char *a = strv_join(pre, "");
    _cleanup_free_ char *b = strv_join(head, "");
    _cleanup_free_ char *c = strv_join(out, "");
    *ret = xasprintf("%s%s%s", a, b, c);
    return 0;
}

/* --- /etc/resolv.conf --- */

/* 127.0.0.0/8 and ::1 (also as ::ffff:127.x.y.z): a resolver on the
 * host's loopback is out of reach from the container's namespace. */
static bool is_loopback(const char *ip)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ip, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, ip, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) ||
               (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

struct resolv {
    char **servers;
    char **search;
    char **options;
};

static void resolv_free(struct resolv *r)
{
    strv_free(r->servers);
    strv_free(r->search);
    strv_free(r->options);
}

/* resolv.conf(5) as glibc reads it: comments start with # or ;, the last
 * search or domain line wins, options lines add up. */
static void resolv_parse(const char *text, struct resolv *r)
{
    _cleanup_strv_ char **lines = strv_split(text ? text : "", "\n");
    for (char **l = lines; *l; l++) {
        (*l)[strcspn(*l, "#;")] = '\0';
        _cleanup_strv_ char **f = strv_split(*l, " \t\r\f\v");
        if (f[0] == NULL || f[1] == NULL)
            continue;
        if (strcmp(f[0], "nameserver") == 0) {
            strv_append(&r->servers, f[1]);
        } else if (strcmp(f[0], "search") == 0 ||
                   strcmp(f[0], "domain") == 0) {
            strv_free(r->search);
            r->search = xcalloc(1, sizeof(char *));
            for (char **d = f + 1; *d; d++)
                strv_append(&r->search, *d);
        } else if (strcmp(f[0], "options") == 0) {
            for (char **d = f + 1; *d; d++)
                strv_append(&r->options, *d);
        }
    }
}

static char **servers_pick(const struct etc_resolv_opts *o,
                           char *const *host)
{
    char **out = xcalloc(1, sizeof(char *));
    if (o->slirp_dns && *o->slirp_dns)
        strv_append(&out, o->slirp_dns);
    for (char *const *s = host; s && *s; s++)
        if ((o->keep_loopback || !is_loopback(*s)) &&
            !strv_contains(out, *s))
            strv_append(&out, *s);
    if (out[0] == NULL) {
        /* podman's fallback, containers/common libnetwork/resolvconf */
        strv_append(&out, "8.8.8.8");
        strv_append(&out, "8.8.4.4");
    }
    return out;
}

int etc_resolv_render(const struct etc_resolv_opts *o, char **ret,
                      berth_error_t *err)
{
    _cleanup_(resolv_free) struct resolv host = {0};
    _cleanup_strv_ char **servers = NULL;
    _cleanup_strv_ char **search = xcalloc(1, sizeof(char *));
    char *const *options;
    for (char **d = o->dns; d && *d; d++)
        if (!is_ip(*d))
            return berth_error_new(err, 0, "%s is not an ip address", *d);
    resolv_parse(o->host_resolv, &host);
    if (o->dns && o->dns[0]) {
        servers = xcalloc(1, sizeof(char *));
        for (char **d = o->dns; *d; d++)
            strv_append(&servers, *d);
    } else {
        servers = servers_pick(o, host.servers);
    }
    /* --dns-search . clears the search list, as docker and podman */
    char *const *want = o->dns_search && o->dns_search[0] ? o->dns_search
                                                          : host.search;
    for (char *const *d = want; d && *d; d++)
        if (strcmp(*d, ".") != 0)
            strv_append(&search, *d);
    options = o->dns_option && o->dns_option[0] ? o->dns_option
                                                : host.options;
    _cleanup_strv_ char **out = xcalloc(1, sizeof(char *));
    if (search[0]) {
        _cleanup_free_ char *j = strv_join(search, " ");
        strv_push(&out, xasprintf("search %s\n", j));
    }
    for (char **s = servers; *s; s++)
        strv_push(&out, xasprintf("nameserver %s\n", *s));
    if (options && options[0]) {
        _cleanup_free_ char *j = strv_join(options, " ");
        strv_push(&out, xasprintf("options %s\n", j));
    }
    *ret = strv_join(out, "");
    return 0;
}
