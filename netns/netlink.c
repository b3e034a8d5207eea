#define _GNU_SOURCE
#include "netns/netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* --- building requests --- */

/* The largest request we build (a veth pair) is about 100 bytes. */
#define NL_REQ_SIZE 1024
/* Big enough for one RTM_NEWLINK reply with its stats and an ACK. */
#define NL_RECV_SIZE 32768

struct nl_req {
    union {
        struct nlmsghdr hdr;
        char buf[NL_REQ_SIZE];
    } u;
};

static void nl_req_init(struct nl_req *r, int type, int flags)
{
    memset(r, 0, sizeof(*r));
    r->u.hdr.nlmsg_len = NLMSG_HDRLEN;
    r->u.hdr.nlmsg_type = (uint16_t)type;
    r->u.hdr.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | NLM_F_ACK | flags);
}

/* Append LEN bytes of DATA (zeros when NULL), aligned; return where they
 * went.  Overflow is a bug here (names are checked before), not input. */
static void *nl_append(struct nl_req *r, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(r->u.hdr.nlmsg_len);
    if (off + RTA_ALIGN(len) > sizeof(r->u.buf))
        abort();
    char *p = r->u.buf + off;
    memset(p, 0, RTA_ALIGN(len));
    if (data != NULL)
        memcpy(p, data, len);
    r->u.hdr.nlmsg_len = (uint32_t)(off + RTA_ALIGN(len));
    return p;
}

static struct rtattr *nl_attr(struct nl_req *r, int type, const void *data,
                              size_t len)
{
    struct rtattr *rta = nl_append(r, NULL, RTA_LENGTH(len));
    rta->rta_type = (unsigned short)type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    if (len > 0)
        memcpy(RTA_DATA(rta), data, len);
    return rta;
}

static void nl_attr_str(struct nl_req *r, int type, const char *s)
{
    nl_attr(r, type, s, strlen(s) + 1);
}

static void nl_attr_u32(struct nl_req *r, int type, uint32_t v)
{
    nl_attr(r, type, &v, sizeof(v));
}

/* A nested attribute: open it, append its contents, close it. */
static struct rtattr *nl_nest_open(struct nl_req *r, int type)
{
    return nl_attr(r, type, NULL, 0);
}

static void nl_nest_close(struct nl_req *r, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)(r->u.buf + r->u.hdr.nlmsg_len -
                                     (char *)nest);
}

static void nl_ifinfo(struct nl_req *r, int ifindex, unsigned flags,
                      unsigned change)
{
    struct ifinfomsg ifi = {
        .ifi_family = AF_UNSPEC,
        .ifi_index = ifindex,
        .ifi_flags = flags,
        .ifi_change = change,
    };
    nl_append(r, &ifi, sizeof(ifi));
}

/* --- talking to the kernel --- */

/* The kernel's own explanation (extended ACK, since Linux 4.12), e.g.
 * "ipv4: Address already present"; EXT is left empty when there is none. */
static void nl_extack(const struct nlmsghdr *h, char *ext, size_t extlen)
{
    const struct nlmsgerr *e = NLMSG_DATA(h);
    size_t off = NLMSG_HDRLEN + sizeof(*e);

    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
        return;
    /* Without NETLINK_CAP_ACK the request is echoed back before the TLVs. */
    if (!(h->nlmsg_flags & NLM_F_CAPPED))
        off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
    while (off + NLA_HDRLEN <= h->nlmsg_len) {
        const struct nlattr *a = (const struct nlattr *)((const char *)h + off);
        if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len)
            return;
        if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
            size_t n = a->nla_len - NLA_HDRLEN;
            const char *s = (const char *)a + NLA_HDRLEN;
            n = strnlen(s, n);
            if (n >= extlen)
                n = extlen - 1;
            memcpy(ext, s, n);
            ext[n] = '\0';
            return;
        }
        off += NLA_ALIGN(a->nla_len);
    }
}

/* Walk one datagram from the kernel.  Returns 1 when it held our ACK
 * (with *ret_error set to the kernel's 0 or -errno), 0 to read on, or
 * -errno when it is malformed.  The first reply message of our sequence
 * number, if any, is copied to REPLY. */
