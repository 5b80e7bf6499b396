"""Classifiers that need no fine-tuning: zero-shot by embedding, zero-shot by a causal LM, a linear probe.

They are the baselines a fine-tuned encoder has to beat (issue 11, items 4 and 5):

    zero_shot_by_embedding(model, tokenizer, texts, label_descriptions) -> (ids (N,), scores (N, K))
        score[i, k] = cos(e(text_i), mean_j e(description_kj)), e = the sentence embedding of
        ``tinygrad_lm.data.embed`` (a pretrained encoder such as all-MiniLM-L6-v2), unit vectors.
    zero_shot_by_lm(gpt, tokenizer, texts, label_words, prompt_template) -> (ids (N,), loglik (N, K))
        loglik[i, k] = sum_j log p(w_kj | prompt_i, w_k1 .. w_k(j-1)), the label word's tokens
        scored by a GPT after the prompt (or their mean with ``length_normalize=True``).
    train_linear_probe(features, labels, n_classes, ...) -> LinearProbe
        logistic regression p(y | x) = softmax(W x + b) on frozen features, trained with the
        engine (one ``nn.Linear``, ``F.cross_entropy``, AdamW), early stopping on validation.

Prediction is the argmax of the scores (ties go to the lower label id, as ``np.argmax``).

Left out: calibration of zero-shot scores (e.g. subtracting each label's score on an empty
text, "contextual calibration"), prompt ensembles, few-shot prompts, and a non-linear probe.
"""

import numpy as np

from . import functional as F
from .data import embed
from .engine import no_grad, tensor, to_device
from .nn import Linear, Module
from .optim import AdamW


def _check_texts(op, texts):
    """``texts`` as a non-empty list of non-empty str; one-line errors otherwise."""
    if isinstance(texts, str) or not isinstance(texts, (list, tuple)):
        raise TypeError(f"{op}: texts must be a list of str, got {type(texts).__name__}; wrap one text in a list")
    if not texts:
        raise ValueError(f"{op}: texts is empty; give at least one text to classify")
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{op}: texts[{index}] is {text!r:.40}, not a non-empty str")
    return list(texts)


def _description_lists(label_descriptions):
    """{label: [description, ...]} or [description or [descriptions], ...] -> list of K lists of str."""
    if isinstance(label_descriptions, dict):
        groups = list(label_descriptions.values())
    elif isinstance(label_descriptions, (list, tuple)):
        groups = list(label_descriptions)
    else:
        raise TypeError(f"zero_shot_by_embedding: label_descriptions must be a dict or list, "
                        f"got {type(label_descriptions).__name__}")
    if len(groups) < 2:
        raise ValueError(f"zero_shot_by_embedding: need descriptions for at least 2 labels, got {len(groups)}")
    lists = []
    for k, group in enumerate(groups):
        group = [group] if isinstance(group, str) else list(group)
        if not group or not all(isinstance(d, str) and d.strip() for d in group):
            raise ValueError(f"zero_shot_by_embedding: label {k} needs one or more non-empty description "
                             f"strings, got {group!r:.60}")
        lists.append(group)
    return lists


