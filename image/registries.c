#define _GNU_SOURCE
#include "image/registries.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"
#include "lib/cleanup.h"
#include "lib/fs.h"
#include "lib/xalloc.h"

/* ---- a TOML subset: enough of TOML 1.0 for registries.conf ----------
 * Everything registries.conf uses is parsed for real (tables, arrays of
 * tables, dotted and quoted keys, all four string forms, booleans,
 * multi-line arrays); integers, floats, dates and inline tables are
 * parsed loosely and ignored, so a file containers-common ships with
 * settings we do not know still loads. */

/* Deep nesting only comes from hostile input; bound the recursion. */
#define TOML_MAX_DEPTH 32

enum tv_kind { TV_STRING, TV_BOOL, TV_ARRAY, TV_OTHER };

struct tv {
    enum tv_kind kind;
    char *s;
    bool b;
    struct tv *items;
    size_t n;
};

struct tp {
    const char *p;
    const char *file;
    int line;
    int depth;
    berth_error_t *err;
};

struct sbuf {
    char *s;
    size_t n, cap;
};

static void sbuf_putc(struct sbuf *b, char c)
{
    if (b->n + 2 > b->cap) {
        b->cap = b->cap ? b->cap * 2 : 32;
        b->s = xrealloc(b->s, b->cap);
    }
    b->s[b->n++] = c;
    b->s[b->n] = '\0';
}

static char *sbuf_take(struct sbuf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    b->s = NULL;
    b->n = b->cap = 0;
    return s;
}

