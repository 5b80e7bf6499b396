"""Seeing a graph: the ops that produced a tensor, as text, as Graphviz DOT, or as a drawing.

    import tinygrad_lm as tg
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).exp().sum()
    print(tg.graph_text(y, names={"x": x, "y": y}))

    [0] y = Sum -> () float32
    └── [1] Exp -> (2,) float32
        └── [2] Mul -> (2,) float32
            ├── [3] x: leaf (2,) float32, requires_grad
            └── [3] x (shown above)

Every node is a Tensor. One made by an op shows the op's name (its ``Function`` class) and
the output's shape and dtype; a leaf (made by the user, or by an op while recording was off)
shows its shape, dtype and whether it requires grad. A tensor reached twice (``x`` above, used
twice by one ``Mul``; or a subgraph two ops share) is drawn once and referred to by its number
afterwards, so the text stays as long as the graph, not as the number of paths through it.

``names`` is an optional dict ``{label: tensor}`` that labels any tensor in the graph, leaf or
not (``names={"x": x, "W": W, "loss": loss}``); unnamed constants such as the ``2`` of
``x * 2`` appear as ``leaf``. All three views walk the same graph, with an explicit stack
(never recursion), through every input of every op, including inputs that do not require
grad. Saved arrays are not needed, so a graph can be shown after ``backward()`` freed them.

    graph_text(t, names=None) -> str            a tree for the terminal
    graph_dot(t, names=None) -> str             DOT text: ``dot -Tpng graph.dot -o graph.png``
    draw_graph(t, names=None, ax=None) -> Axes  a matplotlib drawing, layered from leaves up

Graphviz is never needed by the library (DOT is only text); matplotlib is needed only by
``draw_graph`` and imported when it is called. Left out: op settings (axis, shape) in the
labels, the saved arrays, and layouts that avoid every edge crossing (``draw_graph`` orders
each layer once by the mean position of its inputs; Graphviz does better with the DOT text).
"""

from .autograd import topological_order


def graph_nodes(root):
    """Every tensor ``root`` was computed from, inputs before the ops that use them.

    The order is a topological order of the whole graph (constants and no-grad inputs
    included), found with an explicit stack; ``root`` is last.
    """
    return topological_order(root, lambda tensor: reversed(_inputs(tensor)))  # the first input is visited first


def _inputs(tensor):
    return tuple(tensor._ctx.inputs) if tensor._ctx is not None else ()


def _labels(names):
    """``{id(tensor): label}`` from the user's ``{label: tensor}``."""
    if names is None:
        return {}
    if not isinstance(names, dict):
        raise TypeError(f"names must be a dict {{label: tensor}}, got {type(names).__name__}")
    return {id(tensor): str(label) for label, tensor in names.items()}


def _describe(tensor):
    """``Mul -> (2, 3) float32`` for an op's output, ``leaf (2, 3) float32, requires_grad`` for a leaf."""
    shape = tuple(tensor.shape)
    if tensor._ctx is not None:
        return f"{tensor._ctx.function.__name__} -> {shape} {tensor.dtype}"
    grad = ", requires_grad" if tensor.requires_grad else ""
    return f"leaf {shape} {tensor.dtype}{grad}"


def graph_text(tensor, names=None):
    """A text tree of the ops that produced ``tensor``, root first (see the module docstring)."""
    labels = _labels(names)
    number = {}  # id(tensor) -> the number it was first shown with
    lines = []
    stack = [(tensor, "", "")]  # (node, prefix of its line, prefix of its children' lines)
    while stack:
        node, line_prefix, child_prefix = stack.pop()
        label = labels.get(id(node))
        if id(node) in number:
            shown = label or (node._ctx.function.__name__ if node._ctx is not None else "leaf")
            lines.append(f"{line_prefix}[{number[id(node)]}] {shown} (shown above)")
            continue
        number[id(node)] = len(number)
        if label is None:
            head = ""
        else:
            head = f"{label}: " if node._ctx is None else f"{label} = "
        lines.append(f"{line_prefix}[{number[id(node)]}] {head}{_describe(node)}")
        parents = _inputs(node)
        for index in reversed(range(len(parents))):  # pushed last-first, so shown first-first
            last = index == len(parents) - 1
            branch, extend = ("└── ", "    ") if last else ("├── ", "│   ")
            stack.append((parents[index], child_prefix + branch, child_prefix + extend))
    return "\n".join(lines)


