"""Tests for the scalar autograd engine (tinygrad_lm/engine/scalar.py).

Every op is checked twice from one table: its value against a plain-float reference, and its
hand-written derivative against central finite differences, on Hypothesis inputs drawn from the
op's safe domain (away from poles, kinks and overflow). Then the engine-level promises: fan-out
accumulates, repeated backward adds, the upstream seed scales linearly, ties share the gradient
evenly, a 100,000-op chain backpropagates without recursion, and bad input gets a clear error.
The finite-difference helper is itself tested: it must reject a deliberately wrong derivative.

Not tested here: agreement with the tensor engine (that is the engine-level state machine's job).
"""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_lm.engine.scalar import Value

STEP = 1e-6  # central-difference step; error ~ STEP**2 * |f'''| + 1e-16 * |f| / STEP
TOLERANCE = 1e-6  # relative and absolute, float64


def finite_difference_gradient(f, xs, step=STEP):
    """Central differences (f(x + h e_i) - f(x - h e_i)) / 2h for every input i of f(*Values)."""
    slopes = []
    for i in range(len(xs)):
        up = [Value(x + step if j == i else x) for j, x in enumerate(xs)]
        down = [Value(x - step if j == i else x) for j, x in enumerate(xs)]
        slopes.append((f(*up).data - f(*down).data) / (2 * step))
    return slopes


def assert_gradient_matches(f, xs, tolerance=TOLERANCE):
    """Backpropagate through f(*Values at xs) and compare each input's grad with finite differences."""
    inputs = [Value(x) for x in xs]
    f(*inputs).backward()
    for i, (leaf, numeric) in enumerate(zip(inputs, finite_difference_gradient(f, xs))):
        assert math.isclose(leaf.grad, numeric, rel_tol=tolerance, abs_tol=tolerance), (
            f"input {i} at {xs}: backward gave {leaf.grad!r}, finite differences {numeric!r}"
        )


def reals(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(magnitude_low, magnitude_high):
    """Floats x with magnitude_low <= |x| <= magnitude_high, of either sign."""
    return reals(-magnitude_high, magnitude_high).filter(lambda x: abs(x) >= magnitude_low)


def distinct_pair(low, high, gap=1e-3):
    """(a, b) with |a - b| >= gap, so max/min are differentiable and a step of STEP keeps the order."""
    return st.tuples(reals(low, high), reals(low, high)).filter(lambda ab: abs(ab[0] - ab[1]) >= gap)


def one(strategy):
    return st.tuples(strategy)


def sigmoid_reference(x):
    return 1.0 / (1.0 + math.exp(-x))


# name: (function of Values, the same function on floats, strategy for the tuple of inputs)
OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, st.tuples(reals(-10, 10), reals(-10, 10))),
    "radd": (lambda x: 2.5 + x, lambda x: 2.5 + x, one(reals(-10, 10))),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, st.tuples(reals(-10, 10), reals(-10, 10))),
    "rsub": (lambda x: 2.5 - x, lambda x: 2.5 - x, one(reals(-10, 10))),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, st.tuples(reals(-10, 10), reals(-10, 10))),
    "rmul": (lambda x: -1.5 * x, lambda x: -1.5 * x, one(reals(-10, 10))),
    "div": (lambda a, b: a / b, lambda a, b: a / b, st.tuples(reals(-10, 10), away_from_zero(0.1, 10))),
    "rtruediv": (lambda x: 3.0 / x, lambda x: 3.0 / x, one(away_from_zero(0.1, 10))),
    "neg": (lambda x: -x, lambda x: -x, one(reals(-10, 10))),
    "pow_int": (lambda x: x**3, lambda x: x**3, one(reals(-3, 3))),
    "pow_negative_int": (lambda x: x**-2, lambda x: x**-2, one(away_from_zero(0.2, 3))),
    "pow_fraction": (lambda x: x**0.7, lambda x: x**0.7, one(reals(0.1, 5))),
    "pow_negative_fraction": (lambda x: x**-1.5, lambda x: x**-1.5, one(reals(0.1, 5))),
    "pow_value": (lambda x, y: x**y, lambda x, y: x**y, st.tuples(reals(0.1, 5), reals(-3, 3))),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, one(reals(-5, 5))),
    "exp": (lambda x: x.exp(), math.exp, one(reals(-5, 5))),
    "log": (lambda x: x.log(), math.log, one(reals(0.01, 100))),
    "sqrt": (lambda x: x.sqrt(), math.sqrt, one(reals(0.01, 100))),
    "tanh": (lambda x: x.tanh(), math.tanh, one(reals(-5, 5))),
    "sigmoid": (lambda x: x.sigmoid(), sigmoid_reference, one(reals(-20, 20))),
    "relu": (lambda x: x.relu(), lambda x: max(x, 0.0), one(away_from_zero(1e-3, 10))),
    "abs": (lambda x: x.abs(), abs, one(away_from_zero(1e-3, 10))),
    "erf": (lambda x: x.erf(), math.erf, one(reals(-4, 4))),
    "maximum": (lambda a, b: a.maximum(b), max, distinct_pair(-10, 10)),
    "minimum": (lambda a, b: a.minimum(b), min, distinct_pair(-10, 10)),
    "maximum_number": (lambda x: x.maximum(0.5), lambda x: max(x, 0.5), one(away_from_zero(1e-3, 10))),
}


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_op_value_matches_float_reference(name, data):
    on_values, on_floats, inputs = OPS[name]
    xs = data.draw(inputs, label="inputs")
    got = on_values(*[Value(x) for x in xs]).data
    assert math.isclose(got, on_floats(*xs), rel_tol=1e-12, abs_tol=1e-15), (name, xs, got)


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
def test_op_gradient_matches_finite_differences(name, data):
    on_values, _, inputs = OPS[name]
    assert_gradient_matches(on_values, data.draw(inputs, label="inputs"))


