/*
 * train.c - the chapter's training loop: each epoch a Fisher-Yates shuffle,
 * batches of B rows in shuffled order, mean cross-entropy against the labels,
 * backward through every layer (or only cluster_proj in Candle-compatible
 * mode), one AdamW step per batch.
 *
 * Everything a step touches is allocated before the first epoch and sized for
 * the largest batch, so a step never allocates and never fails.
 */
#include "internal.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

void trainer_free(trainer *tr)
{
    acts_free(&tr->acts);
    acts_free(&tr->dacts);
    ac_free(tr->grads);
    ac_free(tr->adam_m);
    ac_free(tr->adam_v);
    ac_free(tr->order);
    ac_free(tr->batch_x);
    ac_free(tr->batch_y);
    ac_free(tr->batch_p);
    memset(tr, 0, sizeof *tr);
}

ac_status trainer_init(trainer *tr, const ac_model *m, const ac_params *p, int capacity,
                       size_t N, ac_error *err)
{
    memset(tr, 0, sizeof *tr);
    tr->p = *p;
    ac_status st;
    if ((st = acts_alloc(&tr->acts, m, capacity, err)) != AC_OK ||
        (st = acts_alloc(&tr->dacts, m, capacity, err)) != AC_OK) {
        trainer_free(tr);
        return st;
    }
    size_t F = (size_t)m->F;
    tr->grads = ac_calloc(m->n_params, sizeof(float));
    tr->adam_m = ac_calloc(m->n_params, sizeof(float));
    tr->adam_v = ac_calloc(m->n_params, sizeof(float));
    tr->order = ac_calloc(N, sizeof(uint32_t));
    tr->batch_x = ac_calloc((size_t)capacity * F, sizeof(float));
    tr->batch_y = ac_calloc((size_t)capacity, sizeof(int32_t));
    tr->batch_p = ac_calloc((size_t)capacity * (size_t)m->K, sizeof(float));
    if (!tr->grads || !tr->adam_m || !tr->adam_v || !tr->order || !tr->batch_x ||
        !tr->batch_y || !tr->batch_p) {
        trainer_free(tr);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory allocating training buffers");
    }
    /* Test hook: the tool's tests interrupt a run at a given step without
     * timing anything (ATTNCLUSTER_TEST_SIGINT_AT_STEP=k). */
    const char *hook = getenv("ATTNCLUSTER_TEST_SIGINT_AT_STEP");
    tr->sigint_at_step = hook ? atol(hook) : 0;
    model_tensor_view(m, tr->grads, &tr->g);
    model_tensor_view(m, tr->adam_m, &tr->m);
    model_tensor_view(m, tr->adam_v, &tr->v);
    /* Candle's fused LayerNorm records no gradient, so there its AdamW only
     * ever sees cluster_proj: the other tensors get neither an update nor
     * weight decay. */
    for (int i = 0; i < P_COUNT; i++)
        tr->trainable[i] = !p->candle_compat || i == P_CW || i == P_CB;
    return AC_OK;
}

/* Backward from the loss gradient already in tr->dacts.logits, then AdamW. */
static void backward_and_update(trainer *tr, ac_model *m, const float *x, int B)
{
    const ac_params *p = &tr->p;
    model_backward(m, &tr->acts, &tr->dacts, x, B, !p->candle_compat, &tr->g);
    tr->step++;
    for (int i = 0; i < P_COUNT; i++)
        if (tr->trainable[i])
            adamw_update(m->p.t[i], tr->g.t[i], tr->m.t[i], tr->v.t[i], m->sizes[i], p->lr,
                         p->beta1, p->beta2, p->adam_eps, p->weight_decay, tr->step);
}

double trainer_step(trainer *tr, ac_model *m, const float *x, const int32_t *y, int B,
                    int *correct)
{
    model_forward(m, &tr->acts, x, B);
    double loss = crossentropy_forward(tr->acts.probs, correct, tr->acts.logits, y, B, m->K);
    memset(tr->grads, 0, m->n_params * sizeof(float));
    memset(tr->dacts.block, 0, tr->dacts.floats * sizeof(float));
    crossentropy_backward(tr->dacts.logits, tr->acts.probs, y, B, m->K);
    backward_and_update(tr, m, x, B);
    return loss;
}

double trainer_step_soft(trainer *tr, ac_model *m, const float *x, const float *targets, int B)
{
    model_forward(m, &tr->acts, x, B);
    double loss = crossentropy_soft_forward(tr->acts.probs, tr->acts.logits, targets, B, m->K);
    memset(tr->grads, 0, m->n_params * sizeof(float));
    memset(tr->dacts.block, 0, tr->dacts.floats * sizeof(float));
    crossentropy_soft_backward(tr->dacts.logits, tr->acts.probs, targets, B, m->K);
    backward_and_update(tr, m, x, B);
    return loss;
}

