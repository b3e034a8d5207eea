#define _GNU_SOURCE
#include "cmd/format-internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* How Go prints values: fmt's %v (what text/template writes for an
 * action), strconv's shortest float formatting and Quote, and
 * encoding/json's Marshal.  Scripts compare this output byte for byte
 * with podman's, so each rule follows the Go source, not C's printf. */

void ftmpl_buf_add(struct ftmpl_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = xrealloc(b->s, cap);
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void ftmpl_buf_adds(struct ftmpl_buf *b, const char *s)
{
    ftmpl_buf_add(b, s, strlen(s));
}

void ftmpl_buf_addc(struct ftmpl_buf *b, char c)
{
    ftmpl_buf_add(b, &c, 1);
}

void ftmpl_buf_addf(struct ftmpl_buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort(); /* out of memory, as xmalloc does */
    ftmpl_buf_add(b, s, (size_t)n);
    free(s);
}

char *ftmpl_buf_take(struct ftmpl_buf *b)
{
    char *s = b->s ? b->s : xstrdup("");
    *b = (struct ftmpl_buf){0};
    return s;
}

bool ftmpl_is_nil(const json_t *v)
{
    return v == NULL || json_is_null(v);
}

bool ftmpl_truth(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE:
        return true;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    case JSON_FALSE:
    case JSON_NULL:
    default:
        return false;
    }
}

const char *ftmpl_type_name(const json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_INTEGER:
        return "int";
    case JSON_REAL:
        return "float64";
    case JSON_STRING:
        return "string";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_OBJECT:
        return "map[string]interface {}";
    case JSON_NULL:
    default:
        return "<nil>";
    }
}

/* The shortest decimal digits that read back as f (f > 0, finite), as
 * strconv's shortest mode: value = 0.DIGITS x 10^dp. */
static void float_digits(double f, char digits[32], int *ret_nd, int *ret_dp)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    int nd = 0;
    char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    *ret_nd = nd;
    *ret_dp = atoi(p + 1) + 1;
}

