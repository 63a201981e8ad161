/*
 * test_dataset.c - data sets: the CSV reader (iris.csv, the built-in copy,
 * every parse error it reports and the quirks it accepts), the file loader,
 * ac_dataset_from_floats, min-max scaling and allocation failures.
 *
 * Run from the repository root: it opens data/iris.csv.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exact float equality, printing both values when it fails. */
#define CHECK_FLOAT_EQ(a, b) CHECK_NEAR((double)(a), (double)(b), 0.0)

#define IRIS_PATH "data/iris.csv"

/* A non-NULL value that no constructor returns: out-pointers start as this
 * and must still hold it after a failed call. */
static long long sentinel_storage[8];
#define SENTINEL ((ac_dataset *)(void *)sentinel_storage)

/* Reads a whole file into a malloc'd buffer; NULL on failure. */
static char *read_file(const char *path, size_t *length)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 1 << 12, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    *length = len;
    return buf;
}

/* Parses text (of `length` bytes) as source "test.csv" and checks that it
 * fails with AC_ERR_PARSE at the given line and column, with a message
 * containing `fragment`, leaving the out-pointer untouched. `at` is the
 * caller's line, printed when a check fails. */
static void expect_parse_error_n(const char *text, size_t length, long line, long column,
                                 const char *fragment, int at)
{
    int failed_before = harness_check_failed;
    harness_check_failed = 0;
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_dataset_parse_csv(text, length, "test.csv", &ds, &err);
    CHECK_INT_EQ(st, AC_ERR_PARSE);
    CHECK_INT_EQ(err.status, AC_ERR_PARSE);
    CHECK(ds == SENTINEL);
    CHECK_INT_EQ(err.line, line);
    CHECK_INT_EQ(err.column, column);
    CHECK(strcmp(err.source, "test.csv") == 0);
    CHECK_STR_CONTAINS(err.message, fragment);
    /* The same call with err NULL fails the same way. */
    ac_dataset *ds2 = SENTINEL;
    CHECK_INT_EQ(ac_dataset_parse_csv(text, length, "test.csv", &ds2, NULL), AC_ERR_PARSE);
    CHECK(ds2 == SENTINEL);
    if (st == AC_OK && ds != SENTINEL)
        ac_dataset_free(ds);
    if (ds2 != SENTINEL)
        ac_dataset_free(ds2);
    if (harness_check_failed)
        fprintf(stderr, "  (the case at %s:%d; message: \"%s\")\n", __FILE__, at, err.message);
    harness_check_failed |= failed_before;
}

#define EXPECT_PARSE_ERROR(text, line, column, fragment)                                   \
    expect_parse_error_n((text), strlen(text), (line), (column), (fragment), __LINE__)

/* Parses text that must be accepted; NULL (after failing a check) if not. */
static ac_dataset *parse_ok(const char *text, size_t length)
{
    ac_dataset *ds = NULL;
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_dataset_parse_csv(text, length, "ok.csv", &ds, &err);
    CHECK_INT_EQ(st, AC_OK);
    if (st != AC_OK) {
        fprintf(stderr, "  %s:%ld:%ld: %s\n", err.source, err.line, err.column, err.message);
        return NULL;
    }
    CHECK(ds != NULL);
    return ds;
}

/* ------------------------------------------------------------ iris.csv */

