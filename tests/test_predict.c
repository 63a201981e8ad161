/*
 * test_predict.c - prediction on new data: with the reference context a
 * row's cluster and probabilities do not depend on the rows passed with it
 * or on their order; data is matched to the model by column name and scaled
 * with the model's stored normalisation; the reference rows of a large
 * training set are a stratified sample.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

static ac_model *iris_model(int epochs)
{
    ac_dataset *ds = NULL;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = epochs;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, NULL), AC_OK);
    ac_dataset_free(ds);
    return m;
}

static ac_dataset *iris_for(const ac_model *m)
{
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_prepare_for_model(ds, m, NULL), AC_OK);
    return ds;
}

/* Shuffled, class-sorted, reversed or one at a time: every row gets the
 * same cluster and bit-identical probabilities with the reference context. */
static void reference_context_predictions_do_not_depend_on_the_other_rows(void)
{
    ac_model *m = iris_model(20);
    ac_dataset *ds = iris_for(m);
    size_t n = ac_dataset_rows(ds), F = 4, K = 3;
    const float *x = ac_dataset_features(ds);
    int32_t *base = malloc(n * sizeof *base), *other = malloc(n * sizeof *other);
    float *pbase = malloc(n * K * sizeof(float)), *pother = malloc(n * K * sizeof(float));
    float *shuffled = malloc(n * F * sizeof(float));
    uint32_t *perm = malloc(n * sizeof *perm);
    CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_REFERENCE, base, pbase, NULL), AC_OK);

    ac_rng rng;
    ac_rng_seed(&rng, 5);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    ac_rng_shuffle(&rng, perm, n);
    for (size_t i = 0; i < n; i++)
        memcpy(shuffled + i * F, x + perm[i] * F, F * sizeof(float));
    CHECK_INT_EQ(ac_model_predict(m, shuffled, n, AC_CONTEXT_REFERENCE, other, pother, NULL),
                 AC_OK);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT_EQ(other[i], base[perm[i]]);
        CHECK(memcmp(pother + i * K, pbase + perm[i] * K, K * sizeof(float)) == 0);
    }
    for (size_t i = 0; i < n; i++) {
        int32_t alone;
        float palone[3];
        CHECK_INT_EQ(ac_model_predict(m, x + i * F, 1, AC_CONTEXT_REFERENCE, &alone, palone, NULL),
                     AC_OK);
        CHECK_INT_EQ(alone, base[i]);
        CHECK(memcmp(palone, pbase + i * K, K * sizeof(float)) == 0);
    }
    /* Chunks of one class (the case where the chapter's batch attention does
     * worst): the same answers again. */
    for (size_t start = 0; start < n; start += 32) {
        size_t len = n - start < 32 ? n - start : 32;
        CHECK_INT_EQ(ac_model_predict(m, x + start * F, len, AC_CONTEXT_REFERENCE, other, NULL,
                                      NULL),
                     AC_OK);
        for (size_t i = 0; i < len; i++)
            CHECK_INT_EQ(other[i], base[start + i]);
    }
    free(base), free(other), free(pbase), free(pother), free(shuffled), free(perm);
    ac_dataset_free(ds);
    ac_model_free(m);
}

/* More rows than one chunk of the reference path: the same answers as
 * predicting each row alone. */
static void reference_context_handles_more_rows_than_a_chunk(void)
{
    ac_model *m = iris_model(2);
    size_t n = 2500, F = 4;
    float *x = malloc(n * F * sizeof(float));
    ac_rng rng;
    ac_rng_seed(&rng, 9);
    for (size_t i = 0; i < n * F; i++)
        x[i] = (float)ac_rng_uniform(&rng);
    int32_t *all = malloc(n * sizeof *all);
    CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_REFERENCE, all, NULL, NULL), AC_OK);
    for (size_t i = 0; i < n; i += 97) {
        int32_t one;
        CHECK_INT_EQ(ac_model_predict(m, x + i * F, 1, AC_CONTEXT_REFERENCE, &one, NULL, NULL),
                     AC_OK);
        CHECK_INT_EQ(one, all[i]);
    }
    free(x), free(all);
    ac_model_free(m);
}

