"""The autograd flags (grad mode, anomaly mode, scope, dropout switch), read on every op.

Thread-local, as in PyTorch: ``no_grad`` in one thread (or a backward pass running there)
does not stop recording in another. ``COUNTS`` says whether any thread is off the defaults, so
an op in a program where none is skips the thread-local reads."""
import threading


class _Counts:
    """Over all threads: how many have ``watch`` on, and how many are not in the default grad
    mode (``enabled`` is not True). ``record()`` reads these plain counters first and the
    thread-local flags only when one is not zero: a threading.local attribute costs about four
    times a plain one, on every op. (A thread that ends with a flag off its default leaves its
    count up: ops then read the thread-local flags, which is still right.)"""
    __slots__ = ("watching", "not_recording", "lock")

    def __init__(self):
        self.watching = 0
        self.not_recording = 0
        self.lock = threading.Lock()

    def add(self, name, step):
        with self.lock:
            setattr(self, name, getattr(self, name) + step)


COUNTS = _Counts()


class _State(threading.local):
    def __init__(self):
        self.enabled = True    # grad mode: True records ops; False: no_grad; None: inference
        self._anomaly = False  # anomaly mode: check every forward/backward value for NaN/inf
        self._scope = None     # the innermost open viz scope; record() tags new nodes with it
        self.watch = False     # anomaly or scope: record() has more to do (one check when not)
        self.dropout = True    # False while check_gradients runs: dropout is the identity

    def __setattr__(self, name, value):
        # keeps COUNTS up to date (writes are rare; reads stay plain thread-local lookups)
        if name == "enabled":
            was = getattr(self, "enabled", True) is True
            if was != (value is True):
                COUNTS.add("not_recording", 1 if was else -1)
        elif name == "watch":
            was = getattr(self, "watch", False)
            if was != value:
                COUNTS.add("watching", 1 if value else -1)
        super().__setattr__(name, value)

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
