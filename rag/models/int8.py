"""Dynamic int8 on CPU through ONNX Runtime (``RAG_QUANTIZE=int8``, opt-in).

The transformer (XLM-R backbone of BGE-M3, or the whole sequence-classification model of a
reranker) is exported to ONNX once per checkpoint, its MatMul weights quantized to int8 per output
channel (``onnxruntime.quantization.quantize_dynamic``; activations are quantized per batch at run
time), and the result cached on disk. BGE-M3's heads (dense CLS, ``sparse_linear``,
``colbert_linear``) stay in torch fp32 on the backbone's fp32 hidden states, so the heads and their
post-processing are the same code as the fp32 path.

Why ONNX Runtime and not ``torch.ao.quantization.quantize_dynamic``: torch 2.13 marks the latter
deprecated ("will be removed in 2.10", already overdue) in favour of torchao, so the next torch
upgrade may remove it; ONNX Runtime's int8 kernels are maintained for exactly this use (VNNI on
x86). Speed and fidelity are measured side by side in ``bench/encode.py`` and ``bench/reranker.py``.
The graph is quantized as exported: fusing it first with ``onnxruntime.transformers.optimizer``
(24 Attention, 24 BiasGelu and 48 SkipLayerNormalization nodes for BGE-M3) measured no faster on a
2-core AMD EPYC (590-599 against 579-630 tokens/s on the same 48 passages, interleaved runs): the
int8 MatMuls are the time.

Cache: ``$XDG_CACHE_HOME/bge-contract-rag/int8/<folder name>-<key>/`` (``RAG_INT8_CACHE`` overrides
the root). The key covers the checkpoint's config and weight files (name, size, mtime), the model
kind and the library versions, so new weights or a new onnxruntime build rebuild it. The folder is
built aside and renamed into place, so a killed build leaves no half cache; the side folder it
leaves (over 1 GB for BGE-M3) is removed by the next load once no live build holds its lock
(:mod:`rag.models.user_cache`), and two processes that need the same export build it once. A damaged
cache raises :class:`~rag.models.loading.ModelLoadError` naming the file (delete the folder to rebuild).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
import shutil
import time
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.models.loading import ModelLoadError
from rag.models.user_cache import build_lock, remove_stale_side_folders, side_folder, user_cache_path

#: bump when the export or quantization recipe changes: old caches are then rebuilt, not reused
RECIPE = 1
MODEL_FILE = "model.int8.onnx"
MANIFEST = "manifest.json"
#: weight files whose change must invalidate a cache (whichever the checkpoint has)
_WEIGHT_FILES = ("config.json", "model.safetensors", "model.safetensors.index.json", "pytorch_model.bin")
#: a cache entry's name, as :func:`cache_dir` makes it (only such entries' side folders are ever removed)
ENTRY_NAME = re.compile(r".+-(base|seq-cls)-[0-9a-f]{16}")


def require(module: str) -> Any:
    """Import ``module`` (onnxruntime, onnx), or say which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelLoadError(
            f"int8 quantization (RAG_QUANTIZE=int8) needs the {module} package, which cannot be imported "
            f"({exc}). Install the int8 extra: pip install -e '.[int8]' in the project folder (or pip install "
            f"'onnxruntime>=1.20' 'onnx>=1.16'), or unset RAG_QUANTIZE to run without int8."
        ) from exc


def cache_root() -> Path:
    """Where int8 exports are kept: ``RAG_INT8_CACHE``, else the user's cache dir."""
    return user_cache_path("RAG_INT8_CACHE", "int8")


def cache_dir(folder: Path, kind: str) -> Path:
    """The cache folder of one checkpoint and model kind (``"base"`` or ``"seq-cls"``)."""
    import torch

    onnxruntime = require("onnxruntime")

    parts = [f"recipe {RECIPE}", kind, str(folder.resolve()), f"onnxruntime {onnxruntime.__version__}",
             f"torch {torch.__version__}"]
    for name in _WEIGHT_FILES:
        path = folder / name
        if path.is_file():
            st = path.stat()
            parts.append(f"{name} {st.st_size} {st.st_mtime_ns}")
    key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
    return cache_root() / f"{folder.name}-{kind}-{key}"


@dataclass
class Output:
    """What the torch model would return, for the one field each caller reads."""

    last_hidden_state: Any = None
    logits: Any = None


class OnnxModel:
    """An int8 ONNX Runtime session called like the transformers model it replaces:
    ``model(input_ids=..., attention_mask=...)`` with torch tensors in, torch fp32 tensors out."""

    def __init__(self, session: Any, kind: str, path: Path, *, build_s: float | None, load_s: float) -> None:
        self.session = session
        self.kind = kind
        self.path = path
        #: seconds spent exporting and quantizing at this load (None: read from the cache)
        self.build_s = build_s
        self.load_s = load_s

    def __call__(self, *, input_ids: Any, attention_mask: Any) -> Output:
        import numpy as np
        import torch

        feeds = {"input_ids": input_ids.cpu().numpy().astype(np.int64),
                 "attention_mask": attention_mask.cpu().numpy().astype(np.int64)}
        (out,) = self.session.run(None, feeds)
        tensor = torch.from_numpy(out)
        return Output(last_hidden_state=tensor) if self.kind == "base" else Output(logits=tensor)

    def __repr__(self) -> str:
        return f"OnnxModel({self.path}, kind={self.kind!r})"


