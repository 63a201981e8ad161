/*
 * metrics.c - scores of a clustering, each computed as scikit-learn 1.2's
 * sklearn.metrics computes it, edge cases included, so that a number printed
 * here can be checked against the Python ecosystem.
 *
 * Against labels (ac_metrics_labels), all from the K×C contingency table
 * n_kc (rows in cluster k with label c), with a_c = Σ_k n_kc the label sizes,
 * b_k = Σ_c n_kc the cluster sizes and n rows. Clusters and labels with no
 * rows are dropped first, as sklearn (which only sees the ids that occur)
 * never knows about them:
 *
 *   raw accuracy      #(cluster == label) / n, the chapter's
 *   matched accuracy  max over one-to-one maps σ (cluster -> label) of
 *                     Σ_k n_kσ(k) / n, by the Hungarian algorithm
 *   purity            Σ_k max_c n_kc / n
 *   ARI               2(tp·tn - fn·fp) / ((tp+fn)(fn+tn) + (tp+fp)(fp+tn)) over
 *                     ordered pairs of rows: tp = Σ n_kc² - n,
 *                     fp = Σ b_k² - Σ n_kc², fn = Σ a_c² - Σ n_kc²,
 *                     tn = n² - tp - fp - fn - n; 1 when fp = fn = 0
 *   MI                Σ (n_kc/n)·log(n·n_kc / (a_c·b_k)), natural log
 *   H(labels)         -Σ (a_c/n)·log(a_c/n), likewise H(clusters)
 *   NMI               MI / ((H(labels) + H(clusters)) / 2)
 *   EMI               the MI expected between random partitions with the same
 *                     sizes (hypergeometric model; Vinh, Epps & Bailey 2010)
 *   AMI               (MI - EMI) / ((H(labels) + H(clusters)) / 2 - EMI)
 *
 * Geometric (ac_metrics_geometry), Euclidean, over the clusters that have
 * rows, with centroids m_k and the overall mean m:
 *
 *   silhouette        mean over rows of (b - a) / max(a, b), a the mean
 *                     distance to the rest of the row's cluster, b the smallest
 *                     mean distance to another cluster; 0 for a row alone in
 *                     its cluster
 *   Davies-Bouldin    mean over k of max_{j≠k} (s_k + s_j) / |m_k - m_j|,
 *                     s_k the mean distance of cluster k's rows to m_k
 *   Calinski-Harabasz [Σ_k b_k·|m_k - m|² / (K-1)] / [Σ_i |x_i - m_k(i)|² / (n-K)]
 *
 * Everything accumulates in double. Where sklearn raises (a geometric score
 * with fewer than 2 clusters, or as many clusters as rows) the score is NaN.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

double ac_accuracy_raw(const int32_t *clusters, const int32_t *labels, size_t n)
{
    if (n == 0)
        return 0.0;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += clusters[i] == labels[i];
    return (double)hits / (double)n;
}

/* ------------------------------------------------------------ validation */

/* Every ids[i] in [0, bound); names the first one that is not. */
static ac_status check_ids(const int32_t *ids, size_t n, size_t bound, const char *what,
                           const char *range_name, ac_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint64_t)ids[i] >= (uint64_t)bound)
            return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                                "%s[%zu] = %ld is out of range [0, %s = %zu)", what, i,
                                (long)ids[i], range_name, bound);
    return AC_OK;
}

/* 1 + the largest of n >= 1 ids already checked to be >= 0. */
static size_t id_bound(const int32_t *ids, size_t n)
{
    int32_t top = 0;
    for (size_t i = 0; i < n; i++)
        top = ids[i] > top ? ids[i] : top;
    return (size_t)top + 1;
}

/* The counts below are exact in uint64 (products of two counts, sums of
 * squares) and in double (a count) only while n stays under 2^32; sklearn's
 * own EMI takes a C int. Far beyond any data set this library loads. */
#define METRICS_MAX_ROWS ((size_t)UINT32_MAX)

static ac_status check_rows(size_t n, ac_error *err)
{
    if (n == 0)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "no rows (n = 0)");
    if (n > METRICS_MAX_ROWS)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "n = %zu rows is more than %zu",
                            n, METRICS_MAX_ROWS);
    return AC_OK;
}

