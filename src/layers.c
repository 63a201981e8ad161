/*
 * layers.c - the model's layers as forward/backward pairs over flat float
 * buffers: linear, self-attention across the rows of a batch, LayerNorm, and
 * softmax cross-entropy. Each backward adds into its gradient buffers (the
 * caller zeroes them once per step) and quotes the forward line it
 * differentiates.
 *
 * Shapes: B rows, I/O input/output widths of a linear layer, H hidden size,
 * K clusters. Weights are stored (out, in) as in PyTorch and Candle.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------------ linear */

void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int B, int I, int O)
{
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * I; /* (I) */
        float *y = out + (size_t)b * O;       /* (O) */
        for (int o = 0; o < O; o++) {
            const float *w = weight + (size_t)o * I; /* row o of (O, I) */
            float acc = bias ? bias[o] : 0.0f;
            for (int i = 0; i < I; i++)
                acc += x[i] * w[i];
            y[o] = acc;
        }
    }
}

void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int B, int I, int O)
{
    /* forward: out[b,o] = bias[o] + Σ_i inp[b,i]·weight[o,i] */
    for (int b = 0; b < B; b++) {
        const float *dy = dout + (size_t)b * O; /* (O) */
        const float *x = inp + (size_t)b * I;   /* (I) */
        for (int o = 0; o < O; o++) {
            float g = dy[o];
            float *dw = dweight + (size_t)o * I;
            /* ∂/∂weight[o,i] = dout[b,o]·inp[b,i] */
            for (int i = 0; i < I; i++)
                dw[i] += g * x[i];
            if (dbias)
                dbias[o] += g; /* ∂/∂bias[o] = dout[b,o] */
        }
        if (dinp) {
            /* ∂/∂inp[b,i] = Σ_o dout[b,o]·weight[o,i] */
            float *dx = dinp + (size_t)b * I;
            for (int o = 0; o < O; o++) {
                float g = dy[o];
                const float *w = weight + (size_t)o * I;
                for (int i = 0; i < I; i++)
                    dx[i] += g * w[i];
            }
        }
    }
}

/* --------------------------------------------------------------- attention */

