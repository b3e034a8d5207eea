#define _GNU_SOURCE
#include "cmd/format.h"

#include <stdlib.h>
#include <string.h>

#include "cmd/format-internal.h"
#include "lib/xalloc.h"

/* A port of Go's text/tabwriter with podman's settings (minwidth 12,
 * tabwidth 2, padding 2, padchar ' ', no flags).  Columns are aligned
 * per block of consecutive lines that have a cell in that column, not
 * per table, and a line's last cell is never padded; podman's output
 * (and scripts cutting it by position) depend on both rules. */

enum { TW_MINWIDTH = 12, TW_PADDING = 2 };

struct tw_cell {
    size_t size;  /* bytes of text in buf */
    size_t width; /* runes */
    bool htab;    /* terminated by a tab, not the end of the line */
};

struct tw_line {
    struct tw_cell *cells;
    size_t n, cap;
};

struct tabwriter {
    struct ftmpl_buf buf; /* cell texts without their terminators */
    struct ftmpl_buf out; /* formatted text of flushed lines */
    struct tw_line *lines;
    size_t nlines, lines_cap;
    struct tw_cell cell; /* the cell being filled */
    size_t *widths;      /* column widths of the enclosing blocks */
    size_t nwidths, widths_cap;
};

static void tw_add_line(struct tabwriter *tw)
{
    if (tw->nlines == tw->lines_cap) {
        tw->lines_cap = tw->lines_cap ? 2 * tw->lines_cap : 16;
        tw->lines = xrealloc(tw->lines, tw->lines_cap * sizeof *tw->lines);
    }
    tw->lines[tw->nlines++] = (struct tw_line){0};
}

struct tabwriter *tabwriter_new(void)
{
    struct tabwriter *tw = xcalloc(1, sizeof *tw);
    tw_add_line(tw);
    return tw;
}

static size_t tw_terminate_cell(struct tabwriter *tw, bool htab)
{
    struct tw_line *l = &tw->lines[tw->nlines - 1];
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->cells = xrealloc(l->cells, l->cap * sizeof *l->cells);
    }
    tw->cell.htab = htab;
    l->cells[l->n++] = tw->cell;
    tw->cell = (struct tw_cell){0};
    return l->n;
}

static void tw_pad(struct tabwriter *tw, size_t textw, size_t cellw)
{
    for (size_t i = textw; i < cellw; i++)
        ftmpl_buf_addc(&tw->out, ' ');
}

static size_t tw_write_lines(struct tabwriter *tw, size_t pos, size_t line0,
                             size_t line1)
{
    for (size_t i = line0; i < line1; i++) {
        const struct tw_line *l = &tw->lines[i];
        for (size_t j = 0; j < l->n; j++) {
            const struct tw_cell *c = &l->cells[j];
            if (c->size > 0) {
                ftmpl_buf_add(&tw->out, tw->buf.s + pos, c->size);
                pos += c->size;
            }
            if (j < tw->nwidths)
                tw_pad(tw, c->width, tw->widths[j]);
        }
        if (i + 1 == tw->nlines) {
            /* the unterminated last line: only its pending cell text */
            ftmpl_buf_add(&tw->out, tw->buf.s ? tw->buf.s + pos : "",
                          tw->cell.size);
            pos += tw->cell.size;
        } else {
            ftmpl_buf_addc(&tw->out, '\n');
        }
    }
    return pos;
}

static void tw_push_width(struct tabwriter *tw, size_t w)
{
    if (tw->nwidths == tw->widths_cap) {
        tw->widths_cap = tw->widths_cap ? 2 * tw->widths_cap : 8;
        tw->widths = xrealloc(tw->widths, tw->widths_cap * sizeof *tw->widths);
    }
    tw->widths[tw->nwidths++] = w;
}

/* Go's Writer.format: lines line0..line1 whose column `nwidths` exists
 * form blocks; each block's width is computed, then the columns to its
 * right are formatted within the block, recursively. */
static size_t tw_format(struct tabwriter *tw, size_t pos, size_t line0,
                        size_t line1)
{
    size_t column = tw->nwidths;
    for (size_t this = line0; this < line1; this ++) {
        if (column + 1 >= tw->lines[this].n)
            continue;
        pos = tw_write_lines(tw, pos, line0, this);
        line0 = this;
        size_t width = TW_MINWIDTH;
        for (; this < line1; this ++) {
            const struct tw_line *l = &tw->lines[this];
            if (column + 1 >= l->n)
                break;
            size_t w = l->cells[column].width + TW_PADDING;
            if (w > width)
                width = w;
        }
        tw_push_width(tw, width);
        pos = tw_format(tw, pos, line0, this);
        tw->nwidths--;
        line0 = this;
        if (this == line1)
            break;
    }
    return tw_write_lines(tw, pos, line0, line1);
}

static void tw_reset(struct tabwriter *tw)
{
    for (size_t i = 0; i < tw->nlines; i++)
        free(tw->lines[i].cells);
    tw->nlines = 0;
    tw->buf.len = 0;
    tw->cell = (struct tw_cell){0};
    tw_add_line(tw);
}

static void tw_flush_internal(struct tabwriter *tw)
{
    if (tw->cell.size > 0)
        tw_terminate_cell(tw, false);
    tw_format(tw, 0, 0, tw->nlines);
    tw_reset(tw);
}

static void tw_append(struct tabwriter *tw, const char *s, size_t n)
{
    ftmpl_buf_add(&tw->buf, s, n);
    tw->cell.size += n;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            tw->cell.width++;
}

void tabwriter_write(struct tabwriter *tw, const char *text)
{
    const char *start = text;
    for (const char *p = text; *p; p++) {
        char ch = *p;
        if (ch != '\t' && ch != '\v' && ch != '\n' && ch != '\f')
            continue;
        tw_append(tw, start, (size_t)(p - start));
        start = p + 1;
        size_t ncells = tw_terminate_cell(tw, ch == '\t');
        if (ch == '\n' || ch == '\f') {
            tw_add_line(tw);
            /* a line of one cell cannot affect the alignment of later
             * lines, so Go flushes there */
            if (ch == '\f' || ncells == 1)
                tw_flush_internal(tw);
        }
    }
    tw_append(tw, start, strlen(start));
}

void tabwriter_flush(struct tabwriter *tw, FILE *out)
{
    tw_flush_internal(tw);
    if (tw->out.len)
        fwrite(tw->out.s, 1, tw->out.len, out);
    for (size_t i = 0; i < tw->nlines; i++)
        free(tw->lines[i].cells);
    free(tw->lines);
    free(tw->widths);
    free(tw->buf.s);
    free(tw->out.s);
    free(tw);
}
