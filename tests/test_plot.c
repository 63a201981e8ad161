/*
 * test_plot.c - the pictures and the numbers behind them: ac_pca against
 * numpy (tests/fixtures/pca, bench/reference/make_pca_fixtures.py), the
 * attention map against an independent double-precision forward, and the
 * structure of every SVG file (well-formed XML, size, titles, legend, one
 * marker per row, every heat-map cell drawn exactly once, escaping of
 * hostile names), plus errors and allocation failures.
 */
#define _POSIX_C_SOURCE 200809L

#include "harness.h"
#include "internal.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

/* The whole file as a NUL-terminated string (NULL when it cannot be read). */
static char *slurp(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap + 1);
    size_t got;
    while (text && (got = fread(text + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *bigger = realloc(text, 2 * cap + 1);
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (text)
        text[len] = '\0';
    if (length)
        *length = len;
    return text;
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ------------------------------------------------ a small XML checker */

/* Checks that text is one well-formed XML document (the subset SVG files
 * use: a declaration, elements, attributes in double quotes, character
 * data, the five named entities and numeric references), valid UTF-8 with
 * no control characters but tab and newline. Writes the root element's
 * name. Returns 1 when well-formed, else prints why and returns 0. */
static int xml_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ':' || c == '.';
}

static int xml_entity(const char **p)
{
    static const char *const names[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (int i = 0; i < 5; i++)
        if (strncmp(*p, names[i], strlen(names[i])) == 0) {
            *p += strlen(names[i]);
            return 1;
        }
    if ((*p)[1] == '#') {
        const char *q = *p + 2;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > *p + 2 && *q == ';') {
            *p = q + 1;
            return 1;
        }
    }
    return 0;
}

static int xml_well_formed(const char *text, size_t length, char *root, size_t root_size)
{
    if (!utf8_valid(text, length)) {
        fprintf(stderr, "not UTF-8\n");
        return 0;
    }
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 && text[i] != '\n' && text[i] != '\t') {
            fprintf(stderr, "control character at byte %zu\n", i);
            return 0;
        }
    const char *p = text;
    if (strncmp(p, "<?xml ", 6) == 0) {
        p = strstr(p, "?>");
        if (!p)
            return 0;
        p += 2;
    }
    char stack[64][32];
    int depth = 0, roots = 0;
    root[0] = '\0';
    while (*p) {
        if (*p == '<') {
            int closing = p[1] == '/';
            const char *n = p + 1 + closing;
            const char *e = n;
            while (xml_name_char(*e))
                e++;
            size_t nl = (size_t)(e - n);
            if (nl == 0 || nl >= 32) {
                fprintf(stderr, "bad element name at byte %zu\n", (size_t)(p - text));
                return 0;
            }
            if (closing) {
                if (depth == 0 || strncmp(stack[depth - 1], n, nl) != 0 ||
                    stack[depth - 1][nl] != '\0' || *e != '>') {
                    fprintf(stderr, "mismatched </%.*s> at byte %zu\n", (int)nl, n,
                            (size_t)(p - text));
                    return 0;
                }
                depth--;
                p = e + 1;
                continue;
            }
            /* attributes: name="value" ... then > or /> */
            p = e;
            for (;;) {
                while (*p == ' ' || *p == '\n' || *p == '\t')
                    p++;
                if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                    break;
                const char *a = p;
                while (xml_name_char(*p))
                    p++;
                if (p == a || p[0] != '=' || p[1] != '"') {
                    fprintf(stderr, "bad attribute at byte %zu\n", (size_t)(p - text));
                    return 0;
                }
                p += 2;
                while (*p && *p != '"') {
                    if (*p == '<' || (*p == '&' && !xml_entity(&p))) {
                        fprintf(stderr, "bad attribute value at byte %zu\n", (size_t)(p - text));
                        return 0;
                    }
                    if (*p != '&' && *p != '"')
                        p++;
                }
                if (*p != '"')
                    return 0;
                p++;
            }
            if (depth == 0) {
                roots++;
                snprintf(root, root_size, "%.*s", (int)nl, n);
            }
            if (*p == '/') {
                p += 2;
                continue;
            }
            if (depth == 64)
                return 0;
            memcpy(stack[depth], n, nl);
            stack[depth][nl] = '\0';
            depth++;
            p++;
        } else if (*p == '&') {
            if (!xml_entity(&p)) {
                fprintf(stderr, "bad entity at byte %zu\n", (size_t)(p - text));
                return 0;
            }
        } else {
            if (depth == 0 && *p != '\n' && *p != ' ') {
                fprintf(stderr, "text outside the root at byte %zu\n", (size_t)(p - text));
                return 0;
            }
            p++;
        }
    }
    if (depth != 0 || roots != 1) {
        fprintf(stderr, "unclosed elements (%d) or %d roots\n", depth, roots);
        return 0;
    }
    return 1;
}

/* Reads an SVG file and checks what every picture must have: well-formed,
 * an <svg> root 800 px wide with a viewBox, a <title>, a legend group and
 * the given strings. Returns the text (the caller frees it) or NULL. */
static char *check_svg(const char *path, const char *const *must_have, size_t n_must)
{
    size_t length = 0;
    char *text = slurp(path, &length);
    CHECK(text != NULL);
    if (!text)
        return NULL;
    char root[32];
    CHECK(xml_well_formed(text, length, root, sizeof root));
    CHECK(strcmp(root, "svg") == 0);
    CHECK_STR_CONTAINS(text, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\"");
    CHECK_STR_CONTAINS(text, "viewBox=\"0 0 800 ");
    CHECK_STR_CONTAINS(text, "<title>");
    CHECK_STR_CONTAINS(text, "class=\"legend\"");
    /* self-contained: nothing fetched from elsewhere */
    CHECK(!strstr(text, "href"));
    CHECK(!strstr(text, "<script"));
    for (size_t i = 0; i < n_must; i++)
        CHECK_STR_CONTAINS(text, must_have[i]);
    return text;
}

/* ------------------------------------------------------------------ PCA */

static ac_dataset *load(const char *path)
{
    ac_dataset *ds = NULL;
    ac_error err;
    ac_status st = ac_dataset_load_csv(path, NULL, &ds, NULL, &err);
    if (st != AC_OK)
        fprintf(stderr, "%s: %s\n", path, err.message);
    return ds;
}

static void check_pca_fixture(const char *data, const char *fixture)
{
    ac_dataset *ds = load(data);
    CHECK(ds != NULL);
    FILE *f = fopen(fixture, "r");
    CHECK(f != NULL);
    if (!ds || !f) {
        ac_dataset_free(ds);
        if (f)
            fclose(f);
        return;
    }
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    double want_explained[2];
    CHECK(fscanf(f, "explained %lf %lf", &want_explained[0], &want_explained[1]) == 2);
    float *want = malloc(N * 2 * sizeof *want), *got = malloc(N * 2 * sizeof *got);
    for (size_t i = 0; i < 2 * N; i++) {
        double v = 0.0;
        CHECK(fscanf(f, "%lf", &v) == 1);
        want[i] = (float)v;
    }
    fclose(f);
    double explained[2];
    ac_error err;
    CHECK_INT_EQ(ac_pca(ac_dataset_features(ds), N, F, 2, got, explained, &err), AC_OK);
    CHECK_NEAR(explained[0], want_explained[0], 1e-6 * want_explained[0]);
    CHECK_NEAR(explained[1], want_explained[1], 1e-5 * want_explained[1]);
    /* per component: float data, double arithmetic */
    float *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    for (int c = 0; c < 2; c++) {
        for (size_t i = 0; i < N; i++)
            a[i] = got[2 * i + c], b[i] = want[2 * i + c];
        double e = worst_relative_error(a, b, N);
        if (!(e <= 1e-4))
            fprintf(stderr, "%s component %d: worst error %.3g\n", data, c + 1, e);
        CHECK(e <= 1e-4);
    }
    free(a), free(b), free(want), free(got);
    ac_dataset_free(ds);
}

static void test_pca_matches_numpy(void)
{
    check_pca_fixture("data/iris.csv", "tests/fixtures/pca/iris.txt");
    check_pca_fixture("data/wine.csv", "tests/fixtures/pca/wine.txt");
    check_pca_fixture("tests/fixtures/pca/random40.csv", "tests/fixtures/pca/random40.txt");
}

/* Points on the line y = 2x (+ a constant third column): one component
 * explains everything; its direction is (1, 2, 0)/√5, signed positive. */
static void test_pca_exact_line(void)
{
    float x[5 * 3];
    for (int i = 0; i < 5; i++) {
        x[3 * i] = (float)i;
        x[3 * i + 1] = 2.0f * (float)i;
        x[3 * i + 2] = 7.0f;
    }
    float proj[5 * 2];
    double explained[2];
    CHECK_INT_EQ(ac_pca(x, 5, 3, 2, proj, explained, NULL), AC_OK);
    CHECK_NEAR(explained[0], 1.0, 1e-12);
    CHECK_NEAR(explained[1], 0.0, 1e-12);
    for (int i = 0; i < 5; i++) {
        /* (x_i - 2) · (1, 2)/√5 = (i - 2)·√5 */
        CHECK_NEAR(proj[2 * i], ((double)i - 2.0) * sqrt(5.0), 1e-5);
        CHECK_NEAR(proj[2 * i + 1], 0.0, 1e-5);
    }
}

static void test_pca_edges(void)
{
    float one[3] = {1.0f, 2.0f, 3.0f}, proj[6] = {9, 9, 9, 9, 9, 9};
    double explained[2] = {9, 9};
    /* one row: no variance, projections 0 */
    CHECK_INT_EQ(ac_pca(one, 1, 3, 2, proj, explained, NULL), AC_OK);
    CHECK(proj[0] == 0.0f && proj[1] == 0.0f);
    CHECK(explained[0] == 0.0 && explained[1] == 0.0);
    /* one feature, one component */
    float col[4] = {1.0f, 3.0f, 5.0f, 7.0f}, p1[4];
    CHECK_INT_EQ(ac_pca(col, 4, 1, 1, p1, explained, NULL), AC_OK);
    CHECK_NEAR(p1[0], -3.0, 1e-6);
    CHECK_NEAR(p1[3], 3.0, 1e-6);
    CHECK_NEAR(explained[0], 1.0, 1e-12);
    ac_error err;
    CHECK_INT_EQ(ac_pca(col, 4, 1, 2, p1, NULL, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "expected 1 to 1");
    CHECK_INT_EQ(ac_pca(col, 0, 1, 1, p1, NULL, &err), AC_ERR_INVALID);
    col[2] = NAN;
    CHECK_INT_EQ(ac_pca(col, 4, 1, 1, p1, NULL, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "not finite");
}

/* ------------------------------------------------------- attention map */

/* A model trained briefly on Iris (scaled), its batch-context clusters. */
static ac_dataset *iris_scaled(void)
{
    ac_dataset *ds = load("data/iris.csv");
    if (ds)
        ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL);
    return ds;
}

static ac_model *trained(const ac_dataset *ds, int epochs, ac_attention_scale scale)
{
    ac_params p = ac_params_default();
    p.epochs = epochs;
    p.attention_scale = scale;
    ac_model *m = NULL;
    ac_error err;
    if (ac_train(ds, &p, NULL, NULL, &m, &err) != AC_OK)
        fprintf(stderr, "training: %s\n", err.message);
    return m;
}

/* Iris scaled, a model trained on it, each row's cluster in `context`. */
typedef struct iris_run {
    ac_dataset *ds;
    ac_model *m;
    int32_t *clusters; /* (N) */
    size_t N;
    const float *x;    /* (N, 4) */
} iris_run;

static void iris_run_free(iris_run *r)
{
    free(r->clusters);
    ac_model_free(r->m);
    ac_dataset_free(r->ds);
}

/* Returns 0 (with everything freed) when any step failed. */
static int iris_run_make(iris_run *r, int epochs, ac_attention_scale scale, ac_context context)
{
    memset(r, 0, sizeof *r);
    r->ds = iris_scaled();
    r->m = r->ds ? trained(r->ds, epochs, scale) : NULL;
    CHECK(r->m != NULL);
    if (r->m) {
        r->N = ac_dataset_rows(r->ds);
        r->x = ac_dataset_features(r->ds);
        r->clusters = malloc(r->N * sizeof *r->clusters);
        CHECK_INT_EQ(ac_model_predict(r->m, r->x, r->N, context, r->clusters, NULL, NULL), AC_OK);
        return 1;
    }
    iris_run_free(r);
    return 0;
}

/* Double-precision q or k of one row: x (F) · Wᵀ + b. */
static void project_row(double *out, const float *x, const float *w, const float *b, size_t F,
                        size_t H)
{
    for (size_t h = 0; h < H; h++) {
        double s = (double)b[h];
        for (size_t f = 0; f < F; f++)
            s += (double)x[f] * (double)w[h * F + f];
        out[h] = s;
    }
}

/* The weight of key row `key` in query row `query`'s softmax over the
 * keys (nk, F), computed independently in double. */
static double reference_weight(const ac_model *m, const float *query, const float *keys, size_t nk,
                               size_t key)
{
    size_t F = (size_t)m->F, H = (size_t)m->H;
    double scale = m->scale == AC_SCALE_SQRT ? 1.0 / sqrt((double)H) : 1.0;
    double *q = malloc(H * sizeof *q), *k = malloc(H * sizeof *k), *s = malloc(nk * sizeof *s);
    project_row(q, query, m->p.t[P_QW], m->p.t[P_QB], F, H);
    double max = -INFINITY;
    for (size_t j = 0; j < nk; j++) {
        project_row(k, keys + j * F, m->p.t[P_KW], m->p.t[P_KB], F, H);
        double d = 0.0;
        for (size_t h = 0; h < H; h++)
            d += q[h] * k[h];
        s[j] = d * scale;
        max = s[j] > max ? s[j] : max;
    }
    double sum = 0.0;
    for (size_t j = 0; j < nk; j++)
        sum += exp(s[j] - max);
    double w = exp(s[key] - max) / sum;
    free(q), free(k), free(s);
    return w;
}

static void check_order(const size_t *index, const int32_t *cluster, size_t count,
                        const int32_t *expect_cluster)
{
    for (size_t i = 0; i < count; i++) {
        CHECK(cluster[i] == expect_cluster[index[i]]);
        if (i)
            CHECK(cluster[i] > cluster[i - 1] ||
                  (cluster[i] == cluster[i - 1] && index[i] > index[i - 1]));
    }
}

static void test_attention_map_batch_all_rows(void)
{
    iris_run run;
    if (!iris_run_make(&run, 20, AC_SCALE_SQRT, AC_CONTEXT_BATCH))
        return;
    ac_model *m = run.m;
    size_t N = run.N;
    const float *x = run.x;
    const int32_t *clusters = run.clusters;
    ac_attention_map map;
    ac_error err;
    CHECK_INT_EQ(ac_attention_map_compute(m, x, N, AC_CONTEXT_BATCH, clusters, 256, 1, &map, &err),
                 AC_OK);
    CHECK_INT_EQ(map.rows, N);
    CHECK_INT_EQ(map.cols, N);
    CHECK_INT_EQ(map.total_keys, N);
    check_order(map.row_index, map.row_cluster, map.rows, clusters);
    /* every row shown once; rows sum to 1 since every key is shown */
    unsigned char *seen = calloc(N, 1);
    double worst = 0.0;
    for (size_t i = 0; i < map.rows; i++) {
        seen[map.row_index[i]]++;
        double sum = 0.0;
        for (size_t j = 0; j < map.cols; j++)
            sum += (double)map.weights[i * map.cols + j];
        CHECK_NEAR(sum, 1.0, 1e-5);
        for (size_t j = 0; j < map.cols; j += 7) {
            double want = reference_weight(m, x + map.row_index[i] * 4, x, N, map.col_index[j]);
            double e = fabs((double)map.weights[i * map.cols + j] - want) / (want > 1e-3 ? want : 1e-3);
            worst = e > worst ? e : worst;
        }
    }
    for (size_t i = 0; i < N; i++)
        CHECK_INT_EQ(seen[i], 1);
    if (!(worst <= 1e-4))
        fprintf(stderr, "attention map vs double reference: %.3g\n", worst);
    CHECK(worst <= 1e-4);
    /* drawn: every cell exactly once, in at most 64 colours */
    CHECK_INT_EQ(ac_plot_attention(tmp_path("attention.svg"), &map, NULL, &err), AC_OK);
    const char *must[] = {"Attention weights", "cluster 0", "query row", "key row",
                          "attention weight", "150 of 150 rows"};
    char *svg = check_svg(tmp_path("attention.svg"), must, 6);
    if (svg) {
        size_t cells = 0, paths = 0;
        const char *g = strstr(svg, "<g class=\"cells\"");
        const char *end = g ? strstr(g, "</g>") : NULL;
        CHECK(g && end);
        for (const char *p = g; p && end && (p = strstr(p, "M")) && p < end; p++) {
            size_t col, row, length, back;
            if (sscanf(p, "M%zu %zuh%zuv1h-%zuz", &col, &row, &length, &back) == 4) {
                CHECK(length == back && col + length <= map.cols && row < map.rows);
                cells += length;
            }
        }
        for (const char *p = g; p && end && (p = strstr(p, "<path fill=")) && p < end; p++)
            paths++;
        CHECK_INT_EQ(cells, map.rows * map.cols);
        CHECK(paths >= 2 && paths <= 64);
        free(svg);
    }
    free(seen);
    ac_attention_map_free(&map);
    ac_attention_map_free(&map); /* idempotent */
    iris_run_free(&run);
}

/* 600 rows, 100 shown: a seeded sample, normalised over all 600 keys. */
static void test_attention_map_batch_sampled(void)
{
    ac_dataset *ds = load("data/stretched.csv");
    CHECK(ds != NULL);
    if (!ds)
        return;
    ac_dataset_normalize(ds, AC_NORMALIZE_ZSCORE, NULL);
    ac_params p = ac_params_default();
    p.epochs = 3;
    p.clusters = 4;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, NULL), AC_OK);
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    const float *x = ac_dataset_features(ds);
    int32_t *clusters = malloc(N * sizeof *clusters);
    CHECK_INT_EQ(ac_model_predict(m, x, N, AC_CONTEXT_BATCH, clusters, NULL, NULL), AC_OK);
    ac_attention_map a, b, c;
    CHECK_INT_EQ(ac_attention_map_compute(m, x, N, AC_CONTEXT_BATCH, clusters, 100, 5, &a, NULL),
                 AC_OK);
    CHECK_INT_EQ(ac_attention_map_compute(m, x, N, AC_CONTEXT_BATCH, clusters, 100, 5, &b, NULL),
                 AC_OK);
    CHECK_INT_EQ(ac_attention_map_compute(m, x, N, AC_CONTEXT_BATCH, clusters, 100, 6, &c, NULL),
                 AC_OK);
    CHECK_INT_EQ(a.rows, 100);
    CHECK_INT_EQ(a.total_rows, N);
    check_order(a.row_index, a.row_cluster, a.rows, clusters);
    CHECK(memcmp(a.row_index, b.row_index, 100 * sizeof(size_t)) == 0);
    CHECK(memcmp(a.weights, b.weights, 100 * 100 * sizeof(float)) == 0);
    CHECK(memcmp(a.row_index, c.row_index, 100 * sizeof(size_t)) != 0);
    unsigned char *seen = calloc(N, 1);
    double worst = 0.0;
    for (size_t i = 0; i < a.rows; i++) {
        CHECK(seen[a.row_index[i]] == 0);
        seen[a.row_index[i]] = 1;
        for (size_t j = i % 5; j < a.cols; j += 5) {
            double want = reference_weight(m, x + a.row_index[i] * F, x, N, a.col_index[j]);
            double e = fabs((double)a.weights[i * a.cols + j] - want) / (want > 1e-3 ? want : 1e-3);
            worst = e > worst ? e : worst;
        }
    }
    CHECK(worst <= 1e-4);
    ac_error err;
    CHECK_INT_EQ(ac_plot_attention(tmp_path("sampled.svg"), &a, "sampled", &err), AC_OK);
    const char *must[] = {"100 of 600 rows (a seeded sample)", "over all 600 rows"};
    free(check_svg(tmp_path("sampled.svg"), must, 2));
    free(seen);
    ac_attention_map_free(&a), ac_attention_map_free(&b), ac_attention_map_free(&c);
    free(clusters);
    ac_model_free(m);
    ac_dataset_free(ds);
}

