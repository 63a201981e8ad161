/*
 * report.h - what the command-line tool prints, shared by its commands:
 * the progress bar, error messages, CSV fields, JSON values and the metric
 * blocks in text and JSON. Printing only; no maths.
 */
#ifndef AC_TOOL_REPORT_H
#define AC_TOOL_REPORT_H

#include "attncluster.h"

#include <stdio.h>

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_INTERRUPTED 130 /* 128 + SIGINT, as shells report it */

/* The version of --json's output; bumped when a field changes meaning. */
#define JSON_SCHEMA "attncluster.v1"

/* A tqdm-style bar on stderr, redrawn in place:
 *   100%|████████████████████| 100/100 [00:00<00:00, 1234.56it/s] */
typedef struct progress {
    int enabled;
    int total;
    const char *unit; /* what a step is, in the rate: "it" unless set after progress_start */
    double start, last_draw;
    int drawn; /* a bar is on the current stderr line */
} progress;

double now_seconds(void);
/* Starts a bar of `total` steps, drawn only when `enabled`. */
void progress_start(progress *p, int enabled, int total);
/* Redraws for `done` steps, at most every 50 ms unless it is the last. */
void progress_update(progress *p, int done);
/* Clears the bar's line so that a line on stdout does not land inside it. */
void progress_clear(progress *p);

/* FILE:LINE:COLUMN (name): message on stderr; returns EXIT_RUNTIME, or
 * EXIT_INTERRUPTED for AC_ERR_INTERRUPTED. */
int report_error(const ac_error *e);

/* A CSV field, quoted (RFC 4180) when it holds a comma, quote or newline. */
void print_csv_field(FILE *out, const char *s);

/* JSON: a string with escapes, a number (%.9g, null when not finite). */
void json_string(FILE *out, const char *s);
void json_number(FILE *out, double x);

/* Every label metric and geometry metric, one per line, as
 * "Adjusted Rand index: 0.9038"; label metrics only when `labels`. */
void print_metrics_text(FILE *out, const ac_label_metrics *lm, const ac_geometry_metrics *gm,
                        int labels);
/* The same as a JSON object {"matched_accuracy": ..., ...}. */
void print_metrics_json(FILE *out, const ac_label_metrics *lm, const ac_geometry_metrics *gm,
                        int labels);

/* The names of the metrics, in the order printed; `get` reads one from the
 * two structs, for means and standard deviations over folds. */
typedef struct metric_field {
    const char *key;   /* JSON key */
    const char *title; /* text title */
    int needs_labels;
    double (*get)(const ac_label_metrics *, const ac_geometry_metrics *);
} metric_field;
extern const metric_field metric_fields[];
extern const size_t metric_field_count;

#endif
