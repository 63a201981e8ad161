/*
 * kernels.c - the fast paths of the attention, each kept next to the plain
 * kernel of layers.c that the tests compare it with.
 *
 * 1. Exploiting the structure (small F). Q and K are affine in the input:
 *    with x̂ = [x, 1] (F+1) and Ŵ a weight with its bias appended as a last
 *    column (H, F+1),
 *        score_ij = s · q_i·k_j = x̂_iᵀ M x̂_j,     M = s · Ŵqᵀ Ŵk       (F+1, F+1)
 *    and, since each row of attention weights sums to 1,
 *        ctx_i = Σ_j w_ij v_j = Ŵv z_i,           z_i = Σ_j w_ij x̂_j   (F+1)
 *        out_i = Wo ctx_i + bo = Pᵀ z_i + bo,     P = Ŵvᵀ Woᵀ          (F+1, H)
 *    so the attention costs O(B²·F) instead of O(B²·H), forward and
 *    backward, and the H×H output projection folds into P. It pays when
 *    F + 1 is well below H (Iris: 5 against 64): structured_pays() decides.
 *
 * 2. Streaming (large N, inference). A forward over all N rows never holds
 *    the N×N weights: each query row takes the keys in tiles, keeping a
 *    running max and sum (online softmax), in O(N·H) memory (O(N·F) on the
 *    structured path). Rows are shared among OpenMP threads, each row owned
 *    by one thread and summed in a fixed order, so results are bit-identical
 *    for any thread count.
 *
 * exp_fast (internal.h) is a branch-free exp that the compiler vectorises.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

int structured_pays(int F, int H)
{
    switch (ac_attention_path) {
    case AC_PATH_DIRECT: return 0;
    case AC_PATH_STRUCTURED: return 1;
    default: return 2 * (F + 1) < H && F + 1 <= AC_MAX_STRUCTURED_A;
    }
}

/* ------------------------------------------------------------ reductions */

/* Reductions keep LANES partial results, one per vector lane, and add them
 * in a fixed order at the end: vectorisable without letting the compiler
 * reassociate (no -ffast-math), and the same sum on any machine and for any
 * thread count. */
#define LANES 16

/* The small helpers below must inline into their loops to pay. */
#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))
#else
#define HOT static inline
#endif

HOT float lanes_sum(const float *part)
{
    /* A fixed tree, halves added lane by lane: a few vector adds instead of
     * fifteen scalar ones, and the same order every time. */
    float t[LANES / 2];
    for (int l = 0; l < LANES / 2; l++)
        t[l] = part[l] + part[l + LANES / 2];
    for (int l = 0; l < LANES / 4; l++)
        t[l] += t[l + LANES / 4];
    for (int l = 0; l < LANES / 8; l++)
        t[l] += t[l + LANES / 8];
    return t[0] + t[1];
}

HOT float lanes_max(const float *part)
{
    float m = part[0];
    for (int l = 1; l < LANES; l++)
        m = part[l] > m ? part[l] : m;
    return m;
}

