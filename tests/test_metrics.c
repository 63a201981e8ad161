/*
 * test_metrics.c - the clustering metrics against scikit-learn 1.2 (the
 * fixtures in tests/fixtures/metrics/, written by
 * bench/reference/make_metric_fixtures.py), against small cases worked out
 * by hand, and their errors: invalid input, undefined cases (NaN) and every
 * allocation failing in turn.
 *
 * Fixture values are compared at 1e-9 relative, with an absolute floor of
 * 1e-12 for values at or near 0 (an AMI of 1e-16 is rounding noise in
 * sklearn as here).
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

#define REL_TOL 1e-9
#define ABS_TOL 1e-12

/* ------------------------------------------------------------- fixtures */

enum { V_RAW, V_MATCHED, V_PURITY, V_ARI, V_NMI, V_AMI, V_SIL, V_DB, V_CH, V_COUNT };
static const char *const value_names[V_COUNT] = {
    "raw_accuracy", "matched_accuracy", "purity", "ari", "nmi", "ami",
    "silhouette", "davies_bouldin", "calinski_harabasz"};

typedef struct fixture {
    const char *name;
    size_t n, F, K, C;
    double xscale;
    uint64_t *table; /* (K, C) */
    float *x;        /* (n, F) */
    int32_t *clusters, *labels;
    double v[V_COUNT];
    int have[V_COUNT];
    size_t silhouette_rows;
    double silhouette_tolerance; /* 0: REL_TOL; else absolute */
} fixture;

static const char *const fixture_names[] = {
    "iris_kmeans",     "random_k5_c3",    "random_k2_c4",        "edge_single_cluster",
    "edge_both_single", "edge_singletons", "edge_permuted",       "edge_unused_ids",
    "edge_identical_points", "big_sampled"};
#define N_FIXTURES (sizeof fixture_names / sizeof fixture_names[0])

static void fixture_free(fixture *fx)
{
    free(fx->table);
    free(fx->x);
    free(fx->clusters);
    free(fx->labels);
    memset(fx, 0, sizeof *fx);
}

/* Reads tests/fixtures/metrics/<name>.txt (the format is described in
 * make_metric_fixtures.py): "key value" lines, a comment line starting with
 * '#', "contingency" followed by K·C counts and "rows" followed by n lines
 * of F features, a cluster id and a label id. Returns 0 on any problem,
 * having said what. */
static int fixture_load(const char *name, fixture *fx)
{
    char path[256], key[64] = "";
    memset(fx, 0, sizeof *fx);
    fx->name = name;
    fx->xscale = 1.0;
    snprintf(path, sizeof path, "tests/fixtures/metrics/%s.txt", name);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "cannot open %s (run the tests from the repository root)\n", path);
        return 0;
    }
    int ok = 1, have_rows = 0;
    while (ok && !have_rows && fscanf(fp, "%63s", key) == 1) {
        if (key[0] == '#') {
            ok = fscanf(fp, "%*[^\n]") >= 0;
        } else if (!strcmp(key, "contingency")) {
            ok = fx->K > 0 && fx->C > 0 && (fx->table = calloc(fx->K * fx->C, sizeof *fx->table));
            for (size_t i = 0; ok && i < fx->K * fx->C; i++) {
                unsigned long long t;
                ok = fscanf(fp, "%llu", &t) == 1;
                fx->table[i] = t;
            }
        } else if (!strcmp(key, "rows")) {
            ok = fx->n > 0 && fx->F > 0 && (fx->x = calloc(fx->n * fx->F, sizeof *fx->x)) &&
                 (fx->clusters = calloc(fx->n, sizeof *fx->clusters)) &&
                 (fx->labels = calloc(fx->n, sizeof *fx->labels));
            for (size_t i = 0; ok && i < fx->n; i++) {
                for (size_t f = 0; ok && f < fx->F; f++) {
                    double v;
                    ok = fscanf(fp, "%lf", &v) == 1;
                    fx->x[i * fx->F + f] = (float)(v / fx->xscale);
                }
                ok = ok && fscanf(fp, "%d %d", &fx->clusters[i], &fx->labels[i]) == 2;
            }
            have_rows = ok;
        } else {
            double v;
            ok = fscanf(fp, "%lf", &v) == 1; /* glibc reads "nan" too, as C99 says */
            if (!ok)
                break;
            if (!strcmp(key, "n")) fx->n = (size_t)v;
            else if (!strcmp(key, "F")) fx->F = (size_t)v;
            else if (!strcmp(key, "K")) fx->K = (size_t)v;
            else if (!strcmp(key, "C")) fx->C = (size_t)v;
            else if (!strcmp(key, "xscale")) fx->xscale = v;
            else if (!strcmp(key, "silhouette_rows")) fx->silhouette_rows = (size_t)v;
            else if (!strcmp(key, "silhouette_tolerance")) fx->silhouette_tolerance = v;
            else {
                int known = 0;
                for (int k = 0; k < V_COUNT; k++)
                    if (!strcmp(key, value_names[k])) {
                        fx->v[k] = v;
                        fx->have[k] = known = 1;
                    }
                ok = known;
            }
        }
    }
    fclose(fp);
    for (int k = 0; k < V_COUNT; k++)
        ok = ok && fx->have[k];
    if (!ok || !have_rows || !fx->table || fx->silhouette_rows == 0) {
        fprintf(stderr, "%s: malformed fixture (near \"%s\")\n", path, key);
        fixture_free(fx);
        return 0;
    }
    return 1;
}

