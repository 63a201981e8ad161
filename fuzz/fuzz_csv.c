/*
 * fuzz_csv.c - libFuzzer harness for the CSV reader (src/csv.c).
 *
 * Each input is parsed twice with ac_dataset_parse_csv: once with the
 * default options (what `attncluster --data FILE` does), and once with
 * options chosen by the input's first byte (the rest of the input is the
 * text):
 *   bits 0-1  header: auto, forced yes, forced no (3 = auto)
 *   bit 2     no_label
 *   bit 3     drop_missing
 *   bits 4-5  1: label "1" (the first column, by index); 2: features
 *             {"2", "1"} (by index, in that order); 3: label "species" and
 *             features {"sepal_length", "3"} (by name and index)
 *   bit 6     then normalise min-max, bit 7: z-score (both: min-max)
 * A data set that loads must keep the library's promises (finite features,
 * labels below the class count, a name for every feature and label); a
 * broken promise aborts, so that the fuzzer records the input. Everything
 * is freed: LeakSanitizer checks it.
 *
 * Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined) and, with
 * the replay driver fuzz/replay.c, by `make test` (tests/test_fuzz_csv.c).
 */
#include "attncluster.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts unless the loaded set keeps what the header promises. */
static void check_dataset(const ac_dataset *ds)
{
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    const float *x = ac_dataset_features(ds);
    const int32_t *labels = ac_dataset_labels(ds);
    size_t C = ac_dataset_classes(ds);
    if (N == 0 || F == 0 || !x || !ac_dataset_source(ds))
        abort();
    for (size_t i = 0; i < N * F; i++)
        if (!isfinite(x[i]))
            abort();
    for (size_t f = 0; f < F; f++) {
        const char *name = ac_dataset_feature_name(ds, f);
        if (!name)
            abort();
        (void)strlen(name); /* ASan: a whole, terminated string */
    }
    if (ac_dataset_feature_name(ds, F) != NULL)
        abort();
    if (labels) {
        if (C == 0)
            abort();
        for (size_t i = 0; i < N; i++)
            if (labels[i] < 0 || (size_t)labels[i] >= C)
                abort();
        for (size_t c = 0; c < C; c++) {
            const char *name = ac_dataset_label_name(ds, c);
            if (!name)
                abort();
            (void)strlen(name);
        }
    } else if (C != 0) {
        abort();
    }
}

static void parse_one(const char *text, size_t length, const ac_csv_options *opt,
                      ac_normalization norm)
{
    ac_dataset *ds = NULL;
    ac_csv_report report;
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_dataset_parse_csv(text, length, "fuzz.csv", opt, &ds, &report, &err);
    if (st != AC_OK) {
        /* Failure: no data set, and a message that is a terminated string. */
        if (ds != NULL || err.status != st || memchr(err.message, '\0', sizeof err.message) == NULL ||
            memchr(err.column_name, '\0', sizeof err.column_name) == NULL)
            abort();
        return;
    }
    if (!ds)
        abort();
    check_dataset(ds);
    if (report.label_column < 0 ||
        memchr(report.ignored_first, '\0', sizeof report.ignored_first) == NULL)
        abort();
    if (norm != AC_NORMALIZE_NONE && ac_dataset_normalize(ds, norm, &err) == AC_OK) {
        /* Every scaled value is used as it is by training: it must at least
         * be there (ASan), whatever its value (see fuzz/README.md). */
        const float *x = ac_dataset_features(ds);
        volatile float sum = 0.0f;
        for (size_t i = 0; i < ac_dataset_rows(ds) * ac_dataset_features_count(ds); i++)
            sum += x[i];
        (void)sum;
    }
    ac_dataset_free(ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The defaults over the whole input. */
    parse_one((const char *)data, size, NULL, AC_NORMALIZE_NONE);
    if (size == 0)
        return 0;

    /* A variant chosen by the first byte over the rest. */
    unsigned b = data[0];
    static const char *const features[] = {"2", "1"};
    static const char *const named[] = {"sepal_length", "3"};
    ac_csv_options opt = ac_csv_options_default();
    static const ac_header_mode headers[] = {AC_HEADER_AUTO, AC_HEADER_YES, AC_HEADER_NO,
                                             AC_HEADER_AUTO};
    opt.header = headers[b & 3];
    opt.no_label = (b >> 2) & 1;
    opt.drop_missing = (b >> 3) & 1;
    switch ((b >> 4) & 3) {
    case 1: opt.label = "1"; break;
    case 2:
        opt.features = features;
        opt.n_features = 2;
        break;
    case 3:
        opt.label = "species";
        opt.features = named;
        opt.n_features = 2;
        break;
    }
    ac_normalization norm = (b & 64)    ? AC_NORMALIZE_MINMAX
                            : (b & 128) ? AC_NORMALIZE_ZSCORE
                                        : AC_NORMALIZE_NONE;
    /* An exact-size copy, so that ASan sees a read past the end. */
    char *text = malloc(size - 1 ? size - 1 : 1);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    parse_one(text, size - 1, &opt, norm);
    free(text);
    return 0;
}
