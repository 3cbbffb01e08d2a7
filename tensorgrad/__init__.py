"""tensorgrad: a reverse-mode autograd engine."""
__version__ = "0.1.0"
