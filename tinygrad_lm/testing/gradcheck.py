"""Checking a backward pass against finite differences, and comparing arrays with tolerances.

``gradcheck(fn, *inputs)`` proves an op's hand-derived backward right (or finds it wrong) by
comparing it with what the forward alone says the derivative is:

1. Floating inputs become float64 copies that require grad (a non-contiguous input gets a
   strided copy, so the op still sees a non-contiguous layout). Other inputs (index arrays,
   masks) are passed through untouched.
2. A random upstream gradient ``u`` (never all-ones, so a transposed or wrongly broadcast
   gradient cannot hide behind symmetric sums) is drawn from a seeded Generator. The analytic
   gradient of ``L(x) = <u, fn(x)>`` is what ``fn(x).backward(u)`` leaves in ``x.grad``.
3. The numeric gradient comes from central differences of L. For an input with at most
   ``dense_max_elements`` elements, every element is nudged on its own:

       dL/dx_i ~ <u, fn(x + eps e_i) - fn(x - eps e_i)> / (2 eps)

   For larger inputs, ``n_directions`` random directions v are checked instead (a
   directional derivative, as in Chainer and HIPS autograd):

       <dL/dx, v> ~ <u, fn(x + eps v) - fn(x - eps v)> / (2 eps)

   The outputs are subtracted before the dot product with u, so outputs a nudge does not
   touch cancel exactly and add no rounding noise.
4. Values agree when ``|analytic - numeric| <= atol + rtol * |numeric|``. Otherwise
   ``GradcheckError`` names the op, the input, the worst element (or direction), both values
   and the tolerance.

``fn`` may also return a list or tuple of Tensors (``split``); each output gets its own u.

``check_close(actual, expected, dtype)`` is the one comparison every parity test uses, with
tolerances ``atol + rtol * |expected|`` scaled to the dtype (table ``DEFAULT_TOLERANCES``).

Left out: second derivatives (the engine is first-order), complex numbers, checking that the
forward is deterministic. Needs only NumPy and the engine, never Hypothesis.
"""

import numpy as np

from ..engine import Tensor, no_grad

# (rtol, atol) per dtype. float64 results are compared with references computed the same way
# in float64, so they agree to near rounding; float32 and float16 results are compared with a
# float64 reference and carry about 100 ulp (float32) or 10 ulp (float16) of rounding.
DEFAULT_TOLERANCES = {
    np.dtype(np.float64): (1e-10, 1e-12),
    np.dtype(np.float32): (1e-5, 1e-6),
    np.dtype(np.float16): (1e-2, 1e-3),
}


class GradcheckError(AssertionError):
    """An analytic gradient that disagrees with finite differences (names op, input, index)."""


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-6, rtol=1e-5, dense_max_elements=2000,
              n_directions=3, seed=0, name=None, wrt=None):
    """Check the backward of ``fn`` at ``inputs`` against central differences; True or raise.

    Args:
        fn: takes Tensors, returns a Tensor (or a list/tuple of Tensors).
        inputs: Tensors, arrays or numbers. Floating ones are differentiated (in float64).
        eps: the finite-difference step.
        atol, rtol: an element passes when |analytic - numeric| <= atol + rtol * |numeric|.
        dense_max_elements: inputs up to this many elements get one difference per element;
            larger ones get ``n_directions`` random directional checks.
        seed: seeds the upstream gradient and the directions.
        name: the op's name in error messages (default ``fn.__name__``).
        wrt: indices of the inputs to differentiate (default: every floating input).
    """
    name = name or getattr(fn, "__name__", "fn")
    arrays = [_as_array(x) for x in inputs]
    floating = [i for i, a in enumerate(arrays) if a is not None and a.dtype.kind == "f"]
    wrt = floating if wrt is None else list(wrt)
    if not wrt:
        raise ValueError(f"gradcheck({name}): no floating input to differentiate; got "
                         f"{[type(x).__name__ for x in inputs]}")
    not_float = [i for i in wrt if i not in floating]
    if not_float:
        raise ValueError(f"gradcheck({name}): inputs {not_float} in wrt are not floating arrays")
    arrays = [_float64_copy(a) if i in floating else a for i, a in enumerate(arrays)]
    rng = np.random.default_rng(seed)

    def evaluate(values):
        """fn's outputs as a list of float64 arrays, computed without recording a graph."""
        with no_grad():
            return [o.data.astype(np.float64) for o in _outputs(fn(*_wrap(values, inputs)), name)]

    leaves = _wrap(arrays, inputs, requires_grad=set(wrt))
    outputs = _outputs(fn(*leaves), name)
    upstream = []
    for k, out in enumerate(outputs):
        if not out.requires_grad:
            raise GradcheckError(f"gradcheck({name}): output {k} does not require grad; is every "
                                 f"input detached, or is the output an integer tensor?")
        u = rng.standard_normal(out.shape).astype(out.dtype)
        out.backward(u, retain_graph=k < len(outputs) - 1)
        upstream.append(u.astype(np.float64))

    def numeric_derivative(index, direction):
        """<u, fn(x + eps d) - fn(x - eps d)> / (2 eps) for a nudge ``direction`` of input ``index``."""
        plus, minus = list(arrays), list(arrays)
        plus[index], minus[index] = arrays[index] + eps * direction, arrays[index] - eps * direction
        total = 0.0
        for u, high, low in zip(upstream, evaluate(plus), evaluate(minus)):
            same = high == low  # also covers +-inf outputs the nudge does not move
            with np.errstate(invalid="ignore"):  # inf - inf where both sides are the same inf
                total += float(np.sum(u * np.where(same, 0.0, high - low)))
        return total / (2 * eps)

    for index in wrt:
        x = arrays[index]
        analytic = leaves[index].grad
        analytic = np.zeros_like(x) if analytic is None else np.asarray(analytic, dtype=np.float64)
        if x.size <= dense_max_elements:
            numeric = np.empty(x.shape)
            basis = np.zeros(x.shape)
            for flat in range(x.size):
                element = np.unravel_index(flat, x.shape)
                basis[element] = 1.0
                numeric[element] = numeric_derivative(index, basis)
                basis[element] = 0.0
            _compare(name, index, analytic, numeric, atol, rtol, label="element")
        else:
            for k in range(n_directions):
                v = rng.standard_normal(x.shape)
                along = np.asarray(np.sum(analytic * v))
                _compare(name, index, along, np.asarray(numeric_derivative(index, v)), atol, rtol,
                         label=f"random direction {k} of {x.size}-element input (directional check)")
    return True


