/*
 * test_layers.c - every layer's forward against a double-precision
 * reference, and every backward against central differences of that
 * reference (tests/reference.h). A layer is checked through the scalar
 * L = Σ R ⊙ layer(inputs) with fixed random R, so dout = R.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"
#include "reference.h"

#include <stdlib.h>

#define GRAD_TOL 1e-4 /* float32 backward vs double central differences */

static ac_rng test_rng;

static void fill_normal(float *x, size_t n, double std, double mean)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mean + std * ac_rng_normal(&test_rng));
}

static double *to_double(const float *x, size_t n)
{
    double *d = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++)
        d[i] = (double)x[i];
    return d;
}

static double dot_d(const double *a, const float *r, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * (double)r[i];
    return s;
}

static void check_gradient(const char *what, ref_loss_fn fn, void *ctx, double *target, size_t n,
                           const float *analytic)
{
    size_t where;
    double err = ref_gradient_error(fn, ctx, target, n, analytic, &where);
    if (!(err <= GRAD_TOL))
        fprintf(stderr, "  %s: worst relative error %.3g at element %zu\n", what, err, where);
    CHECK(err <= GRAD_TOL);
}

/* ------------------------------------------------------------------ linear */

enum { LB = 3, LI = 4, LO = 5 };

typedef struct linear_case {
    double *x, *w, *b;
    const float *r;
} linear_case;

static double linear_loss(void *ctx)
{
    linear_case *c = ctx;
    double out[LB * LO];
    ref_linear(out, c->x, c->w, c->b, LB, LI, LO);
    return dot_d(out, c->r, LB * LO);
}

static void linear_forward_matches_reference(void)
{
    float x[LB * LI], w[LO * LI], b[LO], out[LB * LO];
    double ref[LB * LO];
    fill_normal(x, LB * LI, 1.0, 0.0);
    fill_normal(w, LO * LI, 1.0, 0.0);
    fill_normal(b, LO, 1.0, 0.0);
    linear_forward(out, x, w, b, LB, LI, LO);
    double *xd = to_double(x, LB * LI), *wd = to_double(w, LO * LI), *bd = to_double(b, LO);
    ref_linear(ref, xd, wd, bd, LB, LI, LO);
    for (int i = 0; i < LB * LO; i++)
        CHECK_NEAR(out[i], ref[i], 1e-5);
    free(xd), free(wd), free(bd);
}

static void linear_backward_matches_finite_differences(void)
{
    float x[LB * LI], w[LO * LI], b[LO], r[LB * LO];
    fill_normal(x, LB * LI, 1.0, 0.0);
    fill_normal(w, LO * LI, 1.0, 0.0);
    fill_normal(b, LO, 1.0, 0.0);
    fill_normal(r, LB * LO, 1.0, 0.0);
    float dx[LB * LI] = {0}, dw[LO * LI] = {0}, db[LO] = {0};
    linear_backward(dx, dw, db, r, x, w, LB, LI, LO);
    linear_case c = {to_double(x, LB * LI), to_double(w, LO * LI), to_double(b, LO), r};
    check_gradient("linear dinp", linear_loss, &c, c.x, LB * LI, dx);
    check_gradient("linear dweight", linear_loss, &c, c.w, LO * LI, dw);
    check_gradient("linear dbias", linear_loss, &c, c.b, LO, db);
    free(c.x), free(c.w), free(c.b);
}

