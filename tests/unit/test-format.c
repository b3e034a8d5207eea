#define _GNU_SOURCE
#include "cmd/format.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cleanup.h"
#include "tests/unit/tap.h"

/* Expected strings were checked against Go 1.19's text/template and
 * text/tabwriter (the code podman runs), except where a comment says
 * berth differs on purpose. */

static const char *doc =
    "{\"ID\":\"f1e2d3\",\"Names\":[\"web\",\"db\"],\"Size\":1000000,"
    "\"Ratio\":1.5,\"Big\":1000000.0,\"Tiny\":1e-7,\"Dangling\":false,"
    "\"Labels\":{\"b\":\"2\",\"a\":\"1\"},\"Empty\":[],\"Null\":null,"
    "\"Config\":{\"Env\":[\"PATH=/bin\",\"X=1\"],\"User\":\"\"},"
    "\"Mixed\":[1,\"x\",null,{\"k\":true}],\"S\":\"Hello World\"}";

static json_t *load(const char *json)
{
    json_error_t je;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
    if (j == NULL)
        fprintf(stderr, "# bad test json: %s\n", je.text);
    return j;
}

/* Render tmpl over json; compare with want, or with the error message
 * when want_err. */
static int check(const char *tmpl, const char *json, const char *want,
                 bool want_err)
{
    struct format_tmpl *t = NULL;
    berth_error_t err = NULL;
    _cleanup_free_ char *out = NULL;
    _cleanup_json_ json_t *data = json ? load(json) : NULL;
    int r = format_parse(tmpl, &t, &err);
    if (r == 0) {
        r = format_exec(t, data, &out, &err);
        format_free(t);
    }
    const char *got = r < 0 ? err->msg : out;
    int ok = (r < 0) == want_err && strcmp(got, want) == 0;
    if (!ok)
        fprintf(stderr, "# template %s\n#   got %s: '%s'\n#  want %s: '%s'\n",
                tmpl, r < 0 ? "error" : "output", got,
                want_err ? "error" : "output", want);
    berth_error_free(&err);
    return ok ? 0 : -1;
}

#define OUT(tmpl, want) TAP_CHECK(check(tmpl, doc, want, false) == 0)
#define ERR(tmpl, want) TAP_CHECK(check(tmpl, doc, want, true) == 0)

static int test_fields_and_printing(void)
{
    OUT("{{.ID}}", "f1e2d3");
    OUT("id={{.ID}} {{.Dangling}}", "id=f1e2d3 false");
    OUT("{{.Size}} {{.Ratio}} {{.Big}} {{.Tiny}}", "1000000 1.5 1e+06 1e-07");
    OUT("{{.Names}}", "[web db]");
    OUT("{{.Labels}}", "map[a:1 b:2]");
    OUT("{{.Mixed}}", "[1 x <nil> map[k:true]]");
    OUT("{{.Empty}}|{{.Null}}|{{.Missing}}|{{.Missing.Deeper}}",
        "[]|<no value>|<no value>|<no value>");
    OUT("{{.Config.Env}} [{{.Config.User}}]", "[PATH=/bin X=1] []");
    OUT("{{1.0}} {{1e6}} {{0x10}} {{-2}} {{123456.0}} {{0.00001}} {{'a'}}",
        "1 1e+06 16 -2 123456 1e-05 97");
    OUT("{{true}} {{\"s\"}} {{`r\\n`}} {{\"\\x41\\u00e9\"}}", "true s r\\n Aé");
    TAP_CHECK(check("{{.}}", "\"just a string\"", "just a string", false) == 0);
    TAP_CHECK(check("{{.}}", "[1,2.5]", "[1 2.5]", false) == 0);
    TAP_CHECK(check("{{.X}}", "null", "<no value>", false) == 0);
    return 0;
}

