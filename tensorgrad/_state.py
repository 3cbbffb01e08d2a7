"""The autograd flags (grad mode, anomaly mode, scope, dropout switch), read on every op.

Thread-local, as in PyTorch: ``no_grad`` in one thread (or a backward pass running there)
does not stop recording in another."""
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True    # grad mode: record ops into the graph
        self.anomaly = False   # anomaly mode: check every forward/backward value for NaN/inf
        self.scope = None      # the innermost open viz scope; record() tags new nodes with it
        self.dropout = True    # False while check_gradients runs: dropout is the identity


STATE = _State()
