#define _GNU_SOURCE
#include "netns/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ifaddrs.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "tests/unit/tap.h"

/* Every case runs in a forked child inside network namespaces of its own
 * (and a user namespace when unprivileged), so nothing here can touch the
 * host's links, addresses or routes.  The child reports by exit status. */

/* --- private namespaces --- */

static int nlt_write(const char *path, const char *data)
{
    _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t n = strlen(data);
    return write(fd, data, n) == (ssize_t)n ? 0 : -1;
}

/* A user namespace in which we are root, with a new network namespace:
 * what rootless berth gets. */
static int nlt_enter_userns(void)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    char map[64];

    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
        fprintf(stderr, "# no user+network namespace: %s\n", strerror(errno));
        return 77;
    }
    /* an unprivileged gid_map needs setgroups denied (since Linux 3.19) */
    if (nlt_write("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
    if (nlt_write("/proc/self/uid_map", map) < 0)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
    if (nlt_write("/proc/self/gid_map", map) < 0)
        return -1;
    return 0;
}

static int nlt_enter_private(void)
{
    if (geteuid() == 0 && unshare(CLONE_NEWNET) == 0)
        return 0;
    return nlt_enter_userns();
}

/* As the unprivileged test user when we are root, to exercise the rootless
 * path for real; 77 when there is no such user. */
static int nlt_enter_rootless(void)
{
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("berthtest");
        if (pw == NULL) {
            fprintf(stderr, "# no user berthtest: skipping\n");
            return 77;
        }
        if (setgroups(0, NULL) < 0 ||
            setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
            return -1;
        /* /proc/self/uid_map is root's to write while not dumpable */
        prctl(PR_SET_DUMPABLE, 1);
    }
    return nlt_enter_userns();
}

static int nlt_fork(int (*enter)(void), int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int r = enter();
        if (r == 0)
            r = fn();
        fflush(NULL);
        _exit(r == 0 ? 0 : r == 77 ? 77 : 1);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st) == 0 ? 0 : WEXITSTATUS(st) == 77 ? 77 : -1;
}

#define NLT_CASE(name)                                                         \
    static int name(void)                                                      \
    {                                                                          \
        return nlt_fork(nlt_enter_private, name##_body);                       \
    }

/* Two network namespaces: A, where the child already is (the "host" side),
 * and a fresh B (the "container"); the child is back in A on return. */
struct nlt_ns {
    int a, b;
};

static int nlt_second_netns(struct nlt_ns *ns)
{
    ns->a = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns->a < 0 || unshare(CLONE_NEWNET) < 0)
        return -1;
    ns->b = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ns->b < 0 || setns(ns->a, CLONE_NEWNET) < 0)
        return -1;
    return 0;
}

/* --- looking at the kernel's state, not through netns/netlink.c --- */

static bool nlt_ok(int r, berth_error_t *e)
{
    if (r == 0 && *e == NULL)
        return true;
    fprintf(stderr, "# unexpected: r=%d %s\n", r, *e ? (*e)->msg : "");
    berth_error_free(e);
    return false;
}

/* r must be a failure whose message holds both needles (b optional). */
static bool nlt_fails(int r, berth_error_t *e, const char *a, const char *b)
{
    bool ok = r < 0 && *e != NULL && strstr((*e)->msg, a) != NULL &&
              (b == NULL || strstr((*e)->msg, b) != NULL);
    if (!ok)
        fprintf(stderr, "# wanted an error with \"%s\": r=%d %s\n", a, r,
                *e ? (*e)->msg : "(no error)");
    berth_error_free(e);
    return ok;
}

/* SIOCGIFFLAGS; -1 when there is no such device. */
static int nlt_flags(const char *name)
{
    struct ifreq ifr = {0};
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    return ifr.ifr_flags & 0xffff;
}

static bool nlt_is_up(const char *name)
{
    int f = nlt_flags(name);
    return f >= 0 && (f & IFF_UP);
}