static int test_escapes_trim_comments(void)
{
    /* podman turns a typed \t and \n into tab and newline */
    OUT("{{.ID}}\\t{{.Size}}\\n", "f1e2d3\t1000000\n");
    /* but not inside quoted literals, which Go unescapes itself */
    OUT("{{join .Names \"\\n\"}}", "web\ndb");
    OUT("a  {{- .ID -}}  b", "af1e2d3b");
    OUT("{{- /* a comment */ -}} x {{/* another */}}", "x ");
    OUT("{{.ID -}}\n\n  {{- .ID}}", "f1e2d3f1e2d3");
    OUT("{{-3}}", "-3");
    return 0;
}

static int test_control(void)
{
    OUT("{{range .Names}}{{.}} {{end}}", "web db ");
    OUT("{{range $i, $n := .Names}}{{$i}}={{$n}},{{end}}", "0=web,1=db,");
    OUT("{{range $k, $v := .Labels}}{{$k}}:{{$v}};{{end}}", "a:1;b:2;");
    OUT("{{range .Empty}}x{{else}}none{{end}}", "none");
    OUT("{{range .Null}}x{{else}}nil{{end}}", "nil");
    OUT("{{range .Mixed}}{{if not .}}{{break}}{{end}}{{.}},{{end}}", "1,x,");
    OUT("{{range .Mixed}}{{if eq (printf \"%v\" .) \"x\"}}{{continue}}{{end}}"
        "{{.}},{{end}}",
        "1,<no value>,map[k:true],");
    OUT("{{if .Dangling}}x{{else}}y{{end}}", "y");
    OUT("{{if .Null}}a{{else if .Names}}b{{else}}c{{end}}", "b");
    OUT("{{if and .Names .Missing}}a{{else if or .Null 0}}b{{else}}c{{end}}",
        "c");
    OUT("{{with .Config}}{{.Env}}{{end}}", "[PATH=/bin X=1]");
    OUT("{{with .Config.User}}set{{else}}unset{{end}}", "unset");
    OUT("{{$x := .ID}}{{$x}} {{$x = \"other\"}}{{$x}} {{$.ID}}",
        "f1e2d3 other f1e2d3");
    OUT("{{with $c := .Config}}{{$c.Env}}{{end}}", "[PATH=/bin X=1]");
    OUT("{{range .Names}}{{$.ID}}/{{.}} {{end}}", "f1e2d3/web f1e2d3/db ");
    /* and/or stop at the deciding argument: index is never called */
    OUT("{{or .ID (index .Names 99)}} {{and .Null (index .Names 99)}}",
        "f1e2d3 <no value>");
    return 0;
}

static int test_functions(void)
{
    OUT("{{index .Names 1}} {{index .Labels \"a\"}} {{index .Config \"zz\"}}",
        "db 1 <no value>");
    /* as podman's map[string]string labels: a missing key or a nil map
     * gives "" */
    OUT("[{{index .Labels \"zz\"}}] [{{index .Null \"k\"}}] {{len .Null}}",
        "[] [] 0");
    ERR("{{index .Null 0}}", "template: :1:2: executing \"\" at <index .Null "
                             "0>: error calling index: index of untyped nil");
    OUT("{{index .Mixed 3 \"k\"}} {{index .S 0}}", "true 72");
    OUT("{{join .Names \",\"}} {{join .Mixed \"\"}}",
        "web,db 1x<nil>map[k:true]");
    /* the piped value comes last, so this is join "+" .Names, which Go
     * rejects too */
    ERR("{{.Names | join \"+\"}}",
        "template: :1:11: executing \"\" at <join \"+\">: error calling join: "
        "wrong type for value; expected []string; got string");
    OUT("{{lower .S}} {{upper .S}} {{title \"hello big_world x-y\"}}",
        "hello world HELLO WORLD Hello Big_world X-Y");
    OUT("{{split \"a:b::c\" \":\"}} {{len (split \"\" \",\")}}", "[a b  c] 1");
    OUT("{{truncate .ID 3}} {{truncate .ID 99}} [{{pad \"x\" 1 2}}]",
        "f1e f1e2d3 [ x  ]");
    OUT("{{contains .S \"lo W\"}} {{hasPrefix .S \"He\"}} "
        "{{hasSuffix .S \"x\"}} [{{trim \"  a b \\n\"}}]",
        "true true false [a b]");
    OUT("{{len .S}} {{len .Names}} {{len .Labels}}", "11 2 2");
    OUT("{{slice .ID 0 3}} {{slice .Names 1}}", "f1e [db]");
    OUT("{{eq .ID \"f1e2d3\"}} {{eq 1 2 1}} {{ne .Size 5}} {{lt 1 2.5}} "
        "{{le \"a\" \"a\"}} {{gt 2 1}} {{ge 1 2}} {{eq .Null nil}}",
        "true true true true true true false true");
    OUT("{{not .Dangling}} {{not .Names}} {{not \"\"}}", "true false true");
    OUT("{{print 1 2 \"a\" \"b\" 3}}|{{println 1 \"a\"}}", "1 2ab3|1 a\n");
    return 0;
}

