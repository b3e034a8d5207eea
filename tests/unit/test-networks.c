#define _GNU_SOURCE
#include "storage/networks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/store.h"
#include "tests/unit/tap.h"

/* A store under $TMPDIR, removed by fx_close. */
struct fx {
    char *dir;
    struct store *s;
};

static void fx_open(struct fx *f)
{
    const char *t = getenv("TMPDIR");
    f->dir = xasprintf("%s/berth-networks-XXXXXX", t && *t ? t : "/tmp");
    if (mkdtemp(f->dir) == NULL)
        abort();
    _cleanup_free_ char *root = xasprintf("%s/root", f->dir);
    _cleanup_free_ char *run = xasprintf("%s/run", f->dir);
    struct store_opts o = {.root = root, .runroot = run, .driver = "vfs"};
    berth_error_t e = NULL;
    if (store_open(&o, &f->s, &e) < 0) {
        fprintf(stderr, "# store_open: %s\n", e->msg);
        abort();
    }
}

static void fx_close(struct fx *f)
{
    berth_error_t e = NULL;
    store_free(f->s);
    fs_rm_rf(f->dir, &e);
    berth_error_free(&e);
    free(f->dir);
}

static json_t *net_new(struct store *s, const char *name, const char *subnet,
                       const char *gateway, berth_error_t *err)
{
    struct network_opts o = {.name = name, .subnet = subnet,
                             .gateway = gateway};
    json_t *rec = NULL;
    if (networks_create(s, &o, &rec, err) < 0)
        return NULL;
    return rec;
}

/* Expect a failed call's error: errnum and exact message; frees it. */
static int expect_err(berth_error_t *e, int errnum, const char *msg)
{
    TAP_CHECK(*e != NULL);
    if ((*e)->errnum != errnum)
        fprintf(stderr, "# errnum %d != %d (%s)\n", (*e)->errnum, errnum,
                (*e)->msg);
    TAP_CHECK((*e)->errnum == errnum);
    TAP_STREQ((*e)->msg, msg);
    berth_error_free(e);
    return 0;
}

static int count_networks(struct store *s)
{
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = NULL;
    if (networks_list(s, &all, &e) < 0) {
        berth_error_free(&e);
        return -1;
    }
    return (int)json_array_size(all);
}

static char *alloc(struct store *s, const char *net, const char *ctr)
{
    berth_error_t e = NULL;
    char *ip = NULL;
    if (networks_ip_allocate(s, net, ctr, &ip, &e) < 0) {
        fprintf(stderr, "# allocate %s on %s: %s\n", ctr, net, e->msg);
        berth_error_free(&e);
        return NULL;
    }
    return ip;
}

static int test_create_default(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, NULL, NULL, NULL, &e);
    _cleanup_json_ json_t *b = net_new(f.s, NULL, NULL, NULL, &e);
    _cleanup_json_ json_t *disk = NULL, *c = NULL;
    TAP_CHECK(a && b);
    TAP_STREQ(json_get_str(a, "name"), "berth1");
    TAP_STREQ(json_get_str(a, "subnet"), "10.89.1.0/24");
    TAP_STREQ(json_get_str(a, "gateway"), "10.89.1.1");
    TAP_STREQ(json_get_str(a, "driver"), "bridge");
    TAP_CHECK(json_get_str(a, "created") != NULL);
    TAP_CHECK(json_is_false(json_object_get(a, "internal")));
    TAP_CHECK(json_is_object(json_object_get(a, "labels")) &&
              json_object_size(json_object_get(a, "labels")) == 0);
    const char *id = json_get_str(a, "id");
    TAP_CHECK(id && strlen(id) == 64 && strspn(id, "0123456789abcdef") == 64);
    _cleanup_free_ char *bridge = xasprintf("bn-%.8s", id);
    TAP_STREQ(json_get_str(a, "bridge"), bridge);
    TAP_CHECK(strlen(bridge) <= 15);
    _cleanup_free_ char *path = store_path(f.s, "networks/berth1.json");
    TAP_CHECK((disk = json_load_path(path, &e)) != NULL);
    TAP_CHECK(json_equal(disk, a));
    TAP_STREQ(json_get_str(b, "name"), "berth2");
    TAP_STREQ(json_get_str(b, "subnet"), "10.89.2.0/24");
    TAP_STREQ(json_get_str(b, "gateway"), "10.89.2.1");
    TAP_CHECK(strcmp(json_get_str(b, "id"), id) != 0);
    /* the lowest free name and subnet are reused */
    TAP_CHECK(networks_delete(f.s, "berth1", &e) == 0);
    TAP_CHECK((c = net_new(f.s, NULL, NULL, NULL, &e)) != NULL);
    TAP_STREQ(json_get_str(c, "name"), "berth1");
    TAP_STREQ(json_get_str(c, "subnet"), "10.89.1.0/24");
    /* a taken berthN name is skipped, a given subnet avoided */
    json_t *x = net_new(f.s, "berth3", "10.89.4.0/24", NULL, &e);
    TAP_CHECK(x != NULL);
    json_decref(x);
    TAP_CHECK((x = net_new(f.s, NULL, NULL, NULL, &e)) != NULL);
    TAP_STREQ(json_get_str(x, "name"), "berth4");
    TAP_STREQ(json_get_str(x, "subnet"), "10.89.3.0/24");
    json_decref(x);
    TAP_CHECK((x = net_new(f.s, NULL, NULL, NULL, &e)) != NULL);
    TAP_STREQ(json_get_str(x, "name"), "berth5");
    TAP_STREQ(json_get_str(x, "subnet"), "10.89.5.0/24");
    json_decref(x);
    fx_close(&f);
    return 0;
}

