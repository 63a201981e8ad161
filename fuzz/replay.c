/*
 * replay.c - runs saved inputs through a fuzz harness without libFuzzer, so
 * that `make test` checks every corpus and regression input with the
 * default compiler, as built and under ASan + UBSan.
 *
 * A test program defines REPLAY_NAME ("csv", "model", "cli") and includes
 * its harness (fuzz/fuzz_NAME.c) and this file (tests/test_fuzz_NAME.c).
 * With no arguments it replays every file of fuzz/corpus/NAME/ and
 * fuzz/regressions/NAME/ (run from the repository root); arguments name
 * files or directories to replay instead. An input passes when the harness
 * returns: a sanitizer error or an abort ends the program, after naming the
 * input on stderr. The last line is "N passed, N failed".
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef REPLAY_NAME
#error "define REPLAY_NAME (csv, model, cli) before including replay.c"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define REPLAY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REPLAY_SANITIZED 1
#endif
#endif
#ifdef REPLAY_SANITIZED
#include <sanitizer/common_interface_defs.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_passed, replay_failed;
static char replay_current[4096];

/* Names the input that was running when the program dies. */
static void replay_say_current(void)
{
    const char *a = "replay: died on ";
    if (write(2, a, strlen(a)) < 0 || write(2, replay_current, strlen(replay_current)) < 0 ||
        write(2, "\n", 1) < 0)
        return;
}

#ifndef REPLAY_SANITIZED
static void replay_on_signal(int sig)
{
    replay_say_current();
    signal(sig, SIG_DFL);
    raise(sig);
}
#endif

static int replay_compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file into an exact-size buffer (ASan sees any overread). */
static int replay_read(const char *path, unsigned char **out, size_t *size)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += got;
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    int ok = buf && !ferror(fp);
    fclose(fp);
    if (!ok) {
        free(buf);
        return 0;
    }
    unsigned char *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return 0;
    }
    memcpy(exact, buf, len);
    free(buf);
    *out = exact;
    *size = len;
    return 1;
}

static void replay_file(const char *path)
{
    unsigned char *data;
    size_t size;
    snprintf(replay_current, sizeof replay_current, "%s", path);
    if (!replay_read(path, &data, &size)) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        replay_failed++;
        return;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    replay_passed++;
}

/* A file, or every regular file of a directory in name order (not
 * recursive; README files are not inputs). missing_ok: a directory that
 * does not exist is not an error. */
static void replay_path(const char *path, int missing_ok)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!missing_ok) {
            fprintf(stderr, "replay: cannot find %s (run from the repository root)\n", path);
            replay_failed++;
        }
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        replay_failed++;
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.' || strcmp(e->d_name, "README.md") == 0)
            continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *full = malloc(len);
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **bigger = realloc(names, cap * sizeof *names);
            if (!bigger) {
                free(full);
                break;
            }
            names = bigger;
        }
        if (!full)
            break;
        snprintf(full, len, "%s/%s", path, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
            names[n++] = full;
        else
            free(full);
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, replay_compare);
    for (size_t i = 0; i < n; i++) {
        replay_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
#ifdef REPLAY_SANITIZED
    __sanitizer_set_death_callback(replay_say_current);
#else
    signal(SIGSEGV, replay_on_signal);
    signal(SIGABRT, replay_on_signal);
    signal(SIGFPE, replay_on_signal);
    signal(SIGBUS, replay_on_signal);
#endif
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay_path(argv[i], 0);
    } else {
        replay_path("fuzz/corpus/" REPLAY_NAME, 0);
        replay_path("fuzz/regressions/" REPLAY_NAME, 1);
    }
    printf("%d passed, %d failed\n", replay_passed, replay_failed);
    return replay_failed ? 1 : 0;
}
