/*
 * unsupervised.c - clustering without labels: the attention model learns
 * the clusters itself, by self-training in the manner of DEC (Xie, Girshick
 * & Farhadi 2016), with the chapter's model as the clusterer.
 *
 *   1. k-means++ on the scaled features gives a first assignment (the only
 *      use of k-means: an initialiser).
 *   2. Warm-up: the model trains with cross-entropy on that assignment in
 *      the context it will predict with (the whole set up to 1,024 rows;
 *      N / batch_size steps an epoch), until it agrees with it on 99% of
 *      the rows (at most half the epochs), so that it starts from k-means.
 *      (Trained in the chapter's mini-batches instead, it agreed with
 *      k-means in those batches but not when predicting over the whole set.)
 *   3. Refinement: each later epoch computes the model's probabilities
 *      q_ik for every row on the batches it then trains on, turns them
 *      into sharpened targets
 *          p_ik = (q_ik² / f_k) / Σ_k' (q_ik'² / f_k'),   f_k = Σ_i q_ik,
 *      which favour confident assignments while dividing by the cluster's
 *      soft size (so that large clusters do not swallow the rest), keeps
 *      a share ANCHOR of each target on the row's k-means cluster, and
 *      trains one epoch against them with the soft-target cross-entropy,
 *      i.e. KL(P‖Q) up to P's entropy; its gradient is (q - p) / B.
 *   4. Collapse guard: if an epoch leaves any cluster with less than 1% of
 *      the rows (by arg-max), the model of the epoch before is kept and the
 *      refinement stops.
 *
 * Labels, when the data has them, are never read: the reference rows are a
 * uniform sample and the model stores no label names.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

/* q (N, K) for every row: forwards over consecutive batches of up to the
 * trainer's capacity. */
static void predict_all(trainer *tr, ac_model *m, const float *X, size_t N, float *q)
{
    size_t cap = (size_t)tr->acts.capacity, F = (size_t)m->F, K = (size_t)m->K;
    for (size_t start = 0; start < N; start += cap) {
        int B = (int)(N - start < cap ? N - start : cap);
        model_forward(m, &tr->acts, X + start * F, B);
        crossentropy_forward(tr->acts.probs, NULL, tr->acts.logits, NULL, B, m->K);
        memcpy(q + start * K, tr->acts.probs, (size_t)B * K * sizeof(float));
    }
}

/* DEC's targets from q (N, K) into p (N, K); f (K) is scratch. */
static void sharpen(float *p, const float *q, size_t N, size_t K, double *f)
{
    for (size_t k = 0; k < K; k++)
        f[k] = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < K; k++)
            f[k] += (double)q[i * K + k];
    for (size_t i = 0; i < N; i++) {
        double row = 0.0;
        for (size_t k = 0; k < K; k++) {
            double v = (double)q[i * K + k] * (double)q[i * K + k] / (f[k] > 0.0 ? f[k] : 1e-30);
            p[i * K + k] = (float)v;
            row += v;
        }
        for (size_t k = 0; k < K; k++)
            p[i * K + k] = (float)((double)p[i * K + k] / row);
    }
}

/* The smallest cluster's share of rows, by arg-max of q (N, K). */
static double smallest_share(const float *q, size_t N, size_t K, size_t *counts)
{
    memset(counts, 0, K * sizeof *counts);
    for (size_t i = 0; i < N; i++)
        counts[argmax_row(q + i * K, (int)K)]++;
    size_t least = counts[0];
    for (size_t k = 1; k < K; k++)
        least = counts[k] < least ? counts[k] : least;
    return (double)least / (double)N;
}

#define MIN_CLUSTER_SHARE 0.01
#define UNSUPERVISED_CONTEXT 1024
/* Share of each refinement target kept on the row's k-means cluster: an
 * anchor against drifting away from a good start (measured over 0.2, 0.5,
 * 0.8 on Iris, Wine, Breast Cancer and a synthetic set; 0.5 balances the
 * gains on non-spherical clusters against the losses elsewhere). */
