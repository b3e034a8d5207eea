/* slirp4netns for the container's network namespace, and the ports it
 * forwards (see "Network" in monitor.h). */
#define _GNU_SOURCE
#include "monitor/monitor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NET_READY_MS 10000
#define NET_LOG "slirp4netns.log"
#define NET_API "slirp.sock"
#define UDP_SESSIONS 16
#define UDP_IDLE_S 60

struct udp_session {
    int fd; /* in the container's namespace, connected to its port */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    time_t last;
};

struct monitor_udp {
    int fd; /* bound on the host */
    int ctr_port;
    struct udp_session s[UDP_SESSIONS];
};

static time_t net_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec;
}

static int udp_bind(struct monitor_net *n, const char *ip, int hp, int cp,
                    char *err)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    bool v6 = strchr(ip, ':') != NULL;
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)hp);
        if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1)
            return monitor_err(err, 0, "invalid address %s", ip);
        len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)hp);
        if (ip[0] && inet_pton(AF_INET, ip, &a->sin_addr) != 1)
            return monitor_err(err, 0, "invalid address %s", ip);
        len = sizeof *a;
    }
    int fd = socket(v6 ? AF_INET6 : AF_INET,
                    SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return monitor_err(err, e, "cannot listen on the UDP port %d", hp);
    }
    struct monitor_udp *u = realloc(n->udp, (n->n_udp + 1) * sizeof *u);
    if (u == NULL) {
        close(fd);
        return monitor_err(err, ENOMEM, "udp");
    }
    n->udp = u;
    u = &n->udp[n->n_udp++];
    memset(u, 0, sizeof *u);
    u->fd = fd;
    u->ctr_port = cp;
    for (size_t i = 0; i < UDP_SESSIONS; i++)
        u->s[i].fd = -1;
    return 0;
}

/* A socket in the container's network namespace connected to its port:
 * made there (setns and back), used from here. */
static int udp_ctr_socket(struct monitor_net *n, int port)
{
    int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return -1;
    int fd = -1;
    if (setns(n->ctr_ns, CLONE_NEWNET) == 0) {
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
            close(fd);
            fd = -1;
        }
        if (setns(self, CLONE_NEWNET) < 0)
            monitor_warn("udp: back to our network namespace: %s",
                         strerror(errno));
    }
    close(self);
    return fd;
}

/* A datagram from a host client: through that client's session. */
static void udp_from_host(struct monitor_net *n, struct monitor_udp *u)
{
    char buf[65536];
    struct sockaddr_storage peer;
    for (;;) {
        socklen_t plen = sizeof peer;
        ssize_t len = recvfrom(u->fd, buf, sizeof buf, 0,
                               (struct sockaddr *)&peer, &plen);
        if (len < 0)
            return;
        struct udp_session *s = NULL, *oldest = &u->s[0];
        for (size_t i = 0; i < UDP_SESSIONS && s == NULL; i++) {
            struct udp_session *x = &u->s[i];
            if (x->fd >= 0 && x->peer_len == plen &&
                memcmp(&x->peer, &peer, plen) == 0)
                s = x;
            else if (x->fd < 0 || (oldest->fd >= 0 && x->last < oldest->last))
                oldest = x;
        }
        if (s == NULL) {
            s = oldest;
            if (s->fd >= 0)
                close(s->fd);
            s->fd = udp_ctr_socket(n, u->ctr_port);
            if (s->fd < 0)
                continue;
            s->peer = peer;
            s->peer_len = plen;
        }
        s->last = net_now();
        (void)!send(s->fd, buf, (size_t)len, 0);
    }
}

/* Replies from the container: back to the client from the host port. */
static void udp_from_ctr(struct monitor_udp *u, struct udp_session *s)
{
    char buf[65536];
    ssize_t len;
    while ((len = recv(s->fd, buf, sizeof buf, 0)) >= 0) {
        s->last = net_now();
        (void)!sendto(u->fd, buf, (size_t)len, 0, (struct sockaddr *)&s->peer,
                      s->peer_len);
    }
}

size_t monitor_net_nfds(const struct monitor_net *n)
{
    return n ? n->n_udp * (1 + UDP_SESSIONS) : 0;
}

size_t monitor_net_pollfds(const struct monitor_net *n, struct pollfd *p)
{
    size_t k = 0;
    for (size_t i = 0; n && i < n->n_udp; i++) {
        p[k++] = (struct pollfd){.fd = n->udp[i].fd, .events = POLLIN};
        for (size_t j = 0; j < UDP_SESSIONS; j++)
            p[k++] = (struct pollfd){.fd = n->udp[i].s[j].fd, .events = POLLIN};
    }
    return k;
}

