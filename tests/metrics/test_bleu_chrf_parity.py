"""BLEU, its tokenisers and chrF against sacrebleu 2.x, the oracle (a `test` extra, never a run-time need).

Hypothesis draws small corpora: 1-4 segments, 1-3 reference streams (a reference may be None
where another stream has one), sentences built from an alphabet of words and punctuation that
exercises every tokeniser rule (ASCII punctuation, numbers with "." "," "-", XML escapes,
"<skipped>", "-\\n", Unicode punctuation and symbols, emoji, non-Latin scripts, case), empty
sentences included. Every tokeniser x smoothing x lowercase x effective-order combination is
drawn (a few hundred cases per test, more under the ``thorough`` Hypothesis profile). Scores
and precisions must agree within 1e-6, counts, totals and lengths exactly. The tokenisers are
also compared on arbitrary Unicode text: all characters Python's unicodedata knows (category not
Cn); on those the ``regex`` package sacrebleu uses puts every character in the same N/P/S class
(checked over all code points when this file was written).

These tests skip, saying so, without sacrebleu. Their sibling needing nothing checks the
committed golden file ``sacrebleu_golden.json`` (seeded cases and sacrebleu 2.6's answers),
written by::

    .venv/bin/python tests/metrics/test_bleu_chrf_parity.py --write-golden
"""

import importlib.util
import json
import logging
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lm.metrics import corpus_bleu, corpus_chrf, sentence_bleu
from tinygrad_lm.metrics.mt_tokenizers import TOKENIZERS

GOLDEN = Path(__file__).with_name("sacrebleu_golden.json")
WORDS = ["the", "cat", "The", "CAT", "sat", "on", "mat", "a", "1", "2.5", "3,000", "1999", "12-4", ".", ",", "!",
         "?", ";", "-", "'", "(", ")", '"', "&amp;", "&quot;", "&lt;", "<skipped>", "€", "$", "%", "¿", "«", "»",
         "—", "…", "。", "é", "Straße", "日本語", "Ωμέγα", "😀", "👩‍💻", "x-y", "don't", "e.g.", "İ", "٣"]
SEPARATORS = ["", " ", " ", " ", "  ", "\t", "-\n", "\n", "\u00a0"]
SMOOTHING = ["exp", "floor", "add-k", "none"]
ATOL = 1e-6

needs_sacrebleu = pytest.mark.skipif(importlib.util.find_spec("sacrebleu") is None,
                                     reason="sacrebleu (the oracle, in the test extra) is not installed")
logging.getLogger("sacrebleu").setLevel(logging.ERROR)  # its advice to use effective order for sentences

sentences = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda pairs: "".join(word + sep for word, sep in pairs))


@st.composite
def corpora(draw):
    """(hypotheses, references as streams): every segment keeps at least one reference."""
    n, k = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    hypotheses = draw(st.lists(sentences, min_size=n, max_size=n))
    streams = [draw(st.lists(sentences, min_size=n, max_size=n)) for _ in range(k)]
    for i in range(n):
        for stream in streams[1:]:
            if draw(st.integers(0, 4)) == 0:
                stream[i] = None
    return hypotheses, streams


def bleu_fields(result) -> dict:
    return {name: getattr(result, name) for name in ("score", "counts", "totals", "precisions", "bp", "sys_len",
                                                     "ref_len")}


def check_bleu(ours, expected):
    ours = bleu_fields(ours)
    for name in ("counts", "totals", "sys_len", "ref_len"):
        assert ours[name] == expected[name], name
    assert ours["score"] == pytest.approx(expected["score"], rel=0, abs=ATOL)
    assert ours["bp"] == pytest.approx(expected["bp"], rel=0, abs=1e-12)
    assert ours["precisions"] == pytest.approx(expected["precisions"], rel=0, abs=ATOL)


def sacrebleu_answer(metric, hypotheses, references, kwargs):
    """What sacrebleu says for one case: BLEU's fields, or chrF's score."""
    import sacrebleu
    if metric == "corpus_bleu":
        return bleu_fields(sacrebleu.corpus_bleu(hypotheses, references, **kwargs))
    if metric == "sentence_bleu":
        return bleu_fields(sacrebleu.sentence_bleu(hypotheses[0], [stream[0] for stream in references], **kwargs))
    return {"score": sacrebleu.metrics.CHRF(**kwargs).corpus_score(hypotheses, references).score}


