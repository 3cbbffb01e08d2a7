"""The global autograd flags (grad mode, anomaly mode), read on every op."""


class _State:
    __slots__ = ("enabled", "anomaly")

    def __init__(self):
        self.enabled = True
        self.anomaly = False


STATE = _State()
