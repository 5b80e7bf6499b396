"""Chapter 2 of the tinygrad_lm book: from scalars to tensors, and how to prove a backward right.

Moves from chapter 1's `Value` to `tinygrad_lm.Tensor`, shows what a `Function` (one op =
one forward + one backward on arrays) is, writes softplus by hand, and checks it: central
differences, a random upstream gradient (and the transposition bug an all-ones one misses),
the directional check for big inputs, float64 and tolerances, and finally
`tinygrad_lm.testing.gradcheck`, which packages all of it. Run it from the repository root with
`python tutorials/02_checking_gradients.py`; TINYGRAD_LM_TUTORIAL_SMALL=1 shrinks the big input
and the number of random examples. Left for later chapters: broadcasting (chapter 3) and fused kernels (chapter 4).
"""

# %%
import inspect
import os

import numpy as np
from hypothesis import given, settings

import tinygrad_lm as tg
from tinygrad_lm.engine import Function, array_module
from tinygrad_lm.ops.elementwise import Mul
from tinygrad_lm.testing import GradcheckError, gradcheck
from tinygrad_lm.testing import strategies as ts

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
BIG_SIDE = 60 if SMALL else 300  # the big input of section 6 is BIG_SIDE x BIG_SIDE
EXAMPLES = 10 if SMALL else 40  # random inputs tried in section 9
rng = np.random.default_rng(0)

# %% [markdown]
# # Chapter 2 — From scalars to tensors, and checking gradients
#
# Chapter 1 built autograd one number at a time. A language model does the same arithmetic on
# arrays of millions of numbers, so here every node of the graph becomes an array: a
# `Tensor`. The three ideas do not change (record the graph, know each op's local derivative,
# walk the graph backwards in topological order). What changes is that a local derivative is
# now a *Jacobian*, too big to write down, and that each op's backward is hand-written array
# code, where a transposed index or a missing sum is easy to get wrong and hard to see.
# Most of this chapter is about catching such mistakes.
#
# ## 1. Tensors
#
# A Tensor wraps a NumPy array. Ops on tensors that `requires_grad` record a graph;
# `backward()` fills `.grad` on every leaf, an array of the leaf's own shape and dtype.

# %%
x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)  # (3, 4), float64
w = tg.tensor(rng.standard_normal((4, 2)), requires_grad=True)  # (4, 2)
loss = (x @ w).tanh().sum()  # (3, 4) @ (4, 2) -> (3, 2) -> ()
loss.backward()
print(loss, "\nx.grad shape", x.grad.shape, " w.grad shape", w.grad.shape)

# %% [markdown]
# For a scalar loss, `x.grad` is $\partial L / \partial x$. For an op $y = f(x)$ in the
# middle of the graph, with $x$ of $n$ numbers and $y$ of $m$, the derivative is the $m \times n$
# Jacobian $J$. Backward never builds it. It receives the *upstream gradient*
# $g = \partial L / \partial y$ (shaped like $y$) and returns $J^\top g = \partial L / \partial x$
# (shaped like $x$): a *vector-Jacobian product*. For an elementwise op $J$ is diagonal and
# $J^\top g$ is just $g$ times the local slope; for $y = x \cdot x$ that is $2 x g$.
# `backward(g)` lets us pass any upstream gradient we like:

# %%
x = tg.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
g = np.array([0.5, 1.0, -1.0])
(x * x).backward(g)
print("backward(g) =", x.grad, "  2 x g =", 2 * x.numpy() * g)
assert np.array_equal(x.grad, 2 * x.numpy() * g)

# %% [markdown]
# ## 2. What a Function is
#
# Every op is a subclass of `Function` with two static methods on raw arrays:
# `forward(ctx, *arrays)` returns the output and saves what backward needs with
# `ctx.save(name=array)`; `backward(ctx, g)` returns one gradient per input (`None` for inputs
# that need none; `ctx.needs_input_grad` says which). Here is multiplication, as the library
# defines it:

# %%
print(inspect.getsource(Mul))

# %% [markdown]
# `Mul.apply(a, b)` runs forward and links the output into the graph. Two chores are done
# once, by the engine, for every op: *un-broadcasting* (if `a` of shape (3, 1) was stretched
# to (3, 4), the (3, 4) gradient is summed back to (3, 1)) and the *contract check* (each
# gradient must have its input's shape and dtype, or `BackwardError` names the op).

# %%
a = tg.tensor(np.ones((3, 1)), requires_grad=True)
b = tg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
(a * b).sum().backward()  # (3, 1) * (3, 4) -> (3, 4) -> ()
print("a.grad", a.grad.shape, a.grad.ravel(), "= row sums of b", b.numpy().sum(axis=1))

