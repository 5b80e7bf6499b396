"""Arrays saved for backward: read-only while a graph holds them, and stale once overwritten.

An op's backward reads what its forward saved (``ctx.save(x=x, out=out)``). Writing into one
of those arrays in between (``e = x.exp(); s = e.sum(); e.data[...] = 100; s.backward()``,
or ``x.data *= 2``) would silently give a wrong gradient. Two rules prevent it.

1. **Held arrays are read-only.** When an op joins the graph, the engine *holds* each array
   it saved: the array, and the array that owns its memory when it is a view, become
   read-only (``flags.writeable = False``) until the op's context lets go: right after its
   backward, or when its graph is garbage-collected (a graph never backpropagated, or kept
   with ``retain_graph=True``). An array saved by several ops stays read-only until the last
   lets go; an array that was read-only before stays so. A raw NumPy write to a held array
   (``t.data[...] = v``, ``t.data *= 2``) raises NumPy's ``ValueError: assignment destination
   is read-only`` at the write; ``saved_by(t.data)`` names the ops holding it.

2. **Writers that go through the engine mark the graph stale.** In-place operators under
   ``no_grad`` (``W -= lr * W.grad``) and optimizer steps call ``claim_for_write(array,
   where)`` before writing: every op holding the array lets go of it (so the write succeeds)
   and is marked stale, and a later backward through a stale op raises ``GraphError`` naming
   the op and the write. This is PyTorch's rule for in-place updates (its version counters):
   updating parameters while an old graph is still referenced (``logits`` of an earlier cell)
   is fine; backpropagating through that old graph afterwards is the error. With
   ``retain_graph=True``, an optimizer step followed by a second backward is caught this way.

After ``backward()`` nothing is held, so updates need no claim at all; the claim only matters
when an old graph is still alive.

Threads: one registry (owner array -> the ops holding it) serves every thread, under a lock,
so graphs built in several threads may share an array (a parameter, a constant). A context
collected while that lock is taken on its own thread (the garbage collector can run anywhere)
defers its release to the next call instead of waiting for itself.

Consequences a user can see: ``tensor(numpy_array)`` shares the array's memory, so the user's
own array is read-only while a live graph saved it (pass ``numpy_array.copy()`` to keep it
writable); a NumPy view made of a held array while it was held (``x.data.reshape(...)``) is
created read-only by NumPy and stays so (copy it to write). Writes through a view made
*before* the array was held are not caught.

Left out: GPU arrays have no writeable flag. CuPy arrays are held and claimed like NumPy
ones, so rule 2 covers them, but a raw CuPy write is not stopped.
"""

import threading

import numpy as np

_held = {}  # id(owner array) -> _Hold
_lock = threading.Lock()
_deferred = []  # let_go calls from __del__ that found the lock taken; run at the next chance


class Token:
    """What one op holds: its name, the owners it holds, and who made it stale (or None)."""

    __slots__ = ("op", "keys", "stale")

    def __init__(self, op):
        self.op, self.keys, self.stale = op, [], None


class _Hold:
    """One owner array held by one or more ops, and its views that were made read-only."""

    __slots__ = ("owner", "was_writeable", "views", "tokens")

    def __init__(self, owner):
        self.owner, self.views, self.tokens = owner, {}, {}  # tokens: {Token: times it holds this owner}
        self.was_writeable = _set_writeable(owner, False)


def _is_array(value):
    """A NumPy or CuPy array (not a NumPy scalar, not a Python number)."""
    return isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__")


def _owner(array):
    """The array that owns ``array``'s memory (``array`` itself when it is not a view)."""
    base = array.base
    while base is not None and _is_array(base):
        array, base = base, base.base
    return array


def _set_writeable(array, flag):
    """Set a NumPy array's writeable flag; return what it was (None for arrays without one)."""
    if not isinstance(array, np.ndarray):
        return None  # CuPy: no flag
    before = array.flags.writeable
    if flag != before:
        array.setflags(write=flag)
    return before


def hold(arrays, op):
    """Make ``arrays`` (what op ``op`` saved) read-only; return the ``Token`` ``let_go`` takes."""
    token = Token(op)
    with _lock:
        _run_deferred()
        for array in arrays:
            if not _is_array(array):
                continue  # a saved Python number, NumPy scalar or None
            owner = _owner(array)
            entry = _held.get(id(owner))
            if entry is None:
                entry = _held[id(owner)] = _Hold(owner)
            if array is not owner and id(array) not in entry.views:
                entry.views[id(array)] = (array, _set_writeable(array, False))
            entry.tokens[token] = entry.tokens.get(token, 0) + 1
            token.keys.append(id(owner))
    return token


def let_go(token, from_del=False):
    """Undo one ``hold``: arrays nobody else holds become writable again (if they were)."""
    if token is None or not token.keys:
        return
    if from_del and not _lock.acquire(blocking=False):
        _deferred.append(token)  # the garbage collector ran inside hold/let_go; finish later
        return
    if not from_del:
        _lock.acquire()
    try:
        _release(token)
        _run_deferred()
    finally:
        _lock.release()


def claim_for_write(array, where):
    """Let ``array`` be written in place by ``where`` (e.g. ``"AdamW.step"``).

    Every op holding it lets go and is marked stale: its backward will raise ``GraphError``
    naming ``where``. Call it just before the write; it costs a dictionary lookup when nothing
    holds the array.
    """
    with _lock:
        _run_deferred()
        entry = _held.get(id(_owner(array)))
        if entry is None:
            return
        for token in list(entry.tokens):
            token.stale = where
            _release(token)


def _run_deferred():
    while _deferred:
        _release(_deferred.pop())


def _release(token):
    for key in token.keys:
        entry = _held[key]
        entry.tokens[token] -= 1
        if not entry.tokens[token]:
            del entry.tokens[token]
        if entry.tokens:
            continue
        del _held[key]
        if entry.was_writeable:
            _set_writeable(entry.owner, True)  # the owner first: NumPy refuses a writable view of a read-only base
        for view, was_writeable in entry.views.values():
            if was_writeable:
                _set_writeable(view, True)
    token.keys = []


def saved_by(array):
    """The names of the ops holding ``array``'s memory for their backward, sorted (empty if none)."""
    with _lock:
        _run_deferred()
        entry = _held.get(id(_owner(array)))
        return sorted(token.op for token, count in entry.tokens.items() for _ in range(count)) if entry else []


__all__ = ["Token", "claim_for_write", "hold", "let_go", "saved_by"]
