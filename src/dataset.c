/*
 * dataset.c - data sets: N rows of F float features with optional integer
 * labels, the names of the features and labels, and the scaling applied to
 * the features (min-max, as the chapter does). Reading CSV text is csv.c's.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

ac_status dataset_alloc(size_t n, size_t f, int labelled, const char *source, ac_dataset **out,
                        ac_error *err)
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
    ds->feature_names = ac_calloc(f, sizeof(char *));
    if (!ds->x || (labelled && !ds->labels) || !ds->feature_names) {
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
    strings_free(ds->feature_names, ds->f);
    strings_free(ds->label_names, ds->n_label_names);
    ac_free(ds->norm_shift);
    ac_free(ds->norm_scale);
    ac_free(ds);
}

size_t ac_dataset_rows(const ac_dataset *ds) { return ds->n; }
size_t ac_dataset_features_count(const ac_dataset *ds) { return ds->f; }
const float *ac_dataset_features(const ac_dataset *ds) { return ds->x; }
const int32_t *ac_dataset_labels(const ac_dataset *ds) { return ds->labels; }
size_t ac_dataset_classes(const ac_dataset *ds) { return ds->classes; }
const char *ac_dataset_source(const ac_dataset *ds) { return ds->source; }

const char *ac_dataset_feature_name(const ac_dataset *ds, size_t f)
{
    return f < ds->f ? ds->feature_names[f] : NULL;
}

const char *ac_dataset_label_name(const ac_dataset *ds, size_t id)
{
    return id < ds->n_label_names ? ds->label_names[id] : NULL;
}

/* Names "feature_1" .. "feature_F" for data that came without a header. */
static ac_status default_feature_names(ac_dataset *ds, ac_error *err)
{
    for (size_t f = 0; f < ds->f; f++) {
        char name[32];
        snprintf(name, sizeof name, "feature_%zu", f + 1);
        if (!(ds->feature_names[f] = string_copy(name)))
            return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    }
    return AC_OK;
}

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
    if ((st = default_feature_names(ds, err)) != AC_OK) {
        ac_dataset_free(ds);
        return st;
    }
    memcpy(ds->x, features, n_rows * n_features * sizeof(float));
    if (labels)
        memcpy(ds->labels, labels, n_rows * sizeof(int32_t));
    ds->classes = classes;
    *out = ds;
    return AC_OK;
}

ac_status ac_dataset_set_names(ac_dataset *ds, const char *const *feature_names,
                               const char *const *label_names, size_t n_label_names,
                               ac_error *err)
{
    if (label_names && n_label_names < ds->classes)
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "%zu label names for %zu classes (expected at least %zu)",
                            n_label_names, ds->classes, ds->classes);
    char **features = NULL, **labels = NULL;
    if (feature_names && !(features = strings_copy(feature_names, ds->f)))
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    if (label_names && !(labels = strings_copy(label_names, n_label_names))) {
        strings_free(features, ds->f);
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    }
    if (features) {
        strings_free(ds->feature_names, ds->f);
        ds->feature_names = features;
    }
    if (labels) {
        strings_free(ds->label_names, ds->n_label_names);
        ds->label_names = labels;
        ds->n_label_names = n_label_names;
    }
    return AC_OK;
}

/* ------------------------------------------------------------ normalisation */

ac_status ac_dataset_normalize(ac_dataset *ds, ac_normalization kind, ac_error *err)
{
    size_t N = ds->n, F = ds->f;
    if (kind == AC_NORMALIZE_NONE)
        return AC_OK;
    if (kind != AC_NORMALIZE_MINMAX && kind != AC_NORMALIZE_ZSCORE)
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "unknown normalisation %d (expected minmax, zscore or none)",
                            (int)kind);
    if (ds->norm_shift || ds->prepared)
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "the data is normalised already (expected raw data: normalising "
                            "twice would lose the fit's units)");
    float *shift = ac_alloc(F * sizeof(float)), *scale = ac_alloc(F * sizeof(float));
    if (!shift || !scale) {
        ac_free(shift);
        ac_free(scale);
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    }
    for (size_t f = 0; f < F; f++) {
        if (kind == AC_NORMALIZE_MINMAX) {
            float min = ds->x[f], max = ds->x[f];
            for (size_t i = 1; i < N; i++) {
                float v = ds->x[i * F + f];
                min = v < min ? v : min;
                max = v > max ? v : max;
            }
            shift[f] = min;
            scale[f] = max - min;
            if (!isfinite(scale[f])) {
                ac_free(shift);
                ac_free(scale);
                return ac_set_error(err, AC_ERR_DATA, ds->source, 0, (long)f + 1,
                                    "feature '%s' spans %g to %g, a range a 32-bit float "
                                    "cannot hold (expected smaller values, or --normalize "
                                    "none)",
                                    ds->feature_names[f] ? ds->feature_names[f] : "?",
                                    (double)min, (double)max);
            }
        } else {
            /* Mean and population standard deviation, two passes in double
             * (the one-pass form cancels when |mean| >> std). */
            double mean = 0.0, var = 0.0;
            for (size_t i = 0; i < N; i++)
                mean += (double)ds->x[i * F + f];
            mean /= (double)N;
            for (size_t i = 0; i < N; i++) {
                double d = (double)ds->x[i * F + f] - mean;
                var += d * d;
            }
            shift[f] = (float)mean;
            scale[f] = (float)sqrt(var / (double)N);
            if (!isfinite(scale[f])) {
                ac_free(shift);
                ac_free(scale);
                return ac_set_error(err, AC_ERR_DATA, ds->source, 0, (long)f + 1,
                                    "feature '%s' has a spread a 32-bit float cannot hold "
                                    "(expected smaller values, or --normalize none)",
                                    ds->feature_names[f] ? ds->feature_names[f] : "?");
            }
        }
    }
    normalize_apply(ds->x, N, F, shift, scale);
    ds->norm_kind = kind;
    ds->norm_shift = shift;
    ds->norm_scale = scale;
    return AC_OK;
}