static void float_fmt_e(struct ftmpl_buf *b, const char *d, int nd, int dp)
{
    ftmpl_buf_addc(b, d[0]);
    if (nd > 1) {
        ftmpl_buf_addc(b, '.');
        ftmpl_buf_add(b, d + 1, (size_t)nd - 1);
    }
    int exp = dp - 1;
    ftmpl_buf_addf(b, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void float_fmt_f(struct ftmpl_buf *b, const char *d, int nd, int dp)
{
    if (dp > 0) {
        int m = nd < dp ? nd : dp;
        ftmpl_buf_add(b, d, (size_t)m);
        for (; m < dp; m++)
            ftmpl_buf_addc(b, '0');
    } else {
        ftmpl_buf_addc(b, '0');
    }
    int prec = nd - dp > 0 ? nd - dp : 0;
    if (prec > 0) {
        ftmpl_buf_addc(b, '.');
        for (int i = 1; i <= prec; i++) {
            int j = dp + i - 1;
            ftmpl_buf_addc(b, j >= 0 && j < nd ? d[j] : '0');
        }
    }
}

void ftmpl_format_float(struct ftmpl_buf *b, double f, char fmt)
{
    if (isnan(f)) {
        ftmpl_buf_adds(b, "NaN");
        return;
    }
    if (isinf(f)) {
        ftmpl_buf_adds(b, f < 0 ? "-Inf" : "+Inf");
        return;
    }
    if (signbit(f))
        ftmpl_buf_addc(b, '-');
    f = fabs(f);
    char d[32] = "0";
    int nd = 1, dp = 1;
    if (f != 0)
        float_digits(f, d, &nd, &dp);
    if (fmt == 'g' && f != 0) {
        int exp = dp - 1;
        fmt = exp < -4 || exp >= 6 ? 'e' : 'f';
    }
    if (fmt == 'e')
        float_fmt_e(b, d, nd, dp);
    else
        float_fmt_f(b, d, nd, f == 0 ? 1 : dp);
}

/* One UTF-8 sequence at s: its length, or -1 when invalid (Go then takes
 * the byte alone as U+FFFD). */
static int utf8_decode(const unsigned char *s, size_t n, unsigned *ret)
{
    unsigned c = s[0];
    int len;
    unsigned min;
    if (c < 0x80) {
        *ret = c;
        return 1;
    } else if (c >= 0xc2 && c <= 0xdf) {
        len = 2, min = 0x80, c &= 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, min = 0x800, c &= 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, min = 0x10000, c &= 0x07;
    } else {
        return -1;
    }
    if ((size_t)len > n)
        return -1;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        c = c << 6 | (s[i] & 0x3fu);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *ret = c;
    return len;
}

/* strconv.IsPrint beyond ASCII, roughly: everything but the space,
 * separator, format and private-use ranges Go escapes. */
static bool unicode_printable(unsigned r)
{
    static const unsigned ranges[][2] = {
        {0x80, 0xa0},     {0xad, 0xad},        {0x600, 0x605},
        {0x61c, 0x61c},   {0x6dd, 0x6dd},      {0x70f, 0x70f},
        {0x1680, 0x1680}, {0x180e, 0x180e},    {0x2000, 0x200f},
        {0x2028, 0x202f}, {0x205f, 0x206f},    {0x3000, 0x3000},
        {0xd800, 0xf8ff}, {0xfeff, 0xfeff},    {0xfff9, 0xfffb},
        {0xfffe, 0xffff}, {0xf0000, 0x10ffff},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof *ranges; i++)
        if (r >= ranges[i][0] && r <= ranges[i][1])
            return false;
    return r >= 0x80;
}

void ftmpl_quote(struct ftmpl_buf *b, const char *s, size_t n, size_t max_runes)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t runes = 0;
    ftmpl_buf_addc(b, '"');
    for (size_t i = 0; i < n; runes++) {
        if (max_runes && runes == max_runes)
            break;
        unsigned r;
        int len = utf8_decode(u + i, n - i, &r);
        if (len < 0) {
            ftmpl_buf_addf(b, "\\x%02x", u[i]);
            i++;
            continue;
        }
        i += (size_t)len;
        if (r == '"' || r == '\\') {
            ftmpl_buf_addc(b, '\\');
            ftmpl_buf_addc(b, (char)r);
        } else if ((r >= 0x20 && r < 0x7f) || unicode_printable(r)) {
            ftmpl_buf_add(b, (const char *)u + i - len, (size_t)len);
        } else {
            static const char esc[] = "abtnvfr";
            if (r >= 7 && r <= 13)
                ftmpl_buf_addf(b, "\\%c", esc[r - 7]);
            else if (r < 0x80)
                ftmpl_buf_addf(b, "\\x%02x", r);
            else
                ftmpl_buf_addf(b, "\\u%04x", r);
        }
    }
    ftmpl_buf_addc(b, '"');
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* fmt prints maps with their keys sorted (internal/fmtsort). */
static const char **sorted_keys(const json_t *obj, size_t *ret_n)
{
    size_t n = json_object_size(obj), i = 0;
    const char **keys = xcalloc(n ? n : 1, sizeof *keys);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) keys[i++] = k;
    qsort(keys, n, sizeof *keys, key_cmp);
    *ret_n = n;
    return keys;
}

void ftmpl_print_value(struct ftmpl_buf *b, const json_t *v, bool top_level)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        ftmpl_buf_add(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        ftmpl_buf_addf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        ftmpl_format_float(b, json_real_value(v), 'g');
        break;
    case JSON_TRUE:
        ftmpl_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        ftmpl_buf_adds(b, "false");
        break;
    case JSON_ARRAY: {
        ftmpl_buf_addc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                ftmpl_buf_addc(b, ' ');
            ftmpl_print_value(b, json_array_get(v, i), false);
        }
        ftmpl_buf_addc(b, ']');
        break;
    }
    case JSON_OBJECT: {
        size_t n;
        _cleanup_free_ const char **keys = sorted_keys(v, &n);
        ftmpl_buf_adds(b, "map[");
        for (size_t i = 0; i < n; i++) {
            if (i)
                ftmpl_buf_addc(b, ' ');
            ftmpl_buf_adds(b, keys[i]);
            ftmpl_buf_addc(b, ':');
            ftmpl_print_value(b, json_object_get(v, keys[i]), false);
        }
        ftmpl_buf_addc(b, ']');
        break;
    }
    case JSON_NULL:
    default:
        ftmpl_buf_adds(b, top_level ? "<no value>" : "<nil>");
        break;
    }
}

