# attncluster - a plain Makefile.
#
#   make            the library (build/libattncluster.a) and the tool (build/attncluster)
#   make run        the chapter's Iris run
#   make test       every test, then all of them again under ASan + UBSan
#   make bench      attncluster against PyTorch, side by side (bench/RESULTS.md)
#   make bench-quality  clustering quality against scikit-learn (bench/RESULTS.md)
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
       src/safetensors.c src/model_file.c src/evaluate.c src/kernels.c src/kmeans.c src/unsupervised.c
OBJS = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB = $(BUILD)/libattncluster.a
TOOL = $(BUILD)/attncluster
TESTS = test_layers test_model test_optim test_rng test_dataset test_train test_parity test_model_file test_predict test_metrics test_evaluate test_kernels test_kmeans test_unsupervised
TEST_BINS = $(TESTS:%=$(BUILD)/tests/%)

.PHONY: all run test check test-build clean bench bench-quality

all: $(LIB) $(TOOL)

$(BUILD)/obj/%.o: src/%.c src/internal.h include/attncluster.h | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

$(TOOL): tools/attncluster.c tools/report.c tools/report.h include/attncluster.h $(LIB)
	$(CC) $(ALL_CFLAGS) tools/attncluster.c tools/report.c $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/%.c tests/harness.h src/internal.h include/attncluster.h $(LIB) | $(BUILD)/tests
	$(CC) $(ALL_CFLAGS) -Itests $< $(LIB) $(LDLIBS) -o $@

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

run: $(TOOL)
	./$(TOOL)

test-build: $(LIB) $(TOOL) $(TEST_BINS)

# The suite twice: as built, then rebuilt with the address and undefined
# behaviour sanitizers (in build/asan). The last line counts both runs. The
# CLI tests run the chapter's run under valgrind with a portable, single-thread
# build (build/portable): valgrind 3.19 does not know every AVX-512
# instruction that -march=native may emit.
test:
	@$(MAKE) --no-print-directory test-build
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
