/*
 * attncluster.c - the command-line tool. It parses arguments, calls the
 * library and prints: results on stdout, progress and messages on stderr.
 * No maths here.
 *
 * Exit codes: 0 ok, 1 a runtime problem (file, data, memory), 2 a malformed
 * command line.
 */
#define _POSIX_C_SOURCE 200809L

#include "attncluster.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

#define DEFAULT_DATA "data/iris.csv"
#define SAMPLES_PER_CLUSTER 5

typedef enum command { CMD_TRAIN, CMD_PREDICT, CMD_EVAL, CMD_INFO } command;

typedef struct options {
    command cmd;
    ac_params params;
    const char *data;   /* train: NULL means data/iris.csv when it exists, else built in;
                           predict/eval/info: the positional file */
    const char *save;   /* train --save */
    const char *model;  /* predict/eval --model */
    const char *output; /* predict --output */
    ac_context context; /* predict/eval --context */
    int print_every;
    int quiet;
} options;

/* ------------------------------------------------------------------ usage */

static void print_usage(FILE *out)
{
    ac_params d = ac_params_default();
    fprintf(out,
            "Usage: attncluster [train] [options]\n"
            "       attncluster predict --model FILE [--output OUT.csv] [--context C] DATA.csv\n"
            "       attncluster eval --model FILE [--context C] DATA.csv\n"
            "       attncluster info FILE\n"
            "\n"
            "Trains a self-attention clustering model on a CSV file and prints the\n"
            "clustering, as the chapter \"Clustering with Attention\" does. With no\n"
            "arguments it runs the chapter's Iris example. DATA.csv may be '-' for\n"
            "standard input.\n"
            "\n"
            "train options (defaults in brackets):\n"
            "  --data FILE             CSV: a header, numeric features, the species last\n"
            "                          [data/iris.csv if present, else the built-in copy]\n"
            "  --hidden N              hidden size H [%d]\n"
            "  --batch-size N          rows per batch [%d]\n"
            "  --lr X                  AdamW learning rate [%g]\n"
            "  --weight-decay X        AdamW weight decay [%g]\n"
            "  --epochs N              passes over the data [%d]\n"
            "  --clusters K            number of clusters [%d]\n"
            "  --print-every N         print the loss every N epochs [10]\n"
            "  --seed N                seed of the one random generator [%llu]\n"
            "  --attention-scale S     'none' (the chapter's code) or 'sqrt' (1/sqrt(H)) [none]\n"
            "  --candle-compat         train as Candle really does: only cluster_proj learns\n"
            "                          [off: every layer learns]\n"
            "  --save FILE             write the trained model (safetensors) [not saved]\n"
            "  --quiet                 no progress bar, no 'Saved the model' message\n"
            "\n"
            "predict and eval options:\n"
            "  --model FILE            a model saved by 'train --save'\n"
            "  --output FILE           predict: write the CSV there [standard output]\n"
            "  --context C             'reference': each row attends over the model's\n"
            "                          reference rows and itself, so its cluster does not\n"
            "                          depend on the other rows; 'batch': across the rows\n"
            "                          given, as the chapter [reference]\n"
            "\n"
            "  -h, --help              this help\n"
            "  --version               the version\n"
            "\n"
            "Exit status: 0 ok, 1 a file, data or memory problem, 2 a bad command line.\n",
            d.hidden, d.batch_size, d.lr, d.weight_decay, d.epochs, d.clusters,
            (unsigned long long)d.seed);
}

static int usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Prints "attncluster: MESSAGE" and a pointer to --help; returns exit code 2. */
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "attncluster: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'attncluster --help' for the options.\n");
    va_end(ap);
    return EXIT_USAGE;
}


/* ------------------------------------------------------- strict number parsing */

/* An integer in [min, max] written as plain decimal digits with an optional
 * sign; anything else (spaces, trailing text, overflow) is rejected. */
static int parse_long(const char *s, long min, long max, long *out)
{
    if (!*s || !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
        return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno == ERANGE || v < min || v > max)
        return 0;
    *out = v;
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE)
        return 0;
    *out = (uint64_t)v;
    return 1;
}

