"""Chapter 3 of the tinygrad_lm book: from one number per node to one array per node.

Teaches what is new when autograd's nodes are arrays (`tinygrad_lm.Tensor`): why arrays, what an
op saves for its backward, NumPy's broadcasting rules, why a broadcast input's gradient is summed back
to its shape (un-broadcasting, done once in the engine), the gradients of matrix products,
reductions and `keepdims`, the tie convention of `max`, gradient accumulation, `no_grad`, and
the dtype rule. It ends by checking the tensor engine against the scalar engine of chapter 1
and with `tinygrad_lm.testing.gradcheck`.
Run it from the repository root with `python tutorials/03_tensors_and_broadcasting.py`, or open
it as a notebook with jupytext. TINYGRAD_LM_TUTORIAL_SMALL=1 shrinks the timing comparison.
Graphs are shown with `tg.graph_text`; parameter updates use `with tg.no_grad(): W -= lr * W.grad`.
Left for later chapters: fused kernels, attention, layers, and devices other than the CPU.
"""

# %%
import inspect
import os
import time

import numpy as np

import tinygrad_lm as tg
from tinygrad_lm.engine.autograd import unbroadcast
from tinygrad_lm.engine.scalar import Value
from tinygrad_lm.ops.elementwise import Div, Exp
from tinygrad_lm.ops.matmul import MatMul
from tinygrad_lm.testing import gradcheck

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
rng = np.random.default_rng(0)

# %% [markdown]
# # Chapter 3 — Tensors and broadcasting
#
# Chapter 2 moved from chapter 1's `Value` to `Tensor`, showed what a `Function` is, and built
# the referee, `gradcheck`, that proves a backward right. This chapter looks closely at what
# is genuinely new when every node of the graph is an **array**: what the *shapes* of
# gradients are, what happens when arrays of different shapes meet (broadcasting) and why
# the gradient must then be summed back, how to differentiate a matrix product without
# writing it out element by element, and the handful of rules (reductions, ties,
# accumulation, `no_grad`, dtypes) that every later chapter relies on. It ends by checking,
# value for value, that the tensor engine computes exactly what the scalar engine computes.

# %% [markdown]
# ## 1. Why arrays: the same sum of squares, two engines
#
# Compute $L = \sum_i x_i^2$ and its gradient $\partial L / \partial x_i = 2 x_i$ for a vector
# of $n$ numbers, first with chapter 1's `Value`, then with `tinygrad_lm.Tensor`, and count the
# nodes each graph has.

# %%
n = 2_000 if SMALL else 20_000
x_numbers = rng.standard_normal(n)

start = time.perf_counter()
values = [Value(float(v)) for v in x_numbers]
loss = sum(v * v for v in values)
loss.backward()
scalar_seconds = time.perf_counter() - start
scalar_nodes = len(loss.topological_order())

start = time.perf_counter()
x = tg.tensor(x_numbers, requires_grad=True)  # a float64 NumPy array keeps its dtype
loss_t = (x * x).sum()
loss_t.backward()
tensor_seconds = time.perf_counter() - start
tensor_graph = tg.graph_text(loss_t, names={"x": x, "loss": loss_t})
tensor_nodes = sum(not line.endswith("(shown above)") for line in tensor_graph.splitlines())

print(f"scalar engine: {scalar_nodes:,} nodes, {scalar_seconds * 1e3:.1f} ms")
print(f"tensor engine: {tensor_nodes} nodes, {tensor_seconds * 1e3:.2f} ms")
print(tensor_graph)
assert np.allclose(x.grad, [v.grad for v in values], rtol=1e-12, atol=0) and tensor_nodes == 3

# %% [markdown]
# Three nodes instead of thousands: the leaf `x`, the product `x * x`, and the sum.
# `tg.graph_text` prints the graph behind a tensor, one line per node with its op, output shape
# and dtype, the root first; a node reached a second time (here `x`, both inputs of the
# product) is listed once and then referred to by its number. NumPy does the $n$
# multiplications in compiled code. The gradients agree; only the granularity changed.

