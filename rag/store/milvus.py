"""Collections on Milvus: the same interface as the FAISS backend, vectors on a Milvus engine.

A Milvus-backed collection is

* a SQLite catalog, the source of truth for provenance (documents, chunks, page spans,
  clause trees, defined terms, generations; the same schema and SQL as the FAISS backend,
  :mod:`rag.store.catalog`), plus the tables of :mod:`rag.store.milvus_catalog`, in a folder::

      <catalogs>/<name>/milvus-catalog.sqlite   sources/   locks/   write.lock

* one Milvus collection (``rag_<name>``) holding each chunk's dense and sparse vectors, keyed by
  chunk id (:mod:`rag.store.milvus_engine`).

Writes commit at the catalog commit (:mod:`rag.store.milvus_writer`); views filter Milvus
results to their generation (:mod:`rag.store.milvus_view`); BM25 collections keep the FAISS
backend's scores (:mod:`rag.store.milvus_bm25`). Addresses: :mod:`rag.store.milvus_uri`.

Usage::

    col = open_backend_collection("milvus-lite:///data/rag.db", "contracts", data_dir=..., create=True, info=info)
    with col.writer() as w:
        w.add_document(document, chunks, dense, sparse, content_hash=h)
    ids, scores = col.view().dense_search(q, k=100)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import uuid
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from rag.store import milvus_bm25 as bm25
from rag.store import milvus_catalog as mcat
from rag.store.catalog import connect, current_generation, init_catalog, manifest_of, read_meta, timestamp
from rag.store.catalog_access import CatalogConnections, read_catalog_meta, read_header
from rag.store.cleanup import collect_garbage
from rag.store.collection import create_collection, open_collection, validate_name
from rag.store.errors import CollectionError
from rag.store.fsutil import fsync_path, remove_path, write_bytes_atomic
from rag.store.locks import WriteLock, lease_generation, release_lease
from rag.store.milvus_engine import IDS_PER_REQUEST, MilvusTable, close_backend, sparse_arrays, sparse_row
from rag.store.milvus_uri import Backend, milvus_collection_name, parse_backend
from rag.store.milvus_view import MilvusSnapshot, MilvusView
from rag.store.milvus_writer import INFLIGHT, MilvusWriter, read_inflight
from rag.store.model import IndexOptions, ModelInfo, check_model

CATALOG = "milvus-catalog.sqlite"
BACKEND_KIND = "milvus"

__all__ = [
    "Backend",
    "MilvusCollection",
    "close_backend",
    "create_milvus_collection",
    "delete_milvus_collection",
    "list_milvus_collections",
    "open_backend_collection",
    "open_milvus_collection",
    "parse_backend",
]


class MilvusCollection:
    """One collection on Milvus; open with :func:`open_milvus_collection` or :func:`open_backend_collection`."""

    def __init__(self, backend: Backend, path: Path) -> None:
        self.backend = backend
        self.path = Path(path).resolve()
        self.catalog_path = self.path / CATALOG
        if not self.catalog_path.is_file():
            raise CollectionError(f"{self.path} is not a Milvus-backed collection (no {CATALOG})")
        header = read_header(self.catalog_path)
        self.name: str = header.name
        self.info = header.info
        self.options = header.options
        try:
            table_name = header.meta["milvus_collection"]
            self.catalog_id = header.meta["catalog_id"]
        except KeyError as exc:
            raise CollectionError(f"catalog {self.catalog_path} is malformed: {exc}") from exc
        self.sources_dir = self.path / "sources"
        self.locks_dir = self.path / "locks"
        self.table = MilvusTable(backend, table_name, self.info, self.options)
        if not self.table.exists():
            raise CollectionError(
                f"collection {self.name!r}: its Milvus collection {table_name!r} is missing at {backend.uri} "
                f"(catalog {self.catalog_path})"
            )
        owner = self.table.properties().get("rag.catalog_id")
        if owner != self.catalog_id:
            raise CollectionError(
                f"collection {self.name!r}: Milvus collection {table_name!r} at {backend.uri} belongs to another "
                f"catalog ({owner!r}, this one is {self.catalog_id!r})"
            )
        self.table.load()
        self._lock = threading.Lock()
        self._catalog = CatalogConnections(self.catalog_path, self.options.durable)
        self._snapshots: weakref.WeakValueDictionary[int, MilvusSnapshot] = weakref.WeakValueDictionary()
        self._latest: MilvusSnapshot | None = None  # keeps the current generation loaded between queries

    def __repr__(self) -> str:
        return f"MilvusCollection({self.name!r}, {self.info.describe()}, backend={self.backend.uri!r})"

    def check_model(self, info: ModelInfo) -> None:
        """Raise :class:`ModelMismatch` unless ``info`` embeds like this collection's model."""
        check_model(self.name, self.info, info)

    # ------------------------------------------------------------------ writing
    def writer(self, wait: bool = False, timeout: float | None = None) -> MilvusWriter:
        """Start a batch; ``CollectionBusy`` if another writer is active (unless ``wait``)."""
        return MilvusWriter(self, wait=wait, timeout=timeout)

    def compact(self, wait: bool = True, timeout: float | None = None) -> int:
        """Re-normalise BM25 weights to the current average length and compact the Milvus collection."""
        with self.writer(wait=wait, timeout=timeout) as w:
            w.compact()
        return self.generation()

    # ------------------------------------------------------------------ reading
    def _conn(self) -> sqlite3.Connection:
        return self._catalog.reader()

    def _writer_conn(self) -> sqlite3.Connection:
        """The catalog connection writers use; only the holder of ``write.lock`` touches it."""
        return self._catalog.writer()

    def generation(self) -> int:
        """The current (last committed) generation."""
        return current_generation(self._conn())

    def view(self) -> MilvusView:
        """A consistent read-only view of the current generation."""
        for _ in range(100):
            conn = self._conn()
            gen = current_generation(conn)
            with self._lock:
                snap = self._snapshots.get(gen)
            if snap is None:
                snap = self._load_snapshot(gen, conn)
            if snap is not None:
                with self._lock:
                    if self._latest is None or self._latest.gen <= snap.gen:
                        self._latest = snap
                return MilvusView(self, snap)  # type: ignore[arg-type]
        raise CollectionError(f"collection {self.name!r}: could not open a generation (writers too busy?)")

    def _load_snapshot(self, gen: int, conn: sqlite3.Connection) -> MilvusSnapshot | None:
        """Lease ``gen`` and load it; ``None`` if it was collected in the meantime."""
        fd = lease_generation(self.locks_dir, gen)
        try:
            manifest = manifest_of(conn, gen)
            if manifest is None:
                release_lease(fd)
                return None
            if gen == 0:
                manifest = {"next_chunk_id": 1}
            ids, doc_of = mcat.live_chunks(conn, gen)
            hidden, hidden_rows = mcat.hidden_documents(conn, gen)
            length_sum = mcat.live_length_sum(conn, gen) if self.info.sparse == "bm25" else 0.0
        except BaseException:
            release_lease(fd)
            raise
        snap = MilvusSnapshot(self.name, gen, int(manifest["next_chunk_id"]), ids, doc_of, hidden, hidden_rows,
                              length_sum, fd)
        with self._lock:
            existing = self._snapshots.get(gen)
            if existing is not None:
                return existing  # ``snap`` is dropped and releases its own lease
            self._snapshots[gen] = snap
        return snap

    def _drop_cached_views(self) -> None:
        """Forget the cached current snapshot (after a commit, so clean-up can collect its generation)."""
        with self._lock:
            self._latest = None

    def close(self) -> None:
        """Close this object's catalog connections (views of it must not be used afterwards)."""
        self._drop_cached_views()
        self._catalog.close()

    # ------------------------------------------------------------------ maintenance (writer holds the lock)
    def _mark_inflight(self, first_chunk: int, sync: bool) -> None:
        marker = json.dumps({"first_chunk": int(first_chunk), "pid": os.getpid()}).encode()
        write_bytes_atomic(self.path / INFLIGHT, marker, sync)

    def _clear_inflight(self) -> None:
        remove_path(self.path / INFLIGHT)

    def _clean_up(self, conn: sqlite3.Connection) -> None:
        """Collect old generations, purge their rows, delete purged and uncommitted vectors from Milvus."""
        inflight = read_inflight(self.path / INFLIGHT)
        if inflight is not None:
            committed = int(read_meta(conn)["next_chunk_id"])
            self.table.delete_from(max(inflight, committed))
            self._clear_inflight()
        collect_garbage(conn, self.path)
        purged = mcat.purged_trash(conn)
        if purged:
            self.table.delete_documents([doc for doc, _, _ in purged])
            mcat.forget_trash(conn, purged)

    def _renormalise(self, gen: int) -> None:
        """Rewrite BM25 weights with generation ``gen``'s average length; ask Milvus to compact."""
        if self.info.sparse == "bm25":
            conn = self._writer_conn()
            ids, _ = mcat.live_chunks(conn, gen)
            n = len(ids)
            avgdl = mcat.live_length_sum(conn, gen) / n if n else 1.0
            for start in range(0, n, IDS_PER_REQUEST):
                part = ids[start:start + IDS_PER_REQUEST].tolist()
                rows = self.table.fetch(part, ["doc_id", "dense", "sparse", "dl", "nref"])
                out = []
                for cid in part:
                    r = rows.get(cid)
                    if r is None:
                        continue  # reported by verify(); nothing to re-normalise
                    terms, w = sparse_arrays(r["sparse"])
                    n_new = float(bm25.length_norm(float(r["dl"]), avgdl))
                    w_new = bm25.live_term_scores(w, float(r["nref"]), n_new)
                    out.append({"id": cid, "doc_id": int(r["doc_id"]), "dense": np.asarray(r["dense"], np.float32),
                                "sparse": sparse_row(terms, w_new), "dl": float(r["dl"]), "nref": n_new})
                self.table.insert(out, upsert=True)
        self.table.compact()


