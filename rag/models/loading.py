"""Where model files come from (local folder or Hub id), which device and dtype run them.

Every failure to find or read model files becomes a :class:`ModelLoadError` whose message names the
path or id at fault and says how to point at a local folder instead, because on an offline machine
"LocalEntryNotFoundError" alone does not tell a user what to do.
"""

from __future__ import annotations

import contextvars
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Files never needed for PyTorch inference; BAAI repos ship large ONNX/Flax/TF copies.
HUB_IGNORE = ["*.onnx", "*.onnx_data", "onnx/*", "flax_model.msgpack", "rust_model.ot", "tf_model.h5", "*.h5", "imgs/*"]
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")
DTYPES = ("float32", "bfloat16", "float16")


class ModelLoadError(RuntimeError):
    """A model could not be found or read; the message names the file, folder or Hub id."""


def _how_to_fix(name: str, env_var: str) -> str:
    return (
        f"Point at a local folder instead: set {env_var}=/path/to/folder, or pre-download it with "
        f"`huggingface-cli download {name} --local-dir /path/to/folder` on a machine with internet access."
    )


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else that does not exist is a missing folder."""
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1 or not _HUB_ID.match(name)


@dataclass(frozen=True)
class DownloadProgress:
    """One progress report of a Hub download: which bar (``what``), ``done`` of ``total`` ``unit``."""

    model: str
    what: str
    unit: str
    done: float
    total: float | None
    rate: float | None  # units per second, as huggingface_hub's own bar measures it
    elapsed_s: float

    @property
    def eta_s(self) -> float | None:
        """Seconds left at the current rate (``None`` until there is a rate and a total)."""
        if not self.rate or not self.total or self.total <= self.done:
            return None
        return (self.total - self.done) / self.rate


ProgressCallback = Callable[[DownloadProgress], None]
#: where the download in progress reports (set by resolve_model_dir for its own call only)
_PROGRESS: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("download_progress",
                                                                                     default=None)


def progress_tqdm(model: str, callback: ProgressCallback) -> type:
    """A ``tqdm`` class for ``snapshot_download(tqdm_class=...)`` that also reports to ``callback``.

    Why: huggingface_hub's bars go to the terminal only; a UI needs the numbers (size, ETA). The
    terminal bar is kept as it was: where it is turned off (``disable=True``, ``TQDM_DISABLE``) the
    bar still counts, into a sink, since a disabled tqdm counts nothing and the UI would see no bytes.
    """
    import io

    from tqdm.auto import tqdm

    probe = tqdm(total=0, file=io.StringIO())  # are bars off by default here (TQDM_DISABLE, read at import)?
    off_by_default = bool(probe.disable)
    probe.close()

    class _Reporting(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            if kwargs.get("disable") or (off_by_default and "disable" not in kwargs):
                kwargs.update(disable=False, file=io.StringIO())
            super().__init__(*args, **kwargs)

        def _report(self) -> None:
            fmt = self.format_dict
            try:
                callback(DownloadProgress(model, str(self.desc or ""), str(fmt.get("unit") or "it"),
                                          float(self.n), float(self.total) if self.total else None,
                                          fmt.get("rate"), float(fmt.get("elapsed") or 0.0)))
            except Exception:  # a display problem must never break the download
                pass

        def update(self, n: float | None = 1) -> bool | None:
            out = super().update(n)
            self._report()
            return out

        def refresh(self, *args: Any, **kwargs: Any) -> None:
            super().refresh(*args, **kwargs)
            self._report()

    return _Reporting


def is_hub_cached(repo_id: str) -> bool:
    """True when a snapshot of ``repo_id`` is in the local Hugging Face cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except (ValueError, OSError):  # not a valid repo id, unreadable cache
        return False


def is_hub_id(name: str) -> bool:
    """A Hub id (not a local folder, existing or not)."""
    return not Path(name).expanduser().exists() and not _looks_like_path(name)


def resolve_model_dir(
    name_or_path: str | os.PathLike[str],
    *,
    env_var: str = "RAG_EMBED_MODEL",
    progress: ProgressCallback | None = None,
) -> Path:
    """Return a local folder holding the model: the path itself, or a Hub snapshot (download or cache).

    ``env_var`` is only used in error messages (which variable the user should set); ``progress``
    receives the download's progress when the Hub is used.
    """
    name = os.fspath(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"model path {path} is a file; expected a folder with config.json")
        if not (path / "config.json").is_file() and not (path / "modules.json").is_file():
            raise ModelLoadError(f"model folder {path} has no config.json; is it a Hugging Face model folder?")
        return path
    if _looks_like_path(name):
        raise ModelLoadError(
            f"model folder {path} does not exist; set {env_var} to a folder holding config.json, the "
            f"tokenizer and the weights (or to a Hugging Face Hub id such as BAAI/bge-m3)"
        )
    token = _PROGRESS.set(progress)
    try:
        return _download(name, env_var)
    finally:
        _PROGRESS.reset(token)


