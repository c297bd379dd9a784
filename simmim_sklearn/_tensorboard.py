"""Optional TensorBoard log of training (the estimators' ``log_dir``).

Nothing here imports TensorBoard or matplotlib until a log is asked for: with
``log_dir=None`` nothing is imported or written, and the training loop skips the log with
one ``None`` check per epoch.
"""

from contextlib import contextmanager

import numpy as np
import torch

from .nn._masking import random_token_mask

# How many rows the reconstructions show, and every how many epochs they are drawn: often
# enough to watch them change, rarely enough that the log stays small.
N_LOGGED_ROWS = 4
RECONSTRUCTION_EVERY = 10
# The logged mask is the same at every epoch, so that successive reconstructions compare.
MASK_SEED = 0
# Display value (after scaling to [0, 1]) of hidden and missing pixels: a grey that neither
# the background nor the strokes of a typical image take exactly.
BLANK = 0.5
# Smallest side, in pixels, that each image is enlarged to (by whole factors) for display.
MIN_DISPLAY_SIZE = 64
# Width, in pixels, of the white lines between the panels of the picture.
GAP = 2


def logged_rows(network, X):
    """The rows whose masked inputs and reconstructions the log shows.

    Parameters
    ----------
    network : SimMIMNetwork
        The network about to be trained, already on its device.
    X : array-like of shape (n_samples, n_features)
        The training rows; only ``X[:4]`` is read, so that memmaps and other out-of-core
        arrays load just those rows.

    Returns
    -------
    rows : float32 tensor of shape (min(4, n_samples), n_features) or None
        The first rows of ``X`` on the network's device; None for tabular rows, whose
        reconstructions have no picture worth drawing.
    """
    shape = network.patcher.shape
    # Tabular rows are laid out as a 1-channel window, (1, n_features), so only the encoder
    # tells them apart: an encoder over tokens (or several channels) means a real window. An
    # MLP over a 1-channel window is then taken for tabular rows and logs no pictures.
    image = len(shape) == 3
    window = len(shape) == 2 and (network.over_tokens or shape[0] > 1)
    if not (image or window):
        return None
    rows = np.asarray(X[:N_LOGGED_ROWS], dtype=np.float32)
    return torch.as_tensor(rows, device=network.center.device)


@contextmanager
def tensorboard_log(log_dir, phase, first_epoch=0, sample_rows=None, mask_ratio=0.5):
    """A TensorBoard log of one training run, for ``fit_epochs``'s ``on_epoch``.

    Parameters
    ----------
    log_dir : str, path-like or None
        Directory of the log; None logs nothing.
    phase : {"pretrain", "finetune"}
        Prefix of every tag: masked modeling or supervised fine-tuning.
    first_epoch : int, default=0
        Epochs already logged in this directory by the same model (``n_iter_`` when
        ``partial_fit`` continues), so that the steps carry on.
    sample_rows : float32 tensor or None, default=None
        Rows from ``logged_rows`` whose reconstructions are drawn; None draws none.
    mask_ratio : float, default=0.5
        Fraction of those rows' tokens hidden in the drawing.

    Yields
    ------
    on_epoch : callable or None
        None when ``log_dir`` is None. Otherwise ``on_epoch(epoch, values, network)``
        writes each of ``values`` (a dict of floats: "loss", "learning_rate", maybe
        "validation_loss") as the scalar ``f"{phase}/{name}"`` at step
        ``first_epoch + epoch + 1``, and with ``sample_rows`` the reconstructions, as
        ``f"{phase}/reconstructions"``, at the first step and every 10th after. The log
        is flushed and closed on exit.

    Raises
    ------
    ImportError
        When ``log_dir`` is given and TensorBoard is not installed.
    """
    if log_dir is None:
        yield None
        return
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError(
            'log_dir needs the tensorboard package: pip install "simmim-sklearn[tensorboard]"'
        ) from error

    writer = SummaryWriter(log_dir)

    def on_epoch(epoch, values, network):
        step = first_epoch + epoch + 1
        for name, value in values.items():
            writer.add_scalar(f"{phase}/{name}", float(value), step)
        if sample_rows is not None and (step - 1) % RECONSTRUCTION_EVERY == 0:
            _log_reconstructions(writer, f"{phase}/reconstructions", step, network,
                                 sample_rows, mask_ratio)

    try:
        yield on_epoch
    finally:
        writer.close()


