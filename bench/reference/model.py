"""The chapter's clustering-with-attention model in PyTorch, as an independent
reference for attncluster (src/model.c, src/layers.c).

Shapes: N rows, F features, H hidden, K clusters. Weights are (out, in) and
applied as x @ W.T + b, so state_dict() keys and shapes are exactly the
tensor names of docs/model-format.md.

    q, k, v = query_proj(x), key_proj(x), value_proj(x)         (N, H)
    weights = softmax(q @ k.T [* 1/sqrt(H)], dim=1)             (N, N)
    y       = layer_norm(output_proj(weights @ v)), eps 1e-5     (N, H)
    logits  = cluster_proj(y)                                     (N, K)
"""

import math

import numpy as np
import torch
from torch import nn

__all__ = [
    "PARAM_NAMES",
    "SelfAttention",
    "AttentionClustering",
    "candle_init_",
    "make_adamw",
    "LAYERNORM_EPS",
]

LAYERNORM_EPS = 1e-5

# The 12 parameter tensors, in the order Candle creates (and initialises) them.
PARAM_NAMES = [
    "self_attention.query_proj.weight",
    "self_attention.query_proj.bias",
    "self_attention.key_proj.weight",
    "self_attention.key_proj.bias",
    "self_attention.value_proj.weight",
    "self_attention.value_proj.bias",
    "self_attention.output_proj.weight",
    "self_attention.output_proj.bias",
    "layer_norm.weight",
    "layer_norm.bias",
    "cluster_proj.weight",
    "cluster_proj.bias",
]


class SelfAttention(nn.Module):
    def __init__(self, F, H):
        super().__init__()
        self.query_proj = nn.Linear(F, H)
        self.key_proj = nn.Linear(F, H)
        self.value_proj = nn.Linear(F, H)
        self.output_proj = nn.Linear(H, H)


class AttentionClustering(nn.Module):
    def __init__(self, F, H, K, scale="none"):
        super().__init__()
        if scale not in ("none", "sqrt"):
            raise ValueError("scale must be 'none' or 'sqrt', not %r" % (scale,))
        self.F, self.H, self.K, self.scale = F, H, K, scale
        self.self_attention = SelfAttention(F, H)
        self.layer_norm = nn.LayerNorm(H, eps=LAYERNORM_EPS)
        self.cluster_proj = nn.Linear(H, K)

    def scale_value(self):
        """The factor on the scores, rounded to float32 as attncluster does."""
        if self.scale == "sqrt":
            return float(np.float32(1.0 / math.sqrt(self.H)))
        return 1.0

    def _head(self, ctx, detach_layernorm=False):
        o = self.self_attention.output_proj(ctx)
        y = self.layer_norm(o)
        if detach_layernorm:
            # Candle's fused LayerNorm records no gradient: nothing before
            # cluster_proj learns ("candle-compat").
            y = y.detach()
        return self.cluster_proj(y)

    def forward(self, x, detach_layernorm=False):
        """Logits (N, K) with attention across the N rows of x (N, F)."""
        sa = self.self_attention
        q, k, v = sa.query_proj(x), sa.key_proj(x), sa.value_proj(x)
        scores = q @ k.T
        if self.scale == "sqrt":
            scores = scores * self.scale_value()
        weights = torch.softmax(scores, dim=1)
        return self._head(weights @ v, detach_layernorm)

    def predict_with_reference(self, x, ref):
        """Logits (N, K) where each row i of x (N, F) attends over the R rows
        of ref (R, F) followed by itself (docs/model-format.md, "Prediction
        with the reference rows"). Each row's result depends only on that
        row and ref."""
        sa = self.self_attention
        q = sa.query_proj(x)  # (N, H)
        k_self = sa.key_proj(x)  # (N, H)
        v_self = sa.value_proj(x)  # (N, H)
        k_ref = sa.key_proj(ref)  # (R, H)
        v_ref = sa.value_proj(ref)  # (R, H)
        s_ref = q @ k_ref.T  # (N, R)
        s_self = (q * k_self).sum(dim=1, keepdim=True)  # (N, 1): the row's own key, last
        scores = torch.cat([s_ref, s_self], dim=1)  # (N, R + 1)
        if self.scale == "sqrt":
            scores = scores * self.scale_value()
        a = torch.softmax(scores, dim=1)
        R = ref.shape[0]
        ctx = a[:, :R] @ v_ref + a[:, R:] * v_self  # (N, H)
        return self._head(ctx)


@torch.no_grad()
def candle_init_(model, generator=None):
    """Candle's defaults, drawn in Candle's creation order (query, key,
    value, output, cluster projection; each weight then bias): Linear weight
    ~ Normal(0, sqrt(2/fan_in)), bias ~ Uniform(-1/sqrt(fan_in),
    1/sqrt(fan_in)); LayerNorm weight 1, bias 0."""
    sa = model.self_attention
    for lin in (sa.query_proj, sa.key_proj, sa.value_proj, sa.output_proj, model.cluster_proj):
        fan_in = lin.weight.shape[1]
        lin.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
        bound = 1.0 / math.sqrt(fan_in)
        lin.bias.uniform_(-bound, bound, generator=generator)
    model.layer_norm.weight.fill_(1.0)
    model.layer_norm.bias.fill_(0.0)
    return model


def make_adamw(model, lr=0.001, weight_decay=0.01):
    """AdamW with Candle's defaults (the same update rule as Candle's)."""
    return torch.optim.AdamW(
        model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay
    )
