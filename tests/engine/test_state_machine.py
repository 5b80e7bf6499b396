"""Random graphs built twice, in the tensor engine and in the scalar engine, must agree.

A Hypothesis ``RuleBasedStateMachine`` grows one graph in both engines at once. Each node is
a float64 Tensor of shape (), (1,) or (n,) and, beside it, the list of scalar ``Value``s that
hold the same numbers (one per element). Rules add leaves, combine two nodes with + - * /
or maximum (broadcasting () and (1,) against (n,), mirrored elementwise on the scalar side),
apply tanh, exp, sigmoid, relu or log, and reuse any node any number of times (fan-out).
Every node's values must agree at every step; a rule (and the teardown) backpropagates from a
random linear combination of nodes and compares every leaf's gradient, to 1e-9.

Domains: exp only below 5, log only above 0.1, division only by |x| > 0.1, relu and maximum
only away from their kinks (1e-6), and no value above 1e6: outside these the two engines may
legitimately round to different sides of a kink, or overflow.
"""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

import tinygrad_lm as tg
from tinygrad_lm.engine.scalar import Value

TOLERANCE = 1e-9
KINK = 1e-6
LIMIT = 1e6
SHAPES = st.sampled_from(["scalar", "one", "vector"])


class Node:
    """The same numbers in both engines: a Tensor and its elements as scalar Values."""

    def __init__(self, tensor, values):
        self.tensor, self.values = tensor, values

    def numbers(self):
        return np.array([v.data for v in self.values])


def _pairs(a, b):
    """Elementwise partners under broadcasting of (), (1,) and (n,): one value pairs with all."""
    n = max(len(a.values), len(b.values))
    return [(a.values[i % len(a.values)], b.values[i % len(b.values)]) for i in range(n)]


class TwoEngines(RuleBasedStateMachine):
    nodes = Bundle("nodes")

    def __init__(self):
        super().__init__()
        self.leaves = []
        self.all_nodes = []

    @initialize(target=nodes, n=st.integers(2, 4), data=st.data())
    def first_leaves(self, n, data):
        """Start with a vector leaf and one more, so that every rule can run from the first step."""
        self.n = n
        return multiple(self._leaf("vector", data), self._leaf(data.draw(SHAPES), data))

    @rule(target=nodes, kind=SHAPES, data=st.data())
    def leaf(self, kind, data):
        return self._leaf(kind, data)

    def _leaf(self, kind, data):
        shape = {"scalar": (), "one": (1,), "vector": (self.n,)}[kind]
        size = int(np.prod(shape))
        numbers = data.draw(st.lists(st.floats(-2.0, 2.0), min_size=size, max_size=size))
        node = Node(tg.tensor(np.array(numbers).reshape(shape), requires_grad=True), [Value(x) for x in numbers])
        self.leaves.append(node)
        self.all_nodes.append(node)
        return node

    def _keep(self, node):
        if not np.all(np.abs(node.numbers()) < LIMIT):
            return multiple()  # too large to compare reliably; drop it
        self.all_nodes.append(node)
        return node

    @rule(target=nodes, a=nodes, b=nodes, op=st.sampled_from(["+", "-", "*"]))
    def arithmetic(self, a, b, op):
        tensor_op = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[op]
        values = [tensor_op(x, y) for x, y in _pairs(a, b)]
        return self._keep(Node(tensor_op(a.tensor, b.tensor), values))

    @rule(target=nodes, a=nodes, b=nodes)
    def divide(self, a, b):
        if np.any(np.abs(b.numbers()) <= 0.1):
            return multiple()
        return self._keep(Node(a.tensor / b.tensor, [x / y for x, y in _pairs(a, b)]))

    @rule(target=nodes, a=nodes, b=nodes, larger=st.booleans())
    def maximum_or_minimum(self, a, b, larger):
        if any(abs(x.data - y.data) <= KINK for x, y in _pairs(a, b)):
            return multiple()
        if larger:
            return self._keep(Node(tg.maximum(a.tensor, b.tensor), [x.maximum(y) for x, y in _pairs(a, b)]))
        return self._keep(Node(tg.minimum(a.tensor, b.tensor), [x.minimum(y) for x, y in _pairs(a, b)]))

    @rule(target=nodes, a=nodes, op=st.sampled_from(["tanh", "exp", "sigmoid", "relu", "log"]))
    def unary(self, a, op):
        x = a.numbers()
        allowed = {"exp": np.all(x < 5), "relu": np.all(np.abs(x) > KINK), "log": np.all(x > 0.1)}
        if not allowed.get(op, True):
            return multiple()
        return self._keep(Node(getattr(a.tensor, op)(), [getattr(v, op)() for v in a.values]))

    @invariant()
    def values_agree(self):
        for node in self.all_nodes:
            np.testing.assert_allclose(node.tensor.numpy().reshape(-1), node.numbers(),
                                       rtol=TOLERANCE, atol=TOLERANCE)

    @rule(data=st.data())
    def gradients_agree(self, data):
        chosen = data.draw(st.lists(st.sampled_from(self.all_nodes), min_size=1, max_size=4))
        weights = data.draw(st.lists(st.floats(-2.0, 2.0), min_size=len(chosen), max_size=len(chosen)))
        self._check_gradients(chosen, weights)

    def teardown(self):
        """A last check over every node, with seeded weights."""
        weights = np.random.default_rng(len(self.all_nodes)).uniform(-2.0, 2.0, len(self.all_nodes))
        self._check_gradients(self.all_nodes, [float(w) for w in weights])

    def _check_gradients(self, chosen, weights):
        """Backpropagate sum_k w_k * sum(node_k) through both engines; compare leaf gradients."""
        for leaf in self.leaves:
            leaf.tensor.zero_grad()
        loss = sum((node.tensor.sum() * w for node, w in zip(chosen, weights)), start=tg.tensor(np.float64(0.0)))
        scalar_loss = sum((v * w for node, w in zip(chosen, weights) for v in node.values), start=Value(0.0))
        for v in [*scalar_loss.topological_order(), *(v for leaf in self.leaves for v in leaf.values)]:
            v.grad = 0.0  # scalar gradients accumulate across backward calls
        if loss.requires_grad:
            loss.backward(retain_graph=True)
        scalar_loss.backward()
        for index, leaf in enumerate(self.leaves):
            tensor_grad = np.zeros(leaf.tensor.shape) if leaf.tensor.grad is None else leaf.tensor.grad
            np.testing.assert_allclose(
                tensor_grad.reshape(-1), [v.grad for v in leaf.values], rtol=TOLERANCE, atol=TOLERANCE,
                err_msg=f"gradient of leaf {index} (shape {leaf.tensor.shape})",
            )


TestTwoEngines = TwoEngines.TestCase
TestTwoEngines.settings = settings(stateful_step_count=20)
