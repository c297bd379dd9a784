"""How SimMIMTransformer's defaults for windows ``(C, L)`` were chosen: on the *training*
split of each time-series set bundled with aeon, the representation is fitted on the whole
training split (no labels) and probed by 5-fold stratified cross-validation of
StandardScaler + LogisticRegression and of StandardScaler + RBF SVM (C chosen by an inner
3-fold CV), so no test split is ever looked at.

Variants: how windows are standardised (per position, as tabular features, or per channel)
and how the representation is split between components with a PCA-started linear path
("linear": a linear map of the values plus the encoder's correction) and components that
are the encoder's pooled features alone ("encoder"). The first row is the layout before
(``n_components=16``, all linear, per position). The rows named "8 + 56, ..." change one
thing of the chosen layout: how the conv encoder pools its tokens (after every block, or
with the standard deviation too), its depth, the mask ratio, the learning rate, the cap on
epochs (small sets stop there before the token budget) or the patch length. These first-round
rows run with the first round's architecture: patches of about half the square root of the
window's length and 2 conv blocks (their figures were measured when the token budget counted
tokens only, which changes nothing at depth 2; "depth 3" would now train fewer steps).

The second round ("fine patches, ...") runs the package's current defaults: windows cut into
at most 128 tokens, one conv block per doubling of the dilation until the dilations span the
window (at most 6), and as many encoder components as the encoder pools (256), against the
same with depth 2, with 56 encoder components, and trained for one epoch only. The third
round adds ``consistency_weight=1`` (the default on images) to the defaults. The fourth round
is inductive: every round before it probes rows the transformer was fitted on, whereas the
benchmark maps test rows the transformer never saw; here each of the 5 folds fits its own
transformer (and MiniRocket) on the other 4 and probes the held-out fold, for the defaults, the
second round's alternatives (depth 2; 56 encoder components) and 10, 5 and 1 training epochs.
The fifth round adds one row to the inductive table: ``average_shifts=True``, the images'
default, which averages each window's representation with those of its copies shifted by one
time step either way. The sixth round adds another: ``block_features=True``, which appends to
the representation the max over the window of every encoder block's output (one receptive
field per block). The seventh round trains the defaults with SimMIM's own masking, whose
hidden patches are larger than its tokens: window tokens are hidden in spans of an eighth of
the window (about ``mask_ratio`` of them), so that a hidden token is rarely next to a visible
one and cannot be filled in from its neighbours alone. The eighth round regularises the
training instead: AdamW's weight decay 0.5 in place of 0.05, and batches of 16 windows in
place of whole small training splits (the same token budget spent in more, noisier steps); it also
trains with SimMIM's loss alone, every row masked and only the hidden tokens scored, in place of
the defaults' half of the rows left whole and visible tokens scored at half weight.
MiniRocket (aeon) under the same cross-validation is the reference row of the finalists'
tables. Unequal-length sets are padded with NaN. Run from the repository root with the ``bench``
extra: ``python benchmarks/tune_window_defaults.py`` (runs already stored in
``/tmp/tune_window_defaults_partial.json`` are reused, so an interrupted run resumes).
Writes ``benchmarks/results/tune_window_defaults.json`` and ``.md``.
"""

import json
import math
import sys
import warnings
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from aeon.datasets import (
    load_arrow_head,
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
    load_osuleaf,
    load_pickup_gesture_wiimoteZ,
    load_unit_test,
)
from aeon.transformations.collection.convolution_based import MiniRocket
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

sys.path.insert(0, str(Path(__file__).parent))
from _results import write_results  # noqa: E402

import simmim_sklearn._base as base  # noqa: E402
from simmim_sklearn import SimMIMTransformer  # noqa: E402
from simmim_sklearn._layout import resolve_patch_size  # noqa: E402
from simmim_sklearn.nn import _encoders, _training  # noqa: E402
from simmim_sklearn.nn._masking import random_token_mask  # noqa: E402

