"""How a collection object reaches its catalog file, whichever backend holds the vectors.

The settings a collection was created with are read once, when it is opened. After that each
thread reads through its own read-only connection (SQLite connections must not be shared
between threads), the one writer holding ``write.lock`` uses one read-write connection, and
closing the collection closes them all.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from rag.store.catalog import FORMAT_VERSION, connect, read_meta
from rag.store.errors import CollectionError
from rag.store.model import IndexOptions, ModelInfo


@dataclass(frozen=True)
class CatalogHeader:
    """What a catalog says about its collection: name, model, index settings, and all of ``meta``."""

    name: str
    info: ModelInfo
    options: IndexOptions
    meta: dict[str, str]


def read_catalog_meta(catalog_path: Path) -> dict[str, str]:
    """A catalog's ``meta`` table, read without writing anything; ``CollectionError`` naming the file."""
    try:
        conn = sqlite3.connect(f"file:{catalog_path}?mode=ro", uri=True, timeout=60.0)
        try:
            return read_meta(conn)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CollectionError(f"cannot read catalog {catalog_path}: {exc}") from exc


def read_header(catalog_path: Path) -> CatalogHeader:
    """Read a catalog's settings; ``CollectionError`` naming the file if it is unreadable or foreign."""
    meta = read_catalog_meta(catalog_path)
    try:
        fmt = int(meta["format"])
        header = CatalogHeader(meta["name"], ModelInfo.from_json(meta["model"]),
                               IndexOptions.from_json(meta["options"]), meta)
    except (KeyError, ValueError, TypeError) as exc:
        raise CollectionError(f"catalog {catalog_path} is malformed: {exc}") from exc
    if fmt != FORMAT_VERSION:
        raise CollectionError(f"catalog {catalog_path} has format {fmt}; this code reads {FORMAT_VERSION}")
    return header


class _Conn(sqlite3.Connection):
    """A connection class that supports weak references (so :meth:`CatalogConnections.close` finds them)."""


class CatalogConnections:
    """One read-only connection per thread and one writer connection to a catalog file."""

    def __init__(self, path: Path, durable: bool) -> None:
        self.path = path
        self._durable = durable
        self._lock = threading.Lock()
        self._local = threading.local()
        self._all: weakref.WeakSet[_Conn] = weakref.WeakSet()
        self._writer: sqlite3.Connection | None = None

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, read_only=True, factory=_Conn)
            self._local.conn = conn
            self._all.add(conn)
        return conn

    def writer(self) -> sqlite3.Connection:
        """The read-write connection; only the holder of the collection's ``write.lock`` may use it."""
        with self._lock:
            if self._writer is None:
                self._writer = connect(self.path, durable=self._durable, factory=_Conn)
                self._all.add(self._writer)
            return self._writer

    def close(self) -> None:
        """Close every connection opened so far (later calls open new ones)."""
        for conn in list(self._all):
            conn.close()
        self._local = threading.local()
        self._writer = None
