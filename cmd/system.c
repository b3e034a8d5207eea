#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/container.h"
#include "cmd/network.h"
#include "cmd/format.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "storage/containers.h"
#include "storage/images.h"
#include "storage/store.h"

/* Bytes of the layers images use, and of those only one image uses. */
static json_t *df_images(struct store *s, json_t *recs)
{
    size_t i;
    json_t *rec;
    json_int_t total = 0, reclaim = 0;
    json_array_foreach(recs, i, rec) {
        total += (json_int_t)json_get_int(rec, "size", 0);
        if (images_dangling(rec))
            reclaim += (json_int_t)json_get_int(rec, "size", 0);
    }
    (void)s;
    _cleanup_free_ char *ts = format_size((uint64_t)total);
    _cleanup_free_ char *rs = format_size((uint64_t)reclaim);
    _cleanup_free_ char *pct = xasprintf(
        "%s (%d%%)", rs, total ? (int)(100 * reclaim / total) : 0);
    return json_pack("{s:s,s:I,s:i,s:s,s:s,s:I}", "Type", "Images", "Total",
                     (json_int_t)json_array_size(recs), "Active", 0, "Size",
                     ts, "Reclaimable", pct, "RawSize", total);
}

int cmd_system_df(struct cli_global *g, int argc, char **argv,
                  berth_error_t *err)
{
    static const struct cli_command self = {
        "system df", NULL, "[options]", "Show berth disk usage", NULL, NULL};
    _cleanup_free_ char *format = NULL;
    bool verbose = false;
    const struct cli_opt opts[] = {
        {"format", 0, CLI_STRING, &format, "string",
         "Pretty-print images using a Go template"},
        {"verbose", 'v', CLI_BOOL, &verbose, NULL,
         "Show detailed information on disk usage"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    _cleanup_json_ json_t *recs = NULL, *rows = json_array();
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("system df", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0 || images_list(s, &recs, err) < 0)
        return -1;
    json_array_append_new(rows, df_images(s, recs));
    json_array_append_new(
        rows, json_pack("{s:s,s:i,s:i,s:s,s:s,s:I}", "Type", "Containers",
                        "Total", 0, "Active", 0, "Size", "0 B", "Reclaimable",
                        "0 B (0%)", "RawSize", (json_int_t)0));
    json_array_append_new(
        rows, json_pack("{s:s,s:i,s:i,s:s,s:s,s:I}", "Type", "Local Volumes",
                        "Total", 0, "Active", 0, "Size", "0 B", "Reclaimable",
                        "0 B (0%)", "RawSize", (json_int_t)0));
    if (verbose) {
        printf("Images space usage:\n\n");
        static const char *const h[] = {"ID", "IMAGE ID", "UniqueSize",
                                        "UNIQUE SIZE", "SharedSize",
                                        "SHARED SIZE", NULL};
        _cleanup_json_ json_t *irows = json_array();
        size_t i;
        json_t *rec;
        json_array_foreach(recs, i, rec) {
            const char *name = json_string_value(
                json_array_get(json_object_get(rec, "names"), 0));
            _cleanup_free_ char *repo = xstrdup(name ? name : "<none>:<none>");
            char *colon = strrchr(repo, ':');
            const char *tag = "<none>";
            if (colon && !strchr(colon, '/')) {
                *colon = '\0';
                tag = colon + 1;
            }
            _cleanup_free_ char *sz =
                format_size((uint64_t)json_get_int(rec, "size", 0));
            json_array_append_new(
                irows, json_pack("{s:s,s:s,s:s#,s:s,s:s,s:s,s:i}",
                                 "Repository", repo, "Tag", tag, "ID",
                                 json_get_str(rec, "id"), 12, "Size", sz,
                                 "SharedSize", "0 B", "UniqueSize", sz,
                                 "Containers", 0));
        }
        return format_print_list(
            format, "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.Size}}\t"
                    "{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}",
            h, irows, false, stdout, err);
    }
    return format_print_list(format, "table {{.Type}}\t{{.Total}}\t"
                                     "{{.Active}}\t{{.Size}}\t{{.Reclaimable}}",
                             NULL, rows, false, stdout, err);
}

int cmd_system_reset(struct cli_global *g, int argc, char **argv,
                     berth_error_t *err)
{
    static const struct cli_command self = {
        "system reset", NULL, "[options]", "Reset berth storage", NULL, NULL};
    bool force = false;
    const struct cli_opt opts[] = {
        {"force", 'f', CLI_BOOL, &force, NULL,
         "Do not prompt for confirmation"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    struct store *s = NULL;
    int optind = 0, r;
    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs("system reset", argc - optind, 0, 0, err) < 0 ||
        cli_store(g, &s, err) < 0)
        return -1;
    if (!force) {
        printf("WARNING! This will remove:\n"
               "        - all containers\n"
               "        - all pods\n"
               "        - all images\n"
               "        - all networks\n"
               "        - all build cache\n"
               "        - all machines\n"
               "        - all volumes\n"
               "        - the graphRoot directory: \"%s\"\n"
               "        - the runRoot directory: \"%s\"\n"
               "Are you sure you want to continue? [y/N] ",
               s->root, s->runroot);
        fflush(stdout);
        char line[64] = "";
        if (fgets(line, sizeof line, stdin) == NULL ||
            (line[0] != 'y' && line[0] != 'Y'))
            return 0;
    }
    /* containers first: their monitors and processes must not outlive
     * the store */
    _cleanup_json_ json_t *ctrs = NULL;
    berth_error_t e = NULL;
    if (containers_list(s, &ctrs, &e) == 0) {
        for (size_t i = 0; i < json_array_size(ctrs); i++)
            if (ctr_remove(s, json_string_value(json_object_get(
                                  json_array_get(ctrs, i), "id")),
                           true, &e) < 0)
                berth_error_free(&e);
    }
    berth_error_free(&e);
    network_remove_all(s);
    if (store_rm_tree(s, s->root, err) < 0 ||
        store_rm_tree(s, s->runroot, err) < 0)
        return -1;
    return 0;
}
