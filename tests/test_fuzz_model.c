/*
 * test_fuzz_model.c - replays fuzz/corpus/model/ and fuzz/regressions/model/ through
 * the fuzz harness of the model loader (fuzz/fuzz_model.c)
 * with fuzz/replay.c's driver: every saved input, and every input that once
 * crashed, must run clean (under ASan + UBSan in build/asan).
 */
#define _POSIX_C_SOURCE 200809L
#define REPLAY_NAME "model"

#include "../fuzz/fuzz_model.c"
#include "../fuzz/replay.c"
