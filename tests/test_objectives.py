"""The self-supervised terms of encoders over tokens: spans, crops, the teacher, the latent
and view terms, and what the reconstruction trains."""

import numpy as np
import pytest
import torch
from fast_settings import TINY_TWO_BLOCKS as TINY

from simmim_sklearn import SimMIMTransformer
from simmim_sklearn.nn._masking import random_crop, random_token_mask
from simmim_sklearn.nn._objectives import (
    START_MOMENTUM,
    info_nce,
    latent_targets,
    teacher_momentum,
)
from simmim_sklearn.nn._training import masked_loss_terms


def test_span_masks_hide_runs_of_consecutive_tokens():
    generator = torch.Generator().manual_seed(0)
    unavailable = torch.zeros((50, 40), dtype=torch.bool)
    hide = random_token_mask(unavailable, 0.5, generator, span=5)
    assert (hide.sum(dim=1) == 20).all()
    # Runs of hidden tokens start at most once per span: far fewer runs than with single
    # tokens, whose runs average about 10 per row here.
    starts = (hide[:, 1:] & ~hide[:, :-1]).sum(dim=1) + hide[:, 0]
    assert starts.max() <= 5
    single = random_token_mask(unavailable, 0.5, generator)
    single_starts = (single[:, 1:] & ~single[:, :-1]).sum(dim=1) + single[:, 0]
    assert single_starts.float().mean() > 2 * starts.float().mean()


def test_span_masks_leave_unavailable_tokens_out():
    generator = torch.Generator().manual_seed(0)
    unavailable = torch.zeros((20, 30), dtype=torch.bool)
    unavailable[:, 20:] = True
    hide = random_token_mask(unavailable, 0.5, generator, span=4)
    assert not (hide & unavailable).any()
    assert (hide.sum(dim=1) == 10).all()


