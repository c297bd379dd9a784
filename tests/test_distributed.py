"""Data-parallel training (``distributed``): two gloo processes on the CPU, started by
torchrun or by the test with torchrun's environment (``_distributed_worker.py`` is the
script each runs), and the row shares in one process."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from fast_settings import TINY, TINY_NETWORK

from simmim_sklearn import SimMIMClassifier, SimMIMTransformer
from simmim_sklearn._data import ChunkedRows, TensorRows
from simmim_sklearn.nn._parallel import Shard, World

WORKER = Path(__file__).with_name("_distributed_worker.py")
# Far more than the workers need (seconds): a hang fails the test instead of the suite.
TIMEOUT_S = 120


def _environment():
    env = dict(os.environ)
    # The workers import the package from where the tests do, and each computes on one thread.
    package_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = "1"
    return env


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """What both ranks of ``torchrun --nproc_per_node=2`` fitted (scenario "fits"), and the
    directory they wrote to."""
    out = tmp_path_factory.mktemp("distributed")
    X = _worker_module().digits()[0].astype(np.float32)
    np.save(out / "digits.npy", X)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(WORKER), "fits", str(out)]
    completed = subprocess.run(command, env=_environment(), capture_output=True, text=True,
                               timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr[-4000:]
    ranks = [dict(np.load(out / f"rank{rank}.npz")) for rank in range(2)]
    return ranks, out


def _worker_module():
    sys.path.insert(0, str(WORKER.parent))
    try:
        import _distributed_worker
    finally:
        sys.path.pop(0)
    return _distributed_worker


@pytest.mark.parametrize("name", ["transformer", "window", "imputer", "classifier",
                                  "regressor", "partial_fit", "memmap", "tokens_char",
                                  "tokens_bpe", "one_validation_row"])
def test_both_ranks_hold_the_same_model(fitted, name):
    (rank0, rank1), _ = fitted
    np.testing.assert_array_equal(rank0[f"{name}_state"], rank1[f"{name}_state"])


def test_random_state_none_gives_one_model_and_statistics_of_all_rows(fitted):
    (rank0, rank1), _ = fitted
    # The transformer was fitted with random_state=None: rank 0's seed was shared.
    np.testing.assert_array_equal(rank0["transformer_out"], rank1["transformer_out"])
    assert rank0["world_size"] == rank1["world_size"] == 2
    assert rank0["tokens_bpe_world_size"] == 2
    # Each rank scaled its half of the rows; their moments were combined.
    X = _worker_module().digits()[0]
    np.testing.assert_array_equal(rank0["mean"], rank1["mean"])
    np.testing.assert_allclose(rank0["mean"], X.mean(axis=0), atol=1e-10)
    scale = X.std(axis=0)
    np.testing.assert_allclose(rank0["scale"], np.where(scale == 0, 1.0, scale), atol=1e-10)


def test_early_stopping_stops_both_ranks_at_the_same_epoch(fitted):
    (rank0, rank1), _ = fitted
    # tol=1e9 with n_iter_no_change=2: the third epoch stops, far before max_iter=20.
    assert rank0["transformer_n_iter"] == rank1["transformer_n_iter"] == 3
    np.testing.assert_array_equal(rank0["validation_scores"], rank1["validation_scores"])
    np.testing.assert_array_equal(rank0["loss_curve"], rank1["loss_curve"])
    assert rank0["classifier_n_iter"] == rank1["classifier_n_iter"]


def test_two_processes_take_the_steps_of_one_on_the_same_global_batches(fitted):
    (rank0, _), _ = fitted
    X = _worker_module().digits()[0]
    one_process = _worker_module().loop_steps(X, rank=0, size=1)
    assert not np.allclose(one_process, _worker_module().loop_steps(X[::-1].copy(), 0, 1))
    np.testing.assert_allclose(rank0["loop_state"], one_process, rtol=1e-5, atol=1e-6)


def test_model_saved_by_rank_zero_transforms_in_a_plain_process(fitted):
    (rank0, _), out = fitted
    model = joblib.load(out / "transformer.joblib")
    assert model.world_size_ == 2
    X = _worker_module().digits()[0]
    np.testing.assert_allclose(model.transform(X), rank0["transformer_out"], rtol=1e-6)
    # A plain process refits alone.
    assert model.set_params(max_iter=1).fit(X).world_size_ == 1


def test_failed_processes_fail_the_others_with_an_error_naming_them(tmp_path):
    port = _free_port()
    processes = []
    for rank in range(3):
        env = dict(_environment(), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="3",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        processes.append(subprocess.Popen(
            [sys.executable, str(WORKER), "fails", str(tmp_path)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    try:
        codes = [process.wait(timeout=TIMEOUT_S) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert codes == [0, 0, 3], processes[0].stderr.read()[-4000:]
    # Rank 1 raised its own error; rank 0 names both failures.
    assert (tmp_path / "rank1.txt").read_text() == "ValueError: rank 1 cannot read its rows"
    message = (tmp_path / "rank0.txt").read_text()
    assert message.startswith("RuntimeError: Distributed fit failed on rank 0 of 3: ")
    assert "rank 1 raised ValueError: rank 1 cannot read its rows" in message
    assert "rank 2 stopped responding" in message


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("n_rows", [301, 257])
def test_in_memory_shares_cover_every_row_once_in_the_global_batches(size, n_rows):
    # 301 rows in batches of 64 end with a batch of 45; 257 with one of 1 row, fewer than
    # the processes, which joins the batch before.
    X = np.arange(n_rows, dtype=np.float32)[:, None]
    one = TensorRows(X, torch.device("cpu"))
    for epoch in range(2):
        one_process = [row for batch in one.batches(64, torch.Generator().manual_seed(epoch))
                       for row in batch[:, 0].tolist()]
        parts = []
        for rank in range(size):
            shard = Shard(World(rank, size), torch.Generator().manual_seed(epoch))
            rows = TensorRows(X, torch.device("cpu"), shard=shard)
            parts.append([batch[:, 0].tolist() for batch in rows.batches(64, torch.Generator())])
            assert rows.n_batches(64) == len(parts[-1])
            assert all(parts[-1]), "every process has rows in every step"
        assert len({len(part) for part in parts}) == 1
        # Step by step, the processes' parts in rank order are the one-process batches.
        assert [row for step in zip(*parts) for part in step for row in part] == one_process
    assert rows.n_batches(64) == one.n_batches(64) - (n_rows == 257)


@pytest.mark.parametrize("size", [2, 3])
@pytest.mark.parametrize("n_rows", [233, 201])
def test_out_of_core_shares_read_every_row_once_per_epoch(size, n_rows, monkeypatch):
    # 233 rows in chunks of 50: four full chunks and one of 33, in batches of 16; or 201:
    # the last row, fewer than the processes, joins the chunk before.
    monkeypatch.setattr("simmim_sklearn._data.CHUNK_ROWS", 50)
    X = np.arange(n_rows, dtype=np.float32)[:, None]
    seen, n_steps = [], set()
    for rank in range(size):
        shard = Shard(World(rank, size), torch.Generator().manual_seed(1))
        rows = ChunkedRows(X, torch.device("cpu"), shard=shard)
        batches = list(rows.batches(16, torch.Generator().manual_seed(10 + rank)))
        assert all(len(batch) for batch in batches)
        n_steps |= {len(batches), rows.n_batches(16)}
        seen += [int(value) for batch in batches for value in batch[:, 0]]
    assert sorted(seen) == list(range(n_rows))
    assert len(n_steps) == 1


def test_distributed_true_without_other_processes_raises(digits):
    with pytest.raises(ValueError, match="distributed=True needs several processes"):
        SimMIMTransformer(**TINY, distributed=True).fit(digits)


def test_one_process_records_world_size_one(digits):
    assert SimMIMTransformer(**TINY).fit(digits).world_size_ == 1
    y = np.arange(len(digits)) % 2
    assert SimMIMClassifier(**dict(TINY_NETWORK, pretrain_iter=1, max_iter=1)).fit(
        digits, y).world_size_ == 1


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_gpus_hold_the_same_model_with_nccl(tmp_path):
    np.save(tmp_path / "digits.npy", _worker_module().digits()[0].astype(np.float32))
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", str(WORKER), "fits", str(tmp_path)]
    completed = subprocess.run(command, env=_environment(), capture_output=True, text=True,
                               timeout=TIMEOUT_S)
    assert completed.returncode == 0, completed.stderr[-4000:]
    rank0, rank1 = (np.load(tmp_path / f"rank{rank}.npz") for rank in range(2))
    for name in ("transformer", "classifier", "memmap"):
        np.testing.assert_array_equal(rank0[f"{name}_state"], rank1[f"{name}_state"])


def test_children_of_a_torchrun_process_train_alone(monkeypatch):
    # joblib's workers (GridSearchCV(n_jobs=k)) inherit torchrun's variables but are no rank
    # of the job: they must not join its process group.
    from simmim_sklearn._distributed import resolve_world

    for name, value in dict(RANK="1", WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                            MASTER_PORT=str(_free_port())).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("multiprocessing.parent_process", lambda: object())
    assert resolve_world("auto") == World()
    assert resolve_world(False) == World()
    with pytest.raises(ValueError, match="distributed=True needs several processes"):
        resolve_world(True)


def test_every_process_needs_a_row_of_every_batch():
    from simmim_sklearn._plan import Data, _check_shares
    from simmim_sklearn.nn._training import LoopConfig

    def loop(batch_size):
        return LoopConfig(batch_size=batch_size, learning_rate=1e-3, weight_decay=0.0,
                          n_epochs=1, tol=0.0, n_iter_no_change=1, verbose=0)

    world = World(0, 4)
    with pytest.raises(ValueError, match="3 training rows cannot be shared by the 4"):
        _check_shares(loop(3), Data(3, 5), world)
    with pytest.raises(ValueError, match="batch_size=2 is the batch of all 4 processes"):
        _check_shares(loop(2), Data(100, 5), world)
    _check_shares(loop(4), Data(4, 5), world)


def test_mps_is_replaced_by_the_cpu_only_where_auto_chose_it():
    from simmim_sklearn._distributed import training_device

    two = World(0, 2)
    mps = torch.device("mps")
    assert training_device(mps, two, "auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="cannot reach device='mps'"):
        training_device(mps, two, "mps")
    assert training_device(mps, World(), "mps") == mps
