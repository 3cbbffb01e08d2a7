"""Execute the nn chapter notebooks top to bottom (each asserts its own claims: accuracies,
agreement with hand-written numpy, effects of initialization/regularization/batch norm)."""
import pytest
from _notebooks import run_notebook

NOTEBOOKS = ["01_logistic_regression.ipynb", "02_shallow_and_deep_nets.ipynb",
             "04_regularization.ipynb", "06b_batch_norm.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    # small matrices: one BLAS thread avoids oversubscription on a busy 2-core machine
    run_notebook(name, env={"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
