"""The coverage suite's real architectures: how to build each one (random weights) and its inputs."""
import torch.nn as nn

from inputs import Dim, image, ids, mask
import small

B = Dim('batch', 1, 2)
SEQ = Dim('seq', 8, 13)


class Case:
    """One model of the suite. `build()` returns the eval-mode module; `trace` is 'no_grad', 'grad' (traced
    without torch.no_grad()) or 'script'; `light` puts it in `make models-test`. A model that does not
    pass yet is listed in KNOWN_FAILING (below)."""

    def __init__(self, name, group, build, inputs, trace='no_grad', light=False, consts=(), state=()):
        self.name, self.group, self.build, self.inputs = name, group, build, inputs
        self.trace, self.light = trace, light
        self.consts = list(consts)   # (name, value): non-tensor forward arguments, passed as --const
        self.state = list(state)     # attribute names carried as extra inputs/outputs (streaming models)


def tv(name, **kwargs):
    """A torchvision model builder, random weights (no download)."""
    def build():
        import torchvision.models as models
        segmentation = name.split('_')[0] in ('fcn', 'deeplabv3', 'lraspp')
        model = getattr(models.segmentation if segmentation else models, name)(weights=None, **kwargs)
        for p in model.parameters():  # zero-initialized heads (ViT's) would make every output 0: compare nothing
            if p.dim() >= 2 and not p.detach().any():
                nn.init.normal_(p, 0.0, 0.02)
        return Outputs(model, 'out') if segmentation else model
    return build


class Outputs(nn.Module):
    """Returns the listed entries of a model's dict/ModelOutput result as a tuple (traceable)."""

    def __init__(self, model, *keys):
        super().__init__()
        self.model, self.keys = model, keys

    def forward(self, *args):
        result = self.model(*args)
        return tuple(result[k] for k in self.keys) if len(self.keys) > 1 else result[self.keys[0]]


VISION = [  # name, input size, constructor arguments, in the light subset
    ('resnet18', 64, {}, True), ('resnet50', 64, {}, False), ('resnext50_32x4d', 64, {}, False),
    ('wide_resnet50_2', 64, {}, False), ('vgg11_bn', 64, {}, False), ('densenet121', 64, {}, False),
    ('googlenet', 64, {'aux_logits': False, 'init_weights': True}, False),
    ('inception_v3', 96, {'aux_logits': False, 'init_weights': True}, False),
    ('mobilenet_v2', 64, {}, True), ('mobilenet_v3_small', 64, {}, False), ('mobilenet_v3_large', 64, {}, False),
    ('shufflenet_v2_x1_0', 64, {}, False), ('squeezenet1_1', 64, {}, True), ('mnasnet0_5', 64, {}, False),
    ('efficientnet_b0', 64, {}, False), ('efficientnet_v2_s', 64, {}, False), ('regnet_y_400mf', 64, {}, False),
    ('convnext_tiny', 64, {}, False), ('vit_b_16', 64, {'image_size': 64}, False), ('swin_t', 64, {}, False),
    ('fcn_resnet50', 64, {'weights_backbone': None, 'aux_loss': False}, False),
    ('deeplabv3_mobilenet_v3_large', 64, {'weights_backbone': None, 'aux_loss': False}, False),
    ('lraspp_mobilenet_v3_large', 64, {'weights_backbone': None}, False),
]
HEAVY = {'vgg11_bn', 'vit_b_16', 'fcn_resnet50', 'wide_resnet50_2'}  # traced once only (big weights)
SCRIPTED = {'resnet18', 'mobilenet_v3_small', 'shufflenet_v2_x1_0'}    # also torch.jit.script-ed


def vision_cases():
    cases = []
    for name, size, kwargs, light in VISION:
        modes = ('no_grad',) if name in HEAVY else ('no_grad', 'grad', 'script') if name in SCRIPTED else \
            ('no_grad', 'grad')
        for mode in modes:
            label = name if mode == 'no_grad' else f'{name} ({"scripted" if mode == "script" else mode})'
            cases.append(Case(label, 'torchvision', tv(name, **kwargs), [image(B, 3, size, size)], mode,
                              light=light and mode == 'no_grad'))
    return cases


TEXT = [ids('input_ids', B, SEQ, 100), mask('attention_mask', B, SEQ)]


def hf_cases():
    return [
        Case('bert', 'transformers', small.bert, TEXT),
        Case('distilbert', 'transformers', small.distilbert, TEXT, light=True),
        Case('roberta', 'transformers', small.roberta, TEXT),
        Case('gpt2 (lm logits)', 'transformers', small.gpt2, TEXT[:1], light=True),
        Case('t5 encoder', 'transformers', small.t5_encoder, TEXT),
        Case('vit', 'transformers', small.vit, [image(B, 3, 32, 32)]),
        Case('whisper encoder', 'transformers', small.whisper_encoder, [image(B, 16, 32)]),
        Case('wav2vec2', 'transformers', small.wav2vec2, [image(B, Dim('samples', 400, 560))]),
        Case('sentence embedding (bert + mean pool + normalize)', 'transformers', small.sentence_embedding,
             TEXT),
    ]


FRAMES = Dim('frames', 7, 11)


def other_cases():
    return [
        Case('lstm seq-first bidirectional 2-layer', 'recurrent', small.lstm_seq_first,
             [image(FRAMES, B, 16)], light=True),
        Case('lstm batch-first bidirectional 2-layer', 'recurrent', small.lstm_batch_first,
             [image(B, FRAMES, 16)], light=True),
        Case('gru seq-first bidirectional 2-layer', 'recurrent', small.gru_seq_first, [image(FRAMES, B, 16)]),
        Case('gru batch-first 2-layer with h0', 'recurrent', small.gru_batch_first,
             [image(B, FRAMES, 16), image(2, B, 32)]),
        Case('lstm (grad, sequence-first)', 'recurrent', small.lstm_seq_first, [image(FRAMES, B, 16)], 'grad'),
        Case('speaker embedding (lstm + l2 norm)', 'recurrent', small.speaker_embedding,
             [image(B, FRAMES, 40)], light=True),
        Case('audio cnn 1-d, reflect padding', 'audio', small.AudioCNN, [image(B, 1, Dim('samples', 400, 480))],
             light=True),
        Case('u-net (transposed conv, bilinear upsampling)', 'vision', small.UNet, [image(B, 3, 32, 32)],
             light=True),
        Case('transformer encoder layer (grad: unfused path)', 'attention', small.encoder_layer,
             [image(B, SEQ, 32)], 'grad', light=True),
        Case('multihead attention sequence-first', 'attention', small.mha_seq_first, [image(SEQ, B, 32)],
             light=True),
        Case('scripted, constant-foldable control flow', 'scripted', small.ScriptedFlow, [image(B, 3, 8)],
             'script', light=True, consts=[('scale', 0.5), ('mode', 'mean')]),
        Case('streaming filter with a cache attribute', 'scripted', small.Streaming, [image(1, FRAMES, 4)],
             'script', light=True, state=['cache']),
    ]


def all_cases():
    return other_cases() + hf_cases() + vision_cases()

# Models that do not pass yet (the suite prints their first error; they do not fail `make models-test`).
# Every model of the catalog passes today (dimvalues: arange of the sequence, 1-D pools, reshapes of unchecked
# lengths were the last failures); a model added before its ops work goes here.
KNOWN_FAILING = set()