# %% [markdown]
# ## 2. What an op saves for its backward
#
# Chapter 2 showed `Mul`: forward saves both inputs, backward returns `g * b` and `g * a`.
# Unlike chapter 1's `Value`, which evaluated its local derivatives eagerly during forward, a
# `Function` saves *arrays* and computes $J^\top g$ only when backward runs, and only for the
# inputs with `ctx.needs_input_grad` set. What to save is a design decision, because saved
# arrays are most of the memory a training step uses. Two of the library's ops save their
# *output* rather than their input, because the derivative is cheapest to write with it:
# $\frac{d}{dx} e^x = e^x$, and for $a / b$, $\partial/\partial b = -a/b^2 = -\text{out}/b$.

# %%
print(inspect.getsource(Exp))
print(inspect.getsource(Div))

# %%
a = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
b = tg.tensor([4.0, 5.0, 6.0])  # data: no gradient wanted
out = a / b
print(tg.graph_text(out, names={"a": a, "b": b, "out": out}))  # Div saved out and b (see its source above)
g = np.array([1.0, -1.0, 0.5], dtype=np.float32)  # some upstream gradient dL/d(out)
out.backward(g)
print("a.grad =", a.grad, " (g / b =", g / b.numpy(), ")")
assert np.array_equal(a.grad, g / b.numpy()) and b.grad is None

# %% [markdown]
# ## 3. Broadcasting
#
# NumPy lets arrays of different shapes meet in an elementwise operation when their shapes are
# *broadcastable*. The rule, applied to the shapes written right-aligned:
#
# 1. if one shape is shorter, pad it on the **left** with 1s;
# 2. in each position the two sizes must be equal, or one of them must be 1;
# 3. a size-1 axis is *stretched* (its single entry repeated) to match the other.
#
# The result has the larger size in every position. A bias of shape (4,) added to a batch
# (3, 4) is added to every row; a column (3, 1) times a row (1, 4) makes a (3, 4) table.

# %%
for left, right in [((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 5), (3, 1)), ((8, 1, 6, 1), (7, 1, 5)), ((), (2, 3))]:
    print(f"{left!s:>14} with {right!s:<10} -> {np.broadcast_shapes(left, right)}")

column = tg.tensor([[1.0], [2.0], [3.0]])  # (3, 1)
row = tg.tensor([10.0, 20.0, 30.0, 40.0])  # (4,) -> treated as (1, 4)
print((column * row).numpy())  # (3, 1) * (4,) -> (3, 4)

# %% [markdown]
# When the rule fails, the engine says so before NumPy does, naming the op and both shapes.
# (3, 4) and (3,) do *not* broadcast: right-aligned, 4 meets 3.

# %%
try:
    tg.ones((3, 4)) + tg.ones((3,))
except tg.ShapeError as error:
    print("ShapeError:", error)
else:
    raise AssertionError("expected a ShapeError: (3, 4) and (3,) do not broadcast")

# %% [markdown]
# ## 4. The gradient of a broadcast input is a sum
#
# Broadcasting is *reuse*. In `y = x + bias` with `x` of shape (3, 4) and `bias` of shape (4,),
# the entry `bias[j]` is used three times, once in every row: $y_{ij} = x_{ij} + \text{bias}_j$.
# Chapter 1's fan-out rule says a number used several times collects the sum of the
# gradients from each use:
#
# $$\frac{\partial L}{\partial\,\text{bias}_j} = \sum_i \frac{\partial L}{\partial y_{ij}} \cdot 1 = \sum_i g_{ij}.$$
#
# So the gradient of a broadcast input is the upstream gradient **summed over the axes along
# which the input was stretched**, and it has the input's shape again: (4,), not (3, 4). This
# is *un-broadcasting*. `Add.backward` simply returns `g, g`, both of shape (3, 4); the engine
# then sums each one down to its input's shape. It does this once, for every op, in
# `tinygrad_lm.engine.autograd.unbroadcast`, so no op author can forget it:
#
# - leading axes the input did not have (it was padded on the left) are summed away;
# - axes where the input had size 1 are summed with `keepdims=True`, so the 1 stays.

