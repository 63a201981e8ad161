/*
 * test_model.c - the whole model: its forward logits against the double
 * reference, the gradient of the loss with respect to every element of every
 * parameter tensor against central differences, a whole-model check along a
 * random direction at the chapter's size, the key bias's exactly-zero
 * gradient, the Candle-compatible backward, and the initialiser.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"
#include "reference.h"

#include <stdlib.h>

#define GRAD_TOL 1e-4

/* A model, a batch and double copies of everything for the reference. */
typedef struct model_case {
    ac_model *m;
    int B, F, H, K;
    float *x;
    int32_t *y;
    double *xd;
    double *pd[P_COUNT];
    double scale;
} model_case;

static double case_loss(void *ctx)
{
    model_case *c = ctx;
    return ref_model_loss(c->pd, c->xd, c->y, c->B, c->F, c->H, c->K, c->scale, 1e-5, NULL);
}

static model_case make_case(int B, int F, int H, int K, ac_attention_scale scale, uint64_t seed)
{
    model_case c;
    memset(&c, 0, sizeof c);
    ac_params p = ac_params_default();
    p.hidden = H;
    p.clusters = K;
    p.seed = seed;
    p.attention_scale = scale;
    ac_status st = ac_model_create(&p, (size_t)F, &c.m, NULL);
    CHECK_INT_EQ(st, AC_OK);
    c.B = B, c.F = F, c.H = H, c.K = K;
    c.scale = scale == AC_SCALE_SQRT ? 1.0 / sqrt((double)H) : 1.0;
    ac_rng rng;
    ac_rng_seed(&rng, seed + 1000);
    c.x = malloc(sizeof(float) * (size_t)(B * F));
    c.xd = malloc(sizeof(double) * (size_t)(B * F));
    c.y = malloc(sizeof(int32_t) * (size_t)B);
    for (int i = 0; i < B * F; i++) {
        c.x[i] = (float)ac_rng_uniform(&rng); /* like min-max scaled features */
        c.xd[i] = (double)c.x[i];
    }
    for (int b = 0; b < B; b++)
        c.y[b] = (int32_t)ac_rng_below_or_equal(&rng, (uint64_t)K - 1);
    /* Move LayerNorm away from its (1, 0) initialisation so that its weight
     * and bias take part in every product of the check. */
    for (int h = 0; h < H; h++) {
        c.m->p.t[P_LNW][h] = (float)(1.0 + 0.3 * ac_rng_normal(&rng));
        c.m->p.t[P_LNB][h] = (float)(0.3 * ac_rng_normal(&rng));
    }
    for (int i = 0; i < P_COUNT; i++) {
        c.pd[i] = malloc(sizeof(double) * c.m->sizes[i]);
        for (size_t j = 0; j < c.m->sizes[i]; j++)
            c.pd[i][j] = (double)c.m->p.t[i][j];
    }
    return c;
}

static void free_case(model_case *c)
{
    ac_model_free(c->m);
    free(c->x), free(c->xd), free(c->y);
    for (int i = 0; i < P_COUNT; i++)
        free(c->pd[i]);
}

/* The library's float gradients for the case's batch, in grads (n_params). */
static double library_gradients(const model_case *c, float *grads, int upstream, float *logits)
{
    ac_acts acts, dacts;
    CHECK_INT_EQ(acts_alloc(&acts, c->m, c->B, NULL), AC_OK);
    CHECK_INT_EQ(acts_alloc(&dacts, c->m, c->B, NULL), AC_OK);
    model_forward(c->m, &acts, c->x, c->B);
    double loss = crossentropy_forward(acts.probs, NULL, acts.logits, c->y, c->B, c->K);
    memset(grads, 0, c->m->n_params * sizeof(float));
    memset(dacts.block, 0, dacts.floats * sizeof(float));
    crossentropy_backward(dacts.logits, acts.probs, c->y, c->B, c->K);
    ac_tensors g;
    model_tensor_view(c->m, grads, &g);
    model_backward(c->m, &acts, &dacts, c->x, c->B, upstream, &g);
    if (logits)
        memcpy(logits, acts.logits, sizeof(float) * (size_t)(c->B * c->K));
    acts_free(&acts);
    acts_free(&dacts);
    return loss;
}

