"""User-guide figure: one digit cut into patches, half of them hidden, and what the model
reconstructs. Run by matplotlib's plot directive at build time."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from simmim_sklearn import SimMIMTransformer

SIDE, PATCH, MASK_RATIO = 8, 2, 0.5

X = load_digits().data
X_train, X_test = train_test_split(X, test_size=0.2, random_state=0)
model = SimMIMTransformer(
    n_components=16, input_shape=(1, SIDE, SIDE), patch_size=PATCH, mask_ratio=MASK_RATIO,
    random_state=0,
).fit(X_train)

# Hide half of one unseen digit's 2x2 patches, the way training does: a hidden value is NaN.
digit = X_test[0].reshape(SIDE, SIDE)
grid = SIDE // PATCH
rng = np.random.default_rng(3)
hidden = np.zeros(grid * grid, dtype=bool)
hidden[rng.choice(grid * grid, size=round(MASK_RATIO * grid * grid), replace=False)] = True
hidden = hidden.reshape(grid, grid)
hidden_pixels = np.kron(hidden, np.ones((PATCH, PATCH), dtype=bool))
masked = np.where(hidden_pixels, np.nan, digit)

from_visible = model.inverse_transform(model.transform(masked.reshape(1, -1)))
from_whole = model.inverse_transform(model.transform(digit.reshape(1, -1)))

panels = [
    ("input row as an image,\ncut into 2x2 patches (tokens)", digit),
    (f"{hidden.sum()} of {hidden.size} tokens hidden\n(mask_ratio={MASK_RATIO})", masked),
    ("reconstructed from\nthe visible tokens", from_visible.reshape(SIDE, SIDE)),
    ("inverse_transform(transform(x))\non the whole row", from_whole.reshape(SIDE, SIDE)),
]
fig, axes = plt.subplots(1, 4, figsize=(10, 3.1), layout="constrained")
cmap = plt.get_cmap("gray_r").with_extremes(bad="#f4c7a1")
for ax, (title, image) in zip(axes, panels):
    ax.imshow(image, cmap=cmap, vmin=0, vmax=16)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    for edge in np.arange(PATCH, SIDE, PATCH) - 0.5:
        ax.axhline(edge, color="tab:blue", lw=0.6)
        ax.axvline(edge, color="tab:blue", lw=0.6)
for row, col in zip(*np.nonzero(hidden)):
    for ax in axes[1:3]:
        ax.add_patch(Rectangle((col * PATCH - 0.5, row * PATCH - 0.5), PATCH, PATCH,
                               fill=False, edgecolor="tab:orange", lw=1.5))
plt.show()
