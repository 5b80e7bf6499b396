"""The word-vector subcommands: train, evaluate (the JSON contract outside checks rely on), neighbours, errors."""

import json

import numpy as np
import pytest

from tinygrad_lm.cli import main
from tinygrad_lm.vectors.formats import load_word2vec, save_word2vec
from tinygrad_lm.vectors.keyed import WordVectors

ANIMALS = ["cat", "dog", "horse", "cow", "sheep", "goat", "pig", "mouse", "lion", "tiger"]
TOOLS = ["hammer", "saw", "drill", "wrench", "chisel", "pliers", "axe", "file", "rasp", "vise"]


def run(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def one_line_error(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def text(tmp_path):
    rng = np.random.default_rng(0)
    lines = [" ".join((ANIMALS if s % 2 else TOOLS)[i] for i in rng.integers(0, 10, 8)) + "." for s in range(400)]
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(lines).title() + "\n")  # capitals and full stops: the tokeniser's business
    return path


@pytest.fixture
def eval_files(tmp_path):
    analogies = tmp_path / "questions.txt"
    analogies.write_text(": animals\ncat dog horse cow\ncat dog unknown cow\n: tools\nsaw axe file rasp\n")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("# word1\tword2\tscore\ncat\tdog\t9\ncat\tsaw\t1\ndog\thammer\t0.5\nhorse\tcow\t8\nx\ty\t3\n")
    return analogies, pairs


@pytest.mark.parametrize("command, extra", [("word2vec", []), ("word2vec", ["--cbow"]), ("glove", [])])
def test_train_then_evaluate_keeps_the_json_contract(tmp_path, capsys, text, eval_files, command, extra):
    out_file = tmp_path / "vectors.txt"
    settings = ["vector_size=12", "min_count=1", "window=3"] + (["epochs=20", "x_max=10"] if command == "glove" else
                                                                ["negative=3", "sample=0"])  # fmt: skip
    printed = run(capsys, [command, "--text", str(text), "--out", str(out_file), "--no-progress", *extra, *settings])
    assert "20 words x 12 dimensions" in printed and "words/s" in printed
    assert load_word2vec(out_file).dim == 12
    analogies, pairs = eval_files
    report = json.loads(run(capsys, ["evaluate-vectors", "--vectors", str(out_file), "--analogies", str(analogies),
                                     "--similarity", str(pairs), "--json"]))
    analogy = report["analogy"]
    assert {"accuracy", "correct", "total", "coverage"} <= set(analogy)
    assert 0 <= analogy["accuracy"] <= 1 and analogy["total"] == 2 and analogy["coverage"] == pytest.approx(2 / 3)
    assert analogy["accuracy"] == analogy["correct"] / analogy["total"]
    assert list(report["similarity"]) == ["pairs.tsv"] and report["similarity"]["pairs.tsv"] > 0
    assert "cat:" in run(capsys, ["neighbours", "--vectors", str(out_file), "--k", "3", "cat"])


def test_binary_output_and_text_report(tmp_path, capsys, text, eval_files):
    out_file = tmp_path / "vectors.bin"
    run(capsys, ["word2vec", "--text", str(text), "--out", str(out_file), "--binary", "--no-progress",
                 "vector_size=8", "min_count=1", "epochs=1"])
    analogies, pairs = eval_files
    printed = run(capsys, ["evaluate-vectors", "--vectors", str(out_file), "--binary", "--analogies", str(analogies),
                           "--similarity", str(pairs), str(pairs)])
    assert "analogies (questions.txt, 3cosadd): accuracy" in printed and "pairs.tsv: Spearman rho" in printed


@pytest.mark.parametrize("content, words", [
    (b"cat dog\n", "vocabulary has only 2 words"),
    (b"", "is empty"),
    (b"caf\xe9 au lait\n", "not valid UTF-8"),
])  # fmt: skip
def test_bad_corpora_are_one_line(tmp_path, capsys, content, words):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert words in one_line_error(capsys, ["word2vec", "--text", str(path), "--out", str(tmp_path / "v.txt"),
                                            "min_count=1"])


@pytest.mark.parametrize("setting, words", [("window=0", "window must be"), ("bogus=1", "unknown setting 'bogus'"),
                                            ("epochs=two", "not a valid int"), ("cbow=maybe", "not a valid bool")])
def test_bad_settings_are_one_line(tmp_path, capsys, text, setting, words):
    assert words in one_line_error(capsys, ["word2vec", "--text", str(text), "--out", str(tmp_path / "v"), setting])


def test_bad_vectors_and_unknown_words_are_one_line(tmp_path, capsys, eval_files):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\ncat 1 2 3\ndog 1 2\n")
    analogies, pairs = eval_files
    err = one_line_error(capsys, ["evaluate-vectors", "--vectors", str(bad), "--analogies", str(analogies),
                                  "--similarity", str(pairs), "--json"])
    assert "line 3 (word 'dog') has 2 values, the header says 3" in err
    good = tmp_path / "good.txt"
    save_word2vec(good, WordVectors(["cat", "dog"], np.eye(2)))
    assert "word 'Cat' is not in" in one_line_error(capsys, ["neighbours", "--vectors", str(good), "Cat"])
    assert "does not exist" in one_line_error(capsys, ["evaluate-vectors", "--vectors", str(good), "--analogies",
                                                       str(tmp_path / "none.txt"), "--similarity", str(pairs)])


def test_evaluate_vectors_on_gensim_vectors_matches_gensims_own_evaluation(tmp_path, capsys):
    gensim_models = pytest.importorskip("gensim.models", reason="gensim (bench extra) is not installed")
    from tinygrad_lm.data import load_corpus
    from tinygrad_lm.vectors.eval_sets import ANALOGIES, fetch_eval_sets
    from tinygrad_lm.vectors.vocab import tokenize

    tokens = tokenize(load_corpus("shakespeare"))
    sentences = [tokens[i:i + 10_000] for i in range(0, len(tokens), 10_000)]
    model = gensim_models.Word2Vec(sentences, vector_size=30, epochs=2, workers=1, seed=1)
    model.wv.save_word2vec_format(str(tmp_path / "gensim.txt"))
    questions = fetch_eval_sets() / ANALOGIES
    accuracy, sections = model.wv.evaluate_word_analogies(str(questions))
    report = json.loads(run(capsys, ["evaluate-vectors", "--vectors", str(tmp_path / "gensim.txt"), "--json"]))
    assert report["analogy"]["correct"] == len(sections[-1]["correct"]) and report["analogy"]["correct"] > 0
    assert report["analogy"]["accuracy"] == pytest.approx(accuracy)
    assert report["similarity"]["wordsim353.tsv"] == pytest.approx(
        model.wv.evaluate_word_pairs(str(questions.parent / "wordsim353.tsv"))[1][0], abs=1e-5)
