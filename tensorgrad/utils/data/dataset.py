"""``torch.utils.data.dataset``'s names (re-exported from ``tensorgrad.data``)."""
from ...data.dataset import Dataset, IterableDataset, Subset, TensorDataset  # noqa: F401
from ...data.combine import ChainDataset, ConcatDataset  # noqa: F401
from ...data.split import random_split  # noqa: F401
