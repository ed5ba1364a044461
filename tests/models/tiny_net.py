"""A two-conv network for the CLI tests: small enough that every number is checked by hand.

On its INPUT_SHAPE 1x3x32x32 (HW = 32·32 = 1,024 positions, padding keeps the size):

* conv1 Conv2d(3, 8, 3, padding=1): params 8·3·3·3 + 8 = 224; MACs 8·1024·27 = 221,184
* act   ReLU on 1x8x32x32: 8,192 elements, one element-wise op
* conv2 Conv2d(8, 16, 3, padding=1): params 16·8·3·3 + 16 = 1,168; MACs 16·1024·72 = 1,179,648
"""

from torch import nn

INPUT_SHAPE = (1, 3, 32, 32)


class TwoConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)

    def forward(self, x):
        return self.conv2(self.act(self.conv1(x)))