# %%
print(inspect.getsource(unbroadcast))
g = rng.standard_normal((2, 3, 4))
print("(2, 3, 4) -> (3, 1):", unbroadcast(g, (3, 1)).shape, "  -> (4,):", unbroadcast(g, (4,)).shape)
assert np.allclose(unbroadcast(g, (3, 1)), g.sum(axis=(0, 2))[:, None])

x = tg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
bias = tg.tensor(rng.standard_normal(4), requires_grad=True)
g = rng.standard_normal((3, 4))  # not all ones: a wrong axis could not hide
(x + bias).backward(g)
print("bias.grad:", bias.grad.round(4), "  g.sum(axis=0):", g.sum(axis=0).round(4))
assert bias.grad.shape == (4,) and np.allclose(bias.grad, g.sum(axis=0))

# %% [markdown]
# Notice the upstream gradient `g` was random. With `g` all ones, summing over the wrong axis
# of a square array gives the same number, and a bug survives. Every check in this library
# uses a random upstream gradient for that reason.
#
# After un-broadcasting the engine checks that each gradient has exactly its input's shape
# and dtype, and raises `tg.BackwardError` naming the op if not, so a backward that returns
# the wrong shape is caught where it happens, not three layers later.

# %% [markdown]
# ## 5. Matrix multiplication and its gradient
#
# For $C = AB$ with $A$ of shape $(n, k)$ and $B$ of shape $(k, m)$, $C_{ij} = \sum_p A_{ip} B_{pj}$.
# Each $A_{ip}$ appears in every entry of row $i$ of $C$, multiplied by $B_{pj}$, so
#
# $$\frac{\partial L}{\partial A_{ip}} = \sum_j G_{ij} B_{pj} = (G B^\top)_{ip},\qquad
#   \frac{\partial L}{\partial B_{pj}} = \sum_i A_{ip} G_{ij} = (A^\top G)_{pj},$$
#
# with $G = \partial L / \partial C$. The shapes are the easiest way to remember them: `dA` must
# be $(n, k)$ like $A$, and the only way to make $(n, k)$ from $G\ (n, m)$ and $B\ (k, m)$ is
# $G B^\top$: $(n, m) @ (m, k)$. Likewise `dB` $(k, m)$ $= A^\top G$: $(k, n) @ (n, m)$. The library's
# `tinygrad_lm/ops/matmul.py` says the same, and handles the 1-D cases on top:

# %%
print(inspect.getmodule(MatMul).__doc__)
print(inspect.getsource(MatMul.backward))

# %%
A = tg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
B = tg.tensor(rng.standard_normal((3, 5)), requires_grad=True)
G = rng.standard_normal((2, 5))
(A @ B).backward(G)  # (2, 3) @ (3, 5) -> (2, 5)
assert np.allclose(A.grad, G @ B.numpy().T) and np.allclose(B.grad, A.numpy().T @ G)
print("dA = G @ B^T:", A.grad.shape, "  dB = A^T @ G:", B.grad.shape)

# %% [markdown]
# **Batching.** A language model multiplies a whole batch of sequences by one weight matrix:
# activations $(B, T, k)$ @ weights $(k, m)$ $\to$ $(B, T, m)$. Matmul broadcasts the batch axes
# like any other op: the weight is treated as $(1, k, m)$ and reused for every sequence. The
# backward formula gives a per-sequence gradient $A_b^\top G_b$ of shape $(B, k, m)$, and
# un-broadcasting sums it over the batch, which is exactly $\sum_b A_b^\top G_b$. Nothing in
# `MatMul.backward` knows about batches; the shapes and the engine do the work.

# %%
acts = tg.tensor(rng.standard_normal((4, 6, 3)), requires_grad=True)  # (B, T, k)
weight = tg.tensor(rng.standard_normal((3, 5)), requires_grad=True)  # (k, m)
G = rng.standard_normal((4, 6, 5))
(acts @ weight).backward(G)  # (B, T, k) @ (k, m) -> (B, T, m)
expected = np.einsum("btk,btm->km", acts.numpy(), G)  # sum over batch b and time t of a^T g
print("weight.grad shape:", weight.grad.shape)
assert np.allclose(weight.grad, expected) and acts.grad.shape == (4, 6, 3)

