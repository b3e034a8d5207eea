#define _GNU_SOURCE
#include <archive.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "cmd/format.h"
#include "image/manifest.h"
#include "image/registries.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "rootless/userns.h"
#include "storage/images.h"
#include "storage/rootfs.h"
#include "storage/store.h"

static json_t *idmaps(const struct idmap_range *r, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:I,s:I,s:I}", "container_id",
                                           (json_int_t)r[i].container,
                                           "host_id", (json_int_t)r[i].host,
                                           "size", (json_int_t)r[i].size));
    return a;
}

static json_t *registries_json(void)
{
    struct registries_conf *conf = NULL;
    berth_error_t e = NULL;
    json_t *search = json_array();
    if (registries_conf_load(&conf, &e) < 0) {
        berth_error_free(&e);
        return json_pack("{s:o}", "search", search);
    }
    for (size_t i = 0; conf->search && conf->search[i]; i++)
        json_array_append_new(search, json_string(conf->search[i]));
    registries_conf_free(conf);
    return json_pack("{s:o}", "search", search);
}

static int count_images(struct store *s)
{
    _cleanup_json_ json_t *recs = NULL;
    berth_error_t e = NULL;
    if (images_list(s, &recs, &e) < 0) {
        berth_error_free(&e);
        return 0;
    }
    return (int)json_array_size(recs);
}

static json_t *info_json(struct store *s)
{
    struct utsname u;
    struct userns_mapping m = {0};
    berth_error_t e = NULL;
    bool rootless = userns_rootless();
    uname(&u);
    if (rootless && userns_mapping_get(&m, &e) < 0)
        berth_error_free(&e);
    json_t *host = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:I,s:{s:o,s:o},s:{s:b,s:b}}", "arch",
        platform_host_arch(), "os", "linux", "kernel", u.release, "hostname",
        u.nodename, "cgroupVersion",
        access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "v2" : "v1",
        "cpus", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "idMappings",
        "gidmap", idmaps(m.gid, m.n_gid), "uidmap", idmaps(m.uid, m.n_uid),
        "security", "rootless", rootless, "singleIdMapping", m.single);
    json_t *store = json_pack(
        "{s:s,s:s,s:s,s:s,s:{s:i}}", "graphRoot", s->root, "runRoot",
        s->runroot, "graphDriverName", s->driver, "imageCopyTmpDir",
        "", "imageStore", "number", count_images(s));
    _cleanup_free_ char *tmp = store_path(s, "tmp");
    json_object_set_new(store, "imageCopyTmpDir", json_string(tmp));
    /* which backend mounts containers' root filesystems, and why */
    _cleanup_free_ char *driver = NULL, *reason = NULL;
    berth_error_t re = NULL;
    if (rootfs_choose(s, &driver, &reason, &re) == 0) {
        json_object_set_new(store, "rootfsDriver", json_string(driver));
        json_object_set_new(store, "rootfsReason", json_string(reason));
    } else {
        json_object_set_new(store, "rootfsDriver", json_string("none"));
        json_object_set_new(store, "rootfsReason", json_string(re->msg));
        berth_error_free(&re);
    }
    json_t *ver = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Version", BERTH_VERSION,
                            "GitCommit", BERTH_COMMIT, "OsArch", "linux/amd64",
                            "libcurl", curl_version(), "libarchive",
                            archive_version_details());
    _cleanup_free_ char *osarch = xasprintf("linux/%s", platform_host_arch());
    json_object_set_new(ver, "OsArch", json_string(osarch));
    return json_pack("{s:o,s:o,s:o,s:o}", "host", host, "store", store,
                     "registries", registries_json(), "version", ver);
}

/* podman's templates see Go struct fields ({{.Store.GraphRoot}}) while its
 * JSON has lowerCamel keys (store.graphRoot): templates run over a copy
 * whose keys start with an upper-case letter. */
static json_t *capitalized(json_t *v)
{
    if (json_is_array(v)) {
        json_t *a = json_array(), *x;
        size_t i;
        json_array_foreach(v, i, x)
            json_array_append_new(a, capitalized(x));
        return a;
    }
    if (!json_is_object(v))
        return json_incref(v);
    json_t *o = json_object(), *x;
    const char *k;
    json_object_foreach(v, k, x) {
        _cleanup_free_ char *key = xstrdup(k);
        if (key[0] >= 'a' && key[0] <= 'z')
            key[0] = (char)(key[0] - 'a' + 'A');
        json_object_set_new(o, key, capitalized(x));
    }
    return o;
}

