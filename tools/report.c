/*
 * report.c - printing for the command-line tool: the progress bar, error
 * messages, CSV fields, JSON values and metric blocks.
 */
#define _POSIX_C_SOURCE 200809L

#include "report.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- progress */

#define BAR_CELLS 20

double now_seconds(void)
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

void progress_start(progress *p, int enabled, int total)
{
    memset(p, 0, sizeof *p);
    p->enabled = enabled;
    p->total = total;
    p->unit = "it";
    p->start = now_seconds();
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
        snprintf(speed, sizeof speed, "%.2f%s/s", rate, p->unit);
    else
        snprintf(speed, sizeof speed, "%.2fs/%s", 1.0 / rate, p->unit);
    fprintf(stderr, "\r%3d%%|%s| %d/%d [%s<%s, %s]", (int)(frac * 100), bar, done, p->total,
            el, left, speed);
    fflush(stderr);
    p->drawn = 1;
    p->last_draw = now_seconds();
}

void progress_update(progress *p, int done)
{
    if (!p->enabled)
        return;
    int last = done >= p->total;
    if (last || !p->drawn || now_seconds() - p->last_draw > 0.05)
        progress_draw(p, done);
    if (last) {
        fputc('\n', stderr);
        p->drawn = 0;
    }
}

void progress_clear(progress *p)
{
    if (p->enabled && p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}

/* ------------------------------------------------------------ plain output */

int report_error(const ac_error *e)
{
    int rc = e->status == AC_ERR_INTERRUPTED ? EXIT_INTERRUPTED : EXIT_RUNTIME;
    if (e->source[0] && e->line > 0 && e->column > 0 && e->column_name[0])
        fprintf(stderr, "%s:%ld:%ld (%s): %s\n", e->source, e->line, e->column, e->column_name,
                e->message);
    else if (e->source[0] && e->line > 0 && e->column > 0)
        fprintf(stderr, "%s:%ld:%ld: %s\n", e->source, e->line, e->column, e->message);
    else if (e->source[0] && e->line > 0)
        fprintf(stderr, "%s:%ld: %s\n", e->source, e->line, e->message);
    else if (e->source[0])
        fprintf(stderr, "%s: %s\n", e->source, e->message);
    else
        fprintf(stderr, "attncluster: %s\n", e->message);
    return rc;
}

void print_csv_field(FILE *out, const char *s)
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

void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void json_number(FILE *out, double x)
{
    if (isfinite(x))
        fprintf(out, "%.9g", x);
    else
        fputs("null", out);
}

/* ----------------------------------------------------------------- metrics */

static double get_raw(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)g;
    return l->raw_accuracy;
}
static double get_ari(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)g;
    return l->ari;
}
static double get_nmi(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)g;
    return l->nmi;
}
static double get_matched(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)g;
    return l->matched_accuracy;
}
static double get_ami(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)g;
    return l->ami;
}
static double get_purity(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)g;
    return l->purity;
}
static double get_silhouette(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)l;
    return g->silhouette;
}
static double get_db(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)l;
    return g->davies_bouldin;
}
static double get_ch(const ac_label_metrics *l, const ac_geometry_metrics *g)
{
    (void)l;
    return g->calinski_harabasz;
}

/* The chapter's three added lines first (ARI, NMI, matched accuracy), then
 * the rest. The raw accuracy is printed by the chapter's own line. */
const metric_field metric_fields[] = {
    {"raw_accuracy", "Clustering accuracy (cluster id = label id)", 1, get_raw},
    {"ari", "Adjusted Rand index", 1, get_ari},
    {"nmi", "Normalized mutual information", 1, get_nmi},
    {"matched_accuracy", "Matched accuracy", 1, get_matched},
    {"ami", "Adjusted mutual information", 1, get_ami},
    {"purity", "Purity", 1, get_purity},
    {"silhouette", "Silhouette", 0, get_silhouette},
    {"davies_bouldin", "Davies-Bouldin index", 0, get_db},
    {"calinski_harabasz", "Calinski-Harabasz index", 0, get_ch},
};
const size_t metric_field_count = sizeof metric_fields / sizeof metric_fields[0];

void print_metrics_text(FILE *out, const ac_label_metrics *lm, const ac_geometry_metrics *gm,
                        int labels)
{
    /* The first field, raw accuracy, is the chapter's own line. */
    for (size_t i = 1; i < metric_field_count; i++) {
        const metric_field *m = &metric_fields[i];
        if (m->needs_labels && !labels)
            continue;
        double v = m->get(lm, gm);
        if (isfinite(v))
            fprintf(out, "%s: %.4f\n", m->title, v);
        else
            fprintf(out, "%s: undefined\n", m->title);
    }
}

void print_metrics_json(FILE *out, const ac_label_metrics *lm, const ac_geometry_metrics *gm,
                        int labels)
{
    int first = 1;
    fputc('{', out);
    for (size_t i = 0; i < metric_field_count; i++) {
        const metric_field *m = &metric_fields[i];
        if (m->needs_labels && !labels)
            continue;
        fprintf(out, "%s\"%s\":", first ? "" : ",", m->key);
        json_number(out, m->get(lm, gm));
        first = 0;
    }
    fputc('}', out);
}
