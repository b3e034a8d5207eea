#define _GNU_SOURCE
#include "cmd/image-view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

char *image_view_go_time(const char *rfc)
{
    int64_t sec = 0;
    if (rfc == NULL || time_parse_rfc3339(rfc, &sec) < 0)
        return xstrdup("0001-01-01 00:00:00 +0000 UTC");
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[64];
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
    return xstrdup(buf);
}

static int64_t created_unix(json_t *record)
{
    int64_t sec = 0;
    const char *c = json_get_str(record, "created");
    if (c == NULL || time_parse_rfc3339(c, &sec) < 0)
        return 0;
    return sec;
}

static json_t *labels_of(json_t *config)
{
    json_t *l = json_object_get(json_object_get(config, "config"), "Labels");
    return json_is_object(l) ? json_incref(l) : json_object();
}

int image_view_inspect(struct store *s, json_t *record, json_t **ret,
                       berth_error_t *err)
{
    _cleanup_json_ json_t *cfg = NULL;
    if (images_config(s, record, &cfg, err) < 0)
        return -1;
    json_t *c = json_object_get(cfg, "config");
    json_t *lower = json_array();
    size_t i;
    json_t *l;
    json_t *diffs = json_array();
    json_t *layers = json_object_get(record, "layers");
    for (i = json_array_size(layers); i > 0; i--) {
        l = json_array_get(layers, i - 1);
        const char *ch = json_get_str(l, "chain_id");
        if (ch) {
            _cleanup_free_ char *d = store_layer_diff(s, ch);
            json_array_append_new(lower, json_string(d));
        }
    }
    json_array_foreach(layers, i, l) {
        json_array_append(diffs, json_object_get(l, "diff_id"));
    }
    _cleanup_strv_ char **lv = NULL;
    json_array_foreach(lower, i, l) strv_append(&lv, json_string_value(l));
    _cleanup_free_ char *lowerdir = strv_join(lv, ":");
    json_decref(lower);
    const char *user = json_get_str(c, "User");
    json_t *out = json_pack(
        "{s:s,s:s,s:O,s:O,s:s,s:s,s:s?,s:O,s:s,s:s,s:s,s:I,s:I,"
        "s:{s:s,s:{s:s}},s:{s:s,s:o},s:o,s:{},s:s,s:s,s:O,s:[]}",
        "Id", json_get_str(record, "id"), "Digest",
        json_get_str(record, "manifest"), "RepoTags",
        json_object_get(record, "names"), "RepoDigests",
        json_object_get(record, "digests"), "Parent", "", "Comment",
        json_get_str(cfg, "comment") ? json_get_str(cfg, "comment") : "",
        "Created", json_get_str(cfg, "created"), "Config",
        json_is_object(c) ? c : json_object(), "Version",
        json_get_str(cfg, "docker_version") ? json_get_str(cfg, "docker_version")
                                            : "",
        "Author", json_get_str(cfg, "author") ? json_get_str(cfg, "author") : "",
        "Architecture",
        json_get_str(cfg, "architecture") ? json_get_str(cfg, "architecture")
                                          : "",
        "Size", (json_int_t)json_get_int(record, "size", 0), "VirtualSize",
        (json_int_t)json_get_int(record, "size", 0), "GraphDriver", "Name",
        s->driver, "Data", "LowerDir", lowerdir, "RootFS", "Type", "layers",
        "Layers", diffs, "Labels", labels_of(cfg), "Annotations",
        "ManifestType", json_get_str(record, "manifest_type") ?
            json_get_str(record, "manifest_type") : "",
        "User", user ? user : "", "History",
        json_is_array(json_object_get(cfg, "history"))
            ? json_object_get(cfg, "history")
            : json_object_get(record, "names"),
        "NamesHistory");
    if (out == NULL)
        return berth_error_new(err, 0, "internal: build inspect document");
    json_object_set_new(out, "Os",
                        json_string(json_get_str(cfg, "os") ? json_get_str(cfg, "os") : ""));
    if (json_get_str(cfg, "variant"))
        json_object_set_new(out, "Variant",
                            json_string(json_get_str(cfg, "variant")));
    if (json_get_str(record, "created") == NULL)
        json_object_del(out, "Created");
    *ret = out;
    return 0;
}

