"""The encoder of SimMIMTokenTransformer's defaults, chosen on the splice junctions' training
part only.

Run from the repository root: ``python benchmarks/tune_token_defaults.py``; writes
``results/tune_token_defaults.json`` and ``.md``. The training part of bench_tokens.py's
split (stratified 75%, seed 0) is split again, 70% to fit on and 30% to score on (stratified,
seed 1); the test part is never read. For each encoder, the transformer with its defaults
and the same network untrained (one epoch at a learning rate of 1e-12) are fitted on the
70%, then a standardised LogisticRegressionCV on all their labels or on 5% of them; accuracy
on the 30%. One torch thread.
"""

import warnings

import torch
from _results import write_results
from _token_data import load_splice
from bench_tokens import C_GRID, SEED, few_labels, timed
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from simmim_sklearn import SimMIMTokenTransformer


def main():
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)
    X, y = load_splice()
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, stratify=y,
                                              random_state=SEED)
    X_fit, X_val, y_fit, y_val = train_test_split(X_train, y_train, test_size=0.3,
                                                  stratify=y_train, random_state=1)
    labeled = few_labels(y_fit)
    rows = []
    for encoder in ("transformer", "conv"):
        for pretrained, settings in ((True, {}),
                                     (False, dict(max_iter=1, learning_rate_init=1e-12))):
            model = SimMIMTokenTransformer(encoder=encoder, random_state=SEED, **settings)
            _, seconds = timed(model.fit, X_fit)
            Z_fit, Z_val = model.transform(X_fit), model.transform(X_val)
            scores = {}
            for regime, used in (("all labels", slice(None)), ("5% labels", labeled)):
                head = make_pipeline(StandardScaler(),
                                     LogisticRegressionCV(Cs=C_GRID, max_iter=2000))
                head.fit(Z_fit[used], y_fit[used])
                scores[regime] = head.score(Z_val, y_val)
            rows.append({"encoder": encoder, "pretrained": pretrained,
                         "depth_": model.depth_, "epochs": model.n_iter_,
                         "fit s": round(seconds, 1), **scores})
            print(rows[-1], flush=True)
    write_results("tune_token_defaults", {"splice, training part: 70% fit, 30% scored": rows},
                  notes=__doc__)


if __name__ == "__main__":
    main()
