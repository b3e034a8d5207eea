#define _GNU_SOURCE
#include "cmd/format-internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "lib/xalloc.h"

/* The template functions: Go's builtins (and, or, not, len, index, slice,
 * print, printf, println, eq, ne, lt, le, gt, ge) and podman's report
 * functions (json, join, lower, upper, title, split, truncate, pad), plus
 * contains, hasPrefix, hasSuffix and trim.  Messages follow Go's; where
 * Go would reject a JSON value only because of static typing (join over
 * []interface{}, a nil string), they are accepted. */

static int fail(char **ret_msg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(char **ret_msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(ret_msg, fmt, ap) < 0)
        abort();
    va_end(ap);
    return -1;
}

static int want_string(json_t *v, const char **s, size_t *n, char **ret_msg)
{
    if (ftmpl_is_nil(v)) {
        *s = "";
        *n = 0;
        return 0;
    }
    if (!json_is_string(v))
        return fail(ret_msg, "wrong type for value; expected string; got %s",
                    ftmpl_type_name(v));
    *s = json_string_value(v);
    *n = json_string_length(v);
    return 0;
}

static int want_int(json_t *v, json_int_t *ret, char **ret_msg)
{
    if (ftmpl_is_nil(v)) {
        *ret = 0;
        return 0;
    }
    if (!json_is_integer(v))
        return fail(ret_msg, "wrong type for value; expected int; got %s",
                    ftmpl_type_name(v));
    *ret = json_integer_value(v);
    return 0;
}

static json_t *str_ret(const char *s, size_t n)
{
    return json_stringn_nocheck(s, n);
}

static json_t *buf_ret(struct ftmpl_buf *b)
{
    size_t n = b->len;
    _cleanup_free_ char *s = ftmpl_buf_take(b);
    return str_ret(s, n);
}

static int fn_not(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n, (void)ret_msg;
    *ret = json_boolean(!ftmpl_truth(a[0]));
    return 0;
}

/* and/or are evaluated lazily by the evaluator; listed for arity. */
static int fn_unused(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)a, (void)n, (void)ret;
    return fail(ret_msg, "internal error");
}

static int fn_len(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    json_t *v = a[0];
    if (ftmpl_is_nil(v)) /* podman's nil maps and slices have length 0 */
        *ret = json_integer(0);
    else if (json_is_string(v))
        *ret = json_integer((json_int_t)json_string_length(v));
    else if (json_is_array(v))
        *ret = json_integer((json_int_t)json_array_size(v));
    else if (json_is_object(v))
        *ret = json_integer((json_int_t)json_object_size(v));
    else
        return fail(ret_msg, "len of type %s", ftmpl_type_name(v));
    return 0;
}

static int index_arg(json_t *idx, size_t len, bool str, size_t *ret,
                     char **ret_msg)
{
    if (ftmpl_is_nil(idx))
        return fail(ret_msg, "cannot index slice/array with nil");
    if (!json_is_integer(idx))
        return fail(ret_msg, "cannot index slice/array with type %s",
                    ftmpl_type_name(idx));
    json_int_t x = json_integer_value(idx);
    if (x < 0 || (size_t)x > len)
        return fail(ret_msg, "index out of range: %" JSON_INTEGER_FORMAT, x);
    /* Go checks against the capacity, then reflect panics at len */
    if ((size_t)x == len)
        return fail(ret_msg, "reflect: %s index out of range",
                    str ? "string" : "slice");
    *ret = (size_t)x;
    return 0;
}

/* podman's label and annotation maps are Go map[string]string: a missing
 * key, or any key of a nil map, indexes to "", not to "no value".  A JSON
 * object of strings only (or null indexed by a string) is taken as one. */
static bool string_map(json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (!json_is_string(v))
            return false;
    }
    return true;
}

static int index_object(json_t *cur, json_t *key, json_t **ret, char **ret_msg)
{
    if (!json_is_string(key))
        return fail(ret_msg, "value has type %s; should be string",
                    ftmpl_type_name(key));
    json_t *v = json_object_get(cur, json_string_value(key));
    if (v)
        *ret = json_incref(v);
    else
        *ret = string_map(cur) ? json_string("") : NULL;
    return 0;
}

