"""The review grid: documents x columns, computed incrementally.

:func:`review` is the typed function behind the CLI, the app page and the benchmark. Cells are
stored per (document content, column wording, model, scoring generation); a run computes only
the cells that are missing (a new document: its row; a new column: its column) and reports
progress per cell.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ingest.dates import document_date
from rag.review import prototypes as protos
from rag.review.calibration import calibration_for, calibration_version
from rag.review.cells import (Calibration, Cell, ScoringConfig, Signals, cite_scores, pick_spans, proto_signal,
                              query_signal, units_in)
from rag.review.columns import Column
from rag.review.storage import ReviewStore
from rag.review.units import Units, split_units

#: the review columns that ask for the contract's own date, and which date (ingest.dates)
DOCUMENT_DATE_COLUMNS = {"cuad:agreement-date": "agreement", "cuad:effective-date": "effective"}

#: bump when scoring changes: stored cells of an older generation are recomputed
SCORER_VERSION = "4"  # 3: date columns cite the contract's own date; 4: retrieval spans help choose the cited units
Progress = Callable[[int, int], None]

_query_lock = threading.Lock()
_query_cache: dict[tuple[str, str], np.ndarray] = {}


@dataclass
class Grid:
    """A computed review: the documents (id, name), the columns and every cell."""

    collection: str
    columns: list[Column]
    documents: list[tuple[int, str]]
    cells: dict[tuple[int, str], Cell]
    computed: int = 0  # cells computed in this run (the rest came from storage)
    seconds: float = 0.0

    def cell(self, doc_id: int, column_key: str) -> Cell:
        return self.cells[(doc_id, column_key)]


@dataclass
class _Doc:
    id: int
    name: str
    content_hash: str
    extra: dict[str, Any] = field(default_factory=dict)


def model_key(encoder: Any) -> str:
    return f"{encoder.name}|{encoder.dim}"


def generation(config: ScoringConfig = ScoringConfig()) -> str:
    """What the stored cells were computed with, besides the model: scorer, examples, calibration."""
    digest = hashlib.sha256(repr(config).encode()).hexdigest()[:8]
    return f"{SCORER_VERSION}-{protos.file_version()}-{calibration_version()}-{digest}"


def _query_vectors(encoder: Any, columns: list[Column]) -> np.ndarray:
    model = model_key(encoder)
    with _query_lock:
        todo = [c.question for c in columns if (model, c.question) not in _query_cache]
        if todo:
            enc = encoder.encode(todo, dense=True, sparse=False, query=True)
            for q, v in zip(todo, np.asarray(enc.dense, dtype=np.float32)):
                _query_cache[(model, q)] = v
        return np.stack([_query_cache[(model, c.question)] for c in columns])


def document_units(encoder: Any, store: ReviewStore | None, doc_hash: str, text: str) -> tuple[Units, np.ndarray]:
    """A document's units and their vectors (stored per model: a new column re-encodes nothing)."""
    model = model_key(encoder)
    got = store.units(doc_hash, model) if store else None
    if got is not None:
        return got
    units = split_units(text)
    if len(units):
        vecs = np.asarray(encoder.encode(units.texts(text), dense=True, sparse=False).dense, dtype=np.float32)
    else:
        vecs = np.zeros((0, encoder.dim), dtype=np.float32)
    if store:
        store.put_units(doc_hash, model, units, vecs)
    return units, vecs


def document_signals(retriever: Any, doc_id: int, name: str, text: str, units: Units, unit_vecs: np.ndarray,
                     columns: list[Column], config: ScoringConfig = ScoringConfig(),
                     store: ReviewStore | None = None) -> list[Signals]:
    """The per-unit evidence of every column in one document."""
    encoder = retriever.encoder
    qvecs = _query_vectors(encoder, columns)
    ex = protos.examples()
    typed = [c for c in columns if c.kind == "cuad"]
    pvecs: dict[str, np.ndarray] = {}
    hub = None
    if typed and len(units):
        # every type's examples: the hub correction compares a unit with all of them
        every = sorted(set(ex.keys))
        pvecs = protos.vectors(encoder, every, load=store.blob if store else None,
                               save=store.put_blob if store else None)
        excluded = protos.same_document_mask(ex, name, text)
        per_type = [proto_signal(unit_vecs, protos.for_column_key(k, pvecs, ex, excluded), config.k) for k in every]
        kept = [p for p in per_type if p is not None]
        hub = np.mean(kept, axis=0) if kept else None
        by_key = dict(zip(every, per_type))
    out = []
    for col, qv in zip(columns, qvecs):
        hybrid = np.zeros(len(units), dtype=bool)
        top = float("nan")
        hit_spans: list[tuple[int, int]] = []
        if config.hybrid_weight and len(units):
            hits = retriever.search(col.question, documents=[doc_id], top_k=config.hybrid_top,
                                    clause_lookup=False, attach_context=False).hits
            hybrid = units_in(units, [(h.chunk.start, h.chunk.end) for h in hits])
            top = hits[0].score if hits else float("nan")
            hit_spans = [h.span or (h.chunk.start, h.chunk.end) for h in hits]
        proto = by_key.get(col.key) if typed and len(units) and col.kind == "cuad" else None
        out.append(Signals(query=query_signal(unit_vecs, qv), proto=proto, hybrid=hybrid, hybrid_top=top, hub=hub,
                           hit_spans=hit_spans))
    return out