/* Σ x[j]·y[j] over [0, n) */
HOT float dot_n(const float *x, const float *y, int n)
{
    float part[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[j + l] * y[j + l];
    for (int l = 0; j + l < n; l++)
        part[l] += x[j + l] * y[j + l];
    return lanes_sum(part);
}

/* Σ x[j] over [0, n) */
HOT float sum_n(const float *x, int n)
{
    float part[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += x[j + l];
    for (int l = 0; j + l < n; l++)
        part[l] += x[j + l];
    return lanes_sum(part);
}

/* max x[j] over [0, n), n >= 1 */
HOT float max_n(const float *x, int n)
{
    float part[LANES];
    for (int l = 0; l < LANES; l++)
        part[l] = x[0];
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] = x[j + l] > part[l] ? x[j + l] : part[l];
    for (int l = 0; j + l < n; l++)
        part[l] = x[j + l] > part[l] ? x[j + l] : part[l];
    return lanes_max(part);
}

/* y[0..n) = Σ_a c[a]·X[a][0..n), X (A, stride) row-major: a vector of y
 * stays in a register while the A rows stream past it. */
HOT void combine_rows(float *y, const float *c, const float *X, size_t stride, int A, int n)
{
    int j = 0;
    for (; j + LANES <= n; j += LANES) {
        float acc[LANES];
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            acc[l] = c[0] * X[j + l];
        for (int a = 1; a < A; a++) {
            const float *xa = X + (size_t)a * stride + j;
            float ca = c[a];
#pragma omp simd
            for (int l = 0; l < LANES; l++)
                acc[l] += ca * xa[l];
        }
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            y[j + l] = acc[l];
    }
    for (; j < n; j++) {
        float acc = c[0] * X[j];
        for (int a = 1; a < A; a++)
            acc += c[a] * X[(size_t)a * stride + j];
        y[j] = acc;
    }
}

/* y[0..n) += a·x[0..n) */
HOT void axpy(float *y, float a, const float *x, int n)
{
    for (int j = 0; j < n; j++)
        y[j] += a * x[j];
}

/* --------------------------------------------------- structured: training */

void structured_prepare(float *M, float *P, float *vT, const float *wq, const float *bq,
                        const float *wk, const float *bk, const float *wv, const float *bv,
                        const float *wo, int F, int H, float scale)
{
    int A = F + 1;
    /* M[a][b] = s Σ_h Ŵq[h][a] Ŵk[h][b]   (A, A): A²·H, small */
    for (int a = 0; a < A * A; a++)
        M[a] = 0.0f;
    for (int h = 0; h < H; h++) {
        const float *q = wq + (size_t)h * F, *k = wk + (size_t)h * F;
        for (int a = 0; a < A; a++) {
            float qa = (a < F ? q[a] : bq[h]) * scale;
            float *Ma = M + (size_t)a * A;
            for (int b = 0; b < F; b++)
                Ma[b] += qa * k[b];
            Ma[F] += qa * bk[h];
        }
    }
    /* Ŵvᵀ (A, H), then P[a][h] = Σ_c Ŵv[c][a] Wo[h][c] = Wo[h]·Ŵvᵀ[a]   (A, H) */
    for (int c = 0; c < H; c++) {
        for (int a = 0; a < F; a++)
            vT[(size_t)a * H + c] = wv[(size_t)c * F + a];
        vT[(size_t)F * H + c] = bv[c];
    }
    for (int a = 0; a < A; a++)
        for (int h = 0; h < H; h++)
            P[(size_t)a * H + h] = dot_n(wo + (size_t)h * H, vT + (size_t)a * H, H);
}

void structured_forward(float *out, float *weights, float *xT, float *u, float *z,
                        const float *x, const float *M, const float *P, const float *bo, int B,
                        int F, int H)
{
    int A = F + 1;
    /* x̂ᵀ (A, B): rows over keys, so that scores and sums run along them */
    for (int j = 0; j < B; j++) {
        for (int f = 0; f < F; f++)
            xT[(size_t)f * B + j] = x[(size_t)j * F + f];
        xT[(size_t)F * B + j] = 1.0f;
    }
    for (int i = 0; i < B; i++) {
        /* u_i = x̂_iᵀ M   (A) */
        float *ui = u + (size_t)i * A;
        for (int b = 0; b < A; b++) {
            float acc = M[(size_t)F * A + b];
            for (int f = 0; f < F; f++)
                acc += x[(size_t)i * F + f] * M[(size_t)f * A + b];
            ui[b] = acc;
        }
        /* scores s_ij = u_i·x̂_j, softmax along the row   (B) */
        float *wi = weights + (size_t)i * B;
        combine_rows(wi, ui, xT, (size_t)B, A, B);
        float max = max_n(wi, B);
        for (int j = 0; j < B; j++)
            wi[j] = exp_fast(wi[j] - max);
        float inv = 1.0f / sum_n(wi, B);
        for (int j = 0; j < B; j++)
            wi[j] *= inv;
        /* z_i = Σ_j w_ij x̂_j, out_i = Pᵀ z_i + bo */
        float *zi = z + (size_t)i * A, *oi = out + (size_t)i * H;
        for (int h = 0; h < H; h++)
            oi[h] = bo[h];
        for (int a = 0; a < A; a++) {
            zi[a] = dot_n(wi, xT + (size_t)a * B, B);
            axpy(oi, zi[a], P + (size_t)a * H, H);
        }
    }
}

void structured_backward(float *dwq, float *dbq, float *dwk, float *dwv, float *dbv, float *dwo,
                         float *dbo, float *scratch, const float *dout, const float *weights,
                         const float *xT, const float *z, const float *P, const float *vT,
                         const float *wq, const float *bq, const float *wk, const float *bk,
                         const float *wo, int B, int F, int H, float scale)
{
    int A = F + 1;
    /* scratch: Gᵀ (A, H), dŴvᵀ (A, H), dz (A), dw (B), T (A), dM (A, A) */
    float *GT = scratch, *dvT = GT + (size_t)A * H, *dz = dvT + (size_t)A * H;
    float *dw = dz + A, *T = dw + B, *dM = T + A;
    for (int k = 0; k < A * H; k++)
        GT[k] = dvT[k] = 0.0f;
    for (int k = 0; k < A * A; k++)
        dM[k] = 0.0f;
    for (int i = 0; i < B; i++) {
        const float *di = dout + (size_t)i * H, *zi = z + (size_t)i * A;
        const float *wi = weights + (size_t)i * B;
        /* forward: out_i = Pᵀ z_i + bo, P = Ŵvᵀ Woᵀ
         *   dbo += dout_i,  Gᵀ += z_i ⊗ dout_i,  dz_i = P dout_i */
        axpy(dbo, 1.0f, di, H);
        for (int a = 0; a < A; a++) {
            axpy(GT + (size_t)a * H, zi[a], di, H);
            dz[a] = dot_n(P + (size_t)a * H, di, H);
        }
        /* forward: z_i = Σ_j w_ij x̂_j,  w_i = softmax(s_i)
         *   dw_ij = dz_i·x̂_j,  ds_ij = w_ij (dw_ij - Σ_l w_il dw_il) */
        combine_rows(dw, dz, xT, (size_t)B, A, B);
        float wd = dot_n(wi, dw, B);
        for (int j = 0; j < B; j++)
            dw[j] = wi[j] * (dw[j] - wd); /* now ds_ij */
        /* forward: s_ij = x̂_iᵀ M x̂_j
         *   T_i = Σ_j ds_ij x̂_j,  dM += x̂_i ⊗ T_i */
        for (int a = 0; a < A; a++)
            T[a] = dot_n(dw, xT + (size_t)a * B, B);
        for (int a = 0; a < A; a++) {
            float xa = xT[(size_t)a * B + i];
            for (int b = 0; b < A; b++)
                dM[(size_t)a * A + b] += xa * T[b];
        }
    }
    /* dWo[h][:] += Σ_a Gᵀ[a][h] Ŵvᵀ[a][:];  dŴvᵀ[a][:] += Σ_h Gᵀ[a][h] Wo[h][:] */
    for (int h = 0; h < H; h++) {
        const float *wo_h = wo + (size_t)h * H;
        for (int a = 0; a < A; a++) {
            float g = GT[(size_t)a * H + h];
            axpy(dwo + (size_t)h * H, g, vT + (size_t)a * H, H);
            axpy(dvT + (size_t)a * H, g, wo_h, H);
        }
    }
    for (int c = 0; c < H; c++) {
        for (int a = 0; a < F; a++)
            dwv[(size_t)c * F + a] += dvT[(size_t)a * H + c];
        dbv[c] += dvT[(size_t)F * H + c];
    }
    /* forward: M = s Ŵqᵀ Ŵk
     *   dŴq[h][a] = s Σ_b dM[a][b] Ŵk[h][b],  dŴk[h][b] = s Σ_a dM[a][b] Ŵq[h][a].
     * The key bias column (b = F) gets no gradient: Σ_j ds_ij = 0 makes
     * dM[a][F] zero, exactly (see model_backward). */
    for (int h = 0; h < H; h++) {
        const float *q = wq + (size_t)h * F, *k = wk + (size_t)h * F;
        float *dq = dwq + (size_t)h * F, *dk = dwk + (size_t)h * F;
        for (int a = 0; a < A; a++) {
            const float *dMa = dM + (size_t)a * A;
            float acc = dMa[F] * bk[h];
            for (int b = 0; b < F; b++)
                acc += dMa[b] * k[b];
            acc *= scale;
            if (a < F)
                dq[a] += acc;
            else
                dbq[h] += acc;
        }
        for (int b = 0; b < F; b++) {
            float acc = dM[(size_t)F * A + b] * bq[h];
            for (int a = 0; a < F; a++)
                acc += dM[(size_t)a * A + b] * q[a];
            dk[b] += acc * scale;
        }
    }
}

/* ------------------------------------------------------------- layernorm */

/* layers.c's layernorm_forward/backward with vectorisable reductions: the
 * mean and variance (two passes, as there) summed in lanes of floats. */
void layernorm_forward_fast(float *out, float *mean, float *rstd, const float *inp,
                            const float *weight, const float *bias, int B, int H, float eps)
{
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * H;
        float *y = out + (size_t)b * H;
        float m = sum_n(x, H) / (float)H;
        float part[LANES] = {0};
        int h = 0;
        for (; h + LANES <= H; h += LANES)
            for (int l = 0; l < LANES; l++) {
                float d = x[h + l] - m;
                part[l] += d * d;
            }
        for (int l = 0; h + l < H; l++) {
            float d = x[h + l] - m;
            part[l] += d * d;
        }
        float var = lanes_sum(part) / (float)H;
        float s = 1.0f / sqrtf(var + eps);
        for (h = 0; h < H; h++)
            y[h] = (x[h] - m) * s * weight[h] + bias[h];
        mean[b] = m;
        rstd[b] = s;
    }
}

