#define _GNU_SOURCE
#include "cmd/format-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* Execution of a parsed template over a jansson value, following Go's
 * text/template/exec.go on data decoded from JSON: objects behave as
 * map[string]interface{} (a missing key is "no value", a field of JSON
 * null is a nil pointer error), arrays as []interface{}.  Values are
 * json_t references, NULL standing for Go's invalid reflect.Value. */

enum { WALK_ERR = -1, WALK_OK = 0, WALK_BREAK = 1, WALK_CONTINUE = 2 };

struct var {
    const char *name;
    json_t *val;
};

/* The node an error names, as Go's state.at(): set where Go sets it, so
 * the "LINE:COL" and "<context>" of a message match Go's. */
enum at_kind { AT_NONE, AT_ARG, AT_CMD, AT_PIPE };

struct state {
    const struct format_tmpl *t;
    struct ftmpl_buf *out;
    struct var *vars;
    size_t nvars, cap;
    berth_error_t *err;
    enum at_kind at_kind;
    const void *at;
    /* dot is a range element: Go sees it as interface {}, not as the
     * type inside, when naming it in an error */
    bool dot_iface;
};

static void at_arg(struct state *s, const struct ftmpl_arg *a)
{
    if (a->kind == FA_PIPE) {
        s->at_kind = AT_PIPE;
        s->at = a->pipe;
    } else {
        s->at_kind = AT_ARG;
        s->at = a;
    }
}

static void at_cmd(struct state *s, const struct ftmpl_cmd *c)
{
    s->at_kind = AT_CMD;
    s->at = c;
}

static void at_pipe(struct state *s, const struct ftmpl_pipe *p)
{
    s->at_kind = AT_PIPE;
    s->at = p;
}

/* Go's Node.String() of what at_arg/at_cmd/at_pipe recorded, and its
 * byte offset. */
static char *at_context(const struct state *s, size_t *ret_pos)
{
    struct ftmpl_buf b = {0};
    *ret_pos = 0;
    switch (s->at_kind) {
    case AT_ARG:
        ftmpl_arg_string(&b, s->at);
        *ret_pos = ((const struct ftmpl_arg *)s->at)->pos;
        break;
    case AT_CMD:
        ftmpl_cmd_string(&b, s->at);
        *ret_pos = ((const struct ftmpl_cmd *)s->at)->pos;
        break;
    case AT_PIPE:
        ftmpl_pipe_string(&b, s->at);
        *ret_pos = ((const struct ftmpl_pipe *)s->at)->pos;
        break;
    case AT_NONE:
    default:
        break;
    }
    return ftmpl_buf_take(&b);
}

/* Go's ExecError: "template: :LINE:COL: executing "" at <CTX>: msg",
 * COL counting bytes from 0 as Tree.ErrorContext does. */
static int s_errorf(struct state *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int s_errorf(struct state *s, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (s->at_kind == AT_NONE) {
        berth_error_new(s->err, 0, "template: : %s", msg);
        free(msg);
        return -1;
    }
    size_t pos;
    _cleanup_free_ char *ctx = at_context(s, &pos);
    const char *src = s->t->src;
    int line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < pos && src[i]; i++)
        if (src[i] == '\n')
            line++, line_start = i + 1;
    berth_error_new(s->err, 0, "template: :%d:%zu: executing \"\" at <%s>: %s",
                    line, line == 1 ? pos : pos - line_start, ctx, msg);
    free(msg);
    return -1;
}

static void s_push(struct state *s, const char *name, json_t *val)
{
    if (s->nvars == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->vars = xrealloc(s->vars, s->cap * sizeof *s->vars);
    }
    s->vars[s->nvars++] = (struct var){name, val ? json_incref(val) : NULL};
}

static void s_pop(struct state *s, size_t mark)
{
    while (s->nvars > mark)
        json_decref(s->vars[--s->nvars].val);
}

static void s_set_top(struct state *s, size_t n, json_t *val)
{
    struct var *v = &s->vars[s->nvars - n];
    json_decref(v->val);
    v->val = val ? json_incref(val) : NULL;
}

