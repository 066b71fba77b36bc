"""Unit vectors kept on disk, so that the first question over a document embeds nothing.

Span ranking (:mod:`rag.retrieve.spans`) matches a question against the units of its candidate
chunks (sentences and sub-clauses, :mod:`ingest.units`). Embedding them when a chunk first
becomes a candidate cost the first question over a document 2.7-11 s with MiniLM on two CPU
cores, far more with BGE-M3. Ingest now embeds every chunk's units right after the document
commits (``ingest.pipeline``), and chunks of collections built before are embedded once, when
first asked for, and kept.

The vectors live in ``<collection folder>/unit-vectors.sqlite``, beside the catalog (so they
are renamed and deleted with the collection), keyed by what they are derived from: the
document's content hash and title, the chunk's span, the model, and :data:`UNIT_VERSION`. The
catalog is not touched. Deleting the file loses nothing that cannot be recomputed. Vectors are
stored as float16 and every vector, cached or fresh, is rounded through float16 so a ranking
never depends on whether a chunk was cached.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import document_title
from ingest.units import Unit, UnitConfig
from rag.lexical import term_counts

log = logging.getLogger(__name__)

#: bump when the unit splitter (ingest/units.py) or the embedded text (:func:`embed_text`) changes
UNIT_VERSION = "1"
FILE_NAME = "unit-vectors.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    doc_hash TEXT NOT NULL, title TEXT NOT NULL, chunk_start INTEGER NOT NULL, chunk_end INTEGER NOT NULL,
    model TEXT NOT NULL, version TEXT NOT NULL,
    units TEXT NOT NULL, dim INTEGER NOT NULL, dense BLOB NOT NULL, sparse TEXT,
    PRIMARY KEY (doc_hash, title, chunk_start, chunk_end, model, version));
"""


@dataclass
class UnitVectors:
    """The units of one chunk with their dense vectors and sparse term weights."""

    units: list[Unit]
    dense: np.ndarray  # (n_units, dim) float32, unit-normalised as the encoder returns them
    sparse: list[dict[int, float]]


@dataclass(frozen=True)
class ChunkKey:
    """What a chunk's unit vectors are derived from (besides the model)."""

    doc_hash: str
    title: str
    start: int
    end: int


def model_key(encoder: Any, sparse_kind: str) -> str:
    """The encoder as far as unit vectors depend on it."""
    return (f"{getattr(encoder, 'name', type(encoder).__name__)}|dim={getattr(encoder, 'dim', '?')}"
            f"|max={getattr(encoder, 'max_length', '?')}|sparse={sparse_kind}")


def version_key(config: UnitConfig) -> str:
    return f"{UNIT_VERSION}:{config.target_tokens}/{config.max_tokens}/{config.min_tokens}"


def embed_text(title: str, heading_path: Sequence[str], body: str) -> str:
    """What a unit is embedded as: the document's title and the unit's heading path, as chunks are."""
    prefix = [p for p in (title, " > ".join(heading_path)) if p]
    return "\n".join(prefix) + "\n\n" + body if prefix else body


def encode_units(encoder: Any, sparse_kind: str, texts: Sequence[str],
                 progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, list[dict[int, float]]]:
    """Dense vectors (rounded through float16) and sparse weights of unit texts, in one batch;
    ``progress(done, total)`` after each encoder batch."""
    lexical = sparse_kind == "lexical"
    out = encoder.encode(list(texts), dense=True, sparse=lexical, colbert=False, progress=progress)
    dense = np.asarray(out.dense, dtype=np.float16).astype(np.float32)
    sparse = [dict(s) for s in out.sparse] if lexical else [term_counts(t) for t in texts]
    return dense, sparse


