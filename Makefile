# attncluster - a plain Makefile.
#
#   make            the libraries (build/libattncluster.a, build/libattncluster.so*) and
#                   the tool (build/attncluster)
#   make run        the chapter's Iris run
#   make test       every test, then all of them again under ASan + UBSan
#   make install    the libraries, header, pkg-config file, tool and man page under
#                   PREFIX [/usr/local] (DESTDIR=/staging for packaging);
#                   make uninstall removes exactly those files
#   make bench      attncluster against PyTorch, side by side (bench/RESULTS.md)
#   make bench-quality  clustering quality against scikit-learn (bench/RESULTS.md)
#   make check-pictures  renders every picture in headless Chromium (installs it)
#   make clean
#
# WERROR=-Werror turns warnings into errors (CI does).
#
# The build targets the host CPU (-march=native). For a binary that runs on
# any x86-64 (or other) machine of the same architecture: make ARCH_FLAGS=
# (after make clean).

CC ?= cc
ARCH_FLAGS ?= -march=native
# OpenMP threads share the rows of large forwards; results are bit-identical for
# any thread count. 'make OPENMP=' builds without it (one thread).
OPENMP ?= -fopenmp
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wdouble-promotion
# -fno-math-errno lets sqrtf/expf compile to plain instructions; no -ffast-math,
# which would break NaN checks and reorder sums.
CFLAGS ?= -O3 -g
ALL_CFLAGS = -std=c11 $(WARN) $(WERROR) $(CFLAGS) $(ARCH_FLAGS) $(if $(OPENMP),$(OPENMP),-Wno-unknown-pragmas) \
             -fno-math-errno -ffp-contract=fast -Iinclude -Isrc
LDLIBS = -lm

BUILD ?= build
SRCS = src/util.c src/rng.c src/layers.c src/model.c src/optim.c src/train.c src/metrics.c \
       src/dataset.c src/csv.c src/iris_data.c src/json.c \
       src/safetensors.c src/model_file.c src/evaluate.c src/kernels.c src/kmeans.c src/unsupervised.c \
       src/picture.c src/plot.c
OBJS = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB = $(BUILD)/libattncluster.a
TOOL = $(BUILD)/attncluster
TESTS = test_layers test_model test_optim test_rng test_dataset test_train test_parity test_model_file test_predict test_metrics test_evaluate test_kernels test_kmeans test_unsupervised test_plot
TEST_BINS = $(TESTS:%=$(BUILD)/tests/%)

# The shared library: the same sources compiled position-independent (in
# $(BUILD)/pic), versioned from the AC_VERSION_* macros of the header, and
# exporting only the functions that the header declares (a version script
# made from the header; internal ac_* helpers such as ac_alloc stay local).
ac_version_part = $(shell sed -n 's/^[#]define AC_VERSION_$(1)  *\([0-9][0-9]*\).*/\1/p' include/attncluster.h)
MAJOR := $(call ac_version_part,MAJOR)
VERSION := $(MAJOR).$(call ac_version_part,MINOR).$(call ac_version_part,PATCH)
PIC_OBJS = $(SRCS:src/%.c=$(BUILD)/pic/%.o)
SONAME = libattncluster.so.$(MAJOR)
SHLIB = $(BUILD)/libattncluster.so.$(VERSION)
SHLIB_LINKS = $(BUILD)/$(SONAME) $(BUILD)/libattncluster.so
EXPORTS = $(BUILD)/attncluster.map

.PHONY: all run test check test-build clean bench bench-quality shared install uninstall

all: $(LIB) $(SHLIB_LINKS) $(TOOL)

$(BUILD)/obj/%.o: src/%.c src/internal.h include/attncluster.h | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

$(TOOL): tools/attncluster.c tools/report.c tools/report.h include/attncluster.h $(LIB)
	$(CC) $(ALL_CFLAGS) tools/attncluster.c tools/report.c $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/harness.h src/internal.h include/attncluster.h $(LIB) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/obj $(BUILD)/tests $(BUILD)/pic:
	mkdir -p $@

$(BUILD)/pic/%.o: src/%.c src/internal.h include/attncluster.h | $(BUILD)/pic
	$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

