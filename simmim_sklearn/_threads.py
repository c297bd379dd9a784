"""Torch's intra-op threads, chosen for each fit, transform and predict and restored after.

Torch starts with as many threads as the machine has cores and keeps them for the whole
process. Where other work shares the cores (another process, ``GridSearchCV(n_jobs=k)``, a
laptop's browser), its threads wait on each other at every operation: fits on two busy cores
ran 4 to 80 times slower with two threads than with one (``benchmarks/bench_threads.py``).
So the estimators use one thread unless a step's work is large enough to share and the cores
are free, and leave the global setting as they found it.
"""

import math
import os
from contextlib import contextmanager

import joblib
import torch

# Multiply-adds in one training step (or one inference block) below which a second thread
# costs more in synchronisation than it saves.
PARALLEL_WORK = 100_000_000


def work_per_step(n_rows, n_tokens, width, n_blocks):
    """Rough multiply-adds of one pass of ``n_rows`` rows through an encoder of ``n_blocks``
    blocks of ``width`` over ``n_tokens`` vectors per row (each block's two ``width`` x
    ``2 width`` maps; a convolution's three taps cost about as much)."""
    return n_rows * n_tokens * 4 * width * width * max(1, n_blocks)


def auto_threads(work):
    """Threads for ``work`` multiply-adds per step: 1 below ``PARALLEL_WORK``, else one per
    ``PARALLEL_WORK``, within the threads this process may use (torch's current setting,
    which joblib's workers and ``threadpoolctl`` limit, and the CPUs of its affinity and
    cgroup quota) and the cores that the machine's load leaves free."""
    if work < PARALLEL_WORK:
        return 1
    allowed = min(torch.get_num_threads(), joblib.cpu_count())
    return max(1, min(allowed, _free_cores(), math.ceil(work / PARALLEL_WORK)))


def _free_cores():
    """Cores that the 1-minute load average leaves free (all, where it is unknown)."""
    n_cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return n_cores
    return max(1, n_cores - round(load))


@contextmanager
def torch_threads(n_threads):
    """Run the block on ``n_threads`` intra-op threads, then restore torch's setting."""
    previous = torch.get_num_threads()
    if n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
