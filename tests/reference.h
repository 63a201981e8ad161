/*
 * reference.h - the model's maths written again, naively and in double
 * precision, for the gradient tests: central differences of these functions
 * (step 1e-5, truncation error ~1e-10) give true gradients that float32
 * rounding cannot blur, against which the library's float backward passes
 * are scored. Shapes as in src/layers.c; nothing here is shared with the
 * library's code.
 */
#ifndef AC_TEST_REFERENCE_H
#define AC_TEST_REFERENCE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* out (B, O) = inp (B, I) · w (O, I)ᵀ + b (O) */
static inline void ref_linear(double *out, const double *inp, const double *w, const double *b,
                              int B, int I, int O)
{
    for (int r = 0; r < B; r++)
        for (int o = 0; o < O; o++) {
            double acc = b ? b[o] : 0.0;
            for (int i = 0; i < I; i++)
                acc += inp[r * I + i] * w[o * I + i];
            out[r * O + o] = acc;
        }
}

/* ctx (B, H) = softmax_rows(scale · q kᵀ) v */
static inline void ref_attention(double *ctx, const double *q, const double *k, const double *v,
                                 int B, int H, double scale)
{
    double *s = malloc(sizeof(double) * (size_t)B);
    for (int i = 0; i < B; i++) {
        double max = -INFINITY, sum = 0.0;
        for (int j = 0; j < B; j++) {
            double dot = 0.0;
            for (int h = 0; h < H; h++)
                dot += q[i * H + h] * k[j * H + h];
            s[j] = dot * scale;
            max = s[j] > max ? s[j] : max;
        }
        for (int j = 0; j < B; j++)
            sum += (s[j] = exp(s[j] - max));
        for (int h = 0; h < H; h++) {
            double acc = 0.0;
            for (int j = 0; j < B; j++)
                acc += s[j] / sum * v[j * H + h];
            ctx[i * H + h] = acc;
        }
    }
    free(s);
}

/* out (B, H) = (x - mean) / √(var + eps) · w + b, biased variance per row */
static inline void ref_layernorm(double *out, const double *x, const double *w, const double *b,
                                 int B, int H, double eps)
{
    for (int r = 0; r < B; r++) {
        double mean = 0.0, var = 0.0;
        for (int h = 0; h < H; h++)
            mean += x[r * H + h] / H;
        for (int h = 0; h < H; h++)
            var += (x[r * H + h] - mean) * (x[r * H + h] - mean) / H;
        for (int h = 0; h < H; h++)
            out[r * H + h] = (x[r * H + h] - mean) / sqrt(var + eps) * w[h] + b[h];
    }
}

/* mean over rows of -log softmax(logits)[target] */
static inline double ref_crossentropy(const double *logits, const int32_t *targets, int B, int K)
{
    double total = 0.0;
    for (int r = 0; r < B; r++) {
        double max = logits[r * K];
        for (int c = 1; c < K; c++)
            max = logits[r * K + c] > max ? logits[r * K + c] : max;
        double sum = 0.0;
        for (int c = 0; c < K; c++)
            sum += exp(logits[r * K + c] - max);
        total += log(sum) + max - logits[r * K + targets[r]];
    }
    return total / B;
}

/* The whole model's mean cross-entropy in double. p[i] points at tensor i
 * in the library's order (query w, b, key w, b, value w, b, output w, b,
 * layer_norm w, b, cluster w, b). Writes the logits (B, K) when not NULL. */
static inline double ref_model_loss(double *const *p, const double *x, const int32_t *y, int B,
                                    int F, int H, int K, double scale, double eps,
                                    double *logits_out)
{
    size_t bh = (size_t)B * H;
    double *buf = malloc(sizeof(double) * (6 * bh + (size_t)B * K));
    double *q = buf, *k = q + bh, *v = k + bh, *ctx = v + bh, *o = ctx + bh, *ln = o + bh;
    double *logits = ln + bh;
    ref_linear(q, x, p[0], p[1], B, F, H);
    ref_linear(k, x, p[2], p[3], B, F, H);
    ref_linear(v, x, p[4], p[5], B, F, H);
    ref_attention(ctx, q, k, v, B, H, scale);
    ref_linear(o, ctx, p[6], p[7], B, H, H);
    ref_layernorm(ln, o, p[8], p[9], B, H, eps);
    ref_linear(logits, ln, p[10], p[11], B, H, K);
    double loss = ref_crossentropy(logits, y, B, K);
    if (logits_out)
        for (int i = 0; i < B * K; i++)
            logits_out[i] = logits[i];
    free(buf);
    return loss;
}

/* Central differences of fn over every element of target[0..n), compared
 * with the analytic gradient: returns the worst
 *   |analytic - numeric| / max(|numeric|, rms(numeric), 1e-12)
 * (the rms floor keeps elements whose true gradient is ~0 from dividing by
 * rounding noise) and its index in *where. */
typedef double (*ref_loss_fn)(void *ctx);

static inline double ref_gradient_error(ref_loss_fn fn, void *ctx, double *target, size_t n,
                                        const float *analytic, size_t *where)
{
    const double h = 1e-5;
    double *num = malloc(sizeof(double) * (n ? n : 1));
    double sumsq = 0.0;
    for (size_t i = 0; i < n; i++) {
        double saved = target[i];
        target[i] = saved + h;
        double plus = fn(ctx);
        target[i] = saved - h;
        double minus = fn(ctx);
        target[i] = saved;
        num[i] = (plus - minus) / (2 * h);
        sumsq += num[i] * num[i];
    }
    double rms = n ? sqrt(sumsq / (double)n) : 0.0;
    double worst = 0.0;
    *where = 0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs(num[i]);
        scale = scale > rms ? scale : rms;
        scale = scale > 1e-12 ? scale : 1e-12;
        double e = fabs((double)analytic[i] - num[i]) / scale;
        if (e > worst || e != e) {
            worst = e;
            *where = i;
        }
    }
    free(num);
    return worst;
}

#endif
