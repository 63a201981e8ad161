/*
 * attncluster.c - the command-line tool: parses arguments, calls the
 * library, prints (report.c). Results on stdout, progress and messages on
 * stderr. No maths here.
 *
 *   attncluster [train] [options]      the chapter's run; held-out evaluation
 *   attncluster predict --model FILE DATA.csv
 *   attncluster eval --model FILE DATA.csv
 *   attncluster info FILE
 *   attncluster sweep [--clusters FROM..TO] DATA.csv
 *
 * Exit codes: 0 ok, 1 a runtime problem (file, data, memory, a diverged
 * training), 2 a malformed command line, 130 interrupted (SIGINT).
 */
#define _POSIX_C_SOURCE 200809L

#include "attncluster.h"
#include "report.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_DATA "data/iris.csv"
/* predict/eval: from this many rows on, reference-context predictions go a
 * slice at a time with a progress bar. */
#define PREDICT_PROGRESS_ROWS 50000
#define PREDICT_SLICE_ROWS 16384
#define SAMPLES_PER_CLUSTER 5

typedef enum command { CMD_TRAIN, CMD_PREDICT, CMD_EVAL, CMD_INFO, CMD_SWEEP } command;

typedef struct options {
    command cmd;
    ac_params params;
    ac_csv_options csv;
    ac_normalization normalize;
    const char *data;        /* train: NULL means data/iris.csv when it exists, else built in;
                                predict/eval/info: the positional file */
    const char *save;        /* train --save */
    const char *assignments; /* train --assignments */
    const char *plot;        /* train/eval --plot: a directory for the pictures */
    const char *model;       /* predict/eval --model */
    const char *output;      /* predict --output */
    ac_context context;      /* predict/eval --context */
    double test_fraction;    /* train --test-fraction, 0 = none */
    int folds;               /* train --folds, 0 = none */
    int print_every;
    int quiet;
    int json;
    int kmeans;              /* --algorithm kmeans */
    int auto_k;              /* train --clusters auto */
    int kmin, kmax;          /* sweep --clusters FROM..TO [2..10] */
    int mode_set;            /* --mode given */
    const char **feature_list; /* --features, split at commas (malloc'd) */
} options;

/* ------------------------------------------------------------------ usage */