/* Columns in another order, an extra column, and labels named differently
 * ordered: matched by name, scaled with the model's stored fit. */
static void data_is_matched_by_column_name_and_scaled_with_the_stored_fit(void)
{
    ac_model *m = iris_model(1);
    const char *csv = "petal_width,extra,sepal_length,petal_length,sepal_width,species\n"
                      "0.2,99,5.1,1.4,3.5,Iris-virginica\n"
                      "2.5,-7,7.9,6.9,4.4,Iris-setosa\n";
    ac_dataset *ds = NULL;
    ac_error err;
    CHECK_INT_EQ(ac_dataset_parse_csv(csv, strlen(csv), "t.csv", NULL, &ds, NULL, &err), AC_OK);
    CHECK_INT_EQ(ac_dataset_prepare_for_model(ds, m, &err), AC_OK);
    CHECK_INT_EQ(ac_dataset_features_count(ds), 4);
    const float *x = ac_dataset_features(ds);
    const float *min, *range;
    CHECK_INT_EQ(ac_model_normalization(m, &min, &range), AC_NORMALIZE_MINMAX);
    const float raw[2][4] = {{5.1f, 3.5f, 1.4f, 0.2f}, {7.9f, 4.4f, 6.9f, 2.5f}};
    for (int i = 0; i < 2; i++)
        for (int f = 0; f < 4; f++)
            CHECK(x[i * 4 + f] == (raw[i][f] - min[f]) / range[f]);
    CHECK_NEAR(x[4 + 0], 1.0, 1e-6); /* 7.9 is the training maximum */
    CHECK(strcmp(ac_dataset_feature_name(ds, 0), "sepal_length") == 0);
    const int32_t *labels = ac_dataset_labels(ds);
    CHECK_INT_EQ(labels[0], 2);
    CHECK_INT_EQ(labels[1], 0);
    /* A second preparation would scale twice: refused. */
    CHECK_INT_EQ(ac_dataset_prepare_for_model(ds, m, &err), AC_ERR_INVALID);
    ac_dataset_free(ds);

    const char *missing = "sepal_length,sepal_width,petal_length,species\n"
                          "5.1,3.5,1.4,Iris-setosa\n";
    CHECK_INT_EQ(ac_dataset_parse_csv(missing, strlen(missing), "m.csv", NULL, &ds, NULL, &err), AC_OK);
    CHECK_INT_EQ(ac_dataset_prepare_for_model(ds, m, &err), AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "no column named 'petal_width'");
    CHECK_INT_EQ(ac_dataset_features_count(ds), 3); /* unchanged */
    ac_dataset_free(ds);

    /* Unlabelled data (the last column is a number) predicts too. */
    const char *unlabelled = "sepal_length,sepal_width,petal_length,petal_width\n"
                             "5.1,3.5,1.4,0.2\n";
    CHECK_INT_EQ(ac_dataset_parse_csv(unlabelled, strlen(unlabelled), "u.csv", NULL, &ds, NULL, &err),
                 AC_OK);
    CHECK(ac_dataset_labels(ds) == NULL);
    CHECK_INT_EQ(ac_dataset_prepare_for_model(ds, m, &err), AC_OK);
    int32_t cluster;
    CHECK_INT_EQ(ac_model_predict(m, ac_dataset_features(ds), 1, AC_CONTEXT_REFERENCE, &cluster,
                                  NULL, &err),
                 AC_OK);
    CHECK(cluster >= 0 && cluster < 3);
    ac_dataset_free(ds);
    ac_model_free(m);
}

/* 2,500 rows in classes of 2,000, 450 and 50: the reference rows are 1,000
 * in the same proportions (800, 180, 20), each a real training row. */
