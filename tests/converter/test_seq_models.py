"""Recurrent, norm, sorting and indexing models: traced, converted, run by ./infer run on the CPU and by the
reference interpreter, compared with PyTorch (rel L2 <= 1e-4). Exits non-zero on a failure.
Usage: test_seq_models.py [--only NAME]"""
import os
import subprocess
import sys
import tempfile
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path[:0] = [os.path.join(ROOT, 'scripts'), HERE]

from convert_lib.bridge import torch  # noqa: E402
from convert_lib.convert import convert  # noqa: E402
import ifg  # noqa: E402
import ref_interp  # noqa: E402

nn, F = torch.nn, torch.nn.functional
TOLERANCE = 1e-4


class Recurrent(nn.Module):
    """2-layer bidirectional LSTM or GRU with given initial states; returns output and every final state."""

    def __init__(self, kind, batch_first):
        super().__init__()
        self.kind = kind
        cls = nn.LSTM if kind == 'lstm' else nn.GRU
        self.rnn = cls(10, 16, num_layers=2, bidirectional=True, batch_first=batch_first)

    def forward(self, x, h0, c0):
        if self.kind == 'lstm':
            y, (h, c) = self.rnn(x, (h0, c0))
            return y, h, c
        y, h = self.rnn(x, h0)
        return y, h + c0 * 0


