/*
 * test_kmeans.c - the k-means baseline against scikit-learn's inertia on
 * committed fixtures (bench/reference/make_kmeans_fixtures.py), plus the
 * properties every k-means result has: each row in its nearest centre's
 * cluster, each centre the mean of its rows, reproducible from the seed.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

typedef struct fixture {
    size_t n, F;
    int K;
    double inertia;
    float *x;
} fixture;

static int load_fixture(const char *path, fixture *fx)
{
    FILE *fp = fopen(path, "r");
    char line[256];
    memset(fx, 0, sizeof *fx);
    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp) && line[0] == '#')
        ;
    int ok = sscanf(line, "n %zu", &fx->n) == 1 && fscanf(fp, " F %zu K %d inertia %lf rows",
                                                          &fx->F, &fx->K, &fx->inertia) == 3;
    if (ok) {
        fx->x = malloc(fx->n * fx->F * sizeof(float));
        for (size_t i = 0; i < fx->n * fx->F && ok; i++)
            ok = fscanf(fp, "%f", &fx->x[i]) == 1;
    }
    fclose(fp);
    return ok;
}

static double d2(const float *a, const float *b, size_t F)
{
    double s = 0.0;
    for (size_t f = 0; f < F; f++)
        s += ((double)a[f] - (double)b[f]) * ((double)a[f] - (double)b[f]);
    return s;
}

static void check_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/fixtures/kmeans/%s.txt", name);
    fixture fx;
    CHECK(load_fixture(path, &fx));
    if (!fx.x)
        return;
    ac_kmeans_params p = ac_kmeans_default_params(fx.K);
    int32_t *c = malloc(fx.n * sizeof(int32_t));
    float *centers = malloc((size_t)fx.K * fx.F * sizeof(float));
    double inertia = 0.0;
    CHECK_INT_EQ(ac_kmeans(fx.x, fx.n, fx.F, &p, c, centers, &inertia, NULL), AC_OK);
    double rel = (inertia - fx.inertia) / fx.inertia;
    printf("%-22s inertia %.9g, scikit-learn %.9g, relative difference %.2g\n", name, inertia,
           fx.inertia, rel);
    if (!(fabs(rel) <= 1e-4))
        fprintf(stderr, "  %s: inertia %.9g against scikit-learn's %.9g\n", name, inertia,
                fx.inertia);
    CHECK(fabs(rel) <= 1e-4);
    /* The result is a fixed point: every row is in its nearest centre's
     * cluster, and the inertia is the sum of those distances. */
    double sum = 0.0;
    size_t misplaced = 0;
    for (size_t i = 0; i < fx.n; i++) {
        double own = d2(fx.x + i * fx.F, centers + (size_t)c[i] * fx.F, fx.F);
        for (int k = 0; k < fx.K; k++)
            misplaced += d2(fx.x + i * fx.F, centers + (size_t)k * fx.F, fx.F) < own - 1e-9;
        sum += own;
    }
    CHECK_INT_EQ(misplaced, 0);
    CHECK_NEAR(sum, inertia, 1e-9 * inertia + 1e-12);
    free(c), free(centers), free(fx.x);
}

static void kmeans_matches_scikit_learns_inertia_on_iris(void) { check_fixture("iris_minmax"); }
static void kmeans_matches_scikit_learns_inertia_on_wine(void) { check_fixture("wine_zscore"); }
static void kmeans_matches_scikit_learns_inertia_on_breast_cancer(void)
{
    check_fixture("breast_cancer_minmax");
}
static void kmeans_matches_scikit_learns_inertia_on_blobs(void) { check_fixture("blobs5"); }