#define ANCHOR 0.5f
/* The warm-up ends once the model agrees with k-means on this share of rows. */
#define WARMUP_AGREEMENT 0.99

/* Passes the warm-up's epochs on to the caller's callback: each of the
 * run's epochs is `inner` passes of trainer_run_epochs, reported once, as
 * epoch `offset` of `total`. */
typedef struct relay {
    ac_epoch_callback callback;
    void *user;
    int total;
    int offset;
    int inner;
    double last_accuracy;
} relay;

static int relay_epoch(const ac_epoch_report *r, void *user)
{
    relay *rl = user;
    rl->last_accuracy = r->accuracy;
    if (r->epoch + 1 < rl->inner)
        return 0;
    ac_epoch_report copy = *r;
    copy.epoch = rl->offset;
    copy.epochs = rl->total;
    return rl->callback ? rl->callback(&copy, rl->user) : 0;
}

ac_status train_unsupervised(const ac_dataset *ds, const ac_params *p, ac_epoch_callback callback,
                             void *user, ac_model **out, ac_error *err)
{
    ac_status st = ac_params_validate(p, err);
    if (st != AC_OK)
        return st;
    size_t N = ds->n, F = ds->f, K = (size_t)p->clusters;
    if (N < K || N > UINT32_MAX)
        return ac_set_error(err, AC_ERR_DATA, ds->source, 0, 0,
                            "%zu rows for %zu clusters (expected at least as many rows as "
                            "clusters)",
                            N, K);
    /* A view of the data without its labels: nothing below can read them. */
    ac_dataset view = *ds;
    view.labels = NULL;
    view.label_names = NULL;
    view.n_label_names = 0;
    view.classes = 0;

    int32_t *pseudo = ac_alloc(N * sizeof(int32_t));
    float *q = ac_alloc(N * K * sizeof(float)), *targets = ac_alloc(N * K * sizeof(float));
    float *saved = NULL;
    double *f = ac_alloc(K * sizeof(double));
    size_t *counts = ac_alloc(K * sizeof(size_t));
    ac_model *m = NULL;
    trainer tr;
    memset(&tr, 0, sizeof tr);
    if (!pseudo || !q || !targets || !f || !counts) {
        st = ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
        goto done;
    }
    ac_kmeans_params kp = ac_kmeans_default_params((int)K);
    kp.seed = p->seed;
    if ((st = ac_kmeans(ds->x, N, F, &kp, pseudo, NULL, NULL, err)) != AC_OK)
        goto done;

    ac_rng rng;
    ac_rng_seed(&rng, p->seed);
    /* Batches are the attention's context: train on the context the model
     * predicts with, the whole set up to UNSUPERVISED_CONTEXT rows. */
    int cap = N < UNSUPERVISED_CONTEXT ? (int)N : UNSUPERVISED_CONTEXT;
    if (p->batch_size > cap && (size_t)p->batch_size <= N)
        cap = p->batch_size;
    if ((st = model_create(p, F, &rng, &m, err)) != AC_OK ||
        (st = trainer_init(&tr, m, p, cap, N, err)) != AC_OK)
        goto done;
    if (!(saved = ac_alloc(m->n_params * sizeof(float)))) {
        st = ac_set_error(err, AC_ERR_NOMEM, ds->source, 0, 0, "out of memory");
        goto done;
    }

    /* Warm-up on the k-means assignment, in the context the model will
     * predict with, until it reproduces the assignment on WARMUP_AGREEMENT
     * of the rows, or half the epochs; the refinement takes the rest, so
     * the run is p->epochs. An epoch makes as many steps as the chapter's
     * mini-batches would (N / batch_size), each over the whole context. */
    int steps = (int)((N + (size_t)p->batch_size - 1) / (size_t)p->batch_size);
    ac_dataset warm = view;
    warm.labels = pseudo;
    warm.classes = K;
    tr.p.epochs = steps;
    tr.p.batch_size = cap;
    relay rl = {callback, user, p->epochs, 0, steps, 0.0};
    int epoch = 0;
    int warmup_max = (p->epochs + 1) / 2;
    for (; epoch < warmup_max && rl.last_accuracy < WARMUP_AGREEMENT; epoch++) {
        rl.offset = epoch;
        if (trainer_run_epochs(&tr, m, &warm, &rng, relay_epoch, &rl) != AC_OK) {
            st = trainer_halt_error(&tr, err);
            goto done;
        }
    }
    int warmup = epoch, refine_end = p->epochs;

    /* Refinement against sharpened targets, computed on the very batches
     * the epoch then trains on (a row's probabilities depend on its batch). */
    size_t batches = (N + (size_t)cap - 1) / (size_t)cap;
    int refined = 0;
    for (epoch = warmup; epoch < refine_end; epoch++) {
        for (size_t i = 0; i < N; i++)
            tr.order[i] = (uint32_t)i;
        ac_rng_shuffle(&rng, tr.order, N);
        for (size_t bi = 0; bi < batches; bi++) {
            size_t start = bi * (size_t)cap;
            int B = (int)(N - start < (size_t)cap ? N - start : (size_t)cap);
            for (int b = 0; b < B; b++)
                memcpy(tr.batch_x + (size_t)b * F, ds->x + (size_t)tr.order[start + (size_t)b] * F,
                       F * sizeof(float));
            model_forward(m, &tr.acts, tr.batch_x, B);
            crossentropy_forward(tr.acts.probs, NULL, tr.acts.logits, NULL, B, m->K);
            memcpy(q + start * K, tr.acts.probs, (size_t)B * K * sizeof(float));
        }
        if (smallest_share(q, N, K, counts) < MIN_CLUSTER_SHARE) {
            /* The last epoch left a cluster nearly empty: undo it and stop
             * (before the first refinement epoch there is nothing to undo). */
            if (epoch > warmup)
                memcpy(m->params, saved, m->n_params * sizeof(float));
            break;
        }
        memcpy(saved, m->params, m->n_params * sizeof(float));
        sharpen(targets, q, N, K, f); /* targets in the epoch's order */
        for (size_t i = 0; i < N; i++) {
            /* Anchor: a share of each target stays on the k-means cluster. */
            int32_t c = pseudo[tr.order[i]];
            for (size_t k = 0; k < K; k++)
                targets[i * K + k] = (1.0f - ANCHOR) * targets[i * K + k] +
                                     (k == (size_t)c ? ANCHOR : 0.0f);
        }
        double loss_sum = 0.0;
        for (int pass = 0; pass < steps; pass++)
            for (size_t bi = 0; bi < batches; bi++) {
                size_t start = bi * (size_t)cap;
                int B = (int)(N - start < (size_t)cap ? N - start : (size_t)cap);
                for (int b = 0; b < B; b++)
                    memcpy(tr.batch_x + (size_t)b * F,
                           ds->x + (size_t)tr.order[start + (size_t)b] * F, F * sizeof(float));
                double loss = trainer_step_soft(&tr, m, tr.batch_x, targets + start * K, B);
                if (trainer_check(&tr, m, loss, epoch, pass * (int)batches + (int)bi,
                                  steps * (int)batches) != AC_OK) {
                    st = trainer_halt_error(&tr, err);
                    goto done;
                }
                loss_sum += loss;
            }
        loss_sum /= steps;
        refined = 1;
        if (callback) {
            ac_epoch_report r = {epoch, p->epochs, loss_sum / (double)batches, NAN};
            if (callback(&r, user))
                break;
        }
    }
    /* A last check of the final model against collapse. */
    predict_all(&tr, m, ds->x, N, q);
    if (refined && smallest_share(q, N, K, counts) < MIN_CLUSTER_SHARE)
        memcpy(m->params, saved, m->n_params * sizeof(float));
    if ((st = keep_data_description(m, &view, p, tr.order, err)) != AC_OK)
        goto done;
    *out = m;
    m = NULL;

done:
    trainer_free(&tr);
    ac_model_free(m);
    ac_free(pseudo), ac_free(q), ac_free(targets), ac_free(saved), ac_free(f), ac_free(counts);
    return st;
}
