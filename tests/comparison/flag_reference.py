"""Import FlagEmbedding's reference M3Embedder and BaseReranker without its package ``__init__``.

FlagEmbedding 1.4.2's top-level ``__init__`` imports every model family and fails under
transformers 5; the two classes we compare against import and run fine. Registering the parent
packages as empty modules (with the real ``__path__``) lets Python import just those submodules.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_PARENTS = (
    "FlagEmbedding",
    "FlagEmbedding.inference",
    "FlagEmbedding.inference.embedder",
    "FlagEmbedding.inference.embedder.encoder_only",
    "FlagEmbedding.inference.reranker",
    "FlagEmbedding.inference.reranker.encoder_only",
    "FlagEmbedding.finetune",
    "FlagEmbedding.finetune.embedder",
    "FlagEmbedding.finetune.embedder.encoder_only",
)


def _register_parents() -> None:
    spec = importlib.util.find_spec("FlagEmbedding")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("FlagEmbedding is not installed")
    root = next(iter(spec.submodule_search_locations))
    for name in _PARENTS:
        if name in sys.modules:
            continue
        module = types.ModuleType(name)
        module.__path__ = [root + "/" + "/".join(name.split(".")[1:])] if "." in name else [root]
        module.__package__ = name
        sys.modules[name] = module


def load_flag_classes() -> tuple[Any, Any]:
    """``(M3Embedder, BaseReranker)`` from FlagEmbedding; raises ImportError when unavailable."""
    _register_parents()
    m3 = importlib.import_module("FlagEmbedding.inference.embedder.encoder_only.m3")
    rr = importlib.import_module("FlagEmbedding.inference.reranker.encoder_only.base")
    return m3.M3Embedder, rr.BaseReranker