static struct var *s_lookup(struct state *s, const char *name)
{
    for (size_t i = s->nvars; i-- > 0;)
        if (strcmp(s->vars[i].name, name) == 0)
            return &s->vars[i];
    return NULL;
}

static json_t *ref(json_t *v)
{
    return v ? json_incref(v) : NULL;
}

static int eval_pipeline(struct state *s, json_t *dot,
                         const struct ftmpl_pipe *pipe, json_t **ret);
static int eval_arg(struct state *s, json_t *dot, const struct ftmpl_arg *a,
                    json_t **ret);

/* The final value of a pipeline stage, passed as the next one's last
 * argument; Go's missingVal when absent. */
struct final {
    bool present;
    json_t *val;
};

static bool has_args(const struct ftmpl_cmd *cmd, struct final fin)
{
    return (cmd && cmd->nargs > 1) || fin.present;
}

static int not_a_function(struct state *s, const struct ftmpl_cmd *cmd,
                          const struct ftmpl_arg *first, struct final fin)
{
    if (!has_args(cmd, fin))
        return 0;
    struct ftmpl_buf b = {0};
    if (first->kind == FA_PIPE)
        ftmpl_pipe_string(&b, first->pipe);
    else
        ftmpl_arg_string(&b, first);
    _cleanup_free_ char *a = ftmpl_buf_take(&b);
    return s_errorf(s, "can't give argument to non-function %s", a);
}

/* deep: the receiver came from a map or array, where Go only knows it
 * as interface {} */
static int eval_field(struct state *s, const char *name, bool args,
                      json_t *recv, bool deep, json_t **ret)
{
    *ret = NULL;
    if (recv == NULL)
        return 0;
    if (json_is_object(recv)) {
        if (args)
            return s_errorf(s, "%s is not a method but has arguments", name);
        *ret = ref(json_object_get(recv, name));
        return 0;
    }
    if (json_is_null(recv))
        return s_errorf(s, "nil pointer evaluating interface {}.%s", name);
    return s_errorf(s, "can't evaluate field %s in type %s", name,
                    deep ? "interface {}" : ftmpl_type_name(recv));
}

static int eval_field_chain(struct state *s, json_t *recv, bool recv_iface,
                            const struct ftmpl_arg *node, bool args,
                            json_t **ret)
{
    json_t *cur = ref(recv);
    for (size_t i = 0; i < node->nfields; i++) {
        json_t *next;
        bool last = i + 1 == node->nfields;
        int r = eval_field(s, node->fields[i], last && args, cur,
                           i > 0 || recv_iface, &next);
        json_decref(cur);
        if (r < 0)
            return -1;
        cur = next;
    }
    *ret = cur;
    return 0;
}

static int eval_variable(struct state *s, const struct ftmpl_arg *a,
                         const struct ftmpl_cmd *cmd, struct final fin,
                         json_t **ret)
{
    at_arg(s, a);
    struct var *v = s_lookup(s, a->text);
    if (v == NULL)
        return s_errorf(s, "undefined variable: %s", a->text);
    if (a->nfields == 0) {
        if (not_a_function(s, cmd, a, fin) < 0)
            return -1;
        *ret = ref(v->val);
        return 0;
    }
    return eval_field_chain(s, v->val, false, a, has_args(cmd, fin), ret);
}

static int eval_chain(struct state *s, json_t *dot, const struct ftmpl_arg *a,
                      const struct ftmpl_cmd *cmd, struct final fin,
                      json_t **ret)
{
    at_arg(s, a);
    if (a->base->kind == FA_NIL) {
        _cleanup_free_ char *c = NULL;
        struct ftmpl_buf b = {0};
        ftmpl_arg_string(&b, a);
        c = ftmpl_buf_take(&b);
        return s_errorf(s, "indirection through explicit nil in %s", c);
    }
    _cleanup_json_ json_t *base = NULL;
    if (eval_arg(s, dot, a->base, &base) < 0)
        return -1;
    return eval_field_chain(s, base, false, a, has_args(cmd, fin), ret);
}

