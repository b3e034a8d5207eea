#define _GNU_SOURCE
#include "runtime/seccomp-default.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "runtime/caps.h"

/* Allowed for every container: the list of containers-common's
 * pkg/seccomp/seccomp.json (podman's default), which is docker's list
 * minus a few.  Names a given architecture lacks are ignored by the
 * runtime (libseccomp resolves them per architecture). */
static const char *const allow_always[] = {
    "_llseek", "_newselect", "accept", "accept4", "access", "adjtimex",
    "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
    "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64",
    "clock_nanosleep", "clock_nanosleep_time64", "clone", "clone3", "close",
    "close_range", "connect", "copy_file_range", "creat", "dup", "dup2",
    "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
    "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
    "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchown", "fchown32", "fchownat",
    "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock",
    "fork", "fremovexattr", "fsconfig", "fsetxattr", "fsmount", "fsopen",
    "fspick", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
    "fsync", "ftruncate", "ftruncate64", "futex", "futex_time64",
    "futimesat", "get_robust_list", "get_thread_area", "getcpu", "getcwd",
    "getdents", "getdents64", "getegid", "getegid32", "geteuid",
    "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid",
    "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
    "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname",
    "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32",
    "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1",
    "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
    "io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc",
    "keyctl", "kill", "lchown", "lchown32", "lgetxattr", "link", "linkat",
    "listen", "listxattr", "llistxattr", "lremovexattr", "lseek",
    "lsetxattr", "lstat", "lstat64", "madvise", "memfd_create", "mincore",
    "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall",
    "mmap", "mmap2", "mount", "move_mount", "mprotect", "mq_getsetattr",
    "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl",
    "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
    "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open",
    "openat", "openat2", "open_tree", "pause", "pidfd_getfd", "pidfd_open",
    "pidfd_send_signal", "pipe", "pipe2", "pivot_root", "pkey_alloc",
    "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
    "pread64", "preadv", "preadv2", "prlimit64", "pselect6",
    "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read",
    "readahead", "readdir", "readlink", "readlinkat", "readv", "reboot",
    "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
    "remap_file_pages", "removexattr", "rename", "renameat", "renameat2",
    "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
    "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
    "sched_getattr", "sched_getparam", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64",
    "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl",
    "semget", "semop", "semtimedop", "semtimedop_time64", "send",
    "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setns",
    "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid",
    "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
    "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
    "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid",
    "setsockopt", "setuid", "setuid32", "setxattr", "shmat", "shmctl",
    "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4",
    "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64",
    "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync",
    "sync_file_range", "syncfs", "sysinfo", "syslog", "tee", "tgkill",
    "time", "timer_create", "timer_delete", "timer_getoverrun",
    "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
    "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "ugetrlimit", "umask", "umount", "umount2", "uname",
    "unlink", "unlinkat", "unshare", "utime", "utimensat",
    "utimensat_time64", "utimes", "vfork", "wait4", "waitid", "waitpid",
    "write", "writev", NULL,
};

/* Obsolete or dangerous calls answered with EPERM rather than the
 * default ENOSYS, so programs do not take them for an old kernel. */
static const char *const deny_eperm[] = {
    "bdflush", "io_pgetevents", "kexec_file_load", "kexec_load",
    "membarrier", "migrate_pages", "move_pages", "nfsservctl", "nice",
    "oldfstat", "oldlstat", "oldolduname", "oldstat", "olduname",
    "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "sgetmask",
    "ssetmask", "swapcontext", "swapoff", "swapon", "sysfs", "uselib",
    "userfaultfd", "ustat", "vm86", "vm86old", "vmsplice", NULL,
};

/* Calls allowed only when the container holds a capability, else EPERM. */
struct cap_group {
    const char *cap;
    const char *names[9];
};
static const struct cap_group cap_groups[] = {
    {"CAP_DAC_READ_SEARCH", {"open_by_handle_at"}},
    {"CAP_SYS_ADMIN",
     {"bpf", "fanotify_init", "lookup_dcookie", "perf_event_open", "quotactl",
      "setdomainname", "sethostname", "setns"}},
    {"CAP_SYS_CHROOT", {"chroot"}},
    {"CAP_SYS_MODULE",
     {"delete_module", "init_module", "finit_module", "query_module"}},
    {"CAP_SYS_NICE", {"get_mempolicy", "mbind", "set_mempolicy"}},
    {"CAP_SYS_PACCT", {"acct"}},
    {"CAP_SYS_PTRACE",
     {"kcmp", "process_madvise", "process_vm_readv", "process_vm_writev",
      "ptrace"}},
    {"CAP_SYS_RAWIO", {"iopl", "ioperm"}},
    {"CAP_SYS_TIME",
     {"settimeofday", "stime", "clock_settime", "clock_settime64"}},
    {"CAP_SYS_TTY_CONFIG", {"vhangup"}},
};

