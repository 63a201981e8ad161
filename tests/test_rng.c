/*
 * test_rng.c - the random generator: xoshiro256** and its splitmix64
 * seeding against known answers, reproducibility, and the distributions
 * drawn from it (uniform, bounded integers, normal, shuffles).
 */
#include "attncluster.h"
#include "internal.h"
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define CHECK_U64_EQ(a, b)                                                               \
    do {                                                                                 \
        uint64_t ua_ = (a), ub_ = (b);                                                   \
        if (ua_ != ub_) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s == %s (0x%016llx vs 0x%016llx)\n",   \
                    __FILE__, __LINE__, #a, #b, (unsigned long long)ua_,                 \
                    (unsigned long long)ub_);                                            \
            harness_check_failed = 1;                                                    \
        }                                                                                \
    } while (0)

/* The expected values below were computed independently with this Python
 * reference (the published algorithms, written from their papers):
 *
 *   M = (1 << 64) - 1
 *   def rotl(x, k): return ((x << k) | (x >> (64 - k))) & M
 *   def xoshiro_next(s):          # xoshiro256** 1.0
 *       r = (rotl((s[1] * 5) & M, 7) * 9) & M
 *       t = (s[1] << 17) & M
 *       s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]
 *       s[2] ^= t; s[3] = rotl(s[3], 45)
 *       return r
 *   def splitmix64(x):            # returns (new x, output)
 *       x = (x + 0x9e3779b97f4a7c15) & M
 *       z = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M
 *       z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M
 *       return x, z ^ (z >> 31)
 *
 * The first outputs for state {1, 2, 3, 4} (11520, 0, 1509978240, ...) and
 * splitmix64's first output from 0 (0xe220a8397b1dcdaf) also match the
 * values published with the reference C code. */

static void xoshiro256starstar_from_state_1_2_3_4_gives_the_reference_outputs(void)
{
    ac_rng rng;
    rng.s[0] = 1;
    rng.s[1] = 2;
    rng.s[2] = 3;
    rng.s[3] = 4;
    static const uint64_t want[6] = {
        0x0000000000002d00ULL, 0x0000000000000000ULL, 0x000000005a007080ULL,
        0x10e0000000009d80ULL, 0x10e0b61ce1009d80ULL, 0x0870021ce143ad00ULL,
    };
    for (int i = 0; i < 6; i++)
        CHECK_U64_EQ(ac_rng_next(&rng), want[i]);
}

static void seeding_with_0_runs_splitmix64_and_gives_the_reference_outputs(void)
{
    ac_rng rng;
    memset(&rng, 0, sizeof rng);
    ac_rng_seed(&rng, 0);
    CHECK_U64_EQ(rng.s[0], 0xe220a8397b1dcdafULL);
    CHECK_U64_EQ(rng.s[1], 0x6e789e6aa1b965f4ULL);
    CHECK_U64_EQ(rng.s[2], 0x06c45d188009454fULL);
    CHECK_U64_EQ(rng.s[3], 0xf88bb8a8724c81ecULL);
    static const uint64_t want[6] = {
        0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL,
        0x6aa594f1262d2d2cULL, 0xbba5ad4a1f842e59ULL, 0xffef8375d9ebcacaULL,
    };
    for (int i = 0; i < 6; i++)
        CHECK_U64_EQ(ac_rng_next(&rng), want[i]);
}

static void seeding_with_42_gives_the_reference_state(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 42);
    CHECK_U64_EQ(rng.s[0], 0xbdd732262feb6e95ULL);
    CHECK_U64_EQ(rng.s[1], 0x28efe333b266f103ULL);
    CHECK_U64_EQ(rng.s[2], 0x47526757130f9f52ULL);
    CHECK_U64_EQ(rng.s[3], 0x581ce1ff0e4ae394ULL);
}

