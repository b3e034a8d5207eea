#define _GNU_SOURCE
#include "cmd/format.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/format-internal.h"
#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* The parser is a port of Go's text/template/parse/parse.go: same
 * grammar, same messages, same "template: :LINE: msg" prefix, because
 * users and scripts see these errors verbatim.  Every node of a template
 * comes from one allocation chain, so a parse error just drops the chain
 * and no function needs to unwind a half-built tree. */

struct ftmpl_mem {
    struct ftmpl_mem *next;
    max_align_t data[];
};

struct parser {
    const char *src;
    struct ftmpl_token *toks;
    size_t n, i, hi;
    struct ftmpl_mem *mem;
    const char **vars; /* declared variables in scope, "$" first */
    size_t nvars, vars_cap;
    int range_depth;
    int action_line;
    char *err;
};

static void *p_alloc(struct parser *p, size_t size)
{
    struct ftmpl_mem *m = xcalloc(1, sizeof *m + size);
    m->next = p->mem;
    p->mem = m;
    return m->data;
}

static char *p_strndup(struct parser *p, const char *s, size_t n)
{
    char *d = p_alloc(p, n + 1);
    memcpy(d, s, n);
    return d;
}

/* Arrays grow by doubling into fresh chunks of the chain. */
static void *p_grow(struct parser *p, void *arr, size_t n, size_t size)
{
    if (n == 0)
        return p_alloc(p, 4 * size);
    if (n < 4 || (n & (n - 1)) != 0)
        return arr;
    void *x = p_alloc(p, 2 * n * size);
    memcpy(x, arr, n * size);
    return x;
}

#define P_APPEND(p, arr, n, item)                                              \
    do {                                                                       \
        (arr) = p_grow((p), (arr), (n), sizeof *(arr));                        \
        (arr)[(n)++] = (item);                                                 \
    } while (0)

static void mem_free(struct ftmpl_mem *m)
{
    while (m) {
        struct ftmpl_mem *next = m->next;
        free(m);
        m = next;
    }
}

static const struct ftmpl_token *p_next(struct parser *p)
{
    size_t i = p->i < p->n ? p->i : p->n - 1;
    p->i++;
    if (i > p->hi)
        p->hi = i;
    return &p->toks[i];
}

static void p_backup(struct parser *p)
{
    p->i--;
}

static const struct ftmpl_token *p_peek(struct parser *p)
{
    const struct ftmpl_token *t = p_next(p);
    p_backup(p);
    return t;
}

static const struct ftmpl_token *p_next_non_space(struct parser *p)
{
    const struct ftmpl_token *t;
    while ((t = p_next(p))->type == T_SPACE)
        ;
    return t;
}

static const struct ftmpl_token *p_peek_non_space(struct parser *p)
{
    const struct ftmpl_token *t = p_next_non_space(p);
    p_backup(p);
    return t;
}