/* Architecture-only calls, for the architecture berth was built for. */
static const char *const allow_arch[] = {
#if defined(__x86_64__)
    "arch_prctl", "modify_ldt",
#elif defined(__i386__)
    "modify_ldt",
#elif defined(__aarch64__) || defined(__arm__)
    "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
    "breakpoint", "cacheflush", "set_tls",
#elif defined(__powerpc64__)
    "sync_file_range2",
#elif defined(__s390x__)
    "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr",
#endif
    NULL,
};

static const char *const native_arches[] = {
#if defined(__x86_64__)
    "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
#elif defined(__aarch64__)
    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",
#elif defined(__s390x__)
    "SCMP_ARCH_S390X", "SCMP_ARCH_S390",
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    "SCMP_ARCH_PPC64LE",
#elif defined(__riscv) && __riscv_xlen == 64
    "SCMP_ARCH_RISCV64",
#endif
    NULL,
};

static bool has_cap(uint64_t mask, const char *cap)
{
    int n = caps_from_name(cap);
    return n >= 0 && (mask & (UINT64_C(1) << n));
}

static json_t *names_array(const char *const *names)
{
    json_t *a = json_array();
    for (size_t i = 0; names[i]; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *rule_new(json_t *names, const char *action, int errno_ret)
{
    json_t *r = json_pack("{s:o, s:s}", "names", names, "action", action);
    if (errno_ret)
        json_object_set_new(r, "errnoRet", json_integer(errno_ret));
    return r;
}

static json_t *arg_new(unsigned index, uint64_t value, const char *op)
{
    return json_pack("{s:I, s:I, s:s}", "index", (json_int_t)index, "value",
                     (json_int_t)value, "op", op);
}

/* personality(2): only the flags glibc and setarch use for 32-bit
 * compat (PER_LINUX, PER_LINUX32, UNAME26 variants, and the query). */
static void add_personality(json_t *sys)
{
    static const uint64_t ok[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *r = rule_new(json_pack("[s]", "personality"), "SCMP_ACT_ALLOW",
                             0);
        json_object_set_new(r, "args",
                            json_pack("[o]", arg_new(0, ok[i], "SCMP_CMP_EQ")));
        json_array_append_new(sys, r);
    }
}

/* socket(2): without CAP_AUDIT_WRITE a process may not open an audit
 * netlink socket (it would let it forge audit records); EINVAL as if the
 * protocol did not exist. */
static void add_socket(json_t *sys, uint64_t mask)
{
    if (has_cap(mask, "CAP_AUDIT_WRITE")) {
        json_array_append_new(
            sys, rule_new(json_pack("[s]", "socket"), "SCMP_ACT_ALLOW", 0));
        return;
    }
    json_t *deny = rule_new(json_pack("[s]", "socket"), "SCMP_ACT_ERRNO",
                            EINVAL);
    json_object_set_new(
        deny, "args",
        json_pack("[o,o]", arg_new(0, AF_NETLINK, "SCMP_CMP_EQ"),
                  arg_new(2, NETLINK_AUDIT, "SCMP_CMP_EQ")));
    json_array_append_new(sys, deny);
    json_t *a = rule_new(json_pack("[s]", "socket"), "SCMP_ACT_ALLOW", 0);
    json_object_set_new(
        a, "args", json_pack("[o]", arg_new(2, NETLINK_AUDIT, "SCMP_CMP_NE")));
    json_array_append_new(sys, a);
    json_t *b = rule_new(json_pack("[s]", "socket"), "SCMP_ACT_ALLOW", 0);
    json_object_set_new(
        b, "args", json_pack("[o]", arg_new(0, AF_NETLINK, "SCMP_CMP_NE")));
    json_array_append_new(sys, b);
}

json_t *seccomp_default_profile(uint64_t caps_mask)
{
    json_t *sys = json_array();
    json_array_append_new(sys, rule_new(names_array(deny_eperm),
                                        "SCMP_ACT_ERRNO", EPERM));
    json_array_append_new(sys, rule_new(names_array(allow_always),
                                        "SCMP_ACT_ALLOW", 0));
    if (allow_arch[0])
        json_array_append_new(sys, rule_new(names_array(allow_arch),
                                            "SCMP_ACT_ALLOW", 0));
    add_personality(sys);
    for (size_t i = 0; i < sizeof(cap_groups) / sizeof(cap_groups[0]); i++) {
        bool ok = has_cap(caps_mask, cap_groups[i].cap);
        json_array_append_new(
            sys, rule_new(names_array(cap_groups[i].names),
                          ok ? "SCMP_ACT_ALLOW" : "SCMP_ACT_ERRNO",
                          ok ? 0 : EPERM));
    }
    add_socket(sys, caps_mask);
    /* ENOSYS, not EPERM, for everything else (containers-common since
     * 2021): glibc and musl fall back from a new syscall only on ENOSYS,
     * which broke faccessat2 and clone3 under docker's EPERM default. */
    return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction", "SCMP_ACT_ERRNO",
                     "defaultErrnoRet", ENOSYS, "architectures",
                     names_array(native_arches), "syscalls", sys);
}

#if defined(__x86_64__)
#define NATIVE_GOARCH "amd64"
#elif defined(__aarch64__)
#define NATIVE_GOARCH "arm64"
#elif defined(__s390x__)
#define NATIVE_GOARCH "s390x"
#elif defined(__powerpc64__)
#define NATIVE_GOARCH "ppc64le"
#elif defined(__i386__)
#define NATIVE_GOARCH "386"
#else
#define NATIVE_GOARCH "unknown"
#endif

static bool json_strv_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (json_is_string(v) &&
                                    strcmp(json_string_value(v), s) == 0)
        return true;
    return false;
}