static int test_create_named(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *labels = json_pack("{s:s}", "app", "web");
    struct network_opts o = {.name = "front.net_1-a",
                             .subnet = "192.168.50.0/26",
                             .gateway = "192.168.50.62",
                             .internal = true,
                             .labels = labels};
    _cleanup_json_ json_t *rec = NULL, *disk = NULL;
    TAP_CHECK(networks_create(f.s, &o, &rec, &e) == 0);
    TAP_STREQ(json_get_str(rec, "name"), "front.net_1-a");
    TAP_STREQ(json_get_str(rec, "subnet"), "192.168.50.0/26");
    TAP_STREQ(json_get_str(rec, "gateway"), "192.168.50.62");
    TAP_CHECK(json_is_true(json_object_get(rec, "internal")));
    TAP_CHECK(json_equal(json_object_get(rec, "labels"), labels));
    /* labels are borrowed: the record has its own copy */
    TAP_CHECK(json_object_get(rec, "labels") != labels);
    TAP_CHECK(labels->refcount == 1);
    _cleanup_free_ char *path = store_path(f.s, "networks/front.net_1-a.json");
    TAP_CHECK((disk = json_load_path(path, &e)) != NULL);
    TAP_CHECK(json_equal(disk, rec));
    /* no temp file is left next to the records */
    _cleanup_free_ char *top = store_path(f.s, "networks");
    _cleanup_closedir_ DIR *d = opendir(top);
    struct dirent *de;
    int files = 0;
    while (d && (de = readdir(d)) != NULL)
        files += de->d_name[0] != '.';
    TAP_CHECK(files == 1);
    fx_close(&f);
    return 0;
}

static int test_name_taken(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, "x", NULL, NULL, &e);
    TAP_CHECK(a != NULL);
    TAP_CHECK(net_new(f.s, "x", "10.1.0.0/16", NULL, &e) == NULL);
    TAP_CHECK(expect_err(&e, EEXIST,
                         "network name x already used: network already "
                         "exists") == 0);
    /* a default name is never taken */
    _cleanup_json_ json_t *b = net_new(f.s, "berth1", NULL, NULL, &e);
    _cleanup_json_ json_t *c = net_new(f.s, NULL, NULL, NULL, &e);
    TAP_CHECK(b && c);
    TAP_STREQ(json_get_str(c, "name"), "berth2");
    TAP_CHECK(count_networks(f.s) == 3);
    _cleanup_json_ json_t *r = NULL;
    TAP_CHECK(networks_lookup(f.s, "x", &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), json_get_str(a, "id"));
    fx_close(&f);
    return 0;
}

