/* berth-monitor: one small process per container (conmon's job).  It runs
 * the OCI runtime on a bundle, holds the container's stdio, writes the log,
 * serves the attach socket, reaps the container and records its exit code,
 * then removes the container (--rm) or restarts it.  libc only: its memory
 * is paid once per container (STYLE.md "The monitor stays small").
 *
 * The interface berth's CLI uses
 * ------------------------------
 * Invocation (the CLI forks and execs it):
 *   berth-monitor --id ID --bundle DIR --exit-dir DIR --log-path FILE
 *       --log-driver k8s-file|none [--log-max-size BYTES] [--terminal]
 *       [--stdin] [--attach-socket PATH] [--runtime PATH]
 *       [--runtime-arg ARG]... [--rm-cmd ARG]...
 *       [--restart no|on-failure[:N]|always|unless-stopped]
 *       [--sync-fd N] [--start-fd N] [--detach-keys SEQ] [--pid-file F]
 * ID is [A-Za-z0-9_.-]+ (it names files).  Bad options: a message on
 * stderr (and {"error"} on the sync fd), exit 1, nothing started.
 * Otherwise the process the CLI started exits 0 at once: the monitor
 * proper is a grandchild in a session of its own (fork, setsid, fork), so
 * neither the CLI's death nor its terminal's hangup reaches it.  --pid-file
 * gets that grandchild's pid (written atomically).  It keeps stderr (for
 * warnings, also sent to syslog), points stdin/stdout at /dev/null and
 * closes every other inherited fd but the sync and start fds.
 *
 * Runtime: `RUNTIME [ARG...] create --bundle DIR [--console-socket SOCK]
 * --pid-file F ID`, then `RUNTIME [ARG...] start ID`, and after the exit
 * `RUNTIME [ARG...] delete ID`, where ARG are the --runtime-arg values in
 * order (berth's own runtime: --runtime /path/to/berth --runtime-arg
 * oci-runtime; crun and runc need nothing).  RUNTIME defaults to "crun",
 * searched in PATH.  Without --terminal the container gets pipes as stdout
 * and stderr, and a pipe as stdin with --stdin (else /dev/null); with
 * --terminal the runtime sends the pty master over the console socket
 * (runc's --console-socket protocol, SCM_RIGHTS) and config.json must say
 * "terminal": true.  What the runtime itself prints while creating goes to
 * the monitor's stderr (or into the error), never into the log.
 *
 * Handshake: after create succeeded, one line {"pid": N} on --sync-fd
 * (the container's init, as the monitor's pid namespace sees it); on any
 * failure before that, one line {"error": "msg"} and the monitor exits 1.
 * The sync fd then stays open until the monitor is done: EOF on it means
 * the exit files are written (and the runtime's delete has run).  With
 * --start-fd the monitor then waits for one byte on it before `start`; EOF
 * without a byte, or the byte "x", aborts: `RUNTIME delete --force ID`, no
 * exit file, exit 1.
 *
 * Log (k8s-file): one line per line of output,
 *   2024-01-02T03:04:05.123456789Z stdout F text
 * with P instead of F for a partial line (output that did not end in a
 * newline by the end of one read); a pty's output is all "stdout".  At
 * --log-max-size bytes the file is replaced by an empty one (conmon's
 * truncation; 0 or absent: no limit).  A failed rotation or write warns
 * and goes on; it never stops the monitor.  "none" writes no file.
 *
 * Attach socket (--attach-socket, AF_UNIX SOCK_SEQPACKET as conmon): every
 * client receives the container's output as packets whose first byte is 2
 * (stdout) or 3 (stderr); a packet a client sends is written to the
 * container's stdin (pty master, or the stdin pipe with --stdin; dropped
 * otherwise).  With --stdin and no terminal, a client that sent input and
 * then closes closes the container's stdin (docker's stdin-once).  Output a
 * slow client cannot take at once is dropped for it, never waited for.
 * Detach keys are the client's business (--detach-keys is accepted and
 * ignored).  Paths longer than sun_path are reached via /proc/self/fd.
 *
 * Control fifo EXIT_DIR/ID.ctl (conmon's ctl protocol), one command a line:
 *   "1 ROWS COLS"  TIOCSWINSZ on the pty (ignored without --terminal)
 *   "2"            reopen the log file (after someone moved it away)
 *
 * Exit: the monitor is the container's parent or subreaper and reaps every
 * child.  When the container's init exits it writes EXIT_DIR/ID (the exit
 * code, decimal, newline; 128+N for signal N) first, atomically (temp
 * file, fsync, rename), then EXIT_DIR/ID.json
 *   {"exitCode":N,"exitedAt":"RFC3339","restartCount":N}
 * then runs `RUNTIME delete ID`.  Then either restarts the container (new
 * create + start, same log, attach clients stay) or finishes: removes the
 * ctl fifo and sockets, and execs the --rm-cmd arguments if given (the CLI
 * passes `berth rm -f ID`), else exits 0.
 * Restart policies, applied while the monitor lives: on-failure[:N]
 * restarts after a non-zero exit, at most N times (no N: no limit);
 * always restarts after any exit; unless-stopped is the same as always
 * here.  None restarts when EXIT_DIR/ID.stopped exists (`berth stop`
 * creates it) or after the monitor itself got SIGTERM or SIGINT.
 * Restarts back off: 0.1 s doubling to 2 s.
 *
 * Network (--slirp4netns PATH): after each create the monitor starts
 *   PATH --ready-fd=N --exit-fd=N --api-socket=slirp.sock [--slirp-arg]...
 *        PID tap0
 * with its working directory and stderr (and stdout) in --net-dir DIR
 * (slirp.sock and slirp4netns.log there), waits (10 s at most) for it to be
 * ready, then forwards each --publish PROTO,HOSTIP,HOSTPORT,CTRPORT:
 * tcp through its API socket (add_hostfwd; HOSTIP empty: 0.0.0.0); udp
 * itself, because slirp4netns's replies to a client on the host's
 * loopback are dropped with --disable-host-loopback: the monitor binds
 * HOSTIP:HOSTPORT, and each client gets a socket of its own created in
 * the container's network namespace, connected to 127.0.0.1:CTRPORT there
 * (idle for 60 s: closed; 16 clients a port at most, the oldest goes).
 * With --slirp-api SOCK --guest-addr IP instead of --slirp4netns (a
 * container on a network, behind its holder's slirp4netns), tcp ports are
 * forwarded by that slirp4netns to IP:CTRPORT and removed again
 * (remove_hostfwd) when the container stops; udp is relayed as above.  A
 * slirp4netns that exits early or a port it cannot forward fails the
 * create (the {"error"} line, with slirp4netns's last message).  It is
 * stopped (its exit fd closed) after the container exits, before a
 * restart's create, and when the monitor dies in any way.
 *
 * Network hook (--net-hook ARG, repeated): after each create (and after
 * slirp4netns), the monitor runs `ARG... --pid PID` and waits for it: the
 * CLI wires the container into its networks there (berth net-setup).  A
 * hook that fails fails the create, with its last line of stderr.
 * --net-hook-down ARG (repeated) runs the same way after each exit (the
 * CLI takes published ports back there); its failure is a warning.
 *
 * Signals: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 sent to the
 * monitor are forwarded to the container's init.  SIGPIPE is ignored.
 */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MONITOR_ERR_LEN 1024

