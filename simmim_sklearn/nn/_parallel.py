"""Data-parallel training in the loop: which process this is, its share of each batch, the
network wrapped in ``DistributedDataParallel`` and the sums that every process must agree on.

The communication is torch.distributed's (the process group that ``_distributed`` sets up);
nothing here starts or ends a group. For a ``World`` of one process the loop's hooks here
(``data_parallel``, ``mean_loss_backward``, ``summed``, ``broadcast_state``) compute what the
single-process loop always did, so it runs exactly as before.
"""

import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class World:
    """The processes training one model: this one's ``rank`` among ``size``."""

    rank: int = 0
    size: int = 1

    @property
    def distributed(self):
        return self.size > 1


SINGLE = World()


@dataclass
class Shard:
    """One process's share of a batch source: ``world`` says which, and ``generator``, seeded
    alike in every process, draws the order of the rows shared by all of them (None where
    the rows are not shuffled: validation)."""

    world: World
    generator: torch.Generator | None


def split_sizes(n_rows, size):
    """Sizes of ``size`` contiguous parts of ``n_rows`` rows, as equal as can be, the larger
    first (as ``numpy.array_split``)."""
    base, extra = divmod(n_rows, size)
    return [base + (rank < extra) for rank in range(size)]


def share_bounds(n_rows, world):
    """Start and stop of the ``world.rank``-th of the contiguous parts of ``n_rows`` rows."""
    sizes = split_sizes(n_rows, world.size)
    start = sum(sizes[:world.rank])
    return start, start + sizes[world.rank]


def global_batches(n_rows, batch_size, world):
    """Start and stop of each global batch of ``batch_size`` among ``n_rows`` rows. Over
    several processes, a last batch with fewer rows than processes joins the one before, so
    that every process has rows in every step (given at least one row per process)."""
    bounds = [(start, min(start + batch_size, n_rows))
              for start in range(0, n_rows, batch_size)]
    if world.distributed and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < world.size:
        bounds[-2:] = [(bounds[-2][0], n_rows)]
    return bounds


def shared_batches(n_rows, batch_size, shuffle, device, shard):
    """This process's rows of each global batch (``global_batches``) among ``n_rows``: slices
    in order, or index tensors of one shuffle drawn by ``shard.generator`` (the same in every
    process) when ``shuffle``. Each global batch is cut into contiguous parts, one per
    process, so that the processes together see every row once per epoch, in the batches
    that one process with the same ``batch_size`` would see. Unshuffled (scoring, where the
    processes need not take the same steps), empty parts are left out."""
    order = None
    if shuffle:
        order = torch.randperm(n_rows, generator=shard.generator, device=device)
    for start, stop in global_batches(n_rows, batch_size, shard.world):
        first, last = share_bounds(stop - start, shard.world)
        if not shuffle and first == last:
            continue
        rows = slice(start + first, start + last)
        yield order[rows] if order is not None else rows


def share_of_batches(n_rows, batch_size, world):
    """The sizes of this process's parts of the global batches of ``batch_size`` among
    ``n_rows`` rows (``shared_batches``'s, without the rows)."""
    return [split_sizes(stop - start, world.size)[world.rank]
            for start, stop in global_batches(n_rows, batch_size, world)]


class _BatchLoss(torch.nn.Module):
    """A loop's ``batch_loss`` as the forward pass of a module over ``network``: DDP reduces
    the gradients of what runs through a module's forward."""

    def __init__(self, network, batch_loss):
        super().__init__()
        self.network = network
        self.batch_loss = batch_loss

    def forward(self, batch):
        return self.batch_loss(batch)


def data_parallel(network, batch_loss, world, device):
    """``batch_loss`` run through ``DistributedDataParallel`` over ``network`` where ``world``
    has several processes (``batch_loss`` itself otherwise). DDP broadcasts rank 0's weights
    and buffers when it wraps them, so every process starts from the same model, and averages
    the gradients over the processes in ``backward``."""
    if not world.distributed:
        return batch_loss
    # The gradients of 1 x 1 convolutions come out with other strides than DDP's buckets, which
    # then copy them: a small cost that DDP would warn of at every fit.
    warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
    # Some parameters get no gradient from some batches (the mask embedding where nothing is
    # hidden, the consistency term's pass where no row is masked): DDP must look for them.
    return DistributedDataParallel(
        _BatchLoss(network, batch_loss), find_unused_parameters=True,
        device_ids=[device.index] if device.type == "cuda" else None,
    )


def mean_loss_backward(error_sum, weight_sum, world, parameters):
    """Gradients of ``parameters`` of the batch's weighted mean loss, ``error_sum`` over
    ``weight_sum``; over several processes, of the global batch's: the sum of every process's
    error sum (DDP averages the gradients of ``world.size`` times this process's) over the
    sum of their weights, which is added up while the backward pass runs."""
    if not world.distributed:
        (error_sum / weight_sum.clamp(min=1.0)).backward()
        return
    total_weight = weight_sum.detach().clone()
    # Started before the backward pass and waited for after it: the processes do not stop
    # for this sum at every step.
    pending = dist.all_reduce(total_weight, async_op=True)
    (error_sum * world.size).backward()
    pending.wait()
    gradients = [parameter.grad for parameter in parameters if parameter.grad is not None]
    torch._foreach_div_(gradients, total_weight.clamp(min=1.0))


def summed(values, world):
    """``values`` (a list of numbers or 0-d tensors) summed over the processes, as floats: the
    same in every process, so that decisions taken on them (early stopping) agree. Called
    once per epoch, not per step."""
    if not world.distributed:
        return [float(value) for value in values]
    # On the CPU where the group reaches it (gloo), else on this process's GPU (a group of
    # NCCL alone): the same device in every process, whatever device its values are on (a
    # process without validation rows holds plain zeros).
    device = torch.device("cpu")
    if "gloo" not in dist.get_backend() and torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())
    stacked = torch.tensor([float(value) for value in values], dtype=torch.float64,
                           device=device)
    dist.all_reduce(stacked)
    return stacked.tolist()


@torch.no_grad()
def broadcast_state(network, world):
    """Copy rank 0's weights and buffers into every process's ``network``: the model every
    process holds after a fit is rank 0's, bit for bit, even where kernels are not
    deterministic."""
    if not world.distributed:
        return
    for tensor in network.state_dict().values():
        dist.broadcast(tensor, 0)