void attention_forward(float *ctx, float *weights, const float *q, const float *k,
                       const float *v, int B, int H, float scale)
{
    for (int i = 0; i < B; i++) {
        const float *qi = q + (size_t)i * H; /* (H) */
        float *wi = weights + (size_t)i * B; /* row i of (B, B) */
        /* scores[i,j] = scale · q_i·k_j */
        float max = -INFINITY;
        for (int j = 0; j < B; j++) {
            const float *kj = k + (size_t)j * H;
            float dot = 0.0f;
            for (int h = 0; h < H; h++)
                dot += qi[h] * kj[h];
            wi[j] = dot * scale;
            if (wi[j] > max)
                max = wi[j];
        }
        /* softmax along the row; subtracting the max keeps exp() finite, and
         * the denominator is summed in double since B can be the whole data
         * set at inference. */
        double sum = 0.0;
        for (int j = 0; j < B; j++) {
            wi[j] = expf(wi[j] - max);
            sum += (double)wi[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < B; j++)
            wi[j] *= inv;
        /* ctx_i = Σ_j weights[i,j]·v_j */
        float *ci = ctx + (size_t)i * H;
        memset(ci, 0, (size_t)H * sizeof *ci);
        for (int j = 0; j < B; j++) {
            const float *vj = v + (size_t)j * H;
            float w = wi[j];
            for (int h = 0; h < H; h++)
                ci[h] += w * vj[h];
        }
    }
}

void attention_backward(float *dq, float *dk, float *dv, float *dweights, const float *dctx,
                        const float *weights, const float *q, const float *k, const float *v,
                        int B, int H, float scale)
{
    for (int i = 0; i < B; i++) {
        const float *gi = dctx + (size_t)i * H;    /* (H) */
        const float *wi = weights + (size_t)i * B; /* (B) */
        float *dwi = dweights + (size_t)i * B;     /* (B) */
        /* forward: ctx_i = Σ_j weights[i,j]·v_j
         *   ∂/∂weights[i,j] = dctx_i·v_j,   ∂/∂v_j += weights[i,j]·dctx_i */
        for (int j = 0; j < B; j++) {
            const float *vj = v + (size_t)j * H;
            float *dvj = dv + (size_t)j * H;
            float w = wi[j];
            float dot = 0.0f;
            for (int h = 0; h < H; h++) {
                dot += gi[h] * vj[h];
                dvj[h] += w * gi[h];
            }
            dwi[j] = dot;
        }
        /* forward: weights[i,:] = softmax(scores[i,:])
         *   ∂/∂scores[i,j] = weights[i,j]·(dweights[i,j] - Σ_l weights[i,l]·dweights[i,l]) */
        double wdot = 0.0;
        for (int j = 0; j < B; j++)
            wdot += (double)wi[j] * (double)dwi[j];
        float wd = (float)wdot;
        /* forward: scores[i,j] = scale · q_i·k_j
         *   ∂/∂q_i += scale·dscores[i,j]·k_j,   ∂/∂k_j += scale·dscores[i,j]·q_i */
        const float *qi = q + (size_t)i * H;
        float *dqi = dq + (size_t)i * H;
        for (int j = 0; j < B; j++) {
            float ds = wi[j] * (dwi[j] - wd) * scale;
            const float *kj = k + (size_t)j * H;
            float *dkj = dk + (size_t)j * H;
            for (int h = 0; h < H; h++) {
                dqi[h] += ds * kj[h];
                dkj[h] += ds * qi[h];
            }
        }
    }
}

/* Each of B query rows attends over R reference rows and then itself:
 *   ctx_i = softmax(scale · [ref_k; k_i]·q_i) · [ref_v; v_i]
 * so row i's output depends on no other query row. scores (R + 1) is
 * scratch. Forward only: used for prediction, never trained through. */
void attention_reference_forward(float *ctx, float *scores, const float *q, const float *k,
                                 const float *v, const float *ref_k, const float *ref_v, int B,
                                 int R, int H, float scale)
{
    for (int i = 0; i < B; i++) {
        const float *qi = q + (size_t)i * H; /* (H) */
        float max = -INFINITY;
        for (int j = 0; j <= R; j++) {
            /* keys (R + 1, H): the reference rows, then the row's own key */
            const float *kj = j < R ? ref_k + (size_t)j * H : k + (size_t)i * H;
            float dot = 0.0f;
            for (int h = 0; h < H; h++)
                dot += qi[h] * kj[h];
            scores[j] = dot * scale;
            if (scores[j] > max)
                max = scores[j];
        }
        double sum = 0.0;
        for (int j = 0; j <= R; j++) {
            scores[j] = expf(scores[j] - max);
            sum += (double)scores[j];
        }
        float inv = (float)(1.0 / sum);
        float *ci = ctx + (size_t)i * H;
        memset(ci, 0, (size_t)H * sizeof *ci);
        for (int j = 0; j <= R; j++) {
            const float *vj = j < R ? ref_v + (size_t)j * H : v + (size_t)i * H;
            float w = scores[j] * inv;
            for (int h = 0; h < H; h++)
                ci[h] += w * vj[h];
        }
    }
}

/* --------------------------------------------------------------- layernorm */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int B, int H, float eps)
{
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * H; /* (H) */
        float *y = out + (size_t)b * H;       /* (H) */
        /* Two passes (mean, then the mean square deviation) in double: the
         * one-pass E[x²] - E[x]² form cancels badly when |mean| >> std. */
        double m = 0.0;
        for (int h = 0; h < H; h++)
            m += (double)x[h];
        m /= H;
        double var = 0.0;
        for (int h = 0; h < H; h++) {
            double d = (double)x[h] - m;
            var += d * d;
        }
        var /= H; /* biased, as PyTorch and Candle */
        float s = (float)(1.0 / sqrt(var + (double)eps));
        float mf = (float)m;
        for (int h = 0; h < H; h++)
            y[h] = (x[h] - mf) * s * weight[h] + bias[h];
        mean[b] = mf;
        rstd[b] = s;
    }
}

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, int B, int H)
{
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * H;
        const float *dy = dout + (size_t)b * H;
        float m = mean[b], s = rstd[b];
        /* forward: y[h] = xhat[h]·weight[h] + bias[h],  xhat = (x - mean)·rstd
         *   ∂/∂weight[h] += dy[h]·xhat[h],  ∂/∂bias[h] += dy[h],
         *   dxhat[h] = dy[h]·weight[h] */
        float dxhat_mean = 0.0f, dxhat_xhat_mean = 0.0f;
        for (int h = 0; h < H; h++) {
            float xhat = (x[h] - m) * s;
            float dxhat = dy[h] * weight[h];
            dweight[h] += dy[h] * xhat;
            dbias[h] += dy[h];
            dxhat_mean += dxhat;
            dxhat_xhat_mean += dxhat * xhat;
        }
        dxhat_mean /= (float)H;
        dxhat_xhat_mean /= (float)H;
        if (!dinp)
            continue;
        /* mean and rstd depend on every x[h]; differentiating through both:
         *   ∂/∂x[h] = rstd·(dxhat[h] - mean(dxhat) - xhat[h]·mean(dxhat·xhat)) */
        float *dx = dinp + (size_t)b * H;
        for (int h = 0; h < H; h++) {
            float xhat = (x[h] - m) * s;
            float dxhat = dy[h] * weight[h];
            dx[h] += s * (dxhat - dxhat_mean - xhat * dxhat_xhat_mean);
        }
    }
}