def check_case(metric, hypotheses, references, kwargs, expected):
    if metric == "corpus_bleu":
        check_bleu(corpus_bleu(hypotheses, references, **kwargs), expected)
    elif metric == "sentence_bleu":
        check_bleu(sentence_bleu(hypotheses[0], [stream[0] for stream in references], **kwargs), expected)
    else:
        assert corpus_chrf(hypotheses, references, **kwargs).score == pytest.approx(expected["score"], rel=0,
                                                                                   abs=ATOL)


bleu_options = st.fixed_dictionaries({"tokenize": st.sampled_from(list(TOKENIZERS)),
                                      "smooth_method": st.sampled_from(SMOOTHING), "lowercase": st.booleans()})
chrf_options = st.fixed_dictionaries({"word_order": st.sampled_from([0, 2]), "beta": st.integers(1, 3),
                                      "lowercase": st.booleans(), "whitespace": st.booleans(),
                                      "eps_smoothing": st.booleans()})


@needs_sacrebleu
@settings(max_examples=max(200, settings.default.max_examples))
@given(corpora(), bleu_options, st.booleans())
def test_corpus_bleu_matches_sacrebleu(corpus, options, effective_order):
    options = {**options, "use_effective_order": effective_order}
    check_case("corpus_bleu", *corpus, options, sacrebleu_answer("corpus_bleu", *corpus, options))


@needs_sacrebleu
@settings(max_examples=max(100, settings.default.max_examples))
@given(corpora(), bleu_options)
def test_sentence_bleu_matches_sacrebleu(corpus, options):
    check_case("sentence_bleu", *corpus, options, sacrebleu_answer("sentence_bleu", *corpus, options))


@needs_sacrebleu
@settings(max_examples=max(150, settings.default.max_examples))
@given(corpora(), chrf_options)
def test_chrf_matches_sacrebleu(corpus, options):
    check_case("corpus_chrf", *corpus, options, sacrebleu_answer("corpus_chrf", *corpus, options))


@needs_sacrebleu
@settings(max_examples=max(200, settings.default.max_examples))
@given(st.text(st.characters(exclude_categories=["Cn", "Cs"]), max_size=40) | sentences)
def test_tokenizers_match_sacrebleu_on_any_text(line):
    from sacrebleu.metrics.bleu import _get_tokenizer
    for name, ours in TOKENIZERS.items():
        assert ours(line) == _get_tokenizer(name)()(line), name


def test_matches_golden_file():
    """The sibling that needs nothing: sacrebleu's committed answers on seeded cases."""
    cases = json.loads(GOLDEN.read_text())
    assert {case["metric"] for case in cases} == {"corpus_bleu", "sentence_bleu", "corpus_chrf"}
    for case in cases:
        check_case(case["metric"], case["hypotheses"], case["references"], case["kwargs"], case["expected"])


def golden_cases(n_cases=120, seed=0):
    """Seeded random cases, every tokeniser x smoothing pair for BLEU and every chrF variant, answered by sacrebleu."""
    rng = random.Random(seed)

    def sentence():
        return "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(rng.randint(0, 10)))

    cases = []
    for i in range(n_cases):
        n, k = rng.randint(1, 4), rng.randint(1, 3)
        hypotheses = [sentence() for _ in range(n)]
        references = [[sentence() if j == 0 or rng.random() > 0.2 else None for _ in range(n)] for j in range(k)]
        metric = ("corpus_bleu", "sentence_bleu", "corpus_chrf")[i % 3]
        if metric == "corpus_chrf":
            kwargs = {"word_order": (0, 2)[i % 2], "beta": rng.randint(1, 3), "lowercase": rng.random() < 0.5,
                      "whitespace": rng.random() < 0.3, "eps_smoothing": rng.random() < 0.3}
        else:
            kwargs = {"tokenize": list(TOKENIZERS)[i % 3], "smooth_method": SMOOTHING[(i // 3) % 4],
                      "lowercase": rng.random() < 0.5}
            if metric == "corpus_bleu":
                kwargs["use_effective_order"] = rng.random() < 0.5
        cases.append({"metric": metric, "hypotheses": hypotheses, "references": references, "kwargs": kwargs,
                      "expected": sacrebleu_answer(metric, hypotheses, references, kwargs)})
    return cases


if __name__ == "__main__" and sys.argv[1:] == ["--write-golden"]:
    GOLDEN.write_text(json.dumps(golden_cases(), ensure_ascii=False).replace("}, {", "},\n{") + "\n")
