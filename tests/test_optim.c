/*
 * test_optim.c - the AdamW step against values worked out by hand from
 * Candle's update rule (lr 0.01, weight decay 0.1, β1 0.9, β2 0.999,
 * eps 1e-8, so that the decay is visible).
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#define LR 0.01
#define WD 0.1
#define B1 0.9
#define B2 0.999
#define EPS 1e-8

/* Step 1 by hand: m = 0.1·g, v = 0.001·g², so m̂ = g and v̂ = g², and
 *   θ1 = θ0·(1 - lr·wd) - lr·g / (|g| + eps)
 *      = 0.5·0.999 - 0.01·0.2/0.20000001  = 0.4895000005
 *      = -1·0.999 + 0.01·0.1/0.10000001   = -0.9890000010
 *      = 0.3·0.999 - 0 (zero gradient)    =  0.2997
 * Step 2 (t = 2, g = -0.3, 0.05, 0): for the first element
 *   m = 0.9·0.02 + 0.1·(-0.3) = -0.012,  v = 0.999·4e-5 + 0.001·0.09 = 1.2996e-4
 *   m̂ = -0.012/0.19 = -0.0631579,  v̂ = 1.2996e-4/0.001999 = 0.0650125
 *   θ2 = 0.4895000005·0.999 - 0.01·(-0.0631579/0.2549755) = 0.4914875186
 * and likewise -0.9853476309 and 0.2994003 for the others. */
static void adamw_matches_hand_computed_steps(void)
{
    float theta[3] = {0.5f, -1.0f, 0.3f}, m[3] = {0}, v[3] = {0};
    const float g1[3] = {0.2f, -0.1f, 0.0f}, g2[3] = {-0.3f, 0.05f, 0.0f};
    adamw_update(theta, g1, m, v, 3, LR, B1, B2, EPS, WD, 1);
    CHECK_NEAR(theta[0], 0.4895000005, 2e-7);
    CHECK_NEAR(theta[1], -0.9890000010, 2e-7);
    CHECK_NEAR(theta[2], 0.2997, 2e-7);
    CHECK_NEAR(m[0], 0.02, 1e-8);
    CHECK_NEAR(v[0], 4e-5, 1e-11);
    adamw_update(theta, g2, m, v, 3, LR, B1, B2, EPS, WD, 2);
    CHECK_NEAR(theta[0], 0.4914875186, 2e-7);
    CHECK_NEAR(theta[1], -0.9853476309, 2e-7);
    CHECK_NEAR(theta[2], 0.2994003, 2e-7);
    CHECK_NEAR(m[0], -0.012, 1e-8);
    CHECK_NEAR(v[0], 1.2996e-4, 1e-10);
}

/* With a zero gradient and zero moments the Adam term is 0/(0 + eps) = 0:
 * only the decay acts, θ·(1 - lr·wd) each step, bit for bit. */
static void a_zero_gradient_only_decays_the_weight(void)
{
    float theta[1] = {0.75f}, m[1] = {0}, v[1] = {0};
    const float g[1] = {0.0f};
    float expected = 0.75f;
    for (long t = 1; t <= 50; t++) {
        adamw_update(theta, g, m, v, 1, LR, B1, B2, EPS, WD, t);
        expected = expected * (float)(1.0 - LR * WD);
    }
    CHECK(theta[0] == expected);
    CHECK(m[0] == 0.0f && v[0] == 0.0f);
}

/* Without decay, a constant gradient moves each weight by lr per step
 * (m̂ = g and v̂ = g² exactly once bias-corrected). */
static void a_constant_gradient_moves_by_lr_per_step(void)
{
    float theta[2] = {0.0f, 0.0f}, m[2] = {0}, v[2] = {0};
    const float g[2] = {3.0f, -0.001f};
    for (long t = 1; t <= 10; t++)
        adamw_update(theta, g, m, v, 2, LR, B1, B2, EPS, 0.0, t);
    CHECK_NEAR(theta[0], -10 * LR, 1e-6);
    CHECK_NEAR(theta[1], 10 * LR, 1e-5);
}

int main(void)
{
    RUN_TEST(adamw_matches_hand_computed_steps);
    RUN_TEST(a_zero_gradient_only_decays_the_weight);
    RUN_TEST(a_constant_gradient_moves_by_lr_per_step);
    TEST_MAIN_END();
}