enum monitor_log_driver { MONITOR_LOG_K8S_FILE, MONITOR_LOG_NONE };
enum monitor_restart { MONITOR_RESTART_NO, MONITOR_RESTART_ON_FAILURE,
                       MONITOR_RESTART_ALWAYS, MONITOR_RESTART_UNLESS_STOPPED };

/* Every option, parsed once and passed down (no globals, unlike conmon's
 * src/cli.h).  Strings point into argv. */
struct monitor_opts {
    const char *id, *bundle, *exit_dir, *log_path, *attach_socket;
    const char *runtime, *detach_keys, *pid_file;
    enum monitor_log_driver log_driver;
    long long log_max_size; /* 0: no limit */
    bool terminal, stdin_open;
    const char **runtime_args; /* NULL-terminated */
    const char **rm_cmd;       /* NULL-terminated, NULL when absent */
    size_t n_runtime_args, n_rm_cmd;
    const char *slirp4netns, *net_dir; /* NULL: no network helper */
    const char *slirp_api;  /* another's slirp4netns API socket (a network
                               holder's): tcp ports go there */
    const char *guest_addr; /* the container's address behind it */
    const char **slirp_args, **publish; /* NULL-terminated */
    size_t n_slirp_args, n_publish;
    const char **net_hook; /* NULL-terminated; empty: none */
    size_t n_net_hook;
    const char **net_hook_down; /* after each exit, same form */
    size_t n_net_hook_down;
    enum monitor_restart restart;
    int restart_max; /* on-failure:N; -1: no limit */
    int sync_fd, start_fd;
};

/* opts.c */
int monitor_opts_parse(struct monitor_opts *o, int argc, char **argv,
                       char *err);
void monitor_opts_free(struct monitor_opts *o);
int monitor_restart_parse(const char *s, enum monitor_restart *ret_policy,
                          int *ret_max, char *err);
/* Should the container start again after exiting with code after restarts
 * restarts?  stopped: the stop marker exists or the monitor got SIGTERM. */