def composite(a, b, c):
    """A graph with reuse and most ops: every input fans out to several places."""
    h = (a * b + c).tanh() * a - (b / (c.abs() + 1.0)).sigmoid()
    g = (a * a + 1.0).log() + (b * b + 0.5).sqrt() - c.erf() * h
    return g * h.exp() + (a.maximum(b) - c.minimum(a)).relu() ** 2 + 2.0 ** (h / 3.0)


@given(a=reals(-2, 2), b=reals(-2, 2), c=reals(-2, 2))
def test_composite_graph_gradient_matches_finite_differences(a, b, c):
    # Skip the kinks of abs, max, min and relu, where finite differences straddle two slopes.
    kinks = [c, a - b, c - a, max(a, b) - min(c, a)]
    assume(all(abs(k) > 1e-3 for k in kinks))
    assert_gradient_matches(composite, (a, b, c))


@given(x=reals(-100, 100))
def test_fan_out_accumulates_gradients(x):
    leaf = Value(x)
    (leaf * leaf + leaf).backward()  # d(x^2 + x)/dx = 2x + 1
    assert leaf.grad == pytest.approx(2 * x + 1, rel=1e-12, abs=1e-12)


def test_backward_twice_adds_the_gradients_again():
    a, b = Value(2.0), Value(-3.0)
    middle = a * b
    out = middle.tanh() + middle
    out.backward()
    first = (a.grad, b.grad, middle.grad)
    out.backward()
    assert (a.grad, b.grad, middle.grad) == pytest.approx([2 * g for g in first], rel=1e-15)


@given(x=reals(-3, 3), seed=reals(-5, 5))
def test_backward_is_linear_in_the_seed(x, seed):
    plain, seeded = Value(x), Value(x)
    (plain.tanh() * plain).backward()
    (seeded.tanh() * seeded).backward(grad=seed)
    assert seeded.grad == pytest.approx(seed * plain.grad, rel=1e-12, abs=1e-15)


def test_ties_share_the_gradient_evenly():
    a, b = Value(1.5), Value(1.5)
    a.maximum(b).backward()
    assert (a.grad, b.grad) == (0.5, 0.5)
    c, d = Value(-2.0), Value(-2.0)
    c.minimum(d).backward()
    assert (c.grad, d.grad) == (0.5, 0.5)
    same = Value(4.0)
    (same.maximum(same) + same.minimum(same)).backward()  # max(x, x) + min(x, x) = 2x
    assert same.grad == 2.0


