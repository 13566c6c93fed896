"""torch <-> numpy copies that avoid torch's numpy bridge (torch 1.13 cannot use numpy 2)."""
import contextlib
import ctypes
import io
import warnings

import numpy as np

with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
    warnings.simplefilter('ignore')  # numpy 2 makes torch 1.13 complain at import; the copies below work
    import torch
    torch.tensor([0.0])  # the first conversion from a sequence initializes (or fails) the bridge

NUMPY_OF_TORCH = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
                  torch.int8: np.int8, torch.uint8: np.uint8, torch.int16: np.int16, torch.int32: np.int32,
                  torch.int64: np.int64, torch.bool: np.bool_}
TORCH_OF_NUMPY = {np.dtype(v): k for k, v in NUMPY_OF_TORCH.items()}


def to_numpy(tensor):
    """A numpy copy of a CPU tensor."""
    tensor = tensor.detach().cpu().contiguous()
    array = np.empty(tuple(tensor.shape), NUMPY_OF_TORCH[tensor.dtype])
    if array.nbytes:  # one copy, straight into numpy's memory
        ctypes.memmove(array.ctypes.data, tensor.data_ptr(), array.nbytes)
    return array


def from_numpy(array):
    """A torch copy of a numpy array."""
    array = np.asarray(array).copy(order='C')
    if array.size == 0:
        return torch.zeros(array.shape, dtype=TORCH_OF_NUMPY[array.dtype])
    flat = torch.frombuffer(bytearray(array.tobytes()), dtype=TORCH_OF_NUMPY[array.dtype])
    return flat.reshape(array.shape)
