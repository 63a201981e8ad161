/*
 * evaluate.c - honest evaluation: stratified hold-out and K-fold splits,
 * training on the training rows only (the normalisation fitted on them
 * alone), predicting the held-out rows exactly as `predict` would (the
 * model's stored scaling, the reference-row context), and scoring them;
 * and per-cluster profiles in the data's own units.
 *
 * Stratification: rows are grouped by label (one group when unlabelled),
 * each group shuffled by a generator seeded from the run's seed. A hold-out
 * takes round(fraction · n_c) rows of each group (at least one of a group
 * of two or more, never all of it) as test rows; K folds deal each group's
 * rows out in turn, so every fold holds each class in proportion, give or
 * take one row.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* A generator for splits, kept apart from the training stream. */
static void split_rng(ac_rng *rng, uint64_t seed)
{
    ac_rng_seed(rng, seed ^ 0x73706c6974726f77ULL /* "splitrow" */);
}

/* The rows of each label group, each group shuffled by a generator seeded
 * from `seed`: *order (N) holds group 0's rows, then group 1's, ...;
 * *starts (groups + 1) marks where each begins. Both are the caller's to
 * free. */
static ac_status shuffled_groups(const ac_dataset *ds, uint64_t seed, uint32_t **order_out,
                                 size_t **starts_out, size_t *groups_out, ac_error *err)
{
    size_t groups = ds->labels ? (ds->classes ? ds->classes : 1) : 1;
    uint32_t *order = ac_alloc(ds->n * sizeof *order + 1);
    size_t *starts = ac_calloc(groups + 1, sizeof *starts);
    if (!order || !starts) {
        ac_free(order);
        ac_free(starts);
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    }
    ac_rng rng;
    split_rng(&rng, seed);
    size_t pos = 0;
    for (size_t g = 0; g < groups; g++) {
        starts[g] = pos;
        for (size_t i = 0; i < ds->n; i++)
            if (!ds->labels || (size_t)ds->labels[i] == g)
                order[pos++] = (uint32_t)i;
        ac_rng_shuffle(&rng, order + starts[g], pos - starts[g]);
    }
    starts[groups] = pos;
    *order_out = order;
    *starts_out = starts;
    *groups_out = groups;
    return AC_OK;
}

ac_status ac_split_holdout(const ac_dataset *ds, double test_fraction, uint64_t seed,
                           unsigned char *is_test, ac_error *err)
{
    if (!(test_fraction > 0.0 && test_fraction < 1.0))
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "test fraction %g out of range (expected a number between 0 and 1)",
                            test_fraction);
    uint32_t *order;
    size_t *starts, groups;
    ac_status st = shuffled_groups(ds, seed, &order, &starts, &groups, err);
    if (st != AC_OK)
        return st;
    memset(is_test, 0, ds->n);
    size_t tests = 0;
    for (size_t g = 0; g < groups; g++) {
        size_t n = starts[g + 1] - starts[g];
        size_t take = (size_t)floor(test_fraction * (double)n + 0.5);
        if (take == 0 && n >= 2)
            take = 1;
        if (take >= n && n > 0)
            take = n - 1;
        for (size_t j = 0; j < take; j++)
            is_test[order[starts[g] + j]] = 1;
        tests += take;
    }
    ac_free(order);
    ac_free(starts);
    if (tests == 0 || tests == ds->n)
        return ac_set_error(err, AC_ERR_DATA, ds->source, 0, 0,
                            "a test fraction of %g leaves %zu of %zu rows for testing (expected "
                            "some rows on each side)",
                            test_fraction, tests, ds->n);
    return AC_OK;
}

