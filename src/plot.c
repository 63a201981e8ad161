/*
 * plot.c - pictures as self-contained SVG: training curves, the projection
 * of the rows on two principal components, the attention heat map and the
 * contingency table. Each is built as text in memory (sbuf) and written
 * atomically; nothing outside the file is referenced (no scripts, fonts or
 * images), so a browser, an image viewer or a README shows it as it is.
 *
 * Every picture is 800 px wide with a title, axis titles and a legend, in
 * font sizes of 12 px and more so that it reads at its natural size. User
 * text (names of labels and columns) is escaped for XML, and bytes that are
 * not UTF-8 become '?', so that no CSV makes a file a browser refuses.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define WIDTH 800
#define FONT "DejaVu Sans, Helvetica, Arial, sans-serif"

/* A categorical palette of ten colours that stay apart for the common forms
 * of colour blindness (Tableau 10); clusters past ten reuse them. */
static const char *const palette[10] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

/* ------------------------------------------------------------------- text */

/* Appends s as XML character data: &, <, >, quotes escaped; control
 * characters and bytes that do not form UTF-8 become '?'; at most
 * max_chars characters, the rest replaced by an ellipsis (0: no limit). */
static void put_text(sbuf *b, const char *s, size_t max_chars)
{
    size_t chars = 0;
    while (*s) {
        unsigned char c = (unsigned char)*s;
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (max_chars && chars == max_chars) {
            sbuf_puts(b, "\xE2\x80\xA6"); /* … */
            return;
        }
        size_t avail = 1;
        while (avail < len && s[avail])
            avail++;
        if (len == 0 || avail < len || !utf8_valid(s, len)) {
            sbuf_puts(b, "?");
            s++;
        } else if (len > 1) {
            sbuf_append(b, s, len);
            s += len;
        } else {
            switch (c) {
            case '&': sbuf_puts(b, "&amp;"); break;
            case '<': sbuf_puts(b, "&lt;"); break;
            case '>': sbuf_puts(b, "&gt;"); break;
            case '"': sbuf_puts(b, "&quot;"); break;
            case '\'': sbuf_puts(b, "&apos;"); break;
            default: sbuf_append(b, c < 0x20 || c == 0x7F ? "?" : s, 1); break;
            }
            s++;
        }
        chars++;
    }
}

/* <text x y font-size text-anchor [extra]>s</text> */
static void text_at(sbuf *b, double x, double y, int size, const char *anchor, const char *extra,
                    const char *s, size_t max_chars)
{
    sbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"%s%s>", x, y,
                size, anchor, extra ? " " : "", extra ? extra : "");
    put_text(b, s, max_chars);
    sbuf_puts(b, "</text>\n");
}

/* The document's head: size, accessible title, white page, visible title
 * and an optional subtitle. */
static void begin(sbuf *b, int height, const char *title, const char *subtitle)
{
    sbuf_printf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                "viewBox=\"0 0 %d %d\" font-family=\"%s\">\n<title>",
                WIDTH, height, WIDTH, height, FONT);
    put_text(b, title, 0);
    sbuf_printf(b, "</title>\n<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", WIDTH,
                height);
    text_at(b, WIDTH / 2.0, 28, 18, "middle", "font-weight=\"bold\"", title, 80);
    if (subtitle && *subtitle)
        text_at(b, WIDTH / 2.0, 48, 13, "middle", "fill=\"#555555\"", subtitle, 110);
}

static ac_status finish(sbuf *b, const char *path, const char *what, ac_error *err)
{
    sbuf_puts(b, "</svg>\n");
    ac_status st;
    if (b->failed)
        st = ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory drawing the %s", what);
    else
        st = ac_file_write_atomic(path, b->data, b->len, err);
    sbuf_free(b);
    return st;
}

/* ------------------------------------------------------------------- axes */

typedef struct frame {
    double x0, y0, x1, y1;         /* the plotting area in pixels */
    double xlo, xhi, ylo, yhi;     /* the data range it shows */
} frame;

static double px(const frame *f, double x)
{
    return f->x0 + (x - f->xlo) / (f->xhi - f->xlo) * (f->x1 - f->x0);
}

static double py(const frame *f, double y)
{
    return f->y1 - (y - f->ylo) / (f->yhi - f->ylo) * (f->y1 - f->y0);
}