void layernorm_backward_fast(float *dinp, float *dweight, float *dbias, float *scratch,
                             const float *dout, const float *inp, const float *weight,
                             const float *mean, const float *rstd, int B, int H)
{
    float *xhat = scratch, *dxhat = scratch + H; /* (H) each */
    for (int b = 0; b < B; b++) {
        const float *x = inp + (size_t)b * H, *dy = dout + (size_t)b * H;
        float m = mean[b], s = rstd[b];
        for (int h = 0; h < H; h++) {
            xhat[h] = (x[h] - m) * s;
            dxhat[h] = dy[h] * weight[h];
            dweight[h] += dy[h] * xhat[h];
            dbias[h] += dy[h];
        }
        float dxhat_mean = sum_n(dxhat, H) / (float)H;
        float dxhat_xhat_mean = dot_n(dxhat, xhat, H) / (float)H;
        float *dx = dinp + (size_t)b * H;
        for (int h = 0; h < H; h++)
            dx[h] += s * (dxhat[h] - dxhat_mean - xhat[h] * dxhat_xhat_mean);
    }
}

/* --------------------------------------------------- streaming: inference */

/* Keys per tile: a tile of scores stays in L1 next to its keys. */
#define TILE 128
/* Query rows per block of the direct kernel: each key tile is loaded once
 * for QB rows. */