static void same_seed_gives_the_same_stream_and_different_seeds_differ(void)
{
    ac_rng a, b, c;
    ac_rng_seed(&a, 12345);
    ac_rng_seed(&b, 12345);
    ac_rng_seed(&c, 12346);
    int differ_ab = 0, equal_ac = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = ac_rng_next(&a), y = ac_rng_next(&b), z = ac_rng_next(&c);
        differ_ab += x != y;
        equal_ac += x == z;
    }
    CHECK_INT_EQ(differ_ab, 0);
    CHECK_INT_EQ(equal_ac, 0);
    /* Reseeding restarts the stream. */
    ac_rng_seed(&a, 7);
    uint64_t first = ac_rng_next(&a);
    ac_rng_next(&a);
    ac_rng_seed(&a, 7);
    CHECK_U64_EQ(ac_rng_next(&a), first);
}

static void uniform_is_53_high_bits_in_0_1_with_mean_one_half(void)
{
    ac_rng rng, copy;
    ac_rng_seed(&rng, 1);
    copy = rng;
    /* Exactly (next >> 11) * 2^-53. */
    for (int i = 0; i < 100; i++) {
        double u = ac_rng_uniform(&rng);
        double want = (double)(ac_rng_next(&copy) >> 11) * 0x1.0p-53;
        CHECK_NEAR(u, want, 0.0);
    }
    int out_of_range = 0;
    double sum = 0.0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = ac_rng_uniform(&rng);
        out_of_range += !(u >= 0.0 && u < 1.0);
        sum += u;
    }
    CHECK_INT_EQ(out_of_range, 0);
    CHECK_NEAR(sum / n, 0.5, 0.01);
    /* The largest output maps below 1. */
    CHECK((double)(UINT64_MAX >> 11) * 0x1.0p-53 < 1.0);
}

static void below_or_equal_2_draws_0_1_2_evenly(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 2);
    long counts[3] = {0, 0, 0};
    int out_of_range = 0;
    for (int i = 0; i < 30000; i++) {
        uint64_t v = ac_rng_below_or_equal(&rng, 2);
        if (v > 2)
            out_of_range++;
        else
            counts[v]++;
    }
    CHECK_INT_EQ(out_of_range, 0);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(counts[k], 10000, 500);
}

static void below_or_equal_0_is_always_0(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 3);
    int nonzero = 0;
    for (int i = 0; i < 1000; i++)
        nonzero += ac_rng_below_or_equal(&rng, 0) != 0;
    CHECK_INT_EQ(nonzero, 0);
}

static void below_or_equal_uint64_max_returns_the_raw_draw(void)
{
    ac_rng rng, copy;
    ac_rng_seed(&rng, 4);
    copy = rng;
    for (int i = 0; i < 100; i++)
        CHECK_U64_EQ(ac_rng_below_or_equal(&rng, UINT64_MAX), ac_rng_next(&copy));
    /* And the largest bound below it stays within bounds. */
    int over = 0;
    for (int i = 0; i < 1000; i++)
        over += ac_rng_below_or_equal(&rng, UINT64_MAX - 1) > UINT64_MAX - 1;
    CHECK_INT_EQ(over, 0);
}

#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 u128;

/* Lemire's method written with a native 128-bit product, to check the
 * hand-written 128-bit arithmetic of the library draw for draw. */
static uint64_t lemire_reference(ac_rng *rng, uint64_t bound)
{
    if (bound == UINT64_MAX)
        return ac_rng_next(rng);
    uint64_t range = bound + 1;
    uint64_t threshold = (0 - range) % range;
    for (;;) {
        u128 m = (u128)ac_rng_next(rng) * range;
        if ((uint64_t)m >= threshold)
            return (uint64_t)(m >> 64);
    }
}
#endif