static int test_invalid_name(void)
{
    struct fx f;
    fx_open(&f);
    const char *bad[] = {"../evil", "-x", "_x", ".x", "a b", "a/b", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        berth_error_t e = NULL;
        TAP_CHECK(net_new(f.s, bad[i], NULL, NULL, &e) == NULL);
        _cleanup_free_ char *want =
            xasprintf("invalid network name \"%s\": names must match "
                      "[a-zA-Z0-9][a-zA-Z0-9_.-]*",
                      bad[i]);
        TAP_CHECK(expect_err(&e, EINVAL, want) == 0);
    }
    berth_error_t e = NULL;
    char longname[252];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    TAP_CHECK(net_new(f.s, longname, NULL, NULL, &e) == NULL);
    _cleanup_free_ char *want = xasprintf(
        "invalid network name \"%s\": at most 250 characters", longname);
    TAP_CHECK(expect_err(&e, EINVAL, want) == 0);
    TAP_CHECK(count_networks(f.s) == 0);
    /* 250 characters fit */
    longname[250] = '\0';
    _cleanup_json_ json_t *ok = net_new(f.s, longname, NULL, NULL, &e);
    TAP_CHECK(ok != NULL);
    fx_close(&f);
    return 0;
}

static int test_bad_subnet(void)
{
    struct fx f;
    fx_open(&f);
    static const struct {
        const char *subnet, *problem;
    } cases[] = {
        {"10.0.0.0", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0.0/", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"/24", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"abc/24", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0/24", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0.256/24", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0.0/024", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0.0/08", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0.0/+8", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"10.0.0.0/24/1", "not an IPv4 CIDR such as 10.89.1.0/24"},
        {"fd00::/64", "only IPv4 is supported"},
        {"10.0.0.0/7", "prefix length must be 8 to 30"},
        {"10.0.0.0/31", "prefix length must be 8 to 30"},
        {"10.0.0.0/32", "prefix length must be 8 to 30"},
        {"10.0.0.0/0", "prefix length must be 8 to 30"},
        {"10.0.0.1/24", "host bits must be zero (did you mean 10.0.0.0/24?)"},
        {"10.1.2.3/8", "host bits must be zero (did you mean 10.0.0.0/8?)"},
        {"10.0.0.6/30", "host bits must be zero (did you mean 10.0.0.4/30?)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        berth_error_t e = NULL;
        TAP_CHECK(net_new(f.s, NULL, cases[i].subnet, NULL, &e) == NULL);
        _cleanup_free_ char *want = xasprintf(
            "invalid subnet \"%s\": %s", cases[i].subnet, cases[i].problem);
        TAP_CHECK(expect_err(&e, EINVAL, want) == 0);
    }
    TAP_CHECK(count_networks(f.s) == 0);
    /* the edges of the allowed prefix lengths */
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, NULL, "11.0.0.0/8", NULL, &e);
    _cleanup_json_ json_t *b = net_new(f.s, NULL, "12.0.0.8/30", NULL, &e);
    TAP_CHECK(a && b);
    TAP_STREQ(json_get_str(b, "subnet"), "12.0.0.8/30");
    TAP_STREQ(json_get_str(a, "gateway"), "11.0.0.1");
    TAP_STREQ(json_get_str(b, "gateway"), "12.0.0.9");
    fx_close(&f);
    return 0;
}

static int test_subnet_overlap(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, "a", "10.0.0.0/16", NULL, &e);
    TAP_CHECK(a != NULL);
    /* the last one is no clash */
    const char *clash[] = {"10.0.0.0/16", "10.0.5.0/24", "10.0.255.252/30",
                           "10.0.0.0/8", "8.0.0.0/8"};
    for (size_t i = 0; i < 4; i++) {
        TAP_CHECK(net_new(f.s, "b", clash[i], NULL, &e) == NULL);
        _cleanup_free_ char *want = xasprintf(
            "subnet %s is already used on the host or by another config",
            clash[i]);
        TAP_CHECK(expect_err(&e, EADDRINUSE, want) == 0);
    }
    /* neighbours do not overlap */
    _cleanup_json_ json_t *b = net_new(f.s, "b", clash[4], NULL, &e);
    _cleanup_json_ json_t *c = net_new(f.s, "c", "10.1.0.0/16", NULL, &e);
    TAP_CHECK(b && c);
    /* a given subnet may not overlap a default one either */
    _cleanup_json_ json_t *d = net_new(f.s, NULL, NULL, NULL, &e);
    TAP_CHECK(d != NULL);
    TAP_STREQ(json_get_str(d, "subnet"), "10.89.1.0/24");
    TAP_CHECK(net_new(f.s, "big", "10.89.0.0/16", NULL, &e) == NULL);
    TAP_CHECK(expect_err(&e, EADDRINUSE,
                         "subnet 10.89.0.0/16 is already used on the host or "
                         "by another config") == 0);
    fx_close(&f);
    return 0;
}

