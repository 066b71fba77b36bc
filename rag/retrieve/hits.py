"""What retrieval returns: ranked hits with every stage's score, and a trace."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.documents import StoredChunk


@dataclass
class Hit:
    """One retrieved span with its enclosing chunk, its provenance and each stage's score.

    Small to big: ``span`` is what was ranked and what a citation, a quote check and a
    highlight point at (a sentence, a list item, a sub-clause); ``chunk`` is the clause (or
    run of clauses) around it, the context an answer is written from. Without a span (a
    clause looked up by number, or span ranking off) the hit is its whole chunk.
    """

    chunk: StoredChunk
    score: float  # the final ranking score
    #: per-stage scores: any of "dense", "sparse", "fused", "colbert", "rerank", "lookup", "fact",
    #: and for spans "span_dense", "span_sparse" ("fused" is then the enclosing chunk's)
    scores: dict[str, float] = field(default_factory=dict)
    #: "search", "clause" (answered from the clause tree), "fact" (the document's own date, read
    #: where it is stated: rag.retrieve.document_facts) or "image" (a page image)
    via: str = "search"
    #: the ranked span, document offsets inside ``chunk``; ``None`` for the whole chunk
    span: tuple[int, int] | None = None
    span_pages: tuple[int, int] | None = None  # first and last page of the span
    span_clause: str | None = None  # label of the innermost clause holding the span
    #: context attached for answering, not part of the ranked span:
    #: (label, text) pairs such as ("parent 12 Termination", "...") or ("definition", "...").
    context: list[tuple[str, str]] = field(default_factory=list)
    definitions: list[tuple[str, str]] = field(default_factory=list)  # (term, defining text)

    def __post_init__(self) -> None:
        if self.span is not None:
            s, e = self.span
            if not self.chunk.start <= s < e <= self.chunk.end:
                raise ValueError(f"span [{s}, {e}) lies outside its chunk "
                                 f"[{self.chunk.start}, {self.chunk.end}) of {self.chunk.doc_name}")

    @property
    def start(self) -> int:
        return self.span[0] if self.span is not None else self.chunk.start

    @property
    def end(self) -> int:
        return self.span[1] if self.span is not None else self.chunk.end

    @property
    def text(self) -> str:
        """The span's text (exactly ``document.text[start:end]``)."""
        if self.span is None:
            return self.chunk.text
        return self.chunk.text[self.span[0] - self.chunk.start: self.span[1] - self.chunk.start]

    @property
    def pages(self) -> tuple[int, int] | None:
        return self.span_pages if self.span is not None and self.span_pages else self.chunk.pages

    @property
    def clause(self) -> str | None:
        """The clause a citation names: the span's own clause, else the chunk's."""
        return self.span_clause if self.span is not None and self.span_clause else self.chunk.clause

    @property
    def is_span(self) -> bool:
        """Whether the hit is a part of its chunk (not all of it)."""
        return self.span is not None and (self.span[0], self.span[1]) != (self.chunk.start, self.chunk.end)


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
