"""Image items in the catalog: pictures and image pages of a document, with their vectors.

An image item (:mod:`ingest.images`) is a seal, a signature block, a chart or a scanned page: its
page and box, the text beside it (caption / OCR, with spans into the document's text), a PNG
thumbnail, its Visualized BGE vector, and the text encoder's vector of its text.

Why the vectors live here, as float32 BLOBs beside the rows, and not in the vector store: a
collection holds tens of image items (19 in the 35 sample contracts, 1,106 pages), so a brute-force
inner product in numpy over all of them takes microseconds, while a second index in every
:class:`~rag.store.vectors.VectorStore` backend (FAISS segments, Milvus) would add a vector space of
another dimension to each of them, their manifests and their crash-safety paths. Rows written here
are in the writer's open transaction, so the catalog ``COMMIT`` is their commit point too: a file
that fails leaves no image rows behind, and readers never see a document without its images.

Visibility follows the document row (``added_gen <= G < deleted_gen``), as for chunks: a deleted
document's items disappear with it, and its rows are removed with the document's other rows when
no generation can see it any more (:func:`purge_documents`, step 2 of :mod:`rag.store.cleanup`).

The SQL is portable on purpose (``?`` placeholders; TEXT / INTEGER / REAL / BLOB columns; no
SQLite-only syntax) so another catalog database can run it after a generic translation. An old
collection has no ``image_items`` table until its next write: reads treat that as "no items".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.documents import Box

TABLE = "image_items"

SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    doc_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    page INTEGER NOT NULL,
    kind TEXT NOT NULL,
    x0 REAL NOT NULL,
    top REAL NOT NULL,
    x1 REAL NOT NULL,
    bottom REAL NOT NULL,
    text TEXT NOT NULL,
    spans TEXT NOT NULL,
    coverage REAL NOT NULL,
    digest TEXT NOT NULL,
    thumbnail BLOB NOT NULL,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL,
    text_dim INTEGER NOT NULL,
    text_vector BLOB,
    PRIMARY KEY (doc_id, idx)
)""",
    f"CREATE INDEX IF NOT EXISTS {TABLE}_doc ON {TABLE}(doc_id)",
)

#: the document row ``d`` is visible in the generation bound twice after it
_VISIBLE = "d.added_gen <= ? AND (d.deleted_gen IS NULL OR d.deleted_gen > ?)"
_META = "i.doc_id, d.name, i.idx, i.page, i.kind, i.x0, i.top, i.x1, i.bottom, i.text, i.spans, i.coverage, i.model"


@dataclass(frozen=True)
class ImageRow:
    """A stored image item (without its thumbnail and vectors)."""

    doc_id: int
    doc_name: str
    idx: int  # 0-based, in the document's page order
    page: int
    kind: str  # "image" or "page"
    x0: float
    top: float
    x1: float
    bottom: float
    text: str
    spans: tuple[tuple[int, int], ...]
    coverage: float
    model: str

    @property
    def box(self) -> Box:
        return Box(self.page, self.x0, self.top, self.x1, self.bottom)

    @property
    def key(self) -> tuple[int, int]:
        return self.doc_id, self.idx


@dataclass(frozen=True)
class ImageSet:
    """The visible image items of a view, with their vectors row-aligned (for brute-force search)."""

    rows: list[ImageRow]
    vectors: np.ndarray  # [n, dim] float32 unit vectors (Visualized BGE); dim 0 when empty
    text_vectors: np.ndarray  # [n, text_dim] float32 (text encoder) ; zero rows where an item has no text
    has_text: np.ndarray  # [n] bool


def create_table(conn: Any) -> None:
    """Create the table if this catalog has none (inside the writer's transaction)."""
    for stmt in SCHEMA:
        conn.execute(stmt)


