/*
 * test_kernels.c - every fast path against the plain kernel it replaces:
 * exp_fast against exp, the structured attention against the direct one
 * (forward and every gradient), the streaming full-context forward against
 * the one that holds the N×N weights (sizes that leave partial tiles and
 * partial vectors), the fast LayerNorm against layers.c's, and results that
 * are bit-identical for any thread count.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

static ac_rng rng;

static void fill(float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(scale * ac_rng_normal(&rng));
}


static void exp_fast_is_within_a_few_ulp_of_exp(void)
{
    double worst = 0.0;
    for (int i = 0; i <= 200000; i++) {
        float x = -87.0f + 175.0f * (float)i / 200000.0f;
        double want = exp((double)x), got = (double)exp_fast(x);
        double e = fabs(got - want) / want;
        worst = e > worst ? e : worst;
    }
    if (!(worst < 3e-7))
        fprintf(stderr, "  worst relative error %.3g\n", worst);
    CHECK(worst < 3e-7);
    CHECK(exp_fast(0.0f) == 1.0f);
    CHECK(exp_fast(-1000.0f) > 0.0f && exp_fast(-1000.0f) < 1e-37f); /* clamped, finite */
    CHECK(isfinite(exp_fast(1000.0f)));
}

/* The model's gradients for one batch on the path `path`. */
static void gradients_on(ac_path path, ac_model *m, const float *x, const int32_t *y, int B,
                         float *grads, float *logits)
{
    ac_attention_path = path;
    ac_acts acts, dacts;
    CHECK_INT_EQ(acts_alloc(&acts, m, B, NULL), AC_OK);
    CHECK_INT_EQ(acts_alloc(&dacts, m, B, NULL), AC_OK);
    model_forward(m, &acts, x, B);
    crossentropy_forward(acts.probs, NULL, acts.logits, y, B, m->K);
    memset(grads, 0, m->n_params * sizeof(float));
    memset(dacts.block, 0, dacts.floats * sizeof(float));
    crossentropy_backward(dacts.logits, acts.probs, y, B, m->K);
    ac_tensors g;
    model_tensor_view(m, grads, &g);
    model_backward(m, &acts, &dacts, x, B, 1, &g);
    memcpy(logits, acts.logits, (size_t)B * (size_t)m->K * sizeof(float));
    acts_free(&acts);
    acts_free(&dacts);
    ac_attention_path = AC_PATH_AUTO;
}

static void structured_attention_equals_the_direct_path(void)
{
    const int shapes[][3] = {{3, 16, 7}, {4, 64, 32}, {16, 64, 45}, {1, 8, 1}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int F = shapes[s][0], H = shapes[s][1], B = shapes[s][2];
        for (int sc = 0; sc < 2; sc++) {
            ac_params p = ac_params_default();
            p.hidden = H;
            p.clusters = 3;
            p.seed = 100 + s;
            p.attention_scale = sc ? AC_SCALE_SQRT : AC_SCALE_NONE;
            ac_model *m = NULL;
            CHECK_INT_EQ(ac_model_create(&p, (size_t)F, &m, NULL), AC_OK);
            float *x = malloc((size_t)B * F * sizeof(float));
            int32_t *y = malloc((size_t)B * sizeof(int32_t));
            for (int i = 0; i < B * F; i++)
                x[i] = (float)ac_rng_uniform(&rng);
            for (int i = 0; i < B; i++)
                y[i] = (int32_t)ac_rng_below_or_equal(&rng, 2);
            float *gd = malloc(m->n_params * sizeof(float)), *gs = malloc(m->n_params * sizeof(float));
            float *ld = malloc((size_t)B * 3 * sizeof(float)), *ls = malloc((size_t)B * 3 * sizeof(float));
            gradients_on(AC_PATH_DIRECT, m, x, y, B, gd, ld);
            gradients_on(AC_PATH_STRUCTURED, m, x, y, B, gs, ls);
            double le = worst_relative_error(ls, ld, (size_t)B * 3);
            if (!(le < 1e-5))
                fprintf(stderr, "  F=%d H=%d B=%d: logits off by %.3g\n", F, H, B, le);
            CHECK(le < 1e-5);
            ac_tensors td, ts;
            model_tensor_view(m, gd, &td);
            model_tensor_view(m, gs, &ts);
            for (int t = 0; t < P_COUNT; t++) {
                if (t == P_KB) {
                    for (size_t j = 0; j < m->sizes[t]; j++)
                        CHECK(ts.t[t][j] == 0.0f && td.t[t][j] == 0.0f);
                    continue;
                }
                double e = worst_relative_error(ts.t[t], td.t[t], m->sizes[t]);
                if (!(e < 1e-4))
                    fprintf(stderr, "  F=%d H=%d B=%d: %s off by %.3g\n", F, H, B,
                            ac_tensor_names[t], e);
                CHECK(e < 1e-4);
            }
            free(x), free(y), free(gd), free(gs), free(ld), free(ls);
            ac_model_free(m);
        }
    }
}