ac_status ac_contingency(const int32_t *clusters, size_t K, const int32_t *labels, size_t C,
                         size_t n, uint64_t *table, ac_error *err)
{
    if ((n > 0 && (!clusters || !labels)) || (!table && K > 0 && C > 0))
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "ac_contingency: clusters, labels and table must not be NULL");
    if (C != 0 && K > SIZE_MAX / sizeof *table / C)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "a %zu x %zu contingency table cannot exist", K, C);
    /* Check everything before writing, so that a failure leaves table as it was. */
    ac_status st = check_ids(clusters, n, K, "clusters", "K", err);
    if (st == AC_OK)
        st = check_ids(labels, n, C, "labels", "C", err);
    if (st != AC_OK)
        return st;
    if (K > 0 && C > 0)
        memset(table, 0, K * C * sizeof *table);
    for (size_t i = 0; i < n; i++)
        table[(size_t)clusters[i] * C + (size_t)labels[i]]++;
    return AC_OK;
}

/* ------------------------------------------------------ matched accuracy */

/* The largest Σ_r t(r, σ(r)) over injections σ from R row items into M >= R
 * column items, where t(r, m) = table[rows[r]·stride + cols[m]] when
 * `transposed` is 0 and table[cols[m]·stride + rows[r]] otherwise.
 *
 * The Hungarian algorithm (Kuhn 1955, Munkres 1957) in its shortest
 * augmenting path form with potentials (as in Jonker & Volgenant), minimising
 * the cost -t. Rows are added one at a time; each addition grows a Dijkstra
 * tree over columns using reduced costs cost - u_row - v_col >= 0 until it
 * reaches a free column, then flips the path: O(R²·M). A rectangular table
 * with R <= M gives the same optimum as the square one padded with M - R
 * rows of zeros (a padded row adds 0 whichever column it takes), without the
 * work of the padding. Integer costs keep it exact.
 *
 * work holds (R + 1) + 5·(M + 1) int64. Index 0 is the algorithm's virtual
 * column / row, so items are 1-based inside. */