static ac_status check_data(const ac_dataset *ds, const ac_params *p, ac_error *err)
{
    const char *src = ac_dataset_source(ds);
    size_t N = ac_dataset_rows(ds);
    const int32_t *labels = ac_dataset_labels(ds);
    if (!labels)
        return ac_set_error(err, AC_ERR_DATA, src, 0, 0,
                            "the data has no labels (expected a label per row to train on)");
    if (N < (size_t)p->clusters)
        return ac_set_error(err, AC_ERR_DATA, src, 0, 0,
                            "%zu rows are fewer than the %d clusters (expected at least %d rows)",
                            N, p->clusters, p->clusters);
    if (N > UINT32_MAX)
        return ac_set_error(err, AC_ERR_DATA, src, 0, 0, "%zu rows are too many (at most %lu)",
                            N, (unsigned long)UINT32_MAX);
    if (ac_dataset_classes(ds) > (size_t)p->clusters)
        return ac_set_error(err, AC_ERR_DATA, src, 0, 0,
                            "the data has %zu classes but only %d clusters (expected --clusters "
                            "of at least %zu)",
                            ac_dataset_classes(ds), p->clusters, ac_dataset_classes(ds));
    return AC_OK;
}


/* FNV-1a, 64-bit, over the scaled features as float32 little-endian then the
 * labels as int32 little-endian: a fingerprint of exactly what was trained
 * on, the same on any host. */
static uint64_t data_hash(const ac_dataset *ds)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    const uint64_t prime = 0x100000001b3ULL;
    for (size_t i = 0; i < ds->n * ds->f; i++) {
        uint32_t bits;
        memcpy(&bits, &ds->x[i], sizeof bits);
        for (int b = 0; b < 4; b++)
            h = (h ^ ((bits >> (8 * b)) & 0xff)) * prime;
    }
    for (size_t i = 0; ds->labels && i < ds->n; i++) {
        uint32_t bits = (uint32_t)ds->labels[i];
        for (int b = 0; b < 4; b++)
            h = (h ^ ((bits >> (8 * b)) & 0xff)) * prime;
    }
    return h;
}

/* Marks the reference rows: all rows when there are at most
 * AC_MAX_REFERENCE_ROWS, else a sample stratified by label, each class
 * getting its share of the quota by largest remainders (at least one row),
 * the rows within a class drawn by a partial Fisher-Yates shuffle. chosen (N)
 * is zeroed by the caller; order (N) is scratch. Returns R. */
static size_t choose_reference_rows(const ac_dataset *ds, ac_rng *rng, unsigned char *chosen,
                                    uint32_t *order)
{
    size_t N = ds->n, quota = AC_MAX_REFERENCE_ROWS;
    if (N <= quota) {
        memset(chosen, 1, N);
        return N;
    }
    size_t classes = ds->labels ? ds->classes : 1;
    size_t total = 0;
    for (size_t c = 0; c < classes; c++) {
        size_t members = 0;
        for (size_t i = 0; i < N; i++)
            if (!ds->labels || (size_t)ds->labels[i] == c)
                order[members++] = (uint32_t)i;
        if (members == 0)
            continue;
        /* floor(quota · members / N), at least 1; the rounding leaves the
         * total at most `classes` short of the quota, never over it by more
         * than the classes forced up to one row. */
        size_t take = (size_t)((double)quota * (double)members / (double)N);
        if (take == 0)
            take = 1;
        for (size_t j = 0; j < take; j++) {
            size_t pick = j + (size_t)ac_rng_below_or_equal(rng, members - 1 - j);
            uint32_t tmp = order[j];
            order[j] = order[pick];
            order[pick] = tmp;
            chosen[order[j]] = 1;
        }
        total += take;
    }
    return total;
}

/* Copies into the model what it needs to be used on new data: names,
 * normalisation, reference rows and how it was trained. */
