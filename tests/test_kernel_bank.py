"""The fixed kernel bank over windows (nn._kernel_bank) and its place in the representation."""

import numpy as np
import pytest
import torch
from fast_settings import TINY_FINETUNED, TINY_TWO_BLOCKS
from numpy.testing import assert_allclose, assert_array_equal

from simmim_sklearn import SimMIMClassifier, SimMIMTransformer
from simmim_sklearn.nn._kernel_bank import (
    KERNEL_INDICES,
    KernelBank,
    dilations_and_counts,
    kernel_bank_width,
    share_above,
)


def test_share_above_counts_every_step_above_each_bias():
    steps = torch.randn(3, 4, 50, generator=torch.Generator().manual_seed(0))
    biases = torch.randn(4, 7, generator=torch.Generator().manual_seed(1))
    direct = (steps.unsqueeze(-1) > biases.unsqueeze(1)).float().mean(dim=2)
    assert_array_equal(share_above(steps, biases).numpy(), direct.numpy())


@pytest.mark.parametrize("length", [9, 24, 150, 1460])
def test_dilations_fit_the_window_and_features_add_up(length):
    dilations, counts = dilations_and_counts(length, 10_000)
    assert dilations[0] == 1 and (np.diff(dilations) > 0).all()
    assert (np.asarray(dilations) * 8 <= max(length - 1, 8)).all()
    assert kernel_bank_width(length, 10_000) == 84 * sum(counts) == 9_996


def test_kernels_ignore_the_level_of_a_window():
    bank = KernelBank((1, 60), 840, seed=0)
    x = torch.randn(5, 1, 60, generator=torch.Generator().manual_seed(0))
    margin = 4 * bank.dilations[2]
    # Away from the zero padding, where the whole kernel sees the window.
    inner = slice(margin, 60 - margin)
    assert torch.allclose(bank.responses(x, 2)[..., inner],
                          bank.responses(x + 3.0, 2)[..., inner], atol=1e-4)
    assert bank.weights.sum(dim=1).abs().max() == 0 and len(KERNEL_INDICES) == 84


def test_biases_are_quantiles_of_training_responses():
    rng = np.random.default_rng(0)
    x = torch.as_tensor(np.cumsum(rng.normal(size=(30, 2, 80)), axis=-1), dtype=torch.float32)
    bank = KernelBank((2, 80), 2_000, seed=0)
    bank.fit_biases(x)
    features = bank(x)
    assert features.shape == (30, bank.n_features)
    assert 0 <= features.min() and features.max() <= 1
    # Biases drawn across the range of responses: the training windows' shares spread out.
    assert 0.2 < features.mean() < 0.8 and features.std() > 0.1


def test_transform_appends_the_bank_after_the_learned_columns():
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(40, 64)), axis=1)
    base = dict(TINY_TWO_BLOCKS, input_shape=(1, 64))
    with_bank = SimMIMTransformer(**base, kernel_features=840).fit(X)
    without = SimMIMTransformer(**base, kernel_features=0).fit(X)
    assert with_bank.kernel_features_ == 840 and without.kernel_features_ == 0
    Z, Z0 = with_bank.transform(X), without.transform(X)
    assert Z.shape == (40, Z0.shape[1] + 840)
    # The learned columns do not depend on the bank.
    assert_allclose(Z[:, :Z0.shape[1]], Z0, rtol=1e-5, atol=1e-6)
    assert with_bank.inverse_transform(Z).shape == X.shape


def test_auto_bank_only_on_windows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 12))
    assert SimMIMTransformer(**TINY_TWO_BLOCKS).fit(X).kernel_features_ == 0
    windows = SimMIMTransformer(**TINY_TWO_BLOCKS, input_shape=(1, 12)).fit(X)
    assert windows.kernel_features_ == 9_996
    with pytest.raises(ValueError, match="kernel_features=84"):
        SimMIMTransformer(**TINY_TWO_BLOCKS, kernel_features=84).fit(X)
    with pytest.raises(ValueError, match="kernel_features"):
        SimMIMTransformer(**TINY_TWO_BLOCKS, kernel_features=-1).fit(X)
    mlp = dict(TINY_TWO_BLOCKS, input_shape=(1, 12), encoder="mlp")
    assert SimMIMTransformer(**mlp).fit(X).kernel_features_ == 0
    with pytest.raises(ValueError, match="encoder='mlp' has none"):
        SimMIMTransformer(**mlp, kernel_features=840).fit(X)


def test_windows_with_nan_get_finite_bank_features():
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(30, 50)), axis=1)
    X[::3, 10:20] = np.nan
    model = SimMIMTransformer(**TINY_TWO_BLOCKS, input_shape=(1, 50), kernel_features=420)
    Z = model.fit(X).transform(X)
    assert np.isfinite(Z).all()


def test_fine_tuning_reads_the_bank_features_it_computed_once():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 20)
    X = np.sin(np.linspace(0, 6, 64) * (2 + y[:, None])) + rng.normal(0, 0.3, (40, 64))
    clf = SimMIMClassifier(**TINY_FINETUNED, input_shape=(1, 64)).fit(X, y)
    network = clf.module_
    assert network.backbone.kernel_bank.n_features == clf.kernel_features_ == 9_996
    x = torch.as_tensor(X[:5], dtype=torch.float32)
    with torch.no_grad():
        bank = network.backbone.bank_features(network.backbone.standardize(x))
        assert_allclose(network(x, bank).numpy(), network(x).numpy(), rtol=1e-5, atol=1e-5)
    assert clf.score(X, y) > 0.9


def test_float64_windows_give_the_float32_features_where_values_repeat():
    # A run of one value makes many responses equal to the biases drawn from them (about 0,
    # with rounding that depends on the precision): the bank must break those ties as it did
    # when the biases were drawn, whatever the input's dtype.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 1, 40))
    X[:, :, :20] = -0.7310586
    bank = KernelBank((1, 40), 840, seed=0)
    bank.fit_biases(torch.from_numpy(X).float())
    single = bank(torch.from_numpy(X).float()).numpy()
    double = bank.double()(torch.from_numpy(X))
    assert double.dtype == torch.float64
    assert_array_equal(double.numpy().astype(np.float32), single)
