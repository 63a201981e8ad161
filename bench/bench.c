/*
 * bench.c - times attncluster for `make bench` (bench/run.py drives it and
 * its PyTorch peer, bench/torch_peer.py, alternately). Each invocation
 * measures one case and prints "key=value" lines:
 *
 *   chapter    --threads T                     100 epochs on Iris, training only
 *   throughput --batch B --threads T           rows/s over 200 steps after 20 warm-up steps
 *                                              (100,000 rows, 16 features, 8 clusters, H 64)
 *   fullctx    --rows N --threads T            one forward pass with attention across all
 *                                              N rows (4 features, H 64, 3 clusters):
 *                                              seconds, and peak RSS minus RSS after loading
 *   kernel     --rows N --threads T            GFLOP/s of the attention forward on a wide
 *                                              input (64 features: no structural shortcut)
 */
#define _POSIX_C_SOURCE 200809L

#include "attncluster.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Resident set size now, from /proc/self/statm, in bytes. */
static double rss_now(void)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(fp);
    }
    return (double)resident * 4096.0;
}

static double rss_peak(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0;
}

/* Gaussian blobs: K centres in [0, 1]^F, rows around them. */
static void blobs(float *x, int32_t *y, size_t n, size_t F, int K, uint64_t seed)
{
    ac_rng rng;
    ac_rng_seed(&rng, seed);
    float *centres = malloc((size_t)K * F * sizeof(float));
    for (size_t i = 0; i < (size_t)K * F; i++)
        centres[i] = (float)ac_rng_uniform(&rng);
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % (size_t)K);
        if (y)
            y[i] = k;
        for (size_t f = 0; f < F; f++)
            x[i * F + f] = centres[k * F + f] + 0.1f * (float)ac_rng_normal(&rng);
    }
    free(centres);
}

static int die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    return 1;
}

static int bench_chapter(void)
{
    ac_dataset *ds = NULL;
    if (ac_dataset_load_builtin_iris(&ds, NULL) != AC_OK ||
        ac_dataset_normalize(ds, AC_NORMALIZE_MINMAX, NULL) != AC_OK)
        return die("cannot load Iris");
    ac_params p = ac_params_default();
    ac_rng rng;
    ac_rng_seed(&rng, p.seed);
    ac_model *m = NULL;
    trainer tr;
    if (model_create(&p, 4, &rng, &m, NULL) != AC_OK ||
        trainer_init(&tr, m, &p, p.batch_size, ac_dataset_rows(ds), NULL) != AC_OK)
        return die("out of memory");
    double t0 = now();
    trainer_run_epochs(&tr, m, ds, &rng, NULL, NULL);
    double t1 = now();
    printf("seconds=%.6f\n", t1 - t0);
    trainer_free(&tr);
    ac_model_free(m);
    ac_dataset_free(ds);
    return 0;
}

static int bench_throughput(int batch)
{
    const size_t N = 100000, F = 16;
    const int K = 8, warmup = 20, steps = 200;
    float *x = malloc(N * F * sizeof(float));
    int32_t *y = malloc(N * sizeof(int32_t));
    if (!x || !y)
        return die("out of memory");
    blobs(x, y, N, F, K, 1);
    ac_params p = ac_params_default();
    p.clusters = K;
    p.batch_size = batch;
    ac_model *m = NULL;
    trainer tr;
    if (ac_model_create(&p, F, &m, NULL) != AC_OK ||
        trainer_init(&tr, m, &p, batch, N, NULL) != AC_OK)
        return die("out of memory");
    double t0 = 0.0;
    for (int s = 0; s < warmup + steps; s++) {
        if (s == warmup)
            t0 = now();
        size_t start = ((size_t)s * (size_t)batch) % (N - (size_t)batch);
        trainer_step(&tr, m, x + start * F, y + start, batch, NULL);
    }
    double t1 = now();
    printf("seconds=%.6f\nrows_per_s=%.1f\n", t1 - t0, (double)steps * batch / (t1 - t0));
    trainer_free(&tr);
    ac_model_free(m);
    free(x), free(y);
    return 0;
}

static int bench_fullctx(size_t N)
{
    const size_t F = 4;
    float *x = malloc(N * F * sizeof(float));
    int32_t *clusters = malloc(N * sizeof(int32_t));
    if (!x || !clusters)
        return die("out of memory");
    blobs(x, NULL, N, F, 3, 2);
    ac_params p = ac_params_default();
    ac_model *m = NULL;
    if (ac_model_create(&p, F, &m, NULL) != AC_OK)
        return die("out of memory");
    double base = rss_now();
    ac_error err;
    double t0 = now();
    if (ac_model_predict(m, x, N, AC_CONTEXT_BATCH, clusters, NULL, &err) != AC_OK)
        return die(err.message);
    double t1 = now();
    printf("seconds=%.6f\nextra_mb=%.1f\n", t1 - t0, (rss_peak() - base) / 1048576.0);
    ac_model_free(m);
    free(x), free(clusters);
    return 0;
}

static int bench_kernel(size_t N)
{
    const size_t F = 64, H = 64;
    ac_params p = ac_params_default();
    ac_model *m = NULL;
    float *x = malloc(N * F * sizeof(float));
    float *q = malloc(N * H * sizeof(float)), *k = malloc(N * H * sizeof(float));
    float *v = malloc(N * H * sizeof(float)), *ctx = malloc(N * H * sizeof(float));
    float *kt = malloc(N * H * sizeof(float));
    if (!x || !q || !k || !v || !ctx || !kt || ac_model_create(&p, F, &m, NULL) != AC_OK)
        return die("out of memory");
    blobs(x, NULL, N, F, 3, 3);
    linear_forward(q, x, m->p.t[P_QW], m->p.t[P_QB], (int)N, (int)F, (int)H);
    linear_forward(k, x, m->p.t[P_KW], m->p.t[P_KB], (int)N, (int)F, (int)H);
    linear_forward(v, x, m->p.t[P_VW], m->p.t[P_VB], (int)N, (int)F, (int)H);
    double t0 = now();
    attention_forward_streaming(ctx, kt, q, k, v, (int)N, (int)H, 1.0f / 8.0f);
    double t1 = now();
    /* Q·Kᵀ and weights·V: 2·N²·H multiply-adds each. */
    double flops = 4.0 * (double)N * (double)N * (double)H;
    printf("seconds=%.6f\ngflops=%.2f\n", t1 - t0, flops / (t1 - t0) * 1e-9);
    ac_model_free(m);
    free(x), free(q), free(k), free(v), free(ctx), free(kt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return die("usage: bench chapter|throughput|fullctx|kernel [--threads T] [--batch B] "
                   "[--rows N]");
    int threads = 1, batch = 32;
    size_t rows = 16000;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--batch") == 0)
            batch = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--rows") == 0)
            rows = (size_t)atol(argv[i + 1]);
        else
            return die("unknown option");
    }
    printf("threads=%d\n", ac_set_threads(threads));
    if (strcmp(argv[1], "chapter") == 0)
        return bench_chapter();
    if (strcmp(argv[1], "throughput") == 0)
        return bench_throughput(batch);
    if (strcmp(argv[1], "fullctx") == 0)
        return bench_fullctx(rows);
    if (strcmp(argv[1], "kernel") == 0)
        return bench_kernel(rows);
    return die("unknown case");
}
