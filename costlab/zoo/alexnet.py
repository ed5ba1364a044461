"""AlexNet, the one-GPU variant of Krizhevsky 2014 ("One weird trick for parallelizing
convolutional neural networks", arXiv:1404.5997) as torchvision ships it.

The original AlexNet (Krizhevsky et al. 2012, NeurIPS) split its layers across two GPUs; this
single-tower version has five convolutions (64, 192, 384, 256, 256 channels), three max pools,
no local response normalisation, and three fully connected layers (4096, 4096, classes) with
dropout before the first two. Matched to torchvision: 61,100,840 parameters and about 0.714 G
multiply-accumulates at 224×224. The ``AdaptiveAvgPool2d((6, 6))`` before the classifier is
torchvision's; at 224×224 the features are already 6×6, so it is free there.
"""

from __future__ import annotations

import torch
from torch import nn

from costlab.zoo.registry import register_model

__all__ = ["AlexNet", "alexnet"]

PAPER = "Krizhevsky 2014, One weird trick for parallelizing CNNs (arXiv:1404.5997), one-GPU AlexNet"


class AlexNet(nn.Module):
    """Five convolutions with ReLU and three max pools, then a three-layer MLP classifier."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """Build the single-tower AlexNet."""
    return AlexNet(num_classes=num_classes, dropout=dropout)


register_model("alexnet", alexnet, family="AlexNet", paper=PAPER)
