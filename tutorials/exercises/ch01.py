"""Exercises for chapter 1 (autograd from scalars). Edit this file; check it with

    pytest tutorials/exercises -k ch01

Reference solutions: tutorials/solutions/ch01.py (look after you have tried).

1. `silu`: a new scalar op, with its local derivative worked out by hand.
2. `central_difference_gradient`: chapter 1's referee, for a function of several numbers.
3. `gradients`: the backward pass itself, written by you, without calling `backward()`.
"""

from tinygrad_lm.engine.scalar import Value


def silu(x: Value) -> Value:
    """SiLU (the "swish" of many recent language models' MLPs) as ONE new node of the graph.

        silu(x) = x * sigmoid(x),   sigmoid(x) = 1 / (1 + e^-x)

    Derive d silu / dx by hand (product rule, and sigmoid' = sigmoid (1 - sigmoid)), then
    return `Value(out, (x,), (local_derivative,), "silu")`: a node whose only child is `x`.
    Do not build it from other Value ops (`x * x.sigmoid()` would be three nodes).
    Compute sigmoid without overflow for x = -800 and x = +800 (see `Value.sigmoid`).
    """
    raise NotImplementedError("exercise ch01.silu: return one Value node with the hand-derived local derivative")


def central_difference_gradient(f, point, h=1e-6):
    """The gradient of `f` at `point` by central differences, one partial derivative per input.

    `f` takes `len(point)` floats and returns a float; `point` is a list of floats. Return the
    list whose entry i is (f(..., p_i + h, ...) - f(..., p_i - h, ...)) / (2 h), the other
    inputs held at `point`. Two calls of `f` per input.
    """
    raise NotImplementedError("exercise ch01.central_difference_gradient")


def gradients(output: Value) -> dict:
    """d output / d v for every Value v in `output`'s graph, as a dict {v: float}.

    Do what `Value.backward()` does, by hand: start from {output: 1.0}, walk
    `output.topological_order()` in reverse (the output first), and for every node hand
    `grads[node] * local` down to each child in `node._prev` (with `node._local_grads`),
    ADDING to what the child already has (a Value used twice gets both contributions).
    Do not call `backward()` and do not change any `.grad`.
    """
    raise NotImplementedError("exercise ch01.gradients: the chain rule over a reverse topological order")