static void split_name(const char *name, char **repo, char **tag)
{
    const char *slash = strrchr(name, '/');
    const char *colon = strrchr(slash ? slash : name, ':');
    if (colon) {
        *repo = xstrndup(name, (size_t)(colon - name));
        *tag = xstrdup(colon + 1);
    } else {
        *repo = xstrdup(name);
        *tag = xstrdup("<none>");
    }
}

/* The repo digest for repository `repo`, or the manifest digest. */
static const char *digest_for(json_t *record, const char *repo)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(record, "digests"), i, v) {
        const char *d = json_string_value(v);
        size_t rl = strlen(repo);
        if (d && strncmp(d, repo, rl) == 0 && d[rl] == '@')
            return d + rl + 1;
    }
    return json_get_str(record, "manifest");
}

void image_view_rows(json_t *record, json_t *config, bool no_trunc,
                     json_t *rows)
{
    const char *id = json_get_str(record, "id");
    json_t *names = json_object_get(record, "names");
    /* pulled by digest only: the repository comes from the repo digest,
     * with tag <none>, as podman shows it */
    bool by_digest = json_array_size(names) == 0;
    if (by_digest)
        names = json_object_get(record, "digests");
    size_t n = json_array_size(names);
    int64_t created = created_unix(record);
    _cleanup_free_ char *ago = format_ago((int64_t)time(NULL) - created);
    _cleanup_free_ char *at = image_view_go_time(json_get_str(record, "created"));
    _cleanup_free_ char *size = format_size((uint64_t)json_get_int(record, "size", 0));
    for (size_t i = 0; i < (n ? n : 1); i++) {
        _cleanup_free_ char *repo = NULL, *tag = NULL;
        const char *nm = json_string_value(json_array_get(names, i));
        if (n && by_digest) {
            repo = xstrndup(nm, strcspn(nm, "@"));
            tag = xstrdup("<none>");
        } else if (n) {
            split_name(nm, &repo, &tag);
        } else {
            repo = xstrdup("<none>");
            tag = xstrdup("<none>");
        }
        const char *dg = digest_for(record, repo);
        json_t *row = json_pack(
            "{s:s#,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:O,s:b,s:i,s:b,"
            "s:I}",
            "ID", id, no_trunc ? (int)strlen(id) : 12, "Id", id, "Repository",
            repo, "Tag", tag, "Digest", dg ? dg : "", "Created", ago,
            "CreatedSince", ago, "CreatedAt", at, "Size", size, "VirtualSize",
            size, "Labels", labels_of(config), "Names", json_object_get(record, "names"), "Dangling",
            n == 0, "Containers", 0, "ReadOnly", 0, "CreatedUnix",
            (json_int_t)created);
        if (no_trunc) {
            _cleanup_free_ char *full = xasprintf("sha256:%s", id);
            json_object_set_new(row, "ID", json_string(full));
        }
        json_array_append_new(rows, row);
    }
}

json_t *image_view_list_json(json_t *record, json_t *config)
{
    _cleanup_free_ char *at = image_view_go_time(json_get_str(record, "created"));
    json_int_t size = (json_int_t)json_get_int(record, "size", 0);
    json_t *names = json_object_get(record, "names");
    return json_pack(
        "{s:s,s:s,s:O,s:O,s:I,s:I,s:I,s:o,s:i,s:O,s:s,s:O,s:I,s:s}", "Id",
        json_get_str(record, "id"), "ParentId", "", "RepoTags", names,
        "RepoDigests", json_object_get(record, "digests"), "Size", size,
        "SharedSize", (json_int_t)0, "VirtualSize", size, "Labels",
        labels_of(config), "Containers", 0, "Names", names, "Digest",
        json_get_str(record, "manifest") ? json_get_str(record, "manifest")
                                         : "",
        "History", names, "Created", (json_int_t)created_unix(record),
        "CreatedAt", at);
}
