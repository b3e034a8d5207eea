#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "netns/ports.h"
#include "tests/unit/tap.h"

/* Parse one spec into a fresh list (freeing the old one); print the
 * error if any. */
static int pt_parse(const char *spec, struct port_map **maps, size_t *n)
{
    berth_error_t err = NULL;
    free(*maps);
    *maps = NULL;
    *n = 0;
    if (ports_parse(spec, maps, n, &err) < 0) {
        fprintf(stderr, "# %s: %s\n", spec, err->msg);
        berth_error_free(&err);
        return -1;
    }
    return 0;
}

static bool pt_is(const struct port_map *m, const char *ip, int host, int ctr,
                  const char *proto)
{
    if (strcmp(m->host_ip, ip) == 0 && m->host_port == host &&
        m->container_port == ctr && strcmp(m->protocol, proto) == 0)
        return true;
    fprintf(stderr, "# got {\"%s\", %d, %d, %s}\n", m->host_ip, m->host_port,
            m->container_port, m->protocol);
    return false;
}

/* The error ports_parse gives for spec (NULL if it succeeded); the list
 * passed in must come back untouched. */
static char *pt_error(const char *spec)
{
    berth_error_t err = NULL;
    struct port_map *maps = xcalloc(1, sizeof(*maps));
    size_t n = 1;
    maps[0].container_port = 1;
    int r = ports_parse(spec, &maps, &n, &err);
    char *msg = r < 0 && n == 1 && maps[0].container_port == 1
                    ? xstrdup(err->msg)
                    : NULL;
    if (r < 0 && msg == NULL)
        msg = xstrdup("(the list was changed)");
    berth_error_free(&err);
    free(maps);
    return msg;
}

#define PT_ERROR(spec, want)                                                   \
    do {                                                                       \
        _cleanup_free_ char *_m = pt_error(spec);                              \
        TAP_STREQ(_m, want);                                                   \
    } while (0)

static int test_parse_forms(void)
{
    _cleanup_free_ struct port_map *m = NULL;
    size_t n;
    TAP_CHECK(pt_parse("80", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "", 0, 80, "tcp"));
    TAP_CHECK(pt_parse("8080:80", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "", 8080, 80, "tcp"));
    TAP_CHECK(pt_parse("127.0.0.1:5353:53/udp", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "127.0.0.1", 5353, 53, "udp"));
    /* an empty host port, or 0, means "choose one" */
    TAP_CHECK(pt_parse("127.0.0.1::80", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "127.0.0.1", 0, 80, "tcp"));
    TAP_CHECK(pt_parse(":80/tcp", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "", 0, 80, "tcp"));
    TAP_CHECK(pt_parse("0:80", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "", 0, 80, "tcp"));
    /* 0.0.0.0 is kept as "", as podman; the protocol is case-blind */
    TAP_CHECK(pt_parse("0.0.0.0:8080:80/UDP", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "", 8080, 80, "udp"));
    TAP_CHECK(pt_parse("65535:1", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "", 65535, 1, "tcp"));
    /* appends to what is there */
    berth_error_t err = NULL;
    TAP_CHECK(pt_parse("8080:80", &m, &n) == 0);
    TAP_CHECK(ports_parse("53/udp", &m, &n, &err) == 0);
    TAP_CHECK(n == 2);
    TAP_CHECK(pt_is(&m[0], "", 8080, 80, "tcp"));
    TAP_CHECK(pt_is(&m[1], "", 0, 53, "udp"));
    return 0;
}

