/*
 * attncluster.h - the public API of attncluster: cluster tabular data with a
 * self-attention model, in plain C11.
 *
 * The model is the one of the tutorial chapter "Clustering with Attention":
 *
 *   Q, K, V = X·Wqᵀ + bq, X·Wkᵀ + bk, X·Wvᵀ + bv      (B, H) each, from X (B, F)
 *   A       = softmax_rows(s · Q·Kᵀ)                    (B, B), s = 1 or 1/√H
 *   O       = (A·V)·Woᵀ + bo                            (B, H)
 *   Y       = LayerNorm(O)                              (B, H)
 *   logits  = Y·Wcᵀ + bc                                (B, K)
 *
 * Dimension letters, the same in every file: N rows in a data set, B rows in a
 * batch (the attention length), F input features, H hidden size, K clusters.
 *
 * Conventions:
 * - Every fallible function returns an ac_status (AC_OK is 0) and writes its
 *   results through out-parameters; on failure the out-parameters are left
 *   untouched and nothing is leaked.
 * - An optional ac_error (may be NULL) receives what went wrong, where and why.
 * - Whoever creates an object frees it; every *_free(NULL) is a no-op.
 * - Pointers returned by getters are borrowed: valid until the object is freed.
 * - The library never prints, never exits and never aborts on bad input.
 */
#ifndef ATTNCLUSTER_H
#define ATTNCLUSTER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AC_VERSION_MAJOR 0
#define AC_VERSION_MINOR 1
#define AC_VERSION_PATCH 0
#define AC_VERSION_STRING "0.1.0"
/* The version as one number that grows with each release, for #if tests:
 * MAJOR·10000 + MINOR·100 + PATCH (0.1.0 is 100, 1.2.3 is 10203). */
#define AC_VERSION_NUMBER \
    (AC_VERSION_MAJOR * 10000 + AC_VERSION_MINOR * 100 + AC_VERSION_PATCH)

/* The version of the library actually linked, e.g. "0.1.0". */
const char *ac_version(void);

/* Asks a training run in progress to stop at the end of its current step;
 * it then returns AC_ERR_INTERRUPTED saying where it stopped, and no model.
 * Safe to call from a signal handler (it sets a sig_atomic_t); the request
 * is used up by the run that stops for it. */
void ac_request_stop(void);

/* Threads for the library's parallel loops (OpenMP); results are identical
 * for any count. Returns the count in effect: 1 in a build without OpenMP. */
int ac_set_threads(int n);

/* ------------------------------------------------------------------ errors */

typedef enum ac_status {
    AC_OK = 0,
    AC_ERR_NOMEM,   /* an allocation failed */
    AC_ERR_IO,      /* a file could not be opened, read or written */
    AC_ERR_PARSE,   /* a file's contents do not follow the expected format */
    AC_ERR_DATA,    /* well-formed data that cannot be used (too few rows, ...) */
    AC_ERR_INVALID, /* an argument or parameter out of range */
    AC_ERR_DIVERGED,   /* training produced a NaN or infinite loss or weight */
    AC_ERR_INTERRUPTED /* training stopped by ac_request_stop (SIGINT in the tool) */
} ac_status;

/* A constant, human-readable name for a status ("out of memory", ...). */
const char *ac_status_str(ac_status status);

/* Where and why a call failed. `source` is a file name, "-" for standard input
 * or a description such as "built-in iris.csv"; empty when the error is not
 * about a source. `line` is 1-based, 0 when the error is not about one line;
 * `column` is the 1-based field index, 0 when not about one field. */
typedef struct ac_error {
    ac_status status;
    char source[256];
    long line;
    long column;
    char column_name[64]; /* the header's name of `column`, "" when unknown */
    char message[512];
} ac_error;

/* ----------------------------------------------------------------- dataset */

/* N rows of F float features, with an optional integer label per row, and
 * the names of the features and labels. */
typedef struct ac_dataset ac_dataset;
/* A model; see below. */
typedef struct ac_model ac_model;

