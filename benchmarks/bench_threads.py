"""How many CPU threads the estimators use, and what it costs: the first minutes of a user.

Run from the repository root: ``python benchmarks/bench_threads.py``. Writes
``benchmarks/results/threads.json`` and ``.md``. About 20 minutes on 2 cores.

Four parts, each run as the machine is found (its 1-minute load average recorded beside every
figure) and again with one competing busy process (a Python loop spinning on one core), as a
laptop with a browser open or a shared server has:

1. fits and transforms of three workloads (tabular digits with the MLP encoder, the README's
   two-channel windows with the conv encoder, digits read as images) at ``n_threads`` 1, 2 and
   "auto", in this process, few epochs each;
2. the README's first quickstart block as written (``GridSearchCV(n_jobs=2)`` over a
   pipeline) at ``n_threads`` 1, 2 and "auto";
3. the README's two quickstart blocks and the gallery's two window and tabular examples
   (``plot_timeseries_classification.py``, ``plot_pipeline_regression.py``), each run as a
   fresh process with the package's defaults and again with ``OMP_NUM_THREADS=1`` (which pins
   torch to one thread): the ratio of the two is what the defaults cost or save against a
   user who knows to pin threads;
4. a default ``SimMIMTransformer().fit`` on diabetes, breast cancer (standardised) and
   digits, each in a fresh process, against ``MLPRegressor`` as an autoencoder of similar
   width, ``(64, 8, 64)``, also in a fresh process (import time excluded from both).
"""

import os
import re
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from _results import write_results
from sklearn.datasets import load_diabetes, load_digits

from simmim_sklearn import SimMIMTransformer

ROOT = Path(__file__).resolve().parent.parent
THREAD_SETTINGS = (1, 2, "auto")
EXAMPLES = ("plot_timeseries_classification.py", "plot_pipeline_regression.py")
CONDITIONS = ("as found", "one busy process")


@contextmanager
def condition(name):
    """Run the block as found, or beside a busy process spinning on one core."""
    if name == "as found":
        yield
        return
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(2.0)  # let the scheduler see it
    try:
        yield
    finally:
        busy.kill()
        busy.wait()


def load():
    return round(os.getloadavg()[0], 2)


def workloads():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    windows = np.sin(np.linspace(0, 6, 100) * (2 + y[:, None, None])) + rng.normal(
        0, 0.5, (200, 2, 100))
    digits = load_digits().data
    return {
        "tabular digits (1797 x 64), MLP, 20 epochs": (digits, dict(max_iter=20)),
        "README windows (200 x 2 x 100), conv, 2 epochs": (
            windows.reshape(200, -1), dict(input_shape=(2, 100), max_iter=2)),
        "digits as images (1797 x 8 x 8), conv, 2 epochs": (
            digits, dict(input_shape=(1, 8, 8), max_iter=2)),
    }


def fit_rows():
    rows = []
    for name, (X, params) in workloads().items():
        for state in CONDITIONS:
            with condition(state):
                for n_threads in THREAD_SETTINGS:
                    model = SimMIMTransformer(n_threads=n_threads, random_state=0, **params)
                    start = time.perf_counter()
                    model.fit(X)
                    fit_seconds = time.perf_counter() - start
                    start = time.perf_counter()
                    model.transform(X)
                    rows.append({"workload": name, "condition": state, "load": load(),
                                 "n_threads": n_threads, "threads used": model.n_threads_,
                                 "fit s": fit_seconds,
                                 "transform s": time.perf_counter() - start})
                    print(rows[-1], flush=True)
    return rows