static void check_every_tensor(ac_attention_scale scale)
{
    model_case c = make_case(6, 3, 4, 3, scale, 7);
    float *grads = malloc(c.m->n_params * sizeof(float));
    float logits[6 * 3];
    double loss = library_gradients(&c, grads, 1, logits);
    double ref_logits[6 * 3];
    double ref_loss = ref_model_loss(c.pd, c.xd, c.y, c.B, c.F, c.H, c.K, c.scale, 1e-5,
                                     ref_logits);
    CHECK_NEAR(loss, ref_loss, 1e-5);
    for (int i = 0; i < 6 * 3; i++)
        CHECK_NEAR(logits[i], ref_logits[i], 1e-4 * (1.0 + fabs(ref_logits[i])));
    ac_tensors g;
    model_tensor_view(c.m, grads, &g);
    for (int t = 0; t < P_COUNT; t++) {
        size_t where;
        double err = ref_gradient_error(case_loss, &c, c.pd[t], c.m->sizes[t], g.t[t], &where);
        if (t == P_KB) {
            /* Exactly zero by construction (see model_backward). Measure the
             * true gradient directly: its scale is rounding noise. */
            for (size_t j = 0; j < c.m->sizes[t]; j++)
                CHECK(g.t[t][j] == 0.0f);
            double saved = c.pd[t][0];
            c.pd[t][0] = saved + 1e-3;
            double plus = case_loss(&c);
            c.pd[t][0] = saved - 1e-3;
            double minus = case_loss(&c);
            c.pd[t][0] = saved;
            CHECK_NEAR((plus - minus) / 2e-3, 0.0, 1e-9);
            continue;
        }
        if (!(err <= GRAD_TOL))
            fprintf(stderr, "  %s: worst relative error %.3g at element %zu\n",
                    ac_tensor_names[t], err, where);
        CHECK(err <= GRAD_TOL);
    }
    free(grads);
    free_case(&c);
}

static void model_gradient_matches_finite_differences_for_every_tensor_unscaled(void)
{
    check_every_tensor(AC_SCALE_NONE);
}

static void model_gradient_matches_finite_differences_for_every_tensor_scaled(void)
{
    check_every_tensor(AC_SCALE_SQRT);
}

/* The structured path (kernels.c) differentiated on its own: forced on the
 * small shapes where AUTO would take the direct one. */
static void model_gradient_matches_finite_differences_on_the_structured_path(void)
{
    ac_attention_path = AC_PATH_STRUCTURED;
    check_every_tensor(AC_SCALE_NONE);
    check_every_tensor(AC_SCALE_SQRT);
    ac_attention_path = AC_PATH_AUTO;
}

/* At the chapter's sizes (B 32, F 4, H 64, K 3): the derivative along one
 * random direction d over all parameters, Σ g·d, against
 * (L(θ + εd) - L(θ - εd)) / 2ε of the double reference. */
