/* storage/ctr-fs.c: tar streams in and out of a root with podman's cp
 * rules, confinement of container paths, and diff of an upper dir. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/ctr-fs.h"
#include "tests/unit/tap.h"

static char *mktmp(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/ctrfs-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static int put(const char *dir, const char *rel, const char *text, mode_t mode)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    fclose(f);
    return chmod(p, mode);
}

static char *slurp(const char *dir, const char *rel)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, rel);
    char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(p, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return NULL;
    }
    return buf;
}

/* tar path (host side) -> untar at dst inside root (container side) */
static int copy_in(const char *src, int rootfd, const char *dst,
                   const struct ctrfs_put_opts *o, berth_error_t *err)
{
    struct ctrfs_root host = {AT_FDCWD, false, "the host"};
    struct ctrfs_root ctr = {rootfd, true, "container t"};
    _cleanup_fclose_ FILE *tmp = tmpfile();
    _cleanup_free_ char *name = xstrdup(strrchr(src, '/') + 1);
    if (ctrfs_tar(&host, src, name, false, fileno(tmp), err) < 0)
        return -1;
    rewind(tmp);
    return ctrfs_untar(&ctr, dst, fileno(tmp), o, err);
}

static int test_roundtrip_modes(void)
{
    _cleanup_free_ char *d = mktmp();
    _cleanup_free_ char *src = xasprintf("%s/src", d);
    _cleanup_free_ char *root = xasprintf("%s/root", d);
    _cleanup_free_ char *sub = xasprintf("%s/src/sub", d);
    berth_error_t e = NULL;
    struct ctrfs_put_opts o = {.owner = CTRFS_OWNER_NONE};
    struct stat st;
    TAP_CHECK(mkdir(src, 0751) == 0 && mkdir(sub, 0700) == 0 &&
              mkdir(root, 0755) == 0);
    TAP_CHECK(put(src, "sub/f", "hello", 0640) == 0);
    _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY);
    /* a missing dst is created under the dst's name */
    TAP_CHECK(copy_in(src, rfd, "/copy", &o, &e) == 0);
    _cleanup_free_ char *got = slurp(root, "copy/sub/f");
    TAP_STREQ(got, "hello");
    _cleanup_free_ char *p = xasprintf("%s/copy/sub", root);
    TAP_CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0700);
    free(p);
    p = xasprintf("%s/copy", root);
    TAP_CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0751);
    free(p);
    p = xasprintf("%s/copy/sub/f", root);
    TAP_CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640);
    /* an existing dir receives the source under its own name */
    TAP_CHECK(copy_in(src, rfd, "/copy", &o, &e) == 0);
    free(got);
    got = slurp(root, "copy/src/sub/f");
    TAP_STREQ(got, "hello");
    /* contents only ("dir/.") go into the dir itself */
    o.contents_only = true;
    _cleanup_free_ char *into = xasprintf("%s/into", root);
    TAP_CHECK(mkdir(into, 0755) == 0);
    TAP_CHECK(copy_in(src, rfd, "into", &o, &e) == 0);
    free(got);
    got = slurp(root, "into/sub/f");
    TAP_STREQ(got, "hello");
    fs_rm_rf(d, &e);
    return 0;
}

/* A symlink planted in the root towards "/" or up the tree resolves inside
 * the root: nothing lands beside it. */
