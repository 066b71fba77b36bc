"""The factory that picks an answer backend; the interface lives in :mod:`rag.answer.base`.

``LLM``, ``ChatLLM``, ``LLMOptions`` and ``BACKENDS`` are re-exported here for callers that
import them from this module. The backends are imported lazily inside :func:`make_llm`, and
they import only :mod:`rag.answer.base`, so there is no import loop.
"""

from __future__ import annotations

from rag.answer.base import BACKENDS, LLM, ChatLLM, LLMOptions
from rag.answer.errors import LLMError
from rag.config import Settings

__all__ = ["BACKENDS", "LLM", "ChatLLM", "LLMOptions", "make_llm"]


def make_llm(settings: Settings, backend: str | None = None, options: LLMOptions | None = None) -> LLM:
    """The backend named by ``backend`` or else ``settings.resolved_llm_backend()``.

    Cheap: the local model loads on first use, and nothing is contacted until a request.
    Raises :class:`LLMError` (kind "config") when the backend cannot work as configured.
    """
    name = backend or settings.resolved_llm_backend()
    opts = options or LLMOptions.from_settings(settings)
    if name == "extractive":
        from rag.answer.extractive import Extractive

        return Extractive(options=opts)
    if name == "openai":
        from rag.answer.openai_backend import OpenAIChat

        return OpenAIChat(settings.llm_base_url, settings.llm_model, settings.llm_api_key, opts)
    if name == "local":
        from rag.answer.local_backend import LocalChat

        if not settings.llm_model:
            raise LLMError(
                "the local LLM backend needs a model: set RAG_LLM_MODEL to a chat model folder or Hub id",
                kind="config",
            )
        return LocalChat(settings.llm_model, device=settings.device, options=opts)
    raise LLMError(f"unknown LLM backend {name!r}; choose one of {', '.join(BACKENDS)}", kind="config")