/* |actual - expected| <= REL_TOL·|expected| + ABS_TOL, or both NaN. */
static int close_to(double actual, double expected, double abs_tol)
{
    if (isnan(expected) || isnan(actual))
        return isnan(expected) && isnan(actual);
    return fabs(actual - expected) <= REL_TOL * fabs(expected) + abs_tol;
}

#define CHECK_VALUE(fx, which, actual)                                                  \
    do {                                                                               \
        double a_ = (actual), e_ = (fx)->v[which];                                     \
        if (!close_to(a_, e_, ABS_TOL)) {                                              \
            fprintf(stderr, "%s:%d: %s: %s = %.17g, sklearn %.17g (diff %.3g)\n",       \
                    __FILE__, __LINE__, (fx)->name, value_names[which], a_, e_,         \
                    a_ - e_);                                                          \
            harness_check_failed = 1;                                                  \
        }                                                                              \
    } while (0)

/* Runs fn on every fixture; each family's test picks its values. */
static void for_each_fixture(void (*fn)(const fixture *fx))
{
    for (size_t i = 0; i < N_FIXTURES; i++) {
        fixture fx;
        if (!fixture_load(fixture_names[i], &fx)) {
            CHECK(!"fixture loads");
            continue;
        }
        fn(&fx);
        fixture_free(&fx);
    }
}

static int label_metrics_of(const fixture *fx, ac_label_metrics *m)
{
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_metrics_labels(fx->clusters, fx->K, fx->labels, fx->C, fx->n, m, &err);
    if (st != AC_OK)
        fprintf(stderr, "%s: ac_metrics_labels: %s\n", fx->name, err.message);
    return st == AC_OK;
}

static int geometry_metrics_of(const fixture *fx, ac_geometry_metrics *g)
{
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_metrics_geometry(fx->x, fx->n, fx->F, fx->clusters, fx->K, 42, g, &err);
    if (st != AC_OK)
        fprintf(stderr, "%s: ac_metrics_geometry: %s\n", fx->name, err.message);
    return st == AC_OK;
}

/* Small in-test helper for the hand-worked cases. */
#define CHECK_REL(a, b) CHECK_NEAR(a, b, 1e-12 * fabs((double)(b)) + 1e-15)

/* ---------------------------------------------------------- contingency */

static void contingency_of_fixture(const fixture *fx)
{
    uint64_t *t = calloc(fx->K * fx->C, sizeof *t);
    CHECK(t != NULL);
    if (!t)
        return;
    CHECK_INT_EQ(ac_contingency(fx->clusters, fx->K, fx->labels, fx->C, fx->n, t, NULL), AC_OK);
    CHECK(memcmp(t, fx->table, fx->K * fx->C * sizeof *t) == 0);
    free(t);
}

/* Clusters [0 0 1 2 2], labels [1 1 1 0 1] into a 3×2 table:
 *   cluster 0: label 1 twice            -> 0 2
 *   cluster 1: label 1 once             -> 0 1
 *   cluster 2: label 0 once, 1 once     -> 1 1 */
static void the_contingency_table_counts_cluster_label_pairs(void)
{
    const int32_t clusters[] = {0, 0, 1, 2, 2}, labels[] = {1, 1, 1, 0, 1};
    const uint64_t expect[6] = {0, 2, 0, 1, 1, 1};
    uint64_t t[6] = {9, 9, 9, 9, 9, 9};
    CHECK_INT_EQ(ac_contingency(clusters, 3, labels, 2, 5, t, NULL), AC_OK);
    CHECK(memcmp(t, expect, sizeof t) == 0);
    /* No rows: a zero table. */
    CHECK_INT_EQ(ac_contingency(clusters, 3, labels, 2, 0, t, NULL), AC_OK);
    for (int i = 0; i < 6; i++)
        CHECK_INT_EQ(t[i], 0);
    for_each_fixture(contingency_of_fixture);
}

/* ----------------------------------------------- accuracy and purity */

static void accuracies_of_fixture(const fixture *fx)
{
    ac_label_metrics m;
    if (!label_metrics_of(fx, &m)) {
        CHECK(!"ac_metrics_labels succeeds");
        return;
    }
    CHECK_VALUE(fx, V_RAW, m.raw_accuracy);
    CHECK_VALUE(fx, V_MATCHED, m.matched_accuracy);
    CHECK_VALUE(fx, V_PURITY, m.purity);
    CHECK_VALUE(fx, V_RAW, ac_accuracy_raw(fx->clusters, fx->labels, fx->n));
}

/* Table (clusters × labels)
 *        l0 l1 l2 l3
 *   k0 [  5  1  0  0 ]
 *   k1 [  4  0  0  0 ]
 *   k2 [  0  3  2  0 ]     15 rows
 * Raw: cluster k == label k: 5 + 0 + 2 = 7 -> 7/15.
 * Purity: max per row 5 + 4 + 3 = 12 -> 12/15.
 * Matched: k1 can only score with l0 (4), so the greedy k0->l0 (5) is
 * wrong: the best is k0->l1 (1), k1->l0 (4), k2->l2 (2) = 7, against
 * k0->l0 5 + k1->(nothing) 0 + k2->l1 3 = 8. So 8/15: k0->l0, k2->l1.
 * (Every injection: k0 in {l0,l1}, k1 = l0, k2 in {l1,l2}; the best
 * keeps l0 for k0 and gives k2 l1.) */
