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

# check_report FILE SOURCE ROWS TOTAL_EPOCHS "EPOCH LIST" K: checks the
# whole stdout of a successful run, line by line (blank lines are ignored):
# the "Loaded" lines, the epoch lines, the accuracy, then K clusters of at
# most 5 sample lines each, in increasing sample order. Prints the first
# problem and fails when there is one.
check_report() {
    problem=$(awk -v src="$2" -v rows="$3" -v total="$4" -v want="$5" -v K="$6" '
        function bad(m) { if (err == "") err = "line " NR ": " m "; saw: " $0 }
        BEGIN {
            st = 0; ne = 0; nw = split(want, w, " "); nc = 0; shown = 0; err = ""
            num4 = "[0-9]+[.][0-9][0-9][0-9][0-9]"
            acc4 = "[01][.][0-9][0-9][0-9][0-9]"
            epoch_re = "^Epoch [0-9]+/" total ": Loss = " num4 ", Accuracy = " acc4 "$"
            f2 = "[0-9][.][0-9][0-9]"
            sample_re = "^  Sample [0-9]+: Features = [[]" f2 ", " f2 ", " f2 ", " f2 \
                        "[]], True Label = [012]$"
        }
        /^$/ { next }
        st == 0 {
            if ($0 != "Loaded " rows " samples from " src) bad("expected \"Loaded " rows " samples from " src "\"")
            st = 1; next
        }
        st == 1 {
            if ($0 != "Loaded Iris dataset: " rows " samples") bad("expected \"Loaded Iris dataset: " rows " samples\"")
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
            if ($0 != "Sample cluster assignments:") bad("expected \"Sample cluster assignments:\"")
            st = 5; next
        }
        st == 5 && /^Cluster / {
            if ($0 != "Cluster " nc ":") bad("expected \"Cluster " nc ":\"")
            nc++; inc = 0; last = -1; next
        }
        st == 5 && /^  Sample / {
            if (nc == 0) bad("sample line before the first cluster")
            if ($0 !~ sample_re) bad("sample line does not match " sample_re)
            idx = $2; sub(/:$/, "", idx); idx += 0
            if (idx <= last) bad("sample index " idx " not above the previous " last)
            if (idx >= rows) bad("sample index " idx " beyond the " rows " rows")
            last = idx; inc++; shown++
            if (inc > 5) bad("more than 5 samples in cluster " (nc - 1))
            next
        }
        { bad("unexpected line") }
        END {
            if (err == "" && st < 5) err = "output ends early (stage " st ")"
            if (err == "" && nc != K) err = "expected " K " clusters, saw " nc
            if (err == "" && rows <= 5 && shown != rows) err = "expected all " rows " rows among the samples, saw " shown
            if (err != "") { print err; exit 1 }
        }' "$1")
    if [ -n "$problem" ]; then
        fail "stdout: $problem"
    fi
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

# loads_ok NAME FILE ROWS [REFERENCE]: FILE loads and trains (2 epochs);
# with REFERENCE, a file of the same rows written plainly, the stdout from
# line 2 on is the same as REFERENCE's.
loads_ok() {
    begin "$1"
    run --quiet --epochs 2 --data "$2"
    expect_rc 0
    expect_empty stderr "$T/err"
    check_report "$T/out" "$2" "$3" 2 "1 2" 3
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
expect_empty stderr "$T/err"
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
expect_empty stderr "$T/err"
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
check_report "$T/out" - 150 2 "1 2" 3
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
    --seed --attention-scale --candle-compat --quiet --version; do
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
runtime_error "runtime: non-numeric cell" load "$FX/bad_number.csv:3: " \
    "'abc'|column 2|(expected " --data "$FX/bad_number.csv"
runtime_error "runtime: too few columns" load "$FX/too_few_columns.csv:3: " \
    "4 fields|(expected 5" --data "$FX/too_few_columns.csv"
runtime_error "runtime: unknown species" load "$FX/unknown_species.csv:3: " \
    "unknown species|Iris-rosea|(expected " --data "$FX/unknown_species.csv"
runtime_error "runtime: empty file" load "$FX/empty.csv:1: " \
    "empty file|(expected " --data "$FX/empty.csv"
runtime_error "runtime: header only" load "$FX/header_only.csv:2: " \
    "no data rows|(expected " --data "$FX/header_only.csv"
runtime_error "runtime: empty cell" load "$FX/empty_cell.csv:3: " \
    "column 3|is empty|(expected " --data "$FX/empty_cell.csv"
runtime_error "runtime: nan cell" load "$FX/nan_cell.csv:3: " \
    "'nan'|not a number|(expected " --data "$FX/nan_cell.csv"
runtime_error "runtime: inf cell" load "$FX/inf_cell.csv:3: " \
    "'inf'|not a number|(expected " --data "$FX/inf_cell.csv"
runtime_error "runtime: 1e39 cell" load "$FX/huge_cell.csv:3: " \
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

loads_ok "loads: a constant column" "$FX/constant_column.csv" 5
begin "constant column prints as 0.00"
run --quiet --epochs 2 --data "$FX/constant_column.csv"
expect_rc 0
col=$(grep '^  Sample ' "$T/out" | sed 's/.*\[\(.*\)\].*/\1/' | cut -d, -f2 | sort -u | tr '\n' ' ')
[ "$col" = " 0.00 " ] || fail "feature 2 of the sample lines: '$col', expected ' 0.00' on every line"
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

# ------------------------------------------------------------------ summary

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