/* A round tick step (1, 2 or 5 times a power of ten) giving about `want`
 * intervals over span. */
static double tick_step(double span, int want)
{
    double raw = span / want, mag = pow(10.0, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0) * mag;
}

/* A tick label with as many decimals as the step needs. */
static void tick_label(char *out, size_t size, double v, double step)
{
    if (fabs(v) < step * 1e-9)
        v = 0.0; /* no "-0" */
    int decimals = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (fabs(v) >= 1e6 || (v != 0.0 && fabs(v) < 1e-4) || decimals > 6)
        snprintf(out, size, "%.3g", v);
    else
        snprintf(out, size, "%.*f", decimals, v);
}

/* Widens a data range by a margin, and a zero-width one to something. */
static void pad_range(double *lo, double *hi, double margin)
{
    if (!(*hi > *lo)) {
        double c = isfinite(*lo) ? *lo : 0.0, half = fabs(c) > 0 ? fabs(c) * 0.1 : 1.0;
        *lo = c - half;
        *hi = c + half;
        return;
    }
    double d = (*hi - *lo) * margin;
    *lo -= d;
    *hi += d;
}

/* Grid, ticks, tick labels and a frame; axis titles when given (NULL: none). */
static void axes(sbuf *b, const frame *f, const char *x_title, const char *y_title, int x_ticks)
{
    char label[48];
    sbuf_puts(b, "<g class=\"axes\" stroke=\"#dddddd\" stroke-width=\"1\">\n");
    double ys = tick_step(f->yhi - f->ylo, 5);
    for (double v = ceil(f->ylo / ys) * ys; v <= f->yhi + ys * 1e-9; v += ys)
        sbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x0,
                    py(f, v), f->x1, py(f, v));
    double xs = tick_step(f->xhi - f->xlo, 6);
    for (double v = ceil(f->xlo / xs) * xs; v <= f->xhi + xs * 1e-9; v += xs)
        sbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(f, v),
                    f->y0, px(f, v), f->y1);
    sbuf_printf(b,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                "stroke=\"#333333\"/>\n</g>\n",
                f->x0, f->y0, f->x1 - f->x0, f->y1 - f->y0);
    sbuf_puts(b, "<g class=\"tick-labels\" fill=\"#333333\">\n");
    for (double v = ceil(f->ylo / ys) * ys; v <= f->yhi + ys * 1e-9; v += ys) {
        tick_label(label, sizeof label, v, ys);
        text_at(b, f->x0 - 6, py(f, v) + 4, 12, "end", NULL, label, 0);
    }
    if (x_ticks)
        for (double v = ceil(f->xlo / xs) * xs; v <= f->xhi + xs * 1e-9; v += xs) {
            tick_label(label, sizeof label, v, xs);
            text_at(b, px(f, v), f->y1 + 17, 12, "middle", NULL, label, 0);
        }
    sbuf_puts(b, "</g>\n");
    if (x_title)
        text_at(b, (f->x0 + f->x1) / 2, f->y1 + 38, 14, "middle", "class=\"axis-title\"",
                x_title, 90);
    if (y_title) {
        char rot[96];
        double cx = f->x0 - 52, cy = (f->y0 + f->y1) / 2;
        snprintf(rot, sizeof rot, "class=\"axis-title\" transform=\"rotate(-90 %.1f %.1f)\"", cx,
                 cy);
        text_at(b, cx, cy, 14, "middle", rot, y_title, 60);
    }
}

/* ---------------------------------------------------------------- training */

/* One series as a path, broken where a value is NaN; at most ~2000 points
 * (every stride-th epoch, and the last). */
static void series(sbuf *b, const frame *f, const ac_epoch_report *e, size_t n, int accuracy,
                   const char *colour)
{
    size_t stride = n > 2000 ? (n + 1999) / 2000 : 1;
    sbuf_printf(b, "<path class=\"series\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                   "stroke-linejoin=\"round\" d=\"",
                colour);
    int pen_down = 0;
    for (size_t i = 0;; i = i + stride < n ? i + stride : n - 1) {
        double v = accuracy ? e[i].accuracy : e[i].loss;
        if (!isfinite(v)) {
            pen_down = 0;
        } else {
            sbuf_printf(b, "%s%.1f %.1f", pen_down ? " L" : " M", px(f, (double)e[i].epoch + 1),
                        py(f, v));
            pen_down = 1;
        }
        if (i == n - 1)
            break;
    }
    sbuf_puts(b, "\"/>\n");
    if (n == 1) { /* a single epoch: a dot, since a one-point path draws nothing */
        double v = accuracy ? e[0].accuracy : e[0].loss;
        if (isfinite(v))
            sbuf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                        px(f, (double)e[0].epoch + 1), py(f, v), colour);
    }
}