def _dot_quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def graph_dot(tensor, names=None):
    """Graphviz DOT text of the graph: boxes for ops, ellipses for leaves, edges input -> output.

    Leaves that require grad are filled light blue, other leaves (constants) white. Render it
    with ``dot -Tpng graph.dot -o graph.png`` where Graphviz is installed.
    """
    labels = _labels(names)
    nodes = graph_nodes(tensor)
    key = {id(node): f"n{i}" for i, node in enumerate(nodes)}
    lines = ["digraph tinygrad_lm {", "  rankdir=BT;", '  node [fontname="monospace", fontsize=10];']
    for node in nodes:
        text = _describe(node).replace(" -> ", "\n")
        if id(node) in labels:
            text = f"{labels[id(node)]}\n{text}"
        if node._ctx is not None:
            style = "shape=box"
        else:
            fill = "lightblue" if node.requires_grad else "white"
            style = f'shape=ellipse, style=filled, fillcolor="{fill}"'
        lines.append(f"  {key[id(node)]} [label={_dot_quote(text)}, {style}];")
    for node in nodes:
        for parent in _inputs(node):
            lines.append(f"  {key[id(parent)]} -> {key[id(node)]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_layout(tensor):
    """``(nodes, {id(node): (x, layer)})``: leaves at layer 0, each op one above its highest input.

    Within a layer, nodes are ordered by the mean x of their inputs (leaves keep their
    first-use order), then placed at x = 0, 1, 2, ... centred on 0.
    """
    nodes = graph_nodes(tensor)
    layer = {}
    for node in nodes:  # inputs come first, so their layers are known
        parents = _inputs(node)
        layer[id(node)] = 1 + max(layer[id(p)] for p in parents) if parents else 0
    position = {}
    for level in range(max(layer.values()) + 1):
        row = [node for node in nodes if layer[id(node)] == level]
        if level:
            row.sort(key=lambda n: sum(position[id(p)][0] for p in _inputs(n)) / len(_inputs(n)))
        for x, node in enumerate(row):
            position[id(node)] = (x - (len(row) - 1) / 2, level)
    return nodes, position


def draw_graph(tensor, names=None, ax=None):
    """Draw the graph with matplotlib (leaves at the bottom, ``tensor`` on top); return the Axes.

    Boxes are ops, rounded boxes leaves (light blue when they require grad), arrows run from
    each input to the op that used it. ``ax`` is the Axes to draw on (a new figure if None).
    """
    try:
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyArrowPatch
    except ImportError as error:
        raise ImportError(
            f"draw_graph needs matplotlib ({error}); install it with pip install 'tinygrad_lm[plot]', "
            f"or use graph_text / graph_dot, which need nothing"
        ) from error
    labels = _labels(names)
    nodes, position = graph_layout(tensor)
    if ax is None:
        width = max(x for x, _ in position.values()) - min(x for x, _ in position.values()) + 1
        height = max(layer for _, layer in position.values()) + 1
        _, ax = plt.subplots(figsize=(max(4.0, 2.2 * width), max(2.5, 1.1 * height)))
    boxes = {}
    for node in nodes:
        text = _describe(node).replace(" -> ", "\n").replace(", requires_grad", "\nrequires_grad")
        if id(node) in labels:
            text = f"{labels[id(node)]}\n{text}"
        if node._ctx is not None:
            box = {"boxstyle": "square,pad=0.3", "facecolor": "white", "edgecolor": "black"}
        else:
            fill = "lightblue" if node.requires_grad else "white"
            box = {"boxstyle": "round,pad=0.3", "facecolor": fill, "edgecolor": "0.3"}
        artist = ax.text(*position[id(node)], text, ha="center", va="center", fontsize=7,
                         family="monospace", bbox=box, zorder=2)
        boxes[id(node)] = artist.get_bbox_patch()
    for node in nodes:
        for parent in _inputs(node):
            skips = position[id(node)][1] - position[id(parent)][1] > 1  # would cross the layers between
            ax.add_patch(FancyArrowPatch(
                position[id(parent)], position[id(node)], patchA=boxes[id(parent)], patchB=boxes[id(node)],
                arrowstyle="-|>", mutation_scale=8, color="0.4", zorder=3,  # after the boxes: clipped to them
                connectionstyle=f"arc3,rad={0.3 if skips else 0.0}"))
    xs = [x for x, _ in position.values()]
    layers = [layer for _, layer in position.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(layers) - 0.6, max(layers) + 0.6)
    ax.set_axis_off()
    return ax


__all__ = ["draw_graph", "graph_dot", "graph_layout", "graph_nodes", "graph_text"]
