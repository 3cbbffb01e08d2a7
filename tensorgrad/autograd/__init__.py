"""Autograd: the engine, grad modes, the Function API, anomaly detection, gradient checks."""
from .anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .engine import backward, grad
from .function import Function, FunctionCtx
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .node import Node, record, record_multi

__all__ = ["detect_anomaly", "is_anomaly_enabled", "backward", "grad", "Function",
           "FunctionCtx", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled",
           "GradcheckError", "gradcheck", "gradgradcheck", "Node", "record", "record_multi"]
