"""Exercises for chapter 11 (porting guide). Edit this file; check it with

    pytest tutorials/exercises -k ch11

Reference solutions: tutorials/solutions/ch11.py (look after you have tried).

These are ports: write them in plain NumPy, "as another framework would", without importing
tinygrad_lm (the tests compare with the golden bundles through the checker, not with the
library). Each reads its inputs from a bundle's tensors and returns the tensors the checker
compares, under the bundle's names.

1. `causal_attention_probs`: attention's probabilities from queries and keys, causal mask
   aligned bottom-right, softmax with the row maximum subtracted.
2. `gpt_forward`: the whole GPT forward pass and loss of the tiny bundle, every activation
   under its bundle name; `check-port --only input/,act/,loss` must pass. A worked answer in
   C99 is tutorials/porting/gpt.c.
3. `adamw_trajectory`: AdamW's 10 steps on the optim bundle's quadratic, in float64;
   `check-port --only adamw/` must pass.
"""


def causal_attention_probs(q, k):
    """softmax(q k^T / sqrt(D), causal mask) for q (B, H, Tq, D), k (B, H, Tk, D) -> (B, H, Tq, Tk).

    Causal, bottom-right aligned: query i may attend to key j when j <= i + (Tk - Tq) (the
    queries are the last Tq positions). Masked scores get probability exactly 0. Subtract each
    row's maximum before exp, so scores of 1e4 give probabilities, not NaN. Keep q's dtype.
    """
    raise NotImplementedError("exercise ch11.causal_attention_probs")


def gpt_forward(tensors, n_head, eps=1e-5):
    """The tiny GPT bundle's forward pass in NumPy: {name: array} for input/, act/ and loss.

    ``tensors`` maps the bundle's names to arrays (``input/ids``, ``input/targets``,
    ``param/<name>``, as in ``safetensors.numpy.load_file``). Return, in float32 (ids int64):
    ``input/ids``, ``input/targets``, ``act/embed``, per block i ``act/block{i}/ln1``, ``q``,
    ``k``, ``v`` (B, H, T, D), ``att_probs``, ``att_y`` (heads merged, before ``proj``),
    ``att_out``, ``resid1``, ``ln2``, ``mlp_hidden`` (after exact GELU), ``mlp_out``, ``out``;
    then ``act/ln_f``, ``act/logits`` (B, T, V) and ``loss`` (a 0-d array).
    Every convention of the chapter applies: row-major, Linear weights (out, in), the qkv
    weight's rows [q | k | v], exact (erf) GELU, biased variance with eps inside the root,
    max-subtracted softmax, causal mask, head tied to ``param/wte.weight``, log-sum-exp loss.
    """
    raise NotImplementedError("exercise ch11.gpt_forward")


def adamw_trajectory(A, c, x0, steps, lr, betas, eps, weight_decay):
    """AdamW on f(x) = 1/2 (x - c)^T A (x - c), from x0: {name: array} for the optim bundle.

    Each step t = 1..steps: g = A (x - c); x <- x - lr * weight_decay * x (decoupled decay,
    Loshchilov & Hutter 2019); m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
    x <- x - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps). Return float64 arrays
    ``adamw/step{t}/grad`` (the g step t used) and ``adamw/step{t}/param`` (x after step t).
    """
    raise NotImplementedError("exercise ch11.adamw_trajectory")