static void below_or_equal_matches_lemire_with_native_128_bit_products(void)
{
#if defined(__SIZEOF_INT128__)
    ac_rng rng, copy, bounds;
    ac_rng_seed(&rng, 5);
    copy = rng;
    ac_rng_seed(&bounds, 6);
    static const uint64_t fixed[] = {
        1, 2, 9, 149, 0xffffffffULL, 0x100000000ULL, 0x8000000000000000ULL,
        0xc000000000000000ULL, UINT64_MAX - 1, UINT64_MAX,
    };
    int mismatches = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        for (int k = 0; k < 200; k++)
            mismatches += ac_rng_below_or_equal(&rng, fixed[i]) != lemire_reference(&copy, fixed[i]);
    for (int k = 0; k < 5000; k++) {
        uint64_t b = ac_rng_next(&bounds) >> (ac_rng_next(&bounds) % 64);
        uint64_t v = ac_rng_below_or_equal(&rng, b);
        mismatches += v != lemire_reference(&copy, b);
        mismatches += v > b;
    }
    CHECK_INT_EQ(mismatches, 0);
    CHECK(memcmp(&rng, &copy, sizeof rng) == 0);
#else
    CHECK(1);
#endif
}

static void normal_has_mean_0_variance_1_and_is_always_finite(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 7);
    const int n = 200000;
    double sum = 0.0, sumsq = 0.0;
    int non_finite = 0;
    for (int i = 0; i < n; i++) {
        double z = ac_rng_normal(&rng);
        non_finite += !isfinite(z);
        sum += z;
        sumsq += z * z;
    }
    CHECK_INT_EQ(non_finite, 0);
    double mean = sum / n;
    double var = sumsq / n - mean * mean;
    CHECK_NEAR(mean, 0.0, 0.01);
    CHECK_NEAR(var, 1.0, 0.02);
}

static void normal_from_seed_42_gives_the_reference_box_muller_values(void)
{
    /* Computed with the Python reference above plus Box-Muller in double:
     *   u(s) = (xoshiro_next(s) >> 11) * 2.0**-53
     *   u1 = 1.0 - u(s); u2 = u(s)
     *   z  = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
     * from the state splitmix64 gives for seed 42. The tolerance allows for
     * a last-bit difference between libm implementations. */
    static const double want[4] = {-0.303263064678738, 1.3438117634372806, 0.3834617912676943,
                                   0.9369624250258953};
    ac_rng rng;
    ac_rng_seed(&rng, 42);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(ac_rng_normal(&rng), want[i], 1e-12);
}

static void normal_uses_exactly_two_draws_per_call(void)
{
    ac_rng rng, copy;
    ac_rng_seed(&rng, 8);
    copy = rng;
    for (int i = 0; i < 10; i++) {
        (void)ac_rng_normal(&rng);
        ac_rng_next(&copy);
        ac_rng_next(&copy);
    }
    CHECK(memcmp(&rng, &copy, sizeof rng) == 0);
}

static void normal_is_finite_when_the_uniform_draw_is_0(void)
{
    /* State {0, 0, 0, 0} is xoshiro's fixed point: every draw is 0, so the
     * first uniform is 0 and log(1 - 0) must still be finite. */
    ac_rng rng;
    memset(&rng, 0, sizeof rng);
    double z = ac_rng_normal(&rng);
    CHECK(isfinite(z));
    CHECK_NEAR(z, 0.0, 0.0); /* sqrt(-2 log 1) = 0 */
}

/* Checks idx[0..n) is a permutation of 0..n-1. */
static int is_permutation(const uint32_t *idx, size_t n)
{
    unsigned char seen[256];
    if (n > sizeof seen)
        return 0;
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < n; i++) {
        if (idx[i] >= n || seen[idx[i]])
            return 0;
        seen[idx[i]] = 1;
    }
    return 1;
}

static void shuffle_gives_a_permutation_for_0_1_2_and_150_elements(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 9);
    static const size_t sizes[] = {0, 1, 2, 150};
    for (size_t s = 0; s < 4; s++) {
        size_t n = sizes[s];
        for (int rep = 0; rep < 20; rep++) {
            uint32_t idx[151];
            for (size_t i = 0; i < 151; i++)
                idx[i] = (uint32_t)i;
            ac_rng_shuffle(&rng, idx, n);
            CHECK(is_permutation(idx, n));
            CHECK_INT_EQ(idx[150], 150); /* nothing past n is touched */
            if (n == 0)
                CHECK_INT_EQ(idx[0], 0);
        }
    }
    /* n = 150 actually moves things. */
    uint32_t idx[150];
    for (uint32_t i = 0; i < 150; i++)
        idx[i] = i;
    ac_rng_shuffle(&rng, idx, 150);
    int fixed = 0;
    for (uint32_t i = 0; i < 150; i++)
        fixed += idx[i] == i;
    CHECK(fixed < 10);
}

