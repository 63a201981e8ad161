/*
 * test_train.c - the training loop: Candle-compatible mode leaves the frozen
 * tensors bit-identical, the key bias only decays (its gradient is exactly
 * zero) with five steps per Iris epoch, runs are reproducible from the seed,
 * the chapter's run learns Iris, the epoch callback, bad data and parameters,
 * and every allocation failure.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

static ac_dataset *iris(void)
{
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    if (ds)
        CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    return ds;
}

static ac_model *train(const ac_dataset *ds, const ac_params *p)
{
    ac_model *m = NULL;
    ac_error err;
    ac_status st = ac_train(ds, p, NULL, NULL, &m, &err);
    if (st != AC_OK)
        fprintf(stderr, "  ac_train: %s\n", err.message);
    CHECK_INT_EQ(st, AC_OK);
    return m;
}

static double final_accuracy(const ac_model *m, const ac_dataset *ds)
{
    size_t n = ac_dataset_rows(ds);
    int32_t *clusters = malloc(n * sizeof *clusters);
    CHECK_INT_EQ(ac_model_predict(m, ac_dataset_features(ds), n, AC_CONTEXT_BATCH, clusters, NULL, NULL), AC_OK);
    double acc = ac_accuracy_raw(clusters, ac_dataset_labels(ds), n);
    free(clusters);
    return acc;
}

static void candle_compat_leaves_every_tensor_but_cluster_proj_bit_identical(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    p.epochs = 5;
    p.candle_compat = 1;
    ac_model *initial = NULL;
    CHECK_INT_EQ(ac_model_create(&p, 4, &initial, NULL), AC_OK);
    ac_model *trained = train(ds, &p);
    for (int t = 0; t < P_COUNT; t++) {
        int same = memcmp(initial->p.t[t], trained->p.t[t], initial->sizes[t] * sizeof(float)) == 0;
        if (t == P_CW || t == P_CB) {
            CHECK(!same);
        } else {
            if (!same)
                fprintf(stderr, "  %s changed\n", ac_tensor_names[t]);
            CHECK(same);
        }
    }
    ac_model_free(initial);
    ac_model_free(trained);
    ac_dataset_free(ds);
}

/* The key bias's gradient is exactly zero, so AdamW's moments stay zero and
 * only the decay θ·(1 - lr·wd) acts, once per step: 150 rows in batches of
 * 32 make 5 steps an epoch, 15 in three epochs. Every other tensor moves. */
static void key_bias_only_decays_once_per_step(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    p.epochs = 3;
    ac_model *initial = NULL;
    CHECK_INT_EQ(ac_model_create(&p, 4, &initial, NULL), AC_OK);
    ac_model *trained = train(ds, &p);
    float decay = (float)(1.0 - p.lr * p.weight_decay);
    for (size_t h = 0; h < initial->sizes[P_KB]; h++) {
        float expected = initial->p.t[P_KB][h];
        for (int step = 0; step < 15; step++)
            expected *= decay;
        CHECK(trained->p.t[P_KB][h] == expected);
    }
    for (int t = 0; t < P_COUNT; t++)
        if (t != P_KB)
            CHECK(memcmp(initial->p.t[t], trained->p.t[t], initial->sizes[t] * sizeof(float)));
    ac_model_free(initial);
    ac_model_free(trained);
    ac_dataset_free(ds);
}

static void training_is_reproducible_from_the_seed(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    p.epochs = 4;
    ac_model *a = train(ds, &p), *b = train(ds, &p);
    p.seed = 1;
    ac_model *c = train(ds, &p);
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
    CHECK(memcmp(a->params, c->params, a->n_params * sizeof(float)) != 0);
    ac_model_free(a), ac_model_free(b), ac_model_free(c);
    ac_dataset_free(ds);
}

typedef struct epoch_log {
    int calls;
    int stop_after;
    double first_loss, last_loss;
    int bad_epoch;
} epoch_log;

static int record_epoch(const ac_epoch_report *r, void *user)
{
    epoch_log *log = user;
    if (r->epoch != log->calls || !(r->accuracy >= 0.0 && r->accuracy <= 1.0) ||
        !(r->loss >= 0.0))
        log->bad_epoch = 1;
    if (log->calls == 0)
        log->first_loss = r->loss;
    log->last_loss = r->loss;
    log->calls++;
    return log->stop_after > 0 && log->calls == log->stop_after;
}

/* The chapter's run (seed 42, 100 epochs, every layer trained) learns Iris:
 * the loss falls from about ln 3 and the final full-data accuracy is high. */
static void the_chapter_run_learns_iris(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    epoch_log log = {0};
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_train(ds, &p, record_epoch, &log, &m, NULL), AC_OK);
    CHECK_INT_EQ(log.calls, 100);
    CHECK(!log.bad_epoch);
    CHECK(log.first_loss > 0.5 && log.first_loss < 2.0);
    CHECK(log.last_loss < 0.5 * log.first_loss);
    double acc = final_accuracy(m, ds);
    if (!(acc >= 0.9))
        fprintf(stderr, "  final accuracy %.4f\n", acc);
    CHECK(acc >= 0.9);
    ac_model_free(m);
    ac_dataset_free(ds);
}