# %% [markdown]
# ## 3. Writing an op by hand: softplus
#
# $\mathrm{softplus}(x) = \log(1 + e^x)$ is a smooth relu. Written literally it overflows for
# $x \gtrsim 89$ in float32, so we use the equivalent $\max(x, 0) + \log(1 + e^{-|x|})$, where
# the exponent is never positive. Its derivative is the logistic sigmoid,
# $\sigma(x) = 1 / (1 + e^{-x})$, which we compute in forward from the same $e^{-|x|}$ and save.


# %%
class Softplus(Function):
    """out = log(1 + e^x) = max(x, 0) + log1p(e^-|x|).  dx = g * sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        xp = array_module(x)
        e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
        ctx.save(sigmoid=xp.where(x >= 0, 1 / (1 + e), e / (1 + e)))
        return xp.maximum(x, 0) + xp.log1p(e)

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.sigmoid,)


def softplus(x):
    return Softplus.apply(x)


x = tg.tensor(np.array([-30.0, -1.0, 0.0, 2.0, 800.0]))
print("softplus", softplus(x).numpy())
with np.errstate(over="ignore"):
    print("literal ", (1 + x.exp()).log().numpy(), "<- overflows at 800")

# %% [markdown]
# ## 4. Checking it with central differences
#
# Chapter 1's referee works for arrays too. Fix an upstream gradient $u$ and look at the scalar
# $L(x) = \langle u, f(x) \rangle$; its gradient is exactly what `backward(u)` computes,
# $J^\top u$. Finite differences estimate the same thing one element at a time:
#
# $$\frac{\partial L}{\partial x_i} \approx \frac{\langle u, f(x + \epsilon e_i) - f(x - \epsilon e_i) \rangle}{2\epsilon}.$$


# %%
def analytic_vjp(f, x, u):
    """J^T u by backpropagation: the gradient of <u, f(x)>."""
    leaf = tg.tensor(x, requires_grad=True)
    f(leaf).backward(u)
    return leaf.grad


def numeric_vjp(f, x, u, eps=1e-6):
    """J^T u by central differences, one element of x at a time (2 forward passes each)."""
    grad = np.zeros_like(x)
    with tg.no_grad():
        for i in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[i] = eps
            difference = f(tg.tensor(x + step)).numpy() - f(tg.tensor(x - step)).numpy()
            grad[i] = np.sum(u * difference) / (2 * eps)
    return grad


x = rng.standard_normal((3, 4))
u = rng.standard_normal((3, 4))
error = np.abs(analytic_vjp(softplus, x, u) - numeric_vjp(softplus, x, u)).max()
print(f"softplus: largest |backward - finite difference| = {error:.1e}")
assert error < 1e-8

# %% [markdown]
# ## 5. Why the upstream gradient must be random
#
# The tempting shortcut is to check the gradient of `f(x).sum()`. That is $u = $ all ones,
# and all-ones is blind to any bug that only moves gradient entries around. Here is a
# transpose whose backward forgets to transpose back. For a square input the shapes agree, so
# not even the engine's contract check can notice:


# %%
class BuggyTranspose(Function):
    """out = x^T for 2-D x.  The correct backward is g^T; this one returns g (the bug)."""

    @staticmethod
    def forward(ctx, x):
        return x.T  # (n, m) -> (m, n)

    @staticmethod
    def backward(ctx, g):
        return (g,)  # BUG: should be g.T, (m, n) -> (n, m)


def buggy_transpose(x):
    return BuggyTranspose.apply(x)


x = rng.standard_normal((3, 3))
ones, u = np.ones((3, 3)), rng.standard_normal((3, 3))
error_ones = np.abs(analytic_vjp(buggy_transpose, x, ones) - numeric_vjp(buggy_transpose, x, ones)).max()
error_random = np.abs(analytic_vjp(buggy_transpose, x, u) - numeric_vjp(buggy_transpose, x, u)).max()
print(f"all-ones upstream: error {error_ones:.1e} (bug missed)   random upstream: error {error_random:.1e}")
assert error_ones < 1e-8 < error_random

# %% [markdown]
# The same blind spot hides a sum over the wrong axis of a square array, a reversed axis, or
# gradients swapped between two inputs of the same shape. A random $u$ (drawn from a seeded
# generator, so a failure reproduces) gives every output position its own weight, and such
# bugs show up at once.
#
# ## 6. Big inputs: the directional check
#
# The dense check costs two forward passes per input element: fine for 12 numbers, hopeless
# for a 300 x 300 weight matrix. Instead pick a random direction $v$ and compare one number,
# the derivative of $L$ along $v$:
#
# $$\langle J^\top u, v \rangle \approx \frac{L(x + \epsilon v) - L(x - \epsilon v)}{2\epsilon}.$$
#
# Two forward passes per direction, whatever the size. If the gradient is wrong by some
# nonzero error $\delta$, a random $v$ sees $\langle \delta, v \rangle \neq 0$ with probability 1.


# %%
def directional_error(f, x, u, v, eps=1e-6):
    """|<backward(u), v> - central difference of <u, f> along v|: one number per direction."""
    along = np.sum(analytic_vjp(f, x, u) * v)
    with tg.no_grad():
        difference = f(tg.tensor(x + eps * v)).numpy() - f(tg.tensor(x - eps * v)).numpy()
    return abs(along - np.sum(u * difference) / (2 * eps))


x = rng.standard_normal((BIG_SIDE, BIG_SIDE))
u, v = rng.standard_normal(x.shape), rng.standard_normal(x.shape)
print(f"{x.size:,} elements: softplus error {directional_error(softplus, x, u, v):.1e}, "
      f"buggy transpose error {directional_error(buggy_transpose, x, u, v):.1e}")

# %% [markdown]
# ## 7. float64, and how tight a tolerance can be
#
# Chapter 1 showed the two errors of a central difference: truncation, shrinking like
# $\epsilon^2$, and rounding, growing like $\text{machine epsilon} \cdot |f| / \epsilon$. Machine
# epsilon is $2 \cdot 10^{-16}$ in float64 but $10^{-7}$ in float32, and that decides how small a
# bug a check can see. Softplus is elementwise, so nudging every element at once gives every
# element's slope in two passes; here is the worst relative error against the exact
# $\sigma(x)$, for each step $\epsilon$ and dtype:

# %%
x = rng.uniform(-2, 2, 50)
exact = 1 / (1 + np.exp(-x))  # sigmoid: the true slope of softplus
steps = (1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8)
print(f"{'eps':9s}", " ".join(f"{eps:7.0e}" for eps in steps))
for dtype in ("float32", "float64"):
    errors = []
    for eps in steps:
        high = softplus(tg.tensor((x + eps).astype(dtype))).numpy().astype(np.float64)
        low = softplus(tg.tensor((x - eps).astype(dtype))).numpy()
        errors.append(np.max(np.abs((high - low) / (2 * eps) - exact) / exact))
    print(f"{dtype:9s}", " ".join(f"{e:7.0e}" for e in errors))

# %% [markdown]
# float32 reaches about $10^{-5}$, and only at one lucky $\epsilon$; ops that add up thousands
# of terms (matmul, normalisation) do worse. A float32 check therefore needs a tolerance around
# $10^{-3}$ (minitorch uses $10^{-2}$), and any bug smaller than that walks through. float64
# reaches $10^{-10}$ at $\epsilon = 10^{-6}$, so we check in float64 with tolerances near
# $10^{-5}$: five orders of magnitude of margin for correct ops, and small bugs still show. A
# realistic small bug: replacing $\sigma(x)$ in backward by its Taylor polynomial
# $\frac12 + \frac x4 - \frac{x^3}{48}$, off by less than 0.02% for $|x| \le 0.5$.


# %%
class TaylorSoftplus(Softplus):
    """Softplus whose backward uses sigmoid(x) ~ 1/2 + x/4 - x^3/48 (wrong by < 0.02%, |x| <= 0.5)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save(x=x)
        return Softplus.forward(ctx, x)

    @staticmethod
    def backward(ctx, g):
        x = ctx.x
        return (g * (0.5 + x / 4 - x**3 / 48),)


