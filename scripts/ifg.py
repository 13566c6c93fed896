"""Writer and reader of the .ifg inference graph format (docs/FORMAT.md), versions 1.0 and 1.1 (named dims)."""
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

MAGIC = b'IFGRAPH\0'
VERSION = (1, 0)  # files without named dynamic dims; with them (1, 1)
HEADER_SIZE = 128
DATA_ALIGN = 256
NONE = 0xFFFFFFFF
MAX_DIMS = 8

DTYPES = {'f32': 1, 'f16': 2, 'bf16': 3, 'i8': 4, 'u8': 5, 'i32': 6, 'i64': 7, 'bool': 8}
DTYPE_NAMES = {code: name for name, code in DTYPES.items()}
NUMPY_DTYPES = {'f32': np.float32, 'f16': np.float16, 'i8': np.int8, 'u8': np.uint8,
                'i32': np.int32, 'i64': np.int64, 'bool': np.bool_}
DTYPE_SIZES = {'f32': 4, 'f16': 2, 'bf16': 2, 'i8': 1, 'u8': 1, 'i32': 4, 'i64': 8, 'bool': 1}

STRINGS, TENSORS, NODES, ATTRS, IDS, VALUES, GRAPH, META, DIMS, EXPRS = range(1, 11)
ENTRY_SIZES = {STRINGS: 1, TENSORS: 128, NODES: 32, ATTRS: 24, IDS: 4, VALUES: 8, GRAPH: 16, META: 8,
               DIMS: 32, EXPRS: 64}
REQUIRED = [STRINGS, TENSORS, NODES, ATTRS, IDS, VALUES, GRAPH, META]
MAX_DYN_DIMS, MAX_FACTORS, MAX_POWER, UNCHECKED = 16, 4, 4, 1
ATTR_INT, ATTR_FLOAT, ATTR_INTS, ATTR_FLOATS, ATTR_STRING = 1, 2, 3, 4, 5

HEADER = struct.Struct('<8sHHIQIIQQQII64x')
SECTION = struct.Struct('<IIQQQ')
TENSOR = struct.Struct('<IBBBB8qQQIIIifiI12x')
NODE = struct.Struct('<HHIIIIIII')
ATTR = struct.Struct('<IIIIQ')
DIM = struct.Struct('<IIqqq')
EXPR = struct.Struct('<qqII8I8x')


class FormatError(ValueError):
    """The bytes are not a valid .ifg file (or a graph cannot be written as one)."""


@dataclass
class Tensor:
    name: str
    dtype: str
    dims: List[int]
    data: Optional[np.ndarray] = None  # constants only: logical array (dense) or raw stored bytes
    encoding: int = 0
    aux: List[int] = field(default_factory=lambda: [NONE, NONE, NONE])
    quant_axis: int = 0
    scale: float = 0.0
    zero_point: int = 0
    block: int = 0

    @property
    def is_constant(self):
        return self.data is not None


@dataclass
class Node:
    op: int
    name: str
    inputs: List[int]
    outputs: List[int]
    attrs: Dict[str, object] = field(default_factory=dict)


@dataclass
class DynDim:
    """A named dynamic dim: its range and the size the model was converted at."""
    name: str
    min: int
    max: int
    example: int


@dataclass(frozen=True)
class Expr:
    """coef * prod(dim[s] ** p for s, p in factors) + offset; unchecked: a size only the ops compute."""
    coef: int
    factors: tuple  # ((dim index, power), ...)
    offset: int = 0
    unchecked: bool = False


def expr_code(e):
    """The dim value (in tensor dims and reshape/expand shapes) that stands for expression index e."""
    return -2 - e


def expr_index(code):
    return -2 - code


