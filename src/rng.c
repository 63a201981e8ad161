/*
 * rng.c - the one random generator of a run: xoshiro256** seeded through
 * splitmix64. A run seeds it once with --seed; the model's initialiser draws
 * from it first, then every epoch's shuffle, so one seed fixes the whole run.
 *
 * Why this generator: it is small, fast, statistically strong (passes
 * BigCrush and PractRand), and fully specified by its published reference,
 * so a run can be reproduced on any platform from the seed alone. Box-Muller
 * in double turns uniforms into normals; Lemire's method draws unbiased
 * integers below a bound for the Fisher-Yates shuffle.
 */
#include "internal.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64 (Steele, Lea & Flood): turns any 64-bit seed, even 0, into
 * well-mixed state words. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ac_rng_seed(ac_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t ac_rng_next(ac_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ac_rng_uniform(ac_rng *rng)
{
    return (double)(ac_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t ac_rng_below_or_equal(ac_rng *rng, uint64_t bound)
{
    if (bound == UINT64_MAX)
        return ac_rng_next(rng);
    uint64_t range = bound + 1;
    /* Lemire (2019): the high word of a 128-bit product is uniform in
     * [0, range) once draws whose low word falls in the biased zone are
     * rejected. 128-bit arithmetic is done by hand to stay in C11. */
    uint64_t threshold = (0 - range) % range;
    for (;;) {
        uint64_t x = ac_rng_next(rng);
        uint64_t x_lo = x & 0xffffffffULL, x_hi = x >> 32;
        uint64_t r_lo = range & 0xffffffffULL, r_hi = range >> 32;
        uint64_t lo_lo = x_lo * r_lo, hi_lo = x_hi * r_lo;
        uint64_t lo_hi = x_lo * r_hi, hi_hi = x_hi * r_hi;
        uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffULL) + lo_hi;
        uint64_t high = hi_hi + (hi_lo >> 32) + (cross >> 32);
        uint64_t low = (cross << 32) | (lo_lo & 0xffffffffULL);
        if (low >= threshold)
            return high;
    }
}

double ac_rng_normal(ac_rng *rng)
{
    /* u1 in (0, 1] so that log(u1) is finite. */
    double u1 = 1.0 - ac_rng_uniform(rng);
    double u2 = ac_rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void ac_rng_shuffle(ac_rng *rng, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ac_rng_below_or_equal(rng, i - 1);
        uint32_t tmp = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}

int ac_rng_take(ac_rng *rng, size_t left, size_t wanted)
{
    return (double)left * ac_rng_uniform(rng) < (double)wanted;
}