static int test_printf(void)
{
    OUT("{{printf \"%s|%d|%v|%q|%5.2f|%-4s|%x\" .ID .Size .Names .ID .Ratio "
        "\"ab\" \"hi\"}}",
        "f1e2d3|1000000|[web db]|\"f1e2d3\"| 1.50|ab  |6869");
    OUT("{{printf \"%05d|%+d|%x|%X|%o|%b|%c|%U|%t|%T\" 42 42 255 255 8 5 65 "
        "65 true .Names}}",
        "00042|+42|ff|FF|10|101|A|U+0041|true|[]interface {}");
    OUT("{{printf \"%e|%g|%.2s|%*d|%%\" 1234.5678 0.000012 \"héllo\" 4 7}}",
        "1.234568e+03|1.2e-05|hé|   7|%");
    OUT("{{printf \"%d %s\" \"x\" .Null}}", "%!d(string=x) %!s(<nil>)");
    OUT("{{printf \"%d %d\" 1}}", "1 %!d(MISSING)");
    OUT("{{printf \"%d\" 1 \"x\"}}", "1%!(EXTRA string=x)");
    OUT("{{printf \"%v\" .Labels}} {{printf \"%s\" .Mixed}}",
        "map[a:1 b:2] [%!s(int=1) x <nil> map[k:%!s(bool=true)]]");
    OUT("{{.ID | printf \"<%s>\"}}", "<f1e2d3>");
    return 0;
}

static int test_json(void)
{
    /* compact, objects in their stored order (podman's structs keep field
     * order), no HTML escaping */
    OUT("{{json .Labels}} {{json .Names}} {{json .Null}} {{json .Missing}}",
        "{\"b\":\"2\",\"a\":\"1\"} [\"web\",\"db\"] null null");
    OUT("{{json .Ratio}} {{json .Big}} {{json .Tiny}} {{json 1e21}}",
        "1.5 1000000 1e-7 1e+21");
    TAP_CHECK(check("{{json .}}",
                    "{\"s\":\"<a&b>\\\"\\\\\\n\\u0001\\u2028é\",\"e\":{}}",
                    "{\"s\":\"<a&b>\\\"\\\\\\n\\u0001\\u2028é\",\"e\":{}}",
                    false) == 0);
    return 0;
}

