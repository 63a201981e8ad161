/*
 * picture.c - the numbers behind the pictures: principal components of the
 * rows (for the projection) and the attention weights of a forward pass
 * (for the heat map). The drawing itself is plot.c's.
 *
 * PCA is subspace iteration on the covariance C = X̃ᵀX̃ / (n - 1), X̃ the
 * centred rows, without forming C: each pass computes W = X̃ᵀ(X̃V) for a
 * block V of p = min(F, components + 6) orthonormal columns, in O(n·F·p)
 * time and O(F·p) memory, so that a CSV of many columns needs no F² matrix.
 * The extra columns make the wanted ones converge at the rate
 * λ_{p+1}/λ_components rather than λ_{components+1}/λ_components. A
 * Rayleigh-Ritz step (Jacobi on the p × p matrix VᵀCV) orders the columns
 * by variance and gives the explained shares. Everything is in double.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCA_EXTRA_COLUMNS 6
#define PCA_MAX_PASSES 1000
#define PCA_TOLERANCE 1e-13

/* Eigen-decomposition of the symmetric matrix a (p, p) by cyclic Jacobi
 * rotations: eigenvalues on a's diagonal on return, eigenvectors in the
 * columns of e (p, p). */
static void jacobi_eigen(double *a, double *e, size_t p)
{
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++)
            e[i * p + j] = i == j ? 1.0 : 0.0;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0.0, diag = 0.0;
        for (size_t i = 0; i < p; i++) {
            diag += a[i * p + i] * a[i * p + i];
            for (size_t j = i + 1; j < p; j++)
                off += a[i * p + j] * a[i * p + j];
        }
        if (off <= 1e-30 * diag || off == 0.0)
            return;
        for (size_t i = 0; i < p; i++) {
            for (size_t j = i + 1; j < p; j++) {
                double aij = a[i * p + j];
                if (aij == 0.0)
                    continue;
                /* The rotation that zeroes a[i][j] (Golub & Van Loan 8.5). */
                double theta = (a[j * p + j] - a[i * p + i]) / (2.0 * aij);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (size_t k = 0; k < p; k++) { /* columns i and j */
                    double aki = a[k * p + i], akj = a[k * p + j];
                    a[k * p + i] = c * aki - s * akj;
                    a[k * p + j] = s * aki + c * akj;
                }
                for (size_t k = 0; k < p; k++) { /* rows i and j */
                    double aik = a[i * p + k], ajk = a[j * p + k];
                    a[i * p + k] = c * aik - s * ajk;
                    a[j * p + k] = s * aik + c * ajk;
                }
                for (size_t k = 0; k < p; k++) {
                    double eki = e[k * p + i], ekj = e[k * p + j];
                    e[k * p + i] = c * eki - s * ekj;
                    e[k * p + j] = s * eki + c * ekj;
                }
            }
        }
    }
}

/* Orthonormalises the p columns of v (F, p) in place by modified
 * Gram-Schmidt; a column that collapses (rank deficiency) is replaced by a
 * unit vector orthogonal to the others. */
static void orthonormalize(double *v, size_t F, size_t p)
{
    for (size_t j = 0; j < p; j++) {
        for (int attempt = 0;; attempt++) {
            for (size_t i = 0; i < j; i++) {
                double dot = 0.0;
                for (size_t f = 0; f < F; f++)
                    dot += v[f * p + i] * v[f * p + j];
                for (size_t f = 0; f < F; f++)
                    v[f * p + j] -= dot * v[f * p + i];
            }
            double norm = 0.0;
            for (size_t f = 0; f < F; f++)
                norm += v[f * p + j] * v[f * p + j];
            if (norm > 1e-200 && (attempt > 0 || norm > 1e-24)) {
                norm = sqrt(norm);
                for (size_t f = 0; f < F; f++)
                    v[f * p + j] /= norm;
                break;
            }
            /* Try the coordinate axes in turn; p <= F guarantees one is
             * independent of the j columns before it. */
            for (size_t f = 0; f < F; f++)
                v[f * p + j] = f == ((size_t)attempt + j) % F ? 1.0 : 0.0;
            if (attempt > (int)F)
                break;
        }
    }
}