static void *p_errorf(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void *p_errorf(struct parser *p, const char *fmt, ...)
{
    if (p->err)
        return NULL;
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    /* Go reports the line of the furthest token read (Tree.token[0]) */
    p->err = xasprintf("template: :%d: %s", p->toks[p->hi].line, msg);
    free(msg);
    return NULL;
}

/* Go's item.String(): EOF, <keyword>, or the quoted text. */
static char *tok_string(const struct parser *p, const struct ftmpl_token *t)
{
    if (t->type == T_EOF)
        return xstrdup("EOF");
    if (t->type == T_ERROR)
        return xstrdup(t->msg);
    if (t->type > T_KEYWORD)
        return xasprintf("<%.*s>", (int)t->len, p->src + t->pos);
    struct ftmpl_buf b = {0};
    ftmpl_quote(&b, p->src + t->pos, t->len, 10);
    if (t->len > 10)
        ftmpl_buf_adds(&b, "...");
    return ftmpl_buf_take(&b);
}

static void *p_unexpected(struct parser *p, const struct ftmpl_token *t,
                          const char *context)
{
    if (t->type == T_ERROR) {
        _cleanup_free_ char *extra = NULL;
        if (p->action_line != 0 && p->action_line != t->line) {
            size_t l = strlen(t->msg);
            bool action = l >= 7 && strcmp(t->msg + l - 7, " action") == 0;
            extra = xasprintf("%s started at :%d", action ? "" : " in action",
                              p->action_line);
        }
        return p_errorf(p, "%s%s", t->msg, extra ? extra : "");
    }
    _cleanup_free_ char *s = tok_string(p, t);
    return p_errorf(p, "unexpected %s in %s", s, context);
}

static const struct ftmpl_token *p_expect(struct parser *p, enum ftmpl_tok type,
                                          const char *context)
{
    const struct ftmpl_token *t = p_next_non_space(p);
    if (t->type != type)
        return p_unexpected(p, t, context);
    return t;
}

static void p_push_var(struct parser *p, const char *name)
{
    if (p->nvars == p->vars_cap) {
        p->vars_cap = p->vars_cap ? 2 * p->vars_cap : 8;
        p->vars = xrealloc(p->vars, p->vars_cap * sizeof *p->vars);
    }
    p->vars[p->nvars++] = name;
}

static const char *tok_text(struct parser *p, const struct ftmpl_token *t)
{
    return p_strndup(p, p->src + t->pos, t->len);
}

static struct ftmpl_arg *p_new_arg(struct parser *p, enum ftmpl_arg_kind k,
                                   const struct ftmpl_token *t)
{
    struct ftmpl_arg *a = p_alloc(p, sizeof *a);
    a->kind = k;
    a->pos = t->pos;
    a->text = p_strndup(p, p->src + t->pos, t->len);
    return a;
}

/* Decode one escape or character of a Go literal at s (n bytes left)
 * into *r; *raw_byte when \x or octal produced a byte, not a rune.
 * Returns the bytes consumed, or 0 on invalid syntax. */
static size_t unquote_char(const char *s, size_t n, char quote, unsigned *r,
                           bool *raw_byte)
{
    static const char esc_in[] = "abfnrtv\\", esc_out[] = "\a\b\f\n\r\t\v\\";
    *raw_byte = false;
    if (n == 0 || s[0] == quote)
        return 0;
    if (s[0] != '\\') {
        *r = (unsigned char)s[0];
        return 1; /* multi-byte UTF-8 is copied byte by byte */
    }
    if (n < 2)
        return 0;
    const char *e = strchr(esc_in, s[1]);
    if (e && s[1]) {
        *r = (unsigned char)esc_out[e - esc_in];
        return 2;
    }
    if (s[1] == '\'' || s[1] == '"') {
        *r = (unsigned char)s[1];
        return s[1] == quote ? 2 : 0;
    }
    size_t digits = s[1] == 'x' ? 2 : s[1] == 'u' ? 4 : s[1] == 'U' ? 8 : 0;
    if (digits) {
        unsigned v = 0;
        if (n < 2 + digits)
            return 0;
        for (size_t i = 0; i < digits; i++) {
            char c = s[2 + i];
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return 0;
            v = v * 16 + (unsigned)d;
        }
        if (digits > 2 && (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)))
            return 0;
        *r = v;
        *raw_byte = digits == 2;
        return 2 + digits;
    }
    if (s[1] >= '0' && s[1] <= '7') {
        if (n < 4)
            return 0;
        unsigned v = 0;
        for (int i = 1; i <= 3; i++) {
            if (s[i] < '0' || s[i] > '7')
                return 0;
            v = v * 8 + (unsigned)(s[i] - '0');
        }
        if (v > 255)
            return 0;
        *r = v;
        *raw_byte = true;
        return 4;
    }
    return 0;
}

/* UTF-8 of code point r (the caller checks it is one). */
void ftmpl_utf8_put(struct ftmpl_buf *b, unsigned r)
{
    char u[4];
    size_t n;
    if (r < 0x80)
        u[0] = (char)r, n = 1;
    else if (r < 0x800)
        u[0] = (char)(0xc0 | r >> 6), u[1] = (char)(0x80 | (r & 63)), n = 2;
    else if (r < 0x10000)
        u[0] = (char)(0xe0 | r >> 12), u[1] = (char)(0x80 | (r >> 6 & 63)),
        u[2] = (char)(0x80 | (r & 63)), n = 3;
    else
        u[0] = (char)(0xf0 | r >> 18), u[1] = (char)(0x80 | (r >> 12 & 63)),
        u[2] = (char)(0x80 | (r >> 6 & 63)), u[3] = (char)(0x80 | (r & 63)),
        n = 4;
    ftmpl_buf_add(b, u, n);
}

