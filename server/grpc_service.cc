// grpc_service.cc — the KServe v2 GRPCInferenceService over gRPC's C++ library: a thin layer over the C core.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "grpc.h"
#include "grpc_predict_v2.grpc.pb.h"

namespace {

using grpc::ServerContext;
using grpc::Status;
using grpc::StatusCode;
namespace pb = inference;

Status to_status(srv_code code, const char *message) {
    static const StatusCode codes[] = {StatusCode::OK,          StatusCode::INVALID_ARGUMENT,  StatusCode::NOT_FOUND,
                                       StatusCode::UNAVAILABLE, StatusCode::DEADLINE_EXCEEDED, StatusCode::INTERNAL};
    return Status(code <= SRV_INTERNAL ? codes[code] : StatusCode::INTERNAL, message);
}

void set_metadata(pb::ModelMetadataResponse::TensorMetadata *t, const infer_tensor_info &info) {
    t->set_name(info.name);
    t->set_datatype(srv_datatype_name(info.dtype));
    for (int d = 0; d < info.ndim; d++) t->add_shape(info.dims[d] < 0 ? -1 : info.dims[d]);
}

// Typed contents of one input, converted into its datatype's bytes; false with a message when they do not fit.
template <typename Field, typename T>
bool copy_contents(const Field &field, int64_t count, std::string *bytes) {
    if ((int64_t)field.size() != count) return false;
    bytes->resize((size_t)count * sizeof(T));
    for (int64_t i = 0; i < count; i++) {
        T v = (T)field.Get((int)i);
        std::memcpy(&(*bytes)[(size_t)i * sizeof(T)], &v, sizeof(T));
    }
    return true;
}

bool decode_contents(const pb::InferTensorContents &c, infer_dtype dtype, int64_t count, std::string *bytes) {
    switch (dtype) {
    case INFER_F32: return copy_contents<decltype(c.fp32_contents()), float>(c.fp32_contents(), count, bytes);
    case INFER_I64: return copy_contents<decltype(c.int64_contents()), int64_t>(c.int64_contents(), count, bytes);
    case INFER_I32: return copy_contents<decltype(c.int_contents()), int32_t>(c.int_contents(), count, bytes);
    case INFER_I8: return copy_contents<decltype(c.int_contents()), int8_t>(c.int_contents(), count, bytes);
    case INFER_U8: return copy_contents<decltype(c.uint_contents()), uint8_t>(c.uint_contents(), count, bytes);
    case INFER_BOOL: return copy_contents<decltype(c.bool_contents()), uint8_t>(c.bool_contents(), count, bytes);
    default: return false; // FP16 and BF16 travel only as raw bytes
    }
}

class Service final : public pb::GRPCInferenceService::Service {
  public:
    explicit Service(srv_core *core) : core_(core) {}

    Status ServerLive(ServerContext *, const pb::ServerLiveRequest *, pb::ServerLiveResponse *r) override {
        r->set_live(true);
        return Status::OK;
    }

    Status ServerReady(ServerContext *, const pb::ServerReadyRequest *, pb::ServerReadyResponse *r) override {
        r->set_ready(srv_core_ready(core_) != 0);
        return Status::OK;
    }

    Status ModelReady(ServerContext *, const pb::ModelReadyRequest *q, pb::ModelReadyResponse *r) override {
        srv_error err;
        srv_model *m = srv_core_find(core_, q->name().c_str(), q->version().c_str(), &err);
        if (!m) return to_status(err.code, err.message);
        r->set_ready(srv_model_ready(m) != 0);
        return Status::OK;
    }

    Status ServerMetadata(ServerContext *, const pb::ServerMetadataRequest *, pb::ServerMetadataResponse *r) override {
        r->set_name("infer");
        r->set_version(INFER_VERSION);
        r->add_extensions("binary_tensor_data");
        return Status::OK;
    }

    Status ModelMetadata(ServerContext *, const pb::ModelMetadataRequest *q, pb::ModelMetadataResponse *r) override {
        srv_error err;
        srv_model *m = srv_core_find(core_, q->name().c_str(), q->version().c_str(), &err);
        if (!m) return to_status(err.code, err.message);
        const char *versions[64];
        int n = srv_core_versions(core_, srv_model_name(m), versions, 64);
        r->set_name(srv_model_name(m));
        for (int i = 0; i < n; i++) r->add_versions(versions[i]);
        r->set_platform("infer_ifg");
        const infer_model *model = srv_model_handle(m);
        infer_tensor_info info;
        for (int i = 0; i < infer_model_input_count(model); i++) srv_model_input(m, i, &info), set_metadata(r->add_inputs(), info);
        for (int i = 0; i < infer_model_output_count(model); i++) srv_model_output(m, i, &info), set_metadata(r->add_outputs(), info);
        return Status::OK;
    }