/* w (F, p) = X̃ᵀ(X̃ v) / (n - 1), X̃ the rows of x centred on mean; t (p) is scratch. */
static void covariance_times(double *w, const float *x, size_t n, size_t F, const double *mean,
                             const double *v, size_t p, double *t)
{
    memset(w, 0, F * p * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        const float *xi = x + i * F; /* (F) */
        memset(t, 0, p * sizeof *t);
        for (size_t f = 0; f < F; f++) {
            double c = (double)xi[f] - mean[f];
            for (size_t j = 0; j < p; j++)
                t[j] += c * v[f * p + j];
        }
        for (size_t f = 0; f < F; f++) {
            double c = (double)xi[f] - mean[f];
            for (size_t j = 0; j < p; j++)
                w[f * p + j] += c * t[j];
        }
    }
    double denom = n > 1 ? (double)(n - 1) : 1.0;
    for (size_t k = 0; k < F * p; k++)
        w[k] /= denom;
}

/* a (p, p) = vᵀ w for v, w (F, p). */
static void project_block(double *a, const double *v, const double *w, size_t F, size_t p)
{
    for (size_t i = 0; i < p; i++)
        for (size_t j = 0; j < p; j++) {
            double s = 0.0;
            for (size_t f = 0; f < F; f++)
                s += v[f * p + i] * w[f * p + j];
            a[i * p + j] = s;
        }
    for (size_t i = 0; i < p; i++) /* symmetrise the rounding */
        for (size_t j = i + 1; j < p; j++)
            a[i * p + j] = a[j * p + i] = 0.5 * (a[i * p + j] + a[j * p + i]);
}

