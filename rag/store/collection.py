"""Collections: one catalog plus one vector store, read through views and written in batches.

A FAISS collection is a folder under the data directory::

    <data_dir>/<name>/
        catalog.sqlite (+ -wal, -shm)   documents, chunks, clauses, terms, generations (rag.store.catalog)
        parts/seg-XXXXXXXX/             immutable segments: dense, sparse, ColBERT (rag.store.faiss_vectors)
        sources/<sha256>.bin            stored copies of the original files, for display
        locks/gen-N.lock                reader leases on generations (rag.store.locks)
        write.lock                      the single writer's lock

A Milvus collection has the same folder without ``parts/`` (its catalog is
``milvus-catalog.sqlite``) and keeps its vectors in Milvus (:mod:`rag.store.milvus`). The
folder's name is the collection's name.

A :class:`Collection` object is cheap, thread-safe and meant to be shared (the Streamlit app
keeps one per collection for all browser sessions): it caches loaded generations weakly, so all
views of a generation share one copy of its search structures.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.store.catalog import current_generation, manifest_of, timestamp
from rag.store.catalog_access import CatalogHeader, read_header
from rag.store.catalog_db import CatalogDB, FileCatalog
from rag.store.errors import CollectionError
from rag.store.faiss_vectors import FaissVectors
from rag.store.folders import list_folders, new_folder, remove_retired, rename_folder, retire_folder, write_catalog
from rag.store.locks import release_lease
from rag.store.model import IndexOptions, ModelInfo, check_model
from rag.store.names import is_name, validate_name
from rag.store.view import View
from rag.store.writer import Writer

CATALOG = "catalog.sqlite"

__all__ = ["CATALOG", "Collection", "create_collection", "delete_collection", "list_collections",
           "open_collection", "rename_collection", "validate_name"]


def _faiss_store(header: CatalogHeader, col: Collection) -> Any:
    return FaissVectors(col.path, col.name, header.info, header.options, col.db)


class Collection:
    """One collection; open with :meth:`open` or :func:`open_collection`.

    ``path`` is its folder, ``catalog`` the catalog file's name in it; ``store(header, collection)``
    makes the vector store (FAISS segments by default; :class:`~rag.store.milvus.MilvusCollection`
    passes Milvus). A collection whose catalog is elsewhere (PostgreSQL) passes ``header`` and its
    catalog database ``db`` instead, and may have no folder (``path`` is then ``None``).
    """

    def __init__(self, path: Path | None, catalog: str = CATALOG, store: Callable[..., Any] = _faiss_store,
                 *, header: CatalogHeader | None = None, db: CatalogDB | None = None) -> None:
        self.path = None if path is None else Path(path).resolve()
        if db is None:
            assert self.path is not None
            self.catalog_path: Path | None = self.path / catalog
            if not self.catalog_path.is_file():
                raise CollectionError(f"{self.path} is not a collection (no {catalog})")
            header = read_header(self.catalog_path)
            self.name: str = self.path.name if is_name(self.path.name) else header.name
            db = FileCatalog(self.path, catalog, header.options.durable)
            self.sources_dir = self.path / "sources"
            self.locks_dir = self.path / "locks"
        else:
            assert header is not None
            self.catalog_path = None
            self.name = header.name
        self.info = header.info
        self.options = header.options
        self.meta = header.meta
        self.db: CatalogDB = db
        self._lock = threading.Lock()
        self.vectors = store(header, self)
        self._snapshots: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._latest: Any = None  # the current generation, kept loaded when the store asks for it

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Collection:
        """Open the collection folder at ``path``."""
        return cls(Path(path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {self.info.describe()}, path={str(self.path)!r})"

    @property
    def parts_dir(self) -> Path:
        """The segment folders (FAISS collections only)."""
        return self.vectors.parts_dir

    def check_model(self, info: ModelInfo) -> None:
        """Raise :class:`ModelMismatch` unless ``info`` embeds like this collection's model."""
        check_model(self.name, self.info, info)

    # ------------------------------------------------------------------ writing
    def writer(self, wait: bool = False, timeout: float | None = None) -> Writer:
        """Start a batch; ``CollectionBusy`` if another writer is active (unless ``wait``)."""
        return Writer(self, wait=wait, timeout=timeout)

    def compact(self, wait: bool = True, timeout: float | None = None) -> int:
        """Merge all segments into one (FAISS) or re-normalise BM25 weights and compact (Milvus)."""
        with self.writer(wait=wait, timeout=timeout) as w:
            w.compact()
        return self.current_generation()

    # ------------------------------------------------------------------ reading
    def _conn(self) -> Any:
        return self.db.reader()

    def _writer_conn(self) -> Any:
        """The catalog connection writers use; only the holder of the write lock touches it."""
        return self.db.writer()

    def current_generation(self) -> int:
        """The current (last committed) generation."""
        return current_generation(self._conn())

    generation = current_generation

    def view(self) -> View:
        """A consistent read-only view of the current generation."""
        for _ in range(100):
            conn = self._conn()
            gen = current_generation(conn)
            with self._lock:
                snap = self._snapshots.get(gen)
            if snap is None:
                snap = self._load_snapshot(gen, conn)
            if snap is not None:
                if self.vectors.keeps_current:
                    with self._lock:
                        if self._latest is None or self._latest.gen <= snap.gen:
                            self._latest = snap
                return View(self, snap)
        raise CollectionError(f"collection {self.name!r}: could not open a generation (writers too busy?)")

    def _snapshot_at(self, gen: int, conn: Any) -> Any:
        """The snapshot of ``gen``, which must exist (the writer's base generation)."""
        with self._lock:
            snap = self._snapshots.get(gen)
        if snap is None:
            snap = self._load_snapshot(gen, conn)
        if snap is None:
            raise CollectionError(f"collection {self.name!r}: generation {gen} has no manifest")
        return snap

    def _load_snapshot(self, gen: int, conn: Any) -> Any:
        """Lease ``gen`` and load it; ``None`` if it was collected in the meantime."""
        fd = self.db.lease(gen)
        try:
            manifest = manifest_of(conn, gen)
            if manifest is None:
                release_lease(fd)
                return None
            snap = self.vectors.load(conn, gen, manifest, fd)
        except BaseException:
            release_lease(fd)
            raise
        with self._lock:
            existing = self._snapshots.get(gen)
            if existing is not None:
                return existing  # ``snap`` is dropped and releases its own lease
            self._snapshots[gen] = snap
        return snap

    def _forget_current(self) -> None:
        """Forget the kept current snapshot (after a commit, so clean-up can collect its generation)."""
        with self._lock:
            self._latest = None

    def close(self) -> None:
        """Close this object's catalog connections (views of it must not be used afterwards)."""
        self._forget_current()
        self.db.close()