static uint64_t best_matching(const uint64_t *table, size_t stride, int transposed,
                              const size_t *rows, size_t R, const size_t *cols, size_t M,
                              int64_t *work)
{
    int64_t *u = work;             /* (R + 1) row potentials */
    int64_t *v = u + (R + 1);      /* (M + 1) column potentials */
    int64_t *p = v + (M + 1);      /* (M + 1) row matched to column j, 0 = free */
    int64_t *way = p + (M + 1);    /* (M + 1) previous column on the path */
    int64_t *minv = way + (M + 1); /* (M + 1) smallest reduced cost reaching j */
    int64_t *used = minv + (M + 1);/* (M + 1) column j in the tree */
    const int64_t INF = INT64_MAX / 4;

    for (size_t j = 0; j <= M; j++)
        v[j] = p[j] = way[j] = 0;
    for (size_t i = 0; i <= R; i++)
        u[i] = 0;

#define COST(i, j)                                                                     \
    (-(int64_t)(transposed ? table[cols[(j) - 1] * stride + rows[(i) - 1]]              \
                           : table[rows[(i) - 1] * stride + cols[(j) - 1]]))

    for (size_t i = 1; i <= R; i++) {
        p[0] = (int64_t)i;
        size_t j0 = 0;
        for (size_t j = 0; j <= M; j++) {
            minv[j] = INF;
            used[j] = 0;
        }
        do {
            used[j0] = 1;
            size_t i0 = (size_t)p[j0], j1 = 0;
            int64_t delta = INF;
            for (size_t j = 1; j <= M; j++) {
                if (used[j])
                    continue;
                int64_t cur = COST(i0, j) - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = (int64_t)j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            /* R <= M guarantees a free column, so the tree always grows. */
            for (size_t j = 0; j <= M; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do { /* flip the alternating path back to the virtual column */
            size_t j1 = (size_t)way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0 != 0);
    }

    uint64_t total = 0;
    for (size_t j = 1; j <= M; j++)
        if (p[j] != 0)
            total += (uint64_t)(-COST((size_t)p[j], j));
#undef COST
    return total;
}

/* --------------------------------------------------------- label metrics */

/* -Σ (c/n)(log c - log n) over the non-empty counts, as sklearn's entropy()
 * (log(a/b) as log a - log b for precision); 0 for a single group. */
static double entropy_of(const uint64_t *count, size_t m, double N)
{
    size_t groups = 0;
    for (size_t i = 0; i < m; i++)
        groups += count[i] != 0;
    if (groups <= 1)
        return 0.0;
    double h = 0.0, log_n = log(N);
    for (size_t i = 0; i < m; i++)
        if (count[i] != 0) {
            double c = (double)count[i];
            h += c / N * (log(c) - log_n);
        }
    return -h;
}

/* Expected mutual information of two partitions of N rows with group sizes
 * a (Ca labels) and b (Kb clusters), all non-zero, under the hypergeometric
 * model: Σ_i Σ_j Σ_nij (nij/N)·log(N·nij / (a_i·b_j))·P(nij), with
 *   P(nij) = a_i! b_j! (N-a_i)! (N-b_j)! / (N! nij! (a_i-nij)! (b_j-nij)! (N-a_i-b_j+nij)!)
 * over max(1, a_i + b_j - N) <= nij <= min(a_i, b_j). Factorials in log
 * space through lgamma, as sklearn's _expected_mutual_info_fast.pyx does,
 * term for term (the same precomputed arrays, the same summation order), so
 * that the two agree to rounding. `scratch` holds 3·(max + 1) doubles, max
 * the largest of a and b. lgamma writes the global signgam, so concurrent
 * calls race on it; the sign is always + here and its value is never read. */
static double expected_mutual_info(const uint64_t *a, size_t Ca, const uint64_t *b, size_t Kb,
                                   double N, uint64_t max_ab, double *scratch)
{
    /* A partition with zero entropy has MI 0 whatever the other: EMI = 0. */
    if (Ca == 1 || Kb == 1)
        return 0.0;
    double *term1 = scratch;                  /* nij / N */
    double *log_Nnij = term1 + (max_ab + 1);  /* log N + log nij */
    double *gln_Nnij = log_Nnij + (max_ab + 1); /* lgamma(nij + 1) + lgamma(N + 1) */
    double log_N = log(N), gln_N = lgamma(N + 1.0);
    term1[0] = log_Nnij[0] = gln_Nnij[0] = 0.0; /* nij = 0 never contributes */
    for (uint64_t k = 1; k <= max_ab; k++) {
        double nij = (double)k;
        term1[k] = nij / N;
        log_Nnij[k] = log_N + log(nij);
        gln_Nnij[k] = lgamma(nij + 1.0) + gln_N;
    }
    double emi = 0.0;
    for (size_t i = 0; i < Ca; i++) {
        double ai = (double)a[i];
        double log_a = log(ai), gln_a = lgamma(ai + 1.0), gln_Na = lgamma(N - ai + 1.0);
        for (size_t j = 0; j < Kb; j++) {
            double bj = (double)b[j];
            double log_b = log(bj), gln_b = lgamma(bj + 1.0), gln_Nb = lgamma(N - bj + 1.0);
            /* a_i + b_j - N as a signed quantity: a_i + b_j <= 2N < 2^33 */
            int64_t lo = (int64_t)a[i] + (int64_t)b[j] - (int64_t)N;
            uint64_t start = lo > 1 ? (uint64_t)lo : 1;
            uint64_t end = a[i] < b[j] ? a[i] : b[j];
            for (uint64_t k = start; k <= end; k++) {
                double nij = (double)k;
                double term2 = log_Nnij[k] - log_a - log_b;
                double gln = gln_a + gln_b + gln_Na + gln_Nb - gln_Nnij[k] -
                             lgamma(ai - nij + 1.0) - lgamma(bj - nij + 1.0) -
                             lgamma(N - ai - bj + nij + 1.0);
                emi += term1[k] * term2 * exp(gln);
            }
        }
    }
    return emi;
}

ac_status ac_metrics_labels(const int32_t *clusters, size_t K, const int32_t *labels, size_t C,
                            size_t n, ac_label_metrics *out, ac_error *err)
{
    ac_status st = check_rows(n, err);
    if (st != AC_OK)
        return st;
    if (!clusters || !labels || !out)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "ac_metrics_labels: clusters, labels and out must not be NULL");
    if ((st = check_ids(clusters, n, K, "clusters", "K", err)) != AC_OK ||
        (st = check_ids(labels, n, C, "labels", "C", err)) != AC_OK)
        return st;
    /* Ids past the largest one used have no rows and play no part: sizing
     * the table by the ids seen keeps a generous K or C from costing memory.
     * K, C >= 1 here, as n >= 1 ids were in range. */
    K = id_bound(clusters, n);
    C = id_bound(labels, n);
    if (K > SIZE_MAX / sizeof(uint64_t) / C)
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "a %zu x %zu contingency table does not fit in memory", K, C);

    uint64_t *table = ac_calloc(K * C, sizeof *table);
    uint64_t *sizes = ac_calloc(K + C, sizeof *sizes); /* b_k then a_c */
    size_t *items = ac_calloc(K + C, sizeof *items);   /* non-empty clusters, then labels */
    int64_t *work = NULL;
    double *scratch = NULL;
    if (!table || !sizes || !items) {
        st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for a %zu x %zu table",
                          K, C);
        goto done;
    }
    st = ac_contingency(clusters, K, labels, C, n, table, err);
    assert(st == AC_OK); /* validated above */

    uint64_t *b = sizes, *a = sizes + K;
    for (size_t k = 0; k < K; k++)
        for (size_t c = 0; c < C; c++) {
            b[k] += table[k * C + c];
            a[c] += table[k * C + c];
        }
    /* The non-empty clusters and labels, in id order. */
    size_t Kn = 0, Cn = 0;
    size_t *kidx = items, *cidx = items + K;
    for (size_t k = 0; k < K; k++)
        if (b[k])
            kidx[Kn++] = k;
    for (size_t c = 0; c < C; c++)
        if (a[c])
            cidx[Cn++] = c;

    const double N = (double)n;
    ac_label_metrics m;
    m.raw_accuracy = ac_accuracy_raw(clusters, labels, n);

    /* Purity, and the sums of squares the pair counts need. */
    uint64_t best_sum = 0, ss = 0, sum_a2 = 0, sum_b2 = 0;
    for (size_t k = 0; k < K; k++) {
        uint64_t best = 0;
        for (size_t c = 0; c < C; c++) {
            uint64_t t = table[k * C + c];
            best = t > best ? t : best;
            ss += t * t;
        }
        best_sum += best;
        sum_b2 += b[k] * b[k];
    }
    for (size_t c = 0; c < C; c++)
        sum_a2 += a[c] * a[c];
    m.purity = (double)best_sum / N;

    /* ARI from sklearn's pair confusion matrix (ordered pairs, so every
     * count is twice the unordered one; the ratio does not care). The counts
     * are exact in uint64; sklearn then multiplies them as Python integers
     * (exact), here in double: a relative error of a few ulps of the
     * denominator, far below any tolerance that matters for a score. */
    {
        uint64_t tp = ss - n, fp = sum_b2 - ss, fn = sum_a2 - ss;
        uint64_t tn = (uint64_t)n * n - fp - fn - ss;
        if (fp == 0 && fn == 0) {
            m.ari = 1.0; /* the same partition (also: a single row, a single group) */
        } else {
            double dtp = (double)tp, dfp = (double)fp, dfn = (double)fn, dtn = (double)tn;
            m.ari = 2.0 * (dtp * dtn - dfn * dfp) /
                    ((dtp + dfn) * (dfn + dtn) + (dtp + dfp) * (dfp + dtn));
        }
    }

    /* MI as sklearn's mutual_info_score: labels are its rows, clusters its
     * columns; terms below machine epsilon are dropped and the sum clipped
     * at 0, so that an independent table gives exactly 0. */
    double mi = 0.0;
    if (Kn > 1 && Cn > 1) {
        double log_N = log(N);
        for (size_t ci = 0; ci < Cn; ci++) {
            size_t c = cidx[ci];
            for (size_t ki = 0; ki < Kn; ki++) {
                size_t k = kidx[ki];
                uint64_t t = table[k * C + c];
                if (t == 0)
                    continue;
                double nm = (double)t / N;
                double log_outer = -log((double)(a[c] * b[k])) + log_N + log_N;
                double term = nm * (log((double)t) - log_N) + nm * log_outer;
                if (fabs(term) < DBL_EPSILON)
                    term = 0.0;
                mi += term;
            }
        }
        if (mi < 0.0)
            mi = 0.0;
    }
    double h_labels = entropy_of(a, C, N), h_clusters = entropy_of(b, K, N);
    double mean_h = (h_labels + h_clusters) / 2.0;

    if (Kn == 1 && Cn == 1) {
        /* Both partitions one group: identical, and sklearn calls them 1. */
        m.nmi = 1.0;
        m.ami = 1.0;
    } else {
        m.nmi = mi == 0.0 ? 0.0 : mi / mean_h;

        uint64_t max_ab = 0;
        for (size_t k = 0; k < Kn; k++) /* compact the sizes in place: b first */
            b[k] = b[kidx[k]];
        for (size_t c = 0; c < Cn; c++)
            a[c] = a[cidx[c]];
        for (size_t k = 0; k < Kn; k++)
            max_ab = b[k] > max_ab ? b[k] : max_ab;
        for (size_t c = 0; c < Cn; c++)
            max_ab = a[c] > max_ab ? a[c] : max_ab;
        if (Kn > 1 && Cn > 1) {
            scratch = ac_calloc(3 * ((size_t)max_ab + 1), sizeof *scratch);
            if (!scratch) {
                st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                                  "out of memory for the expected mutual information");
                goto done;
            }
        }
        double emi = expected_mutual_info(a, Cn, b, Kn, N, max_ab, scratch);
        /* sklearn keeps the denominator away from 0 with its sign: when both
         * partitions are all singletons MI = EMI = mean H and the quotient is
         * rounding noise over epsilon, in sklearn as here. */
        double denominator = mean_h - emi;
        if (denominator < 0.0)
            denominator = fmin(denominator, -DBL_EPSILON);
        else
            denominator = fmax(denominator, DBL_EPSILON);
        m.ami = (mi - emi) / denominator;
        /* a and b are compacted now; the matching below reads only table. */
    }

    /* Matched accuracy over the non-empty clusters and labels (an empty one
     * adds 0 whatever it is matched to), the smaller side as rows. */
    {
        int transposed = Kn > Cn;
        size_t R = transposed ? Cn : Kn, M = transposed ? Kn : Cn;
        work = ac_calloc((R + 1) + 5 * (M + 1), sizeof *work);
        if (!work) {
            st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                              "out of memory for the cluster-to-label matching");
            goto done;
        }
        uint64_t matched = transposed
                               ? best_matching(table, C, 1, cidx, R, kidx, M, work)
                               : best_matching(table, C, 0, kidx, R, cidx, M, work);
        m.matched_accuracy = (double)matched / N;
    }

    *out = m;
    st = AC_OK;
