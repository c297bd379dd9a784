"""Speed and memory of SimMIMTransformer next to hand-written torch code and skorch.

1. fit: 50,000 x 64 float32 rows, width 128, depth 2, batch 256, 1 epoch, mask ratio 0.5,
   against a minimal hand-written loop over the same ``SimMIMNetwork`` (same parameters,
   batch size, epochs and masking; no gradient clipping, learning-rate schedule or
   missing-value handling) with torch's default AdamW and with the fused AdamW,
   and against skorch's ``NeuralNet`` training the same module (if skorch is installed);
   with 2 and 1 torch threads. Runs are interleaved (5 repeats, alternating order); the
   fastest of each counts.
2. transform / inverse_transform of 1,000,000 x 64 float32 rows: peak RSS growth (in a
   fresh subprocess) next to the output size, and rows per second next to a plain
   ``inference_mode`` loop over the same module (interleaved repeats, fastest of each).
3. scaling: fit time and peak memory at 10^4, 10^5 and 10^6 rows (1 epoch, batch 1024), each
   in a fresh subprocess, in memory and (10^6) from a ``numpy.memmap``.

Run: ``python benchmarks/bench_speed.py`` (about 3 minutes on 2 idle cores; needs psutil and
matplotlib, skorch optional).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import psutil
import torch
from _results import RESULTS, write_results

from simmim_sklearn import SimMIMTransformer
from simmim_sklearn.nn._masking import random_token_mask
from simmim_sklearn.nn._network import SimMIMNetwork

N_FEATURES, WIDTH, DEPTH, N_COMPONENTS, BATCH = 64, 128, 2, 16, 256
MASK_RATIO, UNMASKED_FRACTION = 0.5, 0.5  # SimMIMTransformer's defaults
FIT_ROWS, FIT_EPOCHS, REPEATS = 50_000, 1, 5
SCALING_BATCH = 1024
TRANSFORM_ROWS, INFERENCE_BATCH, TRANSFORM_REPEATS = 1_000_000, 4096, 6
MIB = 2**20
NO_MISSING = torch.zeros((BATCH, N_FEATURES), dtype=torch.bool)


def make_rows(n_rows, seed=0):
    # Generated in float32 directly: no float64 temporary inflates the memory baseline.
    return np.random.default_rng(seed).standard_normal((n_rows, N_FEATURES), dtype=np.float32)


def ours(X):
    # As many threads as the plain loops it is timed against.
    model = SimMIMTransformer(
        n_components=N_COMPONENTS, hidden_width=WIDTH, depth=DEPTH, max_iter=FIT_EPOCHS,
        batch_size=BATCH, mask_ratio=MASK_RATIO, n_threads=torch.get_num_threads(),
        random_state=0,
    )
    return model.fit(X)


def new_network(X):
    torch.manual_seed(0)
    return SimMIMNetwork((1, N_FEATURES), (1,), "mlp", N_COMPONENTS, WIDTH, DEPTH,
                         X.mean(axis=0), X.std(axis=0))


def masked_l1(network, xb):
    """The loss a minimal loop would write: L1 on standardised rows, hidden entries weigh 1,
    visible ones 0.5, hidden by the same masking as ours (half of each row's features, in
    a random half of the rows); no missing-value handling, as the data has none."""
    xs = network.standardize(xb)
    hide = random_token_mask(NO_MISSING[: len(xs)], MASK_RATIO, None, UNMASKED_FRACTION)
    reconstruction = network.decode_standardized(network.encode_standardized(xs, hide))
    return ((reconstruction - xs).abs() * torch.where(hide, 1.0, 0.5)).mean()


def plain_loop(X, fused=False):
    network = new_network(X)
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-3, weight_decay=0.05,
                                  fused=fused or None)
    X_tensor = torch.from_numpy(X)
    network.train()
    for _ in range(FIT_EPOCHS):
        order = torch.randperm(len(X_tensor))
        for start in range(0, len(X_tensor), BATCH):
            loss = masked_l1(network, X_tensor[order[start:start + BATCH]])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return network


def skorch_fit(X):
    from skorch import NeuralNet

    class MaskedReconstruction(torch.nn.Module):
        def __init__(self, network):
            super().__init__()
            self.network = network

        def forward(self, X):
            return masked_l1(self.network, X)

    class LossIsOutput(torch.nn.Module):
        def forward(self, loss, target=None):
            return loss

    net = NeuralNet(
        MaskedReconstruction, module__network=new_network(X), criterion=LossIsOutput,
        optimizer=torch.optim.AdamW, lr=1e-3, optimizer__weight_decay=0.05,
        batch_size=BATCH, max_epochs=FIT_EPOCHS, train_split=None,
        iterator_train__shuffle=True, verbose=0,
    )
    return net.fit(X)


def fit_rows():
    X = make_rows(FIT_ROWS)
    methods = {
        "SimMIMTransformer.fit": ours,
        "plain loop (default AdamW)": plain_loop,
        "plain loop (fused AdamW)": lambda X: plain_loop(X, fused=True),
    }
    try:
        import skorch  # noqa: F401

        methods["skorch NeuralNet"] = skorch_fit
    except ImportError:
        pass
    rows = []
    for threads in (2, 1):
        torch.set_num_threads(threads)
        for method in methods.values():  # warm-up: first-call allocations and kernels
            method(X[:2000])
        best = dict.fromkeys(methods, np.inf)
        for repeat in range(REPEATS):
            for name in sorted(methods, reverse=repeat % 2 == 1):
                method = methods[name]
                start = time.perf_counter()
                method(X)
                best[name] = min(best[name], time.perf_counter() - start)
        steps = FIT_EPOCHS * int(np.ceil(FIT_ROWS / BATCH))
        for name, seconds in best.items():
            rows.append({
                "torch threads": threads, "method": name, "fit s": seconds,
                "ms per step": 1e3 * seconds / steps,
                "SimMIM time / this": best["SimMIMTransformer.fit"] / seconds,
            })
    torch.set_num_threads(2)
    return rows


def child_transform():
    """In a fresh process: peak RSS growth and speed of transform / inverse_transform.

    Memory is sampled in a first call of each method; speed is timed apart from it (the
    sampling thread would slow the timed call) over interleaved repeats that alternate which
    of ours and the plain loop goes first, the fastest of each counting.
    """
    model = ours(make_rows(20_000, seed=1))
    network = model.module_
    process = psutil.Process()
    X = make_rows(TRANSFORM_ROWS)
    result = []
    for name, method, source, width in [
        ("transform", model.transform, X, N_COMPONENTS),
        ("inverse_transform", model.inverse_transform, None, N_FEATURES),
    ]:
        if source is None:
            source = model.transform(X)
        baseline = process.memory_info().rss
        peak = Peak(process)
        with peak:
            out = method(source)
        forward = network.forward if name == "transform" else network.decode
        timed = {
            "ours": partial(method, source),
            "plain": partial(plain_inference, forward, source, width),
        }
        seconds = {"ours": [], "plain": []}
        for repeat in range(TRANSFORM_REPEATS):
            for key in sorted(timed, reverse=repeat % 2 == 1):
                start = time.perf_counter()
                timed[key]()
                seconds[key].append(time.perf_counter() - start)
        ours_s, plain_s = min(seconds["ours"]), min(seconds["plain"])
        result.append({
            "method": name, "rows": len(source),
            "output MiB": out.nbytes / MIB,
            "peak RSS growth MiB": (peak.max_rss - baseline) / MIB,
            "growth beyond output MiB": (peak.max_rss - baseline - out.nbytes) / MIB,
            "rows/s": len(source) / ours_s,
            "plain loop rows/s": len(source) / plain_s,
            "speed ratio (ours / plain)": plain_s / ours_s,
        })
        del out
    print(json.dumps(result))


@torch.inference_mode()
def plain_inference(forward, X, width):
    out = np.empty((len(X), width), dtype=np.float32)
    for start in range(0, len(X), INFERENCE_BATCH):
        out[start:start + INFERENCE_BATCH] = forward(
            torch.from_numpy(X[start:start + INFERENCE_BATCH])
        ).numpy()
    return out


class Peak:
    """Samples the process's RSS every millisecond in a thread while the block runs."""

    def __init__(self, process):
        self.process, self.max_rss = process, process.memory_info().rss

    def _sample(self):
        while not self._done:
            self.max_rss = max(self.max_rss, self.process.memory_info().rss)
            time.sleep(0.001)

    def __enter__(self):
        import threading

        self._done = False
        self._thread = threading.Thread(target=self._sample)
        self._thread.start()

    def __exit__(self, *exc):
        self._done = True
        self._thread.join()
        self.max_rss = max(self.max_rss, self.process.memory_info().rss)


