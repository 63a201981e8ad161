/*
 * model.c - the model: its parameter tensors in one block, Candle's
 * initialisers, the activations of a pass, and the forward and backward
 * passes that chain the layers of layers.c:
 *
 *   x (B, F) -> q, k, v (B, H) -> attention (B, H) -> output_proj (B, H)
 *            -> layer_norm (B, H) -> cluster_proj logits (B, K)
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const ac_tensor_names[P_COUNT] = {
    "self_attention.query_proj.weight",  "self_attention.query_proj.bias",
    "self_attention.key_proj.weight",    "self_attention.key_proj.bias",
    "self_attention.value_proj.weight",  "self_attention.value_proj.bias",
    "self_attention.output_proj.weight", "self_attention.output_proj.bias",
    "layer_norm.weight",                 "layer_norm.bias",
    "cluster_proj.weight",               "cluster_proj.bias",
};

ac_path ac_attention_path = AC_PATH_AUTO;
/* Below this many rows the N×N weights of a full-context forward take at
 * most 4 MiB, and the direct path is used; from it on, streaming. */
size_t ac_streaming_min_rows = 1024;

/* Largest sizes accepted, so that no product of dimensions can overflow. */
#define AC_MAX_DIM 65536

ac_params ac_params_default(void)
{
    ac_params p;
    memset(&p, 0, sizeof p);
    p.hidden = 64;
    p.clusters = 3;
    p.batch_size = 32;
    p.epochs = 100;
    p.lr = 0.001;
    p.weight_decay = 0.01;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.adam_eps = 1e-8;
    p.layernorm_eps = 1e-5;
    p.seed = 42;
    p.attention_scale = AC_SCALE_NONE;
    p.candle_compat = 0;
    return p;
}

ac_status ac_params_validate(const ac_params *p, ac_error *err)
{
#define BAD(...) return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, __VA_ARGS__)
    if (p->hidden < 1 || p->hidden > AC_MAX_DIM)
        BAD("hidden size %d out of range (expected 1 to %d)", p->hidden, AC_MAX_DIM);
    if (p->clusters < 1 || p->clusters > AC_MAX_DIM)
        BAD("cluster count %d out of range (expected 1 to %d)", p->clusters, AC_MAX_DIM);
    if (p->batch_size < 1 || p->batch_size > AC_MAX_DIM)
        BAD("batch size %d out of range (expected 1 to %d)", p->batch_size, AC_MAX_DIM);
    if (p->epochs < 1)
        BAD("epoch count %d out of range (expected at least 1)", p->epochs);
    if (!(p->lr > 0.0) || !isfinite(p->lr))
        BAD("learning rate %g out of range (expected a finite number > 0)", p->lr);
    if (!(p->weight_decay >= 0.0) || !isfinite(p->weight_decay))
        BAD("weight decay %g out of range (expected a finite number >= 0)", p->weight_decay);
    if (!(p->beta1 >= 0.0 && p->beta1 < 1.0))
        BAD("beta1 %g out of range (expected 0 <= beta1 < 1)", p->beta1);
    if (!(p->beta2 >= 0.0 && p->beta2 < 1.0))
        BAD("beta2 %g out of range (expected 0 <= beta2 < 1)", p->beta2);
    if (!(p->adam_eps > 0.0) || !isfinite(p->adam_eps))
        BAD("AdamW epsilon %g out of range (expected a finite number > 0)", p->adam_eps);
    if (!(p->layernorm_eps > 0.0) || !isfinite(p->layernorm_eps))
        BAD("LayerNorm epsilon %g out of range (expected a finite number > 0)", p->layernorm_eps);
    if (p->mode != AC_MODE_SUPERVISED && p->mode != AC_MODE_UNSUPERVISED)
        BAD("mode %d unknown (expected AC_MODE_SUPERVISED or AC_MODE_UNSUPERVISED)", p->mode);
    if (p->attention_scale != AC_SCALE_NONE && p->attention_scale != AC_SCALE_SQRT)
        BAD("attention scale %d unknown (expected AC_SCALE_NONE or AC_SCALE_SQRT)",
            (int)p->attention_scale);
#undef BAD
    return AC_OK;
}