static int test_parse_errors(void)
{
    ERR("{{ .ID }", "template: :1: unexpected \"}\" in operand");
    ERR("{{.ID}", "template: :1: bad character U+007D '}'");
    ERR("{{.ID", "template: :1: unclosed action");
    ERR("a\n{{.ID\n\n", "template: :4: unclosed action started at :2");
    ERR("{{foo .ID}}", "template: :1: function \"foo\" not defined");
    ERR("{{if .ID}}x", "template: :1: unexpected EOF");
    ERR("x\ny{{end}}", "template: :2: unexpected {{end}}");
    ERR("{{else}}", "template: :1: unexpected {{else}}");
    ERR("{{if 1}}{{else}}{{else}}{{end}}",
        "template: :1: expected end; found {{else}}");
    ERR("{{}}", "template: :1: missing value for command");
    ERR("{{range}}{{end}}", "template: :1: missing value for range");
    ERR("{{$x}}", "template: :1: undefined variable \"$x\"");
    ERR("{{3x}}", "template: :1: bad number syntax: \"3x\"");
    ERR("{{\"abc}}", "template: :1: unterminated quoted string");
    ERR("{{break}}", "template: :1: {{break}} outside {{range}}");
    ERR("{{.ID | 1}}",
        "template: :1: non executable command in pipeline stage 2");
    ERR("{{\"a\".B}}", "template: :1: unexpected . after term \"\\\"a\\\"\"");
    ERR("{{)}}", "template: :1: unexpected \")\" in command");
    ERR("{{(.ID}}", "template: :1: unclosed left paren");
    ERR("{{range $i, $j, $k := .Names}}{{end}}",
        "template: :1: too many declarations in range");
    ERR("{{\"0123456789abc\" | 1}}",
        "template: :1: non executable command in pipeline stage 2");
    ERR("{{.ID \"0123456789abc\"x}}",
        "template: :1: unexpected \"x\" in operand");
    return 0;
}

static int test_exec_errors(void)
{
    ERR("{{index .Names 5}}", "template: :1:2: executing \"\" at <index .Names "
                              "5>: error calling index: index out of range: 5");
    ERR("{{.S.X}}", "template: :1:4: executing \"\" at <.S.X>: can't evaluate "
                    "field X in type interface {}");
    ERR("a\n  {{.Null.X}}", "template: :2:9: executing \"\" at <.Null.X>: nil "
                            "pointer evaluating interface {}.X");
    ERR("{{join .Names}}", "template: :1:2: executing \"\" at <join>: wrong "
                           "number of args for join: want 2 got 1");
    ERR("{{len 3}}", "template: :1:2: executing \"\" at <len 3>: error calling "
                     "len: len of type int");
    ERR("{{range .S}}{{end}}", "template: :1:8: executing \"\" at <.S>: range "
                               "can't iterate over Hello World");
    ERR("{{lower .Size}}", "template: :1:2: executing \"\" at <lower .Size>: "
                           "error calling lower: wrong type for value; "
                           "expected string; got int");
    ERR("{{eq .S 1}}", "template: :1:2: executing \"\" at <eq .S 1>: error "
                       "calling eq: incompatible types for comparison");
    ERR("{{.ID 1}}", "template: :1:2: executing \"\" at <.ID>: ID is not a "
                     "method but has arguments");
    ERR("{{\"x\" 1}}", "template: :1:2: executing \"\" at <\"x\">: can't give "
                       "argument to non-function \"x\"");
    /* a range element is an interface {} to Go */
    ERR("{{range .Names}}{{.X}}{{end}}",
        "template: :1:18: executing \"\" at <.X>: can't evaluate field X in "
        "type interface {}");
    ERR("{{(.Names).X}}", "template: :1:3: executing \"\" at <.Names>: can't "
                          "evaluate field X in type []interface {}");
    return 0;
}

static char *tab(const char *text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct tabwriter *tw = tabwriter_new();
    tabwriter_write(tw, text);
    tabwriter_flush(tw, f);
    fclose(f);
    return buf;
}

#define TAB(in, want)                                                          \
    do {                                                                       \
        _cleanup_free_ char *_o = tab(in);                                     \
        TAP_STREQ(_o, want);                                                   \
    } while (0)