/* podman prints info as YAML; berth prints the same keys as indented
 * key: value lines (YAML). */
static void print_yaml(json_t *v, int indent, bool in_list)
{
    const char *k;
    json_t *x;
    bool first = true;
    json_object_foreach(v, k, x) {
        int pad = in_list && first ? 0 : indent;
        first = false;
        if (json_is_object(x)) {
            printf("%*s%s:\n", pad, "", k);
            print_yaml(x, indent + 2, false);
        } else if (json_is_array(x)) {
            if (json_array_size(x) == 0) {
                printf("%*s%s: []\n", pad, "", k);
                continue;
            }
            printf("%*s%s:\n", pad, "", k);
            size_t i;
            json_t *e;
            json_array_foreach(x, i, e) {
                if (json_is_object(e)) {
                    printf("%*s- ", indent, "");
                    print_yaml(e, indent + 2, true);
                } else {
                    _cleanup_free_ char *s = json_dumps(e, JSON_ENCODE_ANY);
                    printf("%*s- %s\n", indent, "",
                           json_is_string(e) ? json_string_value(e) : s);
                }
            }
        } else if (json_is_string(x)) {
            printf("%*s%s: %s\n", pad, "", k, json_string_value(x));
        } else {
            _cleanup_free_ char *s = json_dumps(x, JSON_ENCODE_ANY);
            printf("%*s%s: %s\n", pad, "", k, s);
        }
    }
}

/* --format json prints `doc` indented; a template renders over `view`
 * (the same document, possibly with podman's capitalized field names). */
static int print_one(const char *format, json_t *doc, json_t *view,
                     berth_error_t *err)
{
    if (strcmp(format, "json") == 0) {
        _cleanup_free_ char *out = json_dumps(doc, JSON_INDENT(4));
        printf("%s\n", out);
        return 0;
    }
    struct format_tmpl *t = NULL;
    _cleanup_free_ char *out = NULL;
    if (format_parse(format, &t, err) < 0)
        return -1;
    int r = format_exec(t, view, &out, err);
    format_free(t);
    if (r < 0)
        return -1;
    printf("%s\n", out);
    return 0;
}

int cmd_info(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "info", NULL, "[options]", "Display berth system information", NULL,
        NULL};
    _cleanup_free_ char *format = NULL;
    const struct cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "string",
         "Change the output format to JSON or a Go template"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("info", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    _cleanup_json_ json_t *info = info_json(s);
    if (format == NULL) {
        print_yaml(info, 0, false);
        return 0;
    }
    _cleanup_json_ json_t *view = capitalized(info);
    return print_one(format, info, view, err);
}

int cmd_version(struct cli_global *g, int argc, char **argv,
                berth_error_t *err)
{
    static const struct cli_command self = {
        "version", NULL, "[options]", "Display the berth version information",
        NULL, NULL};
    _cleanup_free_ char *format = NULL;
    const struct cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "string",
         "Change the output format to JSON or a Go template"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    int optind = 0, r;
    (void)g;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("version", argc - optind, 0, 0, err) < 0)
        return -1;
    _cleanup_free_ char *osarch = xasprintf("linux/%s", platform_host_arch());
    _cleanup_json_ json_t *v = json_pack(
        "{s:{s:s,s:s,s:s,s:s,s:s}}", "Client", "Version", BERTH_VERSION,
        "GitCommit", BERTH_COMMIT, "GoVersion", "none (C17)", "OsArch", osarch,
        "APIVersion", BERTH_VERSION);
    if (format == NULL) {
        json_t *c = json_object_get(v, "Client");
        printf("Version:      %s\nGit Commit:   %s\nBuilt with:   C17, "
               "libcurl %s, %s\nOS/Arch:      %s\n",
               json_get_str(c, "Version"), json_get_str(c, "GitCommit"),
               curl_version_info(CURLVERSION_NOW)->version,
               archive_version_string(), osarch);
        return 0;
    }
    return print_one(format, v, v, err);
}