/* and/or evaluate their arguments lazily and return the deciding one. */
static int eval_and_or(struct state *s, json_t *dot, bool is_or,
                       const struct ftmpl_cmd *cmd, struct final fin,
                       json_t **ret)
{
    json_t *v = NULL;
    for (size_t i = 1; cmd && i < cmd->nargs; i++) {
        json_decref(v);
        if (eval_arg(s, dot, cmd->args[i], &v) < 0)
            return -1;
        if (ftmpl_truth(v) == is_or) {
            *ret = v;
            return 0;
        }
    }
    if (fin.present) {
        json_decref(v);
        v = ref(fin.val);
    }
    *ret = v;
    return 0;
}

static int check_arity(struct state *s, const struct ftmpl_func *f,
                       size_t nargs, size_t num_in)
{
    if (f->max_args < 0 && num_in < (size_t)f->min_args)
        return s_errorf(s,
                        "wrong number of args for %s: want at least %d got %zu",
                        f->name, f->min_args, nargs);
    if (f->max_args >= 0 && num_in != (size_t)f->min_args)
        return s_errorf(s, "wrong number of args for %s: want %d got %zu",
                        f->name, f->min_args, num_in);
    return 0;
}

static void free_args(json_t **argv, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(argv[i]);
    free(argv);
}

/* cmd is NULL when the function is itself an argument ("printf "%v" now"
 * calls now with no arguments). */
static int eval_function(struct state *s, json_t *dot,
                         const struct ftmpl_arg *ident,
                         const struct ftmpl_cmd *cmd, struct final fin,
                         json_t **ret)
{
    at_arg(s, ident);
    const struct ftmpl_func *f = ftmpl_func_find(ident->text);
    size_t nargs = cmd ? cmd->nargs - 1 : 0;
    size_t num_in = nargs + fin.present;
    if (check_arity(s, f, nargs, num_in) < 0)
        return -1;
    if (strcmp(f->name, "and") == 0 || strcmp(f->name, "or") == 0)
        return eval_and_or(s, dot, f->name[0] == 'o', cmd, fin, ret);
    json_t **argv = xcalloc(num_in + 1, sizeof *argv);
    for (size_t i = 0; i < nargs; i++)
        if (eval_arg(s, dot, cmd->args[i + 1], &argv[i]) < 0) {
            free_args(argv, i);
            return -1;
        }
    if (fin.present)
        argv[nargs] = ref(fin.val);
    _cleanup_free_ char *msg = NULL;
    int r = f->fn(argv, num_in, ret, &msg);
    free_args(argv, num_in);
    if (r < 0) {
        if (cmd)
            at_cmd(s, cmd);
        else
            at_arg(s, ident);
        return s_errorf(s, "error calling %s: %s", f->name, msg);
    }
    return 0;
}

static json_t *literal(const struct ftmpl_arg *a)
{
    switch (a->kind) {
    case FA_BOOL:
        return json_boolean(a->bval);
    case FA_NUMBER:
        return a->is_float ? json_real(a->fval) : json_integer(a->ival);
    case FA_STRING:
        return json_stringn_nocheck(a->str, a->str_len);
    case FA_DOT:
    case FA_NIL:
    case FA_FIELD:
    case FA_VAR:
    case FA_IDENT:
    case FA_PIPE:
    case FA_CHAIN:
    default:
        return NULL;
    }
}

static int eval_arg(struct state *s, json_t *dot, const struct ftmpl_arg *a,
                    json_t **ret)
{
    struct final none = {false, NULL};
    *ret = NULL;
    at_arg(s, a);
    switch (a->kind) {
    case FA_DOT:
        *ret = ref(dot);
        return 0;
    case FA_NIL:
        return 0;
    case FA_FIELD:
        return eval_field_chain(s, dot, s->dot_iface, a, false, ret);
    case FA_VAR:
        return eval_variable(s, a, NULL, none, ret);
    case FA_PIPE:
        return eval_pipeline(s, dot, a->pipe, ret);
    case FA_IDENT:
        return eval_function(s, dot, a, NULL, none, ret);
    case FA_CHAIN:
        return eval_chain(s, dot, a, NULL, none, ret);
    case FA_BOOL:
    case FA_NUMBER:
    case FA_STRING:
    default:
        *ret = literal(a);
        return 0;
    }
}

