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
#include <string.h>

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

/* NUL-terminated copies made with ac_alloc; NULL when out of memory.
 * strings_free frees each of the n strings (NULL ones too) and the array. */
char *string_copy(const char *s);
char **strings_copy(const char *const *src, size_t n);
void strings_free(char **strings, size_t n);

/* Fills err (when not NULL) and returns status. line/column as in ac_error. */
ac_status ac_set_error(ac_error *err, ac_status status, const char *source, long line,
                       long column, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

/* The stop request of ac_request_stop: pending, and used up. */
int stop_pending(void);
void stop_clear(void);

/* Names the column an error is about (err may be NULL). */
void ac_error_set_column_name(ac_error *err, const char *name);

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
/* One step of Knuth's selection sampling (Algorithm S): with `left` items
 * still to look at and `wanted` of them still to take, whether to take the
 * current one. Going through n items in order takes exactly k of them, each
 * k-subset equally likely, in O(1) memory. */
int ac_rng_take(ac_rng *rng, size_t left, size_t wanted);
/* Fisher-Yates shuffle of idx[0..n), from the top down as the chapter does. */
void ac_rng_shuffle(ac_rng *rng, uint32_t *idx, size_t n);

/* --------------------------------------------------- dataset.c, csv.c */

struct ac_dataset {
    size_t n, f;           /* N, F */
    float *x;              /* (N, F) */
    int32_t *labels;       /* (N) or NULL */
    size_t classes;        /* largest label + 1, 0 when unlabelled */
    char **feature_names;  /* (F) */
    char **label_names;    /* (n_label_names) or NULL: label id i is label_names[i] */
    size_t n_label_names;
    ac_normalization norm_kind; /* the fit applied, AC_NORMALIZE_NONE when none */
    float *norm_shift;     /* (F) x' = (x - shift) / scale, or NULL */
    float *norm_scale;     /* (F) */
    int prepared;          /* features chosen and scaled for a model */
    char source[256];
};

/* An empty data set with room for n rows of f features (labels when
 * `labelled`), feature names all NULL. */
ac_status dataset_alloc(size_t n, size_t f, int labelled, const char *source, ac_dataset **out,
                        ac_error *err);
/* x (N, F) = (x - shift) / scale per column; a column of scale 0 becomes 0. */
void normalize_apply(float *x, size_t N, size_t F, const float *shift, const float *scale);

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

/* ctx_i (H) = softmax(scale · [ref_k; k_i]·q_i) · [ref_v; v_i] for each of the
 * B rows: each attends over R reference rows (R, H) and then itself; scores
 * (R + 1) is scratch. Forward only (prediction). */
void attention_reference_forward(float *ctx, float *scores, const float *q, const float *k,
                                 const float *v, const float *ref_k, const float *ref_v, int B,
                                 int R, int H, float scale);

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

/* The same with soft targets (B, K), each row summing to 1: the mean over
 * rows of -Σ_c targets[c]·log softmax(logits)[c] (KL divergence to the
 * targets, up to their entropy); probs (B, K) as above. */
double crossentropy_soft_forward(float *probs, const float *logits, const float *targets, int B,
                                 int K);
/* Adds (probs - targets) / B into dlogits (B, K). */
void crossentropy_soft_backward(float *dlogits, const float *probs, const float *targets, int B,
                                int K);

/* Index of the first largest of x[0..n). */
int argmax_row(const float *x, int n);

/* --------------------------------------------------------- kernels.c */

/* e^x in float, branch-free so that loops over it vectorise: x = n·ln2 + r
 * (Cody-Waite, |r| <= ln2/2), e^r by its Taylor polynomial to r^6 (relative
 * error below 2.5e-8 from the truncation, ~1e-7 in all), 2^n built in the
 * exponent bits. x is clamped to [-87, 88], the normal float range: e^-87 is
 * 1.6e-38 where the exact value would be smaller, which no softmax sum can
 * tell apart from 0; NaN gives e^-87. */
static inline float exp_fast(float x)
{
    /* Written so that a NaN becomes -87 too: the float-to-int conversion
     * below would be undefined for it (a NaN loss is caught elsewhere). */
    x = x >= -87.0f ? x : -87.0f;
    x = x <= 88.0f ? x : 88.0f;
    /* n = round(x / ln2): adding and removing 1.5·2^23 rounds to an integer
     * (exact without -ffast-math, which this project never uses). */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f; /* ln2, high bits: exact product */
    r = r - n * 1.42860682030941723e-6f;  /* ln2, low bits */
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) * (1 << 23);
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* Which attention a forward/backward takes: decided by size (AUTO), or
 * forced by tests that compare the paths. */
typedef enum ac_path { AC_PATH_AUTO, AC_PATH_DIRECT, AC_PATH_STRUCTURED } ac_path;
extern ac_path ac_attention_path;
/* Rows from which a full-context forward streams instead of holding the
 * N×N weights; tests lower it to reach the streaming path on small data. */
extern size_t ac_streaming_min_rows;

/* Structured attention (kernels.c's comment) pays when 2·(F+1) < H. */
int structured_pays(int F, int H);
/* The structured path handles F + 1 up to this (a per-row stack buffer). */
#define AC_MAX_STRUCTURED_A 64

/* M (A, A) = scale·Ŵqᵀ Ŵk, P (A, H) = Ŵvᵀ Woᵀ and vT (A, H) = Ŵvᵀ, with
 * A = F + 1 and Ŵ = [W | b]. */
void structured_prepare(float *M, float *P, float *vT, const float *wq, const float *bq,
                        const float *wk, const float *bk, const float *wv, const float *bv,
                        const float *wo, int F, int H, float scale);
/* out (B, H) = output projection of the attention over x (B, F): keeps
 * xT = x̂ᵀ (A, B), u, z (B, A) and the weights (B, B) for the backward. */
void structured_forward(float *out, float *weights, float *xT, float *u, float *z,
                        const float *x, const float *M, const float *P, const float *bo, int B,
                        int F, int H);
/* Adds the gradients of Wq, bq, Wk (bk: exactly none), Wv, bv, Wo, bo from
 * dout (B, H). scratch: 2·A·H + 2·A + B + A² floats. */
void structured_backward(float *dwq, float *dbq, float *dwk, float *dwv, float *dbv, float *dwo,
                         float *dbo, float *scratch, const float *dout, const float *weights,
                         const float *xT, const float *z, const float *P, const float *vT,
                         const float *wq, const float *bq, const float *wk, const float *bk,
                         const float *wo, int B, int F, int H, float scale);
/* layers.c's layernorm_forward/backward with vectorised reductions; the
 * backward needs 2·H floats of scratch. */
void layernorm_forward_fast(float *out, float *mean, float *rstd, const float *inp,
                            const float *weight, const float *bias, int B, int H, float eps);
void layernorm_backward_fast(float *dinp, float *dweight, float *dbias, float *scratch,
                             const float *dout, const float *inp, const float *weight,
                             const float *mean, const float *rstd, int B, int H);
/* z (N, A) = Σ_j softmax_j(u_i·x̂_j) x̂_j for every row i, streaming over key
 * tiles with an online softmax: u (N, A), xt = x̂ᵀ (A, Np) with Np = N
 * rounded up to a multiple of 16, the padding zero. O(N·A) memory. */
void structured_full_attention(float *z, const float *u, const float *xt, int N, int A);
/* ctx (N, H) = softmax_rows(scale·q kᵀ)·v, streaming over key tiles with an
 * online softmax, never holding the N×N weights; kt (H, N) is scratch.
 * H at most AC_MAX_STREAM_H. */
#define AC_MAX_STREAM_H 1024
void attention_forward_streaming(float *ctx, float *kt, const float *q, const float *k,
                                 const float *v, int N, int H, float scale);

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
    /* The structured path's own (A = F + 1): */
    float *xhat, *u, *z; /* xhat is x̂ᵀ (A, B); u, z (B, A) */
    float *M;           /* (A, A) */
    float *P, *vT;      /* (A, H) each */
    float *scratch;     /* 2·A·H + 2·A + B + A², for its backward */
    int structured;     /* the last forward took the structured path */
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

    /* What a model needs besides its weights to be used on new data. */
    char **feature_names;  /* (F) */
    char **label_names;    /* (n_labels), may be NULL when n_labels is 0 */
    size_t n_labels;
    ac_normalization normalization;
    float *norm_shift;     /* (F) x' = (x - shift) / scale; NULL when NONE */
    float *norm_scale;     /* (F) a scale of 0 maps the feature to 0 */
    float *reference_rows; /* (R, F), normalised; predictions attend over them */
    size_t n_reference;    /* R */
    ac_training_info training;
    /* Loss and accuracy of the training epochs (up to AC_MAX_HISTORY of them:
     * every stride-th epoch and the last when there were more); NULL, 0 for a
     * model not trained here and a file that does not record them. */
    ac_epoch_report *history;
    size_t n_history;
    char written_by[64];   /* the file's attncluster_version, "" for a model made here */
};

