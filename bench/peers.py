"""The engines bench/compare times against infer: TorchScript (as saved, and frozen), eager PyTorch, ONNX Runtime,
OpenVINO; and the models it times (gen.py's, the image models at the bench's image size, plus efficientnet_b0)."""
import contextlib
import importlib.util
import io
import os
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_gen():
    """tests/golden/gen.py as a module (model builders and example inputs); it imports torch quietly."""
    spec = importlib.util.spec_from_file_location('golden_gen', os.path.join(ROOT, 'tests', 'golden', 'gen.py'))
    gen = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        spec.loader.exec_module(gen)
    return gen


def set_threads(torch, threads):
    torch.set_num_threads(threads)
    with contextlib.suppress(RuntimeError):  # only possible before any inter-op work
        torch.set_num_interop_threads(1)


def time_runs(fn, seconds, min_runs=10):
    """Per-run latencies in ms: at least min_runs runs and at least `seconds`, like `infer bench`."""
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times


def torch_peers(gen, name, golden, batch):
    """{peer name: zero-argument callable} for one model and batch; the inputs are gen.py's, seeded."""
    import torch
    builder, _, makers, _ = gen.MODELS[name]
    torch.manual_seed(0)
    inputs = [make(batch) for make in makers]
    peers = {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        scripted = torch.jit.load(os.path.join(golden, f'{name}.pt')).eval()
        peers['torchscript'] = scripted
        with contextlib.suppress(Exception):  # freezing may not apply to every module
            peers['torchscript-frozen'] = torch.jit.optimize_for_inference(torch.jit.freeze(scripted))
        with contextlib.suppress(Exception):
            torch.manual_seed(0)
            peers['eager'] = gen.randomize_norms(builder()).eval()

    def runner(module):
        def run():
            with torch.inference_mode(), torch.jit.optimized_execution(True):
                module(*inputs)
        return run

    return {k: runner(m) for k, m in peers.items()}, inputs


# Image models: timed at `bench/compare --image-size` (224 by default), not at gen.py's 64x64.
IMAGE_MODELS = ['resnet18', 'resnet50', 'mobilenet_v2', 'efficientnet_b0']


def bench_models(gen, size):
    """gen.MODELS with the image models' inputs at size x size and efficientnet_b0 added (same tuple layout)."""
    import torch
    import torchvision
    models = dict(gen.MODELS)
    models['efficientnet_b0'] = (lambda: torchvision.models.efficientnet_b0(weights=None), 'trace', None, None)
    for name in IMAGE_MODELS:
        builder, mode, _, _ = models[name]
        models[name] = (builder, mode, [lambda b: torch.randn(b, 3, size, size)], [f'1x3x{size}x{size}'])
    return models


def export_onnx(gen, name, inputs, workdir):
    """The eager model exported with torch.onnx.export (opset 14, dynamic batch) once into workdir; its path."""
    import torch
    path = os.path.join(workdir, f'{name}.onnx')
    if not os.path.exists(path):
        torch.manual_seed(0)
        model = gen.randomize_norms(gen.MODELS[name][0]()).eval()
        names = [f'in{i}' for i in range(len(inputs))]
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter('ignore')
            torch.onnx.export(model, tuple(inputs), path + '.tmp', input_names=names, opset_version=14,
                              dynamic_axes={n: {0: 'batch'} for n in names})
        os.replace(path + '.tmp', path)
    return path


def _first_line(e):
    return str(e).splitlines()[0][:120] if str(e) else type(e).__name__


def ort_peer(gen, name, inputs, threads, workdir):
    """A callable running the exported model in ONNX Runtime (all graph optimizations), or (None, why)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None, 'onnxruntime not installed'
    names = [f'in{i}' for i in range(len(inputs))]
    try:
        path = export_onnx(gen, name, inputs, workdir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        feed = {n: gen.to_numpy(t) for n, t in zip(names, inputs)}
        session.run(None, feed)
    except Exception as e:  # noqa: BLE001  (an export or session failure is reported, not fatal)
        return None, f'ONNX export or session failed: {_first_line(e)}'
    return (lambda: session.run(None, feed)), None


def ov_compile(gen, name, inputs, threads, workdir, profile=False):
    """The exported model compiled by OpenVINO for the CPU at these inputs' shapes: latency hint, f32
    inference precision, `threads` threads, one stream. Returns (infer request, feed)."""
    import openvino as ov
    core = ov.Core()
    model = core.read_model(export_onnx(gen, name, inputs, workdir))
    names = [f'in{i}' for i in range(len(inputs))]
    model.reshape({n: list(t.shape) for n, t in zip(names, inputs)})
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32', 'INFERENCE_NUM_THREADS': str(threads),
              'NUM_STREAMS': '1', 'PERF_COUNT': 'YES' if profile else 'NO'}
    request = core.compile_model(model, 'CPU', config).create_infer_request()
    feed = {n: gen.to_numpy(t) for n, t in zip(names, inputs)}
    request.infer(feed)
    return request, feed


def ov_peer(gen, name, inputs, threads, workdir):
    """A callable running the exported model in OpenVINO (ov_compile), or (None, why)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return None, 'openvino not installed'
    try:
        request, feed = ov_compile(gen, name, inputs, threads, workdir)
    except Exception as e:  # noqa: BLE001
        return None, f'OpenVINO compile failed: {_first_line(e)}'
    return (lambda: request.infer(feed)), None


def ov_profile(gen, name, inputs, threads, workdir, runs=20):
    """OpenVINO's per-layer times (PERF_COUNT) over `runs` runs: [{name, op, ms}] slowest first, or a why string."""
    try:
        request, feed = ov_compile(gen, name, inputs, threads, workdir, profile=True)
        total = {}
        for _ in range(runs):
            request.infer(feed)
            for info in request.profiling_info:
                if info.status.name == 'EXECUTED':
                    key = (info.node_name, info.node_type, info.exec_type)
                    total[key] = total.get(key, 0.0) + info.real_time.total_seconds() * 1e3 / runs
    except Exception as e:  # noqa: BLE001
        return f'OpenVINO profile failed: {_first_line(e)}'
    return [{'name': k[0], 'op': f'{k[1]} ({k[2]})', 'ms': v} for k, v in sorted(total.items(), key=lambda kv: -kv[1])]


def ort_version():
    try:
        import onnxruntime
        return onnxruntime.__version__
    except ImportError:
        return 'not installed'


def ov_version():
    try:
        import openvino
        return openvino.__version__
    except ImportError:
        return 'not installed'