static void iris_csv_loads_150_rows_of_4_features_in_3_classes_in_file_order(void)
{
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_dataset_load_csv(IRIS_PATH, &ds, &err);
    CHECK_INT_EQ(st, AC_OK);
    if (st != AC_OK) {
        fprintf(stderr, "  %s:%ld: %s\n", err.source, err.line, err.message);
        return;
    }
    CHECK_INT_EQ(ac_dataset_rows(ds), 150);
    CHECK_INT_EQ(ac_dataset_features_count(ds), 4);
    CHECK_INT_EQ(ac_dataset_classes(ds), 3);
    CHECK(strcmp(ac_dataset_source(ds), IRIS_PATH) == 0);

    const int32_t *labels = ac_dataset_labels(ds);
    CHECK(labels != NULL);
    if (labels) {
        int wrong = 0;
        for (int i = 0; i < 150; i++)
            wrong += labels[i] != i / 50;
        CHECK_INT_EQ(wrong, 0);
        CHECK_INT_EQ(labels[0], 0);
        CHECK_INT_EQ(labels[49], 0);
        CHECK_INT_EQ(labels[50], 1);
        CHECK_INT_EQ(labels[99], 1);
        CHECK_INT_EQ(labels[100], 2);
        CHECK_INT_EQ(labels[149], 2);
    }

    const float *x = ac_dataset_features(ds);
    CHECK_FLOAT_EQ(x[0], 5.1f);
    CHECK_FLOAT_EQ(x[1], 3.5f);
    CHECK_FLOAT_EQ(x[2], 1.4f);
    CHECK_FLOAT_EQ(x[3], 0.2f);
    /* Row 2 of the file (index 1): 4.9,3.0,1.4,0.2 */
    CHECK_FLOAT_EQ(x[4], 4.9f);
    CHECK_FLOAT_EQ(x[5], 3.0f);
    /* The last row: 5.9,3.0,5.1,1.8,Iris-virginica */
    CHECK_FLOAT_EQ(x[149 * 4 + 0], 5.9f);
    CHECK_FLOAT_EQ(x[149 * 4 + 1], 3.0f);
    CHECK_FLOAT_EQ(x[149 * 4 + 2], 5.1f);
    CHECK_FLOAT_EQ(x[149 * 4 + 3], 1.8f);
    ac_dataset_free(ds);
}

static void builtin_iris_is_byte_identical_to_data_iris_csv_and_parses_the_same(void)
{
    size_t file_len = 0, builtin_len = 0;
    char *file = read_file(IRIS_PATH, &file_len);
    CHECK(file != NULL);
    char *builtin = iris_builtin_text(&builtin_len);
    CHECK(builtin != NULL);
    if (!file || !builtin) {
        free(file);
        ac_free(builtin);
        return;
    }
    CHECK_INT_EQ(builtin_len, file_len);
    if (builtin_len == file_len) {
        CHECK(memcmp(builtin, file, file_len) == 0);
    } else {
        size_t n = builtin_len < file_len ? builtin_len : file_len, i = 0;
        while (i < n && builtin[i] == file[i])
            i++;
        fprintf(stderr, "  first difference at byte %zu\n", i);
    }
    free(file);
    ac_free(builtin);

    ac_dataset *a = NULL, *b = NULL;
    ac_error err;
    CHECK_INT_EQ(ac_dataset_load_csv(IRIS_PATH, &a, &err), AC_OK);
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&b, &err), AC_OK);
    if (a && b) {
        CHECK(strcmp(ac_dataset_source(b), "built-in iris.csv") == 0);
        CHECK_INT_EQ(ac_dataset_rows(b), ac_dataset_rows(a));
        CHECK_INT_EQ(ac_dataset_features_count(b), ac_dataset_features_count(a));
        CHECK_INT_EQ(ac_dataset_classes(b), ac_dataset_classes(a));
        if (ac_dataset_rows(a) == ac_dataset_rows(b) &&
            ac_dataset_features_count(a) == ac_dataset_features_count(b)) {
            size_t n = ac_dataset_rows(a), f = ac_dataset_features_count(a);
            CHECK(memcmp(ac_dataset_features(a), ac_dataset_features(b), n * f * sizeof(float)) ==
                  0);
            CHECK(ac_dataset_labels(b) != NULL);
            if (ac_dataset_labels(b))
                CHECK(memcmp(ac_dataset_labels(a), ac_dataset_labels(b), n * sizeof(int32_t)) ==
                      0);
        }
    }
    ac_dataset_free(a);
    ac_dataset_free(b);
}

/* ------------------------------------------------------------ min-max */

