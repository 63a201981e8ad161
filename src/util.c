/*
 * util.c - the small things every other file leans on: the one allocation
 * wrapper (so tests can fail the Nth allocation), error reporting into an
 * ac_error, status names and the version string.
 */
#include "internal.h"

#include <signal.h>
#include <stdarg.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AC_ALIGN 64

static size_t alloc_count; /* allocations since the last ac_alloc_fail_at */
static size_t alloc_fail_at;  /* 1-based index of the one to fail, 0 = none */

size_t ac_alloc_fail_at(size_t n)
{
    size_t made = alloc_count;
    alloc_count = 0;
    alloc_fail_at = n;
    return made;
}

void *ac_alloc(size_t bytes)
{
    alloc_count++;
    if (alloc_fail_at != 0 && alloc_count == alloc_fail_at)
        return NULL;
    if (bytes == 0)
        bytes = 1;
    /* aligned_alloc wants a size that is a multiple of the alignment. */
    if (bytes > SIZE_MAX - (AC_ALIGN - 1))
        return NULL;
    size_t rounded = (bytes + AC_ALIGN - 1) / AC_ALIGN * AC_ALIGN;
    return aligned_alloc(AC_ALIGN, rounded);
}

void *ac_calloc(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    void *p = ac_alloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void ac_free(void *p)
{
    free(p);
}

char *string_copy(const char *s)
{
    size_t n = strlen(s);
    char *out = ac_alloc(n + 1);
    if (out)
        memcpy(out, s, n + 1);
    return out;
}

char **strings_copy(const char *const *src, size_t n)
{
    char **out = ac_calloc(n ? n : 1, sizeof(char *));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = string_copy(src[i]))) {
            strings_free(out, i);
            return NULL;
        }
    return out;
}

void strings_free(char **strings, size_t n)
{
    if (!strings)
        return;
    for (size_t i = 0; i < n; i++)
        ac_free(strings[i]);
    ac_free(strings);
}

ac_status ac_set_error(ac_error *err, ac_status status, const char *source, long line,
                       long column, const char *fmt, ...)
{
    if (err) {
        err->status = status;
        snprintf(err->source, sizeof err->source, "%s", source ? source : "");
        err->column_name[0] = '\0';
        err->line = line;
        err->column = column;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

void ac_error_set_column_name(ac_error *err, const char *name)
{
    if (err)
        snprintf(err->column_name, sizeof err->column_name, "%s", name);
}

const char *ac_status_str(ac_status status)
{
    switch (status) {
    case AC_OK: return "ok";
    case AC_ERR_NOMEM: return "out of memory";
    case AC_ERR_IO: return "input/output error";
    case AC_ERR_PARSE: return "parse error";
    case AC_ERR_DATA: return "unusable data";
    case AC_ERR_INVALID: return "invalid argument";
    case AC_ERR_DIVERGED: return "training diverged";
    case AC_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

static volatile sig_atomic_t stop_requested;

void ac_request_stop(void)
{
    stop_requested = 1;
}

int stop_pending(void)
{
    return stop_requested != 0;
}

void stop_clear(void)
{
    stop_requested = 0;
}

int ac_set_threads(int n)
{
#ifdef _OPENMP
    if (n < 1)
        n = 1;
    omp_set_num_threads(n);
    return n;
#else
    (void)n;
    return 1;
#endif
}

const char *ac_version(void)
{
    return AC_VERSION_STRING;
}
