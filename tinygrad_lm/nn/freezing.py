r"""Freezing parameters by name: ``freeze(module, pattern)`` and ``unfreeze(module, pattern)``.

    freeze(model, "bert.embeddings.*")              # a glob (fnmatch: *, ?, [seq])
    freeze(model, r"re:bert\.blocks\.[01]\..*")     # a regular expression after "re:", matched whole
    unfreeze(model, "*")                            # everything trainable again

A frozen Parameter has ``requires_grad = False``: ops on it record nothing for it, so backward
gives it no gradient (``grad`` stays None), an optimizer skips it, and no work is spent on its
gradient. Both functions work on any Module, match the dotted names of ``named_parameters()``,
and return the sorted names they matched; a pattern that matches nothing is a ValueError
naming the pattern and a few of the names there are (a typo never freezes silently nothing).
An optimizer built after freezing should be given only the trainable parameters
(``[(n, p) for n, p in model.named_parameters() if p.requires_grad]``) so it keeps no state
for the frozen ones.

Left out: freezing running statistics (there are none in this library: no BatchNorm).
"""

import fnmatch
import re

REGEX_PREFIX = "re:"
SHOWN_NAMES = 5  # parameter names quoted in the error for a pattern that matches nothing


def _matcher(pattern, where):
    if not isinstance(pattern, str) or not pattern:
        raise TypeError(f"{where}: pattern must be a non-empty str (a glob, or 're:' and a regex), got {pattern!r}")
    if pattern.startswith(REGEX_PREFIX):
        try:
            regex = re.compile(pattern[len(REGEX_PREFIX):])
        except re.error as error:
            raise ValueError(f"{where}: {pattern!r} is not a valid regular expression ({error})") from None
        return lambda name: regex.fullmatch(name) is not None
    return lambda name: fnmatch.fnmatchcase(name, pattern)


def _set_trainable(module, pattern, flag, where):
    matches = _matcher(pattern, where)
    named = list(module.named_parameters())
    hit = sorted(name for name, _ in named if matches(name))
    if not hit:
        shown = ", ".join(name for name, _ in named[:SHOWN_NAMES])
        raise ValueError(f"{where}: pattern {pattern!r} matches no parameter of this {type(module).__name__} "
                         f"(names look like: {shown or 'none, it has no parameters'})")
    chosen = set(hit)
    for name, parameter in named:
        if name in chosen:
            parameter.requires_grad = flag
            if not flag:
                parameter.grad = None  # a stale gradient would still be applied by an optimizer
    return hit


def freeze(module, pattern):
    """Stop training the parameters of ``module`` whose names match ``pattern``; returns their names."""
    return _set_trainable(module, pattern, False, "freeze")


def unfreeze(module, pattern):
    """Train again the parameters of ``module`` whose names match ``pattern``; returns their names."""
    return _set_trainable(module, pattern, True, "unfreeze")


def trainable_named_parameters(module):
    """(name, Parameter) pairs of ``module`` that are not frozen: what an optimizer should get."""
    return [(name, parameter) for name, parameter in module.named_parameters() if parameter.requires_grad]
