#!/bin/sh
# test_install.sh BUILD_DIR - installs what BUILD_DIR holds into a temporary
# prefix (make install PREFIX=... BUILD=BUILD_DIR) and checks it the way a
# user of the installed copy would meet it:
#
#   - every file is there, with its mode, the shared library's symlinks and
#     soname, and nothing else is installed;
#   - pkg-config finds the library (version, flags, private libraries);
#   - examples/cluster.c builds against the installed header alone, linked
#     with the shared library and, once more, statically, and clusters Iris
#     sensibly (3 clusters, 150 rows, a good ARI), reading a CSV file too, and
#     reports errors with the library's message;
#   - the shared library exports exactly the functions the header declares
#     (so internal ac_* helpers such as ac_alloc stay hidden);
#   - the version: ac_version() == AC_VERSION_STRING == MAJOR.MINOR.PATCH,
#     AC_VERSION_NUMBER, attncluster --version and the man page agree;
#   - the man page: groff reads it without a warning, and every long option
#     that attncluster --help prints has an entry in it;
#   - DESTDIR stages an installation without entering the pkg-config file;
#   - make uninstall removes every installed file and nothing else.
#
# Prints "ok - ..." / "not ok - ..." lines and "N passed, N failed"; exits
# non-zero on a failure. Run from anywhere; the build must exist (make).
set -u