ac_status model_alloc(int F, int H, int K, ac_attention_scale scale, float layernorm_eps,
                      ac_model **out, ac_error *err)
{
    if (F < 1 || F > AC_MAX_DIM || H < 1 || H > AC_MAX_DIM || K < 1 || K > AC_MAX_DIM)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "model shape F=%d H=%d K=%d out of range (expected 1 to %d each)",
                            F, H, K, AC_MAX_DIM);
    ac_model *m = ac_calloc(1, sizeof *m);
    if (!m)
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory creating a model");
    m->F = F;
    m->H = H;
    m->K = K;
    m->scale = scale;
    m->layernorm_eps = layernorm_eps;
    /* (rows, cols) of each tensor; weights are (out, in). */
    const size_t shape[P_COUNT][2] = {
        [P_QW] = {H, F}, [P_QB] = {H, 1}, [P_KW] = {H, F}, [P_KB] = {H, 1},
        [P_VW] = {H, F}, [P_VB] = {H, 1}, [P_OW] = {H, H}, [P_OB] = {H, 1},
        [P_LNW] = {H, 1}, [P_LNB] = {H, 1}, [P_CW] = {K, H}, [P_CB] = {K, 1},
    };
    m->n_params = 0;
    for (int i = 0; i < P_COUNT; i++) {
        m->rows[i] = shape[i][0];
        m->cols[i] = shape[i][1];
        m->sizes[i] = shape[i][0] * shape[i][1];
        m->n_params += m->sizes[i];
    }
    m->params = ac_calloc(m->n_params, sizeof(float));
    m->feature_names = ac_calloc((size_t)F, sizeof(char *));
    if (!m->params || !m->feature_names) {
        size_t n = m->n_params;
        ac_model_free(m);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory allocating %zu model parameters", n);
    }
    for (int f = 0; f < F; f++) {
        char name[32];
        snprintf(name, sizeof name, "feature_%d", f + 1);
        if (!(m->feature_names[f] = string_copy(name))) {
            ac_model_free(m);
            return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory");
        }
    }
    model_tensor_view(m, m->params, &m->p);
    *out = m;
    return AC_OK;
}

void model_tensor_view(const ac_model *m, float *block, ac_tensors *view)
{
    size_t offset = 0;
    for (int i = 0; i < P_COUNT; i++) {
        view->t[i] = block + offset;
        offset += m->sizes[i];
    }
}

/* Candle's candle_nn::linear: weight ~ Normal(0, √(2/fan_in)) (Kaiming normal
 * with the ReLU gain), bias ~ Uniform[-1/√fan_in, 1/√fan_in); weight first. */
static void init_linear(float *weight, float *bias, size_t out, size_t in, ac_rng *rng)
{
    double std = sqrt(2.0 / (double)in);
    for (size_t i = 0; i < out * in; i++)
        weight[i] = (float)(std * ac_rng_normal(rng));
    double bound = 1.0 / sqrt((double)in);
    for (size_t o = 0; o < out; o++)
        bias[o] = (float)(-bound + 2.0 * bound * ac_rng_uniform(rng));
}

void model_init_weights(ac_model *m, ac_rng *rng)
{
    float **t = m->p.t;
    init_linear(t[P_QW], t[P_QB], m->H, m->F, rng);
    init_linear(t[P_KW], t[P_KB], m->H, m->F, rng);
    init_linear(t[P_VW], t[P_VB], m->H, m->F, rng);
    init_linear(t[P_OW], t[P_OB], m->H, m->H, rng);
    for (int h = 0; h < m->H; h++) {
        t[P_LNW][h] = 1.0f;
        t[P_LNB][h] = 0.0f;
    }
    init_linear(t[P_CW], t[P_CB], m->K, m->H, rng);
}