/* Limits on what is read, checked before allocating for it; beyond them a
 * load fails with AC_ERR_DATA naming the limit. Memory for a load is
 * O(file size) for the text and O(rows × features) for the data set. */
#define AC_CSV_MAX_BYTES (1 << 30)   /* a CSV file: 1 GiB */
#define AC_CSV_MAX_LINE (1 << 20)    /* a physical line (the header too): 1 MiB */
#define AC_CSV_MAX_COLUMNS 65536     /* fields in a record */
#define AC_CSV_MAX_ROWS 100000000    /* data rows */

/* How to read a CSV file. ac_csv_options_default() gives the defaults. */
typedef enum ac_header_mode {
    AC_HEADER_AUTO = 0, /* the first record is a header when one of its fields is not a
                           number in a column that holds numbers below it */
    AC_HEADER_YES,
    AC_HEADER_NO        /* columns are named column_1, column_2, ... */
} ac_header_mode;

typedef struct ac_csv_options {
    ac_header_mode header; /* [AC_HEADER_AUTO] */
    /* The label column, by header name or 1-based index ("5"); NULL: the last
     * column when it is not numeric. [NULL] */
    const char *label;
    int no_label;          /* no label column at all [0] */
    /* The feature columns by name or index, in this order; NULL: every
     * numeric column but the label (text columns are left out). [NULL] */
    const char *const *features;
    size_t n_features;
    /* Drop rows with a missing value (empty, NA, NaN) in a used column,
     * instead of failing. [0] */
    int drop_missing;
} ac_csv_options;

ac_csv_options ac_csv_options_default(void);

/* What reading decided, for the caller to tell the user. */
typedef struct ac_csv_report {
    int header;               /* the first record was taken as a header */
    int header_detected;      /* ... by detection rather than AC_HEADER_YES */
    long header_column;       /* detection: the column (1-based) that showed it */
    long label_column;        /* 1-based, 0 when there is none */
    size_t ignored_columns;   /* text columns that are neither a feature nor the label */
    char ignored_first[64];   /* the first of them */
    size_t dropped_rows;      /* rows dropped for a missing value (drop_missing) */
    long dropped_first_line;  /* the line of the first */
} ac_csv_report;

/* Reads CSV (RFC 4180: quoted fields with "" for a quote, commas and
 * newlines inside quotes, CRLF or LF, a UTF-8 byte-order mark; spaces around
 * unquoted fields and around numbers are trimmed). Numbers are plain
 * decimals ([+-]digits[.digits][e[+-]digits]); inf, nan, hex and values
 * beyond float range are not numbers. Label values may be any text, mapped to
 * ids in order of first appearance. Every record must have the first
 * record's field count; blank lines are errors except at the end. "-" reads
 * standard input. options and report may be NULL. Errors: AC_ERR_IO (cannot
 * open or read), AC_ERR_PARSE (err->line: the physical line where the record
 * starts, err->column and err->column_name: the cell), AC_ERR_DATA (a named
 * column that does not exist, no feature column). */
ac_status ac_dataset_load_csv(const char *path, const ac_csv_options *options, ac_dataset **out,
                              ac_csv_report *report, ac_error *err);

/* The same over CSV text held in memory; `source` names it in messages. */
ac_status ac_dataset_parse_csv(const char *text, size_t length, const char *source,
                               const ac_csv_options *options, ac_dataset **out,
                               ac_csv_report *report, ac_error *err);

/* Fisher's 150 Iris rows, compiled into the library (the same bytes as
 * data/iris.csv); its source reads "built-in iris.csv". */
ac_status ac_dataset_load_builtin_iris(ac_dataset **out, ac_error *err);

/* Copies features (n_rows, n_features), row-major, and labels (n_rows), or
 * NULL for an unlabelled set. Features must be finite; labels must be >= 0.
 * The set's class count is the largest label plus one. */
ac_status ac_dataset_from_floats(const float *features, size_t n_rows, size_t n_features,
                                 const int32_t *labels, ac_dataset **out, ac_error *err);

void ac_dataset_free(ac_dataset *ds);

