"""One process of the distributed tests (``test_distributed.py``), started by torchrun or by
the test with torchrun's environment variables: ``python _distributed_worker.py SCENARIO
OUT_DIR``. Each process writes what it fitted to ``OUT_DIR/rank<R>.npz`` (or its error to
``OUT_DIR/rank<R>.txt``) for the test to compare.

Scenarios:

fits
    Every estimator fitted data-parallel (``random_state=None`` for the transformer and
    the token models),
    ``partial_fit`` and a memmap; rank 0 saves the transformer with joblib; and the training
    loop's exact invariant: the loop over 2 processes against the same global batches in one.
fails
    Three processes: in the second epoch rank 1 raises and rank 2 exits; each records the
    error it raised.
"""

import os
import sys
from pathlib import Path

import joblib
import numpy as np
import torch
from sklearn.datasets import load_diabetes, load_digits
from threadpoolctl import threadpool_limits

import simmim_sklearn._distributed as distributed
from simmim_sklearn import (
    SimMIMClassifier,
    SimMIMImputer,
    SimMIMRegressor,
    SimMIMTokenTransformer,
    SimMIMTransformer,
)
from simmim_sklearn.nn import _training

# Tiny models, as tests/fast_settings.py's.
TINY = dict(hidden_width=8, depth=1, max_iter=3)
# 301 rows in batches of 64: the last global batch (45 rows) splits unevenly, 23 and 22.
N_ROWS = 301
BATCH = 64


def digits():
    X, y = load_digits(return_X_y=True)
    return X[:N_ROWS], y[:N_ROWS]


def state(network):
    """A network's weights and buffers, flattened, in a fixed order."""
    return np.concatenate([tensor.detach().double().cpu().numpy().ravel()
                           for tensor in network.state_dict().values()])


