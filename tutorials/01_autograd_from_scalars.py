"""Chapter 1 of the tinygrad_lm book: automatic differentiation, one number at a time.

Teaches derivatives, the chain rule, computation graphs and backpropagation with
`tinygrad_lm.engine.scalar.Value`, then trains a one-neuron model by gradient descent.
Run it from the repository root with `python tutorials/01_autograd_from_scalars.py`, or open it
as a notebook with jupytext. TINYGRAD_LM_TUTORIAL_SMALL=1 shortens the long-chain demonstration.
It draws the graph of one small expression (tutorials/figures/01_autograd_graph.png).
Left for later chapters: tensors and systematic gradient checks (chapter 2), broadcasting
(chapter 3), and everything that makes a model a language model (chapters 4 to 8).
"""

# %%
import math
import os
import sys
import time
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:
    matplotlib.use("Agg")  # run as a script: draw into files, no display needed
import matplotlib.pyplot as plt  # after the backend is chosen

import tinygrad_lm as tg
from tinygrad_lm.engine.scalar import Value

SMALL = os.environ.get("TINYGRAD_LM_TUTORIAL_SMALL") == "1"
FIGURES = Path(os.environ.get("TINYGRAD_LM_FIGURES_DIR", "tutorials/figures"))  # run from the repository root
FIGURES.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# # Chapter 1 — Autograd from scalars
#
# A language model is a function with millions of adjustable numbers, its *parameters*.
# Training it means asking, over and over: if I nudge this parameter a little, does the loss
# (a number that says how wrong the model is) go up or down, and how fast? That rate is a
# *derivative*, and we need it for every parameter at once, millions of times.
#
# *Automatic differentiation* (autograd) computes all of those derivatives exactly, in one
# backward sweep that costs about as much as computing the loss itself. In this chapter we
# build it for the smallest possible case: a graph of single numbers. Every later chapter does
# the same thing with arrays instead of numbers; the ideas do not change.

# %% [markdown]
# ## 1. What a derivative is
#
# The derivative of $f$ at $x$ is the slope of $f$ right at $x$:
#
# $$f'(x) = \lim_{h \to 0} \frac{f(x + h) - f(x)}{h}.$$
#
# We cannot take a limit on a computer, but we can try a small $h$. The *central difference*
# $\big(f(x+h) - f(x-h)\big) / 2h$ is much better than the one-sided one: its error shrinks
# like $h^2$ instead of $h$. Take $f(x) = x^3 - 2x$, whose derivative we know by hand is
# $f'(x) = 3x^2 - 2$, and watch the error as $h$ shrinks.


# %%
def cubic(x):
    return x**3 - 2 * x


def central_difference(function, x, h):
    """Slope of `function` at x, estimated from two nearby points: O(h**2) error plus rounding."""
    return (function(x + h) - function(x - h)) / (2 * h)


x0 = 1.5
exact = 3 * x0**2 - 2
for h in [1e-1, 1e-3, 1e-5, 1e-7, 1e-9, 1e-11]:
    error = abs(central_difference(cubic, x0, h) - exact)
    print(f"h = {h:.0e}   estimate error = {error:.1e}")

# %% [markdown]
# The error first falls like $h^2$, then *rises* again: for tiny $h$ the two values of $f$
# agree in almost all their digits, and subtracting them leaves mostly rounding noise
# (about $10^{-16} \cdot |f| / h$). So finite differences give a handful of correct digits at
# best, and they cost two evaluations of $f$ per input. With a million inputs that is two
# million forward passes for one gradient. They are too slow and too blunt to train with,
# but they make an excellent *referee*: we will use them at the end of this chapter to check
# the exact derivatives that autograd computes.

# %% [markdown]
# ## 2. The chain rule
#
# Real functions are compositions of simple pieces. If $y = g(u)$ and $u = h(x)$, the
# *chain rule* says the rates multiply:
#
# $$\frac{dy}{dx} = \frac{dy}{du} \cdot \frac{du}{dx}.$$
#
# If $u$ changes three times as fast as $x$, and $y$ changes half as fast as $u$, then $y$
# changes $1.5$ times as fast as $x$. Take $y = \tanh(3x + 1)$: with $u = 3x + 1$ we have
# $du/dx = 3$ and $dy/du = 1 - \tanh^2(u)$. Each factor is a *local* derivative: it only
# needs to know one small operation and the numbers that went into it.

