/*
 * test_unsupervised.c - clustering without labels: the labels of the data
 * are never read (training with them, without them, or with them shuffled
 * gives the same model, bit for bit), no cluster collapses, runs are
 * reproducible, and the attention model does better than chance on Iris.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

static ac_dataset *iris(int drop_labels, int shuffle_labels)
{
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    if (shuffle_labels)
        for (size_t i = 0; i < ds->n; i++)
            ds->labels[i] = (int32_t)((i * 7) % 3);
    if (drop_labels) {
        ac_dataset *bare = NULL;
        CHECK_INT_EQ(ac_dataset_from_floats(ds->x, ds->n, ds->f, NULL, &bare, NULL), AC_OK);
        ac_dataset_free(ds);
        return bare;
    }
    return ds;
}

static ac_model *train(const ac_dataset *ds, uint64_t seed, int epochs)
{
    ac_params p = ac_params_default();
    p.mode = AC_MODE_UNSUPERVISED;
    p.seed = seed;
    p.epochs = epochs;
    ac_model *m = NULL;
    ac_error err;
    ac_status st = ac_train(ds, &p, NULL, NULL, &m, &err);
    if (st != AC_OK)
        fprintf(stderr, "  %s\n", err.message);
    CHECK_INT_EQ(st, AC_OK);
    return m;
}

static void the_labels_are_never_read(void)
{
    ac_dataset *with = iris(0, 0), *without = iris(1, 0), *shuffled = iris(0, 1);
    ac_model *a = train(with, 3, 20), *b = train(without, 3, 20), *c = train(shuffled, 3, 20);
    CHECK(a && b && c);
    if (a && b && c) {
        CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
        CHECK(memcmp(a->params, c->params, a->n_params * sizeof(float)) == 0);
        CHECK(memcmp(a->reference_rows, b->reference_rows, a->n_reference * 4 * sizeof(float)) == 0);
        CHECK_INT_EQ(ac_model_label_count(a), 0); /* cluster k is not label k */
    }
    ac_model_free(a), ac_model_free(b), ac_model_free(c);
    ac_dataset_free(with), ac_dataset_free(without), ac_dataset_free(shuffled);
}

/* Every cluster keeps at least 1% of the rows, for every seed tried, and
 * the clustering agrees with the species far beyond chance. */
static void no_seed_collapses_and_iris_is_found(void)
{
    ac_dataset *ds = iris(0, 0);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        ac_model *m = train(ds, seed, 100);
        if (!m)
            continue;
        int32_t clusters[150];
        CHECK_INT_EQ(ac_model_predict(m, ds->x, 150, AC_CONTEXT_BATCH, clusters, NULL, NULL),
                     AC_OK);
        size_t counts[3] = {0, 0, 0};
        for (int i = 0; i < 150; i++)
            counts[clusters[i]]++;
        for (int k = 0; k < 3; k++)
            CHECK(counts[k] >= 2); /* >= 1% of 150 rows */
        ac_label_metrics lm;
        CHECK_INT_EQ(ac_metrics_labels(clusters, 3, ds->labels, 3, 150, &lm, NULL), AC_OK);
        if (!(lm.ari > 0.5))
            fprintf(stderr, "  seed %llu: ARI %.4f\n", (unsigned long long)seed, lm.ari);
        CHECK(lm.ari > 0.5);
        ac_model_free(m);
    }
    ac_dataset_free(ds);
}

static void unsupervised_training_is_reproducible(void)
{
    ac_dataset *ds = iris(1, 0);
    ac_model *a = train(ds, 9, 10), *b = train(ds, 9, 10);
    CHECK(a && b && memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
    ac_model_free(a), ac_model_free(b);
    ac_dataset_free(ds);
}

int main(void)
{
    RUN_TEST(the_labels_are_never_read);
    RUN_TEST(no_seed_collapses_and_iris_is_found);
    RUN_TEST(unsupervised_training_is_reproducible);
    TEST_MAIN_END();
}