static void accuracy_purity_and_matched_accuracy_match_sklearn_and_hand_cases(void)
{
    int32_t clusters[15], labels[15];
    const int cells[][3] = {{0, 0, 5}, {0, 1, 1}, {1, 0, 4}, {2, 1, 3}, {2, 2, 2}};
    size_t n = 0;
    for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
        for (int r = 0; r < cells[c][2]; r++) {
            clusters[n] = cells[c][0];
            labels[n++] = cells[c][1];
        }
    CHECK_INT_EQ(n, 15);
    ac_label_metrics m;
    CHECK_INT_EQ(ac_metrics_labels(clusters, 3, labels, 4, n, &m, NULL), AC_OK);
    CHECK_REL(m.raw_accuracy, 7.0 / 15.0);
    CHECK_REL(m.purity, 12.0 / 15.0);
    CHECK_REL(m.matched_accuracy, 8.0 / 15.0);
    /* The same with the roles swapped (more rows than columns internally). */
    CHECK_INT_EQ(ac_metrics_labels(labels, 4, clusters, 3, n, &m, NULL), AC_OK);
    CHECK_REL(m.matched_accuracy, 8.0 / 15.0);
    for_each_fixture(accuracies_of_fixture);
}

/* Brute force: the best of all K! assignments of clusters to labels (K = C). */
static uint64_t brute_force_matching(const uint64_t *t, size_t K, size_t *perm, size_t depth)
{
    if (depth == K) {
        uint64_t s = 0;
        for (size_t k = 0; k < K; k++)
            s += t[k * K + perm[k]];
        return s;
    }
    uint64_t best = 0;
    for (size_t i = depth; i < K; i++) {
        size_t tmp = perm[depth];
        perm[depth] = perm[i];
        perm[i] = tmp;
        uint64_t s = brute_force_matching(t, K, perm, depth + 1);
        best = s > best ? s : best;
        perm[i] = perm[depth];
        perm[depth] = tmp;
    }
    return best;
}

/* The Hungarian algorithm against brute force on random square and
 * rectangular tables (rectangular ones padded with zero labels for the
 * brute force, which is what the matching means). */
static void matched_accuracy_equals_brute_force_on_random_tables(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 7);
    for (int trial = 0; trial < 200; trial++) {
        size_t K = 1 + (size_t)ac_rng_below_or_equal(&rng, 5);
        size_t C = 1 + (size_t)ac_rng_below_or_equal(&rng, 5);
        size_t S = K > C ? K : C, n = 20 + (size_t)ac_rng_below_or_equal(&rng, 40);
        int32_t clusters[64], labels[64];
        uint64_t sq[36] = {0};
        for (size_t i = 0; i < n; i++) {
            clusters[i] = (int32_t)ac_rng_below_or_equal(&rng, K - 1);
            /* Bias labels towards a hidden permutation so optima are not flat. */
            labels[i] = ac_rng_uniform(&rng) < 0.6 ? (int32_t)(((size_t)clusters[i] * 7 + 3) % C)
                                                   : (int32_t)ac_rng_below_or_equal(&rng, C - 1);
            sq[(size_t)clusters[i] * S + (size_t)labels[i]]++;
        }
        size_t perm[6] = {0, 1, 2, 3, 4, 5};
        uint64_t best = brute_force_matching(sq, S, perm, 0);
        ac_label_metrics m;
        CHECK_INT_EQ(ac_metrics_labels(clusters, K, labels, C, n, &m, NULL), AC_OK);
        CHECK_NEAR(m.matched_accuracy, (double)best / (double)n, 1e-15);
    }
}

/* ------------------------------------------------------------------ ARI */

static void ari_of_fixture(const fixture *fx)
{
    ac_label_metrics m;
    if (label_metrics_of(fx, &m))
        CHECK_VALUE(fx, V_ARI, m.ari);
    else
        CHECK(!"ac_metrics_labels succeeds");
}

/* Over ordered pairs of distinct rows (as sklearn's pair confusion matrix):
 * ss = Σ n_kc², tp = ss - n, fp = Σ b_k² - ss, fn = Σ a_c² - ss,
 * tn = n² - fp - fn - ss, ARI = 2(tp·tn - fn·fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn)).
 *
 * labels [0 0 1 1], clusters [0 1 0 1]: the table is [[1 1] [1 1]],
 * ss = 4, tp = 0, fp = (4 + 4) - 4 = 4, fn = 4, tn = 16 - 12 = 4:
 * ARI = 2(0 - 16) / (4·8 + 4·8) = -0.5 (sklearn's docstring example).
 *
 * labels [0 0 1 1], clusters [0 0 1 2]: table rows (2 0) (0 1) (0 1),
 * ss = 6, tp = 2, fp = (4+1+1) - 6 = 0, fn = (4+4) - 6 = 2, tn = 16 - 8 = 8:
 * ARI = 2(16 - 0) / (4·10 + 2·8) = 32/56 = 4/7.
 *
 * Identical partitions (fp = fn = 0) give 1, even both a single cluster;
 * one cluster against all-distinct labels gives tp = 0, fp = n² - n,
 * fn = 0, tn = 0: 0. */