static int fn_index(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    json_t *item = a[0] ? json_incref(a[0]) : NULL;
    for (size_t i = 1; i < n; i++) {
        _cleanup_json_ json_t *cur = item;
        size_t x = 0;
        item = NULL;
        if (ftmpl_is_nil(cur) && json_is_string(a[i])) {
            item = json_string("");
        } else if (ftmpl_is_nil(cur)) {
            return fail(ret_msg, i == 1 ? "index of untyped nil"
                                        : "index of nil pointer");
        } else if (json_is_array(cur) || json_is_string(cur)) {
            bool str = json_is_string(cur);
            size_t len = str ? json_string_length(cur) : json_array_size(cur);
            if (index_arg(a[i], len, str, &x, ret_msg) < 0)
                return -1;
            item = str ? json_integer((unsigned char)json_string_value(cur)[x])
                       : json_incref(json_array_get(cur, x));
        } else if (json_is_object(cur)) {
            if (index_object(cur, a[i], &item, ret_msg) < 0)
                return -1;
        } else {
            return fail(ret_msg, "can't index item of type %s",
                        ftmpl_type_name(cur));
        }
    }
    *ret = item;
    return 0;
}

static int slice_index(json_t *v, size_t cap, size_t *ret, char **ret_msg)
{
    if (ftmpl_is_nil(v))
        return fail(ret_msg, "cannot index slice/array with nil");
    if (!json_is_integer(v))
        return fail(ret_msg, "cannot index slice/array with type %s",
                    ftmpl_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < 0 || (size_t)x > cap)
        return fail(ret_msg, "index out of range: %" JSON_INTEGER_FORMAT, x);
    *ret = (size_t)x;
    return 0;
}

static int fn_slice(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    json_t *item = a[0];
    if (ftmpl_is_nil(item))
        return fail(ret_msg, "slice of untyped nil");
    if (n > 4)
        return fail(ret_msg, "too many slice indexes: %zu", n - 1);
    bool str = json_is_string(item);
    if (!str && !json_is_array(item))
        return fail(ret_msg, "can't slice item of type %s",
                    ftmpl_type_name(item));
    if (str && n == 4)
        return fail(ret_msg, "cannot 3-index slice a string");
    size_t len = str ? json_string_length(item) : json_array_size(item);
    size_t idx[3] = {0, len, len};
    for (size_t i = 1; i < n; i++)
        if (slice_index(a[i], len, &idx[i - 1], ret_msg) < 0)
            return -1;
    if (idx[0] > idx[1])
        return fail(ret_msg, "invalid slice index: %zu > %zu", idx[0], idx[1]);
    if (n == 4 && idx[1] > idx[2])
        return fail(ret_msg, "invalid slice index: %zu > %zu", idx[1], idx[2]);
    if (str) {
        *ret = str_ret(json_string_value(item) + idx[0], idx[1] - idx[0]);
        return 0;
    }
    *ret = json_array();
    for (size_t i = idx[0]; i < idx[1]; i++)
        json_array_append(*ret, json_array_get(item, i));
    return 0;
}

enum kind { K_NIL, K_BOOL, K_NUM, K_STRING, K_OTHER };

static enum kind basic_kind(json_t *v)
{
    if (ftmpl_is_nil(v))
        return K_NIL;
    if (json_is_boolean(v))
        return K_BOOL;
    if (json_is_number(v))
        return K_NUM;
    if (json_is_string(v))
        return K_STRING;
    return K_OTHER;
}

/* Integers and reals compare by value: JSON does not keep Go's types. */
static int num_cmp(json_t *a, json_t *b)
{
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return x < y ? -1 : x > y;
    }
    double x = json_number_value(a), y = json_number_value(b);
    return x < y ? -1 : x > y;
}

static int non_comparable(json_t *v, char **ret_msg)
{
    struct ftmpl_buf b = {0};
    ftmpl_sprintf(&b, "%s", 2, &v, 1);
    _cleanup_free_ char *s = ftmpl_buf_take(&b);
    return fail(ret_msg, "non-comparable type %s: %s", s, ftmpl_type_name(v));
}

