"""Where review cells live: one small SQLite file per collection, beside the collections.

``<data dir>/.review/<collection>.sqlite`` (a dot folder, so it is never listed as a collection)
holds the cells keyed by (document content, column and its wording, model, scoring generation),
the unit vectors of each document per model (adding a column re-encodes nothing), the example
vectors per model, and the custom columns people added to the collection's review. Deleting it
loses nothing that cannot be recomputed.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np

from rag.review.cells import Cell
from rag.review.columns import Column
from rag.review.units import Units

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cells (
    doc_hash TEXT NOT NULL, column_key TEXT NOT NULL, column_version TEXT NOT NULL,
    model TEXT NOT NULL, generation TEXT NOT NULL,
    doc_id INTEGER NOT NULL, document TEXT NOT NULL, found INTEGER NOT NULL, score REAL NOT NULL,
    raw REAL NOT NULL, spans TEXT NOT NULL, pages TEXT, clause TEXT, text TEXT NOT NULL,
    PRIMARY KEY (doc_hash, column_key, column_version, model, generation));
CREATE TABLE IF NOT EXISTS units (
    doc_hash TEXT NOT NULL, model TEXT NOT NULL, starts BLOB NOT NULL, ends BLOB NOT NULL,
    dim INTEGER NOT NULL, vectors BLOB NOT NULL, PRIMARY KEY (doc_hash, model));
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, rows INTEGER NOT NULL, cols INTEGER NOT NULL,
    data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS custom_columns (key TEXT PRIMARY KEY, name TEXT NOT NULL, question TEXT NOT NULL,
    position INTEGER NOT NULL);
"""


def store_path(data_dir: str | Path, collection: str) -> Path:
    """The review file of ``collection`` (a name under ``data_dir``, or a collection folder path)."""
    path = Path(collection)
    if "/" in collection or path.is_dir():
        return path.parent / ".review" / f"{path.name}.sqlite"
    return Path(data_dir) / ".review" / f"{collection}.sqlite"


class ReviewStore:
    """Cells, unit vectors and custom columns of one collection's review."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn, conn:
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    # -- cells ---------------------------------------------------------------------------------
    def cells(self, doc_hash: str, columns: list[Column], model: str, generation: str) -> dict[str, Cell]:
        """The stored cells of a document for these columns (by column key); missing ones absent."""
        if not columns:
            return {}
        wanted = {(c.key, c.version) for c in columns}
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT column_key, column_version, doc_id, document, found, score, raw, spans, pages, clause, text "
                "FROM cells WHERE doc_hash = ? AND model = ? AND generation = ?", (doc_hash, model, generation)).fetchall()
        out: dict[str, Cell] = {}
        for key, version, doc_id, document, found, score, raw, spans, pages, clause, text in rows:
            if (key, version) in wanted:
                out[key] = Cell(document=document, doc_id=doc_id, column=key, found=bool(found), score=score,
                                raw=raw, spans=[tuple(s) for s in json.loads(spans)],  # type: ignore[misc]
                                pages=tuple(json.loads(pages)) if pages else None,  # type: ignore[arg-type]
                                clause=clause, text=text)
        return out

    def put_cells(self, doc_hash: str, cells: list[tuple[Column, Cell]], model: str, generation: str) -> None:
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                "INSERT OR REPLACE INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(doc_hash, col.key, col.version, model, generation, c.doc_id, c.document, int(c.found), c.score,
                  c.raw, json.dumps([list(s) for s in c.spans]), json.dumps(list(c.pages)) if c.pages else None,
                  c.clause, c.text) for col, c in cells])

    def count_cells(self) -> int:
        with closing(self._connect()) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0])

    # -- vectors -------------------------------------------------------------------------------
    def units(self, doc_hash: str, model: str) -> tuple[Units, np.ndarray] | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT starts, ends, dim, vectors FROM units WHERE doc_hash = ? AND model = ?",
                               (doc_hash, model)).fetchone()
        if row is None:
            return None
        starts, ends = np.frombuffer(row[0], dtype=np.int64), np.frombuffer(row[1], dtype=np.int64)
        vecs = np.frombuffer(row[3], dtype=np.float16).reshape(len(starts), row[2]).astype(np.float32)
        return Units(starts, ends), vecs

    def put_units(self, doc_hash: str, model: str, units: Units, vecs: np.ndarray) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)",
                         (doc_hash, model, units.starts.astype(np.int64).tobytes(), units.ends.astype(np.int64).tobytes(),
                          int(vecs.shape[1]) if vecs.ndim == 2 else 0, vecs.astype(np.float16).tobytes()))

    def blob(self, key: str) -> np.ndarray | None:
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT rows, cols, data FROM blobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else np.frombuffer(row[2], dtype=np.float32).reshape(row[0], row[1]).copy()

    def put_blob(self, key: str, array: np.ndarray) -> None:
        a = np.ascontiguousarray(array, dtype=np.float32)
        with closing(self._connect()) as conn, conn:
            conn.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)", (key, a.shape[0], a.shape[1], a.tobytes()))

    # -- custom columns -------------------------------------------------------------------------
    def custom_columns(self) -> list[Column]:
        with closing(self._connect()) as conn:
            rows = conn.execute("SELECT key, name, question FROM custom_columns ORDER BY position").fetchall()
        return [Column(key=k, name=n, question=q) for k, n, q in rows]

    def add_custom_column(self, column: Column) -> None:
        with closing(self._connect()) as conn, conn:
            pos = conn.execute("SELECT COALESCE(MAX(position), 0) + 1 FROM custom_columns").fetchone()[0]
            conn.execute("INSERT OR REPLACE INTO custom_columns VALUES (?, ?, ?, ?)",
                         (column.key, column.name, column.question, pos))

    def remove_custom_column(self, key: str) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM custom_columns WHERE key = ?", (key,))
