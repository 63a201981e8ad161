/*
 * test_model_file.c - model files: a save/load round trip that keeps every
 * bit, the safetensors layout Candle expects, a file written by the PyTorch
 * reference, a catalogue of broken and hostile files (each refused with its
 * own message), atomic saves checked by stopping and killing a save
 * half-way, and every allocation failure along a save and a load.
 */
#define _POSIX_C_SOURCE 200809L

#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static ac_model *trained_model(int epochs)
{
    ac_dataset *ds = NULL;
    ac_model *m = NULL;
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&ds, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    ac_params p = ac_params_default();
    p.epochs = epochs;
    CHECK_INT_EQ(ac_train(ds, &p, NULL, NULL, &m, NULL), AC_OK);
    ac_dataset_free(ds);
    return m;
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    *size = fread(buf, 1, (size_t)n, fp);
    fclose(fp);
    return buf;
}

static void spit(const char *path, const void *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        fwrite(data, 1, size, fp);
        fclose(fp);
    }
}

/* A safetensors file from header text (padded here) and data bytes; the
 * length field is `length_override` when not 0. */
static void write_st(const char *path, const char *header, const unsigned char *data,
                     size_t data_len, uint64_t length_override)
{
    size_t hlen = strlen(header), padded = (hlen + 7) / 8 * 8;
    size_t total = 8 + padded + data_len;
    unsigned char *buf = malloc(total);
    uint64_t len = length_override ? length_override : padded;
    for (int b = 0; b < 8; b++)
        buf[b] = (unsigned char)(len >> (8 * b));
    memcpy(buf + 8, header, hlen);
    memset(buf + 8 + hlen, ' ', padded - hlen);
    if (data_len)
        memcpy(buf + 8 + padded, data, data_len);
    spit(path, buf, total);
    free(buf);
}

static void models_equal(const ac_model *a, const ac_model *b)
{
    CHECK_INT_EQ(a->F, b->F);
    CHECK_INT_EQ(a->H, b->H);
    CHECK_INT_EQ(a->K, b->K);
    CHECK_INT_EQ(a->scale, b->scale);
    CHECK(a->layernorm_eps == b->layernorm_eps);
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0);
    CHECK_INT_EQ(a->normalization, b->normalization);
    if (a->normalization != AC_NORMALIZE_NONE && a->normalization == b->normalization) {
        CHECK(memcmp(a->norm_shift, b->norm_shift, (size_t)a->F * sizeof(float)) == 0);
        CHECK(memcmp(a->norm_scale, b->norm_scale, (size_t)a->F * sizeof(float)) == 0);
    }
    for (int f = 0; f < a->F && f < b->F; f++)
        CHECK(strcmp(a->feature_names[f], b->feature_names[f]) == 0);
    CHECK_INT_EQ(a->n_labels, b->n_labels);
    for (size_t l = 0; l < a->n_labels && l < b->n_labels; l++)
        CHECK(strcmp(a->label_names[l], b->label_names[l]) == 0);
    CHECK_INT_EQ(a->n_reference, b->n_reference);
    if (a->n_reference == b->n_reference && a->n_reference)
        CHECK(memcmp(a->reference_rows, b->reference_rows,
                     a->n_reference * (size_t)a->F * sizeof(float)) == 0);
    CHECK_INT_EQ(a->training.known, b->training.known);
    CHECK(a->training.params.lr == b->training.params.lr);
    CHECK(a->training.params.weight_decay == b->training.params.weight_decay);
    CHECK_INT_EQ(a->training.params.epochs, b->training.params.epochs);
    CHECK_INT_EQ(a->training.params.batch_size, b->training.params.batch_size);
    CHECK_INT_EQ(a->training.params.seed, b->training.params.seed);
    CHECK_INT_EQ(a->training.params.candle_compat, b->training.params.candle_compat);
    CHECK_INT_EQ(a->training.rows, b->training.rows);
    CHECK(a->training.data_hash == b->training.data_hash);
    /* the history, to the 9 digits the file keeps */
    CHECK_INT_EQ(a->n_history, b->n_history);
    for (size_t i = 0; i < a->n_history && i < b->n_history; i++) {
        CHECK_INT_EQ(a->history[i].epoch, b->history[i].epoch);
        CHECK_INT_EQ(a->history[i].epochs, b->history[i].epochs);
        CHECK_NEAR(a->history[i].loss, b->history[i].loss, 1e-8 * fabs(a->history[i].loss));
        CHECK(isnan(a->history[i].accuracy) == isnan(b->history[i].accuracy));
        if (!isnan(a->history[i].accuracy))
            CHECK_NEAR(a->history[i].accuracy, b->history[i].accuracy, 1e-8);
    }
}