static int test_default_subnets_exhausted(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = net_new(f.s, "all", "10.89.0.0/16", NULL, &e);
    TAP_CHECK(all != NULL);
    TAP_CHECK(net_new(f.s, NULL, NULL, NULL, &e) == NULL);
    TAP_CHECK(expect_err(&e, ENOSPC,
                         "could not find free subnet from subnet pools") == 0);
    TAP_CHECK(count_networks(f.s) == 1);
    fx_close(&f);
    return 0;
}

static int test_gateway(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, "a", "10.5.0.0/24", "10.5.0.254",
                                       &e);
    TAP_CHECK(a != NULL);
    TAP_STREQ(json_get_str(a, "gateway"), "10.5.0.254");
    const char *outside[] = {"10.6.0.1", "10.7.0.0", "10.7.0.255",
                             "0.0.0.0"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        TAP_CHECK(net_new(f.s, "b", "10.7.0.0/24", outside[i], &e) == NULL);
        _cleanup_free_ char *want = xasprintf(
            "gateway %s is not in subnet 10.7.0.0/24", outside[i]);
        TAP_CHECK(expect_err(&e, EINVAL, want) == 0);
    }
    TAP_CHECK(net_new(f.s, "b", "10.7.0.0/24", "10.7.0.x", &e) == NULL);
    TAP_CHECK(expect_err(&e, EINVAL,
                         "invalid gateway \"10.7.0.x\": not an IPv4 "
                         "address") == 0);
    TAP_CHECK(net_new(f.s, "b", NULL, "10.89.1.1", &e) == NULL);
    TAP_CHECK(expect_err(&e, EINVAL,
                         "cannot set gateway or range without subnet") == 0);
    /* a bad subnet is named before its gateway */
    TAP_CHECK(net_new(f.s, "b", "10.7.0.1/24", "10.9.9.9", &e) == NULL);
    TAP_CHECK(expect_err(&e, EINVAL,
                         "invalid subnet \"10.7.0.1/24\": host bits must be "
                         "zero (did you mean 10.7.0.0/24?)") == 0);
    TAP_CHECK(count_networks(f.s) == 1);
    fx_close(&f);
    return 0;
}

static int test_lookup(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, "alpha", NULL, NULL, &e);
    _cleanup_json_ json_t *b = net_new(f.s, NULL, NULL, NULL, &e);
    _cleanup_json_ json_t *r = NULL;
    TAP_CHECK(a && b);
    const char *ida = json_get_str(a, "id");
    TAP_CHECK(networks_lookup(f.s, "alpha", &r, &e) == 0);
    TAP_CHECK(json_equal(r, a));
    json_decref(r);
    TAP_CHECK(networks_lookup(f.s, ida, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "name"), "alpha");
    json_decref(r);
    _cleanup_free_ char *pre = xstrndup(ida, 12);
    TAP_CHECK(networks_lookup(f.s, pre, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), ida);
    json_decref(r);
    TAP_CHECK(networks_lookup(f.s, "berth1", &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), json_get_str(b, "id"));
    json_decref(r);
    r = NULL;
    const char *missing[] = {"nope", "", "../x", "ffff0000ffff0000", "ALPHA"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        TAP_CHECK(networks_lookup(f.s, missing[i], &r, &e) < 0 && r == NULL);
        _cleanup_free_ char *want = xasprintf(
            "unable to find network with name or ID %s: network not found",
            missing[i]);
        TAP_CHECK(expect_err(&e, ENOENT, want) == 0);
    }
    fx_close(&f);
    return 0;
}

/* A name wins over an id prefix; 17 networks share a first hex digit
 * (pigeonhole), and that digit is ambiguous, never a random pick. */