/* Reference context: query rows over (a sample of) the reference rows,
 * each softmax over the R reference rows and the row itself. */
static void test_attention_map_reference(void)
{
    iris_run run;
    if (!iris_run_make(&run, 10, AC_SCALE_NONE, AC_CONTEXT_REFERENCE))
        return;
    ac_model *m = run.m;
    size_t N = run.N, F = 4;
    const float *x = run.x;
    const int32_t *clusters = run.clusters;
    const float *ref;
    size_t R = ac_model_reference_rows(m, &ref);
    CHECK_INT_EQ(R, 150);
    int32_t *ref_clusters = malloc(R * sizeof(int32_t));
    CHECK_INT_EQ(ac_model_predict(m, ref, R, AC_CONTEXT_REFERENCE, ref_clusters, NULL, NULL),
                 AC_OK);
    ac_attention_map map;
    CHECK_INT_EQ(ac_attention_map_compute(m, x, N, AC_CONTEXT_REFERENCE, clusters, 64, 3, &map,
                                          NULL),
                 AC_OK);
    CHECK_INT_EQ(map.rows, 64);
    CHECK_INT_EQ(map.cols, 64);
    CHECK_INT_EQ(map.total_keys, R + 1);
    check_order(map.row_index, map.row_cluster, map.rows, clusters);
    check_order(map.col_index, map.col_cluster, map.cols, ref_clusters);
    /* keys: the reference rows, then the query row itself */
    float *keys = malloc((R + 1) * F * sizeof *keys);
    memcpy(keys, ref, R * F * sizeof *keys);
    double worst = 0.0;
    for (size_t i = 0; i < map.rows; i++) {
        memcpy(keys + R * F, x + map.row_index[i] * F, F * sizeof *keys);
        for (size_t j = 0; j < map.cols; j += 3) {
            double want = reference_weight(m, x + map.row_index[i] * F, keys, R + 1,
                                           map.col_index[j]);
            double e = fabs((double)map.weights[i * map.cols + j] - want) / (want > 1e-3 ? want : 1e-3);
            worst = e > worst ? e : worst;
        }
    }
    CHECK(worst <= 1e-4);
    ac_error err;
    CHECK_INT_EQ(ac_plot_attention(tmp_path("reference.svg"), &map, NULL, &err), AC_OK);
    const char *must[] = {"reference row", "of the 150 reference rows"};
    free(check_svg(tmp_path("reference.svg"), must, 2));
    ac_attention_map_free(&map);

    /* A model with no reference rows has no reference attention. */
    ac_params p = ac_params_default();
    ac_model *fresh = NULL;
    CHECK_INT_EQ(ac_model_create(&p, 4, &fresh, NULL), AC_OK);
    memset(&map, 0x5a, sizeof map);
    CHECK_INT_EQ(ac_attention_map_compute(fresh, x, N, AC_CONTEXT_REFERENCE, clusters, 64, 3,
                                          &map, &err),
                 AC_ERR_DATA);
    CHECK_STR_CONTAINS(err.message, "no reference rows");
    CHECK_INT_EQ(ac_attention_map_compute(fresh, x, 0, AC_CONTEXT_BATCH, clusters, 64, 3, &map,
                                          &err),
                 AC_ERR_INVALID);
    CHECK_INT_EQ(ac_attention_map_compute(fresh, x, N, AC_CONTEXT_BATCH, clusters, 0, 3, &map,
                                          &err),
                 AC_ERR_INVALID);
    ac_model_free(fresh);
    free(keys), free(ref_clusters);
    iris_run_free(&run);
}