static void print_usage(FILE *out)
{
    ac_params d = ac_params_default();
    fprintf(out,
            "Usage: attncluster [train] [options]\n"
            "       attncluster predict --model FILE [--output OUT.csv] [options] DATA.csv\n"
            "       attncluster eval --model FILE [options] DATA.csv\n"
            "       attncluster info FILE\n"
            "       attncluster sweep [--clusters FROM..TO] [options] DATA.csv\n"
            "\n"
            "Trains a self-attention clustering model on a CSV file and prints the\n"
            "clustering, as the chapter \"Clustering with Attention\" does. With no\n"
            "arguments it runs the chapter's Iris example. DATA.csv may be '-' for\n"
            "standard input.\n"
            "\n"
            "train options (defaults in brackets):\n"
            "  --data FILE             the CSV to train on\n"
            "                          [data/iris.csv if present, else the built-in copy]\n"
            "  --hidden N              hidden size H [%d]\n"
            "  --batch-size N          rows per batch [%d]\n"
            "  --lr X                  AdamW learning rate [%g]\n"
            "  --weight-decay X        AdamW weight decay [%g]\n"
            "  --epochs N              passes over the data [%d]\n"
            "  --clusters K            number of clusters, or 'auto': the best of 2..10 by\n"
            "                          silhouette, as 'sweep' finds it [%d]\n"
            "  --print-every N         print the loss every N epochs [10]\n"
            "  --seed N                seed of the one random generator [%llu]\n"
            "  --attention-scale S     'none' (the chapter's code) or 'sqrt' (1/sqrt(H)) [none]\n"
            "  --candle-compat         train as Candle really does: only cluster_proj learns\n"
            "                          [off: every layer learns]\n"
            "  --mode M                'supervised' (train on the labels, the chapter) or\n"
            "                          'unsupervised' (labels only score) [supervised]\n"
            "  --algorithm A           'attention' or 'kmeans' (the k-means++ baseline)\n"
            "                          [attention]\n"
            "  --normalize N           'minmax' (the chapter's), 'zscore' or 'none',\n"
            "                          fitted on the training rows only [minmax]\n"
            "  --features A,B,C        feature columns by name or 1-based index\n"
            "                          [every numeric column but the label]\n"
            "  --test-fraction F       hold out a stratified fraction F of the rows and\n"
            "                          report the metrics on them [off]\n"
            "  --folds K               stratified K-fold cross-validation: metrics on\n"
            "                          held-out rows, mean and std over folds [off]\n"
            "  --save FILE             write the trained model (safetensors); with\n"
            "                          --folds or --test-fraction, refit on all rows [off]\n"
            "  --assignments FILE      write every training row's cluster (CSV) [off]\n"
            "\n",
            d.hidden, d.batch_size, d.lr, d.weight_decay, d.epochs, d.clusters,
            (unsigned long long)d.seed);
    /* (two strings: C11 compilers need not take one over 4095 bytes) */
    fputs("reading CSV (train, predict, eval):\n"
            "  --header, --no-header   the first line is / is not a header [detected]\n"
            "  --label NAME|N          the label column [the last column, when not numeric]\n"
            "  --no-label              there is no label column\n"
            "  --drop-missing          drop rows with an empty, NA or NaN cell instead of\n"
            "                          failing (train, eval) [off]\n"
            "\n"
            "sweep: trains for each K of --clusters FROM..TO [2..10] without labels\n"
            "  (unsupervised attention, or k-means with --algorithm kmeans) and prints\n"
            "  silhouette, Davies-Bouldin and Calinski-Harabasz per K, the best by\n"
            "  silhouette marked; it takes train's other options\n"
            "\n"
            "predict and eval options:\n"
            "  --model FILE            a model saved by 'train --save'\n"
            "  --output FILE           predict: write the CSV (or the JSON lines) there\n"
            "                          [standard output]\n"
            "  --context C             'reference': each row attends over the model's\n"
            "                          reference rows and itself, so its cluster does not\n"
            "                          depend on the other rows; 'batch': across the rows\n"
            "                          given, as the chapter [reference]\n"
            "\n"
            "  --plot DIR              train, eval: draw the run as SVG pictures in DIR\n"
            "                          (created when missing): training.svg (loss and\n"
            "                          accuracy per epoch), projection.svg (the rows on their\n"
            "                          first two principal components), attention.svg (the\n"
            "                          attention weights, at most 256 rows), contingency.svg\n"
            "                          (clusters against labels, when there are labels) [off]\n"
            "  --json                  train, eval, sweep: print the results as one JSON\n"
            "                          object; predict: one JSON object per row (JSON lines)\n"
            "  --quiet                 no progress bar, no notes on stderr\n"
            "  -h, --help              this help\n"
            "  --version               the version\n"
            "\n"
            "Exit status: 0 ok, 1 a file, data or memory problem or a diverged training,\n"
            "2 a bad command line, 130 interrupted (SIGINT: training stops at the end of\n"
            "its step and no model is written).\n",
          out);
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

/* A finite number in [min, max]; min_open/max_open exclude the bound. */
static int parse_double(const char *s, double min, int min_open, double max, int max_open,
                        double *out)
{
    /* Plain decimals only: strtod would also take hex, "inf" and "nan". */
    if (!*s || strspn(s, "0123456789+-.eE") != strlen(s))
        return 0;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < min || (min_open && v == min) || v > max ||
        (max_open && v == max))
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

/* ------------------------------------------------------------------ options */

enum {
    OPT_DATA = 256, OPT_HIDDEN, OPT_BATCH, OPT_LR, OPT_WD, OPT_EPOCHS, OPT_CLUSTERS,
    OPT_PRINT_EVERY, OPT_SEED, OPT_SCALE, OPT_CANDLE, OPT_QUIET, OPT_VERSION, OPT_SAVE,
    OPT_MODEL, OPT_OUTPUT, OPT_CONTEXT, OPT_HEADER, OPT_NO_HEADER, OPT_LABEL, OPT_NO_LABEL,
    OPT_FEATURES, OPT_DROP, OPT_NORMALIZE, OPT_TEST_FRACTION, OPT_FOLDS, OPT_ASSIGNMENTS,
    OPT_JSON, OPT_MODE, OPT_ALGORITHM, OPT_PLOT, OPT_END
};

/* Which options each command takes (bit OPT_x - OPT_DATA). */
#define BIT(o) (1ull << ((o) - OPT_DATA))
#define CSV_READING (BIT(OPT_HEADER) | BIT(OPT_NO_HEADER) | BIT(OPT_LABEL) | BIT(OPT_NO_LABEL))
static const unsigned long long command_options[] = {
    [CMD_TRAIN] = BIT(OPT_DATA) | BIT(OPT_HIDDEN) | BIT(OPT_BATCH) | BIT(OPT_LR) | BIT(OPT_WD) |
                  BIT(OPT_EPOCHS) | BIT(OPT_CLUSTERS) | BIT(OPT_PRINT_EVERY) | BIT(OPT_SEED) |
                  BIT(OPT_SCALE) | BIT(OPT_CANDLE) | BIT(OPT_QUIET) | BIT(OPT_SAVE) |
                  CSV_READING | BIT(OPT_FEATURES) | BIT(OPT_DROP) | BIT(OPT_NORMALIZE) |
                  BIT(OPT_TEST_FRACTION) | BIT(OPT_FOLDS) | BIT(OPT_ASSIGNMENTS) | BIT(OPT_JSON) |
                  BIT(OPT_MODE) | BIT(OPT_ALGORITHM) | BIT(OPT_PLOT),
    [CMD_PREDICT] = BIT(OPT_MODEL) | BIT(OPT_OUTPUT) | BIT(OPT_CONTEXT) | BIT(OPT_QUIET) |
                    CSV_READING | BIT(OPT_JSON),
    [CMD_EVAL] = BIT(OPT_MODEL) | BIT(OPT_CONTEXT) | BIT(OPT_QUIET) | CSV_READING |
                 BIT(OPT_DROP) | BIT(OPT_JSON) | BIT(OPT_PLOT),
    [CMD_INFO] = 0,
    [CMD_SWEEP] = BIT(OPT_HIDDEN) | BIT(OPT_BATCH) | BIT(OPT_LR) | BIT(OPT_WD) | BIT(OPT_EPOCHS) |
                  BIT(OPT_CLUSTERS) | BIT(OPT_SEED) | BIT(OPT_SCALE) | BIT(OPT_QUIET) |
                  CSV_READING | BIT(OPT_FEATURES) | BIT(OPT_DROP) | BIT(OPT_NORMALIZE) |
                  BIT(OPT_JSON) | BIT(OPT_MODE) | BIT(OPT_ALGORITHM),
};
static const char *const command_names[] = {"train", "predict", "eval", "info", "sweep"};

/* Splits "a,b,c" in place into a NULL-terminated list. */
static const char **split_list(char *arg, size_t *count)
{
    size_t n = 1;
    for (const char *c = arg; *c; c++)
        n += *c == ',';
    const char **list = calloc(n + 1, sizeof *list);
    if (!list)
        return NULL;
    size_t i = 0;
    for (char *tok = arg;; tok++) {
        list[i++] = tok;
        tok = strchr(tok, ',');
        if (!tok)
            break;
        *tok = '\0';
    }
    *count = n;
    return list;
}

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
        {"header", no_argument, NULL, OPT_HEADER},
        {"no-header", no_argument, NULL, OPT_NO_HEADER},
        {"label", required_argument, NULL, OPT_LABEL},
        {"no-label", no_argument, NULL, OPT_NO_LABEL},
        {"features", required_argument, NULL, OPT_FEATURES},
        {"drop-missing", no_argument, NULL, OPT_DROP},
        {"normalize", required_argument, NULL, OPT_NORMALIZE},
        {"test-fraction", required_argument, NULL, OPT_TEST_FRACTION},
        {"folds", required_argument, NULL, OPT_FOLDS},
        {"assignments", required_argument, NULL, OPT_ASSIGNMENTS},
        {"json", no_argument, NULL, OPT_JSON},
        {"mode", required_argument, NULL, OPT_MODE},
        {"algorithm", required_argument, NULL, OPT_ALGORITHM},
        {"plot", required_argument, NULL, OPT_PLOT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    opterr = 0; /* our own messages */
    optind = 1;
    int c, index, rc;
    while ((c = getopt_long(argc, argv, ":h", longopts, &index)) != -1) {
        char *arg = optarg;
        if (c >= OPT_DATA && c < OPT_END && c != OPT_VERSION &&
            !(command_options[o->cmd] & BIT(c)))
            return usage_error("--%s is not an option of '%s'", longopts[index].name,
                               command_names[o->cmd]);
        switch (c) {
        case OPT_SAVE: o->save = arg; break;
        case OPT_MODEL: o->model = arg; break;
        case OPT_OUTPUT: o->output = arg; break;
        case OPT_ASSIGNMENTS: o->assignments = arg; break;
        case OPT_PLOT:
            if (!*arg)
                return usage_error("--plot: an empty directory name");
            o->plot = arg;
            break;
        case OPT_CONTEXT:
            if (strcmp(arg, "reference") == 0)
                o->context = AC_CONTEXT_REFERENCE;
            else if (strcmp(arg, "batch") == 0)
                o->context = AC_CONTEXT_BATCH;
            else
                return usage_error("--context: '%s' is not 'reference' or 'batch'", arg);
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
            if (!parse_double(arg, 0.0, 1, 1e6, 0, &o->params.lr))
                return usage_error("--lr: '%s' is not a number > 0 and <= 1e6", arg);
            break;
        case OPT_WD:
            if (!parse_double(arg, 0.0, 0, 1e6, 0, &o->params.weight_decay))
                return usage_error("--weight-decay: '%s' is not a number >= 0 and <= 1e6", arg);
            break;
        case OPT_EPOCHS:
            if ((rc = int_option("epochs", arg, 1, 1000000000L, &o->params.epochs)) >= 0)
                return rc;
            break;
        case OPT_CLUSTERS:
            if (o->cmd == CMD_TRAIN && strcmp(arg, "auto") == 0) {
                o->auto_k = 1;
                break;
            }
            if (o->cmd == CMD_SWEEP) {
                long a, b;
                char *dots = strstr(arg, "..");
                if (!dots)
                    return usage_error("--clusters: '%s' is not a range FROM..TO", arg);
                *dots = '\0';
                int ok = parse_long(arg, 2, 65536, &a) && parse_long(dots + 2, 2, 65536, &b) && a <= b;
                *dots = '.';
                if (!ok)
                    return usage_error("--clusters: '%s' is not a range FROM..TO with 2 <= FROM <= "
                                       "TO",
                                       arg);
                o->kmin = (int)a;
                o->kmax = (int)b;
                break;
            }
            if ((rc = int_option("clusters", arg, 1, 65536, &o->params.clusters)) >= 0)
                return rc;
            break;
        case OPT_PRINT_EVERY:
            if ((rc = int_option("print-every", arg, 1, 1000000000L, &o->print_every)) >= 0)
                return rc;
            break;
        case OPT_SEED:
            if (!parse_u64(arg, &o->params.seed))
                return usage_error("--seed: '%s' is not an integer from 0 to "
                                   "18446744073709551615",
                                   arg);
            break;
        case OPT_SCALE:
            if (strcmp(arg, "none") == 0)
                o->params.attention_scale = AC_SCALE_NONE;
            else if (strcmp(arg, "sqrt") == 0)
                o->params.attention_scale = AC_SCALE_SQRT;
            else
                return usage_error("--attention-scale: '%s' is not 'none' or 'sqrt'", arg);
            break;
        case OPT_CANDLE: o->params.candle_compat = 1; break;
        case OPT_QUIET: o->quiet = 1; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_MODE:
            o->mode_set = 1;
            if (strcmp(arg, "supervised") == 0)
                o->params.mode = AC_MODE_SUPERVISED;
            else if (strcmp(arg, "unsupervised") == 0)
                o->params.mode = AC_MODE_UNSUPERVISED;
            else
                return usage_error("--mode: '%s' is not 'supervised' or 'unsupervised'", arg);
            break;
        case OPT_ALGORITHM:
            if (strcmp(arg, "attention") == 0)
                o->kmeans = 0;
            else if (strcmp(arg, "kmeans") == 0)
                o->kmeans = 1;
            else
                return usage_error("--algorithm: '%s' is not 'attention' or 'kmeans'", arg);
            break;
        case OPT_HEADER: o->csv.header = AC_HEADER_YES; break;
        case OPT_NO_HEADER: o->csv.header = AC_HEADER_NO; break;
        case OPT_LABEL: o->csv.label = arg; break;
        case OPT_NO_LABEL: o->csv.no_label = 1; break;
        case OPT_DROP: o->csv.drop_missing = 1; break;
        case OPT_FEATURES:
            free(o->feature_list);
            if (!(o->feature_list = split_list(arg, &o->csv.n_features))) {
                fprintf(stderr, "attncluster: out of memory\n");
                return EXIT_RUNTIME;
            }
            o->csv.features = o->feature_list;
            for (size_t i = 0; i < o->csv.n_features; i++)
                if (!o->feature_list[i][0])
                    return usage_error("--features: an empty column name (expected names or "
                                       "indices separated by commas)");
            break;
        case OPT_NORMALIZE:
            if (strcmp(arg, "minmax") == 0)
                o->normalize = AC_NORMALIZE_MINMAX;
            else if (strcmp(arg, "zscore") == 0)
                o->normalize = AC_NORMALIZE_ZSCORE;
            else if (strcmp(arg, "none") == 0)
                o->normalize = AC_NORMALIZE_NONE;
            else
                return usage_error("--normalize: '%s' is not 'minmax', 'zscore' or 'none'", arg);
            break;
        case OPT_TEST_FRACTION:
            if (!parse_double(arg, 0.0, 1, 1.0, 1, &o->test_fraction))
                return usage_error("--test-fraction: '%s' is not a number between 0 and 1", arg);
            break;
        case OPT_FOLDS:
            if ((rc = int_option("folds", arg, 2, 1000000, &o->folds)) >= 0)
                return rc;
            break;
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
    if (o->cmd == CMD_SWEEP && !o->mode_set)
        o->params.mode = AC_MODE_UNSUPERVISED; /* choosing K is done without labels */
    if (o->cmd == CMD_SWEEP && o->params.mode == AC_MODE_SUPERVISED)
        return usage_error("sweep clusters without labels: --mode supervised does not apply");
    if (argc - optind > want)
        return usage_error("unexpected argument '%s'", argv[optind + want]);
    if (argc - optind < want)
        return usage_error("%s needs %s", command_names[o->cmd],
                           o->cmd == CMD_INFO ? "a model file" : "a data file (or '-')");
    if (want)
        o->data = argv[optind];
    if ((o->cmd == CMD_PREDICT || o->cmd == CMD_EVAL) && !o->model)
        return usage_error("%s needs --model FILE", command_names[o->cmd]);
    if (o->test_fraction > 0.0 && o->folds)
        return usage_error("--test-fraction and --folds are two ways to hold rows out; "
                           "choose one");
    if (o->assignments && (o->test_fraction > 0.0 || o->folds))
        return usage_error("--assignments writes the clusters of one run on all rows; it "
                           "cannot be combined with --test-fraction or --folds");
    if (o->plot && (o->test_fraction > 0.0 || o->folds))
        return usage_error("--plot draws one run on all rows; it cannot be combined with "
                           "--test-fraction or --folds");
    if (o->csv.label && o->csv.no_label)
        return usage_error("--label and --no-label contradict each other");
    if (o->kmeans && (o->test_fraction > 0.0 || o->folds || o->save))
        return usage_error("--algorithm kmeans clusters the data once: it takes neither "
                           "--test-fraction, --folds nor --save");
    return -1;
}

/* A name as one line of text: control characters (a newline inside a quoted
 * CSV header or label) become '?'. The result lives until the next call but
 * three (a small ring, so that a printf may show a few names). */
static const char *printable(const char *s)
{
    static char ring[4][256];
    static int next;
    char *out = ring[next++ % 4];
    size_t n = 0;
    for (; *s && n + 1 < sizeof ring[0]; s++)
        out[n++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    out[n] = '\0';
    return out;
}

/* -------------------------------------------------------------- loading data */

/* Tells on stderr what reading decided that the user did not ask for. */
static void note_csv_report(const options *o, const char *source, const ac_csv_report *r)
{
    if (o->quiet)
        return;
    if (r->header_detected)
        fprintf(stderr, "%s: line 1 is taken as a header (column %ld is text above numbers; "
                        "--no-header to read it as data)\n",
                source, r->header_column);
    if (r->ignored_columns)
        fprintf(stderr, "%s: %zu text column%s left out ('%s'%s), neither a feature nor the "
                        "label\n",
                source, r->ignored_columns, r->ignored_columns == 1 ? "" : "s",
                r->ignored_first, r->ignored_columns > 1 ? ", ..." : "");
    if (r->dropped_rows)
        fprintf(stderr, "%s: dropped %zu row%s with a missing value (the first on line %ld)\n",
                source, r->dropped_rows, r->dropped_rows == 1 ? "" : "s",
                r->dropped_first_line);
}

static int load_csv(const options *o, const char *path, ac_dataset **ds, ac_error *err)
{
    ac_csv_report report;
    if (ac_dataset_load_csv(path, &o->csv, ds, &report, err) != AC_OK)
        return -1;
    note_csv_report(o, path, &report);
    return 0;
}

static int load_training_data(const options *o, ac_dataset **ds, ac_error *err)
{
    struct stat st;
    if (o->data)
        return load_csv(o, o->data, ds, err);
    if (stat(DEFAULT_DATA, &st) == 0)
        return load_csv(o, DEFAULT_DATA, ds, err);
    return ac_dataset_load_builtin_iris(ds, err) == AC_OK ? 0 : -1;
}

/* ----------------------------------------------------------------- training */

typedef struct run_state {
    const options *opt;
    progress bar;
    ac_epoch_report *epochs; /* (epochs) kept for --json */
} run_state;

static int on_epoch(const ac_epoch_report *r, void *user)
{
    run_state *rs = user;
    int last = r->epoch + 1 == r->epochs;
    if (rs->epochs && r->epoch >= 0 && r->epoch < rs->opt->params.epochs)
        rs->epochs[r->epoch] = *r; /* for --json, which lists every epoch */
    if (!rs->opt->json && (r->epoch % rs->opt->print_every == 0 || last)) {
        progress_clear(&rs->bar);
        if (isnan(r->accuracy)) /* unsupervised refinement: no labels to be accurate to */
            printf("Epoch %d/%d: Loss = %.4f\n", r->epoch + 1, r->epochs, r->loss);
        else
            printf("Epoch %d/%d: Loss = %.4f, Accuracy = %.4f\n", r->epoch + 1, r->epochs,
                   r->loss, r->accuracy);
        fflush(stdout);
    }
    progress_update(&rs->bar, r->epoch + 1);
    return 0;
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
            if (labels)
                printf("], True Label = %d\n", (int)labels[i]);
            else
                printf("]\n");
            shown++;
        }
    }
}

/* The contingency table as text: clusters down, labels across. */
static void print_contingency(FILE *out, const uint64_t *table, size_t K, size_t C,
                              const char *(*label_name)(const void *, size_t), const void *owner)
{
    fprintf(out, "Contingency table (rows: clusters, columns: labels):\n%12s", "");
    for (size_t c = 0; c < C; c++) {
        const char *name = label_name(owner, c);
        fprintf(out, " %16.16s", printable(name ? name : "?"));
    }
    fputc('\n', out);
    for (size_t k = 0; k < K; k++) {
        fprintf(out, "  cluster %-2zu", k);
        for (size_t c = 0; c < C; c++)
            fprintf(out, " %16llu", (unsigned long long)table[k * C + c]);
        fputc('\n', out);
    }
}

static void print_contingency_json(FILE *out, const uint64_t *table, size_t K, size_t C,
                                   const char *(*label_name)(const void *, size_t),
                                   const void *owner)
{
    fprintf(out, "{\"labels\":[");
    for (size_t c = 0; c < C; c++) {
        const char *name = label_name(owner, c);
        fputs(c ? "," : "", out);
        json_string(out, name ? name : "");
    }
    fprintf(out, "],\"table\":[");
    for (size_t k = 0; k < K; k++) {
        fprintf(out, "%s[", k ? "," : "");
        for (size_t c = 0; c < C; c++)
            fprintf(out, "%s%llu", c ? "," : "", (unsigned long long)table[k * C + c]);
        fputc(']', out);
    }
    fprintf(out, "]}");
}

static const char *dataset_label_name(const void *ds, size_t id)
{
    return ac_dataset_label_name(ds, id);
}

/* Every metric of a clustering of ds; contingency (K, C) when labelled. */
typedef struct scores {
    ac_label_metrics labels;
    ac_geometry_metrics geometry;
    uint64_t *table;
    size_t C;
} scores;

static int score(const ac_dataset *ds, const int32_t *clusters, size_t K, uint64_t seed,
                 scores *s, ac_error *err)
{
    memset(s, 0, sizeof *s);
    size_t N = ac_dataset_rows(ds);
    const int32_t *labels = ac_dataset_labels(ds);
    if (labels) {
        s->C = ac_dataset_classes(ds) ? ac_dataset_classes(ds) : 1;
        s->table = calloc(K * s->C, sizeof *s->table);
        if (!s->table) {
            snprintf(err->message, sizeof err->message, "out of memory");
            err->source[0] = '\0';
            return -1;
        }
        if (ac_contingency(clusters, K, labels, s->C, N, s->table, err) != AC_OK ||
            ac_metrics_labels(clusters, K, labels, s->C, N, &s->labels, err) != AC_OK)
            return -1;
    }
    return ac_metrics_geometry(ac_dataset_features(ds), N, ac_dataset_features_count(ds),
                               clusters, K, seed, &s->geometry, err) == AC_OK
               ? 0
               : -1;
}

static void print_string_array(FILE *out, size_t n, const char *(*get)(const void *, size_t),
                               const void *owner)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? "," : "", out);
        json_string(out, get(owner, i));
    }
    fputc(']', out);
}

