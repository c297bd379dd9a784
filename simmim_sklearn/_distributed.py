"""One model trained by several processes (``torchrun``, a SLURM job): the estimators'
``distributed`` parameter.

Where the environment says that this process is one of several (``torchrun`` sets ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``) or a process group already exists, a fit
trains one model together with the other processes: this module finds the process group
(initialising it if need be: NCCL for CUDA tensors, gloo for CPU ones), agrees on the seed
and on the statistics fitted from the data, and turns a failure in one process into a clear
error in the others. The training loop's part is ``nn._parallel``. All communication is
torch.distributed's.
"""

import atexit
import hashlib
import multiprocessing
import os
import time
from contextlib import contextmanager

import numpy as np
import torch
import torch.distributed as dist
from sklearn.preprocessing._data import _handle_zeros_in_scale, _is_constant_feature
from sklearn.utils import check_random_state

from .nn._parallel import SINGLE, Shard, World

# The variables through which torchrun (and a SLURM script that sets them) describes the
# processes of a job: the default ("env://") way to initialise a process group.
_ENVIRONMENT = ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
# After a collective fails, how long a process waits for the others to say whether they
# are alive, before naming those that did not answer.
REPORT_WAIT_S = 10.0
_fits = 0


def resolve_world(distributed):
    """The processes that a fit with ``distributed`` trains with: this process alone where
    ``distributed`` is False or nothing says there are others; otherwise the default process
    group, initialised from the environment where torchrun started this process and none
    exists.

    Raises
    ------
    ValueError
        ``distributed=True`` without a process group or torchrun's environment.
    """
    if distributed is False or not dist.is_available():
        world = SINGLE
    elif dist.is_initialized():
        world = World(dist.get_rank(), dist.get_world_size())
    elif _started_by_launcher():
        _initialise_group()
        world = World(dist.get_rank(), dist.get_world_size())
    else:
        world = SINGLE
    if distributed is True and not world.distributed:
        raise ValueError(
            "distributed=True needs several processes: start the script with torchrun "
            "(torchrun --nproc_per_node=N script.py) or initialise a process group of more "
            "than one process first; distributed='auto' trains alone where there is none."
        )
    return world


def _started_by_launcher():
    """Whether torchrun's environment describes this very process: it says there are several
    and this process is not a child of one of them (joblib's workers of ``GridSearchCV(n_jobs=k)``
    inherit the variables but are no rank of the job: they train alone)."""
    return (int(os.environ.get("WORLD_SIZE", "1")) > 1
            and all(os.environ.get(name) for name in _ENVIRONMENT)
            and multiprocessing.parent_process() is None)


def _initialise_group():
    """The default process group of torchrun's environment, with its default timeout:
    NCCL for CUDA tensors and gloo for CPU ones. Each process computes on the GPU of its
    ``LOCAL_RANK``."""
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend, init_method="env://")
    # A group left open at exit makes NCCL warn of leaked resources.
    atexit.register(_destroy_group)


def _destroy_group():
    if dist.is_initialized():
        dist.destroy_process_group()


def training_device(device, world, requested):
    """The device a process of ``world`` trains on, ``device`` resolved from the ``device``
    parameter ``requested``: with CUDA and no index, the process's own GPU (the current one,
    set from ``LOCAL_RANK``), which DDP needs by index; the CPU for ``"auto"`` where it found
    MPS, which torch.distributed does not reach.

    Raises
    ------
    ValueError
        For ``device="mps"`` asked for by name.
    """
    if not world.distributed:
        return device
    if device.type == "mps" and requested == "auto":
        return torch.device("cpu")
    if device.type == "mps":
        raise ValueError(
            "distributed training runs on CUDA or on the CPU; torch.distributed cannot reach "
            "device='mps'. Set device='cpu' or distributed=False."
        )
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def shared_random_state(random_state, world):
    """``check_random_state(random_state)``, or over several processes a RandomState seeded
    by a draw from rank 0's: every process then draws the same seeds, the same validation
    split and the same initial weights, also with ``random_state=None``."""
    rng = check_random_state(random_state)
    if not world.distributed:
        return rng
    seed = [int(rng.randint(2**31 - 1)) if world.rank == 0 else None]
    dist.broadcast_object_list(seed, src=0)
    return np.random.RandomState(seed[0])


def from_rank_zero(value, world):
    """``value`` (any picklable object) as rank 0 has it, in every process."""
    if not world.distributed:
        return value
    holder = [value if world.rank == 0 else None]
    dist.broadcast_object_list(holder, src=0)
    return holder[0]


def shards(seed, world, device):
    """A training loop's ``Shard`` (None for one process), whose generator, seeded by
    ``seed`` in every process, orders the rows alike, and the generator of this process's
    own draws (masks, shuffles within a chunk): seeded by ``seed`` and the rank, so that the
    processes hide different tokens. One process draws everything from one generator, as
    before."""
    generator = torch.Generator(device=device).manual_seed(seed)
    if not world.distributed:
        return None, generator
    own_seed = int(np.random.SeedSequence((seed, world.rank)).generate_state(1)[0])
    return Shard(world, generator), torch.Generator(device=device).manual_seed(own_seed)


