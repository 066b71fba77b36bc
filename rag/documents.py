"""The shared vocabulary of the pipeline: documents, clauses, chunks.

``ingest`` produces these, ``rag.store`` persists them and ``rag.retrieve`` returns them.
Spans are always half-open character ranges ``[start, end)`` into a document's canonical
text; pages and highlight boxes are derived from spans, never the other way round.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

#: Joins pages in a document's canonical text. A form feed never occurs in extracted text
#: (it is stripped), so a page boundary can always be told from the text alone.
PAGE_SEPARATOR = "\n\f\n"


@dataclass(frozen=True)
class TextLine:
    """One line of text on a PDF page: its span and its box in PDF points, top-left origin."""

    start: int
    end: int
    page: int  # 1-based
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass(frozen=True)
class Box:
    """A highlight rectangle on a page (PDF points, top-left origin), as viewers take them."""

    page: int  # 1-based
    x0: float
    top: float
    x1: float
    bottom: float


@dataclass
class Document:
    """One file's canonical text and where each character came from."""

    name: str
    text: str
    #: ``page_spans[i]`` is the span of page ``i + 1`` in ``text``; empty for .txt/.md files.
    page_spans: list[tuple[int, int]] = field(default_factory=list)
    #: line boxes for drawing highlights (PDFs only), ordered by ``start``.
    lines: list[TextLine] = field(default_factory=list)
    media_type: str = "text/plain"  # "application/pdf", "text/markdown", "text/plain"
    language: str = "en"  # "en", "zh", ... (dominant script of the text)
    warnings: list[str] = field(default_factory=list)

    @property
    def page_count(self) -> int:
        return len(self.page_spans)

    def pages_of(self, start: int, end: int) -> tuple[int, int] | None:
        """First and last 1-based page that ``[start, end)`` touches; ``None`` without pages."""
        return pages_of(self.page_spans, start, end)

    def boxes_of(self, start: int, end: int) -> list[Box]:
        """Highlight boxes covering ``[start, end)``."""
        return boxes_of(self.lines, start, end)


def pages_of(page_spans: list[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """First and last 1-based page touched by ``[start, end)`` given page spans."""
    if not page_spans:
        return None
    starts = [s for s, _ in page_spans]
    first = max(bisect.bisect_right(starts, start) - 1, 0)
    last = max(bisect.bisect_right(starts, max(end - 1, start)) - 1, first)
    return first + 1, last + 1


def boxes_of(lines: list[TextLine], start: int, end: int) -> list[Box]:
    """Boxes of the lines that overlap ``[start, end)``, cut proportionally at the span's ends."""
    out: list[Box] = []
    starts = [ln.start for ln in lines]
    i = max(bisect.bisect_right(starts, start) - 1, 0)
    for ln in lines[i:]:
        if ln.start >= end:
            break
        if ln.end <= start:
            continue
        width = ln.x1 - ln.x0
        n = max(ln.end - ln.start, 1)
        a = (max(start, ln.start) - ln.start) / n
        b = (min(end, ln.end) - ln.start) / n
        out.append(Box(ln.page, ln.x0 + a * width, ln.top, ln.x0 + b * width, ln.bottom))
    return out


@dataclass
class Clause:
    """A node of a contract's clause tree."""

    label: str  # as printed: "12.3(b)", "Section 4", "第十二条", "Schedule 2"
    norm: str  # normalised id for lookup: "12.3.b", "4", "12" (Chinese numerals -> digits), "schedule 2"
    kind: str  # "numbered", "article", "section", "clause", "schedule", "recitals", "definitions", "cn_article", ...
    heading: str  # heading text after the label ("Termination"), may be ""
    start: int  # span of the clause including its body and sub-clauses
    end: int
    parent: int | None  # index of the parent in the tree's list, None for top level
    level: int = 0


@dataclass
class DefinedTerm:
    """Where a capitalised defined term is defined ("Confidential Information" means ...)."""

    term: str
    start: int  # span of the defining sentence or paragraph
    end: int


@dataclass
class Chunk:
    """A retrievable unit: a clause or part of one, with exact provenance."""

    start: int
    end: int
    text: str  # exactly ``document.text[start:end]``
    embed_text: str  # what is embedded: the heading path may be prepended
    clause: str | None = None  # label of the innermost clause, e.g. "12.3(b)"
    heading_path: list[str] = field(default_factory=list)  # ["12 Termination", "12.3 For convenience"]
    pages: tuple[int, int] | None = None  # first and last 1-based page


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as a collection returns it: with its id and its document's id and name."""

    id: int
    doc_id: int
    doc_name: str
    start: int
    end: int
    text: str
    clause: str | None
    heading_path: tuple[str, ...]
    pages: tuple[int, int] | None


@dataclass(frozen=True)
class DocumentInfo:
    """A row of a collection's document list."""

    id: int
    name: str
    content_hash: str
    media_type: str
    language: str
    pages: int
    chunks: int
    added_at: str  # ISO 8601, UTC
    size_bytes: int
