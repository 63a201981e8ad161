/*
 * harness.h - a tiny test harness. A test is a function; RUN_TEST calls it
 * and counts it as passed when none of its checks failed. Every failed check
 * prints file:line, the expression and the values involved. TEST_MAIN_END
 * prints "N passed, N failed" and gives the exit status (non-zero on any
 * failure), which tests/run_all.sh sums over every test program.
 */
#ifndef AC_TEST_HARNESS_H
#define AC_TEST_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed, harness_check_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
            harness_check_failed = 1;                                                  \
        }                                                                              \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                             \
    do {                                                                               \
        long long va_ = (long long)(a), vb_ = (long long)(b);                          \
        if (va_ != vb_) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", __FILE__, \
                    __LINE__, #a, #b, va_, vb_);                                       \
            harness_check_failed = 1;                                                  \
        }                                                                              \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double va_ = (double)(a), vb_ = (double)(b), tol_ = (double)(tol);             \
        if (!(fabs(va_ - vb_) <= tol_)) {                                              \
            fprintf(stderr, "%s:%d: CHECK failed: |%s - %s| <= %s (%.9g vs %.9g)\n",    \
                    __FILE__, __LINE__, #a, #b, #tol, va_, vb_);                       \
            harness_check_failed = 1;                                                  \
        }                                                                              \
    } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                           \
    do {                                                                               \
        const char *h_ = (haystack), *n_ = (needle);                                   \
        if (!h_ || !strstr(h_, n_)) {                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: \"%s\" contains \"%s\"\n", __FILE__,   \
                    __LINE__, h_ ? h_ : "(null)", n_);                                 \
            harness_check_failed = 1;                                                  \
        }                                                                              \
    } while (0)

/* Worst |a - b| / max(|b|, rms(b)) over n elements: the project's measure of
 * how far a result is from a reference (the rms floor keeps elements near 0
 * from dividing by noise). */
static inline double worst_relative_error(const float *a, const float *b, size_t n)
{
    double sq = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++)
        sq += (double)b[i] * (double)b[i];
    double rms = n ? sqrt(sq / (double)n) : 0.0;
    for (size_t i = 0; i < n; i++) {
        double scale = fabs((double)b[i]) > rms ? fabs((double)b[i]) : rms;
        double e = fabs((double)a[i] - (double)b[i]) / (scale > 0.0 ? scale : 1e-30);
        if (!(e <= worst))
            worst = e;
    }
    return worst;
}

#define RUN_TEST(fn)                                                                   \
    do {                                                                               \
        harness_check_failed = 0;                                                      \
        fn();                                                                          \
        if (harness_check_failed) {                                                    \
            harness_failed++;                                                          \
            fprintf(stderr, "FAIL %s\n", #fn);                                         \
        } else {                                                                       \
            harness_passed++;                                                          \
        }                                                                              \
    } while (0)

#define TEST_MAIN_END()                                                                \
    do {                                                                               \
        printf("%d passed, %d failed\n", harness_passed, harness_failed);              \
        return harness_failed ? 1 : 0;                                                 \
    } while (0)

#endif