def child_scaling(n_rows, storage):
    """In a fresh process: time and peak memory of a 1-epoch fit on ``n_rows`` rows."""
    import tracemalloc

    X = make_rows(n_rows)
    if storage == "memmap":
        path = Path(tempfile.mkdtemp()) / "X.npy"
        np.save(path, X)
        del X
        X = np.load(path, mmap_mode="r")
    model = SimMIMTransformer(n_components=N_COMPONENTS, hidden_width=WIDTH, depth=DEPTH,
                              max_iter=1, batch_size=SCALING_BATCH,
                              n_threads=torch.get_num_threads(), random_state=0)
    model.fit(X[:2000])  # warm-up: one-time imports and first-call costs are not per row
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = Peak(process)
    tracemalloc.start()
    start = time.perf_counter()
    with peak:
        model.fit(X)
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1]
    print(json.dumps({
        "rows": n_rows, "storage": storage, "fit s": seconds,
        "µs per row": 1e6 * seconds / n_rows,
        "data MiB": n_rows * N_FEATURES * 4 / MIB,
        "peak RSS growth MiB": (peak.max_rss - baseline) / MIB,
        "peak numpy allocations MiB": traced / MIB,
    }))


def in_subprocess(*args):
    output = subprocess.run([sys.executable, __file__, *map(str, args)], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def scaling_plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    memory = [row for row in rows if row["storage"] == "in memory"]
    n = [row["rows"] for row in memory]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    left.loglog(n, [row["fit s"] for row in memory], "o-", label="fit (1 epoch)")
    left.loglog(n, [memory[0]["fit s"] * k / n[0] for k in n], "k:", label="linear")
    left.set(xlabel="rows", ylabel="seconds", title="Fit time")
    left.legend()
    right.loglog(n, [row["data MiB"] for row in memory], "k:", label="data itself")
    right.loglog(n, [max(row["peak RSS growth MiB"], 0.1) for row in memory], "o-",
                 label="peak RSS growth during fit")
    right.set(xlabel="rows", ylabel="MiB", title="Memory beyond the loaded data")
    right.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "speed_scaling.png", dpi=120)


def main():
    started = time.perf_counter()
    tables = {"fit: 50,000 x 64 float32, 1 epoch": fit_rows()}
    tables["transform: 1,000,000 x 64 float32 (fresh process)"] = in_subprocess("transform")
    scaling = [in_subprocess("scaling", n, "in memory") for n in (10_000, 100_000, 1_000_000)]
    scaling.append(in_subprocess("scaling", 1_000_000, "memmap"))
    tables["scaling: 1-epoch fit, width 128, batch 1024 (fresh process each)"] = scaling
    scaling_plot(scaling)
    notes = (
        f"Machine: {psutil.cpu_count()} logical CPUs, shared with other jobs (load average "
        f"{os.getloadavg()[0]:.1f} at the end). Total benchmark time "
        f"{time.perf_counter() - started:.0f} s. Peak RSS growth is sampled every ms "
        "against the RSS just before the call (the data already loaded). "
        "For the memmap row RSS also counts the file pages the kernel maps in (page cache, "
        "reclaimable), so the heap measure is 'peak numpy allocations'."
    )
    write_results("speed", tables, notes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["transform"]:
        child_transform()
    elif sys.argv[1:2] == ["scaling"]:
        child_scaling(int(sys.argv[2]), sys.argv[3])
    else:
        main()
