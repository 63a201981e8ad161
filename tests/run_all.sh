#!/bin/sh
# Runs every test program and the CLI tests of each build directory given
# (e.g. "build build/asan"), sums their "N passed, N failed" lines and ends
# with the total. A program that crashes, or exits non-zero with no failure
# counted, counts as one failure. Exits non-zero on any failure.
total_pass=0
total_fail=0

# run_counted LABEL COMMAND...: runs it, shows its output when it failed,
# adds its counts to the totals.
run_counted() {
    label=$1
    shift
    out=$("$@" 2>&1)
    rc=$?
    summary=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    if [ -n "$summary" ]; then
        p=${summary%% passed*}
        f=${summary##*, }
        f=${f%% failed}
    else
        p=0
        f=0
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$f" -ne 0 ]; then
        printf '%s\n' "$out" | grep -v -E '^[0-9]+ passed, [0-9]+ failed$'
        echo "FAILED: $label (exit $rc)"
    fi
    echo "$label: $p passed, $f failed"
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
}

for dir in "$@"; do
    for prog in "$dir"/tests/test_*; do
        [ -x "$prog" ] && run_counted "$prog" "$prog"
    done
    run_counted "tests/test_cli.sh $dir/attncluster" sh tests/test_cli.sh "$dir/attncluster"
done
# make install into a temporary prefix, the example built against it, the
# exported symbols, the man page: once, with the first build directory.
if [ $# -gt 0 ]; then
    run_counted "tests/test_install.sh $1" sh tests/test_install.sh "$1"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
