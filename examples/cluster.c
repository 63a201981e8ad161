/*
 * cluster.c - the library from the outside: load a CSV file (or the Iris
 * data compiled into the library), scale it, train the attention model,
 * predict every row and say how good the clustering is.
 *
 *   cluster [DATA.csv [K]]
 *
 * With labels in the file (its last column, when that is text), training is
 * supervised with one cluster per label; without, it is unsupervised with K
 * clusters [3]. The only header used is the public one, so this builds
 * against an installed copy (examples/README.md):
 *
 *   cc cluster.c $(pkg-config --cflags --libs attncluster) -o cluster
 *
 * Exit status: 0 ok, 1 a library error (its message on stderr), 2 usage.
 */
#include <attncluster.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Prints what went wrong, with the place when the error has one, and
 * returns the exit status. Every ac_status is named, so that a new one
 * added to the library shows up here as a compiler warning (-Wswitch). */
static int report(const char *what, ac_status status, const ac_error *err)
{
    const char *hint = "";
    switch (status) {
    case AC_OK: return 0;
    case AC_ERR_NOMEM: hint = " (out of memory)"; break;
    case AC_ERR_IO: hint = " (check the path and its permissions)"; break;
    case AC_ERR_PARSE: hint = " (the file is not in the expected format)"; break;
    case AC_ERR_DATA: hint = " (the data cannot be used as it is)"; break;
    case AC_ERR_INVALID: hint = " (a parameter is out of range)"; break;
    case AC_ERR_DIVERGED: hint = " (try a smaller learning rate)"; break;
    case AC_ERR_INTERRUPTED: hint = " (stopped on request)"; break;
    }
    /* err->source is empty, and line and column 0, when they do not apply. */
    fprintf(stderr, "cluster: %s failed: %s", what, ac_status_str(status));
    if (err->source[0])
        fprintf(stderr, ": %s", err->source);
    if (err->line > 0)
        fprintf(stderr, ":%ld", err->line);
    if (err->column > 0)
        fprintf(stderr, ":%ld", err->column);
    if (err->column_name[0])
        fprintf(stderr, " (%s)", err->column_name);
    fprintf(stderr, ": %s%s\n", err->message, hint);
    return 1;
}

/* Called by ac_train after every epoch: a line of progress every 25 epochs.
 * Returning non-zero would stop training early. */
static int on_epoch(const ac_epoch_report *r, void *user)
{
    (void)user;
    if ((r->epoch + 1) % 25 == 0 || r->epoch + 1 == r->epochs)
        fprintf(stderr, "epoch %d/%d: loss %.4f\n", r->epoch + 1, r->epochs, r->loss);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: cluster [DATA.csv [K]]\n");
        return 2;
    }
    int K = 3;
    if (argc == 3) {
        char *end;
        errno = 0;
        long k = strtol(argv[2], &end, 10);
        if (*end || errno || k < 1 || k > 65536) {
            fprintf(stderr, "cluster: K must be an integer from 1 to 65536, not '%s'\n",
                    argv[2]);
            return 2;
        }
        K = (int)k;
    }

    /* Everything the program owns, NULL until made, so that one clean-up
     * at the end serves every way out (the *_free functions take NULL). */
    ac_dataset *ds = NULL;
    ac_model *model = NULL;
    int32_t *clusters = NULL;
    size_t *sizes = NULL;
    ac_error err;
    ac_status st;
    int rc = 1;

    printf("attncluster %s\n", ac_version());

    /* 1. The data: the CSV's header, label column and feature columns are
     *    detected (ac_csv_options_default), the report says what was decided. */
    if (argc >= 2) {
        ac_csv_options opt = ac_csv_options_default();
        ac_csv_report rep;
        st = ac_dataset_load_csv(argv[1], &opt, &ds, &rep, &err);
        if (st != AC_OK) {
            rc = report("loading the data", st, &err);
            goto done;
        }
        if (rep.ignored_columns)
            fprintf(stderr, "cluster: %zu text column(s) left out, the first '%s'\n",
                    rep.ignored_columns, rep.ignored_first);
    } else if ((st = ac_dataset_load_builtin_iris(&ds, &err)) != AC_OK) {
        rc = report("loading the built-in Iris data", st, &err);
        goto done;
    }
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    size_t C = ac_dataset_classes(ds); /* 0 without labels */
    printf("data: %s, %zu rows, %zu features, %zu labels\n", ac_dataset_source(ds), N, F, C);

    /* 2. Scale every feature to [0, 1], as the chapter does. The model will
     *    remember this fit, to scale new data the same way. */
    if ((st = ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, &err)) != AC_OK) {
        rc = report("scaling the features", st, &err);
        goto done;
    }

    /* 3. Train: the chapter's hyperparameters, one cluster per label when
     *    there are labels, else the unsupervised method with K clusters. */
    ac_params p = ac_params_default();
    if (C > 0) {
        p.clusters = (int)C;
        p.mode = AC_MODE_SUPERVISED;
    } else {
        p.clusters = K;
        p.mode = AC_MODE_UNSUPERVISED;
    }
    printf("training: %s, %d clusters, %d epochs, seed %llu\n",
           C > 0 ? "supervised" : "unsupervised", p.clusters, p.epochs,
           (unsigned long long)p.seed);
    if ((st = ac_train(ds, &p, on_epoch, NULL, &model, &err)) != AC_OK) {
        rc = report("training", st, &err);
        goto done;
    }

    /* 4. Predict every row. AC_CONTEXT_REFERENCE makes each row attend over
     *    the model's stored reference rows and itself, so a row's cluster
     *    does not depend on which other rows are passed with it. */
    K = (int)ac_model_clusters(model);
    clusters = malloc(N * sizeof *clusters);
    sizes = calloc((size_t)K, sizeof *sizes);
    if (!clusters || !sizes) {
        fprintf(stderr, "cluster: out of memory\n");
        goto done;
    }
    st = ac_model_predict(model, ac_dataset_features(ds), N, AC_CONTEXT_REFERENCE, clusters,
                          NULL, &err);
    if (st != AC_OK) {
        rc = report("predicting", st, &err);
        goto done;
    }
    for (size_t i = 0; i < N; i++)
        sizes[clusters[i]]++;
    for (int k = 0; k < K; k++)
        printf("cluster %d: %zu rows\n", k, sizes[k]);

    /* 5. With labels, score the clustering as scikit-learn would: the
     *    adjusted Rand index (0 for chance, 1 for a perfect match) and the
     *    accuracy after the best matching of clusters to labels. */
    if (C > 0) {
        ac_label_metrics m;
        st = ac_metrics_labels(clusters, (size_t)K, ac_dataset_labels(ds), C, N, &m, &err);
        if (st != AC_OK) {
            rc = report("scoring", st, &err);
            goto done;
        }
        printf("adjusted Rand index: %.4f\n", m.ari);
        printf("matched accuracy: %.4f\n", m.matched_accuracy);
    }
    rc = 0;

done:
    free(sizes);
    free(clusters);
    ac_model_free(model);
    ac_dataset_free(ds);
    return rc;
}
