"""The EVA02-CLIP vision tower that Visualized BGE puts in front of its BGE text encoder.

Written for this project in plain torch. timm 1.0 has EVA02 towers, but it imports torchvision at
import time, and PyPI's torchvision wheels are CUDA builds that fail to import next to the CPU
torch this project installs (``operator torchvision::nms does not exist``; transformers' model
classes then fail to import in the same process). open_clip builds its EVA towers through timm.

The layout is EVA02-CLIP's as Visualized BGE ships it (``model_visual.visual.*`` in the ``.pth``):
a patch convolution, a CLS token and an absolute position table; pre-norm blocks whose attention
has separate q/k/v projections (biases on q and v only), 2-D rotary embeddings on the patch
tokens (the CLS token is left as is) and a LayerNorm before the output projection ("sub-LN");
a SwiGLU MLP with a LayerNorm before its output projection. Visualized BGE reads every token of
the last block *before* the tower's final norm, so the final norm and the CLIP head are not built.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: EVA02-CLIP towers use 64-wide heads; the rotary tables in a checkpoint confirm the head width.
LN_EPS = 1e-6
ROPE_THETA = 10000.0
#: Grid side the rotary frequencies were pre-trained at (224 / 14); other grids interpolate to it.
ROPE_PT_GRID = 16


@dataclass(frozen=True)
class EvaConfig:
    """The shape of an EVA02 vision tower (everything the maths depends on)."""

    image_size: int
    patch_size: int
    width: int
    depth: int
    heads: int
    mlp_hidden: int

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid * self.grid

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @classmethod
    def from_state_dict(cls, state: Mapping[str, Any], prefix: str = "") -> EvaConfig:
        """Read the shape off a checkpoint's tensors; raises KeyError/ValueError naming what is off."""
        conv = state[prefix + "patch_embed.proj.weight"]  # [width, 3, patch, patch]
        width, channels, patch, patch_w = conv.shape
        if channels != 3 or patch != patch_w:
            raise ValueError(f"{prefix}patch_embed.proj.weight has shape {tuple(conv.shape)}; expected [width, 3, p, p]")
        tokens = state[prefix + "pos_embed"].shape[1]
        grid = math.isqrt(tokens - 1)
        if grid * grid != tokens - 1:
            raise ValueError(f"{prefix}pos_embed has {tokens} rows; expected 1 + a square number of patches")
        depth = 0
        while prefix + f"blocks.{depth}.norm1.weight" in state:
            depth += 1
        if depth == 0:
            raise KeyError(prefix + "blocks.0.norm1.weight")
        rope = state[prefix + "rope.freqs_cos"]  # [grid * grid, head_dim]
        head_dim = int(rope.shape[-1])
        if rope.shape[0] != grid * grid or width % head_dim:
            raise ValueError(f"{prefix}rope.freqs_cos has shape {tuple(rope.shape)}; does not fit width {width}, grid {grid}")
        mlp_hidden = int(state[prefix + "blocks.0.mlp.w1.weight"].shape[0])
        return cls(grid * patch, patch, int(width), depth, int(width) // head_dim, mlp_hidden)


def rope_tables(head_dim: int, grid: int, pt_grid: int = ROPE_PT_GRID) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cos, sin)`` of EVA02's 2-D rotary embedding, ``[grid * grid, head_dim]`` each.

    Half of each head rotates with the patch's row, half with its column; each frequency covers an
    adjacent pair of channels. Positions are scaled to the pre-training grid (``pt_grid``).
    """
    half = head_dim // 2
    freqs = 1.0 / (ROPE_THETA ** (torch.arange(0, half, 2)[: half // 2].float() / half))
    t = torch.arange(grid) / grid * pt_grid
    f = torch.einsum("i,f->if", t, freqs).repeat_interleave(2, dim=-1)  # [grid, half]
    rows = f[:, None, :].expand(grid, grid, half)
    cols = f[None, :, :].expand(grid, grid, half)
    both = torch.cat((rows, cols), dim=-1).reshape(grid * grid, head_dim)
    return both.cos(), both.sin()


def _rotate_pairs(x: torch.Tensor) -> torch.Tensor:
    """(a, b) -> (-b, a) on each adjacent channel pair."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)


