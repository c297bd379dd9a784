"""Helpers shared by bench_window_few_labels.py and bench_window_regression.py: the command
line (``--quick``, ``--sets``, ``--seeds``, ``--methods``, ``--variant``,
``--transformer-variant``, ``--out``), the methods' table built from SimMIM parameters, one
torch thread, and means over seeds."""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

MODEL_SEEDS = (0, 1, 2, 3, 4)
# --quick: one set, one seed, and SimMIM cut to one epoch of pretraining and of fine-tuning,
# to check a script end to end in a minute or two; its results mean nothing.
QUICK_FINETUNED = {"pretrain_iter": 1, "max_iter": 1}
QUICK_TRANSFORMER = {"max_iter": 1}
# Where --quick writes without --out, so that quick figures never land in benchmarks/results.
QUICK_OUT = Path(tempfile.gettempdir()) / "simmim_bench_quick"


def one_thread():
    """Pin torch to one thread: other work shares the machine, and oversubscribed threads
    slow every fit (``bench_threads.py``); the estimators' ``n_threads="auto"`` never exceeds
    torch's setting. ``timed`` pins again before every call: aeon's MiniRocket sets numba's
    threads, which (through OpenMP) resets torch's to the number of cores."""
    torch.set_num_threads(1)


def parse_args(doc, sets, seeds=MODEL_SEEDS):
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("SIMMIM_BENCH_QUICK") == "1",
                        help="tiny check: first set, seed 0, SimMIM trained one epoch "
                        f"(also SIMMIM_BENCH_QUICK=1); writes to {QUICK_OUT} unless --out")
    parser.add_argument("--sets", nargs="+", choices=list(sets), help="default: all")
    parser.add_argument("--seeds", nargs="+", type=int, help=f"default: {list(seeds)}")
    parser.add_argument("--methods", nargs="+", metavar="NAME",
                        help="keep only these methods (after the variants are added)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=JSON",
                        help="add the SimMIM classifier/regressor with these parameters, "
                        "e.g. --variant 'no pretraining={\"pretrain_iter\": 0}'")
    parser.add_argument("--transformer-variant", action="append", default=[],
                        metavar="NAME=JSON", help="add the SimMIMTransformer pipeline with "
                        "these parameters, e.g. 'one epoch={\"max_iter\": 1}'")
    parser.add_argument("--out", type=Path, help="output directory (default "
                        f"benchmarks/results; with --quick, {QUICK_OUT})")
    args = parser.parse_args()
    args.sets = args.sets or list(sets)[:1 if args.quick else None]
    args.seeds = tuple(args.seeds or (seeds[:1] if args.quick else seeds))
    if args.out is None and args.quick:
        args.out = QUICK_OUT
    return args


def _variant(spec):
    name, sep, params = spec.partition("=")
    if not sep:
        raise SystemExit(f"a variant is NAME=JSON, not {spec!r}")
    return name.strip(), json.loads(params)


def build_methods(args, defaults, finetuned, transformer):
    """``defaults(finetuned, transformer)`` gives {name: method}, where ``finetuned(**params)``
    and ``transformer(**params)`` make the methods built on SimMIM's classifier/regressor and
    on SimMIMTransformer with ``params`` besides ``input_shape`` and ``random_state``;
    ``--quick`` adds its one-epoch settings to those, and the variants add rows."""
    quick_f = QUICK_FINETUNED if args.quick else {}
    quick_t = QUICK_TRANSFORMER if args.quick else {}

    def simmim_f(**params):
        return finetuned(**{**quick_f, **params})

    def simmim_t(**params):
        return transformer(**{**quick_t, **params})

    methods = defaults(simmim_f, simmim_t)
    for spec in args.variant:
        name, params = _variant(spec)
        methods[name] = simmim_f(**params)
    for spec in args.transformer_variant:
        name, params = _variant(spec)
        methods[name] = simmim_t(**params)
    if args.methods:
        unknown = set(args.methods) - set(methods)
        if unknown:
            raise SystemExit(f"unknown methods {sorted(unknown)}; known: {list(methods)}")
        methods = {name: methods[name] for name in args.methods}
    return methods


def flat(X3):
    """(n, C, L) windows as the (n, C * L) rows that the SimMIM estimators read."""
    return X3.reshape(len(X3), -1)


def timed(fit, *args):
    """``fit(*args)`` on one torch thread, and its seconds."""
    one_thread()
    start = time.perf_counter()
    result = fit(*args)
    return result, time.perf_counter() - start


def over_seeds(runs):
    """Mean, standard deviation (over seeds) and per-seed values of each figure of ``runs``
    (one dict of numbers per seed)."""
    summary = {}
    for key in runs[0]:
        values = [float(run[key]) for run in runs]
        summary.update({key: float(np.mean(values)), f"{key}_std": float(np.std(values)),
                        f"{key}_per_seed": values})
    return summary


def machine_note(args):
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    quick = " QUICK CHECK (SimMIM one epoch): not results." if args.quick else ""
    return (f"Seeds {list(args.seeds)}; torch threads {torch.get_num_threads()}; load average "
            f"(1, 5, 15 min) at the end {load} on {os.cpu_count()} CPUs.{quick}")