    Status ModelInfer(ServerContext *, const pb::ModelInferRequest *q, pb::ModelInferResponse *r) override {
        srv_error err;
        srv_model *m = srv_core_find(core_, q->model_name().c_str(), q->model_version().c_str(), &err);
        if (!m) return to_status(err.code, err.message);
        srv_code code = SRV_OK;
        int n = q->inputs_size();
        std::vector<srv_input> inputs((size_t)n);
        std::vector<std::string> decoded((size_t)n);
        if (q->raw_input_contents_size() && q->raw_input_contents_size() != n)
            code = srv_fail(&err, SRV_INVALID, "%d raw_input_contents for %d inputs", q->raw_input_contents_size(), n);
        for (int i = 0; code == SRV_OK && i < n; i++) {
            const auto &t = q->inputs(i);
            srv_input &in = inputs[(size_t)i];
            in.name = t.name().c_str();
            in.dtype = srv_datatype_parse(t.datatype().c_str(), &err);
            if (!in.dtype) code = SRV_INVALID;
            else if (t.shape_size() > INFER_MAX_DIMS)
                code = srv_fail(&err, SRV_INVALID, "input '%s': more than %d dims", in.name, INFER_MAX_DIMS);
            int64_t count = 1;
            in.ndim = t.shape_size();
            for (int d = 0; code == SRV_OK && d < in.ndim; d++) {
                in.dims[d] = t.shape(d);
                if (in.dims[d] < 0 || in.dims[d] > ((int64_t)1 << 40) || (count *= in.dims[d]) > ((int64_t)1 << 40))
                    code = srv_fail(&err, SRV_INVALID, "input '%s': shape[%d] is not a size", in.name, d);
            }
            if (code != SRV_OK) break;
            if (q->raw_input_contents_size()) {
                in.data = q->raw_input_contents(i).data();
                in.bytes = q->raw_input_contents(i).size();
            } else if (decode_contents(t.contents(), in.dtype, count, &decoded[(size_t)i])) {
                in.data = decoded[(size_t)i].data();
                in.bytes = decoded[(size_t)i].size();
            } else {
                code = srv_fail(&err, SRV_INVALID, "input '%s': contents do not hold %lld %s elements (FP16 and BF16 only "
                                "as raw_input_contents)", in.name, (long long)count, t.datatype().c_str());
            }
        }
        std::vector<const char *> requested;
        for (const auto &o : q->outputs()) requested.push_back(o.name().c_str());
        int64_t timeout_us = 0;
        auto p = q->parameters().find("timeout");
        if (p != q->parameters().end()) timeout_us = p->second.int64_param();
        srv_result res{};
        if (code == SRV_OK)
            code = srv_core_infer(core_, m, inputs.data(), n, requested.data(), (int)requested.size(), timeout_us, &res,
                                  &err);
        else
            srv_core_count_failure(m, code);
        if (code != SRV_OK) return to_status(code, err.message);
        r->set_model_name(res.model_name);
        r->set_model_version(res.model_version);
        r->set_id(q->id());
        for (int k = 0; k < res.n_outputs; k++) {
            const srv_output &o = res.outputs[k];
            auto *t = r->add_outputs();
            t->set_name(o.name);
            t->set_datatype(srv_datatype_name(o.dtype));
            for (int d = 0; d < o.ndim; d++) t->add_shape(o.dims[d]);
            r->add_raw_output_contents(o.data, o.bytes);
        }
        srv_result_free(&res);
        return Status::OK;
    }

  private:
    srv_core *core_;
};

} // namespace

struct srv_grpc {
    std::unique_ptr<Service> service;
    std::unique_ptr<grpc::Server> server;
    int port = 0;
};

extern "C" srv_grpc *srv_grpc_start(srv_core *core, const char *host, int port, size_t max_message, srv_error *err) {
    auto g = std::make_unique<srv_grpc>();
    g->service = std::make_unique<Service>(core);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(std::string(host) + ":" + std::to_string(port), grpc::InsecureServerCredentials(), &g->port);
    builder.SetMaxReceiveMessageSize(max_message < INT32_MAX ? (int)max_message : INT32_MAX);
    builder.SetMaxSendMessageSize(INT32_MAX);
    builder.RegisterService(g->service.get());
    g->server = builder.BuildAndStart();
    if (!g->server || g->port == 0) {
        srv_fail(err, SRV_INTERNAL, "cannot listen for gRPC on %s:%d", host, port);
        return nullptr;
    }
    return g.release();
}

extern "C" int srv_grpc_port(const srv_grpc *g) { return g->port; }

extern "C" void srv_grpc_stop(srv_grpc *g) {
    if (!g) return;
    g->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    g->server->Wait();
    delete g;
}