if [ $# -ne 1 ]; then
    echo "usage: sh tests/test_install.sh BUILD_DIR" >&2
    exit 2
fi
build=$1
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
cd "$root" || exit 1

MAKE=${MAKE:-make}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
WARN="-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wdouble-promotion -Werror"

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
# not_ok DESCRIPTION [DETAILS]: details are shown indented under '#'.
not_ok() {
    fail=$((fail + 1))
    echo "not ok - $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed 's/^/#   /'; fi
}
skip() { pass=$((pass + 1)); echo "ok - $1 # SKIP $2"; }
# check DESCRIPTION COMMAND...: ok when the command succeeds; its output
# is shown when it fails.
check() {
    desc=$1
    shift
    if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc" "$out"; fi
}
# only_in A B: the lines of the sorted list A that the sorted list B lacks.
only_in() {
    printf '%s\n' "$1" > "$tmp/a"
    printf '%s\n' "$2" > "$tmp/b"
    LC_ALL=C comm -23 "$tmp/a" "$tmp/b" | grep .
}
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attncluster-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
prefix=$tmp/prefix

# The version, read from the header here (the Makefile reads it itself).
hdr=include/attncluster.h
major=$(sed -n 's/^#define AC_VERSION_MAJOR  *\([0-9][0-9]*\)$/\1/p' $hdr)
minor=$(sed -n 's/^#define AC_VERSION_MINOR  *\([0-9][0-9]*\)$/\1/p' $hdr)
patch=$(sed -n 's/^#define AC_VERSION_PATCH  *\([0-9][0-9]*\)$/\1/p' $hdr)
version=$(sed -n 's/^#define AC_VERSION_STRING  *"\(.*\)"$/\1/p' $hdr)
if [ "$version" = "$major.$minor.$patch" ]; then
    ok "the header's version $version is AC_VERSION_MAJOR.MINOR.PATCH"
else
    not_ok "the header's AC_VERSION_STRING '$version' is not '$major.$minor.$patch'"
fi

# ------------------------------------------------------------------ install
# DESTDIR= explicitly: a DESTDIR in the environment must not move the files.
if out=$($MAKE --no-print-directory install BUILD="$build" PREFIX="$prefix" DESTDIR= 2>&1); then
    ok "make install PREFIX=\$tmp BUILD=$1"
else
    not_ok "make install PREFIX=\$tmp BUILD=$1" "$out"
    finish
fi

lib=$prefix/lib
so=libattncluster.so.$version
expected="bin/attncluster
include/attncluster.h
lib/$so
lib/libattncluster.a
lib/libattncluster.so
lib/libattncluster.so.$major
lib/pkgconfig/attncluster.pc
share/man/man1/attncluster.1"
got=$(cd "$prefix" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)
expected=$(printf '%s\n' "$expected" | LC_ALL=C sort)
if [ "$got" = "$expected" ]; then
    ok "exactly the 8 expected files are installed"
else
    not_ok "the installed files differ from the expected ones" \
        "$(printf 'expected:\n%s\ninstalled:\n%s' "$expected" "$got")"
fi

# mode_is FILE MODE: the ls -l mode string of a regular file.
mode_is() {
    if [ ! -f "$1" ] || [ -L "$1" ]; then
        echo "$1: not a regular file"
        return 1
    fi
    m=$(ls -l "$1" | cut -c1-10)
    [ "$m" = "$2" ] || { echo "$1: mode $m, expected $2"; return 1; }
}
check "bin/attncluster is an executable (755)" mode_is "$prefix/bin/attncluster" -rwxr-xr-x
check "lib/$so is a file (755)" mode_is "$lib/$so" -rwxr-xr-x
for f in lib/libattncluster.a include/attncluster.h lib/pkgconfig/attncluster.pc \
    share/man/man1/attncluster.1; do
    check "$f is a file (644)" mode_is "$prefix/$f" -rw-r--r--
done
link_is() {
    [ -L "$1" ] || { echo "$1: not a symlink"; return 1; }
    t=$(readlink "$1")
    [ "$t" = "$2" ] || { echo "$1 -> $t, expected $2"; return 1; }
}
check "lib/libattncluster.so.$major -> $so" link_is "$lib/libattncluster.so.$major" "$so"
check "lib/libattncluster.so -> libattncluster.so.$major" link_is "$lib/libattncluster.so" \
    "libattncluster.so.$major"
soname=$(readelf -d "$lib/$so" 2>&1 | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p')
if [ "$soname" = "libattncluster.so.$major" ]; then
    ok "the shared library's soname is libattncluster.so.$major"
else
    not_ok "the shared library's soname is '$soname', expected libattncluster.so.$major"
fi
if cmp -s "$hdr" "$prefix/include/attncluster.h"; then
    ok "the installed header is include/attncluster.h"
else
    not_ok "the installed header differs from include/attncluster.h"
fi

# ---------------------------------------------------------- exported symbols
# The functions the header declares: comments and preprocessor lines (with
# their continuations) removed, every 'ac_name(' left. A function-pointer
# typedef, '(*ac_name)(', is not a function.
declared=$(awk '
    cont { cont = /\\$/; next }
    {
        line = $0; out = ""
        while (line != "") {
            if (incomment) {
                i = index(line, "*/")
                if (i == 0) line = ""; else { line = substr(line, i + 2); incomment = 0 }
            } else {
                i = index(line, "/*")
                if (i == 0) { out = out line; line = "" }
                else { out = out substr(line, 1, i - 1) " "; line = substr(line, i + 2); incomment = 1 }
            }
        }
        if (out ~ /^[ \t]*#/) { cont = /\\$/; next }
        print out
    }' $hdr | grep -o '\bac_[a-z0-9_]*[[:space:]]*(' | tr -d ' \t(' | LC_ALL=C sort -u)
exported=$(nm -D --defined-only "$lib/$so" | awk 'NF { print $NF }' | sed 's/@.*//' |
    LC_ALL=C sort -u)
ndecl=$(printf '%s\n' "$declared" | grep -c .)
missing=$(only_in "$declared" "$exported")
extra=$(only_in "$exported" "$declared")
if [ "$ndecl" -gt 50 ] && [ -z "$missing" ] && [ -z "$extra" ]; then
    ok "the shared library exports exactly the $ndecl functions of the header"
else
    not_ok "the shared library's exports differ from the header's $ndecl functions" \
        "$(printf 'declared, not exported: %s\nexported, not declared: %s' \
            "$(echo $missing)" "$(echo $extra)")"
fi
leaked=$(printf '%s\n' "$exported" | grep -x -E 'ac_alloc|ac_calloc|ac_free|ac_set_error|ac_rng_.*|model_.*|json_.*|sbuf_.*|st_.*|trainer_.*')
if [ -z "$leaked" ]; then
    ok "no internal function (ac_alloc, ac_set_error, ac_rng_*, ...) is exported"
else
    not_ok "internal functions are exported" "$(echo $leaked)"
fi

# ------------------------------------------------------------------ pkg-config
# pc ARGS: pkg-config's answer with its spaces normalised (pkgconf ends
# its lines with one).
pc() {
    r=$(PKG_CONFIG_PATH=$lib/pkgconfig $PKG_CONFIG "$@" 2>&1) || { echo "$r"; return 1; }
    echo $r
}
have_pc=0
command -v "$PKG_CONFIG" >/dev/null 2>&1 && have_pc=1
if [ $have_pc = 1 ]; then
    v=$(pc --modversion attncluster 2>&1)
    [ "$v" = "$version" ] && ok "pkg-config --modversion is $version" ||
        not_ok "pkg-config --modversion: '$v', expected $version"
    c=$(pc --cflags attncluster 2>&1)
    [ "$c" = "-I$prefix/include" ] && ok "pkg-config --cflags is -I\$prefix/include" ||
        not_ok "pkg-config --cflags: '$c', expected -I$prefix/include"
    l=$(pc --libs attncluster 2>&1)
    [ "$l" = "-L$lib -lattncluster" ] && ok "pkg-config --libs is -L\$prefix/lib -lattncluster" ||
        not_ok "pkg-config --libs: '$l', expected -L$lib -lattncluster"
    s=$(pc --static --libs attncluster 2>&1)
    case " $s " in
    *" -lattncluster "*"-lm "*) ok "pkg-config --static --libs adds -lm ($s)" ;;
    *) not_ok "pkg-config --static --libs: '$s' lacks -lattncluster ... -lm" ;;
    esac
    cflags=$c
    libs=$l
    static_libs=$(printf '%s\n' "$s" | sed 's/-lattncluster/-l:libattncluster.a/')
else
    skip "pkg-config finds the library" "no $PKG_CONFIG"
    cflags="-I$prefix/include"
    libs="-L$lib -lattncluster"
    static_libs="-L$lib -l:libattncluster.a -lm $(sed -n 's/^Libs.private: -lm//p' \
        "$lib/pkgconfig/attncluster.pc")"
fi

# -------------------------------------------------------------- the example
# cluster_sane OUTPUT ROWS: 3 clusters whose sizes sum to ROWS and an ARI of
# at least 0.5 (the attention model reaches about 0.9 on Iris).
cluster_sane() {
    printf '%s\n' "$1" | awk -v rows="$2" '
        /^cluster [0-9]+: [0-9]+ rows$/ { k++; n += $3 }
        /^adjusted Rand index: / { ari = $4; seen = 1 }
        END {
            if (k != 3 || n != rows || !seen || ari < 0.5) {
                printf "%d clusters, %d rows, ARI %s\n", k, n, seen ? ari : "missing"
                exit 1
            }
        }'
}

# run_example NAME BINARY: runs it on the built-in Iris and checks.
run_example() {
    if out=$("$2" 2>"$tmp/stderr"); then
        first=$(printf '%s\n' "$out" | head -n 1)
        if [ "$first" != "attncluster $version" ]; then
            not_ok "$1: the first line '$first' is not 'attncluster $version'"
        elif why=$(cluster_sane "$out" 150); then
            ok "$1: built-in Iris, 3 clusters of 150 rows, ARI $(printf '%s\n' "$out" |
                sed -n 's/^adjusted Rand index: //p')"
        else
            not_ok "$1: the output does not make sense: $why" "$out"
        fi
    else
        not_ok "$1 exits with status $?" "$out$(cat "$tmp/stderr")"
    fi
}

# The example builds with the project's warnings, as errors, from the
# installed header alone (no -Iinclude, no -Isrc).
if out=$($CC $WARN -O2 examples/cluster.c $cflags $libs -Wl,-rpath,"$lib" \
    -o "$tmp/cluster" 2>&1); then
    ok "examples/cluster.c builds against the installed shared library"
    needed=$(readelf -d "$tmp/cluster" | sed -n 's/.*(NEEDED).*\[\(.*\)\].*/\1/p' | tr '\n' ' ')
    case " $needed " in
    *" libattncluster.so.$major "*) ok "it needs libattncluster.so.$major (the soname)" ;;
    *) not_ok "it does not need libattncluster.so.$major: $needed" ;;
    esac
    run_example "cluster (shared)" "$tmp/cluster"

    # The same data from data/iris.csv: the same clusters as the built-in copy.
    if csv=$("$tmp/cluster" data/iris.csv 2>/dev/null) && cluster_sane "$csv" 150 >/dev/null &&
        [ "$(printf '%s\n' "$csv" | grep -v '^data:')" = \
          "$(printf '%s\n' "$out" | grep -v '^data:')" ]; then
        ok "cluster data/iris.csv: the same clusters as the built-in copy"
    else
        not_ok "cluster data/iris.csv: not the built-in copy's result" "$csv"
    fi
    # Errors come with the library's message and exit status 1.
    printf 'a,b,label\n1,2,x\n3,oops,y\n' > "$tmp/bad.csv"
    err=$("$tmp/cluster" "$tmp/bad.csv" 2>&1 >/dev/null)
    rc=$?
    case "$rc:$err" in
    1:*"bad.csv:3:2"*"not a number"*) ok "cluster reports a malformed CSV with its place (status 1)" ;;
    *) not_ok "cluster on a malformed CSV: status $rc" "$err" ;;
    esac
    err=$("$tmp/cluster" "$tmp/missing.csv" 2>&1 >/dev/null)
    rc=$?
    case "$rc:$err" in
    1:*missing.csv*) ok "cluster reports a missing file (status 1)" ;;
    *) not_ok "cluster on a missing file: status $rc" "$err" ;;
    esac
    "$tmp/cluster" a b c >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] && ok "cluster with too many arguments: status 2" ||
        not_ok "cluster with too many arguments: status $rc, expected 2"
