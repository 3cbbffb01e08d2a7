"""The autograd flags (grad mode, anomaly mode), read on every op.

Thread-local, as in PyTorch: ``no_grad`` in one thread (or a backward pass running there)
does not stop recording in another."""
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True
        self.anomaly = False


STATE = _State()