/* Go's eq: nil, arrays and objects share the "invalid" kind; nil equals
 * only nil, and differing kinds are an error unless one side is nil. */
static int fn_eq(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    if (n < 2)
        return fail(ret_msg, "missing argument for comparison");
    enum kind k1 = basic_kind(a[0]);
    if (k1 == K_OTHER)
        k1 = K_NIL;
    for (size_t i = 1; i < n; i++) {
        enum kind k2 = basic_kind(a[i]);
        bool truth = false;
        if (k2 == K_OTHER)
            k2 = K_NIL;
        if (k1 != k2) {
            if (!ftmpl_is_nil(a[0]) && !ftmpl_is_nil(a[i]))
                return fail(ret_msg, "incompatible types for comparison");
        } else if (k1 == K_NIL) {
            if (!ftmpl_is_nil(a[0]) && !ftmpl_is_nil(a[i]))
                return non_comparable(a[i], ret_msg);
            truth = ftmpl_is_nil(a[0]) && ftmpl_is_nil(a[i]);
        } else if (k1 == K_BOOL) {
            truth = json_is_true(a[0]) == json_is_true(a[i]);
        } else if (k1 == K_NUM) {
            truth = num_cmp(a[0], a[i]) == 0;
        } else {
            truth = json_string_length(a[0]) == json_string_length(a[i]) &&
                    memcmp(json_string_value(a[0]), json_string_value(a[i]),
                           json_string_length(a[0])) == 0;
        }
        if (truth) {
            *ret = json_true();
            return 0;
        }
    }
    *ret = json_false();
    return 0;
}

static int fn_ne(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    json_t *eq = NULL;
    if (fn_eq(a, n, &eq, ret_msg) < 0)
        return -1;
    *ret = json_boolean(!json_is_true(eq));
    json_decref(eq);
    return 0;
}

/* Go's lt: -1 on error, else whether a < b in *ret_lt. */
static int less(json_t *a, json_t *b, bool *ret_lt, char **ret_msg)
{
    enum kind k1 = basic_kind(a), k2 = basic_kind(b);
    if (k1 == K_NIL || k1 == K_OTHER || k2 == K_NIL || k2 == K_OTHER)
        return fail(ret_msg, "invalid type for comparison");
    if (k1 != k2)
        return fail(ret_msg, "incompatible types for comparison");
    if (k1 == K_BOOL)
        return fail(ret_msg, "invalid type for comparison");
    if (k1 == K_NUM) {
        *ret_lt = num_cmp(a, b) < 0;
    } else {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b),
                       la < lb ? la : lb);
        *ret_lt = c < 0 || (c == 0 && la < lb);
    }
    return 0;
}

static int compare(json_t **a, json_t **ret, char **ret_msg, bool swap,
                   bool or_equal)
{
    bool lt = false;
    json_t *x = swap ? a[1] : a[0], *y = swap ? a[0] : a[1];
    if (less(x, y, &lt, ret_msg) < 0)
        return -1;
    if (!lt && or_equal) {
        json_t *eq = NULL;
        if (fn_eq(a, 2, &eq, ret_msg) < 0)
            return -1;
        lt = json_is_true(eq);
        json_decref(eq);
    }
    *ret = json_boolean(lt);
    return 0;
}

static int fn_lt(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return compare(a, ret, ret_msg, false, false);
}

static int fn_le(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return compare(a, ret, ret_msg, false, true);
}

static int fn_gt(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return compare(a, ret, ret_msg, true, false);
}

static int fn_ge(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return compare(a, ret, ret_msg, true, true);
}

static int fn_printf(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    const char *f;
    size_t fl;
    if (want_string(a[0], &f, &fl, ret_msg) < 0)
        return -1;
    struct ftmpl_buf b = {0};
    ftmpl_sprintf(&b, f, fl, a + 1, n - 1);
    *ret = buf_ret(&b);
    return 0;
}