else
    not_ok "examples/cluster.c does not build against the installed shared library" "$out"
fi

if out=$($CC $WARN -O2 examples/cluster.c $cflags $static_libs -o "$tmp/cluster-static" 2>&1); then
    ok "examples/cluster.c builds against the installed static library ($static_libs)"
    if readelf -d "$tmp/cluster-static" | grep -q 'NEEDED.*libattncluster'; then
        not_ok "the static build still needs libattncluster.so"
    else
        ok "the static build does not need libattncluster.so"
    fi
    run_example "cluster (static)" "$tmp/cluster-static"
else
    not_ok "examples/cluster.c does not build against the installed static library" "$out"
fi

# ------------------------------------------------------------------ versions
cat > "$tmp/version.c" <<'EOF'
#include <attncluster.h>
#include <stdio.h>
#include <string.h>

#if !defined(AC_VERSION_NUMBER) || AC_VERSION_NUMBER < 0
#error "AC_VERSION_NUMBER is not a number for #if"
#endif

int main(void)
{
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", AC_VERSION_MAJOR, AC_VERSION_MINOR,
             AC_VERSION_PATCH);
    long number = (long)AC_VERSION_MAJOR * 10000 + AC_VERSION_MINOR * 100 + AC_VERSION_PATCH;
    if (strcmp(ac_version(), AC_VERSION_STRING) != 0 || strcmp(expect, AC_VERSION_STRING) != 0 ||
        AC_VERSION_NUMBER != number) {
        printf("ac_version() %s, AC_VERSION_STRING %s, MAJOR.MINOR.PATCH %s, "
               "AC_VERSION_NUMBER %ld, expected %ld\n",
               ac_version(), AC_VERSION_STRING, expect, (long)AC_VERSION_NUMBER, number);
        return 1;
    }
    printf("%s %ld\n", ac_version(), (long)AC_VERSION_NUMBER);
    return 0;
}
EOF
if out=$($CC $WARN "$tmp/version.c" $cflags $libs -Wl,-rpath,"$lib" -o "$tmp/version" 2>&1) &&
    out=$("$tmp/version" 2>&1); then
    ok "ac_version() of the shared library is AC_VERSION_STRING, AC_VERSION_NUMBER agrees ($out)"
