/*
 * dataset.c - data sets: N rows of F float features with optional integer
 * labels; the chapter's CSV format (read from a file, from memory, or from
 * the built-in copy of Iris); min-max scaling.
 *
 * The CSV reader is strict on purpose: every row must have the header's
 * number of fields, every feature must be a finite decimal number, every
 * label a known species. The first problem found is reported as
 * FILE:LINE with what is wrong and what was expected; no row is ever
 * skipped silently.
 */
#include "internal.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ac_dataset {
    size_t n, f;        /* N, F */
    float *x;           /* (N, F) */
    int32_t *labels;    /* (N) or NULL */
    size_t classes;     /* largest label + 1, 0 when unlabelled */
    char source[256];
};

static const char *const iris_species[] = {"Iris-setosa", "Iris-versicolor", "Iris-virginica"};
#define IRIS_SPECIES 3

/* The longest number text accepted; longer fields are reported, not cut. */
#define MAX_NUMBER_TEXT 96

static ac_status dataset_alloc(size_t n, size_t f, int labelled, const char *source,
                               ac_dataset **out, ac_error *err)
{
    if (f != 0 && n > SIZE_MAX / sizeof(float) / f)
        return ac_set_error(err, AC_ERR_NOMEM, source, 0, 0,
                            "%zu rows of %zu features do not fit in memory", n, f);
    ac_dataset *ds = ac_calloc(1, sizeof *ds);
    if (!ds)
        return ac_set_error(err, AC_ERR_NOMEM, source, 0, 0, "out of memory");
    ds->n = n;
    ds->f = f;
    snprintf(ds->source, sizeof ds->source, "%s", source);
    ds->x = ac_alloc(n * f * sizeof(float));
    ds->labels = labelled ? ac_alloc(n * sizeof(int32_t)) : NULL;
    if (!ds->x || (labelled && !ds->labels)) {
        ac_dataset_free(ds);
        return ac_set_error(err, AC_ERR_NOMEM, source, 0, 0,
                            "out of memory for %zu rows of %zu features", n, f);
    }
    *out = ds;
    return AC_OK;
}

void ac_dataset_free(ac_dataset *ds)
{
    if (!ds)
        return;
    ac_free(ds->x);
    ac_free(ds->labels);
    ac_free(ds);
}

size_t ac_dataset_rows(const ac_dataset *ds) { return ds->n; }
size_t ac_dataset_features_count(const ac_dataset *ds) { return ds->f; }
const float *ac_dataset_features(const ac_dataset *ds) { return ds->x; }
const int32_t *ac_dataset_labels(const ac_dataset *ds) { return ds->labels; }
size_t ac_dataset_classes(const ac_dataset *ds) { return ds->classes; }
const char *ac_dataset_source(const ac_dataset *ds) { return ds->source; }

ac_status ac_dataset_from_floats(const float *features, size_t n_rows, size_t n_features,
                                 const int32_t *labels, ac_dataset **out, ac_error *err)
{
    const char *src = "memory";
    if (n_rows == 0 || n_features == 0)
        return ac_set_error(err, AC_ERR_DATA, src, 0, 0,
                            "%zu rows of %zu features (expected at least one of each)", n_rows,
                            n_features);
    for (size_t i = 0; i < n_rows * n_features; i++)
        if (!isfinite(features[i]))
            return ac_set_error(err, AC_ERR_DATA, src, (long)(i / n_features + 1),
                                (long)(i % n_features + 1),
                                "feature %zu of row %zu is %g (expected a finite number)",
                                i % n_features, i / n_features, (double)features[i]);
    size_t classes = 0;
    if (labels)
        for (size_t i = 0; i < n_rows; i++) {
            if (labels[i] < 0)
                return ac_set_error(err, AC_ERR_DATA, src, (long)(i + 1), 0,
                                    "label of row %zu is %ld (expected a label >= 0)", i,
                                    (long)labels[i]);
            if ((size_t)labels[i] + 1 > classes)
                classes = (size_t)labels[i] + 1;
        }
    ac_dataset *ds;
    ac_status st = dataset_alloc(n_rows, n_features, labels != NULL, src, &ds, err);
    if (st != AC_OK)
        return st;
    memcpy(ds->x, features, n_rows * n_features * sizeof(float));
    if (labels)
        memcpy(ds->labels, labels, n_rows * sizeof(int32_t));
    ds->classes = classes;
    *out = ds;
    return AC_OK;
}