static int nl_scan(const char *buf, size_t n, uint32_t seq, char *reply,
                   size_t replylen, char *ext, size_t extlen, int *ret_error)
{
    size_t off = 0;
    while (off + NLMSG_HDRLEN <= n) {
        const struct nlmsghdr *h = (const struct nlmsghdr *)(buf + off);
        if (h->nlmsg_len < NLMSG_HDRLEN || off + h->nlmsg_len > n)
            return -EPROTO;
        off += NLMSG_ALIGN(h->nlmsg_len);
        if (h->nlmsg_seq != seq)
            continue;
        if (h->nlmsg_type == NLMSG_ERROR) {
            const struct nlmsgerr *e = NLMSG_DATA(h);
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                return -EPROTO;
            if (e->error < 0)
                nl_extack(h, ext, extlen);
            *ret_error = e->error > 0 ? -e->error : e->error;
            return 1;
        }
        if (h->nlmsg_type == NLMSG_DONE) {
            *ret_error = 0;
            return 1;
        }
        /* a zeroed REPLY has nlmsg_len 0 until the first answer */
        if (reply != NULL && h->nlmsg_len <= replylen &&
            ((const struct nlmsghdr *)reply)->nlmsg_len == 0)
            memcpy(reply, h, h->nlmsg_len);
    }
    return 0;
}

/* Send R on a fresh NETLINK_ROUTE socket and wait for its ACK.  Returns 0
 * or -errno (the kernel's, or the socket's); EXT gets the kernel's extended
 * message.  REPLY (optional, zeroed by the caller) receives the answer to
 * a GET request. */