def test_strict_maximum_and_minimum_route_the_whole_gradient():
    big, small = Value(3.0), Value(1.0)
    (big.maximum(small) * 10.0 + big.minimum(small)).backward()
    assert (big.grad, small.grad) == (10.0, 1.0)


def test_derivative_conventions_at_kinks_and_poles():
    zero_relu, zero_abs, zero_sqrt = Value(0.0), Value(0.0), Value(0.0)
    zero_relu.relu().backward()
    zero_abs.abs().backward()
    zero_sqrt.sqrt().backward()
    assert (zero_relu.grad, zero_abs.grad, zero_sqrt.grad) == (0.0, 0.0, math.inf)
    constant, half_power = Value(0.0), Value(0.0)
    (constant**0).backward()
    (half_power**0.5).backward()
    assert (constant.grad, half_power.grad) == (0.0, math.inf)


def test_sigmoid_does_not_overflow_for_large_inputs():
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0


def test_a_chain_of_100_000_ops_backpropagates_without_recursion():
    leaf = Value(1.0)
    out = leaf
    for _ in range(100_000):
        out = out * 1.00001
    out.backward()
    assert leaf.grad == pytest.approx(1.00001**100_000, rel=1e-9)


def test_topological_order_lists_each_node_once_inputs_first():
    a, b = Value(1.0), Value(2.0)
    left, right = a * b, a + b
    out = left * right + left
    order = out.topological_order()
    assert len(order) == len({id(v) for v in order}) == 6
    position = {id(v): i for i, v in enumerate(order)}
    for node in order:
        assert all(position[id(child)] < position[id(node)] for child in node._prev)
    assert order[-1] is out


def test_repr_shows_data_and_grad():
    x = Value(2.0)
    (x * 3).backward()
    assert repr(x) == "Value(data=2.0, grad=3.0)"


@pytest.mark.parametrize(
    ("make", "error", "fragment"),
    [
        (lambda: Value("1.0"), TypeError, "__init__"),
        (lambda: Value(True), TypeError, "bool"),
        (lambda: Value(1.0) + [1.0], TypeError, "__add__"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, "__truediv__"),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, "__truediv__"),
        (lambda: Value(0.0).log(), ValueError, "log"),
        (lambda: Value(-1.0).sqrt(), ValueError, "sqrt"),
        (lambda: Value(800.0).exp(), OverflowError, "exp"),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, "not a real number"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, "__pow__"),
        (lambda: Value(1e200) ** 2, OverflowError, "__pow__"),
        (lambda: Value(-2.0) ** Value(2.0), ValueError, "base > 0"),
        (lambda: (-2.0) ** Value(0.5), ValueError, "base > 0"),
        (lambda: Value(1.0).backward(grad="1"), TypeError, "backward"),
    ],
)
def test_bad_input_gets_an_error_that_names_the_op(make, error, fragment):
    with pytest.raises(error, match=fragment):
        make()


# ---- testing the tester ---------------------------------------------------------------------


def sine_with_derivative(derivative):
    """A sine op built the way scalar.py builds its ops, with a derivative we choose."""

    def sine(x):
        return Value(math.sin(x.data), (x,), (derivative(x.data),), "sin")

    return sine


@pytest.mark.parametrize("x", [-2.0, 0.3, 1.0])
def test_gradient_check_accepts_a_correct_derivative(x):
    assert_gradient_matches(sine_with_derivative(math.cos), [x])


@pytest.mark.parametrize(
    "wrong_derivative",
    [math.sin, lambda x: -math.cos(x), lambda x: math.cos(x) * (1 + 1e-4)],
    ids=["sin instead of cos", "wrong sign", "off by 1e-4 relative"],
)
@pytest.mark.parametrize("x", [-2.0, 0.3, 1.0])
def test_gradient_check_rejects_a_wrong_derivative(wrong_derivative, x):
    with pytest.raises(AssertionError, match="finite differences"):
        assert_gradient_matches(sine_with_derivative(wrong_derivative), [x])