def taylor_softplus(x):
    return TaylorSoftplus.apply(x)


x = np.linspace(-0.5, 0.5, 12).reshape(3, 4)
u = rng.standard_normal((3, 4))
caught = {}  # (dtype, op name) -> did the check reject it?
for dtype, eps, rtol in (("float32", 1e-2, 1e-3), ("float64", 1e-6, 1e-5)):
    xd, ud = x.astype(dtype), u.astype(dtype)
    numeric = numeric_vjp(softplus, xd, ud, eps).astype(np.float64)
    for name, op in (("softplus", softplus), ("taylor softplus", taylor_softplus)):
        relative = np.max(np.abs(analytic_vjp(op, xd, ud) - numeric) / np.abs(numeric))
        caught[dtype, name] = bool(relative > rtol)
        verdict = "fails the check" if caught[dtype, name] else "passes"
        print(f"{dtype} (eps {eps:g}, rtol {rtol:g}): {name:15s} worst relative error {relative:.0e} -> {verdict}")

# %% [markdown]
# ## 8. `tinygrad_lm.testing.gradcheck` packages all of this
#
# `gradcheck(fn, *inputs)` does what sections 4 to 7 did by hand: it copies every floating
# input to float64, draws a random upstream gradient from a seeded generator, runs backward,
# and compares with central differences, elementwise for inputs of up to `dense_max_elements`
# elements and along `n_directions` random directions for bigger ones. An element passes when
# $|\text{analytic} - \text{numeric}| \le \text{atol} + \text{rtol} \cdot |\text{numeric}|$
# (defaults $10^{-6}$ and $10^{-5}$). Non-floating inputs (ids, masks) are passed through
# untouched. It returns `True`, or raises `GradcheckError` (an `AssertionError`, so pytest
# reports it as a failed assert) naming the op, the input, the worst element and both values:

