/*
 * kmeans.c - the k-means baseline: k-means++ seeding, Lloyd iterations,
 * several restarts, the best inertia kept. Also an initialiser for other
 * clusterers.
 *
 * Seeding is greedy k-means++ (Arthur & Vassilvitskii 2007, with the local
 * trials scikit-learn uses): the first centre is a uniform row; each next
 * one is the best, by resulting potential, of 2 + ⌊ln K⌋ rows drawn with
 * probability proportional to their squared distance to the nearest centre.
 * Lloyd's iterations then alternate assignment and mean updates until no
 * row changes cluster or the centres move less than tol (relative to the
 * mean per-feature variance, as scikit-learn's tol). An empty cluster is
 * given the row farthest from its centre. Sums are in double.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

ac_kmeans_params ac_kmeans_default_params(int K)
{
    ac_kmeans_params p;
    p.clusters = K;
    p.restarts = 10;
    p.max_iter = 300;
    p.tol = 1e-4;
    p.seed = 42;
    return p;
}

static double dist2(const float *a, const float *b, size_t F)
{
    double d = 0.0;
    for (size_t f = 0; f < F; f++) {
        double t = (double)a[f] - (double)b[f];
        d += t * t;
    }
    return d;
}

/* Index of the row whose cumulative weight passes u·total. */
static size_t draw_weighted(const double *w, size_t n, double total, ac_rng *rng)
{
    double target = ac_rng_uniform(rng) * total, acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        acc += w[i];
        if (acc > target)
            return i;
    }
    return n - 1;
}

/* Greedy k-means++ into centers (K, F); d2 (n) is scratch. */
static void seed_centres(const float *x, size_t n, size_t F, int K, ac_rng *rng,
                         float *centers, double *d2)
{
    size_t first = (size_t)ac_rng_below_or_equal(rng, n - 1);
    memcpy(centers, x + first * F, F * sizeof(float));
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += d2[i] = dist2(x + i * F, centers, F);
    int trials = 2 + (int)log((double)K);
    for (int k = 1; k < K; k++) {
        size_t best = 0;
        double best_total = INFINITY;
        for (int t = 0; t < trials; t++) {
            size_t c = total > 0.0 ? draw_weighted(d2, n, total, rng)
                                   : (size_t)ac_rng_below_or_equal(rng, n - 1);
            double s = 0.0;
            for (size_t i = 0; i < n; i++) {
                double d = dist2(x + i * F, x + c * F, F);
                s += d < d2[i] ? d : d2[i];
            }
            if (s < best_total) {
                best_total = s;
                best = c;
            }
        }
        memcpy(centers + (size_t)k * F, x + best * F, F * sizeof(float));
        total = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = dist2(x + i * F, x + best * F, F);
            if (d < d2[i])
                d2[i] = d;
            total += d2[i];
        }
    }
}

/* Assigns every row to its nearest centre (the first of equals); returns
 * the inertia and counts in *changed the rows whose cluster changed. */
static double assign_nearest(const float *x, size_t n, size_t F, int K, const float *centers,
                             int32_t *assign, size_t *changed)
{
    double inertia = 0.0;
    size_t moved = 0;
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        double bd = dist2(x + i * F, centers, F);
        for (int k = 1; k < K; k++) {
            double d = dist2(x + i * F, centers + (size_t)k * F, F);
            if (d < bd) {
                bd = d;
                best = k;
            }
        }
        moved += assign[i] != best;
        assign[i] = best;
        inertia += bd;
    }
    *changed = moved;
    return inertia;
}