SCREENING_SEED = 0
# The best variants of the screening (seed 0) and the layout before, over more seeds.
FINALISTS = ("per position, 16 linear (before)", "per channel, 16 linear + 48 encoder",
             "per channel, 16 linear + 240 encoder", "per channel, 8 linear + 56 encoder",
             "per channel, 8 linear + 248 encoder", "8 + 56, learning rate 3e-3",
             "fine patches, deep, 8 + 256 (defaults)", "fine patches, deep, 8 + 56",
             "fine patches, depth 2, 8 + 256", "fine patches, deep, 8 + 256, one epoch",
             "fine patches, deep, 8 + 256, consistency_weight=1")
FINAL_SEEDS = (0, 1)
SETS = {
    "GunPoint": load_gunpoint, "ItalyPowerDemand": load_italy_power_demand,
    "ArrowHead": load_arrow_head, "BasicMotions": load_basic_motions,
    "UnitTest": load_unit_test, "OSULeaf": load_osuleaf,
    "JapaneseVowels": load_japanese_vowels, "PickupGestureWiimoteZ": load_pickup_gesture_wiimoteZ,
}


class BlockPooledConvEncoder(_encoders.ConvEncoder):
    """Mean and max of every block's output, concatenated (several receptive fields)."""

    def __init__(self, grid, token_dim, width, depth):
        super().__init__(grid, token_dim, width, depth)
        self.block_norms = torch.nn.ModuleList(torch.nn.LayerNorm(width) for _ in range(depth))
        self.out_features = 2 * width * depth

    def forward(self, tokens, hidden, missing):
        _, *outputs = self.hidden_states(tokens, hidden, missing)
        return torch.cat([_encoders.pool_present(norm(h), missing)
                          for norm, h in zip(self.block_norms, outputs)], dim=1)


class StdPooledConvEncoder(_encoders.ConvEncoder):
    """Mean, max and standard deviation over the present tokens."""

    def __init__(self, grid, token_dim, width, depth):
        super().__init__(grid, token_dim, width, depth)
        self.out_features = 3 * width

    def forward(self, tokens, hidden, missing):
        *_, h = self.hidden_states(tokens, hidden, missing)
        h = self.norm(h)
        present = (~missing).unsqueeze(-1).to(tokens.dtype)
        count = present.sum(dim=1).clamp(min=1)
        mean = (h * present).sum(dim=1) / count
        std = ((((h - mean.unsqueeze(1)) * present) ** 2).sum(dim=1) / count).sqrt()
        return torch.cat([_encoders.pool_present(h, missing), std], dim=1)


def previous_patches(patch_size, shape, tabular):
    """The window patches of the first round: about half the square root of the length."""
    if patch_size == "auto" and not tabular and len(shape) == 2:
        return (max(1, round(math.sqrt(shape[1]) / 2)),)
    return resolve_patch_size(patch_size, shape, tabular)


def half_patches(patch_size, shape, tabular):
    """Patches half as long as the first round's "auto" made them (twice the tokens)."""
    return tuple(max(1, round(p / 2)) for p in previous_patches(patch_size, shape, tabular))