# Every ac_name( that the preprocessed header holds (comments gone) is a
# public function; everything else is local.
$(EXPORTS): include/attncluster.h | $(BUILD)/pic
	{ echo '{'; echo '  global:'; \
	  $(CC) -E -P include/attncluster.h | grep -o '\bac_[a-z0-9_]* *(' | tr -d ' (' | \
	      sort -u | sed 's/.*/    &;/'; \
	  echo '  local: *;'; echo '};'; } > $@.tmp && mv $@.tmp $@

$(SHLIB): $(PIC_OBJS) $(EXPORTS)
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=$(EXPORTS) \
	    -Wl,--no-undefined $(LDFLAGS) $(PIC_OBJS) $(LDLIBS) -o $@
	echo '$(strip -lm $(OPENMP_LIBS))' > $(BUILD)/libs.private

$(BUILD)/$(SONAME): $(SHLIB)
	ln -sf $(notdir $(SHLIB)) $@

$(BUILD)/libattncluster.so: $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

shared: $(SHLIB_LINKS)

run: $(TOOL)
	./$(TOOL)

test-build: $(LIB) $(TOOL) $(TEST_BINS)

# The suite twice: as built, then rebuilt with the address and undefined
# behaviour sanitizers (in build/asan). The last line counts both runs. The
# CLI tests run the chapter's run under valgrind with a portable, single-thread
# build (build/portable): valgrind 3.19 does not know every AVX-512
# instruction that -march=native may emit.
test:
	@$(MAKE) --no-print-directory test-build shared
	@$(MAKE) --no-print-directory test-build BUILD=build/asan \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
	@$(MAKE) --no-print-directory build/portable/attncluster BUILD=build/portable ARCH_FLAGS= \
		OPENMP= CFLAGS="-O2 -g"
	@TEST_VALGRIND_BIN=build/portable/attncluster sh tests/run_all.sh build build/asan

# Side by side with PyTorch (needs python3-torch and libopenblas0-pthread; see
# bench/README.md). Writes bench/RESULTS.md.
$(BUILD)/bench: bench/bench.c src/internal.h include/attncluster.h $(LIB)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LDLIBS) -o $@

bench: $(TOOL) $(BUILD)/bench
	/usr/bin/python3 bench/run.py

# Clustering quality on Iris, Wine, Breast Cancer and a synthetic set, 10 seeds,
# against scikit-learn (needs python3-sklearn). Appends to bench/RESULTS.md.
bench-quality: $(TOOL)
	/usr/bin/python3 bench/quality.py

clean:
	rm -rf build

# ----------------------------------------------------------------- pictures
# make check-pictures  renders every picture the tool draws (train, eval,
# unlabelled and k-means runs, in build/pictures) in headless Chromium and
# checks that none renders blank; PNG screenshots are left beside them.
# Debian's chromium is installed when missing (as root), else named.
CHROMIUM ?= chromium
.PHONY: check-pictures
check-pictures: $(TOOL)
	@if ! command -v $(CHROMIUM) >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "make check-pictures: installing chromium"; \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null || \
	        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; } || exit 1; \
	    else \
	        echo "make check-pictures: $(CHROMIUM) not found: apt-get install chromium"; exit 1; \
	    fi; \
	fi
	sh tests/check_pictures.sh $(TOOL) $(BUILD)/pictures $(CHROMIUM)

# ------------------------------------------------------------------ install
# make install [PREFIX=/usr/local] [DESTDIR=]: DESTDIR stages a package (it is
# not written into the pkg-config file); make uninstall with the same values
# removes exactly the files installed, and no directory.
# tests/test_install.sh installs into a temporary prefix and checks it all.
PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
LIBDIR = $(PREFIX)/lib
INCLUDEDIR = $(PREFIX)/include
MANDIR = $(PREFIX)/share/man
PKGCONFIGDIR = $(LIBDIR)/pkgconfig
# What a static link needs besides the library: libm, and OpenMP's runtime
# when built with it (libgomp for GCC, libomp for clang). Recorded in
# $(BUILD)/libs.private when the shared library is linked, so that the
# pkg-config file describes that build even if make install is given other
# variables.
OPENMP_LIBS = $(if $(OPENMP),$(if $(findstring clang,$(shell $(CC) --version 2>/dev/null | head -n 1)),-lomp,-lgomp))
$(BUILD)/libs.private: $(SHLIB)
	echo '$(strip -lm $(OPENMP_LIBS))' > $@