static void a_large_training_set_keeps_a_stratified_sample_of_reference_rows(void)
{
    size_t n = 2500, F = 2;
    float *x = malloc(n * F * sizeof(float));
    int32_t *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        y[i] = i < 2000 ? 0 : i < 2450 ? 1 : 2;
        x[i * F] = (float)i;
        x[i * F + 1] = (float)y[i];
    }
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(x, n, F, y, &ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = 1;
    p.hidden = 8;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, NULL), AC_OK);
    const float *ref;
    size_t R = ac_model_reference_rows(m, &ref);
    CHECK_INT_EQ(R, AC_MAX_REFERENCE_ROWS);
    size_t per_class[3] = {0, 0, 0};
    const float *scaled = ac_dataset_features(ds);
    for (size_t r = 0; r < R; r++) {
        /* Feature 1 is the class scaled to 0, 0.5, 1; feature 0 the row. */
        int c = (int)(ref[r * F + 1] * 2.0f + 0.5f);
        per_class[c]++;
        size_t row = (size_t)(ref[r * F] * 2499.0f + 0.5f);
        CHECK(row < n && scaled[row * F] == ref[r * F]);
        if (r > 0)
            CHECK(ref[r * F] > ref[(r - 1) * F]); /* kept in row order, no repeats */
    }
    CHECK_INT_EQ(per_class[0], 800);
    CHECK_INT_EQ(per_class[1], 180);
    CHECK_INT_EQ(per_class[2], 20);
    ac_model_free(m);
    ac_dataset_free(ds);
    free(x), free(y);
}

static void a_small_training_set_keeps_every_row_as_a_reference(void)
{
    ac_model *m = iris_model(1);
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    const float *ref;
    CHECK_INT_EQ(ac_model_reference_rows(m, &ref), 150);
    CHECK(memcmp(ref, ac_dataset_features(ds), 150 * 4 * sizeof(float)) == 0);
    ac_dataset_free(ds);
    ac_model_free(m);
}

/* Make each allocation along a prediction fail in turn (reading the data,
 * matching it to the model, predicting in both contexts, the streaming
 * path too): each failure is a clean AC_ERR_NOMEM, nothing leaks (the
 * sanitizer build checks), and the run after the last allocation works. */
static void every_allocation_failure_along_a_prediction_is_clean(void)
{
    ac_model *m = iris_model(1);
    size_t saved_min = ac_streaming_min_rows;
    for (int streaming = 0; streaming < 2; streaming++) {
        ac_streaming_min_rows = streaming ? 1 : (size_t)-1;
        int ok = 0;
        for (size_t n = 1; n < 200 && !ok; n++) {
            ac_dataset *ds = NULL;
            int32_t clusters[150];
            float probs[150 * 3];
            ac_alloc_fail_at(n);
            ac_status st = ac_dataset_load_builtin_iris(&ds, NULL);
            if (st == AC_OK)
                st = ac_dataset_prepare_for_model(ds, m, NULL);
            if (st == AC_OK)
                st = ac_model_predict(m, ds->x, 150, AC_CONTEXT_BATCH, clusters, probs, NULL);
            if (st == AC_OK)
                st = ac_model_predict(m, ds->x, 150, AC_CONTEXT_REFERENCE, clusters, probs,
                                      NULL);
            ac_alloc_fail_at(0);
            if (st == AC_OK)
                ok = 1;
            else
                CHECK_INT_EQ(st, AC_ERR_NOMEM);
            ac_dataset_free(ds);
        }
        CHECK(ok);
    }
    ac_streaming_min_rows = saved_min;
    ac_model_free(m);
}

int main(void)
{
    RUN_TEST(reference_context_predictions_do_not_depend_on_the_other_rows);
    RUN_TEST(reference_context_handles_more_rows_than_a_chunk);
    RUN_TEST(data_is_matched_by_column_name_and_scaled_with_the_stored_fit);
    RUN_TEST(a_large_training_set_keeps_a_stratified_sample_of_reference_rows);
    RUN_TEST(a_small_training_set_keeps_every_row_as_a_reference);
    RUN_TEST(every_allocation_failure_along_a_prediction_is_clean);
    TEST_MAIN_END();
}