SCALING = base._scaling
# How the conv encoder pools its tokens (None: the package's own ConvEncoder).
CONV_VARIANTS = {None: None, "blocks": BlockPooledConvEncoder, "std": StdPooledConvEncoder}
# Each variant: (per-channel scaling, linear components, encoder-only components (None: as
# many as the encoder pools)[, conv pooling (a CONV_VARIANTS key), other SimMIMTransformer
# parameters, other constants of simmim_sklearn._base]).
VARIANTS = {
    "per position, 16 linear (before)": (False, 16, 0),
    "per channel, 16 linear": (True, 16, 0),
    "per position, 16 linear + 48 encoder": (False, 16, 48),
    "per channel, 16 linear + 48 encoder": (True, 16, 48),
    "per channel, 16 linear + 112 encoder": (True, 16, 112),
    "per channel, 16 linear + 240 encoder": (True, 16, 240),
    "per channel, 8 linear + 8 encoder": (True, 8, 8),
    "per channel, 8 linear + 56 encoder": (True, 8, 56),
    "per position, 8 linear + 56 encoder": (False, 8, 56),
    "per channel, 4 linear + 60 encoder": (True, 4, 60),
    "per channel, 8 linear + 120 encoder": (True, 8, 120),
    "per channel, 8 linear + 248 encoder": (True, 8, 248),
    "8 + 56, pooled after every block": (True, 8, 56, "blocks", {}),
    "8 + 56, mean + max + std pooling": (True, 8, 56, "std", {}),
    "8 + 56, depth 3": (True, 8, 56, None, {"depth": 3}),
    "8 + 56, depth 3, pooled after every block": (True, 8, 56, "blocks", {"depth": 3}),
    "8 + 56, mask ratio 0.75": (True, 8, 56, None, {"mask_ratio": 0.75}),
    "8 + 56, mask ratio 0.3": (True, 8, 56, None, {"mask_ratio": 0.3}),
    "8 + 56, learning rate 3e-3": (True, 8, 56, None, {"learning_rate_init": 3e-3}),
    "8 + 56, at most 2000 epochs": (True, 8, 56, None, {}, {"AUTO_MAX_EPOCHS": 2000}),
    "8 + 56, patches half as long": (True, 8, 56, None, {},
                                     {"resolve_patch_size": half_patches}),
}
# Second round, on the package's current code (first-round variants are run with the
# first round's patches and depth 2): windows cut into at most 128 tokens, as many conv
# blocks as it takes the dilations to span them (at most 6), and as many encoder
# components as the encoder pools.
ROUND_2 = {
    "fine patches, deep, 8 + 256 (defaults)": (True, 8, None),
    "fine patches, deep, 8 + 56": (True, 8, 56),
    "fine patches, depth 2, 8 + 256": (True, 8, None, None, {"depth": 2}),
    "fine patches, deep, 8 + 256, one epoch": (True, 8, None, None, {"max_iter": 1}),
    # Third round: the consistency term that images use by default.
    "fine patches, deep, 8 + 256, consistency_weight=1":
        (True, 8, None, None, {"consistency_weight": 1.0}),
}
VARIANTS.update(ROUND_2)
# Fourth round, inductive: the rounds above probe rows the transformer was fitted on, which
# flatters a model that fits its few training rows closely; here each fold's transformer is
# fitted on the other folds only, as in the benchmark.
ROUND_4 = {
    "defaults": {},
    "depth 2": {"depth": 2},
    "8 + 56": {"n_components": 64},
    "10 epochs": {"max_iter": 10},
    "5 epochs": {"max_iter": 5},
    "one epoch": {"max_iter": 1},
    # Fifth round: transform averaged over one-step shifts, as images do by default.
    "average_shifts=True": {"average_shifts": True},
    # Sixth round: every encoder block's maxima appended to the representation.
    "block_features=True": {"block_features": True},
    # Seventh round: SimMIM's mask patches larger than its tokens (span_token_mask).
    "masked in spans of 1/8 window": {},
    # Eighth round: regularisation by stronger weight decay, or by smaller (noisier) batches,
    # and SimMIM's loss alone (every row masked, only hidden tokens scored).
    "weight_decay=0.5": {"weight_decay": 0.5},
    "batch_size=16": {"batch_size": 16},
    "unmasked_fraction=0, visible_loss_weight=0":
        {"unmasked_fraction": 0.0, "visible_loss_weight": 0.0},
}
ROUND_4_SEEDS = (0, 1)
# Window tokens hidden in spans of this fraction of the window in the seventh round.
SPAN_FRACTION = 1 / 8


