"""The catalog: one SQLite database (WAL mode) per collection.

It holds every document, chunk, clause and defined term, the model and settings
the collection was built with, and the *generations*: each committed batch
creates generation G+1, whose manifest (the list of segment folders and their
deletion files) is inserted in the same SQLite transaction as the batch's rows
and the new ``meta.generation``. That single commit is the moment a batch
becomes visible; files written before it and not referenced by it are orphans
that the next writer deletes.

Rows are versioned instead of updated: a document row carries ``added_gen`` and
``deleted_gen``, and a view of generation G sees exactly the documents with
``added_gen <= G < deleted_gen``. Chunks, clauses and terms belong to their
document's row. Rows are physically removed only once no reader leases a
generation that can see them (see :mod:`rag.store.locks`), so a view never has
rows vanish under it and needs no long-running read transaction.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from rag.documents import DocumentInfo, StoredChunk, TextLine

FORMAT_VERSION = 1
WAL_LIMIT = 64 << 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS generations (
    gen INTEGER PRIMARY KEY,
    committed_at TEXT NOT NULL,
    manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    media_type TEXT NOT NULL,
    language TEXT NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    text TEXT NOT NULL,
    page_spans TEXT NOT NULL,
    lines BLOB,
    warnings TEXT NOT NULL,
    source_file TEXT,
    added_gen INTEGER NOT NULL,
    deleted_gen INTEGER
);
CREATE INDEX IF NOT EXISTS documents_name ON documents(name);
CREATE INDEX IF NOT EXISTS documents_hash ON documents(content_hash);
CREATE INDEX IF NOT EXISTS documents_deleted ON documents(deleted_gen);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page_first INTEGER,
    page_last INTEGER,
    clause TEXT,
    heading_path TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS clauses (
    doc_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    label TEXT NOT NULL,
    norm TEXT NOT NULL,
    kind TEXT NOT NULL,
    heading TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    parent INTEGER,
    level INTEGER NOT NULL,
    PRIMARY KEY (doc_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS terms (
    doc_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    term TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    PRIMARY KEY (doc_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    created_gen INTEGER NOT NULL,
    retired_gen INTEGER
);
"""

#: SQL condition: document row ``d`` is visible in generation ``:gen``.
VISIBLE = "d.added_gen <= :gen AND (d.deleted_gen IS NULL OR d.deleted_gen > :gen)"

LINE_DTYPE = np.dtype(
    [("start", "<i8"), ("end", "<i8"), ("page", "<i8"), ("x0", "<f8"), ("top", "<f8"), ("x1", "<f8"), ("bottom", "<f8")]
)


def connect(
    path: Path, read_only: bool = False, factory: type = sqlite3.Connection, durable: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit ``BEGIN``/``COMMIT``).

    ``synchronous=FULL`` makes each commit durable; ``NORMAL`` (in WAL mode) stays
    consistent after any crash but may lose the last commits on power loss.
    """
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False, factory=factory)
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    conn.execute("PRAGMA busy_timeout=60000")
    if read_only:
        conn.execute("PRAGMA query_only=1")
    else:
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")  # big batches must not leave a huge -wal behind
    return conn


def create_schema(conn: Any, values: dict[str, str], more: str = "") -> None:
    """Create the tables (``SCHEMA`` plus ``more``) and the first (empty) generation 0, inside the
    caller's transaction, in either catalog database (:mod:`rag.store.catalog_sql`)."""
    for stmt in (SCHEMA + more).split(";"):
        if stmt.strip():
            conn.execute(stmt)
    meta = {"format": str(FORMAT_VERSION), "generation": "0", "next_chunk_id": "1", "next_segment": "1", **values}
    conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", sorted(meta.items()))
    conn.execute(
        "INSERT INTO generations(gen, committed_at, manifest) VALUES (0, ?, ?)",
        (values.get("created_at", ""), json.dumps({"segments": []})),
    )


def init_catalog(conn: sqlite3.Connection, values: dict[str, str]) -> None:
    """Create the schema and the first (empty) generation 0 in a new SQLite catalog file."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    create_schema(conn, values)
    conn.execute("COMMIT")


def timestamp() -> str:
    """The catalog's timestamp format: UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return dict(conn.execute("SELECT key, value FROM meta").fetchall())


def current_generation(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return int(row[0])


def manifest_of(conn: sqlite3.Connection, gen: int) -> dict[str, Any] | None:
    row = conn.execute("SELECT manifest FROM generations WHERE gen = ?", (gen,)).fetchone()
    return None if row is None else json.loads(row[0])


def encode_lines(lines: list[TextLine]) -> bytes | None:
    if not lines:
        return None
    arr = np.array([(ln.start, ln.end, ln.page, ln.x0, ln.top, ln.x1, ln.bottom) for ln in lines], dtype=LINE_DTYPE)
    return arr.tobytes()


def decode_lines(blob: bytes | None) -> list[TextLine]:
    if not blob:
        return []
    arr = np.frombuffer(blob, dtype=LINE_DTYPE)
    return [
        TextLine(int(r[0]), int(r[1]), int(r[2]), float(r[3]), float(r[4]), float(r[5]), float(r[6]))
        for r in arr.tolist()
    ]


DOC_INFO_COLS = "d.id, d.name, d.content_hash, d.media_type, d.language, d.pages, d.chunks, d.added_at, d.size_bytes"


def doc_info(row: tuple) -> DocumentInfo:
    return DocumentInfo(
        id=int(row[0]),
        name=row[1],
        content_hash=row[2],
        media_type=row[3],
        language=row[4],
        pages=int(row[5]),
        chunks=int(row[6]),
        added_at=row[7],
        size_bytes=int(row[8]),
    )


CHUNK_COLS = 'c.id, c.doc_id, d.name, c.start, c."end", c.text, c.clause, c.heading_path, c.page_first, c.page_last'


def stored_chunk(row: tuple) -> StoredChunk:
    pages = None if row[8] is None else (int(row[8]), int(row[9]))
    return StoredChunk(
        id=int(row[0]),
        doc_id=int(row[1]),
        doc_name=row[2],
        start=int(row[3]),
        end=int(row[4]),
        text=row[5],
        clause=row[6],
        heading_path=tuple(json.loads(row[7])),
        pages=pages,
    )
