#!/bin/sh
# test_cli.sh - end-to-end tests of the attncluster command line.
#
#   sh tests/test_cli.sh PATH_TO_attncluster     (from the repository root)
#
# Every check is a named case; a failed case prints this file's line of the
# case, what was expected and what was seen. The last line is always
# "N passed, N failed"; the exit status is non-zero when a case failed.
# POSIX sh: dash has no $LINENO, so the line printed is the one where the
# case's name is written (every name is unique in this file).
#
# Fixtures are in tests/fixtures (the chapter's format) and
# tests/fixtures/cli (any CSV). The --json cases parse the output with
# /usr/bin/python3 when it exists (TEST_CLI_PYTHON=PATH to use another, or a
# path that does not exist to force the fallback), else check it with grep.

SELF=$0
BIN=$1

passed=0
failed=0
case_name=""
case_ok=1

# ------------------------------------------------------------------ helpers

# begin NAME: starts a case. The name must appear literally, in double
# quotes, on the line that starts the case.
begin() {
    case_name=$1
    case_ok=1
}

# Line of this file where the current case is named.
where() {
    n=$(grep -n -F -e "\"$case_name\"" "$SELF" 2>/dev/null | head -n 1 | cut -d: -f1)
    printf '%s:%s' "$SELF" "${n:-?}"
}

# fail MESSAGE: records a failure of the current case (once per case is
# counted, every message is printed).
fail() {
    printf '%s: FAIL [%s]: %s\n' "$(where)" "$case_name" "$1"
    case_ok=0
}

# show LABEL FILE: an excerpt of a captured output, indented.
show() {
    if [ -s "$2" ]; then
        printf '    %s (first lines):\n' "$1"
        head -n 6 "$2" | sed 's/^/      | /'
    else
        printf '    %s: (empty)\n' "$1"
    fi
}

# end: counts the current case.
end() {
    if [ "$case_ok" -eq 1 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
}

# run ARGS...: runs the tool from the current directory, stdin from
# /dev/null; sets rc, stdout in $T/out, stderr in $T/err.
run() {
    "$BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}

expect_rc() {
    if [ "$rc" -ne "$1" ]; then
        fail "exit status $rc, expected $1"
        show stdout "$T/out"
        show stderr "$T/err"
    fi
}

# expect_empty LABEL FILE
expect_empty() {
    if [ -s "$2" ]; then
        fail "$1 should be empty"
        show "$1" "$2"
    fi
}

# expect_has LABEL FILE TEXT: FILE contains the fixed string TEXT.
expect_has() {
    if ! grep -q -F -e "$3" "$2"; then
        fail "$1 should contain '$3'"
        show "$1" "$2"
    fi
}

# expect_lacks LABEL FILE TEXT
expect_lacks() {
    if grep -q -F -e "$3" "$2"; then
        fail "$1 should not contain '$3'"
        grep -n -F -e "$3" "$2" | head -n 3 | sed 's/^/      | /'
    fi
}

# expect_line1 LABEL FILE TEXT: the first line of FILE is exactly TEXT.
expect_line1() {
    first=$(head -n 1 "$2")
    if [ "$first" != "$3" ]; then
        fail "first line of $1 should be '$3', is '$first'"
    fi
}

# epochs FILE: the epoch numbers printed, space-separated.
epochs() {
    sed -n 's/^Epoch \([0-9]*\)\/.*/\1/p' "$1" | tr '\n' ' ' | sed 's/ $//'
}

# The metric lines printed after the accuracy line, in order.
METRIC_TITLES="Adjusted Rand index|Normalized mutual information|Matched accuracy|Adjusted mutual information|Purity|Silhouette|Davies-Bouldin index|Calinski-Harabasz index"

# check_report FILE SOURCE ROWS TOTAL_EPOCHS "EPOCH LIST" K [LOADED2 [F [C [VALUES]]]]:
# checks the whole stdout of a successful run, line by line (blank lines are
# ignored): the "Loaded" lines (the second is LOADED2, by default "Loaded
# Iris dataset: ROWS samples"), the epoch lines, the accuracy, the eight
# metric lines in order (4 decimals or "undefined"), the contingency table
# (K clusters by C labels [3], counts adding up to ROWS), then K clusters of
# at most 5 sample lines each, in increasing sample order, with F features
# [4] each; each cluster shows min(5, its size in the table) samples, and
# each sample's label is one the table counts in its cluster. VALUES is
# "unit" [default: features scaled to 0.00 .. 9.99] or "any" (signed).
# Prints the first problem and fails when there is one.
check_report() {
    problem=$(awk -v src="$2" -v rows="$3" -v total="$4" -v want="$5" -v K="$6" \
        -v loaded2="${7:-Loaded Iris dataset: $3 samples}" -v F="${8:-4}" -v C="${9:-3}" \
        -v values="${10:-unit}" -v titles="$METRIC_TITLES" '
        function bad(m) { if (err == "") err = "line " NR ": " m "; saw: " $0 }
        BEGIN {
            st = 0; ne = 0; nw = split(want, w, " "); nc = 0; shown = 0; err = ""
            nt = split(titles, mt, "|"); nm = 0; kr = 0; total_count = 0
            num4 = "[0-9]+[.][0-9][0-9][0-9][0-9]"
            acc4 = "[01][.][0-9][0-9][0-9][0-9]"
            epoch_re = "^Epoch [0-9]+/" total ": Loss = " num4 ", Accuracy = " acc4 "$"
            f2 = values == "any" ? "-?[0-9]+[.][0-9][0-9]" : "[0-9][.][0-9][0-9]"
            feats = f2
            for (f = 2; f <= F; f++) feats = feats ", " f2
            sample_re = "^  Sample [0-9]+: Features = [[]" feats "[]], True Label = [0-9]+$"
        }
        /^$/ { next }
        st == 0 {
            if ($0 != "Loaded " rows " samples from " src) bad("expected \"Loaded " rows " samples from " src "\"")
            st = 1; next
        }
        st == 1 {
            if ($0 != loaded2) bad("expected \"" loaded2 "\"")
            st = 2; next
        }
        st == 2 {
            if ($0 != "Starting training...") bad("expected \"Starting training...\"")
            st = 3; next
        }
        st == 3 && /^Epoch / {
            ne++
            if ($0 !~ epoch_re) bad("epoch line does not match " epoch_re)
            split($2, e, "/")
            if (ne > nw) bad("more epoch lines than the " nw " expected (" want ")")
            else if (e[1] != w[ne]) bad("epoch line " ne " should be for epoch " w[ne])
            next
        }
        st == 3 {
            if (ne != nw) bad("expected " nw " epoch lines (" want "), saw " ne)
            if ($0 !~ "^Final clustering accuracy: " acc4 "$") bad("expected \"Final clustering accuracy: " acc4 "\"")
            st = 4; next
        }
        st == 4 {
            nm++
            if (index($0, mt[nm] ": ") != 1) bad("expected metric line " nm " \"" mt[nm] ": ...\"")
            v = substr($0, length(mt[nm]) + 3)
            if (v != "undefined" && v !~ "^-?" num4 "$") bad("the value of " mt[nm] " is not a number with 4 decimals nor \"undefined\"")
            if (nm == nt) st = 5
            next
        }
        st == 5 {
            if ($0 != "Contingency table (rows: clusters, columns: labels):") bad("expected \"Contingency table (rows: clusters, columns: labels):\"")
            st = 6; next
        }
        st == 6 {
            if ($0 !~ /^            [ ]*[^ ]/) bad("expected the table header (12 spaces, then the labels)")
            st = 7; next
        }
        st == 7 {
            if ($1 != "cluster" || $2 != kr "" || NF != C + 2) bad("expected \"  cluster " kr "\" and " C " counts")
            size[kr] = 0
            for (c = 0; c < C; c++) {
                if ($(c + 3) !~ /^[0-9]+$/) bad("count " $(c + 3) " is not a number")
                table[kr, c] = $(c + 3); size[kr] += $(c + 3)
            }
            total_count += size[kr]
            kr++
            if (kr == K) st = 8
            next
        }
        st == 8 {
            if ($0 != "Sample cluster assignments:") bad("expected \"Sample cluster assignments:\"")
            st = 9; next
        }
        st == 9 && /^Cluster / {
            if ($0 != "Cluster " nc ":") bad("expected \"Cluster " nc ":\"")
            nc++; inc = 0; last = -1; in_cluster[nc - 1] = 0; next
        }
        st == 9 && /^  Sample / {
            if (nc == 0) bad("sample line before the first cluster")
            if ($0 !~ sample_re) bad("sample line does not match " sample_re)
            idx = $2; sub(/:$/, "", idx); idx += 0
            if (idx <= last) bad("sample index " idx " not above the previous " last)
            if (idx >= rows) bad("sample index " idx " beyond the " rows " rows")
            label = $NF + 0
            if (label >= C) bad("label " label " is not below the " C " labels")
            else if (nc > 0 && table[nc - 1, label] + 0 == 0) bad("label " label " in cluster " (nc - 1) ", which the contingency table says has none")
            last = idx; inc++; shown++; in_cluster[nc - 1]++
            if (inc > 5) bad("more than 5 samples in cluster " (nc - 1))
            next
        }
        { bad("unexpected line") }
        END {
            if (err == "" && st < 9) err = "output ends early (stage " st ")"
            if (err == "" && nc != K) err = "expected " K " clusters, saw " nc
            if (err == "" && total_count != rows) err = "the contingency table counts " total_count " rows, not " rows
            for (k = 0; k < K && err == ""; k++)
                if (in_cluster[k] != (size[k] < 5 ? size[k] : 5))
                    err = "cluster " k " shows " in_cluster[k] " samples; the table gives it " size[k] " rows"
            if (err == "" && rows <= 5 && shown != rows) err = "expected all " rows " rows among the samples, saw " shown
            if (err != "") { print err; exit 1 }
        }' "$1")
    if [ -n "$problem" ]; then
        fail "stdout: $problem"
    fi
}

# expect_header_note FILE SOURCE: stderr (FILE) is exactly the one note that
# line 1 of SOURCE was taken as a header.
expect_header_note() {
    lines=$(wc -l <"$1" | tr -d ' ')
    first=$(head -n 1 "$1")
    case $first in
    "$2: line 1 is taken as a header ("*"--no-header"*) ;;
    *) fail "stderr should be the note '$2: line 1 is taken as a header (...)', is '$first'" ;;
    esac
    [ "$lines" -eq 1 ] || { fail "stderr should be one line, has $lines"; show stderr "$1"; }
}

# usage_error NAME FRAGMENT1 FRAGMENT2 ARGS...: the tool exits 2, prints
# nothing on stdout and a message naming FRAGMENT1 (and FRAGMENT2 unless
# empty) on stderr.
usage_error() {
    begin "$1"
    frag1=$2
    frag2=$3
    shift 3
    run "$@"
    expect_rc 2
    expect_empty stdout "$T/out"
    if [ ! -s "$T/err" ]; then
        fail "stderr is empty, expected a message"
    else
        expect_has stderr "$T/err" "$frag1"
        [ -n "$frag2" ] && expect_has stderr "$T/err" "$frag2"
        expect_has stderr "$T/err" "attncluster: "
    fi
    end
}

# runtime_error NAME WHEN PREFIX FRAGMENT ARGS...: the tool exits 1 with
# a one-line message on stderr that starts with PREFIX and contains
# FRAGMENT ("|"-separated list of fixed strings). WHEN is "load" (nothing
# at all on stdout) or "train" (stdout stops at "Starting training...").
runtime_error() {
    begin "$1"
    when=$2
    prefix=$3
    frags=$4
    shift 4
    run --quiet "$@"
    expect_rc 1
    first=$(head -n 1 "$T/err")
    case $first in
    "$prefix"*) ;;
    *) fail "stderr should start with '$prefix', is '$first'" ;;
    esac
    lines=$(wc -l <"$T/err" | tr -d ' ')
    [ "$lines" -eq 1 ] || { fail "stderr should be one line, has $lines"; show stderr "$T/err"; }
    old_ifs=$IFS
    IFS='|'
    for f in $frags; do
        IFS=$old_ifs
        expect_has stderr "$T/err" "$f"
    done
    IFS=$old_ifs
    if [ "$when" = load ]; then
        expect_empty stdout "$T/out"
    else
        last=$(tail -n 1 "$T/out")
        [ "$last" = "Starting training..." ] ||
            { fail "stdout should end with 'Starting training...', ends with '$last'"; show stdout "$T/out"; }
        expect_lacks stdout "$T/out" "Epoch "
    fi
    end
}