/* -------------------------------------------------------------- pictures */

static void test_plot_training(void)
{
    ac_epoch_report e[100];
    for (int i = 0; i < 100; i++) {
        e[i].epoch = i;
        e[i].epochs = 100;
        e[i].loss = 1.2 * exp(-i / 30.0);
        e[i].accuracy = i < 60 ? 0.4 + 0.5 * i / 60.0 : (double)NAN; /* refinement: no accuracy */
    }
    ac_error err;
    CHECK_INT_EQ(ac_plot_training(tmp_path("training.svg"), e, 100, "Training <test>", &err),
                 AC_OK);
    const char *must[] = {"Training &lt;test&gt;", ">loss<", ">accuracy<", ">epoch<",
                          "100 epochs", "loss (cross-entropy)"};
    char *svg = check_svg(tmp_path("training.svg"), must, 6);
    if (svg) {
        CHECK_INT_EQ(count_of(svg, "class=\"series\""), 2);
        /* the accuracy path stops at the NaNs: 60 points, one M */
        const char *acc = strstr(strstr(svg, "class=\"series\"") + 1, "class=\"series\"");
        CHECK(acc != NULL);
        if (acc) {
            const char *d = strstr(acc, " d=\"");
            const char *close = d ? strchr(d + 4, '"') : NULL;
            size_t moves = 0, lines = 0;
            for (const char *p = d; p && p < close; p++)
                moves += *p == 'M', lines += *p == 'L';
            CHECK_INT_EQ(moves, 1);
            CHECK_INT_EQ(lines, 59);
        }
        CHECK_STR_CONTAINS(svg, "no accuracy where an epoch trained without hard targets");
        CHECK(!strstr(svg, "no accuracy: these epochs"));
        free(svg);
    }
    /* no accuracy at all; one epoch */
    for (int i = 0; i < 100; i++)
        e[i].accuracy = NAN;
    CHECK_INT_EQ(ac_plot_training(tmp_path("t2.svg"), e, 100, NULL, &err), AC_OK);
    const char *must2[] = {"no accuracy"};
    free(check_svg(tmp_path("t2.svg"), must2, 1));
    CHECK_INT_EQ(ac_plot_training(tmp_path("t3.svg"), e, 1, NULL, &err), AC_OK);
    const char *must3[] = {"1 epoch;", "<circle"};
    free(check_svg(tmp_path("t3.svg"), must3, 2));
    CHECK_INT_EQ(ac_plot_training(tmp_path("t4.svg"), e, 0, NULL, &err), AC_ERR_INVALID);
    CHECK(access(tmp_path("t4.svg"), F_OK) != 0);
}

