"""Time-series windows (C, L) and images (C, H, W): encoders, patching, padding, budget."""

import numpy as np
import pytest
import torch
from fast_settings import TINY_TWO_BLOCKS as TINY

from simmim_sklearn import SimMIMImputer, SimMIMTransformer
from simmim_sklearn.nn._encoders import ENCODERS

LAYOUTS = [((2, 30), 4), ((1, 6, 8), (2, 3))]


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
@pytest.mark.parametrize("input_shape, patch_size", LAYOUTS)
def test_shapes_for_windows_and_images(encoder, input_shape, patch_size):
    X = np.random.RandomState(0).normal(size=(12, int(np.prod(input_shape))))
    model = SimMIMTransformer(
        encoder=encoder, input_shape=input_shape, patch_size=patch_size, **TINY
    ).fit(X)
    Z = model.transform(X)
    # Encoders over tokens append every block's maxima to the representation, then on
    # windows the kernel bank's features.
    block_maxima = encoder != "mlp"
    assert model.kernel_features_ == (9_996 if block_maxima and len(input_shape) == 2 else 0)
    assert Z.shape == (12, 3 + block_maxima * TINY["hidden_width"] * TINY["depth"]
                       + model.kernel_features_)
    assert np.isfinite(Z).all()
    assert model.inverse_transform(Z).shape == X.shape
    assert model.encoder_ == encoder
    assert model.input_shape_ == input_shape
    X_rec, hidden = model.reconstruct(X, mask_ratio=0.5, random_state=0)
    assert X_rec.shape == X.shape and hidden.shape == X.shape
    # Whole patches are hidden: the hidden fraction is that of the tokens, about one half.
    assert 0.3 < hidden.mean() < 0.7


@pytest.mark.parametrize(
    "patch_size, message",
    [((2, 2), "1 positive ints"), (0, "patch_size"), (31, "longer than the axis"),
     ((True,), "positive int")],
)
def test_patch_size_errors_name_the_parameter(patch_size, message):
    X = np.zeros((4, 30))
    model = SimMIMTransformer(input_shape=(1, 30), patch_size=patch_size, **TINY)
    with pytest.raises(ValueError, match=message):
        model.fit(X)


def test_input_shape_must_match_the_number_of_features():
    with pytest.raises(ValueError, match="describes 60 values"):
        SimMIMTransformer(input_shape=(2, 30), **TINY).fit(np.zeros((4, 50)))


def test_auto_depth_lets_the_conv_dilations_span_the_window():
    """One conv block per doubling of the dilation until they span the window's tokens, at
    least 2 and at most 6; 2 blocks for other encoders and layouts."""
    X = np.random.RandomState(0).normal(size=(12, 40))
    fit = dict(TINY, depth="auto", max_iter=1)
    depths = {}
    for name, params in {
        "8 tokens": dict(input_shape=(1, 40), patch_size=5),
        "40 tokens": dict(input_shape=(1, 40), patch_size=1),
        "2 tokens": dict(input_shape=(1, 40), patch_size=20),
        "transformer": dict(input_shape=(1, 40), patch_size=1, encoder="transformer"),
        "image": dict(input_shape=(1, 5, 8), patch_size=1),
        "tabular": {},
    }.items():
        model = SimMIMTransformer(**fit, **params).fit(X)
        depths[name] = model.depth_
        assert len(model.module_.encoder.blocks) == model.depth_
    assert depths == {"8 tokens": 3, "40 tokens": 6, "2 tokens": 2, "transformer": 2,
                      "image": 2, "tabular": 2}
    assert SimMIMTransformer(**dict(fit, depth=4), input_shape=(1, 40)).fit(X).depth_ == 4


@pytest.mark.parametrize("input_shape", [(2, 3, 4), (2, 12)])
def test_images_and_windows_are_scaled_per_channel_and_tabular_rows_per_feature(input_shape):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 2, 12)) * [[1.0], [10.0]] + [[0.0], [5.0]]
    X = X.reshape(50, -1)
    model = SimMIMTransformer(input_shape=input_shape, **TINY).fit(X)
    for channel, values in enumerate(np.split(X, 2, axis=1)):
        np.testing.assert_allclose(model.mean_[12 * channel:12 * (channel + 1)], values.mean())
        np.testing.assert_allclose(model.scale_[12 * channel:12 * (channel + 1)], values.std())
    tabular = SimMIMTransformer(**TINY).fit(X)
    np.testing.assert_allclose(tabular.mean_, X.mean(axis=0))


