"""Knowledge distillation (Hinton et al. 2015): a small student learns from a large teacher.

    loss = alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) + (1 - alpha) * CE(z_s, y)
           [+ hidden_weight * H(h_s, h_t)]

z_s, z_t (N, V) are the student's and teacher's logits (a GPT's (B, T, V) become (B*T, V)
rows), y (N,) the true labels (``UNLABELLED`` where a row has none, as a transfer set's texts:
CE then averages over the labelled rows, and is left out when there are none), KL a batch mean (sum over classes, mean over the N rows). The
T^2 keeps the soft term's gradient on the scale of the hard one as T grows (its gradient is
(p_s - p_t) / T per logit). The optional hidden-state term H is DistilBERT's: cosine
(mean over rows of 1 - cos(h_s, h_t)) or MSE between hidden states of the same width.

Students (DistilBERT's recipe): the teacher's config with fewer layers, initialised from the
teacher's evenly spaced layers i * L // N (every other layer when N = L / 2) plus its
embeddings, final norm and head, or from scratch (the config's random init) as a baseline.
A student deeper than its teacher, or with another vocabulary, is refused (DistillError).

``distill_gpt`` trains a GPT student on the teacher's text; ``distill_gpt_run`` is the
``tinygrad-lm distill`` command (settings by key=value, ``DistillSettings``). The classifier
case (MiniLM teacher -> 2-layer student) is in ``distill_classifier.py``, measured by
``classifier_study.py``.

Left out: distilling into a narrower student (its weights cannot be copied), intermediate-layer
matching (TinyBERT), data augmentation.
"""

import dataclasses
from pathlib import Path

import numpy as np

from .. import functional as F
from ..engine import no_grad, tensor
from ..models import GPT
from ..train import load_model
from ..train.rundir import weights_file
from .loop import gpt_run_data, save_run, train_steps, val_loss
from .quantize import require_float

UNLABELLED = -100  # the target of a row with no label: cross_entropy's ignore_index


class DistillError(ValueError):
    """A distillation that cannot run: a student larger than its teacher, vocabularies that differ, a bad setting."""


def _log_softmax_array(z, temperature):
    """log softmax(z / T) over the last axis of a host array, in float64 (the teacher's fixed targets)."""
    scaled = np.asarray(z, dtype=np.float64) / temperature
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def hidden_state_loss(student_hidden, teacher_hidden, kind="cosine"):
    """Mean over rows of 1 - cos(h_s, h_t) ("cosine") or mean squared error ("mse"); h (N, H), teacher constant."""
    target = np.asarray(teacher_hidden.numpy() if hasattr(teacher_hidden, "numpy") else teacher_hidden)
    if tuple(student_hidden.shape) != target.shape:
        raise DistillError(f"hidden_state_loss: student {tuple(student_hidden.shape)} and teacher {target.shape} "
                           f"hidden states must have the same shape")
    if kind == "mse":
        return F.mse_loss(student_hidden, tensor(target, dtype=student_hidden.dtype))
    if kind != "cosine":
        raise DistillError(f"hidden_state_loss: kind must be 'cosine' or 'mse', got {kind!r}")
    unit = target / np.linalg.norm(target, axis=-1, keepdims=True)  # (N, H)
    norm = ((student_hidden * student_hidden).sum(axis=-1) + 1e-12) ** 0.5  # (N,)
    cosine = (student_hidden * tensor(unit, dtype=student_hidden.dtype)).sum(axis=-1) / norm  # (N,)
    return 1.0 - cosine.mean()


def distillation_loss(student_logits, teacher_logits, targets, temperature=2.0, alpha=0.5,
                      student_hidden=None, teacher_hidden=None, hidden_weight=0.0, hidden_kind="cosine"):
    """The loss of the module docstring. student_logits: a Tensor (..., V); teacher_logits: an array or
    Tensor of the same shape (no gradient); targets: ids (...). Returns a 0-d Tensor."""
    teacher = teacher_logits.numpy() if hasattr(teacher_logits, "numpy") else np.asarray(teacher_logits)
    if teacher.shape[-1] != student_logits.shape[-1]:
        raise DistillError(f"the teacher has {teacher.shape[-1]} classes (vocabulary) and the student "
                           f"{student_logits.shape[-1]}; distillation needs the same vocabulary on both sides")
    if teacher.shape != tuple(student_logits.shape):
        raise DistillError(f"teacher logits {teacher.shape} and student logits {tuple(student_logits.shape)} differ")
    if not temperature > 0 or not 0.0 <= alpha <= 1.0:
        raise DistillError(f"need temperature > 0 and alpha in [0, 1], got T={temperature}, alpha={alpha}")
    V = teacher.shape[-1]
    rows = student_logits.reshape(-1, V)  # (..., V) -> (N, V)
    log_p_teacher = _log_softmax_array(teacher.reshape(-1, V), temperature)  # (N, V)
    log_p_student = F.log_softmax(rows / temperature, axis=-1)  # (N, V)
    kl = F.kl_div(log_p_student, tensor(log_p_teacher, dtype=rows.dtype), reduction="batchmean", log_target=True)
    loss = alpha * temperature**2 * kl
    targets = np.asarray(targets).reshape(-1)  # (N,); UNLABELLED rows (a transfer set's) get the soft term only
    if (targets != UNLABELLED).any():
        loss = loss + (1.0 - alpha) * F.cross_entropy(rows, targets, ignore_index=UNLABELLED)
    if hidden_weight:
        loss = loss + hidden_weight * hidden_state_loss(student_hidden, teacher_hidden, hidden_kind)
    return loss


