"""Feature variants: RE of a perfect reconstruction is 0, A2 is binary, errors are clear."""

import numpy as np
import pytest
import torch
from torch import nn

from deepad import features
from deepad.models.autoencoder import DenseAE


class Identity(nn.Module):
    """A perfect reconstructor with one hidden 'layer' (the input itself, midpoint 0.5)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))

    def reconstruct(self, x):
        return x

    def bottleneck(self, x):
        return x.flatten(1)

    def hidden(self, x):
        return [(x, 0.5)]


def test_re_of_perfect_reconstruction_is_zero():
    x = torch.rand(7, 1, 4, 4)
    assert np.all(features.extract(Identity(), x, "re") == 0)
    x_hat = x.clone()
    x_hat[3] += 0.5
    re = features.reconstruction_error(x, x_hat)
    assert re.shape == (7,) and re.argmax() == 3 and re[3] == pytest.approx(0.25)


def test_a2_is_binary_over_all_hidden_layers():
    torch.manual_seed(0)
    net = DenseAE((1, 8, 8), [20, 6], activation="tanh")
    x = torch.rand(30, 1, 8, 8)
    a2 = features.extract(net, x, "a2")
    assert a2.shape == (30, 20 + 6 + 20) and a2.dtype == np.uint8
    assert set(np.unique(a2)) <= {0, 1} and 0 < a2.mean() < 1
    a1 = features.extract(net, x, "a1")
    np.testing.assert_array_equal(a2[:, 20:26], (a1 > 0).astype(np.uint8))  # tanh midpoint is 0


def test_active_pattern_uses_each_midpoint():
    h_sig = torch.tensor([[0.4, 0.6]])
    h_relu = torch.tensor([[0.0, 0.1]])
    assert features.active_pattern([(h_sig, 0.5), (h_relu, 0.0)]).tolist() == [[0, 1, 0, 1]]


def test_raw_needs_no_model_and_errors_are_clear():
    x = torch.rand(3, 1, 4, 4)
    assert features.extract(None, x, "raw").shape == (3, 16)
    with pytest.raises(ValueError, match="features=free_energy needs an energy-based model"):
        features.extract(DenseAE((1, 4, 4), [3]), x, "free_energy")
    with pytest.raises(ValueError, match="unknown features variant 'a3'"):
        features.extract(None, x, "a3")