static void tv_clear(struct tv *v)
{
    free(v->s);
    for (size_t i = 0; i < v->n; i++)
        tv_clear(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static int tp_fail(struct tp *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int tp_fail(struct tp *t, const char *fmt, ...)
{
    _cleanup_free_ char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    return berth_error_new(t->err, 0, "%s:%d: %s", t->file, t->line,
                           msg ? msg : "parse error");
}

static void tp_skip_ws(struct tp *t)
{
    while (*t->p == ' ' || *t->p == '\t' ||
           (t->p[0] == '\r' && t->p[1] == '\n'))
        t->p++;
}

static void tp_skip_comment(struct tp *t)
{
    if (*t->p == '#')
        while (*t->p && *t->p != '\n')
            t->p++;
}

/* Whitespace, comments and newlines: the filler allowed inside arrays. */
static void tp_skip_all(struct tp *t)
{
    for (;;) {
        tp_skip_ws(t);
        tp_skip_comment(t);
        if (*t->p != '\n')
            return;
        t->line++;
        t->p++;
    }
}

static int tp_end_of_line(struct tp *t)
{
    tp_skip_ws(t);
    tp_skip_comment(t);
    if (*t->p == '\n') {
        t->p++;
        t->line++;
        return 0;
    }
    if (*t->p == '\0')
        return 0;
    return tp_fail(t, "unexpected '%c' after value, expected end of line",
                   *t->p);
}

static void utf8_put(struct sbuf *b, unsigned long cp)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    if (n == 1) {
        sbuf_putc(b, (char)cp);
        return;
    }
    sbuf_putc(b, (char)(lead[n] | (cp >> (6 * (n - 1)))));
    for (int i = n - 2; i >= 0; i--)
        sbuf_putc(b, (char)(0x80 | ((cp >> (6 * i)) & 0x3f)));
}

static int tp_unicode_escape(struct tp *t, int digits, struct sbuf *b)
{
    unsigned long cp = 0;

    for (int i = 0; i < digits; i++) {
        char c = t->p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return tp_fail(t, "invalid unicode escape");
        cp = cp * 16 + (unsigned long)d;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return tp_fail(t, "invalid unicode scalar value in escape");
    utf8_put(b, cp);
    t->p += digits;
    return 0;
}

/* At the backslash of an escape inside a basic string. */
static int tp_escape(struct tp *t, bool multi, struct sbuf *b)
{
    char c = t->p[1];
    const char *map = "b\bt\tn\nf\fr\re\033\"\"\\\\";

    for (const char *m = map; *m; m += 2)
        if (c == m[0]) {
            sbuf_putc(b, m[1]);
            t->p += 2;
            return 0;
        }
    if (c == 'u' || c == 'U') {
        t->p += 2;
        return tp_unicode_escape(t, c == 'u' ? 4 : 8, b);
    }
    if (multi) {
        /* a line-ending backslash eats the newline and the indentation */
        const char *q = t->p + 1;
        while (*q == ' ' || *q == '\t' || *q == '\r')
            q++;
        if (*q == '\n') {
            t->p = q;
            while (*t->p == ' ' || *t->p == '\t' || *t->p == '\r' ||
                   *t->p == '\n')
                t->line += *t->p++ == '\n';
            return 0;
        }
    }
    if (c == '\0' || c == '\n')
        return tp_fail(t, "unterminated string");
    return tp_fail(t, "invalid escape sequence '\\%c'", c);
}

/* Strings in all four forms.  A closing run of more than three quotes in
 * a multi-line string ends with up to two quote characters of content. */
static int tp_string(struct tp *t, char **ret)
{
    char q = *t->p;
    bool multi = t->p[1] == q && t->p[2] == q;
    struct sbuf b = {0};

    t->p += multi ? 3 : 1;
    if (multi && (t->p[0] == '\n' || (t->p[0] == '\r' && t->p[1] == '\n'))) {
        t->p += t->p[0] == '\r' ? 2 : 1;
        t->line++;
    }
    for (;;) {
        char c = *t->p;
        if (c == '\0' || (c == '\n' && !multi)) {
            free(b.s);
            return tp_fail(t, "unterminated string");
        }
        if (c == q && (!multi || (t->p[1] == q && t->p[2] == q))) {
            size_t run = 0;
            while (multi && t->p[run] == q && run < 5)
                run++;
            for (size_t i = 3; i < run; i++)
                sbuf_putc(&b, q);
            t->p += multi ? run : 1;
            break;
        }
        if (c == '\\' && q == '"') {
            if (tp_escape(t, multi, &b) < 0) {
                free(b.s);
                return -1;
            }
            continue;
        }
        t->line += c == '\n';
        sbuf_putc(&b, c);
        t->p++;
    }
    *ret = sbuf_take(&b);
    return 0;
}

static bool tp_is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A dotted key: bare or quoted parts separated by '.'. */
static int tp_key(struct tp *t, char ***ret)
{
    _cleanup_strv_ char **parts = NULL;

    for (;;) {
        tp_skip_ws(t);
        if (*t->p == '"' || *t->p == '\'') {
            char *s = NULL;
            if (t->p[1] == *t->p && t->p[2] == *t->p)
                return tp_fail(t, "multi-line strings cannot be keys");
            if (tp_string(t, &s) < 0)
                return -1;
            strv_push(&parts, s);
        } else {
            const char *start = t->p;
            while (tp_is_bare(*t->p))
                t->p++;
            if (t->p == start) {
                if (*t->p == '\0' || *t->p == '\n')
                    return tp_fail(t, "expected a key");
                return tp_fail(t, "invalid character '%c' in key", *t->p);
            }
            strv_push(&parts, xstrndup(start, (size_t)(t->p - start)));
        }
        tp_skip_ws(t);
        if (*t->p != '.')
            break;
        t->p++;
    }
    *ret = TAKE_PTR(parts);
    return 0;
}

static int tp_value(struct tp *t, struct tv *v);

static int tp_array(struct tp *t, struct tv *v)
{
    v->kind = TV_ARRAY;
    t->p++;
    for (;;) {
        tp_skip_all(t);
        if (*t->p == ']')
            break;
        if (*t->p == '\0')
            return tp_fail(t, "unterminated array");
        v->items = xrealloc(v->items, (v->n + 1) * sizeof(*v->items));
        memset(&v->items[v->n], 0, sizeof(*v->items));
        if (tp_value(t, &v->items[v->n++]) < 0)
            return -1;
        tp_skip_all(t);
        if (*t->p == ',') {
            t->p++;
            continue;
        }
        if (*t->p != ']')
            return *t->p ? tp_fail(t,
                                   "expected ',' or ']' in array, "
                                   "found '%c'",
                                   *t->p)
                         : tp_fail(t, "unterminated array");
    }
    t->p++;
    return 0;
}

/* Parsed so that the rest of the line is understood; nothing in
 * registries.conf we act on is an inline table. */
static int tp_inline_table(struct tp *t, struct tv *v)
{
    v->kind = TV_OTHER;
    t->p++;
    tp_skip_ws(t);
    if (*t->p == '}') {
        t->p++;
        return 0;
    }
    for (;;) {
        _cleanup_strv_ char **key = NULL;
        struct tv item = {0};
        if (tp_key(t, &key) < 0)
            return -1;
        if (*t->p != '=')
            return tp_fail(t, "expected '=' after key \"%s\"", key[0]);
        t->p++;
        tp_skip_ws(t);
        int r = tp_value(t, &item);
        tv_clear(&item);
        if (r < 0)
            return -1;
        tp_skip_ws(t);
        if (*t->p == '}')
            break;
        if (*t->p != ',')
            return tp_fail(t, "expected ',' or '}' in inline table");
        t->p++;
    }
    t->p++;
    return 0;
}

/* Booleans, and the numbers and dates we only need to step over. */
static int tp_scalar(struct tp *t, struct tv *v)
{
    const char *start = t->p;

    while (tp_is_bare(*t->p) || *t->p == '.' || *t->p == '+' || *t->p == ':')
        t->p++;
    size_t n = (size_t)(t->p - start);
    if (n == 0) {
        if (*t->p == '\0' || *t->p == '\n' || *t->p == '#')
            return tp_fail(t, "expected a value");
        return tp_fail(t, "invalid value starting with '%c'", *t->p);
    }
    if ((n == 4 && memcmp(start, "true", 4) == 0) ||
        (n == 5 && memcmp(start, "false", 5) == 0)) {
        v->kind = TV_BOOL;
        v->b = n == 4;
        return 0;
    }
    char c = *start == '+' || *start == '-' ? start[1] : start[0];
    if ((c >= '0' && c <= '9') ||
        str_has_prefix(start + (c != *start), "inf") ||
        str_has_prefix(start + (c != *start), "nan")) {
        v->kind = TV_OTHER;
        return 0;
    }
    return tp_fail(t, "invalid value \"%.*s\" (strings must be quoted)", (int)n,
                   start);
}

static int tp_value(struct tp *t, struct tv *v)
{
    int r;

    if (++t->depth > TOML_MAX_DEPTH)
        return tp_fail(t, "values nested too deeply");
    switch (*t->p) {
    case '"':
    case '\'':
        v->kind = TV_STRING;
        r = tp_string(t, &v->s);
        break;
    case '[':
        r = tp_array(t, v);
        break;
    case '{':
        r = tp_inline_table(t, v);
        break;
    default:
        r = tp_scalar(t, v);
        break;
    }
    t->depth--;
    return r;
}

/* ---- registries.conf semantics -------------------------------------- */

struct rp {
    struct registries_conf *conf;
    const char *file;
    char **table;    /* the current [table] header's key parts */
    int *entry_line; /* where each [[registry]] began, for errors */
    berth_error_t *err;
};

static int rp_fail(struct rp *st, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int rp_fail(struct rp *st, int line, const char *fmt, ...)
{
    _cleanup_free_ char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    return berth_error_new(st->err, 0, "%s:%d: %s", st->file, line,
                           msg ? msg : "invalid value");
}

static void mirror_clear(struct registry_mirror *m)
{
    free(m->location);
}

static void entry_clear(struct registry_entry *e)
{
    free(e->prefix);
    free(e->location);
    for (int i = 0; i < e->n_mirrors; i++)
        mirror_clear(&e->mirrors[i]);
    free(e->mirrors);
    memset(e, 0, sizeof(*e));
}

struct registries_conf *registries_conf_new(void)
{
    return xcalloc(1, sizeof(struct registries_conf));
}

void registries_conf_free(struct registries_conf *conf)
{
    if (conf == NULL)
        return;
    strv_free(conf->search);
    for (int i = 0; i < conf->n_entries; i++)
        entry_clear(&conf->entries[i]);
    free(conf->entries);
    for (int i = 0; i < conf->n_aliases; i++) {
        free(conf->alias_names[i]);
        free(conf->alias_values[i]);
    }
    free(conf->alias_names);
    free(conf->alias_values);
    free(conf);
}

static struct registry_entry *conf_add_entry(struct registries_conf *conf)
{
    conf->entries = xrealloc(conf->entries, (size_t)(conf->n_entries + 1) *
                                                sizeof(*conf->entries));
    struct registry_entry *e = &conf->entries[conf->n_entries++];
    memset(e, 0, sizeof(*e));
    return e;
}

static struct registry_entry *conf_entry_by_prefix(struct registries_conf *conf,
                                                   const char *prefix)
{
    for (int i = 0; i < conf->n_entries; i++)
        if (conf->entries[i].prefix &&
            strcmp(conf->entries[i].prefix, prefix) == 0)
            return &conf->entries[i];
    return NULL;
}

static void conf_set_alias(struct registries_conf *conf, const char *name,
                           const char *value)
{
    for (int i = 0; i < conf->n_aliases; i++)
        if (strcmp(conf->alias_names[i], name) == 0) {
            free(conf->alias_values[i]);
            conf->alias_values[i] = xstrdup(value);
            return;
        }
    size_t n = (size_t)conf->n_aliases + 1;
    conf->alias_names = xrealloc(conf->alias_names, n * sizeof(char *));
    conf->alias_values = xrealloc(conf->alias_values, n * sizeof(char *));
    conf->alias_names[n - 1] = xstrdup(name);
    conf->alias_values[n - 1] = xstrdup(value);
    conf->n_aliases++;
}

static struct registry_entry *rp_add_entry(struct rp *st, int line)
{
    struct registry_entry *e = conf_add_entry(st->conf);
    size_t n = (size_t)st->conf->n_entries;

    st->entry_line = xrealloc(st->entry_line, n * sizeof(int));
    st->entry_line[n - 1] = line;
    return e;
}

static int rp_want_string(struct rp *st, int line, const char *key,
                          const struct tv *v, char **dst)
{
    if (v->kind != TV_STRING)
        return rp_fail(st, line, "%s: expected a string", key);
    free(*dst);
    *dst = xstrdup(v->s);
    return 0;
}

static int rp_want_bool(struct rp *st, int line, const char *key,
                        const struct tv *v, bool *dst)
{
    if (v->kind != TV_BOOL)
        return rp_fail(st, line, "%s: expected true or false", key);
    *dst = v->b;
    return 0;
}

/* An array of strings as a NULL-terminated vector (never NULL itself, so
 * "= []" is told apart from "not set"). */
static int rp_want_strings(struct rp *st, int line, const char *key,
                           const struct tv *v, char ***ret)
{
    if (v->kind != TV_ARRAY)
        return rp_fail(st, line, "%s: expected an array of strings", key);
    char **out = xcalloc(v->n + 1, sizeof(char *));
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i].kind != TV_STRING) {
            strv_free(out);
            return rp_fail(st, line, "%s: expected an array of strings", key);
        }
        out[i] = xstrdup(v->items[i].s);
    }
    *ret = out;
    return 0;
}

/* v1 format: [registries.insecure] / [registries.block] registries = [..]
 * become [[registry]] entries with the same meaning. */
static int rp_v1_list(struct rp *st, int line, const char *key,
                      const struct tv *v, bool block)
{
    _cleanup_strv_ char **hosts = NULL;

    if (rp_want_strings(st, line, key, v, &hosts) < 0)
        return -1;
    for (char **h = hosts; *h; h++) {
        struct registry_entry *e = conf_entry_by_prefix(st->conf, *h);
        if (e == NULL) {
            e = rp_add_entry(st, line);
            e->prefix = xstrdup(*h);
        }
        if (block)
            e->blocked = true;
        else
            e->insecure = true;
    }
    return 0;
}

/* true when NAME spells out a tag or a digest */
static bool has_tag_or_digest(const char *name)
{
    const char *slash = strrchr(name, '/');
    return strchr(name, '@') || strchr(slash ? slash : name, ':');
}

/* containers-image's shortnames.go rules: the key is a short name, the
 * value a fully-qualified name, neither with a tag or digest. */
static int rp_alias(struct rp *st, int line, const char *name,
                    const struct tv *v)
{
    struct image_ref *ref = NULL;
    berth_error_t e = NULL;
    bool ok;

    if (v->kind != TV_STRING)
        return rp_fail(st, line, "alias \"%s\": expected a string", name);
    ok = !has_tag_or_digest(name) && image_ref_parse(name, &ref, &e) == 0 &&
         ref->registry == NULL;
    image_ref_free(TAKE_PTR(ref));
    berth_error_free(&e);
    if (!ok)
        return rp_fail(st, line,
                       "invalid short name \"%s\": must be a "
                       "short name without tag or digest",
                       name);
    ok = !has_tag_or_digest(v->s) && image_ref_parse(v->s, &ref, &e) == 0 &&
         ref->registry != NULL;
    image_ref_free(ref);
    berth_error_free(&e);
    if (!ok)
        return rp_fail(st, line,
                       "invalid alias \"%s\" for \"%s\": must be "
                       "a fully-qualified name without tag or "
                       "digest",
                       v->s, name);
    conf_set_alias(st->conf, name, v->s);
    return 0;
}

static int rp_registry_key(struct rp *st, int line, const char *key,
                           const struct tv *v)
{
    struct registries_conf *c = st->conf;
    bool mirror = str_has_prefix(key, "registry.mirror.");

    if (c->n_entries == 0)
        return rp_fail(st, line, "%s: set outside of a [[registry]] table",
                       key);
    struct registry_entry *e = &c->entries[c->n_entries - 1];
    if (mirror) {
        if (e->n_mirrors == 0)
            return rp_fail(st, line,
                           "%s: set outside of a "
                           "[[registry.mirror]] table",
                           key);
        struct registry_mirror *m = &e->mirrors[e->n_mirrors - 1];
        if (strcmp(key, "registry.mirror.location") == 0)
            return rp_want_string(st, line, key, v, &m->location);
        if (strcmp(key, "registry.mirror.insecure") == 0)
            return rp_want_bool(st, line, key, v, &m->insecure);
        return 0;
    }
    if (strcmp(key, "registry.prefix") == 0)
        return rp_want_string(st, line, key, v, &e->prefix);
    if (strcmp(key, "registry.location") == 0)
        return rp_want_string(st, line, key, v, &e->location);
    if (strcmp(key, "registry.insecure") == 0)
        return rp_want_bool(st, line, key, v, &e->insecure);
    if (strcmp(key, "registry.blocked") == 0)
        return rp_want_bool(st, line, key, v, &e->blocked);
    return 0; /* mirror-by-digest-only, pull-from-mirror, ...: ignored */
}

static int rp_set(struct rp *st, int line, char **key, const struct tv *v)
{
    _cleanup_strv_ char **full = NULL;
    for (char **p = st->table; p && *p; p++)
        strv_append(&full, *p);
    for (char **p = key; *p; p++)
        strv_append(&full, *p);
    if (strv_len(full) == 2 && strcmp(full[0], "aliases") == 0)
        return rp_alias(st, line, full[1], v);

    _cleanup_free_ char *path = strv_join(full, ".");
    if (strcmp(path, "unqualified-search-registries") == 0 ||
        strcmp(path, "registries.search.registries") == 0) {
        char **list = NULL;
        if (rp_want_strings(st, line, path, v, &list) < 0)
            return -1;
        strv_free(st->conf->search);
        st->conf->search = list;
        return 0;
    }
    if (strcmp(path, "registries.insecure.registries") == 0)
        return rp_v1_list(st, line, path, v, false);
    if (strcmp(path, "registries.block.registries") == 0)
        return rp_v1_list(st, line, path, v, true);
    if (str_has_prefix(path, "registry."))
        return rp_registry_key(st, line, path, v);
    /* short-name-mode, credential-helpers, unknown keys: ignored */
    return 0;
}

static int rp_table(struct rp *st, int line, char **parts, bool array)
{
    struct registries_conf *c = st->conf;
    _cleanup_free_ char *path = strv_join(parts, ".");

    if (strcmp(path, "registry") == 0 || strcmp(path, "registry.mirror") == 0) {
        if (!array)
            return rp_fail(st, line,
                           "[%s] must be an array of tables: "
                           "[[%s]]",
                           path, path);
        if (strcmp(path, "registry") == 0) {
            rp_add_entry(st, line);
        } else {
            if (c->n_entries == 0)
                return rp_fail(st, line,
                               "[[registry.mirror]] without a "
                               "preceding [[registry]]");
            struct registry_entry *e = &c->entries[c->n_entries - 1];
            e->mirrors = xrealloc(e->mirrors, (size_t)(e->n_mirrors + 1) *
                                                  sizeof(*e->mirrors));
            memset(&e->mirrors[e->n_mirrors++], 0, sizeof(*e->mirrors));
        }
    }
    strv_free(st->table);
    st->table = parts;
    return 0;
}

static int tp_header(struct tp *t, struct rp *st)
{
    int line = t->line;
    bool array = t->p[1] == '[';
    char **parts = NULL;

    t->p += array ? 2 : 1;
    if (tp_key(t, &parts) < 0)
        return -1;
    if (*t->p != ']' || (array && t->p[1] != ']')) {
        strv_free(parts);
        return tp_fail(t, "unterminated table header, expected '%s'",
                       array ? "]]" : "]");
    }
    t->p += array ? 2 : 1;
    if (tp_end_of_line(t) < 0 || rp_table(st, line, parts, array) < 0) {
        if (st->table != parts)
            strv_free(parts);
        return -1;
    }
    return 0;
}

static int tp_keyval(struct tp *t, struct rp *st)
{
    _cleanup_strv_ char **key = NULL;
    struct tv v = {0};
    int line = t->line;

    if (tp_key(t, &key) < 0)
        return -1;
    if (*t->p != '=') {
        _cleanup_free_ char *k = strv_join(key, ".");
        return tp_fail(t, "expected '=' after key \"%s\"", k);
    }
    t->p++;
    tp_skip_ws(t);
    if (tp_value(t, &v) < 0 || tp_end_of_line(t) < 0 ||
        rp_set(st, line, key, &v) < 0) {
        tv_clear(&v);
        return -1;
    }
    tv_clear(&v);
    return 0;
}

static int tp_document(struct tp *t, struct rp *st)
{
    if (str_has_prefix(t->p, "\xef\xbb\xbf"))
        t->p += 3;
    for (;;) {
        tp_skip_ws(t);
        tp_skip_comment(t);
        if (*t->p == '\0')
            return 0;
        if (*t->p == '\n') {
            t->p++;
            t->line++;
            continue;
        }
        int r = *t->p == '[' ? tp_header(t, st) : tp_keyval(t, st);
        if (r < 0)
            return -1;
    }
}

/* prefix and location default to each other, as in containers-image's
 * sysregistriesv2; everything else is checked while parsing. */
static int rp_finish(struct rp *st)
{
    struct registries_conf *c = st->conf;

    for (int i = 0; i < c->n_entries; i++) {
        struct registry_entry *e = &c->entries[i];
        if (e->prefix && e->prefix[0] == '\0')
            free(TAKE_PTR(e->prefix));
        if (e->location && e->location[0] == '\0')
            free(TAKE_PTR(e->location));
        if (e->prefix == NULL && e->location == NULL)
            return rp_fail(st, st->entry_line[i],
                           "[[registry]] needs a prefix or a location");
        if (e->prefix == NULL)
            e->prefix = xstrdup(e->location);
        if (e->location == NULL)
            e->location = xstrdup(e->prefix);
        for (int j = 0; j < e->n_mirrors; j++)
            if (e->mirrors[j].location == NULL ||
                e->mirrors[j].location[0] == '\0')
                return rp_fail(st, st->entry_line[i],
                               "[[registry.mirror]] of \"%s\" needs a "
                               "location",
                               e->prefix);
    }
    return 0;
}

/* A later file's entry for the same prefix replaces an earlier one; the
 * search list is replaced only when the later file sets it. */
static void conf_merge(struct registries_conf *dst, struct registries_conf *src)
{
    if (src->search) {
        strv_free(dst->search);
        dst->search = TAKE_PTR(src->search);
    }
    for (int i = 0; i < src->n_entries; i++) {
        struct registry_entry *e =
            conf_entry_by_prefix(dst, src->entries[i].prefix);
        if (e)
            entry_clear(e);
        else
            e = conf_add_entry(dst);
        *e = src->entries[i];
        memset(&src->entries[i], 0, sizeof(src->entries[i]));
    }
    for (int i = 0; i < src->n_aliases; i++)
        conf_set_alias(dst, src->alias_names[i], src->alias_values[i]);
}

int registries_conf_parse(struct registries_conf *conf, const char *text,
                          const char *filename, berth_error_t *err)
{
    struct registries_conf *tmp = registries_conf_new();
    struct tp t = {.p = text, .file = filename, .line = 1, .err = err};
    struct rp st = {.conf = tmp, .file = filename, .err = err};
    int r = tp_document(&t, &st);

    if (r == 0)
        r = rp_finish(&st);
    if (r == 0)
        conf_merge(conf, tmp);
    strv_free(st.table);
    free(st.entry_line);
    registries_conf_free(tmp);
    return r;
}

int registries_conf_load_file(struct registries_conf *conf, const char *path,
                              berth_error_t *err)
{
    _cleanup_free_ char *text = NULL;
    berth_error_t e = NULL;
    size_t len = 0;

    if (fs_read_file(path, &text, &len, &e) < 0) {
        if (e->errnum == ENOENT || e->errnum == ENOTDIR) {
            berth_error_free(&e);
            return 0;
        }
        *err = e;
        return -1;
    }
    if (strlen(text) != len)
        return berth_error_new(err, 0, "%s: contains a NUL byte", path);
    return registries_conf_parse(conf, text, path, err);
}

static int conf_d_filter(const struct dirent *d)
{
    return d->d_name[0] != '.' && str_has_suffix(d->d_name, ".conf");
}

/* Drop-ins in lexical order, as containers-registries.conf.d(5). */
static int load_dir(struct registries_conf *conf, const char *dir,
                    berth_error_t *err)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, conf_d_filter, alphasort);
    int r = 0;

    if (n < 0)
        return 0; /* missing or unreadable directory: nothing to add */
    for (int i = 0; i < n; i++) {
        if (r == 0) {
            _cleanup_free_ char *p = xasprintf("%s/%s", dir, list[i]->d_name);
            r = registries_conf_load_file(conf, p, err);
        }
        free(list[i]);
    }
    free(list);
    return r;
}