/* strconv.Unquote of a "..." or `...` literal. */
static int go_unquote(const char *s, size_t n, struct ftmpl_buf *out)
{
    if (s[0] == '`') {
        for (size_t i = 1; i + 1 < n; i++)
            if (s[i] != '\r')
                ftmpl_buf_addc(out, s[i]);
        return 0;
    }
    for (size_t i = 1; i + 1 < n;) {
        unsigned r;
        bool raw;
        size_t used = unquote_char(s + i, n - 1 - i, '"', &r, &raw);
        if (used == 0)
            return -1;
        if (raw || s[i] != '\\')
            ftmpl_buf_addc(out, (char)r);
        else
            ftmpl_utf8_put(out, r);
        i += used;
    }
    return 0;
}

static bool has_any(const char *s, const char *chars)
{
    return strpbrk(s, chars) != NULL;
}

/* Go's parse.NewNumber then exec's idealConstant: an integer unless the
 * literal looks like a float. */
static struct ftmpl_arg *p_number(struct parser *p, const struct ftmpl_token *t)
{
    struct ftmpl_arg *a = p_new_arg(p, FA_NUMBER, t);
    if (t->type == T_COMPLEX)
        return p_errorf(p, "complex number %s is not supported", a->text);
    if (t->type == T_CHARCONST) {
        unsigned r;
        bool raw;
        size_t used =
            unquote_char(a->text + 1, strlen(a->text) - 1, '\'', &r, &raw);
        if (used == 0)
            return p_errorf(p, "invalid syntax");
        if (strcmp(a->text + 1 + used, "'") != 0)
            return p_errorf(p, "malformed character constant: %s", a->text);
        a->ival = r;
        return a;
    }
    _cleanup_free_ char *clean = xstrdup(a->text);
    char *w = clean;
    for (const char *c = a->text; *c; c++)
        if (*c != '_')
            *w++ = *c;
    *w = '\0';
    const char *digits = clean + (*clean == '+' || *clean == '-');
    bool hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
    bool floaty = has_any(clean, hex ? ".pP" : ".eEpP");
    if (!floaty) {
        int base = 10;
        const char *d = digits;
        if (d[0] == '0' && d[1] && strchr("xXoObB", d[1]))
            base = strchr("xX", d[1]) ? 16 : strchr("oO", d[1]) ? 8 : 2, d += 2;
        else if (d[0] == '0' && d[1])
            base = 8, d += 1;
        char *end;
        errno = 0;
        unsigned long long u = strtoull(d, &end, base);
        if (*d == '\0' || *end != '\0')
            return p_errorf(p, "illegal number syntax: \"%s\"", a->text);
        if (errno == ERANGE ||
            u > (unsigned long long)INT64_MAX + (*clean == '-'))
            return p_errorf(p, "%s overflows int", a->text);
        a->ival = *clean == '-' ? (int64_t)(0 - u) : (int64_t)u;
        return a;
    }
    char *end;
    a->fval = strtod(clean, &end);
    if (*end != '\0')
        return p_errorf(p, "illegal number syntax: \"%s\"", a->text);
    a->is_float = true;
    return a;
}

static struct ftmpl_pipe *p_pipeline(struct parser *p, const char *context,
                                     enum ftmpl_tok end);

static struct ftmpl_arg *p_term(struct parser *p)
{
    const struct ftmpl_token *t = p_next_non_space(p);
    struct ftmpl_arg *a;
    switch (t->type) {
    case T_IDENT:
        a = p_new_arg(p, FA_IDENT, t);
        if (ftmpl_func_find(a->text) == NULL)
            return p_errorf(p, "function \"%s\" not defined", a->text);
        return a;
    case T_DOT:
        return p_new_arg(p, FA_DOT, t);
    case T_NIL:
        return p_new_arg(p, FA_NIL, t);
    case T_VAR:
        a = p_new_arg(p, FA_VAR, t);
        for (size_t i = p->nvars; i-- > 0;)
            if (strcmp(p->vars[i], a->text) == 0)
                return a;
        return p_errorf(p, "undefined variable \"%s\"", a->text);
    case T_FIELD:
        a = p_new_arg(p, FA_FIELD, t);
        a->fields = p_alloc(p, sizeof *a->fields);
        a->fields[0] = a->text + 1;
        a->nfields = 1;
        return a;
    case T_BOOL:
        a = p_new_arg(p, FA_BOOL, t);
        a->bval = strcmp(a->text, "true") == 0;
        return a;
    case T_NUMBER:
    case T_CHARCONST:
    case T_COMPLEX:
        return p_number(p, t);
    case T_LPAREN:
        a = p_new_arg(p, FA_PIPE, t);
        a->pipe = p_pipeline(p, "parenthesized pipeline", T_RPAREN);
        return a->pipe ? a : NULL;
    case T_STRING:
    case T_RAWSTRING: {
        a = p_new_arg(p, FA_STRING, t);
        struct ftmpl_buf b = {0};
        int r = go_unquote(a->text, t->len, &b);
        size_t len = b.len;
        _cleanup_free_ char *s = ftmpl_buf_take(&b);
        if (r < 0)
            return p_errorf(p, "invalid syntax");
        a->str_len = len;
        a->str = p_strndup(p, s, len);
        return a;
    }
    default:
        p_backup(p);
        return NULL;
    }
}

