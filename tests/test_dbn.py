"""DBN / RBM correctness: CD-1 against numpy, learning curves on MNIST, sklearn parity, free energy."""

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from sklearn.neural_network import BernoulliRBM

from deepad import detector, pipeline
from deepad.data import sources
from deepad.models import dbn, training
from helpers import DATA


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_cd1_gradients_match_numpy():
    torch.manual_seed(0)
    rbm = dbn.RBM(6, 4, init_std=0.5)
    rbm.b.data.uniform_(-0.5, 0.5)
    rbm.c.data.uniform_(-0.5, 0.5)
    v0 = torch.rand(5, 6, dtype=torch.float64)
    rbm.double()
    (dW, db, dc), h1, vk = rbm.cd_gradients(v0, k=1, generator=torch.Generator().manual_seed(7))
    # numpy, independently: the same uniforms decide the hidden sample (two draws for k = 1)
    g = torch.Generator().manual_seed(7)
    u0 = torch.rand((5, 4), generator=g, dtype=torch.float64).numpy()
    W, b, c, v = (t.detach().numpy() for t in (rbm.W, rbm.b, rbm.c, v0))
    ph0 = _sigmoid(v @ W + c)
    h0 = (u0 < ph0).astype(float)
    v1 = _sigmoid(h0 @ W.T + b)
    ph1 = _sigmoid(v1 @ W + c)
    np.testing.assert_allclose(dW.numpy(), (v.T @ ph0 - v1.T @ ph1) / 5, rtol=1e-10)
    np.testing.assert_allclose(db.numpy(), (v - v1).mean(0), rtol=1e-10)
    np.testing.assert_allclose(dc.numpy(), (ph0 - ph1).mean(0), rtol=1e-10)
    np.testing.assert_allclose(vk.numpy(), v1, rtol=1e-10)


def test_momentum_update_formula():
    W, b, c = torch.ones(2, 2), torch.zeros(2), torch.zeros(2)
    vel = [torch.full((2, 2), 0.1), torch.zeros(2), torch.ones(2)]
    dW, db, dc = torch.full((2, 2), 2.0), torch.ones(2), torch.ones(2)
    dbn.momentum_update((W, b, c), (dW, db, dc), vel, lr=0.1, momentum=0.5, weight_decay=0.01)
    np.testing.assert_allclose(W.numpy(), 1 + 0.5 * 0.1 + 0.1 * (2 - 0.01 * 1))  # decay on W
    np.testing.assert_allclose(b.numpy(), 0.1)  # no decay on biases
    np.testing.assert_allclose(c.numpy(), 0.5 + 0.1)