static char *user_config_dir(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");

    if (xdg && xdg[0] == '/')
        return xasprintf("%s/containers", xdg);
    if (home && home[0])
        return xasprintf("%s/.config/containers", home);
    return NULL;
}

int registries_conf_load(struct registries_conf **ret, berth_error_t *err)
{
    struct registries_conf *conf = registries_conf_new();
    const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
    int r;

    if (env && env[0]) {
        r = registries_conf_load_file(conf, env, err);
    } else {
        _cleanup_free_ char *dir = user_config_dir();
        r = registries_conf_load_file(conf, "/etc/containers/registries.conf",
                                      err);
        if (r == 0)
            r = load_dir(conf, "/etc/containers/registries.conf.d", err);
        if (r == 0 && dir) {
            _cleanup_free_ char *f = xasprintf("%s/registries.conf", dir);
            _cleanup_free_ char *d = xasprintf("%s/registries.conf.d", dir);
            r = registries_conf_load_file(conf, f, err);
            if (r == 0)
                r = load_dir(conf, d, err);
        }
    }
    if (r < 0) {
        registries_conf_free(conf);
        return -1;
    }
    *ret = conf;
    return 0;
}

/* ---- queries --------------------------------------------------------- */

static size_t host_len(const char *s)
{
    const char *slash = strchr(s, '/');
    return slash ? (size_t)(slash - s) : strlen(s);
}