static struct ftmpl_arg *p_operand(struct parser *p)
{
    struct ftmpl_arg *node = p_term(p);
    if (node == NULL || p_peek(p)->type != T_FIELD)
        return node;
    size_t chain_pos = p_peek(p)->pos;
    char **fields = NULL;
    size_t n = 0;
    if (node->kind == FA_FIELD)
        P_APPEND(p, fields, n, node->fields[0]);
    while (p_peek(p)->type == T_FIELD)
        P_APPEND(p, fields, n, (char *)tok_text(p, p_next(p)) + 1);
    switch (node->kind) {
    case FA_FIELD:
    case FA_VAR:
        node->fields = fields;
        node->nfields = n;
        node->pos = chain_pos;
        return node;
    case FA_BOOL:
    case FA_STRING:
    case FA_NUMBER:
    case FA_NIL:
    case FA_DOT: {
        struct ftmpl_buf b = {0};
        ftmpl_quote(&b, node->text, strlen(node->text), 0);
        _cleanup_free_ char *q = ftmpl_buf_take(&b);
        return p_errorf(p, "unexpected . after term %s", q);
    }
    case FA_IDENT:
    case FA_PIPE:
    case FA_CHAIN:
    default: {
        struct ftmpl_arg *c = p_alloc(p, sizeof *c);
        c->kind = FA_CHAIN;
        c->pos = chain_pos;
        c->base = node;
        c->fields = fields;
        c->nfields = n;
        return c;
    }
    }
}

static struct ftmpl_cmd *p_command(struct parser *p)
{
    struct ftmpl_cmd *cmd = p_alloc(p, sizeof *cmd);
    cmd->pos = p_peek_non_space(p)->pos;
    for (;;) {
        p_peek_non_space(p);
        struct ftmpl_arg *op = p_operand(p);
        if (p->err)
            return NULL;
        if (op)
            P_APPEND(p, cmd->args, cmd->nargs, op);
        const struct ftmpl_token *t = p_next(p);
        if (t->type == T_SPACE)
            continue;
        if (t->type == T_RIGHT || t->type == T_RPAREN)
            p_backup(p);
        else if (t->type != T_PIPE)
            return p_unexpected(p, t, "operand");
        break;
    }
    if (cmd->nargs == 0)
        return p_errorf(p, "empty command");
    return cmd;
}

static void *p_check_pipeline(struct parser *p, struct ftmpl_pipe *pipe,
                              const char *context)
{
    if (pipe->ncmds == 0)
        return p_errorf(p, "missing value for %s", context);
    for (size_t i = 1; i < pipe->ncmds; i++)
        switch (pipe->cmds[i]->args[0]->kind) {
        case FA_BOOL:
        case FA_DOT:
        case FA_NIL:
        case FA_NUMBER:
        case FA_STRING:
            return p_errorf(p, "non executable command in pipeline stage %zu",
                            i + 1);
        case FA_FIELD:
        case FA_VAR:
        case FA_IDENT:
        case FA_PIPE:
        case FA_CHAIN:
        default:
            break;
        }
    return pipe;
}

/* "$x :=", "$x =", and range's "$i, $v :=" before the commands.
 * Returns -1 on error. */