/* IFLA_MASTER and IFLA_INFO_KIND of NAME from RTM_GETLINK. */
static int nlt_getlink(const char *name, int *ret_master, char *kind,
                       size_t kindlen)
{
    struct {
        struct nlmsghdr h;
        struct ifinfomsg i;
    } req = {
        .h = {.nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
              .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 7},
        .i = {.ifi_family = AF_UNSPEC, .ifi_index = (int)if_nametoindex(name)},
    };
    static char buf[32768] __attribute__((aligned(4)));
    _cleanup_close_ int fd =
        socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

    if (fd < 0 || req.i.ifi_index == 0 || send(fd, &req, sizeof(req), 0) < 0)
        return -1;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    struct nlmsghdr *h = (struct nlmsghdr *)buf;
    if (n < (ssize_t)NLMSG_HDRLEN || h->nlmsg_type != RTM_NEWLINK)
        return -1;
    *ret_master = 0;
    kind[0] = '\0';
    int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(struct ifinfomsg));
    for (struct rtattr *a = IFLA_RTA(NLMSG_DATA(h)); RTA_OK(a, len);
         a = RTA_NEXT(a, len)) {
        if (a->rta_type == IFLA_MASTER)
            memcpy(ret_master, RTA_DATA(a), sizeof(int));
        if (a->rta_type != IFLA_LINKINFO)
            continue;
        int ilen = (int)RTA_PAYLOAD(a);
        for (struct rtattr *i = RTA_DATA(a); RTA_OK(i, ilen);
             i = RTA_NEXT(i, ilen))
            if (i->rta_type == IFLA_INFO_KIND)
                snprintf(kind, kindlen, "%.*s", (int)RTA_PAYLOAD(i),
                         (char *)RTA_DATA(i));
    }
    return 0;
}

static bool nlt_kind_is(const char *name, const char *want)
{
    int master;
    char kind[32];
    return nlt_getlink(name, &master, kind, sizeof(kind)) == 0 &&
           strcmp(kind, want) == 0;
}

/* How many times ADDR/PREFIX is on NAME, per getifaddrs. */
static int nlt_addr_count(const char *name, const char *addr, int prefix)
{
    struct ifaddrs *all = NULL;
    struct in_addr want, mask = {0};
    int n = 0;

    inet_pton(AF_INET, addr, &want);
    if (prefix > 0)
        mask.s_addr = htonl(~0u << (32 - prefix));
    if (getifaddrs(&all) < 0)
        return -1;
    for (struct ifaddrs *i = all; i != NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET ||
            strcmp(i->ifa_name, name) != 0)
            continue;
        struct sockaddr_in *a = (struct sockaddr_in *)i->ifa_addr;
        struct sockaddr_in *m = (struct sockaddr_in *)i->ifa_netmask;
        if (a->sin_addr.s_addr == want.s_addr && m != NULL &&
            m->sin_addr.s_addr == mask.s_addr)
            n++;
    }
    freeifaddrs(all);
    return n;
}

/* Default routes via GATEWAY on NAME in /proc/net/route, which shows the
 * reading task's network namespace. */
static int nlt_default_routes(const char *name, const char *gateway)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
    char line[256], dev[IFNAMSIZ + 1];
    unsigned dst, gw, flags, mask;
    struct in_addr want;
    int n = 0;

    inet_pton(AF_INET, gateway, &want);
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        /* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
        if (sscanf(line, "%16s %x %x %x %*d %*u %*d %x", dev, &dst, &gw,
                   &flags, &mask) != 5)
            continue;
        if (strcmp(dev, name) == 0 && dst == 0 && mask == 0 &&
            gw == want.s_addr && (flags & 0x3) == 0x3) /* RTF_UP|GATEWAY */
            n++;
    }
    return n;
}

/* --- the cases --- */

static int test_bridge_body(void)
{
    berth_error_t e = NULL;
    TAP_CHECK(!nl_link_exists("bt0"));
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bt0", &e), &e));
    TAP_CHECK(nl_link_exists("bt0"));
    TAP_CHECK(nlt_is_up("bt0"));
    TAP_CHECK(nlt_kind_is("bt0", "bridge"));
    unsigned idx = if_nametoindex("bt0");
    /* again: the same bridge, still up */
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bt0", &e), &e));
    TAP_CHECK(if_nametoindex("bt0") == idx && nlt_is_up("bt0"));
    /* an existing bridge that is down is set up */
    struct ifreq ifr = {0};
    _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "bt0");
    ifr.ifr_flags = 0;
    TAP_CHECK(ioctl(fd, SIOCSIFFLAGS, &ifr) == 0 && !nlt_is_up("bt0"));
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bt0", &e), &e));
    TAP_CHECK(if_nametoindex("bt0") == idx && nlt_is_up("bt0"));
    return 0;
}
NLT_CASE(test_bridge)