# loads_ok NAME FILE ROWS [REFERENCE]: FILE (4 features, 3 labels) loads and
# trains (2 epochs); with REFERENCE, a file of the same rows written plainly,
# the stdout from line 2 on is the same as REFERENCE's.
loads_ok() {
    begin "$1"
    run --quiet --epochs 2 --data "$2"
    expect_rc 0
    expect_empty stderr "$T/err"
    check_report "$T/out" "$2" "$3" 2 "1 2" 3 "Loaded dataset: $3 samples, 4 features, 3 labels"
    expect_lacks stdout "$T/out" "nan"
    if grep -q "$(printf '\r')" "$T/out"; then fail "stdout contains a carriage return"; fi
    if [ -n "$4" ]; then
        cp "$T/out" "$T/this.out"
        run --quiet --epochs 2 --data "$4"
        sed 1d "$T/out" >"$T/b"
        sed 1d "$T/this.out" >"$T/a"
        if ! cmp -s "$T/a" "$T/b"; then
            fail "stdout from line 2 on differs from that of $4 (the same rows)"
            diff "$T/b" "$T/a" | head -n 6 | sed 's/^/      | /'
        fi
        cp "$T/this.out" "$T/out"
    fi
    end
}

# ------------------------------------------------------------------- set-up

if [ -z "$BIN" ]; then
    echo "usage: sh tests/test_cli.sh PATH_TO_attncluster (from the repository root)"
    echo "0 passed, 1 failed"
    exit 2
fi
case $BIN in
/*) ;;
*) BIN=$(pwd)/$BIN ;;
esac
if [ ! -x "$BIN" ] || [ ! -f data/iris.csv ] || [ ! -d tests/fixtures ]; then
    echo "$SELF: $BIN is not an executable, or not run from the repository root"
    echo "0 passed, 1 failed"
    exit 2
fi
FX=tests/fixtures
FXC=tests/fixtures/cli

T=$(mktemp -d) || { echo "$SELF: mktemp -d failed"; echo "0 passed, 1 failed"; exit 2; }
trap 'rm -rf "$T"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ------------------------------------------------------- 1. the default run

begin "default run from the repository root"
run
cp "$T/out" "$T/default.out"
expect_rc 0
expect_header_note "$T/err" data/iris.csv
check_report "$T/out" data/iris.csv 150 100 "1 11 21 31 41 51 61 71 81 91 100" 3
end

# ---------------------------------------------------- 2. the built-in copy

begin "default run without data/iris.csv uses the built-in copy"
(cd "$T" && [ ! -e data/iris.csv ] && "$BIN" >"$T/builtin.out" 2>"$T/err" </dev/null)
rc=$?
expect_rc 0
expect_empty stderr "$T/err"
expect_line1 stdout "$T/builtin.out" "Loaded 150 samples from built-in iris.csv"
sed 1d "$T/default.out" >"$T/a"
sed 1d "$T/builtin.out" >"$T/b"
if ! cmp -s "$T/a" "$T/b"; then
    fail "stdout from line 2 on differs from the run on data/iris.csv"
    diff "$T/a" "$T/b" | head -n 6 | sed 's/^/      | /'
fi
end

# --------------------------------------------------------- 3. determinism

begin "same seed twice gives the same stdout"
run
expect_rc 0
if ! cmp -s "$T/default.out" "$T/out"; then
    fail "two default runs differ"
    diff "$T/default.out" "$T/out" | head -n 6 | sed 's/^/      | /'
fi
end

begin "--seed 42 is the default"
run --seed 42
expect_rc 0
cmp -s "$T/default.out" "$T/out" || fail "--seed 42 differs from the default run"
end

begin "--seed 7 differs from the default seed"
run --seed 7
expect_rc 0
expect_header_note "$T/err" data/iris.csv
cmp -s "$T/default.out" "$T/out" && fail "--seed 7 prints the same stdout as the default seed 42"
end

# ----------------------------------------------------------- 4. --print-every

begin "--print-every 25"
run --print-every 25
expect_rc 0
got=$(epochs "$T/out")
[ "$got" = "1 26 51 76 100" ] || fail "epochs printed: '$got', expected '1 26 51 76 100'"
end

begin "--epochs 3 --print-every 10"
run --epochs 3 --print-every 10
expect_rc 0
got=$(epochs "$T/out")
[ "$got" = "1 3" ] || fail "epochs printed: '$got', expected '1 3'"
expect_has stdout "$T/out" "Epoch 3/3: "
end

# ------------------------------------------------ 5. train with every option

begin "train subcommand with options"
run train --epochs 2 --hidden 8 --batch-size 16 --lr 0.01 --weight-decay 0 --clusters 4 \
    --attention-scale sqrt --candle-compat --quiet
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" data/iris.csv 150 2 "1 2" 4
expect_has stdout "$T/out" "Cluster 3:"
end

# ----------------------------------------------------------- 6. progress bar

begin "progress bar on a terminal"
if ! command -v script >/dev/null 2>&1; then
    fail "util-linux 'script' not found: cannot run the tool under a pseudo-terminal"
else
    script -qec "'$BIN' --epochs 5" /dev/null >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    expect_rc 0
    expect_has "terminal output" "$T/out" "100%|"
    expect_has "terminal output" "$T/out" " 5/5 ["
    expect_has "terminal output" "$T/out" "it/s]"
    expect_has "terminal output" "$T/out" "Epoch 5/5: "
fi
end

begin "--quiet: no progress bar on a terminal"
if ! command -v script >/dev/null 2>&1; then
    fail "util-linux 'script' not found: cannot run the tool under a pseudo-terminal"
else
    script -qec "'$BIN' --epochs 5 --quiet" /dev/null >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    expect_rc 0
    expect_has "terminal output" "$T/out" "Epoch 5/5: "
    expect_lacks "terminal output" "$T/out" "%|"
fi
end

# ------------------------------------------------------------- 7. stdin

begin "--data - reads standard input"
# A pipe on purpose: standard input is not a seekable file.
# shellcheck disable=SC2002
cat data/iris.csv | "$BIN" --data - --epochs 2 --quiet >"$T/out" 2>"$T/err"
rc=$?
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" - 150 2 "1 2" 3 "Loaded dataset: 150 samples, 4 features, 3 labels"
run --data data/iris.csv --epochs 2 --quiet
sed 1d "$T/out" >"$T/b"
"$BIN" --data - --epochs 2 --quiet <data/iris.csv 2>/dev/null | sed 1d >"$T/a"
cmp -s "$T/a" "$T/b" || fail "stdout from line 2 on differs from --data data/iris.csv"
end

# ------------------------------------------------------- 8. --help, --version

begin "--help lists every option and the defaults"
run --help
expect_rc 0
expect_empty stderr "$T/err"
for o in --data --hidden --batch-size --lr --weight-decay --epochs --clusters --print-every \
    --seed --attention-scale --candle-compat --quiet --version --normalize --features \
    --test-fraction --folds --save --assignments --header --no-header --label --no-label \
    --drop-missing --model --output --context --json --plot; do
    expect_has "--help" "$T/out" "$o"
done
for d in "[64]" "[32]" "[100]" "[42]"; do
    expect_has "--help" "$T/out" "$d"
done
end

begin "-h is --help"
run -h
expect_rc 0
"$BIN" --help >"$T/a" 2>/dev/null
cmp -s "$T/out" "$T/a" || fail "-h and --help print different text"
end

begin "--version"
run --version
expect_rc 0
expect_empty stderr "$T/err"
got=$(cat "$T/out")
[ "$got" = "attncluster 0.1.0" ] || fail "stdout '$got', expected 'attncluster 0.1.0'"
end

# ---------------------------------------------------------- 9. usage errors

usage_error "usage: unknown option --bogus" "--bogus" "" --bogus
usage_error "usage: --epochs 0" "--epochs" "'0'" --epochs 0
usage_error "usage: --epochs abc" "--epochs" "abc" --epochs abc
usage_error "usage: --lr nan" "--lr" "nan" --lr nan
usage_error "usage: --lr -1" "--lr" "-1" --lr -1
usage_error "usage: --lr 0" "--lr" "'0'" --lr 0
usage_error "usage: --batch-size -3" "--batch-size" "-3" --batch-size -3
usage_error "usage: --batch-size 0" "--batch-size" "'0'" --batch-size 0
usage_error "usage: --hidden 0" "--hidden" "'0'" --hidden 0
usage_error "usage: --seed abc" "--seed" "abc" --seed abc
usage_error "usage: --seed -1" "--seed" "-1" --seed -1
usage_error "usage: --seed 1.5" "--seed" "1.5" --seed 1.5
usage_error "usage: --attention-scale cube" "--attention-scale" "cube" --attention-scale cube
usage_error "usage: --epochs without a value" "--epochs" "value" --epochs
usage_error "usage: unknown command frobnicate" "frobnicate" "" frobnicate
usage_error "usage: extra argument after train" "extra" "" train extra
usage_error "usage: unknown short option in a group" "unknown option '-x'" "" -xh
usage_error "usage: ambiguous abbreviation" "ambiguous option '--c'" "" --c
usage_error "usage: hex learning rate" "--lr" "0x1p-3" --lr 0x1p-3

begin "write error on --help exits 1"
"$BIN" --help >/dev/full 2>"$T/err"
rc=$?
expect_rc 1
expect_has stderr "$T/err" "cannot write the output"
end

# -------------------------------------------------------- 10. runtime errors

runtime_error "runtime: missing file" load "/nonexistent.csv: cannot open" \
    "No such file" --data /nonexistent.csv
mkdir "$T/adir"
runtime_error "runtime: a directory as data" load "$T/adir: " \
    "cannot read|Is a directory" --data "$T/adir"
runtime_error "runtime: non-numeric cell" load "$FX/bad_number.csv:3:2 (sepal_width): " \
    "'abc'|not a number|(expected " --data "$FX/bad_number.csv"
runtime_error "runtime: too few columns" load "$FX/too_few_columns.csv:3: " \
    "4 fields|(expected 5" --data "$FX/too_few_columns.csv"
runtime_error "runtime: empty file" load "$FX/empty.csv:1: " \
    "empty file|(expected " --data "$FX/empty.csv"
runtime_error "runtime: header only" load "$FX/header_only.csv:2: " \
    "no data rows|(expected " --data "$FX/header_only.csv"
runtime_error "runtime: empty cell" load "$FX/empty_cell.csv:3:3 (petal_length): " \
    "empty cell|--drop-missing|(expected " --data "$FX/empty_cell.csv"
runtime_error "runtime: nan cell" load "$FX/nan_cell.csv:3:3 (petal_length): " \
    "'nan'|not a number|(expected " --data "$FX/nan_cell.csv"
runtime_error "runtime: inf cell" load "$FX/inf_cell.csv:3:4 (petal_width): " \
    "'inf'|not a number|(expected " --data "$FX/inf_cell.csv"
runtime_error "runtime: 1e39 cell" load "$FX/huge_cell.csv:3:1 (sepal_length): " \
    "'1e39'|32-bit float|(expected " --data "$FX/huge_cell.csv"
runtime_error "runtime: 2 rows, 3 clusters" train "$FX/two_rows.csv: " \
    "2 rows are fewer than the 3 clusters|(expected at least 3 rows)" \
    --data "$FX/two_rows.csv" --clusters 3
runtime_error "runtime: 3 classes, 2 clusters" train "data/iris.csv: " \
    "3 classes|2 clusters|(expected --clusters of at least 3)" --clusters 2

# ------------------------------------------------------ 11. files that load

loads_ok "loads: plain 4-row file" "$FX/four_rows.csv" 4
loads_ok "loads: CRLF line endings" "$FX/crlf.csv" 4 "$FX/four_rows.csv"
loads_ok "loads: blank lines at the end" "$FX/trailing_blank.csv" 4 "$FX/four_rows.csv"
loads_ok "loads: spaces around numbers" "$FX/spaces.csv" 4 "$FX/four_rows.csv"
# quoted.csv: a byte-order mark, CRLF, quoted names and numbers, a doubled
# quote, commas and a line break inside quotes (in the header and in a
# row), spaces inside and around quotes, and a text column of notes that is
# left out; the same rows as four_rows.csv.
loads_ok "loads: quoted fields, embedded commas and newlines, CRLF, BOM, spaces" \
    "$FXC/quoted.csv" 4 "$FX/four_rows.csv"

loads_ok "loads: a constant column" "$FX/constant_column.csv" 5
begin "constant column prints as 0.00"
run --quiet --epochs 2 --data "$FX/constant_column.csv"
expect_rc 0
col=$(grep '^  Sample ' "$T/out" | sed 's/.*\[\(.*\)\].*/\1/' | cut -d, -f2 | sort -u | tr '\n' ' ')
[ "$col" = " 0.00 " ] || fail "feature 2 of the sample lines: '$col', expected ' 0.00' on every line"
end