/* The epoch reports, as the callback saw them. */
typedef struct seen_epochs {
    ac_epoch_report r[3000];
    int n;
} seen_epochs;

static int keep_epoch(const ac_epoch_report *r, void *user)
{
    seen_epochs *s = user;
    if (s->n < 3000)
        s->r[s->n++] = *r;
    return 0;
}

/* A model keeps every epoch's report up to AC_MAX_HISTORY; beyond, every
 * ceil(E / AC_MAX_HISTORY)-th and the last; the file keeps them all, NaN
 * accuracies (unsupervised refinement) as null. */
static void the_training_history_is_kept_and_saved(void)
{
    static seen_epochs seen;
    float x[8 * 2];
    int32_t y[8];
    for (int i = 0; i < 8; i++) {
        x[2 * i] = (float)(i % 2);
        x[2 * i + 1] = (float)i / 8.0f;
        y[i] = i % 2;
    }
    ac_dataset *tiny = NULL, *iris = NULL;
    CHECK_INT_EQ(ac_dataset_from_floats(x, 8, 2, y, &tiny, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_load_builtin_iris(&iris, NULL), AC_OK);
    CHECK_INT_EQ(ac_dataset_normalize(iris, AC_NORMALIZE_MINMAX, NULL), AC_OK);
    for (int mode = 0; mode < 2 && tiny && iris; mode++) {
        /* supervised on 8 rows, long; unsupervised on Iris (8 rows collapse) */
        ac_dataset *ds = mode == 0 ? tiny : iris;
        ac_params p = ac_params_default();
        p.hidden = mode == 0 ? 4 : 64;
        p.clusters = mode == 0 ? 2 : 3;
        p.epochs = mode == 0 ? 2500 : 40;
        p.mode = mode == 0 ? AC_MODE_SUPERVISED : AC_MODE_UNSUPERVISED;
        seen.n = 0;
        ac_model *m = NULL, *back = NULL;
        CHECK_INT_EQ(ac_train(ds, &p, keep_epoch, &seen, &m, NULL), AC_OK);
        if (!m)
            break;
        const ac_epoch_report *h = NULL;
        size_t n = ac_model_history(m, &h);
        CHECK_INT_EQ(seen.n, p.epochs);
        if (mode == 0) {
            /* stride 3: epochs 0, 3, ..., 2496 (833 of them), then 2499 */
            CHECK_INT_EQ(n, 834);
            for (size_t i = 0; i < n && i < 833; i++)
                CHECK_INT_EQ(h[i].epoch, (int)(3 * i));
            CHECK_INT_EQ(h[n - 1].epoch, 2499);
        } else {
            CHECK_INT_EQ(n, 40);
            CHECK(isnan(h[n - 1].accuracy)); /* the refinement has no accuracy */
        }
        for (size_t i = 0; i < n; i++) {
            const ac_epoch_report *r = &seen.r[h[i].epoch];
            CHECK(h[i].loss == r->loss);
            CHECK(h[i].accuracy == r->accuracy || (isnan(h[i].accuracy) && isnan(r->accuracy)));
            CHECK_INT_EQ(h[i].epochs, p.epochs);
        }
        const char *path = tmp_path("history.safetensors");
        CHECK_INT_EQ(ac_model_save(m, path, NULL), AC_OK);
        CHECK_INT_EQ(ac_model_load(path, &back, NULL), AC_OK);
        if (back)
            models_equal(m, back);
        ac_model_free(m);
        ac_model_free(back);
    }
    ac_dataset_free(tiny);
    ac_dataset_free(iris);
    /* A model that was never trained has none, and its file says none. */
    ac_params p = ac_params_default();
    ac_model *fresh = NULL, *back = NULL;
    CHECK_INT_EQ(ac_model_create(&p, 3, &fresh, NULL), AC_OK);
    CHECK_INT_EQ(ac_model_history(fresh, NULL), 0);
    CHECK_INT_EQ(ac_model_save(fresh, tmp_path("fresh.safetensors"), NULL), AC_OK);
    CHECK_INT_EQ(ac_model_load(tmp_path("fresh.safetensors"), &back, NULL), AC_OK);
    if (back)
        CHECK_INT_EQ(ac_model_history(back, NULL), 0);
    ac_model_free(fresh);
    ac_model_free(back);
}

static void a_saved_model_loads_back_bit_for_bit(void)
{
    ac_model *m = trained_model(3), *back = NULL;
    const char *path = tmp_path("roundtrip.safetensors");
    ac_error err;
    CHECK_INT_EQ(ac_model_save(m, path, &err), AC_OK);
    CHECK_INT_EQ(ac_model_load(path, &back, &err), AC_OK);
    if (back) {
        models_equal(m, back);
        CHECK(strcmp(ac_model_written_by(back), AC_VERSION_STRING) == 0);
    }
    ac_model_free(m);
    ac_model_free(back);
}

/* Candle's layout: header padded with spaces to a multiple of 8, tensors
 * packed from offset 0 in the order of their sorted names. */
static void the_file_follows_the_safetensors_layout_candle_writes(void)
{
    ac_model *m = trained_model(1);
    const char *path = tmp_path("layout.safetensors");
    CHECK_INT_EQ(ac_model_save(m, path, NULL), AC_OK);
    size_t size;
    unsigned char *bytes = slurp(path, &size);
    CHECK(bytes && size > 8);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | bytes[b];
    CHECK(hlen % 8 == 0);
    CHECK(bytes[8 + hlen - 1] == '}' || bytes[8 + hlen - 1] == ' ');
    st_file f;
    CHECK_INT_EQ(st_read_file(path, &f, NULL), AC_OK);
    CHECK_INT_EQ(f.count, P_COUNT + 1);
    /* In the header's order of sorted names, offsets rise from 0. */
    const char *prev = "";
    uint64_t offset = 0;
    for (size_t round = 0; round < f.count; round++) {
        const st_tensor *next = NULL;
        for (size_t i = 0; i < f.count; i++)
            if (strcmp(f.tensors[i].name, prev) > 0 &&
                (!next || strcmp(f.tensors[i].name, next->name) < 0))
                next = &f.tensors[i];
        CHECK(next != NULL);
        if (!next)
            break;
        CHECK_INT_EQ(next->offset, offset);
        offset += next->bytes;
        prev = next->name;
    }
    CHECK_INT_EQ(8 + hlen + offset, size);
    const st_tensor *w = st_find(&f, "self_attention.query_proj.weight");
    CHECK(w && w->ndim == 2 && w->shape[0] == 64 && w->shape[1] == 4);
    const st_tensor *b = st_find(&f, "cluster_proj.bias");
    CHECK(b && b->ndim == 1 && b->shape[0] == 3);
    CHECK(st_metadata(&f, "feature_min") && strchr(st_metadata(&f, "feature_min"), '['));
    CHECK(strcmp(st_metadata(&f, "format"), "attncluster-model") == 0);
    st_file_free(&f);
    free(bytes);
    ac_model_free(m);
}

/* tests/fixtures/reference_model.safetensors was written by
 * bench/reference/train_reference.py; its predictions, made by PyTorch, are
 * in reference_model_predictions.csv. */
static void a_model_written_by_pytorch_predicts_what_pytorch_predicted(void)
{
    ac_model *m = NULL;
    ac_dataset *ds = NULL;
    ac_error err;
    CHECK_INT_EQ(ac_model_load("tests/fixtures/reference_model.safetensors", &m, &err), AC_OK);
    CHECK_INT_EQ(ac_dataset_load_csv("data/iris.csv", NULL, &ds, NULL, &err), AC_OK);
    if (!m || !ds) {
        ac_model_free(m);
        ac_dataset_free(ds);
        return;
    }
    CHECK(strcmp(ac_model_written_by(m), "pytorch-reference") == 0);
    CHECK_INT_EQ(ac_dataset_prepare_for_model(ds, m, &err), AC_OK);
    size_t n = ac_dataset_rows(ds);
    int32_t *clusters = malloc(n * sizeof *clusters);
    CHECK_INT_EQ(ac_model_predict(m, ac_dataset_features(ds), n, AC_CONTEXT_REFERENCE, clusters,
                                  NULL, &err),
                 AC_OK);
    FILE *fp = fopen("tests/fixtures/reference_model_predictions.csv", "r");
    CHECK(fp != NULL);
    char line[128];
    size_t rows = 0, agree = 0;
    if (fp && fgets(line, sizeof line, fp)) {
        CHECK(strncmp(line, "row,cluster", 11) == 0);
        unsigned long row;
        int cluster;
        while (fgets(line, sizeof line, fp) && sscanf(line, "%lu,%d", &row, &cluster) == 2) {
            CHECK(row == rows);
            agree += row < n && clusters[row] == cluster;
            rows++;
        }
    }
    if (fp)
        fclose(fp);
    CHECK_INT_EQ(rows, n);
    CHECK_INT_EQ(agree, n);
    free(clusters);
    ac_model_free(m);
    ac_dataset_free(ds);
}

/* ------------------------------------------------------------ broken files */

/* The valid file's header text and data, to mutate. */
static char *good_header;
static unsigned char *good_data;
static size_t good_data_len;

static void load_good(void)
{
    ac_model *m = trained_model(1);
    const char *path = tmp_path("good.safetensors");
    CHECK_INT_EQ(ac_model_save(m, path, NULL), AC_OK);
    ac_model_free(m);
    size_t size;
    unsigned char *bytes = slurp(path, &size);
    uint64_t hlen = 0;
    for (int b = 7; b >= 0; b--)
        hlen = (hlen << 8) | bytes[b];
    good_header = malloc(hlen + 1);
    memcpy(good_header, bytes + 8, hlen);
    good_header[hlen] = '\0';
    while (hlen && good_header[hlen - 1] == ' ')
        good_header[--hlen] = '\0';
    good_data_len = size - 8 - (size_t)((hlen + 7) / 8 * 8);
    good_data = malloc(good_data_len);
    memcpy(good_data, bytes + size - good_data_len, good_data_len);
    free(bytes);
}

/* good_header with the first `from` replaced by `to`. */
static char *mutate(const char *from, const char *to)
{
    const char *at = strstr(good_header, from);
    CHECK(at != NULL);
    if (!at)
        return NULL;
    size_t n = strlen(good_header) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    size_t pre = (size_t)(at - good_header);
    memcpy(out, good_header, pre);
    strcpy(out + pre, to);
    strcat(out, at + strlen(from));
    return out;
}

static void expect_refused(const char *name, const char *fragment, ac_status status)
{
    ac_model *m = NULL;
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_model_load(tmp_path(name), &m, &err);
    if (st != status || !strstr(err.message, fragment))
        fprintf(stderr, "  %s: status %d, message '%s' (expected %d and '%s')\n", name, st,
                err.message, status, fragment);
    CHECK_INT_EQ(st, status);
    CHECK_STR_CONTAINS(err.message, fragment);
    CHECK(m == NULL);
    CHECK(strcmp(err.source, tmp_path(name)) == 0);
}

static void refuse_header(const char *name, const char *from, const char *to,
                          const char *fragment)
{
    char *h = mutate(from, to);
    if (!h)
        return;
    write_st(tmp_path(name), h, good_data, good_data_len, 0);
    free(h);
    expect_refused(name, fragment, AC_ERR_PARSE);
}

static void broken_and_hostile_files_are_refused_with_a_reason(void)
{
    load_good();
    /* Sanity: the unmutated header, rewritten by this test, loads. */
    write_st(tmp_path("rewritten.safetensors"), good_header, good_data, good_data_len, 0);
    ac_model *ok = NULL;
    CHECK_INT_EQ(ac_model_load(tmp_path("rewritten.safetensors"), &ok, NULL), AC_OK);
    ac_model_free(ok);

    /* The container. */
    spit(tmp_path("empty.st"), "", 0);
    expect_refused("empty.st", "too short", AC_ERR_PARSE);
    write_st(tmp_path("huge_len.st"), good_header, good_data, good_data_len, (uint64_t)1 << 40);
    expect_refused("huge_len.st", "header length", AC_ERR_PARSE);
    write_st(tmp_path("past_end.st"), good_header, good_data, 16, 0);
    expect_refused("past_end.st", "cover", AC_ERR_PARSE);
    unsigned char *longer = malloc(good_data_len + 4);
    memcpy(longer, good_data, good_data_len);
    memset(longer + good_data_len, 0, 4);
    write_st(tmp_path("trailing.st"), good_header, longer, good_data_len + 4, 0);
    expect_refused("trailing.st", "cover", AC_ERR_PARSE);
    free(longer);
    write_st(tmp_path("truncated.st"), good_header, good_data, good_data_len - 4, 0);
    expect_refused("truncated.st", "cover", AC_ERR_PARSE);
    write_st(tmp_path("not_json.st"), "{\"a\": nope}", NULL, 0, 0);
    expect_refused("not_json.st", "header JSON", AC_ERR_PARSE);
    write_st(tmp_path("array.st"), "[1, 2]", NULL, 0, 0);
    expect_refused("array.st", "not a JSON object", AC_ERR_PARSE);
    write_st(tmp_path("deep.st"), "{\"__metadata__\":{\"a\":[[[[[1]]]]]}}", NULL, 0, 0);
    expect_refused("deep.st", "nesting", AC_ERR_PARSE);
    /* The training history. */
    refuse_header("history_epoch.st", "\"training.history\":\"[[1,", "\"training.history\":\"[[2,",
                  "is not [epoch, loss, accuracy]");
    refuse_header("history_zero.st", "\"training.history\":\"[[1,", "\"training.history\":\"[[0,",
                  "entry 0 is not [epoch, loss, accuracy]");
    refuse_header("history_flat.st", "\"training.history\":\"[[1,", "\"training.history\":\"[1,[",
                  "entry 0 is not");
    refuse_header("history_text.st", "\"training.history\":\"[[1,", "\"training.history\":\"x[[1,",
                  "'training.history' is not a JSON array");
    refuse_header("history_alone.st", "\"training.lr\"", "\"training.lx\"",
                  "'training.history' but no other training.* key");
    write_st(tmp_path("trailing_comma.st"), "{\"__metadata__\":{},}", NULL, 0, 0);
    expect_refused("trailing_comma.st", "header JSON", AC_ERR_PARSE);
    write_st(tmp_path("bad_utf8.st"), "{\"__metadata__\":{\"a\":\"\xff\"}}", NULL, 0, 0);
    expect_refused("bad_utf8.st", "UTF-8", AC_ERR_PARSE);

    /* A weights-only file, as Candle's VarMap::save writes: no metadata. */
    write_st(tmp_path("weights_only.st"),
             "{\"cluster_proj.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             good_data, 4, 0);
    expect_refused("weights_only.st", "no __metadata__", AC_ERR_PARSE);

    /* Tensor entries. */
    refuse_header("dup_key.st", "{\"__metadata__\"",
                  "{\"cluster_proj.bias\":{},\"cluster_proj.bias\":{},\"__metadata__\"",
                  "duplicate key");
    refuse_header("f16.st", "\"dtype\":\"F32\"", "\"dtype\":\"F16\"", "dtype F16");
    refuse_header("extra_key.st", "\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"x\":1",
                  "exactly dtype, shape and data_offsets");
    refuse_header("overflow.st", "\"shape\":[3]", "\"shape\":[4611686018427387904,8]",
                  "shape too large");
    refuse_header("negative.st", "\"shape\":[3]", "\"shape\":[-3]", "other than a size");
    refuse_header("offsets_mismatch.st", "\"shape\":[3]", "\"shape\":[2]",
                  "do not hold 2 float32 values");
    refuse_header("overlap.st", "\"data_offsets\":[0,2400]", "\"data_offsets\":[4,2404]",
                  "no gap or overlap");
    refuse_header("unknown_tensor.st", "\"cluster_proj.bias\"", "\"cluster_proj.bais\"",
                  "unexpected tensor 'cluster_proj.bais'");

    /* The metadata. */
    refuse_header("no_format.st", "\"format\":", "\"formats\":", "no 'format'");
    refuse_header("format_v2.st", "\"format_version\":\"1\"", "\"format_version\":\"2\"",
                  "format version 2");
    refuse_header("hidden_mismatch.st", "\"hidden_size\":\"64\"", "\"hidden_size\":\"32\"",
                  "has shape [64,4] (expected [32,4]");
    refuse_header("bad_int.st", "\"clusters\":\"3\"", "\"clusters\":\"3x\"",
                  "'clusters' is '3x'");
    refuse_header("no_scale.st", "\"attention_scale\":\"none\"", "\"attention_scale\":\"cube\"",
                  "'attention_scale'");
    refuse_header("min_count.st", "\"feature_min\":\"[", "\"feature_min\":\"[1,",
                  "'feature_min' has 5 entries (expected 4)");
    refuse_header("not_string.st", "\"format_version\":\"1\"", "\"format_version\":1",
                  "not a string");
    refuse_header("dup_feature.st", "sepal_width", "sepal_length", "appears twice");
    refuse_header("ref_rows.st", "\"reference_rows\":\"150\"", "\"reference_rows\":\"149\"",
                  "attncluster.reference_rows' has shape [150,4] (expected [149,4]");
    refuse_header("hash.st", "fnv1a64:", "md5:", "training.data_hash");
    /* Sizes that call for more data than the file holds are refused before
     * anything is allocated for them (found by fuzzing: 16 GiB zeroed). */
    refuse_header("huge_claim.st", "\"hidden_size\":\"64\"", "\"hidden_size\":\"65536\"",
                  "call for");

    /* A NaN weight. */
    unsigned char *nan_data = malloc(good_data_len);
    memcpy(nan_data, good_data, good_data_len);
    nan_data[0] = 0x00, nan_data[1] = 0x00, nan_data[2] = 0xc0, nan_data[3] = 0x7f;
    write_st(tmp_path("nan.st"), good_header, nan_data, good_data_len, 0);
    expect_refused("nan.st", "expected finite values", AC_ERR_PARSE);
    free(nan_data);

    /* Not files. */
    expect_refused("does_not_exist.st", "cannot open", AC_ERR_IO);
    mkdir(tmp_path("a_directory.st"), 0755);
    expect_refused("a_directory.st", "Is a directory", AC_ERR_IO);
    free(good_header);
    free(good_data);
}

/* --------------------------------------------------------------- atomicity */

static int file_equals(const char *path, const unsigned char *data, size_t size)
{
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    int same = bytes && n == size && memcmp(bytes, data, size) == 0;
    free(bytes);
    return same;
}

static int leftover_temp_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strstr(e->d_name, ".tmp-") != NULL;
    if (d)
        closedir(d);
    return n;
}

static void remove_temp_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp-"))
            unlink(tmp_path(e->d_name));
    if (d)
        closedir(d);
}