static void adjusted_rand_index_matches_sklearn_and_hand_cases(void)
{
    const int32_t l4[] = {0, 0, 1, 1}, c4a[] = {0, 1, 0, 1}, c4b[] = {0, 0, 1, 2};
    const int32_t zeros[] = {0, 0, 0, 0}, distinct[] = {0, 1, 2, 3};
    ac_label_metrics m;
    CHECK_INT_EQ(ac_metrics_labels(c4a, 2, l4, 2, 4, &m, NULL), AC_OK);
    CHECK_REL(m.ari, -0.5);
    CHECK_INT_EQ(ac_metrics_labels(c4b, 3, l4, 2, 4, &m, NULL), AC_OK);
    CHECK_REL(m.ari, 4.0 / 7.0);
    CHECK_INT_EQ(ac_metrics_labels(zeros, 1, zeros, 1, 4, &m, NULL), AC_OK);
    CHECK(m.ari == 1.0);
    CHECK_INT_EQ(ac_metrics_labels(zeros, 1, distinct, 4, 4, &m, NULL), AC_OK);
    CHECK(m.ari == 0.0);
    CHECK_INT_EQ(ac_metrics_labels(zeros, 1, zeros, 1, 1, &m, NULL), AC_OK); /* one row */
    CHECK(m.ari == 1.0 && m.nmi == 1.0 && m.ami == 1.0);
    for_each_fixture(ari_of_fixture);
}

/* ----------------------------------------------------------- NMI and AMI */

static void information_of_fixture(const fixture *fx)
{
    ac_label_metrics m;
    if (!label_metrics_of(fx, &m)) {
        CHECK(!"ac_metrics_labels succeeds");
        return;
    }
    CHECK_VALUE(fx, V_NMI, m.nmi);
    CHECK_VALUE(fx, V_AMI, m.ami);
}

/* Plain MI of two id arrays, straight from the definition, for the
 * permutation check below: Σ (n_kc/n) log(n·n_kc / (a_c·b_k)). */
static double naive_mi(const int32_t *c, const int32_t *l, size_t n, size_t K, size_t C)
{
    double t[8][8] = {{0}}, a[8] = {0}, b[8] = {0}, mi = 0.0;
    for (size_t i = 0; i < n; i++) {
        t[c[i]][l[i]] += 1.0;
        b[c[i]] += 1.0;
        a[l[i]] += 1.0;
    }
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < C; j++)
            if (t[k][j] > 0.0)
                mi += t[k][j] / (double)n * log((double)n * t[k][j] / (a[j] * b[k]));
    return mi;
}

/* Visits every permutation of c[depth..n), adding naive_mi to *sum. */
static void sum_mi_over_permutations(int32_t *c, const int32_t *l, size_t n, size_t depth,
                                     size_t K, size_t C, double *sum, size_t *count)
{
    if (depth == n) {
        *sum += naive_mi(c, l, n, K, C);
        (*count)++;
        return;
    }
    for (size_t i = depth; i < n; i++) {
        int32_t tmp = c[depth];
        c[depth] = c[i];
        c[i] = tmp;
        sum_mi_over_permutations(c, l, n, depth + 1, K, C, sum, count);
        c[i] = c[depth];
        c[depth] = tmp;
    }
}

/* labels [0 0 1 1], clusters [0 0 0 1]: cells (k0,l0) = 2, (k0,l1) = 1,
 * (k1,l1) = 1, label sizes a = (2, 2), cluster sizes b = (3, 1), so
 *   MI = 2/4·log(4·2/(2·3)) + 1/4·log(4·1/(2·3)) + 1/4·log(4·1/(2·1))
 *      = ½·log(4/3) + ¼·log(2/3) + ¼·log 2
 *   H(labels) = log 2,  H(clusters) = -(¾·log ¾ + ¼·log ¼)
 *   NMI = MI / ((H(labels) + H(clusters)) / 2).
 * The expected MI is the mean MI over every permutation of the rows of one
 * partition (that is what the hypergeometric model averages): enumerated
 * here for this case and a 7-row one, independently of the library's
 * lgamma formula. */
