"""Cache keys (deepad.keys): prose never changes a key; arithmetic, a config value or the images do."""

import shutil

import torch

from deepad import keys
from deepad.data import sets
from deepad.detector import as_images


def _models_copy(tmp_path, edit=None):
    """A copy of the training code (deepad/models) with one edit; its code hash."""
    root = tmp_path / f"models{len(list(tmp_path.iterdir()))}"
    shutil.copytree(keys.MODELS, root, ignore=shutil.ignore_patterns("__pycache__"))
    if edit is not None:
        path = root / "autoencoder.py"
        old, new = edit
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new, 1))
    keys.code_hash.cache_clear()
    return keys.code_hash(root)


def test_comments_docstrings_and_layout_keep_the_code_key(tmp_path):
    plain = _models_copy(tmp_path)
    assert plain == keys.code_hash(keys.MODELS)  # a copy of the same code: the same key
    comment = ("import torch\n", "import torch  # an edited comment\n")
    docstring = ('"""', '"""An edited docstring line.\n\n')  # the module's docstring gains a line
    layout = ("import torch\n", "\nimport torch\n\n")
    for edit in (comment, docstring, layout):
        assert _models_copy(tmp_path, edit) == plain, edit


def test_arithmetic_changes_the_code_key(tmp_path):
    plain = _models_copy(tmp_path)
    text = (keys.MODELS / "autoencoder.py").read_text()
    literal = next(n for n in ("1e-3", "0.5", "2.0", " 1)", " 2)") if n in text)
    changed = _models_copy(tmp_path, (literal, literal.replace("1", "3").replace("0.5", "0.25")))
    assert changed != plain


def test_network_key_follows_images_config_and_seed_not_display(make_cfg):
    small = ("dataset=synthetic", "dataset.n_per_class=20", "model=dbn")
    cfg = make_cfg(*small)
    x, _ = as_images(sets.build(cfg.dataset).images)
    key = keys.network_key(cfg, x)
    assert keys.network_key(make_cfg(*small, "trainer.progress_bar=true"), x) == key
    assert keys.network_key(make_cfg(*small, "features=a2", "model.a2_layers=top"), x) == key
    assert keys.network_key(make_cfg(*small, "seed=1"), x) != key
    assert keys.network_key(make_cfg(*small, "model.epochs_per_layer=1"), x) != key
    assert keys.network_key(cfg, torch.flip(x, [0])) != key
    assert keys.run_key(make_cfg(*small, "logger=wandb", "threads=1")) == keys.run_key(cfg)
    assert keys.run_key(make_cfg(*small, "features=a1")) != keys.run_key(cfg)