void normalize_apply(float *x, size_t N, size_t F, const float *shift, const float *scale)
{
    for (size_t i = 0; i < N; i++)
        for (size_t f = 0; f < F; f++) {
            float *v = &x[i * F + f];
            /* A constant column has scale 0; the chapter would divide 0 by 0
             * and train on NaN. It carries no information, so map it to 0. */
            *v = scale[f] > 0.0f ? (*v - shift[f]) / scale[f] : 0.0f;
        }
}

/* ------------------------------------------------------- matching a model */

ac_status ac_dataset_prepare_for_model(ac_dataset *ds, const ac_model *m, ac_error *err)
{
    size_t F = (size_t)m->F, N = ds->n;
    if (ds->norm_shift || ds->prepared)
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "the data is already normalised (expected raw data: the model "
                            "applies its own normalisation)");
    /* Find each of the model's features by name. */
    size_t *column = ac_alloc(F * sizeof(size_t));
    if (!column)
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    for (size_t f = 0; f < F; f++) {
        size_t c = 0;
        while (c < ds->f && strcmp(ds->feature_names[c], m->feature_names[f]) != 0)
            c++;
        if (c == ds->f) {
            ac_free(column);
            return ac_set_error(err, AC_ERR_DATA, ds->source, 1, 0,
                                "no column named '%s' (expected every feature the model was "
                                "trained on, found by the header's names)",
                                m->feature_names[f]);
        }
        column[f] = c;
    }

    /* Everything new is built first, so that a failure leaves ds as it was. */
    int relabel = ds->labels && ds->label_names && m->n_labels > 0;
    float *x = ac_alloc(N * F * sizeof(float));
    char **names = strings_copy((const char *const *)m->feature_names, F);
    int32_t *labels = relabel ? ac_alloc(N * sizeof(int32_t)) : NULL;
    int32_t *map = relabel ? ac_alloc(ds->n_label_names * sizeof(int32_t)) : NULL;
    char **label_names = relabel ? ac_calloc(m->n_labels + ds->n_label_names, sizeof(char *))
                                 : NULL;
    size_t n_label_names = 0;
    ac_status st = AC_OK;
    if (!x || !names || (relabel && (!labels || !map || !label_names))) {
        st = ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < N; i++)
        for (size_t f = 0; f < F; f++)
            x[i * F + f] = ds->x[i * ds->f + column[f]];
    if (m->normalization != AC_NORMALIZE_NONE)
        normalize_apply(x, N, F, m->norm_shift, m->norm_scale);

    size_t classes = 0;
    if (relabel) {
        /* The model's label ids by name; a label the model never saw gets an
         * id past the model's, so it can never count as a hit. */
        for (; n_label_names < m->n_labels; n_label_names++)
            if (!(label_names[n_label_names] = string_copy(m->label_names[n_label_names]))) {
                st = ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
                goto done;
            }
        for (size_t l = 0; l < ds->n_label_names; l++) {
            size_t id = 0;
            while (id < m->n_labels && strcmp(m->label_names[id], ds->label_names[l]) != 0)
                id++;
            if (id == m->n_labels) {
                id = n_label_names;
                if (!(label_names[n_label_names++] = string_copy(ds->label_names[l]))) {
                    st = ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
                    goto done;
                }
            }
            map[l] = (int32_t)id;
        }
        for (size_t i = 0; i < N; i++) {
            labels[i] = map[ds->labels[i]];
            if ((size_t)labels[i] + 1 > classes)
                classes = (size_t)labels[i] + 1;
        }
    }

    /* Commit. */
    ac_free(ds->x);
    ds->x = x, x = NULL;
    strings_free(ds->feature_names, ds->f);
    ds->feature_names = names, names = NULL;
    ds->f = F;
    if (relabel) {
        ac_free(ds->labels);
        ds->labels = labels, labels = NULL;
        ds->classes = classes;
        strings_free(ds->label_names, ds->n_label_names);
        ds->label_names = label_names, label_names = NULL;
        ds->n_label_names = n_label_names;
    }
    ds->prepared = 1;

done:
    ac_free(column);
    ac_free(x);
    strings_free(names, F);
    ac_free(labels);
    ac_free(map);
    strings_free(label_names, n_label_names);
    return st;
}