/* Predicts n rows of a random model with F features, streaming or not. */
static void predict_with(ac_model *m, const float *x, size_t n, int streaming, int32_t *clusters,
                         float *probs)
{
    ac_streaming_min_rows = streaming ? 1 : (size_t)-1;
    CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_BATCH, clusters, probs, NULL), AC_OK);
    ac_streaming_min_rows = 1024;
}

static void streaming_full_context_equals_the_direct_forward(void)
{
    /* F 4: the structured streaming kernel; F 40: the direct one. Row counts
     * leave partial key tiles (128) and partial vectors (16). */
    const int features[] = {4, 40};
    const size_t rows[] = {1, 17, 300, 1037};
    for (int fi = 0; fi < 2; fi++)
        for (int ri = 0; ri < 4; ri++) {
            int F = features[fi];
            size_t n = rows[ri];
            ac_params p = ac_params_default();
            p.seed = (uint64_t)(fi * 10 + ri);
            ac_model *m = NULL;
            CHECK_INT_EQ(ac_model_create(&p, (size_t)F, &m, NULL), AC_OK);
            float *x = malloc(n * (size_t)F * sizeof(float));
            for (size_t i = 0; i < n * (size_t)F; i++)
                x[i] = (float)ac_rng_uniform(&rng);
            int32_t *cd = malloc(n * sizeof(int32_t)), *cs = malloc(n * sizeof(int32_t));
            float *pd = malloc(n * 3 * sizeof(float)), *ps = malloc(n * 3 * sizeof(float));
            predict_with(m, x, n, 0, cd, pd);
            predict_with(m, x, n, 1, cs, ps);
            double e = worst_relative_error(ps, pd, n * 3);
            if (!(e < 1e-5))
                fprintf(stderr, "  F=%d N=%zu: probabilities off by %.3g\n", F, n, e);
            CHECK(e < 1e-5);
            size_t same = 0;
            for (size_t i = 0; i < n; i++)
                same += cs[i] == cd[i];
            /* Clusters agree except where two probabilities tie within rounding. */
            CHECK(same + n / 500 >= n);
            free(x), free(cd), free(cs), free(pd), free(ps);
            ac_model_free(m);
        }
}

static void the_wide_streaming_kernel_equals_the_plain_attention(void)
{
    const int N = 301, H = 24;
    float *q = malloc(N * H * sizeof(float)), *k = malloc(N * H * sizeof(float));
    float *v = malloc(N * H * sizeof(float)), *plain = malloc(N * H * sizeof(float));
    float *fast = malloc(N * H * sizeof(float)), *kt = malloc(N * H * sizeof(float));
    float *weights = malloc((size_t)N * N * sizeof(float));
    fill(q, N * H, 1.0), fill(k, N * H, 1.0), fill(v, N * H, 1.0);
    attention_forward(plain, weights, q, k, v, N, H, 0.5f);
    attention_forward_streaming(fast, kt, q, k, v, N, H, 0.5f);
    double e = worst_relative_error(fast, plain, (size_t)N * H);
    if (!(e < 1e-5))
        fprintf(stderr, "  off by %.3g\n", e);
    CHECK(e < 1e-5);
    free(q), free(k), free(v), free(plain), free(fast), free(kt), free(weights);
}