def load_int8(folder: Path, kind: str, load_fp32: Callable[[], Any], *, threads: int | None = None) -> OnnxModel:
    """The int8 model of ``folder``: from the cache, else built from ``load_fp32()`` (the fp32
    torch model, loaded only when there is no cache) and cached. Side folders of killed builds
    are removed first; while another process builds the same cache, this one waits for it."""
    target = cache_dir(folder, kind)
    remove_stale_side_folders(target.parent, ENTRY_NAME)
    build_s = None
    if not (target / MANIFEST).is_file():
        require("onnx")  # the export and quantizer need it; reading a cache does not
        start = time.perf_counter()
        with ExitStack() as stack:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(build_lock(target))
            except OSError as exc:
                raise unwritable(target, exc) from exc
            if not (target / MANIFEST).is_file():  # else another process built it while we waited
                build(load_fp32(), kind, target)
                build_s = time.perf_counter() - start
    start = time.perf_counter()
    session = open_session(target, threads=threads)
    return OnnxModel(session, kind, target / MODEL_FILE, build_s=build_s, load_s=time.perf_counter() - start)


def unwritable(target: Path, exc: OSError) -> ModelLoadError:
    """The error for a cache that cannot be written (read-only folder, full disk)."""
    return ModelLoadError(
        f"cannot write the int8 model cache {target} ({type(exc).__name__}: {exc}). The first load of a model "
        f"exports it there (an fp32 copy, then the int8 one): free disk space in {target.parent}, or set "
        f"RAG_INT8_CACHE to a writable folder with room."
    )


def open_session(target: Path, *, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session on a cached model; a damaged cache is an error naming the file."""
    import onnxruntime as ort

    try:
        manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
        expected = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(f"int8 model cache {target / MANIFEST} is unreadable ({exc}); delete {target} "
                             "to rebuild it") from exc
    for name, size in expected.items():
        path = target / name
        actual = path.stat().st_size if path.is_file() else None
        if actual != size:
            raise ModelLoadError(f"int8 model cache file {path} is {'missing' if actual is None else 'damaged'} "
                                 f"(expected {size} bytes, found {actual}); delete {target} to rebuild it")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or _torch_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # passive waiting, as rag/__init__.py sets for OpenMP: threads that spin between ops steal the
    # cores other work needs on a shared CPU (the app's sessions, an ingest)
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(target / MODEL_FILE), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types (InvalidProtobuf, Fail, ...)
        raise ModelLoadError(f"int8 model cache file {target / MODEL_FILE} cannot be loaded by onnxruntime "
                             f"({type(exc).__name__}: {exc}); delete {target} to rebuild it") from exc


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


class _Exported:
    """The traced function: ids and mask in, one tensor out (last hidden state or logits)."""

    def __init__(self, model: Any, kind: str) -> None:
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                out = self.model(input_ids=input_ids, attention_mask=attention_mask)
                return out.last_hidden_state if kind == "base" else out.logits

        self.module = Wrapper().eval()


def build(model: Any, kind: str, target: Path) -> None:
    """Export ``model`` (fp32, eager attention) to ONNX, quantize it to int8 and move it to ``target``.

    Call it holding ``build_lock(target)``: its side folder then counts as live until it is renamed
    into place or removed, and a killed build's folder as stale."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = model.float().eval()
    if hasattr(model, "set_attn_implementation"):
        # eager attention traces to plain ops whatever the example batch looks like (sdpa paths
        # branch on whether the mask has padding, and a trace would freeze that branch)
        model.set_attn_implementation("eager")
    try:
        work = side_folder(target)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    try:
        fp32_path = work / "fp32" / "model.onnx"
        fp32_path.parent.mkdir()
        # an example with padding in one row, so the mask arithmetic is part of the graph
        ids = torch.tensor([[0, 5, 6, 7, 8, 2], [0, 5, 6, 2, 1, 1]], dtype=torch.long)
        mask = (ids != 1).long()
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            # the tracer's notes on shape-derived Python values (all constant for this graph) and on
            # advanced indexing (no negative indices here) are not the user's concern
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Exported(model, kind).module, (ids, mask), str(fp32_path),
                input_names=["input_ids", "attention_mask"], output_names=["output"],
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                              "output": {0: "batch"} if kind != "base" else {0: "batch", 1: "tokens"}},
                opset_version=17, do_constant_folding=True, dynamo=False,
            )
        quantize_dynamic(
            str(fp32_path), str(work / MODEL_FILE), weight_type=QuantType.QInt8, per_channel=True,
            op_types_to_quantize=["MatMul"], use_external_data_format=True,
            extra_options={"MatMulConstBOnly": True},
        )
        shutil.rmtree(fp32_path.parent)
        files = {p.name: p.stat().st_size for p in sorted(work.iterdir()) if p.is_file()}
        if MODEL_FILE not in files:
            raise ModelLoadError(f"quantization wrote no {MODEL_FILE} in {work}")
        manifest = {"recipe": RECIPE, "kind": kind, "files": files,
                    "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if (target / MANIFEST).is_file():
            return  # another process finished the same build meanwhile (no locking here): keep its copy
        if target.exists():  # a broken leftover (no manifest): replace it
            shutil.rmtree(target)
        os.replace(work, target)
    except OSError as exc:  # a full disk, a folder made read-only meanwhile
        raise unwritable(target, exc) from exc
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