ac_status keep_data_description(ac_model *m, const ac_dataset *ds, const ac_params *p,
                                uint32_t *scratch, ac_error *err)
{
    size_t N = ds->n, F = ds->f;
    char **features = strings_copy((const char *const *)ds->feature_names, F);
    char **labels = ds->label_names
                        ? strings_copy((const char *const *)ds->label_names, ds->n_label_names)
                        : NULL;
    float *lo = ds->norm_shift ? ac_alloc(F * sizeof(float)) : NULL;
    float *range = ds->norm_shift ? ac_alloc(F * sizeof(float)) : NULL;
    unsigned char *chosen = ac_calloc(N, 1);
    if (!features || (ds->label_names && !labels) || (ds->norm_shift && (!lo || !range)) ||
        !chosen) {
        strings_free(features, F);
        strings_free(labels, ds->n_label_names);
        ac_free(lo), ac_free(range), ac_free(chosen);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    /* A generator of its own, so that the sample does not shift the
     * training stream (and vice versa). */
    ac_rng rng;
    ac_rng_seed(&rng, p->seed ^ 0x7265666572656e63ULL /* "referenc" */);
    size_t R = choose_reference_rows(ds, &rng, chosen, scratch);
    float *reference = ac_alloc(R * F * sizeof(float));
    if (!reference) {
        strings_free(features, F);
        strings_free(labels, ds->n_label_names);
        ac_free(lo), ac_free(range), ac_free(chosen);
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory");
    }
    for (size_t i = 0, r = 0; i < N; i++)
        if (chosen[i])
            memcpy(reference + (r++) * F, ds->x + i * F, F * sizeof(float));
    ac_free(chosen);

    strings_free(m->feature_names, F);
    m->feature_names = features;
    m->label_names = labels;
    m->n_labels = labels ? ds->n_label_names : 0;
    if (ds->norm_shift) {
        memcpy(lo, ds->norm_shift, F * sizeof(float));
        memcpy(range, ds->norm_scale, F * sizeof(float));
        m->normalization = ds->norm_kind;
        m->norm_shift = lo;
        m->norm_scale = range;
    }
    m->reference_rows = reference;
    m->n_reference = R;
    m->training.known = 1;
    m->training.params = *p;
    m->training.rows = N;
    m->training.data_hash = data_hash(ds);
    return AC_OK;
}

ac_status trainer_check(trainer *tr, const ac_model *m, double loss, int epoch, int step,
                        int steps)
{
    if (tr->sigint_at_step > 0 && tr->step == tr->sigint_at_step)
        raise(SIGINT);
    ac_status why = AC_OK;
    int finite = isfinite(loss);
    for (size_t i = 0; finite && i < m->n_params; i++)
        finite = isfinite(m->params[i]);
    if (!finite)
        why = AC_ERR_DIVERGED;
    else if (stop_pending()) {
        stop_clear();
        why = AC_ERR_INTERRUPTED;
    }
    if (why != AC_OK) {
        tr->halt = why;
        tr->halt_epoch = epoch + 1;
        tr->halt_step = step + 1;
        tr->halt_steps = steps;
        tr->halt_loss = loss;
    }
    return why;
}

ac_status trainer_halt_error(const trainer *tr, ac_error *err)
{
    if (tr->halt == AC_ERR_INTERRUPTED)
        return ac_set_error(err, AC_ERR_INTERRUPTED, "", 0, 0,
                            "training interrupted at epoch %d, step %d of %d; no model kept",
                            tr->halt_epoch, tr->halt_step, tr->halt_steps);
    return ac_set_error(err, AC_ERR_DIVERGED, "", 0, 0,
                        "training diverged at epoch %d, step %d of %d: the loss is %g or a weight "
                        "is not finite (expected finite values: a smaller learning rate, now %g, "
                        "usually helps)",
                        tr->halt_epoch, tr->halt_step, tr->halt_steps, tr->halt_loss, tr->p.lr);
}

/* The chapter's epochs: each a fresh 0..N-1 shuffled (Fisher-Yates), then
 * batches of up to the trainer's capacity in that order, one step each;
 * after each epoch the callback (which may stop the run). */
ac_status trainer_run_epochs(trainer *tr, ac_model *m, const ac_dataset *ds, ac_rng *rng,
                             ac_epoch_callback callback, void *user)
{
    const ac_params *p = &tr->p;
    size_t N = ds->n, F = ds->f, cap = (size_t)tr->acts.capacity;
    if (p->batch_size >= 1 && (size_t)p->batch_size < cap)
        cap = (size_t)p->batch_size; /* batches of p.batch_size, up to the capacity */
    const float *X = ds->x;
    const int32_t *Y = ds->labels;
    size_t batches = (N + cap - 1) / cap;
    for (int epoch = 0; epoch < p->epochs; epoch++) {
        for (size_t i = 0; i < N; i++)
            tr->order[i] = (uint32_t)i;
        ac_rng_shuffle(rng, tr->order, N);
        double loss_sum = 0.0, acc_sum = 0.0;
        for (size_t bi = 0; bi < batches; bi++) {
            size_t start = bi * cap;
            int B = (int)(N - start < cap ? N - start : cap);
            for (int b = 0; b < B; b++) {
                uint32_t row = tr->order[start + (size_t)b];
                memcpy(tr->batch_x + (size_t)b * F, X + (size_t)row * F, F * sizeof(float));
                tr->batch_y[b] = Y[row];
            }
            int correct = 0;
            double loss = trainer_step(tr, m, tr->batch_x, tr->batch_y, B, &correct);
            ac_status st = trainer_check(tr, m, loss, epoch, (int)bi, (int)batches);
            if (st != AC_OK)
                return st;
            loss_sum += loss;
            acc_sum += (double)correct / B;
        }
        if (callback) {
            ac_epoch_report r = {epoch, p->epochs, loss_sum / (double)batches,
                                 acc_sum / (double)batches};
            if (callback(&r, user))
                break;
        }
    }
    return AC_OK;
}

/* ------------------------------------------------------------------ history */

/* Keeps the epoch reports on their way to the caller's callback: every
 * stride-th epoch and the last, at most AC_MAX_HISTORY + 1 of them, in a
 * buffer allocated before training (a step never allocates). */
typedef struct history_recorder {
    ac_epoch_callback callback;
    void *user;
    int stride;
    ac_epoch_report *reports;
    size_t count, capacity;
} history_recorder;

static int record_epoch(const ac_epoch_report *r, void *user)
{
    history_recorder *h = user;
    int last = r->epoch + 1 == r->epochs;
    if ((r->epoch % h->stride == 0 || last) && h->count < h->capacity)
        h->reports[h->count++] = *r;
    return h->callback ? h->callback(r, h->user) : 0;
}

static ac_status train_supervised(const ac_dataset *ds, const ac_params *p,
                                  ac_epoch_callback callback, void *user, ac_model **out,
                                  ac_error *err);

/* Either training, with the history recorded and handed to the model. */
static ac_status train_recorded(const ac_dataset *ds, const ac_params *p, int unsupervised,
                                ac_epoch_callback callback, void *user, ac_model **out,
                                ac_error *err)
{
    ac_status st = ac_params_validate(p, err);
    if (st != AC_OK)
        return st;
    history_recorder h = {callback, user, (p->epochs + AC_MAX_HISTORY - 1) / AC_MAX_HISTORY,
                          NULL, 0, 0};
    h.capacity = (size_t)(p->epochs < AC_MAX_HISTORY ? p->epochs : AC_MAX_HISTORY + 1);
    if (!(h.reports = ac_alloc(h.capacity * sizeof *h.reports)))
        return ac_set_error(err, AC_ERR_NOMEM, "", 0, 0,
                            "out of memory for the training history");
    ac_model *m = NULL;
    st = unsupervised ? train_unsupervised(ds, p, record_epoch, &h, &m, err)
                      : train_supervised(ds, p, record_epoch, &h, &m, err);
    if (st != AC_OK) {
        ac_free(h.reports);
        return st;
    }
    m->history = h.reports;
    m->n_history = h.count;
    *out = m;
    return AC_OK;
}

ac_status ac_train(const ac_dataset *ds, const ac_params *p, ac_epoch_callback callback,
                   void *user, ac_model **out, ac_error *err)
{
    return train_recorded(ds, p, p && p->mode == AC_MODE_UNSUPERVISED, callback, user, out, err);
}

ac_status ac_train_unsupervised(const ac_dataset *ds, const ac_params *p,
                                ac_epoch_callback callback, void *user, ac_model **out,
                                ac_error *err)
{
    return train_recorded(ds, p, 1, callback, user, out, err);
}

size_t ac_model_history(const ac_model *m, const ac_epoch_report **reports)
{
    if (reports)
        *reports = m->history;
    return m->n_history;
}

static ac_status train_supervised(const ac_dataset *ds, const ac_params *p,
                                  ac_epoch_callback callback, void *user, ac_model **out,
                                  ac_error *err)
{
    ac_status st = check_data(ds, p, err);
    if (st != AC_OK)
        return st;

    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    int cap = (size_t)p->batch_size < N ? p->batch_size : (int)N;

    /* One generator: the initialiser draws first, then the shuffles. */
    ac_rng rng;
    ac_rng_seed(&rng, p->seed);
    ac_model *m = NULL;
    st = model_create(p, F, &rng, &m, err);
    if (st != AC_OK)
        return st;

    trainer tr;
    if ((st = trainer_init(&tr, m, p, cap, N, err)) != AC_OK) {
        ac_model_free(m);
        return st;
    }

    if (trainer_run_epochs(&tr, m, ds, &rng, callback, user) != AC_OK) {
        st = trainer_halt_error(&tr, err);
        goto fail;
    }
    if ((st = keep_data_description(m, ds, p, tr.order, err)) != AC_OK)
        goto fail;
    trainer_free(&tr);
    *out = m;
    return AC_OK;

fail:
    trainer_free(&tr);
    ac_model_free(m);
    return st;
}