# ---------------------------------------------------------------------- create / open / list / delete
def _catalog_dir(backend: Backend, name: str, data_dir: str | os.PathLike[str] | None) -> Path:
    return backend.catalogs(data_dir) / validate_name(name)


def create_milvus_collection(
    backend: str | Backend,
    name: str,
    info: ModelInfo,
    options: IndexOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> MilvusCollection:
    """Create collection ``name`` on a Milvus backend; ``CollectionError`` if it exists (catalog or Milvus)."""
    backend = parse_backend(backend) if isinstance(backend, str) else backend
    if not backend.is_milvus:
        raise CollectionError(f"{backend.uri} is not a Milvus backend")
    final = _catalog_dir(backend, name, data_dir)
    if final.exists():
        raise CollectionError(f"collection {name!r} already exists on {backend.uri} (catalog {final})")
    final.parent.mkdir(parents=True, exist_ok=True)
    options = options or IndexOptions()
    catalog_id = uuid.uuid4().hex
    table = MilvusTable(backend, milvus_collection_name(name), info, options)
    tmp = final.parent / f".{name}.creating-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    created = False
    try:
        for sub in ("sources", "locks"):
            (tmp / sub).mkdir()
        conn = connect(tmp / CATALOG)
        try:
            init_catalog(conn, {
                "name": name,
                "model": info.to_json(),
                "options": options.to_json(),
                "created_at": timestamp(),
                "backend": BACKEND_KIND,
                "backend_uri": backend.uri,
                "milvus_collection": table.name,
                "catalog_id": catalog_id,
            })
            mcat.create_tables(conn)
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        if table.exists():
            raise CollectionError(
                f"Milvus collection {table.name!r} already exists at {backend.uri} but no catalog for it is in "
                f"{final.parent} (another machine's collection, or left by an interrupted create: "
                f"delete_milvus_collection(..., force=True) drops it)"
            )
        table.create({"rag.catalog_id": catalog_id, "rag.name": name, "rag.model": info.to_json()})
        created = True
        fsync_path(tmp)
        os.rename(tmp, final)
        fsync_path(final.parent)
    except BaseException:
        remove_path(tmp)
        if created:
            try:
                table.drop()
            except CollectionError:
                pass
        raise
    return MilvusCollection(backend, final)


def open_milvus_collection(
    backend: str | Backend, name: str, data_dir: str | os.PathLike[str] | None = None
) -> MilvusCollection:
    """Open collection ``name`` on a Milvus backend; ``CollectionError`` if there is none."""
    backend = parse_backend(backend) if isinstance(backend, str) else backend
    path = _catalog_dir(backend, name, data_dir)
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} on {backend.uri} (no catalog in {path})")
    return MilvusCollection(backend, path)