static int test_parse_ranges(void)
{
    _cleanup_free_ struct port_map *m = NULL;
    size_t n;
    TAP_CHECK(pt_parse("8080-8081:80-81", &m, &n) == 0 && n == 2);
    TAP_CHECK(pt_is(&m[0], "", 8080, 80, "tcp"));
    TAP_CHECK(pt_is(&m[1], "", 8081, 81, "tcp"));
    /* a container range alone: free host ports for each */
    TAP_CHECK(pt_parse("10.0.0.1::53-55/udp", &m, &n) == 0 && n == 3);
    TAP_CHECK(pt_is(&m[0], "10.0.0.1", 0, 53, "udp"));
    TAP_CHECK(pt_is(&m[2], "10.0.0.1", 0, 55, "udp"));
    TAP_CHECK(pt_parse("80-81", &m, &n) == 0 && n == 2);
    TAP_CHECK(pt_is(&m[1], "", 0, 81, "tcp"));
    PT_ERROR("8080-8082:80-81", "invalid port \"8080-8082:80-81\": host and "
                                "container port ranges have different "
                                "lengths: 3 vs 2");
    PT_ERROR("8080:80-81", "invalid port \"8080:80-81\": host and container "
                           "port ranges have different lengths: 1 vs 2");
    PT_ERROR("81-80", "invalid port \"81-80\": container port: the end port "
                      "of a range must be higher than the start port - 80 "
                      "is not higher than 81");
    PT_ERROR("80-80", "invalid port \"80-80\": container port: the end port "
                      "of a range must be higher than the start port - 80 "
                      "is not higher than 80");
    PT_ERROR("80-", "invalid port \"80-\": container port: must provide "
                    "ending number for port range");
    PT_ERROR("-80", "invalid port \"-80\": container port: port numbers "
                    "cannot be negative");
    PT_ERROR("1-2-3", "invalid port \"1-2-3\": container port: port ranges "
                      "are formatted as startPort-stopPort");
    PT_ERROR("0-1:80-81", "invalid port \"0-1:80-81\": host port: port "
                          "numbers must be between 1 and 65535 (inclusive), "
                          "got 0");
    return 0;
}

static int test_parse_ipv6(void)
{
    _cleanup_free_ struct port_map *m = NULL;
    size_t n;
    TAP_CHECK(pt_parse("[::1]:8080:80", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "::1", 8080, 80, "tcp"));
    /* written back in canonical form */
    TAP_CHECK(pt_parse("[2001:DB8:0:0::1]:8080-8081:80-81/udp", &m, &n) == 0);
    TAP_CHECK(n == 2);
    TAP_CHECK(pt_is(&m[0], "2001:db8::1", 8080, 80, "udp"));
    TAP_CHECK(pt_is(&m[1], "2001:db8::1", 8081, 81, "udp"));
    TAP_CHECK(pt_parse("[::]::80", &m, &n) == 0 && n == 1);
    TAP_CHECK(pt_is(&m[0], "::", 0, 80, "tcp"));
    PT_ERROR("::1:8080:80", "invalid port \"::1:8080:80\": format is "
                            "[[IP:][HOSTPORT]:]CTRPORT[/PROTO] (IPv6 "
                            "addresses go in brackets: [::1]:8080:80)");
    PT_ERROR("[::1]:80", "invalid port \"[::1]:80\": with an IPv6 address "
                         "the format is [IP]:HOSTPORT:CTRPORT");
    PT_ERROR("[::1]8080:80", "invalid port \"[::1]8080:80\": IPv6 address "
                             "must be followed by a colon (':')");
    PT_ERROR("::1]:8080:80", "invalid port \"::1]:8080:80\": IPv6 addresses "
                             "must be enclosed by []");
    PT_ERROR("[::g]:8080:80", "invalid port \"[::g]:8080:80\": cannot parse "
                              "\"::g\" as an IP address");
    return 0;
}

static int test_parse_errors(void)
{
    PT_ERROR("80/sctp", "invalid port \"80/sctp\": unknown protocol "
                        "\"sctp\": only tcp and udp are supported");
    PT_ERROR("80/", "invalid port \"80/\": must provide a non-empty protocol "
                    "to publish");
    PT_ERROR("80/tcp/udp", "invalid port \"80/tcp/udp\": protocol can only "
                           "be specified once");
    PT_ERROR("x", "invalid port \"x\": container port: \"x\" is not a port "
                  "number");
    PT_ERROR("8080:x", "invalid port \"8080:x\": container port: \"x\" is "
                       "not a port number");
    PT_ERROR("y:80", "invalid port \"y:80\": host port: \"y\" is not a port "
                     "number");
    PT_ERROR(" 80", "invalid port \" 80\": container port: \" 80\" is not a "
                    "port number");
    PT_ERROR("0", "invalid port \"0\": container port: port numbers must be "
                  "between 1 and 65535 (inclusive), got 0");
    PT_ERROR("65536", "invalid port \"65536\": container port: port numbers "
                      "must be between 1 and 65535 (inclusive), got 65536");
    PT_ERROR("65536:80", "invalid port \"65536:80\": host port: port numbers "
                         "must be between 1 and 65535 (inclusive), got "
                         "65536");
    PT_ERROR("99999999999999999999", "invalid port \"99999999999999999999\": "
                                     "container port: port numbers must be "
                                     "between 1 and 65535 (inclusive), got "
                                     "1000000");
    PT_ERROR("8080:", "invalid port \"8080:\": must provide a non-empty "
                      "container port to publish");
    PT_ERROR("", "invalid port \"\": must provide a non-empty container port "
                 "to publish");
    PT_ERROR("1.2.3:80:80", "invalid port \"1.2.3:80:80\": cannot parse "
                            "\"1.2.3\" as an IP address");
    PT_ERROR(":8080:80", "invalid port \":8080:80\": must provide a "
                         "non-empty host IP to publish");
    return 0;
}