ac_status ac_plot_training(const char *path, const ac_epoch_report *epochs, size_t n,
                           const char *title, ac_error *err)
{
    if (!epochs || n == 0)
        return ac_set_error(err, AC_ERR_INVALID, path, 0, 0,
                            "no epochs to draw (expected at least one)");
    double lmax = 0.0, lmin = INFINITY;
    int any_accuracy = 0, any_gap = 0;
    for (size_t i = 0; i < n; i++) {
        any_gap |= !isfinite(epochs[i].accuracy);
        if (isfinite(epochs[i].loss)) {
            lmax = epochs[i].loss > lmax ? epochs[i].loss : lmax;
            lmin = epochs[i].loss < lmin ? epochs[i].loss : lmin;
        }
        any_accuracy |= isfinite(epochs[i].accuracy) != 0;
    }
    sbuf b = {0};
    char subtitle[128];
    snprintf(subtitle, sizeof subtitle, "%zu epoch%s; each point is the mean over the epoch's "
             "batches", n, n == 1 ? "" : "s");
    begin(&b, 600, title ? title : "Training", subtitle);
    double first = (double)epochs[0].epoch + 1, last = (double)epochs[n - 1].epoch + 1;
    double elo = first, ehi = last;
    pad_range(&elo, &ehi, 0.0);
    if (n == 1)
        elo = first - 1, ehi = first + 1;
    double llo = lmin < 0 ? lmin : 0.0, lhi = isfinite(lmin) ? lmax : 1.0;
    pad_range(&llo, &lhi, 0.0);
    lhi += (lhi - llo) * 0.05;
    frame top = {90, 80, 760, 280, elo, ehi, llo, lhi};
    frame bottom = {90, 330, 760, 530, elo, ehi, 0.0, 1.0};
    axes(&b, &top, NULL, "loss", 1);
    axes(&b, &bottom, "epoch", "accuracy", 1);
    series(&b, &top, epochs, n, 0, palette[0]);
    series(&b, &bottom, epochs, n, 1, palette[1]);
    if (!any_accuracy)
        text_at(&b, 425, 435, 14, "middle", "fill=\"#555555\"",
                "no accuracy: these epochs trained without labels", 0);
    else if (any_gap) /* unsupervised: the warm-up has k-means targets, the refinement none */
        text_at(&b, 750, 520, 12, "end", "fill=\"#555555\"",
                "no accuracy where an epoch trained without hard targets", 0);
    /* Legend, one line under the panels. */
    sbuf_puts(&b, "<g class=\"legend\">\n");
    sbuf_printf(&b, "<line x1=\"200\" y1=\"582\" x2=\"230\" y2=\"582\" stroke=\"%s\" "
                    "stroke-width=\"3\"/>\n",
                palette[0]);
    text_at(&b, 238, 587, 13, "start", NULL, "loss (cross-entropy)", 0);
    sbuf_printf(&b, "<line x1=\"430\" y1=\"582\" x2=\"460\" y2=\"582\" stroke=\"%s\" "
                    "stroke-width=\"3\"/>\n",
                palette[1]);
    text_at(&b, 468, 587, 13, "start", NULL, "accuracy (argmax = the training target)", 0);
    sbuf_puts(&b, "</g>\n");
    return finish(&b, path, "training curves", err);
}

/* -------------------------------------------------------------- projection */

/* Unit outlines of the marker shapes (x, y pairs, y down), for labels 1..9;
 * label 0 is a circle. */
