/*
 * fuzz_model.c - libFuzzer harness for the model loader: the safetensors
 * container (src/safetensors.c), its strict JSON header (src/json.c) and
 * the model layer on top (src/model_file.c).
 *
 * ac_model_load reads a path, so each input is written to one temporary
 * file per process (mkstemp in $TMPDIR, else /dev/shm or /tmp; removed at
 * exit) and loaded
 * from there. Each input is loaded as it is, and then, when its 8-byte
 * header length is not the length of the JSON object that follows it (found
 * by matching braces outside strings), once more with that length put
 * right: a mutation that inserts or erases bytes in the header then still
 * reaches the JSON reader and the model layer instead of stopping at the
 * length check. A model that loads must be usable: every getter is read, and
 * ac_model_predict runs on a few rows (values taken from the input) in both
 * contexts; a cluster out of range or a failure other than out of memory
 * aborts, so that the fuzzer records the input. It is then saved with
 * ac_model_save and loaded back, which must give the same model (sizes,
 * names, scaling, weights bit for bit): the writer is fuzzed too. Everything is freed:
 * LeakSanitizer checks it.
 *
 * Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined) and, with
 * the replay driver fuzz/replay.c, by `make test` (tests/test_fuzz_model.c).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "attncluster.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREDICT_ROWS 3

static char model_path[4096];
static int model_fd = -1;

static void remove_model_file(void)
{
    if (model_fd >= 0) {
        close(model_fd);
        unlink(model_path);
        model_fd = -1;
    }
}

/* Writes the input to the temporary file; 0 when that fails. */
static int write_model_file(const uint8_t *data, size_t size)
{
    if (model_fd < 0) {
        /* tmpfs (/dev/shm) when there is one: a write per run costs a third
         * of the time it costs on a disk. */
        const char *dir = getenv("TMPDIR");
        if (!dir || !*dir)
            dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(model_path, sizeof model_path, "%s/attncluster-fuzz-model-XXXXXX", dir);
        model_fd = mkstemp(model_path);
        if (model_fd < 0)
            return 0;
        atexit(remove_model_file);
    }
    if (ftruncate(model_fd, 0) != 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t w = pwrite(model_fd, data + done, size - done, (off_t)done);
        if (w <= 0)
            return 0;
        done += (size_t)w;
    }
    return 1;
}

/* Reads everything a loaded model exposes (ASan checks each byte). */
static void read_getters(ac_model *m)
{
    size_t F = ac_model_features_count(m), K = ac_model_clusters(m);
    if (F == 0 || K == 0 || ac_model_hidden(m) == 0)
        abort();
    for (size_t f = 0; f < F; f++) {
        const char *name = ac_model_feature_name(m, f);
        if (!name)
            abort();
        (void)strlen(name);
    }
    if (ac_model_feature_name(m, F) != NULL)
        abort();
    for (size_t c = 0; c < ac_model_label_count(m); c++) {
        const char *name = ac_model_label_name(m, c);
        if (!name)
            abort();
        (void)strlen(name);
    }
    const float *shift = NULL, *scale = NULL;
    volatile float sum = 0.0f;
    if (ac_model_normalization(m, &shift, &scale) != AC_NORMALIZE_NONE) {
        if (!shift || !scale)
            abort();
        for (size_t f = 0; f < F; f++)
            sum += shift[f] + scale[f];
    }
    const float *rows = NULL;
    size_t R = ac_model_reference_rows(m, &rows);
    for (size_t i = 0; i < R * F; i++)
        sum += rows[i];
    (void)ac_model_attention_scale(m);
    if (!ac_model_training(m))
        abort();
    (void)strlen(ac_model_written_by(m));
    for (size_t i = 0; i < ac_model_tensor_count(m); i++) {
        const char *name;
        size_t r, c;
        float *t;
        if (ac_model_tensor(m, i, &name, &r, &c, &t) != AC_OK)
            abort();
        (void)strlen(name);
        for (size_t j = 0; j < r * c; j++)
            sum += t[j];
    }
    (void)sum;
}

/* Saves a loaded model and loads the file back: the writer must make a
 * file the reader takes, with the same sizes, names, scaling and weights,
 * bit for bit (floats are stored raw or as %.9g, which round-trips). */
