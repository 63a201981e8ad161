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

#include <string.h>

/* Everything a run needs besides the model, in one place to free. */
typedef struct trainer {
    ac_acts acts, dacts;  /* activations and their gradients, capacity B */
    float *grads;         /* (n_params) */
    float *adam_m;        /* (n_params) */
    float *adam_v;        /* (n_params) */
    uint32_t *order;      /* (N) row order of the current epoch */
    float *batch_x;       /* (B, F) rows of the current batch */
    int32_t *batch_y;     /* (B) their labels */
} trainer;

static void trainer_free(trainer *tr)
{
    acts_free(&tr->acts);
    acts_free(&tr->dacts);
    ac_free(tr->grads);
    ac_free(tr->adam_m);
    ac_free(tr->adam_v);
    ac_free(tr->order);
    ac_free(tr->batch_x);
    ac_free(tr->batch_y);
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

ac_status ac_train(const ac_dataset *ds, const ac_params *p, ac_epoch_callback callback,
                   void *user, ac_model **out, ac_error *err)
{
    ac_status st = ac_params_validate(p, err);
    if (st != AC_OK)
        return st;
    st = check_data(ds, p, err);
    if (st != AC_OK)
        return st;

    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    const float *X = ac_dataset_features(ds);
    const int32_t *Y = ac_dataset_labels(ds);
    int cap = (size_t)p->batch_size < N ? p->batch_size : (int)N;

    /* One generator: the initialiser draws first, then the shuffles. */
    ac_rng rng;
    ac_rng_seed(&rng, p->seed);
    ac_model *m = NULL;
    st = model_create(p, F, &rng, &m, err);
    if (st != AC_OK)
        return st;

    trainer tr;
    memset(&tr, 0, sizeof tr);
    if ((st = acts_alloc(&tr.acts, m, cap, err)) != AC_OK ||
        (st = acts_alloc(&tr.dacts, m, cap, err)) != AC_OK)
        goto fail;
    tr.grads = ac_calloc(m->n_params, sizeof(float));
    tr.adam_m = ac_calloc(m->n_params, sizeof(float));
    tr.adam_v = ac_calloc(m->n_params, sizeof(float));
    tr.order = ac_calloc(N, sizeof(uint32_t));
    tr.batch_x = ac_calloc((size_t)cap * F, sizeof(float));
    tr.batch_y = ac_calloc((size_t)cap, sizeof(int32_t));
    if (!tr.grads || !tr.adam_m || !tr.adam_v || !tr.order || !tr.batch_x || !tr.batch_y) {
        st = ac_set_error(err, AC_ERR_NOMEM, "", 0, 0, "out of memory allocating training buffers");
        goto fail;
    }

    ac_tensors grads, adam_m, adam_v;
    model_tensor_view(m, tr.grads, &grads);
    model_tensor_view(m, tr.adam_m, &adam_m);
    model_tensor_view(m, tr.adam_v, &adam_v);
    /* Candle's fused LayerNorm records no gradient, so there its AdamW only
     * ever sees cluster_proj: the other tensors get neither an update nor
     * weight decay. */
    int trainable[P_COUNT];
    for (int i = 0; i < P_COUNT; i++)
        trainable[i] = !p->candle_compat || i == P_CW || i == P_CB;

    size_t batches = (N + (size_t)cap - 1) / (size_t)cap;
    long step = 0;
    for (int epoch = 0; epoch < p->epochs; epoch++) {
        /* As the chapter: a fresh 0..N-1, shuffled. */
        for (size_t i = 0; i < N; i++)
            tr.order[i] = (uint32_t)i;
        ac_rng_shuffle(&rng, tr.order, N);
        double loss_sum = 0.0, acc_sum = 0.0;
        for (size_t bi = 0; bi < batches; bi++) {
            size_t start = bi * (size_t)cap;
            int B = (int)((N - start) < (size_t)cap ? N - start : (size_t)cap);
            for (int b = 0; b < B; b++) {
                uint32_t row = tr.order[start + (size_t)b];
                memcpy(tr.batch_x + (size_t)b * F, X + (size_t)row * F, F * sizeof(float));
                tr.batch_y[b] = Y[row];
            }
            model_forward(m, &tr.acts, tr.batch_x, B);
            int correct = 0;
            loss_sum += crossentropy_forward(tr.acts.probs, &correct, tr.acts.logits,
                                             tr.batch_y, B, m->K);
            acc_sum += (double)correct / B;

            memset(tr.grads, 0, m->n_params * sizeof(float));
            memset(tr.dacts.block, 0, tr.dacts.floats * sizeof(float));
            crossentropy_backward(tr.dacts.logits, tr.acts.probs, tr.batch_y, B, m->K);
            model_backward(m, &tr.acts, &tr.dacts, tr.batch_x, B, !p->candle_compat, &grads);

            step++;
            for (int i = 0; i < P_COUNT; i++)
                if (trainable[i])
                    adamw_update(m->p.t[i], grads.t[i], adam_m.t[i], adam_v.t[i], m->sizes[i],
                                 p->lr, p->beta1, p->beta2, p->adam_eps, p->weight_decay, step);
        }
        if (callback) {
            ac_epoch_report r = {epoch, p->epochs, loss_sum / (double)batches,
                                 acc_sum / (double)batches};
            if (callback(&r, user))
                break;
        }
    }
    trainer_free(&tr);
    *out = m;
    return AC_OK;

fail:
    trainer_free(&tr);
    ac_model_free(m);
    return st;
}
