/*
 * test_evaluate.c - held-out evaluation: stratified splits and folds, no
 * test row reaching the training or the normalisation fit (the model a split
 * trains is the same whatever the test rows hold), test rows scored exactly
 * as `predict` would score them, and cluster profiles in the data's units.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

static ac_dataset *raw_iris(void)
{
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    return ds;
}

static void a_holdout_is_stratified_and_seeded(void)
{
    ac_dataset *ds = raw_iris();
    unsigned char a[150], b[150], c[150];
    CHECK_INT_EQ(ac_split_holdout(ds, 0.2, 42, a, NULL), AC_OK);
    CHECK_INT_EQ(ac_split_holdout(ds, 0.2, 42, b, NULL), AC_OK);
    CHECK_INT_EQ(ac_split_holdout(ds, 0.2, 43, c, NULL), AC_OK);
    CHECK(memcmp(a, b, 150) == 0);
    CHECK(memcmp(a, c, 150) != 0);
    size_t per_class[3] = {0, 0, 0};
    for (size_t i = 0; i < 150; i++)
        per_class[ac_dataset_labels(ds)[i]] += a[i];
    for (int k = 0; k < 3; k++)
        CHECK_INT_EQ(per_class[k], 10); /* round(0.2 · 50) of each species */
    ac_error err;
    CHECK_INT_EQ(ac_split_holdout(ds, 0.0, 42, a, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_split_holdout(ds, 1.0, 42, a, &err), AC_ERR_INVALID);
    ac_dataset_free(ds);
}

static void folds_are_stratified_and_cover_every_row_once(void)
{
    ac_dataset *ds = raw_iris();
    int32_t fold[150];
    CHECK_INT_EQ(ac_split_folds(ds, 7, 1, fold, NULL), AC_OK);
    size_t count[7][3];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < 150; i++) {
        CHECK(fold[i] >= 0 && fold[i] < 7);
        count[fold[i]][ac_dataset_labels(ds)[i]]++;
    }
    for (int f = 0; f < 7; f++) {
        size_t total = 0;
        for (int k = 0; k < 3; k++) {
            /* 50 rows of each class over 7 folds: 7 or 8 per fold. */
            CHECK(count[f][k] == 7 || count[f][k] == 8);
            total += count[f][k];
        }
        CHECK(total == 21 || total == 22);
    }
    ac_error err;
    CHECK_INT_EQ(ac_split_folds(ds, 1, 1, fold, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_split_folds(ds, 151, 1, fold, &err), AC_ERR_INVALID);
    ac_dataset_free(ds);
}

static int models_identical(const ac_model *a, const ac_model *b)
{
    return a->n_params == b->n_params &&
           memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0 &&
           memcmp(a->norm_shift, b->norm_shift, (size_t)a->F * sizeof(float)) == 0 &&
           memcmp(a->norm_scale, b->norm_scale, (size_t)a->F * sizeof(float)) == 0 &&
           a->n_reference == b->n_reference &&
           memcmp(a->reference_rows, b->reference_rows,
                  a->n_reference * (size_t)a->F * sizeof(float)) == 0;
}

/* Poison every test row (features far outside the data, labels swapped):
 * if any of it reached the training or the normalisation fit, the model
 * would change. It must be bit-identical, and fitted on the training rows
 * alone. */