size_t ac_dataset_rows(const ac_dataset *ds);           /* N */
size_t ac_dataset_features_count(const ac_dataset *ds); /* F */
/* Borrowed (N, F) row-major features, in their current scaling. */
const float *ac_dataset_features(const ac_dataset *ds);
/* Borrowed (N) labels, or NULL when the set has none. */
const int32_t *ac_dataset_labels(const ac_dataset *ds);
/* Number of distinct label ids (largest label + 1); 0 when unlabelled. */
size_t ac_dataset_classes(const ac_dataset *ds);
/* The name given at load time ("data/iris.csv", "built-in iris.csv", "memory"). */
const char *ac_dataset_source(const ac_dataset *ds);
/* Feature f's name: the CSV header's, or "feature_1", ... for data from
 * memory; NULL past the end. */
const char *ac_dataset_feature_name(const ac_dataset *ds, size_t f);
/* Label id's name ("Iris-setosa"), or NULL when the set has none for it. */
const char *ac_dataset_label_name(const ac_dataset *ds, size_t id);
/* Replaces the feature names (F of them) and/or the label names (at least
 * ac_dataset_classes of them); either may be NULL to keep the current ones.
 * The strings are copied. */
ac_status ac_dataset_set_names(ac_dataset *ds, const char *const *feature_names,
                               const char *const *label_names, size_t n_label_names,
                               ac_error *err);

/* How features are scaled before the first layer; a model stores the fit. */
typedef enum ac_normalization {
    AC_NORMALIZE_NONE = 0,   /* features used as they are */
    AC_NORMALIZE_MINMAX = 1, /* (x - min) / (max - min): each column spans [0, 1], as the chapter */
    AC_NORMALIZE_ZSCORE = 2  /* (x - mean) / std (population std): mean 0, variance 1 */
} ac_normalization;

/* Scales every feature in place and remembers the fit (shift, scale), so
 * that a model trained on the set scales new data the same way. A constant
 * column (scale 0) maps to 0 rather than the chapter's 0/0 = NaN.
 * AC_ERR_INVALID if the set was scaled already; AC_ERR_NOMEM leaves it
 * unchanged. */
ac_status ac_dataset_normalize(ac_dataset *ds, ac_normalization kind, ac_error *err);

/* Makes raw data ready for a trained model: picks the model's features by
 * name, in the model's order (other columns are dropped), scales them with
 * the model's stored normalisation (never refitted), and maps the set's
 * label names onto the model's label ids (a label the model never saw gets
 * an id of its own past the model's). AC_ERR_DATA names a missing column;
 * AC_ERR_INVALID if the set was normalised already. On failure the set is
 * unchanged. */
ac_status ac_dataset_prepare_for_model(ac_dataset *ds, const ac_model *m, ac_error *err);

/* ------------------------------------------------------------------- model */

enum { AC_MODE_SUPERVISED = 0, AC_MODE_UNSUPERVISED = 1 };

typedef enum ac_attention_scale {
    AC_SCALE_NONE = 0, /* scores = Q·Kᵀ, as the chapter's code does */
    AC_SCALE_SQRT = 1  /* scores = Q·Kᵀ / √H, as "Attention is all you need" */
} ac_attention_scale;

/* Hyperparameters; ac_params_default() gives the chapter's values. */
typedef struct ac_params {
    int hidden;          /* H [64] */
    int clusters;        /* K [3] */
    int batch_size;      /* B [32] */
    int epochs;          /* [100] */
    double lr;           /* AdamW learning rate [0.001] */
    double weight_decay; /* AdamW decoupled weight decay [0.01] */
    double beta1;        /* [0.9] */
    double beta2;        /* [0.999] */
    double adam_eps;     /* [1e-8] */
    double layernorm_eps;/* added to the variance inside the square root [1e-5] */
    uint64_t seed;       /* one generator: initialisation, then the shuffles [42] */
    ac_attention_scale attention_scale; /* [AC_SCALE_NONE] */
    /* AC_MODE_SUPERVISED: cross-entropy against the labels (the chapter);
     * AC_MODE_UNSUPERVISED: ac_train_unsupervised, labels never read.
     * [AC_MODE_SUPERVISED] */
    int mode;
    /* Train as Candle actually does: its fused LayerNorm records no gradient,
     * so only cluster_proj is ever updated (not even weight decay touches the
     * rest). [0] */
    int candle_compat;
} ac_params;

