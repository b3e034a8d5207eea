#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "netns/etc-files.h"
#include "tests/unit/tap.h"

/* Render and return the text, or the error message prefixed "error: ". */
static char *et_hosts(const struct etc_hosts_opts *o)
{
    berth_error_t err = NULL;
    char *out = NULL;
    if (etc_hosts_render(o, &out, &err) < 0) {
        out = xasprintf("error: %s", err->msg);
        berth_error_free(&err);
    }
    return out;
}

static char *et_resolv(const struct etc_resolv_opts *o)
{
    berth_error_t err = NULL;
    char *out = NULL;
    if (etc_resolv_render(o, &out, &err) < 0) {
        out = xasprintf("error: %s", err->msg);
        berth_error_free(&err);
    }
    return out;
}

static int test_hosts_default(void)
{
    struct etc_hosts_opts o = {.hostname = "a1b2c3d4e5f6", .name = "web",
                               .ip = "10.0.2.100"};
    _cleanup_free_ char *s = et_hosts(&o);
    TAP_STREQ(s, "127.0.0.1\tlocalhost\n"
                 "::1\tlocalhost\n"
                 "10.0.2.100\ta1b2c3d4e5f6 web\n");
    /* no address of its own: 127.0.1.1, as podman without a network */
    o.ip = NULL;
    o.host_gateway = "192.168.1.10";
    _cleanup_free_ char *s2 = et_hosts(&o);
    TAP_STREQ(s2, "127.0.0.1\tlocalhost\n"
                  "::1\tlocalhost\n"
                  "127.0.1.1\ta1b2c3d4e5f6 web\n"
                  "192.168.1.10\thost.containers.internal "
                  "host.docker.internal\n");
    /* a hostname equal to the name is written once */
    struct etc_hosts_opts same = {.hostname = "web", .name = "web"};
    _cleanup_free_ char *s3 = et_hosts(&same);
    TAP_STREQ(s3, "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tweb\n");
    return 0;
}

static int test_hosts_add_host(void)
{
    char *add[] = {"db:10.1.2.3", "v6host:2001:db8::1", "br:[fe80::2]",
                   "one;two:192.0.2.7", "gw:host-gateway", NULL};
    struct etc_hosts_opts o = {.hostname = "h", .name = "n",
                               .ip = "10.0.2.100", .add_hosts = add,
                               .host_gateway = "10.0.2.2"};
    _cleanup_free_ char *s = et_hosts(&o);
    TAP_STREQ(s, "127.0.0.1\tlocalhost\n"
                 "::1\tlocalhost\n"
                 "10.1.2.3\tdb\n"
                 "2001:db8::1\tv6host\n"
                 "fe80::2\tbr\n"
                 "192.0.2.7\tone two\n"
                 "10.0.2.2\tgw\n"
                 "10.0.2.100\th n\n"
                 "10.0.2.2\thost.containers.internal host.docker.internal\n");
    /* --add-host wins over the names berth would add */
    char *over[] = {"n:192.0.2.1", "host.docker.internal:192.0.2.2",
                    "localhost:192.0.2.3", NULL};
    o.add_hosts = over;
    _cleanup_free_ char *s2 = et_hosts(&o);
    TAP_STREQ(s2, "192.0.2.1\tn\n"
                  "192.0.2.2\thost.docker.internal\n"
                  "192.0.2.3\tlocalhost\n"
                  "10.0.2.100\th\n"
                  "10.0.2.2\thost.containers.internal\n");
    return 0;
}

#define ET_HOSTS_ERROR(entry, gw, want)                                        \
    do {                                                                       \
        char *_add[] = {entry, NULL};                                          \
        struct etc_hosts_opts _o = {.hostname = "h", .add_hosts = _add,        \
                                    .host_gateway = gw};                       \
        _cleanup_free_ char *_s = et_hosts(&_o);                               \
        TAP_STREQ(_s, want);                                                   \
    } while (0)