@pytest.mark.parametrize("grid", [(40,), (6, 8)])
def test_random_crops_are_one_block_of_at_least_half_of_each_axis(grid):
    generator = torch.Generator().manual_seed(0)
    n_tokens = int(np.prod(grid))
    outside = random_crop(torch.zeros((100, n_tokens), dtype=torch.bool), grid, generator)
    inside = (~outside).reshape(100, *grid)
    for axis, length in enumerate(grid):
        covered = inside.any(dim=tuple(d + 1 for d in range(len(grid)) if d != axis))
        sizes = covered.sum(dim=1)
        assert (sizes >= (length + 1) // 2).all() and (sizes <= length).all()
        # One run per row: the covered positions are contiguous.
        first = covered.float().argmax(dim=1)
        last = length - 1 - covered.flip(1).float().argmax(dim=1)
        assert (sizes == last - first + 1).all()
    assert inside.sum(dim=tuple(range(1, len(grid) + 1))).float().std() > 0


def test_random_crops_keep_rows_whose_crop_would_hold_no_value():
    generator = torch.Generator().manual_seed(0)
    unavailable = torch.zeros((200, 40), dtype=torch.bool)
    unavailable[:, 2:] = True  # two tokens of values, then padding
    outside = random_crop(unavailable, (40,), generator)
    assert (~outside & ~unavailable).any(dim=1).all()
    assert (outside | ~unavailable).all()


def test_teacher_momentum_rises_from_its_start_to_one():
    assert teacher_momentum(0, 100) == pytest.approx(START_MOMENTUM)
    assert teacher_momentum(100, 100) == pytest.approx(1.0)
    values = [teacher_momentum(step, 100) for step in range(101)]
    assert values == sorted(values)
    assert teacher_momentum(7, None) == START_MOMENTUM


def test_latent_targets_are_normalised_over_tokens_then_over_features():
    model = SimMIMTransformer(input_shape=(1, 30), **TINY).fit(
        np.random.RandomState(0).normal(size=(12, 30)))
    teacher = model.module_.teacher
    tokens = torch.randn(4, 30, 1)
    missing = torch.zeros((4, 30), dtype=torch.bool)
    target = latent_targets(teacher, tokens, missing)
    assert target.shape == (4, 30, TINY["hidden_width"])
    torch.testing.assert_close(target.mean(dim=-1), torch.zeros(4, 30), atol=1e-5, rtol=0)
    torch.testing.assert_close(target.std(dim=-1, unbiased=False), torch.ones(4, 30),
                               atol=1e-3, rtol=0)


def test_info_nce_is_low_for_matching_views_and_high_for_unrelated_ones():
    generator = torch.Generator().manual_seed(0)
    first = torch.nn.functional.normalize(torch.randn(16, 32, generator=generator), dim=1)
    unrelated = torch.nn.functional.normalize(torch.randn(16, 32, generator=generator), dim=1)
    assert info_nce(first, first, 0.2) < 0.5
    assert info_nce(first, unrelated, 0.2) > 2.0


@pytest.mark.parametrize("input_shape, on", [(None, False), ((1, 24), True),
                                             ((1, 4, 6), False)])
def test_auto_self_supervised_terms_are_on_for_windows_only(input_shape, on):
    X = np.random.RandomState(0).normal(size=(12, 24))
    encoder = "conv" if input_shape is None else "auto"
    auto = SimMIMTransformer(input_shape=input_shape, encoder=encoder, **TINY).fit(X)
    without = SimMIMTransformer(input_shape=input_shape, encoder=encoder, latent_weight=0.0,
                                view_weight=0.0, **TINY).fit(X)
    assert (auto.loss_curve_ != without.loss_curve_) == on


@pytest.mark.parametrize("weights", [dict(latent_weight=1.0, view_weight=0.0),
                                     dict(latent_weight=0.0, view_weight=1.0)])
def test_each_term_changes_the_training(weights):
    X = np.random.RandomState(0).normal(size=(12, 60))
    params = dict(input_shape=(2, 30), **TINY)
    neither = SimMIMTransformer(latent_weight=0.0, view_weight=0.0, **params).fit(X)
    one = SimMIMTransformer(**weights, **params).fit(X)
    assert one.loss_curve_ != neither.loss_curve_
    assert not np.allclose(one.transform(X), neither.transform(X))


def encoder_gradients(model, X, **weights):
    network = model.module_
    network.zero_grad()
    generator = torch.Generator().manual_seed(0)
    error_sum, weight_sum = masked_loss_terms(
        network, torch.as_tensor(X, dtype=torch.float32), 0.5, "l1", 0.5, generator, **weights)
    (error_sum / weight_sum).backward()
    return [p.grad for p in network.encoder.parameters()]


def test_with_self_supervised_terms_the_reconstruction_does_not_train_the_encoder():
    """With the latent head zeroed, the latent term sends the encoder no gradient: what is
    left is the reconstruction's, which reaches the encoder only without those terms."""
    X = np.random.RandomState(0).normal(size=(12, 60))
    model = SimMIMTransformer(input_shape=(2, 30), **TINY).fit(X)
    with torch.no_grad():
        model.module_.latent_head.weight.zero_()
    with_terms = encoder_gradients(model, X, latent_weight=1.0, view_weight=0.0)
    assert all(g is None or not g.abs().any() for g in with_terms)
    without = encoder_gradients(model, X, latent_weight=0.0, view_weight=0.0)
    assert any(g is not None and g.abs().any() for g in without)


def test_the_teacher_follows_the_encoder_and_is_not_trained():
    X = np.random.RandomState(0).normal(size=(12, 60))
    model = SimMIMTransformer(input_shape=(2, 30), **dict(TINY, max_iter=1)).fit(X)
    initial = {k: v.clone() for k, v in model.module_.teacher.state_dict().items()}
    model.set_params(warm_start=True, max_iter=5).fit(X)
    teacher, student = model.module_.teacher, model.module_.encoder
    assert not any(p.requires_grad for p in teacher.parameters())
    moved = [not torch.equal(initial[k], v) for k, v in teacher.state_dict().items()]
    assert any(moved)
    # An average of the encoder's recent weights, not the encoder itself.
    assert any(not torch.equal(t, s) for t, s in zip(teacher.parameters(),
                                                     student.parameters()))


def test_the_mlp_encoder_has_no_teacher():
    model = SimMIMTransformer(**TINY).fit(np.random.RandomState(0).normal(size=(12, 6)))
    assert model.module_.teacher is None and model.module_.latent_head is None


def test_without_the_latent_term_there_is_no_teacher_to_continue_with():
    X = np.random.RandomState(0).normal(size=(12, 60))
    model = SimMIMTransformer(input_shape=(2, 30), latent_weight=0.0, **TINY).fit(X)
    assert model.module_.teacher is None and model.module_.latent_head is None
    with pytest.raises(ValueError, match="fitted without"):
        model.set_params(warm_start=True, latent_weight=1.0).fit(X)
    assert model.module_.teacher is None and model.n_iter_ == TINY["max_iter"]


@pytest.mark.parametrize("input_shape, encoder, spans", [
    ((1, 128), "conv", True), ((1, 128), "mlp", True), (None, "mlp", False),
    (None, "conv", False), ((1, 8, 16), "conv", False)])
def test_only_windows_hide_spans_of_tokens(input_shape, encoder, spans):
    X = np.random.RandomState(0).normal(size=(12, 128))
    model = SimMIMTransformer(input_shape=input_shape, encoder=encoder, patch_size=1,
                              **dict(TINY, max_iter=1)).fit(X)
    assert (model.module_.mask_span > 1) == spans