done:
    ac_free(scratch);
    ac_free(work);
    ac_free(items);
    ac_free(sizes);
    ac_free(table);
    return st;
}

/* ------------------------------------------------------ geometry metrics */

static double distance(const float *x, const float *y, size_t F)
{
    double s = 0.0;
    for (size_t f = 0; f < F; f++) {
        double d = (double)x[f] - (double)y[f];
        s += d * d;
    }
    return sqrt(s);
}

/* Mean silhouette of the m rows rows[0..m) with dense cluster ids id[r] in
 * [0, G), G >= 2 groups each non-empty among these rows and G < m. One pass
 * over the m(m-1)/2 pairs adds each distance to both rows' per-cluster sums
 * (sums is m·G doubles, zeroed); then a = own sum / (own size - 1) and
 * b = min over other clusters of sum / size. A row alone in its cluster, or
 * with a = b = 0 (duplicates), scores 0, as sklearn's nan_to_num makes it. */
static double silhouette_of(const float *x, size_t F, const size_t *rows, const size_t *id,
                            size_t m, const size_t *size, size_t G, double *sums)
{
    for (size_t r = 0; r < m; r++) {
        const float *xr = x + rows[r] * F;
        double *sr = sums + r * G;
        size_t gr = id[r];
        for (size_t q = r + 1; q < m; q++) {
            double d = distance(xr, x + rows[q] * F, F);
            sr[id[q]] += d;
            sums[q * G + gr] += d;
        }
    }
    double total = 0.0;
    for (size_t r = 0; r < m; r++) {
        const double *sr = sums + r * G;
        size_t gr = id[r];
        if (size[gr] == 1)
            continue; /* s = 0 */
        double a = sr[gr] / (double)(size[gr] - 1);
        double b = (double)INFINITY;
        for (size_t g = 0; g < G; g++)
            if (g != gr) {
                double mean = sr[g] / (double)size[g];
                b = mean < b ? mean : b;
            }
        double top = a > b ? a : b;
        if (top > 0.0)
            total += (b - a) / top;
    }
    return total / (double)m;
}

