"""Collections: named folders under a data directory, each one knowledge base.

::

    <data_dir>/<name>/
        catalog.sqlite (+ -wal, -shm)   documents, chunks, clauses, terms, generations (rag.store.catalog)
        parts/seg-XXXXXXXX/             immutable segments: dense, sparse, ColBERT (rag.store.segment)
        sources/<sha256>.bin            stored copies of the original files, for display
        locks/gen-N.lock                reader leases on generations (rag.store.locks)
        write.lock                      the single writer's lock

A :class:`Collection` object is cheap, thread-safe and meant to be shared (the
Streamlit app keeps one per collection for all browser sessions): it caches the
loaded segments and generations weakly, so all views of a generation share one
copy of its memory maps.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import threading
import uuid
import weakref
from pathlib import Path

import numpy as np

from rag.store.catalog import connect, current_generation, init_catalog, manifest_of, timestamp
from rag.store.catalog_access import CatalogConnections, read_header
from rag.store.errors import CollectionError
from rag.store.fsutil import fsync_path, remove_path
from rag.store.locks import WriteLock, lease_generation, release_lease
from rag.store.model import IndexOptions, ModelInfo, check_model
from rag.store.segment import Segment, read_deletions
from rag.store.snapshot import Snapshot
from rag.store.view import View
from rag.store.writer import Writer

CATALOG = "catalog.sqlite"
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def validate_name(name: str) -> str:
    """A collection name: 1-64 of ``[A-Za-z0-9_.-]``, not starting with a dot (no ``..``, no hidden folders)."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name.startswith("."):
        raise CollectionError(
            f"invalid collection name {name!r}: use 1-64 letters, digits, '_', '-' or '.', not starting with '.'"
        )
    return name


class Collection:
    """One collection folder; open with :meth:`open` or :func:`open_collection`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.catalog_path = self.path / CATALOG
        if not self.catalog_path.is_file():
            raise CollectionError(f"{self.path} is not a collection (no {CATALOG})")
        header = read_header(self.catalog_path)
        self.name: str = header.name
        self.info = header.info
        self.options = header.options
        self.parts_dir = self.path / "parts"
        self.sources_dir = self.path / "sources"
        self.locks_dir = self.path / "locks"
        self._lock = threading.Lock()
        self._catalog = CatalogConnections(self.catalog_path, self.options.durable)
        self._segments: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()
        self._snapshots: weakref.WeakValueDictionary[int, Snapshot] = weakref.WeakValueDictionary()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Collection:
        """Open the collection folder at ``path``."""
        return cls(Path(path))

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, {self.info.describe()}, path={str(self.path)!r})"

    def check_model(self, info: ModelInfo) -> None:
        """Raise :class:`ModelMismatch` unless ``info`` embeds like this collection's model."""
        check_model(self.name, self.info, info)

    # ------------------------------------------------------------------ writing
    def writer(self, wait: bool = False, timeout: float | None = None) -> Writer:
        """Start a batch; ``CollectionBusy`` if another writer is active (unless ``wait``)."""
        return Writer(self, wait=wait, timeout=timeout)

    def compact(self, wait: bool = True, timeout: float | None = None) -> int:
        """Merge all segments into one (drops deleted rows, builds the approximate index if due)."""
        with self.writer(wait=wait, timeout=timeout) as w:
            w.compact()
        return self.current_generation()

    # ------------------------------------------------------------------ reading
    def _conn(self) -> sqlite3.Connection:
        return self._catalog.reader()

    def _writer_conn(self) -> sqlite3.Connection:
        """The catalog connection writers use; only the holder of ``write.lock`` touches it."""
        return self._catalog.writer()

    def current_generation(self) -> int:
        """The current (last committed) generation."""
        return current_generation(self._conn())

    def view(self) -> View:
        """A consistent read-only view of the current generation."""
        for _ in range(100):
            conn = self._conn()
            gen = current_generation(conn)
            with self._lock:
                snap = self._snapshots.get(gen)
            if snap is not None:
                return View(self, snap)
            snap = self._load_snapshot(gen, conn)
            if snap is not None:
                return View(self, snap)
        raise CollectionError(f"collection {self.name!r}: could not open a generation (writers too busy?)")

    def _snapshot_at(self, gen: int, conn: sqlite3.Connection) -> Snapshot:
        """The snapshot of ``gen``, which must exist (the writer's base generation)."""
        with self._lock:
            snap = self._snapshots.get(gen)
        if snap is None:
            snap = self._load_snapshot(gen, conn)
        if snap is None:
            raise CollectionError(f"collection {self.name!r}: generation {gen} has no manifest")
        return snap

    def _load_snapshot(self, gen: int, conn: sqlite3.Connection) -> Snapshot | None:
        """Lease ``gen`` and load it; ``None`` if it was collected in the meantime."""
        fd = lease_generation(self.locks_dir, gen)
        try:
            manifest = manifest_of(conn, gen)
            if manifest is None:
                release_lease(fd)
                return None
            segments, deleted = [], []
            for entry in manifest["segments"]:
                seg = self._segment(entry["name"])
                segments.append(seg)
                if entry.get("del"):
                    deleted.append(read_deletions(seg.path / entry["del"]))
                else:
                    deleted.append(np.zeros(0, dtype=np.int64))
        except FileNotFoundError as exc:
            release_lease(fd)
            raise CollectionError(f"collection {self.name!r} generation {gen} is missing a file: {exc}") from exc
        except BaseException:
            release_lease(fd)
            raise
        snap = Snapshot(self.name, gen, manifest, self.info, self.options, segments, deleted, fd)
        with self._lock:
            existing = self._snapshots.get(gen)
            if existing is not None:
                return existing  # ``snap`` is dropped and releases its own lease
            self._snapshots[gen] = snap
        return snap

    def _segment(self, name: str) -> Segment:
        with self._lock:
            seg = self._segments.get(name)
        if seg is None:
            seg = Segment(self.parts_dir / name)
            with self._lock:
                seg = self._segments.setdefault(name, seg)
        return seg

    def close(self) -> None:
        """Close this object's catalog connections (views of it must not be used afterwards)."""
        self._catalog.close()