ac_status ac_model_create(const ac_params *p, size_t n_features, ac_model **out, ac_error *err)
{
    ac_rng rng;
    ac_rng_seed(&rng, p->seed);
    return model_create(p, n_features, &rng, out, err);
}

ac_status model_create(const ac_params *p, size_t n_features, ac_rng *rng, ac_model **out,
                       ac_error *err)
{
    ac_status st = ac_params_validate(p, err);
    if (st != AC_OK)
        return st;
    if (n_features < 1 || n_features > AC_MAX_DIM)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "feature count %zu out of range (expected 1 to %d)", n_features,
                            AC_MAX_DIM);
    ac_model *m;
    st = model_alloc((int)n_features, p->hidden, p->clusters, p->attention_scale,
                     (float)p->layernorm_eps, &m, err);
    if (st != AC_OK)
        return st;
    model_init_weights(m, rng);
    *out = m;
    return AC_OK;
}

void ac_model_free(ac_model *m)
{
    if (!m)
        return;
    ac_free(m->params);
    strings_free(m->feature_names, (size_t)m->F);
    strings_free(m->label_names, m->n_labels);
    ac_free(m->norm_shift);
    ac_free(m->norm_scale);
    ac_free(m->reference_rows);
    ac_free(m->history);
    ac_free(m);
}

size_t ac_model_features_count(const ac_model *m) { return (size_t)m->F; }
size_t ac_model_hidden(const ac_model *m) { return (size_t)m->H; }
size_t ac_model_clusters(const ac_model *m) { return (size_t)m->K; }
ac_attention_scale ac_model_attention_scale(const ac_model *m) { return m->scale; }
size_t ac_model_tensor_count(const ac_model *m) { (void)m; return P_COUNT; }
size_t ac_model_label_count(const ac_model *m) { return m->n_labels; }
const char *ac_model_written_by(const ac_model *m) { return m->written_by; }
const ac_training_info *ac_model_training(const ac_model *m) { return &m->training; }

const char *ac_model_feature_name(const ac_model *m, size_t f)
{
    return f < (size_t)m->F ? m->feature_names[f] : NULL;
}

const char *ac_model_label_name(const ac_model *m, size_t id)
{
    return id < m->n_labels ? m->label_names[id] : NULL;
}

ac_normalization ac_model_normalization(const ac_model *m, const float **shift,
                                        const float **scale)
{
    if (shift)
        *shift = m->norm_shift;
    if (scale)
        *scale = m->norm_scale;
    return m->normalization;
}

size_t ac_model_reference_rows(const ac_model *m, const float **rows)
{
    if (rows)
        *rows = m->reference_rows;
    return m->n_reference;
}

ac_status ac_model_tensor(ac_model *m, size_t index, const char **name, size_t *rows,
                          size_t *cols, float **data)
{
    if (index >= P_COUNT)
        return AC_ERR_INVALID;
    if (name)
        *name = ac_tensor_names[index];
    if (rows)
        *rows = m->rows[index];
    if (cols)
        *cols = m->cols[index];
    if (data)
        *data = m->p.t[index];
    return AC_OK;
}

/* ------------------------------------------------------------- activations */