def span_token_mask(unavailable, mask_ratio, generator, unmasked_fraction=0.0):
    """``random_token_mask`` over spans of ``SPAN_FRACTION`` of a window's tokens in place of
    single tokens, the spans starting at a random offset in each row: as SimMIM hides image
    patches larger than its tokens, so that a hidden token is rarely next to a visible one."""
    n_rows, n_tokens = unavailable.shape
    span = max(1, round(n_tokens * SPAN_FRACTION))
    offset = torch.randint(0, span, (n_rows, 1), generator=generator, device=unavailable.device)
    span_of_token = (torch.arange(n_tokens, device=unavailable.device) + offset) // span
    n_spans = (n_tokens - 1) // span + 2
    span_unavailable = torch.ones((n_rows, n_spans), dtype=torch.bool, device=unavailable.device)
    span_unavailable.scatter_reduce_(1, span_of_token, unavailable, reduce="amin")
    hidden_spans = random_token_mask(span_unavailable, mask_ratio, generator, unmasked_fraction)
    return hidden_spans.gather(1, span_of_token) & ~unavailable


# Round 4 variants that train with another masking than the package's.
ROUND_4_MASKING = {"masked in spans of 1/8 window": span_token_mask}
INDUCTIVE = "inductive: "
# The first round's architecture, restored for its variants.
PREVIOUS_ARCHITECTURE = {"resolve_patch_size": previous_patches, "WINDOW_MAX_DEPTH": 2}
REFERENCE = "MiniRocket (aeon), reference"
# Partial results, so that variants can be run one process at a time.
PARTIAL = Path("/tmp") / "tune_window_defaults_partial.json"


def padded(loader):
    """Load a training split as (n, C, L), padding unequal lengths with NaN."""
    X, y = loader(split="train")
    if isinstance(X, np.ndarray):
        return X, y
    length = max(x.shape[1] for x in X)
    out = np.full((len(X), X[0].shape[0], length), np.nan)
    for i, x in enumerate(X):
        out[i, :, : x.shape[1]] = x
    return out, y


def probes():
    """StandardScaler + LogisticRegression, and StandardScaler + RBF SVM with C by inner CV."""
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    svm = GridSearchCV(make_pipeline(StandardScaler(), SVC()), {"svc__C": np.logspace(-2, 3, 6)},
                       cv=StratifiedKFold(3, shuffle=True, random_state=1))
    return logistic, svm


def outer_folds():
    return StratifiedKFold(5, shuffle=True, random_state=0)


def cv_accuracies(Z, y):
    return tuple(cross_val_score(probe, Z, y, cv=outer_folds()).mean() for probe in probes())


def inductive_accuracies(X3, y, fitted_transformer):
    """(logistic, SVM) accuracy on each held-out fold, its representation mapped by a
    transformer fitted on the other folds only, as the benchmark's test rows are mapped by a
    model that never saw them. ``fitted_transformer(X3_train)`` returns a function from
    windows to their representation."""
    scores = []
    for train, held_out in outer_folds().split(X3, y):
        represent = fitted_transformer(X3[train])
        Z_train, Z_held_out = represent(X3[train]), represent(X3[held_out])
        scores.append([probe.fit(Z_train, y[train]).score(Z_held_out, y[held_out])
                       for probe in probes()])
    return [float(v) for v in np.mean(scores, axis=0)]


def fitted_simmim(params, seed):
    def fit(X3):
        model = SimMIMTransformer(input_shape=X3.shape[1:], random_state=seed, **params)
        model.fit(X3.reshape(len(X3), -1))
        return lambda windows: model.transform(windows.reshape(len(windows), -1))
    return fit


def fitted_minirocket(X3):
    model = MiniRocket(random_state=0).fit(np.nan_to_num(X3))
    return lambda windows: model.transform(np.nan_to_num(windows))


def minirocket_scores(data):
    """The reference: MiniRocket's features under the same cross-validation (NaN padding of
    unequal-length sets replaced by zeros, which MiniRocket needs)."""
    scores = {}
    for name, (X3, y) in data.items():
        features = MiniRocket(random_state=0).fit_transform(np.nan_to_num(X3))
        scores[name] = [float(v) for v in cv_accuracies(features, y)]
    return scores


def per_position_scaling(X, channels):
    """The scaling windows had before: every position on its own, as tabular features."""
    return SCALING(X, channels=None)


