#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/common.h"
#include "cmd/container.h"
#include "cmd/format.h"
#include "cmd/image-view.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"
#include "storage/images.h"
#include "storage/store.h"

/* Print the inspect documents: a JSON array (podman indents 4), or each
 * rendered through --format. */
int format_print_docs(json_t *docs, const char *format, berth_error_t *err)
{
    if (format == NULL || strcmp(format, "json") == 0) {
        _cleanup_free_ char *s = json_dumps(docs, JSON_INDENT(4) |
                                                      JSON_PRESERVE_ORDER);
        printf("%s\n", s ? s : "[]");
        return 0;
    }
    struct format_tmpl *t = NULL;
    if (format_parse(format, &t, err) < 0)
        return -1;
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d) {
        _cleanup_free_ char *out = NULL;
        if (format_exec(t, d, &out, err) < 0) {
            format_free(t);
            return -1;
        }
        size_t l = strlen(out);
        printf("%s%s", out, l && out[l - 1] == '\n' ? "" : "\n");
    }
    format_free(t);
    return 0;
}

static int inspect_common(struct cli_global *g, int argc, char **argv,
                          const char *name, const char *dflt_type,
                          berth_error_t *err)
{
    const struct cli_command self = {name, NULL, "[options] NAME [NAME...]",
                                     "Display the configuration of an object",
                                     NULL, NULL};
    _cleanup_free_ char *format = NULL, *type = NULL;
    bool size = false;
    const struct cli_opt opts[] = {
        {"format", 'f', CLI_STRING, &format, "string",
         "Format the output using the given Go template"},
        {"size", 's', CLI_BOOL, &size, NULL, "Display total file size"},
        {"type", 't', CLI_STRING, &type, "string",
         "Specify inspect-object type (\"image\", \"container\" or \"all\")"},
        {NULL, 0, 0, NULL, NULL, NULL},
    };
    _cleanup_json_ json_t *docs = json_array();
    struct store *s = NULL;
    int optind = 0, r, ret = 0;
    berth_error_t missing = NULL;

    r = cli_parse(&self, opts, argc, argv, false, &optind, err);
    if (r != 0)
        return r > 0 ? 0 : -1;
    if (cli_nargs(name, argc - optind, 1, -1, err) < 0)
        return -1;
    if (type && strcmp(type, "image") && strcmp(type, "all") &&
        strcmp(type, "container"))
        return berth_error_new(err, 0, "invalid type \"%s\": must be "
                               "\"image\", \"container\" or \"all\"", type);
    if (cli_store(g, &s, err) < 0)
        return -1;
    (void)dflt_type;
    for (int i = optind; i < argc; i++) {
        _cleanup_json_ json_t *rec = NULL;
        json_t *doc = NULL;
        berth_error_t e = NULL;
        /* containers first, as podman */
        if (type == NULL || strcmp(type, "image") != 0) {
            json_t *ctr = NULL;
            if (ctr_lookup(s, argv[i], &ctr, &e) == 0) {
                json_array_append_new(docs, ctr_inspect_json(s, ctr));
                json_decref(ctr);
                continue;
            }
            berth_error_free(&e);
        }
        if ((type && strcmp(type, "container") == 0) ||
            images_lookup(s, argv[i], &rec, &e) < 0) {
            if (strcmp(name, "inspect") == 0 || e == NULL) {
                berth_error_free(&e);
                berth_error_new(&e, 0, "no such object: \"%s\"", argv[i]);
            }
            /* podman reports every missing object and exits 125 */
            if (missing)
                fprintf(stderr, "Error: %s\n", missing->msg);
            berth_error_free(&missing);
            missing = e;
            ret = 125;
            continue;
        }
        if (image_view_inspect(s, rec, &doc, err) < 0) {
            berth_error_free(&missing);
            return -1;
        }
        json_array_append_new(docs, doc);
    }
    if (json_array_size(docs) > 0 || missing == NULL)
        if (format_print_docs(docs, format, err) < 0) {
            berth_error_free(&missing);
            return -1;
        }
    if (missing) {
        *err = missing;
        return -1;
    }
    return ret;
}

int cmd_image_inspect(struct cli_global *g, int argc, char **argv,
                      berth_error_t *err)
{
    return inspect_common(g, argc, argv, "image inspect", "image", err);
}

int cmd_inspect(struct cli_global *g, int argc, char **argv,
                berth_error_t *err)
{
    return inspect_common(g, argc, argv, "inspect", "all", err);
}