else
    not_ok "the version macros and ac_version() disagree" "$out"
fi
v=$("$prefix/bin/attncluster" --version 2>&1)
[ "$v" = "attncluster $version" ] && ok "attncluster --version prints 'attncluster $version'" ||
    not_ok "attncluster --version prints '$v', expected 'attncluster $version'"

# ------------------------------------------------------------------ man page
man1=$prefix/share/man/man1/attncluster.1
if command -v groff >/dev/null 2>&1; then
    if out=$(groff -man -Tutf8 -ww -z "$man1" 2>&1) && [ -z "$out" ]; then
        ok "groff -man -Tutf8 -ww reads the man page without a warning"
    else
        not_ok "groff warns about the man page" "$out"
    fi
else
    skip "groff reads the man page without a warning" "groff not installed"
fi
th=$(sed -n 's/^\.TH .*"attncluster \([^"]*\)".*/\1/p' "$man1")
[ "$th" = "$version" ] && ok "the man page's .TH names version $version" ||
    not_ok "the man page's .TH names version '$th', expected $version"

# The long options of the tool's own --help (read now, so that a new option
# is checked as soon as the tool prints it) against the tag lines of the man
# page's .TP entries, with \- and font escapes undone.
help=$("$prefix/bin/attncluster" --help 2>&1)
help_opts=$(printf '%s\n' "$help" | grep -o -e '--[a-z][a-z0-9-]*' | LC_ALL=C sort -u)
man_opts=$(awk 'tag { print; tag = 0 } /^\.TP/ { tag = 1 }' "$man1" |
    sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f\[[A-Z]*\]//g' |
    grep -o -e '--[a-z][a-z0-9-]*' | LC_ALL=C sort -u)