ac_status acts_alloc(ac_acts *a, const ac_model *m, int capacity, ac_error *err)
{
    memset(a, 0, sizeof *a);
    size_t B = (size_t)capacity, H = (size_t)m->H, K = (size_t)m->K, A = (size_t)m->F + 1;
    /* q, k, v, ctx, attn_out, ln_out: 6·B·H; weights: B·B; mean, rstd: 2·B;
     * logits, probs: 2·B·K; the structured path: 3·B·A + A² + A·H, and its
     * scratch (H + 2B)·A + B + A². B <= 2^32 and H, K, A <= 2^16 keep these
     * products within size_t on 64-bit targets; the check covers 32-bit ones. */
    size_t floats = 6 * B * H + B * B + 2 * B + 2 * B * K + 3 * B * A + 2 * A * A + 4 * A * H +
                    2 * A + B;
    if (B != 0 && (floats / B < B || floats > SIZE_MAX / sizeof(float)))
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "a forward pass over %zu rows needs more memory than can be "
                            "addressed", B);
    float *block = ac_alloc(floats * sizeof(float));
    if (!block)
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory: a forward pass over %zu rows needs %.1f MiB", B,
                            (double)floats * sizeof(float) / 1048576.0);
    a->capacity = capacity;
    a->block = block;
    a->floats = floats;
    float *p = block;
    a->q = p; p += B * H;
    a->k = p; p += B * H;
    a->v = p; p += B * H;
    a->ctx = p; p += B * H;
    a->attn_out = p; p += B * H;
    a->ln_out = p; p += B * H;
    a->weights = p; p += B * B;
    a->ln_mean = p; p += B;
    a->ln_rstd = p; p += B;
    a->logits = p; p += B * K;
    a->probs = p; p += B * K;
    a->xhat = p; p += B * A;
    a->u = p; p += B * A;
    a->z = p; p += B * A;
    a->M = p; p += A * A;
    a->P = p; p += A * H;
    a->vT = p; p += A * H;
    a->scratch = p;
    return AC_OK;
}

void acts_free(ac_acts *a)
{
    ac_free(a->block);
    memset(a, 0, sizeof *a);
}

/* --------------------------------------------------------- forward/backward */

float model_attention_scale(const ac_model *m)
{
    return m->scale == AC_SCALE_SQRT ? (float)(1.0 / sqrt((double)m->H)) : 1.0f;
}

void model_forward(const ac_model *m, ac_acts *a, const float *x, int B)
{
    assert(B >= 1 && B <= a->capacity);
    float *const *t = m->p.t;
    int F = m->F, H = m->H, K = m->K;
    float scale = model_attention_scale(m);
    a->structured = structured_pays(F, H);
    if (a->structured) {
        /* The same function as below, computed through M and P (kernels.c). */
        structured_prepare(a->M, a->P, a->vT, t[P_QW], t[P_QB], t[P_KW], t[P_KB], t[P_VW],
                           t[P_VB], t[P_OW], F, H, scale);
        structured_forward(a->attn_out, a->weights, a->xhat, a->u, a->z, x, a->M, a->P,
                           t[P_OB], B, F, H);
    } else {
        linear_forward(a->q, x, t[P_QW], t[P_QB], B, F, H);
        linear_forward(a->k, x, t[P_KW], t[P_KB], B, F, H);
        linear_forward(a->v, x, t[P_VW], t[P_VB], B, F, H);
        attention_forward(a->ctx, a->weights, a->q, a->k, a->v, B, H, scale);
        linear_forward(a->attn_out, a->ctx, t[P_OW], t[P_OB], B, H, H);
    }
    layernorm_forward_fast(a->ln_out, a->ln_mean, a->ln_rstd, a->attn_out, t[P_LNW], t[P_LNB], B,
                           H, m->layernorm_eps);
    linear_forward(a->logits, a->ln_out, t[P_CW], t[P_CB], B, H, K);
}