ac_status ac_split_folds(const ac_dataset *ds, int folds, uint64_t seed, int32_t *fold,
                         ac_error *err)
{
    if (folds < 2 || (size_t)folds > ds->n)
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "%d folds for %zu rows (expected from 2 to the number of rows)",
                            folds, ds->n);
    uint32_t *order;
    size_t *starts, groups;
    ac_status st = shuffled_groups(ds, seed, &order, &starts, &groups, err);
    if (st != AC_OK)
        return st;
    /* Deal the rows out group after group, continuing the count, so that
     * fold sizes differ by at most one row overall. */
    for (size_t i = 0; i < ds->n; i++)
        fold[order[i]] = (int32_t)(i % (size_t)folds);
    ac_free(order);
    ac_free(starts);
    return AC_OK;
}

ac_status ac_dataset_subset(const ac_dataset *ds, const unsigned char *mask, int keep,
                            ac_dataset **out, ac_error *err)
{
    size_t n = 0;
    for (size_t i = 0; i < ds->n; i++)
        n += (mask[i] != 0) == (keep != 0);
    if (n == 0)
        return ac_set_error(err, AC_ERR_DATA, ds->source, 0, 0, "no rows in the subset");
    ac_dataset *sub;
    ac_status st = dataset_alloc(n, ds->f, ds->labels != NULL, ds->source, &sub, err);
    if (st != AC_OK)
        return st;
    char **names = strings_copy((const char *const *)ds->feature_names, ds->f);
    char **labels = ds->label_names
                        ? strings_copy((const char *const *)ds->label_names, ds->n_label_names)
                        : NULL;
    if (!names || (ds->label_names && !labels)) {
        strings_free(names, ds->f);
        ac_dataset_free(sub);
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    }
    strings_free(sub->feature_names, ds->f);
    sub->feature_names = names;
    sub->label_names = labels;
    sub->n_label_names = labels ? ds->n_label_names : 0;
    sub->classes = ds->classes;
    for (size_t i = 0, r = 0; i < ds->n; i++) {
        if ((mask[i] != 0) != (keep != 0))
            continue;
        memcpy(sub->x + r * ds->f, ds->x + i * ds->f, ds->f * sizeof(float));
        if (ds->labels)
            sub->labels[r] = ds->labels[i];
        r++;
    }
    *out = sub;
    return AC_OK;
}

ac_status ac_evaluate_split(const ac_dataset *raw, const unsigned char *is_test,
                            const ac_params *p, ac_normalization norm, ac_evaluation *out,
                            ac_model **model_out, ac_error *err)
{
    if (raw->norm_shift || raw->prepared)
        return ac_set_error(err, AC_ERR_INVALID, raw->source, 0, 0,
                            "the data is normalised already (expected raw data: each split "
                            "fits its own normalisation on its training rows)");
    ac_dataset *train = NULL, *test = NULL;
    ac_model *m = NULL;
    int32_t *clusters = NULL;
    ac_status st;
    memset(out, 0, sizeof *out);
    if ((st = ac_dataset_subset(raw, is_test, 0, &train, err)) != AC_OK ||
        (st = ac_dataset_subset(raw, is_test, 1, &test, err)) != AC_OK ||
        (st = ac_dataset_normalize(train, norm, err)) != AC_OK ||
        (st = ac_train(train, p, NULL, NULL, &m, err)) != AC_OK ||
        (st = ac_dataset_prepare_for_model(test, m, err)) != AC_OK)
        goto done;
    if (!(clusters = ac_alloc(test->n * sizeof *clusters))) {
        st = ac_set_error(err, AC_ERR_NOMEM, raw->source, 0, 0, "out of memory");
        goto done;
    }
    /* Exactly what predict does with a saved model. */
    if ((st = ac_model_predict(m, test->x, test->n, AC_CONTEXT_REFERENCE, clusters, NULL, err)) !=
        AC_OK)
        goto done;
    out->train_rows = train->n;
    out->test_rows = test->n;
    out->has_labels = test->labels != NULL;
    if (test->labels &&
        (st = ac_metrics_labels(clusters, (size_t)m->K, test->labels,
                                test->classes > 0 ? test->classes : 1, test->n, &out->labels,
                                err)) != AC_OK)
        goto done;
    st = ac_metrics_geometry(test->x, test->n, test->f, clusters, (size_t)m->K, p->seed,
                             &out->geometry, err);
    if (st == AC_OK && model_out) {
        *model_out = m;
        m = NULL;
    }
done:
    ac_free(clusters);
    ac_model_free(m);
    ac_dataset_free(train);
    ac_dataset_free(test);
    return st;
}

