"""A scalar autograd engine: chapter 1 of the book, and the oracle the tensor engine is tested against.

A `Value` holds one float (`data`) and, after `backward()` on some output, the derivative of that
output with respect to it (`grad`). Every operation on Values returns a new Value that remembers
its inputs (`_prev`), the label of the op (`_op`), and the local derivatives
d(result)/d(input), one per input (`_local_grads`), computed by hand in the forward pass.
`backward()` then applies the chain rule once over the whole graph:

    grad[input] += d(result)/d(input) * grad[result]

visiting results before their inputs (a reverse topological order), so that each `grad[result]`
is complete before it is handed down. The graph is walked with an explicit stack, never by
recursion, so a chain of 100,000 operations is fine.

Conventions shared with the tensor engine, so the two can be compared value for value:
- relu'(0) = 0 and abs'(0) = 0 (the derivative is taken from the side that is flat or zero).
- maximum/minimum at a tie give half of the gradient to each input.
- sqrt'(0) and (x ** n)'(0) for 0 < n < 1 are +inf, as in IEEE arithmetic.
- Gradients accumulate: a Value used twice collects both contributions, and a second
  `backward()` adds to the first. Set `grad = 0.0` yourself before a fresh pass.

Left out on purpose (the tensor engine has them): tensors and broadcasting, dtypes and devices,
freeing the graph after backward, no_grad, and higher-order derivatives (this engine is
first-order: the local derivatives are plain floats, not Values, so they cannot be differentiated).
"""

import math

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _as_number(x, op):
    """Return `x` as a float, or raise a TypeError that names the op and the offending value."""
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise TypeError(
        f"Value.{op}: expected a real number (int or float), got {type(x).__name__} {x!r}; "
        "convert it with float(...) first"
    )


def _as_value(x, op):
    """Return `x` if it is a Value, else wrap a plain number as a constant leaf Value."""
    return x if isinstance(x, Value) else Value(_as_number(x, op))


def _checked_pow(base, exponent, op):
    """base ** exponent for floats, with a clear error instead of Python's bare OverflowError."""
    try:
        return base**exponent
    except OverflowError:
        raise OverflowError(f"Value.{op}: {base!r} ** {exponent!r} is too large for a float") from None


