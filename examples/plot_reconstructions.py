"""
Masked inputs and their reconstructions
=======================================

A time series (GunPoint, from aeon) and digits read as ``(1, 8, 8)`` images: training hides
whole patches, and :meth:`simmim_sklearn.SimMIMTransformer.reconstruct` shows what the model
rebuilds from the visible ones. Hidden patches are shaded (series) or blanked (digits). The
figure is also saved as ``simmim_reconstructions.png``.

Runs in about 19 seconds on two idle CPU cores with the defaults.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from aeon.datasets import load_gunpoint
from sklearn.datasets import load_digits

from simmim_sklearn import SimMIMTransformer

X_series, _ = load_gunpoint(split="train")
X_series = X_series.reshape(len(X_series), -1)
series_model = SimMIMTransformer(input_shape=(1, X_series.shape[1]), random_state=0)
series_model.fit(X_series)
series_rec, series_hidden = series_model.reconstruct(X_series[:2], random_state=1)

# %%
# A short fit on 600 digits keeps the script fast; the images only illustrate.
X_digits = load_digits().data[:600]
digit_model = SimMIMTransformer(
    input_shape=(1, 8, 8), patch_size=(2, 2), max_iter=40, random_state=0
).fit(X_digits)
digit_rec, digit_hidden = digit_model.reconstruct(X_digits[:3], random_state=1)

fig = plt.figure(figsize=(11, 5.5), layout="constrained")
top, bottom = fig.subfigures(2, 1)
for ax, x, rec, hidden in zip(top.subplots(1, 2), X_series, series_rec, series_hidden):
    t = np.arange(len(x))
    ax.fill_between(t, x.min(), x.max(), where=hidden, color="0.88", step="mid",
                    label="hidden patches")
    ax.plot(t, np.where(hidden, np.nan, x), color="k", label="visible input")
    ax.plot(t, np.where(hidden, x, np.nan), color="k", ls=":", label="hidden truth")
    ax.plot(t, rec, color="tab:red", label="reconstruction")
ax.legend(fontsize=8, loc="upper left")
top.suptitle(f"GunPoint, patch_size={series_model.patch_size_[0]}, "
             f"encoder={series_model.encoder_}")
axes = bottom.subplots(2, 3)
for j, (x, rec, hidden) in enumerate(zip(X_digits, digit_rec, digit_hidden)):
    axes[0, j].imshow(np.where(hidden, np.nan, x).reshape(8, 8), cmap="gray_r",
                      vmin=0, vmax=16)
    axes[1, j].imshow(rec.reshape(8, 8), cmap="gray_r", vmin=0, vmax=16)
axes[0, 0].set_ylabel("masked input")
axes[1, 0].set_ylabel("reconstruction")
for ax in axes.flat:
    ax.set_xticks([])
    ax.set_yticks([])
bottom.suptitle("Digits as (1, 8, 8) images, 2 x 2 patches")
fig.savefig("simmim_reconstructions.png", dpi=110)
plt.show()
