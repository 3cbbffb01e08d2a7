"""``torch.utils.data.dataloader``'s names (re-exported from ``tensorgrad.data``)."""
from ...data.dataset import DataLoader, default_collate, default_convert  # noqa: F401
from ...data.workers import get_worker_info  # noqa: F401