/* fmt.Sprint: a space between operands when neither is a string. */
static int fn_print(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)ret_msg;
    struct ftmpl_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && !json_is_string(a[i]) && !json_is_string(a[i - 1]))
            ftmpl_buf_addc(&b, ' ');
        ftmpl_print_value(&b, a[i], false);
    }
    *ret = buf_ret(&b);
    return 0;
}

static int fn_println(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)ret_msg;
    struct ftmpl_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            ftmpl_buf_addc(&b, ' ');
        ftmpl_print_value(&b, a[i], false);
    }
    ftmpl_buf_addc(&b, '\n');
    *ret = buf_ret(&b);
    return 0;
}

static int fn_json(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n, (void)ret_msg;
    struct ftmpl_buf b = {0};
    ftmpl_json(&b, a[0], NULL);
    *ret = buf_ret(&b);
    return 0;
}

static int fn_join(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    const char *sep;
    size_t sl;
    if (!ftmpl_is_nil(a[0]) && !json_is_array(a[0]))
        return fail(ret_msg, "wrong type for value; expected []string; got %s",
                    ftmpl_type_name(a[0]));
    if (want_string(a[1], &sep, &sl, ret_msg) < 0)
        return -1;
    struct ftmpl_buf b = {0};
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        if (i)
            ftmpl_buf_add(&b, sep, sl);
        ftmpl_print_value(&b, json_array_get(a[0], i), false);
    }
    *ret = buf_ret(&b);
    return 0;
}

static int map_string(json_t *v, json_t **ret, char **ret_msg, int how)
{
    const char *s;
    size_t n;
    if (want_string(v, &s, &n, ret_msg) < 0)
        return -1;
    _cleanup_free_ char *d = xstrndup(s, n);
    bool prev_sep = true;
    for (size_t i = 0; i < n; i++) {
        char c = d[i];
        bool lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if (how == 'l' && upper)
            d[i] = (char)(c - 'A' + 'a');
        else if ((how == 'u' || (how == 't' && prev_sep)) && lower)
            d[i] = (char)(c - 'a' + 'A');
        /* strings.Title: ASCII other than letters, digits and '_' part
         * words */
        prev_sep = (unsigned char)c < 0x80 && !lower && !upper &&
                   !(c >= '0' && c <= '9') && c != '_';
    }
    *ret = str_ret(d, n);
    return 0;
}

static int fn_lower(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return map_string(a[0], ret, ret_msg, 'l');
}

static int fn_upper(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return map_string(a[0], ret, ret_msg, 'u');
}

static int fn_title(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    return map_string(a[0], ret, ret_msg, 't');
}

static int fn_split(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    const char *s, *sep;
    size_t sn, sepn;
    if (want_string(a[0], &s, &sn, ret_msg) < 0 ||
        want_string(a[1], &sep, &sepn, ret_msg) < 0)
        return -1;
    json_t *arr = json_array();
    const char *end = s + sn;
    if (sepn == 0) {
        /* strings.Split(s, "") splits after each UTF-8 sequence */
        while (s < end) {
            size_t l = 1;
            while (s + l < end && ((unsigned char)s[l] & 0xc0) == 0x80)
                l++;
            json_array_append_new(arr, str_ret(s, l));
            s += l;
        }
    } else {
        for (;;) {
            const char *x = memmem(s, (size_t)(end - s), sep, sepn);
            if (x == NULL)
                break;
            json_array_append_new(arr, str_ret(s, (size_t)(x - s)));
            s = x + sepn;
        }
        json_array_append_new(arr, str_ret(s, (size_t)(end - s)));
    }
    *ret = arr;
    return 0;
}

static int fn_truncate(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    const char *s;
    size_t sn;
    json_int_t l;
    if (want_string(a[0], &s, &sn, ret_msg) < 0 ||
        want_int(a[1], &l, ret_msg) < 0)
        return -1;
    if ((json_int_t)sn < l) {
        *ret = str_ret(s, sn);
        return 0;
    }
    if (l < 0)
        return fail(
            ret_msg,
            "runtime error: slice bounds out of range [:%" JSON_INTEGER_FORMAT
            "]",
            l);
    *ret = str_ret(s, (size_t)l);
    return 0;
}

