/*
 * csv.c - reading data sets from CSV text: RFC 4180 records (quoted fields
 * with doubled quotes, embedded commas and newlines; CRLF or LF; a UTF-8
 * byte-order mark), then the choice of header, label and feature columns.
 *
 * Reading happens in three steps:
 *   1. tokenise the whole text into records of fields, noting the physical
 *      line where each record starts (quoted newlines make records span
 *      lines);
 *   2. classify every cell as a number, missing (empty, NA, NaN) or text,
 *      and from that decide whether the first record is a header (a field
 *      that is not a number over a column that is numeric below it) and
 *      which columns are features and which is the label;
 *   3. fill the data set, mapping label text to ids in order of first
 *      appearance.
 * The first problem found is an error FILE:LINE:COLUMN (name) with what is
 * wrong and what was expected; no row is ever skipped silently (rows with a
 * missing value are dropped only when asked, and counted).
 *
 * Numbers follow a locale-independent grammar: [+-] digits [. digits]
 * [(e|E) [+-] digits]. inf, nan, hex floats and values beyond float range
 * are not numbers.
 */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest number text accepted; longer fields are reported, not cut. */
#define MAX_NUMBER_TEXT 96

/* ------------------------------------------------------------- tokenising */

typedef struct field {
    size_t off, len; /* the decoded text, in the tokeniser's store */
    int quoted;
} field;

typedef struct record {
    size_t first, count; /* fields[first .. first + count) */
    long line;           /* physical line where the record starts, 1-based */
} record;

typedef struct table {
    char *store;     /* decoded field text, NUL after each field */
    size_t used;
    field *fields;
    size_t n_fields, cap_fields;
    record *records;
    size_t n_records, cap_records;
} table;

static void table_free(table *t)
{
    ac_free(t->store);
    ac_free(t->fields);
    ac_free(t->records);
}

/* Grows an array of `size`-byte items to hold one more. */
static int grow(void **items, size_t *cap, size_t count, size_t size)
{
    if (count < *cap)
        return 1;
    size_t ncap = *cap ? *cap * 2 : 64;
    if (ncap > SIZE_MAX / size)
        return 0;
    void *bigger = ac_alloc(ncap * size);
    if (!bigger)
        return 0;
    if (count)
        memcpy(bigger, *items, count * size);
    ac_free(*items);
    *items = bigger;
    *cap = ncap;
    return 1;
}

static const char *field_text(const table *t, const field *f)
{
    return t->store + f->off;
}