/* Saves m over path in a child that the save hook stops (or kills) half-way
 * through writing. Returns the child's pid, stopped, for "STOP"; waits for
 * it for "KILL". */
static pid_t save_in_child(const ac_model *m, const char *path, const char *signal_name,
                           int *status)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ATTNCLUSTER_TEST_SAVE_SIGNAL", signal_name, 1);
        _exit(ac_model_save(m, path, NULL) == AC_OK ? 0 : 3);
    }
    waitpid(pid, status, WUNTRACED);
    return pid;
}

static void a_save_stopped_half_way_leaves_the_old_file_whole(void)
{
    const char *path = tmp_path("atomic.safetensors");
    ac_model *old_model = trained_model(1), *new_model = trained_model(2);
    CHECK_INT_EQ(ac_model_save(old_model, path, NULL), AC_OK);
    size_t old_size;
    unsigned char *old_bytes = slurp(path, &old_size);

    int status;
    pid_t pid = save_in_child(new_model, path, "STOP", &status);
    CHECK(WIFSTOPPED(status));
    /* Mid-save: the target is the old file, byte for byte, and still loads;
     * the half-written temporary file sits beside it. */
    CHECK(file_equals(path, old_bytes, old_size));
    CHECK_INT_EQ(leftover_temp_files(), 1);
    ac_model *during = NULL;
    CHECK_INT_EQ(ac_model_load(path, &during, NULL), AC_OK);
    ac_model_free(during);
    kill(pid, SIGCONT);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* After: the new model, whole; no temporary file left. */
    ac_model *after = NULL;
    CHECK_INT_EQ(ac_model_load(path, &after, NULL), AC_OK);
    if (after)
        models_equal(after, new_model);
    CHECK_INT_EQ(leftover_temp_files(), 0);
    ac_model_free(after);

    /* Killed half-way: the target is still the new model of the last save. */
    size_t size;
    unsigned char *bytes = slurp(path, &size);
    save_in_child(old_model, path, "KILL", &status);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(file_equals(path, bytes, size));
    ac_model *survivor = NULL;
    CHECK_INT_EQ(ac_model_load(path, &survivor, NULL), AC_OK);
    ac_model_free(survivor);
    remove_temp_files();
    free(bytes);
    free(old_bytes);
    ac_model_free(old_model);
    ac_model_free(new_model);
}