static int fn_pad(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    (void)n;
    const char *s;
    size_t sn;
    json_int_t pre, post;
    if (want_string(a[0], &s, &sn, ret_msg) < 0 ||
        want_int(a[1], &pre, ret_msg) < 0 || want_int(a[2], &post, ret_msg) < 0)
        return -1;
    if (pre < 0 || post < 0)
        return fail(ret_msg, "strings: negative Repeat count");
    struct ftmpl_buf b = {0};
    for (json_int_t i = 0; i < pre; i++)
        ftmpl_buf_addc(&b, ' ');
    ftmpl_buf_add(&b, s, sn);
    for (json_int_t i = 0; i < post; i++)
        ftmpl_buf_addc(&b, ' ');
    *ret = buf_ret(&b);
    return 0;
}

static int two_strings(json_t **a, const char **s, size_t *sn, const char **t,
                       size_t *tn, char **ret_msg)
{
    if (want_string(a[0], s, sn, ret_msg) < 0 ||
        want_string(a[1], t, tn, ret_msg) < 0)
        return -1;
    return 0;
}

static int fn_contains(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    const char *s, *t;
    size_t sn, tn;
    (void)n;
    if (two_strings(a, &s, &sn, &t, &tn, ret_msg) < 0)
        return -1;
    *ret = json_boolean(tn == 0 || memmem(s, sn, t, tn) != NULL);
    return 0;
}

static int fn_has_prefix(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    const char *s, *t;
    size_t sn, tn;
    (void)n;
    if (two_strings(a, &s, &sn, &t, &tn, ret_msg) < 0)
        return -1;
    *ret = json_boolean(sn >= tn && memcmp(s, t, tn) == 0);
    return 0;
}

static int fn_has_suffix(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    const char *s, *t;
    size_t sn, tn;
    (void)n;
    if (two_strings(a, &s, &sn, &t, &tn, ret_msg) < 0)
        return -1;
    *ret = json_boolean(sn >= tn && memcmp(s + sn - tn, t, tn) == 0);
    return 0;
}

static int fn_trim(json_t **a, size_t n, json_t **ret, char **ret_msg)
{
    const char *s;
    size_t sn;
    (void)n;
    if (want_string(a[0], &s, &sn, ret_msg) < 0)
        return -1;
    while (sn > 0 && strchr(" \t\n\v\f\r", *s))
        s++, sn--;
    while (sn > 0 && strchr(" \t\n\v\f\r", s[sn - 1]))
        sn--;
    *ret = str_ret(s, sn);
    return 0;
}

static const struct ftmpl_func funcs[] = {
    {"and", 1, -1, fn_unused},
    {"contains", 2, 2, fn_contains},
    {"eq", 1, -1, fn_eq},
    {"ge", 2, 2, fn_ge},
    {"gt", 2, 2, fn_gt},
    {"hasPrefix", 2, 2, fn_has_prefix},
    {"hasSuffix", 2, 2, fn_has_suffix},
    {"index", 1, -1, fn_index},
    {"join", 2, 2, fn_join},
    {"json", 1, 1, fn_json},
    {"le", 2, 2, fn_le},
    {"len", 1, 1, fn_len},
    {"lower", 1, 1, fn_lower},
    {"lt", 2, 2, fn_lt},
    {"ne", 2, 2, fn_ne},
    {"not", 1, 1, fn_not},
    {"or", 1, -1, fn_unused},
    {"pad", 3, 3, fn_pad},
    {"print", 0, -1, fn_print},
    {"printf", 1, -1, fn_printf},
    {"println", 0, -1, fn_println},
    {"slice", 1, -1, fn_slice},
    {"split", 2, 2, fn_split},
    {"title", 1, 1, fn_title},
    {"trim", 1, 1, fn_trim},
    {"truncate", 2, 2, fn_truncate},
    {"upper", 1, 1, fn_upper},
};

const struct ftmpl_func *ftmpl_func_find(const char *name)
{
    for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++)
        if (strcmp(funcs[i].name, name) == 0)
            return &funcs[i];
    return NULL;
}
