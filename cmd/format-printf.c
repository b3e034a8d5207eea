#define _GNU_SOURCE
#include "cmd/format-internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* Go's fmt.Sprintf over JSON values, for the template's printf: flags
 * "+-# 0", width and precision (numbers or '*'), verbs v s d q x X o O b
 * c U e E f F g G t T and %%; mismatches print Go's "%!d(string=x)",
 * missing operands "%!d(MISSING)", leftovers "%!(EXTRA type=value)". */

struct spec {
    bool plus, minus, sharp, space, zero;
    bool has_width, has_prec;
    int width, prec;
};

static size_t rune_count(const char *s, size_t n)
{
    size_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += ((unsigned char)s[i] & 0xc0) != 0x80;
    return r;
}

/* Pad to the width with spaces, or zeros on the left under '0' (which Go
 * applies to strings too). */
static void pad(struct ftmpl_buf *b, const struct spec *sp, const char *s,
                size_t n)
{
    size_t w = rune_count(s, n);
    size_t fill = sp->has_width && (size_t)sp->width > w ? sp->width - w : 0;
    if (!sp->minus)
        for (size_t i = 0; i < fill; i++)
            ftmpl_buf_addc(b, sp->zero ? '0' : ' ');
    ftmpl_buf_add(b, s, n);
    if (sp->minus)
        for (size_t i = 0; i < fill; i++)
            ftmpl_buf_addc(b, ' ');
}

/* A number: zeros go after the sign, and '+' or ' ' add one. */
static void pad_number(struct ftmpl_buf *b, const struct spec *sp,
                       const char *num)
{
    struct ftmpl_buf t = {0};
    bool neg = num[0] == '-';
    if (neg)
        num++;
    const char *sign = neg ? "-" : sp->plus ? "+" : sp->space ? " " : "";
    ftmpl_buf_adds(&t, sign);
    size_t len = strlen(sign) + strlen(num);
    if (sp->zero && !sp->minus && sp->has_width && (size_t)sp->width > len &&
        strspn(num, "0123456789.") > 0)
        for (size_t i = len; i < (size_t)sp->width; i++)
            ftmpl_buf_addc(&t, '0');
    ftmpl_buf_adds(&t, num);
    struct spec nz = *sp;
    nz.zero = false;
    pad(b, &nz, t.s, t.len);
    free(t.s);
}

static void fmt_value(struct ftmpl_buf *b, const struct spec *sp, unsigned verb,
                      json_t *v, bool top);

static void bad_verb(struct ftmpl_buf *b, unsigned verb, json_t *v)
{
    ftmpl_buf_addf(b, "%%!%c(", (char)verb);
    if (ftmpl_is_nil(v)) {
        ftmpl_buf_adds(b, "<nil>");
    } else {
        ftmpl_buf_addf(b, "%s=", ftmpl_type_name(v));
        ftmpl_print_value(b, v, false);
    }
    ftmpl_buf_addc(b, ')');
}

static void utf8_rune(struct ftmpl_buf *b, unsigned long long r)
{
    if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
        r = 0xfffd;
    ftmpl_utf8_put(b, (unsigned)r);
}

static void fmt_int_digits(struct ftmpl_buf *t, const struct spec *sp,
                           unsigned verb, json_int_t v)
{
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    unsigned base = verb == 'x' || verb == 'X'   ? 16
                    : verb == 'o' || verb == 'O' ? 8
                    : verb == 'b'                ? 2
                                                 : 10;
    const char *dig = verb == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[72];
    size_t n = 0;
    do {
        tmp[n++] = dig[u % base];
        u /= base;
    } while (u);
    if (sp->has_prec && sp->prec == 0 && v == 0)
        n = 0;
    size_t want = sp->has_prec ? (size_t)sp->prec : 0;
    /* Go zero-fills the digits to the width, minus room for a sign */
    if (!sp->has_prec && sp->zero && !sp->minus && sp->has_width) {
        want = (size_t)sp->width;
        if (v < 0 || sp->plus || sp->space)
            want--;
    }
    if (v < 0)
        ftmpl_buf_addc(t, '-');
    if (sp->sharp && base == 16)
        ftmpl_buf_adds(t, verb == 'X' ? "0X" : "0x");
    else if (sp->sharp && base == 2)
        ftmpl_buf_adds(t, "0b");
    else if (verb == 'O')
        ftmpl_buf_adds(t, "0o");
    else if (sp->sharp && base == 8 && (n < want ? '0' : tmp[n - 1]) != '0')
        ftmpl_buf_addc(t, '0');
    for (size_t i = n; i < want && i < 4096; i++)
        ftmpl_buf_addc(t, '0');
    while (n > 0)
        ftmpl_buf_addc(t, tmp[--n]);
}

