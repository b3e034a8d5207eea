#define _GNU_SOURCE
#include "storage/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/sha256.h"
#include "lib/xalloc.h"
#include "tests/unit/tap.h"

/* One tar entry to write: f file, d dir, l symlink, h hard link, p fifo,
 * c char device (rdev 0:0). */
struct tent {
    char type;
    const char *path;
    const char *data; /* content, or link target */
    mode_t mode;
    int uid, gid;
    time_t mtime;
    const char *xname, *xval;
};

static char *scratch_new(void)
{
    const char *t = getenv("TMPDIR");
    char *d = xasprintf("%s/berth-unpack-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(d) == NULL)
        abort();
    return d;
}

static void scratch_free(char *d)
{
    berth_error_t e = NULL;
    fs_rm_rf(d, &e);
    berth_error_free(&e);
    free(d);
}

static char *sub(const char *dir, const char *name)
{
    return xasprintf("%s/%s", dir, name);
}

static void add_entry(struct archive *a, const struct tent *t)
{
    struct archive_entry *e = archive_entry_new();
    size_t len = t->data ? strlen(t->data) : 0;

    archive_entry_set_pathname(e, t->path);
    archive_entry_set_perm(e, t->mode ? t->mode : 0644);
    archive_entry_set_uid(e, t->uid);
    archive_entry_set_gid(e, t->gid);
    archive_entry_set_mtime(e, t->mtime ? t->mtime : 1600000000, 0);
    switch (t->type) {
    case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
    case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, t->data);
        len = 0;
        break;
    case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, t->data);
        len = 0;
        break;
    case 'p':
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    case 'c':
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, makedev(0, 0));
        break;
    default:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)len);
        break;
    }
    if (t->xname)
        archive_entry_xattr_add_entry(e, t->xname, t->xval, strlen(t->xval));
    archive_write_header(a, e);
    if (len)
        archive_write_data(a, t->data, len);
    archive_entry_free(e);
}

/* Plain tar, then `pad` extra zero bytes after libarchive's own end. */
static void write_tar(const char *path, const struct tent *ents, size_t n,
                      size_t pad)
{
    struct archive *a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, path);
    for (size_t i = 0; i < n; i++)
        add_entry(a, &ents[i]);
    archive_write_free(a);
    if (pad) {
        char *zeros = xcalloc(1, pad);
        FILE *f = fopen(path, "ab");
        fwrite(zeros, 1, pad, f);
        fclose(f);
        free(zeros);
    }
}

/* Compress a file with libarchive's raw writer: 'g' gzip, 'z' zstd. */
static void compress_file(const char *src, const char *dst, char filter)
{
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;
    berth_error_t e = NULL;
    struct archive *a = archive_write_new();
    struct archive_entry *ent = archive_entry_new();

    if (fs_read_file(src, &buf, &len, &e) < 0)
        abort();
    archive_write_set_format_raw(a);
    if (filter == 'g')
        archive_write_add_filter_gzip(a);
    else
        archive_write_add_filter_zstd(a);
    archive_write_set_bytes_in_last_block(a, 1);
    archive_write_open_filename(a, dst);
    archive_entry_set_filetype(ent, AE_IFREG);
    archive_entry_set_pathname(ent, "x");
    archive_write_header(a, ent);
    archive_write_data(a, buf, len);
    archive_entry_free(ent);
    archive_write_free(a);
}

static char *file_digest(const char *path)
{
    char hex[65];
    if (sha256_file_hex(path, hex, NULL) < 0)
        return xstrdup("?");
    return xasprintf("sha256:%s", hex);
}

static char *slurp(const char *path)
{
    char *buf = NULL;
    berth_error_t e = NULL;
    if (fs_read_file(path, &buf, NULL, &e) < 0) {
        berth_error_free(&e);
        return NULL;
    }
    return buf;
}

static bool missing(const char *path)
{
    struct stat st;
    return lstat(path, &st) < 0 && errno == ENOENT;
}

/* Unpack ents (plain tar) from a fresh scratch dir into scratch/dest;
 * returns layer_unpack's result with its error message in *ret_msg. */
static int unpack_ents(const char *dir, const struct tent *ents, size_t n,
                       const struct unpack_opts *o, char **ret_msg)
{
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *dest = sub(dir, "dest");
    berth_error_t e = NULL;

    write_tar(tar, ents, n, 0);
    mkdir(dest, 0755);
    int r = layer_unpack(tar, dest, o, NULL, NULL, &e);
    *ret_msg = e ? xstrdup(e->msg) : NULL;
    berth_error_free(&e);
    return r;
}