static void the_callback_can_stop_training(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    epoch_log log = {0};
    log.stop_after = 3;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_train(ds, &p, record_epoch, &log, &m, NULL), AC_OK);
    CHECK_INT_EQ(log.calls, 3);
    CHECK(m != NULL);
    ac_model_free(m);
    ac_dataset_free(ds);
}

static void batches_of_one_row_and_of_more_than_n_rows_train(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    p.epochs = 1;
    p.batch_size = 1;
    ac_model *m = train(ds, &p);
    ac_model_free(m);
    p.batch_size = 1000;
    m = train(ds, &p);
    CHECK(m != NULL);
    ac_model_free(m);
    ac_dataset_free(ds);
}

static void unusable_data_and_parameters_are_refused(void)
{
    const float x[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    const int32_t two_classes[3] = {0, 1, 1}, four_classes[3] = {0, 3, 1};
    ac_params p = ac_params_default();
    ac_error err;
    ac_model *m = NULL;
    ac_dataset *unlabelled = NULL, *three_rows = NULL, *wide = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(x, 3, 2, NULL, &unlabelled, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_from_floats(x, 3, 2, two_classes, &three_rows, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_from_floats(x, 3, 2, four_classes, &wide, NULL), AC_OK);

    CHECK_INT_EQ(ac_train(unlabelled, &p, NULL, NULL, &m, &err), AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "no labels");
    p.clusters = 4;
    CHECK_INT_EQ(ac_train(three_rows, &p, NULL, NULL, &m, &err), AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "3 rows are fewer than the 4 clusters");
    p.clusters = 3;
    CHECK_INT_EQ(ac_train(wide, &p, NULL, NULL, &m, &err), AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "4 classes");
    p.lr = -1.0;
    CHECK_INT_EQ(ac_train(three_rows, &p, NULL, NULL, &m, &err), AC_ERR_INVALID);
    CHECK(m == NULL);
    p = ac_params_default();
    p.epochs = 1;
    CHECK_INT_EQ(ac_train(three_rows, &p, NULL, NULL, &m, NULL), AC_OK);
    ac_model_free(m);
    ac_dataset_free(unlabelled), ac_dataset_free(three_rows), ac_dataset_free(wide);
}

/* Make each allocation of a training run fail in turn: every failure is a
 * clean AC_ERR_NOMEM with no model returned (the sanitizer build checks that
 * nothing leaks), and the run after the last allocation succeeds. */
static void every_allocation_failure_in_training_is_clean(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    p.epochs = 1;
    size_t n;
    int succeeded = 0;
    for (n = 1; n < 100 && !succeeded; n++) {
        ac_model *m = NULL;
        ac_error err;
        ac_alloc_fail_at(n);
        ac_status st = ac_train(ds, &p, NULL, NULL, &m, &err);
        if (st == AC_OK) {
            succeeded = 1;
            CHECK(m != NULL);
            ac_model_free(m);
        } else {
            CHECK_INT_EQ(st, AC_ERR_NOMEM);
            CHECK(m == NULL);
        }
    }
    ac_alloc_fail_at(0);
    CHECK(succeeded);
    CHECK(n > 5); /* training really allocates several buffers */
    ac_dataset_free(ds);
}

static int stop_after_first_epoch(const ac_epoch_report *r, void *user)
{
    (void)r;
    (void)user;
    ac_request_stop();
    return 0;
}

/* A stop request ends the run at the end of the next step, with no model;
 * the request is used up. A diverging run stops where it diverges. */
static void training_stops_cleanly_on_request_and_on_divergence(void)
{
    ac_dataset *ds = iris();
    ac_params p = ac_params_default();
    ac_model *m = NULL;
    ac_error err;
    CHECK_INT_EQ(ac_train(ds, &p, stop_after_first_epoch, NULL, &m, &err), AC_ERR_INTERRUPTED);
    CHECK(m == NULL);
    CHECK_STR_CONTAINS(err.message, "interrupted at epoch 2, step 1 of 5");
    p.epochs = 1;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, &err), AC_OK); /* the request is used up */
    ac_model_free(m);
    m = NULL;
    p.lr = 1e6;
    p.epochs = 20;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, &err), AC_ERR_DIVERGED);
    CHECK(m == NULL);
    CHECK_STR_CONTAINS(err.message, "diverged at epoch");
    p.mode = AC_MODE_UNSUPERVISED;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, &err), AC_ERR_DIVERGED);
    CHECK(m == NULL);
    ac_dataset_free(ds);
}

int main(void)
{
    RUN_TEST(candle_compat_leaves_every_tensor_but_cluster_proj_bit_identical);
    RUN_TEST(key_bias_only_decays_once_per_step);
    RUN_TEST(training_is_reproducible_from_the_seed);
    RUN_TEST(the_chapter_run_learns_iris);
    RUN_TEST(the_callback_can_stop_training);
    RUN_TEST(batches_of_one_row_and_of_more_than_n_rows_train);
    RUN_TEST(unusable_data_and_parameters_are_refused);
    RUN_TEST(every_allocation_failure_in_training_is_clean);
    RUN_TEST(training_stops_cleanly_on_request_and_on_divergence);
    TEST_MAIN_END();
}