def picked_layers(n_teacher, n_student):
    """The teacher layers a student copies: i * L // N for i < N ([0, 2, 4] for 6 -> 3, as DistilBERT)."""
    if not isinstance(n_student, int) or not 1 <= n_student <= n_teacher:
        raise DistillError(f"the student must have 1 to {n_teacher} layers (its teacher's depth), got {n_student!r}; "
                           f"a student larger than its teacher is not a compression")
    return [i * n_teacher // n_student for i in range(n_student)]


def copy_from_teacher(student, teacher, layer_prefix, picked):
    """Load into ``student`` the teacher's weights: layer i from teacher layer picked[i], the rest by name."""
    source = teacher.state_dict()
    state = {}
    for name in student.state_dict():
        if name.startswith(layer_prefix):
            index, rest = name[len(layer_prefix):].split(".", 1)
            state[name] = source[f"{layer_prefix}{picked[int(index)]}.{rest}"]
        else:
            state[name] = source[name]
    student.load_state_dict(state)
    return student


def gpt_student(teacher, n_layers, init="every-other"):
    """A GPT of ``n_layers`` with the teacher's width and vocabulary, from its layers or from scratch."""
    picked = picked_layers(teacher.config.n_layer, n_layers)
    student = GPT(dataclasses.replace(teacher.config, n_layer=n_layers))
    if init == "every-other":
        return copy_from_teacher(student, teacher, "blocks.", picked)
    if init != "scratch":
        raise DistillError(f"init must be 'every-other' or 'scratch', got {init!r}")
    return student


def distill_gpt(teacher, student, train_ids, steps, lr=1e-3, alpha=0.5, temperature=2.0, batch_size=12, seed=0):
    """Train ``student`` for ``steps`` on windows of ``train_ids`` with the distillation loss; alpha=0
    is plain training (the baseline). Returns the losses."""
    if teacher.config.vocab_size != student.config.vocab_size:
        raise DistillError(f"teacher vocabulary {teacher.config.vocab_size} != student {student.config.vocab_size}")
    teacher.eval()

    def loss_fn(x, y):  # x, y (B, T)
        with no_grad():
            teacher_logits = teacher(x)[0].numpy()  # (B, T, V)
        return distillation_loss(student(x)[0], teacher_logits, y, temperature, alpha)

    return train_steps(student, train_ids, steps, lr=lr, batch_size=batch_size, seed=seed, loss_fn=loss_fn)


@dataclasses.dataclass(frozen=True)
class DistillSettings:
    """``tinygrad-lm distill``'s key=value settings."""

    steps: int = 300
    lr: float = 1e-3
    alpha: float = 0.5
    temperature: float = 2.0
    batch_size: int = 12
    seed: int = 0

    @classmethod
    def parse(cls, overrides):
        fields = {f.name: f.type for f in dataclasses.fields(cls)}
        values = {}
        for item in overrides or ():
            key, _, text = item.partition("=")
            if key not in fields:
                raise DistillError(f"unknown distill setting {key!r}; known: {', '.join(fields)}")
            try:
                values[key] = fields[key](text)
            except ValueError:
                raise DistillError(f"{key}={text!r}: expected {'an integer' if fields[key] is int else 'a number'}") from None
        return cls(**values)


def distill_gpt_run(teacher_src, out=None, student_layers=None, init="every-other", overrides=()):
    """``tinygrad-lm distill``: distil the GPT run ``teacher_src`` into a student saved in ``out``."""
    settings = DistillSettings.parse(overrides)
    path = weights_file(teacher_src, "train first with tinygrad-lm train")
    teacher, tokenizer, meta = load_model(path)
    if not isinstance(teacher, GPT):
        raise DistillError(f"{teacher_src}: holds a {meta['run_config']['model']} run; distill works on GPT runs "
                           f"(compress.classifier_study distils a classifier)")
    require_float(teacher, "distill")
    n_layers = student_layers if student_layers is not None else max(1, teacher.config.n_layer // 2)
    student = gpt_student(teacher, n_layers, init)
    train_ids, val_ids = gpt_run_data(meta, tokenizer)
    distill_gpt(teacher, student, train_ids, settings.steps, settings.lr, settings.alpha, settings.temperature,
                settings.batch_size, settings.seed)
    out = Path(out) if out else path.parent.with_name(path.parent.name + "-distilled")
    run_config = {**meta["run_config"], "n_layer": n_layers}
    saved = save_run(student, {**meta, "run_config": run_config, "model_config": student.config.to_dict()}, out,
                     distillation={**dataclasses.asdict(settings), "teacher": str(path), "init": init})
    return {"out": str(saved), "teacher_layers": teacher.config.n_layer, "student_layers": n_layers,
            "teacher_parameters": teacher.num_parameters(), "student_parameters": student.num_parameters(),
            "teacher_val_loss": val_loss(teacher, val_ids), "student_val_loss": val_loss(student, val_ids)}