static void minmax_maps_each_iris_column_min_to_0_and_max_to_1_exactly(void)
{
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_csv(IRIS_PATH, &ds, NULL), AC_OK);
    if (!ds)
        return;
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    CHECK_INT_EQ(N, 150);
    CHECK_INT_EQ(F, 4);
    if (N != 150 || F != 4) {
        ac_dataset_free(ds);
        return;
    }
    float orig[150 * 4];
    memcpy(orig, ac_dataset_features(ds), sizeof orig);
    float lo[4], hi[4];
    for (size_t f = 0; f < 4; f++) {
        lo[f] = hi[f] = orig[f];
        for (size_t i = 1; i < N; i++) {
            float v = orig[i * F + f];
            if (v < lo[f])
                lo[f] = v;
            if (v > hi[f])
                hi[f] = v;
        }
    }
    /* Iris's column ranges, as a sanity check of the loop above. */
    CHECK_FLOAT_EQ(lo[0], 4.3f);
    CHECK_FLOAT_EQ(hi[0], 7.9f);
    CHECK_FLOAT_EQ(lo[3], 0.1f);
    CHECK_FLOAT_EQ(hi[3], 2.5f);

    CHECK_INT_EQ(ac_dataset_normalize_minmax(ds, NULL), AC_OK);
    const float *x = ac_dataset_features(ds);
    for (size_t f = 0; f < 4; f++) {
        float mn = x[f], mx = x[f];
        for (size_t i = 1; i < N; i++) {
            float v = x[i * F + f];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
        }
        CHECK_FLOAT_EQ(mn, 0.0f);
        CHECK_FLOAT_EQ(mx, 1.0f);
    }
    /* Every value is (x - min) / (max - min), computed in float. */
    size_t mismatches = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t f = 0; f < F; f++) {
            float want = (orig[i * F + f] - lo[f]) / (hi[f] - lo[f]);
            mismatches += x[i * F + f] != want;
        }
    CHECK_INT_EQ(mismatches, 0);
    /* Row 0 (5.1, 3.5, 1.4, 0.2) -> about (0.2222, 0.625, 0.0678, 0.0417). */
    CHECK_NEAR((double)x[0], 0.2222, 1e-4);
    CHECK_NEAR((double)x[1], 0.625, 1e-4);
    CHECK_NEAR((double)x[2], 0.0678, 1e-4);
    CHECK_NEAR((double)x[3], 0.0417, 1e-4);
    CHECK_FLOAT_EQ(x[0], (5.1f - 4.3f) / (7.9f - 4.3f));
    CHECK_FLOAT_EQ(x[3], (0.2f - 0.1f) / (2.5f - 0.1f));
    /* Labels are untouched. */
    CHECK_INT_EQ(ac_dataset_labels(ds)[0], 0);
    CHECK_INT_EQ(ac_dataset_labels(ds)[149], 2);
    ac_dataset_free(ds);
}

static void minmax_maps_a_constant_column_to_exactly_0_without_nan(void)
{
    /* Column 0 constant (7), column 1 varying from -2 to 6. */
    const float src[] = {7.0f, -2.0f, 7.0f, 2.0f, 7.0f, 6.0f, 7.0f, 0.0f};
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(src, 4, 2, NULL, &ds, NULL), AC_OK);
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_normalize_minmax(ds, NULL), AC_OK);
    const float *x = ac_dataset_features(ds);
    for (int i = 0; i < 4; i++)
        CHECK_FLOAT_EQ(x[i * 2], 0.0f);
    CHECK_FLOAT_EQ(x[1], 0.0f);
    CHECK_FLOAT_EQ(x[3], 0.5f);
    CHECK_FLOAT_EQ(x[5], 1.0f);
    CHECK_FLOAT_EQ(x[7], 0.25f);
    ac_dataset_free(ds);

    /* A single row: every column is constant. */
    const float one[] = {3.5f, -1.0f, 0.0f};
    CHECK_INT_EQ(ac_dataset_from_floats(one, 1, 3, NULL, &ds, NULL), AC_OK);
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_normalize_minmax(ds, NULL), AC_OK);
    x = ac_dataset_features(ds);
    for (int f = 0; f < 3; f++)
        CHECK_FLOAT_EQ(x[f], 0.0f);
    ac_dataset_free(ds);
}

/* ------------------------------------------------------- parse errors */

#define HDR "x,y,species\n"