#define QB 12

/* max over s[0..T), T a multiple of LANES */
HOT float tile_max(const float *s, int T)
{
    float part[LANES];
#pragma omp simd
    for (int l = 0; l < LANES; l++)
        part[l] = s[l];
    for (int j = LANES; j < T; j += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            part[l] = s[j + l] > part[l] ? s[j + l] : part[l];
    return lanes_max(part);
}

/* s[j] = exp(s[j] - max) over s[0..T), returning their sum */
HOT float tile_exp_sum(float *s, int T, float max)
{
    float part[LANES] = {0};
    for (int j = 0; j < T; j += LANES)
        for (int l = 0; l < LANES; l++) {
            s[j + l] = exp_fast(s[j + l] - max);
            part[l] += s[j + l];
        }
    return lanes_sum(part);
}

/* Σ_j s[j]·x[j] over [0..T) */
HOT float tile_dot(const float *s, const float *x, int T)
{
    float part[LANES] = {0};
    for (int j = 0; j < T; j += LANES)
#pragma omp simd
        for (int l = 0; l < LANES; l++)
            part[l] += s[j + l] * x[j + l];
    return lanes_sum(part);
}

void structured_full_attention(float *z, const float *u, const float *xt, int N, int A)
{
    /* Keys are padded to a multiple of LANES by the caller's layout: xt
     * has a row stride of Np = N rounded up, the padding's scores set to
     * -inf below so that they weigh nothing. */
    int Np = (N + LANES - 1) / LANES * LANES;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < N; i++) {
        const float *ui = u + (size_t)i * A;
        float s[TILE], zacc[AC_MAX_STRUCTURED_A];
        double sum = 0.0;
        float max = -INFINITY;
        for (int a = 0; a < A; a++)
            zacc[a] = 0.0f;
        for (int j0 = 0; j0 < Np; j0 += TILE) {
            int T = Np - j0 < TILE ? Np - j0 : TILE; /* a multiple of LANES */
            /* scores of the tile: s_j = u_i·x̂_j, over keys (contiguous in xt) */
            for (int j = 0; j < T; j++)
                s[j] = ui[0] * xt[j0 + j];
            for (int a = 1; a < A; a++) {
                const float *xa = xt + (size_t)a * Np + j0;
                float ua = ui[a];
                for (int j = 0; j < T; j++)
                    s[j] += ua * xa[j];
            }
            for (int j = N - j0; j < T; j++)
                s[j] = -INFINITY; /* padding */
            float tmax = tile_max(s, T);
            /* Online softmax: a new maximum rescales what was summed. */
            if (tmax > max) {
                float rescale = max == -INFINITY ? 0.0f : exp_fast(max - tmax);
                sum *= (double)rescale;
                for (int a = 0; a < A; a++)
                    zacc[a] *= rescale;
                max = tmax;
            }
            sum += (double)tile_exp_sum(s, T, max);
            for (int j = N - j0; j < T; j++)
                s[j] = 0.0f; /* exp_fast clamps -inf to e^-87: make the padding exactly 0 */
            for (int a = 0; a < A; a++)
                zacc[a] += tile_dot(s, xt + (size_t)a * Np + j0, T);
        }
        float inv = (float)(1.0 / sum);
        for (int a = 0; a < A; a++)
            z[(size_t)i * A + a] = zacc[a] * inv;
    }
}

