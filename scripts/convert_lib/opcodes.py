"""Runtime op codes and enums of docs/OPS.md, generated from base/ops.h by scripts/gen_opcodes.py:
do not edit; run `make opcodes` after changing base/ops.h."""
IDENTITY = 1
CONV2D = 2
LINEAR = 3
MATMUL = 4
BATCHNORM = 5
LAYERNORM = 6
ACTIVATION = 7
BINARY = 8
SOFTMAX = 9
MAXPOOL2D = 10
AVGPOOL2D = 11
ADAPTIVE_AVGPOOL2D = 12
RESHAPE = 13
TRANSPOSE = 14
CONCAT = 15
SLICE = 16
MASKED_FILL = 17
EMBEDDING = 18
REDUCE = 19
ATTENTION = 20
LSTM = 21
CAST = 22
COMPARE = 23
WHERE = 24
UNARY = 25
EXPAND = 26
PAD = 27
RESIZE = 28
CONV_TRANSPOSE2D = 29
ROLL = 30
FLIP = 31
GROUP_NORM = 32
GRU = 33
CUMSUM = 34
TOPK = 35
GATHER = 36
INDEX_SELECT = 37
TRIANGLE = 38
FAKE_QUANT = 39
RANGE = 40

ACT_NONE = 0
ACT_RELU = 1
ACT_CLIP = 2
ACT_GELU = 3
ACT_GELU_TANH = 4
ACT_SILU = 5
ACT_SIGMOID = 6
ACT_TANH = 7
ACT_HARDSWISH = 8
ACT_HARDSIGMOID = 9

ADD = 0
SUB = 1
MUL = 2
DIV = 3
POW = 4
MAX = 5
MIN = 6

EQ = 0
NE = 1
LT = 2
LE = 3
GT = 4
GE = 5
AND = 6
OR = 7
XOR = 8

RED_MEAN = 0
RED_SUM = 1
RED_MAX = 2
RED_MIN = 3

NEG = 0
EXP = 1
LOG = 2
SQRT = 3
RSQRT = 4
ABS = 5
RECIPROCAL = 6
ERF = 7
SIGN = 8
ROUND = 9
FLOOR = 10
CEIL = 11
TRUNC = 12

PAD_CONSTANT = 0
PAD_REFLECT = 1
PAD_REPLICATE = 2
PAD_CIRCULAR = 3

RESIZE_NEAREST = 0
RESIZE_NEAREST_EXACT = 1
RESIZE_LINEAR = 2
RESIZE_CUBIC = 3

OP_NAMES = {
    IDENTITY: 'identity',
    CONV2D: 'conv2d',
    LINEAR: 'linear',
    MATMUL: 'matmul',
    BATCHNORM: 'batchnorm',
    LAYERNORM: 'layernorm',
    ACTIVATION: 'activation',
    BINARY: 'binary',
    SOFTMAX: 'softmax',
    MAXPOOL2D: 'maxpool2d',
    AVGPOOL2D: 'avgpool2d',
    ADAPTIVE_AVGPOOL2D: 'adaptive_avgpool2d',
    RESHAPE: 'reshape',
    TRANSPOSE: 'transpose',
    CONCAT: 'concat',
    SLICE: 'slice',
    MASKED_FILL: 'masked_fill',
    EMBEDDING: 'embedding',
    REDUCE: 'reduce',
    ATTENTION: 'attention',
    LSTM: 'lstm',
    CAST: 'cast',
    COMPARE: 'compare',
    WHERE: 'where',
    UNARY: 'unary',
    EXPAND: 'expand',
    PAD: 'pad',
    RESIZE: 'resize',
    CONV_TRANSPOSE2D: 'conv_transpose2d',
    ROLL: 'roll',
    FLIP: 'flip',
    GROUP_NORM: 'group_norm',
    GRU: 'gru',
    CUMSUM: 'cumsum',
    TOPK: 'topk',
    GATHER: 'gather',
    INDEX_SELECT: 'index_select',
    TRIANGLE: 'triangle',
    FAKE_QUANT: 'fake_quant',
    RANGE: 'range',
}