def grid_search_rows():
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    rows = []
    for state in CONDITIONS:
        with condition(state):
            for n_threads in THREAD_SETTINGS:
                pipe = make_pipeline(StandardScaler(),
                                     SimMIMTransformer(n_components=16, n_threads=n_threads),
                                     Ridge())
                search = GridSearchCV(pipe, {"simmimtransformer__n_components": [8, 16, 32],
                                             "simmimtransformer__hidden_width": [64, 128]},
                                      n_jobs=2)
                start = time.perf_counter()
                search.fit(X, y)
                rows.append({"condition": state, "load": load(), "n_threads": n_threads,
                             "GridSearchCV(n_jobs=2) s": time.perf_counter() - start})
                print(rows[-1], flush=True)
    return rows


def readme_blocks():
    """The README's Quickstart code blocks, in order."""
    text = (ROOT / "README.md").read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", quickstart, flags=re.S)


def run_fresh(command, env_extra=None):
    """Seconds a fresh Python process takes to run ``command`` (imports included)."""
    env = {**os.environ, "MPLBACKEND": "Agg", **(env_extra or {})}
    start = time.perf_counter()
    subprocess.run([sys.executable, *command], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def user_code_rows():
    scripts = {f"README quickstart block {index}": ["-c", code]
               for index, code in enumerate(readme_blocks(), start=1)}
    scripts.update({f"examples/{name}": [str(ROOT / "examples" / name)] for name in EXAMPLES})
    rows = []
    for name, command in scripts.items():
        for state in CONDITIONS:
            with condition(state):
                defaults = run_fresh(command)
                pinned = run_fresh(command, {"OMP_NUM_THREADS": "1"})
            rows.append({"code": name, "condition": state, "load": load(),
                         "defaults s": defaults, "OMP_NUM_THREADS=1 s": pinned,
                         "defaults / pinned": defaults / pinned})
            print(rows[-1], flush=True)
    return rows


FRESH_FIT = textwrap.dedent("""
    import time, warnings
    import numpy as np
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler
    from simmim_sklearn import SimMIMTransformer
    warnings.filterwarnings("ignore")
    X = {{"diabetes": lambda: load_diabetes().data,
          "breast cancer (standardised)":
              lambda: StandardScaler().fit_transform(load_breast_cancer().data),
          "digits": lambda: load_digits().data}}["{data}"]()
    model = {model}
    start = time.perf_counter()
    model.fit(X) if "{kind}" == "simmim" else model.fit(X, X)
    print(time.perf_counter() - start)
""")


def fresh_fit_seconds(data, kind):
    model = ("SimMIMTransformer(random_state=0)" if kind == "simmim"
             else "MLPRegressor(hidden_layer_sizes=(64, 8, 64), random_state=0)")
    result = subprocess.run([sys.executable, "-c", FRESH_FIT.format(data=data, model=model,
                                                                   kind=kind)],
                            check=True, capture_output=True, text=True, cwd=ROOT)
    return float(result.stdout.strip())


def fresh_fit_rows():
    rows = []
    for data in ("diabetes", "breast cancer (standardised)", "digits"):
        simmim, mlp = fresh_fit_seconds(data, "simmim"), fresh_fit_seconds(data, "mlp")
        target = max(2 * mlp, 0.5)
        rows.append({"data": data, "load": load(), "SimMIMTransformer fit s": simmim,
                     "MLPRegressor autoencoder fit s": mlp,
                     "target s (2x MLP or 0.5)": target, "within target": simmim <= target})
        print(rows[-1], flush=True)
    return rows


def main():
    start = time.perf_counter()
    tables = {
        "fits and transforms at 1, 2 and auto threads": fit_rows(),
        "README quickstart block 1 in-process: GridSearchCV(n_jobs=2)": grid_search_rows(),
        "README blocks and gallery examples, fresh processes: defaults against "
        "OMP_NUM_THREADS=1": user_code_rows(),
        "default fit in a fresh process against MLPRegressor": fresh_fit_rows(),
    }
    notes = (f"{os.cpu_count()} logical CPUs; 'load' is the 1-minute load average when the "
             "row was measured (other jobs may share the machine). Total benchmark time "
             f"{time.perf_counter() - start:.0f} s.")
    write_results("threads", tables, notes)


if __name__ == "__main__":
    main()