def record_name(catalog: Path) -> Callable[[Path], None]:
    """After a rename: note the folder's new name in the catalog's ``meta`` (informative)."""

    def record(new_path: Path) -> None:
        from rag.store.catalog import connect

        conn = connect(new_path / catalog.name)
        try:
            conn.execute("UPDATE meta SET value = ? WHERE key = 'name'", (new_path.name,))
        finally:
            conn.close()

    return record


# ---------------------------------------------------------------------- data directory
def create_collection(
    data_dir: str | os.PathLike[str], name: str, info: ModelInfo, options: IndexOptions | None = None
) -> Collection:
    """Create collection ``name`` under ``data_dir``; ``CollectionError`` if it exists."""
    validate_name(name)
    data_dir = Path(data_dir)
    final = data_dir / name
    values = {"name": name, "model": info.to_json(), "options": (options or IndexOptions()).to_json(),
              "created_at": timestamp()}
    with new_folder(final, f"collection {name!r} already exists in {data_dir}") as tmp:
        (tmp / "parts").mkdir()
        write_catalog(tmp / CATALOG, values)
    return Collection(final)


def open_collection(data_dir: str | os.PathLike[str], name: str) -> Collection:
    """Open collection ``name`` under ``data_dir``; ``CollectionError`` if there is none."""
    validate_name(name)
    path = Path(data_dir) / name
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} in {data_dir}")
    return Collection(path)


def list_collections(data_dir: str | os.PathLike[str]) -> list[str]:
    """Names of the collections under ``data_dir`` (sorted; empty if the folder does not exist)."""
    return list_folders(Path(data_dir), CATALOG)


def delete_collection(data_dir: str | os.PathLike[str], name: str, wait: bool = False, timeout: float | None = None) -> None:
    """Delete collection ``name`` (waits for, or refuses with ``CollectionBusy`` during, a write)."""
    validate_name(name)
    path = Path(data_dir) / name
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} in {data_dir}")
    remove_retired(retire_folder(path, name, wait, timeout))


def rename_collection(data_dir: str | os.PathLike[str], name: str, new_name: str, wait: bool = True,
                      timeout: float | None = None) -> Collection:
    """Rename collection ``name`` to ``new_name`` (waits for a running batch); the renamed collection.

    Objects opened under the old name must be reopened (their folder moved).
    """
    validate_name(name)
    validate_name(new_name)
    path = Path(data_dir) / name
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} in {data_dir}")
    rename_folder(path, path.parent / new_name, name, record_name(path / CATALOG), wait, timeout)
    return Collection(path.parent / new_name)
