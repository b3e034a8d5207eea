#define _GNU_SOURCE
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/format.h"
#include "cmd/image-view.h"
#include "lib/cleanup.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

struct image_filter {
    int dangling; /* -1 any */
    char **refs;
    char **labels;
    /* created unix time bounds; images made at the epoch (reproducible
     * builds) are real bounds too, hence the flags */
    bool has_before, has_since;
    int64_t before, since;
};

static int64_t rec_created(json_t *rec)
{
    int64_t t = 0;
    const char *c = json_get_str(rec, "created");
    if (c)
        time_parse_rfc3339(c, &t);
    return t;
}

static int parse_filters(struct store *s, char **filters,
                         struct image_filter *f, berth_error_t *err)
{
    f->dangling = -1;
    for (size_t i = 0; filters && filters[i]; i++) {
        char *eq = strchr(filters[i], '=');
        if (eq == NULL)
            return berth_error_new(err, 0, "invalid filter \"%s\": expected "
                                   "KEY=VALUE", filters[i]);
        _cleanup_free_ char *key = xstrndup(filters[i], (size_t)(eq - filters[i]));
        const char *val = eq + 1;
        if (strcmp(key, "dangling") == 0) {
            if (strcmp(val, "true") && strcmp(val, "false"))
                return berth_error_new(err, 0, "invalid filter \"%s\": "
                                       "dangling must be true or false",
                                       filters[i]);
            f->dangling = strcmp(val, "true") == 0;
        } else if (strcmp(key, "reference") == 0) {
            strv_append(&f->refs, val);
        } else if (strcmp(key, "label") == 0) {
            strv_append(&f->labels, val);
        } else if (strcmp(key, "before") == 0 || strcmp(key, "since") == 0) {
            _cleanup_json_ json_t *ref = NULL;
            if (images_lookup(s, val, &ref, err) < 0)
                return -1;
            int64_t t = rec_created(ref);
            if (key[0] == 'b') {
                f->before = t;
                f->has_before = true;
            } else {
                f->since = t;
                f->has_since = true;
            }
        } else {
            return berth_error_new(err, 0, "invalid filter \"%s\"", key);
        }
    }
    return 0;
}

/* podman matches a reference filter against "repo:tag" and against the
 * repository's last components, with glob patterns. */
static bool ref_matches(json_t *rec, const char *pat)
{
    size_t i;
    json_t *v;
    _cleanup_free_ char *withtag =
        strchr(strrchr(pat, '/') ? strrchr(pat, '/') : pat, ':')
            ? xstrdup(pat)
            : xasprintf("%s:*", pat);
    json_array_foreach(json_object_get(rec, "names"), i, v) {
        const char *n = json_string_value(v);
        if (fnmatch(withtag, n, 0) == 0 || fnmatch(pat, n, 0) == 0)
            return true;
        /* match the trailing components: "busybox" ~ "reg:5000/busybox" */
        for (const char *p = strchr(n, '/'); p; p = strchr(p + 1, '/'))
            if (fnmatch(withtag, p + 1, 0) == 0)
                return true;
    }
    const char *id = json_get_str(rec, "id");
    return id && str_has_prefix(id, pat);
}

static bool label_matches(json_t *cfg, const char *want)
{
    json_t *labels = json_object_get(json_object_get(cfg, "config"), "Labels");
    const char *eq = strchr(want, '=');
    _cleanup_free_ char *k = eq ? xstrndup(want, (size_t)(eq - want)) : xstrdup(want);
    const char *have = json_get_str(labels, k);
    if (have == NULL)
        return false;
    return eq == NULL || strcmp(have, eq + 1) == 0;
}

static bool filter_keep(const struct image_filter *f, json_t *rec,
                        json_t *cfg)
{
    bool dangling = images_dangling(rec);
    if (f->dangling >= 0 && dangling != (bool)f->dangling)
        return false;
    if (f->refs) {
        bool any = false;
        for (size_t i = 0; f->refs[i]; i++)
            any = any || ref_matches(rec, f->refs[i]);
        if (!any)
            return false;
    }
    for (size_t i = 0; f->labels && f->labels[i]; i++)
        if (!label_matches(cfg, f->labels[i]))
            return false;
    if (f->has_before && rec_created(rec) >= f->before)
        return false;
    if (f->has_since && rec_created(rec) <= f->since)
        return false;
    return true;
}

int cmd_images(struct cli_global *g, int argc, char **argv, berth_error_t *err)
{
    static const struct cli_command self = {
        "images", NULL, "[options] [IMAGE]", "List images in local storage",
        NULL, NULL};
    bool all = false, quiet = false, digests = false, no_trunc = false,
         noheading = false;
    _cleanup_free_ char *format = NULL;
    _cleanup_strv_ char **filters = NULL;
    const struct cli_opt opts[] = {
        {"all", 'a', CLI_BOOL, &all, NULL,
         "Show all images (default hides intermediate images)"},
        {"digests", 0, CLI_BOOL, &digests, NULL, "Show digests"},
        {"filter", 'f', CLI_STRV, &filters, "filters",
         "Filter output based on conditions provided (default [])"},
        {"format", 0, CLI_STRING, &format, "string",
         "Change the output format to JSON or a Go template"},
        {"no-trunc", 0, CLI_BOOL, &no_trunc, NULL,
         "Do not truncate output"},
        {"noheading", 'n', CLI_BOOL, &noheading, NULL,
         "Do not print column headings"},
        {"quiet", 'q', CLI_BOOL, &quiet, NULL, "Display only image IDs"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    static const char *const headers[] = {"ID", "IMAGE ID", NULL};
    struct image_filter f = {0};
    _cleanup_json_ json_t *recs = NULL, *rows = json_array(),
                          *full = json_array();
    struct store *s = NULL;
    int optind = 0, r;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("images", argc - optind, 0, 1, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    (void)all; /* berth stores no intermediate images */
    if (argc - optind == 1)
        strv_push(&filters, xasprintf("reference=%s", argv[optind]));
    r = parse_filters(s, filters, &f, err);
    if (r == 0)
        r = images_list(s, &recs, err);
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec) {
        if (r < 0)
            break;
        _cleanup_json_ json_t *cfg = NULL;
        berth_error_t e = NULL;
        if (images_config(s, rec, &cfg, &e) < 0) {
            /* a record whose config blob is gone: list it anyway */
            berth_error_free(&e);
            cfg = json_object();
        }
        if (!filter_keep(&f, rec, cfg))
            continue;
        image_view_rows(rec, cfg, no_trunc, rows);
        json_array_append_new(full, image_view_list_json(rec, cfg));
    }
    strv_free(f.refs);
    strv_free(f.labels);
    if (r < 0)
        return -1;
    if (quiet) {
        /* one line per image, not per name */
        _cleanup_strv_ char **seen = NULL;
        json_array_foreach(rows, i, rec) {
            const char *id = json_get_str(rec, "ID");
            if (!strv_contains(seen, id)) {
                printf("%s\n", id);
                strv_append(&seen, id);
            }
        }
        return 0;
    }
    if (format && strcmp(format, "json") == 0)
        return format_print_list(format, NULL, headers, full, noheading,
                                 stdout, err);
    const char *dflt =
        digests ? "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t"
                  "{{.Created}}\t{{.Size}}"
                : "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Created}}\t"
                  "{{.Size}}";
    return format_print_list(format, dflt, headers, rows, noheading, stdout,
                             err) < 0
               ? -1
               : 0;
}
