"""Translation with the encoder-decoder Transformer: the ``model="seq2seq"`` task of ``tasks.py``.

Data (``load_translation_pairs``): ``dataset="kjv-rv1909"`` is English -> Spanish Bible
verses (``data.parallel_verses``: aligned by reference, split by book, so test and validation
books are never trained on); with ``text_path``, a UTF-8 file of ``source<TAB>target`` lines
(a user's own pairs) is split by position: the first 80% train, the next 10% validate, the
last 10% test.

Tokenizer: one byte-level BPE vocabulary (``data.bpe_trainer.train_bpe``) of ``vocab_size``
tokens learned from the training sources and targets together (section 3.4 of the paper: a
shared vocabulary, so the tied embedding serves both languages), with special tokens
``<pad>``, ``<s>`` (bos) and ``</s>`` (eos) as the last three ids. It is learned in ``build``
(after the run directory is made) unless a resume passes the saved one.

Lengths: a pair is trained on (and counted in the validation loss) when its source has at
most ``block_size`` tokens and its target at most ``block_size - 1`` (bos + target and
target + eos fill the decoder's ``block_size`` positions); longer training pairs are left out
(``dropped`` in ``extra_meta``). When translating, a source longer than ``block_size`` tokens
is cut to its first ``block_size`` tokens (``translate`` reports how many were cut), and at
most ``block_size`` tokens are generated.

Batches (``LengthBatches``): each epoch, a seeded permutation of the training pairs is cut
into pools of 64 batches; each pool is sorted by length and cut into batches of
``batch_size`` pairs, and the batches are shuffled, so a batch holds pairs of similar length
and little padding. Sources are right-padded with ``<pad>``; tgt_in = [bos, y...] and
tgt_out = [y..., eos], padded likewise. Loss: ``Seq2Seq.loss`` with ``label_smoothing`` (0.1
in the paper), the mean over real target tokens.

Each evaluation: train_loss (``eval_iters`` seeded training batches), val_loss (every
validation pair that fits, token-weighted; both label-smoothed, like the training loss) and
val_bleu: corpus BLEU (13a, sacrebleu's) of greedy translations of the first
``bleu_sentences`` validation pairs. Best weights and early stopping follow val_bleu
(``monitor`` = 100 - val_bleu). ``encode_pairs``, ``length_sorted_batches`` and ``mean_loss``
are functions so that ``tinygrad-lm eval`` computes the same held-out loss from a saved run
(with ``label_smoothing=0``: the exact cross-entropy).

The checkpoint holds what ``translate`` needs: the model config, the whole BPE tokenizer
(``tokenizer.to_dict()``), and ``translation`` (``extra_meta``: dataset, split books, pairs
dropped for length). ``load_translator(run_dir)`` rebuilds the model and tokenizer.

Left out: batching by token count, checkpoint averaging, separate source/target vocabularies.
"""

import numpy as np

from ..data.bpe import BPETokenizer
from ..data.bpe_trainer import train_bpe
from ..data.corpora import load_text_file
from ..data.parallel_verses import TEST_BOOKS, VALIDATION_BOOKS, load_parallel_verses
from ..engine import no_grad
from ..metrics import corpus_bleu
from ..models.seq2seq import Seq2Seq, Seq2SeqConfig
from ..models.seq2seq_decode import beam_search, greedy_decode
from .checkpoint import CheckpointError, load_checkpoint
from .config import ConfigError
from .evaluate import _eval_mode
from .rundir import weights_file

SPECIAL_TOKENS = ("<pad>", "<s>", "</s>")
TRANSLATION_DATASETS = ("kjv-rv1909",)
POOL_BATCHES = 64  # batches per length-sorted pool
EVAL_BATCH = 64  # pairs per forward pass when evaluating or translating


class TranslationError(ValueError):
    """A translation input or checkpoint that cannot be used (one line, naming what and how to fix)."""


