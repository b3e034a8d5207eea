#define _GNU_SOURCE
#include "runtime/caps.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* Numbered as in linux/capability.h; libcap's names without the prefix,
 * upper-cased, which is what the OCI spec and podman use. */
static const char *const cap_names[] = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",     "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",          "CAP_FSETID",           "CAP_KILL",
    "CAP_SETGID",          "CAP_SETUID",           "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",          "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",       "CAP_SYS_MODULE",       "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",       "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",         "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",         "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",           "CAP_LEASE",            "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",          "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",       "CAP_SYSLOG",           "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",       "CAP_PERFMON",
    "CAP_BPF",             "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* containers.conf's default_capabilities since podman 4.0 (NET_RAW,
 * MKNOD and AUDIT_WRITE were dropped from docker's list). */
static const char *const default_caps[] = {
    "CAP_CHOWN",  "CAP_DAC_OVERRIDE", "CAP_FOWNER",  "CAP_FSETID",
    "CAP_KILL",   "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
    "CAP_SETPCAP", "CAP_SETUID",      "CAP_SYS_CHROOT", NULL,
};

int caps_from_name(const char *name)
{
    for (int i = 0; i < N_CAPS; i++)
        if (strcmp(cap_names[i], name) == 0)
            return i;
    return -1;
}

const char *caps_to_name(int cap)
{
    return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

int caps_last(void)
{
    _cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    int last = N_CAPS - 1;
    /* An older kernel knows fewer: asking for a capability it does not
     * have makes capset fail in the runtime. */
    if (f && fscanf(f, "%d", &last) == 1 && last >= 0 && last < N_CAPS)
        return last;
    return N_CAPS - 1;
}

const char *const *caps_default(void)
{
    return default_caps;
}

char *caps_normalize(const char *name, berth_error_t *err)
{
    _cleanup_free_ char *up = xstrdup(name);
    for (char *p = up; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    if (strcmp(up, "ALL") == 0)
        return TAKE_PTR(up);
    char *canon = str_has_prefix(up, "CAP_") ? xstrdup(up)
                                             : xasprintf("CAP_%s", up);
    if (caps_from_name(canon) < 0) {
        free(canon);
        berth_error_new(err, 0, "invalid capability \"%s\"", name);
        return NULL;
    }
    return canon;
}

static uint64_t caps_all_mask(void)
{
    int last = caps_last();
    return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

/* "All" capabilities are the ones this process may still hand out, as
 * podman's capabilities.BoundingSet(): inside another container or a
 * CI sandbox the bounding set is smaller, and asking for more makes the
 * runtime's capset fail. */
static uint64_t caps_bounding_mask(void)
{
    uint64_t mask = 0;
    for (int i = 0; i <= caps_last() && i < 64; i++)
        if (prctl(PR_CAPBSET_READ, (unsigned long)i, 0, 0, 0) == 1)
            mask |= UINT64_C(1) << i;
    return mask;
}

/* Parse a list into a mask; *ret_all tells whether "ALL" was in it. */
static int caps_list_mask(char *const *list, uint64_t *ret_mask,
                          bool *ret_all, berth_error_t *err)
{
    uint64_t mask = 0;
    bool all = false;
    for (size_t i = 0; list && list[i]; i++) {
        _cleanup_free_ char *c = caps_normalize(list[i], err);
        if (c == NULL)
            return -1;
        if (strcmp(c, "ALL") == 0)
            all = true;
        else
            mask |= UINT64_C(1) << caps_from_name(c);
    }
    *ret_mask = mask;
    *ret_all = all;
    return 0;
}

int caps_compute(char *const *cap_add, char *const *cap_drop, bool privileged,
                 uint64_t *ret_mask, berth_error_t *err)
{
    uint64_t add, drop, mask = 0;
    bool add_all, drop_all;
    if (caps_list_mask(cap_add, &add, &add_all, err) < 0 ||
        caps_list_mask(cap_drop, &drop, &drop_all, err) < 0)
        return -1;
    if (privileged || add_all)
        mask = caps_bounding_mask();
    else
        for (size_t i = 0; default_caps[i]; i++)
            mask |= UINT64_C(1) << caps_from_name(default_caps[i]);
    /* podman: --cap-drop=ALL --cap-add=X gives exactly X, so an explicit
     * add wins over a drop of ALL; an explicit drop wins over add ALL. */
    if (drop_all)
        mask = 0;
    mask |= add;
    mask &= ~drop;
    *ret_mask = mask & caps_all_mask();
    return 0;
}

char **caps_mask_to_strv(uint64_t mask)
{
    char **v = xcalloc(1, sizeof(char *));
    for (int i = 0; i < N_CAPS && i < 64; i++)
        if (mask & (UINT64_C(1) << i))
            strv_append(&v, cap_names[i]);
    return v;
}