static int p_declarations(struct parser *p, struct ftmpl_pipe *pipe,
                          const char *context)
{
    while (p_peek_non_space(p)->type == T_VAR) {
        size_t at = p->i;
        const struct ftmpl_token *v = p_next(p);
        const struct ftmpl_token *next = p_peek_non_space(p);
        const char *name = tok_text(p, v);
        if (next->type == T_ASSIGN || next->type == T_DECLARE) {
            p_next_non_space(p);
            pipe->is_assign = next->type == T_ASSIGN;
            P_APPEND(p, pipe->decl, pipe->ndecl, (char *)name);
            p_push_var(p, name);
            return 0;
        }
        if (next->type == T_CHAR && next->len == 1 &&
            p->src[next->pos] == ',') {
            p_next_non_space(p);
            P_APPEND(p, pipe->decl, pipe->ndecl, (char *)name);
            p_push_var(p, name);
            if (strcmp(context, "range") == 0 && pipe->ndecl < 2) {
                enum ftmpl_tok t = p_peek_non_space(p)->type;
                if (t == T_VAR || t == T_RIGHT || t == T_RPAREN)
                    continue;
                p_errorf(p, "range can only initialize variables");
                return -1;
            }
            p_errorf(p, "too many declarations in %s", context);
            return -1;
        }
        p->i = at;
        return 0;
    }
    return 0;
}

static struct ftmpl_pipe *p_pipeline(struct parser *p, const char *context,
                                     enum ftmpl_tok end)
{
    struct ftmpl_pipe *pipe = p_alloc(p, sizeof *pipe);
    pipe->pos = p_peek_non_space(p)->pos;
    if (p_declarations(p, pipe, context) < 0)
        return NULL;
    for (;;) {
        const struct ftmpl_token *t = p_next_non_space(p);
        if (t->type == end)
            return p_check_pipeline(p, pipe, context);
        switch (t->type) {
        case T_BOOL:
        case T_CHARCONST:
        case T_COMPLEX:
        case T_DOT:
        case T_FIELD:
        case T_IDENT:
        case T_NUMBER:
        case T_NIL:
        case T_RAWSTRING:
        case T_STRING:
        case T_VAR:
        case T_LPAREN: {
            p_backup(p);
            struct ftmpl_cmd *cmd = p_command(p);
            if (cmd == NULL)
                return NULL;
            P_APPEND(p, pipe->cmds, pipe->ncmds, cmd);
            break;
        }
        default:
            return p_unexpected(p, t, context);
        }
    }
}

static struct ftmpl_node *p_new_node(struct parser *p, enum ftmpl_node_kind k,
                                     size_t pos)
{
    struct ftmpl_node *n = p_alloc(p, sizeof *n);
    n->kind = k;
    n->pos = pos;
    return n;
}

static struct ftmpl_node *p_text_or_action(struct parser *p);

/* Nodes up to the {{end}} or {{else}} that closes them, returned in
 * *ret_next.  Returns -1 on error. */
static int p_item_list(struct parser *p, struct ftmpl_list **ret_list,
                       struct ftmpl_node **ret_next)
{
    struct ftmpl_list *list = p_alloc(p, sizeof *list);
    while (p_peek_non_space(p)->type != T_EOF) {
        struct ftmpl_node *n = p_text_or_action(p);
        if (n == NULL)
            return -1;
        if (n->kind == FN_END || n->kind == FN_ELSE) {
            *ret_list = list;
            *ret_next = n;
            return 0;
        }
        P_APPEND(p, list->nodes, list->n, n);
    }
    p_errorf(p, "unexpected EOF");
    return -1;
}

static struct ftmpl_node *p_control(struct parser *p, enum ftmpl_node_kind k,
                                    const char *context)
{
    size_t saved_vars = p->nvars;
    struct ftmpl_node *n = NULL, *next = NULL;
    struct ftmpl_pipe *pipe = p_pipeline(p, context, T_RIGHT);
    if (pipe == NULL)
        return NULL;
    n = p_new_node(p, k, pipe->pos);
    n->pipe = pipe;
    p->range_depth += k == FN_RANGE;
    int r = p_item_list(p, &n->list, &next);
    p->range_depth -= k == FN_RANGE;
    if (r < 0)
        return NULL;
    if (next->kind == FN_ELSE) {
        enum ftmpl_tok follow = p_peek(p)->type;
        if ((k == FN_IF && follow == T_IF) ||
            (k == FN_WITH && follow == T_WITH)) {
            /* {{else if X}} is {{else}}{{if X}}..{{end}}{{end}} with the
             * outer {{end}} implied */
            p_next(p);
            n->else_list = p_alloc(p, sizeof *n->else_list);
            struct ftmpl_node *inner = p_control(p, k, context);
            if (inner == NULL)
                return NULL;
            P_APPEND(p, n->else_list->nodes, n->else_list->n, inner);
        } else {
            if (p_item_list(p, &n->else_list, &next) < 0)
                return NULL;
            if (next->kind != FN_END)
                return p_errorf(p, "expected end; found {{else}}");
        }
    }
    p->nvars = saved_vars;
    return n;
}