begin "any label text: Iris-rosea is a label of its own"
# Labels are any text now, numbered in order of first appearance.
run --quiet --epochs 2 --clusters 2 --data "$FX/unknown_species.csv"
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" "$FX/unknown_species.csv" 2 2 "1 2" 2 \
    "Loaded dataset: 2 samples, 4 features, 2 labels" 4 2
expect_has stdout "$T/out" "Iris-rosea"
end

# ------------------------------------------- 12. model files: save, predict, eval, info

begin "train --save writes a model that info describes"
run --epochs 5 --save "$T/model.st"
expect_rc 0
[ -s "$T/model.st" ] || fail "no model file written"
expect_has stderr "$T/err" "Saved the model to $T/model.st"
run info "$T/model.st"
expect_rc 0
expect_has stdout "$T/out" "Hidden size (H):   64"
expect_has stdout "$T/out" "Feature names:     sepal_length, sepal_width, petal_length, petal_width"
expect_has stdout "$T/out" "Label names:       Iris-setosa, Iris-versicolor, Iris-virginica"
expect_has stdout "$T/out" "Reference rows:    150"
expect_has stdout "$T/out" "5 epochs, batch 32, lr 0.001"
expect_has stdout "$T/out" "attncluster.reference_rows           [150, 4]"
end

begin "--quiet silences the save message"
run --quiet --epochs 1 --save "$T/quiet.st"
expect_rc 0
expect_empty stderr "$T/err"
end

begin "the chapter run's stdout does not change with --save"
run --quiet --epochs 5
cp "$T/out" "$T/nosave.out"
run --quiet --epochs 5 --save "$T/model2.st"
cmp -s "$T/out" "$T/nosave.out" || fail "stdout differs with --save"
end