static const char *dataset_feature_name(const void *ds, size_t f)
{
    return ac_dataset_feature_name(ds, f);
}

/* {"source": ..., "rows": N, "features": [...], "labels": [...]} */
static void print_data_json(FILE *out, const ac_dataset *ds)
{
    fprintf(out, "{\"source\":");
    json_string(out, ac_dataset_source(ds));
    fprintf(out, ",\"rows\":%zu,\"features\":", ac_dataset_rows(ds));
    print_string_array(out, ac_dataset_features_count(ds), dataset_feature_name, ds);
    fprintf(out, ",\"labels\":");
    print_string_array(out, ac_dataset_labels(ds) ? ac_dataset_classes(ds) : 0,
                       dataset_label_name, ds);
    fputc('}', out);
}

static int save_model(const options *o, const ac_model *model)
{
    ac_error err;
    if (ac_model_save(model, o->save, &err) != AC_OK)
        return report_error(&err);
    if (!o->quiet)
        fprintf(stderr, "Saved the model to %s\n", o->save);
    return 0;
}

/* train --assignments: row,cluster,label for every training row. */
static int write_assignments(const options *o, const ac_dataset *ds, const int32_t *clusters)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out) {
        fprintf(stderr, "attncluster: out of memory\n");
        return EXIT_RUNTIME;
    }
    fprintf(out, "row,cluster,label\n");
    for (size_t i = 0; i < ac_dataset_rows(ds); i++) {
        fprintf(out, "%zu,%d,", i, (int)clusters[i]);
        const int32_t *labels = ac_dataset_labels(ds);
        const char *name = labels ? ac_dataset_label_name(ds, (size_t)labels[i]) : NULL;
        print_csv_field(out, name ? name : "");
        fputc('\n', out);
    }
    ac_error err;
    int rc = 0;
    if (fclose(out) != 0) {
        fprintf(stderr, "attncluster: out of memory\n");
        rc = EXIT_RUNTIME;
    } else if (ac_file_write_atomic(o->assignments, text, len, &err) != AC_OK) {
        rc = report_error(&err);
    }
    free(text);
    return rc;
}

