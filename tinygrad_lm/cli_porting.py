"""The porting subcommands of ``tinygrad-lm``: ``golden`` writes a bundle, ``check-port`` checks a port.

    tinygrad-lm golden --what gpt|bert|ops|tokenizers|optim [--config NAME] --out DIR
        write a golden bundle (manifest.json + tensors.safetensors, see tinygrad_lm.porting)
    tinygrad-lm check-port --golden DIR --candidate DIR [--only PREFIX[,PREFIX]] [--json]
        compare a port's tensors (every *.safetensors in the candidate directory) with the
        bundle, tensor by tensor in the order they are computed; ``--only input/,act/,loss``
        restricts the comparison to names starting with those prefixes (a forward-only port).
        Exit 0 when every selected tensor passes, 1 on any mismatch, missing tensor, or shape or
        dtype difference (the first one is named), 2 on unusable input (one line).

``--json`` prints one object: {"golden", "candidate", "what", "config_name", "only", "rows":
[{"name", "shape", "dtype", "status", "max_abs_error", "max_rel_error", "atol", "rtol", ...}],
"first_failure", "extra", "passed"}. ``cli.py`` lists `PORTING_SUBCOMMANDS` and
`PORTING_USER_ERRORS` beside its own. Left out: writing a candidate (a port's job).
"""

import json

from tinygrad_lm.porting import PortingError, check_port, format_report, make_bundle
from tinygrad_lm.porting.golden import GENERATORS


def run_golden(args) -> int:
    manifest = make_bundle(args.what, args.config).write(args.out)
    size = sum(entry_bytes(entry) for entry in manifest["tensors"])
    print(f"wrote {args.out}: {manifest['what']} ({manifest['config_name']}), {len(manifest['tensors'])} tensors, "
          f"{size:,} bytes of data")
    return 0


def entry_bytes(entry):
    """Bytes of one manifest tensor (every stored dtype is 8 or 4 bytes wide)."""
    count = 1
    for n in entry["shape"]:
        count *= n
    return count * (4 if entry["dtype"] == "float32" else 8)


def run_check_port(args) -> int:
    only = [prefix.strip() for prefix in (args.only or "").split(",") if prefix.strip()]
    report = check_port(args.golden, args.candidate, only=only)
    print(json.dumps(report, indent=1) if args.json else format_report(report))
    return 0 if report["passed"] else 1


def add_golden_parser(subparsers) -> None:
    parser = subparsers.add_parser("golden", help="write a golden bundle (reference tensors) for ports",
                                   description="Write a golden bundle: manifest.json (format, versions, config, "
                                   "seed, and per tensor name/shape/dtype/description/tolerance) and "
                                   "tensors.safetensors. Configs (the first is the default): "
                                   + "; ".join(f"{what} {'|'.join(names)}" for what, (_, names) in GENERATORS.items())
                                   + ". all-MiniLM-L6-v2 and wordpiece-minilm download MiniLM on first use; "
                                   "bpe-gpt2 downloads GPT-2's vocabulary on first use.")
    parser.add_argument("--what", required=True, choices=list(GENERATORS), help="what the bundle holds")
    parser.add_argument("--config", metavar="NAME", help="which config (default: the first listed above)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write (created)")
    parser.set_defaults(run=run_golden)


def add_check_port_parser(subparsers) -> None:
    parser = subparsers.add_parser("check-port", help="compare a port's tensors with a golden bundle",
                                   description="Compare every tensor of the golden bundle, in computation order, "
                                   "with the candidate's (every *.safetensors in --candidate): max abs and rel "
                                   "error against atol + rtol*|golden|. Exit 1 on any mismatch, missing tensor, "
                                   "shape or dtype difference, naming the first; 0 when all pass; 2 on unusable "
                                   "input (a missing directory, a bad manifest).")
    parser.add_argument("--golden", required=True, metavar="DIR", help="the golden bundle")
    parser.add_argument("--candidate", required=True, metavar="DIR", help="the port's output directory")
    parser.add_argument("--only", metavar="PREFIX[,PREFIX]", help="compare only tensors whose names start with "
                        "one of these prefixes, e.g. input/,act/,loss for a forward-only port")
    parser.add_argument("--json", action="store_true", help="print one JSON object for machines")
    parser.set_defaults(run=run_check_port)


PORTING_SUBCOMMANDS = (add_golden_parser, add_check_port_parser)
PORTING_USER_ERRORS = (PortingError,)
