"""What the query pipeline derives from one collection generation, built once and shared.

The document scorer, clause trees, defined terms, texts, stored chunks and the span units are
read from the catalog on first use and reused by every query (and every thread) until a writer
commits a new generation; then the :class:`~rag.retrieve.pipeline.Retriever` starts a new one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from rag.documents import Clause, DefinedTerm, StoredChunk, pages_of
from rag.retrieve.scoping import DocumentScorer, ScopingConfig, head_text
from rag.retrieve.spans import UnitIndex


class GenerationCache:
    """What the pipeline derives from one collection generation."""

    def __init__(self, view: Any) -> None:
        self.generation = view.generation
        self.docs = {d.id: d for d in view.documents()}
        self.by_name = {d.name: d.id for d in self.docs.values()}
        self.languages = {d.id: d.language for d in self.docs.values()}
        self._view = view
        self._scorer: DocumentScorer | None = None
        self._clauses: dict[int, list[Clause]] = {}
        self._terms: dict[int, list[DefinedTerm]] = {}
        self._texts: OrderedDict[int, tuple[str, list[tuple[int, int]]]] = OrderedDict()
        self._units: UnitIndex | None = None
        self._chunks: dict[int, list[StoredChunk]] = {}
        self._lock = threading.Lock()

    def scorer(self, config: ScopingConfig) -> DocumentScorer:
        with self._lock:
            if self._scorer is None:
                ids = sorted(self.docs)
                heads = [head_text(self._view.document(i).text) for i in ids]
                self._scorer = DocumentScorer(ids, [self.docs[i].name for i in ids], heads, config)
            return self._scorer

    def clauses(self, doc_id: int) -> list[Clause]:
        with self._lock:
            if doc_id not in self._clauses:
                self._clauses[doc_id] = self._view.clauses(doc_id)
            return self._clauses[doc_id]

    def terms(self, doc_id: int) -> list[DefinedTerm]:
        with self._lock:
            if doc_id not in self._terms:
                self._terms[doc_id] = self._view.defined_terms(doc_id)
            return self._terms[doc_id]

    def _document(self, doc_id: int) -> tuple[str, list[tuple[int, int]]]:
        with self._lock:
            if doc_id in self._texts:
                self._texts.move_to_end(doc_id)
                return self._texts[doc_id]
            doc = self._view.document(doc_id)
            self._texts[doc_id] = (doc.text, list(doc.page_spans))
            while len(self._texts) > 32:
                self._texts.popitem(last=False)
            return self._texts[doc_id]

    def text(self, doc_id: int) -> str:
        return self._document(doc_id)[0]

    def pages(self, doc_id: int, start: int, end: int) -> tuple[int, int] | None:
        return pages_of(self._document(doc_id)[1], start, end)

    def units(self, encoder: Any, sparse_kind: str, store: Any = None) -> UnitIndex:
        with self._lock:
            if self._units is None:
                self._units = UnitIndex(encoder, sparse_kind, store=store)
            return self._units

    def content_hash(self, doc_id: int) -> str:
        return self.docs[doc_id].content_hash

    def chunks(self, doc_id: int) -> list[StoredChunk]:
        with self._lock:
            if doc_id not in self._chunks:
                ids = self._view.chunk_ids([doc_id])
                self._chunks[doc_id] = self._view.chunks(list(ids))
            return self._chunks[doc_id]