class _Rope(nn.Module):
    def __init__(self, cfg: EvaConfig) -> None:
        super().__init__()
        cos, sin = rope_tables(cfg.head_dim, cfg.grid)
        self.register_buffer("freqs_cos", cos)
        self.register_buffer("freqs_sin", sin)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate all tokens but the first (CLS) of ``x`` ``[B, heads, 1 + patches, head_dim]``."""
        cos, sin = self.freqs_cos.to(x.dtype), self.freqs_sin.to(x.dtype)
        body = x[:, :, 1:]
        return torch.cat((x[:, :, :1], body * cos + _rotate_pairs(body) * sin), dim=2)


class _Attention(nn.Module):
    def __init__(self, cfg: EvaConfig) -> None:
        super().__init__()
        w = cfg.width
        self.heads = cfg.heads
        self.scale = cfg.head_dim**-0.5
        self.q_proj = nn.Linear(w, w, bias=False)
        self.k_proj = nn.Linear(w, w, bias=False)
        self.v_proj = nn.Linear(w, w, bias=False)
        self.q_bias = nn.Parameter(torch.zeros(w))
        self.v_bias = nn.Parameter(torch.zeros(w))
        self.inner_attn_ln = nn.LayerNorm(w, eps=LN_EPS)
        self.proj = nn.Linear(w, w)

    def forward(self, x: torch.Tensor, rope: _Rope) -> torch.Tensor:
        b, n, _ = x.shape

        def heads(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b, n, self.heads, -1).transpose(1, 2)

        q = heads(F.linear(x, self.q_proj.weight, self.q_bias))
        k = heads(F.linear(x, self.k_proj.weight))
        v = heads(F.linear(x, self.v_proj.weight, self.v_bias))
        out = F.scaled_dot_product_attention(rope(q), rope(k), v, scale=self.scale)
        return self.proj(self.inner_attn_ln(out.transpose(1, 2).reshape(b, n, -1)))


class _SwiGLU(nn.Module):
    def __init__(self, cfg: EvaConfig) -> None:
        super().__init__()
        self.w1 = nn.Linear(cfg.width, cfg.mlp_hidden)
        self.w2 = nn.Linear(cfg.width, cfg.mlp_hidden)
        self.ffn_ln = nn.LayerNorm(cfg.mlp_hidden, eps=LN_EPS)
        self.w3 = nn.Linear(cfg.mlp_hidden, cfg.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w3(self.ffn_ln(F.silu(self.w1(x)) * self.w2(x)))


class _Block(nn.Module):
    def __init__(self, cfg: EvaConfig) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.width, eps=LN_EPS)
        self.attn = _Attention(cfg)
        self.norm2 = nn.LayerNorm(cfg.width, eps=LN_EPS)
        self.mlp = _SwiGLU(cfg)

    def forward(self, x: torch.Tensor, rope: _Rope) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), rope)
        return x + self.mlp(self.norm2(x))


class _PatchEmbed(nn.Module):
    def __init__(self, cfg: EvaConfig) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, cfg.width, kernel_size=cfg.patch_size, stride=cfg.patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class EvaVisionTower(nn.Module):
    """EVA02 vision transformer returning all tokens of its last block, ``[B, 1 + patches, width]``."""

    def __init__(self, cfg: EvaConfig) -> None:
        super().__init__()
        self.config = cfg
        self.patch_embed = _PatchEmbed(cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.width))
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_patches + 1, cfg.width))
        self.rope = _Rope(cfg)
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.depth))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        size = self.config.image_size
        if pixels.shape[-2:] != (size, size):
            raise ValueError(f"images must be {size}x{size} pixels after preprocessing, got {tuple(pixels.shape[-2:])}")
        x = self.patch_embed(pixels)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x, self.rope)
        return x