/* --plot: creates DIR and the directories above it when missing. */
static int make_directories(const char *dir)
{
    size_t len = strlen(dir);
    char *path = malloc(len + 1);
    if (!path) {
        fprintf(stderr, "attncluster: out of memory\n");
        return EXIT_RUNTIME;
    }
    memcpy(path, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char saved = path[i];
        path[i] = '\0';
        struct stat st;
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "%s: cannot create the directory: %s\n", path, strerror(errno));
            free(path);
            return EXIT_RUNTIME;
        }
        if (saved == '\0' && (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))) {
            fprintf(stderr, "%s: not a directory (expected a directory for --plot)\n", path);
            free(path);
            return EXIT_RUNTIME;
        }
        path[i] = saved;
    }
    free(path);
    return 0;
}

/* What the pictures of one run are drawn from. */
typedef struct picture_input {
    const ac_dataset *ds;        /* scaled rows, labels when known */
    const ac_model *model;       /* NULL for k-means: no attention to draw */
    const int32_t *clusters;     /* (N) */
    size_t K;
    const scores *scores;        /* the contingency table when labelled */
    const ac_epoch_report *epochs; /* n_epochs of them, NULL: no training curves */
    size_t n_epochs;
    ac_context context;          /* the forward pass whose attention is drawn */
    const char *what;            /* "attention, supervised", ... for the titles */
    const char *model_path;      /* eval: the model file (its training is not on this data) */
} picture_input;

