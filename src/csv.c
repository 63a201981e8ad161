/*
 * csv.c - reading data sets from CSV text in the chapter's format: a header
 * line naming the columns, then one row per line. When the last column of
 * the first row is not a number it is the label column, holding the species
 * ("Iris-setosa", "Iris-versicolor", "Iris-virginica" = labels 0, 1, 2);
 * otherwise every column is a feature and the set is unlabelled.
 *
 * The reader is strict on purpose: every row must have the header's number
 * of fields, every feature must be a finite decimal number, every label a
 * known species. The first problem found is reported as FILE:LINE with what
 * is wrong and what was expected; no row is ever skipped silently.
 */
#include "internal.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const iris_species[] = {"Iris-setosa", "Iris-versicolor", "Iris-virginica"};
#define IRIS_SPECIES 3

/* The longest number text accepted; longer fields are reported, not cut. */
#define MAX_NUMBER_TEXT 96

/* A span of text; CSV lines and fields are never NUL-terminated in place. */
typedef struct span {
    const char *p;
    size_t len;
} span;

static span trim(span s)
{
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t' ||
                         s.p[s.len - 1] == '\r'))
        s.len--;
    return s;
}

/* The next line of text at *pos, without its '\n' (a trailing '\r' is left
 * for trim). Returns 0 at the end of the text. */
static int next_line(const char *text, size_t length, size_t *pos, span *line)
{
    if (*pos >= length)
        return 0;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', length - *pos);
    size_t len = nl ? (size_t)(nl - start) : length - *pos;
    line->p = start;
    line->len = len;
    *pos += len + (nl ? 1 : 0);
    return 1;
}

static size_t count_fields(span line)
{
    size_t n = 1;
    for (size_t i = 0; i < line.len; i++)
        n += line.p[i] == ',';
    return n;
}

/* Field `index` (0-based) of a line, untrimmed. */
static span field_at(span line, size_t index)
{
    size_t start = 0, k = 0;
    for (size_t i = 0; i <= line.len; i++) {
        if (i == line.len || line.p[i] == ',') {
            if (k == index) {
                span s = {line.p + start, i - start};
                return s;
            }
            k++;
            start = i + 1;
        }
    }
    span none = {line.p + line.len, 0};
    return none;
}

/* Writes a field into buf for quoting in a message: at most ~40 bytes,
 * non-printable bytes as '?'. */
static const char *quote_field(span s, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len && n + 4 < size; i++)
        buf[n++] = (s.p[i] >= 32 && s.p[i] < 127) ? s.p[i] : '?';
    if (n < s.len && n + 4 >= size) {
        buf[n++] = '.', buf[n++] = '.', buf[n++] = '.';
    }
    buf[n] = '\0';
    return buf;
}

/* Is s a plain decimal number: [+-] digits [. digits] [(e|E) [+-] digits],
 * with at least one digit before the exponent? Rejects what strtod would
 * also take but a data file should not hold: inf, nan, hex floats. */
static int is_decimal(span s)
{
    size_t i = 0, digits = 0;
    if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
        i++;
    while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
        i++, digits++;
    if (i < s.len && s.p[i] == '.') {
        i++;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
            i++, digits++;
    }
    if (digits == 0)
        return 0;
    if (i < s.len && (s.p[i] == 'e' || s.p[i] == 'E')) {
        i++;
        if (i < s.len && (s.p[i] == '+' || s.p[i] == '-'))
            i++;
        size_t exp_digits = 0;
        while (i < s.len && s.p[i] >= '0' && s.p[i] <= '9')
            i++, exp_digits++;
        if (exp_digits == 0)
            return 0;
    }
    return i == s.len;
}

/* Parses a trimmed field as a finite float. Returns 0 and a reason in
 * *why when it is not one. */