static void json_string_out(struct ftmpl_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    ftmpl_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x80) {
            if (c == '"' || c == '\\') {
                ftmpl_buf_addc(b, '\\');
                ftmpl_buf_addc(b, (char)c);
            } else if (c == '\n') {
                ftmpl_buf_adds(b, "\\n");
            } else if (c == '\r') {
                ftmpl_buf_adds(b, "\\r");
            } else if (c == '\t') {
                ftmpl_buf_adds(b, "\\t");
            } else if (c < 0x20) {
                ftmpl_buf_adds(b, "\\u00");
                ftmpl_buf_addc(b, hex[c >> 4]);
                ftmpl_buf_addc(b, hex[c & 15]);
            } else {
                ftmpl_buf_addc(b, (char)c);
            }
            i++;
            continue;
        }
        unsigned r;
        int len = utf8_decode(u + i, n - i, &r);
        if (len < 0) {
            ftmpl_buf_adds(b, "\\ufffd");
            i++;
        } else if (r == 0x2028 || r == 0x2029) {
            /* Go escapes these for JavaScript's sake, HTML mode or not */
            ftmpl_buf_addf(b, "\\u%04x", r);
            i += (size_t)len;
        } else {
            ftmpl_buf_add(b, s + i, (size_t)len);
            i += (size_t)len;
        }
    }
    ftmpl_buf_addc(b, '"');
}

/* encoding/json's float64: %f unless tiny or huge, and "e-07" -> "e-7". */
static void json_float_out(struct ftmpl_buf *b, double f)
{
    double a = fabs(f);
    char fmt = a != 0 && (a < 1e-6 || a >= 1e21) ? 'e' : 'f';
    size_t start = b->len;
    ftmpl_format_float(b, f, fmt);
    if (fmt == 'e') {
        size_t n = b->len - start;
        char *e = b->s + start;
        if (n >= 4 && e[n - 4] == 'e' && e[n - 3] == '-' && e[n - 2] == '0') {
            e[n - 2] = e[n - 1];
            b->len--;
            b->s[b->len] = '\0';
        }
    }
}

static void json_newline(struct ftmpl_buf *b, const char *indent, int depth)
{
    ftmpl_buf_addc(b, '\n');
    for (int i = 0; i < depth; i++)
        ftmpl_buf_adds(b, indent);
}

static void json_out(struct ftmpl_buf *b, const json_t *v, const char *indent,
                     int depth)
{
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_STRING:
        json_string_out(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
    case JSON_TRUE:
    case JSON_FALSE:
        ftmpl_print_value(b, v, false);
        break;
    case JSON_REAL:
        json_float_out(b, json_real_value(v));
        break;
    case JSON_ARRAY:
        ftmpl_buf_addc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                ftmpl_buf_addc(b, ',');
            if (indent)
                json_newline(b, indent, depth + 1);
            json_out(b, json_array_get(v, i), indent, depth + 1);
        }
        if (indent && json_array_size(v))
            json_newline(b, indent, depth);
        ftmpl_buf_addc(b, ']');
        break;
    case JSON_OBJECT: {
        const char *k;
        json_t *e;
        bool first = true;
        ftmpl_buf_addc(b, '{');
        json_object_foreach((json_t *)v, k, e)
        {
            if (!first)
                ftmpl_buf_addc(b, ',');
            first = false;
            if (indent)
                json_newline(b, indent, depth + 1);
            json_string_out(b, k, strlen(k));
            ftmpl_buf_adds(b, indent ? ": " : ":");
            json_out(b, e, indent, depth + 1);
        }
        if (indent && !first)
            json_newline(b, indent, depth);
        ftmpl_buf_addc(b, '}');
        break;
    }
    case JSON_NULL:
    default:
        ftmpl_buf_adds(b, "null");
        break;
    }
}

void ftmpl_json(struct ftmpl_buf *b, const json_t *v, const char *indent)
{
    json_out(b, v, indent, 0);
}