def check_items(what: str, items: Sequence[Any], vectors: np.ndarray, text_vectors: np.ndarray | None,
                text_dim: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Shapes, finite values and unit norms of one document's image vectors; ``ValueError`` names what is wrong."""
    n = len(items)
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != n or (n and vectors.shape[1] == 0):
        raise ValueError(f"{what}: image vectors must have shape ({n}, dim), got {vectors.shape}")
    if not np.isfinite(vectors).all():
        raise ValueError(f"{what}: image vectors contain NaN or inf")
    norms = np.linalg.norm(vectors, axis=1)
    if (norms == 0).any():
        raise ValueError(f"{what}: image item {int(np.flatnonzero(norms == 0)[0])} has a zero vector")
    vectors = vectors / norms[:, None]
    if text_vectors is not None:
        text_vectors = np.asarray(text_vectors, dtype=np.float32)
        if text_vectors.shape != (n, text_dim) or not np.isfinite(text_vectors).all():
            raise ValueError(f"{what}: image text vectors must be finite with shape ({n}, {text_dim}), "
                             f"got {text_vectors.shape}")
    for i, it in enumerate(items):
        if not (it.x0 < it.x1 and it.top < it.bottom and it.page >= 1):
            raise ValueError(f"{what}: image item {i} has an empty box or no page")
        if not isinstance(it.thumbnail, (bytes, bytearray)) or not it.thumbnail:
            raise ValueError(f"{what}: image item {i} has no thumbnail")
    return vectors.astype(np.float32), text_vectors


def insert_items(conn: Any, doc_id: int, items: Sequence[Any], vectors: np.ndarray,
                 text_vectors: np.ndarray | None, model: str) -> None:
    """Insert a document's checked image items (``ingest.images.ImageItem``-like) in the caller's transaction."""
    rows = []
    for i, it in enumerate(items):
        tv = None
        if text_vectors is not None and it.text:
            tv = np.ascontiguousarray(text_vectors[i], dtype=np.float32).tobytes()
        rows.append((int(doc_id), i, int(it.page), str(it.kind), float(it.x0), float(it.top), float(it.x1),
                     float(it.bottom), it.text, json.dumps([list(s) for s in it.spans]), float(it.coverage),
                     it.digest, bytes(it.thumbnail), model, int(vectors.shape[1]),
                     np.ascontiguousarray(vectors[i], dtype=np.float32).tobytes(),
                     0 if text_vectors is None else int(text_vectors.shape[1]), tv))
    conn.executemany(
        f"INSERT INTO {TABLE}(doc_id, idx, page, kind, x0, top, x1, bottom, text, spans, coverage, digest,"
        " thumbnail, model, dim, vector, text_dim, text_vector) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        rows)


def delete_document(conn: Any, doc_id: int) -> None:
    """Forget the items of a document that the same batch added (never visible to anyone)."""
    conn.execute(f"DELETE FROM {TABLE} WHERE doc_id = ?", (int(doc_id),))


def purge_documents(conn: Any, doc_ids: Sequence[int]) -> None:
    """Remove the items of documents no generation can see any more, in the caller's transaction.

    The table is created first because a catalog written before image items has none."""
    if doc_ids:
        create_table(conn)
        conn.executemany(f"DELETE FROM {TABLE} WHERE doc_id = ?", [(int(d),) for d in doc_ids])


def _missing_table(exc: Exception) -> bool:
    """Whether a read failed only because this catalog was never written with image items."""
    text = str(exc).lower()
    return TABLE in text and ("no such table" in text or "does not exist" in text or "undefined" in text)


def _doc_filter(doc_ids: Iterable[int] | None) -> tuple[str, list[int]]:
    if doc_ids is None:
        return "", []
    ids = sorted({int(d) for d in doc_ids})
    if not ids:
        return " AND 1 = 0", []
    return f" AND i.doc_id IN ({','.join('?' * len(ids))})", ids


def visible_items(conn: Any, generation: int, doc_ids: Iterable[int] | None = None, *,
                  vectors: bool = True) -> ImageSet:
    """The items of the documents visible in ``generation`` (of ``doc_ids`` when given), in
    document and page order, with their vectors unless ``vectors=False``."""
    where, ids = _doc_filter(doc_ids)
    cols = _META + (", i.dim, i.vector, i.text_dim, i.text_vector" if vectors else "")
    try:
        rows = conn.execute(
            f"SELECT {cols} FROM {TABLE} i JOIN documents d ON d.id = i.doc_id WHERE {_VISIBLE}{where}"
            " ORDER BY i.doc_id, i.idx", (generation, generation, *ids)).fetchall()
    except Exception as exc:  # noqa: BLE001 - the DB-API's error class differs per database
        if _missing_table(exc):
            rows = []
        else:
            raise
    meta = [ImageRow(int(r[0]), r[1], int(r[2]), int(r[3]), r[4], float(r[5]), float(r[6]), float(r[7]),
                     float(r[8]), r[9], tuple((int(a), int(b)) for a, b in json.loads(r[10])), float(r[11]), r[12])
            for r in rows]
    if not vectors or not rows:
        empty = np.zeros((len(meta), 0), np.float32)
        return ImageSet(meta, empty, empty, np.zeros(len(meta), bool))
    dims, text_dims = {int(r[13]) for r in rows}, {int(r[15]) for r in rows if r[16] is not None}
    if len(dims) > 1 or len(text_dims) > 1:
        raise ValueError(f"image items of several vector sizes ({sorted(dims)}, text {sorted(text_dims)}); "
                         "re-ingest the documents with one visual model")
    dim, text_dim = dims.pop(), (text_dims.pop() if text_dims else 0)
    vec = np.stack([np.frombuffer(r[14], dtype=np.float32, count=dim) for r in rows])
    has_text = np.array([r[16] is not None for r in rows], dtype=bool)
    tvec = np.zeros((len(rows), text_dim), np.float32)
    for i, r in enumerate(rows):
        if r[16] is not None:
            tvec[i] = np.frombuffer(r[16], dtype=np.float32, count=text_dim)
    return ImageSet(meta, vec, tvec, has_text)


def thumbnail(conn: Any, generation: int, doc_id: int, idx: int) -> bytes | None:
    """The PNG thumbnail of a visible item, or ``None`` when there is no such item."""
    try:
        row = conn.execute(
            f"SELECT i.thumbnail FROM {TABLE} i JOIN documents d ON d.id = i.doc_id"
            f" WHERE i.doc_id = ? AND i.idx = ? AND {_VISIBLE}",
            (int(doc_id), int(idx), generation, generation)).fetchone()
    except Exception as exc:  # noqa: BLE001 - as in visible_items
        if _missing_table(exc):
            return None
        raise
    return None if row is None else bytes(row[0])