static int test_lookup_prefix(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    int seen[16] = {0};
    char dup = 0;
    for (int i = 0; i < 17; i++) {
        _cleanup_json_ json_t *n = net_new(f.s, NULL, NULL, NULL, &e);
        TAP_CHECK(n != NULL);
        char c = json_get_str(n, "id")[0];
        int k = c <= '9' ? c - '0' : c - 'a' + 10;
        if (seen[k]++ && !dup)
            dup = c;
    }
    TAP_CHECK(dup != 0);
    char pre[2] = {dup, '\0'};
    json_t *r = NULL;
    TAP_CHECK(networks_lookup(f.s, pre, &r, &e) < 0 && r == NULL);
    _cleanup_free_ char *want =
        xasprintf("more than one result for network ID %s", pre);
    TAP_STREQ(e->msg, want);
    berth_error_free(&e);
    /* a network named like the prefix is found by its name */
    _cleanup_json_ json_t *named = net_new(f.s, pre, NULL, NULL, &e);
    TAP_CHECK(named != NULL);
    TAP_CHECK(networks_lookup(f.s, pre, &r, &e) == 0);
    TAP_STREQ(json_get_str(r, "id"), json_get_str(named, "id"));
    json_decref(r);
    fx_close(&f);
    return 0;
}

static int test_list(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = NULL;
    /* no networks directory yet */
    TAP_CHECK(networks_list(f.s, &all, &e) == 0 && json_array_size(all) == 0);
    json_decref(all);
    const char *names[] = {"b", "berth9", "a", "C", "a.b"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *n = net_new(f.s, names[i], NULL, NULL, &e);
        TAP_CHECK(n != NULL);
        json_decref(n);
    }
    /* torn, stray and foreign files are skipped */
    _cleanup_free_ char *torn = store_path(f.s, "networks/torn.json");
    _cleanup_free_ char *other = store_path(f.s, "networks/other.json");
    _cleanup_free_ char *stray = store_path(f.s, "networks/.json");
    TAP_CHECK(fs_write_file_atomic(torn, "{\"name\": \"to", 12, 0644, &e) == 0);
    TAP_CHECK(fs_write_file_atomic(other, "{\"name\": \"b\"}", 13, 0644,
                                   &e) == 0);
    TAP_CHECK(fs_write_file_atomic(stray, "{}", 2, 0644, &e) == 0);
    TAP_CHECK(networks_list(f.s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 5);
    const char *sorted[] = {"C", "a", "a.b", "b", "berth9"};
    for (size_t i = 0; i < 5; i++)
        TAP_STREQ(json_get_str(json_array_get(all, i), "name"), sorted[i]);
    /* a torn record still holds its name */
    TAP_CHECK(net_new(f.s, "torn", NULL, NULL, &e) == NULL);
    TAP_CHECK(e->errnum == EEXIST);
    berth_error_free(&e);
    fx_close(&f);
    return 0;
}

static int test_delete(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *a = net_new(f.s, "del", "10.3.0.0/24", NULL, &e);
    _cleanup_json_ json_t *keep = net_new(f.s, "keep", NULL, NULL, &e);
    TAP_CHECK(a && keep);
    _cleanup_free_ char *ip = alloc(f.s, "del", "c1");
    TAP_STREQ(ip, "10.3.0.2");
    _cleanup_free_ char *ips = store_path(f.s, "networks/del.ips");
    _cleanup_free_ char *path = store_path(f.s, "networks/del.json");
    TAP_CHECK(fs_exists(ips));
    TAP_CHECK(networks_delete(f.s, "del", &e) == 0);
    TAP_CHECK(!fs_exists(path) && !fs_exists(ips));
    json_t *r = NULL;
    TAP_CHECK(networks_lookup(f.s, "del", &r, &e) < 0);
    TAP_CHECK(expect_err(&e, ENOENT,
                         "unable to find network with name or ID del: "
                         "network not found") == 0);
    TAP_CHECK(networks_delete(f.s, "del", &e) < 0);
    TAP_CHECK(expect_err(&e, ENOENT,
                         "unable to find network with name or ID del: "
                         "network not found") == 0);
    TAP_CHECK(count_networks(f.s) == 1);
    /* name and subnet are free again; the new network starts empty */
    _cleanup_json_ json_t *b = net_new(f.s, "del", "10.3.0.0/24", NULL, &e);
    TAP_CHECK(b != NULL);
    TAP_CHECK(strcmp(json_get_str(b, "id"), json_get_str(a, "id")) != 0);
    TAP_CHECK(networks_ip_of(f.s, "del", "c1") == NULL);
    free(ip);
    ip = alloc(f.s, "del", "c2");
    TAP_STREQ(ip, "10.3.0.2");
    /* by id as well */
    TAP_CHECK(networks_delete(f.s, json_get_str(keep, "id"), &e) == 0);
    TAP_CHECK(count_networks(f.s) == 1);
    fx_close(&f);
    return 0;
}

/* A leftover NAME.ips (a crash between delete's two steps, or an
 * allocation racing a delete) is not inherited by a new network. */
static int test_stale_ips(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_free_ char *ips = store_path(f.s, "networks/n.ips");
    _cleanup_free_ char *old = store_path(f.s, "networks/n.ips/10.89.1.2");
    TAP_CHECK(fs_mkdir_p(ips, 0700, &e) == 0);
    TAP_CHECK(fs_write_file_atomic(old, "ghost", 5, 0644, &e) == 0);
    _cleanup_json_ json_t *n = net_new(f.s, "n", NULL, NULL, &e);
    TAP_CHECK(n != NULL);
    TAP_CHECK(networks_ip_of(f.s, "n", "ghost") == NULL);
    _cleanup_free_ char *ip = alloc(f.s, "n", "c1");
    TAP_STREQ(ip, "10.89.1.2");
    fx_close(&f);
    return 0;
}

static int test_allocate(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *n = net_new(f.s, NULL, NULL, NULL, &e);
    TAP_CHECK(n != NULL);
    char *a = alloc(f.s, "berth1", "c1"), *b = alloc(f.s, "berth1", "c2");
    char *c = alloc(f.s, json_get_str(n, "id"), "c3");
    TAP_STREQ(a, "10.89.1.2");
    TAP_STREQ(b, "10.89.1.3");
    TAP_STREQ(c, "10.89.1.4");
    /* the file holds the container id */
    _cleanup_free_ char *file =
        store_path(f.s, "networks/berth1.ips/10.89.1.3");
    _cleanup_free_ char *content = NULL;
    TAP_CHECK(fs_read_file(file, &content, NULL, &e) == 0);
    TAP_STREQ(content, "c2");
    /* allocating again gives the address held */
    char *again = alloc(f.s, "berth1", "c2");
    TAP_STREQ(again, "10.89.1.3");
    char *of = networks_ip_of(f.s, "berth1", "c2");
    TAP_STREQ(of, "10.89.1.3");
    free(again), free(of);
    TAP_CHECK(networks_ip_of(f.s, "berth1", "c9") == NULL);
    TAP_CHECK(networks_ip_of(f.s, "nope", "c1") == NULL);
    /* release frees it; the lowest free address is reused */
    TAP_CHECK(networks_ip_release(f.s, "berth1", "c2", &e) == 0);
    TAP_CHECK(!fs_exists(file));
    TAP_CHECK(networks_ip_of(f.s, "berth1", "c2") == NULL);
    TAP_CHECK(networks_ip_release(f.s, "berth1", "c2", &e) == 0);
    TAP_CHECK(networks_ip_release(f.s, "nope", "c2", &e) == 0);
    char *d = alloc(f.s, "berth1", "c4");
    TAP_STREQ(d, "10.89.1.3");
    char *g = alloc(f.s, "berth1", "c5");
    TAP_STREQ(g, "10.89.1.5");
    free(a), free(b), free(c), free(d), free(g);
    /* errors */
    char *ip = NULL;
    TAP_CHECK(networks_ip_allocate(f.s, "nope", "c1", &ip, &e) < 0);
    TAP_CHECK(expect_err(&e, ENOENT,
                         "unable to find network with name or ID nope: "
                         "network not found") == 0);
    TAP_CHECK(networks_ip_allocate(f.s, "berth1", "", &ip, &e) < 0);
    TAP_CHECK(expect_err(&e, EINVAL, "invalid container id \"\"") == 0);
    TAP_CHECK(ip == NULL);
    fx_close(&f);
    return 0;
}

/* The gateway is skipped wherever it is, as are the network and broadcast
 * addresses; a full subnet still gives a holder its address. */
static int test_allocate_gateway_full(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *n = net_new(f.s, "n", "10.0.0.0/29", "10.0.0.3",
                                       &e);
    TAP_CHECK(n != NULL);
    const char *want[] = {"10.0.0.1", "10.0.0.2", "10.0.0.4", "10.0.0.5",
                          "10.0.0.6"};
    for (int i = 0; i < 5; i++) {
        _cleanup_free_ char *ctr = xasprintf("c%d", i);
        _cleanup_free_ char *ip = alloc(f.s, "n", ctr);
        TAP_STREQ(ip, want[i]);
    }
    char *ip = NULL;
    TAP_CHECK(networks_ip_allocate(f.s, "n", "c9", &ip, &e) < 0 && !ip);
    TAP_CHECK(expect_err(&e, ENOSPC,
                         "IPAM error: failed to find free IP in range: "
                         "10.0.0.0/29") == 0);
    _cleanup_free_ char *held = alloc(f.s, "n", "c3");
    TAP_STREQ(held, "10.0.0.5");
    fx_close(&f);
    return 0;
}

static int test_full_30(void)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *n = net_new(f.s, "tiny", "10.20.30.40/30", NULL,
                                       &e);
    TAP_CHECK(n != NULL);
    TAP_STREQ(json_get_str(n, "gateway"), "10.20.30.41");
    _cleanup_free_ char *a = alloc(f.s, "tiny", "c1");
    TAP_STREQ(a, "10.20.30.42");
    char *ip = NULL;
    TAP_CHECK(networks_ip_allocate(f.s, "tiny", "c2", &ip, &e) < 0 && !ip);
    TAP_CHECK(expect_err(&e, ENOSPC,
                         "IPAM error: failed to find free IP in range: "
                         "10.20.30.40/30") == 0);
    _cleanup_free_ char *again = alloc(f.s, "tiny", "c1");
    TAP_STREQ(again, "10.20.30.42");
    TAP_CHECK(networks_ip_release(f.s, "tiny", "c1", &e) == 0);
    _cleanup_free_ char *b = alloc(f.s, "tiny", "c2");
    TAP_STREQ(b, "10.20.30.42");
    fx_close(&f);
    return 0;
}

