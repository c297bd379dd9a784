"""
==============================================
Training one model on several GPUs or machines
==============================================

The script a user runs on one machine, started by ``torchrun``, trains one model with
PyTorch's :class:`~torch.nn.parallel.DistributedDataParallel`: each process reads its share
of the rows and the processes average their gradients at every step. Nothing in the script
says so: the estimators' ``distributed="auto"`` follows the environment that ``torchrun``
sets. Run it in two processes on one machine (CPUs or GPUs)::

    torchrun --standalone --nproc_per_node=2 distributed_training.py

or on two machines of a SLURM job (see the page "Training on several GPUs or machines" of
the documentation for the batch script)::

    srun torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d \\
        --rdzv-endpoint="$HEAD_NODE:29500" distributed_training.py

Run as a plain ``python distributed_training.py``, it trains in one process. This script is
not run when the documentation is built.
"""

import os

import joblib
import numpy as np
from sklearn.datasets import load_digits

from simmim_sklearn import SimMIMTransformer

# torchrun numbers the processes; rank 0 is the one that writes files and prints.
RANK = int(os.environ.get("RANK", "0"))


def main():
    # Every process is given the whole data set. A memory-mapped file (or an HDF5, zarr or
    # dask array) is read in parts, each process reading only its share of the rows:
    # X = np.load("rows.npy", mmap_mode="r")
    X = load_digits().data.astype(np.float32)

    # batch_size is the batch of all processes together: the same steps as one process.
    model = SimMIMTransformer(input_shape=(1, 8, 8), max_iter=20, batch_size=128,
                              early_stopping=True, random_state=0, verbose=1).fit(X)

    if RANK == 0:
        print(f"Trained by {model.world_size_} process(es) for {model.n_iter_} epochs; "
              f"validation loss {-model.best_validation_score_:.4f}.")
        # Every process holds the same model; rank 0 saves it. It loads on any machine,
        # CPU only included, and transforms there in one process.
        joblib.dump(model, "simmim_digits.joblib")


if __name__ == "__main__":
    main()