static void model_gradient_matches_along_a_random_direction_at_chapter_size(void)
{
    for (int s = 0; s < 2; s++) {
        model_case c = make_case(32, 4, 64, 3, s ? AC_SCALE_SQRT : AC_SCALE_NONE, 11);
        float *grads = malloc(c.m->n_params * sizeof(float));
        library_gradients(&c, grads, 1, NULL);
        ac_tensors g;
        model_tensor_view(c.m, grads, &g);
        ac_rng rng;
        ac_rng_seed(&rng, 99);
        double analytic = 0.0, eps = 1e-5;
        double **dir = malloc(sizeof(double *) * P_COUNT);
        for (int t = 0; t < P_COUNT; t++) {
            dir[t] = malloc(sizeof(double) * c.m->sizes[t]);
            for (size_t j = 0; j < c.m->sizes[t]; j++) {
                dir[t][j] = ac_rng_normal(&rng);
                analytic += dir[t][j] * (double)g.t[t][j];
            }
        }
        double lp = 0.0, lm = 0.0;
        for (int sign = 1; sign >= -1; sign -= 2) {
            for (int t = 0; t < P_COUNT; t++)
                for (size_t j = 0; j < c.m->sizes[t]; j++)
                    c.pd[t][j] = (double)c.m->p.t[t][j] + sign * eps * dir[t][j];
            double l = case_loss(&c);
            if (sign == 1)
                lp = l;
            else
                lm = l;
        }
        double numeric = (lp - lm) / (2 * eps);
        CHECK_NEAR(analytic, numeric, 1e-4 * fabs(numeric) + 1e-7);
        CHECK(fabs(numeric) > 1e-3); /* the check is not vacuous */
        for (int t = 0; t < P_COUNT; t++)
            free(dir[t]);
        free(dir);
        free(grads);
        free_case(&c);
    }
}

/* Candle-compatible backward: cluster_proj's gradient is the same, bit for
 * bit, and nothing upstream of the LayerNorm is touched. */
static void candle_compat_backward_stops_at_the_layernorm(void)
{
    model_case c = make_case(6, 3, 4, 3, AC_SCALE_NONE, 5);
    float *full = malloc(c.m->n_params * sizeof(float));
    float *compat = malloc(c.m->n_params * sizeof(float));
    library_gradients(&c, full, 1, NULL);
    library_gradients(&c, compat, 0, NULL);
    ac_tensors gf, gc;
    model_tensor_view(c.m, full, &gf);
    model_tensor_view(c.m, compat, &gc);
    for (int t = 0; t < P_COUNT; t++)
        for (size_t j = 0; j < c.m->sizes[t]; j++) {
            if (t == P_CW || t == P_CB)
                CHECK(gc.t[t][j] == gf.t[t][j]);
            else
                CHECK(gc.t[t][j] == 0.0f);
        }
    free(full), free(compat);
    free_case(&c);
}

/* Candle's initialisers: weight std √(2/fan_in), bias in [-1/√fan_in,
 * 1/√fan_in), LayerNorm (1, 0); reproducible from the seed. */
static void initialisation_follows_candle_defaults_and_the_seed(void)
{
    ac_params p = ac_params_default();
    p.hidden = 256;
    ac_model *a = NULL, *b = NULL, *other = NULL;
    CHECK_INT_EQ(ac_model_create(&p, 64, &a, NULL), AC_OK);
    CHECK_INT_EQ(ac_model_create(&p, 64, &b, NULL), AC_OK);
    p.seed = 43;
    CHECK_INT_EQ(ac_model_create(&p, 64, &other, NULL), AC_OK);
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
    CHECK(memcmp(a->params, other->params, a->n_params * sizeof(float)) != 0);
    for (size_t t = 0; t < ac_model_tensor_count(a); t++) {
        const char *name;
        size_t rows, cols;
        float *data;
        CHECK_INT_EQ(ac_model_tensor(a, t, &name, &rows, &cols, &data), AC_OK);
        size_t n = rows * cols;
        if (t == P_LNW || t == P_LNB) {
            for (size_t j = 0; j < n; j++)
                CHECK(data[j] == (t == P_LNW ? 1.0f : 0.0f));
            continue;
        }
        /* fan_in is the width of the weight of this tensor's layer. */
        int is_bias = t % 2 == 1;
        size_t fan_in = is_bias ? a->cols[t - 1] : cols;
        double mean = 0.0, sq = 0.0, bound = 1.0 / sqrt((double)fan_in);
        for (size_t j = 0; j < n; j++) {
            mean += (double)data[j] / (double)n;
            sq += (double)data[j] * (double)data[j] / (double)n;
            if (is_bias)
                CHECK((double)data[j] >= -bound && (double)data[j] <= bound);
        }
        if (!is_bias && n >= 4096) {
            double std = sqrt(sq - mean * mean), expected = sqrt(2.0 / (double)fan_in);
            CHECK_NEAR(mean, 0.0, 0.05 * expected);
            CHECK_NEAR(std, expected, 0.05 * expected);
        }
    }
    const char *name;
    CHECK_INT_EQ(ac_model_tensor(a, 0, &name, NULL, NULL, NULL), AC_OK);
    CHECK(strcmp(name, "self_attention.query_proj.weight") == 0);
    CHECK_INT_EQ(ac_model_tensor(a, P_COUNT, &name, NULL, NULL, NULL), AC_ERR_INVALID);
    ac_model_free(a), ac_model_free(b), ac_model_free(other);
    ac_model_free(NULL);
}

