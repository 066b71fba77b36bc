"""Synthetic documents, vectors and sparse weights for store tests (no models needed)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from rag.documents import Chunk, Clause, DefinedTerm, Document, TextLine

WORDS = "agreement party shall term notice breach liability indemnity licence payment fee confidential".split()


@dataclass
class DocBatch:
    document: Document
    chunks: list[Chunk]
    dense: np.ndarray
    sparse: list[dict[int, float]]
    colbert: list[np.ndarray] | None
    clauses: list[Clause] = field(default_factory=list)
    terms: list[DefinedTerm] = field(default_factory=list)
    content_hash: str = ""
    source: bytes | None = None

    def add_to(self, writer) -> int:
        return writer.add_document(
            self.document,
            self.chunks,
            self.dense,
            self.sparse,
            colbert=self.colbert,
            clauses=self.clauses,
            terms=self.terms,
            content_hash=self.content_hash,
            source=self.source,
        )


def make_doc(
    rng: np.random.Generator,
    name: str,
    n_chunks: int,
    dim: int = 16,
    vocab: int = 200,
    colbert_dim: int | None = None,
    bm25: bool = False,
    pdf: bool = False,
) -> DocBatch:
    """A document of ``n_chunks`` chunks with random text, vectors and sparse weights."""
    pieces, chunks = [], []
    pos = 0
    page_spans, lines = [], []
    for i in range(n_chunks):
        text = f"{i + 1}. " + " ".join(rng.choice(WORDS, size=int(rng.integers(3, 12))))
        start = pos
        pieces.append(text)
        pos += len(text)
        chunks.append(Chunk(start, pos, text, text, clause=str(i + 1), heading_path=[f"{i + 1} Heading"], pages=(i + 1, i + 1) if pdf else None))
        if pdf:
            page_spans.append((start, pos))
            lines.append(TextLine(start, pos, i + 1, 10.0, 20.0 + i, 300.5, 32.25 + i))
        pieces.append("\n")
        pos += 1
    text = "".join(pieces)
    dense = rng.standard_normal((n_chunks, dim)).astype(np.float32)
    sparse = []
    for _ in range(n_chunks):
        k = int(rng.integers(1, 8))
        keys = rng.choice(vocab, size=k, replace=False)
        if bm25:
            sparse.append({int(t): float(rng.integers(1, 4)) for t in keys})
        else:
            sparse.append({int(t): float(rng.uniform(0.05, 0.5)) for t in keys})
    colbert = None
    if colbert_dim:
        colbert = [rng.standard_normal((int(rng.integers(1, 6)), colbert_dim)).astype(np.float32) for _ in range(n_chunks)]
    clauses = [Clause(str(i + 1), str(i + 1), "numbered", "Heading", c.start, c.end, None, 0) for i, c in enumerate(chunks)]
    terms = [DefinedTerm("Agreement", 0, min(10, len(text)))] if n_chunks else []
    document = Document(
        name=name,
        text=text,
        page_spans=page_spans,
        lines=lines,
        media_type="application/pdf" if pdf else "text/plain",
        language="en",
        warnings=["synthetic"] if pdf else [],
    )
    source = text.encode() if pdf else None
    return DocBatch(document, chunks, dense, sparse, colbert, clauses, terms, hashlib.sha256(text.encode()).hexdigest(), source)
