/* berth-init: the container's PID 1 for `run --init`.  The kernel gives
 * PID 1 no default signal actions, so a plain `sleep` as PID 1 ignores
 * SIGTERM and every stop waits for the timeout; and orphans reparented to
 * PID 1 stay zombies unless it reaps them.  This init starts the command
 * as its child, forwards every catchable signal to it, reaps whatever
 * exits, and leaves with the command's status (128+N when killed by
 * signal N).  libc only, linked statically, bind-mounted read-only at
 * /run/berth-init.
 *
 * `berth-init --pause` is a pod's infra process (catatonit -P's job): it
 * holds the pod's namespaces, reaps what is handed to it, and exits 0 on
 * SIGTERM, SIGINT or SIGHUP. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int status_code(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 1;
}

int main(int argc, char **argv)
{
    sigset_t all, old;
    int first = 1;

    if (argc == 2 && strcmp(argv[1], "--pause") == 0) {
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        for (;;) {
            siginfo_t si;
            int sig = sigwaitinfo(&all, &si);
            if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP)
                return 0;
            while (sig == SIGCHLD && waitpid(-1, NULL, WNOHANG) > 0)
                ;
        }
    }
    if (argc > 1 && strcmp(argv[1], "--") == 0)
        first = 2;
    if (first >= argc) {
        fputs("usage: berth-init [--] COMMAND [ARG...]\n", stderr);
        return 125;
    }
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child < 0) {
        perror("berth-init: fork");
        return 125;
    }
    if (child == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        execvp(argv[first], argv + first);
        fprintf(stderr, "berth-init: exec %s: %s\n", argv[first],
                strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(&all, &si);
        if (sig < 0)
            continue;
        if (sig != SIGCHLD) {
            kill(child, sig);
            continue;
        }
        /* reap everything: the command and any orphan handed to us */
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            if (p == child)
                return status_code(st);
    }
}