/* Whether a rule's includes/excludes let it apply to this container. */
static bool rule_applies(json_t *rule, uint64_t mask)
{
    json_t *inc = json_object_get(rule, "includes");
    json_t *exc = json_object_get(rule, "excludes");
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(inc, "caps"), i, v) if (
        !json_is_string(v) || !has_cap(mask, json_string_value(v))) return false;
    json_array_foreach(json_object_get(exc, "caps"), i, v) if (
        json_is_string(v) && has_cap(mask, json_string_value(v))) return false;
    json_t *arches = json_object_get(inc, "arches");
    if (json_array_size(arches) && !json_strv_has(arches, NATIVE_GOARCH))
        return false;
    if (json_strv_has(json_object_get(exc, "arches"), NATIVE_GOARCH))
        return false;
    return true;
}

static json_t *rule_convert(json_t *rule, berth_error_t *err)
{
    json_t *names = json_object_get(rule, "names");
    const char *name = json_get_str(rule, "name");
    const char *action = json_get_str(rule, "action");
    if (action == NULL || (!json_is_array(names) && name == NULL)) {
        berth_error_new(err, 0, "syscall rule without \"names\" or \"action\"");
        return NULL;
    }
    json_t *n = names ? json_incref(names) : json_pack("[s]", name);
    json_t *out = json_pack("{s:o, s:s}", "names", n, "action", action);
    static const char *const keep[] = {"errnoRet", "args", NULL};
    for (size_t i = 0; keep[i]; i++) {
        json_t *v = json_object_get(rule, keep[i]);
        if (v && !(json_is_array(v) && json_array_size(v) == 0) &&
            !json_is_null(v))
            json_object_set(out, keep[i], v);
    }
    return out;
}

static json_t *arches_convert(json_t *profile)
{
    json_t *map = json_object_get(profile, "archMap");
    json_t *out = json_array();
    size_t i;
    json_t *e;
    if (!json_is_array(map)) {
        json_t *a = json_object_get(profile, "architectures");
        if (json_is_array(a))
            json_array_extend(out, a);
        return out;
    }
    /* Only the native architecture and its compat ones, as podman. */
    json_array_foreach(map, i, e)
    {
        const char *arch = json_get_str(e, "architecture");
        if (arch == NULL || !native_arches[0] ||
            strcmp(arch, native_arches[0]) != 0)
            continue;
        json_array_append_new(out, json_string(arch));
        json_array_extend(out, json_object_get(e, "subArchitectures"));
    }
    return out;
}

json_t *seccomp_profile_convert(json_t *profile, uint64_t caps_mask,
                                berth_error_t *err)
{
    const char *dflt = json_get_str(profile, "defaultAction");
    if (!json_is_object(profile) || dflt == NULL) {
        berth_error_new(err, 0, "seccomp profile has no \"defaultAction\"");
        return NULL;
    }
    _cleanup_json_ json_t *out = json_pack("{s:s, s:o}", "defaultAction", dflt,
                                           "architectures",
                                           arches_convert(profile));
    static const char *const keep[] = {"defaultErrnoRet", "flags",
                                       "listenerPath", "listenerMetadata",
                                       NULL};
    for (size_t i = 0; keep[i]; i++) {
        json_t *v = json_object_get(profile, keep[i]);
        if (v && !json_is_null(v))
            json_object_set(out, keep[i], v);
    }
    json_t *sys = json_array();
    json_object_set_new(out, "syscalls", sys);
    size_t i;
    json_t *rule;
    json_array_foreach(json_object_get(profile, "syscalls"), i, rule)
    {
        if (!rule_applies(rule, caps_mask))
            continue;
        json_t *r = rule_convert(rule, err);
        if (r == NULL)
            return NULL;
        json_array_append_new(sys, r);
    }
    return TAKE_PTR(out);
}
