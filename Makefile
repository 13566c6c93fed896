# Makefile — builds libinfer.a, the ./infer CLI, examples and tests. `make CUDA=0` skips CUDA.

CC      ?= cc
NVCC    ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA    ?= $(if $(NVCC),1,0)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
PYTHON  ?= /usr/bin/python3

OPT     ?= -O3
# Position-independent: the same objects go into libinfer.a and the CUDA plugin (and into a product's .so).
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -Wshadow -fno-strict-aliasing \
           -fPIC -fno-semantic-interposition -D_GNU_SOURCE -Iinclude -pthread -MMD -MP
LDLIBS  += -lm -lpthread -ldl

SHELL   := /bin/bash
BUILD   ?= build
LIB     ?= libinfer.a
# One set of objects for CUDA=0 and CUDA=1: they compile the core alike.
OBJDIR  := $(BUILD)/obj

LIB_SRC := $(wildcard base/*.c runtime/*.c graph/*.c graph/ops/*.c loaders/*.c kernels/cpu/*.c quant/*.c)
CLI_SRC := $(wildcard runtime/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(OBJDIR)/%.o)
# `infer serve` (server/): HTTP with libmicrohttpd + jansson; gRPC (C++, server/grpc.mk) when Debian gRPC is there.
GRPC    ?= $(shell pkg-config --exists grpc++ protobuf && command -v grpc_cpp_plugin >/dev/null && echo 1 || echo 0)
SERVER_SRC := $(filter-out server/grpc_none.c,$(wildcard server/*.c))
SERVER_LIBS := -lmicrohttpd -ljansson

# The CUDA backend is a plugin beside libinfer.a, loaded with dlopen when a CUDA engine is built, so that
# libinfer.a links no CUDA library and CPU runs never map cuDNN or cuBLAS (docs/CUDA.md). It carries its
# own copies of the core objects it uses and exports one symbol (runtime/cuda/plugin.map).
PLUGIN  := $(patsubst ./%,%,$(dir $(LIB))libinfer_cuda.so)
ifeq ($(CUDA),1)
CUDA_PLUGIN := $(PLUGIN)
CUDA_CFLAGS := -I$(CUDA_HOME)/include
CUDA_LIBS   := -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcusparse -lcudart -lstdc++
# 2:4 sparse weights on cuSPARSELt (PyPI nvidia-cusparselt-cu13 / -cu12 by the toolkit, which scripts/install-deps
# puts in build/venv;
# or CUSPARSELT_HOME=DIR with include/cusparseLt.h and lib/libcusparseLt.so*). Not found: the 2:4 path is compiled
# out and 2:4 weights densify on the GPU (`infer info --device cuda` says why), never a link failure.
CUDA_MAJOR      := $(shell $(NVCC) --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p')
CUSPARSELT_HOME ?= $(patsubst %/include/cusparseLt.h,%,$(firstword $(wildcard \
                   build/venv/lib/python3*/site-packages/nvidia/cu$(CUDA_MAJOR)/include/cusparseLt.h \
                   $(if $(filter 12,$(CUDA_MAJOR)),build/venv/lib/python3*/site-packages/nvidia/cusparselt/include/cusparseLt.h) \
                   $(CUDA_HOME)/include/cusparseLt.h /usr/include/cusparseLt.h)))
CUSPARSELT_LIB  := $(firstword $(wildcard $(addprefix $(CUSPARSELT_HOME)/,lib/libcusparseLt.so lib/libcusparseLt.so.0 \
                   lib64/libcusparseLt.so lib64/libcusparseLt.so.0 lib/x86_64-linux-gnu/libcusparseLt.so.0)))
