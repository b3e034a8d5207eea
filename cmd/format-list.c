#define _GNU_SOURCE
#include "cmd/format.h"

#include <stdlib.h>
#include <string.h>

#include "cmd/format-internal.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* What list commands print around the template: the table's header row
 * (podman's report.Headers), the "json" request, and rows through the
 * tabwriter, which podman uses for user templates too. */

static const char *arg_first_field(const struct ftmpl_arg *a);

static const char *pipe_first_field(const struct ftmpl_pipe *p)
{
    for (size_t i = 0; p && i < p->ncmds; i++)
        for (size_t j = 0; j < p->cmds[i]->nargs; j++) {
            const char *f = arg_first_field(p->cmds[i]->args[j]);
            if (f)
                return f;
        }
    return NULL;
}

/* The column a table action stands for: its first field in source
 * order; of a nested .A.B the last part, as it names the value shown. */
static const char *arg_first_field(const struct ftmpl_arg *a)
{
    switch (a->kind) {
    case FA_FIELD:
    case FA_VAR:
        return a->nfields ? a->fields[a->nfields - 1] : NULL;
    case FA_PIPE:
        return pipe_first_field(a->pipe);
    case FA_CHAIN: {
        const char *f = arg_first_field(a->base);
        return f ? f : a->fields[a->nfields - 1];
    }
    case FA_DOT:
    case FA_NIL:
    case FA_BOOL:
    case FA_NUMBER:
    case FA_STRING:
    case FA_IDENT:
    default:
        return NULL;
    }
}

static const char *list_first_field(const struct ftmpl_list *l);

static const char *node_first_field(const struct ftmpl_node *n)
{
    const char *f = pipe_first_field(n->pipe);
    if (f == NULL && n->list)
        f = list_first_field(n->list);
    if (f == NULL && n->else_list)
        f = list_first_field(n->else_list);
    return f;
}

static const char *list_first_field(const struct ftmpl_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *f = node_first_field(l->nodes[i]);
        if (f)
            return f;
    }
    return NULL;
}

/* github.com/fatih/camelcase's Split, which podman's report.Headers uses:
 * runs of lower, upper, digit and other characters, with an upper run
 * giving its last letter to a following lower run ("IPAddress" -> "IP",
 * "Address"), then joined with spaces and upper-cased. */
static void camel_header(struct ftmpl_buf *b, const char *name)
{
    size_t n = strlen(name);
    _cleanup_free_ int *cls = xcalloc(n + 1, sizeof *cls);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        cls[i] = c >= 'a' && c <= 'z'   ? 1
                 : c >= 'A' && c <= 'Z' ? 2
                 : c >= '0' && c <= '9' ? 3
                 : c >= 0x80            ? 1 /* other letters: no split */
                                        : 4;
    }
    for (size_t i = 0; i < n; i++) {
        bool brk = i > 0 && cls[i] != cls[i - 1];
        /* an upper-case letter before lower case starts their word:
         * "Created", and "PDFLoader" -> "PDF Loader" */
        if (i > 0 && cls[i] == 2 && cls[i + 1] == 1)
            brk = true;
        if (i > 0 && cls[i] == 1 && cls[i - 1] == 2)
            brk = false;
        if (brk)
            ftmpl_buf_addc(b, ' ');
        char c = name[i];
        ftmpl_buf_addc(b, c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
    }
}

static void header_for(struct ftmpl_buf *b, const char *field,
                       const char *const *headers)
{
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        if (strcmp(headers[i], field) == 0) {
            ftmpl_buf_adds(b, headers[i + 1]);
            return;
        }
    camel_header(b, field);
}

char *format_table_header(const struct format_tmpl *t,
                          const char *const *headers)
{
    struct ftmpl_buf b = {0};
    for (size_t i = 0; i < t->root->n; i++) {
        const struct ftmpl_node *n = t->root->nodes[i];
        if (n->kind == FN_TEXT) {
            ftmpl_buf_add(&b, n->text, n->text_len);
            continue;
        }
        const char *f = node_first_field(n);
        if (f)
            header_for(&b, f, headers);
    }
    while (b.len > 0 && b.s[b.len - 1] == '\n')
        b.s[--b.len] = '\0';
    return ftmpl_buf_take(&b);
}

static const char *skip_space(const char *f)
{
    while (*f == ' ' || *f == '\t' || *f == '\n' || *f == '\r' || *f == '\v' ||
           *f == '\f')
        f++;
    return f;
}

/* podman's report.IsJSON, ^\s*(json|{{\s*json\s*(\.)?\s*}})\s*$: "json"
 * and "{{json .}}" both ask a list command for one indented JSON array. */
static bool is_json_request(const char *f)
{
    f = skip_space(f);
    if (str_has_prefix(f, "{{")) {
        f = skip_space(f + 2);
        if (!str_has_prefix(f, "json"))
            return false;
        f = skip_space(f + 4);
        if (*f == '.')
            f = skip_space(f + 1);
        if (!str_has_prefix(f, "}}"))
            return false;
        f += 2;
    } else if (str_has_prefix(f, "json")) {
        f += 4;
    } else {
        return false;
    }
    return *skip_space(f) == '\0';
}

static bool is_bare_table(const char *f)
{
    return str_has_prefix(f, "table") && *skip_space(f + 5) == '\0';
}

static int print_rows(const struct format_tmpl *t, const char *const *headers,
                      json_t *items, bool noheading, struct tabwriter *tw,
                      berth_error_t *err)
{
    if (t->table && !noheading) {
        _cleanup_free_ char *h = format_table_header(t, headers);
        tabwriter_write(tw, h);
        tabwriter_write(tw, "\n");
    }
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        _cleanup_free_ char *row = NULL;
        if (format_exec(t, item, &row, err) < 0)
            return -1;
        tabwriter_write(tw, row);
        /* podman appends the newline a template lacks (NormalizeFormat) */
        if (!t->ends_nl)
            tabwriter_write(tw, "\n");
    }
    return 0;
}

int format_print_list(const char *format, const char *dflt,
                      const char *const *headers, json_t *items, bool noheading,
                      FILE *out, berth_error_t *err)
{
    const char *f = format ? format : dflt;
    if (f && is_bare_table(f))
        f = dflt;
    if (f == NULL || is_json_request(f)) {
        struct ftmpl_buf b = {0};
        if (json_array_size(items) == 0)
            ftmpl_buf_adds(&b, "[]");
        else
            ftmpl_json(&b, items, "    ");
        _cleanup_free_ char *s = ftmpl_buf_take(&b);
        fprintf(out, "%s\n", s);
        return 0;
    }
    struct format_tmpl *t = NULL;
    if (format_parse(f, &t, err) < 0)
        return -1;
    struct tabwriter *tw = tabwriter_new();
    int r = print_rows(t, headers, items, noheading, tw, err);
    /* rows before a failing one are shown, as podman's deferred Flush
     * does */
    tabwriter_flush(tw, out);
    format_free(t);
    return r;
}