static const double shape_square[] = {-0.8, -0.8, 0.8, -0.8, 0.8, 0.8, -0.8, 0.8};
static const double shape_up[] = {0.0, -1.1, 1.0, 0.7, -1.0, 0.7};
static const double shape_diamond[] = {0.0, -1.15, 1.0, 0.0, 0.0, 1.15, -1.0, 0.0};
static const double shape_down[] = {0.0, 1.1, 1.0, -0.7, -1.0, -0.7};
static const double shape_plus[] = {-0.35, -1.0, 0.35, -1.0, 0.35, -0.35, 1.0, -0.35,
                                   1.0, 0.35, 0.35, 0.35, 0.35, 1.0, -0.35, 1.0,
                                   -0.35, 0.35, -1.0, 0.35, -1.0, -0.35, -0.35, -0.35};
static const double shape_cross[] = {-0.95, -0.45, -0.45, -0.95, 0.0, -0.5, 0.45, -0.95,
                                    0.95, -0.45, 0.5, 0.0, 0.95, 0.45, 0.45, 0.95,
                                    0.0, 0.5, -0.45, 0.95, -0.95, 0.45, -0.5, 0.0};
static const double shape_star[] = {0.0, -1.2, 0.28, -0.38, 1.14, -0.37, 0.45, 0.15,
                                   0.71, 0.97, 0.0, 0.47, -0.71, 0.97, -0.45, 0.15,
                                   -1.14, -0.37, -0.28, -0.38};
static const double shape_pentagon[] = {0.0, -1.05, 1.0, -0.32, 0.62, 0.85, -0.62, 0.85,
                                       -1.0, -0.32};
static const double shape_hexagon[] = {0.0, -1.0, 0.87, -0.5, 0.87, 0.5, 0.0, 1.0,
                                      -0.87, 0.5, -0.87, -0.5};
static const struct {
    const double *xy;
    int n;
} shapes[10] = {
    {NULL, 0},           {shape_square, 4}, {shape_up, 3},    {shape_diamond, 4},
    {shape_down, 3},     {shape_plus, 12},  {shape_cross, 12}, {shape_star, 10},
    {shape_pentagon, 5}, {shape_hexagon, 6},
};

/* One marker of shape `which` (label id mod 10) centred at (x, y). */
static void marker(sbuf *b, int which, double x, double y, double r, const char *attrs)
{
    which %= 10;
    if (which == 0) {
        sbuf_printf(b, "<circle%s cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>\n", attrs, x, y, r);
        return;
    }
    sbuf_printf(b, "<path%s d=\"", attrs);
    for (int i = 0; i < shapes[which].n; i++)
        sbuf_printf(b, "%s%.1f %.1f", i ? " L" : "M", x + r * shapes[which].xy[2 * i],
                    y + r * shapes[which].xy[2 * i + 1]);
    sbuf_puts(b, "Z\"/>\n");
}

/* Legend entries past this many are summarised as "... and N more". */
#define LEGEND_MAX 12

static const char *label_text(const char *const *names, size_t C, size_t id, char *buf,
                              size_t size)
{
    if (names && id < C && names[id])
        return names[id];
    snprintf(buf, size, "label %zu", id);
    return buf;
}