void monitor_net_events(struct monitor_net *n, const struct pollfd *p,
                        size_t count)
{
    time_t now = net_now();
    size_t k = 0;
    for (size_t i = 0; i < n->n_udp && k < count; i++) {
        struct monitor_udp *u = &n->udp[i];
        if (p[k++].revents)
            udp_from_host(n, u);
        for (size_t j = 0; j < UDP_SESSIONS; j++, k++) {
            struct udp_session *s = &u->s[j];
            if (s->fd >= 0 && p[k].fd == s->fd && p[k].revents)
                udp_from_ctr(u, s);
            if (s->fd >= 0 && now - s->last > UDP_IDLE_S) {
                close(s->fd);
                s->fd = -1;
            }
        }
    }
}

/* The last non-empty line slirp4netns wrote, for an error message. */
static void net_last_message(const struct monitor_opts *o, char *buf,
                             size_t len)
{
    char path[4096], data[4096];
    snprintf(path, sizeof path, "%s/%s", o->net_dir, NET_LOG);
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof data - 1 ? end - (off_t)sizeof data + 1 : 0;
    ssize_t n = pread(fd, data, sizeof data - 1, start);
    close(fd);
    if (n <= 0)
        return;
    data[n] = '\0';
    while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
        data[--n] = '\0';
    const char *line = strrchr(data, '\n');
    line = line ? line + 1 : data;
    size_t l = strlen(line) < len - 1 ? strlen(line) : len - 1;
    memcpy(buf, line, l);
    buf[l] = '\0';
}

/* One request on the API socket (ours in --net-dir, or --slirp-api); the
 * reply's "error" desc is the error, its "id" goes to *ret_id. */