# ---------------------------------------------------------------------- data directory
def create_collection(
    data_dir: str | os.PathLike[str], name: str, info: ModelInfo, options: IndexOptions | None = None
) -> Collection:
    """Create collection ``name`` under ``data_dir``; ``CollectionError`` if it exists."""
    validate_name(name)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    final = data_dir / name
    if final.exists():
        raise CollectionError(f"collection {name!r} already exists in {data_dir}")
    tmp = data_dir / f".{name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for sub in ("parts", "sources", "locks"):
            (tmp / sub).mkdir()
        conn = connect(tmp / CATALOG)
        try:
            init_catalog(
                conn,
                {
                    "name": name,
                    "model": info.to_json(),
                    "options": (options or IndexOptions()).to_json(),
                    "created_at": timestamp(),
                },
            )
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        fsync_path(tmp)
        if final.exists():
            raise CollectionError(f"collection {name!r} already exists in {data_dir}")
        os.rename(tmp, final)
        fsync_path(data_dir)
    except OSError as exc:
        remove_path(tmp)
        if final.exists():
            raise CollectionError(f"collection {name!r} already exists in {data_dir}") from exc
        raise
    except BaseException:
        remove_path(tmp)
        raise
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
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        return []
    return sorted(
        p.name for p in data_dir.iterdir() if _NAME_RE.fullmatch(p.name) and not p.name.startswith(".") and (p / CATALOG).is_file()
    )


def delete_collection(data_dir: str | os.PathLike[str], name: str, wait: bool = False, timeout: float | None = None) -> None:
    """Delete collection ``name`` (waits for, or refuses with ``CollectionBusy`` during, a write)."""
    validate_name(name)
    data_dir = Path(data_dir)
    path = data_dir / name
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} in {data_dir}")
    lock = WriteLock(path / "write.lock", name)
    lock.acquire(wait=wait, timeout=timeout)
    trash = data_dir / f".{name}.deleting-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        os.rename(path, trash)  # the name disappears at once; the files go after
    finally:
        lock.release()
    fsync_path(data_dir)
    shutil.rmtree(trash, ignore_errors=True)
