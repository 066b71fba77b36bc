"""What an answer comes back as: text, numbered sources, failed checks, any error."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.answer.citations import CitationIssue
from rag.retrieve.hits import Hit


@dataclass(frozen=True)
class Citation:
    """Source ``[n]`` as it was given to the model."""

    n: int
    hit: Hit
    cited: bool = False  # whether the answer text refers to [n]
    truncated: bool = False  # the passage was cut to fit the context budget


@dataclass
class Answer:
    """The finished answer. ``error`` is set (and ``text`` may be partial) when the LLM failed."""

    question: str
    text: str
    backend: str
    model: str
    citations: list[Citation]  # every numbered source, cited or not
    issues: list[CitationIssue] = field(default_factory=list)
    error: str | None = None  # a clear, secret-free message, e.g. "LLM endpoint refused the connection at …"
    error_kind: str | None = None  # LLMError.kind, e.g. "timeout", "auth", "rate_limit"
    hits: list[Hit] = field(default_factory=list)  # all retrieved hits, also those not sent
    finish_reason: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. "2 passages did not fit the context budget"

    @property
    def ok(self) -> bool:
        """No error and every citation check passed."""
        return self.error is None and not self.issues