class SpeakerEmbedding(nn.Module):
    """A d-vector style speaker encoder: 3-layer LSTM over frames, last hidden state, linear, L2-normalised."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(40, 32, num_layers=3, batch_first=True)
        self.proj = nn.Linear(32, 24)

    def forward(self, mel):  # [B, T, 40]
        _, (h, _) = self.lstm(mel)
        return F.normalize(F.relu(self.proj(h[-1])), p=2, dim=1)


class Norms(nn.Module):
    """norm p=1/2/inf/fro over dims with keepdim, linalg norms, clamp_min, cumsum, triu/tril."""

    def forward(self, x):  # [B, 6, 8]
        a = x / x.norm(dim=-1, keepdim=True) + torch.norm(x, p=1, dim=(1, 2), keepdim=True)
        b = torch.linalg.vector_norm(x, ord=float('inf'), dim=1) + torch.norm(x, p='fro', dim=(1, 2))[:, None]
        c = torch.linalg.norm(x, dim=-1) + torch.norm(x, p=3, dim=2) + x.clamp_min(0.1).sum(-1)
        d = torch.cumsum(x, dim=1) + torch.triu(x, 1) - torch.tril(x, -2)
        return a, b, c, d


class TopkGather(nn.Module):
    """topk, sort, argmax/argmin, max/min with a dim, gather by the topk indices, index_select, x[:, idx],
    strided slices and select."""

    def __init__(self):
        super().__init__()
        self.register_buffer('idx', torch.tensor([4, 0, 2, 2]))
        self.fc = nn.Linear(12, 12)

    def forward(self, x):  # [B, 7, 12]
        h = self.fc(x)
        v, i = h.topk(3, dim=-1)
        s, j = torch.sort(h, dim=1, descending=True)
        m, k = h.max(dim=1)
        n, _ = h.min(dim=-1, keepdim=True)
        g = torch.gather(h, 2, i) * v
        a = h.argmax(dim=-1).float() + h.argmin(dim=1, keepdim=True).float().sum(-1)
        sel = torch.index_select(h, 1, self.idx) + h[:, self.idx] + h[:, ::2][:, :4, 1::3].sum(-1, keepdim=True)
        return g, s * j.float(), m * k.float() + n.squeeze(-1)[:, :1], a, sel, h[:, 3]


def sentence_embedding():
    """A small BERT (random weights) with mean pooling over the attention mask and F.normalize."""
    try:
        from transformers import BertConfig, BertModel
    except ImportError:
        return None

    class SentenceEmbedding(nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = BertModel(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                             num_attention_heads=4, intermediate_size=64,
                                             max_position_embeddings=64))

        def forward(self, ids, mask):
            tokens = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
            weights = mask.unsqueeze(-1).float()
            pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            return F.normalize(pooled, p=2, dim=1)
    return SentenceEmbedding


def rel_l2(actual, expected):
    expected = np.asarray(expected, np.float64)
    return np.linalg.norm(np.asarray(actual, np.float64) - expected) / max(np.linalg.norm(expected), 1e-30)


def flat(outputs):
    outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
    return [o.numpy() for o in outputs]


def cases():
    rng = np.random.default_rng(0)
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    out = {
        # sequence-first: batch at dim 1, so a static batch until dynamic dims are named
        'lstm_seq_first': (lambda: Recurrent('lstm', False), [f(7, 3, 10), f(4, 3, 16), f(4, 3, 16)], True),
        'lstm_batch_first': (lambda: Recurrent('lstm', True), [f(3, 7, 10), f(4, 3, 16), f(4, 3, 16)], True),
        'gru_seq_first': (lambda: Recurrent('gru', False), [f(7, 3, 10), f(4, 3, 16), f(4, 3, 16)], True),
        'gru_batch_first': (lambda: Recurrent('gru', True), [f(3, 7, 10), f(4, 3, 16), f(4, 3, 16)], True),
        'speaker_embedding': (SpeakerEmbedding, [f(2, 20, 40)], True),
        'norms': (Norms, [f(2, 6, 8)], False),
        'topk_gather': (TopkGather, [f(2, 7, 12)], False),
    }
    bert = sentence_embedding()
    if bert is not None:
        ids = rng.integers(0, 100, (2, 9)).astype(np.int64)
        mask = np.ones((2, 9), np.int64)
        mask[1, 6:] = 0
        out['sentence_embedding'] = (bert, [ids, mask], True)  # dynamic: BERT expands a buffer to the batch
    else:
        print('SKIP sentence_embedding: transformers is not installed')
    return out


def check(name, make, inputs, static, work):
    torch.manual_seed(0)
    model = make().eval()
    tensors = [torch.from_numpy(a) for a in inputs]
    pt = os.path.join(work, f'{name}.pt')
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.jit.trace(model, tensors, check_trace=False).save(pt)
        expected = flat(model(*tensors))
    dtypes = ['int64' if a.dtype == np.int64 else 'float32' for a in inputs]
    g = convert(pt, [(list(a.shape), d) for a, d in zip(inputs, dtypes)], static)
    path = os.path.join(work, f'{name}.ifg')
    ifg.write(path, g)
    worst = max(rel_l2(a, e) for a, e in zip(ref_interp.run(g, inputs), expected))
    files = []
    for k, a in enumerate(inputs):
        files.append(os.path.join(work, f'{name}.in{k}.npy'))
        np.save(files[-1], a)
    outs = [os.path.join(work, f'{name}.out{k}.npy') for k in range(len(expected))]
    run = subprocess.run([os.path.join(ROOT, 'infer'), 'run', path] + files + ['-o'] + outs + ['--device', 'cpu'],
                         capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f'infer run failed: {run.stderr.strip()}')
    errors = [rel_l2(np.load(o), e) for o, e in zip(outs, expected)]
    return worst, max(errors)


def main():
    only = sys.argv[sys.argv.index('--only') + 1] if '--only' in sys.argv else None
    failed = 0
    with tempfile.TemporaryDirectory(prefix='seqmodels-') as work:
        for name, (make, inputs, static) in cases().items():
            if only and only != name:
                continue
            try:
                ref, run = check(name, make, inputs, static, work)
                ok = ref <= TOLERANCE and run <= TOLERANCE
                print(f'{"PASS" if ok else "FAIL"} {name}: rel L2 reference {ref:.1e}, infer run {run:.1e}')
            except Exception as e:  # noqa: BLE001 (report every model)
                traceback.print_exc()
                ok = False
                print(f'FAIL {name}: {type(e).__name__}: {e}')
            failed += not ok
    print(f'{failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
