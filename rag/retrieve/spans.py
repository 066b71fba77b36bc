"""Small to big: rank the sentences and sub-clauses inside the best chunks, keep the chunk as context.

The collection stores clause-sized chunks; their fine units (``ingest.units``: sentences,
list items, sub-clauses of a few dozen up to ~120 tokens, never across a clause boundary) are
embedded at ingest and kept in the collection's unit-vector file (``rag.retrieve.unit_vectors``;
collections built before fill it the first time a chunk is a candidate), with the document
title and the unit's own heading path, as chunks are. Each unit
of the top candidate chunks is scored as

    span_dense_weight * cos(question, unit)
  + span_sparse_weight * lexical(question, unit)      (BM25 over the units in play, / its max)
  + span_parent_weight * score(chunk) / max score(chunk)

so a unit of a chunk that ranked well keeps that evidence, and a unit that says exactly what
was asked rises above its neighbours. Units that end up next to each other in one chunk are
merged into one hit rather than listed twice.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.chunking import document_title
from ingest.units import DocumentUnits, Unit, UnitConfig
from rag.documents import Clause, StoredChunk
from rag.lexical import term_counts
from rag.retrieve.hits import Hit
from rag.retrieve.unit_vectors import (
    ChunkKey,
    UnitVectors,
    UnitVectorStore,
    embed_text,
    encode_units,
    model_key,
    units_of,
    version_key,
)

log = logging.getLogger(__name__)


#: the units of one chunk with their vectors (kept under its old name for callers and tests)
_Entry = UnitVectors


class UnitIndex:
    """Units of chunks and their vectors: from memory, else from the collection's unit-vector
    file (filled at ingest), else embedded now and written there for the next process."""

    def __init__(self, encoder: Any, sparse_kind: str, config: UnitConfig = UnitConfig(),
                 max_documents: int = 64, max_chunks: int = 5000,
                 store: UnitVectorStore | None = None) -> None:
        self.encoder = encoder
        self.sparse_kind = sparse_kind
        self.config = config
        self.max_documents = max_documents
        #: ~5 units a chunk: 5,000 chunks hold ~40 MB of 384-d vectors (~100 MB at BGE-M3's 1024)
        self.max_chunks = max_chunks
        self.store = store
        self.model = model_key(encoder, sparse_kind)
        self.version = version_key(config)
        #: chunks found on disk / embedded now (what the first question over a document paid)
        self.loaded = 0
        self.embedded = 0
        self._docs: dict[int, DocumentUnits] = {}
        self._entries: OrderedDict[int, UnitVectors] = OrderedDict()
        self._lock = threading.Lock()

    def _document(self, doc_id: int, text: Callable[[int], str],
                  clauses: Callable[[int], list[Clause]]) -> DocumentUnits:
        units = self._docs.get(doc_id)
        if units is None:
            if len(self._docs) >= self.max_documents:  # keep memory bounded on large collections
                self._docs.pop(next(iter(self._docs)))
            units = DocumentUnits(text(doc_id), clauses(doc_id), getattr(self.encoder, "tokenizer", None),
                                  self.config)
            self._docs[doc_id] = units
        return units

    def entries(self, chunks: Sequence[StoredChunk], text: Callable[[int], str],
                clauses: Callable[[int], list[Clause]],
                doc_hash: Callable[[int], str] | None = None) -> list[UnitVectors]:
        """Each chunk's units with their vectors; the missing ones are encoded in one batch.

        ``doc_hash(doc_id)`` (the document's content hash) lets the unit-vector file serve them.
        """
        with self._lock:
            todo = list({c.id: c for c in chunks if c.id not in self._entries}.values())
            keys: dict[int, ChunkKey] = {}
            if todo and self.store is not None and doc_hash is not None:
                keys = {c.id: ChunkKey(doc_hash(c.doc_id), document_title(c.doc_name), c.start, c.end) for c in todo}
                try:
                    found = self.store.get(list(keys.values()), self.model, self.version, self.sparse_kind)
                except sqlite3.Error as exc:
                    log.warning("unit vectors could not be read from %s: %s", self.store.path, exc)
                    found = {}
                for c in todo:
                    uv = found.get(keys[c.id])
                    if uv is not None:
                        if self.sparse_kind != "lexical":
                            uv.sparse = [term_counts(_embed_text(c, u)) for u in uv.units]
                        self._entries[c.id] = uv
                        self.loaded += 1
                todo = [c for c in todo if c.id not in self._entries]
            fresh: list[tuple[StoredChunk, list[Unit]]] = []
            for c in todo:
                units = units_of(self._document(c.doc_id, text, clauses), c.start, c.end, c.heading_path)
                fresh.append((c, units))
            embed = [_embed_text(c, u) for c, units in fresh for u in units]
            if embed:
                dense, sparse = encode_units(self.encoder, self.sparse_kind, embed)
                i = 0
                written = []
                for c, units in fresh:
                    n = len(units)
                    self._entries[c.id] = UnitVectors(units, dense[i: i + n], sparse[i: i + n])
                    if c.id in keys:
                        written.append((keys[c.id], self._entries[c.id]))
                    i += n
                self.embedded += len(fresh)
                if written:
                    try:
                        self.store.put(written, self.model, self.version, self.sparse_kind)  # type: ignore[union-attr]
                    except sqlite3.Error as exc:  # a read-only folder: keep them in memory only
                        log.warning("unit vectors could not be written to %s: %s", self.store.path, exc)  # type: ignore[union-attr]
            out = []
            for c in chunks:
                self._entries.move_to_end(c.id)
                out.append(self._entries[c.id])
            while len(self._entries) > max(self.max_chunks, len(chunks)):
                self._entries.popitem(last=False)
            return out


def _embed_text(chunk: StoredChunk, unit: Unit) -> str:
    body = chunk.text[unit.start - chunk.start: unit.end - chunk.start]
    return embed_text(document_title(chunk.doc_name), unit.heading_path, body)


def bm25_scores(query: Mapping[int, float], docs: Sequence[Mapping[int, float]],
                k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """BM25 of ``query`` against each of ``docs`` (term-count dicts), idf over ``docs`` themselves."""
    n = len(docs)
    if not n or not query:
        return np.zeros(n)
    lengths = np.array([sum(d.values()) for d in docs], dtype=np.float64)
    avg = lengths.mean() or 1.0
    df: Counter[int] = Counter()
    for d in docs:
        df.update(t for t in d if t in query)
    out = np.zeros(n)
    for t, w in query.items():
        if not df[t]:
            continue
        idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
        for i, d in enumerate(docs):
            tf = d.get(t)
            if tf:
                out[i] += w * idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[i] / avg))
    return out


def _lexical(query: Mapping[int, float], docs: Sequence[Mapping[int, float]]) -> np.ndarray:
    """BGE-M3's lexical matching score: sum over shared tokens of query weight x unit weight."""
    return np.array([sum(w * d.get(t, 0.0) for t, w in query.items()) for d in docs], dtype=np.float64)


@dataclass(frozen=True)
class SpanWeights:
    dense: float = 1.0
    sparse: float = 0.3
    #: measured: 0 / 0.25 / 0.5 / 1.0 gave recall at 2,000 chars 57.2 / 58.9 / 60.0 / 62.9 on
    #: ContractNLI (60 queries) and 1.0 also led on PrivacyQA (40 queries; bench/spans.py)
    parent: float = 1.0
    #: a neighbouring unit joins a listed hit while the merged span stays within this many
    #: characters; past it, it is listed on its own (a citation should stay a sentence or two)
    merge_chars: int = 400
    #: ... and only when it ranks within this many places (among all units) of that hit's best
    #: unit: a neighbour that ranks far lower is read later, as its own hit
    merge_window: int = 3


def rank_spans(hits: Sequence[Hit], entries: Sequence[_Entry], q_dense: np.ndarray | None,
               q_sparse: Mapping[int, float] | None, sparse_kind: str, weights: SpanWeights,
               pages_of: Callable[[int, int, int], tuple[int, int] | None]) -> list[Hit]:
    """The units of ``hits`` (chunk hits, best first) ranked; neighbours in a chunk merged."""
    if not hits:
        return []
    owners = [i for i, e in enumerate(entries) for _ in e.units]
    units = [u for e in entries for u in e.units]
    total = np.zeros(len(units))
    dense = np.full(len(units), np.nan)
    sparse = np.full(len(units), np.nan)
    if q_dense is not None and weights.dense:
        dense = np.concatenate([e.dense for e in entries]) @ q_dense
        total += weights.dense * dense
    if q_sparse and weights.sparse:
        docs = [s for e in entries for s in e.sparse]
        sparse = _lexical(q_sparse, docs) if sparse_kind == "lexical" else bm25_scores(q_sparse, docs)
        top = sparse.max(initial=0.0) if sparse_kind != "lexical" else 1.0
        total += weights.sparse * (sparse / top if top > 0 else sparse)
    parents = np.array([h.score for h in hits], dtype=np.float64)
    top_parent = parents.max(initial=0.0)
    if weights.parent and top_parent > 0:
        total += weights.parent * parents[owners] / top_parent
    order = np.argsort(-total, kind="stable")
    merged: list[Hit] = []
    #: per chunk hit index: unit index -> position in ``merged`` of the hit that holds it
    held: dict[int, dict[int, int]] = {}
    local = [j for e in entries for j in range(len(e.units))]
    rank_of: list[int] = []  # for each entry of ``merged``, the rank of its best unit
    for rank, u in enumerate(order):
        owner, j = owners[u], local[u]
        parent = hits[owner]
        taken = held.setdefault(owner, {})
        unit = units[u]
        near = [taken[x] for x in (j - 1, j + 1) if x in taken
                and rank - rank_of[taken[x]] <= weights.merge_window
                and max(merged[taken[x]].end, unit.end) - min(merged[taken[x]].start, unit.start)
                <= weights.merge_chars]
        if len(near) == 2 and max(merged[near[1]].end, merged[near[0]].end) - min(
                merged[near[0]].start, merged[near[1]].start) > weights.merge_chars:
            near = near[:1]
        if near:  # a neighbour is already listed: grow it (and join a neighbour on the other side)
            keep = merged[near[0]]
            start = min(keep.start, unit.start, *(merged[x].start for x in near))
            end = max(keep.end, unit.end, *(merged[x].end for x in near))
            keep.span = (start, end)
            keep.span_pages = pages_of(parent.chunk.doc_id, start, end)
            if keep.span_clause != unit.clause or any(merged[x].span_clause != unit.clause for x in near):
                keep.span_clause = parent.chunk.clause  # spans two clauses: name the chunk's
            taken[j] = near[0]
            if len(near) == 2 and near[1] != near[0]:
                gone = near[1]
                for x, pos in taken.items():
                    if pos == gone:
                        taken[x] = near[0]
                merged[gone] = None  # type: ignore[call-overload]
            continue
        scores = {k: v for k, v in parent.scores.items() if k not in ("rerank",)}
        scores["span_dense"] = float(dense[u]) if not np.isnan(dense[u]) else 0.0
        if not np.isnan(sparse[u]):
            scores["span_sparse"] = float(sparse[u])
        scores["span"] = float(total[u])
        taken[j] = len(merged)
        rank_of.append(rank)
        merged.append(Hit(parent.chunk, float(total[u]), scores, parent.via, span=(unit.start, unit.end),
                          span_pages=pages_of(parent.chunk.doc_id, unit.start, unit.end),
                          span_clause=unit.clause))
    return [h for h in merged if h is not None]