def _log_reconstructions(writer, tag, step, network, rows, mask_ratio):
    """Draw ``rows``, their hidden entries under a fixed mask and ``network``'s
    reconstructions: one picture for images, a matplotlib figure for windows."""
    network.eval()
    try:
        with torch.no_grad():
            tokens = network.patcher.to_tokens(network.standardize(rows))
            generator = torch.Generator(device=rows.device).manual_seed(MASK_SEED)
            # Hidden as training hides them: in spans of tokens on windows.
            hide = random_token_mask(torch.isnan(tokens).all(dim=-1), mask_ratio, generator,
                                     span=network.mask_span)
            reconstruction = network.reconstruct(rows, hide)
            hidden = network.patcher.tokens_to_entries(hide)
    finally:
        network.train()
    shape = network.patcher.shape
    rows, reconstruction, hidden = (t.reshape(-1, *shape).cpu()
                                    for t in (rows, reconstruction, hidden))
    if len(shape) == 3:
        writer.add_image(tag, _image_panels(rows, hidden, reconstruction), step)
    else:
        writer.add_figure(tag, _window_figure(rows.numpy(), hidden.numpy(),
                                              reconstruction.numpy()), step)


def _image_panels(rows, hidden, reconstruction):
    """One picture of the rows, one above the other: each image, the image with its hidden
    entries blanked and its reconstruction side by side, scaled to [0, 1] by the image's own
    range (so that the three compare) and enlarged for small images."""
    n, channels, height, width = rows.shape
    flat = rows.reshape(n, -1)
    observed = ~torch.isnan(flat)
    low = torch.where(observed, flat, torch.inf).amin(dim=1).view(n, 1, 1, 1)
    high = torch.where(observed, flat, -torch.inf).amax(dim=1).view(n, 1, 1, 1)
    # Rows with no observed value (or a constant one) keep a harmless range.
    low = torch.nan_to_num(low, posinf=0.0)
    value_range = torch.nan_to_num(high - low, neginf=1.0).clamp(min=1e-12)

    def scaled(images):
        return ((images - low) / value_range).clamp(0.0, 1.0).nan_to_num(BLANK)

    # TensorBoard shows a picture at its size in pixels: 8x8 digits would be specks.
    factor = max(1, MIN_DISPLAY_SIZE // max(height, width))
    shown = scaled(rows)
    images = [shown, shown.masked_fill(hidden, BLANK), scaled(reconstruction)]
    images = [image.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)
              for image in images]
    # White lines between the panels and between the rows, so that they read apart.
    column = torch.ones(n, channels, images[0].shape[2], GAP)
    panels = torch.cat([images[0], column, images[1], column, images[2]], dim=3)
    panels = torch.cat([panels, torch.ones(n, channels, GAP, panels.shape[3])], dim=2)
    picture = panels.permute(1, 0, 2, 3).reshape(channels, -1, panels.shape[3])[:, :-GAP]
    if channels not in (1, 3):
        # TensorBoard shows grey or RGB pictures only: other channels one above the other.
        picture = picture.reshape(1, -1, picture.shape[2])
    return picture


def _window_figure(rows, hidden, reconstruction):
    """A matplotlib figure with one panel per row: each channel of the window, its hidden
    stretches shaded, and the reconstruction dashed."""
    # Imported only when a log draws windows; Figure without pyplot needs no GUI backend.
    from matplotlib.figure import Figure

    n, channels, length = rows.shape
    figure = Figure(figsize=(8, 1.8 * n), layout="constrained")
    axes = figure.subplots(n, 1, squeeze=False, sharex=True)[:, 0]
    steps = np.arange(length)
    for ax, row, hide, rebuilt in zip(axes, rows, hidden, reconstruction):
        # A token holds every channel of its stretch: the first channel's flags are all's.
        ax.fill_between(steps, 0, 1, where=hide[0], step="mid", color="tab:orange",
                        alpha=0.2, transform=ax.get_xaxis_transform(), linewidth=0)
        for channel in range(channels):
            line, = ax.plot(steps, row[channel], linewidth=1)
            ax.plot(steps, rebuilt[channel], linestyle="--", linewidth=1,
                    color=line.get_color())
    axes[0].set_title("window (solid), hidden stretches (shaded), reconstruction (dashed)",
                      fontsize="small")
    axes[-1].set_xlabel("time step")
    return figure