def list_milvus_collections(backend: str | Backend, data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the collections whose catalogs are in this backend's catalog folder (sorted)."""
    backend = parse_backend(backend) if isinstance(backend, str) else backend
    root = backend.catalogs(data_dir)
    if not root.is_dir():
        return []
    out = []
    for p in root.iterdir():
        try:
            validate_name(p.name)
        except CollectionError:
            continue
        if (p / CATALOG).is_file():
            out.append(p.name)
    return sorted(out)


def delete_milvus_collection(
    backend: str | Backend,
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    wait: bool = False,
    timeout: float | None = None,
    force: bool = False,
) -> None:
    """Delete collection ``name``: its catalog folder and its Milvus collection.

    ``force=True`` also drops a Milvus collection that has no catalog here (left by an
    interrupted create); without it that case is an error, since the collection may belong
    to another machine's catalog.
    """
    backend = parse_backend(backend) if isinstance(backend, str) else backend
    path = _catalog_dir(backend, name, data_dir)
    table = MilvusTable(backend, milvus_collection_name(name), ModelInfo("unknown", 1), IndexOptions())
    if not (path / CATALOG).is_file():
        if force and table.exists():
            table.drop()
            return
        raise CollectionError(f"no collection {name!r} on {backend.uri} (no catalog in {path})")
    lock = WriteLock(path / "write.lock", name)
    lock.acquire(wait=wait, timeout=timeout)
    trash = path.parent / f".{name}.deleting-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        meta = read_catalog_meta(path / CATALOG)
        table.name = meta.get("milvus_collection", table.name)
        os.rename(path, trash)  # the name disappears at once; the vectors and files go after
    finally:
        lock.release()
    fsync_path(path.parent)
    if table.exists() and table.properties().get("rag.catalog_id") == meta.get("catalog_id"):
        table.drop()
    shutil.rmtree(trash, ignore_errors=True)


# ---------------------------------------------------------------------- one entry point for both backends
def open_backend_collection(
    backend: str | Backend | None,
    name: str | None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    create: bool = False,
    info: ModelInfo | None = None,
    options: IndexOptions | None = None,
) -> Any:
    """Open (or, with ``create``, create) a collection on the backend an address names.

    ``backend``: ``None``/``"faiss"`` for the file-based backend under ``data_dir``, or a Milvus
    address (:mod:`rag.store.milvus_uri`). ``info`` is required to create. Returns a
    :class:`~rag.store.collection.Collection` or a :class:`MilvusCollection`: both have the same
    reading and writing interface.
    """
    spec = backend if isinstance(backend, Backend) else parse_backend(backend)
    if not spec.is_milvus:
        if data_dir is None or not name:
            raise CollectionError("the faiss backend needs a data directory and a collection name")
        try:
            return open_collection(data_dir, name)
        except CollectionError:
            if not create or (Path(data_dir) / validate_name(name)).exists():
                raise
        if info is None:
            raise CollectionError(f"creating collection {name!r} needs the model it will hold (ModelInfo)")
        return create_collection(data_dir, name, info, options)
    chosen = spec.collection_name(name)
    if (_catalog_dir(spec, chosen, data_dir) / CATALOG).is_file() or not create:
        return open_milvus_collection(spec, chosen, data_dir)
    if info is None:
        raise CollectionError(f"creating collection {chosen!r} needs the model it will hold (ModelInfo)")
    return create_milvus_collection(spec, chosen, info, options, data_dir)