void model_backward(const ac_model *m, const ac_acts *a, ac_acts *d, const float *x, int B,
                    int upstream, ac_tensors *g)
{
    float *const *t = m->p.t;
    int F = m->F, H = m->H, K = m->K;
    float scale = model_attention_scale(m);
    linear_backward(upstream ? d->ln_out : NULL, g->t[P_CW], g->t[P_CB], d->logits, a->ln_out,
                    t[P_CW], B, H, K);
    if (!upstream)
        return;
    /* d->scratch (>= 2·H floats) is free here: the structured backward
     * below fills it afresh, the direct path does not use it. */
    layernorm_backward_fast(d->attn_out, g->t[P_LNW], g->t[P_LNB], d->scratch, d->ln_out,
                            a->attn_out, t[P_LNW], a->ln_mean, a->ln_rstd, B, H);
    if (a->structured) {
        structured_backward(g->t[P_QW], g->t[P_QB], g->t[P_KW], g->t[P_VW], g->t[P_VB],
                            g->t[P_OW], g->t[P_OB], d->scratch, d->attn_out, a->weights, a->xhat,
                            a->z, a->P, a->vT, t[P_QW], t[P_QB], t[P_KW], t[P_KB], t[P_OW], B, F,
                            H, scale);
        return;
    }
    linear_backward(d->ctx, g->t[P_OW], g->t[P_OB], d->attn_out, a->ctx, t[P_OW], B, H, H);
    attention_backward(d->q, d->k, d->v, d->weights, d->ctx, a->weights, a->q, a->k, a->v, B, H,
                       scale);
    linear_backward(NULL, g->t[P_QW], g->t[P_QB], d->q, x, t[P_QW], B, F, H);
    /* The key bias gets no gradient, exactly: it adds q_i·b_k to every score
     * of row i, a constant shift that the row's softmax removes. Its true
     * gradient Σ_j dk_j = Σ_i q_i·Σ_j dscores[i,j] is zero because each row of
     * dscores sums to zero; computing it would only add float rounding noise,
     * which AdamW's m/√v would then blow up into steps of size ~lr. */
    linear_backward(NULL, g->t[P_KW], NULL, d->k, x, t[P_KW], B, F, H);
    linear_backward(NULL, g->t[P_VW], g->t[P_VB], d->v, x, t[P_VW], B, F, H);
}

/* ---------------------------------------------------------------- predict */

/* Rows predicted at a time with the reference context: bounds the working
 * memory to O((R + PREDICT_CHUNK)·H) however many rows are predicted. */
#define PREDICT_CHUNK 1024

static void write_outputs(const float *logits, int B, int K, int32_t *clusters, float *probs,
                          float *probs_scratch)
{
    if (probs) {
        crossentropy_forward(probs_scratch, NULL, logits, NULL, B, K);
        memcpy(probs, probs_scratch, (size_t)B * (size_t)K * sizeof(float));
    }
    if (clusters)
        for (int b = 0; b < B; b++)
            clusters[b] = argmax_row(logits + (size_t)b * (size_t)K, K);
}

/* The chapter's full-context forward, holding the N×N weights: small N. */
static ac_status predict_batch_direct(const ac_model *m, const float *x, size_t n,
                                     int32_t *clusters, float *probs, ac_error *err)
{
    ac_acts a;
    ac_status st = acts_alloc(&a, m, (int)n, err);
    if (st != AC_OK)
        return st;
    model_forward(m, &a, x, (int)n);
    write_outputs(a.logits, (int)n, m->K, clusters, probs, a.probs);
    acts_free(&a);
    return AC_OK;
}

/* The same forward streaming over key tiles (kernels.c), in O(N·A) memory
 * on the structured path and O(N·H) on the direct one. The rows after the
 * attention go through the rest of the model in chunks. */
