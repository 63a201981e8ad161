/*
 * optim.c - AdamW with decoupled weight decay, written to match Candle's
 * candle_nn::AdamW (and PyTorch's torch.optim.AdamW) step for step: the
 * decay multiplies the old weights, the moments are bias-corrected with one
 * step counter for all tensors.
 */
#include "internal.h"

#include <math.h>

void adamw_update(float *params, const float *grads, float *m, float *v, size_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay, long t)
{
    /* Bias corrections in double, as Candle computes its scalars in f64. */
    float scale_m = (float)(1.0 / (1.0 - pow(beta1, (double)t)));
    float scale_v = (float)(1.0 / (1.0 - pow(beta2, (double)t)));
    float b1 = (float)beta1, b2 = (float)beta2;
    float one_minus_b1 = (float)(1.0 - beta1), one_minus_b2 = (float)(1.0 - beta2);
    float decay = (float)(1.0 - lr * weight_decay);
    float lrf = (float)lr, epsf = (float)eps;
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        m[i] = b1 * m[i] + one_minus_b1 * g;
        v[i] = b2 * v[i] + one_minus_b2 * (g * g);
        float m_hat = m[i] * scale_m;
        float v_hat = v[i] * scale_v;
        params[i] = params[i] * decay - lrf * (m_hat / (sqrtf(v_hat) + epsf));
    }
}