static void test_plot_projection(void)
{
    ac_dataset *ds = iris_scaled();
    CHECK(ds != NULL);
    if (!ds)
        return;
    size_t N = ac_dataset_rows(ds);
    float *xy = malloc(N * 2 * sizeof *xy);
    double explained[2];
    CHECK_INT_EQ(ac_pca(ac_dataset_features(ds), N, 4, 2, xy, explained, NULL), AC_OK);
    int32_t *clusters = malloc(N * sizeof *clusters);
    for (size_t i = 0; i < N; i++)
        clusters[i] = (int32_t)(i % 3);
    const char *names[3] = {"Iris-setosa", "<b>&\"x\"</b>", "bad\x01\xff utf8 \xc3\xa9"};
    ac_error err;
    CHECK_INT_EQ(ac_plot_projection(tmp_path("projection.svg"), xy, N, clusters, 3,
                                    ac_dataset_labels(ds), names, 3, "PC1 (92%)", "PC2", NULL, 1,
                                    &err),
                 AC_OK);
    const char *must[] = {"PC1 (92%)", ">PC2<", "Cluster (colour)", "True label (shape)",
                          "cluster 0 (50 rows)", "Iris-setosa", "&lt;b&gt;&amp;&quot;x&quot;",
                          "bad?? utf8 \xc3\xa9", "150 rows"};
    char *svg = check_svg(tmp_path("projection.svg"), must, 9);
    if (svg) {
        CHECK_INT_EQ(count_of(svg, "class=\"point\""), N);
        /* three shapes for three labels: circles, squares, triangles */
        CHECK_INT_EQ(count_of(svg, "<circle class=\"point\""), 50);
        free(svg);
    }
    /* unlabelled: circles, no shape legend */
    CHECK_INT_EQ(ac_plot_projection(tmp_path("p2.svg"), xy, N, clusters, 3, NULL, NULL, 0, NULL,
                                    NULL, NULL, 1, &err),
                 AC_OK);
    svg = check_svg(tmp_path("p2.svg"), NULL, 0);
    if (svg) {
        CHECK_INT_EQ(count_of(svg, "<circle class=\"point\""), N);
        CHECK(!strstr(svg, "True label"));
        free(svg);
    }
    /* beyond AC_PLOT_MAX_POINTS: a sample, said in the subtitle */
    size_t big = AC_PLOT_MAX_POINTS + 1000;
    float *bxy = malloc(big * 2 * sizeof *bxy);
    int32_t *bc = malloc(big * sizeof *bc);
    for (size_t i = 0; i < big; i++) {
        bxy[2 * i] = (float)(i % 97);
        bxy[2 * i + 1] = (float)(i % 89);
        bc[i] = (int32_t)(i % 14); /* more clusters than the legend lists */
    }
    CHECK_INT_EQ(ac_plot_projection(tmp_path("p3.svg"), bxy, big, bc, 14, NULL, NULL, 0, NULL,
                                    NULL, NULL, 1, &err),
                 AC_OK);
    const char *must3[] = {"5000 of 6000 rows shown", "and 2 more"};
    svg = check_svg(tmp_path("p3.svg"), must3, 2);
    if (svg) {
        CHECK_INT_EQ(count_of(svg, "class=\"point\""), AC_PLOT_MAX_POINTS);
        free(svg);
    }
    clusters[7] = 3;
    CHECK_INT_EQ(ac_plot_projection(tmp_path("p4.svg"), xy, N, clusters, 3, NULL, NULL, 0, NULL,
                                    NULL, NULL, 1, &err),
                 AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "row 7 is in cluster 3");
    CHECK(access(tmp_path("p4.svg"), F_OK) != 0);
    free(bxy), free(bc), free(xy), free(clusters);
    ac_dataset_free(ds);
}