static const struct tent basic[] = {
    {'d', "etc", NULL, 0755, 0, 0, 1000000, NULL, NULL},
    {'f', "etc/passwd", "root:x:0:0\n", 0644, 0, 0, 1234567890, NULL, NULL},
    {'f', "bin/su", "ELF-su", 04755, 0, 0, 0, NULL, NULL},
    {'l', "etc/link", "passwd", 0777, 0, 0, 0, NULL, NULL},
    {'l', "abs", "/etc/passwd", 0777, 0, 0, 0, NULL, NULL},
    {'h', "etc/hard", "etc/passwd", 0644, 0, 0, 0, NULL, NULL},
    {'d', "ro", NULL, 0555, 0, 0, 0, NULL, NULL},
    {'f', "ro/file", "x", 0444, 0, 0, 0, NULL, NULL},
    {'p', "fifo", NULL, 0600, 0, 0, 0, NULL, NULL},
    {'f', "./x.txt", "xattr", 0640, 0, 0, 0, "user.test", "hello"},
};
#define NBASIC (sizeof(basic) / sizeof(basic[0]))

static int check_basic_tree(const char *dest)
{
    struct stat st, st2;
    char buf[64];
    _cleanup_free_ char *passwd = sub(dest, "etc/passwd");
    _cleanup_free_ char *hard = sub(dest, "etc/hard");
    _cleanup_free_ char *su = sub(dest, "bin/su");
    _cleanup_free_ char *bin = sub(dest, "bin");
    _cleanup_free_ char *etc = sub(dest, "etc");
    _cleanup_free_ char *link = sub(dest, "etc/link");
    _cleanup_free_ char *abs = sub(dest, "abs");
    _cleanup_free_ char *ro = sub(dest, "ro");
    _cleanup_free_ char *rofile = sub(dest, "ro/file");
    _cleanup_free_ char *fifo = sub(dest, "fifo");
    _cleanup_free_ char *x = sub(dest, "x.txt");
    _cleanup_free_ char *content = slurp(passwd);

    TAP_STREQ(content, "root:x:0:0\n");
    TAP_CHECK(stat(passwd, &st) == 0 && st.st_mtime == 1234567890);
    TAP_CHECK((st.st_mode & 07777) == 0644);
    TAP_CHECK(stat(hard, &st2) == 0 && st2.st_ino == st.st_ino);
    TAP_CHECK(st.st_nlink == 2);
    TAP_CHECK(stat(su, &st) == 0 && (st.st_mode & 07777) == 04755);
    TAP_CHECK(stat(bin, &st) == 0 && (st.st_mode & 07777) == 0755);
    TAP_CHECK(stat(etc, &st) == 0 && st.st_mtime == 1000000);
    TAP_CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    ssize_t n = readlink(link, buf, sizeof(buf));
    TAP_CHECK(n == 6 && memcmp(buf, "passwd", 6) == 0);
    n = readlink(abs, buf, sizeof(buf));
    TAP_CHECK(n == 11 && memcmp(buf, "/etc/passwd", 11) == 0);
    TAP_CHECK(stat(ro, &st) == 0 && (st.st_mode & 07777) == 0555);
    TAP_CHECK(stat(rofile, &st) == 0 && (st.st_mode & 07777) == 0444);
    TAP_CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    n = lgetxattr(x, "user.test", buf, sizeof(buf));
    TAP_CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
    return 0;
}

static int test_basic(void)
{
    char *dir = scratch_new();
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *dest = sub(dir, "dest");
    _cleanup_free_ char *diff = NULL;
    _cleanup_free_ char *want = NULL;
    berth_error_t e = NULL;
    int64_t size = -1;

    write_tar(tar, basic, NBASIC, 0);
    want = file_digest(tar);
    mkdir(dest, 0755);
    int r = layer_unpack(tar, dest, NULL, &diff, &size, &e);
    if (r < 0)
        fprintf(stderr, "# %s\n", e->msg);
    berth_error_free(&e);
    TAP_CHECK(r == 0);
    TAP_STREQ(diff, want);
    TAP_CHECK(size == 11 + 6 + 1 + 5);
    r = check_basic_tree(dest);
    scratch_free(dir);
    return r;
}

/* The diff id covers the whole decompressed stream, zero padding after
 * the end-of-archive blocks included. */
static int compressed_case(char filter)
{
    char *dir = scratch_new();
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *ctar = sub(dir, "layer.tar.c");
    _cleanup_free_ char *dest = sub(dir, "dest");
    _cleanup_free_ char *diff = NULL, *want = NULL, *unpadded = NULL;
    berth_error_t e = NULL;

    write_tar(tar, basic, NBASIC, 0);
    unpadded = file_digest(tar);
    write_tar(tar, basic, NBASIC, 3000);
    want = file_digest(tar);
    compress_file(tar, ctar, filter);
    mkdir(dest, 0755);
    int r = layer_unpack(ctar, dest, NULL, &diff, NULL, &e);
    if (r < 0)
        fprintf(stderr, "# %s\n", e->msg);
    berth_error_free(&e);
    TAP_CHECK(r == 0);
    TAP_STREQ(diff, want);
    TAP_CHECK(strcmp(diff, unpadded) != 0);
    r = check_basic_tree(dest);
    scratch_free(dir);
    return r;
}

