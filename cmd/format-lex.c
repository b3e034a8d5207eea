#define _GNU_SOURCE
#include "cmd/format-internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* A port of Go's text/template/parse/lex.go state machine, run to the end
 * up front instead of on demand: the parser stops at the first error
 * token either way, so the messages and line numbers come out the same.
 * Line bookkeeping mirrors Go's (next() counts newlines it reads, jumps
 * over text are counted by ignore()), as the line is part of every
 * parse error a user sees. */

#define LEX_EOF (-1)

struct lexer {
    const char *in;
    size_t len, pos, start;
    int line, start_line;
    int paren_depth;
    struct ftmpl_token *toks;
    size_t n, cap;
};

enum lex_state {
    LS_TEXT,
    LS_LEFT,
    LS_COMMENT,
    LS_RIGHT,
    LS_INSIDE,
    LS_SPACE,
    LS_QUOTE,
    LS_RAWQUOTE,
    LS_CHAR,
    LS_NUMBER,
    LS_IDENT,
    LS_FIELD,
    LS_VARIABLE,
    LS_DONE,
};

static const struct {
    const char *word;
    enum ftmpl_tok type;
} lex_keywords[] = {
    {".", T_DOT},
    {"block", T_BLOCK},
    {"break", T_BREAK},
    {"continue", T_CONTINUE},
    {"define", T_DEFINE},
    {"else", T_ELSE},
    {"end", T_END},
    {"if", T_IF},
    {"range", T_RANGE},
    {"nil", T_NIL},
    {"template", T_TEMPLATE},
    {"with", T_WITH},
};

static bool lex_is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Bytes of multi-byte UTF-8 sequences count as letters: Go accepts any
 * Unicode letter in identifiers and field names. */
static bool lex_is_alnum(int c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

static int lex_next(struct lexer *l)
{
    if (l->pos >= l->len)
        return LEX_EOF;
    int c = (unsigned char)l->in[l->pos++];
    if (c == '\n')
        l->line++;
    return c;
}

/* Only valid right after lex_next returned a byte. */
static void lex_backup(struct lexer *l)
{
    l->pos--;
    if (l->in[l->pos] == '\n')
        l->line--;
}

static int lex_peek(struct lexer *l)
{
    return l->pos < l->len ? (unsigned char)l->in[l->pos] : LEX_EOF;
}

static bool lex_accept(struct lexer *l, const char *valid)
{
    int c = lex_peek(l);
    if (c != LEX_EOF && strchr(valid, c)) {
        lex_next(l);
        return true;
    }
    return false;
}

static void lex_accept_run(struct lexer *l, const char *valid)
{
    while (lex_accept(l, valid))
        ;
}

static bool lex_has_prefix(const struct lexer *l, size_t at, const char *p)
{
    size_t n = strlen(p);
    return at <= l->len && l->len - at >= n && memcmp(l->in + at, p, n) == 0;
}

static int lex_count_nl(const struct lexer *l, size_t from, size_t to)
{
    int n = 0;
    for (size_t i = from; i < to; i++)
        n += l->in[i] == '\n';
    return n;
}

static void lex_push(struct lexer *l, enum ftmpl_tok type, size_t pos,
                     size_t len, int line, char *msg)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 32;
        l->toks = xrealloc(l->toks, l->cap * sizeof *l->toks);
    }
    l->toks[l->n++] = (struct ftmpl_token){type, pos, len, line, msg};
}

static void lex_emit(struct lexer *l, enum ftmpl_tok type)
{
    lex_push(l, type, l->start, l->pos - l->start, l->start_line, NULL);
    l->start = l->pos;
    l->start_line = l->line;
}

static void lex_ignore(struct lexer *l)
{
    l->line += lex_count_nl(l, l->start, l->pos);
    l->start = l->pos;
    l->start_line = l->line;
}

