"""Every "auto" of every estimator, resolved in one place.

``make_plan`` takes an estimator's parameters and a description of the data it is fitted on
and returns a frozen ``Plan``: the network to build (layout, encoder, widths, masking), the
training loop to run (batch size, epochs, loss weights) and the device. The estimators fit
from that plan and publish its values as fitted attributes; nothing else resolves "auto".
How each constant below was chosen is told in the docs (How the defaults were chosen).
"""

import math
import re
from dataclasses import dataclass

import numpy as np
import torch

from ._distributed import resolve_world, training_device
from ._layout import validated_input_shape, validated_patch_size
from ._threads import auto_threads, work_per_step
from .nn._encoders import conv_dilations
from .nn._kernel_bank import kernel_bank_width
from .nn._parallel import SINGLE, World
from .nn._patching import token_grid
from .nn._token_model import TokenTrainingConfig
from .nn._training import LoopConfig, TrainingConfig

# -- the network ------------------------------------------------------------------------------
# patch_size="auto" on a window: patches just long enough to keep at most this many tokens, so
# that the encoder sees each time step's own shape until the window gets long.
WINDOW_MAX_TOKENS = 128
# n_components="auto" for tabular rows and imputation.
TABULAR_COMPONENTS = 16
# n_components="auto" on windows: this many PCA-started components, enough for
# inverse_transform(transform(X)) to stay close to X; the encoder's block maxima follow them.
WINDOW_LINEAR_COMPONENTS = 8
# depth="auto": residual blocks of every encoder, except "conv" on windows, which gets one
# block per doubling of the dilation until the dilations span the window, up to the maximum.
DEFAULT_DEPTH = 2
WINDOW_MAX_DEPTH = 6
# Windows hide tokens in runs of this fraction of their tokens (at least one token), so that a
# hidden token is rarely next to a visible one.
SPAN_FRACTION = 1 / 32

# -- masked-modeling training -----------------------------------------------------------------
# max_iter="auto": about this many optimisation steps, within the epoch bounds, so that the
# cost follows the amount of data rather than a fixed number of epochs.
MASKED_STEPS = 2000
MASKED_MIN_EPOCHS = 5
MASKED_MAX_EPOCHS = 500
MASKED_BATCH_SIZE = 256
# Encoders over tokens cost in proportion to the tokens they see and the blocks they pass:
# their steps are also capped so that steps x batch rows x tokens x blocks stays within this.
TOKEN_BUDGET = 4_000_000
# "conv" spends 3 x 3 + 1 taps on an image token against 3 + 1 on a window token.
CONV_IMAGE_TOKEN_COST = 2.5
# With the latent or view term on, batches of about this fraction of the rows, at least the
# minimum: on small sets many small steps show each row in many masks and crops.
SELF_SUPERVISED_BATCH_FRACTION = 1 / 64
SELF_SUPERVISED_MIN_BATCH = 16
# kernel_features="auto" on windows: MiniRocket's default width, where its accuracy levels
# off over the UCR archive (Dempster et al., 2021).
WINDOW_KERNEL_FEATURES = 10_000
# consistency_weight="auto" on images; tabular rows and windows get none.
IMAGE_CONSISTENCY_WEIGHT = 1.0
# latent_weight="auto" on windows with an encoder over tokens; 0 elsewhere.
WINDOW_LATENT_WEIGHT = 1.0

# -- fine-tuning ------------------------------------------------------------------------------
FINETUNE_STEPS = 600
FINETUNE_MIN_EPOCHS = 5
FINETUNE_MAX_EPOCHS = 300
FINETUNE_BATCH_SIZE = 64

# -- sequences of symbols (SimMIMTokenTransformer) --------------------------------------------
# max_vocabulary="auto": at most this many ordinary tokens. Characters and k-mers keep every
# token seen once (DNA's rare ambiguity codes included); words need to be seen twice, so that
# the unknown token is trained on the rare ones; sub-word models are trained to this size.
TOKEN_VOCABULARY_CAP = 8192
WORD_MIN_COUNT = 2
SUBWORD_VOCABULARY = 2000
# max_length="auto": this quantile of the fit corpus's lengths in tokens, at most the cap;
# longer sequences are truncated.
TOKEN_LENGTH_QUANTILE = 0.99
TOKEN_MAX_LENGTH = 256
TOKEN_BATCH_SIZE = 64
# max_iter="auto": about this many steps, also capped by the token budget (steps x rows per
# batch x positions x blocks), in whole epochs within the bounds.
TOKEN_STEPS = 1500
TOKEN_STEP_BUDGET = 50_000_000
TOKEN_MIN_EPOCHS = 3
TOKEN_MAX_EPOCHS = 300