static int test_gzip(void)
{
    return compressed_case('g');
}

static int test_zstd(void)
{
    return compressed_case('z');
}

static int test_whiteouts(void)
{
    static const struct tent ents[] = {
        {'f', ".wh.gone", "", 0, 0, 0, 0, NULL, NULL},
        {'d', "d", NULL, 0755, 0, 0, 0, NULL, NULL},
        {'f', "d/.wh..wh..opq", "", 0, 0, 0, 0, NULL, NULL},
        {'f', "d/keep", "k", 0644, 0, 0, 0, NULL, NULL},
        {'f', "d/.wh..wh.plnk", "", 0, 0, 0, 0, NULL, NULL},
    };
    char *dir = scratch_new();
    _cleanup_free_ char *dest = sub(dir, "dest");
    _cleanup_free_ char *gone = sub(dest, "gone");
    _cleanup_free_ char *d = sub(dest, "d");
    _cleanup_free_ char *opq = sub(dest, "d/.wh..wh..opq");
    _cleanup_free_ char *plnk = sub(dest, "d/.wh..wh.plnk");
    _cleanup_free_ char *msg = NULL;
    struct stat st;
    char v[4] = {0};

    TAP_CHECK(unpack_ents(dir, ents, 5, NULL, &msg) == 0);
    TAP_CHECK(lstat(gone, &st) == 0 && S_ISCHR(st.st_mode) &&
              st.st_rdev == makedev(0, 0));
    TAP_CHECK(lgetxattr(d, "user.overlay.opaque", v, sizeof(v)) == 1 &&
              v[0] == 'y');
    if (geteuid() == 0)
        TAP_CHECK(lgetxattr(d, "trusted.overlay.opaque", v, sizeof(v)) == 1);
    TAP_CHECK(missing(opq) && missing(plnk));
    scratch_free(dir);
    return 0;
}