static enum lex_state lex_errorf(struct lexer *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum lex_state lex_errorf(struct lexer *l, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    lex_push(l, T_ERROR, l->start, 0, l->start_line,
             msg ? msg : xstrdup("out of memory"));
    return LS_DONE;
}

/* Go's "%#U" of the rune at byte offset at: U+007D '}' */
static char *lex_rune_desc(const struct lexer *l, size_t at)
{
    const unsigned char *s = (const unsigned char *)l->in + at;
    size_t left = l->len - at;
    unsigned r = s[0];
    int n = 1;
    if (r >= 0xf0 && left >= 4)
        r = (r & 7u) << 18 | (s[1] & 63u) << 12 | (s[2] & 63u) << 6 |
            (s[3] & 63u),
        n = 4;
    else if (r >= 0xe0 && left >= 3)
        r = (r & 15u) << 12 | (s[1] & 63u) << 6 | (s[2] & 63u), n = 3;
    else if (r >= 0xc0 && left >= 2)
        r = (r & 31u) << 6 | (s[1] & 63u), n = 2;
    if (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
        return xasprintf("U+%04X", r);
    return xasprintf("U+%04X '%.*s'", r, n, (const char *)s);
}

static bool lex_has_left_trim(const struct lexer *l, size_t at)
{
    return at + 2 <= l->len && l->in[at] == '-' &&
           lex_is_space((unsigned char)l->in[at + 1]);
}

static bool lex_has_right_trim(const struct lexer *l, size_t at)
{
    return at + 2 <= l->len && lex_is_space((unsigned char)l->in[at]) &&
           l->in[at + 1] == '-';
}

static bool lex_at_right_delim(const struct lexer *l, bool *trim)
{
    *trim = false;
    if (lex_has_right_trim(l, l->pos) && lex_has_prefix(l, l->pos + 2, "}}")) {
        *trim = true;
        return true;
    }
    return lex_has_prefix(l, l->pos, "}}");
}

static bool lex_at_terminator(const struct lexer *l)
{
    int c = lex_peek((struct lexer *)l);
    if (lex_is_space(c))
        return true;
    switch (c) {
    case LEX_EOF:
    case '.':
    case ',':
    case '|':
    case ':':
    case ')':
    case '(':
        return true;
    default:
        break;
    }
    return lex_has_prefix(l, l->pos, "}}");
}

static enum lex_state lex_text(struct lexer *l)
{
    const char *x = memmem(l->in + l->pos, l->len - l->pos, "{{", 2);
    if (x) {
        l->pos = (size_t)(x - l->in);
        size_t trim = 0;
        if (lex_has_left_trim(l, l->pos + 2))
            while (trim < l->pos - l->start &&
                   lex_is_space((unsigned char)l->in[l->pos - trim - 1]))
                trim++;
        l->pos -= trim;
        if (l->pos > l->start) {
            l->line += lex_count_nl(l, l->start, l->pos);
            lex_emit(l, T_TEXT);
        }
        l->pos += trim;
        lex_ignore(l);
        return LS_LEFT;
    }
    l->pos = l->len;
    if (l->pos > l->start) {
        l->line += lex_count_nl(l, l->start, l->pos);
        lex_emit(l, T_TEXT);
    }
    lex_emit(l, T_EOF);
    return LS_DONE;
}

static enum lex_state lex_left_delim(struct lexer *l)
{
    l->pos += 2;
    size_t after = lex_has_left_trim(l, l->pos) ? 2 : 0;
    if (lex_has_prefix(l, l->pos + after, "/*")) {
        l->pos += after;
        lex_ignore(l);
        return LS_COMMENT;
    }
    lex_push(l, T_LEFT, l->start, l->pos - l->start, l->start_line, NULL);
    l->start = l->pos;
    l->start_line = l->line;
    l->pos += after;
    lex_ignore(l);
    l->paren_depth = 0;
    return LS_INSIDE;
}

static size_t lex_left_trim_len(const struct lexer *l)
{
    size_t n = 0;
    while (l->pos + n < l->len &&
           lex_is_space((unsigned char)l->in[l->pos + n]))
        n++;
    return n;
}

static enum lex_state lex_comment(struct lexer *l)
{
    l->pos += 2;
    const char *x = memmem(l->in + l->pos, l->len - l->pos, "*/", 2);
    if (x == NULL)
        return lex_errorf(l, "unclosed comment");
    l->pos = (size_t)(x - l->in) + 2;
    bool trim;
    if (!lex_at_right_delim(l, &trim))
        return lex_errorf(l, "comment ends before closing delimiter");
    if (trim)
        l->pos += 2;
    l->pos += 2;
    if (trim)
        l->pos += lex_left_trim_len(l);
    lex_ignore(l);
    return LS_TEXT;
}

static enum lex_state lex_right_delim(struct lexer *l)
{
    bool trim;
    lex_at_right_delim(l, &trim);
    if (trim) {
        l->pos += 2;
        lex_ignore(l);
    }
    l->pos += 2;
    lex_emit(l, T_RIGHT);
    if (trim) {
        l->pos += lex_left_trim_len(l);
        lex_ignore(l);
    }
    return LS_TEXT;
}

static enum lex_state lex_inside_action(struct lexer *l)
{
    bool trim;
    if (lex_at_right_delim(l, &trim)) {
        if (l->paren_depth == 0)
            return LS_RIGHT;
        return lex_errorf(l, "unclosed left paren");
    }
    int c = lex_next(l);
    if (c == LEX_EOF)
        return lex_errorf(l, "unclosed action");
    if (lex_is_space(c)) {
        lex_backup(l);
        return LS_SPACE;
    }
    switch (c) {
    case '=':
        lex_emit(l, T_ASSIGN);
        return LS_INSIDE;
    case ':':
        if (lex_next(l) != '=')
            return lex_errorf(l, "expected :=");
        lex_emit(l, T_DECLARE);
        return LS_INSIDE;
    case '|':
        lex_emit(l, T_PIPE);
        return LS_INSIDE;
    case '"':
        return LS_QUOTE;
    case '`':
        return LS_RAWQUOTE;
    case '$':
        return LS_VARIABLE;
    case '\'':
        return LS_CHAR;
    case '.':
        if (l->pos < l->len && (l->in[l->pos] < '0' || l->in[l->pos] > '9'))
            return LS_FIELD;
        lex_backup(l);
        return LS_NUMBER;
    case '(':
        lex_emit(l, T_LPAREN);
        l->paren_depth++;
        return LS_INSIDE;
    case ')':
        lex_emit(l, T_RPAREN);
        if (--l->paren_depth < 0)
            return lex_errorf(l, "unexpected right paren U+0029 ')'");
        return LS_INSIDE;
    default:
        break;
    }
    if (c == '+' || c == '-' || (c >= '0' && c <= '9')) {
        lex_backup(l);
        return LS_NUMBER;
    }
    if (lex_is_alnum(c)) {
        lex_backup(l);
        return LS_IDENT;
    }
    if (c < 0x7f && c >= 0x20) {
        lex_emit(l, T_CHAR);
        return LS_INSIDE;
    }
    _cleanup_free_ char *d = lex_rune_desc(l, l->pos - 1);
    return lex_errorf(l, "unrecognized character in action: %s", d);
}

static enum lex_state lex_space(struct lexer *l)
{
    int n = 0;
    while (lex_is_space(lex_peek(l))) {
        lex_next(l);
        n++;
    }
    /* a space may belong to a " -}}" trim marker */
    if (lex_has_right_trim(l, l->pos - 1) &&
        lex_has_prefix(l, l->pos + 1, "}}")) {
        lex_backup(l);
        if (n == 1)
            return LS_INSIDE;
    }
    lex_emit(l, T_SPACE);
    return LS_INSIDE;
}

static enum lex_state lex_identifier(struct lexer *l)
{
    while (lex_is_alnum(lex_peek(l)))
        lex_next(l);
    if (!lex_at_terminator(l)) {
        _cleanup_free_ char *d = lex_rune_desc(l, l->pos);
        return lex_errorf(l, "bad character %s", d);
    }
    size_t n = l->pos - l->start;
    const char *w = l->in + l->start;
    for (size_t i = 0; i < sizeof lex_keywords / sizeof *lex_keywords; i++)
        if (strlen(lex_keywords[i].word) == n &&
            memcmp(lex_keywords[i].word, w, n) == 0) {
            lex_emit(l, lex_keywords[i].type);
            return LS_INSIDE;
        }
    if ((n == 4 && memcmp(w, "true", 4) == 0) ||
        (n == 5 && memcmp(w, "false", 5) == 0))
        lex_emit(l, T_BOOL);
    else
        lex_emit(l, T_IDENT);
    return LS_INSIDE;
}

static enum lex_state lex_field_or_var(struct lexer *l, enum ftmpl_tok type)
{
    if (lex_at_terminator(l)) {
        lex_emit(l, type == T_VAR ? T_VAR : T_DOT);
        return LS_INSIDE;
    }
    while (lex_is_alnum(lex_peek(l)))
        lex_next(l);
    if (!lex_at_terminator(l)) {
        _cleanup_free_ char *d = lex_rune_desc(l, l->pos);
        return lex_errorf(l, "bad character %s", d);
    }
    lex_emit(l, type);
    return LS_INSIDE;
}

static bool lex_scan_number(struct lexer *l)
{
    const char *digits = "0123456789_";
    lex_accept(l, "+-");
    if (lex_accept(l, "0")) {
        if (lex_accept(l, "xX"))
            digits = "0123456789abcdefABCDEF_";
        else if (lex_accept(l, "oO"))
            digits = "01234567_";
        else if (lex_accept(l, "bB"))
            digits = "01_";
    }
    lex_accept_run(l, digits);
    if (lex_accept(l, "."))
        lex_accept_run(l, digits);
    if (strlen(digits) == 11 && lex_accept(l, "eE")) {
        lex_accept(l, "+-");
        lex_accept_run(l, "0123456789_");
    }
    if (strlen(digits) == 23 && lex_accept(l, "pP")) {
        lex_accept(l, "+-");
        lex_accept_run(l, "0123456789_");
    }
    lex_accept(l, "i");
    if (lex_is_alnum(lex_peek(l))) {
        lex_next(l);
        return false;
    }
    return true;
}

static enum lex_state lex_bad_number(struct lexer *l)
{
    struct ftmpl_buf b = {0};
    ftmpl_quote(&b, l->in + l->start, l->pos - l->start, 0);
    _cleanup_free_ char *q = ftmpl_buf_take(&b);
    return lex_errorf(l, "bad number syntax: %s", q);
}

static enum lex_state lex_number(struct lexer *l)
{
    if (!lex_scan_number(l))
        return lex_bad_number(l);
    int c = lex_peek(l);
    if (c == '+' || c == '-') {
        if (!lex_scan_number(l) || l->in[l->pos - 1] != 'i')
            return lex_bad_number(l);
        lex_emit(l, T_COMPLEX);
    } else {
        lex_emit(l, T_NUMBER);
    }
    return LS_INSIDE;
}

static enum lex_state lex_quoted(struct lexer *l, int quote, enum ftmpl_tok t,
                                 const char *what)
{
    for (;;) {
        int c = lex_next(l);
        if (c == '\\') {
            c = lex_next(l);
            if (c != LEX_EOF && c != '\n')
                continue;
        }
        if (c == LEX_EOF || c == '\n')
            return lex_errorf(l, "unterminated %s", what);
        if (c == quote)
            break;
    }
    lex_emit(l, t);
    return LS_INSIDE;
}

static enum lex_state lex_raw_quote(struct lexer *l)
{
    for (;;) {
        int c = lex_next(l);
        if (c == LEX_EOF)
            return lex_errorf(l, "unterminated raw quoted string");
        if (c == '`')
            break;
    }
    lex_emit(l, T_RAWSTRING);
    return LS_INSIDE;
}

static enum lex_state lex_step(struct lexer *l, enum lex_state s)
{
    switch (s) {
    case LS_TEXT:
        return lex_text(l);
    case LS_LEFT:
        return lex_left_delim(l);
    case LS_COMMENT:
        return lex_comment(l);
    case LS_RIGHT:
        return lex_right_delim(l);
    case LS_INSIDE:
        return lex_inside_action(l);
    case LS_SPACE:
        return lex_space(l);
    case LS_QUOTE:
        return lex_quoted(l, '"', T_STRING, "quoted string");
    case LS_RAWQUOTE:
        return lex_raw_quote(l);
    case LS_CHAR:
        return lex_quoted(l, '\'', T_CHARCONST, "character constant");
    case LS_NUMBER:
        return lex_number(l);
    case LS_IDENT:
        return lex_identifier(l);
    case LS_FIELD:
        return lex_field_or_var(l, T_FIELD);
    case LS_VARIABLE:
        return lex_field_or_var(l, T_VAR);
    case LS_DONE:
    default:
        return LS_DONE;
    }
}

void ftmpl_lex(const char *src, struct ftmpl_token **ret, size_t *ret_n)
{
    struct lexer l = {
        .in = src, .len = strlen(src), .line = 1, .start_line = 1};
    enum lex_state s = LS_TEXT;
    while (s != LS_DONE)
        s = lex_step(&l, s);
    *ret = l.toks;
    *ret_n = l.n;
}

void ftmpl_tokens_free(struct ftmpl_token *toks, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(toks[i].msg);
    free(toks);
}