static int eval_command(struct state *s, json_t *dot,
                        const struct ftmpl_cmd *cmd, struct final fin,
                        json_t **ret)
{
    const struct ftmpl_arg *first = cmd->args[0];
    *ret = NULL;
    switch (first->kind) {
    case FA_FIELD:
        at_arg(s, first);
        return eval_field_chain(s, dot, s->dot_iface, first, has_args(cmd, fin),
                                ret);
    case FA_CHAIN:
        return eval_chain(s, dot, first, cmd, fin, ret);
    case FA_IDENT:
        return eval_function(s, dot, first, cmd, fin, ret);
    case FA_VAR:
        return eval_variable(s, first, cmd, fin, ret);
    case FA_PIPE:
        if (not_a_function(s, cmd, first, fin) < 0)
            return -1;
        return eval_pipeline(s, dot, first->pipe, ret);
    case FA_NIL:
        at_arg(s, first);
        if (not_a_function(s, cmd, first, fin) < 0)
            return -1;
        return s_errorf(s, "nil is not a command");
    case FA_DOT:
    case FA_BOOL:
    case FA_NUMBER:
    case FA_STRING:
    default:
        at_arg(s, first);
        if (not_a_function(s, cmd, first, fin) < 0)
            return -1;
        *ret = first->kind == FA_DOT ? ref(dot) : literal(first);
        return 0;
    }
}

static int eval_pipeline(struct state *s, json_t *dot,
                         const struct ftmpl_pipe *pipe, json_t **ret)
{
    struct final fin = {false, NULL};
    at_pipe(s, pipe);
    for (size_t i = 0; i < pipe->ncmds; i++) {
        json_t *v;
        int r = eval_command(s, dot, pipe->cmds[i], fin, &v);
        json_decref(fin.val);
        if (r < 0)
            return -1;
        fin = (struct final){true, v};
    }
    for (size_t i = 0; i < pipe->ndecl; i++) {
        if (!pipe->is_assign) {
            s_push(s, pipe->decl[i], fin.val);
            continue;
        }
        struct var *v = s_lookup(s, pipe->decl[i]);
        if (v == NULL) {
            json_decref(fin.val);
            return s_errorf(s, "undefined variable: %s", pipe->decl[i]);
        }
        json_decref(v->val);
        v->val = ref(fin.val);
    }
    *ret = fin.val;
    return 0;
}

static int walk_list(struct state *s, json_t *dot, const struct ftmpl_list *l);

static int walk_if_with(struct state *s, json_t *dot,
                        const struct ftmpl_node *n)
{
    size_t mark = s->nvars;
    json_t *val = NULL;
    int r = eval_pipeline(s, dot, n->pipe, &val);
    if (r == 0) {
        bool saved = s->dot_iface;
        if (ftmpl_truth(val) && n->kind == FN_WITH) {
            s->dot_iface = false;
            r = walk_list(s, val, n->list);
        } else if (ftmpl_truth(val)) {
            r = walk_list(s, dot, n->list);
        } else if (n->else_list) {
            r = walk_list(s, dot, n->else_list);
        }
        s->dot_iface = saved;
    }
    json_decref(val);
    s_pop(s, mark);
    return r;
}