static int test_hosts_add_host_errors(void)
{
    ET_HOSTS_ERROR("db:10.1.2", NULL,
                   "error: invalid IP address in add-host: \"10.1.2\"");
    ET_HOSTS_ERROR("db:", NULL, "error: invalid IP address in add-host: \"\"");
    ET_HOSTS_ERROR("db:example.com", NULL,
                   "error: invalid IP address in add-host: \"example.com\"");
    ET_HOSTS_ERROR("db:[10.1.2.3", NULL,
                   "error: invalid IP address in add-host: \"[10.1.2.3\"");
    ET_HOSTS_ERROR("db", NULL, "error: bad format for add-host: \"db\"");
    ET_HOSTS_ERROR(":10.1.2.3", NULL,
                   "error: bad format for add-host: \":10.1.2.3\"");
    ET_HOSTS_ERROR("a;;b:10.1.2.3", NULL,
                   "error: hostname in add-host \"a;;b:10.1.2.3\" is empty");
    ET_HOSTS_ERROR("gw:host-gateway", NULL,
                   "error: unable to replace \"host-gateway\" of host entry "
                   "\"gw:host-gateway\": host containers internal IP address "
                   "is empty");
    ET_HOSTS_ERROR("gw:host-gateway", "",
                   "error: unable to replace \"host-gateway\" of host entry "
                   "\"gw:host-gateway\": host containers internal IP address "
                   "is empty");
    return 0;
}

static int test_hosts_base(void)
{
    const char *base = "# The host's file\n"
                       "127.0.0.1   localhost localhost.localdomain\n"
                       "::1 localhost ip6-localhost   # loopback\n"
                       "\n"
                       "192.168.1.5\tnas\n"
                       "10.9.9.9\n"
                       "192.168.1.6 myhost";
    char *add[] = {"db:10.1.2.3", NULL};
    struct etc_hosts_opts o = {.hostname = "myhost", .name = "c1",
                               .add_hosts = add, .base = base};
    _cleanup_free_ char *s = et_hosts(&o);
    /* podman's rewrite: comments and name-less lines gone; the host's
     * own entry for the hostname wins */
    TAP_STREQ(s, "127.0.0.1\tlocalhost localhost.localdomain\n"
                 "::1\tlocalhost ip6-localhost\n"
                 "192.168.1.5\tnas\n"
                 "192.168.1.6\tmyhost\n"
                 "10.1.2.3\tdb\n"
                 "127.0.1.1\tc1\n");
    /* a base without localhost still gets it (podman #11411) */
    o.base = "192.168.1.5 nas\n";
    o.add_hosts = NULL;
    _cleanup_free_ char *s2 = et_hosts(&o);
    TAP_STREQ(s2, "127.0.0.1\tlocalhost\n"
                  "::1\tlocalhost\n"
                  "192.168.1.5\tnas\n"
                  "127.0.1.1\tmyhost c1\n");
    o.base = "";
    _cleanup_free_ char *s3 = et_hosts(&o);
    TAP_STREQ(s3, "127.0.0.1\tlocalhost\n::1\tlocalhost\n"
                  "127.0.1.1\tmyhost c1\n");
    return 0;
}

static int test_resolv_host(void)
{
    const char *host = "# Generated by NetworkManager\n"
                       "search example.com corp.example.com\n"
                       "nameserver 192.168.1.1\n"
                       "nameserver 2001:db8::53\n"
                       "options edns0 ; trailing comment\n"
                       "options timeout:2\n";
    struct etc_resolv_opts o = {.host_resolv = host};
    _cleanup_free_ char *s = et_resolv(&o);
    TAP_STREQ(s, "search example.com corp.example.com\n"
                 "nameserver 192.168.1.1\n"
                 "nameserver 2001:db8::53\n"
                 "options edns0 timeout:2\n");
    /* slirp4netns's resolver goes first */
    o.slirp_dns = "10.0.2.3";
    _cleanup_free_ char *s2 = et_resolv(&o);
    TAP_STREQ(s2, "search example.com corp.example.com\n"
                  "nameserver 10.0.2.3\n"
                  "nameserver 192.168.1.1\n"
                  "nameserver 2001:db8::53\n"
                  "options edns0 timeout:2\n");
    /* domain is a search list of one; the last of them wins */
    o.host_resolv = "search a.example\ndomain b.example\nnameserver 1.1.1.1";
    o.slirp_dns = NULL;
    _cleanup_free_ char *s3 = et_resolv(&o);
    TAP_STREQ(s3, "search b.example\nnameserver 1.1.1.1\n");
    return 0;
}