static int test_confined(void)
{
    _cleanup_free_ char *d = mktmp();
    _cleanup_free_ char *root = xasprintf("%s/root", d);
    _cleanup_free_ char *f = xasprintf("%s/f", d);
    _cleanup_free_ char *esc = xasprintf("%s/root/esc", d);
    _cleanup_free_ char *up = xasprintf("%s/root/up", d);
    _cleanup_free_ char *inroot = xasprintf("%s/root%s", d, d);
    berth_error_t e = NULL;
    struct ctrfs_put_opts o = {.owner = CTRFS_OWNER_NONE};
    TAP_CHECK(mkdir(root, 0755) == 0 && fs_mkdir_p(inroot, 0755, &e) == 0);
    TAP_CHECK(put(d, "f", "data", 0644) == 0);
    TAP_CHECK(symlink("/", esc) == 0 && symlink("../../../../../..", up) == 0);
    _cleanup_close_ int rfd = open(root, O_PATH | O_DIRECTORY);
    _cleanup_free_ char *dst1 = xasprintf("/esc%s/out1", d);
    _cleanup_free_ char *dst2 = xasprintf("/up%s/out2", d);
    TAP_CHECK(copy_in(f, rfd, dst1, &o, &e) == 0);
    TAP_CHECK(copy_in(f, rfd, dst2, &o, &e) == 0);
    _cleanup_free_ char *h1 = xasprintf("%s/out1", d);
    _cleanup_free_ char *h2 = xasprintf("%s/out2", d);
    TAP_CHECK(!fs_exists(h1) && !fs_exists(h2));
    _cleanup_free_ char *c1 = slurp(inroot, "out1");
    _cleanup_free_ char *c2 = slurp(inroot, "out2");
    TAP_STREQ(c1, "data");
    TAP_STREQ(c2, "data");
    /* reading through the planted link gives the root's file or nothing */
    struct ctrfs_root ctr = {rfd, true, "container t"};
    _cleanup_fclose_ FILE *tmp = tmpfile();
    _cleanup_free_ char *src = xasprintf("/up%s/f", d);
    TAP_CHECK(ctrfs_tar(&ctr, src, "f", false, fileno(tmp), &e) < 0);
    TAP_CHECK(e && e->errnum == ENOENT &&
              strstr(e->msg, "could not be found on container t: no such "
                             "file or directory") != NULL);
    berth_error_free(&e);
    fs_rm_rf(d, &e);
    return 0;
}