/* A finite number in [min, max]; min_open excludes min itself. */
static int parse_double(const char *s, double min, int min_open, double max, double *out)
{
    /* Plain decimals only: strtod would also take hex, "inf" and "nan". */
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < min || (min_open && v == min) || v > max)
        return 0;
    *out = v;
    return 1;
}

/* Stores an integer option in [min, max]; returns -1 when stored, else the
 * usage error's exit code. */
static int int_option(const char *name, const char *arg, long min, long max, int *out)
{
    long n;
    if (!parse_long(arg, min, max, &n))
        return usage_error("--%s: '%s' is not an integer from %ld to %ld", name, arg, min, max);
    *out = (int)n;
    return -1;
}

/* A printable rendering of a short option letter for a message. */
static const char *short_name(int c)
{
    static char buf[2];
    buf[0] = (c > 32 && c < 127) ? (char)c : '?';
    buf[1] = '\0';
    return buf;
}

/* How many long options begin with the text of `arg` ("--c" or "--c=1"). */
static int prefix_matches(const struct option *opts, const char *arg)
{
    if (strncmp(arg, "--", 2) != 0)
        return 0;
    arg += 2;
    size_t len = strcspn(arg, "=");
    int n = 0;
    for (; opts->name; opts++)
        n += strncmp(opts->name, arg, len) == 0;
    return n;
}

/* Flushes stdout: a write error (a full disk, a closed pipe) turns exit code
 * `rc` into a runtime error. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "attncluster: cannot write the output: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    return rc;
}

enum {
    OPT_DATA = 256, OPT_HIDDEN, OPT_BATCH, OPT_LR, OPT_WD, OPT_EPOCHS, OPT_CLUSTERS,
    OPT_PRINT_EVERY, OPT_SEED, OPT_SCALE, OPT_CANDLE, OPT_QUIET, OPT_VERSION, OPT_SAVE,
    OPT_MODEL, OPT_OUTPUT, OPT_CONTEXT, OPT_END
};

/* Which options each command takes (bit OPT_x - OPT_DATA). */
#define BIT(o) (1u << ((o) - OPT_DATA))
static const unsigned command_options[] = {
    [CMD_TRAIN] = BIT(OPT_DATA) | BIT(OPT_HIDDEN) | BIT(OPT_BATCH) | BIT(OPT_LR) | BIT(OPT_WD) |
                  BIT(OPT_EPOCHS) | BIT(OPT_CLUSTERS) | BIT(OPT_PRINT_EVERY) | BIT(OPT_SEED) |
                  BIT(OPT_SCALE) | BIT(OPT_CANDLE) | BIT(OPT_QUIET) | BIT(OPT_SAVE),
    [CMD_PREDICT] = BIT(OPT_MODEL) | BIT(OPT_OUTPUT) | BIT(OPT_CONTEXT) | BIT(OPT_QUIET),
    [CMD_EVAL] = BIT(OPT_MODEL) | BIT(OPT_CONTEXT) | BIT(OPT_QUIET),
    [CMD_INFO] = 0,
};
static const char *const command_names[] = {"train", "predict", "eval", "info"};

