"""Estimator settings that keep the tests' models small and quick, in one place.

They are plain constants, not fixtures: ``@pytest.mark.parametrize`` and
``parametrize_with_checks`` build their arguments when a file is collected, before any
fixture exists. Test files import them as ``from fast_settings import TINY``: pytest's
default "prepend" import mode puts this folder (which has no ``__init__.py``) on
``sys.path`` before it imports ``conftest.py`` and the test files, xdist workers included.
The data sets the tests share are fixtures in ``conftest.py``.
"""

# The network's size and epochs only, which every estimator takes (classifiers have no
# n_components): 3 epochs of an 8-wide network with one block.
TINY_NETWORK = dict(hidden_width=8, depth=1, max_iter=3, random_state=0)

# The smallest model with a fixed representation of 3 components: scikit-learn's checks,
# out-of-core data, devices.
TINY = dict(TINY_NETWORK, n_components=3)

# Two blocks over two epochs: windows and images, and the self-supervised terms.
TINY_TWO_BLOCKS = dict(TINY, depth=2, max_iter=2)

# The supervised checks ask for a fit good enough to separate blobs: 30 full-batch fine-tuning
# epochs at a high learning rate.
TINY_FINETUNED = dict(hidden_width=8, depth=1, pretrain_iter=2, max_iter=30, batch_size=256,
                      learning_rate_init=1e-2, random_state=0)

# 5 epochs of a 16-wide network with one block: SimMIMTransformer's behaviour.
FAST = dict(hidden_width=16, depth=1, max_iter=5, random_state=0)

# 4 window features from 5 epochs of a 16-wide network of depth "auto" (the default, which
# gives "conv" on windows enough blocks to span them): forecasting.
FAST_WINDOW_FEATURES = dict(n_components=4, hidden_width=16, max_iter=5, random_state=0)

# FAST with 4 components trained for 20 epochs: enough to learn low-rank rows for imputing.
SMALL = dict(FAST, n_components=4, max_iter=20)

# FAST with 2 epochs of pretraining before 20 of fine-tuning: classifiers and regressors.
FINETUNING = dict(FAST, pretrain_iter=2, max_iter=20)