static void csv_row_with_too_few_fields_is_a_parse_error_on_its_line(void)
{
    EXPECT_PARSE_ERROR(HDR "1,Iris-setosa\n", 2, 0, "2 fields (expected 3");
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa\n3\n", 3, 0, "1 field (expected 3");
}

static void csv_row_with_too_many_fields_is_a_parse_error_on_its_line(void)
{
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa\n1,2,3,Iris-setosa\n", 3, 0, "4 fields (expected 3");
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa,\n", 2, 0, "4 fields");
}

static void csv_non_number_is_a_parse_error_on_its_line_and_column(void)
{
    EXPECT_PARSE_ERROR(HDR "1,abc,Iris-setosa\n", 2, 2, "'abc' is not a number");
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa\n3,4,Iris-setosa\nabc,4,Iris-setosa\n", 4, 1,
                       "column 1 (x): 'abc' is not a number");
    EXPECT_PARSE_ERROR(HDR "1,-,Iris-setosa\n", 2, 2, "is not a number");
    EXPECT_PARSE_ERROR(HDR "1,.,Iris-setosa\n", 2, 2, "is not a number");
    EXPECT_PARSE_ERROR(HDR "1,1e,Iris-setosa\n", 2, 2, "is not a number");
    EXPECT_PARSE_ERROR(HDR "1,1 2,Iris-setosa\n", 2, 2, "is not a number");
}

static void csv_empty_cell_is_a_parse_error_on_its_line_and_column(void)
{
    EXPECT_PARSE_ERROR(HDR "1,,Iris-setosa\n", 2, 2, "'' is empty");
    EXPECT_PARSE_ERROR(HDR " \t,2,Iris-setosa\n", 2, 1, "is empty");
}

static void csv_nan_and_inf_are_parse_errors(void)
{
    EXPECT_PARSE_ERROR(HDR "nan,2,Iris-setosa\n", 2, 1, "'nan' is not a number");
    EXPECT_PARSE_ERROR(HDR "1,NaN,Iris-setosa\n", 2, 2, "'NaN' is not a number");
    EXPECT_PARSE_ERROR(HDR "1,inf,Iris-setosa\n", 2, 2, "'inf' is not a number");
    EXPECT_PARSE_ERROR(HDR "1,-Infinity,Iris-setosa\n", 2, 2, "is not a number");
}

static void csv_number_beyond_float_range_is_a_parse_error(void)
{
    EXPECT_PARSE_ERROR(HDR "1,1e39,Iris-setosa\n", 2, 2,
                       "'1e39' is beyond the range of a 32-bit float");
    EXPECT_PARSE_ERROR(HDR "-1e39,1,Iris-setosa\n", 2, 1, "beyond the range of a 32-bit float");
    /* Finite as a double, not as a float. */
    EXPECT_PARSE_ERROR(HDR "1,3.5e38,Iris-setosa\n", 2, 2, "beyond the range");
}

static void csv_hex_float_and_double_point_are_parse_errors(void)
{
    EXPECT_PARSE_ERROR(HDR "0x1p3,2,Iris-setosa\n", 2, 1, "'0x1p3' is not a number");
    EXPECT_PARSE_ERROR(HDR "1,1.2.3,Iris-setosa\n", 2, 2, "'1.2.3' is not a number");
}

static void csv_overlong_number_is_a_parse_error_not_truncated(void)
{
    char text[256];
    strcpy(text, HDR "0.");
    size_t n = strlen(text);
    for (int i = 0; i < 120; i++)
        text[n++] = '1';
    text[n] = '\0';
    strcat(text, ",2,Iris-setosa\n");
    EXPECT_PARSE_ERROR(text, 2, 1, "is too long for a number");
}

static void csv_with_unknown_species_is_a_parse_error_on_its_line(void)
{
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa\n1,2,Iris-foo\n", 3, 3,
                       "unknown species 'Iris-foo'");
    EXPECT_PARSE_ERROR(HDR "1,2,iris-setosa\n", 2, 3, "unknown species 'iris-setosa'");
    EXPECT_PARSE_ERROR(HDR "1,2,\n", 2, 3, "unknown species ''");
    /* A known name with more after it, or a prefix of one, is not that name. */
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosax\n", 2, 3, "unknown species 'Iris-setosax'");
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa x\n", 2, 3, "unknown species 'Iris-setosa x'");
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-set\n", 2, 3, "unknown species 'Iris-set'");
}

static void empty_csv_text_is_a_parse_error_on_line_1(void)
{
    EXPECT_PARSE_ERROR("", 1, 0, "empty file");
    expect_parse_error_n("x,y,species\n", 0, 1, 0, "empty file", __LINE__);
}

static void csv_header_without_data_rows_is_a_parse_error_on_line_2(void)
{
    EXPECT_PARSE_ERROR("x,y,species\n", 2, 0, "no data rows");
    EXPECT_PARSE_ERROR("x,y,species", 2, 0, "no data rows");
    EXPECT_PARSE_ERROR("x,y,species\n\n \n", 2, 0, "no data rows");
}

static void csv_header_without_a_feature_column_is_a_parse_error_on_line_1(void)
{
    EXPECT_PARSE_ERROR("species\nIris-setosa\n", 1, 0, "the header has 1 field");
}

static void csv_blank_line_among_the_rows_is_a_parse_error_on_its_line(void)
{
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa\n\n3,4,Iris-setosa\n", 3, 0, "blank line");
    EXPECT_PARSE_ERROR(HDR "1,2,Iris-setosa\n \t\r\n3,4,Iris-setosa\n", 3, 0, "blank line");
    EXPECT_PARSE_ERROR(HDR "\n1,2,Iris-setosa\n", 2, 0, "blank line");
}

