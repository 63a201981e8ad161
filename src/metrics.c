/*
 * metrics.c - scores of a clustering against labels. For now the chapter's
 * raw accuracy, which counts cluster k as class k.
 */
#include "internal.h"

double ac_accuracy_raw(const int32_t *clusters, const int32_t *labels, size_t n)
{
    if (n == 0)
        return 0.0;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += clusters[i] == labels[i];
    return (double)hits / (double)n;
}
