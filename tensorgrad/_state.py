"""The autograd flags (grad mode, anomaly mode, scope, dropout switch), read on every op.

Thread-local, as in PyTorch: ``no_grad`` in one thread (or a backward pass running there)
does not stop recording in another."""
import threading


class _State(threading.local):
    def __init__(self):
        self.enabled = True    # grad mode: record ops into the graph
        self._anomaly = False  # anomaly mode: check every forward/backward value for NaN/inf
        self._scope = None     # the innermost open viz scope; record() tags new nodes with it
        self.watch = False     # anomaly or scope: record() has more to do (one check when not)
        self.dropout = True    # False while check_gradients runs: dropout is the identity

    @property
    def anomaly(self):
        return self._anomaly

    @anomaly.setter
    def anomaly(self, value):
        self._anomaly = bool(value)
        self.watch = self._anomaly or self._scope is not None

    @property
    def scope(self):
        return self._scope

    @scope.setter
    def scope(self, value):
        self._scope = value
        self.watch = self._anomaly or value is not None


STATE = _State()