# %%
x0 = 0.2
u = 3 * x0 + 1
by_chain_rule = (1 - math.tanh(u) ** 2) * 3
by_finite_difference = central_difference(lambda x: math.tanh(3 * x + 1), x0, 1e-6)
print(f"chain rule: {by_chain_rule:.10f}   finite difference: {by_finite_difference:.10f}")

# %% [markdown]
# One more rule and we have all of backpropagation. When $x$ reaches the output along
# *several* paths, say $y = p(x) \cdot q(x)$, the effects of a nudge in $x$ along each path
# add up (this is the multivariable chain rule):
#
# $$\frac{dy}{dx} = \frac{\partial y}{\partial p}\frac{dp}{dx} + \frac{\partial y}{\partial q}\frac{dq}{dx}.$$
#
# In words: **the derivative of the output with respect to any number is the sum, over every
# path from that number to the output, of the product of the local derivatives along the
# path.**

# %% [markdown]
# ## 3. A computation graph
#
# To apply that rule mechanically, we record the computation as it happens. A `Value` wraps
# one float. Every arithmetic operation on Values returns a new Value that remembers
#
# - `data`: the result,
# - `_prev`: the Values it was computed from (its *children* in the graph),
# - `_op`: which operation made it,
# - `_local_grads`: the local derivative of the result with respect to each child, worked
#   out by hand and evaluated right away, during the forward computation.
#
# The local derivatives are the whole "knowledge" of the engine. For the operations it
# supports they are:
#
# | result $r$ | $\partial r / \partial a$ | $\partial r / \partial b$ |
# |---|---|---|
# | $a + b$ | $1$ | $1$ |
# | $a - b$ | $1$ | $-1$ |
# | $a \cdot b$ | $b$ | $a$ |
# | $a / b$ | $1/b$ | $-a/b^2$ |
# | $a^n$ ($n$ a number) | $n a^{n-1}$ | |
# | $a^b$ ($a > 0$) | $b a^{b-1}$ | $a^b \ln a$ |
# | $e^a$, $\ln a$, $\sqrt a$ | $e^a$, $1/a$, $1 / (2\sqrt a)$ | |
# | $\tanh a$, $\sigma(a)$ | $1 - \tanh^2 a$, $\sigma(a)(1 - \sigma(a))$ | |
# | $\mathrm{relu}(a)$, $\lvert a \rvert$ | $[a > 0]$, $\mathrm{sign}(a)$ | |
# | $\mathrm{erf}(a)$ | $\frac{2}{\sqrt\pi} e^{-a^2}$ | |
# | $\max(a, b)$ | $1$ if $a > b$, $0$ if $a < b$, $\tfrac12$ at a tie | the rest |
#
# Let us build a small expression, $L = (a \cdot b + c) \cdot f$, and look at the graph it
# leaves behind. (The names are only for printing; the engine does not need them.)

# %%
a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
e = a * b
d = e + c
L = d * f
names = {id(a): "a", id(b): "b", id(c): "c", id(f): "f", id(e): "e", id(d): "d", id(L): "L"}


def describe(node):
    """One line per node: name, value, the op that made it and the local derivatives it stored."""
    if not node._prev:
        return f"{names[id(node)]} = {node.data:g}   (leaf)"
    children = ", ".join(names[id(child)] for child in node._prev)
    locals_ = ", ".join(f"{g:g}" for g in node._local_grads)
    return f"{names[id(node)]} = {node._op}({children}) = {node.data:g}   local derivatives ({locals_})"


for node in (e, d, L):
    print(describe(node))

# %% [markdown]
# `e = a * b` stored the local derivatives $(b, a) = (-3, 2)$: the derivative of a product
# with respect to one factor is the other factor.

