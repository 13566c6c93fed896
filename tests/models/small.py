"""Small configurations of real architectures (transformers: 2 layers, hidden 64) and hand-written
recurrent, audio, U-Net, attention, scripted and streaming models for the coverage suite."""
import torch
import torch.nn as nn
import torch.nn.functional as F

HIDDEN = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128)


class Tuple(nn.Module):
    """Calls a transformers model and returns the named fields of its output as a tuple."""

    def __init__(self, model, *fields):
        super().__init__()
        self.model, self.fields = model, fields

    def forward(self, *args):
        out = self.model(*args, return_dict=True)
        values = tuple(getattr(out, f) for f in self.fields)
        return values if len(values) > 1 else values[0]


def bert():
    import transformers as hf
    return Tuple(hf.BertModel(hf.BertConfig(vocab_size=100, max_position_embeddings=64, **HIDDEN)),
                 'last_hidden_state', 'pooler_output')


def distilbert():
    import transformers as hf
    config = hf.DistilBertConfig(vocab_size=100, max_position_embeddings=64, dim=64, n_layers=2, n_heads=4,
                                 hidden_dim=128)
    return Tuple(hf.DistilBertModel(config), 'last_hidden_state')


def roberta():
    import transformers as hf
    return Tuple(hf.RobertaModel(hf.RobertaConfig(vocab_size=100, max_position_embeddings=64, **HIDDEN)),
                 'last_hidden_state')


def gpt2():
    import transformers as hf
    config = hf.GPT2Config(vocab_size=100, n_positions=64, n_embd=64, n_layer=2, n_head=4, use_cache=False)
    return Tuple(hf.GPT2LMHeadModel(config), 'logits')


def t5_encoder():
    import transformers as hf
    config = hf.T5Config(vocab_size=100, d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4)
    return Tuple(hf.T5EncoderModel(config), 'last_hidden_state')


def vit():
    import transformers as hf
    return Tuple(hf.ViTModel(hf.ViTConfig(image_size=32, patch_size=8, **HIDDEN)), 'last_hidden_state')


def whisper_encoder():
    import transformers as hf
    config = hf.WhisperConfig(num_mel_bins=16, max_source_positions=16, d_model=64, encoder_layers=2,
                              encoder_attention_heads=4, encoder_ffn_dim=128, decoder_layers=2,
                              decoder_attention_heads=4, decoder_ffn_dim=128)
    return Tuple(hf.WhisperModel(config).get_encoder(), 'last_hidden_state')


def wav2vec2():
    import transformers as hf
    config = hf.Wav2Vec2Config(conv_dim=(32, 32), conv_kernel=(10, 3), conv_stride=(5, 2),
                               num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4,
                               feat_extract_norm='group', **HIDDEN)
    return Tuple(hf.Wav2Vec2Model(config), 'last_hidden_state')


class SentenceEmbedding(nn.Module):
    """BERT, mean pooling over the attention mask, L2 normalization (sentence-transformers' recipe)."""

    def __init__(self):
        super().__init__()
        self.encoder = bert().model

    def forward(self, input_ids, attention_mask):
        hidden = self.encoder(input_ids, attention_mask, return_dict=True).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def sentence_embedding():
    return SentenceEmbedding()


class Recurrent(nn.Module):
    """An nn.LSTM / nn.GRU returning the output and the final states."""

    def __init__(self, cell, batch_first, bidirectional=True):
        super().__init__()
        self.rnn = cell(16, 32, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)

    def forward(self, x, h0=None):
        out, state = self.rnn(x) if h0 is None else self.rnn(x, h0)
        return (out,) + (tuple(state) if isinstance(state, tuple) else (state,))


def lstm_seq_first():
    return Recurrent(nn.LSTM, False)


def lstm_batch_first():
    return Recurrent(nn.LSTM, True)


def gru_seq_first():
    return Recurrent(nn.GRU, False)


def gru_batch_first():
    return Recurrent(nn.GRU, True, bidirectional=False)


class SpeakerEmbedding(nn.Module):
    """GE2E-style speaker encoder: 3-layer LSTM over mel frames, last hidden state, linear, L2-normalized."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(40, 64, num_layers=3, batch_first=True)
        self.proj = nn.Linear(64, 32)

    def forward(self, mels):
        _, (hidden, _) = self.lstm(mels)
        embedding = F.relu(self.proj(hidden[-1]))
        return embedding / torch.norm(embedding, dim=1, keepdim=True)


def speaker_embedding():
    return SpeakerEmbedding()


class AudioCNN(nn.Module):
    """A 1-D audio classifier: reflect padding (F.pad and padding_mode), conv1d, batch norm, pooling."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(1, 16, 9, stride=4, padding=4, padding_mode='reflect')
        self.bn1 = nn.BatchNorm1d(16)
        self.conv2 = nn.Conv1d(16, 32, 5, stride=2)
        self.bn2 = nn.BatchNorm1d(32)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = F.max_pool1d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.bn2(self.conv2(F.pad(x, (2, 2), mode='reflect'))))
        return self.fc(F.adaptive_avg_pool1d(x, 1).squeeze(-1))


class UNet(nn.Module):
    """A 2-level U-Net: transposed-conv and bilinear upsampling, skip connections by concatenation."""

    def __init__(self):
        super().__init__()
        block = lambda i, o: nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())  # noqa
        self.down1, self.down2, self.bottom = block(3, 8), block(8, 16), block(16, 32)
        self.up2 = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.dec2, self.dec1 = block(32, 16), block(24, 8)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(F.max_pool2d(d1, 2))
        b = self.bottom(F.max_pool2d(d2, 2))
        u2 = self.dec2(torch.cat([self.up2(b), d2], 1))
        u1 = F.interpolate(u2, scale_factor=2.0, mode='bilinear', align_corners=False)
        return self.head(self.dec1(torch.cat([u1, d1], 1)))


def encoder_layer():
    return nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 2)


class SeqFirstAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(32, 4)

    def forward(self, x):
        return self.mha(x, x, x)[0]


def mha_seq_first():
    return SeqFirstAttention()


class ScriptedFlow(nn.Module):
    """Scripted: branches and loops on shapes and fixed (non-tensor) arguments, folded at conversion."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(8, 8) for _ in range(3)])

    def forward(self, x, scale: float, mode: str):
        for layer in self.layers:
            x = torch.relu(layer(x)) + x
        for i in range(x.size(1) - 1):
            x = x + x[:, i:i + 1] * scale
        if mode == 'mean':
            y = x.mean(1)
        else:
            y = x.amax(1)
        if x.dim() == 3 and scale > 0:
            y = y * 2.0
        return y


class Streaming(nn.Module):
    """Scripted streaming filter: keeps the last two frames of the previous call in an attribute."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 8)
        self.cache = torch.zeros(1, 2, 4)

    def forward(self, x):  # [1, frames, 4]
        full = torch.cat([self.cache, x], 1)
        self.cache = full[:, -2:]
        return self.fc(full[:, 2:] + 0.5 * full[:, 1:-1] + 0.25 * full[:, :-2])