/* N processes allocate M containers each on one /28 (13 addresses but the
 * gateway) at once; each reports "IP" or "-" (full) on its own line. */
static int race_allocate(int nproc, int per, char ***ret_ips, int *ret_full)
{
    struct fx f;
    fx_open(&f);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *n = net_new(f.s, "race", "10.77.0.0/28", NULL, &e);
    int p[2];
    pid_t pids[16];
    TAP_CHECK(n != NULL && nproc <= 16);
    TAP_CHECK(pipe(p) == 0);
    for (int i = 0; i < nproc; i++) {
        pids[i] = fork();
        TAP_CHECK(pids[i] >= 0);
        if (pids[i] > 0)
            continue;
        close(p[0]);
        for (int j = 0; j < per; j++) {
            char ctr[32], line[64];
            char *ip = NULL;
            berth_error_t ce = NULL;
            snprintf(ctr, sizeof ctr, "ctr-%d-%d", i, j);
            int r = networks_ip_allocate(f.s, "race", ctr, &ip, &ce);
            if (r < 0 && ce->errnum != ENOSPC)
                _exit(4);
            int len = snprintf(line, sizeof line, "%s\n", r == 0 ? ip : "-");
            if (write(p[1], line, (size_t)len) != len)
                _exit(5);
        }
        _exit(0);
    }
    close(p[1]);
    _cleanup_fclose_ FILE *in = fdopen(p[0], "r");
    char line[64];
    char **ips = NULL;
    int full = 0, bad = 0;
    while (in && fgets(line, sizeof line, in)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "-") == 0)
            full++;
        else
            strv_append(&ips, line);
    }
    for (int i = 0; i < nproc; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    fx_close(&f);
    TAP_CHECK(bad == 0);
    *ret_ips = ips;
    *ret_full = full;
    return 0;
}