void ac_dataset_normalize_minmax(ac_dataset *ds)
{
    size_t N = ds->n, F = ds->f;
    for (size_t f = 0; f < F; f++) {
        float lo = ds->x[f], hi = ds->x[f];
        for (size_t i = 1; i < N; i++) {
            float v = ds->x[i * F + f];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        float range = hi - lo;
        for (size_t i = 0; i < N; i++) {
            float *v = &ds->x[i * F + f];
            /* A constant column has range 0; the chapter would divide 0 by 0
             * and train on NaN. It carries no information, so map it to 0. */
            *v = range > 0.0f ? (*v - lo) / range : 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ CSV */

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
    if (memchr(text, '\0', length)) {
        /* Report the line of the first NUL byte. */
        const char *nul = memchr(text, '\0', length);
        long line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        return ac_set_error(err, AC_ERR_PARSE, src, line, 0,
                            "NUL byte in the text (expected a text file)");
    }
    size_t columns = count_fields(header);
    if (columns < 2)
        return ac_set_error(err, AC_ERR_PARSE, src, 1, 0,
                            "the header has %zu field (expected at least one feature column "
                            "and the species column)",
                            columns);
    size_t F = columns - 1;

    /* First pass: count the data rows and find the last non-blank line, so
     * that blank lines are accepted at the end of the file only. */
    size_t rows = 0, scan = pos;
    long line_no = 1, last_row_line = 1;
    span line;
    while (next_line(text, length, &scan, &line)) {
        line_no++;
        if (!is_blank(line)) {
            rows++;
            last_row_line = line_no;
        }
    }
    if (rows == 0)
        return ac_set_error(err, AC_ERR_PARSE, src, 2, 0,
                            "no data rows after the header (expected rows of %zu features and "
                            "a species)",
                            F);

    ac_dataset *ds;
    ac_status st = dataset_alloc(rows, F, 1, src, &ds, err);
    if (st != AC_OK)
        return st;

    char quoted[64];
    size_t row = 0;
    line_no = 1;
    while (next_line(text, length, &pos, &line) && line_no < last_row_line) {
        line_no++;
        if (is_blank(line)) {
            st = ac_set_error(err, AC_ERR_PARSE, src, line_no, 0,
                              "blank line among the data (expected %zu comma-separated fields)",
                              columns);
            goto fail;
        }
        size_t fields = count_fields(line);
        if (fields != columns) {
            st = ac_set_error(err, AC_ERR_PARSE, src, line_no, 0,
                              "%zu field%s (expected %zu: %zu feature%s and the species, as in "
                              "the header)",
                              fields, fields == 1 ? "" : "s", columns, F, F == 1 ? "" : "s");
            goto fail;
        }
        for (size_t f = 0; f < F; f++) {
            span cell = trim(field_at(line, f));
            const char *why;
            if (!parse_float(cell, &ds->x[row * F + f], &why)) {
                char name[64];
                st = ac_set_error(err, AC_ERR_PARSE, src, line_no, (long)f + 1,
                                  "column %zu (%s): '%s' %s (expected a decimal number such as "
                                  "5.1)",
                                  f + 1, quote_field(trim(field_at(header, f)), name, sizeof name),
                                  quote_field(cell, quoted, sizeof quoted), why);
                goto fail;
            }
        }
        span species = trim(field_at(line, F));
        int id = species_id(species);
        if (id < 0) {
            st = ac_set_error(err, AC_ERR_PARSE, src, line_no, (long)columns,
                              "unknown species '%s' (expected Iris-setosa, Iris-versicolor or "
                              "Iris-virginica)",
                              quote_field(species, quoted, sizeof quoted));
            goto fail;
        }
        ds->labels[row] = id;
        if ((size_t)id + 1 > ds->classes)
            ds->classes = (size_t)id + 1;
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