bool monitor_should_restart(const struct monitor_opts *o, int code,
                            int restarts, bool stopped);

/* util.c: errors are a message in a MONITOR_ERR_LEN buffer; -1 returned */
int monitor_err(char *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void monitor_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void monitor_warn_set_id(const char *id);
/* Escape s as a JSON string body into out (always NUL-terminated). */
void monitor_json_escape(char *out, size_t outlen, const char *s);
int monitor_write_all(int fd, const void *buf, size_t len);
/* Write dir/name atomically: temp file, fsync, rename, fsync dir. */
int monitor_atomic_write(const char *dir, const char *name, const char *data,
                         size_t len, char *err);
/* RFC 3339 UTC; with nanos 2024-01-02T03:04:05.123456789Z. */
void monitor_rfc3339(char *buf, size_t len, const struct timespec *ts,
                     bool nanos);
/* The exit code first, then ID.json. */
int monitor_write_exit(const char *exit_dir, const char *id, int code,
                       const struct timespec *exited_at, int restarts,
                       char *err);

/* log.c: the k8s-file writer */
struct monitor_log {
    int fd; /* -1: driver none or closed */
    const char *path;
    long long max_size, size;
};
int monitor_log_open(struct monitor_log *l, const struct monitor_opts *o,
                     char *err);
/* stream: "stdout" or "stderr".  Never fails: problems are warnings. */
void monitor_log_write(struct monitor_log *l, const char *stream,
                       const char *buf, size_t len);
void monitor_log_reopen(struct monitor_log *l);
void monitor_log_close(struct monitor_log *l);

/* ctr.c: one run of the container through the runtime */
struct monitor_ctr {
    int pid;             /* container init, 0 before create */
    int out_fd, err_fd;  /* our ends: stdout/stderr pipes, or the pty */
    int in_fd;           /* stdin pipe's write end or the pty; -1: none */
    int pty_fd;          /* the pty master when --terminal, else -1 */
};
int monitor_ctr_create(struct monitor_ctr *c, const struct monitor_opts *o,
                       char *err);
int monitor_ctr_start(const struct monitor_opts *o, char *err);
/* delete; force adds --force.  Failure is a warning. */
void monitor_ctr_delete(const struct monitor_opts *o, bool force);
void monitor_ctr_close(struct monitor_ctr *c);

/* net.c: slirp4netns for one life of the container */
struct monitor_udp;
struct monitor_net {
    int pid;     /* slirp4netns, 0: none */
    int fwd_ids[64]; /* forwards added on --slirp-api, to remove */
    size_t n_fwd;
    const struct monitor_opts *opts;
    int exit_fd; /* closing it stops slirp4netns */
    int ctr_ns;  /* the container's network namespace, for udp */
    struct monitor_udp *udp;
    size_t n_udp;
};
int monitor_net_start(struct monitor_net *n, const struct monitor_opts *o,
                      int ctr_pid, char *err);
void monitor_net_stop(struct monitor_net *n);
/* --net-hook for the container's init pid. */
int monitor_net_hook(const struct monitor_opts *o, int ctr_pid, char *err);
/* --net-hook-down after the container's exit; failure is a warning. */
void monitor_net_hook_down(const struct monitor_opts *o, int ctr_pid);
/* The udp relay's fds for poll (at most monitor_net_nfds of them), and
 * their events; expiry of idle clients rides on the calls. */
size_t monitor_net_nfds(const struct monitor_net *n);
size_t monitor_net_pollfds(const struct monitor_net *n, struct pollfd *p);
void monitor_net_events(struct monitor_net *n, const struct pollfd *p,
                        size_t count);

/* io.c: the poll loop while the container runs */
struct monitor_io;
struct monitor_io *monitor_io_new(const struct monitor_opts *o, int sig_fd,
                                  char *err);
/* Commands already waiting on the ctl fifo (the terminal's size sent
 * before the start), applied now. */
void monitor_io_ctl_pending(struct monitor_io *io, struct monitor_ctr *c,
                            struct monitor_log *l);
/* Close the attach clients: they read the exit code next. */
void monitor_io_hangup(struct monitor_io *io);
void monitor_io_free(struct monitor_io *io);
/* Serve output, attach clients and ctl until c's init exited and its
 * output is drained; returns the init's wait status (-1 only if poll
 * failed) and sets *ret_exited_at to when it was reaped.  *ret_stop is set
 * when the monitor got SIGTERM or SIGINT. */
int monitor_io_run(struct monitor_io *io, struct monitor_ctr *c,
                   struct monitor_log *l, struct monitor_net *net,
                   bool *ret_stop, struct timespec *ret_exited_at);
/* Reap exited children without waiting; returns the status of pid if it
 * was among them, else -1. */
int monitor_reap(int pid);

#endif