def read_pairs_file(path):
    """``[(source, target), ...]`` from a UTF-8 file of ``source<TAB>target`` lines (blank lines skipped)."""
    pairs = []
    for number, line in enumerate(load_text_file(path).splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise TranslationError(f"{path}, line {number}: expected 'source<TAB>target' with both sides "
                                   f"non-empty, got {line[:60]!r}")
        pairs.append((parts[0].strip(), parts[1].strip()))
    return pairs


def load_translation_pairs(config):
    """{"train", "validation", "test": [(source, target), ...]} of a run (module docstring)."""
    if config.text_path:
        pairs = read_pairs_file(config.text_path)
        n_train, n_val = int(0.8 * len(pairs)), int(0.1 * len(pairs))
        splits = {"train": pairs[:n_train], "validation": pairs[n_train:n_train + n_val],
                  "test": pairs[n_train + n_val:]}
    elif config.dataset in TRANSLATION_DATASETS:
        splits = {name: [(p.source, p.target) for p in pairs] for name, pairs in load_parallel_verses().items()}
    else:
        raise ConfigError(f"config: dataset must be one of {', '.join(TRANSLATION_DATASETS)} for model='seq2seq' "
                          f"(or give text_path, a file of source<TAB>target lines), got {config.dataset!r}")
    for name, pairs in splits.items():
        if not pairs:
            raise ConfigError(f"config: the {name} split holds no pairs; a translation run needs at least 10 pairs")
    return splits


def special_ids(tokenizer):
    """(pad, bos, eos) ids of a translation tokenizer; TranslationError if one is missing."""
    ids = [tokenizer.special_tokens.get(token) for token in SPECIAL_TOKENS]
    if None in ids:
        raise TranslationError(f"the tokenizer lacks the special tokens {SPECIAL_TOKENS}; it is not a translation "
                               f"tokenizer")
    return tuple(ids)


def model_config(run, tokenizer):
    """The Seq2SeqConfig of a run: n_layer encoder and n_layer decoder blocks, d_ff = intermediate."""
    pad, bos, eos = special_ids(tokenizer)
    return Seq2SeqConfig(vocab_size=tokenizer.vocab_size, n_encoder_layers=run.n_layer, n_decoder_layers=run.n_layer,
                         n_head=run.n_head, n_embd=run.n_embd, d_ff=run.intermediate, max_positions=run.block_size,
                         dropout=run.dropout, pad_id=pad, bos_id=bos, eos_id=eos, norm_first=run.norm_first,
                         seed=run.seed)


def pad_rows(rows, pad_id):
    """Right-pad a list of 1-D id arrays into one int64 (B, L) array, L = the longest row."""
    out = np.full((len(rows), max(len(r) for r in rows)), pad_id, dtype=np.int64)  # (B, L)
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out


def batch_arrays(sources, targets, config):
    """(src (B, S), tgt_in (B, T), tgt_out (B, T)) int64 arrays for encoded pairs (module docstring)."""
    src = pad_rows(sources, config.pad_id)
    tgt_in = pad_rows([np.concatenate([[config.bos_id], t]) for t in targets], config.pad_id)
    tgt_out = pad_rows([np.concatenate([t, [config.eos_id]]) for t in targets], config.pad_id)
    return src, tgt_in, tgt_out


class LengthBatches:
    """Training batches of similar length (module docstring); resume state is (epoch, position)."""

    def __init__(self, lengths, batch_size, seed):
        self.lengths, self.batch_size, self.seed = np.asarray(lengths), batch_size, seed
        self.epoch, self.position = 0, 0
        self.batches = self._epoch_batches()

    def _epoch_batches(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths))
        pool, batches = POOL_BATCHES * self.batch_size, []
        for start in range(0, len(order), pool):
            chunk = order[start:start + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        return [batches[i] for i in rng.permutation(len(batches))]

    def next_rows(self):
        if self.position == len(self.batches):
            self.epoch, self.position = self.epoch + 1, 0
            self.batches = self._epoch_batches()
        self.position += 1
        return self.batches[self.position - 1]

    def state_dict(self):
        return {"epoch": self.epoch, "position": self.position, "n_rows": len(self.lengths),
                "batch_size": self.batch_size}

    def load_state_dict(self, state):
        for key, value in (("batch_size", self.batch_size), ("n_rows", len(self.lengths))):
            if state[key] != value:
                raise ValueError(f"LengthBatches.load_state_dict: saved {key}={state[key]!r}, this run has {value!r}")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.batches = self._epoch_batches()


def encode_pairs(tokenizer, pairs, block_size):
    """The (source ids, target ids) of the text ``pairs`` that fit ``block_size`` (module docstring, Lengths)."""
    encoded = [(encode_text(tokenizer, s), encode_text(tokenizer, t)) for s, t in pairs]
    return [(s, t) for s, t in encoded if 0 < len(s) <= block_size and 0 < len(t) < block_size]


def length_sorted_batches(encoded, size=EVAL_BATCH):
    """Encoded pairs sorted by source length and cut into batches of ``size`` (little padding when evaluating)."""
    ordered = sorted(encoded, key=lambda pair: len(pair[0]))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def pairs_loss(model, pairs, label_smoothing):
    """``Seq2Seq.loss`` (a Tensor) of one batch of encoded pairs: the mean over its real target tokens."""
    src, tgt_in, tgt_out = batch_arrays([s for s, _ in pairs], [t for _, t in pairs], model.config)
    return model.loss(src, tgt_in, tgt_out, label_smoothing=label_smoothing)


def mean_loss(model, batches, label_smoothing=0.0):
    """(token-weighted mean loss over ``batches`` of encoded pairs, target tokens counted, eos included), in eval
    mode without a graph. With ``label_smoothing=0`` it is the exact cross-entropy in nats per target token."""
    total, count = 0.0, 0
    restore = _eval_mode(model)
    try:
        with no_grad():
            for pairs in batches:
                tokens = sum(len(t) + 1 for _, t in pairs)
                total += float(pairs_loss(model, pairs, label_smoothing).item()) * tokens
                count += tokens
    finally:
        restore()
    return total / count, count


def data_text(splits):
    """The splits as one canonical string (split, source, target per line): what a resume fingerprints."""
    return "\n".join(f"{name}\t{s}\t{t}" for name in ("train", "validation", "test") for s, t in splits[name])


def encode_text(tokenizer, text):
    """A text's BPE ids (int64); special-token spellings in it are ordinary text."""
    return np.asarray(tokenizer.encode(text), dtype=np.int64)


def translate(model, tokenizer, texts, beam=1, length_penalty=0.6):
    """Translations of ``texts`` (greedy for beam 1, else beam search) and how many sources were cut.

    A source longer than the model's positions keeps its first ``max_positions`` tokens.
    Sources are decoded in batches of similar length; the output keeps the input order.
    """
    limit = model.config.max_positions
    encoded = [encode_text(tokenizer, text) for text in texts]
    cut = sum(len(ids) > limit for ids in encoded)
    encoded = [ids[:limit] if len(ids) else np.asarray([model.config.eos_id]) for ids in encoded]
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
    outputs = [""] * len(texts)
    for start in range(0, len(order), EVAL_BATCH):
        rows = order[start:start + EVAL_BATCH]
        src = pad_rows([encoded[i] for i in rows], model.config.pad_id)  # (B, S)
        found = greedy_decode(model, src) if beam == 1 else beam_search(model, src, beam, length_penalty)
        for i, tokens in zip(rows, found):
            outputs[i] = tokenizer.decode(tokens).strip()
    return outputs, cut


def bleu_of(model, tokenizer, pairs, beam=1):
    """Corpus BLEU (13a) of translating the sources of ``pairs`` against their targets, and the outputs."""
    hypotheses, _ = translate(model, tokenizer, [s for s, _ in pairs], beam)
    return corpus_bleu(hypotheses, [[t for _, t in pairs]]).score, hypotheses


def load_translator(run_dir):
    """(model, tokenizer, meta) of a translation run's best weights (else its checkpoint)."""
    path = weights_file(run_dir, "train one first with tinygrad-lm train --preset translate-en-es")
    arrays, meta = load_checkpoint(path)
    kind = meta.get("run_config", {}).get("model") if isinstance(meta.get("run_config"), dict) else None
    if kind != "seq2seq":
        raise TranslationError(f"{path}: a {kind or 'unknown'!s} checkpoint, not a translation model; pass the run "
                               f"directory of a model=seq2seq run (e.g. --preset translate-en-es)")
    try:
        config = Seq2SeqConfig.from_dict(meta["model_config"])
        tokenizer = BPETokenizer.from_dict(meta["tokenizer"])
        model = Seq2Seq(config)
        model.load_state_dict({k[len("model."):]: a for k, a in arrays.items() if k.startswith("model.")})
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the translation model cannot be rebuilt from it ({error})") from None
    return model, tokenizer, meta


class Seq2SeqTask:
    """Training ``models.Seq2Seq`` on sentence pairs (module docstring)."""

    loss_label = "label-smoothed cross-entropy (nats/token)"

    def __init__(self, config):
        self.config = config
        self.splits = load_translation_pairs(config)
        self.text = data_text(self.splits)
        self.tokenizer = None  # learned in build (or the resumed run's)
        self.tokens_per_batch = config.batch_size * config.block_size

    def build(self, device, tokenizer=None):
        """Learn (or take) the BPE vocabulary, encode every pair, build the model and the batches."""
        c = self.config
        train = self.splits["train"]
        if tokenizer is None:
            tokenizer = train_bpe([s for s, _ in train] + [t for _, t in train], c.vocab_size,
                                  special_tokens=SPECIAL_TOKENS)
        self.tokenizer = tokenizer
        self.model_config = model_config(c, tokenizer)
        self.encoded, dropped = {}, {}
        for name, pairs in self.splits.items():
            self.encoded[name] = encode_pairs(tokenizer, pairs, c.block_size)
            dropped[name] = len(pairs) - len(self.encoded[name])
        if not self.encoded["train"]:
            raise ConfigError(f"config: no training pair fits block_size={c.block_size} tokens; raise block_size")
        self.model = Seq2Seq(self.model_config, dtype=c.dtype).to(device)
        self.rng = self.model.rng
        train_lengths = [max(len(s), len(t)) for s, t in self.encoded["train"]]
        self.sampler = LengthBatches(train_lengths, c.batch_size, c.seed)
        self.tokens_per_batch = int(c.batch_size * 2 * np.mean(train_lengths))
        self.extra_meta = {"translation": {
            "dataset": "text_path" if c.text_path else c.dataset,
            "test_books": [] if c.text_path else list(TEST_BOOKS),
            "validation_books": [] if c.text_path else list(VALIDATION_BOOKS),
            "pairs": {name: len(pairs) for name, pairs in self.splits.items()},
            "dropped_for_length": dropped}}

    def train_loss(self):
        train = self.encoded["train"]
        return pairs_loss(self.model, [train[i] for i in self.sampler.next_rows()], self.config.label_smoothing)

    def _mean_loss(self, batches):
        return mean_loss(self.model, batches, self.config.label_smoothing)[0]

    def evaluate(self, step):
        c = self.config
        rng = np.random.default_rng([c.seed, step, 0])  # never disturbs the training sampler
        train = self.encoded["train"]
        draws = [rng.choice(len(train), min(c.batch_size, len(train)), replace=False) for _ in range(c.eval_iters)]
        metrics = {"train_loss": self._mean_loss([[train[i] for i in rows] for rows in draws])}
        metrics["val_loss"] = self._mean_loss(length_sorted_batches(self.encoded["validation"]))
        if c.bleu_sentences:
            metrics["val_bleu"], _ = bleu_of(self.model, self.tokenizer, self.splits["validation"][:c.bleu_sentences])
            metrics["monitor"] = 100.0 - metrics["val_bleu"]
        return metrics

    @staticmethod
    def describe(record):
        bleu = f", val BLEU {record['val_bleu']:.2f}" if "val_bleu" in record else ""
        return f"step {record['step']}: train loss {record['train_loss']:.4f}, val loss {record['val_loss']:.4f}{bleu}"