nhelp=$(printf '%s\n' "$help_opts" | grep -c .)
undocumented=$(only_in "$help_opts" "$man_opts")
if [ "$nhelp" -gt 20 ] && [ -z "$undocumented" ]; then
    ok "each of the $nhelp long options of attncluster --help has an entry in the man page"
else
    not_ok "options of attncluster --help without an entry in the man page ($nhelp read)" \
        "$(echo $undocumented)"
fi

# ------------------------------------------------------------------ DESTDIR
stage=$tmp/stage
if out=$($MAKE --no-print-directory install BUILD="$build" PREFIX=/opt/attncluster \
    DESTDIR="$stage" 2>&1); then
    n=$(find "$stage/opt/attncluster" ! -type d | grep -c .)
    p=$(sed -n 's/^prefix=//p' "$stage/opt/attncluster/lib/pkgconfig/attncluster.pc")
    if [ "$n" -eq 8 ] && [ "$p" = /opt/attncluster ] && [ -z "$(find "$stage" -maxdepth 1 ! -name stage ! -name opt)" ]; then
        ok "DESTDIR stages the 8 files under DESTDIR/PREFIX, the .pc says prefix=$p"
    else
        not_ok "DESTDIR install: $n files under \$stage/opt/attncluster, prefix '$p'" \
            "$(cd "$stage" && find . ! -type d)"
    fi
    $MAKE --no-print-directory uninstall BUILD="$build" PREFIX=/opt/attncluster \
        DESTDIR="$stage" >/dev/null 2>&1
    left=$(find "$stage" ! -type d)
    [ -z "$left" ] && ok "make uninstall with DESTDIR removes the staged files" ||
        not_ok "make uninstall with DESTDIR leaves files" "$left"
else
    not_ok "make install DESTDIR=\$stage" "$out"
fi

# ---------------------------------------------------------------- uninstall
# Files that are not ours, beside ours, must survive.
echo other > "$lib/libother.so.1"
echo other > "$prefix/share/man/man1/other.1"
if out=$($MAKE --no-print-directory uninstall BUILD="$build" PREFIX="$prefix" DESTDIR= 2>&1); then
    left=$(cd "$prefix" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort | tr '\n' ' ')
    if [ "$left" = "lib/libother.so.1 share/man/man1/other.1 " ]; then
        ok "make uninstall removes every installed file and nothing else"
    else
        not_ok "after make uninstall the prefix holds: $left" \
            "(expected only lib/libother.so.1 share/man/man1/other.1)"
    fi
else
    not_ok "make uninstall" "$out"
fi

finish