ac_params ac_params_default(void);

/* AC_ERR_INVALID with a message naming the first field out of range. */
ac_status ac_params_validate(const ac_params *p, ac_error *err);

/* Which rows a prediction's attention runs across. */
typedef enum ac_context {
    /* Each row attends over the model's stored reference rows plus itself,
     * so its prediction does not depend on the other rows passed with it. */
    AC_CONTEXT_REFERENCE = 0,
    /* Rows attend across all the rows passed, as the chapter's inference:
     * a row's cluster can change with its neighbours. */
    AC_CONTEXT_BATCH = 1
} ac_context;

/* At most this many training rows are kept as a model's reference rows;
 * a larger training set is represented by a seeded sample stratified by
 * label (proportional to each class's share, at least one row per class). */
#define AC_MAX_REFERENCE_ROWS 1000

/* How a model was trained, as stored in its file (informative). */
typedef struct ac_training_info {
    int known;          /* 0 for a model that was never trained or whose file says nothing */
    ac_params params;   /* hyperparameters and seed */
    size_t rows;        /* N */
    uint64_t data_hash; /* FNV-1a 64 of the scaled features (float32 LE), then labels (int32 LE) */
} ac_training_info;

/* A model for F input features with weights drawn from a generator seeded by
 * p->seed, in the chapter's creation order, with Candle's initialisers:
 * Linear weight ~ Normal(0, √(2/fan_in)), bias ~ Uniform[-1/√fan_in, 1/√fan_in),
 * LayerNorm weight 1, bias 0. */
ac_status ac_model_create(const ac_params *p, size_t n_features, ac_model **out, ac_error *err);
void ac_model_free(ac_model *m);

size_t ac_model_features_count(const ac_model *m); /* F */
size_t ac_model_hidden(const ac_model *m);         /* H */
size_t ac_model_clusters(const ac_model *m);       /* K */
ac_attention_scale ac_model_attention_scale(const ac_model *m);
/* Feature f's name, the column the model reads it from; NULL past the end. */
const char *ac_model_feature_name(const ac_model *m, size_t f);
/* The label names the model knows (label id i = cluster i in supervised
 * training); 0 and NULL when it knows none. */
size_t ac_model_label_count(const ac_model *m);
const char *ac_model_label_name(const ac_model *m, size_t id);
/* The stored normalisation x' = (x - shift) / scale; *shift and *scale
 * (F each, borrowed; NULL for AC_NORMALIZE_NONE). */
ac_normalization ac_model_normalization(const ac_model *m, const float **shift,
                                        const float **scale);
/* R, and the (R, F) scaled reference rows (borrowed) when rows is not NULL. */
size_t ac_model_reference_rows(const ac_model *m, const float **rows);
const ac_training_info *ac_model_training(const ac_model *m);
/* The attncluster_version recorded in the file the model was loaded from
 * ("0.1.0", "pytorch-reference"); "" for a model created or trained here. */
const char *ac_model_written_by(const ac_model *m);

/* The model's parameter tensors, in creation order. Index 0 .. count-1;
 * the name is the chapter's VarBuilder path ("self_attention.query_proj.weight"),
 * the shape is (rows, cols) with cols == 1 for vectors, data is borrowed and
 * may be written (to load weights). Returns AC_ERR_INVALID past the end. */
size_t ac_model_tensor_count(const ac_model *m);
ac_status ac_model_tensor(ac_model *m, size_t index, const char **name, size_t *rows,
                          size_t *cols, float **data);

/* Predicts n rows of already-scaled features x (n, F) (see
 * ac_dataset_prepare_for_model). Writes the arg-max cluster of each row to
 * clusters (n) when not NULL and the softmax probabilities to probs (n, K)
 * when not NULL. AC_CONTEXT_REFERENCE needs O((R + chunk)·H) working memory,
 * AC_CONTEXT_BATCH O(n²) for the attention weights; AC_ERR_NOMEM if that
 * cannot be had. */