# %% [markdown]
# ## 6. Reductions and `keepdims`
#
# `sum`, `mean`, `max`, `var` and `logsumexp` collapse one or more axes. Their backward does
# the opposite of un-broadcasting: it *broadcasts* $g$ back over the axes that were reduced,
# because every element of a summed row contributed with derivative 1 (or $1/N$ for a mean).
#
# `keepdims=True` keeps each reduced axis as size 1, and that matters more than it looks.
# Centring the rows of a matrix needs the row means as a column, shape (T, 1), so that they
# broadcast along each row. Without `keepdims` the means have shape (T,), which broadcasting
# aligns with the **last** axis: each *column* gets shifted instead. For a square matrix no
# error is raised; the result is silently wrong.

# %%
square = tg.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0], [100.0, 200.0, 300.0]])
right = square - square.mean(axis=1, keepdims=True)  # (3, 3) - (3, 1): each row minus its mean
wrong = square - square.mean(axis=1)  # (3, 3) - (3,) = (3, 3) - (1, 3): wrong axis, no error
print("keepdims=True  row means after:", right.mean(axis=1).numpy())
print("keepdims=False row means after:", wrong.mean(axis=1).numpy())
assert np.allclose(right.mean(axis=1).numpy(), 0) and not np.allclose(wrong.mean(axis=1).numpy(), 0)

# %% [markdown]
# The gradient of a mean over the last axis is $g / N$ spread over the row:

# %%
x = tg.tensor(rng.standard_normal((2, 4)), requires_grad=True)
g = rng.standard_normal((2, 1))
x.mean(axis=-1, keepdims=True).backward(g)  # (2, 4) -> (2, 1)
print(x.grad)
assert np.allclose(x.grad, np.broadcast_to(g / 4, (2, 4)))

# %% [markdown]
# ## 7. Where `max` has no derivative: the tie convention
#
# $\max$ is differentiable almost everywhere: the gradient goes to the largest element and
# nowhere else. At a *tie* there is no derivative, and an engine must choose. tinygrad_lm
# splits the gradient evenly among all the tied maxima (so $\max(1, 3, 3)$ sends $g/2$ to each
# 3). This is one valid subgradient; it keeps the op symmetric in its inputs, and it is the
# same convention as the elementwise `maximum` and as chapter 1's `Value.maximum`, so the two
# engines can be compared even at ties.

# %%
x = tg.tensor([1.0, 3.0, 3.0], requires_grad=True)
x.max().backward()
p, q = Value(3.0), Value(3.0)
p.maximum(q).backward()
print("tensor max([1, 3, 3]) grad:", x.grad, "  scalar max(3, 3) grads:", p.grad, q.grad)
assert x.grad.tolist() == [0.0, 0.5, 0.5] and p.grad == q.grad == 0.5

# %% [markdown]
# Gradient checks by finite differences fail at such kinks (the function has no slope there),
# which is why the library's tests keep random inputs away from ties and from relu's zero.

# %% [markdown]
# ## 8. Accumulation, freed graphs, and `no_grad`
#
# As in chapter 1, gradients **add**: a tensor used twice receives both contributions, and a
# second `backward()` adds to the `.grad` left by the first. Call `zero_grad()` (or set
# `.grad = None`) before each new pass. Unlike chapter 1, the tensor engine frees the arrays each
# op saved once its backward has run, because in a real model they are most of the memory.
# Going backwards through the same graph twice therefore needs `retain_graph=True` the first
# time; without it the engine raises a `GraphError` that says so.

# %%
x = tg.tensor([1.0, 2.0], requires_grad=True)
y = (x * x + x).sum()  # x is used three times: dy/dx = 2x + 1
y.backward(retain_graph=True)
print("after one backward:", x.grad)
y.backward()
print("after two backwards:", x.grad)
assert np.array_equal(x.grad, 2 * (2 * x.numpy() + 1))
x.zero_grad()
try:
    y.backward()
