"""Collection folders: created whole or not at all, listed, retired and renamed under the write lock.

Every backend keeps one folder per collection holding its catalog, ``sources/`` (original
files), ``locks/`` (reader leases) and ``write.lock``: under the data directory for FAISS
collections (with ``parts/``), in the backend's catalog folder for Milvus ones. A folder appears
under its name only once complete (built under a hidden temporary name, then renamed) and
disappears at once when deleted (renamed away, then removed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from rag.store.catalog import connect, init_catalog
from rag.store.errors import CollectionError
from rag.store.fsutil import fsync_path, remove_path
from rag.store.locks import WriteLock
from rag.store.names import is_name


@contextlib.contextmanager
def new_folder(final: Path, exists: str) -> Iterator[Path]:
    """Build a collection folder in a temporary place and publish it as ``final`` on success.

    ``exists`` is the message of the ``CollectionError`` raised when ``final`` is already there.
    """
    if final.exists():
        raise CollectionError(exists)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        for sub in ("sources", "locks"):
            (tmp / sub).mkdir()
        yield tmp
        fsync_path(tmp)
        if final.exists():
            raise CollectionError(exists)
        os.rename(tmp, final)
        fsync_path(final.parent)
    except OSError as exc:
        remove_path(tmp)
        if final.exists():
            raise CollectionError(exists) from exc
        raise
    except BaseException:
        remove_path(tmp)
        raise


def write_catalog(path: Path, values: dict[str, str], more: Callable[..., None] | None = None) -> None:
    """Create a catalog file with generation 0 and ``values`` in ``meta`` (``more(conn)`` adds tables)."""
    conn = connect(path)
    try:
        init_catalog(conn, values)
        if more is not None:
            more(conn)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def list_folders(root: Path, catalog: str) -> list[str]:
    """Names of the collection folders under ``root`` that hold a ``catalog`` file (sorted)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if is_name(p.name) and (p / catalog).is_file())


@contextlib.contextmanager
def locked(path: Path, name: str, wait: bool, timeout: float | None) -> Iterator[None]:
    """Hold the collection's write lock (no batch can be running meanwhile)."""
    lock = WriteLock(path / "write.lock", name)
    lock.acquire(wait=wait, timeout=timeout)
    try:
        yield
    finally:
        lock.release()


def retire_folder(path: Path, name: str, wait: bool, timeout: float | None) -> Path:
    """Rename the folder away under its write lock (the name disappears at once); where it went."""
    trash = path.parent / f".{name}.deleting-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with locked(path, name, wait, timeout):
        os.rename(path, trash)
    fsync_path(path.parent)
    return trash


def remove_retired(trash: Path) -> None:
    shutil.rmtree(trash, ignore_errors=True)


def rename_folder(path: Path, new_path: Path, name: str, record: Callable[[Path], None],
                  wait: bool = True, timeout: float | None = None) -> None:
    """Rename a collection folder under its write lock; ``record(new_path)`` then notes the name in its catalog.

    The folder's name is the collection's name (see :class:`~rag.store.collection.Collection`), so
    the ``os.rename`` is the moment of the change and an interruption after it leaves only the
    catalog's informative copy of the old name behind.
    """
    with locked(path, name, wait, timeout):
        if new_path.exists():
            raise CollectionError(f"collection {new_path.name!r} already exists in {new_path.parent}")
        os.rename(path, new_path)
        fsync_path(new_path.parent)
        record(new_path)