static void csv_with_a_nul_byte_is_a_parse_error_on_its_line(void)
{
    static const char text[] = "x,y,species\n1,2,Iris-setosa\n1,\0,Iris-setosa\n";
    expect_parse_error_n(text, sizeof text - 1, 3, 0, "NUL byte", __LINE__);
    static const char in_header[] = "x,\0y,species\n1,2,Iris-setosa\n";
    expect_parse_error_n(in_header, sizeof in_header - 1, 1, 0, "NUL byte", __LINE__);
}

static void csv_error_lines_count_physical_lines_with_crlf(void)
{
    EXPECT_PARSE_ERROR("x,y,species\r\n1,2,Iris-setosa\r\n3,zz,Iris-setosa\r\n", 3, 2,
                       "'zz' is not a number");
}

static void csv_parse_with_null_source_reports_an_empty_source(void)
{
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 'x', sizeof err);
    CHECK_INT_EQ(ac_dataset_parse_csv("", 0, NULL, &ds, &err), AC_ERR_PARSE);
    CHECK(ds == SENTINEL);
    CHECK(strcmp(err.source, "") == 0);
    const char *ok = HDR "1,2,Iris-setosa\n";
    ds = NULL;
    CHECK_INT_EQ(ac_dataset_parse_csv(ok, strlen(ok), NULL, &ds, NULL), AC_OK);
    if (ds) {
        CHECK(strcmp(ac_dataset_source(ds), "") == 0);
        ac_dataset_free(ds);
    }
}

/* ------------------------------------------------------ accepted quirks */

static void csv_accepts_crlf_spaces_tabs_exponents_and_no_final_newline(void)
{
    const char *text = "x , y ,species\r\n"
                       " 5e-1 ,\t+1.5E+0\t, Iris-setosa \r\n"
                       ".5,5.,\tIris-virginica\t\r\n"
                       "-0.25,3.14159,Iris-versicolor";
    ac_dataset *ds = parse_ok(text, strlen(text));
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_rows(ds), 3);
    CHECK_INT_EQ(ac_dataset_features_count(ds), 2);
    CHECK_INT_EQ(ac_dataset_classes(ds), 3);
    CHECK(strcmp(ac_dataset_source(ds), "ok.csv") == 0);
    const float *x = ac_dataset_features(ds);
    CHECK_FLOAT_EQ(x[0], 5e-1f);
    CHECK_FLOAT_EQ(x[1], 1.5f);
    CHECK_FLOAT_EQ(x[2], .5f);
    CHECK_FLOAT_EQ(x[3], 5.f);
    CHECK_FLOAT_EQ(x[4], -0.25f);
    CHECK_FLOAT_EQ(x[5], 3.14159f);
    const int32_t *l = ac_dataset_labels(ds);
    CHECK_INT_EQ(l[0], 0);
    CHECK_INT_EQ(l[1], 2);
    CHECK_INT_EQ(l[2], 1);
    ac_dataset_free(ds);
}

static void csv_accepts_trailing_blank_lines_at_the_end(void)
{
    const char *text = HDR "1,2,Iris-setosa\n3,4,Iris-versicolor\n\n\n \t\n\r\n";
    ac_dataset *ds = parse_ok(text, strlen(text));
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_rows(ds), 2);
    CHECK_INT_EQ(ac_dataset_classes(ds), 2);
    CHECK_FLOAT_EQ(ac_dataset_features(ds)[3], 4.0f);
    ac_dataset_free(ds);

    const char *crlf = "x,y,species\r\n1,2,Iris-virginica\r\n\r\n\r\n";
    ds = parse_ok(crlf, strlen(crlf));
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_rows(ds), 1);
    CHECK_INT_EQ(ac_dataset_classes(ds), 3);
    CHECK_INT_EQ(ac_dataset_labels(ds)[0], 2);
    ac_dataset_free(ds);
}

