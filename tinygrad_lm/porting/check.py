"""The port checker: a port's tensors against a golden bundle, in the order they are computed.

    report = check_port("golden/gpt-tiny", "my_port_out", only=["input/", "act/", "loss"])
    report["passed"], report["first_failure"], report["rows"]

For every tensor of the manifest (in its order; with ``only``, those whose name starts with
one of the prefixes) one row: status "pass", "fail" (some element has
``|candidate - golden| > atol + rtol * |golden|``), "missing", "shape" or "dtype" (the
candidate has another shape or dtype), with the max absolute error, the max relative error
(``|c - g| / |g|`` over the nonzero golden elements) and the tolerance. NaN in the candidate
where the golden is finite fails; the same non-finite value in both passes. Integer tensors
must be equal. ``first_failure`` names the first row that did not pass: because the rows
follow the computation, that is where a port first goes wrong. Candidate tensors that the
bundle lacks are listed in ``extra`` and are not failures.

Left out: comparing a subset of elements, per-element tolerances.
"""

import numpy as np

from .bundle import read_bundle, read_tensors


def _errors(candidate, golden):
    """(max abs error, max rel error, worst excess over the tolerance) of two float arrays."""
    c = candidate.astype(np.float64)
    g = golden.astype(np.float64)
    same = (c == g) | (np.isnan(c) & np.isnan(g))  # equal infinities and NaN-vs-NaN agree
    diff = np.where(same, 0.0, np.abs(c - g))
    diff = np.where(np.isnan(diff), np.inf, diff)
    nonzero = g != 0
    rel = diff[nonzero] / np.abs(g[nonzero])
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float(rel.max()) if rel.size else 0.0
    return max_abs, max_rel, diff, np.abs(np.where(np.isfinite(g), g, 0.0))


def compare(entry, candidate):
    """One row of the report: the golden ``entry`` (manifest dict, with "array") vs ``candidate``."""
    golden = entry["array"]
    row = {"name": entry["name"], "shape": list(golden.shape), "dtype": str(golden.dtype),
           "atol": entry["atol"], "rtol": entry["rtol"], "max_abs_error": None, "max_rel_error": None}
    if candidate is None:
        return {**row, "status": "missing"}
    if list(candidate.shape) != list(golden.shape):
        return {**row, "status": "shape", "candidate_shape": list(candidate.shape)}
    if candidate.dtype != golden.dtype:
        return {**row, "status": "dtype", "candidate_dtype": str(candidate.dtype)}
    if golden.dtype.kind in "iu":
        wrong = candidate != golden
        worst = float(np.abs(candidate - golden).max()) if wrong.any() else 0.0
        return {**row, "status": "fail" if wrong.any() else "pass", "max_abs_error": worst,
                "max_rel_error": None, "mismatches": int(wrong.sum())}
    max_abs, max_rel, diff, scale = _errors(candidate, golden)
    allowed = entry["atol"] + entry["rtol"] * scale
    bad = diff > allowed
    return {**row, "status": "fail" if bad.any() else "pass", "max_abs_error": max_abs, "max_rel_error": max_rel,
            "mismatches": int(bad.sum())}


def _selected(name, only):
    return not only or any(name.startswith(prefix) for prefix in only)


def check_port(golden_dir, candidate_dir, only=None):
    """Compare the candidate directory with the golden bundle; returns the report (a dict).

    ``{"golden", "candidate", "what", "config_name", "only", "rows", "first_failure", "extra",
    "passed"}`` — see the module docstring. Unusable input raises ``PortingError``."""
    manifest, golden = read_bundle(golden_dir)
    candidate = read_tensors(candidate_dir)
    only = [prefix for prefix in (only or []) if prefix]
    rows = []
    for entry in manifest["tensors"]:
        if _selected(entry["name"], only):
            rows.append(compare({**entry, "array": golden[entry["name"]]}, candidate.get(entry["name"])))
    known = {entry["name"] for entry in manifest["tensors"]}
    first = next((row["name"] for row in rows if row["status"] != "pass"), None)
    return {"golden": str(golden_dir), "candidate": str(candidate_dir), "what": manifest["what"],
            "config_name": manifest["config_name"], "only": only, "rows": rows, "first_failure": first,
            "extra": sorted(set(candidate) - known), "passed": first is None and bool(rows)}


def _number(value):
    return "-" if value is None else f"{value:.3g}"


def format_report(report):
    """The report as a table for people: one line per tensor, then the verdict."""
    lines = [f"check-port: {report['candidate']} against {report['golden']} ({report['what']}, "
             f"{report['config_name']})" + (f", only {','.join(report['only'])}" if report["only"] else ""),
             f"{'tensor':<44} {'shape':<16} {'max abs err':>11} {'max rel err':>11} {'atol':>9} {'rtol':>9}  result"]
    for row in report["rows"]:
        status = row["status"]
        if status == "shape":
            status = f"WRONG SHAPE {tuple(row['candidate_shape'])}"
        elif status == "dtype":
            status = f"WRONG DTYPE {row['candidate_dtype']} (want {row['dtype']})"
        elif status in ("fail", "missing"):
            status = status.upper() + (f" ({row['mismatches']} elements)" if status == "fail" else "")
        lines.append(f"{row['name']:<44} {str(tuple(row['shape'])):<16} {_number(row['max_abs_error']):>11} "
                     f"{_number(row['max_rel_error']):>11} {_number(row['atol']):>9} {_number(row['rtol']):>9}  "
                     f"{status}")
    if report["extra"]:
        lines.append(f"not in the bundle (ignored): {', '.join(report['extra'])}")
    passed = sum(row["status"] == "pass" for row in report["rows"])
    if not report["rows"]:
        lines.append("FAILED: no tensor of the bundle was selected (check --only)")
    elif report["passed"]:
        lines.append(f"PASSED: all {passed} tensors within tolerance")
    else:
        lines.append(f"FAILED: {passed}/{len(report['rows'])} tensors pass; first mismatch: {report['first_failure']}")
    return "\n".join(lines)