INSTALLED = $(BINDIR)/attncluster $(LIBDIR)/libattncluster.a $(LIBDIR)/libattncluster.so.$(VERSION) \
            $(LIBDIR)/$(SONAME) $(LIBDIR)/libattncluster.so $(INCLUDEDIR)/attncluster.h \
            $(PKGCONFIGDIR)/attncluster.pc $(MANDIR)/man1/attncluster.1

install: $(LIB) $(SHLIB_LINKS) $(TOOL) man/attncluster.1 $(BUILD)/libs.private
	{ echo 'prefix=$(PREFIX)'; \
	  echo 'libdir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))'; \
	  echo 'includedir=$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))'; \
	  echo; \
	  echo 'Name: attncluster'; \
	  echo 'Description: Clustering of tabular data with a self-attention model'; \
	  echo 'Version: $(VERSION)'; \
	  echo 'Libs: -L$${libdir} -lattncluster'; \
	  echo "Libs.private: $$(cat $(BUILD)/libs.private)"; \
	  echo 'Cflags: -I$${includedir}'; } > $(BUILD)/attncluster.pc
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" \
	    "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(MANDIR)/man1"
	install -m 755 $(TOOL) "$(DESTDIR)$(BINDIR)/attncluster"
	install -m 644 $(LIB) "$(DESTDIR)$(LIBDIR)/libattncluster.a"
	install -m 755 $(SHLIB) "$(DESTDIR)$(LIBDIR)/libattncluster.so.$(VERSION)"
	ln -sf libattncluster.so.$(VERSION) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sf $(SONAME) "$(DESTDIR)$(LIBDIR)/libattncluster.so"
	install -m 644 include/attncluster.h "$(DESTDIR)$(INCLUDEDIR)/attncluster.h"
	install -m 644 $(BUILD)/attncluster.pc "$(DESTDIR)$(PKGCONFIGDIR)/attncluster.pc"
	install -m 644 man/attncluster.1 "$(DESTDIR)$(MANDIR)/man1/attncluster.1"

uninstall:
	rm -f $(foreach f,$(INSTALLED),"$(DESTDIR)$(f)")

# ------------------------------------------------------------------ fuzzing
# make fuzz   builds the libFuzzer harnesses of fuzz/ (the CSV reader, the model
#             loader, the command-line parser) with clang, ASan and UBSan in
#             build/fuzz, and runs each for FUZZ_SECONDS [60] over its corpus
#             (fuzz/README.md). New inputs go to build/fuzz/corpus/NAME, crashing
#             ones to fuzz/regressions/NAME/. make fuzz-csv etc. runs one.
# make fuzz-merge  minimises fuzz/corpus/NAME with what build/fuzz/corpus/NAME found.
# make test also replays every corpus and regression input (tests/test_fuzz_*.c).
FUZZERS = csv model cli
FUZZ_TESTS = $(FUZZERS:%=test_fuzz_%)
TESTS += $(FUZZ_TESTS)
test-build: $(FUZZ_TESTS:%=$(BUILD)/tests/%)
$(BUILD)/tests/test_fuzz_csv: fuzz/fuzz_csv.c fuzz/replay.c
$(BUILD)/tests/test_fuzz_model: fuzz/fuzz_model.c fuzz/replay.c
$(BUILD)/tests/test_fuzz_cli: fuzz/fuzz_cli.c fuzz/replay.c tools/attncluster.c tools/report.c \
                              tools/report.h

FUZZ_CC ?= clang
FUZZ_RUNTIME_PKG ?= libclang-rt-14-dev
FUZZ_SECONDS ?= 60
FUZZ_FLAGS ?=
FUZZ_DIR = build/fuzz
FUZZ_MAX_LEN_csv = 4096
FUZZ_MAX_LEN_model = 16384
FUZZ_MAX_LEN_cli = 1024
# (clang's NAN is a float constant: -Wdouble-promotion flags every double = NAN.)
FUZZ_CFLAGS = -std=c11 $(WARN) -g -O1 -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=all -Wno-unknown-pragmas \
              -Wno-double-promotion \
              -fno-math-errno -ffp-contract=fast -Iinclude -Isrc