def run_variant(variant, seed, data):
    """(logistic, SVM) CV accuracy of one variant and seed on each set."""
    settings = VARIANTS[variant]
    per_channel, n_linear, n_encoder, pooling, params, constants = (
        *settings, *(None, {}, {})[len(settings) - 3:])
    conv = CONV_VARIANTS[pooling] or _encoders.ConvEncoder
    scores = {}
    for name, (X3, y) in data.items():
        with ExitStack() as patches:
            if not per_channel:
                patches.enter_context(mock.patch.object(base, "_scaling", per_position_scaling))
            previous = {} if variant in ROUND_2 else PREVIOUS_ARCHITECTURE
            for constant, value in (("WINDOW_LINEAR_COMPONENTS", n_linear),
                                    *{**previous, **constants}.items()):
                patches.enter_context(mock.patch.object(base, constant, value))
            patches.enter_context(mock.patch.dict(_encoders.ENCODERS, conv=conv))
            # An explicit width keeps min(width, WINDOW_LINEAR_COMPONENTS) linear components:
            # the same split as "auto" with n_encoder encoder components.
            width = {} if n_encoder is None else {"n_components": n_linear + n_encoder}
            model = SimMIMTransformer(input_shape=X3.shape[1:], random_state=seed,
                                      **width, **params)
            Z = model.fit_transform(X3.reshape(len(X3), -1))
        scores[name] = [float(v) for v in cv_accuracies(Z, y)]
        print(variant, seed, name, np.round(scores[name], 3), flush=True)
    return scores


def table(done, variants, seeds, probe):
    rows = []
    for variant in variants:
        row = {"variant": variant}
        for name in SETS:
            row[name] = float(np.mean([done[variant][str(s)][name][probe] for s in seeds]))
        row["mean"] = float(np.mean([row[name] for name in SETS]))
        rows.append(row)
    return rows