ac_status ac_model_predict(const ac_model *m, const float *x, size_t n, ac_context context,
                           int32_t *clusters, float *probs, ac_error *err);

/* Writes the model to a safetensors file (docs/model-format.md) that
 * Candle and PyTorch can read: a temporary file in the same directory,
 * flushed and fsynced, renamed over `path`, then the directory fsynced, so
 * that a crash at any moment leaves either the old file or the new one,
 * whole. On failure `path` is untouched. AC_ERR_IO names what failed. */
ac_status ac_model_save(const ac_model *m, const char *path, ac_error *err);

/* Reads a model written by ac_model_save (or by bench/reference/). The file
 * is checked before it is trusted: header size, strict JSON, F32 tensors
 * whose shapes agree with the metadata and each other, offsets that tile
 * the data exactly, finite weights. Errors are AC_ERR_IO or AC_ERR_PARSE
 * naming the problem. */
ac_status ac_model_load(const char *path, ac_model **out, ac_error *err);

/* ---------------------------------------------------------------- training */

typedef struct ac_epoch_report {
    int epoch;       /* 0-based */
    int epochs;      /* total */
    double loss;     /* unweighted mean over the epoch's batches of each batch's mean loss */
    double accuracy; /* unweighted mean over batches of the fraction argmax(logits) == label */
} ac_epoch_report;

/* Called after every epoch; returning non-zero stops training after it. */
typedef int (*ac_epoch_callback)(const ac_epoch_report *report, void *user);

/* Trains a new model; with p->mode AC_MODE_UNSUPERVISED this is
 * ac_train_unsupervised. Otherwise on a labelled data set with
 * cross-entropy against the labels and AdamW, as the chapter does: each epoch a Fisher-Yates shuffle
 * of the rows, then ceil(N / batch_size) batches in that order. Features are
 * used as they are (scale them first with ac_dataset_normalize); the
 * model keeps the set's feature and label names, its normalisation and its
 * reference rows (AC_MAX_REFERENCE_ROWS).
 * Errors: AC_ERR_INVALID (bad params), AC_ERR_DATA (no labels, fewer rows
 * than clusters, a label >= clusters), AC_ERR_NOMEM, AC_ERR_DIVERGED (a
 * non-finite loss or weight: the message names the epoch and step),
 * AC_ERR_INTERRUPTED (ac_request_stop). All memory is allocated before the
 * first step; a training step itself never allocates. */
ac_status ac_train(const ac_dataset *ds, const ac_params *p, ac_epoch_callback callback,
                   void *user, ac_model **out, ac_error *err);

/* A trained model keeps the report of each epoch (every epoch up to this
 * many; beyond, every ceil(epochs / AC_MAX_HISTORY)-th and the last), and
 * its file records them (training.history in docs/model-format.md). */
#define AC_MAX_HISTORY 1000

/* The epoch reports the model keeps, in order (*reports borrowed, epoch
 * 0-based); 0 and NULL for a model that was not trained here and whose file
 * records none. */
size_t ac_model_history(const ac_model *m, const ac_epoch_report **reports);

/* ------------------------------------------------------------------- files */

/* Writes size bytes to path atomically, as ac_model_save does: a
 * temporary file beside it, fsynced and renamed over it. On failure path is
 * untouched and err says what failed (AC_ERR_IO). */
ac_status ac_file_write_atomic(const char *path, const void *data, size_t size, ac_error *err);

/* Trains the attention model to cluster without labels (read unsupervised.c
 * for the method): k-means++ on the scaled features gives a first
 * assignment; a warm-up trains on it until the model agrees with it on 99%
 * of the rows or for half of p->epochs, whichever comes first; the
 * remaining epochs refine it by self-training against sharpened targets
 * (DEC), keeping the
 * previous model if an epoch would leave a cluster with under 1% of the
 * rows. The set's labels, if any, are never read. The epoch reports of the
 * refinement carry the loss and a NaN accuracy. Errors as ac_train. */