/* How much of REPO the PREFIX matches (0: no match).  "*.example.com"
 * matches any subdomain's host, as containers-registries.conf(5). */
static size_t prefix_match(const char *prefix, const char *repo)
{
    size_t n = strlen(prefix);

    if (str_has_prefix(prefix, "*.")) {
        size_t h = host_len(repo), suf = n - 1;
        if (h > suf && memcmp(repo + h - suf, prefix + 1, suf) == 0)
            return n;
        return 0;
    }
    if (strncmp(repo, prefix, n) == 0 && (repo[n] == '\0' || repo[n] == '/'))
        return n;
    return 0;
}

const struct registry_entry *
registries_conf_find(const struct registries_conf *conf, const char *repo)
{
    const struct registry_entry *best = NULL;
    size_t best_len = 0;

    if (conf == NULL || repo == NULL)
        return NULL;
    for (int i = 0; i < conf->n_entries; i++) {
        size_t m = prefix_match(conf->entries[i].prefix, repo);
        if (m > 0 && m >= best_len) {
            best = &conf->entries[i];
            best_len = m;
        }
    }
    return best;
}

static bool host_equals(const char *s, const char *host)
{
    if (s == NULL)
        return false;
    size_t n = host_len(s);
    return strlen(host) == n && strncmp(s, host, n) == 0;
}