class UnitVectorStore:
    """One collection's unit vectors on disk (SQLite, WAL): get many chunks, put many chunks."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with closing(self._connect()) as conn, conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def get(self, keys: Sequence[ChunkKey], model: str, version: str,
            sparse_kind: str) -> dict[ChunkKey, UnitVectors]:
        """The stored chunks among ``keys``; missing ones are absent from the result."""
        out: dict[ChunkKey, UnitVectors] = {}
        if not keys:
            return out
        with closing(self._connect()) as conn:
            for k in dict.fromkeys(keys):
                row = conn.execute(
                    "SELECT units, dim, dense, sparse FROM units WHERE doc_hash = ? AND title = ? AND chunk_start = ?"
                    " AND chunk_end = ? AND model = ? AND version = ?",
                    (k.doc_hash, k.title, k.start, k.end, model, version)).fetchone()
                if row is not None:
                    out[k] = _decode(row, sparse_kind)
        return out

    def put(self, items: Sequence[tuple[ChunkKey, UnitVectors]], model: str, version: str,
            sparse_kind: str) -> None:
        if not items:
            return
        rows = []
        for k, uv in items:
            units = json.dumps([[u.start, u.end, u.clause, list(u.heading_path)] for u in uv.units],
                               ensure_ascii=False)
            dense = np.ascontiguousarray(uv.dense, dtype=np.float16)
            sparse = (json.dumps([[[int(t) for t in s], [float(w) for w in s.values()]] for s in uv.sparse])
                      if sparse_kind == "lexical" else None)
            rows.append((k.doc_hash, k.title, k.start, k.end, model, version, units, int(dense.shape[1]),
                         dense.tobytes(), sparse))
        with closing(self._connect()) as conn, conn:
            conn.executemany("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def count(self) -> int:
        with closing(self._connect()) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM units").fetchone()[0])


def _decode(row: tuple[Any, ...], sparse_kind: str) -> UnitVectors:
    units_json, dim, blob, sparse_json = row
    units = [Unit(int(s), int(e), tuple(path), clause) for s, e, clause, path in json.loads(units_json)]
    dense = np.frombuffer(blob, dtype=np.float16).reshape(len(units), dim).astype(np.float32)
    if sparse_kind == "lexical" and sparse_json:
        sparse = [dict(zip(ids, ws)) for ids, ws in json.loads(sparse_json)]
    else:
        sparse = []  # BM25 term counts: recomputed from the text by the caller (cheap, exact)
    return UnitVectors(units, dense, sparse)


def store_for(collection: Any) -> UnitVectorStore | None:
    """The unit-vector file of a collection folder; None where there is no folder or it cannot
    be written (then vectors are kept in memory only, as before)."""
    folder = getattr(collection, "path", None)
    if folder is None or not Path(folder).is_dir():
        return None
    try:
        return UnitVectorStore(Path(folder) / FILE_NAME)
    except (sqlite3.Error, OSError) as exc:
        log.warning("unit vectors of %s are not kept on disk: %s", folder, exc)
        return None


def fill_document(collection: Any, encoder: Any, sparse_kind: str, *, name: str, content_hash: str, text: str,
                  clauses: Sequence[Any], chunks: Sequence[Any],
                  config: UnitConfig = UnitConfig(), on_batch: Callable[[int, int], None] | None = None) -> int:
    """Embed and store the units of every chunk of one document (the ingest hook); how many units.

    ``chunks`` have ``start``, ``end`` and ``heading_path``. Chunks already stored (the same
    content under the same title and model) are skipped. ``on_batch(done, total)`` follows the
    embedding: with BGE-M3 on a CPU it takes longer than the chunks' own (more, shorter texts).
    """
    from ingest.units import DocumentUnits

    store = store_for(collection)
    if store is None or not chunks:
        return 0
    model, version = model_key(encoder, sparse_kind), version_key(config)
    title = document_title(name)
    by_key = {ChunkKey(content_hash, title, c.start, c.end): c for c in chunks}
    have = store.get(list(by_key), model, version, sparse_kind)
    todo = [k for k in by_key if k not in have]
    if not todo:
        return 0
    splitter = DocumentUnits(text, list(clauses), getattr(encoder, "tokenizer", None), config)
    per_chunk = [units_of(splitter, k.start, k.end, by_key[k].heading_path) for k in todo]
    texts = [embed_text(title, u.heading_path, text[u.start:u.end]) for units in per_chunk for u in units]
    dense, sparse = encode_units(encoder, sparse_kind, texts, progress=on_batch)
    items, i = [], 0
    for k, units in zip(todo, per_chunk):
        n = len(units)
        items.append((k, UnitVectors(units, dense[i:i + n], sparse[i:i + n])))
        i += n
    store.put(items, model, version, sparse_kind)
    return len(texts)


def fill_committed(collection: Any, encoder: Any, committed: Sequence[tuple[Any, Any]],
                   on_units: Callable[[str, int, int], None] | None = None) -> None:
    """The ingest hook: :func:`fill_document` for each (FileResult, Prepared) just committed. A
    derived cache: a failure is logged, never a failed file (the units are then embedded when
    first asked for); the time is added to the file's seconds. ``on_units(name, done, total)``
    follows each document's embedding batches (progress bars)."""
    import time

    for result, p in committed:
        t0 = time.perf_counter()
        progress = partial(on_units, result.name) if on_units is not None else None
        try:
            fill_document(collection, encoder, collection.info.sparse, name=p.document.name,
                          content_hash=p.content_hash, text=p.document.text, clauses=p.clauses, chunks=p.chunks,
                          on_batch=progress)
        except Exception as exc:  # noqa: BLE001 - the document is stored; only the cache is missing
            log.warning("%s: unit vectors not stored (%s); they are embedded when first asked for",
                        result.name, " ".join(str(exc).split())[:200])
        result.seconds += time.perf_counter() - t0


def units_of(splitter: Any, start: int, end: int, heading_path: Sequence[str] = ()) -> list[Unit]:
    """A chunk's units; a chunk the splitter finds nothing in stays one unit (never lose a chunk)."""
    return splitter.of(start, end) or [Unit(start, end, tuple(heading_path))]
