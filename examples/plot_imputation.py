"""
Imputing missing values by masked modeling
==========================================

:class:`simmim_sklearn.SimMIMImputer` is trained to rebuild randomly hidden entries from the
rest of each row, so it fills missing values the way it learnt to fill hidden ones. Here 30% of
the breast-cancer features are removed at random; the imputer is fitted on a training split
and its error on the removed test entries is compared with mean and k-nearest-neighbour
imputation. Observed entries come back unchanged.

Runs in about 4 seconds on two idle CPU cores with the defaults.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split

from simmim_sklearn import SimMIMImputer

X, _ = load_breast_cancer(return_X_y=True)
rng = np.random.default_rng(0)
X_missing = np.where(rng.random(X.shape) < 0.3, np.nan, X)
X_train, X_test, X_test_full = (
    *train_test_split(X_missing, test_size=0.3, random_state=0),
    train_test_split(X, test_size=0.3, random_state=0)[1],
)
hidden = np.isnan(X_test)
scale = np.nanstd(X_train, axis=0)

imputers = {
    "mean": SimpleImputer(),
    "5 nearest neighbours": KNNImputer(),
    "SimMIMImputer": SimMIMImputer(random_state=0),
}
rmse = {}
for name, imputer in imputers.items():
    filled = imputer.fit(X_train).transform(X_test)
    assert np.array_equal(filled[~hidden], X_test[~hidden])
    errors = ((filled - X_test_full) / scale)[hidden]
    rmse[name] = float(np.sqrt(np.mean(errors**2)))
    print(f"{name}: RMSE on the missing entries {rmse[name]:.3f} (feature standard deviations)")

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.barh(list(rmse), list(rmse.values()))
ax.set_xlabel("RMSE on missing entries (feature std units)")
fig.tight_layout()
plt.show()