static int parse_float(span s, float *out, const char **why)
{
    char buf[MAX_NUMBER_TEXT + 1];
    if (s.len == 0) {
        *why = "is empty";
        return 0;
    }
    if (!is_decimal(s)) {
        *why = "is not a number";
        return 0;
    }
    if (s.len > MAX_NUMBER_TEXT) {
        *why = "is too long for a number";
        return 0;
    }
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
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

static int species_id(span s)
{
    for (int i = 0; i < IRIS_SPECIES; i++) {
        size_t n = strlen(iris_species[i]);
        if (s.len == n && memcmp(s.p, iris_species[i], n) == 0)
            return i;
    }
    return -1;
}

static int is_blank(span line)
{
    return trim(line).len == 0;
}

/* A copy of a trimmed field as a NUL-terminated string (ac_alloc'd). */
static char *span_copy(span s)
{
    char *out = ac_alloc(s.len + 1);
    if (out) {
        memcpy(out, s.p, s.len);
        out[s.len] = '\0';
    }
    return out;
}

ac_status ac_dataset_parse_csv(const char *text, size_t length, const char *source,
                               ac_dataset **out, ac_error *err)
{
    const char *src = source ? source : "";
    size_t pos = 0;
    span header;
    if (length == 0 || !next_line(text, length, &pos, &header))
        return ac_set_error(err, AC_ERR_PARSE, src, 1, 0,
                            "empty file (expected a header line, then rows of features and "
                            "a species)");
    const char *nul = memchr(text, '\0', length);
    if (nul) {
        long line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        return ac_set_error(err, AC_ERR_PARSE, src, line, 0,
                            "NUL byte in the text (expected a text file)");
    }
    size_t columns = count_fields(header);

    /* First pass: count the data rows and find the last non-blank line, so
     * that blank lines are accepted at the end of the file only; note the
     * first row, whose last field tells whether there is a label column. */
    size_t rows = 0, scan = pos;
    long line_no = 1, last_row_line = 1;
    span line, first_row = {NULL, 0};
    while (next_line(text, length, &scan, &line)) {
        line_no++;
        if (!is_blank(line)) {
            if (rows++ == 0)
                first_row = line;
            last_row_line = line_no;
        }
    }
    if (rows == 0)
        return ac_set_error(err, AC_ERR_PARSE, src, 2, 0,
                            "no data rows after the header (expected rows of %zu "
                            "comma-separated fields)",
                            columns);
    float probe;
    const char *why;
    int labelled = count_fields(first_row) != columns ||
                   !parse_float(trim(field_at(first_row, columns - 1)), &probe, &why);
    if (labelled && columns < 2)
        return ac_set_error(err, AC_ERR_PARSE, src, 1, 0,
                            "the header has 1 field (expected at least one feature column "
                            "and the species column)");
    size_t F = labelled ? columns - 1 : columns;

    ac_dataset *ds;
    ac_status st = dataset_alloc(rows, F, labelled, src, &ds, err);
    if (st != AC_OK)
        return st;
    for (size_t f = 0; f < F; f++) {
        span name = trim(field_at(header, f));
        if (!(ds->feature_names[f] = span_copy(name))) {
            st = ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
            goto fail;
        }
        for (size_t g = 0; g < f; g++)
            if (strcmp(ds->feature_names[g], ds->feature_names[f]) == 0) {
                char quoted[64];
                st = ac_set_error(err, AC_ERR_PARSE, src, 1, (long)f + 1,
                                  "columns %zu and %zu are both named '%s' (expected distinct "
                                  "column names)",
                                  g + 1, f + 1, quote_field(name, quoted, sizeof quoted));
                goto fail;
            }
    }
    if (labelled) {
        ds->label_names = strings_copy(iris_species, IRIS_SPECIES);
        if (!ds->label_names) {
            st = ac_set_error(err, AC_ERR_NOMEM, src, 0, 0, "out of memory");
            goto fail;
        }
        ds->n_label_names = IRIS_SPECIES;
    }

    char quoted[64];
    size_t row = 0;
    line_no = 1;
    while (line_no < last_row_line && next_line(text, length, &pos, &line)) {
        line_no++;
        if (is_blank(line)) {
            st = ac_set_error(err, AC_ERR_PARSE, src, line_no, 0,
                              "blank line among the data (expected %zu comma-separated fields)",
                              columns);
            goto fail;
        }
        size_t fields = count_fields(line);
        if (fields != columns) {
            if (labelled)
                st = ac_set_error(err, AC_ERR_PARSE, src, line_no, 0,
                                  "%zu field%s (expected %zu: %zu feature%s and the species, as "
                                  "in the header)",
                                  fields, fields == 1 ? "" : "s", columns, F, F == 1 ? "" : "s");
            else
                st = ac_set_error(err, AC_ERR_PARSE, src, line_no, 0,
                                  "%zu field%s (expected %zu, as in the header)", fields,
                                  fields == 1 ? "" : "s", columns);
            goto fail;
        }
        for (size_t f = 0; f < F; f++) {
            span cell = trim(field_at(line, f));
            if (!parse_float(cell, &ds->x[row * F + f], &why)) {
                st = ac_set_error(err, AC_ERR_PARSE, src, line_no, (long)f + 1,
                                  "column %zu (%s): '%s' %s (expected a decimal number such as "
                                  "5.1)",
                                  f + 1, ds->feature_names[f],
                                  quote_field(cell, quoted, sizeof quoted), why);
                goto fail;
            }
        }
        if (labelled) {
            span species = trim(field_at(line, F));
            int id = species_id(species);
            if (id < 0) {
                st = ac_set_error(err, AC_ERR_PARSE, src, line_no, (long)columns,
                                  "unknown species '%s' (expected Iris-setosa, Iris-versicolor "
                                  "or Iris-virginica)",
                                  quote_field(species, quoted, sizeof quoted));
                goto fail;
            }
            ds->labels[row] = id;
            if ((size_t)id + 1 > ds->classes)
                ds->classes = (size_t)id + 1;
        }
        row++;
    }
    assert(row == rows);
    *out = ds;
    return AC_OK;

fail:
    ac_dataset_free(ds);
    return st;
}

/* Reads a whole stream into a NUL-free-agnostic buffer owned by the caller. */
static ac_status read_all(FILE *fp, const char *path, char **text, size_t *length,
                          ac_error *err)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = ac_alloc(cap);
    if (!buf)
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory reading the file");
    for (;;) {
        if (len == cap) {
            if (cap > SIZE_MAX / 2) {
                ac_free(buf);
                return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "file too large");
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

ac_status ac_dataset_load_csv(const char *path, ac_dataset **out, ac_error *err)
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
    st = ac_dataset_parse_csv(text, length, path, out, err);
    ac_free(text);
    return st;
}