def make_cell(doc_id: int, name: str, document: Any, clauses: list[Any], units: Units, column: Column,
              signals: Signals, config: ScoringConfig = ScoringConfig(), calibration: Calibration | None = None) -> Cell:
    """A cell from a column's signals: the calibrated decision and the spans it cites.

    ``calibration`` defaults to the shipped one of the column (the benchmark passes cross-fitted ones).
    """
    if len(units) == 0:
        return Cell(document=name, doc_id=doc_id, column=column.key, found=False, score=0.0, raw=0.0)
    scores = signals.combined(config)
    raw = float(scores.max())
    calibration = calibration or calibration_for(column)
    p = calibration.probability(raw)
    spans = pick_spans(units, cite_scores(units, signals, config), config, floor=calibration.threshold)
    kind = DOCUMENT_DATE_COLUMNS.get(column.key)
    date = document_date(document.text, kind) if kind else None
    if date is not None:  # the date itself, then the sentence that best answers the column
        best = spans[0]
        spans = [date] + ([best] if best[1] <= date[0] or best[0] >= date[1] else [])
    s0, e0 = spans[0]
    holding = [c for c in clauses if c.start <= s0 < c.end]
    clause = max(holding, key=lambda c: (c.start, c.level)) if holding else None
    text = " … ".join(" ".join(document.text[s:e].split()) for s, e in spans)
    return Cell(document=name, doc_id=doc_id, column=column.key, found=p >= 0.5, score=round(p, 4), raw=raw,
                spans=spans, pages=document.pages_of(s0, e0),
                clause=(clause.label or clause.kind) if clause is not None else None, text=text)


def review(retriever: Any, columns: list[Column], *, store: ReviewStore | None = None,
           documents: Iterable[str | int] | None = None, config: ScoringConfig = ScoringConfig(),
           progress: Progress | None = None) -> Grid:
    """Every (document, column) cell of a collection, computing only what ``store`` lacks.

    ``retriever`` is the collection's :class:`rag.retrieve.Retriever` (its encoder embeds, its
    hybrid search and reranker add evidence); ``documents`` limits the rows (names or ids).
    """
    import time

    t0 = time.perf_counter()
    if not columns:
        raise ValueError("a review needs at least one column")
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise ValueError(f"columns named twice: {sorted({k for k in keys if keys.count(k) > 1})}")
    view = retriever.collection.view()
    infos = view.documents()
    if documents is not None:
        wanted = list(documents)
        by = {d.id: d for d in infos} | {d.name: d for d in infos}
        missing = [w for w in wanted if w not in by]
        if missing:
            raise KeyError(f"no document(s) {missing} in collection {retriever.collection.name!r}")
        infos = list(dict.fromkeys(by[w] for w in wanted))
    model = model_key(retriever.encoder)
    gen = generation(config)
    docs = [_Doc(d.id, d.name, d.content_hash) for d in infos]
    cells: dict[tuple[int, str], Cell] = {}
    todo: list[tuple[_Doc, list[Column]]] = []
    for d in docs:
        stored = store.cells(d.content_hash, columns, model, gen) if store else {}
        for key, cell in stored.items():
            cell.doc_id, cell.document = d.id, d.name  # the same content may have been re-added
            cells[(d.id, key)] = cell
        missing_cols = [c for c in columns if c.key not in stored]
        if missing_cols:
            todo.append((d, missing_cols))
    total = sum(len(cols) for _, cols in todo)
    done = 0
    if progress:
        progress(0, total)
    for d, cols in todo:
        document = view.document(d.id)
        clauses = view.clauses(d.id)
        units, vecs = document_units(retriever.encoder, store, d.content_hash, document.text)
        signals = document_signals(retriever, d.id, d.name, document.text, units, vecs, cols, config, store)
        new = [(c, make_cell(d.id, d.name, document, clauses, units, c, s, config)) for c, s in zip(cols, signals)]
        if store:
            store.put_cells(d.content_hash, new, model, gen)
        for c, cell in new:
            cells[(d.id, c.key)] = cell
        done += len(cols)
        if progress:
            progress(done, total)
    return Grid(collection=retriever.collection.name, columns=list(columns), documents=[(d.id, d.name) for d in docs],
                cells=cells, computed=total, seconds=time.perf_counter() - t0)
