"""``torch.utils.data.distributed``'s names (re-exported from ``tensorgrad.data``)."""
from ...data.distributed import DistributedSampler  # noqa: F401