/* The chapter's inference: predict's clusters are the arg-max of its
 * probabilities, which sum to 1, and match a forward over the same rows. */
static void predict_gives_the_argmax_of_a_full_forward(void)
{
    model_case c = make_case(9, 3, 8, 4, AC_SCALE_NONE, 3);
    int32_t clusters[9];
    float probs[9 * 4];
    CHECK_INT_EQ(ac_model_predict(c.m, c.x, 9, AC_CONTEXT_BATCH, clusters, probs, NULL), AC_OK);
    double ref_logits[9 * 4];
    ref_model_loss(c.pd, c.xd, c.y, 9, 3, 8, 4, 1.0, 1e-5, ref_logits);
    for (int b = 0; b < 9; b++) {
        double sum = 0.0;
        int best = 0;
        for (int k = 0; k < 4; k++) {
            sum += (double)probs[b * 4 + k];
            if (ref_logits[b * 4 + k] > ref_logits[b * 4 + best])
                best = k;
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
        CHECK_INT_EQ(clusters[b], best);
    }
    ac_error err;
    CHECK_INT_EQ(ac_model_predict(c.m, c.x, 0, AC_CONTEXT_BATCH, clusters, probs, &err), AC_ERR_INVALID);
    free_case(&c);
}

static void invalid_params_are_refused_with_the_field_named(void)
{
    ac_params p;
    ac_error err;
    ac_model *m = NULL;
    p = ac_params_default(); p.hidden = 0;
    CHECK_INT_EQ(ac_model_create(&p, 4, &m, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "hidden");
    p = ac_params_default(); p.lr = NAN;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "learning rate");
    p = ac_params_default(); p.lr = -1.0;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    p = ac_params_default(); p.batch_size = -3;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "batch size");
    p = ac_params_default(); p.epochs = 0;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    CHECK_STR_CONTAINS(err.message, "epoch");
    p = ac_params_default(); p.weight_decay = INFINITY;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    p = ac_params_default(); p.beta2 = 1.0;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    p = ac_params_default(); p.attention_scale = (ac_attention_scale)7;
    CHECK_INT_EQ(ac_params_validate(&p, &err), AC_ERR_INVALID);
    p = ac_params_default();
    CHECK_INT_EQ(ac_params_validate(&p, NULL), AC_OK);
    CHECK_INT_EQ(ac_model_create(&p, 0, &m, &err), AC_ERR_INVALID);
    CHECK(m == NULL);
}

int main(void)
{
    RUN_TEST(model_gradient_matches_finite_differences_for_every_tensor_unscaled);
    RUN_TEST(model_gradient_matches_finite_differences_for_every_tensor_scaled);
    RUN_TEST(model_gradient_matches_finite_differences_on_the_structured_path);
    RUN_TEST(model_gradient_matches_along_a_random_direction_at_chapter_size);
    RUN_TEST(candle_compat_backward_stops_at_the_layernorm);
    RUN_TEST(initialisation_follows_candle_defaults_and_the_seed);
    RUN_TEST(predict_gives_the_argmax_of_a_full_forward);
    RUN_TEST(invalid_params_are_refused_with_the_field_named);
    TEST_MAIN_END();
}