static struct ftmpl_node *p_break_continue(struct parser *p,
                                           const struct ftmpl_token *kw)
{
    bool brk = kw->type == T_BREAK;
    const struct ftmpl_token *t = p_next_non_space(p);
    if (t->type != T_RIGHT)
        return p_unexpected(p, t, brk ? "{{break}}" : "{{continue}}");
    if (p->range_depth == 0)
        return p_errorf(p, "{{%s}} outside {{range}}",
                        brk ? "break" : "continue");
    return p_new_node(p, brk ? FN_BREAK : FN_CONTINUE, kw->pos);
}

static struct ftmpl_node *p_action(struct parser *p)
{
    const struct ftmpl_token *t = p_next_non_space(p), *e;
    switch (t->type) {
    case T_BREAK:
    case T_CONTINUE:
        return p_break_continue(p, t);
    case T_ELSE:
        e = p_peek_non_space(p);
        if (e->type == T_IF || e->type == T_WITH)
            return p_new_node(p, FN_ELSE, e->pos);
        e = p_expect(p, T_RIGHT, "else");
        return e ? p_new_node(p, FN_ELSE, e->pos) : NULL;
    case T_END:
        e = p_expect(p, T_RIGHT, "end");
        return e ? p_new_node(p, FN_END, e->pos) : NULL;
    case T_IF:
        return p_control(p, FN_IF, "if");
    case T_RANGE:
        return p_control(p, FN_RANGE, "range");
    case T_WITH:
        return p_control(p, FN_WITH, "with");
    default:
        break;
    }
    p_backup(p);
    struct ftmpl_node *n = p_new_node(p, FN_ACTION, p_peek(p)->pos);
    n->pipe = p_pipeline(p, "command", T_RIGHT);
    return n->pipe ? n : NULL;
}

static struct ftmpl_node *p_text_or_action(struct parser *p)
{
    const struct ftmpl_token *t = p_next_non_space(p);
    struct ftmpl_node *n;
    switch (t->type) {
    case T_TEXT:
        n = p_new_node(p, FN_TEXT, t->pos);
        n->text = p_strndup(p, p->src + t->pos, t->len);
        n->text_len = t->len;
        return n;
    case T_LEFT:
        p->action_line = t->line;
        n = p_action(p);
        p->action_line = 0;
        return n;
    default:
        return p_unexpected(p, t, "input");
    }
}

static struct ftmpl_list *p_parse(struct parser *p)
{
    struct ftmpl_list *root = p_alloc(p, sizeof *root);
    while (p_peek(p)->type != T_EOF) {
        struct ftmpl_node *n = p_text_or_action(p);
        if (n == NULL)
            return NULL;
        if (n->kind == FN_END || n->kind == FN_ELSE)
            return p_errorf(p, "unexpected {{%s}}",
                            n->kind == FN_END ? "end" : "else");
        P_APPEND(p, root->nodes, root->n, n);
    }
    return root;
}

/* Node.String() of Go's parse package, for execution error context. */
void ftmpl_arg_string(struct ftmpl_buf *b, const struct ftmpl_arg *a)
{
    switch (a->kind) {
    case FA_FIELD:
        break;
    case FA_PIPE:
        ftmpl_buf_addc(b, '(');
        ftmpl_pipe_string(b, a->pipe);
        ftmpl_buf_addc(b, ')');
        return;
    case FA_CHAIN:
        ftmpl_arg_string(b, a->base);
        break;
    case FA_DOT:
    case FA_NIL:
    case FA_BOOL:
    case FA_NUMBER:
    case FA_STRING:
    case FA_VAR:
    case FA_IDENT:
    default:
        ftmpl_buf_adds(b, a->text);
        break;
    }
    for (size_t i = 0; i < a->nfields; i++) {
        ftmpl_buf_addc(b, '.');
        ftmpl_buf_adds(b, a->fields[i]);
    }
}

