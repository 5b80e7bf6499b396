"""``tinygrad-lm bleu`` and ``tinygrad-lm rouge``: the JSON contracts, readable output, one-line errors.

The JSON shapes are used by outside checks, so they are pinned here: ``bleu --json`` is one
object with ``score`` (0-100) and BLEU's statistics, ``rouge --json`` maps rouge1, rouge2,
rougeL and rougeLsum to precision / recall / fmeasure means. The numbers must be the library's
on the same lines, and, where sacrebleu is installed, what sacrebleu's own command prints for the
same files (which pins how lines are read: empty lines, "\\r\\n", trailing spaces).
"""

import importlib.util
import json
import subprocess
import sys

import pytest

from tinygrad_lm import cli
from tinygrad_lm.metrics import corpus_bleu, corpus_chrf, corpus_rouge

HYP = ["The cat sat on the mat.", "", "It rained, heavily, all day  ", "A quick brown fox."]
REF1 = ["The cat is on the mat.", "Nothing here.", "It rained heavily all day.", "The quick brown fox jumps."]
REF2 = ["A cat sat on a mat.", "", "Rain fell all day.", "A fast brown fox."]


def run(capsys, argv):
    """(exit code, stdout, stderr) of ``tinygrad-lm ARGV`` run in this process."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys, argv):
    code, out, err = run(capsys, argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def write(path, lines, newline="\n"):
    path.write_text("".join(line + newline for line in lines), encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    """hyp.txt, ref1.txt (with "\\r\\n" line ends) and ref2.txt."""
    return (write(tmp_path / "hyp.txt", HYP), write(tmp_path / "ref1.txt", REF1, newline="\r\n"),
            write(tmp_path / "ref2.txt", REF2))


@pytest.mark.parametrize("options", [[], ["--tokenize", "intl", "--smooth", "floor", "--lowercase"],
                                     ["--tokenize", "none", "--smooth", "add-k"]])
def test_bleu_json_is_the_librarys_corpus_bleu_on_the_files_lines(files, capsys, options):
    hyp, ref1, ref2 = files
    code, out, err = run(capsys, ["bleu", "--hyp", hyp, "--ref", ref1, "--ref", ref2, "--json", *options])
    assert code == 0 and err == ""
    report = json.loads(out)
    kwargs = {"tokenize": "13a", "smooth_method": "exp", "lowercase": False}
    if options:
        kwargs = {"tokenize": options[1], "smooth_method": options[3], "lowercase": "--lowercase" in options}
    expected = corpus_bleu([h.rstrip() for h in HYP], [REF1, REF2], **kwargs)
    assert report == {**expected.to_dict(), "chrf": corpus_chrf(HYP, [REF1, REF2]).score,
                      "tokenize": kwargs["tokenize"], "smooth": kwargs["smooth_method"],
                      "lowercase": kwargs["lowercase"], "refs": 2, "segments": 4}
    assert 0 < report["score"] < 100


def test_bleu_without_json_prints_lines_a_person_reads(files, capsys):
    hyp, ref1, _ = files
    code, out, _ = run(capsys, ["bleu", "--hyp", hyp, "--ref", ref1])
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3
    assert lines[0].startswith("BLEU = ") and "BP = " in lines[0] and lines[1].startswith("chrF2 = ")
    assert lines[2] == "4 segments, 1 reference; tokenize 13a, smooth exp, case mixed"


@pytest.mark.skipif(importlib.util.find_spec("sacrebleu") is None, reason="sacrebleu (the oracle) is not installed")
def test_bleu_equals_sacrebleus_own_command_on_the_same_files(files, capsys):
    hyp, ref1, ref2 = files
    theirs = subprocess.run([sys.executable, "-m", "sacrebleu", ref1, ref2, "-i", hyp, "-m", "bleu", "chrf", "-b",
                             "-w", "6", "-f", "text"], capture_output=True, text=True, check=True).stdout.split()
    ours = json.loads(run(capsys, ["bleu", "--hyp", hyp, "--ref", ref1, "--ref", ref2, "--json"])[1])
    assert [round(ours["score"], 6), round(ours["chrf"], 6)] == [float(value) for value in theirs]


def test_an_empty_line_is_an_empty_segment(tmp_path, capsys):
    hyp = write(tmp_path / "h.txt", ["a b c d", ""])
    ref = tmp_path / "r.txt"
    ref.write_bytes(b"a b c d\nx y")  # no final newline: still two lines
    code, out, _ = run(capsys, ["bleu", "--hyp", hyp, "--ref", str(ref), "--json"])
    report = json.loads(out)
    assert code == 0 and report["segments"] == 2 and report["sys_len"] == 4 and report["ref_len"] == 6


def test_rouge_json_maps_four_types_to_means_over_segments(files, capsys):
    hyp, ref1, _ = files
    for stem in ([], ["--stem"]):
        code, out, err = run(capsys, ["rouge", "--hyp", hyp, "--ref", ref1, "--json", *stem])
        assert code == 0 and err == ""
        report = json.loads(out)
        assert list(report) == ["rouge1", "rouge2", "rougeL", "rougeLsum"]
        expected = corpus_rouge(HYP, [REF1], use_stemmer=bool(stem))
        for name, score in report.items():
            assert score == {"precision": expected[name].precision, "recall": expected[name].recall,
                             "fmeasure": expected[name].fmeasure}


def test_rouge_lsum_reads_backslash_n_as_a_sentence_break(tmp_path, capsys):
    hyp = write(tmp_path / "h.txt", ["c d\\na b"])
    ref = write(tmp_path / "r.txt", ["a b\\nc d"])
    report = json.loads(run(capsys, ["rouge", "--hyp", hyp, "--ref", ref, "--json"])[1])
    assert report["rougeLsum"]["fmeasure"] == pytest.approx(1.0)  # each sentence found whole
    assert report["rougeL"]["fmeasure"] == pytest.approx(0.5)  # one sequence: only "c d" (or "a b") in order
    assert report["rouge1"]["fmeasure"] == pytest.approx(1.0)  # "\n" is no token: no stray "n"


def test_rouge_without_json_prints_one_line_per_type(files, capsys):
    hyp, ref1, ref2 = files
    code, out, _ = run(capsys, ["rouge", "--hyp", hyp, "--ref", ref1, "--ref", ref2, "--stem"])
    lines = out.splitlines()
    assert code == 0 and [line.split()[0] for line in lines[:4]] == ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    assert lines[4] == "mean over 4 segments, 2 references, stemmer on"


@pytest.mark.parametrize("command", ["bleu", "rouge"])
def test_bad_files_get_one_line_errors(tmp_path, capsys, command):
    good = write(tmp_path / "good.txt", ["a b", "c d"])
    short = write(tmp_path / "short.txt", ["a b"])
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("fine\ncaf\u00e9\n".encode("latin-1"))
    cases = [
        (["--hyp", str(empty), "--ref", good], f"{empty} is empty"),
        (["--hyp", good, "--ref", str(empty)], f"{empty} is empty"),
        (["--hyp", good, "--ref", short], f"{short} has 1 lines but {good} has 2"),
        (["--hyp", str(latin1), "--ref", good], f"{latin1}: line 2 is not UTF-8"),
        (["--hyp", good, "--ref", str(tmp_path / "missing.txt")], "cannot read"),
    ]
    for argv, message in cases:
        assert message in one_line_error(capsys, [command, *argv])


def test_unknown_choices_are_usage_errors(files, capsys):
    hyp, ref1, _ = files
    assert "invalid choice: 'moses'" in one_line_error(capsys, ["bleu", "--hyp", hyp, "--ref", ref1,
                                                                "--tokenize", "moses"])
    assert "--ref" in one_line_error(capsys, ["rouge", "--hyp", hyp])
