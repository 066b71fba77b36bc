"""The one small interface every answer backend implements.

``LLM.generate(prompt)`` returns a :class:`Generation`: text pieces, then final metadata.
Chat backends (OpenAI-compatible, local transformers) also take raw messages, which the
follow-up rewriting uses; the extractive backend answers from the blocks themselves.

Backends import these types from here; :mod:`rag.answer.llm` holds the factory that picks a
backend and imports the backends lazily, so imports run one way: llm -> backends -> base.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.errors import scrub_secrets
from rag.answer.generation import Generation
from rag.answer.prompts import Message, Prompt
from rag.config import Settings

BACKENDS = ("openai", "local", "extractive")


@dataclass(frozen=True)
class LLMOptions:
    """Generation and prompt limits; read from Settings fields of the same name when present."""

    temperature: float = 0.1
    max_tokens: int = 1024  # per answer
    timeout_s: float = 60.0  # per request, and the longest gap between streamed pieces
    max_retries: int = 1  # the openai SDK retries 429/5xx/connection errors this many times
    context_tokens: int = 3000  # budget for the context blocks (approximate tokens)
    chars_per_token: float = 4.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMOptions:
        """Options from ``settings.llm_temperature``, ``llm_max_tokens``, ``llm_timeout_s``,
        ``llm_max_retries``, ``llm_context_tokens``, ``llm_chars_per_token``; defaults where
        Settings has no such field."""
        values = {}
        for name in ("temperature", "max_tokens", "timeout_s", "max_retries", "context_tokens", "chars_per_token"):
            value = getattr(settings, f"llm_{name}", None)
            if value is not None:
                values[name] = type(getattr(cls, name))(value)
        return cls(**values)


class LLM(ABC):
    """An answer backend: ``generate`` streams an answer to a grounded prompt."""

    name: str = ""  # "openai", "local" or "extractive"
    model: str = ""  # model id or folder, "" for the extractive backend
    options: LLMOptions = LLMOptions()

    @abstractmethod
    def generate(self, prompt: Prompt) -> Generation:
        """Stream the answer; raise :class:`LLMError` (now or while iterating) on failure."""

    def scrub(self, text: str) -> str:
        """``text`` with this backend's secrets removed (for messages and logs)."""
        return scrub_secrets(text)


class ChatLLM(LLM):
    """A backend that completes chat messages: the grounded answer is one more chat."""

    def generate(self, prompt: Prompt) -> Generation:
        return self.chat(prompt.messages)

    @abstractmethod
    def chat(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Generation:
        """Stream a completion of ``messages`` (defaults from ``self.options``)."""

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> str:
        """One whole, non-streamed completion."""
        gen = self.chat(messages, max_tokens=max_tokens, temperature=temperature)
        try:
            return gen.text()
        finally:
            gen.close()