bool registries_conf_insecure(const struct registries_conf *conf,
                              const char *host)
{
    if (conf == NULL || host == NULL)
        return false;
    for (int i = 0; i < conf->n_entries; i++) {
        const struct registry_entry *e = &conf->entries[i];
        bool wild = str_has_prefix(e->prefix, "*.") &&
                    prefix_match(e->prefix, host) > 0;
        if (e->insecure && (wild || host_equals(e->prefix, host) ||
                            host_equals(e->location, host)))
            return true;
        for (int j = 0; j < e->n_mirrors; j++)
            if (e->mirrors[j].insecure &&
                host_equals(e->mirrors[j].location, host))
                return true;
    }
    return false;
}

static char *qualify(const char *registry, const char *repo, const char *suffix)
{
    bool docker = strcmp(registry, "docker.io") == 0 ||
                  strcmp(registry, "index.docker.io") == 0;
    if (docker && strchr(repo, '/') == NULL)
        return xasprintf("docker.io/library/%s%s", repo, suffix);
    return xasprintf("%s/%s%s", docker ? "docker.io" : registry, repo, suffix);
}

char **registries_conf_resolve_short(const struct registries_conf *conf,
                                     const char *name)
{
    const char *at = strchr(name, '@');
    size_t end = at ? (size_t)(at - name) : strlen(name);
    const char *slash = memrchr(name, '/', end);
    const char *from = slash ? slash : name;
    const char *colon = memrchr(from, ':', end - (size_t)(from - name));
    if (colon)
        end = (size_t)(colon - name);
    _cleanup_free_ char *repo = xstrndup(name, end);
    const char *suffix = name + end;
    char **out = NULL;

    for (int i = conf ? conf->n_aliases - 1 : -1; i >= 0; i--)
        if (strcmp(conf->alias_names[i], repo) == 0) {
            strv_push(&out, xasprintf("%s%s", conf->alias_values[i], suffix));
            return out;
        }
    /* no search list anywhere: docker.io, as podman; a list set empty on
     * purpose resolves to nothing, and the caller says so */
    if (conf == NULL || conf->search == NULL) {
        strv_push(&out, qualify("docker.io", repo, suffix));
        return out;
    }
    if (out == NULL)
        out = xcalloc(1, sizeof(char *));
    for (char **s = conf->search; *s; s++)
        strv_push(&out, qualify(*s, repo, suffix));
    return out;
}
