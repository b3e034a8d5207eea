/* The --format engine shared by every listing and inspect command: a
 * subset of Go's text/template evaluated over a jansson value, plus the
 * tab-aligned table writer podman uses (text/tabwriter with minwidth 12,
 * tabwidth 2, padding 2, padchar ' ').
 *
 * Template language: text and actions {{ ... }} with "{{-" / "-}}" trim;
 * pipelines of commands separated by "|"; fields .A.B (on objects; a
 * missing key gives "<no value>" like Go's map lookup), "." and "$";
 * variables $x := pipeline; string, number and bool literals; functions
 * json, join, index, lower, upper, title, len, printf (%s %d %v %q), split,
 * truncate, eq, ne, lt, le, gt, ge, and, or, not, contains, hasPrefix,
 * hasSuffix, trim; {{range PIPE}}..{{else}}..{{end}} over arrays and
 * objects (sorted keys), {{range $i, $v := PIPE}}, {{if}}/{{else if}}/
 * {{else}}/{{end}}, {{with}}..{{end}}.  A leading "table " makes it a table
 * whose header row is derived from the fields used.  Printing a value:
 * strings raw, numbers as Go prints them, arrays as [a b], objects as
 * map[k:v ...], null as <no value>; "\t" and "\n" escapes in the template
 * text are turned into tab and newline as podman does. */
#ifndef BERTH_CMD_FORMAT_H
#define BERTH_CMD_FORMAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "lib/error.h"

struct format_tmpl;

/* Errors name the position as Go does: parse errors the line
 * ("template: :1: unexpected \"}\" in operand"), execution errors line and
 * column ("template: :1:2: executing \"\" at <index .Names 5>: ..."). */
int format_parse(const char *text, struct format_tmpl **ret,
                 berth_error_t *err);
void format_free(struct format_tmpl *t);
bool format_is_table(const struct format_tmpl *t);
/* Render for one value; *ret is malloc'd.  Runtime errors (index out of
 * range, wrong types for a function) fail naming the function. */
int format_exec(const struct format_tmpl *t, json_t *value, char **ret,
                berth_error_t *err);
/* Header line for a table template: each {{.Field}} action's column gets
 * its header from `headers` (pairs "Field", "HEADER", ..., NULL) or, when
 * not listed, the field name split at case changes and upper-cased
 * ("CreatedAt" -> "CREATED AT"); text between actions is kept (tabs).
 * Returns a malloc'd row without trailing newline. */
char *format_table_header(const struct format_tmpl *t,
                          const char *const *headers);

/* Tab-aligned output (Go's text/tabwriter semantics with podman's
 * parameters): cells are separated by '\t'; each column is padded to the
 * widest cell + 2, at least 12; the last cell of a line is not padded. */
struct tabwriter;
struct tabwriter *tabwriter_new(void);
/* Add text (may hold several lines and tabs). */
void tabwriter_write(struct tabwriter *tw, const char *text);
/* Write everything to out and free. */
void tabwriter_flush(struct tabwriter *tw, FILE *out);

/* The common case for list commands: given the user's --format (or NULL
 * for the default table template `dflt`), print every element of the
 * array `items`.  "json" prints the array as indented JSON.  Table
 * templates print a header row unless `noheading`.  Non-table templates
 * print one rendered line per item. */
int format_print_list(const char *format, const char *dflt,
                      const char *const *headers, json_t *items,
                      bool noheading, FILE *out, berth_error_t *err);

#endif