def _as_array(x):
    """The array inside an input, or None for things that are not arrays (passed through)."""
    if isinstance(x, Tensor):
        return x.numpy()
    if isinstance(x, (np.ndarray, float)):
        return np.asarray(x)
    return None


def _float64_copy(array):
    """A float64 copy; a non-contiguous input gets a non-contiguous (strided) copy."""
    if array.flags.c_contiguous or array.size <= 1:
        return np.array(array, dtype=np.float64)
    buffer = np.zeros(tuple(2 * n for n in array.shape))  # every axis doubled
    copy = buffer[(slice(None, None, 2),) * array.ndim]  # (2n, ...) -> (n, ...) with stride 2
    copy[...] = array
    return copy


def _wrap(values, inputs, requires_grad=frozenset()):
    """Tensors for fn: floating arrays wrapped (without copying), other inputs as given."""
    wrapped = []
    for i, (value, original) in enumerate(zip(values, inputs)):
        if value is None or value.dtype.kind != "f":
            wrapped.append(original)
        else:
            wrapped.append(Tensor(value, requires_grad=i in requires_grad))
    return wrapped


def _outputs(result, name):
    outputs = list(result) if isinstance(result, (list, tuple)) else [result]
    bad = [type(o).__name__ for o in outputs if not isinstance(o, Tensor)]
    if bad or not outputs:
        raise TypeError(f"gradcheck({name}): fn must return a Tensor or a list of Tensors, got {bad}")
    return outputs


def _compare(name, index, analytic, numeric, atol, rtol, label):
    """Raise GradcheckError at the element that misses ``atol + rtol * |numeric|`` the most."""
    error = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    excess = np.where(np.isnan(error), np.inf, error - allowed)
    if excess.size == 0 or not np.any(excess > 0):
        return
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    where = f"{label} {tuple(int(i) for i in worst)}" if label == "element" else label
    raise GradcheckError(
        f"gradcheck({name}): gradient of input {index} is wrong at {where}: analytic "
        f"{float(analytic[worst])!r}, numeric {float(numeric[worst])!r}, |difference| {error[worst]:.3g} > "
        f"tolerance {allowed[worst]:.3g} (atol={atol:g} + rtol={rtol:g} * |numeric|); "
        f"{int(np.sum(excess > 0))} of {excess.size} checked values fail"
    )


def check_close(actual, expected, dtype=None, rtol=None, atol=None, scale=None, name="values"):
    """Assert ``|actual - expected| <= atol + rtol * max(|expected|, scale)`` elementwise.

    ``dtype`` picks the default tolerances (default: ``actual``'s dtype; integer and boolean
    results must match exactly). ``scale`` is the size the rounding error grows with when it is
    larger than the result itself, e.g. ``sum(|x|)`` for ``sum(x)`` (cancellation) or
    ``|a| @ |b|`` for ``a @ b``. NaN matches NaN and infinities match themselves. The message
    names the worst index and both values.
    """
    actual = actual.numpy() if isinstance(actual, Tensor) else np.asarray(actual)
    expected = np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"check_close({name}): shape {actual.shape} != expected {expected.shape}")
    dtype = np.dtype(dtype if dtype is not None else actual.dtype)
    default_rtol, default_atol = DEFAULT_TOLERANCES.get(dtype, (0.0, 0.0))
    rtol = default_rtol if rtol is None else rtol
    atol = default_atol if atol is None else atol
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    size = np.abs(e) if scale is None else np.maximum(np.abs(e), np.abs(np.asarray(scale, dtype=np.float64)))
    with np.errstate(invalid="ignore"):
        same = (a == e) | (np.isnan(a) & np.isnan(e))
        error = np.where(same, 0.0, np.abs(a - e))
        allowed = atol + rtol * np.where(np.isfinite(size), size, 0.0)
    excess = np.where(np.isnan(error), np.inf, error - allowed)
    if excess.size == 0 or not np.any(excess > 0):
        return
    worst = np.unravel_index(int(np.argmax(excess)), excess.shape)
    raise AssertionError(
        f"check_close({name}): {int(np.sum(excess > 0))} of {excess.size} elements differ (dtype "
        f"{dtype}: rtol={rtol:g}, atol={atol:g}); worst at index {tuple(int(i) for i in worst)}: "
        f"actual {float(a[worst])!r}, expected {float(e[worst])!r}, |difference| {error[worst]:.3g} > allowed "
        f"{allowed[worst]:.3g}"
    )