static void fmt_int(struct ftmpl_buf *b, const struct spec *sp, unsigned verb,
                    json_int_t v)
{
    struct ftmpl_buf t = {0};
    switch (verb) {
    case 'c':
        utf8_rune(&t, (unsigned long long)v);
        pad(b, sp, t.s, t.len);
        break;
    case 'q':
        ftmpl_buf_addc(&t, '\'');
        utf8_rune(&t, (unsigned long long)v);
        ftmpl_buf_addc(&t, '\'');
        pad(b, sp, t.s, t.len);
        break;
    case 'U':
        ftmpl_buf_addf(&t, "U+%04llX", (unsigned long long)v);
        pad(b, sp, t.s, t.len);
        break;
    case 'v':
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'O':
    case 'b': {
        struct spec nz = *sp;
        fmt_int_digits(&t, sp, verb, v);
        nz.zero = false;
        pad_number(b, &nz, t.s);
        break;
    }
    default: /* fmt_value only passes the verbs above */
        break;
    }
    free(t.s);
}

static void fmt_float(struct ftmpl_buf *b, const struct spec *sp, unsigned verb,
                      double f)
{
    struct ftmpl_buf t = {0};
    if ((verb == 'v' || verb == 'g' || verb == 'G') && !sp->has_prec) {
        ftmpl_format_float(&t, f, 'g');
        if (verb == 'G')
            for (size_t i = 0; i < t.len; i++)
                if (t.s[i] == 'e')
                    t.s[i] = 'E';
    } else if (isinf(f) || isnan(f)) {
        ftmpl_buf_adds(&t, isnan(f) ? "NaN" : f < 0 ? "-Inf" : "+Inf");
    } else {
        char cfmt[8] = {'%', '.', '*', (char)(verb == 'v' ? 'g' : verb), 0};
        ftmpl_buf_addf(&t, cfmt, sp->has_prec ? sp->prec : 6, f);
    }
    if (isnan(f) || isinf(f)) {
        struct spec nz = *sp;
        nz.zero = false;
        if (isnan(f) && (sp->plus || sp->space)) {
            ftmpl_buf_adds(b, sp->plus ? "+" : " ");
        }
        pad(b, &nz, t.s, t.len);
    } else {
        pad_number(b, sp, t.s);
    }
    free(t.s);
}

static void fmt_string(struct ftmpl_buf *b, const struct spec *sp,
                       unsigned verb, const char *s, size_t n)
{
    if (sp->has_prec) {
        size_t runes = 0, i = 0;
        for (; i < n; i++) {
            if (((unsigned char)s[i] & 0xc0) != 0x80 &&
                runes++ == (size_t)sp->prec)
                break;
        }
        n = i;
    }
    struct ftmpl_buf t = {0};
    switch (verb) {
    case 'v':
    case 's':
        pad(b, sp, s, n);
        return;
    case 'q':
        ftmpl_quote(&t, s, n, 0);
        break;
    case 'x':
    case 'X':
        for (size_t i = 0; i < n; i++)
            ftmpl_buf_addf(&t, verb == 'x' ? "%02x" : "%02X",
                           (unsigned char)s[i]);
        break;
    default:
        free(t.s);
        return;
    }
    pad(b, sp, t.s ? t.s : "", t.len);
    free(t.s);
}

static void fmt_container(struct ftmpl_buf *b, const struct spec *sp,
                          unsigned verb, json_t *v)
{
    if (json_is_array(v)) {
        ftmpl_buf_addc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                ftmpl_buf_addc(b, ' ');
            fmt_value(b, sp, verb, json_array_get(v, i), false);
        }
        ftmpl_buf_addc(b, ']');
        return;
    }
    size_t n = json_object_size(v), i = 0;
    _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof *keys);
    const char *k;
    json_t *e;
    json_object_foreach(v, k, e) keys[i++] = k;
    for (i = 1; i < n; i++) /* few keys: insertion sort */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *x = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = x;
        }
    ftmpl_buf_adds(b, "map[");
    for (i = 0; i < n; i++) {
        if (i)
            ftmpl_buf_addc(b, ' ');
        _cleanup_json_ json_t *key = json_string(keys[i]);
        fmt_value(b, sp, verb, key, false);
        ftmpl_buf_addc(b, ':');
        fmt_value(b, sp, verb, json_object_get(v, keys[i]), false);
    }
    ftmpl_buf_addc(b, ']');
}

static bool verb_in(unsigned verb, const char *set)
{
    return verb < 0x80 && strchr(set, (int)verb) != NULL;
}