ac_status ac_plot_projection(const char *path, const float *xy, size_t n,
                             const int32_t *clusters, size_t K, const int32_t *labels,
                             const char *const *label_names, size_t C, const char *x_title,
                             const char *y_title, const char *title, uint64_t seed,
                             ac_error *err)
{
    if (!xy || !clusters || n == 0 || K == 0)
        return ac_set_error(err, AC_ERR_INVALID, path, 0, 0,
                            "a projection of %zu rows in %zu clusters (expected at least one "
                            "of each)",
                            n, K);
    for (size_t i = 0; i < n; i++) {
        if (clusters[i] < 0 || (size_t)clusters[i] >= K)
            return ac_set_error(err, AC_ERR_INVALID, path, 0, 0,
                                "row %zu is in cluster %d (expected 0 to %zu)", i,
                                (int)clusters[i], K - 1);
        if (labels && labels[i] < 0)
            return ac_set_error(err, AC_ERR_INVALID, path, 0, 0,
                                "row %zu has label %d (expected >= 0)", i, (int)labels[i]);
    }
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (isfinite(x) && isfinite(y)) {
            xlo = x < xlo ? x : xlo, xhi = x > xhi ? x : xhi;
            ylo = y < ylo ? y : ylo, yhi = y > yhi ? y : yhi;
        }
    }
    if (!(xlo <= xhi))
        xlo = xhi = ylo = yhi = 0.0;
    pad_range(&xlo, &xhi, 0.05);
    pad_range(&ylo, &yhi, 0.05);

    size_t shown = n < AC_PLOT_MAX_POINTS ? n : AC_PLOT_MAX_POINTS;
    char subtitle[160];
    if (shown < n)
        snprintf(subtitle, sizeof subtitle, "%zu of %zu rows shown (a seeded uniform sample)",
                 shown, n);
    else
        snprintf(subtitle, sizeof subtitle, "%zu rows; colour: cluster%s", n,
                 labels ? "; shape: true label" : "");
    sbuf b = {0};
    begin(&b, 600, title ? title : "Rows on their first two principal components", subtitle);
    frame f = {90, 70, 600, 520, xlo, xhi, ylo, yhi};
    axes(&b, &f, x_title ? x_title : "PC1", y_title ? y_title : "PC2", 1);

    /* Points, one group per cluster so that the colour is said once; a
     * uniform sample (selection sampling) beyond AC_PLOT_MAX_POINTS. */
    ac_rng rng;
    ac_rng_seed(&rng, seed);
    unsigned char *keep = ac_alloc(n);
    if (!keep) {
        sbuf_free(&b);
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory drawing %zu rows", n);
    }
    size_t taken = 0;
    for (size_t i = 0; i < n; i++) {
        keep[i] = shown == n || ac_rng_take(&rng, n - i, shown - taken);
        taken += keep[i];
    }
    for (size_t k = 0; k < K; k++) {
        sbuf_printf(&b, "<g class=\"cluster\" fill=\"%s\" fill-opacity=\"0.85\" stroke=\"#222222\" "
                        "stroke-width=\"0.5\">\n",
                    palette[k % 10]);
        for (size_t i = 0; i < n; i++)
            if (keep[i] && (size_t)clusters[i] == k && isfinite(xy[2 * i]) &&
                isfinite(xy[2 * i + 1]))
                marker(&b, labels ? (int)(labels[i] % 10) : 0, px(&f, xy[2 * i]),
                       py(&f, xy[2 * i + 1]), 4.5, " class=\"point\"");
        sbuf_puts(&b, "</g>\n");
    }
    ac_free(keep);

    /* Legend: clusters by colour (with their sizes), labels by shape. */
    size_t *sizes = ac_calloc(K, sizeof *sizes);
    if (!sizes) {
        sbuf_free(&b);
        return ac_set_error(err, AC_ERR_NOMEM, path, 0, 0, "out of memory drawing the legend");
    }
    for (size_t i = 0; i < n; i++)
        sizes[clusters[i]]++;
    double y = 80;
    char buf[96];
    sbuf_puts(&b, "<g class=\"legend\">\n");
    text_at(&b, 620, y, 14, "start", "font-weight=\"bold\"", "Cluster (colour)", 0);
    y += 20;
    for (size_t k = 0; k < K && k < LEGEND_MAX; k++, y += 19) {
        sbuf_printf(&b, "<rect x=\"622\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n",
                    y - 10, palette[k % 10]);
        snprintf(buf, sizeof buf, "cluster %zu (%zu row%s)", k, sizes[k], sizes[k] == 1 ? "" : "s");
        text_at(&b, 640, y, 13, "start", NULL, buf, 0);
    }
    if (K > LEGEND_MAX) {
        snprintf(buf, sizeof buf, "... and %zu more (colours repeat)", K - LEGEND_MAX);
        text_at(&b, 622, y, 12, "start", NULL, buf, 0), y += 19;
    }
    ac_free(sizes);
    if (labels) {
        y += 12;
        text_at(&b, 620, y, 14, "start", "font-weight=\"bold\"", "True label (shape)", 0);
        y += 20;
        for (size_t c = 0; c < C && c < LEGEND_MAX; c++, y += 19) {
            marker(&b, (int)(c % 10), 628, y - 4, 5.5,
                   " fill=\"#888888\" stroke=\"#222222\" stroke-width=\"0.5\"");
            text_at(&b, 640, y, 13, "start", NULL, label_text(label_names, C, c, buf, sizeof buf),
                    20);
        }
        if (C > LEGEND_MAX) {
            snprintf(buf, sizeof buf, "... and %zu more (shapes repeat)", C - LEGEND_MAX);
            text_at(&b, 622, y, 12, "start", NULL, buf, 0);
        }
    }
    sbuf_puts(&b, "</g>\n");
    return finish(&b, path, "projection", err);
}

