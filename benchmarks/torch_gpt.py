"""The PyTorch peer of tinygrad_lm's GPT, for the training-step benchmark (train_step.py).

Written with plain torch modules, name for name like ``tinygrad_lm.models.GPT`` so that state
dicts load across: token and position ``nn.Embedding``, pre-LN blocks (LayerNorm, fused qkv
Linear, attention through ``F.scaled_dot_product_attention(is_causal=True)``, output Linear;
LayerNorm, Linear 4C, exact GELU, Linear C), final LayerNorm, head tied to the token
embedding (``F.linear`` with ``wte.weight``), GPT-2 initialisation (N(0, 0.02), residual
projections N(0, 0.02 / sqrt(2 n_layer)), zero biases). Dropout sits where tinygrad_lm and
nanoGPT put it: after the embeddings, on the attention probabilities (SDPA's dropout_p), after
each block's attention and MLP outputs; with dropout 0 the model has none.

Left out: weight loading from GPT-2 checkpoints, generation, and torch.compile (the benchmark
compares eager with eager).
"""

import math

ATTENTION = "torch.nn.functional.scaled_dot_product_attention(is_causal=True)"


def torch_gpt(torch, config):
    """The PyTorch GPT for a ``tinygrad_lm.models.GPTConfig``, initialised from torch's seeded generator."""
    nn, F = torch.nn, torch.nn.functional
    C, H, p = config.n_embd, config.n_head, config.dropout

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.proj = nn.Linear(C, 3 * C, bias=config.bias), nn.Linear(C, C, bias=config.bias)
            self.resid_drop = nn.Dropout(p)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, 3C) -> 3 x (B, T, C)
            q, k, v = (a.view(b, t, H, C // H).transpose(1, 2) for a in (q, k, v))  # (B, T, C) -> (B, H, T, D)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                                 dropout_p=p if self.training else 0.0)  # (B, H, T, D)
            return self.resid_drop(self.proj(out.transpose(1, 2).reshape(b, t, C)))  # (B, H, T, D) -> (B, T, C)

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.proj = nn.Linear(C, 4 * C, bias=config.bias), nn.Linear(4 * C, C, bias=config.bias)
            self.drop = nn.Dropout(p)

        def forward(self, x):
            h = F.gelu(self.fc(x), approximate="none")  # (B, T, C) -> (B, T, 4C)
            return self.drop(self.proj(h))  # (B, T, 4C) -> (B, T, C)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn = nn.LayerNorm(C, bias=config.bias), Attention()
            self.ln2, self.mlp = nn.LayerNorm(C, bias=config.bias), MLP()

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(config.vocab_size, C), nn.Embedding(config.block_size, C)
            self.drop = nn.Dropout(p)
            self.blocks = nn.ModuleList(Block() for _ in range(config.n_layer))
            self.ln_f = nn.LayerNorm(C, bias=config.bias)

        def forward(self, idx):
            t = idx.shape[1]
            x = self.wte(idx) + self.wpe(torch.arange(t, device=idx.device))  # (B, T, C) + (T, C) -> (B, T, C)
            x = self.drop(x)
            for block in self.blocks:
                x = block(x)
            return F.linear(self.ln_f(x), self.wte.weight)  # (B, T, C) @ (C, V) -> (B, T, V)

    torch.manual_seed(config.seed)
    model = TorchGPT()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.normal_(0.0, 0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                module.bias.zero_()
        for block in model.blocks:
            block.attn.proj.weight.normal_(0.0, 0.02 / math.sqrt(2 * config.n_layer))
            block.mlp.proj.weight.normal_(0.0, 0.02 / math.sqrt(2 * config.n_layer))
    return model