void attention_forward_streaming(float *ctx, float *kt, const float *q, const float *k,
                                 const float *v, int N, int H, float scale)
{
    /* kᵀ (H, N): a query block's scores over a tile are contiguous loops. */
    for (int j = 0; j < N; j++)
        for (int h = 0; h < H; h++)
            kt[(size_t)h * N + j] = k[(size_t)j * H + h];
    int blocks = (N + QB - 1) / QB;
    /* Register blocking: QB rows × one vector of LANES columns accumulate in
     * registers while the loop runs over the shared dimension, so that each
     * loaded vector of keys (or values) feeds QB multiply-adds. */
    int vec_h = H % LANES == 0;
#pragma omp parallel for schedule(static)
    for (int blk = 0; blk < blocks; blk++) {
        int i0 = blk * QB, R = N - i0 < QB ? N - i0 : QB;
        float s[QB][TILE], qs[QB][AC_MAX_STREAM_H], max[QB];
        double sum[QB];
        float *acc = ctx + (size_t)i0 * H; /* (R, H), accumulated in place */
        for (int r = 0; r < QB; r++) {
            max[r] = -INFINITY;
            sum[r] = 0.0;
            for (int h = 0; h < H; h++)
                qs[r][h] = r < R ? q[(size_t)(i0 + r) * H + h] * scale : 0.0f;
        }
        for (int r = 0; r < R; r++)
            for (int h = 0; h < H; h++)
                acc[(size_t)r * H + h] = 0.0f;
        for (int j0 = 0; j0 < N; j0 += TILE) {
            int T = N - j0 < TILE ? N - j0 : TILE;
            int Tv = T / LANES * LANES;
            /* s (QB, T) = qs · kᵀ[:, tile] */
            for (int jc = 0; jc < Tv; jc += LANES) {
                float a[QB][LANES];
                for (int r = 0; r < QB; r++)
#pragma omp simd
                    for (int l = 0; l < LANES; l++)
                        a[r][l] = 0.0f;
                for (int h = 0; h < H; h++) {
                    const float *kh = kt + (size_t)h * N + j0 + jc;
                    for (int r = 0; r < QB; r++)
#pragma omp simd
                        for (int l = 0; l < LANES; l++)
                            a[r][l] += qs[r][h] * kh[l];
                }
                for (int r = 0; r < QB; r++)
#pragma omp simd
                    for (int l = 0; l < LANES; l++)
                        s[r][jc + l] = a[r][l];
            }
            for (int j = Tv; j < T; j++)
                for (int r = 0; r < QB; r++) {
                    float d = 0.0f;
                    for (int h = 0; h < H; h++)
                        d += qs[r][h] * kt[(size_t)h * N + j0 + j];
                    s[r][j] = d;
                }
            /* Online softmax per row: a new maximum rescales the past. */
            for (int r = 0; r < R; r++) {
                float tmax = s[r][0];
                for (int j = 1; j < T; j++)
                    tmax = s[r][j] > tmax ? s[r][j] : tmax;
                if (tmax > max[r]) {
                    float rescale = max[r] == -INFINITY ? 0.0f : exp_fast(max[r] - tmax);
                    sum[r] *= (double)rescale;
                    float *ar = acc + (size_t)r * H;
                    for (int h = 0; h < H; h++)
                        ar[h] *= rescale;
                    max[r] = tmax;
                }
                float tsum = 0.0f;
                for (int j = 0; j < T; j++) {
                    s[r][j] = exp_fast(s[r][j] - max[r]);
                    tsum += s[r][j];
                }
                sum[r] += (double)tsum;
            }
            for (int r = R; r < QB; r++)
                for (int j = 0; j < T; j++)
                    s[r][j] = 0.0f;
            /* acc (R, H) += s (R, T) · v[tile] (T, H) */
            if (vec_h) {
                for (int hc = 0; hc < H; hc += LANES) {
                    float c[QB][LANES];
                    for (int r = 0; r < QB; r++)
#pragma omp simd
                        for (int l = 0; l < LANES; l++)
                            c[r][l] = 0.0f;
                    for (int j = 0; j < T; j++) {
                        const float *vj = v + (size_t)(j0 + j) * H + hc;
                        for (int r = 0; r < QB; r++)
#pragma omp simd
                            for (int l = 0; l < LANES; l++)
                                c[r][l] += s[r][j] * vj[l];
                    }
                    for (int r = 0; r < R; r++)
#pragma omp simd
                        for (int l = 0; l < LANES; l++)
                            acc[(size_t)r * H + hc + l] += c[r][l];
                }
            } else {
                for (int r = 0; r < R; r++)
                    for (int j = 0; j < T; j++) {
                        const float *vj = v + (size_t)(j0 + j) * H;
                        float e = s[r][j];
                        for (int h = 0; h < H; h++)
                            acc[(size_t)r * H + h] += e * vj[h];
                    }
            }
        }
        for (int r = 0; r < R; r++) {
            float inv = (float)(1.0 / sum[r]);
            for (int h = 0; h < H; h++)
                acc[(size_t)r * H + h] *= inv;
        }
    }
}
