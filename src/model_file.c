/*
 * model_file.c - a model as a safetensors file (docs/model-format.md): the
 * chapter's twelve tensors under their VarBuilder names, the reference rows
 * as `attncluster.reference_rows`, and in __metadata__ everything else the
 * model needs to be used on new data (sizes, scaling, names) and how it was
 * trained. The container itself is safetensors.c's.
 */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORMAT_NAME "attncluster-model"
#define FORMAT_VERSION 1
#define REFERENCE_TENSOR "attncluster.reference_rows"
#define N_TENSORS (P_COUNT + 1)

/* A tensor to write or to expect: name, data, shape. */
typedef struct tensor_ref {
    const char *name;
    float *data;
    size_t ndim;
    uint64_t shape[2];
} tensor_ref;

/* The file's tensors, in the model's order, reference rows last. */
static void list_tensors(const ac_model *m, tensor_ref *t)
{
    for (int i = 0; i < P_COUNT; i++) {
        t[i].name = ac_tensor_names[i];
        t[i].data = m->p.t[i];
        t[i].ndim = m->cols[i] == 1 ? 1 : 2; /* biases and LayerNorm are vectors */
        t[i].shape[0] = m->rows[i];
        t[i].shape[1] = m->cols[i];
    }
    t[P_COUNT].name = REFERENCE_TENSOR;
    t[P_COUNT].data = m->reference_rows;
    t[P_COUNT].ndim = 2;
    t[P_COUNT].shape[0] = m->n_reference;
    t[P_COUNT].shape[1] = (uint64_t)m->F;
}

static uint64_t elements_of(const tensor_ref *t)
{
    return t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1];
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const tensor_ref *)a)->name, ((const tensor_ref *)b)->name);
}

/* ------------------------------------------------------------------- saving */

static void json_float_array(sbuf *b, const float *x, size_t n)
{
    sbuf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_puts(b, ",");
        sbuf_json_float(b, (double)x[i]);
    }
    sbuf_puts(b, "]");
}

static void json_string_array(sbuf *b, char *const *s, size_t n)
{
    sbuf_puts(b, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            sbuf_puts(b, ",");
        sbuf_json_string(b, s[i], strlen(s[i]));
    }
    sbuf_puts(b, "]");
}

/* Appends "key":"value" to the metadata object, value escaped. */
static void meta(sbuf *header, int *first, const char *key, const char *value)
{
    sbuf_puts(header, *first ? "" : ",");
    *first = 0;
    sbuf_json_string(header, key, strlen(key));
    sbuf_puts(header, ":");
    sbuf_json_string(header, value, strlen(value));
}