static int test_from_exposed(void)
{
    berth_error_t err = NULL;
    _cleanup_free_ struct port_map *m = NULL;
    size_t n = 0;
    _cleanup_json_ json_t *cfg = json_pack(
        "{s:{s:{s:{}, s:{}, s:{}, s:{}}}}", "config", "ExposedPorts", "8080",
        "53/udp", "80/tcp", "53/tcp");
    TAP_CHECK(cfg != NULL);
    /* -p 9090:80 was given: 80/tcp is not published twice */
    TAP_CHECK(ports_parse("9090:80", &m, &n, &err) == 0);
    TAP_CHECK(ports_from_exposed(cfg, &m, &n, &err) == 0);
    TAP_CHECK(n == 4);
    TAP_CHECK(pt_is(&m[0], "", 9090, 80, "tcp"));
    TAP_CHECK(pt_is(&m[1], "", 0, 53, "tcp"));
    TAP_CHECK(pt_is(&m[2], "", 0, 53, "udp"));
    TAP_CHECK(pt_is(&m[3], "", 0, 8080, "tcp"));
    /* no config, no ExposedPorts: nothing */
    _cleanup_json_ json_t *empty = json_pack("{s:{}}", "config");
    TAP_CHECK(ports_from_exposed(empty, &m, &n, &err) == 0 && n == 4);
    TAP_CHECK(ports_from_exposed(NULL, &m, &n, &err) == 0 && n == 4);
    /* a bare config object works too */
    _cleanup_json_ json_t *bare = json_pack("{s:{s:{}}}", "ExposedPorts",
                                            "7000-7001/udp");
    TAP_CHECK(ports_from_exposed(bare, &m, &n, &err) == 0 && n == 6);
    TAP_CHECK(pt_is(&m[5], "", 0, 7001, "udp"));
    _cleanup_json_ json_t *bad = json_pack("{s:{s:{s:{}}}}", "config",
                                           "ExposedPorts", "80/sctp");
    TAP_CHECK(ports_from_exposed(bad, &m, &n, &err) < 0 && n == 6);
    TAP_STREQ(err->msg, "invalid exposed port \"80/sctp\" in the image "
                        "config: unknown protocol \"sctp\": only tcp and udp "
                        "are supported");
    berth_error_free(&err);
    _cleanup_json_ json_t *bad2 = json_pack("{s:{s:{s:{}}}}", "config",
                                            "ExposedPorts", "8080:80");
    TAP_CHECK(ports_from_exposed(bad2, &m, &n, &err) < 0 && n == 6);
    TAP_STREQ(err->msg, "invalid exposed port \"8080:80\" in the image "
                        "config");
    berth_error_free(&err);
    return 0;
}

/* A loopback socket of type on a kernel-chosen port, listening if TCP. */
static int pt_socket(int type, bool reuse, int *ret_port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof(a);
    int one = 1;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if ((reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                             sizeof one) < 0) ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 4) < 0) ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        close(fd);
        return -1;
    }
    *ret_port = ntohs(a.sin_port);
    return fd;
}