static void nmi_and_ami_match_sklearn_and_hand_cases(void)
{
    const int32_t l4[] = {0, 0, 1, 1}, c4[] = {0, 0, 0, 1};
    ac_label_metrics m;
    CHECK_INT_EQ(ac_metrics_labels(c4, 2, l4, 2, 4, &m, NULL), AC_OK);
    double mi = 0.5 * log(4.0 / 3.0) + 0.25 * log(2.0 / 3.0) + 0.25 * log(2.0);
    double hl = log(2.0), hc = -(0.75 * log(0.75) + 0.25 * log(0.25));
    CHECK_REL(m.nmi, mi / ((hl + hc) / 2.0));

    struct { int32_t c[7], l[7]; size_t n, K, C; } cases[] = {
        {{0, 0, 0, 1}, {0, 0, 1, 1}, 4, 2, 2},
        {{0, 0, 1, 1, 2, 2, 2}, {0, 1, 1, 1, 0, 2, 2}, 7, 3, 3},
    };
    for (size_t t = 0; t < 2; t++) {
        int32_t perm[7];
        memcpy(perm, cases[t].c, sizeof perm);
        double sum = 0.0;
        size_t count = 0;
        sum_mi_over_permutations(perm, cases[t].l, cases[t].n, 0, cases[t].K, cases[t].C, &sum,
                                 &count);
        double emi = sum / (double)count;
        double mi_t = naive_mi(cases[t].c, cases[t].l, cases[t].n, cases[t].K, cases[t].C);
        /* entropies from the sizes */
        double a[3] = {0}, b[3] = {0}, ha = 0.0, hb = 0.0, N = (double)cases[t].n;
        for (size_t i = 0; i < cases[t].n; i++) {
            a[cases[t].l[i]] += 1.0;
            b[cases[t].c[i]] += 1.0;
        }
        for (int j = 0; j < 3; j++) {
            if (a[j] > 0.0) ha -= a[j] / N * log(a[j] / N);
            if (b[j] > 0.0) hb -= b[j] / N * log(b[j] / N);
        }
        double ami = (mi_t - emi) / ((ha + hb) / 2.0 - emi);
        CHECK_INT_EQ(ac_metrics_labels(cases[t].c, cases[t].K, cases[t].l, cases[t].C,
                                       cases[t].n, &m, NULL),
                     AC_OK);
        CHECK_NEAR(m.ami, ami, 1e-12);
        CHECK_NEAR(m.nmi, mi_t / ((ha + hb) / 2.0), 1e-12);
    }

    /* sklearn's conventions: both partitions one group -> 1 and 1; one group
     * against several -> MI = 0, so NMI = 0 and AMI = 0 (EMI is 0 too). */
    const int32_t zeros[] = {0, 0, 0, 0}, distinct[] = {0, 1, 2, 3};
    CHECK_INT_EQ(ac_metrics_labels(zeros, 3, zeros, 2, 4, &m, NULL), AC_OK);
    CHECK(m.nmi == 1.0 && m.ami == 1.0);
    CHECK_INT_EQ(ac_metrics_labels(zeros, 1, distinct, 4, 4, &m, NULL), AC_OK);
    CHECK(m.nmi == 0.0 && m.ami == 0.0);
    CHECK_INT_EQ(ac_metrics_labels(distinct, 4, zeros, 1, 4, &m, NULL), AC_OK);
    CHECK(m.nmi == 0.0 && m.ami == 0.0);

    /* Independent partitions: tables with proportional rows, (2 4 | 1 2)
     * and (1 1 1 | 2 2 2 | 1 1 1) by label. MI is 0 in exact arithmetic;
     * in floating point each term is rounding noise, which sklearn drops
     * (terms under machine epsilon, then a clip at 0), so its NMI is
     * exactly 0.0; and so is ours. AMI is then -EMI/(mean H - EMI):
     * sklearn gives -0.1349213878172318 for the first. */
    const int32_t l9[] = {0, 0, 1, 1, 1, 1, 0, 1, 1}, c9[] = {0, 0, 0, 0, 0, 0, 1, 1, 1};
    const int32_t l12[] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2};
    const int32_t c12[] = {0, 1, 2, 0, 0, 1, 1, 2, 2, 0, 1, 2};
    CHECK_INT_EQ(ac_metrics_labels(c9, 2, l9, 2, 9, &m, NULL), AC_OK);
    CHECK(m.nmi == 0.0);
    CHECK_NEAR(m.ami, -0.1349213878172318, 1e-15);
    CHECK_REL(m.ari, -1.0 / 9.0);
    CHECK_INT_EQ(ac_metrics_labels(c12, 3, l12, 3, 12, &m, NULL), AC_OK);
    CHECK(m.nmi == 0.0);
    for_each_fixture(information_of_fixture);
}

/* ----------------------------------------------------------- silhouette */

static void silhouette_of_fixture(const fixture *fx)
{
    ac_geometry_metrics g;
    if (!geometry_metrics_of(fx, &g)) {
        CHECK(!"ac_metrics_geometry succeeds");
        return;
    }
    CHECK_INT_EQ(g.silhouette_rows, fx->silhouette_rows);
    if (fx->silhouette_tolerance == 0.0) {
        CHECK_VALUE(fx, V_SIL, g.silhouette);
    } else if (!(fabs(g.silhouette - fx->v[V_SIL]) <= fx->silhouette_tolerance)) {
        fprintf(stderr, "%s: sampled silhouette %.17g vs sklearn's exact %.17g (> %g)\n",
                fx->name, g.silhouette, fx->v[V_SIL], fx->silhouette_tolerance);
        harness_check_failed = 1;
    }
}

/* 1-D rows 0, 1 (cluster 0) and 4, 6 (cluster 1):
 *   x=0: a = 1, b = (4 + 6)/2 = 5,   s = 4/5
 *   x=1: a = 1, b = (3 + 5)/2 = 4,   s = 3/4
 *   x=4: a = 2, b = (4 + 3)/2 = 3.5, s = 1.5/3.5 = 3/7
 *   x=6: a = 2, b = (6 + 5)/2 = 5.5, s = 3.5/5.5 = 7/11
 * mean (4/5 + 3/4 + 3/7 + 7/11) / 4.
 * Rows 0, 1 (cluster 0) and 10 alone (cluster 1): the lone row scores 0,
 *   x=0: a = 1, b = 10, s = 9/10;  x=1: a = 1, b = 9, s = 8/9;
 * mean (9/10 + 8/9 + 0) / 3. */
