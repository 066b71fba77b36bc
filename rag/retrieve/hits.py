"""What retrieval returns: ranked hits with every stage's score, and a trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.documents import StoredChunk


@dataclass
class Hit:
    """One retrieved chunk with its provenance and the score of each stage it went through."""

    chunk: StoredChunk
    score: float  # the final ranking score
    #: per-stage scores: any of "dense", "sparse", "fused", "colbert", "rerank", "lookup"
    scores: dict[str, float] = field(default_factory=dict)
    via: str = "search"  # "search" or "clause" (answered from the clause tree)
    #: context attached for answering, not part of the ranked span:
    #: (label, text) pairs such as ("parent 12 Termination", "...") or ("definition", "...").
    context: list[tuple[str, str]] = field(default_factory=list)
    definitions: list[tuple[str, str]] = field(default_factory=list)  # (term, defining text)


@dataclass
class Trace:
    """How a result list came about: stage timings (seconds) and notes for the UI's trace view."""

    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    scoped_docs: list[str] = field(default_factory=list)


@dataclass
class Retrieval:
    hits: list[Hit]
    trace: Trace