def test_free_energy_matches_brute_force():
    torch.manual_seed(1)
    rbm = dbn.RBM(3, 2, init_std=1.0).double()
    v = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
    hs = torch.tensor([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=torch.float64)
    energy = -(v @ rbm.b)[:, None] - (hs @ rbm.c)[None] - v @ rbm.W @ hs.T  # (2, 4)
    np.testing.assert_allclose(rbm.free_energy(v).numpy(), -torch.logsumexp(-energy, 1).numpy())


def _mnist(n: int, binary: bool = False) -> torch.Tensor:
    images = sources.load_mnist(str(DATA), download=False)["train"].images[:n]
    x = torch.from_numpy(images.copy()).float().div(255).view(n, 1, 28, 28)
    return (x > 0.5).float() if binary else x


def _fit_rbm(x, hidden, epochs, batch, lr, momentum, wd, persistent, seed=0, val_fraction=0.0):
    torch.manual_seed(seed)
    module = dbn.DBNModule(
        dbn.DBN((1, 28, 28), [hidden]),
        lr=lr,
        momentum=momentum,
        momentum_switch=1,
        weight_decay=wd,
        persistent=persistent,
        epochs_per_layer=epochs,
        batch_size=batch,
    )
    cfg = OmegaConf.create(
        {
            "max_epochs": 0,
            "batch_size": 0,
            "val_fraction": val_fraction,
            "accelerator": "cpu",
            "progress_bar": False,
        }
    )
    training.fit(module, x, cfg, seed)
    return module


def test_mnist_reconstruction_falls_and_pseudo_likelihood_rises():
    module = _fit_rbm(
        _mnist(2000),
        hidden=100,
        epochs=5,
        batch=50,
        lr=0.05,
        momentum=(0.5, 0.9),
        wd=2e-4,
        persistent=False,
        val_fraction=0.1,
    )
    h = module.history
    assert [e["layer"] for e in h] == [0] * 5
    loss = [e["train/loss"] for e in h]
    pl = [e["train/pseudo_likelihood"] for e in h]
    assert loss[-1] < 0.8 * loss[0], loss
    assert pl[-1] > pl[0], pl
    gap = [e["val/free_energy_gap"] for e in h]  # held-out minus training free energy (guide §6)
    assert all(np.isfinite(gap)) and abs(gap[-1]) < 0.2 * abs(h[-1]["train/free_energy"])


def _mean_pl(rbm: dbn.RBM, v: torch.Tensor, repeats: int = 20) -> float:
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        return float(
            torch.stack([rbm.pseudo_likelihood(v, g).mean() for _ in range(repeats)]).mean()
        )


def test_pseudo_likelihood_at_least_sklearns():
    """Same data (2000 binarised MNIST digits), hidden units, learning rate, batch size, epochs and
    PCD without momentum or decay, as sklearn's BernoulliRBM does. Both are scored by the same
    pseudo-likelihood code. Measured: ours -128.3, sklearn -133.0 per image; tolerance 3%."""
    x = _mnist(2000, binary=True)
    ours = _fit_rbm(
        x, hidden=64, epochs=10, batch=20, lr=0.05, momentum=(0.0, 0.0), wd=0.0, persistent=True
    ).net.rbms[0]
    sk = BernoulliRBM(n_components=64, learning_rate=0.05, batch_size=20, n_iter=10, random_state=0)
    sk.fit(x.view(2000, -1).numpy())
    theirs = dbn.RBM(784, 64)
    theirs.W.data = torch.from_numpy(sk.components_.T.copy()).float()
    theirs.b.data = torch.from_numpy(sk.intercept_visible_).float()
    theirs.c.data = torch.from_numpy(sk.intercept_hidden_).float()
    v = x.view(2000, -1)
    pl_ours, pl_sk = _mean_pl(ours, v), _mean_pl(theirs, v)
    print(f"pseudo-likelihood: ours {pl_ours:.2f}, sklearn {pl_sk:.2f}")
    assert pl_ours >= pl_sk - 0.03 * abs(pl_sk)


def test_free_energy_finds_clearly_different_anomalies(make_cfg):
    m = pipeline.run(
        make_cfg(
            "dataset=synthetic",
            "dataset.n_per_class=100",
            "model=dbn",
            "model.sizes=[64,32]",
            "model.epochs_per_layer=5",
            "model.batch_size=20",
            "features=free_energy",
        )
    )
    assert m["auroc"] > 0.9


def test_dbn_serves_every_variant_from_one_fit(make_cfg):
    detector.clear_memory()
    base = (
        "dataset=synthetic",
        "dataset.n_per_class=40",
        "model=dbn",
        "model.sizes=[32,16]",
        "model.epochs_per_layer=2",
        "model.a2_layers=all",
    )
    runs = {
        v: pipeline.run(make_cfg(*base, f"features={v}", out=v))
        for v in ("re", "a1", "a2", "free_energy")
    }
    assert [r["model_cache"] for r in runs.values()] == ["miss", "hit", "hit", "hit"]
    assert runs["a1"]["feature_dim"] == 16 and runs["a2"]["feature_dim"] == 32 + 16


def test_bad_a2_layers_and_autoencoder_free_energy_errors(make_cfg):
    with pytest.raises(ValueError, match="model.a2_layers='middle': choose top or all"):
        dbn.DBN((1, 4, 4), [3], a2_layers="middle")
    with pytest.raises(ValueError, match="features=free_energy needs an energy-based model"):
        pipeline.run(
            make_cfg(
                "dataset=synthetic",
                "dataset.n_per_class=20",
                "trainer.max_epochs=1",
                "features=free_energy",
            )
        )


def test_upper_layers_train_on_inputs_mapped_once_per_layer():
    """The DBN maps every image through the frozen layers once when a layer starts and takes each
    batch's rows from there (batches carry their indices): the same network, to float tolerance,
    as mapping each batch again, and no data kept on the module afterwards."""
    x = torch.rand(150, 1, 6, 6)
    trainer = OmegaConf.create({"max_epochs": 4, "batch_size": 32, "val_fraction": 0.0,
                                "accelerator": "cpu", "progress_bar": False})  # fmt: skip

    def fit(cached: bool) -> dbn.DBNModule:
        torch.manual_seed(0)
        module = dbn.DBNModule(dbn.DBN((1, 6, 6), [12, 5]), epochs_per_layer=2, batch_size=32)
        module.uses_index = cached
        training.fit(module, x, trainer, 0)
        return module

    a, b = fit(True), fit(False)
    assert a.train_images is None and a._layer_inputs is None
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)


def test_dbn_layers_stop_on_their_own_plateau():
    """The plateau rule applied per layer: with a lax rule (one epoch under 90% improvement after
    2 epochs) each layer ends after 2 epochs, the next starts, and training ends after the top
    layer; with the rule off every layer trains its epochs_per_layer."""
    x = torch.rand(120, 1, 6, 6)
    trainer = OmegaConf.create({"max_epochs": 1, "batch_size": 32, "val_fraction": 0.0,
                                "accelerator": "cpu", "progress_bar": False})  # fmt: skip
    layers = {}
    for patience in (0, 1):
        torch.manual_seed(0)
        module = dbn.DBNModule(
            dbn.DBN((1, 6, 6), [12, 5]), epochs_per_layer=5, batch_size=32,
            stop_patience=patience, stop_min_delta=0.9, stop_min_epochs=2,
        )  # fmt: skip
        history = training.fit(module, x, trainer, 0)
        layers[patience] = [int(h["layer"]) for h in history]
    assert layers[0] == [0] * 5 + [1] * 5
    assert layers[1] == [0, 0, 1, 1]