static int test_tabwriter(void)
{
    /* minimum width 12, else widest cell + 2; last cell unpadded */
    TAB("REPOSITORY\tTAG\tIMAGE ID\nalpine\tlatest\tabc\n"
        "docker.io/library/busybox\t1.36\tdef\n",
        "REPOSITORY                 TAG         IMAGE ID\n"
        "alpine                     latest      abc\n"
        "docker.io/library/busybox  1.36        def\n");
    /* a tab-terminated cell before an empty last cell is padded */
    TAB("a\tb\t\nccccccccccccccccc\td\t\n",
        "a                  b           \nccccccccccccccccc  d           \n");
    /* widths are per block of consecutive lines having the column: line 2
     * ends column 1's first block */
    TAB("a\tbbbbbbbbbbbbbbbbb\tc\n1\t2\n3\t4\t5\n",
        "a           bbbbbbbbbbbbbbbbb  c\n1           2\n"
        "3           4           5\n");
    /* a line without tabs ends every block */
    TAB("a\tb\tc\nxxxxxxxxxxxxxxxxxxxxx\ty\tz\nq\n1\t2\t3\n",
        "a                      b           c\nxxxxxxxxxxxxxxxxxxxxx  y      "
        "     z\nq\n1           2           3\n");
    /* width counts runes, not bytes */
    TAB("ID\tNAMES\n12345\théllo wörld\tx\n",
        "ID          NAMES\n12345       héllo wörld  x\n");
    TAB("x\ty\n\tz\n", "x           y\n            z\n");
    TAB("no tabs\nat all", "no tabs\nat all");
    TAB("a\tb", "a           b");
    TAB("", "");
    /* several writes make one table */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct tabwriter *tw = tabwriter_new();
    tabwriter_write(tw, "a\t");
    tabwriter_write(tw, "b\nlonger-than-twelve");
    tabwriter_write(tw, "\tc\n");
    tabwriter_flush(tw, f);
    fclose(f);
    _cleanup_free_ char *o = buf;
    TAP_STREQ(o, "a                   b\nlonger-than-twelve  c\n");
    return 0;
}

static int check_header(const char *tmpl, const char *const *headers,
                        const char *want)
{
    struct format_tmpl *t = NULL;
    berth_error_t err = NULL;
    if (format_parse(tmpl, &t, &err) < 0) {
        fprintf(stderr, "# %s\n", err->msg);
        berth_error_free(&err);
        return -1;
    }
    _cleanup_free_ char *h = format_table_header(t, headers);
    bool table = format_is_table(t);
    format_free(t);
    if (!table || strcmp(h, want) != 0) {
        fprintf(stderr, "# header of %s: '%s' (table %d), want '%s'\n", tmpl, h,
                table, want);
        return -1;
    }
    return 0;
}

static int test_table_header(void)
{
    static const char *const h[] = {"ID", "IMAGE ID", NULL};
    TAP_CHECK(check_header("table {{.ID}}\t{{.Repository}}", h,
                           "IMAGE ID\tREPOSITORY") == 0);
    TAP_CHECK(check_header("table {{.ID}}\\t{{.CreatedAt}}\\n", h,
                           "IMAGE ID\tCREATED AT") == 0);
    TAP_CHECK(check_header("table {{.Config.Env}} {{json .Labels}} "
                           "{{.Names | join \",\"}} {{\"x\"}}|{{.IPAddress}}",
                           NULL, "ENV LABELS NAMES |IP ADDRESS") == 0);
    TAP_CHECK(check_header("table ID: {{if .Dangling}}x{{end}} {{$.Size2}}",
                           NULL, "ID: DANGLING SIZE 2") == 0);
    struct format_tmpl *t = NULL;
    berth_error_t err = NULL;
    TAP_CHECK(format_parse("{{.ID}}", &t, &err) == 0);
    bool table = format_is_table(t);
    format_free(t);
    TAP_CHECK(!table);
    return 0;
}

static char *print_list(const char *format, const char *dflt, const char *json,
                        bool noheading, int *ret, char **ret_err)
{
    static const char *const h[] = {"ID", "IMAGE ID", NULL};
    char *buf = NULL;
    size_t len = 0;
    berth_error_t err = NULL;
    _cleanup_json_ json_t *items = load(json);
    FILE *f = open_memstream(&buf, &len);
    *ret = format_print_list(format, dflt, h, items, noheading, f, &err);
    fclose(f);
    *ret_err = err ? strdup(err->msg) : NULL;
    berth_error_free(&err);
    return buf;
}