static int all_distinct(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        for (size_t j = i + 1; v[j]; j++)
            if (strcmp(v[i], v[j]) == 0) {
                fprintf(stderr, "# %s given twice\n", v[i]);
                return 0;
            }
    return 1;
}

static int test_concurrent_allocate(void)
{
    _cleanup_strv_ char **ips = NULL;
    int full = 0;
    TAP_CHECK(race_allocate(8, 1, &ips, &full) == 0);
    TAP_CHECK(full == 0 && strv_len(ips) == 8);
    TAP_CHECK(all_distinct(ips));
    /* the lowest 8: .2 to .9 */
    for (int k = 2; k <= 9; k++) {
        _cleanup_free_ char *want = xasprintf("10.77.0.%d", k);
        TAP_CHECK(strv_contains(ips, want));
    }
    return 0;
}

static int test_concurrent_allocate_full(void)
{
    _cleanup_strv_ char **ips = NULL;
    int full = 0;
    TAP_CHECK(race_allocate(8, 2, &ips, &full) == 0);
    TAP_CHECK(strv_len(ips) == 13 && full == 3);
    TAP_CHECK(all_distinct(ips));
    TAP_CHECK(!strv_contains(ips, "10.77.0.1"));
    TAP_CHECK(!strv_contains(ips, "10.77.0.0"));
    TAP_CHECK(!strv_contains(ips, "10.77.0.15"));
    return 0;
}

