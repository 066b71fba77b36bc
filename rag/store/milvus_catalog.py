"""What a Milvus-backed collection keeps in its SQLite catalog besides the common tables.

The catalog (:mod:`rag.store.catalog`: documents, chunks, clause trees, defined terms,
generations) stays the source of truth and its commit is the commit point of every batch;
Milvus holds the vectors, keyed by chunk id. These tables tie the two together:

* ``milvus_trash``: documents deleted by a committed batch whose Milvus rows still exist.
  Views hide them; once the catalog has purged the document (no reader can see it any more)
  the next writer deletes its rows from Milvus and then the trash row.
* ``milvus_doc_stats`` (BM25 collections): each document's summed chunk length and, per
  term, how many of its chunks contain it (int32 arrays: term ids are < 2**31), so deleting
  it updates ``df`` without asking Milvus.
* ``milvus_df`` (BM25 collections): live document frequency per term, updated in the batch's
  transaction, so it always matches the current generation.
* ``milvus_colbert``: float16 ColBERT vectors per chunk (Milvus Lite has no multi-vector
  field type; they are read for a query's few dozen candidates only).

Each generation's manifest records ``next_chunk_id``: chunk ids at or above it belong to later
batches (or to batches that never committed) and are invisible to that generation's views.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

import numpy as np

from rag.store.catalog import VISIBLE

SCHEMA = """
CREATE TABLE IF NOT EXISTS milvus_trash (
    doc_id INTEGER PRIMARY KEY,
    deleted_gen INTEGER NOT NULL,
    first_chunk INTEGER NOT NULL,
    end_chunk INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS milvus_doc_stats (
    doc_id INTEGER PRIMARY KEY,
    dl_sum REAL NOT NULL,
    terms BLOB NOT NULL,
    counts BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS milvus_df (term INTEGER PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS milvus_colbert (chunk_id INTEGER PRIMARY KEY, vecs BLOB NOT NULL);
"""


def create_tables(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    for stmt in SCHEMA.split(";"):
        if stmt.strip():
            conn.execute(stmt)
    conn.execute("COMMIT")


# ---------------------------------------------------------------------- views
def live_chunks(conn: sqlite3.Connection, gen: int) -> tuple[np.ndarray, np.ndarray]:
    """``(chunk ids ascending, their document ids)`` visible in generation ``gen``."""
    rows = conn.execute(
        f"SELECT c.id, c.doc_id FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE {VISIBLE} ORDER BY c.id",
        {"gen": gen},
    ).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = np.asarray(rows, dtype=np.int64)
    return arr[:, 0].copy(), arr[:, 1].copy()


def hidden_documents(conn: sqlite3.Connection, gen: int) -> tuple[list[int], int]:
    """Documents deleted at or before ``gen`` whose Milvus rows may still exist, and their chunk count."""
    rows = conn.execute(
        "SELECT doc_id, end_chunk - first_chunk FROM milvus_trash WHERE deleted_gen <= ? ORDER BY doc_id", (gen,)
    ).fetchall()
    return [int(r[0]) for r in rows], int(sum(r[1] for r in rows))


def live_chunk_count(conn: sqlite3.Connection, gen: int) -> int:
    """How many chunks generation ``gen`` sees (from the documents' counts)."""
    row = conn.execute(f"SELECT COALESCE(SUM(d.chunks), 0) FROM documents d WHERE {VISIBLE}", {"gen": gen}).fetchone()
    return int(row[0])


def live_length_sum(conn: sqlite3.Connection, gen: int) -> float:
    row = conn.execute(
        "SELECT COALESCE(SUM(s.dl_sum), 0) FROM milvus_doc_stats s JOIN documents d ON d.id = s.doc_id "
        f"WHERE {VISIBLE}",
        {"gen": gen},
    ).fetchone()
    return float(row[0])


def document_frequencies(conn: sqlite3.Connection, terms: np.ndarray) -> np.ndarray:
    """Live ``df`` of ``terms`` (0 for unknown terms), in the order given."""
    if len(terms) == 0:
        return np.zeros(0, np.int64)
    found = dict(
        conn.execute(
            "SELECT term, df FROM milvus_df WHERE term IN (SELECT value FROM json_each(?))",
            (json.dumps([int(t) for t in terms]),),
        ).fetchall()
    )
    return np.array([int(found.get(int(t), 0)) for t in terms], dtype=np.int64)


def colbert_vectors(conn: sqlite3.Connection, ids: Sequence[int], dim: int) -> dict[int, np.ndarray]:
    rows = conn.execute(
        "SELECT chunk_id, vecs FROM milvus_colbert WHERE chunk_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted({int(i) for i in ids})),),
    ).fetchall()
    return {int(cid): np.frombuffer(blob, dtype=np.float16).reshape(-1, dim).astype(np.float32) for cid, blob in rows}


# ---------------------------------------------------------------------- writers
def put_doc_stats(conn: sqlite3.Connection, doc_id: int, dl_sum: float, terms: np.ndarray, counts: np.ndarray) -> None:
    conn.execute(
        "INSERT INTO milvus_doc_stats(doc_id, dl_sum, terms, counts) VALUES (?, ?, ?, ?)",
        (int(doc_id), float(dl_sum), terms.astype("<i4").tobytes(), counts.astype("<i4").tobytes()),
    )


def doc_stats(conn: sqlite3.Connection, doc_id: int) -> tuple[float, np.ndarray, np.ndarray] | None:
    row = conn.execute("SELECT dl_sum, terms, counts FROM milvus_doc_stats WHERE doc_id = ?", (int(doc_id),)).fetchone()
    if row is None:
        return None
    terms = np.frombuffer(row[1], dtype="<i4").astype(np.int64)
    return float(row[0]), terms, np.frombuffer(row[2], dtype="<i4").astype(np.int64)


def apply_df(conn: sqlite3.Connection, terms: np.ndarray, deltas: np.ndarray) -> None:
    """Add ``deltas`` to the ``df`` of ``terms`` (inside the caller's transaction); drop zeros."""
    pairs = [(int(t), int(d)) for t, d in zip(terms.tolist(), deltas.tolist()) if d]
    conn.executemany(
        "INSERT INTO milvus_df(term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = milvus_df.df + excluded.df", pairs
    )
    if any(d < 0 for _, d in pairs):
        conn.execute("DELETE FROM milvus_df WHERE df <= 0")


def recount_df(conn: sqlite3.Connection, gen: int) -> dict[int, int]:
    """``df`` recomputed from the visible documents' stats (what ``milvus_df`` must hold)."""
    total: dict[int, int] = {}
    rows = conn.execute(
        f"SELECT s.terms, s.counts FROM milvus_doc_stats s JOIN documents d ON d.id = s.doc_id WHERE {VISIBLE}",
        {"gen": gen},
    )
    for t_blob, c_blob in rows:
        for t, c in zip(np.frombuffer(t_blob, "<i4").tolist(), np.frombuffer(c_blob, "<i4").tolist()):
            total[t] = total.get(t, 0) + c
    return total


def purged_trash(conn: sqlite3.Connection) -> list[tuple[int, int, int]]:
    """Trash entries whose document the catalog no longer holds: ``(doc_id, first_chunk, end_chunk)``."""
    rows = conn.execute(
        "SELECT t.doc_id, t.first_chunk, t.end_chunk FROM milvus_trash t "
        "WHERE NOT EXISTS (SELECT 1 FROM documents d WHERE d.id = t.doc_id)"
    ).fetchall()
    return [(int(a), int(b), int(c)) for a, b, c in rows]


def forget_trash(conn: sqlite3.Connection, entries: list[tuple[int, int, int]]) -> None:
    """Drop the rows that belonged to purged documents (after Milvus deleted their vectors)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for doc_id, first, end in entries:
            conn.execute("DELETE FROM milvus_colbert WHERE chunk_id >= ? AND chunk_id < ?", (first, end))
            conn.execute("DELETE FROM milvus_doc_stats WHERE doc_id = ?", (doc_id,))
            conn.execute("DELETE FROM milvus_trash WHERE doc_id = ?", (doc_id,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
