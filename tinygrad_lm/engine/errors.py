"""The engine's error types.

Every error a user can trigger through bad input is one of these, raised where the user
called, with a message that names the op, the shapes or dtypes involved, and the fix.
They subclass the built-in exception a Python programmer would expect (a shape problem is a
ValueError, a dtype problem a TypeError), so ``except ValueError`` keeps working.
"""


class ShapeError(ValueError):
    """Shapes that do not fit the op: not broadcastable, wrong inner dimension, bad axis."""


class DTypeError(TypeError):
    """A dtype the op cannot take, or a mix of dtypes that would silently lose precision."""


class GraphError(RuntimeError):
    """Misuse of the autograd graph: backward twice through freed buffers, non-scalar root."""


class BackwardError(RuntimeError):
    """An op's backward broke its contract (wrong gradient shape or dtype). A library bug."""


class DeviceError(RuntimeError):
    """A device that is unknown or unavailable, or arrays from two devices meeting in one op."""