/* Processes race for one name: exactly one wins, the others get EEXIST;
 * and default creates get distinct names and subnets. */
static int race_create(struct fx *f, const char *name, int n, int *ret_wins,
                       int *ret_clashes)
{
    pid_t pids[16];
    *ret_wins = *ret_clashes = 0;
    for (int i = 0; i < n; i++) {
        pids[i] = fork();
        if (pids[i] < 0)
            return -1;
        if (pids[i] == 0) {
            berth_error_t e = NULL;
            json_t *r = net_new(f->s, name, NULL, NULL, &e);
            _exit(r ? 0 : (e->errnum == EEXIST ? 3 : 4));
        }
    }
    for (int i = 0; i < n; i++) {
        int st = 0;
        waitpid(pids[i], &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            (*ret_wins)++;
        else if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
            (*ret_clashes)++;
    }
    return 0;
}

static int test_concurrent_create(void)
{
    struct fx f;
    fx_open(&f);
    int wins = 0, clashes = 0;
    TAP_CHECK(race_create(&f, "race", 8, &wins, &clashes) == 0);
    TAP_CHECK(wins == 1 && clashes == 7);
    TAP_CHECK(count_networks(f.s) == 1);
    TAP_CHECK(race_create(&f, NULL, 8, &wins, &clashes) == 0);
    TAP_CHECK(wins == 8);
    berth_error_t e = NULL;
    _cleanup_json_ json_t *all = NULL;
    TAP_CHECK(networks_list(f.s, &all, &e) == 0);
    TAP_CHECK(json_array_size(all) == 9);
    /* berth1..berth8 on 10.89.1-8.0/24, in some order */
    int names = 0, subnets = 0;
    for (int k = 1; k <= 8; k++) {
        _cleanup_free_ char *nm = xasprintf("berth%d", k);
        _cleanup_free_ char *sn = xasprintf("10.89.%d.0/24", k);
        json_t *rec;
        size_t i;
        json_array_foreach(all, i, rec)
        {
            names += strcmp(json_get_str(rec, "name"), nm) == 0;
            subnets += strcmp(json_get_str(rec, "subnet"), sn) == 0;
        }
    }
    fx_close(&f);
    TAP_CHECK(names == 8 && subnets == 8);
    return 0;
}

TAP_MAIN({"create with defaults", test_create_default},
         {"create with name, subnet, gateway, labels", test_create_named},
         {"name taken", test_name_taken},
         {"invalid names", test_invalid_name},
         {"invalid subnets", test_bad_subnet},
         {"overlapping subnets", test_subnet_overlap},
         {"default subnets exhausted", test_default_subnets_exhausted},
         {"gateway checks", test_gateway},
         {"lookup by name, id, prefix; missing", test_lookup},
         {"ambiguous prefix; name before prefix", test_lookup_prefix},
         {"list sorted by name, skipping torn files", test_list},
         {"delete removes addresses, frees the name", test_delete},
         {"leftover addresses are not inherited", test_stale_ips},
         {"allocate, re-allocate, release", test_allocate},
         {"gateway skipped, full subnet", test_allocate_gateway_full},
         {"a /30 holds one container", test_full_30},
         {"concurrent allocations are distinct", test_concurrent_allocate},
         {"concurrent allocations fill a subnet",
          test_concurrent_allocate_full},
         {"concurrent creates", test_concurrent_create})