static void metaf(sbuf *header, int *first, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void metaf(sbuf *header, int *first, const char *key, const char *fmt, ...)
{
    char value[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof value, fmt, ap);
    va_end(ap);
    meta(header, first, key, value);
}

static void write_metadata(sbuf *h, const ac_model *m)
{
    int first = 1;
    sbuf text = {0};
    sbuf_puts(h, "\"__metadata__\":{");
    meta(h, &first, "format", FORMAT_NAME);
    metaf(h, &first, "format_version", "%d", FORMAT_VERSION);
    meta(h, &first, "attncluster_version", AC_VERSION_STRING);
    metaf(h, &first, "features", "%d", m->F);
    metaf(h, &first, "hidden_size", "%d", m->H);
    metaf(h, &first, "clusters", "%d", m->K);
    meta(h, &first, "attention_scale", m->scale == AC_SCALE_SQRT ? "sqrt" : "none");
    metaf(h, &first, "layernorm_eps", "%.9g", (double)m->layernorm_eps);
    static const char *const kinds[] = {"none", "minmax", "zscore"};
    static const char *const shift_key[] = {"", "feature_min", "feature_mean"};
    static const char *const scale_key[] = {"", "feature_range", "feature_std"};
    int kind = (int)m->normalization;
    meta(h, &first, "normalization", kinds[kind]);
    if (m->normalization != AC_NORMALIZE_NONE) {
        json_float_array(&text, m->norm_shift, (size_t)m->F);
        meta(h, &first, shift_key[kind], text.failed ? "" : text.data);
        text.len = 0;
        json_float_array(&text, m->norm_scale, (size_t)m->F);
        meta(h, &first, scale_key[kind], text.failed ? "" : text.data);
        text.len = 0;
    }
    json_string_array(&text, m->feature_names, (size_t)m->F);
    meta(h, &first, "feature_names", text.failed ? "" : text.data);
    text.len = 0;
    json_string_array(&text, m->label_names, m->n_labels);
    meta(h, &first, "label_names", text.failed ? "" : text.data);
    metaf(h, &first, "reference_rows", "%zu", m->n_reference);
    if (m->training.known) {
        const ac_params *p = &m->training.params;
        metaf(h, &first, "training.lr", "%.9g", p->lr);
        metaf(h, &first, "training.weight_decay", "%.9g", p->weight_decay);
        metaf(h, &first, "training.beta1", "%.9g", p->beta1);
        metaf(h, &first, "training.beta2", "%.9g", p->beta2);
        metaf(h, &first, "training.adam_eps", "%.9g", p->adam_eps);
        metaf(h, &first, "training.batch_size", "%d", p->batch_size);
        metaf(h, &first, "training.epochs", "%d", p->epochs);
        metaf(h, &first, "training.seed", "%llu", (unsigned long long)p->seed);
        meta(h, &first, "training.candle_compat", p->candle_compat ? "true" : "false");
        metaf(h, &first, "training.rows", "%zu", m->training.rows);
        metaf(h, &first, "training.data_hash", "fnv1a64:%016llx",
              (unsigned long long)m->training.data_hash);
    }
    if (m->n_history) {
        /* [[epoch (1-based), loss, accuracy or null], ...] */
        text.len = 0;
        sbuf_puts(&text, "[");
        for (size_t i = 0; i < m->n_history; i++) {
            sbuf_printf(&text, "%s[%d,", i ? "," : "", m->history[i].epoch + 1);
            sbuf_json_float(&text, m->history[i].loss);
            sbuf_puts(&text, ",");
            sbuf_json_float(&text, m->history[i].accuracy);
            sbuf_puts(&text, "]");
        }
        sbuf_puts(&text, "]");
        meta(h, &first, "training.history", text.failed ? "" : text.data);
    }
    sbuf_puts(h, "}");
    if (text.failed)
        h->failed = 1;
    sbuf_free(&text);
}

ac_status ac_model_save(const ac_model *m, const char *path, ac_error *err)
{
    tensor_ref t[N_TENSORS];
    list_tensors(m, t);
    qsort(t, N_TENSORS, sizeof t[0], compare_names); /* packed in sorted-name order */

    sbuf header = {0};
    sbuf_puts(&header, "{");
    write_metadata(&header, m);
    uint64_t offset = 0;
    for (int i = 0; i < N_TENSORS; i++) {
        uint64_t bytes = elements_of(&t[i]) * 4;
        sbuf_puts(&header, ",");
        sbuf_json_string(&header, t[i].name, strlen(t[i].name));
        if (t[i].ndim == 1)
            sbuf_printf(&header, ":{\"dtype\":\"F32\",\"shape\":[%llu]",
                        (unsigned long long)t[i].shape[0]);
        else
            sbuf_printf(&header, ":{\"dtype\":\"F32\",\"shape\":[%llu,%llu]",
                        (unsigned long long)t[i].shape[0], (unsigned long long)t[i].shape[1]);
        sbuf_printf(&header, ",\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                    (unsigned long long)(offset + bytes));
        offset += bytes;
    }
    sbuf_puts(&header, "}");
    /* Spaces up to a multiple of 8, so that the data starts 8-aligned. */
    while (!header.failed && header.len % 8 != 0)
        sbuf_puts(&header, " ");

    unsigned char length[8];
    unsigned char *data = ac_alloc((size_t)offset + 1);
    if (header.failed || !data) {
        sbuf_free(&header);
        ac_free(data);
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory saving the model");
    }
    for (int b = 0; b < 8; b++)
        length[b] = (unsigned char)((uint64_t)header.len >> (8 * b));
    /* float32 little-endian, whatever the host's byte order. */
    unsigned char *p = data;
    for (int i = 0; i < N_TENSORS; i++)
        for (uint64_t j = 0; j < elements_of(&t[i]); j++, p += 4) {
            uint32_t bits;
            memcpy(&bits, &t[i].data[j], 4);
            p[0] = (unsigned char)bits;
            p[1] = (unsigned char)(bits >> 8);
            p[2] = (unsigned char)(bits >> 16);
            p[3] = (unsigned char)(bits >> 24);
        }
    const unsigned char *parts[3] = {length, (const unsigned char *)header.data, data};
    size_t sizes[3] = {8, header.len, (size_t)offset};
    ac_status st = st_write_atomic(path, parts, sizes, 3, err);
    sbuf_free(&header);
    ac_free(data);
    return st;
}

/* ------------------------------------------------------------------ loading */

#define BAD(...) ac_set_error(err, AC_ERR_PARSE, path, 0, 0, __VA_ARGS__)

/* A metadata value that must be there. */
static ac_status need(const st_file *f, const char *path, const char *key, const char **value,
                      ac_error *err)
{
    *value = st_metadata(f, key);
    if (!*value)
        return BAD("__metadata__ has no '%s' (expected every key of docs/model-format.md)", key);
    return AC_OK;
}

/* Plain decimal digits, value in [min, max]. */
static ac_status parse_uint(const char *path, const char *key, const char *s, uint64_t min,
                            uint64_t max, uint64_t *out, ac_error *err)
{
    uint64_t v = 0;
    int ok = *s != '\0';
    for (const char *c = s; *c && ok; c++) {
        if (*c < '0' || *c > '9' || v > (UINT64_MAX - (uint64_t)(*c - '0')) / 10)
            ok = 0;
        else
            v = v * 10 + (uint64_t)(*c - '0');
    }
    if (!ok || v < min || v > max)
        return BAD("__metadata__ '%s' is '%.40s' (expected an integer from %llu to %llu)", key, s,
                   (unsigned long long)min, (unsigned long long)max);
    *out = v;
    return AC_OK;
}

/* A finite number in the strict JSON grammar. */
static ac_status parse_real(const char *path, const char *key, const char *s, double *out,
                            ac_error *err)
{
    json_value *v = NULL;
    ac_status st = json_parse(s, strlen(s), 1, &v, NULL, NULL);
    if (st == AC_ERR_NOMEM)
        return ac_set_error(err, st, path, 0, 0, "out of memory");
    if (st != AC_OK || v->type != JSON_NUMBER) {
        json_free(v);
        return BAD("__metadata__ '%s' is '%.40s' (expected a number)", key, s);
    }
    *out = v->number;
    json_free(v);
    return AC_OK;
}

/* A JSON array, as text in the metadata value of `key`, nesting at most
 * `depth` containers. */
static ac_status parse_json_array(const char *path, const char *key, const char *s, int depth,
                                  json_value **out, ac_error *err)
{
    const char *why = "not an array";
    size_t where = 0;
    json_value *v = NULL;
    ac_status st = json_parse(s, strlen(s), depth, &v, &why, &where);
    if (st == AC_ERR_NOMEM)
        return ac_set_error(err, st, path, 0, 0, "out of memory");
    if (st != AC_OK || v->type != JSON_ARRAY) {
        json_free(v);
        return BAD("__metadata__ '%s' is not a JSON array (%s at byte %zu)", key, why, where);
    }
    *out = v;
    return AC_OK;
}

/* A JSON array, as text in a metadata value, of exactly n numbers (n_out
 * floats) or of strings (n strings, or any count when n is SIZE_MAX). */
static ac_status parse_array(const char *path, const char *key, const char *s, size_t n,
                             int strings, json_value **out, ac_error *err)
{
    json_value *v = NULL;
    ac_status st = parse_json_array(path, key, s, 1, &v, err);
    if (st != AC_OK)
        return st;
    if (n != SIZE_MAX && v->count != n) {
        size_t got = v->count;
        json_free(v);
        return BAD("__metadata__ '%s' has %zu entries (expected %zu)", key, got, n);
    }
    for (size_t i = 0; i < v->count; i++)
        if (v->items[i]->type != (strings ? JSON_STRING : JSON_NUMBER)) {
            json_free(v);
            return BAD("__metadata__ '%s' entry %zu is not a %s", key, i,
                       strings ? "string" : "number");
        }
    *out = v;
    return AC_OK;
}

/* Copies an array of JSON strings into a new char * array. */
static char **copy_strings(const json_value *v)
{
    char **out = ac_calloc(v->count ? v->count : 1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0; i < v->count; i++)
        if (!(out[i] = string_copy(v->items[i]->string))) {
            strings_free(out, i);
            return NULL;
        }
    return out;
}

/* The optional training.* keys: all-or-nothing, each checked when there. */
static ac_status load_training(const st_file *f, const char *path, ac_training_info *t,
                               ac_error *err)
{
    const char *lr = st_metadata(f, "training.lr");
    if (!lr)
        return AC_OK;
    static const char *const keys[] = {
        "training.weight_decay", "training.beta1", "training.beta2", "training.adam_eps",
        "training.batch_size", "training.epochs", "training.seed", "training.candle_compat",
        "training.rows", "training.data_hash"};
    const char *v[10];
    ac_status st;
    for (int i = 0; i < 10; i++)
        if ((st = need(f, path, keys[i], &v[i], err)) != AC_OK)
            return st;
    ac_params *p = &t->params;
    *p = ac_params_default();
    uint64_t u = 0;
    if ((st = parse_real(path, "training.lr", lr, &p->lr, err)) ||
        (st = parse_real(path, keys[0], v[0], &p->weight_decay, err)) ||
        (st = parse_real(path, keys[1], v[1], &p->beta1, err)) ||
        (st = parse_real(path, keys[2], v[2], &p->beta2, err)) ||
        (st = parse_real(path, keys[3], v[3], &p->adam_eps, err)))
        return st;
    if ((st = parse_uint(path, keys[4], v[4], 1, 65536, &u, err)))
        return st;
    p->batch_size = (int)u;
    if ((st = parse_uint(path, keys[5], v[5], 1, 1000000000, &u, err)))
        return st;
    p->epochs = (int)u;
    if ((st = parse_uint(path, keys[6], v[6], 0, UINT64_MAX, &p->seed, err)))
        return st;
    if (strcmp(v[7], "true") != 0 && strcmp(v[7], "false") != 0)
        return BAD("__metadata__ 'training.candle_compat' is '%.40s' (expected true or false)",
                   v[7]);
    p->candle_compat = strcmp(v[7], "true") == 0;
    if ((st = parse_uint(path, keys[8], v[8], 0, UINT64_MAX, &u, err)))
        return st;
    t->rows = (size_t)u;
    const char *hex = v[9];
    if (strncmp(hex, "fnv1a64:", 8) != 0 || strlen(hex) != 24 ||
        strspn(hex + 8, "0123456789abcdef") != 16)
        return BAD("__metadata__ 'training.data_hash' is '%.40s' (expected fnv1a64: and 16 "
                   "lower-case hex digits)",
                   hex);
    t->data_hash = strtoull(hex + 8, NULL, 16);
    t->known = 1;
    return AC_OK;
}

/* The optional training.history: [[epoch, loss, accuracy or null], ...],
 * epochs increasing within 1..training.epochs, at most AC_MAX_HISTORY + 1
 * entries, losses finite, accuracies in [0, 1] or null. */
static ac_status load_history(const st_file *f, const char *path, ac_model *m, ac_error *err)
{
    const char *s = st_metadata(f, "training.history");
    if (!s)
        return AC_OK;
    if (!m->training.known)
        return BAD("__metadata__ has 'training.history' but no other training.* key (expected "
                   "the training keys with it)");
    json_value *v = NULL;
    ac_status st = parse_json_array(path, "training.history", s, 2, &v, err);
    if (st != AC_OK)
        return st;
    if (v->count > AC_MAX_HISTORY + 1) {
        size_t n = v->count;
        json_free(v);
        return BAD("__metadata__ 'training.history' has %zu entries (expected at most %d)", n,
                   AC_MAX_HISTORY + 1);
    }
    ac_epoch_report *h = ac_alloc((v->count ? v->count : 1) * sizeof *h);
    if (!h) {
        json_free(v);
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
    }
    int epochs = m->training.params.epochs;
    for (size_t i = 0; i < v->count; i++) {
        const json_value *e = v->items[i];
        int ok = e->type == JSON_ARRAY && e->count == 3 && e->items[0]->is_uint &&
                 e->items[0]->uint >= 1 && e->items[0]->uint <= (uint64_t)epochs &&
                 (i == 0 || (int)e->items[0]->uint > h[i - 1].epoch + 1) &&
                 e->items[1]->type == JSON_NUMBER && isfinite(e->items[1]->number) &&
                 (e->items[2]->type == JSON_NULL ||
                  (e->items[2]->type == JSON_NUMBER && e->items[2]->number >= 0.0 &&
                   e->items[2]->number <= 1.0));
        if (!ok) {
            ac_free(h);
            json_free(v);
            return BAD("__metadata__ 'training.history' entry %zu is not [epoch, loss, accuracy] "
                       "(expected increasing epochs from 1 to %d, a finite loss, an accuracy in "
                       "[0, 1] or null)",
                       i, epochs);
        }
        h[i].epoch = (int)e->items[0]->uint - 1;
        h[i].epochs = epochs;
        h[i].loss = e->items[1]->number;
        h[i].accuracy = e->items[2]->type == JSON_NULL ? (double)NAN : e->items[2]->number;
    }
    m->history = h;
    m->n_history = v->count;
    json_free(v);
    return AC_OK;
}

/* Every tensor the model expects is there with the shape the metadata
 * implies, and nothing else is. */
static ac_status check_tensors(const st_file *f, const char *path, const tensor_ref *want,
                               ac_error *err)
{
    for (size_t i = 0; i < f->count; i++) {
        int known = 0;
        for (int j = 0; j < N_TENSORS; j++)
            known |= strcmp(f->tensors[i].name, want[j].name) == 0;
        if (!known)
            return BAD("unexpected tensor '%s' (expected only the chapter's tensors and %s)",
                       f->tensors[i].name, REFERENCE_TENSOR);
    }
    for (int j = 0; j < N_TENSORS; j++) {
        const st_tensor *t = st_find(f, want[j].name);
        if (!t)
            return BAD("no tensor '%s' (expected every tensor of docs/model-format.md)",
                       want[j].name);
        int same = t->ndim == want[j].ndim && t->shape[0] == want[j].shape[0] &&
                   (t->ndim == 1 || t->shape[1] == want[j].shape[1]);
        if (!same) {
            char got[64] = "[", expect[64];
            for (size_t d = 0; d < t->ndim && d < 4; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", d ? "," : "",
                         (unsigned long long)t->shape[d]);
            strcat(got, "]");
            if (want[j].ndim == 1)
                snprintf(expect, sizeof expect, "[%llu]", (unsigned long long)want[j].shape[0]);
            else
                snprintf(expect, sizeof expect, "[%llu,%llu]",
                         (unsigned long long)want[j].shape[0],
                         (unsigned long long)want[j].shape[1]);
            return BAD("tensor '%s' has shape %s (expected %s from the metadata's sizes)",
                       want[j].name, got, expect);
        }
    }
    return AC_OK;
}

ac_status ac_model_load(const char *path, ac_model **out, ac_error *err)
{
    st_file f;
    ac_status st = st_read_file(path, &f, err);
    if (st != AC_OK)
        return st;
    ac_model *m = NULL;
    json_value *mins = NULL, *ranges = NULL, *fnames = NULL, *lnames = NULL;
    const char *v;
    uint64_t F = 0, H = 0, K = 0, R = 0, version = 0;

    if (!f.metadata) {
        st = BAD("no __metadata__ in the header: this looks like a weights-only safetensors "
                 "file, as Candle's VarMap::save writes (expected the hidden size, "
                 "normalisation, feature names and reference rows that 'attncluster train "
                 "--save' stores there)");
        goto fail;
    }
    if ((st = need(&f, path, "format", &v, err)))
        goto fail;
    if (strcmp(v, FORMAT_NAME) != 0) {
        st = BAD("__metadata__ 'format' is '%.40s' (expected '%s')", v, FORMAT_NAME);
        goto fail;
    }
    if ((st = need(&f, path, "format_version", &v, err)) ||
        (st = parse_uint(path, "format_version", v, 1, UINT32_MAX, &version, err)))
        goto fail;
    if (version != FORMAT_VERSION) {
        st = BAD("format version %llu (this attncluster reads version %d)",
                 (unsigned long long)version, FORMAT_VERSION);
        goto fail;
    }
    if ((st = need(&f, path, "features", &v, err)) ||
        (st = parse_uint(path, "features", v, 1, 65536, &F, err)) ||
        (st = need(&f, path, "hidden_size", &v, err)) ||
        (st = parse_uint(path, "hidden_size", v, 1, 65536, &H, err)) ||
        (st = need(&f, path, "clusters", &v, err)) ||
        (st = parse_uint(path, "clusters", v, 1, 65536, &K, err)) ||
        (st = need(&f, path, "reference_rows", &v, err)) ||
        (st = parse_uint(path, "reference_rows", v, 0, UINT32_MAX, &R, err)))
        goto fail;

    ac_attention_scale scale;
    if ((st = need(&f, path, "attention_scale", &v, err)))
        goto fail;
    if (strcmp(v, "none") == 0)
        scale = AC_SCALE_NONE;
    else if (strcmp(v, "sqrt") == 0)
        scale = AC_SCALE_SQRT;
    else {
        st = BAD("__metadata__ 'attention_scale' is '%.40s' (expected none or sqrt)", v);
        goto fail;
    }
    double eps;
    if ((st = need(&f, path, "layernorm_eps", &v, err)) ||
        (st = parse_real(path, "layernorm_eps", v, &eps, err)))
        goto fail;
    /* The model keeps a float: check the float (a double such as 1e-96 or
     * 0.9999999999 would become 0 or 1, which LayerNorm and a save of the
     * model cannot take). */
    if (!((float)eps > 0.0f && (float)eps < 1.0f)) {
        st = BAD("__metadata__ 'layernorm_eps' is %g (expected a number in (0, 1), also as a "
                 "32-bit float)",
                 eps);
        goto fail;
    }
    /* The tensors tile the data exactly (st_read_file), so sizes that call
     * for more floats than the file holds are wrong: say so before
     * allocating them, so that a file of a few bytes that claims
     * hidden_size 65536 cannot make the loader zero 16 GiB. (The parameter
     * count is model_alloc's table: Q, K, V (H, F) + (H), output (H, H) +
     * (H), LayerNorm 2 (H), cluster_proj (K, H) + (K); then R (R, F)
     * reference rows. Sizes at most 65536 and R < 2^32: no overflow.) */
    uint64_t need_floats = 3 * (H * F + H) + H * H + H + 2 * H + K * H + K + R * F;
    uint64_t have_bytes = (uint64_t)(f.size - f.data_start);
    if (need_floats > have_bytes / 4) {
        st = BAD("the sizes in __metadata__ (features %llu, hidden_size %llu, clusters %llu, "
                 "reference_rows %llu) call for %llu bytes of tensors but the file holds %llu "
                 "(expected the tensors of docs/model-format.md)",
                 (unsigned long long)F, (unsigned long long)H, (unsigned long long)K,
                 (unsigned long long)R, (unsigned long long)need_floats * 4,
                 (unsigned long long)have_bytes);
        goto fail;
    }
    if ((st = model_alloc((int)F, (int)H, (int)K, scale, (float)eps, &m, err)) != AC_OK) {
        if (err)
            snprintf(err->source, sizeof err->source, "%s", path);
        goto fail;
    }

    if ((st = need(&f, path, "normalization", &v, err)))
        goto fail;
    if (strcmp(v, "minmax") == 0 || strcmp(v, "zscore") == 0) {
        int minmax = strcmp(v, "minmax") == 0;
        m->normalization = minmax ? AC_NORMALIZE_MINMAX : AC_NORMALIZE_ZSCORE;
        const char *kshift = minmax ? "feature_min" : "feature_mean";
        const char *kscale = minmax ? "feature_range" : "feature_std";
        const char *sshift, *sscale;
        if ((st = need(&f, path, kshift, &sshift, err)) ||
            (st = need(&f, path, kscale, &sscale, err)) ||
            (st = parse_array(path, kshift, sshift, F, 0, &mins, err)) ||
            (st = parse_array(path, kscale, sscale, F, 0, &ranges, err)))
            goto fail;
        m->norm_shift = ac_alloc(F * sizeof(float));
        m->norm_scale = ac_alloc(F * sizeof(float));
        if (!m->norm_shift || !m->norm_scale) {
            st = ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < F; i++) {
            m->norm_shift[i] = (float)mins->items[i]->number;
            m->norm_scale[i] = (float)ranges->items[i]->number;
            if (!isfinite(m->norm_shift[i]) || !isfinite(m->norm_scale[i]) ||
                m->norm_scale[i] < 0.0f) {
                st = BAD("feature %zu's normalisation (%s %g, %s %g) is not usable "
                         "(expected finite values and a %s >= 0)",
                         i + 1, kshift, mins->items[i]->number, kscale,
                         ranges->items[i]->number, kscale);
                goto fail;
            }
        }
    } else if (strcmp(v, "none") != 0) {
        st = BAD("__metadata__ 'normalization' is '%.40s' (expected minmax, zscore or none)", v);
        goto fail;
    }

    if ((st = need(&f, path, "feature_names", &v, err)) ||
        (st = parse_array(path, "feature_names", v, F, 1, &fnames, err)) ||
        (st = need(&f, path, "label_names", &v, err)) ||
        (st = parse_array(path, "label_names", v, SIZE_MAX, 1, &lnames, err)))
        goto fail;
    for (size_t i = 0; i < F; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(fnames->items[i]->string, fnames->items[j]->string) == 0) {
                st = BAD("feature name '%.40s' appears twice (expected distinct names)",
                         fnames->items[i]->string);
                goto fail;
            }
    char **names = copy_strings(fnames);
    char **labels = lnames->count ? copy_strings(lnames) : NULL;
    if (!names || (lnames->count && !labels)) {
        strings_free(names, F);
        strings_free(labels, lnames->count);
        st = ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
        goto fail;
    }
    strings_free(m->feature_names, F);
    m->feature_names = names;
    m->label_names = labels;
    m->n_labels = lnames->count;

    m->n_reference = (size_t)R;
    if (R > 0 && !(m->reference_rows = ac_alloc(R * F * sizeof(float)))) {
        st = ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory");
        goto fail;
    }
    tensor_ref want[N_TENSORS];
    list_tensors(m, want);
    if ((st = check_tensors(&f, path, want, err)))
        goto fail;
    for (int j = 0; j < N_TENSORS; j++) {
        const st_tensor *t = st_find(&f, want[j].name);
        if (t->elements == 0)
            continue;
        st_tensor_floats(&f, t, want[j].data);
        for (uint64_t i = 0; i < t->elements; i++)
            if (!isfinite(want[j].data[i])) {
                st = BAD("tensor '%s' holds %g at element %llu (expected finite values)",
                         want[j].name, (double)want[j].data[i], (unsigned long long)i);
                goto fail;
            }
    }
    if ((st = load_training(&f, path, &m->training, err)) ||
        (st = load_history(&f, path, m, err)))
        goto fail;
    if ((v = st_metadata(&f, "attncluster_version")))
        snprintf(m->written_by, sizeof m->written_by, "%s", v);

    json_free(mins), json_free(ranges), json_free(fnames), json_free(lnames);
    st_file_free(&f);
    *out = m;
    return AC_OK;

fail:
    json_free(mins), json_free(ranges), json_free(fnames), json_free(lnames);
    ac_model_free(m);
    st_file_free(&f);
    return st;
}
