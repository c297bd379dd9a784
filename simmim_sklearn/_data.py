"""Rows: their validation, with errors that say how to pass them, and, for training, a whole
in-memory array as one tensor, or an out-of-core array (memmap, HDF5, zarr, dask) read and
validated one chunk at a time so that it is never copied whole."""

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from .nn._parallel import World, global_batches, share_of_batches, shared_batches
from .nn._training import batch_indices

# Rows read at once from an out-of-core array (16 MiB of float32 at 64 features): large enough
# for fast sequential reads, small enough to bound the memory a pass over the data needs.
CHUNK_ROWS = 65_536


def is_out_of_core(X):
    """Whether ``X`` is read in chunks: a ``numpy.memmap`` or a sliceable 2-D array-like that
    is not a numpy array, a DataFrame or a sparse matrix (``h5py``, ``zarr``, ``dask``).
    """
    if isinstance(X, np.memmap):
        return True
    if isinstance(X, (np.ndarray, list, tuple)) or hasattr(X, "iloc") or sp.issparse(X):
        return False
    return all(hasattr(X, name) for name in ("shape", "dtype", "__getitem__")) and len(
        X.shape
    ) == 2


def validate_rows(estimator, X, y="no_validation", **check_params):
    """``validate_data`` for the estimators that read flat rows of numbers. Where ``X`` is not
    that (a 3-D array of windows, a DataFrame with a text column), the error says how to make it
    so; valid ``X`` is validated exactly as ``validate_data`` does."""
    try:
        return validate_data(estimator, X, y, **check_params)
    except (ValueError, TypeError) as error:
        # Looked into only once validation has failed: valid rows cost nothing more.
        shape = _shape(X)
        if shape is not None:
            check_flat_rows(shape)
        _check_numeric_columns(X, error)
        raise


def check_flat_rows(shape):
    """Raise a ValueError saying how to flatten an array of ``shape`` that has more than 2
    axes (windows or images, one per sample) into the flat rows every estimator takes."""
    if len(shape) <= 2:
        return
    shape = tuple(shape)
    row_shape = shape[1:]
    layout = (f"input_shape={row_shape}" if len(row_shape) <= 3
              else "input_shape=(C, L) for windows or (C, H, W) for images")
    raise ValueError(
        f"X has {len(shape)} dimensions, shape {shape}; SimMIM estimators take flat rows: pass "
        f"X.reshape({shape[0]}, -1) and {layout}."
    )


def _shape(X):
    """The shape of ``X``, or None where it has none (a ragged list)."""
    try:
        return np.shape(X)
    except ValueError:
        return None


def _check_numeric_columns(X, error):
    """Raise a ValueError, from ``error``, naming the columns of a DataFrame ``X`` that cannot
    be read as numbers, if there are any."""
    if not hasattr(X, "columns"):
        return
    # pandas' items() keeps columns that share a name apart; polars has no such columns.
    columns = X.items() if hasattr(X, "items") else ((name, X[name]) for name in X.columns)
    non_numeric = []
    for name, column in columns:
        # Numeric dtypes convert; complex ones keep scikit-learn's own message.
        if getattr(column.dtype, "kind", None) in ("b", "i", "u", "f", "c"):
            continue
        try:
            np.asarray(column, dtype=np.float64)
        except (ValueError, TypeError):
            non_numeric.append((name, column.dtype))
    if not non_numeric:
        return
    names = ", ".join(repr(name) for name, _ in non_numeric)
    dtypes = ", ".join(str(dtype) for _, dtype in non_numeric)
    if len(non_numeric) == 1:
        what = f"Column {names} of X is not numeric (dtype {dtypes}); encode it first"
    else:
        what = f"Columns {names} of X are not numeric (dtypes {dtypes}); encode them first"
    raise ValueError(f"{what}, e.g. with OneHotEncoder in a ColumnTransformer.") from error


def check_rows(block):
    """Validate a block of rows (numeric, finite or NaN) as a float32 or float64 array."""
    return check_array(block, dtype=[np.float32, np.float64], ensure_all_finite="allow-nan",
                       input_name="X")


def row_blocks(X, block_rows=None, start=0, stop=None):
    """Yield blocks of ``block_rows`` (default ``CHUNK_ROWS``) rows of ``X`` (of its rows
    ``start:stop`` where given), in order; those of an out-of-core ``X`` validated as they are
    read (in-memory rows were validated whole).
    """
    block_rows = block_rows or CHUNK_ROWS
    stop = len(X) if stop is None else stop
    out_of_core = is_out_of_core(X)
    for first in range(start, stop, block_rows):
        block = X[first:min(first + block_rows, stop)]
        yield check_rows(block) if out_of_core else block


def _float32_tensor(block, device, pin):
    # A writable float32 copy where needed: read-only memmap pages cannot back a tensor.
    tensor = torch.from_numpy(np.require(block, np.float32, ["C", "W"]))
    if pin and device.type == "cuda":
        # Page-locked memory lets the repeated chunk copies to the GPU run asynchronously.
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)


class TensorRows:
    """In-memory rows as one float32 tensor on ``device``; an epoch is one global shuffle.
    With a ``shard`` (data-parallel training), batches are this process's parts of the
    global batches (``nn._parallel.shared_batches``)."""

    def __init__(self, X, device, pin=False, shard=None):
        self.X = _float32_tensor(X, device, pin)
        self.device = device
        self.shard = shard

    def _batch_rows(self, batch_size, generator):
        if self.shard is None:
            return batch_indices(len(self.X), batch_size, generator, self.device)
        return shared_batches(len(self.X), batch_size, generator is not None, self.device,
                              self.shard)

    def __len__(self):
        return len(self.X)

    def n_batches(self, batch_size):
        if self.shard is not None:
            return len(global_batches(len(self.X), batch_size, self.shard.world))
        return math.ceil(len(self.X) / batch_size)

    def batches(self, batch_size, generator=None):
        """Blocks of ``batch_size`` rows, shuffled when a ``generator`` is given."""
        for rows in self._batch_rows(batch_size, generator):
            yield self.X[rows]


