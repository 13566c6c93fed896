# grpc.mk — the gRPC front end of `infer serve` (make GRPC=1): C++ from server/grpc_predict_v2.proto,
# generated with protoc + grpc_cpp_plugin (Debian protobuf-compiler-grpc, libgrpc++-dev).
.DEFAULT_GOAL := all
CXX       ?= c++
GRPC_GEN  := $(BUILD)/grpc-gen
GRPC_PB   := $(GRPC_GEN)/grpc_predict_v2.pb.cc $(GRPC_GEN)/grpc_predict_v2.grpc.pb.cc
CXXFLAGS  += -std=c++17 $(OPT) -g -Wall -Iinclude -I$(GRPC_GEN) -pthread -MMD -MP $(shell pkg-config --cflags grpc++ protobuf)
CLI_OBJ   += $(OBJDIR)/server/grpc_service.o $(OBJDIR)/grpc-gen/grpc_predict_v2.pb.o $(OBJDIR)/grpc-gen/grpc_predict_v2.grpc.pb.o
SERVER_LIBS += $(shell pkg-config --libs grpc++ protobuf) -lstdc++

$(GRPC_PB) $(GRPC_PB:.cc=.h) &: server/grpc_predict_v2.proto
	@mkdir -p $(GRPC_GEN)
	protoc -Iserver --cpp_out=$(GRPC_GEN) --grpc_out=$(GRPC_GEN) --plugin=protoc-gen-grpc=$(shell command -v grpc_cpp_plugin) $<

$(OBJDIR)/grpc-gen/%.o: $(GRPC_GEN)/%.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c -o $@ $<

$(OBJDIR)/server/grpc_service.o: server/grpc_service.cc $(GRPC_PB)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c -o $@ $<
