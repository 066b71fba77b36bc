"""Collections whose vectors are on Milvus: create, open, list, rename and delete them.

With a PostgreSQL catalog (``?catalog=postgresql://...`` in the address, or ``RAG_CATALOG``) each
call goes to :mod:`rag.store.pg_collections` instead of catalog folders. Otherwise a Milvus-backed
collection is a catalog folder (``<catalogs>/<name>/milvus-catalog.sqlite``,
``sources/``, ``locks/``, ``write.lock``; where ``<catalogs>`` is depends on the address, see
:mod:`rag.store.milvus_uri`) plus one Milvus collection holding the vectors
(:mod:`rag.store.milvus_vectors`). It is read and written like any other collection.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from rag.store import milvus_catalog as mcat
from rag.store import pg_collections as pgc
from rag.store.catalog import timestamp
from rag.store.catalog_access import read_catalog_meta
from rag.store.collection import record_name
from rag.store.errors import CollectionError
from rag.store.folders import list_folders, locked, new_folder, remove_retired, rename_folder, retire_folder, write_catalog
from rag.store.milvus_collection import CATALOG, MilvusCollection
from rag.store.milvus_engine import MilvusTable
from rag.store.milvus_uri import Backend, milvus_collection_name, parse_backend
from rag.store.model import IndexOptions, ModelInfo
from rag.store.names import validate_name

BACKEND_KIND = "milvus"


def as_backend(backend: str | Backend) -> Backend:
    return parse_backend(backend) if isinstance(backend, str) else backend


def catalog_dir(backend: Backend, name: str, data_dir: str | os.PathLike[str] | None) -> Path:
    return backend.catalogs(data_dir) / validate_name(name)


def _free_table_name(backend: Backend, name: str, catalogs: Path, info: ModelInfo, options: IndexOptions) -> MilvusTable:
    """``rag_<name>``, unless a renamed collection of these catalogs still holds it (then a unique variant)."""
    table = MilvusTable(backend, milvus_collection_name(name), info, options)
    if table.exists():
        owner = table.properties().get("rag.catalog_id")
        ours = {read_catalog_meta(catalogs / n / CATALOG).get("catalog_id") for n in list_folders(catalogs, CATALOG)}
        if owner in ours:
            table.name = f"{table.name}_{uuid.uuid4().hex[:8]}"
    return table


def create_milvus_collection(
    backend: str | Backend,
    name: str,
    info: ModelInfo,
    options: IndexOptions | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> MilvusCollection:
    """Create collection ``name`` on a Milvus backend; ``CollectionError`` if it exists (catalog or Milvus)."""
    backend = as_backend(backend)
    if not backend.is_milvus:
        raise CollectionError(f"{backend.uri} is not a Milvus backend")
    if backend.catalog_url:
        return pgc.create_pg_collection(backend, name, info, options)
    final = catalog_dir(backend, name, data_dir)
    options = options or IndexOptions()
    catalog_id = uuid.uuid4().hex
    exists = f"collection {name!r} already exists on {backend.uri} (catalog {final})"
    if final.exists():
        raise CollectionError(exists)
    table = _free_table_name(backend, name, final.parent, info, options)
    values = {"name": name, "model": info.to_json(), "options": options.to_json(), "created_at": timestamp(),
              "backend": BACKEND_KIND, "backend_uri": backend.uri, "milvus_collection": table.name,
              "catalog_id": catalog_id}
    created = False
    try:
        with new_folder(final, exists) as tmp:
            write_catalog(tmp / CATALOG, values, mcat.create_tables)
            if table.exists():
                raise CollectionError(
                    f"Milvus collection {table.name!r} already exists at {backend.uri} but no catalog for it is in "
                    f"{final.parent} (another machine's collection, or left by an interrupted create: "
                    f"delete_milvus_collection(..., force=True) drops it)"
                )
            table.create({"rag.catalog_id": catalog_id, "rag.name": name, "rag.model": info.to_json()})
            created = True
    except BaseException:
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
    backend = as_backend(backend)
    if backend.catalog_url:
        return pgc.open_pg_collection(backend, name)
    path = catalog_dir(backend, name, data_dir)
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} on {backend.uri} (no catalog in {path})")
    return MilvusCollection(backend, path)


def list_milvus_collections(backend: str | Backend, data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the collections whose catalogs are in this backend's catalog folder (sorted)."""
    backend = as_backend(backend)
    if backend.catalog_url:
        return pgc.list_pg_collections(backend)
    return list_folders(backend.catalogs(data_dir), CATALOG)


def rename_milvus_collection(
    backend: str | Backend, name: str, new_name: str, data_dir: str | os.PathLike[str] | None = None,
    wait: bool = True, timeout: float | None = None,
) -> MilvusCollection:
    """Rename collection ``name`` to ``new_name``: its catalog folder; the Milvus collection keeps its name
    (the catalog records it), so the rename is one ``os.rename``."""
    backend = as_backend(backend)
    if backend.catalog_url:
        return pgc.rename_pg_collection(backend, name, new_name, wait, timeout)
    path = catalog_dir(backend, name, data_dir)
    new_path = catalog_dir(backend, new_name, data_dir)
    if not (path / CATALOG).is_file():
        raise CollectionError(f"no collection {name!r} on {backend.uri} (no catalog in {path})")
    rename_folder(path, new_path, name, record_name(path / CATALOG), wait, timeout)
    return MilvusCollection(backend, new_path)


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
    backend = as_backend(backend)
    if backend.catalog_url:
        return pgc.delete_pg_collection(backend, name, wait, timeout, force)
    path = catalog_dir(backend, name, data_dir)
    table = MilvusTable(backend, milvus_collection_name(name), ModelInfo("unknown", 1), IndexOptions())
    if not (path / CATALOG).is_file():
        if force and table.exists():
            table.drop()
            return
        raise CollectionError(f"no collection {name!r} on {backend.uri} (no catalog in {path})")
    with locked(path, name, wait, timeout):
        meta = read_catalog_meta(path / CATALOG)
    table.name = meta.get("milvus_collection", table.name)
    trash = retire_folder(path, name, wait, timeout)
    if table.exists() and table.properties().get("rag.catalog_id") == meta.get("catalog_id"):
        table.drop()
    remove_retired(trash)
