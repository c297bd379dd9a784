"""Throughput of data-parallel training (``distributed``): one process against two under
torchrun on this machine's CPUs, and one GPU where there is one.

Run from the repository root: ``python benchmarks/bench_distributed.py``. Writes
``benchmarks/results/distributed.json`` and ``.md``. About 3 minutes on 2 cores.

Every process computes on one torch thread (``n_threads=1``, ``OMP_NUM_THREADS=1``), so that
two processes on two cores compare with one process on one core: the scaling efficiency is
the two processes' rows per second over twice one process's. Both fit the same model with the
same global ``batch_size`` (so the same steps, each process computing half of each batch).
Each process fits once untimed (the process group, DDP's first import of torch's compiler),
then the timed fits; the fastest of ``REPEATS`` is kept, since the cores are shared with
whatever else runs on the machine (its load average is recorded). Rows per second count
training rows times epochs over the wall time of ``fit`` on rank 0 (statistics, PCA start
and training included).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _results import write_results

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REPEATS = 3
# Two workloads: tabular rows with the MLP encoder, and windows with the conv encoder (more
# arithmetic per row, so communication weighs less).
WORKLOADS = {
    "tabular MLP": dict(n_rows=20_000, n_features=64, params=dict(
        hidden_width=64, depth=2, n_components=16, max_iter=3, batch_size=256)),
    "windows conv": dict(n_rows=4_000, n_features=2 * 128, params=dict(
        input_shape=(2, 128), hidden_width=32, n_components=8, max_iter=2, batch_size=256)),
}


def data(n_rows, n_features):
    """Rows with a low-rank structure plus noise, float32, the same in every process."""
    rng = np.random.default_rng(0)
    factors = rng.normal(size=(n_rows, 8)) @ rng.normal(size=(8, n_features))
    return (factors + 0.1 * rng.normal(size=(n_rows, n_features))).astype(np.float32)


def worker(workload, device, out):
    """One process's part: an untimed fit, then ``REPEATS`` timed fits; rank 0 writes their
    wall times to ``out``."""
    from simmim_sklearn import SimMIMTransformer

    spec = WORKLOADS[workload]
    X = data(spec["n_rows"], spec["n_features"])
    params = dict(spec["params"], n_threads=1, random_state=0, device=device)
    SimMIMTransformer(**dict(params, max_iter=1)).fit(X)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        model = SimMIMTransformer(**params).fit(X)
        times.append(time.perf_counter() - start)
    if int(os.environ.get("RANK", "0")) == 0:
        Path(out).write_text(json.dumps(dict(
            times=times, world_size=model.world_size_, epochs=model.n_iter_,
            n_rows=len(X), device=model.device_)))


def run(workload, n_processes, device):
    """Fit ``workload`` in ``n_processes`` processes (torchrun for more than one); rank 0's
    measurements."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "times.json"
        script = [str(Path(__file__).resolve()), "--worker", workload, device, str(out)]
        launcher = [sys.executable] if n_processes == 1 else [
            sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={n_processes}"]
        subprocess.run(launcher + script, env=env, check=True, cwd=ROOT)
        return json.loads(out.read_text())


def main():
    runs = [("cpu", 1), ("cpu", 2)]
    if torch.cuda.is_available():
        runs.append(("cuda", 1))
        if torch.cuda.device_count() >= 2:
            runs.append(("cuda", 2))
    rows = []
    for workload in WORKLOADS:
        single = {}
        for device, n_processes in runs:
            load = os.getloadavg()[0]
            measured = run(workload, n_processes, device)
            best = min(measured["times"])
            rows_per_s = measured["n_rows"] * measured["epochs"] / best
            if n_processes == 1:
                single[device] = rows_per_s
            rows.append({
                "workload": workload, "device": device, "processes": n_processes,
                "world_size_": measured["world_size"], "epochs": measured["epochs"],
                "fit s (best)": best, "fit s (all)": " ".join(f"{t:.2f}" for t in
                                                             measured["times"]),
                "rows/s": rows_per_s,
                "scaling efficiency": rows_per_s / (n_processes * single[device]),
                "load average (1 min)": load,
            })
    notes = (
        "One torch thread per process (n_threads=1, OMP_NUM_THREADS=1). Same model, same "
        "global batch_size, so the same steps; two processes each compute half of every "
        "batch and average gradients through DDP (gloo on the CPU). Scaling efficiency: "
        "rows/s of N processes over N times the rows/s of one. Best of "
        f"{REPEATS} fits after an untimed one; cores shared with other work (load average "
        f"recorded). CPUs: {os.cpu_count()}."
    )
    write_results("distributed", {"throughput": rows}, notes)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(*sys.argv[2:5])
    else:
        main()