static int test_resolv_loopback(void)
{
    /* systemd-resolved's stub and a local dnsmasq are dropped */
    const char *host = "nameserver 127.0.0.53\n"
                       "nameserver 127.1.2.3\n"
                       "nameserver ::1\n"
                       "nameserver ::ffff:127.0.0.1\n"
                       "options edns0 trust-ad\n"
                       "search lan\n";
    struct etc_resolv_opts o = {.host_resolv = host};
    _cleanup_free_ char *s = et_resolv(&o);
    TAP_STREQ(s, "search lan\n"
                 "nameserver 8.8.8.8\n"
                 "nameserver 8.8.4.4\n"
                 "options edns0 trust-ad\n");
    /* with slirp4netns its resolver is enough: no fallback */
    o.slirp_dns = "10.0.2.3";
    _cleanup_free_ char *s2 = et_resolv(&o);
    TAP_STREQ(s2, "search lan\nnameserver 10.0.2.3\noptions edns0 trust-ad\n");
    /* --network host: the host's loopback is the container's */
    o.slirp_dns = NULL;
    o.keep_loopback = true;
    _cleanup_free_ char *s3 = et_resolv(&o);
    TAP_STREQ(s3, "search lan\n"
                  "nameserver 127.0.0.53\n"
                  "nameserver 127.1.2.3\n"
                  "nameserver ::1\n"
                  "nameserver ::ffff:127.0.0.1\n"
                  "options edns0 trust-ad\n");
    /* 128.x and fe80:: are not loopback */
    struct etc_resolv_opts o2 = {.host_resolv = "nameserver 128.0.0.1\n"
                                                "nameserver fe80::1%eth0\n"};
    _cleanup_free_ char *s4 = et_resolv(&o2);
    TAP_STREQ(s4, "nameserver 128.0.0.1\nnameserver fe80::1%eth0\n");
    /* no host file at all */
    struct etc_resolv_opts o3 = {.host_resolv = ""};
    _cleanup_free_ char *s5 = et_resolv(&o3);
    TAP_STREQ(s5, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    struct etc_resolv_opts o4 = {0};
    _cleanup_free_ char *s6 = et_resolv(&o4);
    TAP_STREQ(s6, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    return 0;
}

static int test_resolv_flags(void)
{
    const char *host = "search lan\nnameserver 192.168.1.1\noptions ndots:2\n";
    char *dns[] = {"1.1.1.1", "2606:4700:4700::1111", NULL};
    char *search[] = {"a.example", "b.example", NULL};
    char *opts[] = {"ndots:5", "rotate", NULL};
    struct etc_resolv_opts o = {.host_resolv = host, .dns = dns,
                                .dns_search = search, .dns_option = opts,
                                .slirp_dns = "10.0.2.3"};
    _cleanup_free_ char *s = et_resolv(&o);
    /* --dns replaces the host's servers and slirp4netns's */
    TAP_STREQ(s, "search a.example b.example\n"
                 "nameserver 1.1.1.1\n"
                 "nameserver 2606:4700:4700::1111\n"
                 "options ndots:5 rotate\n");
    /* --dns-search . drops the search line */
    char *dot[] = {".", NULL};
    char *none[] = {NULL};
    o.dns_search = dot;
    o.dns = none; /* empty lists count as not given */
    o.dns_option = none;
    _cleanup_free_ char *s2 = et_resolv(&o);
    TAP_STREQ(s2, "nameserver 10.0.2.3\n"
                  "nameserver 192.168.1.1\n"
                  "options ndots:2\n");
    char *bad[] = {"1.1.1.1", "dns.example", NULL};
    o.dns = bad;
    _cleanup_free_ char *s3 = et_resolv(&o);
    TAP_STREQ(s3, "error: dns.example is not an ip address");
    char *bad2[] = {"1.1.1", NULL};
    o.dns = bad2;
    _cleanup_free_ char *s4 = et_resolv(&o);
    TAP_STREQ(s4, "error: 1.1.1 is not an ip address");
    return 0;
}

TAP_MAIN({"hosts: localhost, the container, host.containers.internal",
          test_hosts_default},
         {"hosts: --add-host IPv4, IPv6, brackets, host-gateway; it wins",
          test_hosts_add_host},
         {"hosts: --add-host errors name the value", test_hosts_add_host_errors},
         {"hosts: --network host's base file", test_hosts_base},
         {"resolv: the host's servers, search, options; slirp first",
          test_resolv_host},
         {"resolv: loopback servers dropped, fallback 8.8.8.8/8.8.4.4",
          test_resolv_loopback},
         {"resolv: --dns, --dns-search ., --dns-option, bad --dns",
          test_resolv_flags})