static ac_status tokenise(const char *text, size_t length, const char *src, table *t,
                          ac_error *err)
{
    memset(t, 0, sizeof *t);
    /* Limits first, before allocating for the text: the longest physical
     * line, and the fields of the first line. Decoded text is never longer
     * than the source, plus a NUL per field. */
    size_t fields_max = 1, line_start = 0, first_fields = 1;
    long line_no = 1;
    for (size_t i = 0; i <= length; i++) {
        if (i == length || text[i] == '\n') {
            if (i - line_start > AC_CSV_MAX_LINE)
                return ac_set_error(err, AC_ERR_DATA, src, line_no, 0,
                                    "a line of %zu bytes (expected at most %d: the line limit)",
                                    i - line_start, AC_CSV_MAX_LINE);
            line_start = i + 1;
            line_no++;
        }
        if (i < length) {
            fields_max += text[i] == ',' || text[i] == '\n';
            first_fields += line_no == 1 && text[i] == ',';
        }
    }
    if (first_fields > AC_CSV_MAX_COLUMNS)
        return ac_set_error(err, AC_ERR_DATA, src, 1, 0,
                            "%zu columns (expected at most %d: the column limit)", first_fields,
                            AC_CSV_MAX_COLUMNS);
    if ((size_t)line_no > (size_t)AC_CSV_MAX_ROWS + 2)
        return ac_set_error(err, AC_ERR_DATA, src, 0, 0,
                            "%ld lines (expected at most %d rows: the row limit)", line_no - 1,
                            AC_CSV_MAX_ROWS);
    if (length > SIZE_MAX - fields_max - 1 ||
        !(t->store = ac_alloc(length + fields_max + 1)))
        return ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory reading the text");
    size_t pos = 0;
    long line = 1;
    /* A UTF-8 byte-order mark is not data. */
    if (length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < length) {
        if (!grow((void **)&t->records, &t->cap_records, t->n_records, sizeof(record)))
            return ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
        record *r = &t->records[t->n_records];
        r->first = t->n_fields;
        r->count = 0;
        r->line = line;
        for (;;) {
            if (!grow((void **)&t->fields, &t->cap_fields, t->n_fields, sizeof(field)))
                return ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
            field *f = &t->fields[t->n_fields];
            f->off = t->used;
            f->quoted = 0;
            while (pos < length && (text[pos] == ' ' || text[pos] == '\t'))
                pos++;
            if (pos < length && text[pos] == '"') {
                f->quoted = 1;
                pos++;
                for (;;) {
                    if (pos >= length)
                        return ac_set_error(err, AC_ERR_PARSE, src, r->line,
                                            (long)r->count + 1,
                                            "unterminated quoted field (expected a closing "
                                            "'\"' before the end of the file)");
                    char c = text[pos];
                    if (c == '"') {
                        if (pos + 1 < length && text[pos + 1] == '"') {
                            t->store[t->used++] = '"';
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    if (c == '\n')
                        line++;
                    t->store[t->used++] = c;
                    pos++;
                }
                while (pos < length && (text[pos] == ' ' || text[pos] == '\t'))
                    pos++;
                if (pos < length && text[pos] == '\r' &&
                    (pos + 1 == length || text[pos + 1] == '\n'))
                    pos++;
                if (pos < length && text[pos] != ',' && text[pos] != '\n')
                    return ac_set_error(err, AC_ERR_PARSE, src, r->line, (long)r->count + 1,
                                        "text after a closing quote (expected ',' or the end "
                                        "of the line)");
            } else {
                /* Unquoted: up to the next comma or newline, trimmed of
                 * spaces and tabs (already skipped in front) and of a CR. */
                size_t begin = pos;
                while (pos < length && text[pos] != ',' && text[pos] != '\n') {
                    if (text[pos] == '"')
                        return ac_set_error(err, AC_ERR_PARSE, src, r->line, (long)r->count + 1,
                                            "a quote inside an unquoted field (expected the "
                                            "whole field in quotes, with quotes doubled)");
                    pos++;
                }
                size_t end = pos;
                while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' ||
                                       text[end - 1] == '\r'))
                    end--;
                memcpy(t->store + t->used, text + begin, end - begin);
                t->used += end - begin;
            }
            f->len = t->used - f->off;
            t->store[t->used++] = '\0';
            t->n_fields++;
            r->count++;
            if (pos < length && text[pos] == ',') {
                pos++;
                continue;
            }
            if (pos < length && text[pos] == '\n') {
                pos++;
                line++;
            }
            break;
        }
        t->n_records++;
    }
    return AC_OK;
}

static int record_is_blank(const table *t, const record *r)
{
    return r->count == 1 && t->fields[r->first].len == 0 && !t->fields[r->first].quoted;
}

/* ---------------------------------------------------------------- cells */

/* Is s a plain decimal number (the grammar in the file's comment)? */
static int is_decimal(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++, exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    return i == len;
}

/* Parses a field as a finite float; 0 and a reason in *why when it is not. */
static int parse_float(const char *s, size_t len, float *out, const char **why)
{
    /* Spaces around a number are not part of it, even inside quotes. */
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!is_decimal(s, len)) {
        *why = "is not a number";
        return 0;
    }
    if (len > MAX_NUMBER_TEXT) {
        *why = "is too long for a number";
        return 0;
    }
    char buf[MAX_NUMBER_TEXT + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    /* strtof reads the locale's decimal point; a program embedding the
     * library may have set one other than '.', so translate. */
    const char *point = localeconv()->decimal_point;
    if (point && point[0] != '.' && point[0] != '\0' && point[1] == '\0') {
        char *dot = strchr(buf, '.');
        if (dot)
            *dot = point[0];
    }
    errno = 0;
    float v = strtof(buf, NULL);
    if (!isfinite(v) || (errno == ERANGE && fabsf(v) > 1.0f)) {
        *why = "is beyond the range of a 32-bit float";
        return 0;
    }
    *out = v;
    return 1;
}