ifneq ($(and $(CUSPARSELT_HOME),$(CUSPARSELT_LIB)),)
CUDA_CFLAGS += -DINFER_HAVE_CUSPARSELT -I$(CUSPARSELT_HOME)/include
CUDA_LIBS   += $(abspath $(CUSPARSELT_LIB)) -Wl,-rpath,$(abspath $(dir $(CUSPARSELT_LIB)))
CUSPARSELT_STATE := cuSPARSELt $(abspath $(CUSPARSELT_LIB)): 2:4 sparse weights on the GPU compiled in
else
CUSPARSELT_STATE := cuSPARSELt not found (scripts/install-deps, or CUSPARSELT_HOME=DIR): 2:4 weights densify on the GPU
endif
ifeq ($(filter help clean,$(MAKECMDGOALS)),)
$(info $(CUSPARSELT_STATE))
endif
NVCCFLAGS   += -std=c++17 -O3 -g -lineinfo $(CUDA_ARCH) -Iinclude -Xcompiler -fPIC,-Wall -MMD -MP
CUDA_OBJ    := $(patsubst %.c,$(OBJDIR)/%.o,$(wildcard runtime/cuda/*.c kernels/cuda/*.c)) \
               $(patsubst %.cu,$(OBJDIR)/%.cu.o,$(wildcard kernels/cuda/*.cu runtime/cuda/*.cu))
$(CUDA_OBJ): CFLAGS += $(CUDA_CFLAGS)
# Switching cuSPARSELt in or out recompiles the files that read INFER_HAVE_CUSPARSELT.
CUSPARSELT_CONFIG := $(BUILD)/cusparselt-$(notdir $(LIB)).txt
$(shell mkdir -p $(BUILD) && (echo "$(CUSPARSELT_STATE)" | cmp -s - $(CUSPARSELT_CONFIG) || echo "$(CUSPARSELT_STATE)" > $(CUSPARSELT_CONFIG)))
$(patsubst %.c,$(OBJDIR)/%.o,$(wildcard kernels/cuda/*sparse*.c kernels/cuda/encoded_weights.c runtime/cuda/*.c)): $(CUSPARSELT_CONFIG)

# The oldest toolkit the backend builds with, checked before anything compiles: CUDA 12 (the signature
# of cudaGraphInstantiate) and cuDNN 9 (README.md). The versions are the headers' own.
ifeq ($(filter clean help deps,$(MAKECMDGOALS)),)
CUDART_VERSION := $(shell echo CUDART_VERSION | $(CC) -E -P $(CUDA_CFLAGS) -include cuda_runtime_api.h - 2>/dev/null | tail -1)
CUDNN_MAJOR    := $(shell echo CUDNN_MAJOR | $(CC) -E -P $(CUDA_CFLAGS) -include cudnn_version.h - 2>/dev/null | tail -1)
ifneq ($(shell test "$(CUDART_VERSION)" -ge 12000 2>/dev/null && echo ok),ok)
$(error CUDA 12 or newer is needed (cudaGraphInstantiate's signature), $(CUDA_HOME)/include has \
        $(if $(CUDART_VERSION),CUDART_VERSION $(CUDART_VERSION),no cuda_runtime_api.h). Point NVCC at a newer \
        toolkit, or build without CUDA: make CUDA=0)
endif
ifneq ($(shell test "$(CUDNN_MAJOR)" -ge 9 2>/dev/null && echo ok),ok)
$(error cuDNN 9 or newer is needed, $(CUDA_HOME)/include has $(if $(CUDNN_MAJOR),cuDNN $(CUDNN_MAJOR),no cudnn_version.h). \
        Install cuDNN 9 for this toolkit, or build without CUDA: make CUDA=0)
endif
endif
endif

# Programs find the plugin beside themselves or through this run path (the folder of libinfer.a).
RUNPATH = -Wl,-rpath,'$$ORIGIN/$(shell realpath -m --relative-to=$(dir $@) $(dir $(LIB)))'

# The build configuration, rewritten only when it changes, so that switching CUDA=0/1 relinks.
CONFIG := $(BUILD)/config-$(notdir $(LIB)).txt
$(shell mkdir -p $(BUILD) && (echo "CUDA=$(CUDA) OPT=$(OPT) GRPC=$(GRPC)" | cmp -s - $(CONFIG) || echo "CUDA=$(CUDA) OPT=$(OPT) GRPC=$(GRPC)" > $(CONFIG)))
CLI_OBJ := $(CLI_SRC:%.c=$(OBJDIR)/%.o) $(SERVER_SRC:%.c=$(OBJDIR)/%.o)
ifeq ($(GRPC),1)
include server/grpc.mk
else
CLI_OBJ += $(OBJDIR)/server/grpc_none.o
endif
INFER_BIN ?= infer
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: all lib test benches unit optest golden serve-test models-test models-report plugin-check sanitize fuzz fuzz-build fuzz-ci demo clean deps help drop-plugin opcodes opcodes-check
all: $(LIB) infer $(EXAMPLES)
lib: $(LIB)

$(LIB): $(LIB_OBJ) $(CONFIG)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

ifeq ($(CUDA),1)
# -z defs: a symbol missing from the plugin is a link error here, not a dlopen error on a GPU machine.
$(PLUGIN): $(CUDA_OBJ) $(LIB) runtime/cuda/plugin.map
	$(CC) -shared -o $@ $(CUDA_OBJ) $(LIB) -Wl,--version-script=runtime/cuda/plugin.map -Wl,-z,defs \
	      $(CUDA_LIBS) $(LDLIBS)
all: $(PLUGIN)
else
all: drop-plugin
drop-plugin: # a CUDA=0 build has no CUDA backend, not a stale one
	@rm -f $(PLUGIN)
endif

# Programs that build engines come with the plugin in a CUDA build (order-only: they do not link it).
$(INFER_BIN): $(CLI_OBJ) $(LIB) $(CONFIG) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(SERVER_LIBS) $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(LIB) include/infer.h | $(CUDA_PLUGIN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(RUNPATH)

$(OBJDIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(OBJDIR)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c -o $@ $<

# ---- tests -------------------------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/*.c)
ifeq ($(CUDA),1)
UNIT_SRC += $(wildcard tests/cuda/*.c)
endif
UNIT_BIN := $(BUILD)/unit_tests
GOLDEN_BIN := $(BUILD)/golden_check
BF16_CHECK_BIN := $(BUILD)/bf16_check
INT8_CHECK_BIN := $(BUILD)/int8_check
OPTEST_SRC := $(wildcard tests/ops/*.c)
OPTEST_BIN := $(BUILD)/op_test

PLUGIN_CHECK := $(BUILD)/plugin_check

# With CUDA=1 the unit tests link the plugin's objects for the tests of CUDA internals (tests/cuda); the
# engines they build through the API come from the plugin all the same.
$(UNIT_BIN): $(UNIT_SRC) tests/unit/testutil.h $(LIB) $(CUDA_OBJ) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) $(CUDA_CFLAGS) -Itests/unit -o $@ $(UNIT_SRC) $(CUDA_OBJ) $(LIB) -lcriterion $(CUDA_LIBS) \
	      $(LDLIBS) $(RUNPATH)

# The golden checks share tests/golden/golden_harness.c (result lines, error measures, seeded inputs, manifest).
GOLDEN_HARNESS := tests/golden/golden_harness.c tests/golden/golden_harness.h
$(GOLDEN_BIN): tests/golden/golden_check.c $(GOLDEN_HARNESS) $(LIB) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) -o $@ $< tests/golden/golden_harness.c $(LIB) $(LDLIBS) $(RUNPATH)

# CPU BF16 against FP32 on the golden models (tests/golden/run.sh runs it).
$(BF16_CHECK_BIN): tests/golden/bf16_check.c $(GOLDEN_HARNESS) $(LIB) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) -o $@ $< tests/golden/golden_harness.c $(LIB) $(LDLIBS) $(RUNPATH)

# INT8 (infer quantize's library, static and dynamic) against FP32 on the golden models (tests/golden/run.sh runs it).
$(INT8_CHECK_BIN): tests/golden/int8_check.c $(GOLDEN_HARNESS) $(LIB) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) -o $@ $< tests/golden/golden_harness.c $(LIB) $(LDLIBS) $(RUNPATH)

# Linked as a product links libinfer.a: checks that CPU engines map no CUDA library (tests/plugin).
$(PLUGIN_CHECK): tests/plugin/plugin_check.c $(LIB) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(RUNPATH)

# The op test table (tests/ops): every case on the reference and every backend here (docs/TESTING.md).
$(OPTEST_BIN): $(OPTEST_SRC) $(wildcard tests/ops/*.h) $(LIB) | $(CUDA_PLUGIN)
	$(CC) $(CFLAGS) -o $@ $(OPTEST_SRC) $(LIB) $(LDLIBS) $(RUNPATH)

# Skipped tests (GPU tests without a GPU) and failures are listed; passes are only counted.
UNIT_RUN = set -o pipefail; $(1) --jobs 2 --verbose 2>&1 | grep -vE '^\[(RUN |PASS)\]|^\[====\] Running'

# The C benchmarks (bench/*.c; bench/README.md): built by `make benches` and by `make test`, so that they do not rot.
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench-bin/%,$(wildcard bench/*.c))
$(BUILD)/bench-bin/%: bench/%.c $(wildcard bench/*.h) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

benches: $(BENCH_BIN)

unit: $(UNIT_BIN)
	$(call UNIT_RUN,$(UNIT_BIN))

optest: $(OPTEST_BIN)
	$(OPTEST_BIN)

golden: all $(GOLDEN_BIN) $(BF16_CHECK_BIN) $(INT8_CHECK_BIN)
	tests/golden/run.sh $(BUILD)/golden

plugin-check: all $(PLUGIN_CHECK)
	$(PLUGIN_CHECK) $(if $(CUDA_PLUGIN),--cuda-build)

test: all unit optest golden plugin-check opcodes-check benches
	$(MAKE) serve-test
	$(PYTHON) tests/converter/test_convert.py
	$(PYTHON) tests/converter/test_sparse.py
	$(PYTHON) tests/int8/digits.py $(BUILD)/int8
	$(PYTHON) tests/int8/tied.py $(BUILD)/int8-tied
	$(PYTHON) tests/int8/named_dims.py $(BUILD)/int8-dims
	$(PYTHON) tests/converter/test_dyndims.py
	$(PYTHON) tests/converter/test_seq_models.py
	$(PYTHON) tests/converter/test_script.py
	$(PYTHON) tests/converter/test_quantized_import.py
	PYTHON=$(PYTHON) tests/gpu/gpu_check_dry.sh
	$(MAKE) models-test

# The coverage suite of real architectures (tests/models): traced, converted, run by ./infer, compared with
# PyTorch. It needs `transformers` (scripts/install-deps puts it in build/venv); without it those models skip.
MODELS_PYTHON ?= $(shell build/venv/bin/python -c 'import transformers' >/dev/null 2>&1 && echo build/venv/bin/python || echo $(PYTHON))
models-test: all
	$(MODELS_PYTHON) tests/models/suite.py --light
models-report: all
	$(MODELS_PYTHON) tests/models/suite.py --report docs/OPS.md

# `infer serve` on loopback: protocol, official clients, faults, a short load run (after golden: its fixtures).
serve-test: all
	tests/serve/run.sh

# The converter's op codes are generated from base/ops.h; the check also holds ref_interp and docs/OPS.md to it.
opcodes:
	$(PYTHON) scripts/gen_opcodes.py
opcodes-check:
	$(PYTHON) scripts/gen_opcodes.py --check

# ASan + UBSan build of the library and the C tests, in its own build folder.
sanitize:
	$(MAKE) BUILD=build-san LIB=build-san/libinfer.a CUDA=0 \
	        OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDLIBS="-fsanitize=address,undefined -lm -lpthread -ldl" build-san/unit_tests build-san/golden_check \
	        build-san/op_test build-san/plugin_check
	$(call UNIT_RUN,ASAN_OPTIONS=detect_leaks=1 build-san/unit_tests)
	ASAN_OPTIONS=detect_leaks=1 build-san/op_test
	ASAN_OPTIONS=detect_leaks=1 build-san/plugin_check
	GOLDEN_BIN=build-san/golden_check tests/golden/run.sh build/golden --no-cli
	$(MAKE) BUILD=build-san LIB=build-san/libinfer.a CUDA=0 INFER_BIN=build-san/infer \
	        OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDLIBS="-fsanitize=address,undefined -lm -lpthread -ldl" build-san/infer
	ASAN_OPTIONS=detect_leaks=1 INFER_BIN=build-san/infer tests/serve/run.sh --sanitized

# ---- fuzzing: libFuzzer targets (clang, ASan + UBSan, CPU only) in build-fuzz/, docs/FUZZING.md -----------
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 20
# clang ignores GCC's target pragmas (lstm.c's wide variants compile for the baseline ISA here) and warns of
# the vector ABI of the per-ISA helpers; both are harmless for fuzzing.
FUZZ_OPT := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
            -Wno-psabi -Wno-unknown-pragmas
FUZZ_CLI_OBJ := $(filter-out %/main.o,$(CLI_SRC:%.c=$(OBJDIR)/%.o))

fuzz:
	$(MAKE) BUILD=build-fuzz LIB=build-fuzz/libinfer.a CUDA=0 CC=$(FUZZ_CC) OPT="$(FUZZ_OPT)" \
	        LDLIBS="-fsanitize=address,undefined -lm -lpthread" fuzz-build

# Each target for FUZZ_SECONDS from its seeds and what earlier runs kept; fails on a finding.
fuzz-ci: fuzz
	tests/fuzz/run.sh $(FUZZ_SECONDS)

fuzz-build: $(BUILD)/fuzz_model $(BUILD)/fuzz_npy $(BUILD)/fuzz_cli $(BUILD)/fuzz-seeds/.done

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/fuzz_cli: tests/fuzz/fuzz_cli.c $(FUZZ_CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/make_seeds: tests/fuzz/make_seeds.c $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

-include $(wildcard $(BUILD)/fuzz_*.d $(BUILD)/make_seeds.d)

$(BUILD)/fuzz-seeds/.done: $(BUILD)/make_seeds
	rm -rf $(BUILD)/fuzz-seeds
	$(BUILD)/make_seeds $(BUILD)/fuzz-seeds
	touch $@

deps:
	scripts/install-deps

demo: deps all
	scripts/demo

clean:
	rm -rf build build-san build-fuzz $(LIB) $(PLUGIN) infer

help:
	@echo "make [CUDA=0|1] [CUDA_ARCH=...]   build libinfer.a, ./infer, examples and (CUDA=1) libinfer_cuda.so"
	@echo "make test                         unit tests, the op test table, golden models against PyTorch, converter tests"
	@echo "make optest                       the op test table on every backend here (build/op_test --help)"
	@echo "make benches                      the C benchmarks of bench/ into build/bench-bin (bench/README.md)"
	@echo "make sanitize                     C tests and the server's short tests under ASan + UBSan"
	@echo "make fuzz | fuzz-ci [FUZZ_SECONDS=20]  build the libFuzzer targets | run each briefly (docs/FUZZING.md)"
	@echo "make models-test | models-report   real architectures vs PyTorch: the light subset | all, table into docs/OPS.md"
	@echo "make serve-test                   infer serve: protocol, tritonclient, faults, short load run"
	@echo "make demo                         install what is missing, build, convert and run a small model"

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
