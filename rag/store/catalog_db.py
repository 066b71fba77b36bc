"""Where a collection's catalog lives: the one interface collections, views and writers use.

A catalog database gives connections that run the catalog's SQL (SQLite's dialect: ``?`` and
``:name`` placeholders, ``BEGIN IMMEDIATE``/``COMMIT``; see :mod:`rag.store.catalog_sql`) and
the coordination around them: the single-writer lock, reader leases on generations, the stored
copies of original files and small markers a writer leaves for the next one. Two implement it:

* :class:`FileCatalog` (the default): a SQLite file in the collection folder (WAL mode), with
  ``write.lock``, ``locks/gen-N.lock`` (``flock``), ``sources/`` and marker files beside it.
  Processes on one host share it.
* :class:`~rag.store.pg_catalog.PgCatalog`: one schema in a PostgreSQL database, with advisory
  locks for the writer and the leases, and sources and markers in tables, so processes on
  several hosts share a collection (its vectors on a Milvus server).

Either way the catalog's ``COMMIT`` is every batch's commit point.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any, Protocol

from rag.store.catalog import connect
from rag.store.document_sources import FileSources
from rag.store.errors import CollectionError
from rag.store.fsutil import TMP_MARK, remove_path, write_bytes_atomic
from rag.store.locks import WriteLock, forget_stale_leases, lease_generation, try_exclusive


class Lease(Protocol):
    def release(self) -> None: ...


class WriterLock(Protocol):
    held: bool

    def acquire(self, wait: bool = False, timeout: float | None = None) -> None: ...

    def release(self) -> None: ...


class CatalogDB(Protocol):
    """A collection's catalog database and the coordination around it (see the module docstring)."""

    kind: str  # "sqlite" or "postgresql"
    where: str  # for messages: the file, or the database and schema
    durable: bool

    def reader(self) -> Any:
        """This thread's read-only connection."""

    def writer(self) -> Any:
        """The read-write connection; only the holder of the write lock uses it."""

    def write_lock(self, collection: str) -> WriterLock:
        """A new (not yet acquired) single-writer lock of this collection."""

    def lease(self, gen: int) -> Any:
        """A shared lease on generation ``gen`` (``rag.store.locks.release_lease`` ends it)."""

    def try_exclusive(self, gen: int) -> Any | None:
        """An exclusive hold on ``gen`` if nobody leases it now, else ``None``."""

    def put_source(self, conn: Any, data: bytes) -> str:
        """Keep an original file (content-addressed) within the writer's transaction; its name."""

    def read_source(self, name: str) -> bytes | None:
        """A kept original file's bytes, ``None`` if it is missing."""

    def source_bytes(self, names: list[str]) -> int:
        """Bytes the named source copies take."""

    def tidy(self, conn: Any, referenced: set[str], live_gens: set[int]) -> int:
        """Remove what no catalog row refers to: source copies, stale leases, temporary files; how many."""

    def set_marker(self, name: str, data: bytes | None) -> None:
        """Write (or, with ``None``, remove) a small marker at once, outside any transaction."""

    def get_marker(self, name: str) -> bytes | None: ...

    def size_bytes(self) -> int:
        """Bytes the catalog takes."""

    def close(self) -> None:
        """Close every connection opened so far (later calls open new ones)."""


class _Conn(sqlite3.Connection):
    """A connection class that supports weak references (so :meth:`FileCatalog.close` finds them)."""


class FileCatalog:
    """The catalog as a SQLite file in the collection folder ``folder`` (see the module docstring).

    One read-only connection per thread (SQLite connections must not be shared between
    threads) and one writer connection.
    """

    kind = "sqlite"

    def __init__(self, folder: Path, catalog: str, durable: bool) -> None:
        self.folder = folder
        self.path = folder / catalog
        self.where = str(self.path)
        self.durable = durable
        self.locks_dir = folder / "locks"
        self.sources = FileSources(folder / "sources", durable)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: weakref.WeakSet[_Conn] = weakref.WeakSet()
        self._writer: sqlite3.Connection | None = None

    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, read_only=True, factory=_Conn)
            self._local.conn = conn
            self._all.add(conn)
        return conn

    def writer(self) -> sqlite3.Connection:
        with self._lock:
            if self._writer is None:
                self._writer = connect(self.path, durable=self.durable, factory=_Conn)
                self._all.add(self._writer)
            return self._writer

    def write_lock(self, collection: str) -> WriteLock:
        return WriteLock(self.folder / "write.lock", collection)

    def lease(self, gen: int) -> int:
        return lease_generation(self.locks_dir, gen)

    def try_exclusive(self, gen: int) -> int | None:
        return try_exclusive(self.locks_dir, gen)

    def put_source(self, conn: Any, data: bytes) -> str:
        return self.sources.put(data)

    def read_source(self, name: str) -> bytes | None:
        return self.sources.get(name)

    def source_bytes(self, names: list[str]) -> int:
        return self.sources.size(names)

    def tidy(self, conn: Any, referenced: set[str], live_gens: set[int]) -> int:
        removed = self.sources.keep_only(referenced) + forget_stale_leases(self.locks_dir, live_gens)
        for f in self.folder.iterdir():
            if TMP_MARK in f.name:
                remove_path(f)
        return removed

    def set_marker(self, name: str, data: bytes | None) -> None:
        if data is None:
            remove_path(self.folder / name)
        else:
            write_bytes_atomic(self.folder / name, data, self.durable)

    def get_marker(self, name: str) -> bytes | None:
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            p = self.path.with_name(self.path.name + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    def close(self) -> None:
        for conn in list(self._all):
            conn.close()
        self._local = threading.local()
        self._writer = None


def missing_source(collection: str, where: str, name: str, doc_id: int) -> CollectionError:
    return CollectionError(f"collection {collection!r}: source copy {name} of document {doc_id} is missing ({where})")
