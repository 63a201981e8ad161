/*
 * internal.h - what the library's files share and the public header hides:
 * the allocation wrapper, error helpers, the random generator, the layer
 * kernels, the model's parameter layout and its forward/backward pass.
 *
 * Dimension letters: N rows in a data set, B rows in a batch, F features,
 * H hidden size, K clusters. All tensors are row-major float buffers.
 */
#ifndef AC_INTERNAL_H
#define AC_INTERNAL_H

#include "attncluster.h"

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ util.c */

/* Every allocation of the library goes through these, so that a test can make
 * the Nth one fail. Memory is 64-byte aligned (a cache line, an AVX-512
 * vector) and ac_free(NULL) is a no-op. */
void *ac_alloc(size_t bytes);
void *ac_calloc(size_t count, size_t size); /* zeroed; NULL on overflow */
void ac_free(void *p);

/* Test hook: make the allocation numbered `n` (1-based, counted from this
 * call) fail, and every later one succeed; n = 0 disables. Returns how many
 * allocations were made since the previous call. */
size_t ac_alloc_fail_at(size_t n);

/* Fills err (when not NULL) and returns status. line/column as in ac_error. */
ac_status ac_set_error(ac_error *err, ac_status status, const char *source, long line,
                       long column, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* ------------------------------------------------------------- rng.c */

/* xoshiro256** (Blackman & Vigna, 2018): 256 bits of state, period 2^256 - 1,
 * passes BigCrush, four words of state and a few instructions per draw.
 * Seeded by running splitmix64 over the 64-bit seed, as its authors advise,
 * so that nearby seeds give unrelated streams. */
typedef struct ac_rng {
    uint64_t s[4];
} ac_rng;

void ac_rng_seed(ac_rng *rng, uint64_t seed);
uint64_t ac_rng_next(ac_rng *rng);
/* Uniform in [0, 1), 53 random bits. */
double ac_rng_uniform(ac_rng *rng);
/* Uniform integer in [0, bound], unbiased (Lemire's multiply-and-reject). */
uint64_t ac_rng_below_or_equal(ac_rng *rng, uint64_t bound);
/* Standard normal by the Box-Muller transform, in double (one draw per call:
 * the second value of each pair is discarded, so draws never depend on
 * hidden cached state). */
double ac_rng_normal(ac_rng *rng);
/* Fisher-Yates shuffle of idx[0..n), from the top down as the chapter does. */
void ac_rng_shuffle(ac_rng *rng, uint32_t *idx, size_t n);

/* ---------------------------------------------------------- layers.c */

/* out (B, O) = inp (B, I) · weight (O, I)ᵀ + bias (O); bias may be NULL. */
void linear_forward(float *out, const float *inp, const float *weight, const float *bias,
                    int B, int I, int O);
/* Adds into dinp (B, I) (may be NULL), dweight (O, I) and dbias (O) (may be NULL). */
void linear_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, int B, int I, int O);

/* ctx (B, H) = softmax_rows(scale · q·kᵀ) · v, keeping the weights (B, B). */
void attention_forward(float *ctx, float *weights, const float *q, const float *k,
                       const float *v, int B, int H, float scale);
/* Adds into dq, dk, dv (B, H) each; dweights (B, B) is scratch. */
void attention_backward(float *dq, float *dk, float *dv, float *dweights, const float *dctx,
                        const float *weights, const float *q, const float *k, const float *v,
                        int B, int H, float scale);

/* out (B, H) = (inp - mean) · rstd · weight + bias per row, keeping mean (B)
 * and rstd (B) = 1/√(biased variance + eps). */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *weight, const float *bias, int B, int H, float eps);
/* Adds into dinp (B, H) (may be NULL), dweight (H) and dbias (H). */
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, int B, int H);

/* probs (B, K) = softmax(logits); returns the mean over rows of
 * -log probs[target]; *correct (may be NULL) counts rows whose arg-max is the
 * target. With targets NULL only the probabilities are computed (returns 0). */
double crossentropy_forward(float *probs, int *correct, const float *logits,
                            const int32_t *targets, int B, int K);
