"""Model layer: BGE encoders (BGE-M3, BGE v1, sentence-transformers folders) and cross-encoder rerankers.

    from rag.models import load_encoder, load_reranker
    enc = load_encoder("BAAI/bge-m3")                     # or a local folder
    out = enc.encode(texts, dense=True, sparse=True, colbert=False)
    rr = load_reranker("BAAI/bge-reranker-v2-m3")
    rr.score([(query, passage)], normalize=False)
    vis = load_visual_encoder("BAAI/bge-visualized-m3")  # or a .pth file / a folder holding one
    vis.encode_text(texts); vis.encode_images(images); vis.encode_composed(images, texts)

Importing this package does not import torch or transformers (CLIs start fast); loading does.
Scores over the outputs are plain numpy in :mod:`rag.models.scoring`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from rag.models.loading import ModelLoadError

if TYPE_CHECKING:
    from rag.models.encoder import Encoded, Encoder
    from rag.models.reranker import Reranker

DEFAULT_ENCODER = "BAAI/bge-m3"
DEFAULT_RERANKER = "BAAI/bge-reranker-v2-m3"

__all__ = [
    "DEFAULT_ENCODER",
    "DEFAULT_RERANKER",
    "Encoded",
    "Encoder",
    "ModelLoadError",
    "Reranker",
    "load_encoder",
    "load_reranker",
    "load_visual_encoder",
]


def load_encoder(
    name_or_path: str | os.PathLike[str] = DEFAULT_ENCODER,
    *,
    device: str = "auto",
    dtype: str | None = None,
    max_length: int | None = None,
    family: str | None = None,
    tokens_per_batch: int | None = None,
    quantize: str | None = None,
) -> Encoder:
    """Load an encoder from a Hub id or a local folder.

    ``family``: ``"bge-m3"`` | ``"bge-v1"`` | ``"sentence-transformers"``; detected when None
    (head files or "bge-m3" in the name → BGE-M3; ``modules.json`` → sentence-transformers; else BGE v1).
    ``device``: ``"auto"`` (cuda if available, else cpu), ``"cpu"``, ``"cuda[:N]"``.
    ``dtype``: ``"float32"`` | ``"bfloat16"`` | ``"float16"``; None picks bf16 on CUDA (fp16 where bf16 is
    unsupported), bf16 on CPUs with AVX512_BF16 or AMX, else float32 (rule and reasons:
    :func:`rag.models.loading.resolve_dtype`). Pass ``"float32"`` to opt out; outputs are always float32.
    ``max_length``: tokens per text, default and maximum the model's limit (8192 for BGE-M3).
    ``tokens_per_batch``: padded tokens per forward pass (default on CPU 512 for models 1,024 wide or
    more, such as BGE-M3, else 4096; 32768 on CUDA: :func:`rag.models.batching.default_tokens_per_batch`).
    ``quantize``: ``"int8"`` runs the transformer through ONNX Runtime with int8 weights (CPU only,
    exported and cached on first use, :mod:`rag.models.int8`); ``dtype`` then reads ``"int8"``.
    Raises :class:`ModelLoadError` when files are missing or the Hub cannot be reached.
    """
    from rag.models.factory import build_encoder

    return build_encoder(
        name_or_path,
        device=device,
        dtype=dtype,
        max_length=max_length,
        family=family,
        tokens_per_batch=tokens_per_batch,
        quantize=quantize,
    )


def load_reranker(
    name_or_path: str | os.PathLike[str] = DEFAULT_RERANKER,
    *,
    device: str = "auto",
    dtype: str | None = None,
    max_length: int = 512,
    query_max_length: int | None = None,
    passage_max_length: int | None = None,
    tokens_per_batch: int | None = None,
    quantize: str | None = None,
) -> Reranker:
    """Load a cross-encoder reranker (one logit per pair) from a Hub id or a local folder.

    Same ``device`` / ``dtype`` rules as :func:`load_encoder`. ``max_length`` caps each pair (512 as
    FlagEmbedding), ``query_max_length`` the query (default 3/4 of ``max_length``),
    ``passage_max_length`` the passage. ``quantize="int8"`` as in :func:`load_encoder`.
    """
    from rag.models.factory import build_reranker

    return build_reranker(
        name_or_path,
        device=device,
        dtype=dtype,
        max_length=max_length,
        query_max_length=query_max_length,
        passage_max_length=passage_max_length,
        tokens_per_batch=tokens_per_batch,
        quantize=quantize,
    )


def load_visual_encoder(
    weights: str | os.PathLike[str] = "BAAI/bge-visualized-m3",
    *,
    device: str = "auto",
    dtype: str | None = None,
    text_model: str | os.PathLike[str] | None = None,
) -> Any:
    """Load Visualized BGE (text, image and image+text embeddings in one space) from a ``.pth``
    checkpoint, a folder holding one, or a Hub id; strict: missing or foreign weights raise
    :class:`ModelLoadError` naming them (see :mod:`rag.models.visual_loading`)."""
    from rag.models.visual_loading import load_visual_encoder as load

    return load(weights, text_model=text_model, device=device, dtype=dtype)


def __getattr__(name: str) -> object:
    """Lazy access to the classes, so ``from rag.models import Encoded`` works without eager torch imports."""
    if name in ("Encoded", "Encoder"):
        from rag.models import encoder

        return getattr(encoder, name)
    if name == "Reranker":
        from rag.models.reranker import Reranker

        return Reranker
    raise AttributeError(f"module 'rag.models' has no attribute {name!r}")
