#define _GNU_SOURCE
#include "runtime/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "runtime/spec-internal.h"

FILE *spec_rootfs_fopen(const char *rootfs, const char *path)
{
    _cleanup_close_ int dfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return NULL;
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT};
    while (*path == '/')
        path++;
    int fd = (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
    if (fd < 0 && errno == ENOSYS) {
        /* Before Linux 5.6: the image is the user's own, a symlink can
         * only show the user a host file they could read anyway. */
        fd = openat(dfd, path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "re");
    if (f == NULL)
        close(fd);
    return f;
}

static bool parse_id(const char *s, unsigned long *ret)
{
    char *end;
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > UINT32_MAX - 1)
        return false;
    *ret = v;
    return true;
}

/* Split one colon-separated line into at most n fields in place. */
static size_t split_fields(char *line, char **f, size_t n)
{
    size_t i = 0;
    line[strcspn(line, "\n")] = '\0';
    while (i < n) {
        f[i++] = line;
        char *c = strchr(line, ':');
        if (c == NULL)
            break;
        *c = '\0';
        line = c + 1;
    }
    return i;
}

struct pw_match {
    char *name, *home;
    unsigned long uid, gid;
};

/* Find the passwd entry whose name (or uid) is user. */
static bool passwd_lookup(const char *rootfs, const char *user,
                          struct pw_match *m)
{
    _cleanup_fclose_ FILE *f = spec_rootfs_fopen(rootfs, "/etc/passwd");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    unsigned long want;
    bool numeric = parse_id(user, &want);
    while (f && getline(&line, &cap, f) > 0) {
        char *fl[7];
        unsigned long uid, gid;
        if (split_fields(line, fl, 7) < 7 || !parse_id(fl[2], &uid) ||
            !parse_id(fl[3], &gid))
            continue;
        if (numeric ? uid != want : strcmp(fl[0], user) != 0)
            continue;
        *m = (struct pw_match){xstrdup(fl[0]), xstrdup(fl[5]), uid, gid};
        return true;
    }
    return false;
}

/* Gid of a group name or number; numbers need no entry. */
static int group_lookup(const char *rootfs, const char *group,
                        unsigned long *ret, berth_error_t *err)
{
    if (parse_id(group, ret))
        return 0;
    _cleanup_fclose_ FILE *f = spec_rootfs_fopen(rootfs, "/etc/group");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        char *fl[4];
        if (split_fields(line, fl, 4) >= 3 && strcmp(fl[0], group) == 0 &&
            parse_id(fl[2], ret))
            return 0;
    }
    return berth_error_new(err, 0,
                           "unable to find group %s: no matching entries in "
                           "group file",
                           group);
}

/* Gids of the groups whose member list names user. */
static void member_groups(const char *rootfs, const char *user, gid_t **v,
                          size_t *n)
{
    _cleanup_fclose_ FILE *f = spec_rootfs_fopen(rootfs, "/etc/group");
    _cleanup_free_ char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0) {
        char *fl[4];
        unsigned long gid;
        if (split_fields(line, fl, 4) < 4 || !parse_id(fl[2], &gid))
            continue;
        _cleanup_strv_ char **members = strv_split(fl[3], ",");
        if (!strv_contains(members, user))
            continue;
        *v = xrealloc(*v, (*n + 1) * sizeof(gid_t));
        (*v)[(*n)++] = (gid_t)gid;
    }
}

static void gid_push_unique(gid_t **v, size_t *n, gid_t g)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i] == g)
            return;
    *v = xrealloc(*v, (*n + 1) * sizeof(gid_t));
    (*v)[(*n)++] = g;
}

int spec_resolve_user(const char *rootfs, const char *userspec,
                      char *const *group_add, uid_t *ret_uid, gid_t *ret_gid,
                      gid_t **ret_additional_gids, size_t *ret_n_additional,
                      char **ret_home, berth_error_t *err)
{
    _cleanup_free_ char *user = xstrdup(userspec && *userspec ? userspec
                                                               : "0");
    char *group = strchr(user, ':');
    if (group)
        *group++ = '\0';
    if (*user == '\0' || (group && *group == '\0'))
        return berth_error_new(err, 0, "invalid user \"%s\"", userspec);

    struct pw_match m = {0};
    _cleanup_free_ gid_t *gids = NULL;
    size_t n = 0;
    unsigned long uid, gid;
    bool found = passwd_lookup(rootfs, user, &m);
    _cleanup_free_ char *name = m.name, *home = m.home;
    if (found) {
        uid = m.uid;
        gid = m.gid;
    } else if (parse_id(user, &uid)) {
        gid = 0;
        home = xstrdup(uid == 0 ? "/root" : "/");
    } else {
        return berth_error_new(err, 0,
                               "unable to find user %s: no matching entries "
                               "in passwd file",
                               user);
    }
    if (group) {
        if (group_lookup(rootfs, group, &gid, err) < 0)
            return -1;
    } else if (name) {
        member_groups(rootfs, name, &gids, &n);
    }
    for (size_t i = 0; group_add && group_add[i]; i++) {
        unsigned long g;
        if (strcmp(group_add[i], "keep-groups") == 0)
            continue; /* crun keeps the caller's groups; no gid here */
        if (group_lookup(rootfs, group_add[i], &g, err) < 0)
            return berth_error_prefix(err, "--group-add");
        gid_push_unique(&gids, &n, (gid_t)g);
    }
    *ret_uid = (uid_t)uid;
    *ret_gid = (gid_t)gid;
    *ret_additional_gids = TAKE_PTR(gids);
    *ret_n_additional = n;
    *ret_home = TAKE_PTR(home);
    return 0;
}