static void csv_numbers_parse_to_the_nearest_float(void)
{
    const char *text = HDR "0.1,16777217,Iris-setosa\n"
                           "1.00000001,-7.9E0,Iris-setosa\n"
                           "3.4028234e38,1e-3,Iris-setosa\n";
    ac_dataset *ds = parse_ok(text, strlen(text));
    if (!ds)
        return;
    const float *x = ac_dataset_features(ds);
    CHECK_FLOAT_EQ(x[0], 0.1f);
    CHECK_FLOAT_EQ(x[1], 16777217.0f); /* rounds to 16777216 */
    CHECK_FLOAT_EQ(x[2], 1.00000001f); /* rounds to 1 */
    CHECK_FLOAT_EQ(x[3], -7.9f);
    CHECK_FLOAT_EQ(x[4], 3.4028234e38f); /* FLT_MAX, still accepted */
    CHECK_FLOAT_EQ(x[5], 1e-3f);
    ac_dataset_free(ds);
}

/* ---------------------------------------------------------- file loader */

static void loading_a_missing_file_is_an_io_error_cannot_open(void)
{
    const char *path = "tests/fixtures/no-such-file.csv";
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_dataset_load_csv(path, &ds, &err), AC_ERR_IO);
    CHECK(ds == SENTINEL);
    CHECK_INT_EQ(err.status, AC_ERR_IO);
    CHECK(strcmp(err.source, path) == 0);
    CHECK_INT_EQ(err.line, 0);
    CHECK_INT_EQ(err.column, 0);
    CHECK_STR_CONTAINS(err.message, "cannot open");
    CHECK_INT_EQ(ac_dataset_load_csv(path, &ds, NULL), AC_ERR_IO);
    CHECK(ds == SENTINEL);
}

static void loading_a_directory_is_an_io_error_cannot_read(void)
{
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_dataset_load_csv("tests", &ds, &err), AC_ERR_IO);
    CHECK(ds == SENTINEL);
    CHECK_INT_EQ(err.status, AC_ERR_IO);
    CHECK(strcmp(err.source, "tests") == 0);
    CHECK_STR_CONTAINS(err.message, "cannot read");
    CHECK_INT_EQ(ac_dataset_load_csv("tests", &ds, NULL), AC_ERR_IO);
    CHECK(ds == SENTINEL);
}

/* --------------------------------------------------------- from_floats */

static void from_floats_copies_the_features_and_labels(void)
{
    float src[6] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
    int32_t lab[3] = {0, 2, 2};
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(src, 3, 2, lab, &ds, NULL), AC_OK);
    if (!ds)
        return;
    src[0] = -100.0f;
    src[5] = -100.0f;
    lab[1] = 7;
    CHECK_INT_EQ(ac_dataset_rows(ds), 3);
    CHECK_INT_EQ(ac_dataset_features_count(ds), 2);
    CHECK_INT_EQ(ac_dataset_classes(ds), 3);
    CHECK(strcmp(ac_dataset_source(ds), "memory") == 0);
    const float *x = ac_dataset_features(ds);
    CHECK(x != src);
    CHECK_FLOAT_EQ(x[0], 1.0f);
    CHECK_FLOAT_EQ(x[5], 6.0f);
    const int32_t *l = ac_dataset_labels(ds);
    CHECK(l != NULL && l != lab);
    if (l) {
        CHECK_INT_EQ(l[0], 0);
        CHECK_INT_EQ(l[1], 2);
        CHECK_INT_EQ(l[2], 2);
    }
    ac_dataset_free(ds);
}

static void from_floats_without_labels_has_no_labels_and_0_classes(void)
{
    const float src[2] = {1.0f, 2.0f};
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(src, 2, 1, NULL, &ds, NULL), AC_OK);
    if (!ds)
        return;
    CHECK(ac_dataset_labels(ds) == NULL);
    CHECK_INT_EQ(ac_dataset_classes(ds), 0);
    CHECK_INT_EQ(ac_dataset_rows(ds), 2);
    ac_dataset_free(ds);
}

static void from_floats_class_count_is_the_largest_label_plus_one(void)
{
    const float src[3] = {0.0f, 1.0f, 2.0f};
    const int32_t lab[3] = {5, 0, 1};
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(src, 3, 1, lab, &ds, NULL), AC_OK);
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_classes(ds), 6);
    ac_dataset_free(ds);
    const int32_t zeros[3] = {0, 0, 0};
    CHECK_INT_EQ(ac_dataset_from_floats(src, 3, 1, zeros, &ds, NULL), AC_OK);
    if (!ds)
        return;
    CHECK_INT_EQ(ac_dataset_classes(ds), 1);
    ac_dataset_free(ds);
}