/* Davies-Bouldin and Calinski-Harabasz over all n rows, from the G
 * centroids (G·F doubles, filled here) of the dense ids id[i] with sizes
 * size[g]; scratch holds G doubles. Needs 2 <= G < n. */
static void centroid_scores(const float *x, size_t n, size_t F, const size_t *id,
                            const size_t *size, size_t G, double *centroid, double *scratch,
                            double *db, double *ch)
{
    memset(centroid, 0, G * F * sizeof *centroid);
    for (size_t i = 0; i < n; i++)
        for (size_t f = 0; f < F; f++)
            centroid[id[i] * F + f] += (double)x[i * F + f];
    for (size_t g = 0; g < G; g++)
        for (size_t f = 0; f < F; f++)
            centroid[g * F + f] /= (double)size[g];

    /* Calinski-Harabasz: between-cluster dispersion Σ_g size·|m_g - m|²
     * against within-cluster Σ_i |x_i - m_g(i)|², each over its degrees of
     * freedom. sklearn returns 1 when the within dispersion is exactly 0. */
    double extra = 0.0, intra = 0.0;
    for (size_t f = 0; f < F; f++) {
        double mean = 0.0;
        for (size_t i = 0; i < n; i++)
            mean += (double)x[i * F + f];
        mean /= (double)n;
        for (size_t g = 0; g < G; g++) {
            double d = centroid[g * F + f] - mean;
            extra += (double)size[g] * d * d;
        }
    }
    double *spread = scratch; /* Σ |x_i - m_g| per cluster, for Davies-Bouldin */
    memset(spread, 0, G * sizeof *spread);
    for (size_t i = 0; i < n; i++) {
        const double *c = centroid + id[i] * F;
        double s = 0.0;
        for (size_t f = 0; f < F; f++) {
            double d = (double)x[i * F + f] - c[f];
            s += d * d;
        }
        intra += s;
        spread[id[i]] += sqrt(s);
    }
    *ch = intra == 0.0 ? 1.0
                       : extra * (double)(n - G) / (intra * ((double)G - 1.0));

    /* Davies-Bouldin. sklearn returns 0 when every spread, or every
     * centroid distance, is within np.allclose's 1e-8 of 0, and treats two
     * clusters with the same centroid as infinitely far apart (their ratio
     * is 0) rather than dividing by 0. */
    int spreads_zero = 1, centroids_zero = 1;
    for (size_t g = 0; g < G; g++) {
        spread[g] /= (double)size[g];
        if (fabs(spread[g]) > 1e-8)
            spreads_zero = 0;
    }
    for (size_t g = 0; g < G && centroids_zero; g++)
        for (size_t h = g + 1; h < G; h++) {
            double d = 0.0;
            for (size_t f = 0; f < F; f++) {
                double t = centroid[g * F + f] - centroid[h * F + f];
                d += t * t;
            }
            if (sqrt(d) > 1e-8) {
                centroids_zero = 0;
                break;
            }
        }
    if (spreads_zero || centroids_zero) {
        *db = 0.0;
        return;
    }
    double sum = 0.0;
    for (size_t g = 0; g < G; g++) {
        double worst = 0.0;
        for (size_t h = 0; h < G; h++) {
            if (h == g)
                continue;
            double d = 0.0;
            for (size_t f = 0; f < F; f++) {
                double t = centroid[g * F + f] - centroid[h * F + f];
                d += t * t;
            }
            d = sqrt(d);
            double ratio = d == 0.0 ? 0.0 : (spread[g] + spread[h]) / d;
            worst = ratio > worst ? ratio : worst;
        }
        sum += worst;
    }
    *db = sum / (double)G;
}