ac_status ac_cluster_profiles(const ac_model *m, const float *x, size_t n,
                              const int32_t *clusters, size_t *sizes, double *means,
                              float *mins, float *maxs, ac_error *err)
{
    size_t F = (size_t)m->F, K = (size_t)m->K;
    memset(sizes, 0, K * sizeof *sizes);
    for (size_t i = 0; i < K * F; i++)
        means[i] = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (clusters[i] < 0 || (size_t)clusters[i] >= K)
            return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                                "cluster %ld of row %zu out of range (expected 0 to %zu)",
                                (long)clusters[i], i, K - 1);
        size_t k = (size_t)clusters[i];
        for (size_t f = 0; f < F; f++) {
            /* Back to the data's own units: x = x'·scale + shift (a constant
             * column, scale 0, comes back as its one value, the shift). */
            float v = x[i * F + f];
            if (m->normalization != AC_NORMALIZE_NONE)
                v = v * m->norm_scale[f] + m->norm_shift[f];
            means[k * F + f] += (double)v;
            if (sizes[k] == 0 || v < mins[k * F + f])
                mins[k * F + f] = v;
            if (sizes[k] == 0 || v > maxs[k * F + f])
                maxs[k * F + f] = v;
        }
        sizes[k]++;
    }
    for (size_t k = 0; k < K; k++)
        for (size_t f = 0; f < F; f++) {
            if (sizes[k])
                means[k * F + f] /= (double)sizes[k];
            else
                means[k * F + f] = NAN, mins[k * F + f] = NAN, maxs[k * F + f] = NAN;
        }
    return AC_OK;
}

/* --------------------------------------------------------------- choosing K */

ac_status ac_sweep(const ac_dataset *ds, const ac_params *p, int use_kmeans, int kmin, int kmax,
                   ac_sweep_result *out, ac_error *err)
{
    if (kmin < 2 || kmax < kmin || (size_t)kmax > ds->n)
        return ac_set_error(err, AC_ERR_INVALID, ds->source, 0, 0,
                            "cluster range %d..%d for %zu rows (expected 2 <= from <= to <= rows)",
                            kmin, kmax, ds->n);
    int32_t *clusters = ac_alloc(ds->n * sizeof *clusters);
    if (!clusters)
        return ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
    ac_status st = AC_OK;
    for (int K = kmin; K <= kmax && st == AC_OK; K++) {
        ac_sweep_result *r = &out[K - kmin];
        memset(r, 0, sizeof *r);
        r->clusters = K;
        if (use_kmeans) {
            ac_kmeans_params kp = ac_kmeans_default_params(K);
            kp.seed = p->seed;
            st = ac_kmeans(ds->x, ds->n, ds->f, &kp, clusters, NULL, NULL, err);
        } else {
            ac_params q = *p;
            q.clusters = K;
            ac_model *m = NULL;
            st = ac_train(ds, &q, NULL, NULL, &m, err);
            if (st == AC_OK)
                st = ac_model_predict(m, ds->x, ds->n, AC_CONTEXT_BATCH, clusters, NULL, err);
            ac_model_free(m);
        }
        if (st == AC_OK)
            st = ac_metrics_geometry(ds->x, ds->n, ds->f, clusters, (size_t)K, p->seed,
                                     &r->geometry, err);
    }
    ac_free(clusters);
    return st;
}

int ac_sweep_best(const ac_sweep_result *r, int count)
{
    int best = -1;
    for (int i = 0; i < count; i++)
        if (isfinite(r[i].geometry.silhouette) &&
            (best < 0 || r[i].geometry.silhouette > r[best].geometry.silhouette))
            best = i;
    return best;
}