def test_auto_components_depend_on_the_layout():
    """Images get one component per feature the encoder pools (mean and max of each of its
    ``hidden_width`` channels), windows the 8 with the linear path; every block's maxima
    follow them in ``transform``. Tabular rows and the imputer get 16."""
    X = np.random.RandomState(0).normal(size=(12, 24))
    fit = dict(TINY, n_components="auto", max_iter=1)
    tabular = SimMIMTransformer(**fit).fit(X)
    image = SimMIMTransformer(input_shape=(1, 4, 6), **fit).fit(X)
    window = SimMIMTransformer(input_shape=(1, 24), **fit).fit(X)
    imputer = SimMIMImputer(input_shape=(1, 24), **fit).fit(X)
    assert (tabular.n_components_, imputer.n_components_) == (16, 16)
    block_maxima = TINY["hidden_width"] * TINY["depth"]
    assert image.n_components_ == 2 * TINY["hidden_width"]
    assert image.transform(X).shape == (12, 2 * TINY["hidden_width"] + block_maxima)
    assert tabular.module_.linear_encoder.out_features == 16
    assert window.n_components_ == 8
    assert window.transform(X).shape == (12, 8 + block_maxima + window.kernel_features_)
    assert window.module_.linear_encoder.out_features == 8
    wide = SimMIMTransformer(input_shape=(1, 24), **{**fit, "n_components": 20}).fit(X)
    assert wide.transform(X).shape == (12, 20 + block_maxima + wide.kernel_features_)
    assert wide.module_.linear_encoder.out_features == 8
    narrow = SimMIMTransformer(input_shape=(1, 24), **{**fit, "n_components": 5}).fit(X)
    assert narrow.module_.linear_encoder.out_features == 5


def test_auto_window_representation_keeps_inverse_transform_close_to_identity():
    """The linear components of a window's representation still rebuild it: windows of
    sinusoids (2 degrees of freedom) come back with a small fraction of their variance lost."""
    rng = np.random.RandomState(0)
    t = np.arange(32)
    X = rng.uniform(0.5, 2, (200, 1)) * np.sin(2 * np.pi * t / 8 + rng.uniform(0, 7, (200, 1)))
    model = SimMIMTransformer(input_shape=(1, 32), hidden_width=16, max_iter=30, random_state=0)
    X_back = model.fit(X).inverse_transform(model.transform(X))
    assert model.n_components_ == 8
    assert np.mean((X_back - X) ** 2) < 0.01 * X.var()


def test_auto_encoder_depends_on_the_layout():
    X = np.random.RandomState(0).normal(size=(10, 24))
    tabular = SimMIMTransformer(**{**TINY, "max_iter": 1}).fit(X)
    window = SimMIMTransformer(input_shape=(1, 24), **{**TINY, "max_iter": 1}).fit(X)
    assert tabular.encoder_ == "mlp"
    assert window.encoder_ in ("conv", "transformer")


@pytest.mark.parametrize("encoder", ["conv", "transformer"])
def test_padding_acts_as_if_the_window_ended_there(encoder):
    """A series of 6 real tokens followed by 4 missing (NaN-padded) ones must be encoded
    exactly like the same 6 tokens on their own: padding takes no part in attention,
    convolution or pooling. This fails if padding were attended to, convolved as values
    (mask token, position embedding, norm bias) or pooled. A hidden (masked) token among
    the real ones stays in, so that hidden and missing are seen to differ.
    """
    torch.manual_seed(0)
    network = ENCODERS[encoder]((10,), 3, 8, 3).eval()
    tokens = torch.randn(2, 10, 3)
    missing = torch.zeros(2, 10, dtype=torch.bool)
    missing[:, 6:] = True
    tokens[missing] = 0.0  # the network zero-fills missing tokens before the encoder
    hidden = missing.clone()
    hidden[:, 2] = True
    with torch.no_grad():
        padded = network(tokens, hidden, missing)
        alone = network(tokens[:, :6], hidden[:, :6], missing[:, :6])
        # Control: treating the padding as real (hidden) tokens changes the result.
        as_real = network(tokens, hidden, torch.zeros_like(missing))
    torch.testing.assert_close(padded, alone, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(padded, as_real, atol=1e-3)


@pytest.mark.parametrize("encoder", ["conv", "transformer"])
def test_padded_rows_train_and_transform_to_finite_values(encoder):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(16, 40))
    for i, length in enumerate(rng.randint(10, 41, size=16)):
        X[i, length:] = np.nan
    X[0] = np.nan  # a row with no value at all pools to zeros rather than NaN
    model = SimMIMTransformer(input_shape=(1, 40), encoder=encoder, patch_size=5, **TINY)
    Z = model.fit(X).transform(X)
    assert np.isfinite(Z).all()


