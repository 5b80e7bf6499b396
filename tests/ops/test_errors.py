"""Bad input to every op gets a clear error in the op's own words, never a NumPy traceback.

One table: for each misuse, the call, the exception type it must raise, and the fragments
its message must contain (the offending shapes, dtypes, axes or values). Every message must
start with the op's name, so the user sees which call was wrong and the error cannot be a
bare NumPy message passed through; and no NumPy exception may hang off it as the cause or
context (the long traceback a user would have to read).

Not tested here: what the ops compute on good input (the op registry in
``tinygrad_lm.testing`` generates those tests), dtype mixing (tests/engine/test_dtypes.py).
"""

import numpy as np
import pytest

import tinygrad_lm as tg
from tinygrad_lm import DTypeError, ShapeError


def floats(*shape):
    return tg.tensor(np.ones(shape, dtype=np.float32), requires_grad=True)


X = floats(2, 3)  # the tensor most cases misuse

BINARY = {
    "add": tg.add, "sub": tg.sub, "mul": tg.mul, "div": tg.div, "pow": tg.pow,
    "maximum": tg.maximum, "minimum": tg.minimum,
}

# (case id, op name the message starts with, call, exception type, fragments of the message)
CASES = [
    *[
        (f"{name}-broadcast", name, lambda f=f: f(X, floats(4)), ShapeError, ["(2, 3)", "(4,)", "broadcast"])
        for name, f in BINARY.items()
    ],
    ("operator-broadcast", "add", lambda: X + floats(3, 2), ShapeError, ["(2, 3)", "(3, 2)"]),
    ("where-broadcast", "where", lambda: tg.where(X > 0, X, floats(5)), ShapeError, ["(2, 3)", "(5,)"]),
    ("matmul-inner", "matmul", lambda: X @ floats(4, 5), ShapeError, ["(2, 3)", "(4, 5)", "inner"]),
    ("matmul-vectors", "matmul", lambda: floats(3) @ floats(4), ShapeError, ["(3,)", "(4,)"]),
    ("matmul-0d", "matmul", lambda: floats() @ X, ShapeError, ["()", "(2, 3)", "at least 1 dimension"]),
    ("matmul-batch", "matmul", lambda: floats(2, 3, 4) @ floats(5, 4, 2), ShapeError, ["(2,)", "(5,)", "batch"]),
    ("reshape-size", "reshape", lambda: X.reshape(4, 2), ShapeError, ["(2, 3)", "(4, 2)", "6 elements"]),
    ("reshape-two-unknowns", "reshape", lambda: X.reshape(-1, -1), ShapeError, ["(2, 3)", "(-1, -1)"]),
    ("reshape-unknown-misfit", "reshape", lambda: X.reshape(-1, 4), ShapeError, ["(2, 3)", "(-1, 4)"]),
    ("permute-repeat", "permute", lambda: X.permute(0, 0), ShapeError, ["(0, 0)", "(2, 3)", "permutation"]),
    ("permute-too-few", "permute", lambda: X.permute(1), ShapeError, ["(1,)", "(2, 3)"]),
    ("permute-too-many", "permute", lambda: X.permute(0, 1, 2), ShapeError, ["(0, 1, 2)", "(2, 3)"]),
    ("sum-axis", "sum", lambda: X.sum(axis=2), ShapeError, ["axis 2", "2 dimensions"]),
    ("sum-repeated-axis", "sum", lambda: X.sum(axis=(1, -1)), ShapeError, ["(1, -1)", "repeats"]),
    ("mean-axis", "mean", lambda: X.mean(axis=-3), ShapeError, ["axis -3", "2 dimensions"]),
    ("max-axis", "max", lambda: X.max(axis=5), ShapeError, ["axis 5", "2 dimensions"]),
    ("min-axis", "min", lambda: X.min(axis=(0, 2)), ShapeError, ["axis 2", "2 dimensions"]),
    ("logsumexp-axis", "logsumexp", lambda: X.logsumexp(axis=3), ShapeError, ["axis 3", "2 dimensions"]),
    ("var-axis", "var", lambda: X.var(axis=2), ShapeError, ["axis 2", "2 dimensions"]),
    ("argmax-axis", "argmax", lambda: X.argmax(axis=2), ShapeError, ["axis 2", "2 dimensions"]),
    ("squeeze-axis", "squeeze", lambda: X.squeeze(axis=3), ShapeError, ["axis 3", "2 dimensions"]),
    ("squeeze-not-one", "squeeze", lambda: X.squeeze(0), ShapeError, ["(2, 3)", "size 2", "not 1"]),
    ("unsqueeze-axis", "unsqueeze", lambda: X.unsqueeze(4), ShapeError, ["axis 4"]),
    ("swapaxes-axis", "swapaxes", lambda: X.swapaxes(0, 2), ShapeError, ["axis 2", "2 dimensions"]),
    ("expand-shape", "expand", lambda: X.expand(3, 3), ShapeError, ["(2, 3)", "(3, 3)"]),
    ("concatenate-shapes", "concatenate", lambda: tg.concatenate([X, floats(3, 4)], axis=0), ShapeError,
     ["(2, 3)", "(3, 4)", "axis 0"]),
    ("concatenate-ranks", "concatenate", lambda: tg.concatenate([X, floats(3)]), ShapeError, ["(2, 3)", "(3,)"]),
    ("concatenate-empty", "concatenate", lambda: tg.concatenate([]), ShapeError, ["at least one"]),
    ("stack-shapes", "stack", lambda: tg.stack([X, floats(3, 2)]), ShapeError, ["(2, 3)", "(3, 2)", "same shape"]),
    ("split-sections", "split", lambda: X.split(2, axis=1), ShapeError, ["(2, 3)", "size 3", "2 parts"]),
    ("split-zero", "split", lambda: X.split(0), ShapeError, ["(2, 3)", "0 parts"]),
    ("split-indices", "split", lambda: X.split([2, 1], axis=1), ShapeError, ["[2, 1]", "increasing", "0..3"]),
    ("getitem-range", "getitem", lambda: X[5], IndexError, ["[5]", "(2, 3)", "out of bounds"]),
    ("getitem-second-axis", "getitem", lambda: X[0, 7], IndexError, ["[0, 7]", "(2, 3)"]),
    ("getitem-too-many", "getitem", lambda: X[0, 0, 0], IndexError, ["(2, 3)", "too many indices"]),
    ("getitem-array", "getitem", lambda: X[np.array([0, 9])], IndexError, ["(2, 3)", "9"]),
    ("getitem-float-array", "getitem", lambda: X[np.array([0.0, 1.0])], DTypeError, ["float64", "integer or boolean"]),
    ("embedding-id-high", "embedding", lambda: tg.embedding(X, tg.tensor([0, 2])), IndexError, ["id 2", "0..1"]),
    ("embedding-id-negative", "embedding", lambda: tg.embedding(X, [-1, 0]), IndexError, ["id -1", "0..1"]),
    ("embedding-float-ids", "embedding", lambda: tg.embedding(X, tg.tensor([0.0, 1.0])), DTypeError,
     ["float32", "integers"]),
    ("embedding-weight-rank", "embedding", lambda: tg.embedding(floats(2, 3, 4), [0]), ShapeError, ["(2, 3, 4)"]),
    ("masked_fill-mask-dtype", "masked_fill", lambda: X.masked_fill(tg.tensor(np.ones((2, 3))), 0.0), DTypeError,
     ["float64", "boolean"]),
    ("masked_fill-mask-shape", "masked_fill", lambda: X.masked_fill(tg.tensor(np.ones((2, 2, 3), bool)), 0.0),
     ShapeError, ["(2, 2, 3)", "(2, 3)"]),
    ("where-cond-dtype", "where", lambda: tg.where(tg.tensor([1, 0, 1]), X, X), DTypeError, ["int64", "boolean"]),
    ("pad-negative", "pad", lambda: X.pad(((0, 0), (-1, 1))), ShapeError, ["(2, 3)", "(-1, 1)", "non-negative"]),
    ("pad-pairs", "pad", lambda: X.pad(((1, 1),)), ShapeError, ["(2, 3)", "((1, 1),)", "2 non-negative"]),
    ("pad-not-pairs", "pad", lambda: X.pad(2), TypeError, ["(before, after)", "got 2"]),
    ("pad-0d", "pad", lambda: tg.tensor(np.array(1.0)).pad(()), ShapeError, ["0-d"]),
    ("sum-float-axis", "sum", lambda: X.sum(axis=1.5), TypeError, ["axis", "1.5"]),
    ("reshape-not-ints", "reshape", lambda: X.reshape("a"), TypeError, ["ints", "'a'"]),
    ("var-ddof", "var", lambda: floats(1, 3).var(axis=0, ddof=1), ShapeError, ["ddof=1", "degrees of freedom"]),
    ("max-empty-axis", "max", lambda: floats(2, 0).max(axis=1), ShapeError, ["(2, 0)", "empty"]),
    ("min-empty-all", "min", lambda: floats(0).min(), ShapeError, ["(0,)", "empty"]),
    ("argmax-empty", "argmax", lambda: floats(0, 2).argmax(), ShapeError, ["(0, 2)", "empty"]),
    ("astype-dtype", "astype", lambda: X.astype("complex64"), DTypeError, ["complex64"]),
]


@pytest.mark.parametrize(
    "op, call, error_type, fragments", [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_input_names_the_op_and_what_was_wrong(op, call, error_type, fragments):
    with pytest.raises(error_type) as caught:
        call()
    error = caught.value
    message = str(error)
    assert message.startswith(f"{op}"), f"message does not start with the op name {op!r}: {message!r}"
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} missing from {message!r}"
    chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert chained is None, f"a {type(chained).__name__} is chained under the op's error: {chained}"


def test_the_error_types_are_the_builtin_ones_users_catch():
    assert issubclass(ShapeError, ValueError) and issubclass(DTypeError, TypeError)
    with pytest.raises(ValueError, match="^reshape"):
        X.reshape(7)
    with pytest.raises(TypeError, match="^embedding"):
        tg.embedding(X, [0.5])