# %% [markdown]
# ## 4. Backpropagation, by hand and by the engine
#
# Now the rule from section 2, organised so that no path is walked twice. Start at the output
# with $\partial L/\partial L = 1$. Then, for each node whose own gradient is complete, hand
# down to each child "my gradient times my local derivative with respect to you":
#
# - $\partial L / \partial d = f = -2$ and $\partial L / \partial f = d = 4$,
# - $\partial L / \partial e = \partial L / \partial d \cdot 1 = -2$ and likewise $\partial L / \partial c = -2$,
# - $\partial L / \partial a = \partial L / \partial e \cdot b = 6$ and $\partial L / \partial b = \partial L / \partial e \cdot a = -4$.
#
# `backward()` does exactly this and stores each result in the node's `grad`.

# %%
L.backward()
for node in (a, b, c, f, e, d, L):
    print(f"dL/d{names[id(node)]} = {node.grad:g}")
assert (a.grad, b.grad, c.grad, f.grad, e.grad, d.grad) == (6.0, -4.0, -2.0, 4.0, -2.0, -2.0)

# %% [markdown]
# A picture of the same graph. The library draws graphs with `tg.draw_graph`, but only graphs
# recorded by its tensor engine (chapter 2 onwards), so we record the same expression once more
# with 0-d `tinygrad_lm` tensors: the same four leaves and three operations. Each box is labelled
# with the value and the gradient the scalar engine just computed. Arrows run from the inputs of
# an operation to its result, the direction of the forward computation; backward hands
# gradients down them in reverse, from $L$ at the top to the leaves at the bottom.

# %%
a_t, b_t, c_t, f_t = (tg.tensor(node.data, requires_grad=True) for node in (a, b, c, f))
e_t = a_t * b_t
d_t = e_t + c_t
L_t = d_t * f_t
pairs = [(a, a_t), (b, b_t), (c, c_t), (f, f_t), (e, e_t), (d, d_t), (L, L_t)]
labels = {f"{names[id(node)]} = {node.data:g}, dL/d{names[id(node)]} = {node.grad:g}": tensor for node, tensor in pairs}
ax = tg.draw_graph(L_t, names=labels)
ax.set_title("L = (a * b + c) * f: values and gradients")
ax.figure.savefig(FIGURES / "01_autograd_graph.png", dpi=120, bbox_inches="tight")
plt.close(ax.figure)
assert float(L_t) == L.data

# %% [markdown]
# ## 5. Topological order, and why the walk must not recurse
#
# "For each node whose own gradient is complete" is the one real constraint. A node's
# gradient is complete only after *every* node that uses it has handed its share down. So we
# need an order in which every node comes after all the nodes it was computed from: a
# *topological order*. Backward walks it in reverse, from the output to the leaves.

# %%
print(" -> ".join(names[id(node)] for node in L.topological_order()))

# %% [markdown]
# The natural way to find that order is a depth-first search: before listing a node, list its
# children. Written recursively it is five lines, and it is how many small engines do it:


# %%
def recursive_order(node, seen, order):
    if id(node) not in seen:
        seen.add(id(node))
        for child in node._prev:
            recursive_order(child, seen, order)
        order.append(node)
    return order


# %% [markdown]
# Every level of recursion is a Python stack frame, and Python allows only
# `sys.getrecursionlimit()` of them, usually 1,000. Graphs get much deeper than that without
# doing anything exotic: adding up a long list of numbers one by one, which is what the
# built-in `sum` does, makes a chain as deep as the list is long. The engine therefore keeps
# its own stack, a plain Python list, and `Value.topological_order` never calls itself.

# %%
n_terms = 20_000 if SMALL else 100_000
terms = [Value(1.0 / (k + 1)) for k in range(n_terms)]
total = sum(terms)  # 0 + t0 + t1 + ...: a chain of n_terms additions
print(f"graph depth {n_terms:,}, recursion limit {sys.getrecursionlimit():,}")
try:
    recursive_order(total, set(), [])
except RecursionError:
    print("recursive walk: RecursionError")
else:
    raise AssertionError(f"expected a RecursionError from a recursive walk {n_terms:,} nodes deep")