extern const char *const ac_tensor_names[P_COUNT];

/* Allocates a model of the given shape with all parameters zero, feature
 * names "feature_1".., no labels, no normalisation, no reference rows. */
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
/* The factor s of the attention scores s·q·k: 1, or 1/√H for AC_SCALE_SQRT. */
float model_attention_scale(const ac_model *m);

/* ac_train_unsupervised without the history (unsupervised.c); ac_train and
 * ac_train_unsupervised record it around this. */
ac_status train_unsupervised(const ac_dataset *ds, const ac_params *p, ac_epoch_callback callback,
                             void *user, ac_model **out, ac_error *err);

/* ------------------------------------------------------- iris_data.c */

/* The built-in copy of data/iris.csv as one text, allocated with ac_alloc
 * (the caller frees it); NULL when out of memory. */
char *iris_builtin_text(size_t *length);

/* ------------------------------------------------------------ json.c */

typedef enum json_type {
    JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT
} json_type;

typedef struct json_value json_value;
struct json_value {
    json_type type;
    double number;       /* JSON_NUMBER */
    int is_uint;         /* a non-negative integer that fits in uint64 ... */
    uint64_t uint;       /* ... and its exact value */
    char *string;        /* JSON_STRING: decoded UTF-8, NUL-terminated, no NUL inside */
    size_t length;       /* its byte length */
    json_value **items;  /* JSON_ARRAY elements, JSON_OBJECT values */
    size_t count;
    char **keys;         /* JSON_OBJECT: keys[i] names items[i]; all distinct */
    size_t key_count;
};

