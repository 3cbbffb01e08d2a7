"""A Function with a deliberately wrong backward, for the tests of the gradient checkers."""
import tensorgrad as tg


def square_with_backward(factor):
    """x ↦ x² whose backward returns ``factor · x · g`` (the true derivative is 2x)."""
    class Square(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * factor * x

    return Square
