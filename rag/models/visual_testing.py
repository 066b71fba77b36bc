"""Seeded Visualized BGE checkpoints in the published file layout, for tests and benchmarks.

No Visualized BGE weights can be downloaded here, so the loading code, the maths (parity with
the reference) and the speed are exercised on files shaped like ``Visualized_m3.pth``: one
``torch.save``d state dict with the reference's key names (``bge_embeddings.*``, ``bge_encoder.*``,
``bge_pooler.*``, ``model_visual.visual.*`` with each block's copy of the rotary table,
``model_visual.logit_scale``, ``visual_proj.*``), next to a ``bge-m3/`` text-model folder that holds
only a config and a tokenizer (the published text folder also has weights; neither side reads them).

    python -m rag.models.visual_testing tiny DIR   # EVA tower 56 px / 2 blocks / width 64 + tiny XLM-R: tests
    python -m rag.models.visual_testing full DIR   # bge-visualized-m3's shape (bge-m3 + EVA02-CLIP-L-14), ~3.5 GB

The text tokenizer is the small trained one of :mod:`rag.models.testing`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rag.models.eva_clip import ROPE_PT_GRID, EvaConfig

WEIGHTS_FILE = "Visualized_m3.pth"
TEXT_DIR = "bge-m3"

TINY_TOWER = EvaConfig(image_size=56, patch_size=14, width=64, depth=2, heads=2, mlp_hidden=int(64 * 2.6667))
#: EVA02-CLIP-L-14 as bge-visualized-m3 uses it (head width 64, mlp_ratio 2.6667, CLIP head to 768).
FULL_TOWER = EvaConfig(image_size=224, patch_size=14, width=1024, depth=24, heads=16, mlp_hidden=int(1024 * 2.6667))
CLIP_EMBED_DIM = {"tiny": 32, "full": 768}


def eva_clip_json(cfg: EvaConfig, embed_dim: int) -> dict[str, Any]:
    """The tower in EVA-CLIP's model-config format (as the reference's ``model_configs/*.json``)."""
    return {
        "embed_dim": embed_dim,
        "vision_cfg": {
            "image_size": cfg.image_size, "layers": cfg.depth, "width": cfg.width, "drop_path_rate": 0,
            "head_width": cfg.head_dim, "mlp_ratio": 2.6667, "patch_size": cfg.patch_size,
            "eva_model_name": "eva-clip-l-14", "xattn": True, "fusedLN": True, "rope": True,
            "pt_hw_seq_len": ROPE_PT_GRID, "intp_freq": True, "naiveswiglu": True, "subln": True,
        },
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 768, "heads": 12, "layers": 12},
    }


def _tower_state(cfg: EvaConfig, embed_dim: int, gen: Any) -> dict[str, Any]:
    """A random tower in the reference's key layout (final norm, CLIP head and rope copies included)."""
    import torch

    from rag.models.eva_clip import EvaVisionTower

    tower = EvaVisionTower(cfg)
    with torch.no_grad():
        for name, p in tower.named_parameters():
            if name.endswith(("norm1.weight", "norm2.weight", "ln.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".weight") and p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
            else:  # biases, LayerNorm shifts, cls token, position table
                p.copy_(0.05 * torch.randn(p.shape, generator=gen))
    state = {f"model_visual.visual.{k}": v for k, v in tower.state_dict().items()}
    for i in range(cfg.depth):
        for buf in ("freqs_cos", "freqs_sin"):
            state[f"model_visual.visual.blocks.{i}.attn.rope.{buf}"] = tower.rope.state_dict()[buf].clone()
    w = cfg.width
    state["model_visual.visual.norm.weight"] = 1 + 0.1 * torch.randn(w, generator=gen)
    state["model_visual.visual.norm.bias"] = 0.05 * torch.randn(w, generator=gen)
    state["model_visual.visual.head.weight"] = torch.randn(embed_dim, w, generator=gen) / w**0.5
    state["model_visual.visual.head.bias"] = torch.zeros(embed_dim)
    state["model_visual.logit_scale"] = torch.tensor(4.6052)
    return state


def build(directory: Path, kind: str, seed: int = 0) -> Path:
    """Write ``DIR/Visualized_m3.pth``, ``DIR/bge-m3/`` and ``DIR/eva_clip_config.json``; returns DIR."""
    import torch
    from transformers import XLMRobertaModel

    from rag.models.testing import FULL_M3_SHAPE, TINY_SHAPE, _xlmr_config, save_tokenizer

    if kind not in CLIP_EMBED_DIM:
        raise ValueError(f"kind must be one of {sorted(CLIP_EMBED_DIM)}, got {kind!r}")
    directory = Path(directory)
    text_dir = directory / TEXT_DIR
    n_tokens = save_tokenizer(text_dir)
    tower_cfg = TINY_TOWER if kind == "tiny" else FULL_TOWER
    shape = TINY_SHAPE if kind == "tiny" else FULL_M3_SHAPE
    config = _xlmr_config(n_tokens if kind == "tiny" else 250002, **shape)
    config.save_pretrained(str(text_dir))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed + 1)
        text = XLMRobertaModel(config).eval()
        state = {}
        for key, value in text.state_dict().items():
            head, _, rest = key.partition(".")
            state[{"embeddings": "bge_embeddings", "encoder": "bge_encoder", "pooler": "bge_pooler"}[head] + "." + rest] = value
        del text
        state.update(_tower_state(tower_cfg, CLIP_EMBED_DIM[kind], gen))
        proj = torch.nn.Linear(tower_cfg.width, config.hidden_size)
        state["visual_proj.weight"] = proj.weight.detach()
        state["visual_proj.bias"] = proj.bias.detach()
    torch.save(state, directory / WEIGHTS_FILE)
    (directory / "eva_clip_config.json").write_text(json.dumps(eva_clip_json(tower_cfg, CLIP_EMBED_DIM[kind]), indent=2))
    return directory


def build_tiny(directory: Path, seed: int = 0) -> Path:
    """Tiny checkpoint (about 2 MB, a second to build)."""
    return build(directory, "tiny", seed)


def build_full(directory: Path, seed: int = 0) -> Path:
    """bge-visualized-m3's real shape with random weights (about 3.5 GB on disk, a minute or two)."""
    return build(directory, "full", seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.models.visual_testing", description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=sorted(CLIP_EMBED_DIM))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = build(args.dir, args.kind, seed=args.seed)
    print(f"{args.kind} Visualized BGE checkpoint written to {out / WEIGHTS_FILE} (text model folder {out / TEXT_DIR})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