enum { CELL_NUMBER, CELL_MISSING, CELL_TEXT };

static int is_missing(const char *s, size_t len)
{
    return len == 0 || (len == 2 && memcmp(s, "NA", 2) == 0) ||
           (len == 3 && memcmp(s, "NaN", 3) == 0);
}

static int cell_kind(const table *t, const record *r, size_t c)
{
    const field *f = &t->fields[r->first + c];
    const char *s = field_text(t, f);
    float v;
    const char *why;
    if (is_missing(s, f->len))
        return CELL_MISSING;
    return parse_float(s, f->len, &v, &why) ? CELL_NUMBER : CELL_TEXT;
}

/* Writes a field into buf for quoting in a message: at most ~40 bytes,
 * non-printable bytes as '?'. */
static const char *quote(const char *s, size_t len, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size; i++)
        buf[n++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (n < len && n + 4 >= size) {
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    }
    buf[n] = '\0';
    return buf;
}

/* -------------------------------------------------------------- labels */

/* Label text to id, in order of first appearance: an open-addressing hash
 * table of indices into the growing list of names. */
typedef struct label_map {
    char **names;
    size_t count, cap;
    size_t *slots; /* index + 1, 0 = empty */
    size_t n_slots;
} label_map;

static uint64_t hash_text(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

static void label_map_free(label_map *m)
{
    strings_free(m->names, m->count);
    ac_free(m->slots);
}

/* The id of a label, added when new; -1 when out of memory. */
static long label_id(label_map *m, const char *s, size_t len)
{
    if (m->count * 2 >= m->n_slots) {
        size_t n = m->n_slots ? m->n_slots * 2 : 64;
        size_t *slots = ac_calloc(n, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < m->count; i++) {
            size_t h = (size_t)hash_text(m->names[i], strlen(m->names[i])) & (n - 1);
            while (slots[h])
                h = (h + 1) & (n - 1);
            slots[h] = i + 1;
        }
        ac_free(m->slots);
        m->slots = slots;
        m->n_slots = n;
    }
    size_t h = (size_t)hash_text(s, len) & (m->n_slots - 1);
    while (m->slots[h]) {
        const char *name = m->names[m->slots[h] - 1];
        if (strlen(name) == len && memcmp(name, s, len) == 0)
            return (long)(m->slots[h] - 1);
        h = (h + 1) & (m->n_slots - 1);
    }
    if (!grow((void **)&m->names, &m->cap, m->count, sizeof(char *)))
        return -1;
    char *copy = ac_alloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    m->names[m->count] = copy;
    m->slots[h] = ++m->count;
    return (long)(m->count - 1);
}

/* --------------------------------------------------------------- columns */

ac_csv_options ac_csv_options_default(void)
{
    ac_csv_options o;
    memset(&o, 0, sizeof o);
    o.header = AC_HEADER_AUTO;
    return o;
}

/* A column given by name or 1-based index; -1 when there is none. */
static long find_column(char *const *names, size_t columns, const char *want)
{
    for (size_t c = 0; c < columns; c++)
        if (strcmp(names[c], want) == 0)
            return (long)c;
    size_t n = strlen(want);
    if (n == 0 || n > 9 || strspn(want, "0123456789") != n)
        return -1;
    long index = atol(want);
    return index >= 1 && (size_t)index <= columns ? index - 1 : -1;
}

/* Everything decided about the columns before the rows are read. */
typedef struct layout {
    size_t columns;
    int header;
    char **names;     /* (columns) */
    int *kind;        /* (columns) CELL_NUMBER (numeric), CELL_TEXT, or -1 (mixed) */
    long label;       /* column, or -1 */
    size_t *features; /* feature f is column features[f] */
    size_t F;
} layout;

static void layout_free(layout *l)
{
    strings_free(l->names, l->columns);
    ac_free(l->kind);
    ac_free(l->features);
}

#define KIND_MIXED (-1)

/* An error about one cell: FILE:LINE:COLUMN (name). */
static ac_status cell_error(ac_error *err, const char *src, const table *t, const layout *l,
                            const record *r, size_t c, const char *fmt, const char *why)
{
    char quoted[64];
    const field *f = &t->fields[r->first + c];
    ac_status st = ac_set_error(err, AC_ERR_PARSE, src, r->line, (long)c + 1, fmt,
                                quote(field_text(t, f), f->len, quoted, sizeof quoted), why);
    ac_error_set_column_name(err, l->names[c]);
    return st;
}

/* The first cell of column c that is not a number, to explain a mixed
 * column. */
static ac_status mixed_column_error(ac_error *err, const char *src, const table *t,
                                    const layout *l, size_t first_data, size_t n_records,
                                    size_t c)
{
    /* Only the records that were checked to have every column: trailing
     * blank records have one field. */
    for (size_t i = first_data; i < n_records; i++) {
        const record *r = &t->records[i];
        if (cell_kind(t, r, c) == CELL_TEXT) {
            const field *f = &t->fields[r->first + c];
            float v;
            const char *why = "is not a number";
            parse_float(field_text(t, f), f->len, &v, &why);
            return cell_error(err, src, t, l, r, c,
                              "'%s' %s (expected a decimal number such as 5.1, as elsewhere in "
                              "this column)",
                              why);
        }
    }
    /* Unreachable for a column classified as mixed; an error all the same,
     * so that a layout is never half decided. */
    return ac_set_error(err, AC_ERR_PARSE, src, 0, (long)c + 1,
                        "column '%s' mixes numbers and text (expected one or the other)",
                        l->names[c]);
}

static ac_status decide_layout(const table *t, size_t n_data_records, const char *src,
                               const ac_csv_options *opt, layout *l, ac_csv_report *report,
                               ac_error *err)
{
    const record *first = &t->records[0];
    size_t columns = first->count;
    memset(l, 0, sizeof *l);
    l->columns = columns;
    l->label = -1;
    l->names = ac_calloc(columns, sizeof(char *));
    l->kind = ac_calloc(columns, sizeof(int));
    l->features = ac_calloc(columns, sizeof(size_t));
    if (!l->names || !l->kind || !l->features)
        return ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");

    /* The kind of each column below the first record. */
    for (size_t c = 0; c < columns; c++) {
        int numbers = 0, texts = 0;
        for (size_t i = 1; i < n_data_records; i++) {
            int k = cell_kind(t, &t->records[i], c);
            numbers += k == CELL_NUMBER;
            texts += k == CELL_TEXT;
        }
        l->kind[c] = texts == 0 ? CELL_NUMBER : numbers == 0 ? CELL_TEXT : KIND_MIXED;
    }
    /* A header: forced, or a first field that is not a number (nor missing)
     * over a column that holds numbers below it. A single record is taken
     * as a header (it cannot be both). */
    long why_column = 0;
    if (opt->header == AC_HEADER_AUTO) {
        l->header = n_data_records == 1;
        for (size_t c = 0; c < columns && !l->header; c++) {
            int below_has_number = 0;
            for (size_t i = 1; i < n_data_records && !below_has_number; i++)
                below_has_number = cell_kind(t, &t->records[i], c) == CELL_NUMBER;
            if (l->kind[c] == CELL_NUMBER && below_has_number &&
                cell_kind(t, first, c) == CELL_TEXT) {
                l->header = 1;
                why_column = (long)c + 1;
            }
        }
    } else {
        l->header = opt->header == AC_HEADER_YES;
    }
    if (!l->header) {
        /* The first record is data: fold its cells into the column kinds. */
        for (size_t c = 0; c < columns; c++) {
            int k = cell_kind(t, first, c);
            if ((k == CELL_NUMBER && l->kind[c] == CELL_TEXT) ||
                (k == CELL_TEXT && l->kind[c] == CELL_NUMBER)) {
                int any_number = k == CELL_NUMBER, any_text = k == CELL_TEXT;
                for (size_t i = 1; i < n_data_records; i++) {
                    int kk = cell_kind(t, &t->records[i], c);
                    any_number |= kk == CELL_NUMBER;
                    any_text |= kk == CELL_TEXT;
                }
                l->kind[c] = any_number && any_text ? KIND_MIXED : k;
            }
        }
    }
    for (size_t c = 0; c < columns; c++) {
        char fallback[32];
        const char *name = fallback;
        snprintf(fallback, sizeof fallback, "column_%zu", c + 1);
        if (l->header && t->fields[first->first + c].len > 0) {
            const field *hf = &t->fields[first->first + c];
            name = field_text(t, hf);
            if (!utf8_valid(name, hf->len))
                return ac_set_error(err, AC_ERR_PARSE, src, first->line, (long)c + 1,
                                    "column %zu's name is not valid UTF-8 (expected UTF-8 "
                                    "text)",
                                    c + 1);
        }
        if (!(l->names[c] = string_copy(name)))
            return ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
        for (size_t d = 0; d < c; d++)
            if (strcmp(l->names[d], l->names[c]) == 0) {
                char quoted[64];
                ac_set_error(err, AC_ERR_PARSE, src, first->line, (long)c + 1,
                             "columns %zu and %zu are both named '%s' (expected distinct "
                             "column names)",
                             d + 1, c + 1, quote(name, strlen(name), quoted, sizeof quoted));
                ac_error_set_column_name(err, l->names[c]);
                return AC_ERR_PARSE;
            }
    }
    if (report) {
        report->header = l->header;
        report->header_detected = opt->header == AC_HEADER_AUTO && l->header;
        report->header_column = why_column;
    }

    /* The label column. */
    if (opt->label && !opt->no_label) {
        l->label = find_column(l->names, columns, opt->label);
        if (l->label < 0)
            return ac_set_error(err, AC_ERR_DATA, src, first->line, 0,
                                "no column '%s' for the label (expected a column name from the "
                                "header or an index from 1 to %zu)",
                                opt->label, columns);
    } else if (!opt->no_label && l->kind[columns - 1] != CELL_NUMBER) {
        l->label = (long)columns - 1;
    }

    /* The feature columns. */
    size_t first_data = l->header ? 1 : 0;
    if (opt->features) {
        for (size_t i = 0; i < opt->n_features; i++) {
            long c = find_column(l->names, columns, opt->features[i]);
            if (c < 0)
                return ac_set_error(err, AC_ERR_DATA, src, first->line, 0,
                                    "no column '%s' for a feature (expected a column name from "
                                    "the header or an index from 1 to %zu)",
                                    opt->features[i], columns);
            if (c == l->label) {
                ac_set_error(err, AC_ERR_DATA, src, first->line, c + 1,
                             "column '%s' is the label and cannot also be a feature",
                             l->names[c]);
                ac_error_set_column_name(err, l->names[c]);
                return AC_ERR_DATA;
            }
            for (size_t j = 0; j < l->F; j++)
                if (l->features[j] == (size_t)c) {
                    ac_set_error(err, AC_ERR_DATA, src, first->line, c + 1,
                                 "column '%s' is named twice as a feature", l->names[c]);
                    ac_error_set_column_name(err, l->names[c]);
                    return AC_ERR_DATA;
                }
            if (l->kind[c] == CELL_TEXT) {
                ac_set_error(err, AC_ERR_DATA, src, first->line, c + 1,
                             "column '%s' holds text, not numbers (expected a numeric "
                             "column for a feature)",
                             l->names[c]);
                ac_error_set_column_name(err, l->names[c]);
                return AC_ERR_DATA;
            }
            if (l->kind[c] == KIND_MIXED)
                return mixed_column_error(err, src, t, l, first_data, n_data_records, (size_t)c);
            l->features[l->F++] = (size_t)c;
        }
    } else {
        for (size_t c = 0; c < columns; c++) {
            if ((long)c == l->label)
                continue;
            if (l->kind[c] == KIND_MIXED)
                return mixed_column_error(err, src, t, l, first_data, n_data_records, c);
            if (l->kind[c] == CELL_NUMBER) {
                l->features[l->F++] = c;
            } else if (report) {
                if (report->ignored_columns++ == 0)
                    snprintf(report->ignored_first, sizeof report->ignored_first, "%s",
                             l->names[c]);
            }
        }
    }
    if (report)
        report->label_column = l->label + 1;
    if (l->F == 0)
        return ac_set_error(err, AC_ERR_DATA, src, first->line, 0,
                            "no numeric column to use as a feature (expected at least one "
                            "column of numbers besides the label)");
    return AC_OK;
}

/* ---------------------------------------------------------------- parsing */

ac_status ac_dataset_parse_csv(const char *text, size_t length, const char *source,
                               const ac_csv_options *options, ac_dataset **out,
                               ac_csv_report *report, ac_error *err)
{
    const char *src = source ? source : "";
    ac_csv_options defaults = ac_csv_options_default();
    const ac_csv_options *opt = options ? options : &defaults;
    if (report)
        memset(report, 0, sizeof *report);
    const char *nul = memchr(text, '\0', length);
    if (nul) {
        long line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        return ac_set_error(err, AC_ERR_PARSE, src, line, 0,
                            "NUL byte in the text (expected a text file)");
    }
    table t;
    layout l;
    memset(&l, 0, sizeof l);
    label_map labels;
    memset(&labels, 0, sizeof labels);
    ac_dataset *ds = NULL;
    ac_status st = tokenise(text, length, src, &t, err);
    if (st != AC_OK)
        goto done;

    /* Blank lines are accepted at the end of the file only. */
    size_t n = t.n_records;
    while (n > 0 && record_is_blank(&t, &t.records[n - 1]))
        n--;
    if (n == 0) {
        st = ac_set_error(err, AC_ERR_PARSE, src, 1, 0,
                          "empty file (expected a header line, then rows of numbers)");
        goto done;
    }
    size_t columns = t.records[0].count;
    /* Blank lines at the start would otherwise pass for records of one
     * field, and the first real line be called ragged. */
    size_t first_text = 0;
    while (first_text < n && record_is_blank(&t, &t.records[first_text]))
        first_text++;
    if (first_text > 0 && t.records[first_text].count > 1) {
        st = ac_set_error(err, AC_ERR_PARSE, src, t.records[0].line, 0,
                          "blank line at the start (expected the header or the first row, "
                          "of %zu comma-separated fields as in line %ld)",
                          t.records[first_text].count, t.records[first_text].line);
        goto done;
    }
    for (size_t i = 1; i < n; i++) {
        const record *r = &t.records[i];
        if (record_is_blank(&t, r) && columns > 1) {
            st = ac_set_error(err, AC_ERR_PARSE, src, r->line, 0,
                              "blank line among the data (expected %zu comma-separated fields)",
                              columns);
            goto done;
        }
        if (r->count != columns) {
            st = ac_set_error(err, AC_ERR_PARSE, src, r->line, 0,
                              "%zu field%s (expected %zu, as in the first line)", r->count,
                              r->count == 1 ? "" : "s", columns);
            goto done;
        }
    }
    if ((st = decide_layout(&t, n, src, opt, &l, report, err)) != AC_OK)
        goto done;
    size_t first_data = l.header ? 1 : 0;
    if (first_data >= n) {
        /* The line after the header, which may span lines (quoted newlines). */
        long after = t.records[0].line + 1;
        for (size_t c = 0; c < columns; c++) {
            const field *hf = &t.fields[t.records[0].first + c];
            for (size_t k = 0; k < hf->len; k++)
                after += field_text(&t, hf)[k] == '\n';
        }
        st = ac_set_error(err, AC_ERR_PARSE, src, after, 0,
                          "no data rows after the header (expected rows of %zu "
                          "comma-separated fields)",
                          columns);
        goto done;
    }

    size_t F = l.F;
    if ((st = dataset_alloc(n - first_data, F, l.label >= 0, src, &ds, err)) != AC_OK)
        goto done;
    for (size_t f = 0; f < F; f++)
        if (!(ds->feature_names[f] = string_copy(l.names[l.features[f]]))) {
            st = ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
            goto done;
        }
    size_t row = 0;
    for (size_t i = first_data; i < n; i++) {
        const record *r = &t.records[i];
        /* A missing value anywhere the row is used: fail, or drop the row. */
        long missing = -1;
        for (size_t f = 0; f < F && missing < 0; f++)
            if (cell_kind(&t, r, l.features[f]) == CELL_MISSING)
                missing = (long)l.features[f];
        if (missing < 0 && l.label >= 0) {
            const field *lf = &t.fields[r->first + (size_t)l.label];
            if (is_missing(field_text(&t, lf), lf->len))
                missing = l.label;
        }
        if (missing >= 0) {
            if (!opt->drop_missing) {
                const field *mf = &t.fields[r->first + (size_t)missing];
                char quoted[64];
                if (mf->len == 0)
                    st = ac_set_error(err, AC_ERR_PARSE, src, r->line, missing + 1,
                                      "empty cell (expected a value; --drop-missing drops rows "
                                      "with missing values)");
                else
                    st = ac_set_error(err, AC_ERR_PARSE, src, r->line, missing + 1,
                                      "missing value '%s' (expected a value; --drop-missing "
                                      "drops rows with missing values)",
                                      quote(field_text(&t, mf), mf->len, quoted, sizeof quoted));
                ac_error_set_column_name(err, l.names[missing]);
                goto done;
            }
            if (report && report->dropped_rows++ == 0)
                report->dropped_first_line = r->line;
            continue;
        }
        for (size_t f = 0; f < F; f++) {
            const field *cf = &t.fields[r->first + l.features[f]];
            const char *why;
            if (!parse_float(field_text(&t, cf), cf->len, &ds->x[row * F + f], &why)) {
                st = cell_error(err, src, &t, &l, r, l.features[f],
                                "'%s' %s (expected a decimal number such as 5.1)", why);
                goto done;
            }
        }
        if (l.label >= 0) {
            const field *lf = &t.fields[r->first + (size_t)l.label];
            if (!utf8_valid(field_text(&t, lf), lf->len)) {
                st = cell_error(err, src, &t, &l, r, (size_t)l.label,
                                "label '%s' %s (expected UTF-8 text)", "is not valid UTF-8");
                goto done;
            }
            long id = label_id(&labels, field_text(&t, lf), lf->len);
            if (id < 0 || id > INT32_MAX) {
                st = ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
                goto done;
            }
            ds->labels[row] = (int32_t)id;
        }
        row++;
    }
    if (row == 0) {
        st = ac_set_error(err, AC_ERR_DATA, src, 0, 0,
                          "every row has a missing value, so none is left (expected at least "
                          "one complete row)");
        goto done;
    }
    ds->n = row;
    if (l.label >= 0) {
        ds->label_names = labels.names;
        ds->n_label_names = labels.count;
        ds->classes = labels.count;
        labels.names = NULL;
        labels.count = 0;
    }
    *out = ds;
    ds = NULL;

done:
    ac_dataset_free(ds);
    label_map_free(&labels);
    layout_free(&l);
    table_free(&t);
    return st;
}

/* ------------------------------------------------------------------ files */

/* Reads a whole stream into a buffer owned by the caller. */
static ac_status read_all(FILE *fp, const char *path, char **text, size_t *length,
                          ac_error *err)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = ac_alloc(cap);
    if (!buf)
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
    for (;;) {
        if (len == cap) {
            if (cap >= AC_CSV_MAX_BYTES) {
                ac_free(buf);
                return ac_set_error(err, AC_ERR_DATA, path, 0, 0,
                                    "larger than %d MiB (expected at most that: the file size "
                                    "limit)",
                                    AC_CSV_MAX_BYTES >> 20);
            }
            char *bigger = ac_alloc(cap * 2);
            if (!bigger) {
                ac_free(buf);
                return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0,
                                    "out of memory reading the file (%zu bytes so far)", len);
            }
            memcpy(bigger, buf, len);
            ac_free(buf);
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                int e = errno;
                ac_free(buf);
                return ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot read: %s", strerror(e));
            }
            break;
        }
    }
    *text = buf;
    *length = len;
    return AC_OK;
}

ac_status ac_dataset_load_csv(const char *path, const ac_csv_options *options, ac_dataset **out,
                              ac_csv_report *report, ac_error *err)
{
    int from_stdin = strcmp(path, "-") == 0;
    FILE *fp = from_stdin ? stdin : fopen(path, "rb");
    if (!fp)
        return ac_set_error(err, AC_ERR_IO, path, 0, 0, "cannot open: %s", strerror(errno));
    char *text = NULL;
    size_t length = 0;
    errno = 0;
    ac_status st = read_all(fp, path, &text, &length, err);
    if (!from_stdin)
        fclose(fp);
    if (st != AC_OK)
        return st;
    st = ac_dataset_parse_csv(text, length, path, options, out, report, err);
    ac_free(text);
    return st;
}
