"""What a run trains: the model, its batches, its loss and its evaluation, one class per model kind.

The Trainer (trainer.py) owns the loop, the optimizer, checkpoints, the log and the lock; a
task owns everything that depends on the model kind (``RunConfig.model``):

    task = make_task(config)            # reads the text, checks sizes (a GPT's tokenizer too)
    task.build(device, tokenizer)       # the model (task.model) and the training sampler; a
                                        # BERT learns its tokenizer here unless a resume passes one
    loss = task.train_loss()            # a scalar Tensor on a fresh training batch
    metrics = task.evaluate(step)       # {"train_loss": ..., "val_loss": ..., ...} as logged

and ``task.text`` (the text trained on, fingerprinted in the checkpoint), ``task.tokenizer`` (a
BERT's is None until ``build``), ``task.rng`` (the model's dropout generator, saved for exact
resume), ``task.sampler`` (``state_dict``/``load_state_dict``), ``task.tokens_per_batch``,
``task.describe(record)`` and ``task.loss_label`` (the loss curve's y-axis).

``GPTTask`` is the language model of ``models.gpt`` on one character or byte stream (the last
tenth validates); ``bert_task.BertTask`` pre-trains a BERT on sentence pairs;
``classifier_task.ClassifierTask`` fine-tunes a pretrained encoder to classify texts;
``seq2seq_task.Seq2SeqTask`` trains an encoder-decoder to translate sentence pairs.

Left out: kinds beyond these four, and tasks chosen by anything but ``config.model``.
"""

from ..data import (
    BatchSampler,
    ByteTokenizer,
    CharTokenizer,
    load_corpus,
    train_val_split,
)
from ..engine import tensor
from ..models import GPT, GPTConfig
from .config import VAL_FRACTION, check_memory, check_text_length
from .evaluate import estimate_loss, perplexity


def model_config(run, vocab_size):
    return GPTConfig(vocab_size=vocab_size, block_size=run.block_size, n_layer=run.n_layer, n_head=run.n_head,
                     n_embd=run.n_embd, dropout=run.dropout, bias=run.bias, seed=run.seed)


class GPTTask:
    """Next-token prediction with a GPT on windows of one token stream."""

    loss_label = "cross-entropy (nats/token)"  # the loss curve's y-axis

    def __init__(self, config):
        self.config = config
        self.text = load_corpus(config.corpus if not config.text_path else None, config.text_path or None)
        self.tokenizer = CharTokenizer.from_text(self.text) if config.tokenizer == "char" else ByteTokenizer()
        self.ids = self.tokenizer.encode(self.text)
        check_text_length(config, len(self.ids))
        check_memory(config, self.tokenizer.vocab_size)
        self.tokens_per_batch = config.batch_size * config.block_size

    def build(self, device, tokenizer=None):
        """Split the ids, build the GPT on ``device`` and the sampler (``tokenizer``: unused, the text's own)."""
        c = self.config
        self.train_ids, self.val_ids = train_val_split(self.ids, VAL_FRACTION, block_size=c.block_size)
        self.model = GPT(model_config(c, self.tokenizer.vocab_size), dtype=c.dtype).to(device)
        self.sampler = BatchSampler(self.train_ids, c.block_size, c.batch_size, seed=c.seed)
        self.rng = self.model.rng

    def train_loss(self):
        x, y = self.sampler.next_batch()  # (B, T) each, on the host
        device = self.model.device
        x, y = tensor(x, device=device), tensor(y, device=device)  # explicit copy to the device
        return self.model(x, y)[1]

    def evaluate(self, step):
        c = self.config
        losses = {}
        for index, (split, ids) in enumerate((("train", self.train_ids), ("val", self.val_ids))):
            seed = [c.seed, step, index]
            losses[f"{split}_loss"] = estimate_loss(self.model, ids, c.block_size, c.batch_size, c.eval_iters, seed)
        return {**losses, "val_perplexity": perplexity(losses["val_loss"])}

    @staticmethod
    def describe(record):
        return (f"step {record['step']}: train loss {record['train_loss']:.4f}, val loss {record['val_loss']:.4f} "
                f"(perplexity {record['val_perplexity']:.2f})")


def make_task(config):
    """The task of ``config.model`` (checked: the text fits, memory fits)."""
    if config.model == "bert":  # the BERT pipelines are imported only when a run needs them
        from .bert_task import BertTask

        return BertTask(config)
    if config.model == "classifier":
        from .classifier_task import ClassifierTask

        return ClassifierTask(config)
    if config.model == "seq2seq":
        from .seq2seq_task import Seq2SeqTask

        return Seq2SeqTask(config)
    return GPTTask(config)