/* Returns -1 to go on, or an exit code (0 after --help/--version). */
static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, OPT_DATA},
        {"hidden", required_argument, NULL, OPT_HIDDEN},
        {"batch-size", required_argument, NULL, OPT_BATCH},
        {"lr", required_argument, NULL, OPT_LR},
        {"weight-decay", required_argument, NULL, OPT_WD},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"clusters", required_argument, NULL, OPT_CLUSTERS},
        {"print-every", required_argument, NULL, OPT_PRINT_EVERY},
        {"seed", required_argument, NULL, OPT_SEED},
        {"attention-scale", required_argument, NULL, OPT_SCALE},
        {"candle-compat", no_argument, NULL, OPT_CANDLE},
        {"quiet", no_argument, NULL, OPT_QUIET},
        {"save", required_argument, NULL, OPT_SAVE},
        {"model", required_argument, NULL, OPT_MODEL},
        {"output", required_argument, NULL, OPT_OUTPUT},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    opterr = 0; /* our own messages */
    optind = 1;
    int c, index, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, &index)) != -1) {
        const char *arg = optarg;
        if (c >= OPT_DATA && c < OPT_END && c != OPT_VERSION &&
            !(command_options[o->cmd] & BIT(c)))
            return usage_error("--%s is not an option of '%s'", longopts[index].name,
                               command_names[o->cmd]);
        switch (c) {
        case OPT_SAVE: o->save = arg; break;
        case OPT_MODEL: o->model = arg; break;
        case OPT_OUTPUT: o->output = arg; break;
        case OPT_CONTEXT:
            if (strcmp(arg, "reference") == 0)
                o->context = AC_CONTEXT_REFERENCE;
            else if (strcmp(arg, "batch") == 0)
                o->context = AC_CONTEXT_BATCH;
            else
                return usage_error("--context: '%s' is not %s", arg, "'reference' or 'batch'");
            break;
        case OPT_DATA: o->data = arg; break;
        case OPT_HIDDEN:
            if ((rc = int_option("hidden", arg, 1, 65536, &o->params.hidden)) >= 0)
                return rc;
            break;
        case OPT_BATCH:
            if ((rc = int_option("batch-size", arg, 1, 65536, &o->params.batch_size)) >= 0)
                return rc;
            break;
        case OPT_LR:
            if (!parse_double(arg, 0.0, 1, 1e6, &o->params.lr))
                return usage_error("--lr: '%s' is not %s", arg, "a number > 0 and <= 1e6");
            break;
        case OPT_WD:
            if (!parse_double(arg, 0.0, 0, 1e6, &o->params.weight_decay))
                return usage_error("--weight-decay: '%s' is not %s", arg,
                                   "a number >= 0 and <= 1e6");
            break;
        case OPT_EPOCHS:
            if ((rc = int_option("epochs", arg, 1, 1000000000L, &o->params.epochs)) >= 0)
                return rc;
            break;
        case OPT_CLUSTERS:
            if ((rc = int_option("clusters", arg, 1, 65536, &o->params.clusters)) >= 0)
                return rc;
            break;
        case OPT_PRINT_EVERY:
            if ((rc = int_option("print-every", arg, 1, 1000000000L, &o->print_every)) >= 0)
                return rc;
            break;
        case OPT_SEED:
            if (!parse_u64(arg, &o->params.seed))
                return usage_error("--seed: '%s' is not %s", arg,
                                   "an integer from 0 to 18446744073709551615");
            break;
        case OPT_SCALE:
            if (strcmp(arg, "none") == 0)
                o->params.attention_scale = AC_SCALE_NONE;
            else if (strcmp(arg, "sqrt") == 0)
                o->params.attention_scale = AC_SCALE_SQRT;
            else
                return usage_error("--attention-scale: '%s' is not %s", arg, "'none' or 'sqrt'");
            break;
        case OPT_CANDLE: o->params.candle_compat = 1; break;
        case OPT_QUIET: o->quiet = 1; break;
        case 'h': print_usage(stdout); return finish_output(0);
        case OPT_VERSION:
            printf("attncluster %s\n", ac_version());
            return finish_output(0);
        case ':':
            if (optopt > 0 && optopt < 256)
                return usage_error("-%s needs a value", short_name(optopt));
            return usage_error("%s needs a value", argv[optind - 1]);
        default:
            /* optopt holds the letter of a bad short option (argv may still
             * point at its group); 0 for an unknown or ambiguous long one. */
            if (optopt > 0 && optopt < 256)
                return usage_error("unknown option '-%s'", short_name(optopt));
            if (prefix_matches(longopts, argv[optind - 1]) > 1)
                return usage_error("ambiguous option '%s' (it begins more than one option)",
                                   argv[optind - 1]);
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    /* train takes no positional argument; the others exactly one file. */
    int want = o->cmd == CMD_TRAIN ? 0 : 1;
    if (argc - optind > want)
        return usage_error("unexpected argument '%s'", argv[optind + want]);
    if (argc - optind < want)
        return usage_error("%s needs %s", command_names[o->cmd],
                           o->cmd == CMD_INFO ? "a model file" : "a data file (or '-')");
    if (want)
        o->data = argv[optind];
    if ((o->cmd == CMD_PREDICT || o->cmd == CMD_EVAL) && !o->model)
        return usage_error("%s needs --model FILE", command_names[o->cmd]);
    return -1;
}

/* ---------------------------------------------------------------- progress */

/* A tqdm-style bar on stderr, redrawn in place:
 *   100%|████████████████████| 100/100 [00:00<00:00, 1234.56it/s] */
typedef struct progress {
    int enabled;
    int total;
    double start, last_draw;
    int drawn; /* a bar is on the current stderr line */
} progress;

#define BAR_CELLS 20

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void format_clock(char *buf, size_t size, double seconds)
{
    /* Clamped, so that an absurd estimate cannot overflow the buffer. */
    if (!(seconds >= 0.0))
        seconds = 0.0;
    if (seconds > 359999.0)
        seconds = 359999.0;
    int s = (int)(seconds + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%02d:%02d", s / 60, s % 60);
}

static void progress_draw(progress *p, int done)
{
    /* Eighths of a cell, as tqdm draws them. */
    static const char *const partial[8] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    double elapsed = now_seconds() - p->start;
    double frac = (double)done / p->total;
    int eighths = (int)(frac * BAR_CELLS * 8);
    char bar[BAR_CELLS * 3 + 1 + 8];
    size_t len = 0;
    int cells = 0;
    for (; cells < eighths / 8; cells++) {
        memcpy(bar + len, "█", 3);
        len += 3;
    }
    if (cells < BAR_CELLS && eighths % 8) {
        size_t n = strlen(partial[eighths % 8]);
        memcpy(bar + len, partial[eighths % 8], n);
        len += n;
        cells++;
    }
    for (; cells < BAR_CELLS; cells++)
        bar[len++] = ' ';
    bar[len] = '\0';
    double rate = elapsed > 0 ? done / elapsed : 0.0;
    char el[32], left[32], speed[48];
    format_clock(el, sizeof el, elapsed);
    if (rate > 0)
        format_clock(left, sizeof left, (p->total - done) / rate);
    else
        snprintf(left, sizeof left, "?");
    if (rate >= 1.0 || rate == 0.0)
        snprintf(speed, sizeof speed, "%.2fit/s", rate);
    else
        snprintf(speed, sizeof speed, "%.2fs/it", 1.0 / rate);
    fprintf(stderr, "\r%3d%%|%s| %d/%d [%s<%s, %s]", (int)(frac * 100), bar, done, p->total,
            el, left, speed);
    fflush(stderr);
    p->drawn = 1;
    p->last_draw = now_seconds();
}

/* Clears the bar's line so that a line on stdout does not land inside it. */
static void progress_clear(progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}

/* ----------------------------------------------------------------- training */

typedef struct run_state {
    const options *opt;
    progress bar;
} run_state;

static int on_epoch(const ac_epoch_report *r, void *user)
{
    run_state *rs = user;
    int last = r->epoch + 1 == r->epochs;
    if (r->epoch % rs->opt->print_every == 0 || last) {
        progress_clear(&rs->bar);
        printf("Epoch %d/%d: Loss = %.4f, Accuracy = %.4f\n", r->epoch + 1, r->epochs, r->loss,
               r->accuracy);
        fflush(stdout);
    }
    if (rs->bar.enabled && (last || now_seconds() - rs->bar.last_draw > 0.05 || !rs->bar.drawn))
        progress_draw(&rs->bar, r->epoch + 1);
    if (rs->bar.enabled && last) {
        fputc('\n', stderr);
        rs->bar.drawn = 0;
    }
    return 0;
}

/* A CSV field, quoted (RFC 4180) when it holds a comma, quote or newline. */
static void print_csv_field(FILE *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int report_error(const ac_error *e)
{
    if (e->source[0] && e->line > 0)
        fprintf(stderr, "%s:%ld: %s\n", e->source, e->line, e->message);
    else if (e->source[0])
        fprintf(stderr, "%s: %s\n", e->source, e->message);
    else
        fprintf(stderr, "attncluster: %s\n", e->message);
    return EXIT_RUNTIME;
}

static int load_data(const options *o, ac_dataset **ds, ac_error *err)
{
    struct stat st;
    ac_status s;
    if (o->data)
        s = ac_dataset_load_csv(o->data, ds, err);
    else if (stat(DEFAULT_DATA, &st) == 0)
        s = ac_dataset_load_csv(DEFAULT_DATA, ds, err);
    else
        s = ac_dataset_load_builtin_iris(ds, err);
    return s == AC_OK ? 0 : -1;
}

static void print_samples(const ac_dataset *ds, const int32_t *clusters, int K)
{
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    const float *x = ac_dataset_features(ds);
    const int32_t *labels = ac_dataset_labels(ds);
    printf("Sample cluster assignments:\n");
    for (int k = 0; k < K; k++) {
        printf("Cluster %d:\n", k);
        int shown = 0;
        for (size_t i = 0; i < N && shown < SAMPLES_PER_CLUSTER; i++) {
            if (clusters[i] != k)
                continue;
            printf("  Sample %zu: Features = [", i);
            for (size_t f = 0; f < F; f++)
                printf("%s%.2f", f ? ", " : "", (double)x[i * F + f]);
            printf("], True Label = %d\n", (int)labels[i]);
            shown++;
        }
    }
}

static int run_train(const options *o)
{
    ac_error err;
    ac_dataset *ds = NULL;
    ac_model *model = NULL;
    int32_t *clusters = NULL;
    int rc = EXIT_RUNTIME;

    if (load_data(o, &ds, &err) != 0)
        return report_error(&err);
    if (!ac_dataset_labels(ds)) {
        fprintf(stderr, "%s: no label column (expected the species in the last column: "
                        "training follows the labels)\n", ac_dataset_source(ds));
        ac_dataset_free(ds);
        return EXIT_RUNTIME;
    }
    size_t N = ac_dataset_rows(ds);
    printf("Loaded %zu samples from %s\n", N, ac_dataset_source(ds));
    printf("Loaded Iris dataset: %zu samples\n", N);
    if (ac_dataset_normalize_minmax(ds, &err) != AC_OK) {
        rc = report_error(&err);
        goto done;
    }
    printf("Starting training...\n");
    fflush(stdout);

    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.opt = o;
    rs.bar.enabled = !o->quiet && isatty(STDERR_FILENO);
    rs.bar.total = o->params.epochs;
    rs.bar.start = now_seconds();
    if (ac_train(ds, &o->params, on_epoch, &rs, &model, &err) != AC_OK) {
        progress_clear(&rs.bar);
        rc = report_error(&err);
        goto done;
    }

    clusters = malloc(N * sizeof *clusters);
    if (!clusters) {
        fprintf(stderr, "attncluster: out of memory\n");
        goto done;
    }
    /* The chapter's inference: one forward pass over all rows, the attention
     * running across the whole data set. */
    if (ac_model_predict(model, ac_dataset_features(ds), N, AC_CONTEXT_BATCH, clusters, NULL, &err) != AC_OK) {
        rc = report_error(&err);
        goto done;
    }
    printf("\nFinal clustering accuracy: %.4f\n\n",
           ac_accuracy_raw(clusters, ac_dataset_labels(ds), N));
    print_samples(ds, clusters, (int)ac_model_clusters(model));
    if (o->save) {
        if (ac_model_save(model, o->save, &err) != AC_OK) {
            rc = report_error(&err);
            goto done;
        }
        if (!o->quiet)
            fprintf(stderr, "Saved the model to %s\n", o->save);
    }
    rc = 0;

done:
    rc = finish_output(rc);
    free(clusters);
    ac_model_free(model);
    ac_dataset_free(ds);
    return rc;
}

/* ------------------------------------------------------- predict, eval, info */

/* What predict and eval share: the model, the data made ready for it, and
 * every row's cluster and probabilities. */
typedef struct prediction {
    ac_model *model;
    ac_dataset *ds;
    int32_t *clusters; /* (N) */
    float *probs;      /* (N, K) */
} prediction;

static void prediction_free(prediction *p)
{
    ac_model_free(p->model);
    ac_dataset_free(p->ds);
    free(p->clusters);
    free(p->probs);
}

static int predict_rows(const options *o, prediction *p)
{
    ac_error err;
    memset(p, 0, sizeof *p);
    if (ac_model_load(o->model, &p->model, &err) != AC_OK ||
        ac_dataset_load_csv(o->data, &p->ds, &err) != AC_OK ||
        ac_dataset_prepare_for_model(p->ds, p->model, &err) != AC_OK)
        return report_error(&err);
    size_t N = ac_dataset_rows(p->ds), K = ac_model_clusters(p->model);
    p->clusters = malloc(N * sizeof *p->clusters);
    p->probs = malloc(N * K * sizeof *p->probs);
    if (!p->clusters || !p->probs) {
        fprintf(stderr, "attncluster: out of memory for %zu rows\n", N);
        return EXIT_RUNTIME;
    }
    if (ac_model_predict(p->model, ac_dataset_features(p->ds), N, o->context, p->clusters,
                         p->probs, &err) != AC_OK)
        return report_error(&err);
    return 0;
}

/* predict: "row,cluster,p_0,...,p_{K-1}[,label]", one line per input row. */
static int run_predict(const options *o)
{
    prediction p;
    int rc = predict_rows(o, &p);
    if (rc != 0) {
        prediction_free(&p);
        return rc;
    }
    size_t N = ac_dataset_rows(p.ds), K = ac_model_clusters(p.model);
    size_t n_labels = ac_model_label_count(p.model);
    /* With --output the CSV is built in memory and written atomically, so a
     * failure never leaves a half-written file in place of an old one. */
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = o->output ? open_memstream(&text, &text_len) : stdout;
    if (!out) {
        fprintf(stderr, "attncluster: out of memory\n");
        prediction_free(&p);
        return EXIT_RUNTIME;
    }
    fprintf(out, "row,cluster");
    for (size_t k = 0; k < K; k++)
        fprintf(out, ",p_%zu", k);
    fprintf(out, n_labels ? ",label\n" : "\n");
    for (size_t i = 0; i < N; i++) {
        fprintf(out, "%zu,%d", i, (int)p.clusters[i]);
        for (size_t k = 0; k < K; k++)
            fprintf(out, ",%.9g", (double)p.probs[i * K + k]);
        if (n_labels) {
            const char *name = ac_model_label_name(p.model, (size_t)p.clusters[i]);
            fputc(',', out);
            print_csv_field(out, name ? name : "");
        }
        fputc('\n', out);
    }
    if (o->output) {
        ac_error err;
        int failed = fclose(out) != 0;
        if (failed) {
            fprintf(stderr, "attncluster: out of memory\n");
            rc = EXIT_RUNTIME;
        } else if (ac_file_write_atomic(o->output, text, text_len, &err) != AC_OK) {
            rc = report_error(&err);
        }
        free(text);
    } else {
        rc = finish_output(0);
    }
    prediction_free(&p);
    return rc;
}

/* eval: the cluster sizes and, when the data has labels, the accuracy. */
static int run_eval(const options *o)
{
    prediction p;
    int rc = predict_rows(o, &p);
    if (rc != 0) {
        prediction_free(&p);
        return rc;
    }
    size_t N = ac_dataset_rows(p.ds), K = ac_model_clusters(p.model);
    printf("Rows: %zu\n", N);
    if (o->context == AC_CONTEXT_REFERENCE)
        printf("Context: reference (each row attends over the model's %zu reference rows and "
               "itself)\n", ac_model_reference_rows(p.model, NULL));
    else
        printf("Context: batch (attention across the %zu rows given)\n", N);
    printf("Cluster sizes:");
    for (size_t k = 0; k < K; k++) {
        size_t size = 0;
        for (size_t i = 0; i < N; i++)
            size += (size_t)p.clusters[i] == k;
        printf("%s %zu", k ? "," : "", size);
    }
    printf("\n");
    const int32_t *labels = ac_dataset_labels(p.ds);
    if (labels)
        printf("Clustering accuracy: %.4f\n", ac_accuracy_raw(p.clusters, labels, N));
    else
        fprintf(stderr, "%s: no label column, so no accuracy (expected the species in the "
                        "last column to score against)\n", ac_dataset_source(p.ds));
    prediction_free(&p);
    return finish_output(0);
}

static void print_names(const char *title, size_t n, const char *(*get)(const ac_model *, size_t),
                        const ac_model *m)
{
    printf("%s", title);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", get(m, i));
    printf(n ? "\n" : "(none)\n");
}

static int run_info(const options *o)
{
    ac_error err;
    ac_model *m;
    if (ac_model_load(o->data, &m, &err) != AC_OK)
        return report_error(&err);
    size_t F = ac_model_features_count(m);
    printf("%s: attncluster model file\n", o->data);
    printf("Written by:        %s\n",
           ac_model_written_by(m)[0] ? ac_model_written_by(m) : "(unknown)");
    printf("Features (F):      %zu\n", F);
    printf("Hidden size (H):   %zu\n", ac_model_hidden(m));
    printf("Clusters (K):      %zu\n", ac_model_clusters(m));
    printf("Attention scale:   %s\n", ac_model_attention_scale(m) == AC_SCALE_SQRT ? "sqrt" : "none");
    print_names("Feature names:     ", F, ac_model_feature_name, m);
    print_names("Label names:       ", ac_model_label_count(m), ac_model_label_name, m);
    const float *min, *range;
    if (ac_model_normalization(m, &min, &range) == AC_NORMALIZE_MINMAX) {
        printf("Normalization:     minmax, x' = (x - min) / range\n");
        for (size_t f = 0; f < F; f++)
            printf("  %-20s min %.9g, range %.9g\n", ac_model_feature_name(m, f), (double)min[f],
                   (double)range[f]);
    } else {
        printf("Normalization:     none\n");
    }
    printf("Reference rows:    %zu\n", ac_model_reference_rows(m, NULL));
    const ac_training_info *t = ac_model_training(m);
    if (t->known)
        printf("Training:          %d epochs, batch %d, lr %g, weight decay %g, betas %g/%g, "
               "eps %g, seed %llu, %s, %zu rows, data fnv1a64:%016llx\n",
               t->params.epochs, t->params.batch_size, t->params.lr, t->params.weight_decay,
               t->params.beta1, t->params.beta2, t->params.adam_eps,
               (unsigned long long)t->params.seed,
               t->params.candle_compat ? "candle-compat (only cluster_proj trained)"
                                       : "every layer trained",
               t->rows, (unsigned long long)t->data_hash);
    else
        printf("Training:          (not recorded)\n");
    printf("Tensors:\n");
    for (size_t i = 0; i < ac_model_tensor_count(m); i++) {
        const char *name;
        size_t rows, cols;
        ac_model_tensor(m, i, &name, &rows, &cols, NULL);
        if (cols == 1)
            printf("  %-36s [%zu]\n", name, rows);
        else
            printf("  %-36s [%zu, %zu]\n", name, rows, cols);
    }
    printf("  %-36s [%zu, %zu]\n", "attncluster.reference_rows", ac_model_reference_rows(m, NULL),
           F);
    ac_model_free(m);
    return finish_output(0);
}

int main(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.params = ac_params_default();
    o.print_every = 10;
    o.context = AC_CONTEXT_REFERENCE;

    /* "attncluster", "attncluster train ..." and "attncluster --opt ..." all
     * train; predict, eval and info are commands of their own. */
    int first = 1;
    o.cmd = CMD_TRAIN;
    if (argc > 1 && argv[1][0] != '-') {
        size_t i = 0;
        while (i < sizeof command_names / sizeof command_names[0] &&
               strcmp(argv[1], command_names[i]) != 0)
            i++;
        if (i == sizeof command_names / sizeof command_names[0])
            return usage_error("unknown command '%s' (expected train, predict, eval or info)",
                               argv[1]);
        o.cmd = (command)i;
        first = 2;
    }
    argv[first - 1] = argv[0];
    int rc = parse_options(argc - first + 1, argv + first - 1, &o);
    if (rc >= 0)
        return rc;
    switch (o.cmd) {
    case CMD_PREDICT: return run_predict(&o);
    case CMD_EVAL: return run_eval(&o);
    case CMD_INFO: return run_info(&o);
    case CMD_TRAIN: break;
    }
    return run_train(&o);
}