static void from_floats_rejects_a_non_finite_feature_naming_its_row(void)
{
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        float src[8] = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f};
        src[5] = bad[k]; /* row 2 (index), column 1 (index) */
        ac_dataset *ds = SENTINEL;
        ac_error err;
        memset(&err, 0, sizeof err);
        CHECK_INT_EQ(ac_dataset_from_floats(src, 4, 2, NULL, &ds, &err), AC_ERR_DATA);
        CHECK(ds == SENTINEL);
        CHECK_INT_EQ(err.status, AC_ERR_DATA);
        CHECK_INT_EQ(err.line, 3);   /* 1-based row */
        CHECK_INT_EQ(err.column, 2); /* 1-based feature */
        CHECK(strcmp(err.source, "memory") == 0);
        CHECK_STR_CONTAINS(err.message, "row 2"); /* the 0-based index, as the message says */
        CHECK_STR_CONTAINS(err.message, "expected a finite number");
        CHECK_INT_EQ(ac_dataset_from_floats(src, 4, 2, NULL, &ds, NULL), AC_ERR_DATA);
        CHECK(ds == SENTINEL);
    }
}

static void from_floats_rejects_a_negative_label(void)
{
    const float src[3] = {0.0f, 1.0f, 2.0f};
    const int32_t lab[3] = {0, 1, -1};
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_dataset_from_floats(src, 3, 1, lab, &ds, &err), AC_ERR_DATA);
    CHECK(ds == SENTINEL);
    CHECK_INT_EQ(err.status, AC_ERR_DATA);
    CHECK_INT_EQ(err.line, 3);
    CHECK_STR_CONTAINS(err.message, "is -1 (expected a label >= 0)");
}

static void from_floats_rejects_zero_rows_or_zero_features(void)
{
    const float src[1] = {1.0f};
    ac_dataset *ds = SENTINEL;
    ac_error err;
    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_dataset_from_floats(src, 0, 1, NULL, &ds, &err), AC_ERR_DATA);
    CHECK(ds == SENTINEL);
    CHECK_INT_EQ(err.status, AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "0 rows");
    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_dataset_from_floats(src, 1, 0, NULL, &ds, &err), AC_ERR_DATA);
    CHECK(ds == SENTINEL);
    CHECK_STR_CONTAINS(err.message, "0 features");
    CHECK_INT_EQ(ac_dataset_from_floats(src, 0, 1, NULL, &ds, NULL), AC_ERR_DATA);
    CHECK(ds == SENTINEL);
}

/* --------------------------------------------------- allocation failure */

/* Calls `load` with the nth allocation failing, for n = 1, 2, ... until it
 * succeeds: each failure must be AC_ERR_NOMEM with the out-pointer untouched
 * (ASan reports any leak). Returns how many failures were injected. */
typedef ac_status (*loader)(ac_dataset **out, ac_error *err);

static size_t fail_each_allocation_in_turn(loader load, size_t expect_rows)
{
    size_t n, injected = 0;
    int succeeded = 0;
    for (n = 1; n <= 64; n++) {
        ac_dataset *ds = SENTINEL;
        ac_error err;
        memset(&err, 0, sizeof err);
        ac_alloc_fail_at(n);
        ac_status st = load(&ds, &err);
        ac_alloc_fail_at(0);
        if (st == AC_OK) {
            CHECK(ds != SENTINEL && ds != NULL);
            if (ds && ds != SENTINEL) {
                CHECK_INT_EQ(ac_dataset_rows(ds), expect_rows);
                ac_dataset_free(ds);
            }
            succeeded = 1;
            break;
        }
        injected++;
        CHECK_INT_EQ(st, AC_ERR_NOMEM);
        CHECK_INT_EQ(err.status, AC_ERR_NOMEM);
        CHECK(ds == SENTINEL);
        if (st != AC_ERR_NOMEM)
            fprintf(stderr, "  failing allocation %zu: %s\n", n, err.message);
    }
    CHECK(succeeded);
    return injected;
}

static ac_status load_small_csv(ac_dataset **out, ac_error *err)
{
    const char *text = HDR "1,2,Iris-setosa\n3,4,Iris-virginica\n";
    return ac_dataset_parse_csv(text, strlen(text), "small.csv", out, err);
}

static ac_status load_iris_file(ac_dataset **out, ac_error *err)
{
    return ac_dataset_load_csv(IRIS_PATH, out, err);
}

static ac_status load_from_floats(ac_dataset **out, ac_error *err)
{
    static const float src[4] = {1.0f, 2.0f, 3.0f, 4.0f};
    static const int32_t lab[2] = {0, 1};
    return ac_dataset_from_floats(src, 2, 2, lab, out, err);
}

