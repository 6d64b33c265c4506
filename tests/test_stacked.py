"""Many networks trained as one stack (benchmarks/stacked.py, what `make bench` times): each
equals its training alone and does not depend on its batch mates."""

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from benchmarks import stacked
from deepad import models
from deepad.data.sets import synthetic_source
from deepad.models import training

MODEL = OmegaConf.create(
    {"name": "ae", "kind": "autoencoder", "arch": "dense", "hidden": [16, 8], "activation": "tanh",
     "out_activation": "sigmoid", "lr": 3e-3, "weight_decay": 1e-4}
)  # fmt: skip
TRAINER = OmegaConf.create(
    {"max_epochs": 4, "batch_size": 32, "val_fraction": 0.0, "accelerator": "cpu",
     "progress_bar": False}
)  # fmt: skip


@pytest.fixture(scope="module")
def sets():
    """Three image sets of different sizes (so their step counts differ): 64 images fill two
    batches exactly, 53 and 66 end with a short batch."""
    src = synthetic_source(70, seed=0)
    sizes = (64, 53, 66)
    return [training.to_tensor(src.images[src.labels == c][:n, None]) for c, n in enumerate(sizes)]


def net(seed):
    pl.seed_everything(seed, workers=True, verbose=False)
    return models.build(MODEL, (1, 28, 28))


def biggest_gap(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_a_stacked_network_equals_its_training_alone(sets):
    seeds = [0, 1, 2]
    states, curves = stacked.fit_stacked([net(s).net for s in seeds], sets, seeds, MODEL, TRAINER)
    for x, seed, state, curve in zip(sets, seeds, states, curves, strict=True):
        alone = net(seed)
        history = training.fit(alone, x, TRAINER, seed)
        assert biggest_gap(alone.net.state_dict(), state) < 1e-5
        assert [c["epoch"] for c in curve] == [0, 1, 2, 3]
        assert [c["train/loss"] for c in curve] == pytest.approx(
            [h["train/loss"] for h in history], rel=1e-5
        )


@pytest.mark.parametrize(
    "hidden,act,out_act",
    [([16, 8], "tanh", "sigmoid"), ([12], "relu", "tanh"), ([10], "sigmoid", "relu"),
     ([32, 8], "tanh", "sigmoid")],
)  # fmt: skip
def test_written_out_gradients_are_autograds(hidden, act, out_act):
    """`StackedDenseAE.gradients` against autograd through each network alone, for a loss whose
    rows carry weights (a padded row: 0; a trimmed batch: 0 or 1 / keep), in every layout: on 20
    inputs, [16, 8] has narrowing and widening hidden layers and a widening output layer (the
    row weights on its (in + 1, B) input), [32, 8] a widening first layer (on x) and a narrowing
    output layer (the row weights on its (B, 20) derivative)."""
    model = OmegaConf.merge(MODEL, {"hidden": hidden, "activation": act, "out_activation": out_act})
    nets = []
    for seed in (0, 1):
        pl.seed_everything(seed, verbose=False)
        nets.append(models.build(model, (1, 4, 5)).net)
    x = torch.rand(2, 6, 20)  # (K, B, D)
    weight = torch.tensor([[0.5, 0.0, 0.25, 0.25, 0.0, 0.0], [1 / 6] * 6])  # (K, B)
    stack = stacked.StackedDenseAE(nets)
    hs = stack(x)
    grads = stack.gradients(hs, hs[-1] - x, weight * 2 / 20)
    for k, one in enumerate(nets):
        err = (one(x[k].view(6, 1, 4, 5)).flatten(1) - x[k]).pow(2).mean(1)  # (B,)
        (err * weight[k]).sum().backward()
        for view, g in zip(stack.parameter_views(k), grads, strict=True):
            assert g[k].shape == view.shape
        got = stack.state_dict_of(grads, k)  # named and shaped as a DenseAE's parameters
        for name, p in one.named_parameters():
            torch.testing.assert_close(got[name], p.grad, rtol=1e-4, atol=1e-7)


def test_networks_past_their_last_batch_are_left_out_of_a_step(sets):
    """A step lists the networks up to the last one with a batch: with the largest set first, as
    `fit_stacked` orders a stack, an epoch's last step computes only the network still training
    (the others sit it out; in the caller's order they would be computed as zero padding)."""
    steps = list(stacked.StackedBatches(sets, 32, [0, 1, 2]))  # 2, 2 and 3 batches of 32
    assert [len(s) for s in steps] == [3, 3, 3]
    assert steps[2][:2] == [None, None] and len(steps[2][2]) == 66 - 64
    steps = list(stacked.StackedBatches([sets[2], sets[0], sets[1]], 32, [2, 0, 1]))
    assert [len(s) for s in steps] == [3, 3, 1]


def test_a_trimmed_stacked_network_equals_its_training_alone(sets):
    """`model.trim` (AutoencoderModule's trimmed loss) is trained in the stack too: each batch's
    worst-reconstructed share is left out of its network's loss, as alone."""
    model = OmegaConf.merge(MODEL, {"trim": 0.25})
    seeds = [0, 1, 2]
    nets = []
    for s in seeds:
        pl.seed_everything(s, workers=True, verbose=False)
        nets.append(models.build(model, (1, 28, 28)))
    states, curves = stacked.fit_stacked([n.net for n in nets], sets, seeds, model, TRAINER)
    plain, _ = stacked.fit_stacked([net(s).net for s in seeds], sets, seeds, MODEL, TRAINER)
    for x, seed, alone, state, curve in zip(sets, seeds, nets, states, curves, strict=True):
        history = training.fit(alone, x, TRAINER, seed)
        assert biggest_gap(alone.net.state_dict(), state) < 1e-5
        assert [c["train/loss"] for c in curve] == pytest.approx(
            [h["train/loss"] for h in history], rel=1e-5
        )
    assert biggest_gap(states[0], plain[0]) > 1e-3  # the trim changed the training


def test_a_network_does_not_depend_on_its_batch_mates(sets):
    with_all, _ = stacked.fit_stacked(
        [net(s).net for s in (0, 1, 2)], sets, [0, 1, 2], MODEL, TRAINER
    )
    with_one, _ = stacked.fit_stacked([net(s).net for s in (2, 0)], [sets[2], sets[0]], [2, 0],
                                      MODEL, TRAINER)  # fmt: skip
    assert (
        biggest_gap(with_all[0], with_one[1]) < 1e-6
        and biggest_gap(with_all[2], with_one[0]) < 1e-6
    )
    again, _ = stacked.fit_stacked([net(s).net for s in (0, 1, 2)], sets, [0, 1, 2], MODEL, TRAINER)
    assert all(biggest_gap(a, b) == 0 for a, b in zip(with_all, again, strict=True))  # determinism
