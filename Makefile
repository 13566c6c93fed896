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

LIB_SRC := $(wildcard base/*.c runtime/*.c graph/*.c graph/ops/*.c loaders/*.c kernels/cpu/*.c quant/*.c)
CLI_SRC := $(wildcard runtime/cli/*.c)
# `infer serve` (server/): HTTP with libmicrohttpd + jansson; gRPC (C++, server/grpc.mk) when Debian gRPC is there.
GRPC    ?= $(shell pkg-config --exists grpc++ protobuf && command -v grpc_cpp_plugin >/dev/null && echo 1 || echo 0)
SERVER_SRC := $(filter-out server/grpc_none.c,$(wildcard server/*.c))
SERVER_LIBS := -lmicrohttpd -ljansson
ifeq ($(CUDA),1)
CFLAGS    += -DINFER_CUDA=1 -I$(CUDA_HOME)/include
NVCCFLAGS += -std=c++17 -O3 -g -lineinfo $(CUDA_ARCH) -Iinclude -DINFER_CUDA=1 -Xcompiler -fPIC,-Wall -MMD -MP
LIB_SRC   += $(wildcard runtime/cuda/*.c kernels/cuda/*.c)
CU_SRC    := $(wildcard kernels/cuda/*.cu runtime/cuda/*.cu)
LDLIBS    += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudnn -lcublasLt -lcublas -lcudart -lstdc++
endif

LIB_OBJ := $(LIB_SRC:%.c=$(OBJDIR)/%.o) $(CU_SRC:%.cu=$(OBJDIR)/%.cu.o)

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

.PHONY: all lib test unit golden serve-test sanitize demo clean deps help opcodes opcodes-check
all: $(LIB) infer $(EXAMPLES)
lib: $(LIB)

$(LIB): $(LIB_OBJ) $(CONFIG)
	@rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(INFER_BIN): $(CLI_OBJ) $(LIB) $(CONFIG)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(SERVER_LIBS) $(LDLIBS)

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

test: all unit golden serve-test opcodes-check
	$(PYTHON) tests/converter/test_convert.py
	PYTHON=$(PYTHON) tests/gpu/gpu_check_dry.sh

# `infer serve` on loopback: protocol, official clients, faults, a short load run.
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
	        LDLIBS="-fsanitize=address,undefined -lm -lpthread" build-san/unit_tests build-san/golden_check
	$(call UNIT_RUN,ASAN_OPTIONS=detect_leaks=1 build-san/unit_tests)
	GOLDEN_BIN=build-san/golden_check tests/golden/run.sh build/golden --no-cli
	$(MAKE) BUILD=build-san LIB=build-san/libinfer.a CUDA=0 INFER_BIN=build-san/infer \
	        OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDLIBS="-fsanitize=address,undefined -lm -lpthread" build-san/infer
	ASAN_OPTIONS=detect_leaks=1 INFER_BIN=build-san/infer tests/serve/run.sh --sanitized

deps:
	scripts/install-deps

demo: deps all
	scripts/demo

clean:
	rm -rf build build-san $(LIB) infer

help:
	@echo "make [CUDA=0|1] [CUDA_ARCH=...]   build libinfer.a, ./infer and examples"
	@echo "make test                         unit tests, golden models against PyTorch, converter tests"
	@echo "make sanitize                     C tests and the server's short tests under ASan + UBSan"
	@echo "make serve-test                   infer serve: protocol, tritonclient, faults, short load run"
	@echo "make demo                         install what is missing, build, convert and run a small model"

-include $(shell find $(OBJDIR) -name '*.d' 2>/dev/null)