@dataclass
class TaskBatch:
    """A block of fine-tuning rows: the rows, their targets (class indices or standardised
    targets, NaN where unknown), their loss weights and, where the network has a kernel bank,
    the rows' bank features (fixed: computed once, not at every epoch), float32 tensors on
    one device (the rows int64 for symbol ids)."""

    x: torch.Tensor
    targets: torch.Tensor
    weight: torch.Tensor
    bank_features: torch.Tensor | None = None


class TaskRows(TensorRows):
    """In-memory fine-tuning rows (float rows, or integer symbol ids) with their targets, of
    shape (n_rows, n_targets), and their weights, of shape (n_rows,): ``TensorRows`` whose
    batches are ``TaskBatch``es, shuffled together by the same draws."""

    def __init__(self, X, targets, weight, device, shard=None, bank_features=None):
        if X.dtype.kind in "iu":
            # Symbol ids of token sequences stay integers: the network looks them up.
            self.X = torch.from_numpy(X.astype(np.int64)).to(device)
            self.device, self.shard = device, shard
        else:
            super().__init__(X, device, shard=shard)
        self.targets = _float32_tensor(targets, device, pin=False)
        self.weight = _float32_tensor(weight, device, pin=False)
        self.bank_features = (None if bank_features is None
                              else _float32_tensor(bank_features, device, pin=False))

    def batches(self, batch_size, generator=None):
        """``TaskBatch``es of ``batch_size`` rows, shuffled when a ``generator`` is given."""
        for rows in self._batch_rows(batch_size, generator):
            bank = None if self.bank_features is None else self.bank_features[rows]
            yield TaskBatch(self.X[rows], self.targets[rows], self.weight[rows], bank)


class ChunkedRows:
    """Rows of an out-of-core array, validated and copied to ``device`` one chunk at a time;
    an epoch visits the chunks in random order and shuffles the rows within each chunk.

    With a ``shard`` (data-parallel training), each process reads only its contiguous part
    of each chunk, as many rows as its parts of the chunk's global batches hold, and
    shuffles them with its own ``generator``; the chunk order is drawn alike in every
    process by ``shard.generator``.
    """

    def __init__(self, X, device, indices=None, shard=None):
        self.X, self.device, self.indices, self.chunk_rows = X, device, indices, CHUNK_ROWS
        self.n_rows = len(X) if indices is None else len(indices)
        self.shard = shard

    def __len__(self):
        return self.n_rows

    def _chunk_sizes(self):
        full, rest = divmod(self.n_rows, self.chunk_rows)
        sizes = [self.chunk_rows] * full + ([rest] if rest else [])
        if self.shard is not None and full and 0 < rest < self.shard.world.size:
            # A last chunk with fewer rows than processes joins the one before (see
            # global_batches).
            sizes[-2:] = [self.chunk_rows + rest]
        return sizes

    def n_batches(self, batch_size):
        if self.shard is not None:
            return sum(len(global_batches(size, batch_size, self.shard.world))
                       for size in self._chunk_sizes())
        return sum(math.ceil(size / batch_size) for size in self._chunk_sizes())

    def batches(self, batch_size, generator=None):
        """Blocks of at most ``batch_size`` rows, shuffled when a ``generator`` is given."""
        sizes = self._chunk_sizes()
        n_chunks = len(sizes)
        chunks = range(n_chunks)
        # One chunk needs no chunk order: its batches then match TensorRows' exactly.
        if generator is not None and n_chunks > 1:
            order = generator if self.shard is None else self.shard.generator
            chunks = torch.randperm(n_chunks, generator=order, device=self.device).tolist()
        for chunk in chunks:
            start = chunk * self.chunk_rows
            stop = start + sizes[chunk]
            if self.shard is not None:
                yield from self._shared_batches(start, stop, batch_size, generator)
                continue
            rows = TensorRows(check_rows(self._read(start, stop)), self.device, pin=True)
            yield from rows.batches(batch_size, generator)

    def _read(self, start, stop):
        rows = slice(start, stop)
        return self.X[rows] if self.indices is None else self.X[self.indices[rows]]

    def _shared_batches(self, start, stop, batch_size, generator):
        """This process's parts of the global batches of the chunk of rows ``start:stop``."""
        world = self.shard.world
        totals = [sum(share_of_batches(stop - start, batch_size, World(rank, world.size)))
                  for rank in range(world.size)]
        first = start + sum(totals[:world.rank])
        sizes = share_of_batches(stop - start, batch_size, world)
        if totals[world.rank] == 0:
            # Only in scoring (fewer rows than processes): training has a row in every
            # process (make_plan).
            return
        X = TensorRows(check_rows(self._read(first, first + totals[world.rank])), self.device,
                       pin=True).X
        order = (torch.randperm(len(X), generator=generator, device=self.device)
                 if generator is not None else torch.arange(len(X), device=self.device))
        for part in torch.split(order, sizes):
            # Scoring leaves out empty parts, as shared_batches does.
            if len(part):
                yield X[part]


def training_rows(X, device, indices=None, shard=None):
    """The rows of ``X`` (those at sorted ``indices`` if given) as a batch source, of which
    this process reads only its share where a ``shard`` is given."""
    if is_out_of_core(X):
        return ChunkedRows(X, device, indices, shard)
    return TensorRows(X if indices is None else X[indices], device, shard=shard)