static void silhouette_matches_sklearn_hand_cases_and_samples_large_sets(void)
{
    const float x4[] = {0, 1, 4, 6}, x3[] = {0, 1, 10};
    const int32_t c4[] = {0, 0, 1, 1}, c3[] = {1, 1, 0}; /* ids need not start at 0 */
    ac_geometry_metrics g;
    CHECK_INT_EQ(ac_metrics_geometry(x4, 4, 1, c4, 2, 0, &g, NULL), AC_OK);
    CHECK_REL(g.silhouette, (4.0 / 5 + 3.0 / 4 + 3.0 / 7 + 7.0 / 11) / 4);
    CHECK_INT_EQ(g.silhouette_rows, 4);
    CHECK_INT_EQ(ac_metrics_geometry(x3, 3, 1, c3, 2, 0, &g, NULL), AC_OK);
    CHECK_REL(g.silhouette, (9.0 / 10 + 8.0 / 9) / 3);

    for_each_fixture(silhouette_of_fixture);

    /* The sample is seeded: the same seed gives the same value, another
     * seed another sample (but as close to the exact value). */
    fixture fx;
    if (!fixture_load("big_sampled", &fx)) {
        CHECK(!"fixture loads");
        return;
    }
    ac_geometry_metrics g1, g2, g3;
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, fx.n, fx.F, fx.clusters, fx.K, 5, &g1, NULL), AC_OK);
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, fx.n, fx.F, fx.clusters, fx.K, 5, &g2, NULL), AC_OK);
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, fx.n, fx.F, fx.clusters, fx.K, 6, &g3, NULL), AC_OK);
    CHECK(g1.silhouette == g2.silhouette);
    CHECK(g1.silhouette != g3.silhouette);
    CHECK_NEAR(g3.silhouette, fx.v[V_SIL], fx.silhouette_tolerance);
    CHECK_INT_EQ(g3.silhouette_rows, AC_SILHOUETTE_EXACT_MAX);
    /* Sampling leaves the other two scores exact. */
    CHECK_VALUE(&fx, V_DB, g3.davies_bouldin);
    CHECK_VALUE(&fx, V_CH, g3.calinski_harabasz);
    /* The first 5000 rows alone are exact: the sample path is not taken. */
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, AC_SILHOUETTE_EXACT_MAX, fx.F, fx.clusters, fx.K, 5,
                                     &g1, NULL),
                 AC_OK);
    CHECK_INT_EQ(g1.silhouette_rows, AC_SILHOUETTE_EXACT_MAX);
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, AC_SILHOUETTE_EXACT_MAX, fx.F, fx.clusters, fx.K, 6,
                                     &g2, NULL),
                 AC_OK);
    CHECK(g1.silhouette == g2.silhouette);
    fixture_free(&fx);
}

/* ------------------------------------------------------- Davies-Bouldin */

static void davies_bouldin_of_fixture(const fixture *fx)
{
    ac_geometry_metrics g;
    if (geometry_metrics_of(fx, &g))
        CHECK_VALUE(fx, V_DB, g.davies_bouldin);
    else
        CHECK(!"ac_metrics_geometry succeeds");
}

/* The 1-D rows 0, 1 | 4, 6: centroids 0.5 and 5, spreads (mean distance to
 * the centroid) 0.5 and 1, centroid distance 4.5; both clusters' worst
 * ratio is (0.5 + 1)/4.5 = 1/3, so DB = 1/3.
 * Rows -1, 1 | -2, 2 | 9.5, 10.5: centroids 0, 0 and 10, spreads 1, 2 and
 * 0.5. Clusters 0 and 1 share a centroid; sklearn makes that distance
 * infinite (ratio 0) rather than dividing by 0. Ratios: 0-2 (1 + 0.5)/10 =
 * 0.15, 1-2 (2 + 0.5)/10 = 0.25; worst per cluster 0.15, 0.25, 0.25, so
 * DB = 0.65/3. */
static void davies_bouldin_matches_sklearn_and_hand_cases(void)
{
    const float x4[] = {0, 1, 4, 6};
    const int32_t c4[] = {0, 0, 1, 1};
    ac_geometry_metrics g;
    CHECK_INT_EQ(ac_metrics_geometry(x4, 4, 1, c4, 2, 0, &g, NULL), AC_OK);
    CHECK_REL(g.davies_bouldin, 1.0 / 3.0);
    const float x6[] = {-1, 1, -2, 2, 9.5f, 10.5f};
    const int32_t c6[] = {0, 0, 1, 1, 2, 2};
    CHECK_INT_EQ(ac_metrics_geometry(x6, 6, 1, c6, 3, 0, &g, NULL), AC_OK);
    CHECK_REL(g.davies_bouldin, (0.15 + 0.25 + 0.25) / 3.0);
    for_each_fixture(davies_bouldin_of_fixture);
}

/* ---------------------------------------------------- Calinski-Harabasz */

static void calinski_harabasz_of_fixture(const fixture *fx)
{
    ac_geometry_metrics g;
    if (geometry_metrics_of(fx, &g))
        CHECK_VALUE(fx, V_CH, g.calinski_harabasz);
    else
        CHECK(!"ac_metrics_geometry succeeds");
}

/* The 1-D rows 0, 1 | 4, 6: overall mean 2.75, centroids 0.5 and 5;
 * between = 2·(0.5 - 2.75)² + 2·(5 - 2.75)² = 20.25, within = 0.25 + 0.25 +
 * 1 + 1 = 2.5; CH = (20.25 / (2 - 1)) / (2.5 / (4 - 2)) = 16.2.
 * Clusters of identical rows have no within-cluster dispersion: sklearn
 * gives CH = 1 (not infinity), DB = 0 and every silhouette 1. */
static void calinski_harabasz_matches_sklearn_and_hand_cases(void)
{
    const float x4[] = {0, 1, 4, 6}, same[] = {3, 3, 3, 7, 7};
    const int32_t c4[] = {0, 0, 1, 1}, c5[] = {0, 0, 0, 1, 1};
    ac_geometry_metrics g;
    CHECK_INT_EQ(ac_metrics_geometry(x4, 4, 1, c4, 2, 0, &g, NULL), AC_OK);
    CHECK_REL(g.calinski_harabasz, 16.2);
    CHECK_INT_EQ(ac_metrics_geometry(same, 5, 1, c5, 2, 0, &g, NULL), AC_OK);
    CHECK(g.calinski_harabasz == 1.0);
    CHECK(g.davies_bouldin == 0.0);
    CHECK(g.silhouette == 1.0);
    for_each_fixture(calinski_harabasz_of_fixture);
}