/* Lloyd's iterations from the given centres; returns the inertia. */
static double lloyd(const float *x, size_t n, size_t F, int K, const ac_kmeans_params *p,
                    double tol_abs, float *centers, int32_t *assign, double *sums,
                    size_t *counts)
{
    for (size_t i = 0; i < n; i++)
        assign[i] = -1;
    double inertia = 0.0;
    for (int it = 0; it < p->max_iter; it++) {
        size_t changed;
        inertia = assign_nearest(x, n, F, K, centers, assign, &changed);
        if (changed == 0)
            break;
        memset(sums, 0, (size_t)K * F * sizeof(double));
        memset(counts, 0, (size_t)K * sizeof(size_t));
        for (size_t i = 0; i < n; i++) {
            counts[assign[i]]++;
            for (size_t f = 0; f < F; f++)
                sums[(size_t)assign[i] * F + f] += (double)x[i * F + f];
        }
        double shift = 0.0;
        for (int k = 0; k < K; k++) {
            float *c = centers + (size_t)k * F;
            if (counts[k] == 0) {
                /* An empty cluster takes the row farthest from its centre. */
                size_t far = 0;
                double fd = -1.0;
                for (size_t i = 0; i < n; i++) {
                    double d = dist2(x + i * F, centers + (size_t)assign[i] * F, F);
                    if (d > fd) {
                        fd = d;
                        far = i;
                    }
                }
                shift += dist2(c, x + far * F, F);
                memcpy(c, x + far * F, F * sizeof(float));
                continue;
            }
            for (size_t f = 0; f < F; f++) {
                float nc = (float)(sums[(size_t)k * F + f] / (double)counts[k]);
                double d = (double)nc - (double)c[f];
                shift += d * d;
                c[f] = nc;
            }
        }
        if (shift <= tol_abs) {
            /* Converged by the centres: one last assignment to match them. */
            inertia = assign_nearest(x, n, F, K, centers, assign, &changed);
            break;
        }
    }
    return inertia;
}

ac_status ac_kmeans(const float *x, size_t n, size_t F, const ac_kmeans_params *p,
                    int32_t *clusters, float *centers_out, double *inertia_out, ac_error *err)
{
    int K = p->clusters;
    if (K < 1 || (size_t)K > n || F == 0 || p->restarts < 1 || p->max_iter < 1 ||
        !(p->tol >= 0.0))
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "k-means with %d clusters over %zu rows of %zu features, %d "
                            "restarts, %d iterations (expected 1 <= clusters <= rows, at least "
                            "one feature, restart and iteration)",
                            K, n, F, p->restarts, p->max_iter);
    size_t KF = (size_t)K * F;
    float *centers = ac_alloc(KF * sizeof(float)), *best_centers = ac_alloc(KF * sizeof(float));
    int32_t *assign = ac_alloc(n * sizeof(int32_t));
    double *d2 = ac_alloc(n * sizeof(double)), *sums = ac_alloc(KF * sizeof(double));
    size_t *counts = ac_alloc((size_t)K * sizeof(size_t));
    if (!centers || !best_centers || !assign || !d2 || !sums || !counts) {
        ac_free(centers), ac_free(best_centers), ac_free(assign), ac_free(d2), ac_free(sums),
            ac_free(counts);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for k-means");
    }
    /* tol is relative to the data's mean per-feature variance. */
    double var = 0.0;
    for (size_t f = 0; f < F; f++) {
        double m = 0.0, s = 0.0;
        for (size_t i = 0; i < n; i++)
            m += (double)x[i * F + f];
        m /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double d = (double)x[i * F + f] - m;
            s += d * d;
        }
        var += s / (double)n;
    }
    double tol_abs = p->tol * var / (double)F;
    ac_rng rng;
    ac_rng_seed(&rng, p->seed ^ 0x6b6d65616e732b2bULL /* "kmeans++" */);
    double best = INFINITY;
    for (int r = 0; r < p->restarts; r++) {
        seed_centres(x, n, F, K, &rng, centers, d2);
        double inertia = lloyd(x, n, F, K, p, tol_abs, centers, assign, sums, counts);
        if (inertia < best) {
            best = inertia;
            memcpy(best_centers, centers, KF * sizeof(float));
            memcpy(clusters, assign, n * sizeof(int32_t));
        }
    }
    if (centers_out)
        memcpy(centers_out, best_centers, KF * sizeof(float));
    if (inertia_out)
        *inertia_out = best;
    ac_free(centers), ac_free(best_centers), ac_free(assign), ac_free(d2), ac_free(sums),
        ac_free(counts);
    return AC_OK;
}