static void round_trip(ac_model *m)
{
    char saved[sizeof model_path + 8];
    snprintf(saved, sizeof saved, "%s.saved", model_path);
    ac_error err;
    ac_status st = ac_model_save(m, saved, &err);
    if (st != AC_OK) {
        if (st != AC_ERR_NOMEM && st != AC_ERR_IO)
            abort();
        return;
    }
    ac_model *back = NULL;
    st = ac_model_load(saved, &back, &err);
    unlink(saved);
    if (st == AC_ERR_NOMEM)
        return;
    if (st != AC_OK)
        abort();
    size_t F = ac_model_features_count(m);
    if (ac_model_features_count(back) != F || ac_model_hidden(back) != ac_model_hidden(m) ||
        ac_model_clusters(back) != ac_model_clusters(m) ||
        ac_model_attention_scale(back) != ac_model_attention_scale(m) ||
        ac_model_label_count(back) != ac_model_label_count(m))
        abort();
    for (size_t f = 0; f < F; f++)
        if (strcmp(ac_model_feature_name(back, f), ac_model_feature_name(m, f)) != 0)
            abort();
    for (size_t c = 0; c < ac_model_label_count(m); c++)
        if (strcmp(ac_model_label_name(back, c), ac_model_label_name(m, c)) != 0)
            abort();
    const float *s1 = NULL, *k1 = NULL, *s2 = NULL, *k2 = NULL;
    ac_normalization n1 = ac_model_normalization(m, &s1, &k1);
    if (ac_model_normalization(back, &s2, &k2) != n1)
        abort();
    if (n1 != AC_NORMALIZE_NONE &&
        (memcmp(s1, s2, F * sizeof *s1) != 0 || memcmp(k1, k2, F * sizeof *k1) != 0))
        abort();
    const float *r1 = NULL, *r2 = NULL;
    size_t R = ac_model_reference_rows(m, &r1);
    if (ac_model_reference_rows(back, &r2) != R || (R && memcmp(r1, r2, R * F * sizeof *r1) != 0))
        abort();
    for (size_t i = 0; i < ac_model_tensor_count(m); i++) {
        size_t a_rows, a_cols, b_rows, b_cols;
        float *a, *b;
        const char *name;
        ac_model_tensor(m, i, &name, &a_rows, &a_cols, &a);
        ac_model_tensor(back, i, &name, &b_rows, &b_cols, &b);
        if (a_rows != b_rows || a_cols != b_cols || memcmp(a, b, a_rows * a_cols * sizeof *a) != 0)
            abort();
    }
    /* Training: the integers exactly (the learning rates are doubles that
     * %.9g may round). */
    const ac_training_info *t1 = ac_model_training(m), *t2 = ac_model_training(back);
    if (t1->known != t2->known ||
        (t1->known && (t1->rows != t2->rows || t1->data_hash != t2->data_hash ||
                       t1->params.seed != t2->params.seed ||
                       t1->params.epochs != t2->params.epochs ||
                       t1->params.batch_size != t2->params.batch_size ||
                       t1->params.candle_compat != t2->params.candle_compat)))
        abort();
    ac_model_free(back);
}

/* Predicts PREDICT_ROWS rows in both contexts. */
static void predict(const ac_model *m, const uint8_t *data, size_t size)
{
    size_t F = ac_model_features_count(m), K = ac_model_clusters(m);
    float *x = malloc(PREDICT_ROWS * F * sizeof *x);
    int32_t *clusters = malloc(PREDICT_ROWS * sizeof *clusters);
    float *probs = malloc(PREDICT_ROWS * K * sizeof *probs);
    if (!x || !clusters || !probs)
        goto out;
    /* Scaled features in about [-1, 2], from the input's last bytes. */
    for (size_t i = 0; i < PREDICT_ROWS * F; i++)
        x[i] = size ? (float)data[size - 1 - i % size] / 85.0f - 1.0f : 0.5f;
    for (int context = 0; context < 2; context++) {
        ac_error err;
        ac_status st = ac_model_predict(m, x, PREDICT_ROWS, (ac_context)context, clusters, probs,
                                        &err);
        if (st == AC_ERR_NOMEM)
            continue;
        if (st != AC_OK)
            abort();
        for (size_t i = 0; i < PREDICT_ROWS; i++)
            if (clusters[i] < 0 || (size_t)clusters[i] >= K)
                abort();
    }
out:
    free(x);
    free(clusters);
    free(probs);
}

/* The length of the JSON object at text[0..n) (through its closing brace),
 * or 0 when it does not close. */
static size_t json_object_length(const uint8_t *text, size_t n)
{
    if (n == 0 || text[0] != '{')
        return 0;
    size_t depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0 && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

static void load_one(const uint8_t *data, size_t size)
{
    if (!write_model_file(data, size))
        return;
    ac_model *m = NULL;
    ac_error err;
    memset(&err, 0, sizeof err);
    ac_status st = ac_model_load(model_path, &m, &err);
    if (st != AC_OK) {
        if (m != NULL || err.status != st || memchr(err.message, '\0', sizeof err.message) == NULL)
            abort();
        return;
    }
    if (!m)
        abort();
    read_getters(m);
    predict(m, data, size);
    round_trip(m);
    ac_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load_one(data, size);
    if (size < 8)
        return 0;
    uint64_t stated = 0;
    for (int i = 7; i >= 0; i--)
        stated = stated << 8 | data[i];
    size_t actual = json_object_length(data + 8, size - 8);
    if (actual == 0)
        return 0;
    /* A stated length that covers the object and then only padding (as
     * ac_model_save writes: spaces up to a multiple of 8) is right already. */
    if (stated >= actual && stated <= size - 8) {
        size_t i = actual;
        while (i < stated && (data[8 + i] == ' ' || data[8 + i] == '\t' ||
                              data[8 + i] == '\n' || data[8 + i] == '\r'))
            i++;
        if (i == stated)
            return 0;
    }
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return 0;
    memcpy(fixed, data, size);
    for (int i = 0; i < 8; i++)
        fixed[i] = (uint8_t)((uint64_t)actual >> (8 * i));
    load_one(fixed, size);
    free(fixed);
    return 0;
}