/* --plot DIR: the SVG pictures of one run. */
static int write_pictures(const options *o, const picture_input *in)
{
    int rc = make_directories(o->plot);
    if (rc != 0)
        return rc;
    const ac_dataset *ds = in->ds;
    size_t N = ac_dataset_rows(ds), F = ac_dataset_features_count(ds);
    size_t C = ac_dataset_labels(ds) ? ac_dataset_classes(ds) : 0;
    size_t dir_len = strlen(o->plot);
    char *path = malloc(dir_len + 32);
    float *xy = calloc(N * 2, sizeof *xy);
    float *pc = malloc(N * (F < 2 ? 1 : 2) * sizeof *pc);
    const char **label_names = calloc(C ? C : 1, sizeof *label_names);
    ac_attention_map map;
    memset(&map, 0, sizeof map);
    char title[200], x_title[80], y_title[80], written[128] = "";
    const char *source = ac_dataset_source(ds);
    ac_error err;
    rc = EXIT_RUNTIME;
    if (!path || !xy || !pc || !label_names) {
        fprintf(stderr, "attncluster: out of memory for the pictures\n");
        goto done;
    }
    for (size_t c = 0; c < C; c++)
        label_names[c] = ac_dataset_label_name(ds, c);
#define PICTURE(name) (snprintf(path, dir_len + 32, "%s/%s", o->plot, name), \
                       strcat(written, written[0] ? ", " name : name), path)
    if (in->epochs && in->n_epochs) {
        if (in->model_path)
            snprintf(title, sizeof title, "Training of %.80s (as its file records it)",
                     printable(in->model_path));
        else
            snprintf(title, sizeof title, "Training on %.80s (%s)", printable(source), in->what);
        if (ac_plot_training(PICTURE("training.svg"), in->epochs, in->n_epochs, title, &err) !=
            AC_OK)
            goto failed;
    }
    /* The rows on their first two principal components (one when F = 1). */
    size_t comps = F < 2 ? 1 : 2;
    double explained[2] = {0.0, 0.0};
    if (ac_pca(ac_dataset_features(ds), N, F, comps, pc, explained, &err) != AC_OK)
        goto failed;
    for (size_t i = 0; i < N; i++) {
        xy[2 * i] = pc[i * comps];
        xy[2 * i + 1] = comps == 2 ? pc[i * comps + 1] : 0.0f;
    }
    snprintf(x_title, sizeof x_title, "PC1 (%.1f%% of the variance)", 100.0 * explained[0]);
    if (comps == 2)
        snprintf(y_title, sizeof y_title, "PC2 (%.1f%% of the variance)", 100.0 * explained[1]);
    else
        snprintf(y_title, sizeof y_title, "(one feature: no second component)");
    snprintf(title, sizeof title, "%zu clusters of %.80s (%s)", in->K, printable(source),
             in->what);
    if (ac_plot_projection(PICTURE("projection.svg"), xy, N, in->clusters, in->K,
                           ac_dataset_labels(ds), label_names, C, x_title, y_title, title,
                           o->params.seed, &err) != AC_OK)
        goto failed;
    if (in->model) {
        if (ac_attention_map_compute(in->model, ac_dataset_features(ds), N, in->context,
                                     in->clusters, AC_PLOT_MAX_ATTENTION_ROWS, o->params.seed,
                                     &map, &err) != AC_OK)
            goto failed;
        snprintf(title, sizeof title, "Attention weights on %.80s (%s context)", printable(source),
                 in->context == AC_CONTEXT_BATCH ? "batch" : "reference");
        if (ac_plot_attention(PICTURE("attention.svg"), &map, title, &err) != AC_OK)
            goto failed;
    }
    if (C && in->scores->table) {
        snprintf(title, sizeof title, "Clusters against labels on %.80s", printable(source));
        if (ac_plot_contingency(PICTURE("contingency.svg"), in->scores->table, in->K,
                                in->scores->C, label_names, title, &err) != AC_OK)
            goto failed;
    }
#undef PICTURE
    if (!o->quiet)
        fprintf(stderr, "Pictures in %s: %s\n", o->plot, written);
    rc = 0;
    goto done;
failed:
    rc = report_error(&err);
done:
    ac_attention_map_free(&map);
    free(path);
    free(xy);
    free(pc);
    free(label_names);
    return rc;
}

/* The chapter's run: train on all rows, then one forward pass over all of
 * them (attention across the whole data set), its metrics and samples. */
static int run_chapter(const options *o, ac_dataset *ds)
{
    ac_error err;
    ac_model *model = NULL;
    int32_t *clusters = NULL;
    scores s = {0};
    run_state rs;
    memset(&rs, 0, sizeof rs);
    int rc = EXIT_RUNTIME;
    size_t N = ac_dataset_rows(ds), K = (size_t)o->params.clusters;
    int labelled = ac_dataset_labels(ds) != NULL;
    double inertia = NAN;

    if (!o->json) {
        printf("Loaded %zu samples from %s\n", N, ac_dataset_source(ds));
        if (!o->data)
            printf("Loaded Iris dataset: %zu samples\n", N);
        else
            printf("Loaded dataset: %zu samples, %zu features, %zu labels\n", N,
                   ac_dataset_features_count(ds), ac_dataset_classes(ds));
    }
    if (ac_dataset_normalize(ds, o->normalize, &err) != AC_OK) {
        rc = report_error(&err);
        goto done;
    }
    if (!(clusters = malloc(N * sizeof *clusters))) {
        fprintf(stderr, "attncluster: out of memory\n");
        goto done;
    }
    if (o->kmeans) {
        /* The baseline: k-means++ and Lloyd on the scaled features. */
        ac_kmeans_params kp = ac_kmeans_default_params(o->params.clusters);
        kp.seed = o->params.seed;
        if (!o->json)
            printf("Clustering with k-means (k-means++, %d restarts)...\n", kp.restarts);
        if (ac_kmeans(ac_dataset_features(ds), N, ac_dataset_features_count(ds), &kp, clusters,
                      NULL, &inertia, &err) != AC_OK) {
            rc = report_error(&err);
            goto done;
        }
    } else {
        if (!o->json) {
            printf(o->params.mode == AC_MODE_UNSUPERVISED
                       ? "Starting unsupervised training (labels are not used)...\n"
                       : "Starting training...\n");
            fflush(stdout);
        }
        rs.opt = o;
        if (o->json &&
            !(rs.epochs = calloc((size_t)o->params.epochs, sizeof *rs.epochs))) {
            fprintf(stderr, "attncluster: out of memory\n");
            goto done;
        }
        progress_start(&rs.bar, !o->quiet && isatty(STDERR_FILENO), o->params.epochs);
        if (ac_train(ds, &o->params, on_epoch, &rs, &model, &err) != AC_OK) {
            progress_clear(&rs.bar);
            rc = report_error(&err);
            goto done;
        }
        K = ac_model_clusters(model);
        /* The chapter's inference: one forward pass over all rows, the
         * attention running across the whole data set. */
        if (ac_model_predict(model, ac_dataset_features(ds), N, AC_CONTEXT_BATCH, clusters,
                             NULL, &err) != AC_OK) {
            rc = report_error(&err);
            goto done;
        }
    }
    if (score(ds, clusters, K, o->params.seed, &s, &err) != 0) {
        rc = report_error(&err);
        goto done;
    }
    if (o->json) {
        printf("{\"schema\":\"%s\",\"command\":\"train\",\"algorithm\":\"%s\",\"mode\":\"%s\","
               "\"data\":",
               JSON_SCHEMA, o->kmeans ? "kmeans" : "attention",
               o->params.mode == AC_MODE_UNSUPERVISED || o->kmeans ? "unsupervised"
                                                                    : "supervised");
        print_data_json(stdout, ds);
        if (o->kmeans) {
            printf(",\"inertia\":");
            json_number(stdout, inertia);
        } else {
            printf(",\"epochs\":[");
            for (int e = 0; e < o->params.epochs; e++) {
                printf("%s{\"epoch\":%d,\"loss\":", e ? "," : "", e + 1);
                json_number(stdout, rs.epochs[e].loss);
                printf(",\"accuracy\":");
                json_number(stdout, rs.epochs[e].accuracy);
                printf("}");
            }
            printf("]");
        }
        printf(",\"metrics\":");
        print_metrics_json(stdout, &s.labels, &s.geometry, labelled);
        if (labelled) {
            printf(",\"contingency\":");
            print_contingency_json(stdout, s.table, K, s.C, dataset_label_name, ds);
        }
        printf("}\n");
    } else {
        if (o->kmeans)
            printf("k-means inertia: %.6g\n", inertia);
        if (labelled)
            printf("\nFinal clustering accuracy: %.4f\n", s.labels.raw_accuracy);
        else
            printf("\n");
        print_metrics_text(stdout, &s.labels, &s.geometry, labelled);
        printf("\n");
        if (labelled) {
            print_contingency(stdout, s.table, K, s.C, dataset_label_name, ds);
            printf("\n");
        }
        print_samples(ds, clusters, (int)K);
    }
    if (o->save && (rc = save_model(o, model)) != 0)
        goto done;
    if (o->assignments && (rc = write_assignments(o, ds, clusters)) != 0)
        goto done;
    if (o->plot) {
        /* The curves are the model's own history (none for k-means). */
        const ac_epoch_report *history = NULL;
        size_t n_history = model ? ac_model_history(model, &history) : 0;
        picture_input in = {ds, model, clusters, K, &s, history, n_history, AC_CONTEXT_BATCH,
                            o->kmeans ? "k-means"
                            : o->params.mode == AC_MODE_UNSUPERVISED ? "attention, unsupervised"
                                                                     : "attention, supervised",
                            NULL};
        if ((rc = write_pictures(o, &in)) != 0)
            goto done;
    }
    rc = 0;
done:
    free(rs.epochs);
    free(s.table);
    free(clusters);
    ac_model_free(model);
    return rc;
}