static int test_choose_free(void)
{
    berth_error_t err = NULL;
    struct port_map m[3] = {{"127.0.0.1", 0, 80, "tcp"},
                            {"127.0.0.1", 0, 81, "tcp"},
                            {"127.0.0.1", 0, 53, "udp"}};
    if (ports_choose(m, 3, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        bool no_net = err->errnum == EADDRNOTAVAIL;
        berth_error_free(&err);
        return no_net ? 77 : -1; /* no loopback in this sandbox */
    }
    TAP_CHECK(m[0].host_port > 0 && m[1].host_port > 0 &&
              m[2].host_port > 0);
    /* the sockets stay open until all are chosen: never the same port */
    TAP_CHECK(m[0].host_port != m[1].host_port);
    TAP_CHECK(m[0].container_port == 80 && m[2].container_port == 53);
    /* the chosen port is free again once ports_choose returns */
    int p = m[0].host_port;
    TAP_CHECK(ports_choose(m, 1, &err) == 0 && m[0].host_port == p);
    TAP_CHECK(ports_choose(NULL, 0, &err) == 0);
    return 0;
}

static int test_choose_in_use(void)
{
    berth_error_t err = NULL;
    int tport, uport;
    _cleanup_close_ int tfd = pt_socket(SOCK_STREAM, false, &tport);
    _cleanup_close_ int ufd = pt_socket(SOCK_DGRAM, false, &uport);
    if (tfd < 0 || ufd < 0)
        return 77; /* no loopback in this sandbox */
    struct port_map t = {"127.0.0.1", tport, 80, "tcp"};
    struct port_map u = {"127.0.0.1", uport, 53, "udp"};
    struct port_map any = {"", tport, 80, "tcp"};
    TAP_CHECK(ports_choose(&t, 1, &err) < 0);
    TAP_CHECK(err->errnum == EADDRINUSE);
    _cleanup_free_ char *w1 = xasprintf("cannot listen on the TCP port "
                                        "127.0.0.1:%d: address already in "
                                        "use",
                                        tport);
    TAP_STREQ(err->msg, w1);
    berth_error_free(&err);
    /* every address: the message podman users know */
    TAP_CHECK(ports_choose(&any, 1, &err) < 0);
    _cleanup_free_ char *w2 = xasprintf("cannot listen on the TCP port %d: "
                                        "address already in use",
                                        tport);
    TAP_STREQ(err->msg, w2);
    berth_error_free(&err);
    TAP_CHECK(ports_choose(&u, 1, &err) < 0);
    _cleanup_free_ char *w3 = xasprintf("cannot listen on the UDP port "
                                        "127.0.0.1:%d: address already in "
                                        "use",
                                        uport);
    TAP_STREQ(err->msg, w3);
    berth_error_free(&err);
    /* the same port twice in one call is refused too */
    close(TAKE_FD(tfd));
    struct port_map two[2] = {{"127.0.0.1", tport, 80, "tcp"},
                              {"127.0.0.1", tport, 81, "tcp"}};
    TAP_CHECK(ports_choose(two, 2, &err) < 0);
    TAP_CHECK(err->errnum == EADDRINUSE);
    berth_error_free(&err);
    /* freed: explicit ports pass and are left as they are */
    close(TAKE_FD(ufd));
    struct port_map both[2] = {t, u};
    TAP_CHECK(ports_choose(both, 2, &err) == 0);
    TAP_CHECK(both[0].host_port == tport && both[1].host_port == uport);
    /* a bad host IP is named */
    struct port_map bad = {"not-an-ip", 0, 80, "tcp"};
    TAP_CHECK(ports_choose(&bad, 1, &err) < 0);
    TAP_STREQ(err->msg, "cannot parse \"not-an-ip\" as an IP address");
    berth_error_free(&err);
    return 0;
}

/* A port whose last connection is in TIME_WAIT is free to publish. */
static int test_choose_time_wait(void)
{
    berth_error_t err = NULL;
    int port;
    struct sockaddr_in a = {.sin_family = AF_INET};
    char c;
    int lfd = pt_socket(SOCK_STREAM, true, &port);
    if (lfd < 0)
        return 77;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    _cleanup_close_ int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    TAP_CHECK(cfd >= 0);
    TAP_CHECK(connect(cfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    int afd = accept(lfd, NULL, NULL);
    TAP_CHECK(afd >= 0);
    close(lfd);
    /* the server side closes first, so it is the one left in TIME_WAIT */
    close(afd);
    TAP_CHECK(read(cfd, &c, 1) == 0);
    close(TAKE_FD(cfd));
    struct port_map m = {"127.0.0.1", port, 80, "tcp"};
    if (ports_choose(&m, 1, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    TAP_CHECK(m.host_port == port);
    return 0;
}

static int test_json_round_trip(void)
{
    struct port_map in[2] = {{"", 8080, 80, "tcp"},
                             {"::1", 5353, 53, "udp"}};
    _cleanup_json_ json_t *j = ports_to_json(in, 2);
    _cleanup_free_ char *s = json_dump_compact(j);
    TAP_STREQ(s, "[{\"container_port\":80,\"host_ip\":\"\",\"host_port\":8080,"
                 "\"protocol\":\"tcp\"},{\"container_port\":53,\"host_ip\":"
                 "\"::1\",\"host_port\":5353,\"protocol\":\"udp\"}]");
    _cleanup_free_ struct port_map *out = NULL;
    size_t n = 0;
    TAP_CHECK(ports_from_json(j, &out, &n) == 0 && n == 2);
    TAP_CHECK(memcmp(out, in, sizeof(in)) == 0);
    /* no list at all: none */
    TAP_CHECK(ports_from_json(NULL, &out, &n) == 0 && n == 2);
    _cleanup_json_ json_t *null = json_null();
    TAP_CHECK(ports_from_json(null, &out, &n) == 0 && n == 2);
    /* malformed records are refused and nothing is appended */
    const char *bad[] = {
        "{}",
        "[{\"host_ip\":\"\",\"host_port\":1,\"container_port\":1,"
        "\"protocol\":\"sctp\"}]",
        "[{\"host_ip\":\"\",\"host_port\":1,\"container_port\":0,"
        "\"protocol\":\"tcp\"}]",
        "[{\"host_ip\":\"\",\"host_port\":70000,\"container_port\":1,"
        "\"protocol\":\"tcp\"}]",
        "[{\"host_ip\":\"\",\"host_port\":\"1\",\"container_port\":1,"
        "\"protocol\":\"tcp\"}]",
        "[\"80\"]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        _cleanup_json_ json_t *b = json_loads(bad[i], 0, NULL);
        TAP_CHECK(b != NULL);
        TAP_CHECK(ports_from_json(b, &out, &n) < 0 && n == 2);
    }
    return 0;
}

static int test_renderings(void)
{
    struct port_map m[] = {
        {"", 8080, 80, "tcp"},          {"", 8081, 81, "tcp"},
        {"", 8082, 82, "tcp"},          {"", 5353, 53, "udp"},
        {"127.0.0.1", 9000, 90, "tcp"}, {"127.0.0.1", 9001, 91, "udp"},
        {"127.0.0.1", 9003, 92, "udp"}, {"::1", 7000, 70, "tcp"},
    };
    size_t n = sizeof(m) / sizeof(m[0]);
    _cleanup_free_ char *l0 = ports_port_line(&m[0]);
    _cleanup_free_ char *l4 = ports_port_line(&m[4]);
    _cleanup_free_ char *l7 = ports_port_line(&m[7]);
    TAP_STREQ(l0, "80/tcp -> 0.0.0.0:8080");
    TAP_STREQ(l4, "90/tcp -> 127.0.0.1:9000");
    TAP_STREQ(l7, "70/tcp -> ::1:7000");
    _cleanup_free_ char *ps = ports_ps_string(m, n);
    TAP_STREQ(ps, "0.0.0.0:8080-8082->80-82/tcp, 0.0.0.0:5353->53/udp, "
                  "127.0.0.1:9000->90/tcp, 127.0.0.1:9001->91/udp, "
                  "127.0.0.1:9003->92/udp, ::1:7000->70/tcp");
    _cleanup_free_ char *ps2 = ports_ps_string(m + 3, 1);
    TAP_STREQ(ps2, "0.0.0.0:5353->53/udp");
    _cleanup_free_ char *none = ports_ps_string(NULL, 0);
    TAP_STREQ(none, "");
    /* one container port published twice keeps both host bindings */
    struct port_map twice[] = {{"", 8080, 80, "tcp"},
                               {"127.0.0.1", 9090, 80, "tcp"},
                               {"", 5353, 53, "udp"}};
    _cleanup_json_ json_t *ins = ports_inspect_json(twice, 3);
    _cleanup_free_ char *s = json_dump_compact(ins);
    TAP_STREQ(s, "{\"53/udp\":[{\"HostIp\":\"\",\"HostPort\":\"5353\"}],"
                 "\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"},"
                 "{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"9090\"}]}");
    _cleanup_json_ json_t *empty = ports_inspect_json(NULL, 0);
    TAP_CHECK(json_is_object(empty) && json_object_size(empty) == 0);
    return 0;
}

TAP_MAIN({"parse: ctr, host:ctr, ip:host:ctr/proto, choose forms",
          test_parse_forms},
         {"parse: ranges, mismatched and reversed ranges", test_parse_ranges},
         {"parse: IPv6 in brackets, canonical form", test_parse_ipv6},
         {"parse: bad protocol, numbers, 0 and 65536 named",
          test_parse_errors},
         {"-P: exposed ports sorted, -p wins, bad keys", test_from_exposed},
         {"choose: free ports on 127.0.0.1, tcp and udp", test_choose_free},
         {"choose: a port in use is an error naming it", test_choose_in_use},
         {"choose: TIME_WAIT does not count as in use", test_choose_time_wait},
         {"JSON record round trip; malformed refused", test_json_round_trip},
         {"port, ps and inspect renderings", test_renderings})