static void shuffle_of_0_or_1_elements_draws_nothing(void)
{
    ac_rng rng, copy;
    ac_rng_seed(&rng, 10);
    copy = rng;
    uint32_t one = 0;
    ac_rng_shuffle(&rng, NULL, 0);
    ac_rng_shuffle(&rng, &one, 1);
    CHECK_INT_EQ(one, 0);
    CHECK(memcmp(&rng, &copy, sizeof rng) == 0);
}

static void shuffle_is_fisher_yates_from_the_top_down(void)
{
    ac_rng rng, copy;
    ac_rng_seed(&rng, 11);
    copy = rng;
    uint32_t got[10], want[10];
    for (uint32_t i = 0; i < 10; i++)
        got[i] = want[i] = i;
    ac_rng_shuffle(&rng, got, 10);
    for (size_t i = 10; i > 1; i--) {
        size_t j = (size_t)ac_rng_below_or_equal(&copy, i - 1);
        uint32_t t = want[i - 1];
        want[i - 1] = want[j];
        want[j] = t;
    }
    CHECK(memcmp(got, want, sizeof got) == 0);
    CHECK(memcmp(&rng, &copy, sizeof rng) == 0);
}

static void shuffle_of_3_elements_gives_each_of_the_6_orders_evenly(void)
{
    ac_rng rng;
    ac_rng_seed(&rng, 12);
    long counts[6] = {0};
    int bad = 0;
    const int n = 60000;
    for (int rep = 0; rep < n; rep++) {
        uint32_t idx[3] = {0, 1, 2};
        ac_rng_shuffle(&rng, idx, 3);
        if (!is_permutation(idx, 3)) {
            bad++;
            continue;
        }
        /* Lehmer code: a distinct number 0..5 per order. */
        int code = (int)idx[0] * 2 + (idx[1] > idx[2] ? 1 : 0);
        counts[code]++;
    }
    CHECK_INT_EQ(bad, 0);
    for (int k = 0; k < 6; k++)
        CHECK_NEAR(counts[k], n / 6, n / 6 * 0.05);
}

int main(void)
{
    RUN_TEST(xoshiro256starstar_from_state_1_2_3_4_gives_the_reference_outputs);
    RUN_TEST(seeding_with_0_runs_splitmix64_and_gives_the_reference_outputs);
    RUN_TEST(seeding_with_42_gives_the_reference_state);
    RUN_TEST(same_seed_gives_the_same_stream_and_different_seeds_differ);
    RUN_TEST(uniform_is_53_high_bits_in_0_1_with_mean_one_half);
    RUN_TEST(below_or_equal_2_draws_0_1_2_evenly);
    RUN_TEST(below_or_equal_0_is_always_0);
    RUN_TEST(below_or_equal_uint64_max_returns_the_raw_draw);
    RUN_TEST(below_or_equal_matches_lemire_with_native_128_bit_products);
    RUN_TEST(normal_has_mean_0_variance_1_and_is_always_finite);
    RUN_TEST(normal_from_seed_42_gives_the_reference_box_muller_values);
    RUN_TEST(normal_uses_exactly_two_draws_per_call);
    RUN_TEST(normal_is_finite_when_the_uniform_draw_is_0);
    RUN_TEST(shuffle_gives_a_permutation_for_0_1_2_and_150_elements);
    RUN_TEST(shuffle_of_0_or_1_elements_draws_nothing);
    RUN_TEST(shuffle_is_fisher_yates_from_the_top_down);
    RUN_TEST(shuffle_of_3_elements_gives_each_of_the_6_orders_evenly);
    TEST_MAIN_END();
}