#define LIST(fmt, dflt, noheading, want)                                       \
    do {                                                                       \
        int _r;                                                                \
        _cleanup_free_ char *_e = NULL;                                        \
        _cleanup_free_ char *_o =                                              \
            print_list(fmt, dflt, items, noheading, &_r, &_e);                 \
        TAP_CHECK(_r == 0);                                                    \
        TAP_STREQ(_o, want);                                                   \
    } while (0)

static int test_print_list(void)
{
    const char *items = "[{\"ID\":\"abc\",\"Repository\":\"alpine\",\"N\":1},"
                        "{\"ID\":\"def\",\"Repository\":\"docker.io/library/"
                        "busybox\",\"N\":2.5}]";
    const char *dflt = "table {{.Repository}}\t{{.ID}}";
    LIST(NULL, dflt, false,
         "REPOSITORY                 IMAGE ID\nalpine                     abc\n"
         "docker.io/library/busybox  def\n");
    LIST("table", dflt, true,
         "alpine                     abc\ndocker.io/library/busybox  def\n");
    LIST("table {{.ID}}\\t{{.N}}", dflt, false,
         "IMAGE ID    N\nabc         1\ndef         2.5\n");
    /* not a table: no header, one line per item, tabs still aligned */
    LIST("{{.ID}}", dflt, false, "abc\ndef\n");
    LIST("{{.ID}}\\n", dflt, false, "abc\ndef\n");
    LIST("{{.ID}}\\t{{.Repository}}", dflt, false,
         "abc         alpine\ndef         docker.io/library/busybox\n");
    const char *json = "[\n    {\n        \"ID\": \"abc\",\n        "
                       "\"Repository\": \"alpine\",\n        \"N\": 1\n    },"
                       "\n    {\n        \"ID\": \"def\",\n        "
                       "\"Repository\": \"docker.io/library/busybox\",\n     "
                       "   \"N\": 2.5\n    }\n]\n";
    LIST("json", dflt, false, json);
    /* podman's report.IsJSON takes "{{json .}}" as "json" for lists */
    LIST("{{ json . }}", dflt, false, json);
    LIST(" {{json}}\n", dflt, false, json);
    LIST("{{json .ID}}", dflt, false, "\"abc\"\n\"def\"\n");
    items = "[]";
    LIST("json", dflt, false, "[]\n");
    LIST(NULL, dflt, false, "REPOSITORY  IMAGE ID\n");

    /* a failing row: earlier rows are shown, the error names the spot */
    int r;
    _cleanup_free_ char *e = NULL;
    _cleanup_free_ char *o = print_list(
        "{{.ID}} {{index .L 0}}", NULL,
        "[{\"ID\":\"a\",\"L\":[1]},{\"ID\":\"b\",\"L\":[]}]", false, &r, &e);
    TAP_CHECK(r == -1);
    TAP_STREQ(o, "a 1\n");
    TAP_STREQ(e, "template: :1:10: executing \"\" at <index .L 0>: error "
                 "calling index: reflect: slice index out of range");
    free(e);
    e = NULL;
    free(o);
    o = print_list("{{.ID", NULL, "[]", false, &r, &e);
    TAP_CHECK(r == -1);
    TAP_STREQ(o, "");
    TAP_STREQ(e, "template: :1: unclosed action");
    return 0;
}

TAP_MAIN({"fields and printing", test_fields_and_printing},
         {"escapes, trim markers, comments", test_escapes_trim_comments},
         {"range, if, with, variables", test_control},
         {"functions", test_functions}, {"printf", test_printf},
         {"json", test_json}, {"parse errors", test_parse_errors},
         {"execution errors", test_exec_errors}, {"tabwriter", test_tabwriter},
         {"table header", test_table_header}, {"print list", test_print_list})
