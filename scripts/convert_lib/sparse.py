"""Pruned weights: measure each linear/conv2d weight's density and structure, store it CSR, BSR or 2:4."""
import numpy as np

import ifg
from .opcodes import CONV2D, LINEAR

MODES = ('auto', 'off', 'csr', 'block', '2:4')
BLOCK = (4, 4)          # BSR block rows x cols: the CPU kernel's register tile and a cuSPARSE BSR block
DEFAULT_THRESHOLD = 0.5  # auto stores a weight sparse only at or below this density
MIN_ELEMENTS = 256       # smaller weights stay dense: no saving worth a sparse kernel

CSR, BSR, SPARSE_2_4 = 3, 4, 5
NAMES = {0: 'dense', CSR: 'csr', BSR: 'block', SPARSE_2_4: '2:4'}


def view2d(array):
    """The 2-D view of the format: [dims[0], prod(dims[1:])], the reduction along the last axis."""
    return array.reshape(array.shape[0], -1)


def block_mask(w2):
    """Which BLOCK tiles of w2 hold a non-zero ([rows/bh, cols/bw] bool); None when BLOCK does not tile w2."""
    bh, bw = BLOCK
    rows, cols = w2.shape
    if rows % bh or cols % bw:
        return None
    return (w2.reshape(rows // bh, bh, cols // bw, bw) != 0).any(axis=(1, 3))


def fits_2_4(w2):
    """Every group of 4 along the last axis has at most 2 non-zeros."""
    rows, cols = w2.shape
    return cols % 4 == 0 and bool(((w2.reshape(rows, cols // 4, 4) != 0).sum(axis=2) <= 2).all())


def encode_csr(w2):
    rows = w2.shape[0]
    nz = w2 != 0
    values = w2[nz].astype(np.float32)
    cols = np.nonzero(nz)[1].astype(np.int32)
    ptr = np.zeros(rows + 1, np.int32)
    ptr[1:] = np.cumsum(nz.sum(axis=1))
    return values, cols, ptr


def encode_bsr(w2):
    bh, bw = BLOCK
    rows, cols = w2.shape
    mask = block_mask(w2)
    tiles = w2.reshape(rows // bh, bh, cols // bw, bw).transpose(0, 2, 1, 3)  # [brow, bcol, bh, bw]
    values = tiles[mask].astype(np.float32)                                  # row-major blocks
    bcols = np.nonzero(mask)[1].astype(np.int32)
    ptr = np.zeros(rows // bh + 1, np.int32)
    ptr[1:] = np.cumsum(mask.sum(axis=1))
    return values, bcols, ptr


def encode_2_4(w2):
    """Two kept values per group of 4 (the non-zeros, padded with zeros at the first free positions) and the
    metadata: per group a nibble idx0 | idx1 << 2 (idx0 < idx1), two groups a byte, the first in the low bits."""
    rows, cols = w2.shape
    groups = w2.reshape(-1, 4)
    nz = groups != 0
    # rank positions: non-zeros first (in order), then zeros; the first two are kept
    order = np.argsort(~nz, axis=1, kind='stable')[:, :2]
    order.sort(axis=1)
    values = np.take_along_axis(groups, order, axis=1).astype(np.float32)
    nibbles = (order[:, 0] | (order[:, 1] << 2)).astype(np.uint8)
    if len(nibbles) % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    meta = (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8)
    return values.reshape(rows, cols // 2), meta


def candidates(w2, mode):
    """{encoding: stored bytes} of the encodings mode allows that can hold w2 exactly."""
    rows, cols = w2.shape
    nnz = int(np.count_nonzero(w2))
    found = {}
    if mode in ('auto', 'csr'):
        found[CSR] = 8 * nnz + 4 * (rows + 1)
    mask = block_mask(w2) if mode in ('auto', 'block') else None
    if mask is not None:
        nblocks = int(mask.sum())
        found[BSR] = nblocks * (BLOCK[0] * BLOCK[1] * 4 + 4) + 4 * (rows // BLOCK[0] + 1)
    if mode in ('auto', '2:4') and fits_2_4(w2):
        found[SPARSE_2_4] = rows * cols * 2 + (rows * cols + 7) // 8
    return found


def choose(w, mode, threshold):
    """(encoding, density, why) for weight array w under mode: the smallest encoding that holds it, when its
    density is at most threshold (auto) and it is smaller than dense; forced modes take their encoding when
    it can hold the weight."""
    w2 = view2d(w)
    density = float(np.count_nonzero(w2)) / max(w2.size, 1)
    if mode == 'off' or w.dtype != np.float32 or w.ndim < 2 or w2.size < MIN_ELEMENTS:
        return 0, density, 'not considered'
    found = candidates(w2, mode)
    if not found:
        return 0, density, f'{mode} does not fit (shape {list(w2.shape)})'
    enc = min(found, key=found.get)
    if mode == 'auto':
        if density > threshold:
            return 0, density, f'density above {threshold:g}'
        if found[enc] >= w2.size * 4:
            return 0, density, 'no sparse encoding is smaller than dense'
    return enc, density, f'{found[enc]} bytes vs {w2.size * 4} dense'


def sparse_weights(graph):
    """Ids of f32 constants read only as the weight (input 1) of linear and conv2d nodes."""
    weight, other = set(), set()
    for n in graph.nodes:
        for k, t in enumerate(n.inputs):
            if t == ifg.NONE:
                continue
            (weight if n.op in (LINEAR, CONV2D) and k == 1 else other).add(t)
    return sorted(t for t in weight - other - set(graph.outputs)
                  if graph.tensors[t].is_constant and graph.tensors[t].dtype == 'f32' and
                  graph.tensors[t].encoding == 0)


def aux_tensor(graph, name, array, dtype):
    names = {t.name for t in graph.tensors}
    base, k = name, 1
    while name in names:
        name, k = f'{base}_{k}', k + 1
    return graph.add_tensor(ifg.Tensor(name, dtype, list(array.shape), array))


def store(graph, tid, enc):
    """Re-stores constant tid in encoding enc (its aux tensors appended to graph)."""
    t = graph.tensors[tid]
    w2 = view2d(np.asarray(t.data, np.float32))
    if enc == CSR:
        values, idx, ptr = encode_csr(w2)
        t.aux = [aux_tensor(graph, t.name + '.col_idx', idx, 'i32'), aux_tensor(graph, t.name + '.row_ptr', ptr, 'i32'),
                 ifg.NONE]
    elif enc == BSR:
        values, idx, ptr = encode_bsr(w2)
        t.aux = [aux_tensor(graph, t.name + '.block_col_idx', idx, 'i32'),
                 aux_tensor(graph, t.name + '.block_row_ptr', ptr, 'i32'), ifg.NONE]
        t.block = (BLOCK[0] << 16) | BLOCK[1]
    else:
        values, meta = encode_2_4(w2)
        t.aux = [aux_tensor(graph, t.name + '.meta_2_4', meta, 'u8'), ifg.NONE, ifg.NONE]
    t.encoding = enc
    t.data = np.ascontiguousarray(values, np.float32).reshape(-1)


def apply(graph, mode='auto', threshold=DEFAULT_THRESHOLD):
    """Chooses and applies every eligible weight's storage; records `sparse.<tensor>` = `<storage> density=<d>`
    in graph.meta for each; returns [(name, storage, density, why)]."""
    report = []
    for tid in sparse_weights(graph):
        t = graph.tensors[tid]
        enc, density, why = choose(np.asarray(t.data), mode, threshold)
        if enc:
            store(graph, tid, enc)
        if enc or density < 1.0:
            graph.meta[f'sparse.{t.name}'] = f'{NAMES[enc]} density={density:.4f}'
        report.append((t.name, NAMES[enc], density, why))
    return report