/* ------------------------------------------------------ undefined cases */

/* Where sklearn raises ("Number of labels is 1. Valid values are 2 to
 * n_samples - 1") the scores are NaN: one non-empty cluster (whatever K
 * says), or as many clusters as rows. Empty clusters do not count. */
static void geometry_scores_are_nan_where_sklearn_would_raise(void)
{
    const float x[] = {0, 1, 2, 5};
    const int32_t one[] = {2, 2, 2, 2}, each[] = {0, 1, 2, 3}, two[] = {3, 3, 0, 0};
    ac_geometry_metrics g;
    CHECK_INT_EQ(ac_metrics_geometry(x, 4, 1, one, 5, 0, &g, NULL), AC_OK);
    CHECK(isnan(g.silhouette) && isnan(g.davies_bouldin) && isnan(g.calinski_harabasz));
    CHECK_INT_EQ(g.silhouette_rows, 4);
    CHECK_INT_EQ(ac_metrics_geometry(x, 4, 1, each, 4, 0, &g, NULL), AC_OK);
    CHECK(isnan(g.silhouette) && isnan(g.davies_bouldin) && isnan(g.calinski_harabasz));
    CHECK_INT_EQ(ac_metrics_geometry(x, 1, 1, one, 3, 0, &g, NULL), AC_OK); /* one row */
    CHECK(isnan(g.silhouette) && isnan(g.davies_bouldin) && isnan(g.calinski_harabasz));
    /* Two used ids out of K = 6: defined, and the same as with K = 4. */
    ac_geometry_metrics h;
    CHECK_INT_EQ(ac_metrics_geometry(x, 4, 1, two, 6, 0, &g, NULL), AC_OK);
    CHECK_INT_EQ(ac_metrics_geometry(x, 4, 1, two, 4, 0, &h, NULL), AC_OK);
    CHECK(!isnan(g.silhouette) && g.silhouette == h.silhouette);
    CHECK(g.davies_bouldin == h.davies_bouldin && g.calinski_harabasz == h.calinski_harabasz);
}

/* Ids that are never used change nothing, even a K or C far beyond what a
 * K×C table could hold: the work is sized by the ids that occur. */
static void unused_ids_change_nothing_and_cost_no_memory(void)
{
    fixture fx;
    if (!fixture_load("edge_unused_ids", &fx)) {
        CHECK(!"fixture loads");
        return;
    }
    const size_t huge = (size_t)1 << 40;
    ac_label_metrics m1, m2;
    ac_geometry_metrics g1, g2;
    CHECK_INT_EQ(ac_metrics_labels(fx.clusters, fx.K, fx.labels, fx.C, fx.n, &m1, NULL), AC_OK);
    CHECK_INT_EQ(ac_metrics_labels(fx.clusters, huge, fx.labels, huge, fx.n, &m2, NULL), AC_OK);
    CHECK(memcmp(&m1, &m2, sizeof m1) == 0);
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, fx.n, fx.F, fx.clusters, fx.K, 1, &g1, NULL), AC_OK);
    CHECK_INT_EQ(ac_metrics_geometry(fx.x, fx.n, fx.F, fx.clusters, huge, 1, &g2, NULL), AC_OK);
    CHECK(memcmp(&g1, &g2, sizeof g1) == 0);
    fixture_free(&fx);
}

/* ---------------------------------------------------------- bad input */

#define SENTINEL_VALUE 12345.0

