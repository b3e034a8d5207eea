#define _GNU_SOURCE
#include "monitor/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static const char *monitor_warn_id = "";

void monitor_warn_set_id(const char *id)
{
    monitor_warn_id = id;
}

int monitor_err(char *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err, MONITOR_ERR_LEN, fmt, ap);
    va_end(ap);
    if (errnum != 0 && n >= 0 && n < MONITOR_ERR_LEN)
        snprintf(err + n, MONITOR_ERR_LEN - (size_t)n, ": %s", strerror(errnum));
    return -1;
}

/* The monitor has no user to print to: its stderr (a file or nothing, as
 * the CLI chose) and syslog, where conmon's warnings go too. */
void monitor_warn(const char *fmt, ...)
{
    char msg[MONITOR_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dprintf(STDERR_FILENO, "berth-monitor[%s]: %s\n", monitor_warn_id, msg);
    syslog(LOG_WARNING, "berth-monitor[%s]: %s", monitor_warn_id, msg);
}

void monitor_json_escape(char *out, size_t outlen, const char *s)
{
    size_t o = 0;
    if (outlen == 0)
        return;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char tmp[8];
        size_t n;
        if (c == '"' || c == '\\') {
            tmp[0] = '\\', tmp[1] = (char)c, n = 2;
        } else if (c == '\n') {
            memcpy(tmp, "\\n", 2), n = 2;
        } else if (c == '\t') {
            memcpy(tmp, "\\t", 2), n = 2;
        } else if (c < 0x20 || c == 0x7f) {
            n = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", c);
        } else {
            tmp[0] = (char)c, n = 1;
        }
        if (o + n >= outlen)
            break;
        memcpy(out + o, tmp, n);
        o += n;
    }
    out[o] = '\0';
}

int monitor_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int monitor_atomic_write(const char *dir, const char *name, const char *data,
                         size_t len, char *err)
{
    char tmp[4096], dst[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name) >= sizeof tmp ||
        (size_t)snprintf(dst, sizeof dst, "%s/%s", dir, name) >= sizeof dst)
        return monitor_err(err, ENAMETOOLONG, "write %s/%s", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return monitor_err(err, errno, "create %s", tmp);
    if (monitor_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return monitor_err(err, e, "write %s", tmp);
    }
    close(fd);
    if (rename(tmp, dst) < 0) {
        int e = errno;
        unlink(tmp);
        return monitor_err(err, e, "rename %s to %s", tmp, dst);
    }
    /* the rename itself must survive a crash, or the file is lost */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

void monitor_rfc3339(char *buf, size_t len, const struct timespec *ts,
                     bool nanos)
{
    struct tm tm;
    char base[32];
    gmtime_r(&ts->tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (nanos)
        snprintf(buf, len, "%s.%09ldZ", base, ts->tv_nsec);
    else
        snprintf(buf, len, "%sZ", base);
}

int monitor_write_exit(const char *exit_dir, const char *id, int code,
                       const struct timespec *exited_at, int restarts,
                       char *err)
{
    char buf[256], when[64], name[300];
    int n = snprintf(buf, sizeof buf, "%d\n", code);
    /* the code first: "no exit file for container found" is what a user
     * sees when this is missing (podman #439, #12699) */
    if (monitor_atomic_write(exit_dir, id, buf, (size_t)n, err) < 0)
        return -1;
    monitor_rfc3339(when, sizeof when, exited_at, true);
    n = snprintf(buf, sizeof buf,
                 "{\"exitCode\":%d,\"exitedAt\":\"%s\",\"restartCount\":%d}\n",
                 code, when, restarts);
    snprintf(name, sizeof name, "%s.json", id);
    return monitor_atomic_write(exit_dir, name, buf, (size_t)n, err);
}