/* ------------------------------------------------------------- heat maps */

/* A sequential scale from dark to light (the viridis colour map's ends
 * and three stops between), t in [0, 1]. */
static void sequential_colour(double t, char out[8])
{
    static const unsigned char stops[5][3] = {
        {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double s = t * 4;
    int i = s >= 4 ? 3 : (int)s;
    double u = s - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * u);
    snprintf(out, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

/* A light-to-dark blue for counts, t in [0, 1]. */
static void count_colour(double t, char out[8])
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    static const unsigned char lo[3] = {240, 246, 252}, hi[3] = {8, 48, 107};
    snprintf(out, 8, "#%02x%02x%02x", (int)lround(lo[0] + (hi[0] - lo[0]) * t),
             (int)lround(lo[1] + (hi[1] - lo[1]) * t), (int)lround(lo[2] + (hi[2] - lo[2]) * t));
}

/* A vertical colour bar at (x, y0)-(x + 16, y1) from 0 to vmax, with ticks. */
static void colour_bar(sbuf *b, double x, double y0, double y1, double vmax, const char *title,
                       void (*colour)(double, char[8]))
{
    char c[8], label[48];
    sbuf_puts(b, "<g class=\"legend\">\n");
    const int steps = 64;
    for (int i = 0; i < steps; i++) {
        colour((i + 0.5) / steps, c);
        double ya = y1 - (y1 - y0) * (i + 1) / steps, h = (y1 - y0) / steps;
        sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.2f\" width=\"16\" height=\"%.2f\" fill=\"%s\"/>\n",
                    x, ya, h + 0.3, c);
    }
    sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"%.1f\" fill=\"none\" "
                   "stroke=\"#333333\"/>\n",
                x, y0, y1 - y0);
    double vm = vmax > 0 ? vmax : 1.0, step = tick_step(vm, 5);
    for (double v = 0.0; v <= vm * (1 + 1e-9); v += step) {
        double y = y1 - (y1 - y0) * v / vm;
        sbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333333\"/>\n",
                    x + 16, y, x + 20, y);
        tick_label(label, sizeof label, v, step);
        text_at(b, x + 23, y + 4, 12, "start", NULL, label, 0);
    }
    char rot[96];
    snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\"", x - 8, (y0 + y1) / 2);
    text_at(b, x - 8, (y0 + y1) / 2, 13, "middle", rot, title, 0);
    sbuf_puts(b, "</g>\n");
}

/* Labels "cluster k" centred on each run of equal clusters along one side,
 * and a white line between runs. along_rows: the left side (y varies). */
static void cluster_bands(sbuf *b, const int32_t *cluster, size_t count, double start,
                          double cell, double other0, double other1, int along_rows)
{
    char buf[48];
    size_t run = 0;
    for (size_t i = 1; i <= count; i++) {
        if (i < count && cluster[i] == cluster[run])
            continue;
        double a = start + cell * (double)run, z = start + cell * (double)i;
        if (i < count) {
            if (along_rows)
                sbuf_printf(b, "<line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" "
                               "stroke=\"#ffffff\" stroke-width=\"1.5\"/>\n",
                            other0, z, other1, z);
            else
                sbuf_printf(b, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
                               "stroke=\"#ffffff\" stroke-width=\"1.5\"/>\n",
                            z, other0, z, other1);
        }
        if (z - a >= 14) {
            snprintf(buf, sizeof buf, z - a >= 60 ? "cluster %d" : "%d", (int)cluster[run]);
            if (along_rows) {
                char rot[96];
                snprintf(rot, sizeof rot, "transform=\"rotate(-90 %.1f %.1f)\"", other0 - 8,
                         (a + z) / 2);
                text_at(b, other0 - 8, (a + z) / 2, 12, "middle", rot, buf, 0);
            } else {
                text_at(b, (a + z) / 2, other0 - 6, 12, "middle", NULL, buf, 0);
            }
        }
        run = i;
    }
}