/* train --test-fraction / --folds: metrics on rows never seen in training. */
static int run_heldout(const options *o, ac_dataset *ds)
{
    ac_error err;
    size_t N = ac_dataset_rows(ds);
    int splits = o->folds ? o->folds : 1;
    unsigned char *is_test = malloc(N);
    int32_t *fold = malloc(N * sizeof *fold);
    ac_evaluation *ev = calloc((size_t)splits, sizeof *ev);
    int rc = EXIT_RUNTIME;
    if (!is_test || !fold || !ev) {
        fprintf(stderr, "attncluster: out of memory\n");
        goto done;
    }
    if (o->folds ? ac_split_folds(ds, o->folds, o->params.seed, fold, &err) != AC_OK
                 : ac_split_holdout(ds, o->test_fraction, o->params.seed, is_test, &err) !=
                       AC_OK) {
        rc = report_error(&err);
        goto done;
    }
    if (!o->json) {
        printf("Loaded %zu samples from %s\n", N, ac_dataset_source(ds));
        if (o->folds)
            printf("Held-out evaluation: %d stratified folds (seed %llu); each row is tested "
                   "once, by a model that never saw it\n",
                   o->folds, (unsigned long long)o->params.seed);
        else
            printf("Held-out evaluation: a stratified %.4g of the rows (seed %llu), never seen "
                   "in training or in the normalisation fit\n",
                   o->test_fraction, (unsigned long long)o->params.seed);
    }
    progress bar;
    progress_start(&bar, !o->quiet && isatty(STDERR_FILENO) && splits > 1, splits);
    bar.unit = "folds";
    for (int f = 0; f < splits; f++) {
        if (o->folds)
            for (size_t i = 0; i < N; i++)
                is_test[i] = fold[i] == f;
        if (ac_evaluate_split(ds, is_test, &o->params, o->normalize, &ev[f], NULL, &err) != AC_OK) {
            progress_clear(&bar);
            rc = report_error(&err);
            goto done;
        }
        if (!o->json) {
            progress_clear(&bar);
            printf("%s %d/%d: trained on %zu rows, tested on %zu: matched accuracy %.4f, ARI "
                   "%.4f, NMI %.4f\n",
                   o->folds ? "Fold" : "Split", f + 1, splits, ev[f].train_rows,
                   ev[f].test_rows, ev[f].labels.matched_accuracy, ev[f].labels.ari,
                   ev[f].labels.nmi);
            fflush(stdout);
        }
        progress_update(&bar, f + 1);
    }
    /* Mean and (population) standard deviation over the splits. */
    if (o->json) {
        printf("{\"schema\":\"%s\",\"command\":\"train\",\"data\":", JSON_SCHEMA);
        print_data_json(stdout, ds);
        printf(",\"evaluation\":{\"kind\":\"%s\",\"splits\":[", o->folds ? "folds" : "holdout");
        for (int f = 0; f < splits; f++) {
            printf("%s{\"train_rows\":%zu,\"test_rows\":%zu,\"metrics\":", f ? "," : "",
                   ev[f].train_rows, ev[f].test_rows);
            print_metrics_json(stdout, &ev[f].labels, &ev[f].geometry, 1);
            printf("}");
        }
        printf("]");
    } else {
        printf("\nHeld-out metrics%s:\n", o->folds ? " (mean ± std over folds)" : "");
    }
    for (int pass = 0; pass < (o->json ? 2 : 1); pass++) {
        if (o->json)
            printf(",\"%s\":{", pass == 0 ? "mean" : "std");
        for (size_t m = 0; m < metric_field_count; m++) {
            const metric_field *mf = &metric_fields[m];
            double sum = 0.0, sq = 0.0;
            for (int f = 0; f < splits; f++)
                sum += mf->get(&ev[f].labels, &ev[f].geometry);
            double mean = sum / splits;
            for (int f = 0; f < splits; f++) {
                double d = mf->get(&ev[f].labels, &ev[f].geometry) - mean;
                sq += d * d;
            }
            double std = sqrt(sq / splits);
            if (o->json) {
                printf("%s\"%s\":", m ? "," : "", mf->key);
                json_number(stdout, pass == 0 ? mean : std);
            } else if (!isfinite(mean)) {
                printf("%s: undefined\n", mf->title);
            } else if (o->folds) {
                printf("%s: %.4f ± %.4f\n", mf->title, mean, std);
            } else {
                printf("%s: %.4f\n", mf->title, mean);
            }
        }
        if (o->json)
            printf("}");
    }
    if (o->json)
        printf("}}\n");
    if (o->save) {
        /* The saved model is refit on every row; the held-out numbers above
         * estimate how such a model does on rows it has not seen. */
        ac_model *model = NULL;
        if (ac_dataset_normalize(ds, o->normalize, &err) != AC_OK ||
            ac_train(ds, &o->params, NULL, NULL, &model, &err) != AC_OK) {
            rc = report_error(&err);
            goto done;
        }
        rc = save_model(o, model);
        ac_model_free(model);
        if (rc != 0)
            goto done;
    }
    rc = 0;
done:
    free(is_test);
    free(fold);
    free(ev);
    return rc;
}

/* Sweeps K over [kmin, kmax] on a scaled copy of raw (labels unused);
 * fills results (kmax - kmin + 1). Returns the best index, or -1. */
static int sweep_k(const options *o, const ac_dataset *raw, int kmin, int kmax,
                   ac_sweep_result *results, ac_error *err)
{
    size_t N = ac_dataset_rows(raw);
    unsigned char *none = calloc(N ? N : 1, 1);
    ac_dataset *copy = NULL;
    int best = -2;
    ac_params p = o->params;
    if (p.mode == AC_MODE_SUPERVISED)
        p.mode = AC_MODE_UNSUPERVISED; /* K is chosen without labels */
    if (none && ac_dataset_subset(raw, none, 0, &copy, err) == AC_OK &&
        ac_dataset_normalize(copy, o->normalize, err) == AC_OK) {
        /* One K at a time (each K is independent of the others), for the bar. */
        progress bar;
        progress_start(&bar, !o->quiet && isatty(STDERR_FILENO) && kmax > kmin,
                       kmax - kmin + 1);
        bar.unit = "K";
        int k = kmin;
        for (; k <= kmax; k++) {
            if (ac_sweep(copy, &p, o->kmeans, k, k, &results[k - kmin], err) != AC_OK)
                break;
            progress_update(&bar, k - kmin + 1);
        }
        progress_clear(&bar);
        if (k > kmax)
            best = ac_sweep_best(results, kmax - kmin + 1);
    }
    if (!none)
        snprintf(err->message, sizeof err->message, "out of memory");
    ac_dataset_free(copy);
    free(none);
    return best;
}