/* Parses exactly one JSON value filling text[0..length), nesting at most
 * max_depth containers. On failure: AC_ERR_PARSE (or AC_ERR_NOMEM) with a
 * constant reason in *why and its byte offset in *where. */
ac_status json_parse(const char *text, size_t length, int max_depth, json_value **out,
                     const char **why, size_t *where);
void json_free(json_value *v);
/* The value of `key` in an object, or NULL. */
const json_value *json_get(const json_value *object, const char *key);

/* Is s[0..n) valid UTF-8 (no overlong forms, surrogates or code points
 * past U+10FFFF)? */
int utf8_valid(const char *s, size_t n);

/* A growable NUL-terminated byte buffer. Appends never fail individually:
 * a failed allocation sets `failed` and later appends do nothing. */
typedef struct sbuf {
    char *data;
    size_t len, cap;
    int failed;
} sbuf;

int sbuf_append(sbuf *b, const char *s, size_t n);
int sbuf_puts(sbuf *b, const char *s);
int sbuf_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal with quotes and escapes. */
int sbuf_json_string(sbuf *b, const char *s, size_t n);
/* %.9g (exact for float32), or null for NaN and infinities. */
int sbuf_json_float(sbuf *b, double x);
void sbuf_free(sbuf *b);

/* ----------------------------------------------------- safetensors.c */

/* One tensor of a safetensors file: F32 data of `bytes` bytes at `offset`
 * within the data section. name points into the parsed header. */
typedef struct st_tensor {
    const char *name;
    size_t ndim;
    uint64_t shape[8];
    uint64_t elements;
    uint64_t offset, bytes;
} st_tensor;

typedef struct st_file {
    unsigned char *bytes;       /* the whole file */
    size_t size;
    size_t data_start;          /* 8 + header length */
    json_value *header;
    const json_value *metadata; /* __metadata__ (string values only), or NULL */
    st_tensor *tensors;
    size_t count;
} st_file;

/* Reads and checks a safetensors container (see safetensors.c); on failure
 * AC_ERR_IO/AC_ERR_PARSE/AC_ERR_NOMEM with source = path. */