ac_status ac_train_unsupervised(const ac_dataset *ds, const ac_params *p,
                                ac_epoch_callback callback, void *user, ac_model **out,
                                ac_error *err);

/* ----------------------------------------------------------------- metrics */

/* Fraction of rows whose cluster id equals their label id: the chapter's
 * "clustering accuracy", which assumes cluster k means class k. */
double ac_accuracy_raw(const int32_t *clusters, const int32_t *labels, size_t n);

/* The contingency table (K, C), row-major: table[k·C + c] counts the rows in
 * cluster k with label c. clusters[i] must be in [0, K), labels[i] in
 * [0, C); AC_ERR_INVALID otherwise. */
ac_status ac_contingency(const int32_t *clusters, size_t K, const int32_t *labels, size_t C,
                         size_t n, uint64_t *table, ac_error *err);

/* Scores of a clustering against labels, each as scikit-learn computes it
 * (sklearn.metrics, version 1.2), edge cases included. Clusters and labels
 * with no rows are ignored, as scikit-learn only sees the ids that occur.
 * (AMI uses lgamma, which writes the global signgam: do not call this from
 * several threads at once.) */
typedef struct ac_label_metrics {
    double raw_accuracy;     /* cluster id == label id (the chapter's) */
    double matched_accuracy; /* after the one-to-one matching of clusters to labels that
                                maximises it (Hungarian algorithm) */
    double ari;              /* adjusted Rand index */
    double nmi;              /* normalised mutual information, arithmetic mean */
    double ami;              /* adjusted mutual information, arithmetic mean */
    double purity;           /* Σ_k max_c table[k, c] / n */
} ac_label_metrics;

ac_status ac_metrics_labels(const int32_t *clusters, size_t K, const int32_t *labels, size_t C,
                            size_t n, ac_label_metrics *out, ac_error *err);

/* Silhouette is exact (O(n²)) up to this many rows; beyond it, the mean over
 * a seeded uniform sample of this many rows (as scikit-learn's sample_size). */
#define AC_SILHOUETTE_EXACT_MAX 5000

/* Scores that need no labels, on the (scaled) features x (n, F), Euclidean. */
typedef struct ac_geometry_metrics {
    double silhouette;        /* mean silhouette, in [-1, 1]; NaN when undefined */
    size_t silhouette_rows;   /* rows it was computed over: n or the sample */
    double davies_bouldin;    /* lower is better; NaN when undefined */
    double calinski_harabasz; /* higher is better; NaN when undefined */
} ac_geometry_metrics;

/* Metrics over the clusters that have rows (empty ones are ignored, as
 * scikit-learn relabels). All three are NaN where scikit-learn raises:
 * fewer than 2 non-empty clusters, or as many non-empty clusters as rows.
 * silhouette_rows is n or the sample size even then. AC_ERR_INVALID for
 * n = 0, F = 0, a cluster id out of range or a non-finite feature. */
ac_status ac_metrics_geometry(const float *x, size_t n, size_t F, const int32_t *clusters,
                              size_t K, uint64_t seed, ac_geometry_metrics *out, ac_error *err);

/* ------------------------------------------------------------------ k-means */

/* The k-means baseline (k-means++ seeding, Lloyd iterations, restarts). */
typedef struct ac_kmeans_params {
    int clusters;    /* K */
    int restarts;    /* independent seedings, the lowest inertia kept [10] */
    int max_iter;    /* Lloyd iterations per restart [300] */
    double tol;      /* stop when the centres move less than tol × the mean feature
                        variance (squared distance summed over centres) [1e-4] */
    uint64_t seed;   /* [42] */
} ac_kmeans_params;

ac_kmeans_params ac_kmeans_default_params(int K);

/* Clusters x (n, F): clusters (n), centers (K, F) when not NULL, and the
 * inertia (sum of squared distances to the assigned centre) when not NULL.
 * AC_ERR_INVALID unless 1 <= K <= n; AC_ERR_NOMEM. */
ac_status ac_kmeans(const float *x, size_t n, size_t F, const ac_kmeans_params *p,
                    int32_t *clusters, float *centers, double *inertia, ac_error *err);

