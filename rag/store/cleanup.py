"""Garbage collection, run by the writer (which holds the write lock) before a batch and after a commit.

1. Forget old generations nobody leases (exclusive lock taken without waiting,
   then the generation's catalog row is deleted).
2. Purge what only forgotten generations could see: document rows (with their
   chunks, clauses and terms) deleted at or before the oldest remaining
   generation, and segment folders / deletion files retired by then.
3. Remove orphans: files a crashed writer left behind (segment folders and
   deletion files no catalog row records, temporary names, unreferenced source
   copies, stale lease files).

Every step is idempotent and safe to interrupt: the catalog is changed first,
files are deleted after, and a file missing on disk is not an error.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from rag.store.fsutil import TMP_MARK, remove_path
from rag.store.locks import gen_lock_path, release_lease, try_exclusive

_LOCK_RE = re.compile(r"^gen-(\d+)\.lock$")


def collect_garbage(conn: sqlite3.Connection, root: Path) -> dict[str, int]:
    """Run all steps against the collection folder ``root``; returns counts of what was removed."""
    parts_dir, sources_dir, locks_dir = root / "parts", root / "sources", root / "locks"
    removed = {"generations": 0, "documents": 0, "files": 0, "orphans": 0}
    current = int(conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])

    # 1. generations without readers
    old = [g for (g,) in conn.execute("SELECT gen FROM generations WHERE gen < ? ORDER BY gen", (current,))]
    for gen in old:
        fd = try_exclusive(locks_dir, gen)
        if fd is None:
            continue
        try:
            conn.execute("DELETE FROM generations WHERE gen = ?", (gen,))
            gen_lock_path(locks_dir, gen).unlink(missing_ok=True)
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
        retired = [p for (p,) in conn.execute("SELECT path FROM files WHERE retired_gen <= ?", (oldest,))]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    removed["documents"] = len(docs)
    for rel in retired:
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
    if parts_dir.is_dir():
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
    if sources_dir.is_dir():
        for f in sources_dir.iterdir():
            if f.name not in referenced:
                remove_path(f)
                removed["orphans"] += 1
    live_gens = {g for (g,) in conn.execute("SELECT gen FROM generations")}
    if locks_dir.is_dir():
        for f in locks_dir.iterdir():
            m = _LOCK_RE.match(f.name)
            if m and int(m.group(1)) not in live_gens:
                fd = try_exclusive(locks_dir, int(m.group(1)))
                if fd is not None:
                    try:
                        f.unlink(missing_ok=True)
                    finally:
                        release_lease(fd)
            elif TMP_MARK in f.name:
                remove_path(f)
    for f in root.iterdir():
        if TMP_MARK in f.name:
            remove_path(f)
    return removed