start = time.perf_counter()
total.backward()
print(f"iterative backward: {time.perf_counter() - start:.2f} s, "
      f"d(total)/d(t0) = {terms[0].grad}, d(total)/d(t_last) = {terms[-1].grad}")
assert all(term.grad == 1.0 for term in terms)

# %% [markdown]
# ## 6. Fan-out: gradients add up
#
# A Value can feed several operations. In $y = x \cdot x + x$ the leaf $x$ is used three
# times, so there are three paths from $x$ to $y$ and, by section 2, three contributions to
# add: $x$ and $x$ through the product, $1$ through the sum, giving $dy/dx = 2x + 1$. That is
# why the engine *adds* into a gradient (`+=`) instead of assigning it: assigning would keep
# whichever contribution happened to arrive last.

# %%
x = Value(3.0)
y = x * x + x
y.backward()
print(f"x = {x.data}: dy/dx = {x.grad}  (2x + 1 = {2 * x.data + 1})")
assert x.grad == 2 * x.data + 1

# %% [markdown]
# Adding has a consequence you must remember in every training loop: gradients also add
# across calls. Run `backward()` a second time and every `grad` doubles. Before each new
# backward pass we set the parameters' `grad` back to zero.

# %%
y.backward()
print(f"after a second backward: dy/dx = {x.grad}")
assert x.grad == 2 * (2 * x.data + 1)
x.grad = 0.0

# %% [markdown]
# ## 7. A neuron
#
# The building block of a neural network is a *neuron*: a weighted sum of its inputs plus a
# bias, passed through a nonlinearity,
#
# $$\text{out} = \tanh(w_1 x_1 + w_2 x_2 + b).$$
#
# The inputs $x_i$ are data; the weights $w_i$ and the bias $b$ are parameters. Backward gives
# the derivative of the output with respect to all five numbers. For a weight the chain rule
# predicts $\partial\,\text{out} / \partial w_i = (1 - \text{out}^2)\, x_i$: the slope of tanh
# times the input the weight multiplies. A weight on a zero input gets no gradient at all.

# %%
inputs = [Value(1.0), Value(0.0)]
weights = [Value(0.5), Value(-0.25)]
bias = Value(0.1)
out = (weights[0] * inputs[0] + weights[1] * inputs[1] + bias).tanh()
out.backward()
print(f"out = {out.data:.4f}")
for i, (w, xi) in enumerate(zip(weights, inputs)):
    predicted = (1 - out.data**2) * xi.data
    print(f"d out/d w{i + 1} = {w.grad:.4f}   (1 - out^2) * x{i + 1} = {predicted:.4f}")
    assert math.isclose(w.grad, predicted, rel_tol=1e-12, abs_tol=1e-15)
print(f"d out/d b = {bias.grad:.4f}")

# %% [markdown]
# ## 8. Learning: gradient descent on a tiny problem
#
# Now we can train. Six points in the plane carry a label $+1$ or $-1$; the label is $+1$
# when the point lies on one side of a line through the origin. A single neuron should learn
# to predict the label. We measure how wrong it is with the *mean squared error*
#
# $$\text{loss} = \frac{1}{N} \sum_{k=1}^{N} \big(\text{neuron}(x^{(k)}) - t^{(k)}\big)^2,$$
#
# and repeat three steps: compute the loss (forward), compute its gradient with respect to
# every parameter (backward, after zeroing the old gradients), and move every parameter a
# small step *against* its gradient, the direction in which the loss falls fastest:
# $p \leftarrow p - \eta \, \partial\,\text{loss} / \partial p$, with learning rate $\eta$.

# %%
points = [(2.0, 1.0), (-1.0, -1.5), (0.5, 2.0), (-2.0, 0.5), (1.0, -0.5), (-0.5, -2.0)]
targets = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]
weights = [Value(-0.5), Value(0.4)]  # deliberately wrong to start with
bias = Value(0.0)
parameters = [*weights, bias]
learning_rate = 0.1


def neuron(point):
    return (weights[0] * point[0] + weights[1] * point[1] + bias).tanh()