TOKEN_ENCODERS = ("conv", "transformer")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class Data:
    """What a plan needs to know of the data.

    n_rows : rows the loop of this fit trains on (after the validation split).
    n_features : features of a row.
    incremental : ``partial_fit``: one epoch at a constant learning rate.
    network : the network plan of the model being continued (``warm_start``, later
        ``partial_fit`` calls), whose layout and widths stay; None for a new model. For
        fine-tuning, the pretrained network's plan (it sizes the threads).
    """

    n_rows: int
    n_features: int
    incremental: bool = False
    network: "NetworkPlan | None" = None


@dataclass(frozen=True)
class Corpus:
    """What a plan needs to know of a corpus of sequences (purpose "tokens").

    n_rows : sequences the loop of this fit trains on (after the validation split).
    lengths : ndarray of each sequence's length in tokens, before truncation.
    vocabulary_size : symbol ids of the vocabulary, the special ones included.
    incremental, network : as for ``Data`` (network: a ``TokenNetworkPlan``).
    """

    n_rows: int
    lengths: object
    vocabulary_size: int
    incremental: bool = False
    network: "TokenNetworkPlan | None" = None


@dataclass(frozen=True)
class NetworkPlan:
    """The masked model's network (``nn.SimMIMNetwork``'s arguments)."""

    input_shape: tuple
    patch_size: tuple
    layout: str  # "tabular", "window" or "image"
    encoder: str
    depth: int
    hidden_width: int
    n_components: int
    # Components with a linear path of raw values: "pca" (started at PCA), "conditional" (a
    # factor model's posterior, for imputation) or None (images: the encoder's alone).
    linear: str | None
    n_linear: int
    mask_span: int
    # Whether the network carries the teacher and heads that the latent and view terms train.
    self_supervised: bool
    # Features of the fixed kernel bank that follow the encoder's (windows only; 0 for none).
    kernel_features: int = 0

    @property
    def grid(self):
        return token_grid(self.input_shape, self.patch_size)


@dataclass(frozen=True)
class TokenNetworkPlan:
    """The masked token model's network (``nn.MaskedTokenNetwork``'s arguments)."""

    vocabulary_size: int
    max_length: int
    encoder: str
    depth: int
    hidden_width: int

    @property
    def n_components(self):
        """Width of the representation: the mean and max of every block's output."""
        return 2 * self.hidden_width * max(1, self.depth)


@dataclass(frozen=True)
class Plan:
    """Everything a fit resolved: ``network`` (None when fitting only a head's loop),
    ``training`` (the loop this fit runs: a ``TrainingConfig`` for masked modeling, a
    ``LoopConfig`` for fine-tuning), the torch ``device``, ``average_shifts``, the CPU
    threads of the fit (``n_threads``) and the processes that train the model together
    (``world``, which ``training`` carries too)."""

    network: NetworkPlan | None
    training: LoopConfig
    device: torch.device
    average_shifts: bool = False
    n_threads: int = 1
    world: World = SINGLE