ac_status st_read_file(const char *path, st_file *out, ac_error *err);
const st_tensor *st_find(const st_file *f, const char *name);
/* Decodes a tensor's little-endian float32 values into out (elements). */
void st_tensor_floats(const st_file *f, const st_tensor *t, float *out);
/* A __metadata__ value, or NULL. */
const char *st_metadata(const st_file *f, const char *key);
void st_file_free(st_file *f);
/* Writes the concatenation of parts to path atomically (see safetensors.c). */
ac_status st_write_atomic(const char *path, const unsigned char *const *parts,
                          const size_t *sizes, size_t n_parts, ac_error *err);

/* ----------------------------------------------------------- train.c */

/* Everything a training run needs besides the model, allocated once. */
typedef struct trainer {
    ac_params p;
    ac_acts acts, dacts;  /* activations and their gradients, capacity B */
    float *grads;         /* (n_params) */
    float *adam_m;        /* (n_params) */
    float *adam_v;        /* (n_params) */
    ac_tensors g, m, v;   /* named views of the three */
    int trainable[P_COUNT];
    long step;            /* AdamW's step counter, one for all tensors */
    uint32_t *order;      /* (N) row order of the current epoch */
    float *batch_x;       /* (B, F) rows of the current batch */
    int32_t *batch_y;     /* (B) their labels */
    float *batch_p;       /* (B, K) their soft targets (unsupervised training) */
    long sigint_at_step;  /* test hook: raise SIGINT after this step (0: never) */
    ac_status halt;       /* why training stopped early: AC_ERR_DIVERGED/INTERRUPTED */
    int halt_epoch, halt_step, halt_steps; /* where: 1-based epoch, step of steps */
    double halt_loss;
} trainer;

/* Buffers for batches of up to `capacity` rows of a set of N rows. */
ac_status trainer_init(trainer *tr, const ac_model *m, const ac_params *p, int capacity,
                       size_t N, ac_error *err);
/* One step on x (B, F), y (B): forward, mean cross-entropy (returned),
 * backward (stopping at the LayerNorm in Candle-compatible mode), AdamW.
 * Never allocates, never fails. */
double trainer_step(trainer *tr, ac_model *m, const float *x, const int32_t *y, int B,
                    int *correct);
/* The same step against soft targets (B, K): the unsupervised refinement. */
double trainer_step_soft(trainer *tr, ac_model *m, const float *x, const float *targets, int B);
void trainer_free(trainer *tr);
/* Copies into a trained model what it needs to be used on new data: ds's
 * names, normalisation, reference rows (a sample stratified by ds's labels
 * when it has them) and p. order (N) is scratch. */
ac_status keep_data_description(ac_model *m, const ac_dataset *ds, const ac_params *p,
                                uint32_t *order, ac_error *err);
/* p.epochs epochs of the chapter's loop over ds (labelled, N rows) in
 * batches of p.batch_size (at most the trainer's capacity), the shuffles
 * drawn from rng; the callback after each epoch may stop it. Returns AC_OK,
 * or the trainer's halt status when a step diverged or a stop was requested
 * (trainer_check). */
ac_status trainer_run_epochs(trainer *tr, ac_model *m, const ac_dataset *ds, ac_rng *rng,
                             ac_epoch_callback callback, void *user);
/* After a step of `loss` (step `step` of `steps` in epoch `epoch`, 0-based):
 * AC_ERR_DIVERGED if the loss or a weight is not finite, AC_ERR_INTERRUPTED
 * if a stop was requested, else AC_OK; records the position in tr. */
ac_status trainer_check(trainer *tr, const ac_model *m, double loss, int epoch, int step,
                        int steps);
/* Fills err with the trainer's halt: where it stopped and why. */
ac_status trainer_halt_error(const trainer *tr, ac_error *err);

/* ----------------------------------------------------------- optim.c */

/* One AdamW step over n parameters, Candle's rule (= PyTorch's AdamW):
 *   m = β1·m + (1-β1)·g,  v = β2·v + (1-β2)·g²
 *   θ = θ·(1 - lr·wd) - lr · (m / (1-β1^t)) / (√(v / (1-β2^t)) + eps)
 * t is the 1-based step count, shared by every tensor. */
void adamw_update(float *params, const float *grads, float *m, float *v, size_t n, double lr,
                  double beta1, double beta2, double eps, double weight_decay, long t);

#endif /* AC_INTERNAL_H */