FUZZ_OBJS = $(SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_BINS = $(FUZZERS:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-runtime fuzz-merge $(FUZZERS:%=fuzz-%)

# The fuzzer runtime (libFuzzer) is Debian's libclang-rt-14-dev, which clang
# does not pull in: installed when missing (as root), else named.
fuzz-runtime:
	@mkdir -p $(FUZZ_DIR)
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' > $(FUZZ_DIR)/probe.c
	@if ! $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe >/dev/null 2>&1; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "make fuzz: installing clang and $(FUZZ_RUNTIME_PKG) (the libFuzzer runtime)"; \
	        pkgs="$(FUZZ_RUNTIME_PKG)"; command -v $(FUZZ_CC) >/dev/null || pkgs="clang $$pkgs"; \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y $$pkgs >/dev/null || \
	        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y $$pkgs >/dev/null; } || exit 1; \
	    else \
	        echo "make fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer: install clang and $(FUZZ_RUNTIME_PKG) (apt-get install clang $(FUZZ_RUNTIME_PKG))"; \
	        exit 1; \
	    fi; \
	fi
	@rm -f $(FUZZ_DIR)/probe.c $(FUZZ_DIR)/probe

$(FUZZ_DIR)/obj/%.o: src/%.c src/internal.h include/attncluster.h | fuzz-runtime
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_OBJS) | fuzz-runtime
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -lm -o $@

$(FUZZ_DIR)/fuzz_cli: tools/attncluster.c tools/report.c tools/report.h

# Runs one harness: new inputs into build/fuzz/corpus/NAME (the committed
# corpus is read, never written), crashes into fuzz/regressions/NAME/.
$(FUZZERS:%=fuzz-%): fuzz-%: $(FUZZ_DIR)/fuzz_%
	@mkdir -p $(FUZZ_DIR)/corpus/$* fuzz/regressions/$*
	$(FUZZ_DIR)/fuzz_$* $(FUZZ_DIR)/corpus/$* fuzz/corpus/$* -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=$(FUZZ_MAX_LEN_$*) -dict=fuzz/$*.dict -timeout=10 -close_fd_mask=3 \
	    -artifact_prefix=fuzz/regressions/$*/ $(FUZZ_FLAGS)

fuzz: $(FUZZERS:%=fuzz-%)

# Keeps the committed corpus small: a fresh directory holding the hand-written
# seeds of fuzz/corpus/NAME (every file not named by a SHA-1), into which
# libFuzzer merges (-merge=1) the inputs found before (SHA-1 names) and those
# of build/fuzz/corpus/NAME that add coverage; it then replaces fuzz/corpus/NAME.
fuzz-merge: $(FUZZ_BINS)
	@for hl in $(foreach h,$(FUZZERS),$(h):$(FUZZ_MAX_LEN_$(h))); do \
	    h=$${hl%%:*}; m=$(FUZZ_DIR)/merged/$$h; o=$(FUZZ_DIR)/merge-old/$$h; \
	    rm -rf $$m $$o && mkdir -p $$m $$o $(FUZZ_DIR)/corpus/$$h && \
	    for f in fuzz/corpus/$$h/*; do \
	        case $${f##*/} in *[!0-9a-f]*) cp "$$f" $$m/;; *) cp "$$f" $$o/;; esac; \
	    done && \
	    $(FUZZ_DIR)/fuzz_$$h -merge=1 -close_fd_mask=3 -max_len=$${hl##*:} $$m $$o \
	        $(FUZZ_DIR)/corpus/$$h > $(FUZZ_DIR)/merge-$$h.log 2>&1 && \
	    rm -rf fuzz/corpus/$$h && cp -r $$m fuzz/corpus/$$h && \
	    echo "fuzz/corpus/$$h: $$(ls fuzz/corpus/$$h | wc -l) inputs, $$(du -sb fuzz/corpus/$$h | cut -f1) bytes" || exit 1; \
	done
