/*
 * test_fuzz_cli.c - replays fuzz/corpus/cli/ and fuzz/regressions/cli/ through
 * the fuzz harness of the tool's option parser (fuzz/fuzz_cli.c)
 * with fuzz/replay.c's driver: every saved input, and every input that once
 * crashed, must run clean (under ASan + UBSan in build/asan).
 */
#define _POSIX_C_SOURCE 200809L
#define REPLAY_NAME "cli"

#include "../fuzz/fuzz_cli.c"
#include "../fuzz/replay.c"