def _download(repo_id: str, env_var: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        progress = _PROGRESS.get()
        tqdm_class = progress_tqdm(repo_id, progress) if progress is not None else None
        folder = Path(snapshot_download(repo_id=repo_id, ignore_patterns=HUB_IGNORE, tqdm_class=tqdm_class))
    except LocalEntryNotFoundError as exc:
        raise ModelLoadError(
            f"model {repo_id!r} is not in the local Hugging Face cache and the Hub cannot be reached "
            f"(offline or HF_HUB_OFFLINE=1): {exc}. {_how_to_fix(repo_id, env_var)}"
        ) from exc
    except (RepositoryNotFoundError, GatedRepoError, RevisionNotFoundError, HFValidationError) as exc:
        raise ModelLoadError(
            f"model {repo_id!r} was not found on the Hugging Face Hub (or needs access rights): {exc}. "
            f"{_how_to_fix(repo_id, env_var)}"
        ) from exc
    except OSError as exc:  # network errors, disk full, permission problems in the cache
        raise ModelLoadError(f"could not download model {repo_id!r}: {exc}. {_how_to_fix(repo_id, env_var)}") from exc
    if not (folder / "config.json").is_file() and not (folder / "modules.json").is_file():
        raise ModelLoadError(f"Hub snapshot of {repo_id!r} at {folder} has no config.json")
    return folder


def read_json(path: Path) -> dict[str, Any] | list[Any]:
    """Parse a JSON file, naming it when it is broken."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc


def resolve_device(device: str) -> str:
    """``"auto"`` becomes ``"cuda"`` when a GPU is visible, else ``"cpu"``; others are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} requested but torch sees no CUDA GPU (torch {torch.__version__})")
    if device != "cpu" and not device.startswith("cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:N]', got {device!r}")
    return device


def cpu_supports_bf16() -> bool:
    """True when the CPU has native bf16 matrix instructions (AVX512_BF16 or AMX), where bf16 pays off."""
    import torch

    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(cpu, probe, None)
        if fn is not None:
            try:
                if fn():
                    return True
            except RuntimeError:
                continue
    return torch.backends.cpu.get_cpu_capability() in {"AVX512_BF16", "AMX"}


def resolve_dtype(dtype: str | None, device: str) -> str:
    """The compute dtype. Rule when ``dtype`` is None:

    * CUDA: ``bfloat16`` when the GPU supports it, else ``float16``;
    * CPU: whichever of ``bfloat16``/``float32`` measured faster on this CPU (bf16 only when
      clearly faster), see :mod:`rag.models.dtype_probe`; CPU flags alone misled: with
      AVX512_BF16 but no AMX, bf16 ran 1.8x slower than fp32.

    Low precision means the weights themselves are cast: on a Xeon with AMX, fp32 weights under
    ``torch.autocast`` ran BGE-M3 at about half the speed of bf16 weights (autocast re-casts every
    weight on every call) for the same cosine to fp32. Pass ``dtype="float32"`` to opt out.
    """
    if dtype is not None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
        if dtype == "float16" and device == "cpu":
            raise ValueError("dtype='float16' is not supported on CPU; use 'bfloat16' or 'float32'")
        return dtype
    if device.startswith("cuda"):
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    if not cpu_supports_bf16():
        return "float32"  # no native bf16: emulated bf16 is always slower, no need to measure
    from rag.models.dtype_probe import cpu_dtype_choice

    return cpu_dtype_choice().dtype


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_tokenizer(folder: Path) -> Any:
    """The folder's fast tokenizer, via transformers' own resolution."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(folder))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"cannot load the tokenizer in {folder}: {exc}") from exc


def load_weights(model_cls: Any, folder: Path, *, device: str, weight_dtype: str) -> Any:
    """``model_cls.from_pretrained(folder)`` in eval mode on ``device``, weights in ``weight_dtype``."""
    try:
        model, info = model_cls.from_pretrained(str(folder), dtype=torch_dtype(weight_dtype), output_loading_info=True)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot load model weights from {folder}: {exc}") from exc
    # transformers fills missing weights with random values and only logs it; we never use the pooler.
    missing = [k for k in info.get("missing_keys", ()) if not k.startswith("pooler.")]
    if missing:
        raise ModelLoadError(
            f"weights in {folder} do not fit {model_cls.__name__}: {len(missing)} missing, e.g. {sorted(missing)[:5]}"
        )
    return model.to(device).eval()


def max_positions(config: Any) -> int:
    """Longest input the position table allows (RoBERTa-style models reserve ``pad_token_id + 1`` rows)."""
    n = int(getattr(config, "max_position_embeddings", 512))
    if getattr(config, "model_type", "") in {"xlm-roberta", "roberta", "camembert"}:
        n -= int(getattr(config, "pad_token_id", 1) or 0) + 1
    return n


def check_max_length(max_length: int | None, limit: int, folder: Path) -> int:
    """``max_length`` or the model's limit; above the limit is an error, not a silent cut."""
    if max_length is None:
        return limit
    if max_length < 8:
        raise ValueError(f"max_length must be at least 8 tokens, got {max_length}")
    if max_length > limit:
        raise ValueError(f"max_length={max_length} exceeds what the model in {folder} supports ({limit} tokens)")
    return max_length