def test_image_representation_comes_from_the_encoder_alone():
    """Images drop the linear path of raw pixels; tabular rows and windows keep it."""
    X = np.random.RandomState(0).normal(size=(12, 24))
    image = SimMIMTransformer(input_shape=(1, 4, 6), **TINY).fit(X)
    window = SimMIMTransformer(input_shape=(1, 24), **TINY).fit(X)
    assert image.module_.linear_encoder is None
    assert window.module_.linear_encoder is not None
    assert image.inverse_transform(image.transform(X)).shape == X.shape


@pytest.mark.parametrize("input_shape, uses_consistency", [
    (None, False), ((1, 24), False), ((1, 4, 6), True),
])
def test_auto_consistency_weight_is_on_for_images_only(input_shape, uses_consistency):
    """``"auto"`` trains exactly as weight 0 on tabular rows and windows, and differently
    (the consistency term is in the loss) on images."""
    X = np.random.RandomState(0).normal(size=(12, 24))
    params = dict(input_shape=input_shape, **TINY)
    auto = SimMIMTransformer(**params).fit(X)
    without = SimMIMTransformer(consistency_weight=0.0, **params).fit(X)
    assert (auto.loss_curve_ != without.loss_curve_) == uses_consistency


def shifted_by_numpy(X, shape, axis, step):
    """``X`` with every row, laid out as ``shape``, moved ``step`` positions along spatial
    ``axis`` (1 is the first), NaN shifted in."""
    rows = X.reshape(len(X), *shape)
    out = np.full_like(rows, np.nan)
    length = rows.shape[axis + 1]
    source = [slice(None)] * rows.ndim
    target = [slice(None)] * rows.ndim
    source[axis + 1] = slice(0, length - 1) if step > 0 else slice(1, length)
    target[axis + 1] = slice(1, length) if step > 0 else slice(0, length - 1)
    out[tuple(target)] = rows[tuple(source)]
    return out.reshape(len(X), -1)


@pytest.mark.parametrize("input_shape", [(1, 24), (2, 3, 4)])
def test_transform_averages_the_row_with_its_one_position_shifts(input_shape):
    """Half the row's own representation, half the mean over its copies shifted one position
    either way along each spatial axis (NaN shifted in), as computed here with numpy."""
    X = np.random.RandomState(0).normal(size=(12, 24))
    model = SimMIMTransformer(input_shape=input_shape, average_shifts=True, **TINY).fit(X)
    plain = SimMIMTransformer(input_shape=input_shape, average_shifts=False, **TINY).fit(X)
    n_axes = len(input_shape) - 1
    shifts = [plain.transform(shifted_by_numpy(X, input_shape, axis, step))
              for axis in range(1, n_axes + 1) for step in (1, -1)]
    expected = 0.5 * plain.transform(X) + 0.5 * np.mean(shifts, axis=0)
    np.testing.assert_allclose(model.transform(X), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.transform(X), plain.transform(X))


def test_average_shifts_changes_transform_only_not_training():
    X = np.random.RandomState(0).normal(size=(12, 24))
    params = dict(input_shape=(1, 4, 6), **TINY)
    averaged = SimMIMTransformer(average_shifts=True, **params).fit(X)
    plain = SimMIMTransformer(average_shifts=False, **params).fit(X)
    assert averaged.loss_curve_ == plain.loss_curve_
    for name, weight in averaged.module_.state_dict().items():
        torch.testing.assert_close(weight, plain.module_.state_dict()[name])
    assert averaged.score(X) == plain.score(X)


@pytest.mark.parametrize("input_shape, averages", [(None, False), ((1, 24), False),
                                                   ((1, 4, 6), True)])
