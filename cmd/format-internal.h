/* Private to the --format engine (cmd/format*.c): the template's syntax
 * tree, a growable output buffer, value printing in Go's fmt style, the
 * Go-compatible JSON encoder and the function table shared by the parser
 * (which must reject unknown functions at parse time, as Go does) and the
 * evaluator. */
#ifndef BERTH_CMD_FORMAT_INTERNAL_H
#define BERTH_CMD_FORMAT_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmd/format.h"
#include "lib/error.h"

struct ftmpl_buf {
    char *s;
    size_t len, cap;
};

void ftmpl_buf_add(struct ftmpl_buf *b, const char *s, size_t n);
void ftmpl_buf_adds(struct ftmpl_buf *b, const char *s);
void ftmpl_buf_addc(struct ftmpl_buf *b, char c);
/* Append the UTF-8 encoding of code point r. */
void ftmpl_utf8_put(struct ftmpl_buf *b, unsigned r);
void ftmpl_buf_addf(struct ftmpl_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* NUL-terminated contents, handed to the caller; the buffer is emptied. */
char *ftmpl_buf_take(struct ftmpl_buf *b);

enum ftmpl_arg_kind {
    FA_DOT,
    FA_NIL,
    FA_BOOL,
    FA_NUMBER,
    FA_STRING,
    FA_FIELD, /* .A.B */
    FA_VAR,   /* $x or $x.A.B */
    FA_IDENT, /* function name */
    FA_PIPE,  /* ( pipeline ) */
    FA_CHAIN, /* (pipeline).A.B */
};

struct ftmpl_pipe;

struct ftmpl_arg {
    enum ftmpl_arg_kind kind;
    size_t pos;
    char *text; /* source text: literal, identifier, "$x" */
    char *str;  /* FA_STRING: the unquoted value */
    size_t str_len;
    bool bval;
    bool is_float; /* FA_NUMBER */
    int64_t ival;
    double fval;
    char **fields; /* FA_FIELD, FA_VAR, FA_CHAIN: the field names */
    size_t nfields;
    struct ftmpl_pipe *pipe; /* FA_PIPE */
    struct ftmpl_arg *base;  /* FA_CHAIN */
};

struct ftmpl_cmd {
    size_t pos;
    struct ftmpl_arg **args;
    size_t nargs;
};

struct ftmpl_pipe {
    size_t pos;
    bool is_assign; /* "=" rather than ":=" */
    char **decl;
    size_t ndecl;
    struct ftmpl_cmd **cmds;
    size_t ncmds;
};

enum ftmpl_node_kind {
    FN_TEXT,
    FN_ACTION,
    FN_IF,
    FN_RANGE,
    FN_WITH,
    FN_BREAK,
    FN_CONTINUE,
    FN_END, /* parser-internal markers, never in a finished tree */
    FN_ELSE,
};

struct ftmpl_list;

struct ftmpl_node {
    enum ftmpl_node_kind kind;
    size_t pos;
    char *text; /* FN_TEXT */
    size_t text_len;
    struct ftmpl_pipe *pipe;
    struct ftmpl_list *list, *else_list;
};

struct ftmpl_list {
    struct ftmpl_node **nodes;
    size_t n;
};

struct format_tmpl {
    void *mem; /* every allocation of the tree, freed together */
    char *src; /* after the \t, \n and "table " rewriting */
    struct ftmpl_list *root;
    bool table;
    bool ends_nl; /* the source already ends with a newline */
};

/* Lexer (format-lex.c), a port of Go's text/template/parse/lex.go. */
enum ftmpl_tok {
    T_ERROR,
    T_EOF,
    T_TEXT,
    T_LEFT,
    T_RIGHT,
    T_SPACE,
    T_FIELD,
    T_VAR,
    T_IDENT,
    T_BOOL,
    T_NUMBER,
    T_COMPLEX,
    T_CHARCONST,
    T_STRING,
    T_RAWSTRING,
    T_CHAR,
    T_ASSIGN,
    T_DECLARE,
    T_PIPE,
    T_LPAREN,
    T_RPAREN,
    /* keywords, printed as "<word>" in messages */
    T_KEYWORD,
    T_DOT,
    T_BLOCK,
    T_BREAK,
    T_CONTINUE,
    T_DEFINE,
    T_ELSE,
    T_END,
    T_IF,
    T_NIL,
    T_RANGE,
    T_TEMPLATE,
    T_WITH,
};

struct ftmpl_token {
    enum ftmpl_tok type;
    size_t pos, len; /* the token's text in the source */
    int line;
    char *msg; /* T_ERROR */
};

/* Tokens of src up to and including T_EOF or the first T_ERROR. */
void ftmpl_lex(const char *src, struct ftmpl_token **ret, size_t *ret_n);
void ftmpl_tokens_free(struct ftmpl_token *toks, size_t n);

/* Parser (format.c) */
void ftmpl_list_free(struct ftmpl_list *l);
/* Go's Node.String(), used in execution error context. */
void ftmpl_arg_string(struct ftmpl_buf *b, const struct ftmpl_arg *a);
void ftmpl_cmd_string(struct ftmpl_buf *b, const struct ftmpl_cmd *c);
void ftmpl_pipe_string(struct ftmpl_buf *b, const struct ftmpl_pipe *p);

/* Evaluator (format-eval.c) */
int ftmpl_exec(const struct format_tmpl *t, json_t *dot, struct ftmpl_buf *out,
               berth_error_t *err);

/* Values (format-value.c).  NULL and JSON null are both Go's nil. */
bool ftmpl_is_nil(const json_t *v);
bool ftmpl_truth(const json_t *v);
/* Go's type name for messages: "string", "int", "float64", ... */
const char *ftmpl_type_name(const json_t *v);
/* fmt.Print of the value; top_level makes nil "<no value>" as
 * text/template prints it, nested nils are "<nil>". */
void ftmpl_print_value(struct ftmpl_buf *b, const json_t *v, bool top_level);
/* strconv.FormatFloat(f, fmt, -1, 64) for fmt 'g' (as %v), 'e', 'f'. */
void ftmpl_format_float(struct ftmpl_buf *b, double f, char fmt);
/* strconv.Quote, limited to max_runes when > 0 (Go's "%.10q"). */
void ftmpl_quote(struct ftmpl_buf *b, const char *s, size_t n,
                 size_t max_runes);
/* json.Marshal (indent NULL) or json.MarshalIndent(v, "", indent), without
 * HTML escaping, objects in their stored order. */
void ftmpl_json(struct ftmpl_buf *b, const json_t *v, const char *indent);

/* Functions (format-funcs.c).  A function gets its evaluated arguments
 * (elements may be NULL for nil) and returns a new reference in *ret
 * (NULL for nil); on failure it returns -1 with a malloc'd message in
 * *ret_msg, which the evaluator reports as "error calling NAME: MSG". */
typedef int (*ftmpl_fn)(json_t **args, size_t n, json_t **ret, char **ret_msg);
struct ftmpl_func {
    const char *name;
    int min_args; /* fixed arity when max_args == min_args */
    int max_args; /* -1: variadic */
    ftmpl_fn fn;
};
const struct ftmpl_func *ftmpl_func_find(const char *name);
/* printf's engine, also used by print and println. */
void ftmpl_sprintf(struct ftmpl_buf *b, const char *fmt, size_t fmt_len,
                   json_t **args, size_t n);

#endif
