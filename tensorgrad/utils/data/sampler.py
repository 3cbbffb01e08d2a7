"""``torch.utils.data.sampler``'s names (re-exported from ``tensorgrad.data``)."""
from ...data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa
                             SubsetRandomSampler, WeightedRandomSampler)