ac_status ac_plot_attention(const char *path, const ac_attention_map *map, const char *title,
                            ac_error *err)
{
    if (!map || map->rows == 0 || map->cols == 0 || !map->weights)
        return ac_set_error(err, AC_ERR_INVALID, path, 0, 0,
                            "an empty attention map (expected rows and columns to draw)");
    size_t R = map->rows, C = map->cols;
    float wmax = 0.0f;
    for (size_t i = 0; i < R * C; i++)
        if (isfinite(map->weights[i]) && map->weights[i] > wmax)
            wmax = map->weights[i];
    float scale_max = wmax > 0.0f ? wmax : 1.0f;
    int batch = map->context == AC_CONTEXT_BATCH;
    char subtitle[200];
    if (batch)
        snprintf(subtitle, sizeof subtitle,
                 "%zu of %zu rows%s; each row's softmax runs over all %zu rows", R,
                 map->total_rows, R < map->total_rows ? " (a seeded sample)" : "",
                 map->total_keys);
    else
        snprintf(subtitle, sizeof subtitle,
                 "%zu of %zu rows over %zu of the %zu reference rows; each softmax also "
                 "includes the row itself",
                 R, map->total_rows, C, map->total_keys - 1);
    sbuf b = {0};
    begin(&b, 760, title ? title : "Attention weights", subtitle);
    const double x0 = 120, y0 = 100, side = 580;
    double cw = side / (double)C, ch = side / (double)R;
    /* Cells in 64 colour levels, one path per level, runs of equal level
     * in a row merged: the file stays small (~1 MB for 256 × 256). The
     * group is scaled so that a cell is 1 × 1 in path units. */
    enum { LEVELS = 64 };
    sbuf_printf(&b, "<g class=\"cells\" transform=\"translate(%.1f %.1f) scale(%.6f %.6f)\" "
                    "shape-rendering=\"crispEdges\">\n",
                x0, y0, cw, ch);
    for (int level = 0; level < LEVELS; level++) {
        char colour[8];
        sequential_colour((level + 0.5) / LEVELS, colour);
        int opened = 0;
        for (size_t i = 0; i < R; i++) {
            size_t j = 0;
            while (j < C) {
                float w = map->weights[i * C + j];
                int lv = (int)(w / scale_max * LEVELS);
                lv = !(w >= 0) ? 0 : lv >= LEVELS ? LEVELS - 1 : lv;
                size_t run = 1;
                while (j + run < C) {
                    float w2 = map->weights[i * C + j + run];
                    int l2 = (int)(w2 / scale_max * LEVELS);
                    l2 = !(w2 >= 0) ? 0 : l2 >= LEVELS ? LEVELS - 1 : l2;
                    if (l2 != lv)
                        break;
                    run++;
                }
                if (lv == level) {
                    if (!opened)
                        sbuf_printf(&b, "<path fill=\"%s\" d=\"", colour), opened = 1;
                    sbuf_printf(&b, "M%zu %zuh%zuv1h-%zuz", j, i, run, run);
                }
                j += run;
            }
        }
        if (opened)
            sbuf_puts(&b, "\"/>\n");
    }
    sbuf_puts(&b, "</g>\n");
    sbuf_printf(&b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                    "stroke=\"#333333\"/>\n",
                x0, y0, side, side);
    cluster_bands(&b, map->row_cluster, R, y0, ch, x0, x0 + side, 1);
    cluster_bands(&b, map->col_cluster, C, x0, cw, y0, y0 + side, 0);
    text_at(&b, x0 + side / 2, y0 + side + 28, 14, "middle", "class=\"axis-title\"",
            batch ? "key row (the row attended to), ordered by cluster"
                  : "reference row (attended to), ordered by its predicted cluster",
            0);
    char rot[96];
    snprintf(rot, sizeof rot, "class=\"axis-title\" transform=\"rotate(-90 %.1f %.1f)\"",
             x0 - 34, y0 + side / 2);
    text_at(&b, x0 - 34, y0 + side / 2, 14, "middle", rot,
            "query row (the row attending), ordered by cluster", 0);
    colour_bar(&b, 735, y0, y0 + side, scale_max, "attention weight", sequential_colour);
    return finish(&b, path, "attention map", err);
}

