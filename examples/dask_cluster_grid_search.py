"""
============================================
Grid search on a Dask cluster through joblib
============================================

scikit-learn's :class:`~sklearn.model_selection.GridSearchCV` hands its fits to joblib, and
joblib can hand them to a `Dask <https://distributed.dask.org>`_ cluster: no change to the
estimator or the search, only a ``parallel_config(backend="dask")`` block around ``fit``.
Each candidate and fold is one task; workers fit :class:`~simmim_sklearn.SimMIMTransformer`
with their own torch threads.

Needs the optional ``dask`` and ``distributed`` packages (``pip install "dask[distributed]"``).
Give a running scheduler's address to use a real cluster::

    python dask_cluster_grid_search.py tcp://scheduler-host:8786

Without an address the script starts a local two-worker cluster, so it runs anywhere. Workers
need ``simmim_sklearn`` installed. This script is not run when the documentation is built.
"""

import sys

from joblib import parallel_config
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from simmim_sklearn import SimMIMTransformer


def main(address=None):
    from distributed import Client, LocalCluster

    cluster = None if address else LocalCluster(n_workers=2, threads_per_worker=1)
    with Client(address or cluster) as client:
        print(f"Dashboard: {client.dashboard_link}")
        X = load_digits().data
        search = GridSearchCV(
            SimMIMTransformer(max_iter=20, random_state=0),
            {"n_components": [8, 16], "hidden_width": [64, 128]},
            cv=3,
        )
        with parallel_config(backend="dask"):
            search.fit(X)
    if cluster is not None:
        cluster.close()
    print("best parameters:", search.best_params_)
    print(f"best masked-reconstruction score: {search.best_score_:.4f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