def zero_shot_by_embedding(model, tokenizer, texts, label_descriptions, batch_size=32):
    """(predicted label ids int64 (N,), cosine scores float32 (N, K)) with no training.

    ``label_descriptions``: one entry per label, in label-id order, each a description or a
    list of descriptions, e.g. ``["a negative movie review", "a positive movie review"]`` or
    ``{"neg": [...], "pos": [...]}`` (the dict's order is the label order). A label's vector
    is the mean of its descriptions' unit embeddings, renormalised to length 1, so that
    score[i, k] = e_i . d_k is a cosine in [-1, 1].
    """
    texts = _check_texts("zero_shot_by_embedding", texts)
    groups = _description_lists(label_descriptions)
    flat = [d for group in groups for d in group]
    text_vectors = embed(model, tokenizer, texts, batch_size=batch_size)  # (N, H), unit rows
    description_vectors = embed(model, tokenizer, flat, batch_size=batch_size)  # (sum of group sizes, H)
    bounds = np.cumsum([0] + [len(group) for group in groups])  # (K + 1,) rows of each label
    label_vectors = np.stack([description_vectors[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])
    label_vectors /= np.maximum(np.linalg.norm(label_vectors, axis=1, keepdims=True), 1e-12)  # (K, H)
    scores = text_vectors @ label_vectors.T  # (N, H) @ (H, K) -> (N, K)
    return scores.argmax(axis=1).astype(np.int64), scores


def _encode_lenient(tokenizer, text):
    """Token ids of ``text``; with a CharTokenizer, characters outside its vocabulary are dropped.

    A character-level model has no token for a character it never saw ("é", "—" in movie
    reviews, for a Shakespeare model): dropping it is the closest the model can read, and
    the alternative (substituting a space or "?") invents characters the text does not have.
    Other tokenizers (byte, BPE) encode every text, so they are used as they are.
    """
    if getattr(tokenizer, "kind", None) == "char":
        known = set(tokenizer.vocabulary)
        text = "".join(ch for ch in text if ch in known)
    return np.asarray(tokenizer.encode(text), dtype=np.int64)


def _label_ids(tokenizer, label_words):
    """One int64 id array per label word; unknown or empty words are a one-line ValueError."""
    if isinstance(label_words, str) or not isinstance(label_words, (list, tuple)) or len(label_words) < 2:
        raise ValueError(f"zero_shot_by_lm: label_words must be a list of 2 or more str, got {label_words!r:.60}")
    ids = []
    for k, word in enumerate(label_words):
        if not isinstance(word, str) or not word:
            raise ValueError(f"zero_shot_by_lm: label_words[{k}] is {word!r}, not a non-empty str")
        try:
            ids.append(np.asarray(tokenizer.encode(word), dtype=np.int64))
        except ValueError as error:  # UnknownCharacterError and other tokenizer refusals
            raise ValueError(f"zero_shot_by_lm: label word {word!r} cannot be written with this tokenizer "
                             f"({error}); choose a word in its vocabulary") from None
        if ids[-1].size == 0:
            raise ValueError(f"zero_shot_by_lm: label word {word!r} encodes to no tokens")
    return ids


def zero_shot_by_lm(gpt, tokenizer, texts, label_words, prompt_template="{text} This review is",
                    length_normalize=False, batch_size=32):
    """(predicted label ids int64 (N,), log-likelihoods float64 (N, K)) from a causal LM, no training.

    For text i and label word k with tokens w_1 .. w_m, the sequence s = prompt_i + w is read
    by the GPT once and loglik[i, k] = sum_{j=1..m} log softmax(logits[p + j - 2])[w_j], where
    p = len(prompt_i): the log-probability of the word's tokens given everything before them
    (divided by m with ``length_normalize=True``, so long words are not penalised for length).
    The label words are scored as written: put the space that separates them from the prompt
    in them (" positive"), since a tokenizer treats "positive" and " positive" differently.

    A sequence longer than ``block_size + 1`` keeps its last ``block_size + 1`` tokens (the
    model sees the end of the prompt, right before the label word, which matters most); the
    label word itself must fit. Characters a CharTokenizer does not know are dropped from the
    texts (see ``_encode_lenient``); in a label word they are an error. Runs in eval mode
    under ``no_grad`` and puts the modules' modes back. Sequences of a batch are padded on
    the right, which a causal model never looks at.
    """
    texts = _check_texts("zero_shot_by_lm", texts)
    if not isinstance(prompt_template, str) or "{text}" not in prompt_template:
        raise ValueError(f"zero_shot_by_lm: prompt_template must be a str containing '{{text}}', got {prompt_template!r:.60}")
    words = _label_ids(tokenizer, label_words)
    window = gpt.config.block_size + 1  # inputs are the first block_size tokens, targets the last block_size
    longest = max(len(w) for w in words)
    if longest >= window:
        raise ValueError(f"zero_shot_by_lm: a label word has {longest} tokens, more than the model's "
                         f"block_size {gpt.config.block_size} allows after a prompt")
    sequences = []  # (sequence ids, number of label tokens at its end), row i * K + k
    for text in texts:
        prompt = _encode_lenient(tokenizer, prompt_template.format(text=text))
        for word in words:
            sequences.append((np.concatenate([prompt, word])[-window:], len(word)))
    scores = np.zeros(len(sequences))
    modes = [(module, module.training) for _, module in gpt.named_modules()]
    gpt.eval()
    try:
        with no_grad():
            for start in range(0, len(sequences), batch_size):
                batch = sequences[start:start + batch_size]
                width = max(len(s) for s, _ in batch) - 1
                inputs = np.zeros((len(batch), width), dtype=np.int64)  # (B, T), right-padded with id 0
                for row, (seq, _) in enumerate(batch):
                    inputs[row, :len(seq) - 1] = seq[:-1]
                logits, _ = gpt(to_device(inputs, gpt.device))  # (B, T) -> (B, T, V)
                log_probs = F.log_softmax(logits, axis=-1).numpy().astype(np.float64)  # (B, T, V) on the host
                for row, (seq, m) in enumerate(batch):
                    positions = np.arange(len(seq) - 1 - m, len(seq) - 1)  # (m,) predicting the label tokens
                    total = log_probs[row, positions, seq[positions + 1]].sum()
                    scores[start + row] = total / m if length_normalize else total
    finally:
        for module, training in modes:
            module.training = training
    scores = scores.reshape(len(texts), len(words))  # (N * K,) -> (N, K)
    return scores.argmax(axis=1).astype(np.int64), scores


class LinearProbe(Module):
    """Logistic regression on frozen features: logits = x @ W^T + b, p(y | x) = softmax(logits).

    x (N, D) float -> logits (N, K). ``history``: one {"epoch", "train_loss", "val_loss",
    "val_accuracy"} per epoch of ``train_linear_probe``; ``best_epoch``: the one kept.
    """

    def __init__(self, n_features, n_classes, seed=0):
        self.linear = Linear(n_features, n_classes, rng=np.random.default_rng(seed))
        self.history, self.best_epoch = [], None

    def forward(self, x):
        return self.linear(x)  # (N, D) -> (N, K)

    def predict_proba(self, features):
        """Class probabilities float32 (N, K) for ``features`` (N, D), computed under no_grad."""
        features = _check_features("LinearProbe.predict_proba", features, self.linear.in_features)
        with no_grad():
            return F.softmax(self(tensor(features)), axis=-1).numpy()  # (N, K)

    def predict(self, features):
        """Predicted class ids int64 (N,)."""
        return self.predict_proba(features).argmax(axis=1).astype(np.int64)


def _check_features(op, features, n_features=None):
    features = np.asarray(features)
    if features.ndim != 2 or features.shape[0] == 0 or features.dtype.kind != "f":
        raise ValueError(f"{op}: features must be a non-empty float array of shape (N, D), "
                         f"got {features.dtype} {features.shape}")
    if n_features is not None and features.shape[1] != n_features:
        raise ValueError(f"{op}: features have {features.shape[1]} columns but the probe was trained on {n_features}")
    if not np.isfinite(features).all():
        raise ValueError(f"{op}: features contain NaN or infinity")
    return features.astype(np.float32)


def _check_labels(op, labels, n_rows, n_classes, name="labels"):
    labels = np.asarray(labels)
    if labels.shape != (n_rows,) or labels.dtype.kind not in "iu":
        raise ValueError(f"{op}: {name} must be integer ids of shape ({n_rows},) to match the features, "
                         f"got {labels.dtype} {labels.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"{op}: {name} must lie in [0, {n_classes}), got [{labels.min()}, {labels.max()}]")
    return labels.astype(np.int64)


def _split_off_val(labels, fraction, rng):
    """(train rows, val rows): a seeded ``fraction`` of each class held out for early stopping."""
    train_rows, val_rows = [], []
    for k in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == k))
        cut = max(1, round(fraction * len(rows))) if len(rows) > 1 else 0
        val_rows.append(rows[:cut])
        train_rows.append(rows[cut:])
    return np.concatenate(train_rows), np.concatenate(val_rows)