/* ---------------------------------------------------- softmax cross-entropy */

int argmax_row(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

double crossentropy_forward(float *probs, int *correct, const float *logits,
                            const int32_t *targets, int B, int K)
{
    double total = 0.0;
    int hits = 0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K; /* (K) */
        float *p = probs + (size_t)b * K;        /* (K) */
        int best = argmax_row(z, K);
        float max = z[best];
        double sum = 0.0;
        for (int c = 0; c < K; c++) {
            p[c] = expf(z[c] - max);
            sum += (double)p[c];
        }
        float inv = (float)(1.0 / sum);
        for (int c = 0; c < K; c++)
            p[c] *= inv;
        /* -log softmax(z)[t] = log Σ exp(z - max) + max - z[t], in double:
         * exact where log(p[t]) would lose the tiny probabilities. */
        if (!targets)
            continue;
        int t = targets[b];
        total += log(sum) + (double)max - (double)z[t];
        hits += best == t;
    }
    if (correct)
        *correct = hits;
    return total / B;
}

void crossentropy_backward(float *dlogits, const float *probs, const int32_t *targets, int B,
                           int K)
{
    /* forward: loss = (1/B) Σ_b -log softmax(z_b)[t_b]
     *   ∂/∂z[b,c] = (probs[b,c] - [c == t_b]) / B */
    float invB = 1.0f / (float)B;
    for (int b = 0; b < B; b++) {
        const float *p = probs + (size_t)b * K;
        float *dz = dlogits + (size_t)b * K;
        for (int c = 0; c < K; c++)
            dz[c] += (p[c] - (c == targets[b] ? 1.0f : 0.0f)) * invB;
    }
}

/* ------------------------------------------------ soft-target cross-entropy */

double crossentropy_soft_forward(float *probs, const float *logits, const float *targets, int B,
                                 int K)
{
    double total = 0.0;
    crossentropy_forward(probs, NULL, logits, NULL, B, K);
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K, *t = targets + (size_t)b * K;
        float max = z[argmax_row(z, K)];
        double sum = 0.0;
        for (int c = 0; c < K; c++)
            sum += exp((double)z[c] - (double)max);
        /* -Σ_c t_c log softmax(z)_c = Σ_c t_c (log Σ e^(z - max) + max - z_c) */
        double lse = log(sum) + (double)max;
        for (int c = 0; c < K; c++)
            total += (double)t[c] * (lse - (double)z[c]);
    }
    return total / B;
}

void crossentropy_soft_backward(float *dlogits, const float *probs, const float *targets, int B,
                                int K)
{
    /* forward: loss = (1/B) Σ_b -Σ_c t[b,c] log softmax(z_b)_c, Σ_c t[b,c] = 1
     *   ∂/∂z[b,c] = (probs[b,c] - t[b,c]) / B */
    float invB = 1.0f / (float)B;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < K; c++) {
            size_t i = (size_t)b * K + c;
            dlogits[i] += (probs[i] - targets[i]) * invB;
        }
}