ac_status ac_metrics_geometry(const float *x, size_t n, size_t F, const int32_t *clusters,
                              size_t K, uint64_t seed, ac_geometry_metrics *out, ac_error *err)
{
    ac_status st = check_rows(n, err);
    if (st != AC_OK)
        return st;
    if (!x || !clusters || !out)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "ac_metrics_geometry: x, clusters and out must not be NULL");
    if (F == 0)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "no features (F = 0)");
    if ((st = check_ids(clusters, n, K, "clusters", "K", err)) != AC_OK)
        return st;
    if (F > SIZE_MAX / n)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "n·F overflows");
    for (size_t i = 0; i < n * F; i++)
        if (!isfinite(x[i]))
            return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                                "x[%zu, %zu] is not finite", i / F, i % F);

    K = id_bound(clusters, n); /* as in ac_metrics_labels: unused top ids cost nothing */
    const size_t m = n <= AC_SILHOUETTE_EXACT_MAX ? n : AC_SILHOUETTE_EXACT_MAX;
    size_t *dense = ac_calloc(K, sizeof *dense); /* cluster id -> dense id + 1, 0 = empty */
    size_t *id = ac_calloc(n, sizeof *id);       /* dense id of each row */
    size_t *size = ac_calloc(K, sizeof *size);   /* rows per dense id */
    size_t *rows = ac_calloc(n, sizeof *rows);   /* silhouette rows (a sample's first m) */
    size_t *sid = ac_calloc(m, sizeof *sid);     /* their ids, dense within the sample */
    size_t *ssize = ac_calloc(K, sizeof *ssize); /* rows per sample id */
    double *centroid = NULL, *scratch = NULL, *sums = NULL;
    if (!dense || !id || !size || !rows || !sid || !ssize) {
        st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for %zu rows", n);
        goto done;
    }

    /* Clusters with no rows play no part (sklearn relabels the ids it sees). */
    size_t G = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = (size_t)clusters[i];
        if (dense[k] == 0)
            dense[k] = ++G;
        id[i] = dense[k] - 1;
        size[id[i]]++;
    }

    ac_geometry_metrics g;
    g.silhouette = g.davies_bouldin = g.calinski_harabasz = (double)NAN;
    g.silhouette_rows = m;

    if (G >= 2 && G < n) {
        centroid = ac_calloc(G * F, sizeof *centroid); /* G <= n, so G·F <= n·F fits */
        scratch = ac_calloc(G, sizeof *scratch);
        if (!centroid || !scratch) {
            st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory for %zu centroids",
                              G);
            goto done;
        }
        centroid_scores(x, n, F, id, size, G, centroid, scratch, &g.davies_bouldin,
                        &g.calinski_harabasz);
    }

    /* The silhouette's rows: all of them, or the first m of a partial
     * Fisher-Yates shuffle, a uniform sample without replacement (sklearn
     * takes a permutation's first sample_size). Seeded, so reproducible. */
    for (size_t i = 0; i < n; i++)
        rows[i] = i;
    if (m < n) {
        ac_rng rng;
        ac_rng_seed(&rng, seed);
        for (size_t i = 0; i < m; i++) {
            size_t j = i + (size_t)ac_rng_below_or_equal(&rng, (uint64_t)(n - 1 - i));
            size_t t = rows[i];
            rows[i] = rows[j];
            rows[j] = t;
        }
    }
    /* The clusters the sample sees, densely numbered again: like sklearn's
     * silhouette_samples on the sample, it is undefined unless 2 <= G' < m. */
    size_t Gs = 0;
    memset(dense, 0, K * sizeof *dense);
    for (size_t r = 0; r < m; r++) {
        size_t k = (size_t)clusters[rows[r]];
        if (dense[k] == 0)
            dense[k] = ++Gs;
        sid[r] = dense[k] - 1;
        ssize[sid[r]]++;
    }
    if (Gs >= 2 && Gs < m) {
        /* m·Gs doubles (Gs < m <= 5000, so at most 200 MB, and that only
         * when nearly every cluster is a singleton) buy computing each
         * pair's distance once; a row-at-a-time pass would need only Gs
         * but compute every distance twice. */
        sums = ac_calloc(m * Gs, sizeof *sums);
        if (!sums) {
            st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                              "out of memory for the silhouette's %zu x %zu distance sums",
                              m, Gs);
            goto done;
        }
        g.silhouette = silhouette_of(x, F, rows, sid, m, ssize, Gs, sums);
    }

    *out = g;
    st = AC_OK;
done:
    ac_free(sums);
    ac_free(scratch);
    ac_free(centroid);
    ac_free(ssize);
    ac_free(sid);
    ac_free(rows);
    ac_free(size);
    ac_free(id);
    ac_free(dense);
    return st;
}
