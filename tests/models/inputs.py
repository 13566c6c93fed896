"""Model inputs of the coverage suite: named dynamic dims with two sizes each, seeded data, --input specs."""
import torch

DTYPE_NAMES = {torch.float32: 'float32', torch.int64: 'int64'}


class Dim:
    """A dynamic dimension: its name and the two sizes the suite runs at (the first is traced)."""

    def __init__(self, name, first, second):
        self.name, self.sizes = name, (first, second)


class Input:
    """One forward argument: dims (ints are static, Dims dynamic), dtype and how its data is made."""

    def __init__(self, name, dims, dtype, kind, high=None):
        self.name, self.dims, self.dtype, self.kind, self.high = name, list(dims), dtype, kind, high

    def shape(self, which):
        return [d.sizes[which] if isinstance(d, Dim) else d for d in self.dims]

    def spec(self):
        """The converter's --input text: the plain form when only a leading `batch` is dynamic (its
        back-compatible default), else each dynamic dim named with its example size."""
        dynamic = [(i, d.name) for i, d in enumerate(self.dims) if isinstance(d, Dim)]
        shape = 'x'.join(str(d) for d in self.shape(0))
        if dynamic != [(0, 'batch')]:
            shape = 'x'.join(f'{d.name}={d.sizes[0]}' if isinstance(d, Dim) else str(d) for d in self.dims)
        return f'{shape}:{DTYPE_NAMES[self.dtype]}' if self.dtype != torch.float32 else shape

    def make(self, which, generator):
        shape = self.shape(which)
        if self.kind == 'randn':
            return torch.randn(shape, generator=generator)
        if self.kind == 'ids':
            return torch.randint(0, self.high, shape, generator=generator)
        keep = torch.rand(shape, generator=generator) > 0.25   # attention mask: some padding, never a whole row
        keep[..., 0] = True
        return keep.to(self.dtype)


def image(*dims):
    return Input('x', dims, torch.float32, 'randn')


def ids(name, *dims_and_vocab):
    *dims, vocab = dims_and_vocab
    return Input(name, dims, torch.int64, 'ids', vocab)


def mask(name, *dims):
    return Input(name, dims, torch.int64, 'mask')


def make_all(inputs, which, seed):
    """The inputs at size `which` (0: traced sizes, 1: the second size of every dynamic dim)."""
    generator = torch.Generator().manual_seed(seed)
    return [spec.make(which, generator) for spec in inputs]