static void fast_layernorm_equals_the_plain_one(void)
{
    const int B = 5, H = 37;
    float x[5 * 37], w[37], b[37], dy[5 * 37], y1[5 * 37], y2[5 * 37];
    float m1[5], m2[5], r1[5], r2[5], scratch[2 * 37];
    fill(x, B * H, 2.0), fill(w, H, 1.0), fill(b, H, 1.0), fill(dy, B * H, 1.0);
    for (int i = 0; i < B * H; i++)
        x[i] += 3.0f;
    layernorm_forward(y1, m1, r1, x, w, b, B, H, 1e-5f);
    layernorm_forward_fast(y2, m2, r2, x, w, b, B, H, 1e-5f);
    CHECK(worst_relative_error(y2, y1, (size_t)B * H) < 1e-5);
    float dx1[5 * 37] = {0}, dx2[5 * 37] = {0}, dw1[37] = {0}, dw2[37] = {0};
    float db1[37] = {0}, db2[37] = {0};
    layernorm_backward(dx1, dw1, db1, dy, x, w, m1, r1, B, H);
    layernorm_backward_fast(dx2, dw2, db2, scratch, dy, x, w, m1, r1, B, H);
    CHECK(worst_relative_error(dx2, dx1, (size_t)B * H) < 1e-5);
    CHECK(worst_relative_error(dw2, dw1, H) < 1e-5);
    CHECK(worst_relative_error(db2, db1, H) < 1e-6);
}

/* Each row owned by one thread, summed in a fixed order: any thread count
 * gives the same bits. */
static void results_are_bit_identical_for_any_thread_count(void)
{
    const size_t n = 2100;
    const int features[] = {4, 40};
    for (int fi = 0; fi < 2; fi++) {
        int F = features[fi];
        ac_params p = ac_params_default();
        ac_model *m = NULL;
        CHECK_INT_EQ(ac_model_create(&p, (size_t)F, &m, NULL), AC_OK);
        float *x = malloc(n * (size_t)F * sizeof(float));
        for (size_t i = 0; i < n * (size_t)F; i++)
            x[i] = (float)ac_rng_uniform(&rng);
        float *p1 = malloc(n * 3 * sizeof(float)), *p2 = malloc(n * 3 * sizeof(float));
        float *r1 = malloc(n * 3 * sizeof(float)), *r2 = malloc(n * 3 * sizeof(float));
        ac_set_threads(1);
        CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_BATCH, NULL, p1, NULL), AC_OK);
        CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_REFERENCE, NULL, r1, NULL), AC_OK);
        ac_set_threads(2);
        CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_BATCH, NULL, p2, NULL), AC_OK);
        CHECK_INT_EQ(ac_model_predict(m, x, n, AC_CONTEXT_REFERENCE, NULL, r2, NULL), AC_OK);
        CHECK(memcmp(p1, p2, n * 3 * sizeof(float)) == 0);
        CHECK(memcmp(r1, r2, n * 3 * sizeof(float)) == 0);
        free(x), free(p1), free(p2), free(r1), free(r2);
        ac_model_free(m);
    }
    /* Training, on one thread or two. */
    ac_dataset *ds = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = 5;
    ac_model *a = NULL, *b = NULL;
    ac_set_threads(1);
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &a, NULL), AC_OK);
    ac_set_threads(2);
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &b, NULL), AC_OK);
    CHECK(a && b && memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
    ac_set_threads(1);
    ac_model_free(a), ac_model_free(b);
    ac_dataset_free(ds);
}

int main(void)
{
    ac_rng_seed(&rng, 77);
    RUN_TEST(exp_fast_is_within_a_few_ulp_of_exp);
    RUN_TEST(structured_attention_equals_the_direct_path);
    RUN_TEST(streaming_full_context_equals_the_direct_forward);
    RUN_TEST(the_wide_streaming_kernel_equals_the_plain_attention);
    RUN_TEST(fast_layernorm_equals_the_plain_one);
    RUN_TEST(results_are_bit_identical_for_any_thread_count);
    TEST_MAIN_END();
}