/* -------------------------------------------------------------- evaluation */

/* A new data set of the rows whose mask[i] is non-zero (keep = 1) or zero
 * (keep = 0), with the same names; unscaled when ds is unscaled. */
ac_status ac_dataset_subset(const ac_dataset *ds, const unsigned char *mask, int keep,
                            ac_dataset **out, ac_error *err);

/* Marks round(test_fraction · n_c) rows of each label c as test rows
 * (is_test (N) = 1), chosen by a generator seeded by `seed`; stratified by
 * label when the set has labels, uniform otherwise. Each class of two or
 * more rows keeps at least one row on each side. */
ac_status ac_split_holdout(const ac_dataset *ds, double test_fraction, uint64_t seed,
                           unsigned char *is_test, ac_error *err);

/* Assigns each row a fold in [0, folds) (fold (N)), stratified by label:
 * every fold holds each class in proportion, give or take one row. */
ac_status ac_split_folds(const ac_dataset *ds, int folds, uint64_t seed, int32_t *fold,
                         ac_error *err);

/* Held-out scores of one split. */
typedef struct ac_evaluation {
    size_t train_rows, test_rows;
    int has_labels;               /* labels were scored */
    ac_label_metrics labels;      /* valid when has_labels */
    ac_geometry_metrics geometry; /* on the test rows, scaled as the model scales them */
} ac_evaluation;

/* Trains on the rows not marked in is_test and scores the marked ones, with
 * nothing of the test rows reaching the training or the normalisation fit:
 * the training rows are normalised with `norm` (fitted on them alone), a
 * model trained with p, and the test rows prepared and predicted exactly as
 * `attncluster predict` does (the model's stored scaling, the reference
 * context). raw must be unscaled. The trained model is handed to the caller
 * through model_out when it is not NULL (the caller frees it). */
ac_status ac_evaluate_split(const ac_dataset *raw, const unsigned char *is_test,
                            const ac_params *p, ac_normalization norm, ac_evaluation *out,
                            ac_model **model_out, ac_error *err);

/* Per-cluster profiles of rows x (n, F) scaled as model m scales them, in
 * the data's own units: sizes (K), and per cluster and feature the mean
 * (K, F), minimum and maximum (K, F); NaN for an empty cluster. */
ac_status ac_cluster_profiles(const ac_model *m, const float *x, size_t n,
                              const int32_t *clusters, size_t *sizes, double *means,
                              float *mins, float *maxs, ac_error *err);

/* ---------------------------------------------------------------- choosing K */

typedef struct ac_sweep_result {
    int clusters;                 /* K */
    ac_geometry_metrics geometry; /* of the clustering with K clusters */
} ac_sweep_result;

/* Clusters the (scaled) set for every K in kmin..kmax, with k-means when
 * use_kmeans, else with ac_train and p (p->clusters ignored), and scores
 * each clustering with the metrics that need no labels: out[K - kmin]. */
ac_status ac_sweep(const ac_dataset *ds, const ac_params *p, int use_kmeans, int kmin, int kmax,
                   ac_sweep_result *out, ac_error *err);

/* The index of the best result by silhouette (the first of equals), or -1
 * when no silhouette is defined. */
int ac_sweep_best(const ac_sweep_result *r, int count);

/* ------------------------------------------------------------------ pictures */

/* The first `components` principal components of the rows x (n, F): each
 * row, centred on the mean row, projected on them (projected (n, components),
 * row-major), and the share of the total variance each component explains
 * (explained (components), may be NULL). Components are unit vectors in
 * order of decreasing variance, each signed so that its largest-magnitude
 * entry is positive (so that the picture of a data set does not flip between
 * runs). 1 <= components <= F; computed in double by subspace iteration,
 * O(n·F) memory-free passes over x. Rows with no variance project to 0 and
 * explain 0. AC_ERR_INVALID for n = 0, components out of range or a
 * non-finite value; AC_ERR_NOMEM. */
ac_status ac_pca(const float *x, size_t n, size_t F, size_t components, float *projected,
                 double *explained, ac_error *err);

