#!/bin/sh
# Checks that model files cross between attncluster and PyTorch both ways:
#   1. attncluster trains and saves a model; bench/reference/predict_reference.py
#      loads it into PyTorch under the chapter's tensor names and must predict
#      the same cluster for every row as 'attncluster predict';
#   2. the model written by train_reference.py (PyTorch) must predict in
#      attncluster what PyTorch predicted.
# Needs Debian's python3-torch; run from the repository root after 'make':
#   sh bench/reference/check_interop.sh [SEED...]
set -u
PY=/usr/bin/python3
BIN=build/attncluster
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
status=0
for seed in ${@:-1 2 3}; do
    for mode in "" "--attention-scale sqrt" "--candle-compat" "--normalize zscore"; do
        # shellcheck disable=SC2086
        $BIN --quiet --seed "$seed" $mode --save "$T/m.st" >/dev/null || exit 1
        $BIN predict --model "$T/m.st" data/iris.csv | cut -d, -f1,2 >"$T/c.csv"
        $PY bench/reference/predict_reference.py "$T/m.st" data/iris.csv >"$T/torch.csv" || exit 1
        if cmp -s "$T/c.csv" "$T/torch.csv"; then
            echo "seed $seed ${mode:-default}: attncluster file -> PyTorch: same clusters"
        else
            echo "seed $seed ${mode:-default}: attncluster file -> PyTorch: DIFFERENT clusters"
            status=1
        fi
    done
done
$BIN predict --model tests/fixtures/reference_model.safetensors data/iris.csv | cut -d, -f1,2 >"$T/c.csv"
if cmp -s "$T/c.csv" tests/fixtures/reference_model_predictions.csv; then
    echo "PyTorch file -> attncluster: same clusters"
else
    echo "PyTorch file -> attncluster: DIFFERENT clusters"
    status=1
fi
exit $status