def main():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)  # aeon's deprecated loaders
    data = {name: padded(loader) for name, loader in SETS.items()}
    done = json.loads(PARTIAL.read_text()) if PARTIAL.exists() else {}
    runs = [(v, SCREENING_SEED) for v in VARIANTS]
    runs += [(v, s) for v in FINALISTS for s in FINAL_SEEDS]
    for variant, seed in runs:
        if str(seed) not in done.get(variant, {}):
            done.setdefault(variant, {})[str(seed)] = run_variant(variant, seed, data)
            PARTIAL.write_text(json.dumps(done))
    if REFERENCE not in done:
        scores = minirocket_scores(data)
        done[REFERENCE] = {str(s): scores for s in FINAL_SEEDS}
        PARTIAL.write_text(json.dumps(done))
    for variant, seed in [(v, s) for v in ROUND_4 for s in ROUND_4_SEEDS]:
        key = INDUCTIVE + variant
        if str(seed) not in done.get(key, {}):
            masking = ROUND_4_MASKING.get(variant, random_token_mask)
            with mock.patch.object(_training, "random_token_mask", masking):
                done.setdefault(key, {})[str(seed)] = {
                    name: inductive_accuracies(X3, y, fitted_simmim(ROUND_4[variant], seed))
                    for name, (X3, y) in data.items()
                }
            PARTIAL.write_text(json.dumps(done))
    if INDUCTIVE + REFERENCE not in done:
        scores = {name: inductive_accuracies(X3, y, fitted_minirocket)
                  for name, (X3, y) in data.items()}
        done[INDUCTIVE + REFERENCE] = {str(s): scores for s in ROUND_4_SEEDS}
        PARTIAL.write_text(json.dumps(done))
    probe_columns = {"LogisticRegression": 0, "RBF SVM": 1}
    tables = {}
    for probe, column in probe_columns.items():
        tables[f"Screening (seed {SCREENING_SEED}): {probe}, 5-fold CV accuracy on the "
               "training split"] = table(done, VARIANTS, (SCREENING_SEED,), column)
    for probe, column in probe_columns.items():
        tables[f"Finalists, mean over seeds {FINAL_SEEDS}: {probe}, 5-fold CV accuracy on "
               "the training split"] = table(done, (*FINALISTS, REFERENCE), FINAL_SEEDS, column)
    round_4 = [INDUCTIVE + v for v in (*ROUND_4, REFERENCE)]
    for probe, column in probe_columns.items():
        tables[f"Fourth round, inductive, mean over seeds {ROUND_4_SEEDS}: {probe}, accuracy "
               "on held-out folds of the training split"] = table(
            done, round_4, ROUND_4_SEEDS, column)
    write_results(
        "tune_window_defaults", tables,
        notes="SimMIMTransformer defaults otherwise (n_components='auto' is linear + encoder "
              "components). Training splits only; no test split is loaded. "
              "No '8 + 56, ...' change of the first round beat '8 linear + 56 encoder' on "
              "both probes by more than seed noise. The second round's 'fine patches, deep, "
              "8 + 256' beat it on both probes and both seeds, and is the default now; "
              "its depth and its 256 encoder components each matter (depth 2 or 56 "
              "components lose most of the gain), while the training itself adds little "
              "to these probes (one epoch scores the same). The third round's consistency "
              "term (consistency_weight=1, the images' default) lowered the mean of both "
              "probes over the two seeds, most on seed 0, so windows keep "
              "consistency_weight=0. The fourth round is inductive (each fold's "
              "transformer fitted on the other folds only, as in the benchmark): the "
              "defaults score 0.890 (logistic) and 0.914 (SVM), ahead of depth 2 (0.866 / "
              "0.878) and of 56 encoder components (0.877 / 0.894) here too; 10, 5 and 1 "
              "epochs raise "
              "the logistic mean by about 0.01 and lower the SVM's by about as much, so "
              "the defaults stay. ArrowHead under the defaults scores 0.696 / 0.754 with "
              "seed 0 and 0.811 / 0.893 with seed 1: on its 36 rows the seed moves it more "
              "than any variant does. The fifth round's average_shifts=True (the images' "
              "default) scores 0.883 / 0.913 there, lower with the logistic probe and level "
              "with the SVM, so windows keep it off. The sixth round appends every encoder "
              "block's maxima to the representation (block_features=True): 0.917 / 0.930 "
              "against 0.890 / 0.914, higher with both probes (seed 0: 0.915 / 0.927 against "
              "0.886 / 0.902, seed 1: 0.920 / 0.933 against 0.894 / 0.926), and ArrowHead "
              "0.854 / 0.904 against 0.754 / 0.823 (MiniRocket: 0.868 / 0.893 on ArrowHead, "
              "0.936 / 0.940 over the 8 sets). It stays off by default because it made Ridge "
              "forecasts from windows worse on 3 of the 4 forecasting series' training "
              "parts, with and without raw lags beside it (tune_window_forecasting.py); it "
              "is the setting to classify windows. The seventh round trains with SimMIM's "
              "masking of patches larger than its tokens (spans of an eighth of the "
              "window): 0.905 / 0.908 against 0.890 / 0.914, higher with the logistic probe "
              "and lower with the SVM on both seeds (seed 0: 0.902 / 0.900, seed 1: 0.909 / "
              "0.916), ArrowHead 0.838 / 0.823, so windows keep hiding single tokens. The "
              "rows of rounds 4 and 5 were rerun along with it, so that every inductive row "
              "comes from the same code. The eighth round regularises the training: "
              "weight_decay=0.5 scores 0.906 / 0.911, higher with the logistic probe on both "
              "seeds, lower with the SVM on seed 1 (seed 0: 0.899 / 0.905, seed 1: 0.914 / "
              "0.918), "
              "ArrowHead 0.839 / 0.850; batches of 16 windows score 0.884 / 0.884, lower with "
              "both probes; SimMIM's loss alone (unmasked_fraction=0, visible_loss_weight=0) "
              "scores 0.877 / 0.906, lower with both probes on both seeds. The defaults "
              "stay.",
    )


if __name__ == "__main__":
    main()
