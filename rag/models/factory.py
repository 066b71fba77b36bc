"""Build encoders and rerankers: resolve files, pick the family, device and dtype, load weights."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from rag.models.batching import default_tokens_per_batch
from rag.models.loading import (
    ModelLoadError,
    check_max_length,
    load_tokenizer,
    load_weights,
    max_positions,
    read_json,
    resolve_device,
    resolve_dtype,
    resolve_model_dir,
)

FAMILIES = ("bge-m3", "bge-v1", "sentence-transformers")


def check_quantize(quantize: str | None, device: str, dtype: str | None) -> str | None:
    """``"int8"`` (ONNX Runtime dynamic int8, :mod:`rag.models.int8`) or ``None``; checked before loading."""
    mode = (quantize or "none").strip().lower()
    if mode not in {"none", "int8"}:
        raise ValueError(f"quantize must be 'none' or 'int8', got {quantize!r}")
    if mode == "none":
        return None
    if device != "cpu":
        raise ValueError(f"int8 quantization (RAG_QUANTIZE=int8) runs on CPU only (ONNX Runtime's CPU kernels), but "
                         f"the models would run on {device!r}: on a GPU unset RAG_QUANTIZE (bf16/fp16 is the fast "
                         f"path there), or set RAG_DEVICE=cpu to run int8 on the CPU")
    if dtype not in (None, "float32"):
        raise ValueError(f"int8 quantization (quantize='int8') runs the parts it does not quantize in float32, so "
                         f"dtype={dtype!r} cannot be combined with it: pass dtype=None, or quantize=None for {dtype}")
    return mode


def load_config(folder: Path) -> Any:
    """The folder's transformers config (without loading the weights)."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(str(folder))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read the model config in {folder}: {exc}") from exc


_BGE_V1_NAME = re.compile(r"bge-(small|base|large)-(en|zh)(-v1\.5)?($|[^a-z0-9])")


def detect_family(name: str, folder: Path) -> str:
    """BGE-M3 when a head file is present or the name says bge-m3; sentence-transformers when
    ``modules.json`` exists; otherwise BGE v1 (CLS pooling).

    One refinement: the Hub's BGE v1 repos (``bge-large-en-v1.5`` ...) also ship ``modules.json``
    (CLS + Normalize, the same maths), and are kept in the BGE v1 family by name so that queries
    get their instruction.
    """
    names = f"{name} {folder.name}".lower()
    if (folder / "colbert_linear.pt").is_file() or (folder / "sparse_linear.pt").is_file() or "bge-m3" in names:
        return "bge-m3"
    if (folder / "modules.json").is_file() and not _BGE_V1_NAME.search(names):
        return "sentence-transformers"
    return "bge-v1"


def build_encoder(
    name_or_path: str | os.PathLike[str],
    *,
    device: str = "auto",
    dtype: str | None = None,
    max_length: int | None = None,
    family: str | None = None,
    tokens_per_batch: int | None = None,
    quantize: str | None = None,
) -> Any:
    from transformers import AutoModel

    name = os.fspath(name_or_path)
    folder = resolve_model_dir(name, env_var="RAG_EMBED_MODEL")
    if family is None:
        family = detect_family(name, folder)
    elif family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    device = resolve_device(device)
    quant = check_quantize(quantize, device, dtype)
    dtype = "int8" if quant else resolve_dtype(dtype, device)

    st = None
    weights_folder = folder
    if family == "sentence-transformers":
        from rag.models.dense import read_sentence_transformers

        st = read_sentence_transformers(folder)
        weights_folder = st.transformer_folder
    if quant:
        from rag.models.int8 import load_int8

        config = load_config(weights_folder)
        model = load_int8(weights_folder, "base",
                          lambda: load_weights(AutoModel, weights_folder, device="cpu", weight_dtype="float32"))
    else:
        model = load_weights(AutoModel, weights_folder, device=device, weight_dtype=dtype)
        config = model.config
    tokenizer = load_tokenizer(weights_folder)
    limit = max_positions(config)
    if st is not None and st.max_seq_length:
        limit = min(limit, int(st.max_seq_length))
    common: dict[str, Any] = {
        "name": name,
        "folder": folder,
        "model": model,
        "tokenizer": tokenizer,
        "device": device,
        "dtype": dtype,
        "max_length": check_max_length(max_length, limit, folder),
        "tokens_per_batch": tokens_per_batch or default_tokens_per_batch(device, config.hidden_size),
    }
    if family == "bge-m3":
        from rag.models.bge_m3 import COLBERT_FILE, SPARSE_FILE, M3Encoder, load_linear

        heads = {
            f: load_linear(folder / f, device) if (folder / f).is_file() else None for f in (SPARSE_FILE, COLBERT_FILE)
        }
        return M3Encoder(
            sparse_linear=heads[SPARSE_FILE], colbert_linear=heads[COLBERT_FILE], dim=config.hidden_size, **common
        )
    from rag.models.dense import DenseEncoder, bge_v1_query_instruction

    if family == "sentence-transformers":
        return DenseEncoder(
            family=family,
            pooling=st.pooling,
            normalize=st.normalize,
            lowercase=st.lowercase,
            dim=int(st.dim or config.hidden_size),
            query_instruction=st.query_prompt,
            **common,
        )
    return DenseEncoder(
        family=family,
        pooling="cls",
        normalize=True,
        dim=config.hidden_size,
        query_instruction=bge_v1_query_instruction(name),
        **common,
    )


def build_reranker(
    name_or_path: str | os.PathLike[str],
    *,
    device: str = "auto",
    dtype: str | None = None,
    max_length: int = 512,
    query_max_length: int | None = None,
    passage_max_length: int | None = None,
    tokens_per_batch: int | None = None,
    quantize: str | None = None,
) -> Any:
    from transformers import AutoModelForSequenceClassification

    from rag.models.reranker import Reranker

    name = os.fspath(name_or_path)
    folder = resolve_model_dir(name, env_var="RAG_RERANK_MODEL")
    architectures = read_json(folder / "config.json").get("architectures") or []
    if not any(str(a).endswith("ForSequenceClassification") for a in architectures):
        # transformers would load it anyway, with a randomly initialised classifier head.
        raise ModelLoadError(
            f"{folder / 'config.json'} declares architectures {architectures}; a reranker needs a "
            f"*ForSequenceClassification checkpoint (e.g. BAAI/bge-reranker-v2-m3)"
        )
    device = resolve_device(device)
    quant = check_quantize(quantize, device, dtype)
    dtype = "int8" if quant else resolve_dtype(dtype, device)
    config = load_config(folder)
    if int(getattr(config, "num_labels", 1)) != 1:
        raise ModelLoadError(f"{folder} is a classifier with {config.num_labels} labels; a reranker has 1")
    if quant:
        from rag.models.int8 import load_int8

        model = load_int8(folder, "seq-cls", lambda: load_weights(
            AutoModelForSequenceClassification, folder, device="cpu", weight_dtype="float32"))
    else:
        model = load_weights(AutoModelForSequenceClassification, folder, device=device, weight_dtype=dtype)
    return Reranker(
        name=name,
        folder=folder,
        model=model,
        tokenizer=load_tokenizer(folder),
        device=device,
        dtype=dtype,
        max_length=check_max_length(max_length, max_positions(config), folder),
        query_max_length=query_max_length,
        passage_max_length=passage_max_length,
        tokens_per_batch=tokens_per_batch or default_tokens_per_batch(device, config.hidden_size),
    )