/* A hostile stream with ".." below its top entry is refused. */
static int test_hostile_stream(void)
{
    _cleanup_free_ char *d = mktmp();
    _cleanup_free_ char *root = xasprintf("%s/root", d);
    berth_error_t e = NULL;
    TAP_CHECK(mkdir(root, 0755) == 0);
    _cleanup_fclose_ FILE *tmp = tmpfile();
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_fd(a, fileno(tmp));
    static const char *const names[] = {"top/", "top/../../escaped"};
    for (int i = 0; i < 2; i++) {
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_pathname(ent, names[i]);
        archive_entry_set_filetype(ent, i == 0 ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(ent, 0644);
        archive_entry_set_size(ent, 0);
        archive_write_header(a, ent);
        archive_entry_free(ent);
    }
    archive_write_close(a);
    archive_write_free(a);
    rewind(tmp);
    struct ctrfs_root host = {AT_FDCWD, false, "the host"};
    struct ctrfs_put_opts o = {.owner = CTRFS_OWNER_NONE};
    TAP_CHECK(ctrfs_untar(&host, root, fileno(tmp), &o, &e) < 0);
    TAP_CHECK(e && strstr(e->msg, "invalid archive") != NULL);
    berth_error_free(&e);
    _cleanup_free_ char *esc = xasprintf("%s/escaped", d);
    TAP_CHECK(!fs_exists(esc));
    fs_rm_rf(d, &e);
    return 0;
}

static const char *kind_of(json_t *changes, const char *path)
{
    static const char *const k[] = {"C", "A", "D"};
    for (size_t i = 0; i < json_array_size(changes); i++) {
        json_t *c = json_array_get(changes, i);
        if (strcmp(json_get_str(c, "Path"), path) == 0)
            return k[json_get_int(c, "Kind", 0)];
    }
    return "-";
}

static int test_diff_dirs(void)
{
    _cleanup_free_ char *d = mktmp();
    _cleanup_free_ char *low = xasprintf("%s/low", d);
    _cleanup_free_ char *up = xasprintf("%s/up", d);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *ch = NULL;
    TAP_CHECK(fs_mkdir_p(low, 0755, &e) == 0 && fs_mkdir_p(up, 0755, &e) == 0);
    _cleanup_free_ char *le = xasprintf("%s/etc", low);
    _cleanup_free_ char *ue = xasprintf("%s/etc", up);
    _cleanup_free_ char *run = xasprintf("%s/run", up);
    TAP_CHECK(fs_mkdir_p(le, 0755, &e) == 0 && fs_mkdir_p(ue, 0755, &e) == 0 &&
              fs_mkdir_p(run, 0755, &e) == 0);
    TAP_CHECK(put(low, "etc/passwd", "a", 0644) == 0 &&
              put(low, "etc/group", "g", 0644) == 0 &&
              put(low, "etc/gone", "x", 0644) == 0);
    TAP_CHECK(put(up, "etc/passwd", "b", 0644) == 0 &&
              put(up, "etc/new", "n", 0644) == 0 &&
              put(up, "etc/hosts", "h", 0644) == 0 &&
              put(up, "etc/.wh.group", "", 0644) == 0);
    bool root = geteuid() == 0;
    if (root) {
        _cleanup_free_ char *wh = xasprintf("%s/etc/gone", up);
        TAP_CHECK(mknod(wh, S_IFCHR | 0, makedev(0, 0)) == 0);
    }
    char *lowers[] = {low, NULL};
    TAP_CHECK(ctrfs_diff_dirs(up, lowers, &ch, &e) == 0);
    TAP_STREQ(kind_of(ch, "/etc"), "C");
    TAP_STREQ(kind_of(ch, "/etc/passwd"), "C");
    TAP_STREQ(kind_of(ch, "/etc/new"), "A");
    TAP_STREQ(kind_of(ch, "/etc/group"), "D");
    if (root)
        TAP_STREQ(kind_of(ch, "/etc/gone"), "D");
    /* what engines create in every container is not reported */
    TAP_STREQ(kind_of(ch, "/etc/hosts"), "-");
    TAP_STREQ(kind_of(ch, "/run"), "-");
    /* sorted by path */
    for (size_t i = 1; i < json_array_size(ch); i++)
        TAP_CHECK(strcmp(json_get_str(json_array_get(ch, i - 1), "Path"),
                         json_get_str(json_array_get(ch, i), "Path")) < 0);
    fs_rm_rf(d, &e);
    return 0;
}

/* vfs: the whole tree copied, then changed */
static int test_diff_copy(void)
{
    _cleanup_free_ char *d = mktmp();
    _cleanup_free_ char *low = xasprintf("%s/low", d);
    _cleanup_free_ char *copy = xasprintf("%s/copy", d);
    _cleanup_free_ char *sub = xasprintf("%s/low/etc/sub", d);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *ch = NULL;
    TAP_CHECK(fs_mkdir_p(sub, 0755, &e) == 0);
    TAP_CHECK(put(low, "etc/passwd", "a", 0644) == 0 &&
              put(low, "etc/keep", "k", 0644) == 0 &&
              put(low, "etc/sub/x", "x", 0644) == 0);
    _cleanup_free_ char *cmd = xasprintf("cp -a %s %s", low, copy);
    TAP_CHECK(system(cmd) == 0);
    TAP_CHECK(put(copy, "etc/passwd", "changed", 0644) == 0 &&
              put(copy, "added", "n", 0600) == 0);
    _cleanup_free_ char *gone = xasprintf("%s/etc/sub", copy);
    TAP_CHECK(fs_rm_rf(gone, &e) == 0);
    char *lowers[] = {low, NULL};
    TAP_CHECK(ctrfs_diff_copy(copy, lowers, &ch, &e) == 0);
    TAP_STREQ(kind_of(ch, "/etc/passwd"), "C");
    TAP_STREQ(kind_of(ch, "/etc"), "C");
    TAP_STREQ(kind_of(ch, "/added"), "A");
    TAP_STREQ(kind_of(ch, "/etc/sub"), "D");
    /* one deletion for a deleted dir, unchanged files not reported */
    TAP_STREQ(kind_of(ch, "/etc/sub/x"), "-");
    TAP_STREQ(kind_of(ch, "/etc/keep"), "-");
    TAP_CHECK(json_array_size(ch) == 4);
    fs_rm_rf(d, &e);
    return 0;
}

TAP_MAIN({"tar in and out keep modes, cp's destination rules",
          test_roundtrip_modes},
         {"container paths stay confined to the root", test_confined},
         {"a stream climbing out with .. is refused", test_hostile_stream},
         {"diff of an upper dir against its lowers", test_diff_dirs},
         {"diff of a vfs copy against the image", test_diff_copy})
