/*
 * test_fuzz_csv.c - replays fuzz/corpus/csv/ and fuzz/regressions/csv/ through
 * the fuzz harness of the CSV reader (fuzz/fuzz_csv.c)
 * with fuzz/replay.c's driver: every saved input, and every input that once
 * crashed, must run clean (under ASan + UBSan in build/asan).
 */
#define _POSIX_C_SOURCE 200809L
#define REPLAY_NAME "csv"

#include "../fuzz/fuzz_csv.c"
#include "../fuzz/replay.c"