ac_status ac_plot_contingency(const char *path, const uint64_t *table, size_t K, size_t C,
                              const char *const *label_names, const char *title,
                              ac_error *err)
{
    if (!table || K == 0 || C == 0)
        return ac_set_error(err, AC_ERR_INVALID, path, 0, 0,
                            "a contingency table of %zu clusters and %zu labels (expected at "
                            "least one of each)",
                            K, C);
    uint64_t max = 0, total = 0;
    for (size_t i = 0; i < K * C; i++) {
        max = table[i] > max ? table[i] : max;
        total += table[i];
    }
    char subtitle[96], buf[96];
    snprintf(subtitle, sizeof subtitle, "%llu rows: clusters down, true labels across",
             (unsigned long long)total);
    /* Cells as large as fit in 520 × 400 px, at most 110 × 70; the page
     * and the colour bar follow the table's height. */
    const double x0 = 150, y0 = 190;
    double cw = 520.0 / (double)C, ch = 400.0 / (double)K;
    if (cw > 110)
        cw = 110;
    if (ch > 70)
        ch = 70;
    double table_w = cw * (double)C, table_h = ch * (double)K;
    int page_h = (int)(y0 + (table_h > 160 ? table_h : 160) + 40);
    sbuf b = {0};
    begin(&b, page_h, title ? title : "Contingency table", subtitle);
    int numbers = cw >= 22 && ch >= 13;
    int font = ch * 0.45 < 14 ? (int)(ch * 0.45) : 14;
    font = font < 12 ? 12 : font;
    sbuf_puts(&b, "<g class=\"cells\" stroke=\"#ffffff\" stroke-width=\"1\">\n");
    for (size_t k = 0; k < K; k++)
        for (size_t c = 0; c < C; c++) {
            char colour[8];
            double t = max ? (double)table[k * C + c] / (double)max : 0.0;
            count_colour(t, colour);
            sbuf_printf(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" "
                            "fill=\"%s\"/>\n",
                        x0 + cw * (double)c, y0 + ch * (double)k, cw, ch, colour);
        }
    sbuf_puts(&b, "</g>\n");
    if (numbers) {
        sbuf_puts(&b, "<g class=\"counts\">\n");
        for (size_t k = 0; k < K; k++)
            for (size_t c = 0; c < C; c++) {
                double t = max ? (double)table[k * C + c] / (double)max : 0.0;
                snprintf(buf, sizeof buf, "%llu", (unsigned long long)table[k * C + c]);
                text_at(&b, x0 + cw * ((double)c + 0.5), y0 + ch * ((double)k + 0.5) + font * 0.35,
                        font, "middle", t > 0.5 ? "fill=\"#ffffff\"" : "fill=\"#111111\"", buf,
                        0);
            }
        sbuf_puts(&b, "</g>\n");
    }
    /* Row titles "cluster k", column titles the label names (slanted). */
    sbuf_puts(&b, "<g class=\"names\" fill=\"#222222\">\n");
    for (size_t k = 0; k < K && ch >= 12; k++) {
        snprintf(buf, sizeof buf, "cluster %zu", k);
        text_at(&b, x0 - 8, y0 + ch * ((double)k + 0.5) + 4, 12, "end", NULL, buf, 0);
    }
    for (size_t c = 0; c < C && cw >= 12; c++) {
        char rot[96];
        double cx = x0 + cw * ((double)c + 0.5), cy = y0 - 8;
        snprintf(rot, sizeof rot, "transform=\"rotate(-40 %.1f %.1f)\"", cx, cy);
        text_at(&b, cx, cy, 12, "start", rot, label_text(label_names, C, c, buf, sizeof buf),
                18);
    }
    sbuf_puts(&b, "</g>\n");
    text_at(&b, x0 + table_w / 2, 80, 14, "middle", "class=\"axis-title\"", "true label", 0);
    char rot[96];
    snprintf(rot, sizeof rot, "class=\"axis-title\" transform=\"rotate(-90 %.1f %.1f)\"", 40.0,
             y0 + table_h / 2);
    text_at(&b, 40, y0 + table_h / 2, 14, "middle", rot, "cluster", 0);
    colour_bar(&b, x0 + table_w + 40, y0, y0 + (table_h > 160 ? table_h : 160), (double)max,
               "rows", count_colour);
    return finish(&b, path, "contingency table", err);
}
