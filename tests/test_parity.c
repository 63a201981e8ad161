/*
 * test_parity.c - the C library against PyTorch on the same numbers. Each
 * fixture (written by bench/reference/make_parity_fixtures.py, committed so
 * that no Python is needed here) holds a batch, initial weights, and what
 * PyTorch computed from them: logits, loss, every gradient, and every
 * parameter after 5 AdamW steps on that batch. Scaled and unscaled
 * attention, and Candle-compatible training (LayerNorm output detached).
 *
 * Error of an element: |c - t| / max(|t|, rms of t's tensor), at most 1e-5.
 * key_proj.bias is the exception the maths makes: its gradient is exactly
 * zero (PyTorch shows rounding noise), so both sides must be below 1e-6,
 * and after 5 steps, where Adam amplifies PyTorch's noise into steps of up to
 * lr, both must lie within 5·lr of the initial value.
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <stdlib.h>

#define TOL 1e-5

static float *tensor(const st_file *f, const char *name, uint64_t expect_elements)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        fprintf(stderr, "  fixture has no tensor '%s'\n", name);
        CHECK(t != NULL);
        return NULL;
    }
    CHECK_INT_EQ(t->elements, expect_elements);
    float *out = malloc(sizeof(float) * (t->elements ? t->elements : 1));
    st_tensor_floats(f, t, out);
    return out;
}


static void report(const char *fixture, const char *what, const char *name, double err,
                   double tol)
{
    printf("%-8s %-6s %-36s %.3g\n", fixture, what, name, err);
    if (!(err <= tol))
        fprintf(stderr, "  %s: %s of %s off by %.3g (tolerance %.3g)\n", fixture, what, name,
                err, tol);
    CHECK(err <= tol);
}

static void check_fixture(const char *label, const char *path)
{
    st_file f;
    ac_error err;
    ac_status st = st_read_file(path, &f, &err);
    if (st != AC_OK)
        fprintf(stderr, "  %s: %s\n", path, err.message);
    CHECK_INT_EQ(st, AC_OK);
    if (st != AC_OK)
        return;
    const char *scale = st_metadata(&f, "scale"), *compat = st_metadata(&f, "candle_compat");
    CHECK(scale && compat);
    const st_tensor *xt = st_find(&f, "x");
    CHECK(xt && xt->ndim == 2);
    if (!scale || !compat || !xt || xt->ndim != 2) {
        st_file_free(&f);
        return;
    }
    int B = (int)xt->shape[0], F = (int)xt->shape[1];
    const st_tensor *cw = st_find(&f, "init.cluster_proj.weight");
    CHECK(cw != NULL);
    if (!cw) {
        st_file_free(&f);
        return;
    }
    int K = (int)cw->shape[0], H = (int)cw->shape[1];

    ac_model *m = NULL;
    CHECK_INT_EQ(model_alloc(F, H, K, strcmp(scale, "sqrt") == 0 ? AC_SCALE_SQRT : AC_SCALE_NONE,
                             1e-5f, &m, NULL),
                 AC_OK);
    char name[128];
    float *init[P_COUNT];
    for (int i = 0; i < P_COUNT; i++) {
        snprintf(name, sizeof name, "init.%s", ac_tensor_names[i]);
        init[i] = tensor(&f, name, m->sizes[i]);
        if (init[i])
            memcpy(m->p.t[i], init[i], m->sizes[i] * sizeof(float));
    }
    float *x = tensor(&f, "x", (uint64_t)B * F), *yf = tensor(&f, "y", (uint64_t)B);
    float *logits = tensor(&f, "logits", (uint64_t)B * K), *loss = tensor(&f, "loss", 1);
    int32_t *y = malloc(sizeof(int32_t) * (size_t)B);
    for (int b = 0; b < B; b++)
        y[b] = (int32_t)yf[b];

    ac_params p = ac_params_default();
    p.hidden = H;
    p.clusters = K;
    p.candle_compat = strcmp(compat, "1") == 0;
    trainer tr;
    CHECK_INT_EQ(trainer_init(&tr, m, &p, B, (size_t)B, NULL), AC_OK);

    /* Step 1 reports the forward and the gradients at the initial weights. */
    double c_loss = trainer_step(&tr, m, x, y, B, NULL);
    report(label, "logits", "", worst_relative_error(tr.acts.logits, logits, (size_t)B * K), TOL);
    float c_loss_f = (float)c_loss;
    report(label, "loss", "", worst_relative_error(&c_loss_f, loss, 1), TOL);
    for (int i = 0; i < P_COUNT; i++) {
        snprintf(name, sizeof name, "grad.%s", ac_tensor_names[i]);
        float *g = tensor(&f, name, m->sizes[i]);
        if (!g)
            continue;
        if (i == P_KB) {
            double cmax = 0.0, tmax = 0.0;
            for (size_t j = 0; j < m->sizes[i]; j++) {
                cmax = fmax(cmax, fabs((double)tr.g.t[i][j]));
                tmax = fmax(tmax, fabs((double)g[j]));
            }
            printf("%-8s grad   %-36s |c| %.3g, |torch| %.3g (both must be < 1e-6)\n", label,
                   ac_tensor_names[i], cmax, tmax);
            CHECK(cmax < 1e-6 && tmax < 1e-6);
        } else {
            report(label, "grad", ac_tensor_names[i], worst_relative_error(tr.g.t[i], g, m->sizes[i]),
                   TOL);
        }
        free(g);
    }
    for (int s = 1; s < 5; s++)
        trainer_step(&tr, m, x, y, B, NULL);
    for (int i = 0; i < P_COUNT; i++) {
        snprintf(name, sizeof name, "step5.%s", ac_tensor_names[i]);
        float *w = tensor(&f, name, m->sizes[i]);
        if (!w || !init[i])
            continue;
        if (i == P_KB) {
            double cdrift = 0.0, tdrift = 0.0;
            for (size_t j = 0; j < m->sizes[i]; j++) {
                cdrift = fmax(cdrift, fabs((double)m->p.t[i][j] - (double)init[i][j]));
                tdrift = fmax(tdrift, fabs((double)w[j] - (double)init[i][j]));
            }
            printf("%-8s step5  %-36s drift c %.3g, torch %.3g (both <= 5 lr)\n", label,
                   ac_tensor_names[i], cdrift, tdrift);
            CHECK(cdrift <= 5 * p.lr && tdrift <= 5 * p.lr);
        } else {
            report(label, "step5", ac_tensor_names[i], worst_relative_error(m->p.t[i], w, m->sizes[i]),
                   TOL);
        }
        free(w);
    }
    trainer_free(&tr);
    for (int i = 0; i < P_COUNT; i++)
        free(init[i]);
    free(x), free(yf), free(logits), free(loss), free(y);
    ac_model_free(m);
    st_file_free(&f);
}

static void matches_pytorch_without_attention_scaling(void)
{
    check_fixture("none", "tests/fixtures/parity_none.safetensors");
}

static void matches_pytorch_with_attention_scaled_by_inverse_sqrt_h(void)
{
    check_fixture("sqrt", "tests/fixtures/parity_sqrt.safetensors");
}

static void matches_pytorch_with_the_layernorm_output_detached_in_candle_compat_mode(void)
{
    check_fixture("candle", "tests/fixtures/parity_candle.safetensors");
}

int main(void)
{
    RUN_TEST(matches_pytorch_without_attention_scaling);
    RUN_TEST(matches_pytorch_with_attention_scaled_by_inverse_sqrt_h);
    RUN_TEST(matches_pytorch_with_the_layernorm_output_detached_in_candle_compat_mode);
    TEST_MAIN_END();
}