/* Adds into dlogits (B, K) the gradient of the mean loss: (probs - onehot) / B. */
void crossentropy_backward(float *dlogits, const float *probs, const int32_t *targets, int B,
                           int K);

/* Index of the first largest of x[0..n). */
int argmax_row(const float *x, int n);

/* ----------------------------------------------------------- model.c */

/* The parameter tensors, in the chapter's creation order (which is also the
 * order the initialiser draws in). */
enum {
    P_QW, P_QB, P_KW, P_KB, P_VW, P_VB, P_OW, P_OB, P_LNW, P_LNB, P_CW, P_CB, P_COUNT
};

/* Named pointers into one block of floats: one allocation, one AdamW loop. */
typedef struct ac_tensors {
    float *t[P_COUNT];
} ac_tensors;

/* Activations of one forward pass over up to `capacity` rows, in one block. */
typedef struct ac_acts {
    int capacity;
    float *q, *k, *v;   /* (B, H) */
    float *weights;     /* (B, B) */
    float *ctx;         /* (B, H) */
    float *attn_out;    /* (B, H) output projection */
    float *ln_mean;     /* (B) */
    float *ln_rstd;     /* (B) */
    float *ln_out;      /* (B, H) */
    float *logits;      /* (B, K) */
    float *probs;       /* (B, K) */
    float *block;
    size_t floats;
} ac_acts;

struct ac_model {
    int F, H, K;
    ac_attention_scale scale;
    float layernorm_eps;
    size_t sizes[P_COUNT]; /* element count of each tensor */
    size_t rows[P_COUNT], cols[P_COUNT];
    size_t n_params;       /* sum of sizes */
    float *params;         /* one block of n_params floats */
    ac_tensors p;          /* named pointers into params */
};

extern const char *const ac_tensor_names[P_COUNT];

/* Allocates a model of the given shape with all parameters zero. */
ac_status model_alloc(int F, int H, int K, ac_attention_scale scale, float layernorm_eps,
                      ac_model **out, ac_error *err);
/* Validates p, allocates a model for F features and initialises it from rng
 * (what ac_model_create does with a generator seeded by p->seed). */
ac_status model_create(const ac_params *p, size_t n_features, ac_rng *rng, ac_model **out,
                       ac_error *err);
/* Candle's initialisers, drawn from rng in creation order. */
void model_init_weights(ac_model *m, ac_rng *rng);
/* Points `view` into a block laid out like m->params (gradients, moments). */
void model_tensor_view(const ac_model *m, float *block, ac_tensors *view);

ac_status acts_alloc(ac_acts *a, const ac_model *m, int capacity, ac_error *err);
void acts_free(ac_acts *a);

/* Forward over B rows of x (B, F) into acts; logits land in acts->logits. */
void model_forward(const ac_model *m, ac_acts *acts, const float *x, int B);
/* Backward from dacts->logits (B, K) through the activations of the last
 * forward over x, adding into grads and into the other activation gradients
 * of dacts (a second ac_acts used as gradient storage). The caller zeroes
 * grads and dacts once per step. Stops at the LayerNorm output when
 * `upstream` is 0 (the Candle-compatible mode: nothing before it gets a
 * gradient, so those tensors of grads stay untouched). */
void model_backward(const ac_model *m, const ac_acts *acts, ac_acts *dacts, const float *x,
                    int B, int upstream, ac_tensors *grads);

/* ------------------------------------------------------- iris_data.c */

/* The built-in copy of data/iris.csv as one text, allocated with ac_alloc
 * (the caller frees it); NULL when out of memory. */
char *iris_builtin_text(size_t *length);

/* ----------------------------------------------------------- optim.c */

/* One AdamW step over n parameters, Candle's rule (= PyTorch's AdamW):
 *   m = β1·m + (1-β1)·g,  v = β2·v + (1-β2)·g²
 *   θ = θ·(1 - lr·wd) - lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + eps)
 * t is the 1-based step count, shared by every tensor. */
void adamw_update(float *params, const float *grads, float *m, float *v, size_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay, long t);

#endif /* AC_INTERNAL_H */
