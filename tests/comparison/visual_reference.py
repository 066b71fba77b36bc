"""Run the reference Visualized BGE (FlagEmbedding research/visual_bge) on a checkpoint; write .npz.

Run in its own process (``python visual_reference.py CHECKPOINT_DIR INPUTS.json OUT.npz``) because the
reference needs torchvision and timm, and PyPI's torchvision is a CUDA build: next to a CPU torch
its C++ ops fail to load and ``import torchvision`` raises, which also breaks transformers' model
imports in that process. Shims, all here and none in the reference's files:

* the two torchvision operators that torchvision registers fake kernels for at import are
  declared (schemas only) when its C++ library cannot load; the reference uses none of its ops,
  only PIL-based transforms;
* transformers 5's embeddings take no ``past_key_values_length``: the keyword is dropped;
* for the tiny checkpoint, the EVA02-CLIP-L-14 entry of the reference's config registry is replaced
  in memory by the tiny tower's config, and ``hidden_dim``/``depth`` (hard-coded to bge-m3's) are
  set to the tiny text model's before the weights are loaded (strictly, by the reference).

Extra packages may come from ``RAG_VISUAL_REF_SITE`` (a ``pip install --target`` folder holding
torchvision, timm, einops, ftfy). Exit code 3 means the reference cannot be imported here.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

MISSING = 3


def _prepare_imports(reference_dir: Path) -> None:
    site = os.environ.get("RAG_VISUAL_REF_SITE")
    if site:
        sys.path.insert(0, site)
    if importlib.util.find_spec("visual_bge") is None:
        sys.path.insert(0, str(reference_dir))
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        raise ImportError("torchvision is not installed")
    try:
        torch.ops.load_library(str(Path(spec.origin).parent / "_C.so"))
    except (OSError, RuntimeError):
        lib = torch.library.Library("torchvision", "DEF")  # kept alive in the module below
        for op in ("nms", "qnms"):
            lib.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        globals()["_TORCHVISION_SHIM"] = lib


def _drop_past_length(embeddings: object) -> None:
    forward = embeddings.forward

    def call(*args: object, past_key_values_length: int = 0, **kwargs: object) -> object:
        return forward(*args, **kwargs)

    embeddings.forward = call


def load_reference(checkpoint_dir: Path, tiny: bool) -> object:
    import torch
    from visual_bge import modeling
    from visual_bge.eva_clip import factory

    if tiny:
        factory._MODEL_CONFIGS["EVA02-CLIP-L-14"] = json.loads((checkpoint_dir / "eva_clip_config.json").read_text())

    class Reference(modeling.Visualized_BGE):
        def load_model(self, model_weight: str) -> None:
            self._weights_path = model_weight  # loaded below, once the tiny shapes are set

    text_dir = checkpoint_dir / "bge-m3"
    model = Reference(model_name_bge="BAAI/bge-m3", model_weight=str(checkpoint_dir / "Visualized_m3.pth"),
                      from_pretrained=str(text_dir))
    model.fresh_rope = (model.model_visual.visual.rope.freqs_cos.clone(), model.model_visual.visual.rope.freqs_sin.clone())
    if tiny:
        hidden = model.bge_embeddings.word_embeddings.embedding_dim
        model.hidden_dim = hidden
        model.depth = len(model.bge_encoder.layer)
        model.visual_proj = torch.nn.Linear(hidden, hidden)
    modeling.Visualized_BGE.load_model(model, model._weights_path)  # strict load_state_dict
    _drop_past_length(model.bge_embeddings)
    return model.eval()


def main(argv: list[str]) -> int:
    checkpoint_dir, inputs_file, out_file = (Path(a) for a in argv[1:4])
    inputs = json.loads(inputs_file.read_text())
    try:
        _prepare_imports(Path(inputs["reference_dir"]))
        import numpy as np
        import torch
        from PIL import Image

        import visual_bge.modeling  # noqa: F401
    except ImportError as exc:
        print(f"reference not importable: {exc}", file=sys.stderr)
        return MISSING
    torch.manual_seed(0)
    model = load_reference(checkpoint_dir, inputs["tiny"])
    out: dict[str, object] = {}
    with torch.no_grad():
        out["text"] = np.concatenate([model.encode(text=t).numpy() for t in inputs["texts"]])
        batch = model.tokenizer(inputs["texts"], return_tensors="pt", padding=True)
        out["text_batched"] = model.encode_text(batch).numpy()
        out["image"] = np.concatenate([model.encode(image=p).numpy() for p in inputs["images"]])
        out["composed"] = np.concatenate(
            [model.encode(image=p, text=t).numpy() for p, t in zip(inputs["images"], inputs["captions"], strict=True)]
        )
        out["pixels"] = np.stack([model.preprocess_val(Image.open(p)).numpy() for p in inputs["images"]])
    out["rope_cos"], out["rope_sin"] = (t.numpy() for t in model.fresh_rope)
    np.savez(out_file, **out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
