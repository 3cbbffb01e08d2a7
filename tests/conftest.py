"""Shared fixtures for the engine tests (kept minimal).

torch is a test oracle only: tests that need it import it through ``torch_mod`` so a missing
torch skips them with a clear reason instead of failing at collection.
"""
import numpy as np
import pytest


@pytest.fixture
def torch_mod():
    return pytest.importorskip("torch")


@pytest.fixture
def rng():
    """A seeded numpy Generator (float64 work)."""
    return np.random.default_rng(1234)
