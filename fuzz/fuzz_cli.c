/*
 * fuzz_cli.c - libFuzzer harness for the tool's command line: the input,
 * split at NUL bytes, is argv[1..] of `attncluster`, and the tool's own
 * main (tools/attncluster.c, included here with main renamed) runs with
 * AC_FUZZ_PARSE_ONLY, which makes it return right after parsing: the
 * command word, getopt_long, every option's value check and the checks
 * between options run; no file is opened, nothing is trained.
 *
 * Each argument is its own exact-size allocation, so that ASan sees a read
 * past one. The harness frees everything (LeakSanitizer checks it, and that
 * the tool frees --features' list on every path). Messages and --help go
 * to stdout and stderr: run it with -close_fd_mask=3 (make fuzz does).
 *
 * Built by `make fuzz` (clang, -fsanitize=fuzzer,address,undefined) and, with
 * the replay driver fuzz/replay.c, by `make test` (tests/test_fuzz_cli.c).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int attncluster_main(int argc, char **argv);

#define AC_FUZZ_PARSE_ONLY 1
#define main attncluster_main
#include "../tools/attncluster.c"
#undef main
#include "../tools/report.c"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* More arguments than any real command line; the rest are dropped. */
#define MAX_ARGS 256

/* getopt_long keeps a pointer into the previous argv (a half-read group of
 * short options); optind = 0 makes glibc forget it before the next run. */
static void reset_getopt(void)
{
    static char name[] = "attncluster";
    static char *argv[] = {name, NULL};
    optind = 0;
    opterr = 0;
    (void)getopt(1, argv, ":");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *args[MAX_ARGS + 2]; /* what to free: main permutes and rewrites argv */
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    args[argc++] = strdup("attncluster");
    if (!args[0])
        return 0;
    size_t start = 0;
    while (start < size && argc <= MAX_ARGS) {
        const uint8_t *nul = memchr(data + start, '\0', size - start);
        size_t end = nul ? (size_t)(nul - data) : size;
        char *arg = malloc(end - start + 1);
        if (!arg)
            break;
        memcpy(arg, data + start, end - start);
        arg[end - start] = '\0';
        args[argc++] = arg;
        start = end + 1;
    }
    args[argc] = NULL;
    memcpy(argv, args, (size_t)(argc + 1) * sizeof *argv);
    reset_getopt();
    int rc = attncluster_main(argc, argv);
    /* 0 after --help or --version (and, here, a command line that parses),
     * 1 when writing those fails, 2 for a malformed command line. */
    if (rc < 0 || rc > 2)
        abort();
    for (int i = 0; i < argc; i++)
        free(args[i]);
    return 0;
}