static ac_status predict_batch_streaming(const ac_model *m, const float *x, size_t n,
                                         int32_t *clusters, float *probs, ac_error *err)
{
    size_t H = (size_t)m->H, K = (size_t)m->K, F = (size_t)m->F, A = F + 1;
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    int structured = structured_pays(m->F, m->H) && A <= AC_MAX_STRUCTURED_A;
    float *const *t = m->p.t;
    float scale = model_attention_scale(m);
    int N = (int)n;
    /* structured: xt (A, N), u, z (N, A), M, P; direct: q, k, v, ctx, kt (N, H);
     * then attn_out, ln_out (chunk, H), mean, rstd (chunk), logits, probs (chunk, K). */
    size_t np = (n + 15) / 16 * 16; /* keys padded to whole vectors (kernels.c) */
    size_t big = structured ? A * np + 2 * n * A + A * A + 2 * A * H : 5 * n * H;
    size_t floats = big + 2 * chunk * H + 2 * chunk + 2 * chunk * K;
    float *block = ac_alloc(floats * sizeof(float));
    if (!block)
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory: a forward over %zu rows needs %.1f MiB", n,
                            (double)floats * sizeof(float) / 1048576.0);
    float *p = block, *attn_in = NULL, *xt = NULL, *u = NULL, *z = NULL, *M = NULL, *P = NULL;
    if (structured) {
        xt = p, p += A * np;
        u = p, p += n * A;
        z = p, p += n * A;
        M = p, p += A * A;
        P = p, p += A * H;
        float *vT = p;
        p += A * H;
        structured_prepare(M, P, vT, t[P_QW], t[P_QB], t[P_KW], t[P_KB], t[P_VW], t[P_VB],
                           t[P_OW], m->F, m->H, scale);
        /* x̂ᵀ (A, Np), zero-padded, and u = X̂ M (N, A) */
        memset(xt, 0, A * np * sizeof(float));
        for (size_t i = 0; i < n; i++) {
            for (size_t f = 0; f < F; f++)
                xt[f * np + i] = x[i * F + f];
            xt[F * np + i] = 1.0f;
            for (size_t b = 0; b < A; b++) {
                float acc = M[F * A + b];
                for (size_t a = 0; a < F; a++)
                    acc += x[i * F + a] * M[a * A + b];
                u[i * A + b] = acc;
            }
        }
        structured_full_attention(z, u, xt, N, (int)A);
    } else {
        float *q = p, *k = q + n * H, *v = k + n * H, *ctx = v + n * H, *kt = ctx + n * H;
        p = kt + n * H;
        linear_forward(q, x, t[P_QW], t[P_QB], N, m->F, m->H);
        linear_forward(k, x, t[P_KW], t[P_KB], N, m->F, m->H);
        linear_forward(v, x, t[P_VW], t[P_VB], N, m->F, m->H);
        attention_forward_streaming(ctx, kt, q, k, v, N, m->H, scale);
        attn_in = ctx;
    }
    float *attn_out = p, *ln_out = attn_out + chunk * H, *mean = ln_out + chunk * H;
    float *rstd = mean + chunk, *logits = rstd + chunk, *probs_scratch = logits + chunk * K;
    for (size_t start = 0; start < n; start += chunk) {
        int B = (int)(n - start < chunk ? n - start : chunk);
        if (structured) {
            /* out_i = Pᵀ z_i + bo */
            for (int i = 0; i < B; i++) {
                const float *zi = z + (start + (size_t)i) * A;
                float *oi = attn_out + (size_t)i * H;
                for (size_t h = 0; h < H; h++)
                    oi[h] = t[P_OB][h];
                for (size_t a = 0; a < A; a++)
                    for (size_t h = 0; h < H; h++)
                        oi[h] += zi[a] * P[a * H + h];
            }
        } else {
            linear_forward(attn_out, attn_in + start * H, t[P_OW], t[P_OB], B, m->H, m->H);
        }
        layernorm_forward(ln_out, mean, rstd, attn_out, t[P_LNW], t[P_LNB], B, m->H,
                          m->layernorm_eps);
        linear_forward(logits, ln_out, t[P_CW], t[P_CB], B, m->H, m->K);
        write_outputs(logits, B, m->K, clusters ? clusters + start : NULL,
                      probs ? probs + start * K : NULL, probs_scratch);
    }
    ac_free(block);
    return AC_OK;
}