static int nl_transact(struct nl_req *r, char *reply, size_t replylen,
                       char *ext, size_t extlen)
{
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buf = NULL;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    int one = 1;

    ext[0] = '\0';
    fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -errno;
    /* Both are optional: older kernels just give bare errnos. */
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));

    r->u.hdr.nlmsg_seq = 1;
    if (sendto(fd, r->u.buf, r->u.hdr.nlmsg_len, 0,
               (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return -errno;

    buf = xmalloc(NL_RECV_SIZE);
    for (;;) {
        struct sockaddr_nl from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, NL_RECV_SIZE, MSG_TRUNC,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if ((size_t)n > NL_RECV_SIZE)
            return -EMSGSIZE;
        if (from.nl_pid != 0) /* only the kernel may answer */
            continue;
        int kerr = 0;
        int done = nl_scan(buf, (size_t)n, r->u.hdr.nlmsg_seq, reply,
                           replylen, ext, extlen, &kerr);
        if (done < 0)
            return done;
        if (done > 0)
            return kerr;
    }
}

/* berth_error_new for a failed request: "WHAT: strerror (kernel text)". */
static int nl_fail(berth_error_t *err, int errnum, const char *ext,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int nl_fail(berth_error_t *err, int errnum, const char *ext,
                   const char *fmt, ...)
{
    _cleanup_free_ char *what = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (ext == NULL || ext[0] == '\0')
        return berth_error_new(err, errnum, "%s", what);
    berth_error_new(err, 0, "%s: %s (%s)", what, strerror(errnum), ext);
    if (err != NULL && *err != NULL)
        (*err)->errnum = errnum;
    return -1;
}

/* --- names and indices --- */

/* The kernel takes at most IFNAMSIZ-1 bytes and would say only EINVAL. */
static int nl_check_name(const char *name, const char *what,
                         berth_error_t *err)
{
    if (name == NULL || name[0] == '\0')
        return berth_error_new(err, 0, "%s: empty interface name", what);
    if (strlen(name) > IFNAMSIZ - 1)
        return berth_error_new(err, 0,
                               "%s: interface name \"%s\" is too long "
                               "(at most %d characters)",
                               what, name, IFNAMSIZ - 1);
    return 0;
}

static int nl_index(const char *name, const char *what, int *ret_index,
                    berth_error_t *err)
{
    if (nl_check_name(name, what, err) < 0)
        return -1;
    errno = 0;
    unsigned idx = if_nametoindex(name);
    if (idx == 0)
        return berth_error_new(err, errno ? errno : ENODEV,
                               "%s: device %s", what, name);
    *ret_index = (int)idx;
    return 0;
}

/* IFLA_INFO_KIND of device IFINDEX into KIND ("" for devices without
 * one, such as physical NICs). */
static int nl_link_kind(int ifindex, char *kind, size_t kindlen, char *ext,
                        size_t extlen)
{
    struct nl_req r;
    _cleanup_free_ char *reply = xcalloc(1, NL_RECV_SIZE);

    nl_req_init(&r, RTM_GETLINK, 0);
    nl_ifinfo(&r, ifindex, 0, 0);
    int ret = nl_transact(&r, reply, NL_RECV_SIZE, ext, extlen);
    if (ret < 0)
        return ret;
    kind[0] = '\0';
    const struct nlmsghdr *h = (const struct nlmsghdr *)reply;
    if (h->nlmsg_type != RTM_NEWLINK)
        return -EPROTO;
    int len = (int)h->nlmsg_len - NLMSG_LENGTH(sizeof(struct ifinfomsg));
    struct rtattr *a = IFLA_RTA(NLMSG_DATA(h));
    for (; len > 0 && RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type != IFLA_LINKINFO)
            continue;
        int ilen = (int)RTA_PAYLOAD(a);
        struct rtattr *i = RTA_DATA(a);
        for (; ilen > 0 && RTA_OK(i, ilen); i = RTA_NEXT(i, ilen)) {
            if (i->rta_type == IFLA_INFO_KIND) {
                size_t n = strnlen(RTA_DATA(i), RTA_PAYLOAD(i));
                if (n >= kindlen)
                    n = kindlen - 1;
                memcpy(kind, RTA_DATA(i), n);
                kind[n] = '\0';
            }
        }
    }
    return 0;
}

/* --- the public calls --- */

int nl_bridge_ensure(const char *name, berth_error_t *err)
{
    struct nl_req r;
    char ext[256];

    if (nl_check_name(name, "create bridge", err) < 0)
        return -1;
    nl_req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_ifinfo(&r, 0, 0, 0);
    nl_attr_str(&r, IFLA_IFNAME, name);
    struct rtattr *li = nl_nest_open(&r, IFLA_LINKINFO);
    nl_attr_str(&r, IFLA_INFO_KIND, "bridge");
    nl_nest_close(&r, li);

    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret == -EEXIST) {
        /* Any device of that name gives EEXIST; only a bridge will do, or
         * attaching veths to it fails later with a puzzling EOPNOTSUPP. */
        char kind[32];
        int idx = (int)if_nametoindex(name);
        if (idx > 0)
            ret = nl_link_kind(idx, kind, sizeof(kind), ext, sizeof(ext));
        if (idx > 0 && ret == 0 && strcmp(kind, "bridge") != 0)
            return berth_error_new(err, 0,
                                   "create bridge %s: a device of that name "
                                   "exists and is not a bridge (%s)",
                                   name, kind[0] ? kind : "no link kind");
    }
    if (ret < 0)
        return nl_fail(err, -ret, ext, "create bridge %s", name);
    return nl_link_up(name, err);
}

int nl_veth_create(const char *name, const char *peer_name, int peer_netns_fd,
                   berth_error_t *err)
{
    struct nl_req r;
    char ext[256];

    if (nl_check_name(name, "create veth", err) < 0 ||
        nl_check_name(peer_name, "create veth", err) < 0)
        return -1;
    nl_req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    nl_ifinfo(&r, 0, 0, 0);
    nl_attr_str(&r, IFLA_IFNAME, name);
    struct rtattr *li = nl_nest_open(&r, IFLA_LINKINFO);
    nl_attr_str(&r, IFLA_INFO_KIND, "veth");
    struct rtattr *data = nl_nest_open(&r, IFLA_INFO_DATA);
    /* The peer is described as a whole link message of its own. */
    struct rtattr *peer = nl_nest_open(&r, VETH_INFO_PEER);
    nl_ifinfo(&r, 0, 0, 0);
    nl_attr_str(&r, IFLA_IFNAME, peer_name);
    nl_attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
    nl_nest_close(&r, peer);
    nl_nest_close(&r, data);
    nl_nest_close(&r, li);

    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret < 0)
        return nl_fail(err, -ret, ext, "create veth pair %s/%s", name,
                       peer_name);
    return 0;
}

int nl_link_set_master(const char *name, const char *bridge,
                       berth_error_t *err)
{
    struct nl_req r;
    char ext[256];
    _cleanup_free_ char *what = xasprintf("attach %s to bridge %s", name,
                                          bridge ? bridge : "(null)");
    int idx, master;

    if (nl_index(name, what, &idx, err) < 0 ||
        nl_index(bridge, what, &master, err) < 0)
        return -1;
    nl_req_init(&r, RTM_NEWLINK, 0);
    nl_ifinfo(&r, idx, 0, 0);
    nl_attr_u32(&r, IFLA_MASTER, (uint32_t)master);
    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret < 0)
        return nl_fail(err, -ret, ext, "%s", what);
    return 0;
}