static void linear_backward_adds_into_its_gradients(void)
{
    float x[LB * LI], w[LO * LI], r[LB * LO];
    fill_normal(x, LB * LI, 1.0, 0.0);
    fill_normal(w, LO * LI, 1.0, 0.0);
    fill_normal(r, LB * LO, 1.0, 0.0);
    float dx0[LB * LI] = {0}, dw0[LO * LI] = {0}, db0[LO] = {0};
    float dx1[LB * LI], dw1[LO * LI], db1[LO];
    linear_backward(dx0, dw0, db0, r, x, w, LB, LI, LO);
    for (int i = 0; i < LB * LI; i++) dx1[i] = 1.0f;
    for (int i = 0; i < LO * LI; i++) dw1[i] = 1.0f;
    for (int i = 0; i < LO; i++) db1[i] = 1.0f;
    linear_backward(dx1, dw1, db1, r, x, w, LB, LI, LO);
    /* Equal up to the rounding of a different summation order. */
    for (int i = 0; i < LB * LI; i++) CHECK_NEAR(dx1[i], 1.0f + dx0[i], 1e-5);
    for (int i = 0; i < LO * LI; i++) CHECK_NEAR(dw1[i], 1.0f + dw0[i], 1e-5);
    for (int i = 0; i < LO; i++) CHECK_NEAR(db1[i], 1.0f + db0[i], 1e-5);
}

/* --------------------------------------------------------------- attention */

enum { AB = 5, AH = 4 };

typedef struct attention_case {
    double *q, *k, *v;
    const float *r;
    double scale;
} attention_case;

static double attention_loss(void *ctx)
{
    attention_case *c = ctx;
    double out[AB * AH];
    ref_attention(out, c->q, c->k, c->v, AB, AH, c->scale);
    return dot_d(out, c->r, AB * AH);
}

static void check_attention(float scale)
{
    float q[AB * AH], k[AB * AH], v[AB * AH], r[AB * AH], ctx[AB * AH], weights[AB * AB];
    fill_normal(q, AB * AH, 1.0, 0.0);
    fill_normal(k, AB * AH, 1.0, 0.0);
    fill_normal(v, AB * AH, 1.0, 0.0);
    fill_normal(r, AB * AH, 1.0, 0.0);
    attention_forward(ctx, weights, q, k, v, AB, AH, scale);
    attention_case c = {to_double(q, AB * AH), to_double(k, AB * AH), to_double(v, AB * AH), r,
                        (double)scale};
    double ref[AB * AH];
    ref_attention(ref, c.q, c.k, c.v, AB, AH, c.scale);
    for (int i = 0; i < AB * AH; i++)
        CHECK_NEAR(ctx[i], ref[i], 1e-5);
    for (int i = 0; i < AB; i++) {
        double rowsum = 0.0;
        for (int j = 0; j < AB; j++)
            rowsum += (double)weights[i * AB + j];
        CHECK_NEAR(rowsum, 1.0, 1e-6);
    }
    float dq[AB * AH] = {0}, dk[AB * AH] = {0}, dv[AB * AH] = {0}, scratch[AB * AB];
    attention_backward(dq, dk, dv, scratch, r, weights, q, k, v, AB, AH, scale);
    check_gradient("attention dq", attention_loss, &c, c.q, AB * AH, dq);
    check_gradient("attention dk", attention_loss, &c, c.k, AB * AH, dk);
    check_gradient("attention dv", attention_loss, &c, c.v, AB * AH, dv);
    free(c.q), free(c.k), free(c.v);
}

static void attention_backward_matches_finite_differences_unscaled(void)
{
    check_attention(1.0f);
}

static void attention_backward_matches_finite_differences_scaled_by_inverse_sqrt_h(void)
{
    check_attention((float)(1.0 / sqrt((double)AH)));
}

static void attention_forward_is_stable_for_huge_scores(void)
{
    float q[AB * AH], k[AB * AH], v[AB * AH], ctx[AB * AH], weights[AB * AB];
    fill_normal(q, AB * AH, 100.0, 0.0); /* scores of order 10^4: exp would overflow */
    fill_normal(k, AB * AH, 100.0, 0.0);
    fill_normal(v, AB * AH, 1.0, 0.0);
    attention_forward(ctx, weights, q, k, v, AB, AH, 1.0f);
    double *qd = to_double(q, AB * AH), *kd = to_double(k, AB * AH), *vd = to_double(v, AB * AH);
    double ref[AB * AH];
    ref_attention(ref, qd, kd, vd, AB, AH, 1.0);
    for (int i = 0; i < AB * AH; i++) {
        CHECK(isfinite(ctx[i]));
        CHECK_NEAR(ctx[i], ref[i], 1e-4);
    }
    free(qd), free(kd), free(vd);
}