static int test_bridge_name_taken_body(void)
{
    berth_error_t e = NULL;
    _cleanup_close_ int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    TAP_CHECK(self >= 0);
    /* a veth pair with both ends here takes the name */
    TAP_CHECK(nlt_ok(nl_veth_create("vx0", "vx1", self, &e), &e));
    TAP_CHECK(nlt_kind_is("vx0", "veth") && nlt_kind_is("vx1", "veth"));
    TAP_CHECK(nlt_fails(nl_bridge_ensure("vx0", &e), &e,
                        "create bridge vx0: ", "not a bridge (veth)"));
    TAP_CHECK(nlt_kind_is("vx0", "veth"));
    return 0;
}
NLT_CASE(test_bridge_name_taken)

static int test_veth_body(void)
{
    berth_error_t e = NULL;
    struct nlt_ns ns;
    TAP_CHECK(nlt_second_netns(&ns) == 0);
    TAP_CHECK(nlt_ok(nl_veth_create("vh0", "eth0", ns.b, &e), &e));
    /* our end here, the peer only over there, neither up */
    TAP_CHECK(nl_link_exists("vh0") && !nl_link_exists("eth0"));
    TAP_CHECK(nlt_kind_is("vh0", "veth") && !nlt_is_up("vh0"));
    TAP_CHECK(setns(ns.b, CLONE_NEWNET) == 0);
    TAP_CHECK(nl_link_exists("eth0") && !nl_link_exists("vh0"));
    TAP_CHECK(nlt_kind_is("eth0", "veth") && !nlt_is_up("eth0"));
    TAP_CHECK(setns(ns.a, CLONE_NEWNET) == 0);
    /* a second pair of the same names is refused, naming both */
    TAP_CHECK(nlt_fails(nl_veth_create("vh0", "eth0", ns.b, &e), &e,
                        "create veth pair vh0/eth0: ", "File exists"));
    /* so is a clash on the peer's side only */
    TAP_CHECK(nlt_fails(nl_veth_create("vh1", "eth0", ns.b, &e), &e,
                        "create veth pair vh1/eth0: ", "File exists"));
    TAP_CHECK(!nl_link_exists("vh1"));
    TAP_CHECK(nlt_fails(nl_veth_create("vh2", "eth1", -1, &e), &e,
                        "create veth pair vh2/eth1: ", NULL));
    close(ns.a);
    close(ns.b);
    return 0;
}
NLT_CASE(test_veth)

static int test_master_and_up_body(void)
{
    berth_error_t e = NULL;
    struct nlt_ns ns;
    int master;
    char kind[32];
    TAP_CHECK(nlt_second_netns(&ns) == 0);
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bm0", &e), &e));
    TAP_CHECK(nlt_ok(nl_veth_create("vm0", "eth0", ns.b, &e), &e));
    TAP_CHECK(nlt_ok(nl_link_set_master("vm0", "bm0", &e), &e));
    TAP_CHECK(nlt_getlink("vm0", &master, kind, sizeof(kind)) == 0);
    TAP_CHECK(master == (int)if_nametoindex("bm0"));
    TAP_CHECK(nlt_ok(nl_link_set_master("vm0", "bm0", &e), &e));
    TAP_CHECK(nlt_ok(nl_link_up("vm0", &e), &e));
    TAP_CHECK(nlt_is_up("vm0"));
    TAP_CHECK(nlt_ok(nl_link_up("vm0", &e), &e));
    TAP_CHECK(nlt_is_up("vm0"));
    /* the peer is brought up from its own namespace */
    TAP_CHECK(setns(ns.b, CLONE_NEWNET) == 0);
    TAP_CHECK(!nlt_is_up("eth0"));
    TAP_CHECK(nlt_ok(nl_link_up("eth0", &e), &e));
    TAP_CHECK(nlt_is_up("eth0"));
    TAP_CHECK(setns(ns.a, CLONE_NEWNET) == 0);
    /* missing devices are named */
    TAP_CHECK(nlt_fails(nl_link_set_master("vm0", "nobr0", &e), &e,
                        "attach vm0 to bridge nobr0: device nobr0: ",
                        "No such device"));
    TAP_CHECK(nlt_fails(nl_link_set_master("nodev0", "bm0", &e), &e,
                        "attach nodev0 to bridge bm0: device nodev0: ",
                        "No such device"));
    TAP_CHECK(nlt_fails(nl_link_up("nodev0", &e), &e,
                        "set nodev0 up: device nodev0: No such device", NULL));
    /* a master that is not a bridge (or bond, ...) */
    TAP_CHECK(nlt_fails(nl_link_set_master("bm0", "lo", &e), &e,
                        "attach bm0 to bridge lo: ", NULL));
    close(ns.a);
    close(ns.b);
    return 0;
}
NLT_CASE(test_master_and_up)