static int net_api(const struct monitor_opts *o, const char *req, int *ret_id,
                   char *err)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    char dir[4096];
    const char *name = NET_API;
    snprintf(dir, sizeof dir, "%s", o->slirp_api ? o->slirp_api : o->net_dir);
    if (o->slirp_api) {
        char *sl = strrchr(dir, '/');
        if (sl == NULL)
            return monitor_err(err, 0, "invalid --slirp-api %s", o->slirp_api);
        *sl = '\0';
        name = strrchr(o->slirp_api, '/') + 1;
    }
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return monitor_err(err, errno, "open %s", dir);
    /* the directory may be longer than sun_path: reach it by our fd */
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dfd,
             name);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        close(dfd);
        return monitor_err(err, e, "connect to slirp4netns's API socket");
    }
    close(dfd);
    char reply[1024];
    size_t len = 0;
    ssize_t n = 0;
    if (monitor_write_all(fd, req, strlen(req)) < 0 ||
        shutdown(fd, SHUT_WR) < 0) {
        close(fd);
        return monitor_err(err, errno, "slirp4netns API");
    }
    while (len < sizeof reply - 1 &&
           ((n = read(fd, reply + len, sizeof reply - 1 - len)) > 0 ||
            (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    reply[len] = '\0';
    char *e = strstr(reply, "\"error\"");
    if (len == 0)
        return monitor_err(err, 0, "slirp4netns API: no reply");
    if (e) {
        char *d = strstr(e, "\"desc\"");
        char *q = d ? strchr(d + 6, '"') : NULL;
        char *qe = q ? strchr(q + 1, '"') : NULL;
        if (q && qe)
            *qe = '\0';
        return monitor_err(err, 0, "%s", q ? q + 1 : reply);
    }
    const char *id = strstr(reply, "\"id\"");
    if (ret_id && id && (id = strchr(id, ':')) != NULL)
        *ret_id = atoi(id + 1);
    return 0;
}

static int net_publish_all(struct monitor_net *n, const struct monitor_opts *o,
                           int ctr_pid, char *err);

/* --publish PROTO,HOSTIP,HOSTPORT,CTRPORT */
static int net_publish(struct monitor_net *n, const struct monitor_opts *o,
                       const char *spec, char *err)
{
    char proto[8] = "", ip[64] = "";
    int hp = 0, cp = 0;
    const char *c1 = strchr(spec, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
    if (c1 == NULL || c2 == NULL || (size_t)(c1 - spec) >= sizeof proto ||
        (size_t)(c2 - c1 - 1) >= sizeof ip ||
        sscanf(c2 + 1, "%d,%d", &hp, &cp) != 2)
        return monitor_err(err, 0, "invalid --publish %s", spec);
    memcpy(proto, spec, (size_t)(c1 - spec));
    memcpy(ip, c1 + 1, (size_t)(c2 - c1 - 1));
    if (strcmp(proto, "udp") == 0)
        return udp_bind(n, ip, hp, cp, err);
    char req[512], guest[96] = "";
    if (o->guest_addr)
        snprintf(guest, sizeof guest, ", \"guest_addr\": \"%s\"",
                 o->guest_addr);
    snprintf(req, sizeof req,
             "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": "
             "\"%s\", \"host_addr\": \"%s\", \"host_port\": %d, "
             "\"guest_port\": %d%s}}",
             proto, ip[0] ? ip : "0.0.0.0", hp, cp, guest);
    char why[MONITOR_ERR_LEN];
    int id = -1;
    if (net_api(o, req, &id, why) < 0)
        return monitor_err(err, 0, "cannot publish %s port %d: %s", proto, hp,
                           why);
    /* on another's slirp4netns the forward outlives us unless removed */
    if (o->slirp_api && id >= 0 && n->n_fwd < sizeof n->fwd_ids / sizeof(int))
        n->fwd_ids[n->n_fwd++] = id;
    return 0;
}

static _Noreturn void net_exec(const struct monitor_opts *o, int ctr_pid,
                               int ready_w, int exit_r)
{
    char ready[32], exitfd[32], pid[32], log[4096];
    snprintf(ready, sizeof ready, "--ready-fd=%d", ready_w);
    snprintf(exitfd, sizeof exitfd, "--exit-fd=%d", exit_r);
    snprintf(pid, sizeof pid, "%d", ctr_pid);
    snprintf(log, sizeof log, "%s/%s", o->net_dir, NET_LOG);
    const char **argv = calloc(o->n_slirp_args + 8, sizeof(char *));
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (argv == NULL || fd < 0 || chdir(o->net_dir) < 0)
        _exit(127);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    size_t n = 0;
    argv[n++] = o->slirp4netns;
    argv[n++] = ready;
    argv[n++] = exitfd;
    argv[n++] = "--api-socket=" NET_API;
    for (size_t i = 0; i < o->n_slirp_args; i++)
        argv[n++] = o->slirp_args[i];
    argv[n++] = pid;
    argv[n++] = "tap0";
    /* the two pipe ends are the only fds it gets beyond stdio */
    fcntl(ready_w, F_SETFD, 0);
    fcntl(exit_r, F_SETFD, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    unlink(NET_API);
    execv(o->slirp4netns, (char **)argv);
    dprintf(STDERR_FILENO, "exec %s: %s\n", o->slirp4netns, strerror(errno));
    _exit(127);
}

/* Wait for the ready byte; false when it exited or timed out first. */
static bool net_wait_ready(int fd)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long left = NET_READY_MS - ((now.tv_sec - t0.tv_sec) * 1000L +
                                    (now.tv_nsec - t0.tv_nsec) / 1000000L);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        char c;
        ssize_t n = read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n == 1;
    }
}

int monitor_net_start(struct monitor_net *n, const struct monitor_opts *o,
                      int ctr_pid, char *err)
{
    int ready[2], ex[2];
    *n = (struct monitor_net){.pid = 0, .exit_fd = -1, .ctr_ns = -1,
                              .opts = o};
    if (o->slirp4netns == NULL && o->n_publish == 0)
        return 0;
    if (o->slirp4netns == NULL)
        return net_publish_all(n, o, ctr_pid, err);
    if (pipe2(ready, O_CLOEXEC) < 0)
        return monitor_err(err, errno, "pipe");
    if (pipe2(ex, O_CLOEXEC) < 0) {
        close(ready[0]);
        close(ready[1]);
        return monitor_err(err, errno, "pipe");
    }
    pid_t pid = fork();
    if (pid == 0)
        net_exec(o, ctr_pid, ready[1], ex[0]);
    close(ready[1]);
    close(ex[0]);
    if (pid < 0) {
        close(ready[0]);
        close(ex[1]);
        return monitor_err(err, errno, "fork");
    }
    n->pid = pid;
    n->exit_fd = ex[1];
    bool ok = net_wait_ready(ready[0]);
    close(ready[0]);
    if (!ok) {
        char last[512];
        monitor_net_stop(n);
        net_last_message(o, last, sizeof last);
        return monitor_err(err, 0, "slirp4netns failed to set up the "
                                   "network%s%s",
                           last[0] ? ": " : "", last);
    }
    return net_publish_all(n, o, ctr_pid, err);
}

/* The ports, once the way in exists (our slirp4netns or another's). */
static int net_publish_all(struct monitor_net *n, const struct monitor_opts *o,
                           int ctr_pid, char *err)
{
    char nspath[64];
    snprintf(nspath, sizeof nspath, "/proc/%d/ns/net", ctr_pid);
    n->ctr_ns = open(nspath, O_RDONLY | O_CLOEXEC);
    if (n->ctr_ns < 0) {
        monitor_net_stop(n);
        return monitor_err(err, errno, "open %s", nspath);
    }
    for (size_t i = 0; i < o->n_publish; i++) {
        if (net_publish(n, o, o->publish[i], err) < 0) {
            monitor_net_stop(n);
            return -1;
        }
    }
    return 0;
}

void monitor_net_stop(struct monitor_net *n)
{
    /* a network holder's slirp4netns stays: take our forwards back */
    for (size_t i = 0; i < n->n_fwd && n->opts; i++) {
        char req[128], why[MONITOR_ERR_LEN];
        snprintf(req, sizeof req,
                 "{\"execute\": \"remove_hostfwd\", \"arguments\": "
                 "{\"id\": %d}}",
                 n->fwd_ids[i]);
        if (net_api(n->opts, req, NULL, why) < 0)
            monitor_warn("remove port forward %d: %s", n->fwd_ids[i], why);
    }
    n->n_fwd = 0;
    for (size_t i = 0; i < n->n_udp; i++) {
        close(n->udp[i].fd);
        for (size_t j = 0; j < UDP_SESSIONS; j++)
            if (n->udp[i].s[j].fd >= 0)
                close(n->udp[i].s[j].fd);
    }
    free(n->udp);
    n->udp = NULL;
    n->n_udp = 0;
    if (n->ctr_ns >= 0) {
        close(n->ctr_ns);
        n->ctr_ns = -1;
    }
    if (n->exit_fd >= 0) {
        close(n->exit_fd); /* slirp4netns exits on its exit fd's EOF */
        n->exit_fd = -1;
    }
    if (n->pid > 0) {
        /* bounded: it exits at once; a stuck one is killed */
        for (int i = 0; i < 100; i++) {
            pid_t r = waitpid(n->pid, NULL, WNOHANG);
            if (r == n->pid || (r < 0 && errno == ECHILD))
                break;
            if (i == 99) {
                kill(n->pid, SIGKILL);
                waitpid(n->pid, NULL, 0);
                break;
            }
            poll(NULL, 0, 10);
        }
        n->pid = 0;
    }
}

static int net_run_hook(const char *const *hook, size_t n_hook, int ctr_pid,
                        char *err);

int monitor_net_hook(const struct monitor_opts *o, int ctr_pid, char *err)
{
    return net_run_hook(o->net_hook, o->n_net_hook, ctr_pid, err);
}

void monitor_net_hook_down(const struct monitor_opts *o, int ctr_pid)
{
    char err[MONITOR_ERR_LEN];
    if (net_run_hook(o->net_hook_down, o->n_net_hook_down, ctr_pid, err) < 0)
        monitor_warn("%s", err);
}

static int net_run_hook(const char *const *hook, size_t n_hook, int ctr_pid,
                        char *err)
{
    if (n_hook == 0)
        return 0;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", ctr_pid);
    const char **argv = calloc(n_hook + 3, sizeof(char *));
    int ep[2];
    if (argv == NULL || pipe2(ep, O_CLOEXEC) < 0) {
        free(argv);
        return monitor_err(err, errno, "network hook");
    }
    for (size_t i = 0; i < n_hook; i++)
        argv[i] = hook[i];
    argv[n_hook] = "--pid";
    argv[n_hook + 1] = pid;
    pid_t child = fork();
    if (child == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(ep[1], STDERR_FILENO);
        execv(argv[0], (char **)argv);
        dprintf(STDERR_FILENO, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    free(argv);
    close(ep[1]);
    if (child < 0) {
        close(ep[0]);
        return monitor_err(err, errno, "fork");
    }
    char buf[4096];
    size_t len = 0;
    ssize_t n;
    while ((n = read(ep[0], buf + len, sizeof buf - 1 - len)) > 0 ||
           (n < 0 && errno == EINTR))
        if (n > 0 && (len += (size_t)n) >= sizeof buf - 1)
            len = 0; /* keep the tail: the last line is the error */
    close(ep[0]);
    buf[len] = '\0';
    int st = 0;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    while (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    const char *last = strrchr(buf, '\n');
    last = last ? last + 1 : buf;
    if (strncmp(last, "Error: ", 7) == 0)
        last += 7;
    return monitor_err(err, 0, "network setup: %s",
                       *last ? last : "the hook failed");
}
