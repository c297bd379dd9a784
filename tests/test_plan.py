"""The plan: every "auto" resolved in one place, and published as fitted attributes."""

import numpy as np
import pytest
import torch
from fast_settings import TINY

from simmim_sklearn import SimMIMClassifier, SimMIMImputer, SimMIMTransformer
from simmim_sklearn._plan import Data, make_plan


def plan_of(n_features, n_rows=200, purpose="representation", **params):
    """The plan of a SimMIMTransformer (or imputer) with ``params`` for such data."""
    estimator = SimMIMImputer(**params) if purpose == "imputation" else SimMIMTransformer(
        **params)
    return make_plan(estimator.get_params(), Data(n_rows, n_features), purpose)


def test_auto_patches_keep_at_most_128_window_tokens_and_take_square_roots_on_images():
    lengths = [1, 8, 24, 128, 129, 150, 251, 427, 1000]
    patches = [plan_of(n, input_shape=(1, n)).network.patch_size[0] for n in lengths]
    assert patches == [1, 1, 1, 1, 2, 2, 2, 4, 8]
    assert all(np.ceil(n / p) <= 128 for n, p in zip(lengths, patches))
    assert plan_of(256, input_shape=(1, 16, 16)).network.patch_size == (4, 4)
    assert plan_of(28, input_shape=(1, 1, 28)).network.patch_size == (1, 5)
    assert plan_of(30).network.patch_size == (1,)


def test_auto_components_and_encoders_follow_the_layout():
    tabular, window, image = (plan_of(40).network, plan_of(40, input_shape=(1, 40)).network,
                              plan_of(64, input_shape=(1, 8, 8)).network)
    assert (tabular.encoder, tabular.n_components, tabular.n_linear) == ("mlp", 16, 16)
    assert (window.encoder, window.n_components, window.n_linear) == ("conv", 8, 8)
    assert (image.encoder, image.n_components, image.n_linear) == ("conv", 256, 0)
    mlp_window = plan_of(40, input_shape=(1, 40), encoder="mlp").network
    assert mlp_window.n_components == 8 + 128
    imputer = plan_of(64, purpose="imputation", input_shape=(1, 8, 8)).network
    assert (imputer.linear, imputer.n_components, imputer.mask_span) == ("conditional", 16, 1)


def test_mask_spans_follow_the_window_length_and_stay_single_elsewhere():
    assert plan_of(128, input_shape=(1, 128)).network.mask_span == 4
    assert plan_of(12, input_shape=(1, 12)).network.mask_span == 1
    assert plan_of(64, input_shape=(1, 8, 8)).network.mask_span == 1
    assert plan_of(128, purpose="imputation", input_shape=(1, 128)).network.mask_span == 1


def test_token_budget_caps_the_epochs_of_long_windows_deep_encoders_and_image_grids():
    def epochs(n_features, **params):
        return plan_of(n_features, max_iter="auto", batch_size=10, latent_weight=0,
                       patch_size=1, **params).training.n_epochs

    short, long = epochs(20, input_shape=(1, 20)), epochs(400, input_shape=(1, 400))
    assert long < short
    assert epochs(400, input_shape=(1, 400), encoder="mlp") > long  # MLP cost is per row
    assert epochs(400, input_shape=(1, 400), depth=6) < epochs(400, input_shape=(1, 400),
                                                               depth=2)
    assert epochs(400, input_shape=(1, 20, 20), depth=2) < epochs(400, input_shape=(1, 400),
                                                                  depth=2)


def test_self_supervised_terms_take_small_batches_and_build_their_heads_only_when_on():
    window = plan_of(40, n_rows=3200, input_shape=(1, 40))
    assert window.training.latent_weight == 1.0 and window.network.self_supervised
    assert window.training.batch_size == 50  # a 64th of the rows
    off = plan_of(40, n_rows=3200, input_shape=(1, 40), latent_weight=0)
    assert off.training.batch_size == 256 and not off.network.self_supervised


def test_latent_or_view_weight_with_the_mlp_encoder_is_a_clear_error():
    X = np.random.RandomState(0).normal(size=(20, 12))
    for params in ({"latent_weight": 1.0}, {"view_weight": 1.0}):
        model = SimMIMTransformer(encoder="mlp", input_shape=(1, 12), **params, **TINY)
        with pytest.raises(ValueError, match="encoder over tokens"):
            model.fit(X)
        assert not hasattr(model, "module_")


@pytest.mark.parametrize("input_shape", [None, (1, 40), (1, 5, 8)])
def test_fitted_attributes_publish_the_plan(input_shape):
    X = np.random.RandomState(0).normal(size=(30, 40))
    model = SimMIMTransformer(input_shape=input_shape, hidden_width=8, max_iter=2,
                              random_state=0).fit(X)
    plan = model._plan
    assert model.input_shape_ == plan.network.input_shape
    assert model.patch_size_ == plan.network.patch_size
    assert model.mask_span_ == plan.network.mask_span
    # Windows train with the latent term: batches of at least 16 rows, else all 30.
    assert model.batch_size_ == plan.training.batch_size == (16 if input_shape == (1, 40)
                                                             else 30)
    assert model.max_iter_ == 2 and model.n_iter_ == 2
    assert model.latent_weight_ == (1.0 if input_shape == (1, 40) else 0.0)
    assert model.consistency_weight_ == (1.0 if input_shape == (1, 5, 8) else 0.0)
    assert model.view_weight_ == 0.0 and model.device_ == "cpu"
    assert model.average_shifts_ == (input_shape == (1, 5, 8))


