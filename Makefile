# Makefile — builds libinfer.a, the ./infer CLI, examples and tests. `make CUDA=0` skips CUDA.

CC      ?= cc
NVCC    ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA    ?= $(if $(NVCC),1,0)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
PYTHON  ?= /usr/bin/python3

OPT     ?= -O3
CFLAGS  += -std=c11 $(OPT) -g -Wall -Wextra -Wno-unused-parameter -Wshadow -fno-strict-aliasing \
           -D_GNU_SOURCE -Iinclude -pthread -MMD -MP
LDLIBS  += -lm -lpthread

SHELL   := /bin/bash
BUILD   ?= build
LIB     ?= libinfer.a
OBJDIR  := $(BUILD)/obj-cuda$(CUDA)

LIB_SRC := $(wildcard runtime/*.c graph/*.c graph/ops/*.c loaders/*.c kernels/cpu/*.c)
CLI_SRC := $(wildcard runtime/cli/*.c)
ifeq ($(CUDA),1)
CFLAGS    += -DINFER_CUDA=1 -I$(CUDA_HOME)/include
NVCCFLAGS += -std=c++17 -O3 -g -lineinfo $(CUDA_ARCH) -Iinclude -DINFER_CUDA=1 -Xcompiler -fPIC,-Wall -MMD -MP
LIB_SRC   += $(wildcard runtime/cuda/*.c)
CU_SRC    := $(wildcard kernels/cuda/*.cu runtime/cuda/*.cu)
LDLIBS    += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcudart -lstdc++
endif

LIB_OBJ := $(LIB_SRC:%.c=$(OBJDIR)/%.o) $(CU_SRC:%.cu=$(OBJDIR)/%.cu.o)

# The build configuration, rewritten only when it changes, so that switching CUDA=0/1 relinks.
CONFIG := $(BUILD)/config-$(notdir $(LIB)).txt
$(shell mkdir -p $(BUILD) && (echo "CUDA=$(CUDA) OPT=$(OPT)" | cmp -s - $(CONFIG) || echo "CUDA=$(CUDA) OPT=$(OPT)" > $(CONFIG)))
CLI_OBJ := $(CLI_SRC:%.c=$(OBJDIR)/%.o)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))

.PHONY: all lib test unit golden sanitize demo clean deps help
all: $(LIB) infer $(EXAMPLES)
lib: $(LIB)

$(LIB): $(LIB_OBJ) $(CONFIG)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

infer: $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(LIB) include/infer.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

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

$(UNIT_BIN): $(UNIT_SRC) tests/unit/testutil.h $(LIB)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $(UNIT_SRC) $(LIB) -lcriterion $(LDLIBS)

$(GOLDEN_BIN): tests/golden/golden_check.c $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Skipped tests (GPU tests without a GPU) and failures are listed; passes are only counted.
UNIT_RUN = set -o pipefail; $(1) --jobs 2 --verbose 2>&1 | grep -vE '^\[(RUN |PASS)\]|^\[====\] Running'

unit: $(UNIT_BIN)
	$(call UNIT_RUN,$(UNIT_BIN))

golden: all $(GOLDEN_BIN)
	tests/golden/run.sh $(BUILD)/golden

test: all unit golden
	$(PYTHON) tests/converter/test_convert.py
	$(PYTHON) tests/converter/test_sparse.py

# ASan + UBSan build of the library and the C tests, in its own build folder.
sanitize:
	$(MAKE) BUILD=build-san LIB=build-san/libinfer.a CUDA=0 \
	        OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDLIBS="-fsanitize=address,undefined -lm -lpthread" build-san/unit_tests build-san/golden_check
	$(call UNIT_RUN,ASAN_OPTIONS=detect_leaks=1 build-san/unit_tests)
	GOLDEN_BIN=build-san/golden_check tests/golden/run.sh build/golden --no-cli

deps:
	scripts/install-deps

demo: deps all
	scripts/demo

clean:
	rm -rf build build-san $(LIB) infer

help:
	@echo "make [CUDA=0|1] [CUDA_ARCH=...]   build libinfer.a, ./infer and examples"
	@echo "make test                         unit tests, golden models against PyTorch, converter tests"
	@echo "make sanitize                     C tests under ASan + UBSan"
	@echo "make demo                         install what is missing, build, convert and run a small model"

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
