"""The engines bench/compare times against infer: TorchScript (as saved, and frozen), eager PyTorch, ONNX Runtime."""
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


def ort_peer(gen, name, inputs, threads, workdir):
    """A callable running the model exported with torch.onnx.export in ONNX Runtime, or (None, why)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None, 'onnxruntime not installed'
    import torch
    path = os.path.join(workdir, f'{name}.onnx')
    names = [f'in{i}' for i in range(len(inputs))]
    try:
        if not os.path.exists(path):
            torch.manual_seed(0)
            model = gen.randomize_norms(gen.MODELS[name][0]()).eval()
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter('ignore')
                torch.onnx.export(model, tuple(inputs), path + '.tmp', input_names=names, opset_version=14,
                                  dynamic_axes={n: {0: 'batch'} for n in names})
            os.replace(path + '.tmp', path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
        feed = {n: gen.to_numpy(t) for n, t in zip(names, inputs)}
        session.run(None, feed)
    except Exception as e:  # noqa: BLE001  (an export or session failure is reported, not fatal)
        return None, f'ONNX export or session failed: {str(e).splitlines()[0][:120] if str(e) else type(e).__name__}'
    return (lambda: session.run(None, feed)), None


def ort_version():
    try:
        import onnxruntime
        return onnxruntime.__version__
    except ImportError:
        return 'not installed'