def make_plan(params, data, purpose="representation"):
    """Resolve every "auto" of an estimator's ``params`` (its ``get_params()``) for ``data``.

    Parameters
    ----------
    params : dict
        The estimator's parameters.
    data : Data
        The data the fit trains on.
    purpose : {"representation", "imputation", "finetuning", "tokens"}
        ``SimMIMTransformer`` (and the pretraining of the fine-tuned estimators),
        ``SimMIMImputer``, the fine-tuning loop of ``SimMIMClassifier`` and
        ``SimMIMRegressor``, or ``SimMIMTokenTransformer`` (``data`` is then a ``Corpus``).

    Returns
    -------
    plan : Plan

    Raises
    ------
    ValueError
        Where a distributed fit (``params["distributed"]``, resolved by
        ``_distributed.resolve_world``) has fewer training rows, or a smaller batch, than
        processes.
    """
    # Estimators without the parameter train in one process.
    world = resolve_world(params.get("distributed", False))
    device = training_device(resolve_device(params["device"]), world, params["device"])
    if purpose == "finetuning":
        loop = _finetuning_loop(params, data, world)
        _check_shares(loop, data, world)
        return Plan(None, loop, device, n_threads=threads(params["n_threads"], data.network,
                                                           _rows_per_process(loop, world)),
                    world=world)
    if purpose == "tokens":
        network = data.network or _token_network_plan(params, data)
        training = _token_training(params, data, network, world)
        _check_shares(training, data, world)
        return Plan(network, training, device,
                    n_threads=threads(params["n_threads"], network,
                                      _rows_per_process(training, world)),
                    world=world)
    network = data.network or _network_plan(params, data.n_features, purpose)
    training = _masked_training(params, data, network, world)
    _check_shares(training, data, world)
    return Plan(network, training, device, _average_shifts(params, network),
                threads(params["n_threads"], network, _rows_per_process(training, world)),
                world)


def _check_shares(training, data, world):
    """Raise a ValueError unless every process has a row in every training step."""
    if data.n_rows < world.size:
        raise ValueError(
            f"{data.n_rows} training rows cannot be shared by the {world.size} processes of "
            "this distributed fit: each needs at least one. Pass more rows (to partial_fit, "
            "larger chunks) or set distributed=False."
        )
    if training.batch_size < world.size:
        raise ValueError(
            f"batch_size={training.batch_size} is the batch of all {world.size} processes "
            f"together and must be at least {world.size}, one row per process."
        )


