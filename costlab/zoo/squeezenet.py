"""SqueezeNet: AlexNet-level accuracy with 50x fewer parameters.

Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer, 2016, "SqueezeNet: AlexNet-level accuracy with
50x fewer parameters and <0.5MB model size" (arXiv:1602.07360), Table 1 (version 1.0). Version 1.1
is the revision published with the authors' reference Caffe model: a 3x3/64 first convolution and
the max-pools moved earlier, for about 2.4x less computation at the same parameter budget.

Matched: torchvision parity (1,248,424 / 1,235,496 parameters; 0.82 / 0.35 GMACs at 224x224).
Like torchvision, the input is 224x224 and the max-pools round up (``ceil_mode``); the paper's
Table 1 assumes 227x227 inputs, for which the same network gives its 111/55/27/13 feature maps.
Every convolution has a bias and no batch norm, as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo.registry import register_model

__all__ = ["Fire", "SqueezeNet", "squeezenet"]

_PAPER = "Iandola et al. 2016, SqueezeNet (arXiv:1602.07360), Table 1"


class Fire(nn.Module):
    """The Fire module: a 1x1 squeeze layer feeding parallel 1x1 and 3x3 expand layers.

    The two expand outputs are concatenated along channels, so the module emits
    ``expand1x1_channels + expand3x3_channels`` channels at the input resolution.
    """

    def __init__(
        self,
        in_channels: int,
        squeeze_channels: int,
        expand1x1_channels: int,
        expand3x3_channels: int,
    ) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(in_channels, squeeze_channels, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_channels, expand1x1_channels, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_channels, expand3x3_channels, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat(
            [
                self.expand1x1_activation(self.expand1x1(x)),
                self.expand3x3_activation(self.expand3x3(x)),
            ],
            dim=1,
        )


def _pool() -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    """SqueezeNet 1.0 or 1.1: convolution stem, eight Fire modules, 1x1 convolutional classifier."""

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        if version == "1_0":
            # Table 1: conv1 96x7x7/2, pools after conv1, fire4 and fire8.
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2),
                nn.ReLU(inplace=True),
                _pool(),
                Fire(96, 16, 64, 64),
                Fire(128, 16, 64, 64),
                Fire(128, 32, 128, 128),
                _pool(),
                Fire(256, 32, 128, 128),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                _pool(),
                Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            # v1.1: conv1 64x3x3/2, pools after conv1, fire3 and fire5; same Fire widths.
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2),
                nn.ReLU(inplace=True),
                _pool(),
                Fire(64, 16, 64, 64),
                Fire(128, 16, 64, 64),
                _pool(),
                Fire(128, 32, 128, 128),
                Fire(256, 32, 128, 128),
                _pool(),
                Fire(256, 48, 192, 192),
                Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"unknown SqueezeNet version {version!r}; expected '1_0' or '1_1'")

        # conv10: a 1x1 convolution to the class scores, then global average pooling.
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            final_conv,
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
        )

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                if module is final_conv:
                    nn.init.normal_(module.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)


def squeezenet(version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    """Build SqueezeNet ``version`` "1_0" (paper Table 1) or "1_1" (the reference v1.1 revision)."""
    return SqueezeNet(version=version, num_classes=num_classes, dropout=dropout)


register_model(
    "squeezenet1_0",
    squeezenet,
    family="SqueezeNet",
    paper=_PAPER,
    version="1_0",
)
register_model(
    "squeezenet1_1",
    squeezenet,
    family="SqueezeNet",
    paper="Iandola et al. 2016, SqueezeNet (arXiv:1602.07360), v1.1 of the reference model",
    version="1_1",
)
