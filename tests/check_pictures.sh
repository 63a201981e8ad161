#!/bin/sh
# check_pictures.sh - renders every picture the tool draws in headless
# Chromium and checks that the rendering is not blank.
#
#   sh tests/check_pictures.sh PATH_TO_attncluster OUT_DIR [CHROMIUM]
#
# (make check-pictures runs it, installing Debian's chromium when missing.)
# The pictures of four runs are written under OUT_DIR: the chapter's Iris
# run, an unsupervised run without labels, a saved model evaluated on new
# rows, and k-means on Wine. Each SVG is loaded by Chromium as an image
# (from a data: URL, so that nothing outside the file is reached), drawn on
# a white canvas of its own size, and its pixels counted in a page whose
# result Chromium prints with --dump-dom. A picture passes when Chromium
# decodes it at 800 px wide and at least 2% of its pixels are not white, in
# at least 4 distinct colours. A PNG screenshot of each is left beside it
# (OUT_DIR/*/NAME.png) for a person to look at. Ends "N passed, N failed".

BIN=$1
OUT=$2
CHROMIUM=${3:-chromium}
passed=0
failed=0

if [ -z "$BIN" ] || [ -z "$OUT" ]; then
    echo "usage: sh tests/check_pictures.sh PATH_TO_attncluster OUT_DIR [CHROMIUM]" >&2
    exit 2
fi
if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    echo "check_pictures: '$CHROMIUM' not found (apt-get install chromium)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

ok() { echo "ok - $1"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $1"; failed=$((failed + 1)); }

rm -rf "$OUT"
mkdir -p "$OUT"
# Chromium wants a writable home for its profile.
export HOME="${OUT}/.home"
mkdir -p "$HOME"

run_tool() {
    label=$1
    shift
    if "$BIN" "$@" >"$OUT/$label.out" 2>"$OUT/$label.err" </dev/null; then
        ok "attncluster $*"
    else
        not_ok "attncluster $* (exit $?): $(head -n 3 "$OUT/$label.err")"
    fi
}

run_tool iris --quiet --plot "$OUT/iris"
run_tool unlabelled --quiet --data data/stretched.csv --no-label --mode unsupervised \
    --clusters 4 --plot "$OUT/unlabelled"
run_tool save --quiet --data data/wine.csv --save "$OUT/wine.safetensors"
run_tool eval eval --quiet --model "$OUT/wine.safetensors" --plot "$OUT/eval" data/wine.csv
run_tool kmeans --quiet --data data/wine.csv --algorithm kmeans --plot "$OUT/kmeans"

# render SVG: prints "RESULT ok WIDTH HEIGHT NON_WHITE COLOURS" or "RESULT error WHY"
render() {
    page="${1%.svg}.check.html"
    {
        printf '<!DOCTYPE html><html><body><pre id="r">RESULT pending</pre><script>\n'
        printf 'var img = new Image();\n'
        printf 'img.onload = function () {\n'
        printf '  try {\n'
        printf '    var c = document.createElement("canvas");\n'
        printf '    c.width = img.naturalWidth; c.height = img.naturalHeight;\n'
        printf '    var g = c.getContext("2d");\n'
        printf '    g.fillStyle = "#ffffff"; g.fillRect(0, 0, c.width, c.height);\n'
        printf '    g.drawImage(img, 0, 0);\n'
        printf '    var d = g.getImageData(0, 0, c.width, c.height).data, non = 0, seen = {};\n'
        printf '    for (var i = 0; i < d.length; i += 4) {\n'
        printf '      if (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245) non++;\n'
        printf '      seen[(d[i] >> 4) + "," + (d[i + 1] >> 4) + "," + (d[i + 2] >> 4)] = 1;\n'
        printf '    }\n'
        printf '    document.getElementById("r").textContent = ["RESULT", "ok", c.width, c.height, non, Object.keys(seen).length].join(" ");\n'
        printf '  } catch (e) { document.getElementById("r").textContent = "RESULT error " + e; }\n'
        printf '};\n'
        printf 'img.onerror = function () { document.getElementById("r").textContent = "RESULT error the image did not decode"; };\n'
        printf 'img.src = "data:image/svg+xml;base64,'
        base64 -w0 "$1"
        printf '";\n</script></body></html>\n'
    } >"$page"
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --dump-dom --virtual-time-budget=10000 "file://$(cd "$(dirname "$page")" && pwd)/$(basename "$page")" \
        2>/dev/null | sed -n 's/.*<pre id="r">\(RESULT [^<]*\)<.*/\1/p' | head -n 1
}

count=0
for svg in "$OUT"/*/*.svg; do
    [ -e "$svg" ] || continue
    count=$((count + 1))
    name=${svg#"$OUT"/}
    result=$(render "$svg")
    set -- $result
    if [ "$2" != ok ]; then
        not_ok "$name: Chromium did not render it (${result:-no result})"
        continue
    fi
    width=$3 height=$4 non=$5 colours=$6
    share=$((100 * non / (width * height)))
    if [ "$width" -ne 800 ]; then
        not_ok "$name: rendered $width px wide, expected 800"
    elif [ $((50 * non)) -lt $((width * height)) ]; then
        not_ok "$name: only $non of $((width * height)) pixels are not white (blank?)"
    elif [ "$colours" -lt 4 ]; then
        not_ok "$name: only $colours colours"
    else
        ok "$name: ${width}x${height}, ${share}% not white, $colours colours"
    fi
    # a screenshot for people
    timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --window-size="$width,$height" --screenshot="${svg%.svg}.png" "file://$(cd "$(dirname "$svg")" && pwd)/$(basename "$svg")" \
        >/dev/null 2>&1 || true
done
# iris 4 + unlabelled 3 + eval 4 + kmeans 2
if [ "$count" -eq 13 ]; then ok "13 pictures drawn"; else not_ok "$count pictures drawn, expected 13"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