/* One pass of a range body: $v (and $i) first, as Go's oneIteration. */
static int range_once(struct state *s, const struct ftmpl_node *n,
                      json_t *index, json_t *elem)
{
    const struct ftmpl_pipe *p = n->pipe;
    size_t mark = s->nvars;
    if (p->ndecl > 0 && p->is_assign) {
        struct var *v0 = s_lookup(s, p->decl[0]);
        struct var *v1 = p->ndecl > 1 ? s_lookup(s, p->decl[1]) : NULL;
        if (v0) {
            json_decref(v0->val);
            v0->val = ref(p->ndecl > 1 ? index : elem);
        }
        if (v1) {
            json_decref(v1->val);
            v1->val = ref(elem);
        }
    } else if (p->ndecl > 0) {
        s_set_top(s, 1, elem);
        if (p->ndecl > 1)
            s_set_top(s, 2, index);
    }
    bool saved = s->dot_iface;
    s->dot_iface = true;
    int r = walk_list(s, elem, n->list);
    s->dot_iface = saved;
    s_pop(s, mark);
    return r;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int range_items(struct state *s, const struct ftmpl_node *n, json_t *val,
                       bool *ret_any)
{
    int r = WALK_OK;
    *ret_any = false;
    if (json_is_array(val)) {
        for (size_t i = 0; i < json_array_size(val) && r != WALK_BREAK; i++) {
            _cleanup_json_ json_t *idx = json_integer((json_int_t)i);
            *ret_any = true;
            if ((r = range_once(s, n, idx, json_array_get(val, i))) < 0)
                return r;
        }
    } else if (json_is_object(val)) {
        size_t nk = json_object_size(val), i = 0;
        _cleanup_free_ const char **keys = xcalloc(nk + 1, sizeof *keys);
        const char *k;
        json_t *e;
        json_object_foreach(val, k, e) keys[i++] = k;
        qsort(keys, nk, sizeof *keys, key_cmp);
        for (i = 0; i < nk && r != WALK_BREAK; i++) {
            _cleanup_json_ json_t *key = json_string(keys[i]);
            *ret_any = true;
            if ((r = range_once(s, n, key, json_object_get(val, keys[i]))) < 0)
                return r;
        }
    } else if (!ftmpl_is_nil(val)) {
        struct ftmpl_buf v = {0};
        ftmpl_print_value(&v, val, false);
        _cleanup_free_ char *vs = ftmpl_buf_take(&v);
        return s_errorf(s, "range can't iterate over %s", vs);
    }
    return WALK_OK;
}

static int walk_range(struct state *s, json_t *dot, const struct ftmpl_node *n)
{
    size_t mark = s->nvars;
    json_t *val = NULL;
    bool any = false;
    int r = eval_pipeline(s, dot, n->pipe, &val);
    if (r == 0)
        r = range_items(s, n, val, &any);
    if (r >= 0 && !any && n->else_list)
        r = walk_list(s, dot, n->else_list);
    json_decref(val);
    s_pop(s, mark);
    return r < 0 ? r : WALK_OK;
}

static int walk_node(struct state *s, json_t *dot, const struct ftmpl_node *n)
{
    json_t *val = NULL;
    switch (n->kind) {
    case FN_TEXT:
        ftmpl_buf_add(s->out, n->text, n->text_len);
        return WALK_OK;
    case FN_ACTION:
        /* a declaration here lasts to the end of the enclosing scope */
        if (eval_pipeline(s, dot, n->pipe, &val) < 0)
            return WALK_ERR;
        if (n->pipe->ndecl == 0)
            ftmpl_print_value(s->out, val, true);
        json_decref(val);
        return WALK_OK;
    case FN_IF:
    case FN_WITH:
        return walk_if_with(s, dot, n);
    case FN_RANGE:
        return walk_range(s, dot, n);
    case FN_BREAK:
        return WALK_BREAK;
    case FN_CONTINUE:
        return WALK_CONTINUE;
    case FN_END:
    case FN_ELSE:
    default:
        return WALK_OK;
    }
}

static int walk_list(struct state *s, json_t *dot, const struct ftmpl_list *l)
{
    for (size_t i = 0; l && i < l->n; i++) {
        int r = walk_node(s, dot, l->nodes[i]);
        if (r != WALK_OK)
            return r;
    }
    return WALK_OK;
}

int ftmpl_exec(const struct format_tmpl *t, json_t *dot, struct ftmpl_buf *out,
               berth_error_t *err)
{
    struct state s = {.t = t, .out = out, .err = err};
    if (json_is_null(dot))
        dot = NULL; /* nil data: fields of it are "no value", as in Go */
    s_push(&s, "$", dot);
    int r = walk_list(&s, dot, t->root);
    s_pop(&s, 0);
    free(s.vars);
    return r < 0 ? -1 : 0;
}