void ftmpl_cmd_string(struct ftmpl_buf *b, const struct ftmpl_cmd *c)
{
    for (size_t i = 0; i < c->nargs; i++) {
        if (i)
            ftmpl_buf_addc(b, ' ');
        ftmpl_arg_string(b, c->args[i]);
    }
}

void ftmpl_pipe_string(struct ftmpl_buf *b, const struct ftmpl_pipe *p)
{
    for (size_t i = 0; i < p->ndecl; i++)
        ftmpl_buf_addf(b, "%s%s", i ? ", " : "", p->decl[i]);
    if (p->ndecl)
        ftmpl_buf_adds(b, " := ");
    for (size_t i = 0; i < p->ncmds; i++) {
        if (i)
            ftmpl_buf_adds(b, " | ");
        ftmpl_cmd_string(b, p->cmds[i]);
    }
}

/* podman's NormalizeFormat turns the two characters \t and \n typed on a
 * command line into a tab and a newline.  Quoted literals inside actions
 * are left alone: Go already unescapes them, and a real newline there
 * would be an "unterminated quoted string". */
static char *normalize(const char *text)
{
    struct ftmpl_buf b = {0};
    bool inside = false;
    for (const char *s = text; *s;) {
        if (!inside) {
            if (s[0] == '\\' && (s[1] == 't' || s[1] == 'n')) {
                ftmpl_buf_addc(&b, s[1] == 't' ? '\t' : '\n');
                s += 2;
                continue;
            }
            if (s[0] == '{' && s[1] == '{') {
                ftmpl_buf_add(&b, s, 2);
                s += 2;
                inside = true;
                continue;
            }
            ftmpl_buf_addc(&b, *s++);
            continue;
        }
        if (s[0] == '}' && s[1] == '}') {
            ftmpl_buf_add(&b, s, 2);
            s += 2;
            inside = false;
            continue;
        }
        if (*s == '"' || *s == '`' || *s == '\'') {
            char q = *s;
            ftmpl_buf_addc(&b, *s++);
            while (*s && *s != q && *s != '\n') {
                if (*s == '\\' && q != '`' && s[1])
                    ftmpl_buf_addc(&b, *s++);
                ftmpl_buf_addc(&b, *s++);
            }
            if (*s == q)
                ftmpl_buf_addc(&b, *s++);
            continue;
        }
        ftmpl_buf_addc(&b, *s++);
    }
    return ftmpl_buf_take(&b);
}

int format_parse(const char *text, struct format_tmpl **ret, berth_error_t *err)
{
    _cleanup_free_ char *src = normalize(text);
    bool table = str_has_prefix(text, "table ") || strcmp(text, "table") == 0;
    const char *body = table ? src + (src[5] ? 6 : 5) : src;
    struct parser p = {.src = body};
    ftmpl_lex(body, &p.toks, &p.n);
    p_push_var(&p, "$");
    struct ftmpl_list *root = p_parse(&p);
    ftmpl_tokens_free(p.toks, p.n);
    free(p.vars);
    if (root == NULL) {
        mem_free(p.mem);
        int r = berth_error_new(err, 0, "%s", p.err);
        free(p.err);
        return r;
    }
    struct format_tmpl *t = xcalloc(1, sizeof *t);
    t->mem = p.mem;
    t->src = xstrdup(body);
    t->root = root;
    t->table = table;
    size_t l = strlen(body);
    t->ends_nl = l > 0 && body[l - 1] == '\n';
    *ret = t;
    return 0;
}

void format_free(struct format_tmpl *t)
{
    if (t == NULL)
        return;
    mem_free(t->mem);
    free(t->src);
    free(t);
}

bool format_is_table(const struct format_tmpl *t)
{
    return t->table;
}

int format_exec(const struct format_tmpl *t, json_t *value, char **ret,
                berth_error_t *err)
{
    struct ftmpl_buf out = {0};
    if (ftmpl_exec(t, value, &out, err) < 0) {
        free(out.s);
        return -1;
    }
    *ret = ftmpl_buf_take(&out);
    return 0;
}