static int test_owners(void)
{
    static const struct tent ents[] = {
        {'d', "home", NULL, 0750, 42, 43, 0, NULL, NULL},
        {'f', "home/f", "x", 04755, 1234, 5678, 0, NULL, NULL},
        {'l', "home/l", "f", 0777, 7, 8, 0, NULL, NULL},
    };
    struct unpack_opts o = {.chown = true};
    _cleanup_free_ char *msg = NULL;
    struct stat st;

    if (geteuid() != 0)
        return 77;
    char *dir = scratch_new();
    _cleanup_free_ char *home = sub(dir, "dest/home");
    _cleanup_free_ char *f = sub(dir, "dest/home/f");
    _cleanup_free_ char *l = sub(dir, "dest/home/l");
    TAP_CHECK(unpack_ents(dir, ents, 3, &o, &msg) == 0);
    TAP_CHECK(stat(home, &st) == 0 && st.st_uid == 42 && st.st_gid == 43);
    TAP_CHECK((st.st_mode & 07777) == 0750);
    TAP_CHECK(stat(f, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678);
    TAP_CHECK((st.st_mode & 07777) == 04755);
    TAP_CHECK(lstat(l, &st) == 0 && st.st_uid == 7 && st.st_gid == 8);
    scratch_free(dir);
    return 0;
}

/* Nothing but what the test made may exist next to dest. */
static int scratch_clean(const char *dir)
{
    _cleanup_strv_ char **seen = NULL;
    _cleanup_closedir_ DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            strv_append(&seen, de->d_name);
    for (size_t i = 0; seen && seen[i]; i++)
        if (strcmp(seen[i], "dest") != 0 && strcmp(seen[i], "layer.tar") != 0 &&
            strcmp(seen[i], "outside") != 0 && strcmp(seen[i], "lower") != 0 &&
            strcmp(seen[i], "lower2") != 0) {
            fprintf(stderr, "# unexpected %s/%s\n", dir, seen[i]);
            return -1;
        }
    _cleanup_free_ char *out = sub(dir, "outside");
    _cleanup_closedir_ DIR *o = opendir(out);
    while (o && (de = readdir(o)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            fprintf(stderr, "# written outside: %s\n", de->d_name);
            return -1;
        }
    return 0;
}

static int refused(const struct tent *ents, size_t n, const char *lower_dir,
                   const char *want_tail)
{
    char *dir = scratch_new();
    _cleanup_free_ char *out = sub(dir, "outside");
    _cleanup_free_ char *lower = sub(dir, "lower");
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *msg = NULL, *want = NULL;
    char *lowers[] = {lower, NULL};
    struct unpack_opts o = {.lowers = lowers};

    mkdir(out, 0755);
    if (lower_dir) {
        mkdir(lower, 0755);
        _cleanup_free_ char *l = sub(lower, lower_dir);
        TAP_CHECK(symlink(out, l) == 0);
    }
    int r = unpack_ents(dir, ents, n, lower_dir ? &o : NULL, &msg);
    want = xasprintf("unpack layer %s: %s", tar, want_tail);
    TAP_CHECK(r < 0);
    TAP_STREQ(msg, want);
    r = scratch_clean(dir);
    scratch_free(dir);
    return r;
}

static int test_dotdot(void)
{
    static const struct tent a[] = {{'f', "../x", "evil", 0644, 0, 0, 0,
                                     NULL, NULL}};
    static const struct tent b[] = {
        {'d', "a", NULL, 0755, 0, 0, 0, NULL, NULL},
        {'f', "a/../../outside/x", "evil", 0644, 0, 0, 0, NULL, NULL}};
    static const struct tent c[] = {
        {'f', "ok", "fine", 0644, 0, 0, 0, NULL, NULL},
        {'h', "h", "../outside/y", 0644, 0, 0, 0, NULL, NULL}};
    TAP_CHECK(refused(a, 1, NULL,
                      "layer entry \"../x\": path escapes the layer") == 0);
    TAP_CHECK(refused(b, 2, NULL,
                      "layer entry \"a/../../outside/x\": path escapes the "
                      "layer") == 0);
    TAP_CHECK(refused(c, 2, NULL,
                      "layer entry \"h\": hard link target "
                      "\"../outside/y\" escapes the layer") == 0);
    return 0;
}

static int test_absolute(void)
{
    _cleanup_free_ char *abs =
        xasprintf("/tmp/berth-unpack-abs-%d", (int)getpid());
    const struct tent a[] = {{'f', abs, "evil", 0644, 0, 0, 0, NULL, NULL}};
    _cleanup_free_ char *want =
        xasprintf("layer entry \"%s\": path escapes the layer", abs);
    TAP_CHECK(refused(a, 1, NULL, want) == 0);
    TAP_CHECK(missing(abs));
    return 0;
}

/* A symlink planted by the layer itself, then a write through it. */
static int test_symlink_same_layer(void)
{
    static const struct tent a[] = {
        {'l', "root", "/", 0777, 0, 0, 0, NULL, NULL},
        {'f', "root/tmp/berth-unpack-evil", "evil", 0644, 0, 0, 0, NULL,
         NULL}};
    static const struct tent b[] = {
        {'l', "up", "..", 0777, 0, 0, 0, NULL, NULL},
        {'f', "up/outside/x", "evil", 0644, 0, 0, 0, NULL, NULL}};
    static const struct tent c[] = {
        {'d', "d", NULL, 0755, 0, 0, 0, NULL, NULL},
        {'l', "d/l", "/tmp", 0777, 0, 0, 0, NULL, NULL},
        {'h', "h", "d/l/berth-unpack-evil", 0644, 0, 0, 0, NULL, NULL}};
    TAP_CHECK(refused(a, 2, NULL,
                      "layer entry \"root/tmp/berth-unpack-evil\": parent "
                      "\"root\" is a symlink") == 0);
    TAP_CHECK(missing("/tmp/berth-unpack-evil"));
    TAP_CHECK(refused(b, 2, NULL,
                      "layer entry \"up/outside/x\": parent \"up\" is a "
                      "symlink") == 0);
    TAP_CHECK(refused(c, 3, NULL,
                      "layer entry \"h\": parent \"d/l\" is a symlink") == 0);
    return 0;
}

static int test_symlink_lower(void)
{
    static const struct tent a[] = {
        {'f', "lib/x/evil", "evil", 0644, 0, 0, 0, NULL, NULL}};
    TAP_CHECK(refused(a, 1, "lib",
                      "layer entry \"lib/x/evil\": parent \"lib\" is a "
                      "symlink") == 0);
    return 0;
}

/* Lowers that hide a symlink (whiteout, opaque dir) or a layer dir that
 * replaces it: these writes are fine. */
static int test_symlink_lower_hidden(void)
{
    static const struct tent ents[] = {
        {'f', "lib/ok", "ok", 0644, 0, 0, 0, NULL, NULL},
        {'f', "opq/s/ok", "ok", 0644, 0, 0, 0, NULL, NULL},
        {'d', "dir", NULL, 0711, 0, 0, 0, NULL, NULL},
        {'f', "dir/ok", "ok", 0644, 0, 0, 0, NULL, NULL}};
    char *dir = scratch_new();
    _cleanup_free_ char *out = sub(dir, "outside");
    _cleanup_free_ char *l1 = sub(dir, "lower");
    _cleanup_free_ char *l2 = sub(dir, "lower2");
    _cleanup_free_ char *msg = NULL;
    char *lowers[] = {l2, l1, NULL};
    struct unpack_opts o = {.lowers = lowers};
    struct stat st;

    mkdir(out, 0755);
    mkdir(l1, 0755);
    mkdir(l2, 0755);
    _cleanup_free_ char *p1 = sub(l1, "lib");
    _cleanup_free_ char *p2 = sub(l2, "lib");
    _cleanup_free_ char *p3 = sub(l1, "opq");
    _cleanup_free_ char *p4 = sub(l1, "opq/s");
    _cleanup_free_ char *p5 = sub(l2, "opq");
    _cleanup_free_ char *p6 = sub(l1, "dir");
    _cleanup_free_ char *p7 = sub(l1, "opq/keep");
    TAP_CHECK(symlink(out, p1) == 0);
    TAP_CHECK(mknod(p2, S_IFCHR, makedev(0, 0)) == 0);
    TAP_CHECK(mkdir(p3, 0755) == 0 && symlink(out, p4) == 0);
    TAP_CHECK(mkdir(p7, 0700) == 0);
    TAP_CHECK(mkdir(p5, 0755) == 0 &&
              setxattr(p5, "user.overlay.opaque", "y", 1, 0) == 0);
    TAP_CHECK(symlink(out, p6) == 0);
    int r = unpack_ents(dir, ents, 4, &o, &msg);
    if (r < 0)
        fprintf(stderr, "# %s\n", msg);
    TAP_CHECK(r == 0);
    _cleanup_free_ char *ok1 = sub(dir, "dest/lib/ok");
    _cleanup_free_ char *ok2 = sub(dir, "dest/opq/s/ok");
    _cleanup_free_ char *ok3 = sub(dir, "dest/dir/ok");
    _cleanup_free_ char *d = sub(dir, "dest/dir");
    TAP_CHECK(stat(ok1, &st) == 0 && stat(ok2, &st) == 0);
    TAP_CHECK(stat(ok3, &st) == 0);
    TAP_CHECK(lstat(d, &st) == 0 && S_ISDIR(st.st_mode) &&
              (st.st_mode & 07777) == 0711);
    TAP_CHECK(scratch_clean(dir) == 0);
    scratch_free(dir);
    return 0;
}

/* An implied parent takes the lower dir's mode; a hard link to a file only
 * a lower holds copies it up. */
static int test_lower_copy_up(void)
{
    static const struct tent ents[] = {
        {'h', "bin/sh", "bin/busybox", 0755, 0, 0, 0, NULL, NULL}};
    char *dir = scratch_new();
    _cleanup_free_ char *l1 = sub(dir, "lower");
    _cleanup_free_ char *lbin = sub(dir, "lower/bin");
    _cleanup_free_ char *lbb = sub(dir, "lower/bin/busybox");
    _cleanup_free_ char *bb = sub(dir, "dest/bin/busybox");
    _cleanup_free_ char *sh = sub(dir, "dest/bin/sh");
    _cleanup_free_ char *bin = sub(dir, "dest/bin");
    _cleanup_free_ char *msg = NULL;
    char *lowers[] = {l1, NULL};
    struct unpack_opts o = {.lowers = lowers};
    struct stat st, st2;
    berth_error_t e = NULL;

    mkdir(l1, 0755);
    mkdir(lbin, 0751);
    chmod(lbin, 0751);
    TAP_CHECK(fs_write_file_atomic(lbb, "BB", 2, 0755, &e) == 0);
    int r = unpack_ents(dir, ents, 1, &o, &msg);
    if (r < 0)
        fprintf(stderr, "# %s\n", msg);
    TAP_CHECK(r == 0);
    _cleanup_free_ char *c = slurp(sh);
    TAP_STREQ(c, "BB");
    TAP_CHECK(stat(bb, &st) == 0 && stat(sh, &st2) == 0);
    TAP_CHECK(st.st_ino == st2.st_ino && (st.st_mode & 07777) == 0755);
    TAP_CHECK(stat(bin, &st) == 0 && (st.st_mode & 07777) == 0751);
    scratch_free(dir);
    return 0;
}

static int truncated_case(char filter)
{
    static char big[200000];
    const struct tent ents[] = {
        {'f', "big", big, 0644, 0, 0, 0, NULL, NULL}};
    char *dir = scratch_new();
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *ctar = sub(dir, "layer.tgz");
    _cleanup_free_ char *dest = sub(dir, "dest");
    _cleanup_free_ char *prefix = xasprintf("unpack layer %s: ", ctar);
    berth_error_t e = NULL;
    struct stat st;
    unsigned s = 1;

    for (size_t i = 0; i < sizeof(big) - 1; i++) {
        s = s * 1103515245 + 12345;
        big[i] = (char)('a' + (s >> 16) % 26);
    }
    write_tar(tar, ents, 1, 0);
    compress_file(tar, ctar, filter);
    TAP_CHECK(stat(ctar, &st) == 0 && truncate(ctar, st.st_size / 2) == 0);
    mkdir(dest, 0755);
    TAP_CHECK(layer_unpack(ctar, dest, NULL, NULL, NULL, &e) < 0);
    TAP_CHECK(e && str_has_prefix(e->msg, prefix));
    TAP_CHECK(strcasestr(e->msg, "truncated") != NULL);
    berth_error_free(&e);
    scratch_free(dir);
    return 0;
}

static int test_truncated(void)
{
    TAP_CHECK(truncated_case('g') == 0);
    TAP_CHECK(truncated_case('z') == 0);
    return 0;
}

static int test_duplicates(void)
{
    static const struct tent ents[] = {
        {'f', "a", "file", 0644, 0, 0, 0, NULL, NULL},
        {'d', "a", NULL, 0755, 0, 0, 0, NULL, NULL},
        {'f', "a/x", "x", 0644, 0, 0, 0, NULL, NULL},
        {'d', "b", NULL, 0755, 0, 0, 0, NULL, NULL},
        {'f', "b/y", "y", 0644, 0, 0, 0, NULL, NULL},
        {'f', "b", "now a file", 0600, 0, 0, 0, NULL, NULL},
        {'l', "c", "/", 0777, 0, 0, 0, NULL, NULL},
        {'f', "c", "replaced", 0644, 0, 0, 0, NULL, NULL},
        {'f', ".wh.e", "", 0, 0, 0, 0, NULL, NULL},
        {'f', "e/z", "z", 0644, 0, 0, 0, NULL, NULL},
    };
    char *dir = scratch_new();
    _cleanup_free_ char *ax = sub(dir, "dest/a/x");
    _cleanup_free_ char *b = sub(dir, "dest/b");
    _cleanup_free_ char *c = sub(dir, "dest/c");
    _cleanup_free_ char *e = sub(dir, "dest/e");
    _cleanup_free_ char *msg = NULL;
    struct stat st;
    char v = 0;

    int r = unpack_ents(dir, ents, 10, NULL, &msg);
    if (r < 0)
        fprintf(stderr, "# %s\n", msg);
    TAP_CHECK(r == 0);
    _cleanup_free_ char *x = slurp(ax);
    _cleanup_free_ char *bb = slurp(b);
    _cleanup_free_ char *cc = slurp(c);
    TAP_STREQ(x, "x");
    TAP_STREQ(bb, "now a file");
    TAP_STREQ(cc, "replaced");
    TAP_CHECK(lstat(c, &st) == 0 && S_ISREG(st.st_mode));
    /* a whiteout then files under it: a fresh dir hiding the lower one */
    TAP_CHECK(lstat(e, &st) == 0 && S_ISDIR(st.st_mode));
    TAP_CHECK(lgetxattr(e, "user.overlay.opaque", &v, 1) == 1 && v == 'y');
    scratch_free(dir);
    return 0;
}

static int test_sparse(void)
{
    char *dir = scratch_new();
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *dest = sub(dir, "dest");
    _cleanup_free_ char *f = sub(dest, "sparse");
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    berth_error_t err = NULL;
    _cleanup_free_ char *buf = NULL;
    size_t len = 0;

    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, tar);
    archive_entry_set_pathname(e, "sparse");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 1 << 20);
    archive_entry_sparse_add_entry(e, 0, 4);
    archive_entry_sparse_add_entry(e, (1 << 20) - 4, 4);
    archive_write_header(a, e);
    /* the writer takes the whole file and drops the holes itself */
    char *full = xcalloc(1, 1 << 20);
    memcpy(full, "HEAD", 4);
    memcpy(full + (1 << 20) - 4, "TAIL", 4);
    archive_write_data(a, full, 1 << 20);
    free(full);
    archive_entry_free(e);
    archive_write_free(a);
    mkdir(dest, 0755);
    int r = layer_unpack(tar, dest, NULL, NULL, NULL, &err);
    if (r < 0)
        fprintf(stderr, "# %s\n", err->msg);
    berth_error_free(&err);
    TAP_CHECK(r == 0);
    TAP_CHECK(fs_read_file(f, &buf, &len, &err) == 0);
    TAP_CHECK(len == 1 << 20);
    TAP_CHECK(memcmp(buf, "HEAD", 4) == 0 && buf[4] == 0);
    TAP_CHECK(memcmp(buf + len - 4, "TAIL", 4) == 0 && buf[len / 2] == 0);
    scratch_free(dir);
    return 0;
}