static void kmeans_is_reproducible_and_refuses_bad_sizes(void)
{
    const float x[8] = {0, 0, 0.1f, 0, 5, 5, 5.1f, 5};
    ac_kmeans_params p = ac_kmeans_default_params(2);
    int32_t a[4], b[4];
    double ia, ib;
    CHECK_INT_EQ(ac_kmeans(x, 4, 2, &p, a, NULL, &ia, NULL), AC_OK);
    CHECK_INT_EQ(ac_kmeans(x, 4, 2, &p, b, NULL, &ib, NULL), AC_OK);
    CHECK(memcmp(a, b, sizeof a) == 0 && ia == ib);
    CHECK(a[0] == a[1] && a[2] == a[3] && a[0] != a[2]);
    CHECK_NEAR(ia, 0.01, 1e-6); /* two pairs 0.1 apart: 4 × 0.05² */
    ac_error err;
    p.clusters = 5;
    CHECK_INT_EQ(ac_kmeans(x, 4, 2, &p, a, NULL, NULL, &err), AC_ERR_INVALID);
    p.clusters = 0;
    CHECK_INT_EQ(ac_kmeans(x, 4, 2, &p, a, NULL, NULL, &err), AC_ERR_INVALID);
    /* K = n: every row its own cluster, inertia 0. */
    p.clusters = 4;
    CHECK_INT_EQ(ac_kmeans(x, 4, 2, &p, a, NULL, &ia, NULL), AC_OK);
    CHECK(ia == 0.0);
}

static void every_allocation_failure_in_kmeans_is_clean(void)
{
    const float x[8] = {0, 0, 0.1f, 0, 5, 5, 5.1f, 5};
    ac_kmeans_params p = ac_kmeans_default_params(2);
    int32_t c[4];
    int ok = 0;
    for (size_t n = 1; n < 50 && !ok; n++) {
        ac_alloc_fail_at(n);
        ac_status st = ac_kmeans(x, 4, 2, &p, c, NULL, NULL, NULL);
        ac_alloc_fail_at(0);
        if (st == AC_OK)
            ok = 1;
        else
            CHECK_INT_EQ(st, AC_ERR_NOMEM);
    }
    CHECK(ok);
}

/* Three tight, far-apart groups: the sweep's silhouette picks K = 3. */
static void the_sweep_picks_the_number_of_well_separated_groups(void)
{
    float x[60 * 2];
    ac_rng rng;
    ac_rng_seed(&rng, 4);
    for (int i = 0; i < 60; i++) {
        int g = i % 3;
        x[i * 2] = (float)(g * 10) + 0.3f * (float)ac_rng_normal(&rng);
        x[i * 2 + 1] = (float)(g == 1 ? 10 : 0) + 0.3f * (float)ac_rng_normal(&rng);
    }
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(x, 60, 2, NULL, &ds, NULL), AC_OK);
    ac_params p = ac_params_default();
    ac_sweep_result r[5];
    CHECK_INT_EQ(ac_sweep(ds, &p, 1, 2, 6, r, NULL), AC_OK);
    int best = ac_sweep_best(r, 5);
    CHECK(best >= 0 && r[best].clusters == 3);
    for (int i = 0; i < 5; i++)
        CHECK_INT_EQ(r[i].clusters, 2 + i);
    ac_error err;
    CHECK_INT_EQ(ac_sweep(ds, &p, 1, 1, 6, r, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_sweep(ds, &p, 1, 5, 4, r, &err), AC_ERR_INVALID);
    ac_dataset_free(ds);
}

int main(void)
{
    RUN_TEST(kmeans_matches_scikit_learns_inertia_on_iris);
    RUN_TEST(kmeans_matches_scikit_learns_inertia_on_wine);
    RUN_TEST(kmeans_matches_scikit_learns_inertia_on_breast_cancer);
    RUN_TEST(kmeans_matches_scikit_learns_inertia_on_blobs);
    RUN_TEST(kmeans_is_reproducible_and_refuses_bad_sizes);
    RUN_TEST(every_allocation_failure_in_kmeans_is_clean);
    RUN_TEST(the_sweep_picks_the_number_of_well_separated_groups);
    TEST_MAIN_END();
}