static void a_failed_save_creates_and_touches_nothing(void)
{
    ac_model *m = trained_model(1);
    ac_error err;
    const char *missing_dir = tmp_path("no/such/dir/model.safetensors");
    CHECK_INT_EQ(ac_model_save(m, missing_dir, &err), AC_ERR_IO);
    CHECK_STR_CONTAINS(err.message, "cannot save");
    struct stat st;
    CHECK(stat(missing_dir, &st) != 0);
    mkdir(tmp_path("target_is_dir"), 0755);
    CHECK_INT_EQ(ac_model_save(m, tmp_path("target_is_dir"), &err), AC_ERR_IO);
    CHECK(stat(tmp_path("target_is_dir"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_INT_EQ(ac_model_save(m, tmp_path("trailing_slash/"), &err), AC_ERR_IO);
    CHECK_INT_EQ(leftover_temp_files(), 0);
    ac_model_free(m);
}

/* ---------------------------------------------------------- out of memory */

static void every_allocation_failure_in_save_and_load_is_clean(void)
{
    ac_model *m = trained_model(1);
    const char *path = tmp_path("oom.safetensors");
    CHECK_INT_EQ(ac_model_save(m, path, NULL), AC_OK);
    size_t size;
    unsigned char *before = slurp(path, &size);
    int saved = 0, loaded = 0;
    for (size_t n = 1; n < 400 && !saved; n++) {
        ac_alloc_fail_at(n);
        ac_status st = ac_model_save(m, path, NULL);
        ac_alloc_fail_at(0);
        if (st == AC_OK)
            saved = 1;
        else {
            CHECK_INT_EQ(st, AC_ERR_NOMEM);
            CHECK(file_equals(path, before, size));
        }
    }
    for (size_t n = 1; n < 400 && !loaded; n++) {
        ac_model *back = NULL;
        ac_alloc_fail_at(n);
        ac_status st = ac_model_load(path, &back, NULL);
        ac_alloc_fail_at(0);
        if (st == AC_OK) {
            loaded = 1;
            ac_model_free(back);
        } else {
            CHECK_INT_EQ(st, AC_ERR_NOMEM);
            CHECK(back == NULL);
        }
    }
    CHECK(saved && loaded);
    CHECK_INT_EQ(leftover_temp_files(), 0);
    free(before);
    ac_model_free(m);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/attncluster-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN_TEST(a_saved_model_loads_back_bit_for_bit);
    RUN_TEST(the_file_follows_the_safetensors_layout_candle_writes);
    RUN_TEST(a_model_written_by_pytorch_predicts_what_pytorch_predicted);
    RUN_TEST(the_training_history_is_kept_and_saved);
    RUN_TEST(broken_and_hostile_files_are_refused_with_a_reason);
    RUN_TEST(a_save_stopped_half_way_leaves_the_old_file_whole);
    RUN_TEST(a_failed_save_creates_and_touches_nothing);
    RUN_TEST(every_allocation_failure_in_save_and_load_is_clean);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    TEST_MAIN_END();
}