ac_status ac_pca(const float *x, size_t n, size_t F, size_t components, float *projected,
                 double *explained, ac_error *err)
{
    if (n == 0 || F == 0)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "PCA of %zu rows of %zu features (expected at least one of each)", n,
                            F);
    if (components < 1 || components > F)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "%zu principal components of %zu features (expected 1 to %zu)",
                            components, F, F);
    for (size_t k = 0; k < n * F; k++)
        if (!isfinite(x[k]))
            return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                                "row %zu, feature %zu is not finite (PCA needs finite values)",
                                k / F, k % F + 1);
    size_t p = components + PCA_EXTRA_COLUMNS < F ? components + PCA_EXTRA_COLUMNS : F;
    /* mean (F), v, w (F, p), a, e (p, p), t, ritz (p), order (p) */
    double *block = ac_calloc(2 * F + 2 * F * p + 2 * p * p + 3 * p, sizeof(double));
    size_t *order = ac_calloc(p, sizeof(size_t)); /* components by variance, descending */
    if (!block || !order) {
        ac_free(block);
        ac_free(order);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory for the principal components of %zu features", F);
    }
    double *mean = block, *var = mean + F, *v = var + F, *w = v + F * p, *a = w + F * p;
    double *e = a + p * p, *t = e + p * p, *ritz = t + p, *prev = ritz + p;

    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < F; f++)
            mean[f] += (double)x[i * F + f];
    for (size_t f = 0; f < F; f++)
        mean[f] /= (double)n;
    double total = 0.0; /* trace of C: the total variance */
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < F; f++) {
            double c = (double)x[i * F + f] - mean[f];
            var[f] += c * c;
        }
    for (size_t f = 0; f < F; f++)
        total += var[f] / (n > 1 ? (double)(n - 1) : 1.0);

    /* A fixed, generic start: the same picture every run. */
    ac_rng rng;
    ac_rng_seed(&rng, 0x70636121u);
    for (size_t k = 0; k < F * p; k++)
        v[k] = ac_rng_normal(&rng);
    orthonormalize(v, F, p);
    for (size_t j = 0; j < p; j++)
        prev[j] = -1.0;
    for (int pass = 0; pass < PCA_MAX_PASSES && total > 0.0; pass++) {
        covariance_times(w, x, n, F, mean, v, p, t);
        project_block(a, v, w, F, p);
        /* The Ritz values of the current block, largest first. */
        jacobi_eigen(a, e, p);
        for (size_t j = 0; j < p; j++)
            ritz[j] = a[j * p + j];
        for (size_t i = 1; i < p; i++) /* insertion sort, descending */
            for (size_t j = i; j > 0 && ritz[j] > ritz[j - 1]; j--) {
                double s = ritz[j];
                ritz[j] = ritz[j - 1];
                ritz[j - 1] = s;
            }
        int converged = 1;
        for (size_t j = 0; j < components; j++)
            if (fabs(ritz[j] - prev[j]) > PCA_TOLERANCE * total)
                converged = 0;
        memcpy(prev, ritz, p * sizeof *prev);
        memcpy(v, w, F * p * sizeof *v);
        orthonormalize(v, F, p);
        if (converged)
            break;
    }
    /* Rayleigh-Ritz on the final block: rotate v onto C's eigenvectors. */
    covariance_times(w, x, n, F, mean, v, p, t);
    project_block(a, v, w, F, p);
    jacobi_eigen(a, e, p);
    /* The wanted columns by eigenvalue, descending (selection). */
    size_t chosen = components;
    for (size_t j = 0; j < chosen; j++) {
        size_t best = SIZE_MAX;
        for (size_t c = 0; c < p; c++) {
            int used = 0;
            for (size_t u = 0; u < j; u++)
                used |= order[u] == c;
            if (!used && (best == SIZE_MAX || a[c * p + c] > a[best * p + best]))
                best = c;
        }
        order[j] = best;
    }
    /* component j (F) = v · e[:, order[j]], into w's first columns. */
    for (size_t j = 0; j < chosen; j++) {
        size_t c = order[j];
        double big = 0.0;
        for (size_t f = 0; f < F; f++) {
            double s = 0.0;
            for (size_t i = 0; i < p; i++)
                s += v[f * p + i] * e[i * p + c];
            w[f * p + j] = s;
            if (fabs(s) > fabs(big) + 1e-12)
                big = s;
        }
        if (big < 0.0)
            for (size_t f = 0; f < F; f++)
                w[f * p + j] = -w[f * p + j];
        if (explained) {
            double lambda = a[c * p + c] > 0.0 ? a[c * p + c] : 0.0;
            explained[j] = total > 0.0 ? lambda / total : 0.0;
        }
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < chosen; j++) {
            double s = 0.0;
            if (total > 0.0)
                for (size_t f = 0; f < F; f++)
                    s += ((double)x[i * F + f] - mean[f]) * w[f * p + j];
            projected[i * chosen + j] = (float)s;
        }
    ac_free(block);
    ac_free(order);
    return AC_OK;
}

/* ------------------------------------------------------------ attention map */

/* Row index and cluster, to order a heat map's rows by cluster. */
typedef struct ordered_row {
    int32_t cluster;
    size_t index;
} ordered_row;