except tg.GraphError as error:
    print("GraphError:", error)
else:
    raise AssertionError("expected a GraphError: the graph was freed by the last backward")

# %% [markdown]
# Some computations must not be recorded: evaluating a model, or an optimizer changing the
# weights in place. Inside `with tg.no_grad():` (or under the `@tg.no_grad()` decorator) ops
# run as usual but build no graph, so nothing is saved and the outputs do not require grad.

# %%
w = tg.tensor([0.5, -0.5], requires_grad=True)
with tg.no_grad():
    prediction = w * 3.0
print("under no_grad: requires_grad =", prediction.requires_grad, "| graph:", tg.graph_text(prediction))
assert not prediction.requires_grad and tg.graph_text(prediction).startswith("[0] leaf")

# %% [markdown]
# The update step of every training loop is the other place for `no_grad`. Chapter 1 wrote
# `p.data -= learning_rate * p.grad` on plain floats. With tensors the natural spelling is
# `W -= lr * W.grad`, an in-place update that keeps `W` the same object, so it stays a leaf
# with its own `.grad`. While gradients are being recorded this is refused: recording it would
# make `W` a new graph node computed from the old `W`, and the parameter you meant to train
# would be left behind. The error names the fix: do the update outside the graph.

# %%
W = tg.tensor([0.5, -0.5], requires_grad=True)
(W * W).sum().backward()  # W.grad = 2 W
try:
    W -= 0.1 * W.grad
except tg.GraphError as error:
    print("GraphError:", error)
else:
    raise AssertionError("expected a GraphError: in-place update of a leaf that requires grad")
leaf = W
with tg.no_grad():
    W -= 0.1 * W.grad  # the idiom every optimizer uses: the same leaf, new values
print("after the update:", W.numpy(), "| still the same leaf:", W is leaf, "| requires_grad:", W.requires_grad)
assert W is leaf and W.requires_grad and np.allclose(W.numpy(), [0.4, -0.4])

# %% [markdown]
# ## 9. The dtype rule
#
# Python floats become **float32** tensors, the default precision for training: half the
# memory of float64 and much faster on most hardware, with about 7 significant digits. A NumPy
# array keeps its own dtype, so float64 is there when you ask for it (gradient checks need it:
# finite differences in float32 give three or four digits at best). Python numbers are *weak*:
# `x * 0.5` keeps `x`'s dtype. Integer and boolean tensors (token ids, masks) meeting a float
# tensor are cast to it.
#
# What the engine never does is mix two float dtypes silently. NumPy would promote float32 +
# float64 to float64 and, somewhere deep in a model, a single float64 constant would double
# the memory and halve the speed of everything downstream. Here it is an error that names the
# op and tells you how to fix it.

# %%
print("tg.tensor(1.5):", tg.tensor(1.5).dtype, "| from a float64 array:", tg.tensor(np.ones(2)).dtype)
print("float32 * 0.5:", (tg.tensor([1.0]) * 0.5).dtype, "| int64 * 0.5:", (tg.tensor([1, 2]) * 0.5).dtype)
print("float32 eps:", np.finfo(np.float32).eps, " float64 eps:", np.finfo(np.float64).eps)
try:
    tg.tensor([1.0, 2.0]) + tg.tensor(np.array([1.0, 2.0]))
except tg.DTypeError as error:
    print("DTypeError:", error)
else:
    raise AssertionError("expected a DTypeError: float32 + float64 is never promoted silently")

# %% [markdown]
# ## 10. The check
#
# This chapter claimed that the tensor engine is the scalar engine with arrays for nodes:
# broadcasting is reuse, un-broadcasting is fan-out, and the gradients are the same numbers.
# We test that claim directly. The function below uses only operators and methods that both
# `Value` and `Tensor` have, so the *same Python code* runs on both engines. On tensors we feed
# it a column `a` (3, 1), a row `b` (4,) and a full table `c` (3, 4), and broadcasting makes a
# (3, 4) result. On scalars we build that table by hand, entry by entry, reusing the *same*
# `Value` for `a[i]` across row $i$ and for `b[j]` down column $j$. The loss weights each
# entry by a random $u_{ij}$. Values and gradients must agree to $10^{-9}$ in float64.