static void no_test_row_reaches_the_training_or_the_normalisation_fit(void)
{
    ac_dataset *ds = raw_iris();
    unsigned char is_test[150];
    CHECK_INT_EQ(ac_split_holdout(ds, 0.3, 7, is_test, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = 30;
    ac_evaluation ev_clean, ev_poisoned;
    ac_model *clean = NULL, *poisoned = NULL;
    CHECK_INT_EQ(ac_evaluate_split(ds, is_test, &p, AC_NORMALIZE_MINMAX, &ev_clean, &clean, NULL),
                 AC_OK);
    for (size_t i = 0; i < 150; i++)
        if (is_test[i]) {
            for (size_t f = 0; f < 4; f++)
                ds->x[i * 4 + f] = 1000.0f + (float)f;
            ds->labels[i] = (ds->labels[i] + 1) % 3;
        }
    CHECK_INT_EQ(ac_evaluate_split(ds, is_test, &p, AC_NORMALIZE_MINMAX, &ev_poisoned, &poisoned,
                                   NULL),
                 AC_OK);
    CHECK(clean && poisoned && models_identical(clean, poisoned));
    CHECK_INT_EQ(ev_clean.train_rows, 105);
    CHECK_INT_EQ(ev_clean.test_rows, 45);
    if (clean) {
        /* The fit, the reference rows and the recorded row count are the
         * training rows' alone. */
        CHECK_INT_EQ(clean->training.rows, 105);
        CHECK_INT_EQ(clean->n_reference, 105);
        ac_dataset *raw = raw_iris(), *train = NULL;
        CHECK_INT_EQ(ac_dataset_subset(raw, is_test, 0, &train, NULL), AC_OK);
        CHECK_INT_EQ(ac_dataset_normalize(train, AC_NORMALIZE_MINMAX, NULL), AC_OK);
        CHECK(memcmp(train->norm_shift, clean->norm_shift, 4 * sizeof(float)) == 0);
        CHECK(memcmp(train->norm_scale, clean->norm_scale, 4 * sizeof(float)) == 0);
        CHECK(memcmp(train->x, clean->reference_rows, 105 * 4 * sizeof(float)) == 0);
        ac_dataset_free(train);
        ac_dataset_free(raw);
    }
    /* And the poisoned test rows do score worse: they were really used for
     * testing. */
    if (!(ev_poisoned.labels.matched_accuracy < ev_clean.labels.matched_accuracy))
        fprintf(stderr, "  matched accuracy clean %.4f, poisoned %.4f\n",
                ev_clean.labels.matched_accuracy, ev_poisoned.labels.matched_accuracy);
    CHECK(ev_poisoned.labels.matched_accuracy < ev_clean.labels.matched_accuracy);
    ac_model_free(clean);
    ac_model_free(poisoned);
    ac_dataset_free(ds);
}

/* The test rows' scores are those of the returned model's predictions with
 * the reference context, as `predict` makes them. */
static void test_rows_are_scored_as_predict_would_score_them(void)
{
    ac_dataset *ds = raw_iris();
    unsigned char is_test[150];
    CHECK_INT_EQ(ac_split_holdout(ds, 0.2, 3, is_test, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = 10;
    ac_evaluation ev;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_evaluate_split(ds, is_test, &p, AC_NORMALIZE_ZSCORE, &ev, &m, NULL), AC_OK);
    ac_dataset *test = NULL;
    CHECK_INT_EQ(ac_dataset_subset(ds, is_test, 1, &test, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_prepare_for_model(test, m, NULL), AC_OK);
    int32_t clusters[150];
    CHECK_INT_EQ(ac_model_predict(m, ac_dataset_features(test), ac_dataset_rows(test),
                                  AC_CONTEXT_REFERENCE, clusters, NULL, NULL),
                 AC_OK);
    ac_label_metrics lm;
    CHECK_INT_EQ(ac_metrics_labels(clusters, 3, ac_dataset_labels(test), 3,
                                   ac_dataset_rows(test), &lm, NULL),
                 AC_OK);
    CHECK(lm.matched_accuracy == ev.labels.matched_accuracy);
    CHECK(lm.ari == ev.labels.ari);
    CHECK(lm.nmi == ev.labels.nmi);
    CHECK_INT_EQ(ac_model_normalization(m, NULL, NULL), AC_NORMALIZE_ZSCORE);
    ac_dataset_free(test);
    ac_model_free(m);
    ac_dataset_free(ds);
}

static void normalised_data_is_refused_for_evaluation(void)
{
    ac_dataset *ds = raw_iris();
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    unsigned char is_test[150] = {0};
    is_test[0] = 1;
    ac_evaluation ev;
    ac_error err;
    ac_params p = ac_params_default();
    CHECK_INT_EQ(ac_evaluate_split(ds, is_test, &p, AC_NORMALIZE_MINMAX, &ev, NULL, &err),
                 AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "normalised already");
    ac_dataset_free(ds);
}

/* Profiles come back in the data's units: the mean of the scaled values
 * mapped back through shift and scale. */
static void cluster_profiles_are_in_the_data_units(void)
{
    const float raw[6 * 2] = {1, 10, 2, 20, 3, 30, 10, 100, 11, 100, 12, 100};
    const int32_t labels[6] = {0, 0, 0, 1, 1, 1};
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(raw, 6, 2, labels, &ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = 1;
    p.clusters = 2;
    p.hidden = 4;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, NULL), AC_OK);
    const int32_t clusters[6] = {0, 0, 0, 1, 1, 1};
    size_t sizes[2];
    double means[4];
    float mins[4], maxs[4];
    CHECK_INT_EQ(ac_cluster_profiles(m, ac_dataset_features(ds), 6, clusters, sizes, means, mins,
                                     maxs, NULL),
                 AC_OK);
    CHECK_INT_EQ(sizes[0], 3);
    CHECK_INT_EQ(sizes[1], 3);
    CHECK_NEAR(means[0], 2.0, 1e-5);
    CHECK_NEAR(means[1], 20.0, 1e-4);
    CHECK_NEAR(means[2], 11.0, 1e-5);
    CHECK_NEAR(means[3], 100.0, 1e-4);
    CHECK_NEAR(mins[0], 1.0, 1e-5);
    CHECK_NEAR(maxs[0], 3.0, 1e-5);
    CHECK_NEAR(mins[3], 100.0, 1e-4);
    const int32_t one_cluster[6] = {1, 1, 1, 1, 1, 1};
    CHECK_INT_EQ(ac_cluster_profiles(m, ac_dataset_features(ds), 6, one_cluster, sizes, means,
                                     mins, maxs, NULL),
                 AC_OK);
    CHECK_INT_EQ(sizes[0], 0);
    CHECK(isnan(means[0]));
    ac_model_free(m);
    ac_dataset_free(ds);
}

/* Values whose range overflows a float are refused by the scaling, not
 * turned into NaN features (found by fuzzing). */
static void a_range_beyond_float_is_refused_by_the_scaling(void)
{
    const float x[4] = {-3.4e38f, 1.0f, 3.4e38f, 2.0f};
    ac_dataset *ds = NULL;
    ac_error err;
    CHECK_INT_EQ(ac_dataset_from_floats(x, 2, 2, NULL, &ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, &err), AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "cannot hold");
    CHECK(ds->x[0] == -3.4e38f); /* unchanged */
    /* z-score holds it: the mean 0 and std 3.4e38 are floats. */
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_ZSCORE, &err), AC_OK);
    CHECK_NEAR(ds->x[0], -1.0, 1e-6);
    ac_dataset_free(ds);
}

int main(void)
{
    RUN_TEST(a_holdout_is_stratified_and_seeded);
    RUN_TEST(folds_are_stratified_and_cover_every_row_once);
    RUN_TEST(no_test_row_reaches_the_training_or_the_normalisation_fit);
    RUN_TEST(test_rows_are_scored_as_predict_would_score_them);
    RUN_TEST(normalised_data_is_refused_for_evaluation);
    RUN_TEST(cluster_profiles_are_in_the_data_units);
    RUN_TEST(a_range_beyond_float_is_refused_by_the_scaling);
    TEST_MAIN_END();
}