/* --------------------------------------------------------------- layernorm */

enum { NB = 4, NH = 6 };

typedef struct layernorm_case {
    double *x, *w, *b;
    const float *r;
} layernorm_case;

static double layernorm_loss(void *ctx)
{
    layernorm_case *c = ctx;
    double out[NB * NH];
    ref_layernorm(out, c->x, c->w, c->b, NB, NH, 1e-5);
    return dot_d(out, c->r, NB * NH);
}

static void layernorm_forward_matches_reference(void)
{
    float x[NB * NH], w[NH], b[NH], out[NB * NH], mean[NB], rstd[NB];
    fill_normal(x, NB * NH, 2.0, 3.0); /* mean far from 0 */
    fill_normal(w, NH, 1.0, 1.0);
    fill_normal(b, NH, 1.0, 0.0);
    layernorm_forward(out, mean, rstd, x, w, b, NB, NH, 1e-5f);
    double *xd = to_double(x, NB * NH), *wd = to_double(w, NH), *bd = to_double(b, NH);
    double ref[NB * NH];
    ref_layernorm(ref, xd, wd, bd, NB, NH, 1e-5);
    for (int i = 0; i < NB * NH; i++)
        CHECK_NEAR(out[i], ref[i], 1e-5);
    free(xd), free(wd), free(bd);
}

static void layernorm_backward_matches_finite_differences(void)
{
    float x[NB * NH], w[NH], b[NH], r[NB * NH], out[NB * NH], mean[NB], rstd[NB];
    fill_normal(x, NB * NH, 2.0, 3.0);
    fill_normal(w, NH, 1.0, 1.0);
    fill_normal(b, NH, 1.0, 0.0);
    fill_normal(r, NB * NH, 1.0, 0.0);
    layernorm_forward(out, mean, rstd, x, w, b, NB, NH, 1e-5f);
    float dx[NB * NH] = {0}, dw[NH] = {0}, db[NH] = {0};
    layernorm_backward(dx, dw, db, r, x, w, mean, rstd, NB, NH);
    layernorm_case c = {to_double(x, NB * NH), to_double(w, NH), to_double(b, NH), r};
    check_gradient("layernorm dinp", layernorm_loss, &c, c.x, NB * NH, dx);
    check_gradient("layernorm dweight", layernorm_loss, &c, c.w, NH, dw);
    check_gradient("layernorm dbias", layernorm_loss, &c, c.b, NH, db);
    free(c.x), free(c.w), free(c.b);
}

/* ------------------------------------------------- softmax cross-entropy */

enum { CB = 4, CK = 3 };

typedef struct xent_case {
    double *logits;
    const int32_t *targets;
} xent_case;

static double xent_loss(void *ctx)
{
    xent_case *c = ctx;
    return ref_crossentropy(c->logits, c->targets, CB, CK);
}

static void crossentropy_matches_reference_and_finite_differences(void)
{
    float logits[CB * CK], probs[CB * CK], dlogits[CB * CK] = {0};
    const int32_t targets[CB] = {0, 2, 1, 2};
    fill_normal(logits, CB * CK, 2.0, 0.0);
    int correct = -1;
    double loss = crossentropy_forward(probs, &correct, logits, targets, CB, CK);
    xent_case c = {to_double(logits, CB * CK), targets};
    CHECK_NEAR(loss, xent_loss(&c), 1e-6);
    int expected_correct = 0;
    for (int b = 0; b < CB; b++) {
        double rowsum = 0.0;
        for (int k = 0; k < CK; k++)
            rowsum += (double)probs[b * CK + k];
        CHECK_NEAR(rowsum, 1.0, 1e-6);
        expected_correct += argmax_row(logits + b * CK, CK) == targets[b];
    }
    CHECK_INT_EQ(correct, expected_correct);
    crossentropy_backward(dlogits, probs, targets, CB, CK);
    check_gradient("crossentropy dlogits", xent_loss, &c, c.logits, CB * CK, dlogits);
    free(c.logits);
}