def mean_squared_error():
    errors = [(neuron(p) - t) ** 2 for p, t in zip(points, targets)]
    return sum(errors) / len(errors)


losses = []
for step in range(30):
    loss = mean_squared_error()
    for p in parameters:
        p.grad = 0.0
    loss.backward()
    for p in parameters:
        p.data -= learning_rate * p.grad
    losses.append(loss.data)
    if step % 5 == 0:
        print(f"step {step:2d}   loss {loss.data:.4f}")
losses.append(mean_squared_error().data)  # the loss after the last update
print(f"final loss {losses[-1]:.4f}")
print("predictions:", [f"{neuron(p).data:+.2f}" for p in points], "targets:", targets)

# %% [markdown]
# The loss falls step after step, and the predictions end up on the right side of zero for
# every point. Nothing in the loop knows anything about neurons or tanh: it only asks the
# graph for gradients. That is the whole trick, and every model in this book, up to a GPT,
# is trained by this loop with bigger Values.

# %% [markdown]
# ## 9. The check
#
# This chapter claimed that backward computes *exact* derivatives of any expression built
# from Values. We test that claim on an expression that uses most operations and reuses its
# inputs many times, by comparing every gradient with a central difference (section 1) with
# $h = 10^{-6}$, and we confirm that training lowered the loss and classified every point.


# %%
def expression(p, q, r):
    s = (p * q + r).tanh() * p - (q / (r * r + 1.0)).sigmoid()
    return (p * p + 1.0).log() * s.exp() + (q * q + 0.5).sqrt() * r.erf() + 2.0**s - p.maximum(r) * q


def expression_along(i, point):
    """The expression as a float function of input i alone, the other inputs held at `point`."""
    return lambda t: expression(*[Value(t if j == i else v) for j, v in enumerate(point)]).data


point = [0.7, -1.3, 0.4]
leaves = [Value(v) for v in point]
expression(*leaves).backward()
for i, leaf in enumerate(leaves):
    numeric = central_difference(expression_along(i, point), point[i], 1e-6)
    print(f"input {i}: backward {leaf.grad:+.10f}   finite difference {numeric:+.10f}")
    assert abs(leaf.grad - numeric) < 1e-6, (i, leaf.grad, numeric)

assert losses[-1] < 0.5 * losses[0], losses
assert all(neuron(p).data * t > 0 for p, t in zip(points, targets)), "a point is misclassified"
print(f"loss fell from {losses[0]:.4f} to {losses[-1]:.4f}; chapter 1 checks passed")

# %% [markdown]
# ## What we left out
#
# `Value` handles one number at a time, so a model with a million parameters would build a
# graph of millions of tiny nodes: correct, and hopelessly slow. Chapter 2 keeps the same
# three ideas (record the graph, store local derivatives, walk it backwards in topological
# order) but makes every node an array, so one node does a million multiplications in NumPy.
# That brings new questions this chapter did not have to answer: how to prove an array op's
# backward right (chapter 2), broadcasting and the shapes of gradients (chapter 3), freeing the
# graph after use. The scalar engine stays in the library as the
# referee: the tensor engine is tested against it.

# %% [markdown]
# ## Exercises
#
# Three exercises wait in `tutorials/exercises/ch01.py`. Edit that file, then check your answers
# from the repository root with `pytest tutorials/exercises -k ch01`. Reference solutions are in
# `tutorials/solutions/ch01.py`; `TINYGRAD_LM_EXERCISES=solutions pytest tutorials/exercises -k ch01`
# runs the same tests on them.
#
# 1. **`silu`**: add SiLU, $x\,\sigma(x)$, as *one* new node of the graph. Derive its local
#    derivative by hand; the tests compare it with a central difference and with the three-node
#    composition `x * x.sigmoid()`, and try $x = \pm 800$.
# 2. **`central_difference_gradient`**: section 1's referee for a function of several numbers,
#    one partial derivative per input.
# 3. **`gradients`**: the backward pass, written by you: the chain rule over a reverse
#    topological order, adding over every path, without calling `backward()`. It must agree
#    with `backward()` on a graph where inputs are used many times.
