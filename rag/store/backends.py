"""One entry point for every backend: open (or create) a collection on the backend an address names."""

from __future__ import annotations

import os
from pathlib import Path

from rag.store.collection import Collection, create_collection, open_collection
from rag.store.errors import CollectionError
from rag.store.milvus_collections import (
    CATALOG,
    catalog_dir,
    create_milvus_collection,
    open_milvus_collection,
)
from rag.store.milvus_uri import Backend, parse_backend
from rag.store.model import IndexOptions, ModelInfo
from rag.store.names import validate_name
from rag.store.pg_collections import pg_collection_exists


def open_backend_collection(
    backend: str | Backend | None,
    name: str | None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    create: bool = False,
    info: ModelInfo | None = None,
    options: IndexOptions | None = None,
) -> Collection:
    """Open (or, with ``create``, create) a collection on the backend an address names.

    ``backend``: ``None``/``"faiss"`` for the file-based backend under ``data_dir``, or a Milvus
    address (:mod:`rag.store.milvus_uri`). ``info`` is required to create.
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
    if spec.catalog_url:
        exists = pg_collection_exists(spec, chosen)
    else:
        exists = (catalog_dir(spec, chosen, data_dir) / CATALOG).is_file()
    if exists or not create:
        return open_milvus_collection(spec, chosen, data_dir)
    if info is None:
        raise CollectionError(f"creating collection {chosen!r} needs the model it will hold (ModelInfo)")
    return create_milvus_collection(spec, chosen, info, options, data_dir)