static void test_plot_contingency(void)
{
    uint64_t table[3 * 2] = {50, 0, 3, 47, 1234567, 2};
    const char *names[2] = {"yes", "no & maybe"};
    ac_error err;
    CHECK_INT_EQ(ac_plot_contingency(tmp_path("contingency.svg"), table, 3, 2, names, NULL, &err),
                 AC_OK);
    const char *must[] = {">50<", ">47<", ">1234567<", ">cluster 2<", ">yes<",
                          ">no &amp; maybe<", "1234669 rows", ">true label<", ">rows<"};
    char *svg = check_svg(tmp_path("contingency.svg"), must, 9);
    if (svg) {
        CHECK_INT_EQ(count_of(svg, "<rect x="), 6 + 64 + 1 + 0); /* cells, colour bar, its frame */
        free(svg);
    }
    /* a table too fine for numbers still draws every cell */
    uint64_t *big = calloc(40 * 50, sizeof *big);
    big[5] = 9;
    CHECK_INT_EQ(ac_plot_contingency(tmp_path("c2.svg"), big, 40, 50, NULL, NULL, &err), AC_OK);
    char *svg2 = check_svg(tmp_path("c2.svg"), NULL, 0);
    if (svg2) {
        CHECK(!strstr(svg2, "class=\"counts\""));
        free(svg2);
    }
    free(big);
    CHECK_INT_EQ(ac_plot_contingency(tmp_path("c3.svg"), table, 0, 2, names, NULL, &err),
                 AC_ERR_INVALID);
}