static void every_failed_allocation_is_reported_as_nomem_without_leaks(void)
{
    size_t injected = fail_each_allocation_in_turn(load_small_csv, 2);
    CHECK(injected >= 2); /* at least the dataset and its features */
    injected = fail_each_allocation_in_turn(ac_dataset_load_builtin_iris, 150);
    CHECK(injected >= 3); /* the text, the dataset, its features */
    injected = fail_each_allocation_in_turn(load_iris_file, 150);
    CHECK(injected >= 3); /* the read buffer, the dataset, its features */
    injected = fail_each_allocation_in_turn(load_from_floats, 2);
    CHECK(injected >= 2);
    ac_alloc_fail_at(0);

    /* Disabled again: a plain parse succeeds. */
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(load_small_csv(&ds, NULL), AC_OK);
    ac_dataset_free(ds);
}

static void iris_builtin_text_returns_null_when_out_of_memory(void)
{
    size_t length = 12345;
    ac_alloc_fail_at(1);
    char *text = iris_builtin_text(&length);
    ac_alloc_fail_at(0);
    CHECK(text == NULL);
    ac_free(text);
}

static void dataset_free_of_null_is_a_no_op(void)
{
    ac_dataset_free(NULL);
    CHECK(1);
}

int main(void)
{
    RUN_TEST(iris_csv_loads_150_rows_of_4_features_in_3_classes_in_file_order);
    RUN_TEST(builtin_iris_is_byte_identical_to_data_iris_csv_and_parses_the_same);
    RUN_TEST(minmax_maps_each_iris_column_min_to_0_and_max_to_1_exactly);
    RUN_TEST(minmax_maps_a_constant_column_to_exactly_0_without_nan);
    RUN_TEST(csv_row_with_too_few_fields_is_a_parse_error_on_its_line);
    RUN_TEST(csv_row_with_too_many_fields_is_a_parse_error_on_its_line);
    RUN_TEST(csv_non_number_is_a_parse_error_on_its_line_and_column);
    RUN_TEST(csv_empty_cell_is_a_parse_error_on_its_line_and_column);
    RUN_TEST(csv_nan_and_inf_are_parse_errors);
    RUN_TEST(csv_number_beyond_float_range_is_a_parse_error);
    RUN_TEST(csv_hex_float_and_double_point_are_parse_errors);
    RUN_TEST(csv_overlong_number_is_a_parse_error_not_truncated);
    RUN_TEST(csv_with_unknown_species_is_a_parse_error_on_its_line);
    RUN_TEST(empty_csv_text_is_a_parse_error_on_line_1);
    RUN_TEST(csv_header_without_data_rows_is_a_parse_error_on_line_2);
    RUN_TEST(csv_header_without_a_feature_column_is_a_parse_error_on_line_1);
    RUN_TEST(csv_blank_line_among_the_rows_is_a_parse_error_on_its_line);
    RUN_TEST(csv_with_a_nul_byte_is_a_parse_error_on_its_line);
    RUN_TEST(csv_error_lines_count_physical_lines_with_crlf);
    RUN_TEST(csv_parse_with_null_source_reports_an_empty_source);
    RUN_TEST(csv_accepts_crlf_spaces_tabs_exponents_and_no_final_newline);
    RUN_TEST(csv_accepts_trailing_blank_lines_at_the_end);
    RUN_TEST(csv_numbers_parse_to_the_nearest_float);
    RUN_TEST(loading_a_missing_file_is_an_io_error_cannot_open);
    RUN_TEST(loading_a_directory_is_an_io_error_cannot_read);
    RUN_TEST(from_floats_copies_the_features_and_labels);
    RUN_TEST(from_floats_without_labels_has_no_labels_and_0_classes);
    RUN_TEST(from_floats_class_count_is_the_largest_label_plus_one);
    RUN_TEST(from_floats_rejects_a_non_finite_feature_naming_its_row);
    RUN_TEST(from_floats_rejects_a_negative_label);
    RUN_TEST(from_floats_rejects_zero_rows_or_zero_features);
    RUN_TEST(every_failed_allocation_is_reported_as_nomem_without_leaks);
    RUN_TEST(iris_builtin_text_returns_null_when_out_of_memory);
    RUN_TEST(dataset_free_of_null_is_a_no_op);
    TEST_MAIN_END();
}