static int compare_ordered_rows(const void *pa, const void *pb)
{
    const ordered_row *a = pa, *b = pb;
    if (a->cluster != b->cluster)
        return a->cluster < b->cluster ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Picks min(n, k) of the rows 0..n-1, each subset equally likely (selection
 * sampling, ac_rng_take: O(n) time, O(k) memory), and orders them by
 * clusters[] then index into index (count) and cluster (count). */
static ac_status pick_rows(size_t n, size_t k, uint64_t seed, const int32_t *clusters,
                           size_t *index, int32_t *cluster, size_t *count)
{
    size_t want = n < k ? n : k;
    ordered_row *rows = ac_alloc((want ? want : 1) * sizeof *rows);
    if (!rows)
        return AC_ERR_NOMEM;
    ac_rng rng;
    ac_rng_seed(&rng, seed);
    size_t got = 0;
    for (size_t i = 0; i < n && got < want; i++) {
        if (want == n || ac_rng_take(&rng, n - i, want - got)) {
            rows[got].cluster = clusters[i];
            rows[got].index = i;
            got++;
        }
    }
    qsort(rows, got, sizeof *rows, compare_ordered_rows);
    for (size_t i = 0; i < got; i++) {
        index[i] = rows[i].index;
        cluster[i] = rows[i].cluster;
    }
    *count = got;
    ac_free(rows);
    return AC_OK;
}

static float dot_h(const float *a, const float *b, size_t H)
{
    float s = 0.0f;
    for (size_t h = 0; h < H; h++)
        s += a[h] * b[h];
    return s;
}

/* Rows of x picked by index (count) into out (count, F). */
static void gather_rows(float *out, const float *x, const size_t *index, size_t count, size_t F)
{
    for (size_t i = 0; i < count; i++)
        memcpy(out + i * F, x + index[i] * F, F * sizeof(float));
}

void ac_attention_map_free(ac_attention_map *map)
{
    if (!map)
        return;
    ac_free(map->row_index);
    ac_free(map->row_cluster);
    ac_free(map->col_index);
    ac_free(map->col_cluster);
    ac_free(map->weights);
    memset(map, 0, sizeof *map);
}

/* Batch context: the softmax of each shown query row over all n keys, by
 * an online max and sum (the keys are made a chunk at a time, so memory
 * stays O(rows·H + chunk·H) however large n is). */
#define MAP_KEY_CHUNK 1024
static ac_status map_batch(const ac_model *m, const float *x, size_t n, ac_attention_map *map,
                           ac_error *err)
{
    size_t F = (size_t)m->F, H = (size_t)m->H, S = map->rows;
    size_t chunk = n < MAP_KEY_CHUNK ? n : MAP_KEY_CHUNK;
    /* xs (S, F), q, k (S, H), keys (chunk, H); max, sum (S) in double */
    float *fb = ac_alloc((S * F + 2 * S * H + chunk * H) * sizeof(float));
    double *db = ac_alloc(2 * S * sizeof(double));
    if (!fb || !db) {
        ac_free(fb);
        ac_free(db);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for the attention map");
    }
    float *xs = fb, *q = xs + S * F, *k = q + S * H, *keys = k + S * H;
    double *max = db, *sum = db + S;
    float *const *t = m->p.t;
    float scale = model_attention_scale(m);
    gather_rows(xs, x, map->row_index, S, F);
    linear_forward(q, xs, t[P_QW], t[P_QB], (int)S, m->F, m->H);
    linear_forward(k, xs, t[P_KW], t[P_KB], (int)S, m->F, m->H);
    for (size_t i = 0; i < S; i++)
        max[i] = -INFINITY, sum[i] = 0.0;
    for (size_t start = 0; start < n; start += chunk) {
        size_t B = n - start < chunk ? n - start : chunk;
        linear_forward(keys, x + start * F, t[P_KW], t[P_KB], (int)B, m->F, m->H);
        for (size_t i = 0; i < S; i++)
            for (size_t j = 0; j < B; j++) {
                double s = (double)(dot_h(q + i * H, keys + j * H, H) * scale);
                if (s > max[i]) {
                    sum[i] = sum[i] * exp(max[i] - s) + 1.0;
                    max[i] = s;
                } else {
                    sum[i] += exp(s - max[i]);
                }
            }
    }
    for (size_t i = 0; i < S; i++)
        for (size_t j = 0; j < S; j++) {
            double s = (double)(dot_h(q + i * H, k + j * H, H) * scale);
            map->weights[i * S + j] = (float)(exp(s - max[i]) / sum[i]);
        }
    ac_free(fb);
    ac_free(db);
    return AC_OK;
}

/* Reference context: each shown query row's softmax over the R reference
 * keys and its own key. */
static ac_status map_reference(const ac_model *m, const float *x, ac_attention_map *map,
                               ac_error *err)
{
    size_t F = (size_t)m->F, H = (size_t)m->H, S = map->rows, C = map->cols;
    size_t R = m->n_reference;
    /* xs (S, F), q, k (S, H), ref_k (R, H), scores (R + 1) */
    float *fb = ac_alloc((S * F + 2 * S * H + R * H + R + 1) * sizeof(float));
    if (!fb)
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for the attention map");
    float *xs = fb, *q = xs + S * F, *k = q + S * H, *ref_k = k + S * H, *scores = ref_k + R * H;
    float *const *t = m->p.t;
    float scale = model_attention_scale(m);
    gather_rows(xs, x, map->row_index, S, F);
    linear_forward(q, xs, t[P_QW], t[P_QB], (int)S, m->F, m->H);
    linear_forward(k, xs, t[P_KW], t[P_KB], (int)S, m->F, m->H);
    linear_forward(ref_k, m->reference_rows, t[P_KW], t[P_KB], (int)R, m->F, m->H);
    for (size_t i = 0; i < S; i++) {
        /* scores (R + 1): the reference keys, then the row's own */
        float max = -INFINITY;
        for (size_t j = 0; j <= R; j++) {
            scores[j] = dot_h(q + i * H, j < R ? ref_k + j * H : k + i * H, H) * scale;
            if (scores[j] > max)
                max = scores[j];
        }
        double sum = 0.0;
        for (size_t j = 0; j <= R; j++)
            sum += exp((double)scores[j] - (double)max);
        for (size_t j = 0; j < C; j++)
            map->weights[i * C + j] =
                (float)(exp((double)scores[map->col_index[j]] - (double)max) / sum);
    }
    ac_free(fb);
    return AC_OK;
}

ac_status ac_attention_map_compute(const ac_model *m, const float *x, size_t n,
                                   ac_context context, const int32_t *clusters, size_t max_rows,
                                   uint64_t seed, ac_attention_map *out, ac_error *err)
{
    if (n == 0 || max_rows == 0)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "an attention map of %zu rows showing at most %zu (expected at "
                            "least one of each)",
                            n, max_rows);
    if (context != AC_CONTEXT_BATCH && context != AC_CONTEXT_REFERENCE)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "unknown context %d", (int)context);
    size_t R = m->n_reference;
    if (context == AC_CONTEXT_REFERENCE && R == 0)
        return ac_set_error(err, AC_ERR_DATA, "", 0, 0,
                            "the model holds no reference rows, so there is no reference "
                            "attention to show (expected a trained model, or --context batch)");
    if (n > (size_t)INT32_MAX)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "too many rows for an attention map");
    ac_attention_map map;
    memset(&map, 0, sizeof map);
    map.context = context;
    map.total_rows = n;
    map.total_keys = context == AC_CONTEXT_BATCH ? n : R + 1;
    size_t S = n < max_rows ? n : max_rows;
    size_t C = context == AC_CONTEXT_BATCH ? S : (R < max_rows ? R : max_rows);
    int32_t *ref_clusters = context == AC_CONTEXT_REFERENCE ? ac_alloc(R * sizeof(int32_t)) : NULL;
    map.row_index = ac_alloc(S * sizeof(size_t));
    map.row_cluster = ac_alloc(S * sizeof(int32_t));
    map.col_index = ac_alloc(C * sizeof(size_t));
    map.col_cluster = ac_alloc(C * sizeof(int32_t));
    map.weights = ac_calloc(S * C, sizeof(float));
    ac_status st = AC_OK;
    if (!map.row_index || !map.row_cluster || !map.col_index || !map.col_cluster ||
        !map.weights || (context == AC_CONTEXT_REFERENCE && !ref_clusters) ||
        pick_rows(n, max_rows, seed, clusters, map.row_index, map.row_cluster, &map.rows) !=
            AC_OK) {
        st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for the attention map");
        goto fail;
    }
    if (context == AC_CONTEXT_BATCH) {
        map.cols = map.rows;
        memcpy(map.col_index, map.row_index, S * sizeof(size_t));
        memcpy(map.col_cluster, map.row_cluster, S * sizeof(int32_t));
        st = map_batch(m, x, n, &map, err);
    } else {
        st = ac_model_predict(m, m->reference_rows, R, AC_CONTEXT_REFERENCE, ref_clusters, NULL,
                              err);
        if (st == AC_OK &&
            pick_rows(R, max_rows, seed ^ 0x9e3779b97f4a7c15u, ref_clusters, map.col_index,
                      map.col_cluster, &map.cols) != AC_OK)
            st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                              "out of memory for the attention map");
        if (st == AC_OK)
            st = map_reference(m, x, &map, err);
    }
    if (st != AC_OK)
        goto fail;
    ac_free(ref_clusters);
    *out = map;
    return AC_OK;
fail:
    ac_free(ref_clusters);
    ac_attention_map_free(&map);
    return st;
}