/* A picture in a directory that does not exist: an I/O error naming it. */
static void test_plot_unwritable(void)
{
    uint64_t table[1] = {1};
    ac_error err;
    CHECK_INT_EQ(ac_plot_contingency(tmp_path("missing/c.svg"), table, 1, 1, NULL, NULL, &err),
                 AC_ERR_IO);
    CHECK_STR_CONTAINS(err.source, "missing/c.svg");
}

/* Each allocation failing in turn: AC_ERR_NOMEM, no leak (ASan), no file. */
static void test_allocation_failures(void)
{
    iris_run run;
    if (!iris_run_make(&run, 2, AC_SCALE_NONE, AC_CONTEXT_BATCH))
        return;
    ac_model *m = run.m;
    size_t N = run.N;
    const float *x = run.x;
    const int32_t *clusters = run.clusters;
    float *xy = malloc(N * 2 * sizeof *xy);
    uint64_t table[4] = {1, 2, 3, 4};
    ac_epoch_report e[3] = {{0, 3, 1.0, 0.5}, {1, 3, 0.8, 0.6}, {2, 3, 0.7, 0.7}};
    for (int which = 0; which < 6; which++) {
        int ok = 0;
        for (size_t n = 1; n < 200 && !ok; n++) {
            ac_attention_map map;
            ac_error err;
            ac_alloc_fail_at(n);
            ac_status st = AC_OK;
            switch (which) {
            case 0: st = ac_pca(x, N, 4, 2, xy, NULL, &err); break;
            case 1:
                st = ac_attention_map_compute(m, x, N, AC_CONTEXT_BATCH, clusters, 50, 1, &map,
                                              &err);
                if (st == AC_OK)
                    ac_attention_map_free(&map);
                break;
            case 2:
                st = ac_attention_map_compute(m, x, N, AC_CONTEXT_REFERENCE, clusters, 50, 1,
                                              &map, &err);
                if (st == AC_OK)
                    ac_attention_map_free(&map);
                break;
            case 3: st = ac_plot_training(tmp_path("nomem.svg"), e, 3, NULL, &err); break;
            case 4:
                st = ac_plot_projection(tmp_path("nomem.svg"), xy, N, clusters, 3, NULL, NULL, 0,
                                        NULL, NULL, NULL, 1, &err);
                break;
            case 5:
                st = ac_plot_contingency(tmp_path("nomem.svg"), table, 2, 2, NULL, NULL, &err);
                break;
            }
            ac_alloc_fail_at(0);
            if (st == AC_OK) {
                ok = 1;
            } else {
                CHECK_INT_EQ(st, AC_ERR_NOMEM);
                CHECK(access(tmp_path("nomem.svg"), F_OK) != 0);
            }
        }
        CHECK(ok);
        unlink(tmp_path("nomem.svg"));
    }
    free(xy);
    iris_run_free(&run);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/attncluster-plot-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN_TEST(test_pca_matches_numpy);
    RUN_TEST(test_pca_exact_line);
    RUN_TEST(test_pca_edges);
    RUN_TEST(test_attention_map_batch_all_rows);
    RUN_TEST(test_attention_map_batch_sampled);
    RUN_TEST(test_attention_map_reference);
    RUN_TEST(test_plot_training);
    RUN_TEST(test_plot_projection);
    RUN_TEST(test_plot_contingency);
    RUN_TEST(test_plot_unwritable);
    RUN_TEST(test_allocation_failures);
    /* leave nothing behind */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_MAIN_END();
}