# %%
def expression(a, b, c):
    return (a * b + c).tanh() * a - (b / (c * c + 1.0)).sigmoid() + (a - b).exp() * 0.1 + b.maximum(c)


a_np, b_np, c_np = rng.standard_normal((3, 1)), rng.standard_normal(4), rng.standard_normal((3, 4))
u = rng.standard_normal((3, 4))

a_t, b_t, c_t = (tg.tensor(v, requires_grad=True) for v in (a_np, b_np, c_np))  # float64
y_t = expression(a_t, b_t, c_t)  # (3, 1), (4,), (3, 4) -> (3, 4)
(y_t * u).sum().backward()

a_s = [Value(float(v)) for v in a_np[:, 0]]
b_s = [Value(float(v)) for v in b_np]
c_s = [[Value(float(v)) for v in row] for row in c_np]
y_s = [[expression(a_s[i], b_s[j], c_s[i][j]) for j in range(4)] for i in range(3)]
sum(float(u[i, j]) * y_s[i][j] for i in range(3) for j in range(4)).backward()

pairs = {
    "values": (y_t.numpy(), [[v.data for v in row] for row in y_s]),
    "d/da": (a_t.grad, [[v.grad] for v in a_s]),
    "d/db": (b_t.grad, [v.grad for v in b_s]),
    "d/dc": (c_t.grad, [[v.grad for v in row] for row in c_s]),
}
for name, (from_tensors, from_scalars) in pairs.items():
    difference = np.max(np.abs(from_tensors - np.array(from_scalars)))
    print(f"{name:>6}: shape {from_tensors.shape}, max |tensor - scalar| = {difference:.1e}")
    assert from_tensors.shape == np.shape(from_scalars) and difference < 1e-9, name

# %% [markdown]
# The second half of the check is chapter 2's referee, `tinygrad_lm.testing.gradcheck`:
# float64 central differences under a random upstream gradient. Here it checks a batched,
# broadcast layer: inputs $(2, 3, 4)$ @ weight $(4, 5)$ + bias $(5,)$, through tanh. Every
# gradient in it goes through a matmul backward *and* an un-broadcast.


# %%
def layer(inputs, weight, bias):
    return (inputs @ weight + bias).tanh()  # (2, 3, 4) @ (4, 5) + (5,) -> (2, 3, 5)


inputs, weight, bias = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
assert gradcheck(layer, inputs, weight, bias)
print("gradcheck of (inputs @ weight + bias).tanh(): passed; chapter 3 checks passed")

# %% [markdown]
# ## What we left out
#
# Every gradient in this chapter came from primitives: a multiply, a sum, a matmul, each with
# a few lines of backward. Composing them is always correct, but not always efficient: a
# softmax built from `exp`, `max`, `sum` and `/` is five nodes that each save an array. Later
# chapters meet such operations as single *fused* Functions with hand-derived backward
# passes, held to the same standard as this chapter's primitives: gradients against finite
# differences, and values and gradients equal to the version composed from primitives. Next
# comes attention, the operation at the heart of every language model.

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch03.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch03`. Reference solutions are in
# `tutorials/solutions/ch03.py`.
#
# 1. **`unbroadcast`**: section 4's rule by hand: sum a gradient back to the shape its input had
#    before broadcasting. The tests compare it with the engine's on random broadcastable shapes.
# 2. **`matmul_grads`**: $dA = G B^\top$ and $dB = A^\top G$ for a batched product whose batch axes
#    broadcast both ways, summed back to each input's shape.
# 3. **`BrokenLastAxisSum`** (break the backward): a sum over the last axis whose backward
#    broadcasts the gradient along the wrong axis: section 6's `keepdims` trap, inside an op.
#    For a square input it is silently wrong; `gradcheck` finds it, and you fix it.