def train_linear_probe(features, labels, n_classes, lr=1e-2, epochs=200, weight_decay=1e-4, seed=0,
                       val_features=None, val_labels=None, val_fraction=0.1, batch_size=64, patience=10):
    """A ``LinearProbe`` fitted by minibatch AdamW on mean cross-entropy, with early stopping.

    features (N, D) float, labels (N,) int in [0, n_classes). Validation: ``val_features`` and
    ``val_labels`` when given, otherwise a seeded, per-class ``val_fraction`` of the training
    rows. After each epoch (a seeded shuffle, then batches of ``batch_size``) the validation
    loss is measured; training stops after ``patience`` epochs without a new lowest loss, and
    the probe returned holds the weights of that best epoch (``probe.best_epoch``).
    Weight decay is decoupled (AdamW) and applies to W only, not to the bias.
    """
    op = "train_linear_probe"
    features = _check_features(op, features)
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"{op}: n_classes must be an int >= 2, got {n_classes!r}")
    labels = _check_labels(op, labels, len(features), n_classes)
    rng = np.random.default_rng(seed)
    if val_features is None:
        train_rows, val_rows = _split_off_val(labels, val_fraction, rng)
        features, val_features, labels, val_labels = (features[train_rows], features[val_rows],
                                                       labels[train_rows], labels[val_rows])
    else:
        val_features = _check_features(op + " (val_features)", val_features, features.shape[1])
        val_labels = _check_labels(op, val_labels, len(val_features), n_classes, "val_labels")
    if len(val_labels) == 0:
        raise ValueError(f"{op}: no validation rows; give val_features/val_labels or more training data")
    probe = LinearProbe(features.shape[1], n_classes, seed=seed)
    optimizer = AdamW([{"params": [probe.linear.weight], "weight_decay": weight_decay},
                       {"params": [probe.linear.bias], "weight_decay": 0.0}], lr=lr)
    best = (np.inf, None, None)  # (val loss, weights, epoch)
    for epoch in range(1, epochs + 1):
        probe.train()
        losses = []
        order = rng.permutation(len(features))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            loss = F.cross_entropy(probe(tensor(features[rows])), labels[rows])  # (B, K), (B,) -> ()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.numpy()) * len(rows))
        with no_grad():
            val_logits = probe(tensor(val_features))  # (M, D) -> (M, K)
            val_loss = float(F.cross_entropy(val_logits, val_labels).numpy())
        val_accuracy = float(np.mean(val_logits.numpy().argmax(axis=1) == val_labels))
        probe.history.append({"epoch": epoch, "train_loss": sum(losses) / len(features),
                              "val_loss": val_loss, "val_accuracy": val_accuracy})
        if val_loss < best[0]:
            best = (val_loss, {k: v.copy() for k, v in probe.state_dict().items()}, epoch)
        elif epoch - best[2] >= patience:
            break
    probe.load_state_dict(best[1])
    probe.best_epoch = best[2]
    probe.eval()
    return probe
