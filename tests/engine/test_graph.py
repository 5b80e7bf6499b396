"""Tests for the public views of a graph: ``graph_text``, ``graph_dot`` and ``draw_graph``.

Each view must show every op and leaf that produced a tensor (op names, shapes, dtypes,
requires_grad), show a shared tensor once, take ``names`` labels, work on deep graphs
without recursion and after ``backward()`` freed the saved arrays.
"""

import re

import pytest

import tinygrad_lm as tg


def small_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    W = tg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = (x @ W).tanh()
    loss = (h * 2.0 + h).sum()
    return x, W, h, loss


def test_graph_text_shows_ops_shapes_dtypes_and_leaves():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).exp().sum()
    assert tg.graph_text(y, names={"x": x, "y": y}) == (
        "[0] y = Sum -> () float32\n"
        "└── [1] Exp -> (2,) float32\n"
        "    └── [2] Mul -> (2,) float32\n"
        "        ├── [3] x: leaf (2,) float32, requires_grad\n"
        "        └── [3] x (shown above)"
    )


def test_graph_text_shows_a_shared_subgraph_once():
    x, W, h, loss = small_graph()
    text = tg.graph_text(loss, names={"x": x, "W": W})
    assert text.count("Tanh -> (2,) float32") == 1 and "[3] Tanh (shown above)" in text
    assert text.count("MatMul") == 1
    assert "W: leaf (2, 2) float32, requires_grad" in text
    assert re.search(r"leaf \(\) float32$", text, re.MULTILINE)  # the constant 2.0, no requires_grad


def test_graph_text_of_a_leaf_and_of_a_no_grad_result():
    x = tg.tensor([1.0], requires_grad=True)
    assert tg.graph_text(x) == "[0] leaf (1,) float32, requires_grad"
    with tg.no_grad():
        y = x * 3.0
    assert tg.graph_text(y) == "[0] leaf (1,) float32"  # no graph was recorded


def test_graph_views_survive_backward_and_deep_graphs():
    x = tg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(1500):  # deeper than Python's recursion limit
        y = y * 1.0
    y.sum().backward()  # frees the saved arrays; the views do not need them
    assert tg.graph_text(y).count("Mul") == 1500
    assert tg.graph_dot(y).count("->") == 3000


def test_graph_dot_is_well_formed():
    x, W, _, loss = small_graph()
    dot = tg.graph_dot(loss, names={"x": x})
    assert dot.startswith("digraph tinygrad_lm {") and dot.rstrip().endswith("}")
    node_lines = [line for line in dot.splitlines() if "[label=" in line]
    edge_lines = [line for line in dot.splitlines() if re.fullmatch(r"\s*n\d+ -> n\d+;", line)]
    assert len(node_lines) == 8  # x, W, MatMul, Tanh, 2.0, Mul, Add, Sum
    assert len(edge_lines) == 8  # MatMul 2, Tanh 1, Mul 2, Add 2, Sum 1
    assert '"x\\nleaf (2,) float32, requires_grad"' in dot  # newlines escaped inside labels
    assert all("\n" not in line for line in node_lines)
    assert dot.count('fillcolor="lightblue"') == 2


def test_names_must_be_a_dict():
    x = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match="names must be a dict"):
        tg.graph_text(x * 2.0, names=[x])


def test_draw_graph_draws_one_box_per_node_and_one_arrow_per_edge():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.patches import FancyArrowPatch

    x, W, _, loss = small_graph()
    ax = tg.draw_graph(loss, names={"x": x, "W": W, "loss": loss})
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 8 and any(t.startswith("loss\nSum") for t in texts)
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) == 8
    ax.figure.canvas.draw()  # renders without error
    matplotlib.pyplot.close(ax.figure)


def test_graph_layout_puts_every_op_above_its_inputs():
    from tinygrad_lm.engine.graph import graph_layout

    _, _, _, loss = small_graph()
    nodes, position = graph_layout(loss)
    for node in nodes:
        if node._ctx is not None:
            assert all(position[id(p)][1] < position[id(node)][1] for p in node._ctx.inputs)
    assert len({position[id(n)] for n in nodes}) == len(nodes)  # no two boxes on one spot