static int test_delete_body(void)
{
    berth_error_t e = NULL;
    struct nlt_ns ns;
    TAP_CHECK(nlt_second_netns(&ns) == 0);
    TAP_CHECK(nlt_ok(nl_veth_create("vd0", "eth0", ns.b, &e), &e));
    TAP_CHECK(nlt_ok(nl_link_delete("vd0", &e), &e));
    TAP_CHECK(!nl_link_exists("vd0"));
    /* a veth pair goes as a whole: the peer went with it */
    TAP_CHECK(setns(ns.b, CLONE_NEWNET) == 0);
    TAP_CHECK(!nl_link_exists("eth0"));
    TAP_CHECK(setns(ns.a, CLONE_NEWNET) == 0);
    TAP_CHECK(nlt_ok(nl_link_delete("vd0", &e), &e));
    TAP_CHECK(nlt_ok(nl_link_delete("never0", &e), &e));
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bd0", &e), &e));
    TAP_CHECK(nlt_ok(nl_link_delete("bd0", &e), &e));
    TAP_CHECK(!nl_link_exists("bd0"));
    /* lo cannot be deleted: a real error, named */
    TAP_CHECK(nlt_fails(nl_link_delete("lo", &e), &e,
                        "delete device lo: ", NULL));
    TAP_CHECK(nl_link_exists("lo"));
    close(ns.a);
    close(ns.b);
    return 0;
}
NLT_CASE(test_delete)

