# templar — one binary, built with pkg-config. `make` builds, `make test` runs every test,
# `make asan` runs them under AddressSanitizer + UBSan, `make fuzz` fuzzes each parser for a while.

CC       ?= gcc
# The OpenMP build of OpenBLAS shares our OpenMP thread pool; the pthread build's spinning threads
# fight OpenMP's for the cores. Its directory is fixed in Debian, so it is pinned with an rpath.
BLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
PKGCONF  := PKG_CONFIG_PATH=$(BLAS_DIR)/pkgconfig pkg-config
PKGS     := openblas libcurl jansson sqlite3 libsodium libxxhash
OPT      ?= -O3 -march=x86-64-v3
CFLAGS   += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -fopenmp -Isrc $(OPT) -g \
            $(shell $(PKGCONF) --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell $(PKGCONF) --libs $(PKGS) 2>/dev/null) -Wl,-rpath,$(BLAS_DIR) -lm -fopenmp
BUILD    ?= build

LAYERS   := core crypto model data export codec substrate net neuron testbed localnet
LIB_SRC  := $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c))
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/*/*.c)
FUZZ_SRC := $(wildcard fuzz/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps test test-unit test-conformance asan fuzz demo bench clean corpus
all: $(BUILD)/templar

deps:
	@scripts/install-deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libtemplar.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/templar: $(CLI_OBJ) $(BUILD)/libtemplar.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(BUILD)/tests/run: $(TEST_OBJ) $(BUILD)/libtemplar.a
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(shell $(PKGCONF) --libs criterion)

# The tests find the binary and the shared conformance vectors through the environment.
TEST_ENV := TEMPLAR_BIN=$(abspath $(BUILD)/templar) TEMPLAR_ROOT=$(abspath .) \
            TEMPLAR_CONFORMANCE_DIR=$${TEMPLAR_CONFORMANCE_DIR:-$(abspath ../shared/conformance)} \
            LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) UBSAN_OPTIONS=print_stacktrace=1

test: deps
	@$(MAKE) --no-print-directory test-unit

test-unit: $(BUILD)/templar $(BUILD)/tests/run
	$(TEST_ENV) $(BUILD)/tests/run -j2 $(TEST_ARGS)

# Just the SparseLoCo conformance vectors (shared/conformance/sparseloco).
test-conformance: $(BUILD)/tests/run
	$(TEST_ENV) $(BUILD)/tests/run --filter 'conformance/*' $(TEST_ARGS)

# The same suite, every binary built with AddressSanitizer + UBSan (the CLI tests run the
# sanitized templar too). Any report fails the run.
asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
	    OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" test-unit

# libFuzzer targets (clang): each parser of untrusted bytes, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 30
FUZZ_FLAGS := -std=c17 -D_GNU_SOURCE -g -O1 -Isrc -fsanitize=fuzzer,address,undefined \
              $(shell $(PKGCONF) --cflags $(PKGS) 2>/dev/null)
fuzz: deps
	@mkdir -p $(BUILD)/fuzz
	@set -e; for f in $(FUZZ_SRC); do \
	  n=$$(basename $$f .c); \
	  echo "fuzz: building $$n"; \
	  clang $(FUZZ_FLAGS) -fopenmp=libgomp $$f $(LIB_SRC) -o $(BUILD)/fuzz/$$n $(LDLIBS); \
	  mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  echo "fuzz: running $$n for $(FUZZ_SECONDS)s"; \
	  $(BUILD)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
	    $(BUILD)/fuzz/corpus-$$n fuzz/seeds/$$n 2>$(BUILD)/fuzz/$$n.log \
	    || { tail -40 $(BUILD)/fuzz/$$n.log; echo "fuzz: $$n FOUND A CRASH"; exit 1; }; \
	  echo "fuzz: $$n clean: $$(grep -o "Done [0-9]* runs in [0-9]* second" $(BUILD)/fuzz/$$n.log)"; \
	done

corpus: deps
	@scripts/get-corpus data/corpus

demo: deps all
	@scripts/demo

bench: all
	@bench/train_step.sh

clean:
	rm -rf build build-asan

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