# %%
x = rng.standard_normal((3, 3)).astype(np.float32)  # gradcheck differentiates a float64 copy
print("softplus:", gradcheck(softplus, x))
print("softplus on", BIG_SIDE * BIG_SIDE, "elements:", gradcheck(softplus, rng.standard_normal((BIG_SIDE, BIG_SIDE))))
try:
    gradcheck(buggy_transpose, x)
except GradcheckError as error:
    print("buggy transpose:", error)
else:
    raise AssertionError("expected gradcheck to reject the buggy transpose")

# %% [markdown]
# ## 9. The op registry and Hypothesis strategies
#
# One checked input proves little; a bug may live only at a size-1 axis, a 0-d tensor or a
# negative value. `tinygrad_lm.testing.strategies` holds the Hypothesis strategies the library's
# own tests use: `shapes` (0-d shapes and size-1 axes come up often), `broadcastable_shapes`,
# `float_arrays` (bounded finite values per dtype), `noncontiguous` layouts, `index_arrays` with
# repeats, attention masks, and helpers that keep inputs off kinks (`away_from`, `distinct`).
# The *op registry* (`tinygrad_lm.testing.registry`) lists every op once, as an `OpSpec`: its
# function, a NumPy reference, an input strategy, its domain ("log needs x > 0") and its
# tolerances. Generic tests read the registry and check each op's forward against its reference
# and its backward with gradcheck; adding an op means adding one entry. Our softplus gets the
# same treatment with a few lines:


# %%
@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
@given(x=ts.float_arrays(ts.shapes(max_dims=3), min_value=-20.0, max_value=20.0))
def softplus_backward_is_right(x):
    assert gradcheck(softplus, x)


softplus_backward_is_right()
print(f"softplus passed gradcheck on {EXAMPLES} random shapes, 0-d and size-1 axes included")

# %% [markdown]
# ## 10. The check
#
# This chapter claimed that a random upstream gradient and float64 central differences catch
# backward bugs that the all-ones check and float32 tolerances miss, and that `gradcheck`
# packages the method: it passes the correct softplus and rejects both buggy ops.

# %%
x = np.linspace(-0.5, 0.5, 9).reshape(3, 3)
assert gradcheck(softplus, x) and gradcheck(softplus, rng.standard_normal((BIG_SIDE, BIG_SIDE)))
ones = np.ones((3, 3))
assert np.allclose(analytic_vjp(buggy_transpose, x, ones), numeric_vjp(buggy_transpose, x, ones))  # missed
assert caught == {  # section 7: only the float64 check sees the Taylor bug
    ("float32", "softplus"): False, ("float32", "taylor softplus"): False,
    ("float64", "softplus"): False, ("float64", "taylor softplus"): True,
}
for buggy in (buggy_transpose, taylor_softplus):
    try:
        gradcheck(buggy, x)
    except GradcheckError as error:
        assert str(error).startswith(f"gradcheck({buggy.__name__})"), error
        continue
    raise AssertionError(f"gradcheck accepted the buggy {buggy.__name__}")
print("chapter 2 checks passed: gradcheck accepts softplus and rejects both buggy backwards")

# %% [markdown]
# ## What we left out
#
# Second derivatives (the engine is first-order), complex numbers, and checking ops that are
# not differentiable everywhere at their kinks (the strategies keep inputs away from them).
# The next chapter looks closer at what tensors add over scalars: broadcasting and the shapes
# of gradients. From chapter 4 on, hot ops also come fused (one Function calling a kernel), and
# every fused op is held to the same standard: the same gradcheck, plus parity with the op
# composed from primitives.

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch02.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch02`. Reference solutions are in
# `tutorials/solutions/ch02.py`.
#
# 1. **`Softsign`**: write an op, $x / (1 + |x|)$, forward and backward, and prove it the way this
#    chapter does: `gradcheck` on random shapes (Hypothesis), and finite results at $|x| = 10^{300}$.
# 2. **`Hypot`**: $\sqrt{a^2 + b^2}$, an op with two inputs that broadcast. Your backward returns
#    gradients of the broadcast shape and the engine sums them back; return `None` where
#    `ctx.needs_input_grad` says no gradient is wanted.
# 3. **`BrokenSigmoid`** (break the backward): a copy of the library's sigmoid with one bug in its
#    backward. Run `gradcheck` on it, read the message, find the line, fix it. The tests show
#    that gradcheck rejects the op as shipped and accepts your fix.