/* Compare two trees: types, modes, sizes, contents, link targets, mtimes
 * of non-dirs, user xattrs, link counts. */
static int tree_cmp(const char *a, const char *b)
{
    struct stat sa, sb;
    char va[256], vb[256];

    if (lstat(a, &sa) < 0 || lstat(b, &sb) < 0) {
        fprintf(stderr, "# missing %s or %s\n", a, b);
        return -1;
    }
    if (sa.st_mode != sb.st_mode || sa.st_size != sb.st_size ||
        sa.st_rdev != sb.st_rdev || sa.st_nlink != sb.st_nlink ||
        sa.st_uid != sb.st_uid ||
        (!S_ISDIR(sa.st_mode) && !S_ISLNK(sa.st_mode) &&
         sa.st_mtime != sb.st_mtime)) {
        fprintf(stderr, "# %s differs from %s\n", a, b);
        return -1;
    }
    ssize_t na = lgetxattr(a, "user.test", va, sizeof(va));
    ssize_t nb = lgetxattr(b, "user.test", vb, sizeof(vb));
    if (na != nb || (na > 0 && memcmp(va, vb, (size_t)na) != 0))
        return -1;
    na = lgetxattr(a, "user.overlay.opaque", va, sizeof(va));
    nb = lgetxattr(b, "user.overlay.opaque", vb, sizeof(vb));
    if (na != nb)
        return -1;
    if (S_ISREG(sa.st_mode)) {
        _cleanup_free_ char *ca = slurp(a), *cb = slurp(b);
        return ca && cb && strcmp(ca, cb) == 0 ? 0 : -1;
    }
    if (S_ISLNK(sa.st_mode)) {
        na = readlink(a, va, sizeof(va));
        nb = readlink(b, vb, sizeof(vb));
        return na == nb && memcmp(va, vb, (size_t)na) == 0 ? 0 : -1;
    }
    if (!S_ISDIR(sa.st_mode))
        return 0;
    _cleanup_closedir_ DIR *d = opendir(a);
    struct dirent *de;
    size_t count = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        _cleanup_free_ char *ca = sub(a, de->d_name), *cb = sub(b, de->d_name);
        if (tree_cmp(ca, cb) < 0)
            return -1;
        count++;
    }
    _cleanup_closedir_ DIR *d2 = opendir(b);
    while ((de = readdir(d2)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            count--;
    return count == 0 ? 0 : -1;
}

static int test_pack_roundtrip(void)
{
    static const struct tent extra[] = {
        {'f', ".wh.gone", "", 0, 0, 0, 0, NULL, NULL},
        {'d', "opq", NULL, 0700, 0, 0, 0, NULL, NULL},
        {'f', "opq/.wh..wh..opq", "", 0, 0, 0, 0, NULL, NULL},
        {'f', "opq/f", "in opaque", 0644, 0, 0, 0, NULL, NULL},
        {'f', "zz/long-name-" "0123456789012345678901234567890123456789"
              "0123456789012345678901234567890123456789"
              "0123456789012345678901234567890123456789", "long", 0600, 0, 0,
         0, NULL, NULL},
    };
    struct tent ents[NBASIC + 5];
    char *dir = scratch_new();
    _cleanup_free_ char *a = sub(dir, "dest");
    _cleanup_free_ char *b = sub(dir, "b");
    _cleanup_free_ char *tgz = sub(dir, "out.tgz");
    _cleanup_free_ char *tgz2 = sub(dir, "out2.tgz");
    _cleanup_free_ char *msg = NULL, *dg = NULL, *diff = NULL, *diff2 = NULL;
    _cleanup_free_ char *dg2 = NULL, *diff3 = NULL, *want = NULL;
    berth_error_t e = NULL;
    int64_t size = 0;
    struct stat st;

    memcpy(ents, basic, sizeof(basic));
    memcpy(ents + NBASIC, extra, sizeof(extra));
    TAP_CHECK(unpack_ents(dir, ents, NBASIC + 5, NULL, &msg) == 0);
    int r = layer_pack(a, tgz, &dg, &diff, &size, &e);
    if (r < 0)
        fprintf(stderr, "# %s\n", e->msg);
    TAP_CHECK(r == 0);
    want = file_digest(tgz);
    TAP_STREQ(dg, want);
    TAP_CHECK(stat(tgz, &st) == 0 && st.st_size == size);
    mkdir(b, 0755);
    r = layer_unpack(tgz, b, NULL, &diff2, NULL, &e);
    if (r < 0)
        fprintf(stderr, "# %s\n", e->msg);
    TAP_CHECK(r == 0);
    TAP_STREQ(diff2, diff);
    TAP_CHECK(tree_cmp(a, b) == 0);
    TAP_CHECK(check_basic_tree(b) == 0);
    /* the same tree packs to the same bytes */
    TAP_CHECK(layer_pack(b, tgz2, &dg2, &diff3, NULL, &e) == 0);
    TAP_STREQ(dg2, dg);
    TAP_STREQ(diff3, diff);
    scratch_free(dir);
    return 0;
}

static int test_recompress(void)
{
    char *dir = scratch_new();
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *zst = sub(dir, "layer.tar.zst");
    _cleanup_free_ char *out = sub(dir, "out.tgz");
    _cleanup_free_ char *out2 = sub(dir, "out2.tgz");
    _cleanup_free_ char *dg = NULL, *diff = NULL, *dg2 = NULL, *diff2 = NULL;
    _cleanup_free_ char *want = NULL, *want_dg = NULL, *udiff = NULL;
    _cleanup_free_ char *dest = sub(dir, "dest");
    berth_error_t e = NULL;
    int64_t size = 0;
    struct stat st;
    unsigned char magic[2] = {0};

    write_tar(tar, basic, NBASIC, 512);
    want = file_digest(tar);
    compress_file(tar, zst, 'z');
    TAP_CHECK(layer_recompress(tar, out, &dg, &diff, &size, &e) == 0);
    TAP_STREQ(diff, want);
    want_dg = file_digest(out);
    TAP_STREQ(dg, want_dg);
    TAP_CHECK(stat(out, &st) == 0 && st.st_size == size);
    FILE *f = fopen(out, "rb");
    TAP_CHECK(f && fread(magic, 1, 2, f) == 2);
    fclose(f);
    TAP_CHECK(magic[0] == 0x1f && magic[1] == 0x8b);
    TAP_CHECK(layer_recompress(zst, out2, &dg2, &diff2, NULL, &e) == 0);
    TAP_STREQ(diff2, want);
    TAP_STREQ(dg2, dg);
    mkdir(dest, 0755);
    TAP_CHECK(layer_unpack(out, dest, NULL, &udiff, NULL, &e) == 0);
    TAP_STREQ(udiff, want);
    scratch_free(dir);
    return 0;
}

/* An empty stream is an empty layer; a missing file names itself. */
static int test_empty_and_missing(void)
{
    char *dir = scratch_new();
    _cleanup_free_ char *tar = sub(dir, "layer.tar");
    _cleanup_free_ char *nope = sub(dir, "nope.tar");
    _cleanup_free_ char *dest = sub(dir, "dest");
    _cleanup_free_ char *diff = NULL;
    berth_error_t e = NULL;
    int64_t size = -1;

    TAP_CHECK(fs_write_file_atomic(tar, "", 0, 0644, &e) == 0);
    mkdir(dest, 0755);
    int r = layer_unpack(tar, dest, NULL, &diff, &size, &e);
    if (r < 0)
        fprintf(stderr, "# %s\n", e->msg);
    TAP_CHECK(r == 0 && size == 0);
    TAP_STREQ(diff, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c"
                    "a495991b7852b855");
    TAP_CHECK(layer_unpack(nope, dest, NULL, NULL, NULL, &e) < 0);
    TAP_CHECK(e && str_has_prefix(e->msg, "unpack layer ") &&
              strstr(e->msg, "nope.tar") != NULL);
    berth_error_free(&e);
    scratch_free(dir);
    return 0;
}

TAP_MAIN({"unpack files, dirs, links, modes, mtimes, xattrs", test_basic},
         {"unpack gzip, diff id covers trailing padding", test_gzip},
         {"unpack zstd, diff id covers trailing padding", test_zstd},
         {"whiteouts and opaque dirs", test_whiteouts},
         {"owners kept as root", test_owners},
         {"'..' entries refused", test_dotdot},
         {"absolute entries refused", test_absolute},
         {"write through a symlink of the layer refused",
          test_symlink_same_layer},
         {"write through a symlink of a lower layer refused",
          test_symlink_lower},
         {"lower symlinks hidden by whiteout/opaque/dir",
          test_symlink_lower_hidden},
         {"implied parents and hard links copied up from lowers",
          test_lower_copy_up},
         {"truncated gzip and zstd refused", test_truncated},
         {"duplicate entries replace earlier ones", test_duplicates},
         {"sparse files", test_sparse},
         {"pack and unpack round trip", test_pack_roundtrip},
         {"recompress to gzip", test_recompress},
         {"empty and missing layer files", test_empty_and_missing})