def _rows_per_process(training, world):
    """Rows of a training step in each process: its share of the (global) batch."""
    return -(-training.batch_size // world.size)


def threads(n_threads, network, n_rows):
    """Torch's intra-op threads for passes of ``n_rows`` rows through the ``network``:
    ``n_threads``, or with "auto" one thread unless the work is large and the cores free
    (``_threads.auto_threads``)."""
    if n_threads != "auto":
        return n_threads
    if isinstance(network, TokenNetworkPlan):
        n_tokens = network.max_length
    else:
        # The MLP encodes a row as one vector; the others keep one per token.
        n_tokens = math.prod(network.grid) if network.encoder in TOKEN_ENCODERS else 1
    return auto_threads(work_per_step(n_rows, n_tokens, network.hidden_width, network.depth))


def published(plan):
    """The plan's values as fitted attributes (names without the trailing underscore), in
    two dicts: the network's layout and widths (empty without a network), and the loop's
    size, loss weights and device."""
    network = plan.network
    if isinstance(network, TokenNetworkPlan):
        layout = dict(max_length=network.max_length, encoder=network.encoder,
                      depth=network.depth, n_components=network.n_components)
    else:
        layout = {} if network is None else dict(
            input_shape=network.input_shape, patch_size=network.patch_size,
            encoder=network.encoder, depth=network.depth, n_components=network.n_components,
            mask_span=network.mask_span, average_shifts=plan.average_shifts,
        )
        # The imputer's network has no bank, nor a parameter for one.
        if network is not None and network.linear != "conditional":
            layout["kernel_features"] = network.kernel_features
    training = plan.training
    loop = dict(batch_size=training.batch_size, max_iter=training.n_epochs,
                device=str(plan.device), n_threads=plan.n_threads)
    if isinstance(training, TrainingConfig):
        loop.update(consistency_weight=training.consistency_weight,
                    latent_weight=training.latent_weight, view_weight=training.view_weight)
    return layout, loop


def publish(estimator, values, prefix=""):
    """Set each of ``values`` (from ``published``) on ``estimator`` as the fitted attribute
    ``f"{prefix}{name}_"``."""
    for name, value in values.items():
        setattr(estimator, f"{prefix}{name}_", value)


def vocabulary_limits(params):
    """The most ordinary tokens that ``params``' vocabulary keeps, and how often a token must
    be seen in the fit corpus to be kept (``max_vocabulary="auto"``, see the constants)."""
    max_size = params["max_vocabulary"]
    if max_size == "auto":
        max_size = (SUBWORD_VOCABULARY if params["analyzer"] in ("bpe", "wordpiece", "unigram")
                    else TOKEN_VOCABULARY_CAP)
    return max_size, WORD_MIN_COUNT if params["analyzer"] == "word" else 1


def resolve_device(device):
    """The ``torch.device`` of the ``device`` parameter: ``"auto"`` is CUDA, then MPS, then the
    CPU; an explicit device must be available, else a ``ValueError`` says why."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {device!r}."
        )
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was asked for, but CUDA is not available.")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was asked for, but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} was asked for, but MPS is not available.")
    return resolved


# -- the network ------------------------------------------------------------------------------

def _network_plan(params, n_features, purpose):
    tabular = params["input_shape"] is None
    shape = validated_input_shape(params["input_shape"], n_features)
    layout = "tabular" if tabular else ("image" if len(shape) == 3 else "window")
    patch = (_auto_patch_size(shape[1:], layout) if params["patch_size"] == "auto"
             else validated_patch_size(params["patch_size"], shape))
    grid = token_grid(shape, patch)
    # Windows and images: "conv" matched "transformer" at a fraction of the cost; tabular
    # features have no order to convolve over.
    encoder = params["encoder"]
    if encoder == "auto":
        encoder = "mlp" if tabular else "conv"
    depth = params["depth"]
    if depth == "auto":
        depth = DEFAULT_DEPTH
        if layout == "window" and encoder == "conv":
            depth = min(WINDOW_MAX_DEPTH, max(DEFAULT_DEPTH, len(conv_dilations(grid))))
    # Imputation keeps a linear part in every layout (it fills gaps in images too); images
    # otherwise have none: a linear path of raw pixels would dominate the representation.
    if purpose == "imputation":
        linear = "conditional"
    else:
        linear = None if layout == "image" else "pca"
    hidden_width = params["hidden_width"]
    n_components, n_linear = _components(params["n_components"], layout, linear, encoder,
                                         hidden_width)
    over_tokens = encoder in TOKEN_ENCODERS
    latent = _latent_weight(params, layout, encoder)
    view = params.get("view_weight", 0.0)
    if not over_tokens and (latent or view):
        raise ValueError(
            "latent_weight and view_weight train an encoder over tokens ('conv' or "
            f"'transformer'); encoder={encoder!r} has none. Set them to 0 or 'auto'."
        )
    return NetworkPlan(
        input_shape=shape, patch_size=patch, layout=layout, encoder=encoder, depth=depth,
        hidden_width=hidden_width, n_components=n_components, linear=linear,
        n_linear=n_linear,
        # Windows of the representation hide spans; tabular rows, images and imputation
        # hide single tokens.
        mask_span=(max(1, round(grid[0] * SPAN_FRACTION))
                   if layout == "window" and linear == "pca" else 1),
        self_supervised=bool(over_tokens and (latent or view)),
        kernel_features=_kernel_features(params.get("kernel_features", 0), shape, layout,
                                         purpose, over_tokens),
    )


def _kernel_features(kernel_features, shape, layout, purpose, over_tokens):
    """The kernel bank's width: about ``WINDOW_KERNEL_FEATURES`` on a window's representation
    with an encoder over tokens (whose block features the bank follows) and "auto", none
    elsewhere; an explicit width only there. Rounded to what the bank gives
    (``nn.kernel_bank_width``)."""
    window = layout == "window" and purpose != "imputation"
    if kernel_features == "auto":
        kernel_features = WINDOW_KERNEL_FEATURES if window and over_tokens else 0
    if kernel_features and not window:
        raise ValueError(
            f"kernel_features={kernel_features!r} convolves windows; this input is laid out "
            f"as {layout} rows. Pass input_shape=(C, L) or set kernel_features=0."
        )
    if kernel_features and not over_tokens:
        raise ValueError(
            f"kernel_features={kernel_features!r} follows the block features of an encoder "
            "over tokens ('conv' or 'transformer'); encoder='mlp' has none. Set "
            "kernel_features=0 or another encoder."
        )
    return kernel_bank_width(shape[1], kernel_features) if kernel_features else 0


def _auto_patch_size(spatial, layout):
    """A window is cut as finely as ``WINDOW_MAX_TOKENS`` tokens allow; an image axis gets
    the square root of its length (neighbouring pixels are so alike that a small hidden patch
    is nearly given by its neighbours); tabular features are each their own token."""
    if layout == "tabular":
        return (1,)
    if layout == "image":
        return tuple(math.isqrt(length) for length in spatial)
    return tuple(math.ceil(length / WINDOW_MAX_TOKENS) for length in spatial)


def _components(n_components, layout, linear, encoder, hidden_width):
    """Width of the representation and how many of its components have a linear path.

    A window keeps at most ``WINDOW_LINEAR_COMPONENTS`` linear components; with "auto" it
    has no others when the encoder appends its block maxima (which hold the local patterns
    that PCA of a window misses), else as many as the encoder pools. An image's "auto" is as
    many components as the encoder pools.
    """
    pooled = (2 if encoder in TOKEN_ENCODERS else 1) * hidden_width
    window = layout == "window" and linear == "pca"
    if n_components == "auto":
        if window:
            n_components = WINDOW_LINEAR_COMPONENTS + (
                0 if encoder in TOKEN_ENCODERS else pooled)
        elif linear is None:
            n_components = pooled
        else:
            n_components = TABULAR_COMPONENTS
    if linear is None:
        return n_components, 0
    return n_components, min(n_components, WINDOW_LINEAR_COMPONENTS) if window else n_components


def _latent_weight(params, layout, encoder):
    latent = params.get("latent_weight", 0.0)
    if latent == "auto":
        return WINDOW_LATENT_WEIGHT if layout == "window" and encoder in TOKEN_ENCODERS else 0.0
    return float(latent)


def probe_start(network_plan):
    """Whether fine-tuning starts its head in closed form (``_linear_probe.solve_head``):
    on windows with a kernel bank, whose features a linear model reads best standardised
    per column and which a head trained from random weights on few labels reads worse
    than ridge regression does (see docs/defaults.md)."""
    return bool(getattr(network_plan, "kernel_features", 0))


def probe_only(params, network_plan, incremental):
    """Whether ``max_iter="auto"`` fine-tunes for no epoch, the head staying at its
    closed-form start (``probe_start``): on windows, where fine-tuning end to end from that
    start lowered the accuracy and raised the error on the training splits of the window
    benchmarks, with few labels and with all (see docs/defaults.md). ``partial_fit`` always
    trains its epoch."""
    return params["max_iter"] == "auto" and not incremental and probe_start(network_plan)


def _average_shifts(params, network):
    average_shifts = params.get("average_shifts", False)
    if average_shifts == "auto":
        return network.layout == "image"
    if average_shifts and network.layout == "tabular":
        raise ValueError(
            "average_shifts=True needs an input_shape: tabular features have no positions "
            "to shift."
        )
    return bool(average_shifts)


# -- the training loops -----------------------------------------------------------------------

def _masked_training(params, data, network, world):
    latent = _latent_weight(params, network.layout, network.encoder)
    view = float(params.get("view_weight", 0.0))
    if (latent or view) and not network.self_supervised:
        raise ValueError(
            "latent_weight and view_weight need the teacher and heads of a network fitted "
            "with them; this model was fitted without. Refit with warm_start=False."
        )
    default_batch_size = MASKED_BATCH_SIZE
    if latent or view:
        default_batch_size = min(MASKED_BATCH_SIZE, max(
            SELF_SUPERVISED_MIN_BATCH, int(data.n_rows * SELF_SUPERVISED_BATCH_FRACTION)))

    def steps(batch_size):
        if network.encoder not in TOKEN_ENCODERS:
            return MASKED_STEPS
        grid = network.grid
        tokens = batch_size * math.prod(grid) * max(1, network.depth)
        if network.encoder == "conv" and len(grid) == 2:
            tokens *= CONV_IMAGE_TOKEN_COST
        return min(MASKED_STEPS, int(TOKEN_BUDGET // tokens))

    batch_size, n_epochs = _batch_and_epochs(params, data, default_batch_size, steps,
                                             MASKED_MIN_EPOCHS, MASKED_MAX_EPOCHS)
    consistency = params["consistency_weight"]
    if consistency == "auto":
        consistency = IMAGE_CONSISTENCY_WEIGHT if network.layout == "image" else 0.0
    return TrainingConfig(
        **_loop_settings(params, batch_size, n_epochs, data.incremental, world),
        mask_ratio=params["mask_ratio"], unmasked_fraction=params["unmasked_fraction"],
        loss=params["loss"], visible_loss_weight=params["visible_loss_weight"],
        consistency_weight=float(consistency), latent_weight=latent, view_weight=view,
    )


def _finetuning_loop(params, data, world):
    batch_size, n_epochs = _batch_and_epochs(params, data, FINETUNE_BATCH_SIZE,
                                             lambda batch_size: FINETUNE_STEPS,
                                             FINETUNE_MIN_EPOCHS, FINETUNE_MAX_EPOCHS)
    if probe_only(params, data.network, data.incremental):
        n_epochs = 0
    return LoopConfig(**_loop_settings(params, batch_size, n_epochs, data.incremental, world))


def _token_network_plan(params, corpus):
    max_length = params["max_length"]
    if max_length == "auto":
        quantile = np.quantile(corpus.lengths, TOKEN_LENGTH_QUANTILE, method="higher")
        max_length = int(min(TOKEN_MAX_LENGTH, max(1, quantile)))
    # On the training part of the splice junctions, pretraining the transformer raised the
    # accuracy of a logistic regression on its features more than the dilated convolutions'
    # (see How the defaults were chosen).
    encoder = "transformer" if params["encoder"] == "auto" else params["encoder"]
    depth = params["depth"]
    if depth == "auto":
        depth = DEFAULT_DEPTH
        if encoder == "conv":
            depth = min(WINDOW_MAX_DEPTH, max(DEFAULT_DEPTH, len(conv_dilations((max_length,)))))
    return TokenNetworkPlan(vocabulary_size=corpus.vocabulary_size, max_length=max_length,
                            encoder=encoder, depth=depth, hidden_width=params["hidden_width"])


def _token_training(params, corpus, network, world):
    def steps(batch_size):
        positions = batch_size * network.max_length * max(1, network.depth)
        return min(TOKEN_STEPS, TOKEN_STEP_BUDGET // positions)

    batch_size, n_epochs = _batch_and_epochs(params, corpus, TOKEN_BATCH_SIZE, steps,
                                             TOKEN_MIN_EPOCHS, TOKEN_MAX_EPOCHS)
    return TokenTrainingConfig(
        **_loop_settings(params, batch_size, n_epochs, corpus.incremental, world),
        mask_ratio=params["mask_ratio"],
    )


def _batch_and_epochs(params, data, default_batch_size, steps, min_epochs, max_epochs):
    """A loop's batch size (``default_batch_size`` for "auto", at most the rows) and epochs
    (one when incremental; for "auto", about ``steps(batch_size)`` steps within the bounds)."""
    batch_size = min(default_batch_size if params["batch_size"] == "auto"
                     else params["batch_size"], data.n_rows)
    n_epochs = params["max_iter"]
    if data.incremental:
        n_epochs = 1
    elif n_epochs == "auto":
        n_epochs = _epochs(steps(batch_size), data.n_rows, batch_size, min_epochs, max_epochs)
    return batch_size, n_epochs


def _epochs(steps, n_rows, batch_size, min_epochs, max_epochs):
    """Epochs that make about ``steps`` optimisation steps, within the bounds."""
    steps_per_epoch = math.ceil(n_rows / batch_size)
    return min(max_epochs, max(min_epochs, math.ceil(steps / steps_per_epoch)))


def _loop_settings(params, batch_size, n_epochs, incremental, world):
    return dict(
        batch_size=batch_size, n_epochs=n_epochs, learning_rate=params["learning_rate_init"],
        weight_decay=params["weight_decay"], tol=params["tol"],
        n_iter_no_change=params["n_iter_no_change"], verbose=params["verbose"],
        precision=params["precision"], schedule=not incremental, world=world,
    )
