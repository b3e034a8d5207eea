#define _GNU_SOURCE
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

static int monitor_log_open_fd(const char *path, int extra_flags)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | extra_flags,
                0640);
}

int monitor_log_open(struct monitor_log *l, const struct monitor_opts *o,
                     char *err)
{
    *l = (struct monitor_log){.fd = -1, .path = o->log_path,
                              .max_size = o->log_max_size};
    if (o->log_driver == MONITOR_LOG_NONE)
        return 0;
    l->fd = monitor_log_open_fd(l->path, 0);
    if (l->fd < 0)
        return monitor_err(err, errno, "open log file %s", l->path);
    struct stat st;
    if (fstat(l->fd, &st) == 0)
        l->size = st.st_size;
    return 0;
}

void monitor_log_close(struct monitor_log *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* Replace the log with an empty file through a rename, so a reader never
 * sees a half-truncated file.  conmon's reopen_k8s_file exits the monitor
 * when this fails while the container runs; here the old file just keeps
 * growing until the next try, one max-size later. */
static void monitor_log_rotate(struct monitor_log *l)
{
    char tmp[4096];
    l->size = 0;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", l->path) >= sizeof tmp) {
        monitor_warn("rotate log %s: name too long, ignoring", l->path);
        return;
    }
    int fd = monitor_log_open_fd(tmp, O_TRUNC);
    if (fd < 0) {
        monitor_warn("rotate log %s: create %s: %s, ignoring", l->path, tmp,
                     strerror(errno));
        return;
    }
    if (rename(tmp, l->path) < 0) {
        monitor_warn("rotate log %s: rename: %s, ignoring", l->path,
                     strerror(errno));
        close(fd);
        unlink(tmp);
        return;
    }
    close(l->fd);
    l->fd = fd;
}

void monitor_log_reopen(struct monitor_log *l)
{
    if (l->fd < 0)
        return;
    int fd = monitor_log_open_fd(l->path, 0);
    if (fd < 0) {
        monitor_warn("reopen log %s: %s, ignoring", l->path, strerror(errno));
        return;
    }
    close(l->fd);
    l->fd = fd;
    struct stat st;
    l->size = fstat(fd, &st) == 0 ? st.st_size : 0;
}

static void monitor_log_line(struct monitor_log *l, const char *prefix,
                             size_t prefix_len, const char *line, size_t len,
                             bool partial)
{
    size_t need = prefix_len + 2 + len + 1;
    if (l->max_size > 0 && l->size > 0 && l->size + (long long)need > l->max_size)
        monitor_log_rotate(l);
    char nl = '\n';
    struct iovec all[4] = {
        {(void *)prefix, prefix_len},
        {(void *)(partial ? "P " : "F "), 2},
        {(void *)line, len},
        {&nl, 1},
    };
    ssize_t n;
    do {
        n = writev(l->fd, all, 4);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        monitor_warn("write log %s: %s, ignoring", l->path, strerror(errno));
        return;
    }
    /* a short write to a regular file means a full disk: the line is cut,
     * which the next line's timestamp makes visible; nothing to retry */
    l->size += n;
}

void monitor_log_write(struct monitor_log *l, const char *stream,
                       const char *buf, size_t len)
{
    if (l->fd < 0 || len == 0)
        return;
    char prefix[96], when[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    monitor_rfc3339(when, sizeof when, &ts, true);
    int plen = snprintf(prefix, sizeof prefix, "%s %s ", when, stream);
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t n = nl ? (size_t)(nl - buf) : len;
        monitor_log_line(l, prefix, (size_t)plen, buf, n, nl == NULL);
        if (nl == NULL)
            break;
        buf += n + 1;
        len -= n + 1;
    }
}
