"""Garbage collection, run by the writer (which holds the write lock) before a batch and after a commit.

1. Forget old generations nobody leases (exclusive lock taken without waiting,
   then the generation's catalog row is deleted).
2. Purge what only forgotten generations could see: document rows (with their
   chunks, clauses, terms and image items) deleted at or before the oldest remaining
   generation, and segment folders / deletion files retired by then.
3. Remove orphans: files a crashed writer left behind (segment folders and
   deletion files no catalog row records, temporary names, unreferenced source
   copies, stale lease files; the catalog database, :mod:`rag.store.catalog_db`, tidies
   what is its own).

Every step is idempotent and safe to interrupt: the catalog is changed first,
files are deleted after, and a file missing on disk is not an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag.store import image_rows
from rag.store.catalog_db import CatalogDB
from rag.store.fsutil import TMP_MARK, remove_path
from rag.store.locks import release_lease


def collect_garbage(conn: Any, db: CatalogDB, parts_dir: Path | None = None) -> dict[str, int]:
    """Run all steps on the catalog ``db`` (``conn``: its writer connection) and, for FAISS
    collections, the segment folders in ``parts_dir``; returns counts of what was removed."""
    removed = {"generations": 0, "documents": 0, "files": 0, "orphans": 0}
    current = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    # 1. generations without readers
    old = [g for (g,) in conn.execute("SELECT gen FROM generations WHERE gen < ? ORDER BY gen", (current,))]
    for gen in old:
        fd = db.try_exclusive(gen)
        if fd is None:
            continue
        try:
            conn.execute("DELETE FROM generations WHERE gen = ?", (gen,))
            removed["generations"] += 1
        finally:
            release_lease(fd)
    oldest = int(conn.execute("SELECT MIN(gen) FROM generations").fetchone()[0])

    # 2. rows and files no remaining generation can see
    conn.execute("BEGIN IMMEDIATE")
    try:
        docs = [d for (d,) in conn.execute("SELECT id FROM documents WHERE deleted_gen <= ?", (oldest,))]
        for table, col in (("chunks", "doc_id"), ("clauses", "doc_id"), ("terms", "doc_id"), ("documents", "id")):
            conn.executemany(f"DELETE FROM {table} WHERE {col} = ?", [(d,) for d in docs])
        image_rows.purge_documents(conn, docs)
        retired = [p for (p,) in conn.execute("SELECT path FROM files WHERE retired_gen <= ?", (oldest,))]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    removed["documents"] = len(docs)
    for rel in retired:
        if parts_dir is not None:
            remove_path(parts_dir / rel)
    if retired:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for rel in retired:
                conn.execute("DELETE FROM files WHERE path = ? OR path LIKE ?", (rel, rel + "/%"))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    removed["files"] = len(retired)

    # 3. orphans
    known = {p for (p,) in conn.execute("SELECT path FROM files")}
    known_dirs = {p for p in known if "/" not in p}
    if parts_dir is not None and parts_dir.is_dir():
        for entry in parts_dir.iterdir():
            if entry.name not in known_dirs:
                remove_path(entry)
                removed["orphans"] += 1
                continue
            for f in entry.iterdir():
                rel = f"{entry.name}/{f.name}"
                if TMP_MARK in f.name or (f.name.startswith("del-") and rel not in known):
                    remove_path(f)
                    removed["orphans"] += 1
    referenced = {s for (s,) in conn.execute("SELECT DISTINCT source_file FROM documents WHERE source_file IS NOT NULL")}
    live_gens = {g for (g,) in conn.execute("SELECT gen FROM generations")}
    removed["orphans"] += db.tidy(conn, referenced, live_gens)
    return removed