class Value:
    """One real number in a computation graph.

    Attributes:
        data: the number itself, a float.
        grad: d(output)/d(self) for the output(s) `backward()` was called on; starts at 0.0.
        _prev: the Values this one was computed from, in argument order (x * x lists x twice).
        _local_grads: d(self)/d(child) for each child in `_prev`, as floats.
        _op: label of the operation that produced this Value ("" for a leaf).
    """

    __slots__ = ("_local_grads", "_op", "_prev", "data", "grad")

    def __init__(self, data, _prev=(), _local_grads=(), _op=""):
        self.data = _as_number(data, "__init__")
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._local_grads = tuple(_local_grads)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data!r}, grad={self.grad!r})"

    # ---- arithmetic -------------------------------------------------------------------------

    def __add__(self, other):
        other = _as_value(other, "__add__")
        # d(a + b)/da = 1,  d(a + b)/db = 1
        return Value(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __sub__(self, other):
        other = _as_value(other, "__sub__")
        # d(a - b)/da = 1,  d(a - b)/db = -1
        return Value(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def __mul__(self, other):
        other = _as_value(other, "__mul__")
        # d(a * b)/da = b,  d(a * b)/db = a
        return Value(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __truediv__(self, other):
        other = _as_value(other, "__truediv__")
        if other.data == 0.0:
            raise ZeroDivisionError(f"Value.__truediv__: dividing {self.data!r} by zero")
        out = self.data / other.data
        # d(a / b)/da = 1 / b,  d(a / b)/db = -a / b**2 = -(a / b) / b
        return Value(out, (self, other), (1.0 / other.data, -out / other.data), "/")

    def __neg__(self):
        # d(-a)/da = -1
        return Value(-self.data, (self,), (-1.0,), "neg")

    def __pow__(self, exponent):
        """self ** exponent: a number exponent for any base it is real for, a Value one for base > 0."""
        if isinstance(exponent, Value):
            return self._pow_value(exponent)
        x, n = self.data, _as_number(exponent, "__pow__")
        if x < 0.0 and not n.is_integer():
            raise ValueError(f"Value.__pow__: {x!r} ** {n!r} is not a real number (negative base, "
                             "non-integer exponent)")
        if x == 0.0 and n < 0.0:
            raise ZeroDivisionError(f"Value.__pow__: 0.0 ** {n!r} divides by zero")
        out = _checked_pow(x, n, "__pow__")
        # d(x ** n)/dx = n * x ** (n - 1); at x = 0 that is 0 for n = 0 (a constant), +inf for 0 < n < 1
        if x == 0.0 and n < 1.0:
            slope = 0.0 if n == 0.0 else math.inf
        else:
            slope = n * _checked_pow(x, n - 1.0, "__pow__")
        return Value(out, (self,), (slope,), f"**{n:g}")

    def _pow_value(self, exponent):
        x, y = self.data, exponent.data
        if x <= 0.0:
            raise ValueError(f"Value.__pow__: a Value exponent needs a base > 0, got base {x!r}; "
                             "use a plain number exponent for zero or negative bases")
        out = _checked_pow(x, y, "__pow__")
        # x ** y = exp(y * log x):  d/dx = y * x ** (y - 1) = y * out / x,  d/dy = out * log(x)
        return Value(out, (self, exponent), (y * out / x, out * math.log(x)), "**")

    def __radd__(self, other):  # other + self
        return _as_value(other, "__radd__") + self

    def __rsub__(self, other):  # other - self
        return _as_value(other, "__rsub__") - self

    def __rmul__(self, other):  # other * self
        return _as_value(other, "__rmul__") * self

    def __rtruediv__(self, other):  # other / self
        return _as_value(other, "__rtruediv__") / self

    def __rpow__(self, base):  # base ** self, base > 0
        return _as_value(base, "__rpow__")._pow_value(self)

    # ---- elementary functions ---------------------------------------------------------------

    def exp(self):
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"Value.exp: exp({self.data!r}) is too large for a float "
                                "(needs data <= 709.78)") from None
        # d(e ** x)/dx = e ** x
        return Value(out, (self,), (out,), "exp")

    def log(self):
        if self.data <= 0.0:
            raise ValueError(f"Value.log: needs data > 0, got {self.data!r}")
        # d(log x)/dx = 1 / x
        return Value(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def sqrt(self):
        if self.data < 0.0:
            raise ValueError(f"Value.sqrt: needs data >= 0, got {self.data!r}")
        out = math.sqrt(self.data)
        # d(sqrt x)/dx = 1 / (2 sqrt x), +inf at x = 0
        return Value(out, (self,), (0.5 / out if out > 0.0 else math.inf,), "sqrt")

    def tanh(self):
        t = math.tanh(self.data)
        # d(tanh x)/dx = 1 - tanh(x) ** 2
        return Value(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self):
        x = self.data
        # s(x) = 1 / (1 + e ** -x), written so that exp never sees a large positive argument
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0.0 else math.exp(x) / (1.0 + math.exp(x))
        # d s(x)/dx = s(x) * (1 - s(x))
        return Value(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self):
        positive = self.data > 0.0
        # d relu(x)/dx = 1 for x > 0, 0 for x <= 0 (0 at the kink)
        return Value(self.data if positive else 0.0, (self,), (1.0 if positive else 0.0,), "relu")

    def abs(self):
        x = self.data
        # d|x|/dx = sign(x): 1 for x > 0, -1 for x < 0, 0 at the kink
        sign = 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0
        return Value(abs(x), (self,), (sign,), "abs")

    def erf(self):
        x = self.data
        # d erf(x)/dx = 2 / sqrt(pi) * e ** (-x ** 2)
        return Value(math.erf(x), (self,), (_TWO_OVER_SQRT_PI * math.exp(-x * x),), "erf")

    def maximum(self, other):
        other = _as_value(other, "maximum")
        a, b = self.data, other.data
        # d max(a, b)/da = 1 if a > b, 0 if a < b, 1/2 at a tie (and d/db gets the rest)
        share = 1.0 if a > b else 0.0 if a < b else 0.5
        return Value(max(a, b), (self, other), (share, 1.0 - share), "max")

    def minimum(self, other):
        other = _as_value(other, "minimum")
        a, b = self.data, other.data
        # d min(a, b)/da = 1 if a < b, 0 if a > b, 1/2 at a tie (and d/db gets the rest)
        share = 1.0 if a < b else 0.0 if a > b else 0.5
        return Value(min(a, b), (self, other), (share, 1.0 - share), "min")

    # ---- the backward pass ------------------------------------------------------------------

    def topological_order(self):
        """Every Value that `self` depends on, each once, inputs before the Values made from them.

        A depth-first search with an explicit stack. Each entry is (node, expanded): the first
        time a node is popped it is pushed back as expanded, above its children; it reaches the
        output list only when popped again, after all of its children have been emitted.
        """
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._prev if child not in seen)
        return order

    def backward(self, grad=1.0):
        """Add d(self)/d(v) * grad to `v.grad` for every Value v in self's graph (self included).

        `grad` is the upstream gradient that seeds the pass (1.0 asks for plain derivatives).
        Gradients from this pass are gathered in a dictionary and only then added to `.grad`,
        so calling backward twice gives exactly twice the gradients.
        """
        grads = {self: _as_number(grad, "backward")}
        for node in reversed(self.topological_order()):  # self first, leaves last
            for child, local in zip(node._prev, node._local_grads):
                # chain rule: d(self)/d(child) += d(self)/d(node) * d(node)/d(child)
                grads[child] = grads.get(child, 0.0) + grads[node] * local
        for node, node_grad in grads.items():
            node.grad += node_grad