static ac_status predict_batch_context(const ac_model *m, const float *x, size_t n,
                                       int32_t *clusters, float *probs, ac_error *err)
{
    if (n > (size_t)INT32_MAX)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "cannot attend across %zu rows (at most %d)", n, INT32_MAX);
    int streamable = (structured_pays(m->F, m->H) && m->F + 1 <= AC_MAX_STRUCTURED_A) ||
                     m->H <= AC_MAX_STREAM_H;
    if (n >= ac_streaming_min_rows && streamable)
        return predict_batch_streaming(m, x, n, clusters, probs, err);
    return predict_batch_direct(m, x, n, clusters, probs, err);
}

static ac_status predict_reference_context(const ac_model *m, const float *x, size_t n,
                                           int32_t *clusters, float *probs, ac_error *err)
{
    size_t R = m->n_reference, H = (size_t)m->H, K = (size_t)m->K, F = (size_t)m->F;
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    /* ref_k, ref_v (R, H); q, k, v, ctx, attn_out, ln_out (chunk, H);
     * mean, rstd (chunk); logits, probs (chunk, K); scores (R + 1). */
    size_t floats = 2 * R * H + 6 * chunk * H + 2 * chunk + 2 * chunk * K + R + 1;
    float *block = ac_alloc(floats * sizeof(float));
    if (!block)
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory: predicting with %zu reference rows needs %.1f MiB",
                            R, (double)floats * sizeof(float) / 1048576.0);
    float *ref_k = block, *ref_v = ref_k + R * H;
    float *q = ref_v + R * H, *k = q + chunk * H, *v = k + chunk * H, *ctx = v + chunk * H;
    float *attn_out = ctx + chunk * H, *ln_out = attn_out + chunk * H;
    float *mean = ln_out + chunk * H, *rstd = mean + chunk;
    float *logits = rstd + chunk, *probs_scratch = logits + chunk * K;
    float *scores = probs_scratch + chunk * K;
    float *const *t = m->p.t;
    int iF = m->F, iH = m->H, iK = m->K;
    float scale = model_attention_scale(m);

    /* The reference rows' keys and values, once for all chunks. */
    linear_forward(ref_k, m->reference_rows, t[P_KW], t[P_KB], (int)R, iF, iH);
    linear_forward(ref_v, m->reference_rows, t[P_VW], t[P_VB], (int)R, iF, iH);
    for (size_t start = 0; start < n; start += chunk) {
        int B = (int)(n - start < chunk ? n - start : chunk);
        const float *xb = x + start * F;
        linear_forward(q, xb, t[P_QW], t[P_QB], B, iF, iH);
        linear_forward(k, xb, t[P_KW], t[P_KB], B, iF, iH);
        linear_forward(v, xb, t[P_VW], t[P_VB], B, iF, iH);
        attention_reference_forward(ctx, scores, q, k, v, ref_k, ref_v, B, (int)R, iH, scale);
        linear_forward(attn_out, ctx, t[P_OW], t[P_OB], B, iH, iH);
        layernorm_forward(ln_out, mean, rstd, attn_out, t[P_LNW], t[P_LNB], B, iH,
                          m->layernorm_eps);
        linear_forward(logits, ln_out, t[P_CW], t[P_CB], B, iH, iK);
        write_outputs(logits, B, iK, clusters ? clusters + start : NULL,
                      probs ? probs + start * K : NULL, probs_scratch);
    }
    ac_free(block);
    return AC_OK;
}

ac_status ac_model_predict(const ac_model *m, const float *x, size_t n, ac_context context,
                           int32_t *clusters, float *probs, ac_error *err)
{
    if (n == 0)
        return ac_set_error(err, AC_ERR_INVALID, "", 0, 0,
                            "no rows to predict (expected at least one)");
    if (context == AC_CONTEXT_BATCH)
        return predict_batch_context(m, x, n, clusters, probs, err);
    if (context == AC_CONTEXT_REFERENCE)
        return predict_reference_context(m, x, n, clusters, probs, err);
    return ac_set_error(err, AC_ERR_INVALID, "", 0, 0, "unknown context %d", (int)context);
}