def fits(out):
    X, y = digits()
    rank = int(os.environ["RANK"])
    results = {}
    # tol larger than any improvement: early stopping ends the fit after n_iter_no_change
    # epochs, which every process must agree on.
    transformer = SimMIMTransformer(**dict(TINY, max_iter=20), n_components=3,
                                    batch_size=BATCH, early_stopping=True,
                                    n_iter_no_change=2, tol=1e9).fit(X)
    results.update(
        transformer_state=state(transformer.module_), transformer_out=transformer.transform(X),
        transformer_n_iter=transformer.n_iter_, world_size=transformer.world_size_,
        validation_scores=transformer.validation_scores_, loss_curve=transformer.loss_curve_,
        mean=transformer.mean_, scale=transformer.scale_,
    )
    if rank == 0:
        joblib.dump(transformer, out / "transformer.joblib")
    # One validation row: the second process has none to score.
    one_row = SimMIMTransformer(**TINY, n_components=3, early_stopping=True,
                                validation_fraction=0.05, random_state=0).fit(X[:20])
    results["one_validation_row_state"] = state(one_row.module_)
    window = SimMIMTransformer(**TINY, n_components=4, input_shape=(1, 64),
                               random_state=0).fit(X)
    results["window_state"] = state(window.module_)
    X_missing = X.copy()
    X_missing[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    imputer = SimMIMImputer(**TINY, random_state=0).fit(X_missing)
    results["imputer_state"] = state(imputer.module_)
    classifier = SimMIMClassifier(**TINY, pretrain_iter=2, early_stopping=True,
                                  random_state=0).fit(X, y)
    results.update(classifier_state=state(classifier.module_),
                   classifier_n_iter=classifier.n_iter_)
    X_diabetes, y_diabetes = load_diabetes(return_X_y=True)
    regressor = SimMIMRegressor(**TINY, pretrain_iter=2, random_state=0).fit(X_diabetes,
                                                                          y_diabetes)
    results["regressor_state"] = state(regressor.module_)
    streamed = SimMIMTransformer(**TINY, n_components=3, random_state=0)
    for part in np.array_split(X, 3):
        streamed.partial_fit(part)
    results["partial_fit_state"] = state(streamed.module_)
    documents = ["".join("ACGT"[(row + column) % 4 if column % 3 else row % 4]
                         for column in range(12 + row % 5)) for row in range(40)]
    for analyzer in ("char", "bpe"):
        tokens = SimMIMTokenTransformer(analyzer, hidden_width=8, depth=1, max_iter=2,
                                        batch_size=8, early_stopping=True).fit(documents)
        results[f"tokens_{analyzer}_state"] = state(tokens.module_)
        results[f"tokens_{analyzer}_world_size"] = tokens.world_size_
    memmap = np.load(out / "digits.npy", mmap_mode="r")
    from_disk = SimMIMTransformer(**TINY, n_components=3, batch_size=BATCH,
                                  random_state=0).fit(memmap)
    results["memmap_state"] = state(from_disk.module_)
    results["loop_state"] = loop_steps(X, rank, 2)
    np.savez(out / f"rank{rank}.npz", **results)


def loop_steps(X, rank, size):
    """The weights after two epochs of ``fit_epochs`` on a deterministic loss (the whole
    rows' reconstruction error, no mask) in batches of ``BATCH`` rows, over ``size``
    processes of which this is ``rank``: the same in one process and over several, as DDP
    averages the gradients of the global batch."""
    from sklearn.utils import check_random_state

    from simmim_sklearn._base import new_network
    from simmim_sklearn._data import TensorRows
    from simmim_sklearn._plan import Data, make_plan
    from simmim_sklearn.nn._parallel import Shard, World

    params = SimMIMTransformer(**TINY, n_components=3, distributed=False).get_params()
    plan = make_plan(params, Data(len(X), X.shape[1]))
    # One BLAS thread for the PCA start: the test's own process may share busy cores.
    with threadpool_limits(1):
        network, _, _ = new_network(plan.network, X, check_random_state(0))
    world = World(rank, size)
    config = _training.LoopConfig(batch_size=BATCH, learning_rate=1e-2, weight_decay=1e-2,
                                  n_epochs=2, tol=0.0, n_iter_no_change=10, verbose=0,
                                  world=world)
    generator = torch.Generator().manual_seed(0)
    shard = Shard(world, generator) if world.distributed else None
    rows = TensorRows(X, torch.device("cpu"), shard=shard)

    def batch_loss(xb):
        xs = network.standardize(xb)
        error = (network.decode_standardized(network.encode_standardized(xs)) - xs).square()
        return error.sum(), torch.tensor(float(error.numel()))

    _training.fit_epochs(network, list(network.parameters()), config,
                         lambda: rows.batches(BATCH, generator), rows.n_batches(BATCH),
                         batch_loss, torch.device("cpu"))
    return state(network)


def fails(out):
    rank = int(os.environ["RANK"])
    # Long enough for rank 1 to record its error on a busy machine; rank 2 never answers.
    distributed.REPORT_WAIT_S = 4.0
    run_epoch = _training._EpochSteps.run_epoch
    epochs = []

    def failing_epoch(steps, batches, batch_loss):
        epochs.append(None)
        if len(epochs) == 2 and rank == 1:
            raise ValueError("rank 1 cannot read its rows")
        if len(epochs) == 2 and rank == 2:
            os._exit(3)
        return run_epoch(steps, batches, batch_loss)

    _training._EpochSteps.run_epoch = failing_epoch
    X, _ = digits()
    try:
        SimMIMTransformer(**dict(TINY, max_iter=5), random_state=0).fit(X)
    except Exception as error:  # noqa: BLE001 - the test reads what each process raised
        (out / f"rank{rank}.txt").write_text(f"{type(error).__name__}: {error}")
        return
    (out / f"rank{rank}.txt").write_text("no error")


if __name__ == "__main__":
    torch.set_num_threads(1)
    {"fits": fits, "fails": fails}[sys.argv[1]](Path(sys.argv[2]))