static void invalid_input_is_rejected_with_a_message(void)
{
    const int32_t ok_ids[] = {0, 1, 0}, neg[] = {0, -1, 0}, big[] = {0, 2, 0};
    const float x[] = {0, 1, 2}, bad_x[] = {0, NAN, 2};
    ac_error err;
    ac_label_metrics m;
    ac_geometry_metrics g;
    m.ari = SENTINEL_VALUE;
    g.silhouette = SENTINEL_VALUE;
    uint64_t t[4] = {7, 7, 7, 7};

    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_metrics_labels(ok_ids, 2, ok_ids, 2, 0, &m, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(err.status, AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "n = 0");
    CHECK_INT_EQ(ac_metrics_labels(neg, 2, ok_ids, 2, 3, &m, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "clusters[1] = -1 is out of range [0, K = 2)");
    CHECK_INT_EQ(ac_metrics_labels(big, 2, ok_ids, 2, 3, &m, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "clusters[1] = 2");
    CHECK_INT_EQ(ac_metrics_labels(ok_ids, 2, big, 2, 3, &m, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "labels[1] = 2 is out of range [0, C = 2)");
    CHECK_INT_EQ(ac_metrics_labels(ok_ids, 2, ok_ids, 0, 3, &m, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "labels[0]");
    CHECK_INT_EQ(ac_metrics_labels(NULL, 2, ok_ids, 2, 3, &m, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_metrics_labels(ok_ids, 2, ok_ids, 2, 3, NULL, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_metrics_labels(ok_ids, 2, ok_ids, 2, (size_t)UINT32_MAX + 1, &m, &err),
                 AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "rows");
    CHECK_INT_EQ(ac_metrics_labels(neg, 2, ok_ids, 2, 3, &m, NULL), AC_ERR_INVALID);
    CHECK(m.ari == SENTINEL_VALUE);

    CHECK_INT_EQ(ac_contingency(ok_ids, 2, big, 2, 3, t, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "labels[1] = 2");
    CHECK_INT_EQ(ac_contingency(neg, 2, ok_ids, 2, 3, t, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_contingency(ok_ids, 2, ok_ids, 2, 3, NULL, &err), AC_ERR_INVALID);
    CHECK(t[0] == 7 && t[1] == 7 && t[2] == 7 && t[3] == 7); /* untouched */

    memset(&err, 0, sizeof err);
    CHECK_INT_EQ(ac_metrics_geometry(x, 0, 1, ok_ids, 2, 0, &g, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(err.status, AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "n = 0");
    CHECK_INT_EQ(ac_metrics_geometry(x, 3, 0, ok_ids, 2, 0, &g, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "F = 0");
    CHECK_INT_EQ(ac_metrics_geometry(x, 3, 1, big, 2, 0, &g, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "clusters[1] = 2 is out of range [0, K = 2)");
    CHECK_INT_EQ(ac_metrics_geometry(x, 3, 1, neg, 2, 0, &g, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_metrics_geometry(bad_x, 3, 1, ok_ids, 2, 0, &g, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "x[1, 0] is not finite");
    CHECK_INT_EQ(ac_metrics_geometry(NULL, 3, 1, ok_ids, 2, 0, &g, &err), AC_ERR_INVALID);
    CHECK_INT_EQ(ac_metrics_geometry(x, 3, 1, ok_ids, 2, 0, NULL, &err), AC_ERR_INVALID);
    CHECK(g.silhouette == SENTINEL_VALUE);
}

/* ---------------------------------------------------- allocation failure */

/* Fails allocation 1, 2, ... of each call until one succeeds: every failure
 * is AC_ERR_NOMEM with the output untouched (ASan reports any leak), and
 * the success equals the unhindered result. */
static void every_allocation_failure_is_reported_and_leaks_nothing(void)
{
    const char *names[] = {"iris_kmeans", "edge_unused_ids", "edge_single_cluster"};
    for (size_t f = 0; f < 3; f++) {
        fixture fx;
        if (!fixture_load(names[f], &fx)) {
            CHECK(!"fixture loads");
            continue;
        }
        ac_label_metrics ref_m, m;
        ac_geometry_metrics ref_g, g;
        CHECK(label_metrics_of(&fx, &ref_m));
        CHECK(geometry_metrics_of(&fx, &ref_g));

        int done = 0;
        size_t failures = 0;
        for (size_t n = 1; n < 64 && !done; n++) {
            ac_error err;
            memset(&err, 0, sizeof err);
            m.ari = SENTINEL_VALUE;
            ac_alloc_fail_at(n);
            ac_status st = ac_metrics_labels(fx.clusters, fx.K, fx.labels, fx.C, fx.n, &m, &err);
            ac_alloc_fail_at(0);
            if (st == AC_OK) {
                done = 1;
                CHECK(memcmp(&m, &ref_m, sizeof m) == 0);
            } else {
                failures++;
                CHECK_INT_EQ(st, AC_ERR_NOMEM);
                CHECK_INT_EQ(err.status, AC_ERR_NOMEM);
                CHECK_STR_CONTAINS(err.message, "out of memory");
                CHECK(m.ari == SENTINEL_VALUE);
            }
        }
        CHECK(done);
        CHECK(failures >= 3);

        done = 0;
        failures = 0;
        for (size_t n = 1; n < 64 && !done; n++) {
            ac_error err;
            memset(&err, 0, sizeof err);
            g.silhouette = SENTINEL_VALUE;
            ac_alloc_fail_at(n);
            ac_status st = ac_metrics_geometry(fx.x, fx.n, fx.F, fx.clusters, fx.K, 42, &g, &err);
            ac_alloc_fail_at(0);
            if (st == AC_OK) {
                done = 1;
                CHECK(g.silhouette_rows == ref_g.silhouette_rows);
                CHECK(close_to(g.silhouette, ref_g.silhouette, 0.0) &&
                      close_to(g.davies_bouldin, ref_g.davies_bouldin, 0.0) &&
                      close_to(g.calinski_harabasz, ref_g.calinski_harabasz, 0.0));
            } else {
                failures++;
                CHECK_INT_EQ(st, AC_ERR_NOMEM);
                CHECK_INT_EQ(err.status, AC_ERR_NOMEM);
                CHECK_STR_CONTAINS(err.message, "out of memory");
                CHECK(g.silhouette == SENTINEL_VALUE);
            }
        }
        CHECK(done);
        CHECK(failures >= 6);
        fixture_free(&fx);
    }
    ac_alloc_fail_at(0);
}

int main(void)
{
    RUN_TEST(the_contingency_table_counts_cluster_label_pairs);
    RUN_TEST(accuracy_purity_and_matched_accuracy_match_sklearn_and_hand_cases);
    RUN_TEST(matched_accuracy_equals_brute_force_on_random_tables);
    RUN_TEST(adjusted_rand_index_matches_sklearn_and_hand_cases);
    RUN_TEST(nmi_and_ami_match_sklearn_and_hand_cases);
    RUN_TEST(silhouette_matches_sklearn_hand_cases_and_samples_large_sets);
    RUN_TEST(davies_bouldin_matches_sklearn_and_hand_cases);
    RUN_TEST(calinski_harabasz_matches_sklearn_and_hand_cases);
    RUN_TEST(geometry_scores_are_nan_where_sklearn_would_raise);
    RUN_TEST(unused_ids_change_nothing_and_cost_no_memory);
    RUN_TEST(invalid_input_is_rejected_with_a_message);
    RUN_TEST(every_allocation_failure_is_reported_and_leaks_nothing);
    TEST_MAIN_END();
}
