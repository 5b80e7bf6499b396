"""The ``tinygrad-lm`` command: one subcommand per task, each a small function.

Subcommands today:

    tinygrad-lm demo [--seed S] [--batch B] [--features C] [--hidden H]
        builds loss = sum(tanh(x @ w) ** 2) for x of shape (B, C) and w of shape (C, H),
        runs backward, prints values and gradients, then proves the gradients with
        ``tinygrad_lm.testing.gradcheck`` (float64 central differences).

How to add one (``train``, ``sample``, ``eval`` arrive with later issues): write
``add_NAME_parser(subparsers)`` that declares its options and sets ``run=run_NAME``,
write ``run_NAME(args) -> int``, and list the adder in ``SUBCOMMANDS``.

Errors in what the user typed (an unknown option, a batch of 0) print one line to stderr
and give exit code 2, never a traceback: argparse errors and ``UsageError`` raised by a
subcommand both end in ``main``. A failure inside the library is a bug and keeps its
traceback. This file leaves out everything a subcommand does beyond calling the library.
"""

import argparse
import sys

import numpy as np

from tinygrad_lm import tensor, testing

PROG = "tinygrad-lm"
DEMO_MAX_SIZE = 16  # largest B, C or H the demo accepts: it prints every entry


class UsageError(Exception):
    """The user asked for something impossible; main prints the message and returns 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(message)


def _int_between(low: int, high: int):
    """An argparse type accepting an integer from low to high, with a one-line error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def demo_loss(x, w):
    """loss = sum(tanh(x @ w) ** 2): x (B, C), w (C, H) -> a 0-d Tensor."""
    return ((x @ w).tanh() ** 2).sum()  # (B, C) @ (C, H) -> (B, H) -> ()


def _show(name: str, array) -> None:
    """Print a labelled array with its shape, four decimals per entry."""
    print(f"{name} {tuple(np.shape(array))} =")
    print(np.array2string(np.asarray(array), precision=4, suppress_small=True))


def add_demo_parser(subparsers) -> None:
    """Declare ``demo`` and its options."""
    parser = subparsers.add_parser(
        "demo",
        help="backpropagate through a tiny expression and gradient-check it",
        description="Build loss = sum(tanh(x @ w) ** 2) from random float64 x (B, C) and "
        "w (C, H), print values and gradients, and check them with gradcheck.",
    )
    size = _int_between(1, DEMO_MAX_SIZE)
    parser.add_argument("--seed", type=_int_between(0, 2**32 - 1), default=0,
                        help="seed of the random x and w (default 0)")
    parser.add_argument("--batch", type=size, default=2, help="B, rows of x (default 2)")
    parser.add_argument("--features", type=size, default=3, help="C, columns of x (default 3)")
    parser.add_argument("--hidden", type=size, default=2, help="H, columns of w (default 2)")
    parser.set_defaults(run=run_demo)


def run_demo(args) -> int:
    """Forward, backward and gradcheck of demo_loss on random inputs; returns 0."""
    rng = np.random.default_rng(args.seed)
    x = tensor(rng.standard_normal((args.batch, args.features)), requires_grad=True, dtype="float64")
    w = tensor(rng.standard_normal((args.features, args.hidden)), requires_grad=True, dtype="float64")
    loss = demo_loss(x, w)
    loss.backward()

    print("loss = sum(tanh(x @ w) ** 2)")
    _show("x", x.numpy())
    _show("w", w.numpy())
    print(f"loss = {loss.item():.6f}")
    _show("dloss/dx", x.grad)
    _show("dloss/dw", w.grad)
    testing.gradcheck(demo_loss, x, w)
    print("gradcheck(demo_loss, x, w): passed (float64 finite differences agree with backward)")
    return 0


SUBCOMMANDS = (add_demo_parser,)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand in SUBCOMMANDS."""
    parser = _Parser(prog=PROG, description="Language-model machinery from scratch.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for add_parser in SUBCOMMANDS:
        add_parser(subparsers)
    return parser


def main(argv=None) -> int:
    """Run ``tinygrad-lm`` with ``argv`` (default: sys.argv[1:]); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except UsageError as error:
        print(f"{PROG}: error: {error} (see {PROG} --help)", file=sys.stderr)
        return 2
    except SystemExit as done:  # --help prints and exits through argparse
        return done.code or 0


if __name__ == "__main__":
    sys.exit(main())