@dataclass
class Graph:
    tensors: List[Tensor] = field(default_factory=list)
    nodes: List[Node] = field(default_factory=list)
    inputs: List[int] = field(default_factory=list)
    outputs: List[int] = field(default_factory=list)
    meta: Dict[str, str] = field(default_factory=dict)
    dims: List[DynDim] = field(default_factory=list)
    exprs: List[Expr] = field(default_factory=list)

    def add_tensor(self, tensor):
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def expr(self, expr):
        """The dim code of `expr`, added once."""
        if expr not in self.exprs:
            self.exprs.append(expr)
        return expr_code(self.exprs.index(expr))

    def dim_value(self, code, values):
        """A declared dim at named-dim values {index: size}; None for an unchecked expression."""
        if code >= -1 or not self.dims:
            return code
        e = self.exprs[expr_index(code)]
        if e.unchecked:
            return None
        size = e.coef
        for s, p in e.factors:
            size *= values[s] ** p
        return size + e.offset

    def new_expr(self, expr):
        """The dim code of a new expression, never shared: for unchecked sizes, which two tensors may not
        have equal merely because they depend on the same dims."""
        self.exprs.append(expr)
        return expr_code(len(self.exprs) - 1)

    def dim_text(self, code):
        """'5', 'seq', '2*batch*seq+1', '~seq' (unchecked), '-1' (a 1.0 file's batch)."""
        if code >= -1 or not self.dims:
            return str(code)
        e = self.exprs[expr_index(code)]
        text = '~' if e.unchecked else ('' if e.coef == 1 else f'{e.coef}*')
        text += '*'.join(self.dims[s].name + (f'^{p}' if p > 1 else '') for s, p in e.factors)
        return text + (f'{e.offset:+d}' if e.offset else '')


def _align(n, a):
    return (n + a - 1) // a * a


def _stored_bytes(t):
    if t.encoding == 0 and t.dtype in NUMPY_DTYPES:
        arr = np.asarray(t.data, dtype=NUMPY_DTYPES[t.dtype])  # not ascontiguousarray: it makes 0-dim 1-dim
        if list(arr.shape) != list(t.dims):
            raise FormatError(f'tensor {t.name}: data shape {list(arr.shape)} != dims {t.dims}')
        return arr.tobytes(order='C')
    return np.ascontiguousarray(t.data).tobytes()


class _Strings:
    def __init__(self):
        self.buf = bytearray(b'\0')
        self.index = {'': 0}

    def __call__(self, s):
        if s not in self.index:
            if '\0' in s:
                raise FormatError(f'string contains NUL: {s!r}')
            self.index[s] = len(self.buf)
            self.buf += s.encode('utf-8') + b'\0'
        return self.index[s]


def _attr_entry(key, value, strings, values):
    """Pack one attribute; list values are appended to `values` (list of 8-byte blobs)."""
    if isinstance(value, str):
        return ATTR.pack(key, ATTR_STRING, 1, 0, strings(value))
    if isinstance(value, (bool, int, np.integer)):
        return ATTR.pack(key, ATTR_INT, 1, 0, int(value) & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, (float, np.floating)):
        return ATTR.pack(key, ATTR_FLOAT, 1, 0, struct.unpack('<Q', struct.pack('<d', value))[0])
    if isinstance(value, (list, tuple)):
        is_float = any(isinstance(v, (float, np.floating)) for v in value)
        start = len(values)
        values.extend(struct.pack('<d' if is_float else '<q', v) for v in value)
        return ATTR.pack(key, ATTR_FLOATS if is_float else ATTR_INTS, len(value), 0, start)
    raise FormatError(f'attribute value of unsupported type: {value!r}')