def check_same_data(X, world):
    """Raise a ValueError unless every process was given the same ``X`` (its shape and its
    first and last rows): each process trains on its share of the same rows."""
    if not world.distributed:
        return
    mine = (tuple(X.shape), _fingerprint(X))
    every = [None] * world.size
    dist.all_gather_object(every, mine)
    if any(other != mine for other in every):
        shapes = ", ".join(f"rank {rank}: {shape}" for rank, (shape, _) in enumerate(every))
        raise ValueError(
            "Every process of a distributed fit must be given the same X (the whole data "
            "set: each process reads its own share of the rows); the processes got different "
            f"arrays ({shapes}). Pass the same array or file in every process, or set "
            "distributed=False to fit an independent model in each."
        )


def _fingerprint(X):
    if len(X) == 0:
        return ""
    ends = np.concatenate([np.asarray(X[:1]), np.asarray(X[-1:])])
    if ends.dtype.kind in "OSU":  # documents of token sequences
        return hashlib.sha1(repr(ends.tolist()).encode()).hexdigest()
    return hashlib.sha1(np.ascontiguousarray(ends, dtype=np.float64).tobytes()).hexdigest()


def combined_moments(count, mean, var, world):
    """The mean and standard deviation (scikit-learn's ``StandardScaler.scale_``, constant
    features at 1) of all processes' rows from each process's ``count`` (per feature or one
    number), ``mean`` and ``var`` of its own share."""
    every = [None] * world.size
    dist.all_gather_object(every, (count, mean, var))
    counts = np.array([np.broadcast_to(c, np.shape(m)) for c, m, _ in every], dtype=np.float64)
    means = np.array([m for _, m, _ in every], dtype=np.float64)
    variances = np.array([v for _, _, v in every], dtype=np.float64)
    # A process whose share has no observed value of a feature adds nothing to it (its
    # mean and variance there are NaN).
    seen = counts > 0
    total = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(seen, counts * means, 0.0).sum(axis=0) / total
        var = np.where(seen, counts * (variances + (means - mean) ** 2), 0.0).sum(axis=0) / total
    constant = _is_constant_feature(var, mean, total)
    return mean, _handle_zeros_in_scale(np.sqrt(var), copy=False, constant_mask=constant)


@contextmanager
def failures_reported(world):
    """Run a fit of ``world``'s processes so that a failure names the process that failed.

    A process whose own code raises records its error in the process group's store and
    raises it. A process whose communication fails (a peer died, raised or hangs past the
    group's timeout) asks the store which processes are still alive and raises a
    RuntimeError naming those that failed, with their error where they recorded one.
    """
    global _fits
    if not world.distributed:
        yield
        return
    _fits += 1
    # Every process fits the same estimators in the same order, so the count names this fit
    # alike in all of them; the restart count keeps torchrun's restarts apart.
    prefix = f"simmim_sklearn/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}/{_fits}"
    try:
        yield
    except Exception as error:
        if not _is_communication_error(error):
            _record(f"{prefix}/failed/{world.rank}", f"{type(error).__name__}: {error}")
            raise
        raise RuntimeError(_diagnosis(prefix, world, error)) from error


def _is_communication_error(error):
    if isinstance(error, dist.DistError):
        return True
    # gloo's and NCCL's failures inside DDP's backward pass reach Python as RuntimeErrors.
    text = str(error)
    return isinstance(error, RuntimeError) and any(
        word in text for word in ("gloo", "Gloo", "NCCL", "Connection closed", "Timed out",
                                  "timed out", "Connection reset", "Broken pipe"))


def _record(key, value):
    try:
        dist.distributed_c10d._get_default_store().set(key, value)
    except Exception:  # noqa: BLE001 - the store is gone: there is no one left to tell
        pass


def _diagnosis(prefix, world, error):
    """What a process whose communication failed can say of the others: which recorded an
    error, which answered alive, which stayed silent for ``REPORT_WAIT_S`` seconds."""
    head = f"Distributed fit failed on rank {world.rank} of {world.size}"
    others = [rank for rank in range(world.size) if rank != world.rank]
    failed, silent = {}, set(others)
    try:
        store = dist.distributed_c10d._get_default_store()
        store.set(f"{prefix}/alive/{world.rank}", "1")
        deadline = time.monotonic() + REPORT_WAIT_S
        while silent and time.monotonic() < deadline:
            for rank in sorted(silent):
                if store.check([f"{prefix}/failed/{rank}"]):
                    failed[rank] = store.get(f"{prefix}/failed/{rank}").decode()
                    silent.discard(rank)
                elif store.check([f"{prefix}/alive/{rank}"]):
                    silent.discard(rank)
            time.sleep(0.1)
    except Exception:  # noqa: BLE001 - the store's host (rank 0 without torchrun) is gone
        return (f"{head}: lost contact with the other processes and with the rendezvous "
                f"store; rank 0, which hosts it, has probably failed. Cause: {error}")
    reasons = [f"rank {rank} raised {message}" for rank, message in sorted(failed.items())]
    if silent:
        reasons.append(
            f"rank {', '.join(map(str, sorted(silent)))} stopped responding (the process died "
            f"or hangs; see its own output)")
    if not reasons:
        reasons.append("a collective operation failed")
    return f"{head}: {'; '.join(reasons)}. Cause: {error}"