def test_the_imputer_publishes_only_the_values_it_has_parameters_for():
    X = np.random.RandomState(0).normal(size=(30, 6))
    imputer = SimMIMImputer(**TINY).fit(X)
    # Early stopping holds out 3 of the 30 rows.
    assert imputer.batch_size_ == 27 and imputer.consistency_weight_ == 0.0
    assert imputer.mask_span_ == 1
    assert not hasattr(imputer, "latent_weight_") and not hasattr(imputer, "average_shifts_")


def test_fine_tuned_estimators_publish_their_pretraining_plan():
    X = np.random.RandomState(0).normal(size=(40, 24))
    y = np.tile([0, 1, -1, -1], 10)
    clf = SimMIMClassifier(input_shape=(1, 24), hidden_width=8, pretrain_iter=2, max_iter=3,
                           random_state=0).fit(X, y)
    assert clf.n_components_ == 8 and clf.mask_span_ == 1 and clf.encoder_ == "conv"
    assert clf.pretrain_max_iter_ == 2 == clf.n_pretrain_iter_
    assert clf.pretrain_batch_size_ == 16 and clf.pretrain_latent_weight_ == 1.0
    # Fine-tuning: the 20 labeled rows; on windows the spread labels weigh nothing.
    assert clf.batch_size_ == 20 and clf.max_iter_ == 3 and clf.device_ == "cpu"
    assert clf.unlabeled_weight_ == 0.0
    # Fine-tuning trains the encoder by the task alone: the latent term's teacher is gone.
    assert clf.module_.backbone.teacher is None
    untrained = SimMIMClassifier(input_shape=(1, 24), hidden_width=8, pretrain_iter=0,
                                 max_iter=3, random_state=0).fit(X, y)
    assert untrained.pretrain_max_iter_ == 0 and untrained.module_.backbone.teacher is None


def test_only_networks_trained_by_the_latent_or_view_term_carry_a_teacher():
    X = np.random.RandomState(0).normal(size=(20, 24))
    with_latent = SimMIMTransformer(input_shape=(1, 24), **TINY).fit(X)
    without = SimMIMTransformer(input_shape=(1, 24), latent_weight=0, **TINY).fit(X)
    imputer = SimMIMImputer(input_shape=(1, 24), encoder="conv", **TINY).fit(X)
    assert with_latent.module_.teacher is not None
    assert without.module_.teacher is None and without.module_.latent_head is None
    assert imputer.module_.teacher is None


def test_a_continued_fit_keeps_its_network_when_the_widths_change():
    """transform's width is the fitted network's, not the constructor's."""
    X = np.random.RandomState(0).normal(size=(30, 40))
    model = SimMIMTransformer(input_shape=(1, 40), warm_start=True, **TINY).fit(X)
    width = model.transform(X).shape[1]
    model.set_params(hidden_width=16)
    assert model.transform(X).shape[1] == width
    model.fit(X)  # warm start continues the fitted network
    assert model.transform(X).shape[1] == width
    assert model.get_feature_names_out().shape == (width,)


def test_transform_predict_and_score_leave_the_fitted_model_as_it_is():
    X = np.random.RandomState(0).normal(size=(30, 40))
    model = SimMIMTransformer(input_shape=(1, 40), **TINY).fit(X.astype(np.float32))
    before = {k: v.clone() for k, v in model.module_.state_dict().items()}
    dtypes = {p.dtype for p in model.module_.parameters()}
    state = dict(model.__dict__)
    model.transform(X)  # float64 rows: computed in float64 on a copy
    model.score(X)
    model.set_params(mask_ratio=0.9, device="cpu")
    model.reconstruct(X[:2], random_state=0)
    assert {p.dtype for p in model.module_.parameters()} == dtypes == {torch.float32}
    assert all(torch.equal(before[k], v) for k, v in model.module_.state_dict().items())
    assert model.__dict__.keys() == state.keys()
    assert all(model.__dict__[k] is state[k] for k in state if k not in ("mask_ratio",
                                                                          "device"))


def test_score_follows_the_fitted_parameters_not_the_constructor():
    X = np.random.RandomState(0).normal(size=(30, 10))
    model = SimMIMTransformer(**TINY).fit(X)
    score = model.score(X)
    model.set_params(mask_ratio=0.9, loss="l2")
    assert model.score(X) == score


def test_score_of_windows_measures_the_latent_term_that_trains_their_encoder():
    X = np.random.RandomState(0).normal(size=(30, 40)).cumsum(axis=1)
    model = SimMIMTransformer(input_shape=(1, 40), **TINY).fit(X)
    score = model.score(X)
    with torch.no_grad():
        model.module_.latent_head.weight.mul_(10.0)  # the encoder's latent predictions worsen
    assert model.score(X) < score


def test_reconstruct_hides_spans_as_training_does():
    X = np.random.RandomState(0).normal(size=(30, 256))
    model = SimMIMTransformer(input_shape=(1, 256), patch_size=1, **TINY).fit(X)
    assert model.mask_span_ == 8
    _, hidden = model.reconstruct(X[:5], random_state=0)
    # Hidden entries come in runs of whole spans (shorter only at a row's ends); single
    # hidden tokens at this ratio would make runs of 2 on average.
    runs = [len(run) for row in hidden for run in np.split(row, np.flatnonzero(
        np.diff(row.astype(int))) + 1) if run[0]]
    assert np.mean(runs) > 8


def test_imputer_score_hides_the_missing_values_placeholder():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 6))
    X_nan = X.copy()
    X_nan[rng.rand(*X.shape) < 0.2] = np.nan
    X_placeholder = np.where(np.isnan(X_nan), -1.0, X_nan)
    with_nan = SimMIMImputer(**TINY).fit(X_nan)
    with_placeholder = SimMIMImputer(missing_values=-1.0, **TINY).fit(X_placeholder)
    assert with_placeholder.score(X_placeholder) == pytest.approx(with_nan.score(X_nan))