/* Attention weights of a forward pass, as a heat map shows them. */
typedef struct ac_attention_map {
    ac_context context;   /* which forward: across the rows (batch) or over the reference rows */
    size_t rows, cols;    /* query rows shown, key rows shown */
    size_t total_rows;    /* n: the rows the query rows were drawn from */
    size_t total_keys;    /* keys each softmax ran over: n (batch), R + 1 (reference) */
    size_t *row_index;    /* (rows) indices into x, ordered by cluster, then index */
    int32_t *row_cluster; /* (rows) */
    size_t *col_index;    /* (cols) into x (batch: the query rows again), or into the
                             model's reference rows (reference), ordered likewise */
    int32_t *col_cluster; /* (cols) */
    float *weights;       /* (rows, cols): weight of key col_index[j] in query row_index[i]'s
                             softmax (a row sums to 1 only when every key is shown) */
} ac_attention_map;

/* The attention weights of a forward pass of m over the scaled rows x (n, F)
 * in `context`, for at most max_rows query rows (all when n <= max_rows,
 * else a uniform sample drawn by a generator seeded by `seed`). Batch: the
 * keys shown are the same rows, each softmax normalised over all n rows, as
 * in the chapter's pass over the whole data set. Reference: the keys shown
 * are the model's reference rows (a sample of max_rows when there are more),
 * each softmax normalised over the R reference rows and the row itself.
 * clusters (n) are the rows' clusters (their order); the reference rows'
 * clusters are predicted. Weights are computed again in the direct form
 * (scores in float, softmax sums in double), equal to the prediction's to
 * float rounding. AC_ERR_INVALID for n = 0 or max_rows = 0, AC_ERR_DATA for a
 * reference context on a model without reference rows; AC_ERR_NOMEM. On
 * success free with ac_attention_map_free. */
ac_status ac_attention_map_compute(const ac_model *m, const float *x, size_t n,
                                   ac_context context, const int32_t *clusters, size_t max_rows,
                                   uint64_t seed, ac_attention_map *out, ac_error *err);
void ac_attention_map_free(ac_attention_map *map);

/* Pictures as self-contained SVG files (no scripts, no external fonts or
 * images), 800 px wide, with a title, axis titles and a legend; written
 * atomically as ac_file_write_atomic. Names (labels, titles) may be any
 * text: it is escaped, and bytes that are not UTF-8 become '?'. */

/* At most this many points in a projection: a seeded sample beyond it. */
#define AC_PLOT_MAX_POINTS 5000
/* At most this many rows in an attention heat map. */
#define AC_PLOT_MAX_ATTENTION_ROWS 256

/* Loss and accuracy per epoch, two panels over a shared epoch axis; a NaN
 * accuracy (unsupervised refinement) leaves a gap. n >= 1. */
ac_status ac_plot_training(const char *path, const ac_epoch_report *epochs, size_t n,
                           const char *title, ac_error *err);

/* Points xy (n, 2), coloured by cluster (K of them), with the true label as
 * marker shape when labels (n) is not NULL (label_names: C names, or NULL
 * for "label 0", ...). x_title and y_title name the axes. Beyond
 * AC_PLOT_MAX_POINTS rows a sample drawn with `seed` is drawn, and the
 * picture says so. */
ac_status ac_plot_projection(const char *path, const float *xy, size_t n,
                             const int32_t *clusters, size_t K, const int32_t *labels,
                             const char *const *label_names, size_t C, const char *x_title,
                             const char *y_title, const char *title, uint64_t seed,
                             ac_error *err);

/* A heat map of map->weights, rows and columns in the map's (cluster) order,
 * lines between clusters, a colour bar. */
ac_status ac_plot_attention(const char *path, const ac_attention_map *map, const char *title,
                            ac_error *err);

/* The contingency table (K, C) as ac_contingency fills it: a grid of counts
 * shaded by size, clusters down, labels across (label_names as above). */
ac_status ac_plot_contingency(const char *path, const uint64_t *table, size_t K, size_t C,
                              const char *const *label_names, const char *title,
                              ac_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ATTNCLUSTER_H */