begin "predict writes one CSV line per row with probabilities and label"
run predict --model "$T/model.st" data/iris.csv
expect_rc 0
expect_line1 stdout "$T/out" "row,cluster,p_0,p_1,p_2,label"
rows=$(sed 1d "$T/out" | wc -l | tr -d ' ')
[ "$rows" -eq 150 ] || fail "$rows data lines, expected 150"
bad=$(sed 1d "$T/out" | awk -F, '
    { s = $3 + $4 + $5; if (NF != 6 || $1 != NR - 1 || $2 !~ /^[012]$/ || s < 0.9999 || s > 1.0001 ||
      $6 !~ /^Iris-(setosa|versicolor|virginica)$/) { print NR ": " $0; exit } }')
[ -z "$bad" ] || fail "bad prediction line $bad"
end

begin "predict of shuffled rows, or of one row alone, gives each row the same cluster"
run predict --model "$T/model.st" data/iris.csv
sed 1d "$T/out" | cut -d, -f2 >"$T/clusters"
{ head -n 1 data/iris.csv; sed 1d data/iris.csv | awk '{ print NR - 1 "\t" $0 }' | sort -t "$(printf '\t')" -k1,1nr; } >"$T/rev.tmp"
{ head -n 1 "$T/rev.tmp"; sed 1d "$T/rev.tmp" | cut -f2; } >"$T/reversed.csv"
run predict --model "$T/model.st" "$T/reversed.csv"
expect_rc 0
sed 1d "$T/out" | cut -d, -f2 | awk '{ a[NR] = $0 } END { for (i = NR; i >= 1; i--) print a[i] }' >"$T/unreversed"
cmp -s "$T/clusters" "$T/unreversed" || fail "reversing the rows changed some clusters"
{ head -n 1 data/iris.csv; sed -n 78p data/iris.csv; } >"$T/one.csv"
run predict --model "$T/model.st" "$T/one.csv"
one=$(sed -n 2p "$T/out" | cut -d, -f2)
want=$(sed -n 77p "$T/clusters")
[ "$one" = "$want" ] || fail "row 76 alone: cluster $one, with the others: $want"
end

begin "predict reads standard input and writes --output atomically"
"$BIN" predict --model "$T/model.st" - --output "$T/pred.csv" <data/iris.csv >"$T/out" 2>"$T/err"
rc=$?
expect_rc 0
expect_empty stdout "$T/out"
run predict --model "$T/model.st" data/iris.csv
cmp -s "$T/out" "$T/pred.csv" || fail "--output differs from stdout"
printf 'precious\n' >"$T/keep.csv"
run predict --model "$T/model.st" "$FX/bad_number.csv" --output "$T/keep.csv"
expect_rc 1
[ "$(cat "$T/keep.csv")" = "precious" ] || fail "a failed predict changed the --output file"
run predict --model "$T/model.st" data/iris.csv --output "$T/no/such/dir/p.csv"
expect_rc 1
expect_has stderr "$T/err" "cannot save"
end

begin "eval prints the accuracy, in both contexts"
run eval --model "$T/model.st" data/iris.csv
expect_rc 0
expect_has stdout "$T/out" "Rows: 150"
expect_has stdout "$T/out" "Context: reference"
grep -q -E '^Clustering accuracy: [01]\.[0-9]{4}$' "$T/out" || { fail "no accuracy line"; show stdout "$T/out"; }
run eval --model "$T/model.st" --context batch data/iris.csv
expect_rc 0
expect_has stdout "$T/out" "Context: batch"
end

begin "a model written by the PyTorch reference predicts what PyTorch predicted"
run predict --model "$FX/reference_model.safetensors" data/iris.csv
expect_rc 0
sed 1d "$T/out" | cut -d, -f1,2 >"$T/c.csv"
sed 1d "$FX/reference_model_predictions.csv" >"$T/torch.csv"
cmp -s "$T/c.csv" "$T/torch.csv" || fail "clusters differ from PyTorch's"
end

begin "a weights-only file as Candle writes is refused, saying what is missing"
run info "$FX/weights_only.safetensors"
expect_rc 1
expect_has stderr "$T/err" "$FX/weights_only.safetensors: no __metadata__"
run predict --model "$FX/weights_only.safetensors" data/iris.csv
expect_rc 1
expect_empty stdout "$T/out"
end

begin "a data file without a model feature is refused by name"
printf 'sepal_length,sepal_width,petal_length,species\n5.1,3.5,1.4,Iris-setosa\n' >"$T/three.csv"
run predict --model "$T/model.st" "$T/three.csv"
expect_rc 1
expect_has stderr "$T/err" "no column named 'petal_width'"
end

begin "a failed training run never creates or touches the --save target"
run --quiet --data "$FX/bad_number.csv" --save "$T/never.st"
expect_rc 1
[ -e "$T/never.st" ] && fail "a failed run created the target"
cp "$T/model.st" "$T/kept.st"
run --quiet --clusters 2 --save "$T/kept.st"
expect_rc 1
cmp -s "$T/kept.st" "$T/model.st" || fail "a failed run changed the existing target"
ls -a "$T" | grep -q '\.tmp-' && fail "a temporary file was left behind"
end

usage_error "usage: predict without --model" "--model" "" predict data/iris.csv
usage_error "usage: predict without data" "data file" "" predict --model "$FX/reference_model.safetensors"
usage_error "usage: --save is not a predict option" "--save" "predict" predict --model m --save x data/iris.csv
usage_error "usage: --context sideways" "--context" "sideways" predict --model m --context sideways d.csv
usage_error "usage: info takes one file" "unexpected argument" "" info a b

# ----------------------------------------------- 13. reading any CSV file

begin "header detection is noted on stderr, not with --quiet"
run --epochs 2 --data data/iris.csv
expect_rc 0
expect_header_note "$T/err" data/iris.csv
expect_has stderr "$T/err" "(column 1 is text above numbers; --no-header to read it as data)"
check_report "$T/out" data/iris.csv 150 2 "1 2" 3 "Loaded dataset: 150 samples, 4 features, 3 labels"
cp "$T/out" "$T/noisy.out"
run --epochs 2 --data data/iris.csv --quiet
expect_rc 0
expect_empty stderr "$T/err"
cmp -s "$T/out" "$T/noisy.out" || fail "--quiet changed stdout"
end

begin "--header forced: no detection note"
run --epochs 2 --data data/iris.csv --header
expect_rc 0
expect_empty stderr "$T/err"
cmp -s "$T/out" "$T/noisy.out" || fail "--header changed stdout of data/iris.csv"
end

runtime_error "--no-header on a file with a header: line 1 is data, and not numbers" load \
    "data/iris.csv:1:1 (column_1): " "'sepal_length'|not a number" --no-header --data data/iris.csv

# headerless.csv: 9 rows of numbers, the label (0, 1, 2) in column 1.
begin "--no-header --label 1 on a headerless numeric file"
run --epochs 2 --data "$FXC/headerless.csv" --no-header --label 1
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" "$FXC/headerless.csv" 9 2 "1 2" 3 "Loaded dataset: 9 samples, 4 features, 3 labels"
expect_has stdout "$T/out" "  Sample 0: Features = [0.17, 1.00, 0.02, 0.00], True Label = 0"
cp "$T/out" "$T/headerless.out"
run --epochs 2 --data "$FXC/headerless.csv" --label column_1
expect_rc 0
expect_empty stderr "$T/err"
cmp -s "$T/out" "$T/headerless.out" ||
    fail "detection (no header found) and --label column_1 differ from --no-header --label 1"
end

begin "--header on a headerless file takes its first row as names"
run --quiet --epochs 2 --data "$FXC/headerless.csv" --header --label 1
expect_rc 0
check_report "$T/out" "$FXC/headerless.csv" 8 2 "1 2" 3 "Loaded dataset: 8 samples, 4 features, 3 labels"
end

runtime_error "a headerless numeric file without --label has no label column" load \
    "$FXC/headerless.csv: no label column" "--label|--mode unsupervised" --data "$FXC/headerless.csv"

begin "--label by name and by index give the default's run"
run --quiet --epochs 2 --data data/iris.csv
cp "$T/out" "$T/label_default.out"
for l in species 5; do
    run --quiet --epochs 2 --data data/iris.csv --label "$l"
    expect_rc 0
    expect_empty stderr "$T/err"
    cmp -s "$T/out" "$T/label_default.out" || fail "--label $l differs from the default label column"
done
check_report "$T/out" data/iris.csv 150 2 "1 2" 3 "Loaded dataset: 150 samples, 4 features, 3 labels"
end

runtime_error "--label naming no column" load "data/iris.csv:1: " \
    "no column 'bogus' for the label|(expected " --data data/iris.csv --label bogus
runtime_error "--label 6 is past the last column" load "data/iris.csv:1: " \
    "no column '6' for the label|from 1 to 5" --data data/iris.csv --label 6
usage_error "usage: --label with --no-label" "--label" "--no-label" --label species --no-label

runtime_error "--no-label: training needs labels, and says so" load "data/iris.csv: no label column" \
    "--mode unsupervised|--label" --no-label

begin "--features by name and by index"
run --quiet --epochs 2 --data data/iris.csv --features petal_length,petal_width
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" data/iris.csv 150 2 "1 2" 3 "Loaded dataset: 150 samples, 2 features, 3 labels" 2
expect_has stdout "$T/out" "  Sample 0: Features = [0.07, 0.04], True Label = 0"
cp "$T/out" "$T/features.out"
run --quiet --epochs 2 --data data/iris.csv --features 3,4
cmp -s "$T/out" "$T/features.out" || fail "--features 3,4 differs from --features petal_length,petal_width"
run --quiet --epochs 2 --data data/iris.csv --features 4,sepal_length,2
expect_rc 0
check_report "$T/out" data/iris.csv 150 2 "1 2" 3 "Loaded dataset: 150 samples, 3 features, 3 labels" 3
expect_has stdout "$T/out" "  Sample 0: Features = [0.04, 0.22, 0.62], True Label = 0"
end

runtime_error "--features naming no column" load "data/iris.csv:1: " \
    "no column 'bogus' for a feature|(expected " --data data/iris.csv --features petal_width,bogus
runtime_error "--features naming the label" load "data/iris.csv:1:5 (species): " \
    "is the label" --data data/iris.csv --features 1,species
runtime_error "--features naming a text column" load "$FXC/quoted.csv:1:1 (note, free text): " \
    "holds text" --data "$FXC/quoted.csv" --features 1,2

begin "a text column left out is noted on stderr"
run --epochs 2 --data "$FXC/quoted.csv"
expect_rc 0
expect_has stderr "$T/err" "$FXC/quoted.csv: line 1 is taken as a header (column 2 is text above numbers"
expect_has stderr "$T/err" "$FXC/quoted.csv: 1 text column left out ('note, free text'), neither a feature nor the label"
lines=$(wc -l <"$T/err" | tr -d ' ')
[ "$lines" -eq 2 ] || { fail "stderr should be the two notes, has $lines lines"; show stderr "$T/err"; }
check_report "$T/out" "$FXC/quoted.csv" 4 2 "1 2" 3 "Loaded dataset: 4 samples, 4 features, 3 labels"
run --quiet --epochs 2 --data "$FXC/quoted.csv"
expect_empty stderr "$T/err"
end

# missing.csv: 9 rows; NA on line 4 (petal_length), an empty cell on line 7
# (petal_width) and NaN as the label on line 10.
runtime_error "missing value: FILE:LINE:COLUMN (name) and --drop-missing" load \
    "$FXC/missing.csv:4:3 (petal_length): " "missing value 'NA'|--drop-missing|(expected " \
    --data "$FXC/missing.csv"
runtime_error "missing value: the line counts the line breaks inside quotes" load \
    "$FXC/multiline_missing.csv:4:2 (a): " "empty cell|--drop-missing" --data "$FXC/multiline_missing.csv"

begin "--drop-missing drops the rows and says how many"
run --epochs 2 --data "$FXC/missing.csv" --drop-missing
expect_rc 0
expect_has stderr "$T/err" "$FXC/missing.csv: dropped 3 rows with a missing value (the first on line 4)"
check_report "$T/out" "$FXC/missing.csv" 6 2 "1 2" 3 "Loaded dataset: 6 samples, 4 features, 3 labels"
run --quiet --epochs 2 --data "$FXC/missing.csv" --drop-missing
expect_rc 0
expect_empty stderr "$T/err"
end

usage_error "usage: --drop-missing is not a predict option" "--drop-missing" "predict" \
    predict --model m --drop-missing data/iris.csv

# ------------------------------------------------------ 14. normalisation

begin "--normalize none trains on the data's own units"
run --quiet --epochs 2 --normalize none
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" data/iris.csv 150 2 "1 2" 3 "" 4 3 any
expect_has stdout "$T/out" "  Sample 0: Features = [5.10, 3.50, 1.40, 0.20], True Label = 0"
end

begin "--normalize zscore scales by the mean and population std, and info says zscore"
run --quiet --epochs 2 --normalize zscore --save "$T/zscore.st"
expect_rc 0
expect_empty stderr "$T/err"
check_report "$T/out" data/iris.csv 150 2 "1 2" 3 "" 4 3 any
# Row 0 scaled with the population mean and standard deviation of each column.
got=$(sed -n 's/^  Sample 0: Features = \[\(.*\)\], .*/\1/p' "$T/out")
bad=$(awk -F, -v got="$got" '
    NR > 1 { for (i = 1; i <= 4; i++) { s[i] += $i; q[i] += $i * $i; if (NR == 2) x[i] = $i } n++ }
    END {
        if (split(got, g, ", ") != 4) { print "no Sample 0 line with 4 features"; exit }
        for (i = 1; i <= 4; i++) {
            m = s[i] / n; sd = sqrt(q[i] / n - m * m); z = (x[i] - m) / sd
            if (g[i] - z > 0.0051 || z - g[i] > 0.0051) { printf "feature %d is %s, expected %.4f\n", i, g[i], z; exit }
        }
    }' data/iris.csv)
[ -z "$bad" ] || fail "Sample 0: $bad"
run info "$T/zscore.st"
expect_rc 0
expect_has stdout "$T/out" "Normalization:     zscore, x' = (x - mean) / std"
bad=$(awk -F, 'NR > 1 { s += $1; q += $1 * $1; n++ } END { m = s / n; printf "%.4f %.4f", m, sqrt(q / n - m * m) }' data/iris.csv)
got=$(awk '$1 == "sepal_length" && $2 == "mean" { sub(/,$/, "", $3); printf "%.4f %.4f", $3, $5 }' "$T/out")
[ "$got" = "$bad" ] || fail "info: sepal_length mean and std '$got', expected '$bad'"
run info "$T/model.st"
expect_has stdout "$T/out" "Normalization:     minmax, x' = (x - min) / range"
end

usage_error "usage: --normalize sideways" "--normalize" "sideways" --normalize sideways

# ------------------------------------------------------------ 15. metrics

begin "the metric lines follow the accuracy line, in order, with 4 decimals"
sed -n '/^Final clustering accuracy: /,/^$/p' "$T/default.out" | sed '1d;/^$/d' | sed 's/: .*//' >"$T/titles"
printf '%s\n' "$METRIC_TITLES" | tr '|' '\n' >"$T/want_titles"
cmp -s "$T/titles" "$T/want_titles" || { fail "metric lines after the accuracy line differ"; diff "$T/want_titles" "$T/titles" | sed 's/^/      | /'; }
bad=$(awk '
    function val(line) { sub(/^[^:]*: /, "", line); return line }
    /^Final clustering accuracy: / { raw = val($0) + 0 }
    /^[A-Z][a-zA-Z -]*: -?[0-9]+[.][0-9][0-9][0-9][0-9]$/ { v[substr($0, 1, index($0, ":") - 1)] = val($0) + 0; n++ }
    /^  cluster / { for (c = 3; c <= NF; c++) col[c] += $c }
    END {
        if (n != 9) { print n " lines \"Title: 0.0000\" (4 decimals), expected 9"; exit }
        if (v["Matched accuracy"] < raw) print "matched accuracy below the raw accuracy"
        if (v["Purity"] < v["Matched accuracy"]) print "purity below the matched accuracy"
        if (v["Adjusted Rand index"] > 1 || v["Normalized mutual information"] > 1 || v["Normalized mutual information"] < 0 || v["Adjusted mutual information"] > 1) print "ARI, NMI or AMI out of range"
        if (v["Silhouette"] < -1 || v["Silhouette"] > 1 || v["Davies-Bouldin index"] < 0 || v["Calinski-Harabasz index"] < 0) print "a geometry metric out of range"
        if (v["Adjusted Rand index"] < 0.8 || v["Matched accuracy"] < 0.9) print "the chapter run clusters Iris well, but ARI " v["Adjusted Rand index"] ", matched accuracy " v["Matched accuracy"]
        if (col[3] != 50 || col[4] != 50 || col[5] != 50) print "contingency columns sum to " col[3] ", " col[4] ", " col[5] ", expected 50 each"
    }' "$T/default.out")
[ -z "$bad" ] || fail "$bad"
expect_has stdout "$T/default.out" "                  Iris-setosa  Iris-versicolor   Iris-virginica"
end

begin "an undefined metric prints as undefined"
# Two epochs of --candle-compat put every row in one cluster: no silhouette.
run --quiet --epochs 2 --hidden 8 --batch-size 16 --lr 0.01 --weight-decay 0 --clusters 4 --attention-scale sqrt --candle-compat
expect_rc 0
expect_has stdout "$T/out" "Silhouette: undefined"
expect_lacks stdout "$T/out" "nan"
end

begin "labels with a comma, a quote or a line break keep the table's lines"
# odd_labels.csv: the labels 'x, "y"', 'two<newline>lines' and 'plain'.
run --quiet --epochs 2 --data "$FXC/odd_labels.csv" --assignments "$T/odd.csv"
expect_rc 0
check_report "$T/out" "$FXC/odd_labels.csv" 6 2 "1 2" 3 "Loaded dataset: 6 samples, 2 features, 3 labels" 2
sed 1d "$T/odd.csv" >"$T/odd.body"
printf '%s\n' '0,?,"x, ""y"""' '1,?,"x, ""y"""' '2,?,"two' 'lines"' '3,?,"two' 'lines"' \
    '4,?,plain' '5,?,plain' >"$T/odd.want"
sed 's/^\([0-9]*\),[0-9]*,/\1,?,/' "$T/odd.body" >"$T/odd.got"
cmp -s "$T/odd.got" "$T/odd.want" || { fail "--assignments does not quote the labels as CSV"; show assignments "$T/odd.csv"; }
end

# --------------------------------------------------------------- 16. --json

# With /usr/bin/python3 the JSON is parsed (NaN and Infinity refused) and
# checked; without it, the checks are structural (grep). The test never
# needs Python. TEST_CLI_PYTHON overrides the interpreter's path (a path
# that does not exist tests the fallback).
PY=${TEST_CLI_PYTHON:-/usr/bin/python3}
cat >"$T/check_json.py" <<'PYEOF'
import json, sys

KEYS = ["raw_accuracy", "ari", "nmi", "matched_accuracy", "ami", "purity",
        "silhouette", "davies_bouldin", "calinski_harabasz"]
GEOMETRY = ["silhouette", "davies_bouldin", "calinski_harabasz"]
TITLES = {"ari": "Adjusted Rand index", "nmi": "Normalized mutual information",
          "matched_accuracy": "Matched accuracy", "ami": "Adjusted mutual information",
          "purity": "Purity", "silhouette": "Silhouette",
          "davies_bouldin": "Davies-Bouldin index",
          "calinski_harabasz": "Calinski-Harabasz index"}
problems = []

def need(ok, msg):
    if not ok:
        problems.append(msg)

def refuse(name):
    raise ValueError("%s is not JSON" % name)

def number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)

def compare_text(metrics, text_file):
    """The 4-decimal text lines of the same run agree with the JSON."""
    text = {}
    for line in open(text_file, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("Final clustering accuracy: ") or line.startswith("Clustering accuracy: "):
            text["raw_accuracy"] = line.split(": ")[1]
        for key, title in TITLES.items():
            if line.startswith(title + ": "):
                text[key] = line[len(title) + 2:]
    for key, value in metrics.items():
        want = "undefined" if value is None else "%.4f" % value
        need(text.get(key) == want, "%s is %r in JSON, %r in the text" % (key, value, text.get(key)))

kind, args = sys.argv[1], sys.argv[2:]
try:
    d = json.load(sys.stdin, parse_constant=refuse)
except ValueError as e:
    print("not valid JSON: %s" % e)
    sys.exit(1)
need(isinstance(d, dict), "not an object")
if not isinstance(d, dict):
    print("; ".join(problems))
    sys.exit(1)
need(d.get("schema") == "attncluster.v1", "schema %r" % d.get("schema"))
need(d.get("command") == kind, "command %r, expected %r" % (d.get("command"), kind))
data = d.get("data", {})
rows = data.get("rows")
need(isinstance(rows, int), "data.rows %r" % rows)
m = d.get("metrics")
if kind == "train":
    epochs, text_file = int(args[0]), args[1]
    need(isinstance(m, dict) and list(m) == KEYS, "metrics keys %r, expected %r" % (list(m or {}), KEYS))
    ep = d.get("epochs")
    need(isinstance(ep, list) and [e.get("epoch") for e in ep] == list(range(1, epochs + 1)),
         "epochs: not the %d entries 1..%d" % (epochs, epochs))
    need(all(number(e.get("loss")) and number(e.get("accuracy")) for e in ep or []),
         "an epoch without a numeric loss and accuracy")
    table = d.get("contingency", {}).get("table", [])
    need(sum(sum(r) for r in table) == rows, "the contingency table does not count %r rows" % rows)
    if isinstance(m, dict):
        compare_text(m, text_file)
elif kind == "eval":
    K, labelled, text_file = int(args[0]), args[1] == "labelled", args[2]
    want = KEYS if labelled else GEOMETRY
    need(isinstance(m, dict) and list(m) == want, "metrics keys %r, expected %r" % (list(m or {}), want))
    need(("contingency" in d) == labelled, "a contingency table only with labels")
    labels = data.get("labels")
    need(isinstance(labels, list) and (len(labels) > 0) == labelled, "data.labels %r" % labels)
    F = len(data.get("features", []))
    cl = d.get("clusters")
    need(isinstance(cl, list) and [c.get("cluster") for c in cl] == list(range(K)),
         "clusters: not the %d profiles 0..%d" % (K, K - 1))
    need(sum(c.get("size", 0) for c in cl or []) == rows, "cluster sizes do not add up to the rows")
    for c in cl or []:
        need(all(len(c.get(k, [])) == F for k in ("mean", "min", "max")),
             "cluster %r: mean, min, max not %d values each" % (c.get("cluster"), F))
        if c.get("size"):
            need(all(lo <= mu + 1e-5 and mu <= hi + 1e-5
                     for lo, mu, hi in zip(c["min"], c["mean"], c["max"])),
                 "cluster %r: a mean outside its range" % c.get("cluster"))
    if isinstance(m, dict):
        compare_text(m, text_file)
print("; ".join(problems))
sys.exit(1 if problems else 0)
PYEOF

# json_check KIND FILE ARGS...: FILE (a captured stdout) is one line holding
# one JSON object of the command KIND, whose "metrics" object has the 9 keys
# (3 for "eval FILE K unlabelled"); ARGS go to check_json.py.
json_check() {
    kind=$1
    file=$2
    shift 2
    keys="raw_accuracy ari nmi matched_accuracy ami purity silhouette davies_bouldin calinski_harabasz"
    [ "$kind" = eval ] && [ "$2" = unlabelled ] && keys="silhouette davies_bouldin calinski_harabasz"
    metrics=$(grep -o '"metrics":{[^}]*}' "$file" | head -n 1)
    nkeys=0
    for k in $keys; do
        nkeys=$((nkeys + 1))
        case $metrics in
        *"\"$k\":"*) ;;
        *) fail "no \"$k\" in the metrics object" ;;
        esac
    done
    n=$(printf '%s' "$metrics" | tr ',' '\n' | grep -c ':')
    [ "$n" -eq "$nkeys" ] || fail "the metrics object has $n keys, expected $nkeys"
    lines=$(wc -l <"$file" | tr -d ' ')
    [ "$lines" -eq 1 ] || { fail "stdout should be one line, has $lines"; show stdout "$file"; }
    first=$(head -c 1 "$file")
    last=$(tail -c 2 "$file" | head -c 1)
    if [ "$first" != "{" ] || [ "$last" != "}" ]; then fail "stdout is not one {...} object"; fi
    expect_has stdout "$file" '{"schema":"attncluster.v1",'
    if grep -q -E '(nan|inf|NaN|Infinity)[],}]' "$file"; then fail "a NaN or infinity in the JSON"; fi
    if [ -x "$PY" ]; then
        problem=$("$PY" "$T/check_json.py" "$kind" "$@" <"$file" 2>&1) || fail "JSON: $problem"
    else
        # No Python: the structure by counting. Braces and brackets balance
        # (no string here holds one), and every key is there.
        o=$(tr -cd '{' <"$file" | wc -c); c=$(tr -cd '}' <"$file" | wc -c)
        [ "$o" -eq "$c" ] || fail "$o '{' but $c '}'"
        o=$(tr -cd '[' <"$file" | wc -c); c=$(tr -cd ']' <"$file" | wc -c)
        [ "$o" -eq "$c" ] || fail "$o '[' but $c ']'"
        expect_has stdout "$file" "\"command\":\"$kind\""
        if [ "$kind" = train ]; then
            expect_has stdout "$file" '"epochs":[{"epoch":1,'
        else
            expect_has stdout "$file" '"clusters":[{"cluster":0,'
        fi
    fi
}

begin "--json on train: one line of JSON, with 100 epochs and 9 metrics"
run --json
expect_rc 0
expect_header_note "$T/err" data/iris.csv
json_check train "$T/out" 100 "$T/default.out"
n=$(grep -o '{"epoch":[0-9]*,' "$T/out" | wc -l | tr -d ' ')
[ "$n" -eq 100 ] || fail "$n epoch entries, expected 100"
expect_lacks stdout "$T/out" "Loaded"
end

begin "--json --quiet: nothing on stderr"
run --json --quiet --epochs 2 --save "$T/json.st"
expect_rc 0
expect_empty stderr "$T/err"
[ -s "$T/json.st" ] || fail "no model file written"
n=$(grep -o '{"epoch":[0-9]*,' "$T/out" | wc -l | tr -d ' ')
[ "$n" -eq 2 ] || fail "$n epoch entries, expected 2"
end

begin "--json on an undefined metric writes null"
run --json --quiet --epochs 2 --hidden 8 --batch-size 16 --lr 0.01 --weight-decay 0 --clusters 4 --attention-scale sqrt --candle-compat
expect_rc 0
expect_has stdout "$T/out" '"silhouette":null'
end

# -------------------------------------------------- 17. held-out evaluation

begin "--folds 3: a line per fold, mean ± std, and --save refits on all rows"
run --epochs 3 --folds 3 --save "$T/folds.st"
expect_rc 0
expect_line1 stdout "$T/out" "Loaded 150 samples from data/iris.csv"
got=$(sed -n 's/^Fold \([0-9]*\/[0-9]*\): trained on 100 rows, tested on 50: matched accuracy [01][.][0-9][0-9][0-9][0-9], ARI -*[0-9][.][0-9][0-9][0-9][0-9], NMI [01][.][0-9][0-9][0-9][0-9]$/\1/p' "$T/out" | tr '\n' ' ')
[ "$got" = "1/3 2/3 3/3 " ] || { fail "fold lines: '$got', expected '1/3 2/3 3/3 '"; show stdout "$T/out"; }
expect_has stdout "$T/out" "Held-out metrics (mean ± std over folds):"
n=$(grep -c -E '^[A-Z][^:]*: -?[0-9]+[.][0-9]{4} ± [0-9]+[.][0-9]{4}$' "$T/out")
[ "$n" -eq 9 ] || { fail "$n lines 'Metric: 0.0000 ± 0.0000', expected 9"; show stdout "$T/out"; }
sed -n 's/: .* ± .*//p' "$T/out" >"$T/titles"
{ echo "Clustering accuracy (cluster id = label id)"; cat "$T/want_titles"; } >"$T/want9"
cmp -s "$T/titles" "$T/want9" || { fail "the metrics are not in order"; diff "$T/want9" "$T/titles" | sed 's/^/      | /'; }
expect_lacks stdout "$T/out" "Sample cluster assignments:"
expect_has stderr "$T/err" "Saved the model to $T/folds.st"
[ -s "$T/folds.st" ] || fail "no model written"
run info "$T/folds.st"
expect_rc 0
expect_has stdout "$T/out" "Reference rows:    150"
expect_has stdout "$T/out" "3 epochs, batch 32"
end

begin "--folds: an undefined metric prints as undefined, not nan"
run --quiet --folds 3 --epochs 2 --hidden 8 --batch-size 16 --lr 0.01 --weight-decay 0 --clusters 4 --attention-scale sqrt --candle-compat
expect_rc 0
expect_lacks stdout "$T/out" "nan"
end

begin "--folds 3 --json: one line with the 3 splits, mean and std"
run --quiet --folds 3 --epochs 2 --json
expect_rc 0
lines=$(wc -l <"$T/out" | tr -d ' ')
[ "$lines" -eq 1 ] || fail "stdout should be one line, has $lines"
expect_has stdout "$T/out" '{"schema":"attncluster.v1","command":"train",'
expect_has stdout "$T/out" '"evaluation":{"kind":"folds","splits":[{"train_rows":100,"test_rows":50,'
n=$(grep -o '"train_rows":' "$T/out" | wc -l | tr -d ' ')
[ "$n" -eq 3 ] || fail "$n splits, expected 3"
expect_has stdout "$T/out" '"mean":{"raw_accuracy":'
expect_has stdout "$T/out" '"std":{"raw_accuracy":'
if [ -x "$PY" ]; then
    "$PY" -c 'import json,sys; json.load(sys.stdin, parse_constant=lambda c: 1/0)' <"$T/out" 2>/dev/null ||
        fail "not valid JSON"
fi
end

begin "--test-fraction 0.2: trained on 120 rows, tested on 30"
run --quiet --epochs 3 --test-fraction 0.2
expect_rc 0
expect_empty stderr "$T/err"
n=$(grep -c -E '^Split 1/1: trained on 120 rows, tested on 30: matched accuracy [01][.][0-9]{4}, ARI -?[0-9][.][0-9]{4}, NMI [01][.][0-9]{4}$' "$T/out")
[ "$n" -eq 1 ] || { fail "no line 'Split 1/1: trained on 120 rows, tested on 30: ...'"; show stdout "$T/out"; }
expect_has stdout "$T/out" "Held-out metrics:"
n=$(grep -c -E '^[A-Z][^:]*: -?[0-9]+[.][0-9]{4}$' "$T/out")
[ "$n" -eq 9 ] || fail "$n metric lines, expected 9"
expect_lacks stdout "$T/out" "± "
end

usage_error "usage: --folds with --test-fraction" "--test-fraction" "--folds" --folds 3 --test-fraction 0.2
usage_error "usage: --test-fraction 0" "--test-fraction" "'0'" --test-fraction 0
usage_error "usage: --test-fraction 1" "--test-fraction" "'1'" --test-fraction 1
usage_error "usage: --test-fraction 1.5" "--test-fraction" "1.5" --test-fraction 1.5
usage_error "usage: --test-fraction abc" "--test-fraction" "abc" --test-fraction abc
usage_error "usage: --folds 1" "--folds" "'1'" --folds 1
usage_error "usage: --folds abc" "--folds" "abc" --folds abc
runtime_error "--folds more than the rows" load "data/iris.csv: " "200 folds for 150 rows" --folds 200

# ------------------------------------------------------ 18. --assignments

begin "--assignments writes every row's cluster, as the run printed them"
run --quiet --epochs 3
cp "$T/out" "$T/noassign.out"
run --quiet --epochs 3 --assignments "$T/assign.csv"
expect_rc 0
expect_empty stderr "$T/err"
cmp -s "$T/out" "$T/noassign.out" || fail "stdout differs with --assignments"
expect_line1 assignments "$T/assign.csv" "row,cluster,label"
n=$(sed 1d "$T/assign.csv" | wc -l | tr -d ' ')
[ "$n" -eq 150 ] || fail "$n data lines, expected 150"
bad=$(sed 1d "$T/assign.csv" | awk -F, '
    NF != 3 || $1 != NR - 1 || $2 !~ /^[012]$/ || $3 !~ /^Iris-(setosa|versicolor|virginica)$/ { print NR ": " $0; exit }')
[ -z "$bad" ] || fail "bad assignment line $bad"
# The first 5 rows of each cluster are the samples printed, and the counts
# per cluster and label are the contingency table's.
sed 1d "$T/assign.csv" | awk -F, '{ if (seen[$2]++ < 5) print $2 " " $1 }' | sort >"$T/a"
awk '/^Cluster [0-9]+:$/ { k = $2 + 0 } /^  Sample / { i = $2; sub(/:$/, "", i); print k " " i }' "$T/out" | sort >"$T/b"
cmp -s "$T/a" "$T/b" || { fail "the first rows of each cluster differ from the samples printed"; diff "$T/b" "$T/a" | head -n 6 | sed 's/^/      | /'; }
sed 1d "$T/assign.csv" | awk -F, '
    !($3 in id) { id[$3] = n++ } { t[$2, id[$3]]++ }
    END { for (k = 0; k < 3; k++) print "cluster " k, t[k, 0] + 0, t[k, 1] + 0, t[k, 2] + 0 }' >"$T/a"
awk '/^  cluster / { print $1 " " $2, $3, $4, $5 }' "$T/out" >"$T/b"
cmp -s "$T/a" "$T/b" || { fail "the counts differ from the contingency table"; diff "$T/b" "$T/a" | sed 's/^/      | /'; }
end

usage_error "usage: --assignments with --folds" "--assignments" "--folds" --assignments "$T/x.csv" --folds 3
usage_error "usage: --assignments with --test-fraction" "--assignments" "--test-fraction" \
    --assignments "$T/x.csv" --test-fraction 0.2

begin "a usage error or a failed run writes no --assignments file"
[ -e "$T/x.csv" ] && fail "a usage error wrote $T/x.csv"
run --quiet --clusters 2 --assignments "$T/x.csv"
expect_rc 1
[ -e "$T/x.csv" ] && fail "a failed run wrote $T/x.csv"
end

# ------------------------------------------------------------- 19. eval

# check_profiles FILE K F: the "Cluster profiles" block of an eval's stdout
# has K clusters whose sizes are the "Cluster sizes" line's, and F lines
# "NAME mean X range A .. B" (A <= X <= B) for each non-empty cluster;
# sepal_length's ranges lie within [4.3, 7.9] and together span it.
check_profiles() {
    problem=$(awk -v K="$2" -v F="$3" '
        function bad(m) { if (err == "") err = "line " NR ": " m "; saw: " $0 }
        function num(s) { return s ~ /^-?[0-9]+([.][0-9]+)?(e[-+][0-9]+)?$/ }
        BEGIN { err = ""; nk = 0; lo = 1e9; hi = -1e9 }
        /^Cluster sizes: / { s = substr($0, 16); ns = split(s, size, ", ") }
        /^Cluster profiles \(mean and range of each feature, in the data.s units\):$/ { inp = 1; next }
        inp && /^  cluster / {
            if ($0 != "  cluster " nk ": " size[nk + 1] " rows") bad("expected \"  cluster " nk ": " size[nk + 1] " rows\"")
            if (nk > 0 && nf != want) bad("cluster " (nk - 1) " has " nf " feature lines, expected " want)
            want = size[nk + 1] > 0 ? F : 0; nf = 0; nk++; next
        }
        inp && /^    / {
            nf++
            if (NF != 7 || $2 != "mean" || $4 != "range" || $6 != ".." || !num($3) || !num($5) || !num($7)) bad("not \"NAME mean X range A .. B\"")
            else if ($5 + 0 > $3 + 0 + 1e-3 || $3 + 0 > $7 + 0 + 1e-3) bad("a mean outside its range")
            if ($1 == "sepal_length") {
                if ($5 + 0 < 4.3 - 1e-6 || $7 + 0 > 7.9 + 1e-6) bad("sepal_length range outside [4.3, 7.9]")
                if ($5 + 0 < lo) lo = $5 + 0
                if ($7 + 0 > hi) hi = $7 + 0
            }
            next
        }
        inp { bad("unexpected line in the profiles") }
        END {
            if (err == "" && !inp) err = "no \"Cluster profiles (mean and range of each feature, in the data'"'"'s units):\" line"
            if (err == "" && ns != K) err = "the cluster sizes line has " ns " sizes, expected " K
            if (err == "" && nk != K) err = nk " profiles, expected " K
            if (err == "" && nf != want) err = "the last cluster has " nf " feature lines, expected " want
            if (err == "" && (lo != 4.3 || hi != 7.9)) err = "sepal_length ranges span " lo " .. " hi ", not 4.3 .. 7.9"
            if (err != "") { print err; exit 1 }
        }' "$1")
    [ -z "$problem" ] || fail "stdout: $problem"
}

begin "eval prints every metric, the contingency table and cluster profiles"
run eval --model "$T/model.st" data/iris.csv
expect_rc 0
sed -n '/^Clustering accuracy: /,/^$/p' "$T/out" | sed '1d;/^$/d' | sed 's/: .*//' >"$T/titles"
cmp -s "$T/titles" "$T/want_titles" || { fail "the metric lines after the accuracy line differ"; diff "$T/want_titles" "$T/titles" | sed 's/^/      | /'; }
n=$(grep -c -E '^[A-Z][a-zA-Z -]*: (-?[0-9]+[.][0-9]{4}|undefined)$' "$T/out")
[ "$n" -eq 9 ] || fail "$n metric lines with 4 decimals, expected 9"
expect_has stdout "$T/out" "Contingency table (rows: clusters, columns: labels):"
total=$(awk '/^  cluster [0-9]+ / { for (c = 3; c <= NF; c++) s += $c } END { print s + 0 }' "$T/out")
[ "$total" -eq 150 ] || fail "the contingency table counts $total rows, expected 150"
check_profiles "$T/out" 3 4
cp "$T/out" "$T/eval.out"
end

begin "eval --json: one JSON object with the cluster profiles"
run eval --model "$T/model.st" --json data/iris.csv
expect_rc 0
json_check eval "$T/out" 3 labelled "$T/eval.out"
expect_has stdout "$T/out" '"clusters":[{"cluster":0,"size":'
expect_has stdout "$T/out" '"contingency":{'
n=$(grep -o '{"cluster":[0-9]*,"size":[0-9]*,"mean":\[[^]]*\],"min":\[[^]]*\],"max":\[[^]]*\]}' "$T/out" | wc -l | tr -d ' ')
[ "$n" -eq 3 ] || fail "$n cluster profiles with mean, min and max, expected 3"
end

begin "eval on unlabelled data: only the geometry metrics, and a note"
cut -d, -f1-4 data/iris.csv >"$T/unlabelled.csv"
run eval --model "$T/model.st" "$T/unlabelled.csv"
expect_rc 0
expect_has stderr "$T/err" "$T/unlabelled.csv: no label column, so only the metrics that need no labels"
grep -E '^[A-Z][a-zA-Z -]*: (-?[0-9]+[.][0-9]{4}|undefined)$' "$T/out" | sed 's/: .*//' >"$T/titles"
printf '%s\n' Silhouette "Davies-Bouldin index" "Calinski-Harabasz index" >"$T/want3"
cmp -s "$T/titles" "$T/want3" || { fail "metric lines other than the three geometry ones"; show stdout "$T/out"; }
for t in "Clustering accuracy" "Adjusted Rand" "Matched accuracy" "Purity" "Contingency"; do
    expect_lacks stdout "$T/out" "$t"
done
check_profiles "$T/out" 3 4
cp "$T/out" "$T/unlabelled.out"
run eval --model "$T/model.st" --quiet "$T/unlabelled.csv"
expect_rc 0
expect_empty stderr "$T/err"
run eval --model "$T/model.st" --quiet --json "$T/unlabelled.csv"
expect_rc 0
json_check eval "$T/out" 3 unlabelled "$T/unlabelled.out"
expect_lacks stdout "$T/out" '"ari"'
expect_lacks stdout "$T/out" '"contingency"'
end

begin "eval: an empty cluster has a size of 0, no profile lines, and nulls in JSON"
run --quiet --epochs 2 --hidden 8 --batch-size 16 --lr 0.01 --weight-decay 0 --clusters 4 --attention-scale sqrt --candle-compat --save "$T/empty.st"
expect_rc 0
run eval --quiet --model "$T/empty.st" data/iris.csv
expect_rc 0
# (These options leave all rows in one of the 4 clusters.)
grep -q -E '^  cluster [0-3]: 0 rows$' "$T/out" || { fail "no empty cluster among the profiles"; show stdout "$T/out"; }
check_profiles "$T/out" 4 4
cp "$T/out" "$T/empty.out"
run eval --quiet --json --model "$T/empty.st" data/iris.csv
expect_rc 0
json_check eval "$T/out" 4 labelled "$T/empty.out"
expect_has stdout "$T/out" ',"size":0,"mean":[null,null,null,null],"min":[null,null,null,null],"max":[null,null,null,null]}'
end

begin "eval --drop-missing evaluates the complete rows"
run eval --model "$T/model.st" --drop-missing "$FXC/missing.csv"
expect_rc 0
expect_has stdout "$T/out" "Rows: 6"
expect_has stderr "$T/err" "dropped 3 rows with a missing value (the first on line 4)"
run eval --model "$T/model.st" "$FXC/missing.csv"
expect_rc 1
expect_has stderr "$T/err" "$FXC/missing.csv:4:3 (petal_length): "
expect_empty stdout "$T/out"
end

# ------------------------------------------- 13. without labels: k-means, unsupervised

begin "--algorithm kmeans clusters with k-means++ and scores it"
run --quiet --algorithm kmeans
expect_rc 0
expect_has stdout "$T/out" "k-means inertia: 6.98222"
expect_has stdout "$T/out" "Adjusted Rand index: 0.71"
expect_lacks stdout "$T/out" "Epoch "
end

begin "--mode unsupervised trains without labels and says so"
run --quiet --mode unsupervised --epochs 10
expect_rc 0
expect_has stdout "$T/out" "Starting unsupervised training (labels are not used)..."
grep -q -E '^Adjusted Rand index: [01]\.[0-9]{4}$' "$T/out" || fail "no ARI line"
end

begin "--mode unsupervised runs on a file without a label column"
sed 1d data/iris.csv | cut -d, -f1-4 >"$T/nolabel.csv"
run --quiet --mode unsupervised --epochs 4 --data "$T/nolabel.csv" --no-header
expect_rc 0
expect_lacks stdout "$T/out" "True Label"
expect_lacks stdout "$T/out" "Final clustering accuracy"
grep -q -E '^Silhouette: ' "$T/out" || fail "no silhouette line"
end

begin "--mode unsupervised --json reports every epoch of the run, no more"
run --quiet --json --mode unsupervised --epochs 20
expect_rc 0
n=$(grep -o '"epoch":' "$T/out" | wc -l | tr -d ' ')
[ "$n" -eq 20 ] || fail "$n epoch entries, expected 20"
expect_has stdout "$T/out" '"mode":"unsupervised"'
end

begin "sweep prints silhouette, Davies-Bouldin and Calinski-Harabasz per K and marks the best"
run sweep --quiet --algorithm kmeans data/iris.csv
expect_rc 0
rows=$(grep -c -E '^[ *] +[0-9]+ +-?[0-9]\.[0-9]{4} +[0-9]+\.[0-9]{4} +[0-9]+\.[0-9]{4}$' "$T/out")
[ "$rows" -eq 9 ] || { fail "$rows K rows, expected 9 (K = 2..10)"; show stdout "$T/out"; }
stars=$(grep -c '^\*' "$T/out")
[ "$stars" -eq 1 ] || fail "$stars rows marked best, expected 1"
expect_has stdout "$T/out" "Best by silhouette (*): K = 2"
run sweep --quiet --json --clusters 2..4 data/iris.csv
expect_rc 0
expect_has stdout "$T/out" '"command":"sweep"'
expect_has stdout "$T/out" '"best":'
end

begin "train --clusters auto takes the sweep's best K"
run --algorithm kmeans --clusters auto --data data/wine.csv
expect_rc 0
expect_has stderr "$T/err" "Chose K = 3: the best silhouette"
expect_has stdout "$T/out" "Cluster 2:"
expect_lacks stdout "$T/out" "Cluster 3:"
end

usage_error "usage: sweep --clusters 5..3" "--clusters" "5..3" sweep --clusters 5..3 data/iris.csv
usage_error "usage: sweep --mode supervised" "sweep clusters without labels" "" sweep --mode supervised data/iris.csv
usage_error "usage: --mode sideways" "--mode" "sideways" --mode sideways
usage_error "usage: --algorithm kmeans with --folds" "--algorithm kmeans" "" --algorithm kmeans --folds 3

# ------------------------------------------- 14. training that goes wrong stops cleanly

begin "a diverging run (--lr 1e6) stops with exit 1, names epoch and step, writes no model"
run --quiet --lr 1e6 --save "$T/diverged.st"
expect_rc 1
expect_has stderr "$T/err" "training diverged at epoch "
expect_has stderr "$T/err" ", step "
[ -e "$T/diverged.st" ] && fail "a diverged run wrote a model"
end

begin "SIGINT stops training at the end of the step, exits 130, leaves the model file untouched"
run --quiet --epochs 2 --save "$T/kept_int.st"
cp "$T/kept_int.st" "$T/kept_int.orig"
ATTNCLUSTER_TEST_SIGINT_AT_STEP=7 "$BIN" --quiet --save "$T/kept_int.st" >"$T/out" 2>"$T/err" </dev/null
rc=$?
expect_rc 130
expect_has stderr "$T/err" "training interrupted at epoch 2, step 2 of 5"
cmp -s "$T/kept_int.st" "$T/kept_int.orig" || fail "the existing model file changed"
ls -a "$T" | grep -q '\.tmp-' && fail "a temporary file was left behind"
end

# ------------------------------------- 15. the catalogue of bad inputs (README "Limits")

# catalogue NAME FRAGMENT ARGS...: exit 1, FRAGMENT on stderr, and the --save
# target never created.
catalogue() {
    begin "catalogue: $1"
    frag=$2
    shift 2
    rm -f "$T/cat.st"
    run --quiet --save "$T/cat.st" "$@"
    expect_rc 1
    expect_has stderr "$T/err" "$frag"
    [ -e "$T/cat.st" ] && fail "the run created its --save target"
    end
}
mkdir -p "$T/cat"
printf '' >"$T/cat/empty.csv"
printf 'a,b,species\n' >"$T/cat/header_only.csv"
printf 'a,b,species\n1,2,x\n3,4\n' >"$T/cat/ragged.csv"
printf 'a,b,species\n1,2,x\n3,abc,y\n4,5,z\n' >"$T/cat/non_numeric.csv"
printf 'a,b,species\n1,2,x\n3,,y\n4,5,z\n' >"$T/cat/empty_cell.csv"
for v in nan inf 1e39 -0x1p3; do printf 'a,b,species\n1,2,x\n3,%s,y\n4,5,z\n' "$v" >"$T/cat/cell_$v.csv"; done
printf 'a,b,species\n1,2,x\n3,4,"y\n5,6,z\n' >"$T/cat/unterminated.csv"
printf 'a,b,species\n1,2,x\n3,4\000,y\n' >"$T/cat/nul.csv"
printf 'a,b,species\n1,2,x\n' >"$T/cat/one_row.csv"
printf 'a,b,species\n1,2,x\n3,4,y\n' >"$T/cat/two_rows.csv"
{ printf 'a,b,species\n1,2,x\n3,'; head -c 10485760 /dev/zero | tr '\000' '7'; printf ',y\n'; } >"$T/cat/long_line.csv"
printf '\211PNG\r\n\032\n\000\000\000\rIHDR\377\376' >"$T/cat/garbage.csv"
printf 'a,b,species\n1,2,x\n3,4,\377\376\n5,6,x\n' >"$T/cat/bad_utf8.csv"
catalogue "missing file" "cannot open" --data "$T/cat/nope.csv"
catalogue "a directory" "Is a directory" --data "$T/cat"
catalogue "an empty file" "empty file" --data "$T/cat/empty.csv"
catalogue "a header only" "no data rows" --data "$T/cat/header_only.csv"
catalogue "ragged rows" ":3: 2 fields (expected 3" --data "$T/cat/ragged.csv"
catalogue "a non-numeric cell" ":3:2 (b): 'abc' is not a number" --data "$T/cat/non_numeric.csv"
catalogue "an empty cell" ":3:2 (b): empty cell" --data "$T/cat/empty_cell.csv"
catalogue "a nan cell" ":3:2 (b): 'nan' is not a number" --data "$T/cat/cell_nan.csv"
catalogue "an inf cell" ":3:2 (b): 'inf' is not a number" --data "$T/cat/cell_inf.csv"
catalogue "a 1e39 cell" ":3:2 (b): '1e39' is beyond the range of a 32-bit float" --data "$T/cat/cell_1e39.csv"
catalogue "a -0x1p3 cell" ":3:2 (b): '-0x1p3' is not a number" --data "$T/cat/cell_-0x1p3.csv"
catalogue "an unterminated quote" ":3:3: unterminated quoted field" --data "$T/cat/unterminated.csv"
catalogue "a NUL byte" ":3: NUL byte" --data "$T/cat/nul.csv"
catalogue "one row" "1 rows are fewer than the 3 clusters" --data "$T/cat/one_row.csv"
catalogue "fewer rows than clusters" "2 rows are fewer than the 3 clusters" --data "$T/cat/two_rows.csv"
catalogue "a 10 MB line" ":3: a line of 10485764 bytes (expected at most 1048576: the line limit)" --data "$T/cat/long_line.csv"
catalogue "binary garbage" "NUL byte" --data "$T/cat/garbage.csv"
catalogue "invalid UTF-8 in a label" ":3:3 (species): label '??' is not valid UTF-8" --data "$T/cat/bad_utf8.csv"

begin "catalogue: a truncated model file"
run --quiet --epochs 1 --save "$T/cat/good.st"
head -c 1000 "$T/cat/good.st" >"$T/cat/truncated.st"
run predict --model "$T/cat/truncated.st" data/iris.csv --output "$T/cat/pred.csv"
expect_rc 1
expect_has stderr "$T/err" "truncated.st: "
[ -e "$T/cat/pred.csv" ] && fail "predict created its --output"
end

begin "catalogue: a model file of another shape"
run --quiet --epochs 1 --data data/wine.csv --save "$T/cat/wine.st"
run predict --model "$T/cat/wine.st" data/iris.csv --output "$T/cat/pred.csv"
expect_rc 1
expect_has stderr "$T/err" "no column named 'alcohol'"
[ -e "$T/cat/pred.csv" ] && fail "predict created its --output"
end

begin "catalogue: an unwritable output path"
run --quiet --epochs 1 --save /dev/full/model.st
expect_rc 1
expect_has stderr "$T/err" "cannot save"
end

begin "valgrind: the chapter's run has no memory error and no leak"
if command -v valgrind >/dev/null 2>&1; then
    # A build valgrind can run (see the Makefile's test target); else this one.
    valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all \
        "${TEST_VALGRIND_BIN:-$BIN}" --quiet >"$T/out" 2>"$T/err" </dev/null
    rc=$?
    expect_rc 0
    expect_has stdout "$T/out" "Final clustering accuracy"
else
    fail "valgrind is not installed (apt-get install valgrind)"
fi
end

# ------------------------------------------------- 30. pictures (--plot)

# svg_ok LABEL FILE: an SVG document of ours: the XML declaration, an <svg>
# root 800 px wide, closed at the end (test_plot checks the structure in
# depth; here the files the tool writes).
svg_ok() {
    if [ ! -s "$2" ]; then
        fail "$1: no file $2"
        return
    fi
    expect_line1 "$1" "$2" '<?xml version="1.0" encoding="UTF-8"?>'
    expect_has "$1" "$2" '<svg xmlns="http://www.w3.org/2000/svg" width="800"'
    [ "$(tail -n 1 "$2")" = "</svg>" ] || fail "$1 does not end with </svg>"
}

begin "train --plot DIR writes the four pictures, creating DIR"
run --epochs 5 --plot "$T/pics/a/b"
expect_rc 0
for f in training projection attention contingency; do
    svg_ok "$f.svg" "$T/pics/a/b/$f.svg"
done
expect_has stderr "$T/err" "Pictures in $T/pics/a/b: training.svg, projection.svg, attention.svg, contingency.svg"
expect_has stdout "$T/out" "Final clustering accuracy: "
expect_has "training.svg" "$T/pics/a/b/training.svg" "5 epochs"
expect_has "projection.svg" "$T/pics/a/b/projection.svg" "Iris-versicolor"
expect_has "attention.svg" "$T/pics/a/b/attention.svg" "150 of 150 rows"
expect_has "contingency.svg" "$T/pics/a/b/contingency.svg" "150 rows"
# the same run writes the same bytes; the stdout is the run without --plot's
run --epochs 5 --plot "$T/pics/again"
cmp -s "$T/pics/a/b/projection.svg" "$T/pics/again/projection.svg" || fail "projection.svg differs between two runs"
cmp -s "$T/pics/a/b/attention.svg" "$T/pics/again/attention.svg" || fail "attention.svg differs between two runs"
"$BIN" --epochs 5 >"$T/noplot.out" 2>/dev/null </dev/null
cmp -s "$T/out" "$T/noplot.out" || fail "--plot changed what is printed on stdout"
end

begin "--plot --quiet: no note on stderr"
run --epochs 2 --plot "$T/pics/quiet" --quiet
expect_rc 0
expect_empty stderr "$T/err"
svg_ok projection.svg "$T/pics/quiet/projection.svg"
end

begin "--plot without labels: no contingency table"
run --data data/iris.csv --no-label --mode unsupervised --epochs 4 --plot "$T/pics/unl" --quiet
expect_rc 0
for f in training projection attention; do
    svg_ok "$f.svg" "$T/pics/unl/$f.svg"
done
[ -e "$T/pics/unl/contingency.svg" ] && fail "contingency.svg without labels"
expect_lacks "projection.svg" "$T/pics/unl/projection.svg" "True label"
end

begin "--plot with k-means: the projection and the contingency table"
run --algorithm kmeans --plot "$T/pics/km"
expect_rc 0
svg_ok projection.svg "$T/pics/km/projection.svg"
svg_ok contingency.svg "$T/pics/km/contingency.svg"
[ -e "$T/pics/km/training.svg" ] && fail "training.svg for k-means"
[ -e "$T/pics/km/attention.svg" ] && fail "attention.svg for k-means"
expect_has stderr "$T/err" "Pictures in $T/pics/km: projection.svg, contingency.svg"
end

begin "--plot on a regular file: a runtime error naming it"
: >"$T/pics/plainfile"
run --epochs 2 --quiet --plot "$T/pics/plainfile"
expect_rc 1
expect_has stderr "$T/err" "$T/pics/plainfile: not a directory"
end

usage_error "--plot with --folds" "--plot draws one run on all rows" "--folds" --plot "$T/x" --folds 3
usage_error "--plot on predict" "--plot is not an option of 'predict'" "" predict --model m --plot d x.csv
usage_error "--plot with an empty name" "--plot: an empty directory name" "" --plot ""

begin "eval --plot: the pictures of a saved model on new rows"
run --epochs 8 --quiet --save "$T/plot.st"
expect_rc 0
run eval --model "$T/plot.st" --plot "$T/pics/eval" data/iris.csv
expect_rc 0
for f in training projection attention contingency; do
    svg_ok "$f.svg" "$T/pics/eval/$f.svg"
done
expect_has "training.svg" "$T/pics/eval/training.svg" "8 epochs"
expect_has "attention.svg" "$T/pics/eval/attention.svg" "reference context"
run eval --model "$T/plot.st" --context batch --plot "$T/pics/evalb" --quiet data/iris.csv
expect_rc 0
expect_has "attention.svg" "$T/pics/evalb/attention.svg" "batch context"
end

begin "eval --plot on a model without a training history: no training.svg, said"
run eval --model tests/fixtures/reference_model.safetensors --plot "$T/pics/ref" data/iris.csv
expect_rc 0
[ -e "$T/pics/ref/training.svg" ] && fail "training.svg without a history"
svg_ok projection.svg "$T/pics/ref/projection.svg"
expect_has stderr "$T/err" "records no training history, so no training.svg"
end

# ------------------------------------------------- 31. predict --json

cat >"$T/check_lines.py" <<'PYEOF'
import json, sys
rows, K, labelled = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "labelled"
problems = []
lines = sys.stdin.read().split("\n")
if lines[-1] != "":
    problems.append("no final newline")
lines = lines[:-1]
if len(lines) != rows:
    problems.append("%d lines, expected %d" % (len(lines), rows))
def refuse(name):
    raise ValueError(name)
for i, line in enumerate(lines):
    try:
        d = json.loads(line, parse_constant=refuse)
    except ValueError as e:
        problems.append("line %d is not JSON: %s" % (i + 1, e))
        break
    want = ["schema", "row", "cluster", "probabilities", "label"] + (["true_label"] if labelled else [])
    if list(d) != want:
        problems.append("line %d keys %r, expected %r" % (i + 1, list(d), want))
        break
    p = d["probabilities"]
    if d["schema"] != "attncluster.v1" or d["row"] != i or len(p) != K or \
            abs(sum(p) - 1) > 1e-5 or max(range(K), key=lambda k: p[k]) != d["cluster"]:
        problems.append("line %d: %r" % (i + 1, d))
        break
print("; ".join(problems))
sys.exit(1 if problems else 0)
PYEOF

begin "predict --json: one JSON object per row, the CSV's numbers"
run --epochs 5 --quiet --save "$T/json_predict.st"
run predict --model "$T/json_predict.st" --json --quiet data/iris.csv
expect_rc 0
expect_empty stderr "$T/err"
lines=$(wc -l <"$T/out" | tr -d ' ')
[ "$lines" -eq 150 ] || fail "stdout has $lines lines, expected 150"
expect_line1 stdout "$T/out" "$(head -n 1 "$T/out" | grep -E '^\{"schema":"attncluster.v1","row":0,"cluster":[0-2],"probabilities":\[[^]]*\],"label":"Iris-[a-z]*","true_label":"Iris-setosa"\}$')"
[ -n "$(head -n 1 "$T/out")" ] || fail "empty first line"
if [ -x "$PY" ]; then
    problem=$("$PY" "$T/check_lines.py" 150 3 labelled <"$T/out" 2>&1) || fail "JSON lines: $problem"
fi
# the same clusters and probabilities as the CSV
"$BIN" predict --model "$T/json_predict.st" --quiet data/iris.csv >"$T/pred.csv" 2>/dev/null
sed -e 's/^{"schema":"attncluster.v1","row":\([0-9]*\),"cluster":\([0-9]*\),"probabilities":\[\([^]]*\)\],"label":\("[^"]*"\).*/\1,\2,\3,\4/' -e 's/"//g' "$T/out" >"$T/pred_from_json.csv"
tail -n +2 "$T/pred.csv" | cmp -s - "$T/pred_from_json.csv" || fail "the JSON lines differ from the CSV rows"
end

begin "predict --json --output, without a label column: no true_label"
run predict --model "$T/json_predict.st" --json --quiet --no-label --output "$T/pred.jsonl" data/iris.csv
expect_rc 0
expect_empty stdout "$T/out"
expect_lacks "pred.jsonl" "$T/pred.jsonl" "true_label"
lines=$(wc -l <"$T/pred.jsonl" | tr -d ' ')
[ "$lines" -eq 150 ] || fail "pred.jsonl has $lines lines, expected 150"
if [ -x "$PY" ]; then
    problem=$("$PY" "$T/check_lines.py" 150 3 unlabelled <"$T/pred.jsonl" 2>&1) || fail "JSON lines: $problem"
fi
end

begin "predict --json: the schema of train --json and eval --json"
run --epochs 2 --quiet --json
s1=$(grep -o '^{"schema":"[^"]*"' "$T/out")
run eval --model "$T/json_predict.st" --quiet --json data/iris.csv
s2=$(grep -o '^{"schema":"[^"]*"' "$T/out")
run predict --model "$T/json_predict.st" --quiet --json data/iris.csv
s3=$(head -n 1 "$T/out" | grep -o '^{"schema":"[^"]*"')
[ -n "$s1" ] && [ "$s1" = "$s2" ] && [ "$s2" = "$s3" ] || fail "schemas differ: '$s1' '$s2' '$s3'"
end

# ------------------------------------------------- 32. progress wherever one waits

# under_terminal COMMAND: runs it under a pseudo-terminal, output in $T/out.
under_terminal() {
    script -qec "$1" /dev/null >"$T/out" 2>"$T/err" </dev/null
    rc=$?
}

begin "progress bar over folds on a terminal, with rate and time left"
if command -v script >/dev/null 2>&1; then
    under_terminal "'$BIN' --folds 3 --epochs 2"
    expect_rc 0
    expect_has "terminal output" "$T/out" " 3/3 ["
    grep -q -E '3/3 \[[0-9:]+<[0-9:]+, [0-9.]+(folds/s|s/folds)\]' "$T/out" || fail "no rate and time left in the folds bar"
    under_terminal "'$BIN' --folds 3 --epochs 2 --quiet"
    expect_lacks "terminal output" "$T/out" "%|"
else
    fail "util-linux 'script' not found"
fi
end

begin "progress bar over K in a sweep on a terminal"
if command -v script >/dev/null 2>&1; then
    under_terminal "'$BIN' sweep --algorithm kmeans --clusters 2..5 data/iris.csv"
    expect_rc 0
    grep -q -E '4/4 \[[0-9:]+<[0-9:]+, [0-9.]+(K/s|s/K)\]' "$T/out" || fail "no K bar with rate and time left"
    expect_has "terminal output" "$T/out" "Best by silhouette"
    under_terminal "'$BIN' sweep --algorithm kmeans --clusters 2..5 --quiet data/iris.csv"
    expect_lacks "terminal output" "$T/out" "%|"
else
    fail "util-linux 'script' not found"
fi
end

begin "progress bar over a large prediction on a terminal"
if command -v script >/dev/null 2>&1; then
    # 60,000 rows: Iris's 150, 400 times
    { head -n 1 data/iris.csv; i=0; while [ $i -lt 400 ]; do tail -n +2 data/iris.csv; i=$((i + 1)); done; } >"$T/big.csv"
    under_terminal "'$BIN' predict --model '$T/json_predict.st' --output '$T/big.out' '$T/big.csv'"
    expect_rc 0
    grep -q -E '60000/60000 \[[0-9:]+<[0-9:]+, [0-9.]+(rows/s|s/rows)\]' "$T/out" || fail "no rows bar with rate and time left"
    # sliced, the predictions are those of one pass (the reference context)
    "$BIN" predict --model "$T/json_predict.st" --quiet "$T/big.csv" >"$T/big2.out" 2>/dev/null
    cmp -s "$T/big.out" "$T/big2.out" || fail "the sliced prediction differs"
    [ "$(wc -l <"$T/big.out" | tr -d ' ')" -eq 60001 ] || fail "not 60,000 rows predicted"
    under_terminal "'$BIN' predict --quiet --model '$T/json_predict.st' --output '$T/big.out' '$T/big.csv'"
    expect_lacks "terminal output" "$T/out" "%|"
else
    fail "util-linux 'script' not found"
fi
end

# ------------------------------------------------------------------ summary

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