static int run_sweep(const options *o)
{
    ac_error err;
    ac_dataset *ds = NULL;
    if (load_csv(o, o->data, &ds, &err) != 0)
        return report_error(&err);
    int kmin = o->kmin ? o->kmin : 2, kmax = o->kmax ? o->kmax : 10;
    if ((size_t)kmax > ac_dataset_rows(ds))
        kmax = (int)ac_dataset_rows(ds);
    int count = kmax - kmin + 1 > 0 ? kmax - kmin + 1 : 1;
    ac_sweep_result *r = calloc((size_t)count, sizeof *r);
    int best = r ? sweep_k(o, ds, kmin, kmax, r, &err) : -2;
    int rc = 0;
    if (best == -2) {
        rc = r ? report_error(&err) : (fprintf(stderr, "attncluster: out of memory\n"), 1);
    } else if (o->json) {
        printf("{\"schema\":\"%s\",\"command\":\"sweep\",\"algorithm\":\"%s\",\"data\":",
               JSON_SCHEMA, o->kmeans ? "kmeans" : "attention");
        print_data_json(stdout, ds);
        printf(",\"best\":");
        if (best >= 0)
            printf("%d", r[best].clusters);
        else
            printf("null");
        printf(",\"results\":[");
        for (int i = 0; i < count; i++) {
            printf("%s{\"clusters\":%d,\"silhouette\":", i ? "," : "", r[i].clusters);
            json_number(stdout, r[i].geometry.silhouette);
            printf(",\"davies_bouldin\":");
            json_number(stdout, r[i].geometry.davies_bouldin);
            printf(",\"calinski_harabasz\":");
            json_number(stdout, r[i].geometry.calinski_harabasz);
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("Sweeping K = %d..%d on %s with %s (labels are not used)\n", kmin, kmax,
               ac_dataset_source(ds), o->kmeans ? "k-means" : "unsupervised attention");
        printf("     K   silhouette   Davies-Bouldin   Calinski-Harabasz\n");
        for (int i = 0; i < count; i++)
            printf("%s %4d   %10.4f   %14.4f   %17.4f\n", i == best ? "*" : " ", r[i].clusters,
                   r[i].geometry.silhouette, r[i].geometry.davies_bouldin,
                   r[i].geometry.calinski_harabasz);
        if (best >= 0)
            printf("Best by silhouette (*): K = %d\n", r[best].clusters);
        else
            printf("No silhouette is defined for these K\n");
    }
    free(r);
    ac_dataset_free(ds);
    return finish_output(rc);
}

/* SIGINT during training: ask the library to stop at the end of the step;
 * a second SIGINT ends the process at once, as usual. */
static void on_sigint(int sig)
{
    (void)sig;
    ac_request_stop();
    signal(SIGINT, SIG_DFL);
}

static int run_train(const options *o)
{
    ac_error err;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    ac_dataset *ds = NULL;
    if (load_training_data(o, &ds, &err) != 0)
        return report_error(&err);
    int rc;
    int needs_labels = o->params.mode == AC_MODE_SUPERVISED && !o->kmeans;
    if (!ac_dataset_labels(ds) && needs_labels) {
        fprintf(stderr, "%s: no label column: supervised training follows the labels "
                        "(expected one: name it with --label, or train without labels with "
                        "--mode unsupervised)\n",
                ac_dataset_source(ds));
        rc = EXIT_RUNTIME;
    } else {
        options chosen = *o;
        rc = 0;
        if (o->auto_k) {
            /* --clusters auto: the sweep's best K by silhouette, over 2..10. */
            int kmax = ac_dataset_rows(ds) < 10 ? (int)ac_dataset_rows(ds) : 10;
            ac_sweep_result r[9];
            int best = kmax >= 2 ? sweep_k(o, ds, 2, kmax, r, &err) : -1;
            if (best == -2) {
                rc = report_error(&err);
            } else if (best < 0) {
                fprintf(stderr, "%s: no K in 2..%d has a defined silhouette (expected "
                                "--clusters K)\n", ac_dataset_source(ds), kmax);
                rc = EXIT_RUNTIME;
            } else {
                chosen.params.clusters = r[best].clusters;
                if (!o->quiet)
                    fprintf(stderr, "Chose K = %d: the best silhouette (%.4f) of K = 2..%d\n",
                            r[best].clusters, r[best].geometry.silhouette, kmax);
            }
        }
        if (rc == 0)
            rc = chosen.folds || chosen.test_fraction > 0.0 ? run_heldout(&chosen, ds)
                                                           : run_chapter(&chosen, ds);
    }
    ac_dataset_free(ds);
    return finish_output(rc);
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
    if (ac_model_load(o->model, &p->model, &err) != AC_OK || load_csv(o, o->data, &p->ds, &err) ||
        ac_dataset_prepare_for_model(p->ds, p->model, &err) != AC_OK)
        return report_error(&err);
    size_t N = ac_dataset_rows(p->ds), K = ac_model_clusters(p->model);
    p->clusters = malloc(N * sizeof *p->clusters);
    p->probs = malloc(N * K * sizeof *p->probs);
    if (!p->clusters || !p->probs) {
        fprintf(stderr, "attncluster: out of memory for %zu rows\n", N);
        return EXIT_RUNTIME;
    }
    /* In the reference context a row's prediction does not depend on the
     * others, so a large set is predicted a slice at a time, with a bar. */
    int sliced = o->context == AC_CONTEXT_REFERENCE && N >= PREDICT_PROGRESS_ROWS;
    size_t slice = sliced ? PREDICT_SLICE_ROWS : N;
    progress bar;
    progress_start(&bar, sliced && !o->quiet && isatty(STDERR_FILENO), (int)N);
    bar.unit = "rows";
    for (size_t start = 0; start < N; start += slice) {
        size_t n = N - start < slice ? N - start : slice;
        size_t F = ac_dataset_features_count(p->ds);
        if (ac_model_predict(p->model, ac_dataset_features(p->ds) + start * F, n, o->context,
                             p->clusters + start, p->probs + start * K, &err) != AC_OK) {
            progress_clear(&bar);
            return report_error(&err);
        }
        progress_update(&bar, (int)(start + n));
    }
    progress_clear(&bar);
    return 0;
}

/* predict: "row,cluster,p_0,...,p_{K-1}[,label]", one line per input row. */
static void print_predictions_csv(FILE *out, const prediction *p)
{
    size_t N = ac_dataset_rows(p->ds), K = ac_model_clusters(p->model);
    size_t n_labels = ac_model_label_count(p->model);
    fprintf(out, "row,cluster");
    for (size_t k = 0; k < K; k++)
        fprintf(out, ",p_%zu", k);
    fprintf(out, n_labels ? ",label\n" : "\n");
    for (size_t i = 0; i < N; i++) {
        fprintf(out, "%zu,%d", i, (int)p->clusters[i]);
        for (size_t k = 0; k < K; k++)
            fprintf(out, ",%.9g", (double)p->probs[i * K + k]);
        if (n_labels) {
            const char *name = ac_model_label_name(p->model, (size_t)p->clusters[i]);
            fputc(',', out);
            print_csv_field(out, name ? name : "");
        }
        fputc('\n', out);
    }
}

/* predict --json: JSON lines, one object per input row:
 *   {"schema":..., "row":0, "cluster":1, "probabilities":[...], "label":"...",
 *    "true_label":"..."}
 * label: the model's name for the cluster (when it knows label names);
 * true_label: the row's own label (when the data has a label column). */
static void print_predictions_json(FILE *out, const prediction *p)
{
    size_t N = ac_dataset_rows(p->ds), K = ac_model_clusters(p->model);
    size_t n_labels = ac_model_label_count(p->model);
    const int32_t *truth = ac_dataset_labels(p->ds);
    for (size_t i = 0; i < N; i++) {
        fprintf(out, "{\"schema\":\"%s\",\"row\":%zu,\"cluster\":%d,\"probabilities\":[",
                JSON_SCHEMA, i, (int)p->clusters[i]);
        for (size_t k = 0; k < K; k++) {
            fputs(k ? "," : "", out);
            json_number(out, (double)p->probs[i * K + k]);
        }
        fputc(']', out);
        if (n_labels) {
            const char *name = ac_model_label_name(p->model, (size_t)p->clusters[i]);
            fputs(",\"label\":", out);
            json_string(out, name ? name : "");
        }
        if (truth) {
            const char *name = ac_dataset_label_name(p->ds, (size_t)truth[i]);
            fputs(",\"true_label\":", out);
            json_string(out, name ? name : "");
        }
        fputs("}\n", out);
    }
}

static int run_predict(const options *o)
{
    prediction p;
    int rc = predict_rows(o, &p);
    if (rc != 0) {
        prediction_free(&p);
        return rc;
    }
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
    if (o->json)
        print_predictions_json(out, &p);
    else
        print_predictions_csv(out, &p);
    if (o->output) {
        ac_error err;
        if (fclose(out) != 0) {
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

/* eval: cluster sizes, every metric that applies, the contingency table and
 * per-cluster profiles in the data's own units. */
static int run_eval(const options *o)
{
    prediction p;
    scores s = {0};
    ac_error err;
    int rc = predict_rows(o, &p);
    size_t N = rc == 0 ? ac_dataset_rows(p.ds) : 0, K = rc == 0 ? ac_model_clusters(p.model) : 0;
    size_t F = rc == 0 ? ac_dataset_features_count(p.ds) : 0;
    size_t *sizes = rc == 0 ? calloc(K, sizeof *sizes) : NULL;
    double *means = rc == 0 ? calloc(K * F, sizeof *means) : NULL;
    float *mins = rc == 0 ? calloc(K * F, sizeof *mins) : NULL;
    float *maxs = rc == 0 ? calloc(K * F, sizeof *maxs) : NULL;
    if (rc != 0)
        goto done;
    rc = EXIT_RUNTIME;
    if (!sizes || !means || !mins || !maxs) {
        fprintf(stderr, "attncluster: out of memory\n");
        goto done;
    }
    if (score(p.ds, p.clusters, K, o->params.seed, &s, &err) != 0 ||
        ac_cluster_profiles(p.model, ac_dataset_features(p.ds), N, p.clusters, sizes, means,
                            mins, maxs, &err) != AC_OK) {
        rc = report_error(&err);
        goto done;
    }
    int labelled = ac_dataset_labels(p.ds) != NULL;
    if (!labelled && !o->quiet)
        fprintf(stderr, "%s: no label column, so only the metrics that need no labels\n",
                ac_dataset_source(p.ds));
    if (o->json) {
        printf("{\"schema\":\"%s\",\"command\":\"eval\",\"model\":", JSON_SCHEMA);
        json_string(stdout, o->model);
        printf(",\"data\":");
        print_data_json(stdout, p.ds);
        printf(",\"context\":\"%s\",\"metrics\":",
               o->context == AC_CONTEXT_REFERENCE ? "reference" : "batch");
        print_metrics_json(stdout, &s.labels, &s.geometry, labelled);
        if (labelled) {
            printf(",\"contingency\":");
            print_contingency_json(stdout, s.table, K, s.C, dataset_label_name, p.ds);
        }
        printf(",\"clusters\":[");
        for (size_t k = 0; k < K; k++) {
            printf("%s{\"cluster\":%zu,\"size\":%zu", k ? "," : "", k, sizes[k]);
            const char *keys[3] = {"mean", "min", "max"};
            for (int which = 0; which < 3; which++) {
                printf(",\"%s\":[", keys[which]);
                for (size_t f = 0; f < F; f++) {
                    double v = which == 0 ? means[k * F + f]
                                          : (double)(which == 1 ? mins : maxs)[k * F + f];
                    fputs(f ? "," : "", stdout);
                    json_number(stdout, v);
                }
                printf("]");
            }
            printf("}");
        }
        printf("]}\n");
    } else {
        printf("Rows: %zu\n", N);
        if (o->context == AC_CONTEXT_REFERENCE)
            printf("Context: reference (each row attends over the model's %zu reference rows "
                   "and itself)\n",
                   ac_model_reference_rows(p.model, NULL));
        else
            printf("Context: batch (attention across the %zu rows given)\n", N);
        printf("Cluster sizes:");
        for (size_t k = 0; k < K; k++)
            printf("%s %zu", k ? "," : "", sizes[k]);
        printf("\n");
        if (labelled)
            printf("Clustering accuracy: %.4f\n", s.labels.raw_accuracy);
        print_metrics_text(stdout, &s.labels, &s.geometry, labelled);
        if (labelled) {
            printf("\n");
            print_contingency(stdout, s.table, K, s.C, dataset_label_name, p.ds);
        }
        printf("\nCluster profiles (mean and range of each feature, in the data's units):\n");
        for (size_t k = 0; k < K; k++) {
            printf("  cluster %zu: %zu row%s\n", k, sizes[k], sizes[k] == 1 ? "" : "s");
            for (size_t f = 0; f < F && sizes[k]; f++)
                printf("    %-20s mean %-10.4g range %.4g .. %.4g\n",
                       printable(ac_dataset_feature_name(p.ds, f)), means[k * F + f],
                       (double)mins[k * F + f], (double)maxs[k * F + f]);
        }
    }
    if (o->plot) {
        /* The training curves come from the model file, when it keeps them. */
        const ac_epoch_report *history = NULL;
        size_t n_history = ac_model_history(p.model, &history);
        if (!n_history && !o->quiet)
            fprintf(stderr, "%s: the model file records no training history, so no "
                            "training.svg\n",
                    o->model);
        char what[120];
        snprintf(what, sizeof what, "model %.100s", printable(o->model));
        picture_input in = {p.ds, p.model, p.clusters, K, &s, history, n_history, o->context,
                            what, o->model};
        if ((rc = write_pictures(o, &in)) != 0)
            goto done;
    }
    rc = 0;
done:
    free(sizes), free(means), free(mins), free(maxs), free(s.table);
    prediction_free(&p);
    return finish_output(rc);
}

static void print_names(const char *title, size_t n, const char *(*get)(const ac_model *, size_t),
                        const ac_model *m)
{
    printf("%s", title);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", printable(get(m, i)));
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
    const float *shift, *scale;
    ac_normalization kind = ac_model_normalization(m, &shift, &scale);
    if (kind == AC_NORMALIZE_NONE) {
        printf("Normalization:     none\n");
    } else {
        int minmax = kind == AC_NORMALIZE_MINMAX;
        printf("Normalization:     %s, x' = (x - %s) / %s\n", minmax ? "minmax" : "zscore",
               minmax ? "min" : "mean", minmax ? "range" : "std");
        for (size_t f = 0; f < F; f++)
            printf("  %-20s %s %.9g, %s %.9g\n", printable(ac_model_feature_name(m, f)),
                   minmax ? "min" : "mean", (double)shift[f], minmax ? "range" : "std",
                   (double)scale[f]);
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
    o.csv = ac_csv_options_default();
    o.normalize = AC_NORMALIZE_MINMAX;
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
            return usage_error("unknown command '%s' (expected train, predict, eval, info or sweep)",
                               argv[1]);
        o.cmd = (command)i;
        first = 2;
    }
    argv[first - 1] = argv[0];
    int rc = parse_options(argc - first + 1, argv + first - 1, &o);
#ifdef AC_FUZZ_PARSE_ONLY /* fuzz/fuzz_cli.c: the command line is parsed, nothing is run */
    if (rc < 0)
        rc = 0;
#endif
    if (rc < 0) {
        switch (o.cmd) {
        case CMD_PREDICT: rc = run_predict(&o); break;
        case CMD_EVAL: rc = run_eval(&o); break;
        case CMD_INFO: rc = run_info(&o); break;
        case CMD_SWEEP: rc = run_sweep(&o); break;
        case CMD_TRAIN: rc = run_train(&o); break;
        }
    }
    free(o.feature_list);
    return rc;
}