static void fmt_value(struct ftmpl_buf *b, const struct spec *sp, unsigned verb,
                      json_t *v, bool top)
{
    if (verb == 'T') {
        pad(b, sp, ftmpl_type_name(v), strlen(ftmpl_type_name(v)));
        return;
    }
    switch (v ? json_typeof(v) : JSON_NULL) {
    case JSON_TRUE:
    case JSON_FALSE:
        if (verb_in(verb, "tv"))
            pad(b, sp, json_is_true(v) ? "true" : "false",
                json_is_true(v) ? 4 : 5);
        else
            bad_verb(b, verb, v);
        return;
    case JSON_INTEGER:
        if (verb_in(verb, "vdxXoObcqU"))
            fmt_int(b, sp, verb, json_integer_value(v));
        else
            bad_verb(b, verb, v);
        return;
    case JSON_REAL:
        if (verb_in(verb, "veEfFgG"))
            fmt_float(b, sp, verb, json_real_value(v));
        else
            bad_verb(b, verb, v);
        return;
    case JSON_STRING:
        if (verb_in(verb, "vsqxX"))
            fmt_string(b, sp, verb, json_string_value(v),
                       json_string_length(v));
        else
            bad_verb(b, verb, v);
        return;
    case JSON_ARRAY:
    case JSON_OBJECT:
        fmt_container(b, sp, verb, v);
        return;
    case JSON_NULL:
    default:
        /* a nil operand takes only %v; a nil inside a container prints
         * as <nil> whatever the verb */
        if (verb == 'v' || !top)
            pad(b, sp, "<nil>", 5);
        else
            bad_verb(b, verb, NULL);
        return;
    }
}

static int parse_num(const char *f, size_t n, size_t *i)
{
    int v = 0;
    while (*i < n && f[*i] >= '0' && f[*i] <= '9') {
        if (v < 1000000)
            v = v * 10 + (f[*i] - '0');
        (*i)++;
    }
    return v;
}

/* '*' takes an int operand; anything else is Go's BADWIDTH/BADPREC. */
static bool star_arg(json_t **args, size_t n, size_t *argi, int *ret)
{
    if (*argi >= n || !json_is_integer(args[*argi])) {
        (*argi)++;
        return false;
    }
    json_int_t v = json_integer_value(args[(*argi)++]);
    *ret = v > 1000000 ? 1000000 : v < -1000000 ? -1000000 : (int)v;
    return true;
}

static size_t parse_spec(const char *f, size_t n, size_t i, struct spec *sp,
                         json_t **args, size_t nargs, size_t *argi,
                         struct ftmpl_buf *b)
{
    for (; i < n; i++) {
        char c = f[i];
        if (c == '+')
            sp->plus = true;
        else if (c == '-')
            sp->minus = true, sp->zero = false;
        else if (c == '#')
            sp->sharp = true;
        else if (c == ' ')
            sp->space = true;
        else if (c == '0')
            sp->zero = !sp->minus;
        else
            break;
    }
    if (i < n && f[i] == '*') {
        i++;
        sp->has_width = star_arg(args, nargs, argi, &sp->width);
        if (!sp->has_width)
            ftmpl_buf_adds(b, "%!(BADWIDTH)");
        if (sp->width < 0)
            sp->width = -sp->width, sp->minus = true, sp->zero = false;
    } else if (i < n && f[i] >= '0' && f[i] <= '9') {
        sp->has_width = true;
        sp->width = parse_num(f, n, &i);
    }
    if (i < n && f[i] == '.') {
        i++;
        sp->has_prec = true;
        if (i < n && f[i] == '*') {
            i++;
            sp->has_prec = star_arg(args, nargs, argi, &sp->prec);
            if (!sp->has_prec || sp->prec < 0) {
                sp->has_prec = false;
                ftmpl_buf_adds(b, "%!(BADPREC)");
            }
        } else {
            sp->prec = parse_num(f, n, &i);
        }
    }
    return i;
}

void ftmpl_sprintf(struct ftmpl_buf *b, const char *f, size_t n, json_t **args,
                   size_t nargs)
{
    size_t argi = 0;
    for (size_t i = 0; i < n;) {
        if (f[i] != '%') {
            ftmpl_buf_addc(b, f[i++]);
            continue;
        }
        struct spec sp = {0};
        i = parse_spec(f, n, i + 1, &sp, args, nargs, &argi, b);
        if (i >= n) {
            ftmpl_buf_adds(b, "%!(NOVERB)");
            break;
        }
        unsigned verb = (unsigned char)f[i];
        size_t vlen = 1;
        while (verb >= 0x80 && i + vlen < n &&
               ((unsigned char)f[i + vlen] & 0xc0) == 0x80)
            vlen++;
        if (verb == '%') {
            ftmpl_buf_addc(b, '%');
        } else if (argi >= nargs) {
            ftmpl_buf_adds(b, "%!");
            ftmpl_buf_add(b, f + i, vlen);
            ftmpl_buf_adds(b, "(MISSING)");
        } else {
            fmt_value(b, &sp, verb, args[argi++], true);
        }
        i += vlen;
    }
    if (argi < nargs) {
        ftmpl_buf_adds(b, "%!(EXTRA ");
        for (size_t i = argi; i < nargs; i++) {
            if (i > argi)
                ftmpl_buf_adds(b, ", ");
            if (ftmpl_is_nil(args[i])) {
                ftmpl_buf_adds(b, "<nil>");
                continue;
            }
            ftmpl_buf_addf(b, "%s=", ftmpl_type_name(args[i]));
            ftmpl_print_value(b, args[i], false);
        }
        ftmpl_buf_addc(b, ')');
    }
}
