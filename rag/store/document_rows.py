"""One added document, as the writer takes it in whichever store keeps the vectors.

Before anything is buffered, the document's arrays are checked against the collection (shapes,
finite values, no zero vector, chunk text equal to its span of the document) so a bad batch
fails with a message naming the collection and the document, and nothing half-written. Then
its catalog rows (document, chunks, clauses, defined terms) are inserted inside the writer's
open transaction. Where the vectors go is the writer's business.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.documents import Chunk, Clause, DefinedTerm, Document
from rag.store import sparse as sparse_mod
from rag.store.catalog import encode_lines, timestamp
from rag.store.model import ModelInfo

if TYPE_CHECKING:
    from rag.store.catalog_db import CatalogDB

FLOAT16_MAX = float(np.finfo(np.float16).max)


@dataclass(frozen=True)
class CheckedVectors:
    """A document's vectors, checked and in the layout the stores keep."""

    dense: np.ndarray  # (chunks, dim) float32, L2-normalised
    rows: np.ndarray  # sparse entries as COO: chunk index, term id, value
    terms: np.ndarray
    vals: np.ndarray
    lengths: np.ndarray  # per chunk: the sum of its sparse values (BM25 document length)
    colbert: list[np.ndarray] | None  # per chunk (tokens, colbert_dim) float16, or None


def check_document(
    collection: str,
    info: ModelInfo,
    document: Document,
    chunks: Sequence[Chunk],
    dense: np.ndarray,
    sparse: Sequence[dict[int, float]],
    colbert: Sequence[np.ndarray] | None,
    content_hash: str,
) -> CheckedVectors:
    """Check one document's chunks and vectors against the collection; ``ValueError`` names what is wrong."""
    what = f"collection {collection!r}, document {document.name!r}"
    n = len(chunks)
    dense = np.asarray(dense, dtype=np.float32)
    if dense.ndim == 1 and n == 0 and dense.size == 0:
        dense = dense.reshape(0, info.dim)
    if dense.shape != (n, info.dim):
        raise ValueError(f"{what}: dense must have shape ({n}, {info.dim}), got {dense.shape}")
    if not np.isfinite(dense).all():
        raise ValueError(f"{what}: dense vectors contain NaN or inf")
    norms = np.linalg.norm(dense, axis=1)
    if (norms == 0).any():
        raise ValueError(f"{what}: chunk {int(np.flatnonzero(norms == 0)[0])} has a zero dense vector")
    dense = (dense / norms[:, None]).astype(np.float32)
    if len(sparse) != n:
        raise ValueError(f"{what}: {len(sparse)} sparse dicts for {n} chunks")
    rows, terms, vals = sparse_mod.chunk_postings(sparse, what)
    lengths = np.bincount(rows, weights=vals, minlength=n).astype(np.float32)
    colbert16 = _colbert_float16(colbert, n, info.colbert_dim, what)
    text = document.text
    for i, ch in enumerate(chunks):
        if not (0 <= ch.start <= ch.end <= len(text)) or text[ch.start : ch.end] != ch.text:
            raise ValueError(f"{what}: chunk {i} text is not document.text[{ch.start}:{ch.end}]")
    if not content_hash:
        raise ValueError(f"{what}: content_hash is required")
    return CheckedVectors(dense, rows, terms, vals, lengths, colbert16)


def _colbert_float16(colbert: Sequence[np.ndarray] | None, n: int, cdim: int | None,
                     what: str) -> list[np.ndarray] | None:
    if not cdim:
        if colbert is not None:
            raise ValueError(f"{what}: the collection has no multi-vector (ColBERT) part")
        return None
    if colbert is None or len(colbert) != n:
        got = "none" if colbert is None else len(colbert)
        raise ValueError(f"{what}: the collection stores ColBERT vectors; need {n} arrays, got {got}")
    out = []
    for i, arr in enumerate(colbert):
        a = np.asarray(arr, dtype=np.float32)
        if a.ndim != 2 or a.shape[1] != cdim:
            raise ValueError(f"{what}: ColBERT array of chunk {i} has shape {a.shape}, need (tokens, {cdim})")
        if not np.isfinite(a).all() or (np.abs(a) > FLOAT16_MAX).any():
            raise ValueError(f"{what}: ColBERT array of chunk {i} is not finite in float16")
        out.append(a.astype(np.float16))
    return out


def insert_document(
    conn: Any,
    document: Document,
    chunks: Sequence[Chunk],
    clauses: Sequence[Clause],
    terms: Sequence[DefinedTerm],
    *,
    content_hash: str,
    source: bytes | None,
    source_file: str | None,
    generation: int,
    first_chunk_id: int,
) -> tuple[int, np.ndarray]:
    """Insert the document's catalog rows (in the caller's transaction); its id and its chunk ids."""
    text = document.text
    size = len(source) if source is not None else len(text.encode("utf-8"))
    row = conn.execute(
        "INSERT INTO documents(name, content_hash, media_type, language, pages, chunks, added_at, size_bytes,"
        " text, page_spans, lines, warnings, source_file, added_gen) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
        " RETURNING id",
        (document.name, content_hash, document.media_type, document.language, document.page_count, len(chunks),
         timestamp(), size, text, json.dumps([list(p) for p in document.page_spans]), encode_lines(document.lines),
         json.dumps(list(document.warnings)), source_file, generation),
    )
    doc_id = int(row.fetchone()[0])
    ids = np.arange(first_chunk_id, first_chunk_id + len(chunks), dtype=np.int64)
    conn.executemany(
        'INSERT INTO chunks(id, doc_id, start, "end", page_first, page_last, clause, heading_path, text)'
        " VALUES (?,?,?,?,?,?,?,?,?)",
        [(int(cid), doc_id, ch.start, ch.end, None if ch.pages is None else ch.pages[0],
          None if ch.pages is None else ch.pages[1], ch.clause, json.dumps(list(ch.heading_path)), ch.text)
         for cid, ch in zip(ids, chunks)],
    )
    conn.executemany(
        'INSERT INTO clauses(doc_id, idx, label, norm, kind, heading, start, "end", parent, level)'
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(doc_id, i, c.label, c.norm, c.kind, c.heading, c.start, c.end, c.parent, c.level)
         for i, c in enumerate(clauses)],
    )
    conn.executemany(
        'INSERT INTO terms(doc_id, idx, term, start, "end") VALUES (?,?,?,?,?)',
        [(doc_id, i, t.term, t.start, t.end) for i, t in enumerate(terms)],
    )
    return doc_id, ids


def record_document(
    conn: Any,
    collection: str,
    info: ModelInfo,
    db: CatalogDB,
    generation: int,
    first_chunk_id: int,
    document: Document,
    chunks: Sequence[Chunk],
    dense: np.ndarray,
    sparse: Sequence[dict[int, float]],
    colbert: Sequence[np.ndarray] | None,
    clauses: Sequence[Clause],
    terms: Sequence[DefinedTerm],
    content_hash: str,
    source: bytes | None,
) -> tuple[CheckedVectors, int, np.ndarray]:
    """What a writer's ``add_document`` does before its vectors go anywhere: check everything, keep
    the source file (the catalog database keeps it), insert the catalog rows. Returns the checked vectors, the document id and its
    chunk ids."""
    checked = check_document(collection, info, document, chunks, dense, sparse, colbert, content_hash)
    source_file = None if source is None else db.put_source(conn, bytes(source))
    doc_id, ids = insert_document(conn, document, chunks, clauses, terms, content_hash=content_hash,
                                  source=source, source_file=source_file, generation=generation,
                                  first_chunk_id=first_chunk_id)
    return checked, doc_id, ids