def test_auto_average_shifts_is_on_for_images_only(input_shape, averages):
    X = np.random.RandomState(0).normal(size=(12, 24))
    model = SimMIMTransformer(input_shape=input_shape, **TINY).fit(X)
    assert model.average_shifts_ is averages
    assert model.module_.average_shifts is averages


def test_average_shifts_on_tabular_rows_is_an_error_that_leaves_the_model_unfitted():
    X = np.random.RandomState(0).normal(size=(12, 24))
    model = SimMIMTransformer(average_shifts=True, **TINY)
    with pytest.raises(ValueError, match="average_shifts=True needs an input_shape"):
        model.fit(X)
    assert not hasattr(model, "module_") and not hasattr(model, "average_shifts_")


def test_average_shifts_can_be_switched_by_refitting_with_warm_start():
    X = np.random.RandomState(0).normal(size=(12, 24))
    model = SimMIMTransformer(input_shape=(1, 4, 6), warm_start=True, **TINY).fit(X)
    assert model.average_shifts_
    model.set_params(average_shifts=False).fit(X)
    assert not model.average_shifts_ and not model.module_.average_shifts


def test_average_shifts_leaves_rows_with_nothing_to_shift_as_they_are():
    X = np.random.RandomState(0).normal(size=(12, 24))
    params = dict(input_shape=(24, 1), **TINY)  # 24 channels of a single time step
    averaged = SimMIMTransformer(average_shifts=True, **params).fit(X)
    plain = SimMIMTransformer(average_shifts=False, **params).fit(X)
    np.testing.assert_array_equal(averaged.transform(X), plain.transform(X))


def block_maxima_by_hand(model, X):
    """Max over the tokens of each encoder block's output, layer-normalised without scales,
    computed from the fitted network's parts (no NaN in ``X``)."""
    network = model.module_
    with torch.no_grad():
        tokens = network.patcher.to_tokens(network.standardize(torch.as_tensor(X).float()))
        hidden = torch.zeros(tokens.shape[:2], dtype=torch.bool)
        outputs = network.encoder.block_outputs(tokens, hidden, hidden)
        return np.hstack([torch.nn.functional.layer_norm(h, h.shape[-1:]).amax(dim=1).numpy()
                          for h in outputs])


@pytest.mark.parametrize("encoder", ["conv", "transformer"])
@pytest.mark.parametrize("input_shape", [(2, 30), (1, 6, 10)])
def test_block_maxima_follow_the_representation(encoder, input_shape):
    X = np.random.RandomState(0).normal(size=(12, 60))
    # Patches that divide the axes: no padding, which the computation by hand leaves out.
    params = dict(TINY, average_shifts=False, patch_size=2, kernel_features=0)
    model = SimMIMTransformer(input_shape=input_shape, encoder=encoder, **params).fit(X)
    Z = model.transform(X)
    assert Z.shape == (12, 3 + TINY["hidden_width"] * TINY["depth"])
    np.testing.assert_allclose(Z[:, 3:], block_maxima_by_hand(model, X), rtol=1e-4,
                               atol=1e-5)
    assert len(model.get_feature_names_out()) == Z.shape[1]


def test_inverse_transform_decodes_the_representation_and_ignores_block_maxima():
    X = np.random.RandomState(0).normal(size=(12, 60))
    model = SimMIMTransformer(input_shape=(2, 30), **TINY).fit(X)
    Z = model.transform(X)
    moved = Z.copy()
    moved[:, 3:] += 1.0
    np.testing.assert_array_equal(model.inverse_transform(moved), model.inverse_transform(Z))
    assert not np.allclose(model.inverse_transform(Z + 1.0), model.inverse_transform(Z))
    with pytest.raises(ValueError, match=r"expects 10015 features .*n_components=3 plus 16 block"
                                         r" maxima plus 9996 kernel bank features"):
        model.inverse_transform(Z[:, :3])


@pytest.mark.parametrize("encoder", ["conv", "transformer"])
def test_encoders_without_blocks_take_the_maxima_of_their_embedded_tokens(encoder):
    X = np.random.RandomState(0).normal(size=(12, 24))
    params = dict(TINY, depth=0, encoder=encoder, input_shape=(1, 24), kernel_features=0)
    Z = SimMIMTransformer(**params).fit(X).transform(X)
    assert Z.shape == (12, 3 + TINY["hidden_width"]) and np.isfinite(Z).all()
