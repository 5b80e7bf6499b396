"""Reverse-mode differentiation: walk the graph from a result back to its leaves.

``backward(root, grad)`` visits every op that led to ``root`` in reverse topological order,
so each op runs its backward exactly once, after all the gradient flowing into its output
has been summed. The order is computed with an explicit stack, never recursion, so a chain
of 100,000 ops backpropagates in time linear in its length.

The engine, not the op, does the bookkeeping every op would otherwise repeat:

1. **Un-broadcasting.** If ``a`` of shape (3, 1) was broadcast against (3, 4), the op's
   backward may return a (3, 4) gradient; ``unbroadcast`` sums it back to (3, 1):
   leading axes the input lacked are summed away, then axes where the input had size 1.
2. **The contract check.** After un-broadcasting, each gradient must have exactly its
   input's shape and dtype, and live on its device, or ``BackwardError`` names the op that broke it.
3. **Accumulation.** A tensor used twice receives the sum of both gradients; a leaf adds into
   ``.grad`` (so gradients also accumulate across ``backward`` calls until ``zero_grad``).
4. **Freeing.** After an op's backward runs, its saved arrays are released (and writable
   again, see ``saved.py``) unless ``retain_graph=True``; a second backward through it then
   raises ``GraphError``.
5. **Staleness.** An op whose saved array was overwritten in place since its forward
   (``saved.claim_for_write``: an in-place operator, an optimizer step) refuses to run its
   backward, with a ``GraphError`` naming the op and the write.

Left out: gradients of gradients (first-order only), hooks, non-leaf ``.grad``.
"""

from .device import array_module, device_of
from .errors import BackwardError, GraphError
from .function import check_finite
from .grad_mode import is_anomaly_enabled, no_grad


def unbroadcast(grad, shape):
    """Sum ``grad`` (the shape an input was broadcast to) back down to ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra < 0:
        return grad  # cannot be a broadcast; the shape check reports it
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))  # drop leading axes the input never had
    ones = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)  # size-1 axes that were stretched
    return grad


def topological_order(root, parents=None):
    """Tensors that ``root`` depends on, inputs before outputs; ``root`` is last.

    ``parents(tensor)`` gives the inputs to follow, in the order they are pushed on the stack (the
    last pushed is visited first). By default: the inputs of the op that made ``tensor`` that
    require grad, which is what ``backward`` walks; ``graph.graph_nodes`` follows every input.
    """
    parents = _grad_parents if parents is None else parents
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        for parent in parents(tensor):
            if id(parent) not in visited:
                stack.append((parent, False))
    return order


def _grad_parents(tensor):
    ctx = tensor._ctx
    return [] if ctx is None else [parent for parent in ctx.inputs if parent.requires_grad]


def backward(root, grad, retain_graph=False):
    """Accumulate d(root)/d(leaf) · ``grad`` into the ``.grad`` of every leaf under ``root``."""
    order = topological_order(root)
    pending = {id(root): grad}  # gradient flowing into each tensor's output, summed so far
    with no_grad():
        for tensor in reversed(order):
            grad_out = pending.pop(id(tensor), None)
            if grad_out is None:
                continue
            ctx = tensor._ctx
            if ctx is None:  # a leaf: keep its own copy (grads may be shared views)
                total = grad_out if tensor.grad is None else tensor.grad + grad_out
                tensor.grad = array_module(total).array(total)  # a fresh ndarray, never a NumPy scalar
                continue
            _run_op_backward(ctx, grad_out, pending)
            if not retain_graph:
                ctx.release()


def _run_op_backward(ctx, grad_out, pending):
    name = ctx.function.__name__
    if ctx.released:
        raise GraphError(
            f"{name}: this part of the graph was already backpropagated and its saved buffers "
            f"freed; pass retain_graph=True to the first backward() to go through it again"
        )
    if ctx.held is not None and ctx.held.stale:
        raise GraphError(
            f"{name}: an array it saved for backward was overwritten in place by {ctx.held.stale} after "
            f"this forward ran, so its gradient would be wrong; run the forward again after the update "
            f"(or update only after backward)"
        )
    grads = ctx.function.backward(ctx, grad_out)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) != len(ctx.inputs):
        raise BackwardError(f"{name}.backward returned {len(grads)} gradients for {len(ctx.inputs)} inputs")
    for index, (parent, grad) in enumerate(zip(ctx.inputs, grads)):
        if grad is None or not ctx.needs_input_grad[index]:
            continue
        grad = unbroadcast(grad, parent.shape)
        if grad.shape != parent.shape or grad.dtype != parent.dtype:
            raise BackwardError(
                f"{name}.backward: gradient for input {index} has shape {grad.shape} and dtype "
                f"{grad.dtype}, but the input has shape {parent.shape} and dtype {parent.dtype}"
            )
        if device_of(grad) != device_of(parent.data):
            raise BackwardError(f"{name}.backward: gradient for input {index} is on {device_of(grad)}, "
                                f"but the input is on {device_of(parent.data)}")
        if is_anomaly_enabled():
            check_finite(grad, f"{name}.backward (gradient for input {index})")
        key = id(parent)
        pending[key] = grad if key not in pending else pending[key] + grad