typedef struct soft_case {
    double *logits;
    const float *targets;
} soft_case;

static double soft_loss(void *ctx)
{
    soft_case *c = ctx;
    double total = 0.0;
    for (int b = 0; b < CB; b++) {
        double max = c->logits[b * CK], sum = 0.0;
        for (int k = 1; k < CK; k++)
            max = c->logits[b * CK + k] > max ? c->logits[b * CK + k] : max;
        for (int k = 0; k < CK; k++)
            sum += exp(c->logits[b * CK + k] - max);
        for (int k = 0; k < CK; k++)
            total -= (double)c->targets[b * CK + k] * (c->logits[b * CK + k] - max - log(sum));
    }
    return total / CB;
}

/* The unsupervised refinement's loss: cross-entropy against soft targets. */
static void soft_target_crossentropy_matches_reference_and_finite_differences(void)
{
    float logits[CB * CK], probs[CB * CK], targets[CB * CK], dlogits[CB * CK] = {0};
    fill_normal(logits, CB * CK, 2.0, 0.0);
    for (int b = 0; b < CB; b++) {
        double row = 0.0;
        for (int k = 0; k < CK; k++)
        {
            targets[b * CK + k] = (float)ac_rng_uniform(&test_rng) + 0.1f;
            row += (double)targets[b * CK + k];
        }
        for (int k = 0; k < CK; k++)
            targets[b * CK + k] = (float)((double)targets[b * CK + k] / row);
    }
    double loss = crossentropy_soft_forward(probs, logits, targets, CB, CK);
    soft_case c = {to_double(logits, CB * CK), targets};
    CHECK_NEAR(loss, soft_loss(&c), 1e-6);
    crossentropy_soft_backward(dlogits, probs, targets, CB, CK);
    check_gradient("soft crossentropy dlogits", soft_loss, &c, c.logits, CB * CK, dlogits);
    free(c.logits);
}

static void crossentropy_of_uniform_logits_is_log_k(void)
{
    float logits[2 * CK] = {0}, probs[2 * CK];
    const int32_t targets[2] = {0, 1};
    double loss = crossentropy_forward(probs, NULL, logits, targets, 2, CK);
    CHECK_NEAR(loss, log((double)CK), 1e-7);
}

static void crossentropy_is_finite_for_extreme_logits(void)
{
    float logits[CK] = {1000.0f, -1000.0f, 0.0f}, probs[CK];
    const int32_t wrong[1] = {1};
    double loss = crossentropy_forward(probs, NULL, logits, wrong, 1, CK);
    CHECK(isfinite(loss));
    CHECK_NEAR(loss, 2000.0, 1e-3);
}

static void argmax_picks_the_first_of_equal_maxima(void)
{
    const float x[4] = {1.0f, 3.0f, 3.0f, -2.0f};
    CHECK_INT_EQ(argmax_row(x, 4), 1);
    CHECK_INT_EQ(argmax_row(x, 1), 0);
}

int main(void)
{
    ac_rng_seed(&test_rng, 1234);
    RUN_TEST(linear_forward_matches_reference);
    RUN_TEST(linear_backward_matches_finite_differences);
    RUN_TEST(linear_backward_adds_into_its_gradients);
    RUN_TEST(attention_backward_matches_finite_differences_unscaled);
    RUN_TEST(attention_backward_matches_finite_differences_scaled_by_inverse_sqrt_h);
    RUN_TEST(attention_forward_is_stable_for_huge_scores);
    RUN_TEST(layernorm_forward_matches_reference);
    RUN_TEST(layernorm_backward_matches_finite_differences);
    RUN_TEST(crossentropy_matches_reference_and_finite_differences);
    RUN_TEST(soft_target_crossentropy_matches_reference_and_finite_differences);
    RUN_TEST(crossentropy_of_uniform_logits_is_log_k);
    RUN_TEST(crossentropy_is_finite_for_extreme_logits);
    RUN_TEST(argmax_picks_the_first_of_equal_maxima);
    TEST_MAIN_END();
}