def to_bytes(graph):
    """Serialize a Graph into the bytes of a .ifg file."""
    strings, ids, values, attrs, node_entries, tensor_entries = _Strings(), [], [], [], [], []
    data, data_size = [], 0
    for t in graph.tensors:
        if t.dtype not in DTYPES or len(t.dims) > MAX_DIMS:
            raise FormatError(f'tensor {t.name}: bad dtype {t.dtype} or ndim {len(t.dims)}')
        offset = size = 0
        if t.is_constant:
            blob = _stored_bytes(t)
            offset, size = _align(data_size, DATA_ALIGN), len(blob)
            data.append((offset, blob))
            data_size = offset + size
        dims = list(t.dims) + [0] * (MAX_DIMS - len(t.dims))
        tensor_entries.append(TENSOR.pack(
            strings(t.name), DTYPES[t.dtype], t.encoding, len(t.dims), int(t.is_constant), *dims,
            offset, size, *t.aux, t.quant_axis, t.scale, t.zero_point, t.block))
    for n in graph.nodes:
        in_start, out_start, attr_start = len(ids), len(ids) + len(n.inputs), len(attrs)
        ids += list(n.inputs) + list(n.outputs)
        attrs += [_attr_entry(strings(k), v, strings, values) for k, v in n.attrs.items()]
        node_entries.append(NODE.pack(n.op, 0, strings(n.name), in_start, len(n.inputs),
                                      out_start, len(n.outputs), attr_start, len(n.attrs)))
    graph_entry = struct.pack('<IIII', len(ids), len(graph.inputs),
                              len(ids) + len(graph.inputs), len(graph.outputs))
    ids += list(graph.inputs) + list(graph.outputs)
    meta = b''.join(struct.pack('<II', strings(k), strings(v)) for k, v in graph.meta.items())
    dim_names = [strings(d.name) for d in graph.dims]
    sections = [(STRINGS, bytes(strings.buf)), (TENSORS, b''.join(tensor_entries)),
                (NODES, b''.join(node_entries)), (ATTRS, b''.join(attrs)),
                (IDS, struct.pack(f'<{len(ids)}I', *ids)), (VALUES, b''.join(values)),
                (GRAPH, graph_entry), (META, meta)]
    if graph.dims:
        sections += [(DIMS, b''.join(DIM.pack(k, 0, d.min, d.max, d.example) for k, d in zip(dim_names, graph.dims))),
                     (EXPRS, b''.join(_expr_entry(e) for e in graph.exprs))]
    return _assemble(sections, data, data_size, (1, 1) if graph.dims else VERSION)


def _expr_entry(e):
    if not 1 <= len(e.factors) <= MAX_FACTORS:
        raise FormatError(f'expression {e}: 1..{MAX_FACTORS} factors')
    pairs = [v for s, p in e.factors for v in (s, p)] + [0] * (2 * (MAX_FACTORS - len(e.factors)))
    return EXPR.pack(0 if e.unchecked else e.coef, 0 if e.unchecked else e.offset, UNCHECKED if e.unchecked else 0,
                     len(e.factors), *pairs)