static int test_addr_body(void)
{
    berth_error_t e = NULL;
    TAP_CHECK(nlt_ok(nl_bridge_ensure("ba0", &e), &e));
    TAP_CHECK(nlt_ok(nl_addr_add("ba0", "10.99.0.1", 24, &e), &e));
    TAP_CHECK(nlt_addr_count("ba0", "10.99.0.1", 24) == 1);
    /* again: still exactly one */
    TAP_CHECK(nlt_ok(nl_addr_add("ba0", "10.99.0.1", 24, &e), &e));
    TAP_CHECK(nlt_addr_count("ba0", "10.99.0.1", 24) == 1);
    /* the broadcast address the kernel recorded */
    struct ifaddrs *all = NULL;
    bool brd = false;
    TAP_CHECK(getifaddrs(&all) == 0);
    for (struct ifaddrs *i = all; i != NULL; i = i->ifa_next)
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
            strcmp(i->ifa_name, "ba0") == 0 && (i->ifa_flags & IFF_BROADCAST) &&
            i->ifa_broadaddr != NULL)
            brd = ((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr.s_addr ==
                  inet_addr("10.99.0.255");
    freeifaddrs(all);
    TAP_CHECK(brd);
    /* a /32 and a /31 on the same device, no broadcast needed */
    TAP_CHECK(nlt_ok(nl_addr_add("ba0", "10.98.0.7", 32, &e), &e));
    TAP_CHECK(nlt_addr_count("ba0", "10.98.0.7", 32) == 1);
    TAP_CHECK(nlt_ok(nl_addr_add("ba0", "10.97.0.0", 31, &e), &e));
    TAP_CHECK(nlt_addr_count("ba0", "10.97.0.0", 31) == 1);
    /* bad input and missing devices, named */
    TAP_CHECK(nlt_fails(nl_addr_add("ba0", "10.99.0.300", 24, &e), &e,
                        "add address 10.99.0.300/24 to ba0: ",
                        "not an IPv4 address"));
    TAP_CHECK(nlt_fails(nl_addr_add("ba0", "fd00::1", 64, &e), &e,
                        "fd00::1", "not an IPv4 address"));
    TAP_CHECK(nlt_fails(nl_addr_add("ba0", "10.99.0.1", 33, &e), &e,
                        "10.99.0.1/33 to ba0", "prefix length"));
    TAP_CHECK(nlt_fails(nl_addr_add("noaddr0", "10.99.0.1", 24, &e), &e,
                        "to noaddr0: device noaddr0: No such device", NULL));
    return 0;
}
NLT_CASE(test_addr)

static int test_route_body(void)
{
    berth_error_t e = NULL;
    struct nlt_ns ns;
    TAP_CHECK(nlt_second_netns(&ns) == 0);
    TAP_CHECK(nlt_ok(nl_veth_create("vr0", "eth0", ns.b, &e), &e));
    TAP_CHECK(setns(ns.b, CLONE_NEWNET) == 0);
    TAP_CHECK(nlt_ok(nl_addr_add("eth0", "10.99.0.2", 24, &e), &e));
    /* the kernel refuses a gateway route on a link that is down */
    TAP_CHECK(nlt_fails(nl_route_add_default("eth0", "10.99.0.1", &e), &e,
                        "add default route via 10.99.0.1 on eth0: ", NULL));
    TAP_CHECK(nlt_ok(nl_link_up("eth0", &e), &e));
    TAP_CHECK(nlt_default_routes("eth0", "10.99.0.1") == 0);
    TAP_CHECK(nlt_ok(nl_route_add_default("eth0", "10.99.0.1", &e), &e));
    TAP_CHECK(nlt_default_routes("eth0", "10.99.0.1") == 1);
    /* again, and then via another gateway: one default route each time */
    TAP_CHECK(nlt_ok(nl_route_add_default("eth0", "10.99.0.1", &e), &e));
    TAP_CHECK(nlt_default_routes("eth0", "10.99.0.1") == 1);
    TAP_CHECK(nlt_ok(nl_route_add_default("eth0", "10.99.0.254", &e), &e));
    TAP_CHECK(nlt_default_routes("eth0", "10.99.0.254") == 1);
    TAP_CHECK(nlt_default_routes("eth0", "10.99.0.1") == 0);
    /* a gateway off every attached subnet */
    TAP_CHECK(nlt_fails(nl_route_add_default("eth0", "192.0.2.1", &e), &e,
                        "add default route via 192.0.2.1 on eth0: ", NULL));
    TAP_CHECK(nlt_fails(nl_route_add_default("eth0", "gw", &e), &e,
                        "\"gw\" is not an IPv4 address", NULL));
    TAP_CHECK(nlt_fails(nl_route_add_default("eth9", "10.99.0.1", &e), &e,
                        "on eth9: device eth9: No such device", NULL));
    TAP_CHECK(setns(ns.a, CLONE_NEWNET) == 0);
    /* nothing leaked into A */
    TAP_CHECK(nlt_default_routes("vr0", "10.99.0.1") == 0);
    close(ns.a);
    close(ns.b);
    return 0;
}
NLT_CASE(test_route)

static int test_names_body(void)
{
    berth_error_t e = NULL;
    const char *too_long = "bridge-name-16ch"; /* IFNAMSIZ - 1 is 15 */
    TAP_CHECK(strlen(too_long) == IFNAMSIZ);
    TAP_CHECK(nlt_fails(nl_bridge_ensure(too_long, &e), &e,
                        "create bridge: interface name \"bridge-name-16ch\" "
                        "is too long (at most 15 characters)",
                        NULL));
    TAP_CHECK(nlt_fails(nl_veth_create("v0", too_long, 0, &e), &e,
                        "\"bridge-name-16ch\" is too long", NULL));
    TAP_CHECK(nlt_fails(nl_veth_create(too_long, "v1", 0, &e), &e,
                        "\"bridge-name-16ch\" is too long", NULL));
    TAP_CHECK(nlt_fails(nl_link_up(too_long, &e), &e,
                        "\"bridge-name-16ch\" is too long", NULL));
    TAP_CHECK(nlt_fails(nl_link_set_master("lo", too_long, &e), &e,
                        "\"bridge-name-16ch\" is too long", NULL));
    TAP_CHECK(nlt_fails(nl_link_delete(too_long, &e), &e,
                        "\"bridge-name-16ch\" is too long", NULL));
    TAP_CHECK(nlt_fails(nl_addr_add(too_long, "10.0.0.1", 8, &e), &e,
                        "\"bridge-name-16ch\" is too long", NULL));
    TAP_CHECK(nlt_fails(nl_bridge_ensure("", &e), &e, "empty", NULL));
    TAP_CHECK(!nl_link_exists(too_long) && !nl_link_exists(""));
    /* 15 characters is the most the kernel takes, and it does */
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bridge-name-15c", &e), &e));
    TAP_CHECK(nl_link_exists("bridge-name-15c"));
    /* the kernel's own refusal (dev_valid_name) still names the device */
    TAP_CHECK(nlt_fails(nl_bridge_ensure("a/b", &e), &e,
                        "create bridge a/b: ", NULL));
    return 0;
}
NLT_CASE(test_names)

/* The whole wiring as berth does it, then a UDP datagram from the
 * container's namespace (B) to the bridge's address in A. */
static int nlt_wire_and_send(void)
{
    berth_error_t e = NULL;
    struct nlt_ns ns;
    TAP_CHECK(nlt_second_netns(&ns) == 0);
    TAP_CHECK(nlt_ok(nl_bridge_ensure("bn0", &e), &e));
    TAP_CHECK(nlt_ok(nl_addr_add("bn0", "10.99.0.1", 24, &e), &e));
    TAP_CHECK(nlt_ok(nl_veth_create("vn0", "eth0", ns.b, &e), &e));
    TAP_CHECK(nlt_ok(nl_link_set_master("vn0", "bn0", &e), &e));
    TAP_CHECK(nlt_ok(nl_link_up("vn0", &e), &e));

    /* the receiver lives in A */
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(4789)};
    inet_pton(AF_INET, "10.99.0.1", &to.sin_addr);
    _cleanup_close_ int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    TAP_CHECK(rx >= 0 && bind(rx, (struct sockaddr *)&to, sizeof(to)) == 0);

    TAP_CHECK(setns(ns.b, CLONE_NEWNET) == 0);
    TAP_CHECK(nlt_ok(nl_link_up("eth0", &e), &e));
    TAP_CHECK(nlt_ok(nl_addr_add("eth0", "10.99.0.2", 24, &e), &e));
    TAP_CHECK(nlt_ok(nl_route_add_default("eth0", "10.99.0.1", &e), &e));
    _cleanup_close_ int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    TAP_CHECK(tx >= 0);
    TAP_CHECK(setns(ns.a, CLONE_NEWNET) == 0);

    /* The links' carrier comes up asynchronously (linkwatch); until then
     * the first ARP may be dropped, so resend until the datagram shows up
     * or 10 s pass. */
    char got[32] = "";
    struct sockaddr_in from;
    socklen_t fromlen = sizeof(from);
    ssize_t n = -1;
    for (int tries = 0; tries < 20 && n < 0; tries++) {
        TAP_CHECK(sendto(tx, "hello from B", 12, 0, (struct sockaddr *)&to,
                         sizeof(to)) == 12);
        struct pollfd p = {.fd = rx, .events = POLLIN};
        if (poll(&p, 1, 500) == 1)
            n = recvfrom(rx, got, sizeof(got) - 1, 0,
                         (struct sockaddr *)&from, &fromlen);
    }
    TAP_CHECK(n == 12);
    got[n] = '\0';
    TAP_STREQ(got, "hello from B");
    TAP_CHECK(from.sin_addr.s_addr == inet_addr("10.99.0.2"));
    close(ns.a);
    close(ns.b);
    return 0;
}

static int test_traffic(void)
{
    return nlt_fork(nlt_enter_private, nlt_wire_and_send);
}

static int test_traffic_rootless(void)
{
    return nlt_fork(nlt_enter_rootless, nlt_wire_and_send);
}

TAP_MAIN({"bridge: created, up, idempotent", test_bridge},
         {"bridge: a name taken by another kind of device",
          test_bridge_name_taken},
         {"veth: peer created in another namespace", test_veth},
         {"master and up", test_master_and_up},
         {"delete, and missing devices are fine", test_delete},
         {"addresses", test_addr},
         {"default route", test_route},
         {"interface names: too long, empty, invalid", test_names},
         {"traffic from the container namespace reaches the bridge",
          test_traffic},
         {"the same wiring rootless, in a user namespace",
          test_traffic_rootless})