int nl_link_up(const char *name, berth_error_t *err)
{
    struct nl_req r;
    char ext[256];
    _cleanup_free_ char *what = xasprintf("set %s up", name ? name : "(null)");
    int idx;

    if (nl_index(name, what, &idx, err) < 0)
        return -1;
    nl_req_init(&r, RTM_NEWLINK, 0);
    nl_ifinfo(&r, idx, IFF_UP, IFF_UP);
    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret < 0)
        return nl_fail(err, -ret, ext, "%s", what);
    return 0;
}

int nl_link_delete(const char *name, berth_error_t *err)
{
    struct nl_req r;
    char ext[256];

    if (nl_check_name(name, "delete device", err) < 0)
        return -1;
    /* By name, not index: no window for the index to be reused. */
    nl_req_init(&r, RTM_DELLINK, 0);
    nl_ifinfo(&r, 0, 0, 0);
    nl_attr_str(&r, IFLA_IFNAME, name);
    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret == -ENODEV)
        return 0;
    if (ret < 0)
        return nl_fail(err, -ret, ext, "delete device %s", name);
    return 0;
}

bool nl_link_exists(const char *name)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > IFNAMSIZ - 1)
        return false;
    return if_nametoindex(name) != 0;
}

static int nl_parse_ipv4(const char *s, struct in_addr *ret, const char *what,
                         berth_error_t *err)
{
    if (s == NULL || inet_pton(AF_INET, s, ret) != 1)
        return berth_error_new(err, 0, "%s: \"%s\" is not an IPv4 address",
                               what, s ? s : "(null)");
    return 0;
}

int nl_addr_add(const char *name, const char *addr, int prefix,
                berth_error_t *err)
{
    struct nl_req r;
    char ext[256];
    struct in_addr a;
    _cleanup_free_ char *what = xasprintf(
        "add address %s/%d to %s", addr ? addr : "(null)", prefix,
        name ? name : "(null)");
    int idx;

    if (nl_parse_ipv4(addr, &a, what, err) < 0)
        return -1;
    if (prefix < 0 || prefix > 32)
        return berth_error_new(err, 0, "%s: prefix length must be 0-32",
                               what);
    if (nl_index(name, what, &idx, err) < 0)
        return -1;

    /* NLM_F_REPLACE: an identical address is refreshed instead of EEXIST
     * (inet_rtm_newaddr), so a retried setup succeeds. */
    nl_req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE);
    struct ifaddrmsg ifa = {
        .ifa_family = AF_INET,
        .ifa_prefixlen = (unsigned char)prefix,
        .ifa_scope = RT_SCOPE_UNIVERSE,
        .ifa_index = (unsigned)idx,
    };
    nl_append(&r, &ifa, sizeof(ifa));
    nl_attr(&r, IFA_LOCAL, &a, sizeof(a));
    nl_attr(&r, IFA_ADDRESS, &a, sizeof(a));
    if (prefix < 31) {
        /* /31 and /32 have no broadcast address (RFC 3021) */
        struct in_addr b = a;
        uint32_t mask = prefix == 0 ? 0 : htonl(~0u << (32 - prefix));
        b.s_addr |= ~mask;
        nl_attr(&r, IFA_BROADCAST, &b, sizeof(b));
    }
    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret < 0)
        return nl_fail(err, -ret, ext, "%s", what);
    return 0;
}

int nl_route_add_default(const char *name, const char *gateway,
                         berth_error_t *err)
{
    struct nl_req r;
    char ext[256];
    struct in_addr gw;
    _cleanup_free_ char *what = xasprintf(
        "add default route via %s on %s", gateway ? gateway : "(null)",
        name ? name : "(null)");
    int idx;

    if (nl_parse_ipv4(gateway, &gw, what, err) < 0 ||
        nl_index(name, what, &idx, err) < 0)
        return -1;

    /* NLM_F_REPLACE: a namespace has one default route; a second setup
     * (or one left by an earlier attempt) is replaced, not EEXIST. */
    nl_req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE);
    struct rtmsg rtm = {
        .rtm_family = AF_INET,
        .rtm_dst_len = 0,
        .rtm_table = RT_TABLE_MAIN,
        .rtm_protocol = RTPROT_BOOT,
        .rtm_scope = RT_SCOPE_UNIVERSE,
        .rtm_type = RTN_UNICAST,
    };
    nl_append(&r, &rtm, sizeof(rtm));
    nl_attr(&r, RTA_GATEWAY, &gw, sizeof(gw));
    nl_attr_u32(&r, RTA_OIF, (uint32_t)idx);
    int ret = nl_transact(&r, NULL, 0, ext, sizeof(ext));
    if (ret < 0)
        return nl_fail(err, -ret, ext, "%s", what);
    return 0;
}