def _assemble(sections, data, data_size, version=VERSION):
    table_end = HEADER_SIZE + SECTION.size * len(sections)
    body, table, pos = bytearray(), bytearray(), _align(table_end, 8)
    for kind, blob in sections:
        table += SECTION.pack(kind, ENTRY_SIZES[kind], pos, len(blob), len(blob) // ENTRY_SIZES[kind])
        body += bytes(pos - table_end - len(body)) + blob
        pos = _align(pos + len(blob), 8)
    data_offset = _align(pos + 1, DATA_ALIGN)  # strictly after every section start
    meta_part = bytearray(HEADER_SIZE) + table + body + bytes(data_offset - table_end - len(body))
    data_part = bytearray(data_size)
    for offset, blob in data:
        data_part[offset:offset + len(blob)] = blob
    file_size = data_offset + data_size
    header = HEADER.pack(MAGIC, *version, HEADER_SIZE, file_size, len(sections), 0, HEADER_SIZE,
                         data_offset, data_size, 0, 0)
    meta_part[:HEADER_SIZE] = header
    meta_crc, data_crc = zlib.crc32(meta_part), zlib.crc32(data_part)
    meta_part[:HEADER_SIZE] = HEADER.pack(MAGIC, *version, HEADER_SIZE, file_size, len(sections), 0,
                                          HEADER_SIZE, data_offset, data_size, meta_crc, data_crc)
    return bytes(meta_part + data_part)


def write(path, graph):
    """Write `graph` to `path` atomically (temporary file in the same directory, then rename)."""
    blob = to_bytes(graph)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(blob)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _string(buf, offset):
    end = buf.find(b'\0', offset)
    if offset >= len(buf) or end < 0:
        raise FormatError(f'string offset {offset} outside STRINGS')
    return buf[offset:end].decode('utf-8')


def _sections(blob, count):
    found = {}
    for i in range(count):
        kind, entry_size, offset, size, n = SECTION.unpack_from(blob, HEADER_SIZE + i * SECTION.size)
        if kind in ENTRY_SIZES:
            if kind in found or entry_size < ENTRY_SIZES[kind] or size != n * entry_size:
                raise FormatError(f'section {kind}: duplicate or inconsistent entry')
            found[kind] = [blob[offset + j * entry_size: offset + (j + 1) * entry_size] for j in range(n)]
    missing = set(REQUIRED) - set(found)
    if missing:
        raise FormatError(f'missing sections {sorted(missing)}')
    return found


def _attr_value(entry, strings, values):
    key, kind, count, _, raw = ATTR.unpack_from(entry)
    if kind == ATTR_INT:
        value = struct.unpack('<q', struct.pack('<Q', raw))[0]
    elif kind == ATTR_FLOAT:
        value = struct.unpack('<d', struct.pack('<Q', raw))[0]
    elif kind == ATTR_STRING:
        value = _string(strings, raw)
    elif kind in (ATTR_INTS, ATTR_FLOATS):
        fmt = '<q' if kind == ATTR_INTS else '<d'
        value = [struct.unpack(fmt, values[raw + i][:8])[0] for i in range(count)]
    else:
        raise FormatError(f'unknown attribute type {kind}')
    return _string(strings, key), value


def from_bytes(blob):
    """Parse the bytes of a .ifg file into a Graph, checking magic, version, size and checksums."""
    if len(blob) < HEADER_SIZE or blob[:8] != MAGIC:
        raise FormatError('not an .ifg file (bad magic)')
    (_, major, _, header_size, file_size, count, _, table_offset, data_offset, data_size,
     meta_crc, data_crc) = HEADER.unpack_from(blob)
    if major != VERSION[0]:
        raise FormatError(f'version {major} is not supported (reader version {VERSION[0]})')
    if file_size != len(blob) or data_offset + data_size != file_size or data_offset % DATA_ALIGN:
        raise FormatError('file_size / data_offset / data_size inconsistent')
    zeroed = bytearray(blob[:data_offset])
    zeroed[56:64] = bytes(8)
    if zlib.crc32(zeroed) != meta_crc or zlib.crc32(blob[data_offset:]) != data_crc:
        raise FormatError('checksum mismatch')
    sec = _sections(blob, count)
    strings = b''.join(sec[STRINGS])
    ids = [struct.unpack_from('<I', e)[0] for e in sec[IDS]]
    graph = Graph()
    for e in sec[TENSORS]:
        (name, dtype, enc, ndim, kind, *rest) = TENSOR.unpack_from(e)
        dims, (off, size, a0, a1, a2, axis, scale, zp, block) = rest[:ndim], rest[8:]
        t = Tensor(_string(strings, name), DTYPE_NAMES[dtype], list(dims), None, enc, [a0, a1, a2],
                   axis, scale, zp, block)
        if kind == 1:
            raw = blob[data_offset + off: data_offset + off + size]
            dense = enc == 0 and t.dtype in NUMPY_DTYPES
            t.data = (np.frombuffer(raw, NUMPY_DTYPES[t.dtype]).reshape(dims) if dense
                      else np.frombuffer(raw, np.uint8)).copy()
        graph.tensors.append(t)
    for e in sec[NODES]:
        op, _, name, i0, ni, o0, no, a0, na = NODE.unpack_from(e)
        attrs = dict(_attr_value(sec[ATTRS][a0 + i], strings, sec[VALUES]) for i in range(na))
        graph.nodes.append(Node(op, _string(strings, name), ids[i0:i0 + ni], ids[o0:o0 + no], attrs))
    i0, ni, o0, no = struct.unpack_from('<IIII', sec[GRAPH][0])
    graph.inputs, graph.outputs = ids[i0:i0 + ni], ids[o0:o0 + no]
    graph.meta = {_string(strings, k): _string(strings, v)
                  for k, v in (struct.unpack_from('<II', e) for e in sec[META])}
    for e in sec.get(DIMS, []):
        name, _, low, high, example = DIM.unpack_from(e)
        graph.dims.append(DynDim(_string(strings, name), low, high, example))
    for e in sec.get(EXPRS, []):
        coef, offset, flags, n, *pairs = EXPR.unpack_from(e)
        factors = tuple((pairs[2 * k], pairs[2 * k + 1]) for k in range(n))
        graph.exprs.append(Expr(coef, factors, offset, bool(flags & UNCHECKED)))
    return graph


def read(path):
    """Read a .ifg file into a Graph."""
    with open(path, 'rb') as f:
        return from_bytes(f.read())


def logical(graph, t):
    """The logical (dense) array of an f32 constant stored in a sparse encoding (CSR, BSR, 2:4); other
    constants' data as it is."""
    if t.encoding not in (3, 4, 5):
        return t.data
    dims = [int(d) for d in t.dims]
    rows = dims[0]
    cols = int(np.prod(dims[1:])) if len(dims) > 1 else 1
    values = np.frombuffer(np.ascontiguousarray(t.data).tobytes(), np.float32)
    aux = [graph.tensors[a].data if a != NONE else None for a in t.aux]
    out = np.zeros((rows, cols), np.float32)
    if t.encoding == 3:
        idx, ptr = np.asarray(aux[0]).ravel(), np.asarray(aux[1]).ravel()
        row_of = np.repeat(np.arange(rows), np.diff(ptr))
        out[row_of, idx] = values
    elif t.encoding == 4:
        bh, bw = t.block >> 16, t.block & 0xFFFF
        idx, ptr = np.asarray(aux[0]).ravel(), np.asarray(aux[1]).ravel()
        blocks = values.reshape(-1, bh, bw)
        for br in range(rows // bh):
            for k in range(ptr[br], ptr[br + 1]):
                out[br * bh:(br + 1) * bh, idx[k] * bw:(idx[k] + 1) * bw] = blocks[k]
    elif t.encoding == 5:
        meta = np.asarray(aux[0]).ravel()
        nibbles = np.stack([meta & 15, meta >> 4], axis=1).ravel()[:rows * cols // 4]
        pos = np.stack([nibbles & 3, nibbles >> 2], axis=1).astype(np.int64)
        groups = np.zeros((rows * cols // 4, 4), np.float32)
        np.put_along_axis(groups, pos, values.reshape(-1, 2), axis=1)
        out = groups.reshape(rows, cols)
    return out.reshape(dims)


def dump(graph):
    """A human-readable listing of a Graph."""
    def ref(i):
        return '-' if i == NONE else graph.tensors[i].name

    def describe(i):
        t = graph.tensors[i]
        dims = '[' + ', '.join(graph.dim_text(d) for d in t.dims) + ']'
        return f'{t.name}:{t.dtype}{dims}' + (' const' if t.is_constant else '')
    lines = [f'meta {k} = {v}' for k, v in graph.meta.items()]
    lines += [f'dim {d.name} {d.min}..{d.max} (example {d.example})' for d in graph.dims]
    lines.append('inputs ' + ', '.join(describe(i) for i in graph.inputs))
    for n in graph.nodes:
        attrs = ' '.join(f'{k}={v}' for k, v in n.attrs.items())
        lines.append(f'op{n.op} [{n.name}] ({", ".join(map(ref, n.inputs))}) -> '
                     f'{", ".join(describe(o) for o in n.outputs)} {attrs}')
    lines.append('outputs ' + ', '.join(describe(i) for i in graph.outputs))
    return '\n'.join(lines)


if __name__ == '__main__':
    import sys
    for file in sys.argv[1:]:
        print(dump(read(file)))
