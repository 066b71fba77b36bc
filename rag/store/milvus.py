"""Collections on Milvus: what callers import (the pieces live in the modules named below).

A Milvus-backed collection is the same :class:`~rag.store.collection.Collection` (catalog,
views, writer) with its vectors in one Milvus collection:

* :mod:`rag.store.milvus_collections`: create, open, list, rename, delete;
* :mod:`rag.store.milvus_vectors`: the vector store (loading generations, clean-up);
* :mod:`rag.store.milvus_batch`: a batch's Milvus writes and what a crash leaves;
* :mod:`rag.store.milvus_search`: searches restricted to one generation;
* :mod:`rag.store.milvus_engine`: the one module that talks to Milvus;
* :mod:`rag.store.milvus_catalog`, :mod:`rag.store.milvus_bm25`, :mod:`rag.store.milvus_uri`.

Usage::

    col = open_backend_collection("milvus-lite:///data/rag.db", "contracts", data_dir=..., create=True, info=info)
    with col.writer() as w:
        w.add_document(document, chunks, dense, sparse, content_hash=h)
    ids, scores = col.view().dense_search(q, k=100)
"""

from __future__ import annotations

from rag.store.backends import open_backend_collection
from rag.store.milvus_collections import (
    BACKEND_KIND,
    CATALOG,
    MilvusCollection,
    create_milvus_collection,
    delete_milvus_collection,
    list_milvus_collections,
    open_milvus_collection,
    rename_milvus_collection,
)
from rag.store.milvus_engine import close_backend
from rag.store.milvus_uri import Backend, parse_backend
from rag.store.milvus_vectors import INFLIGHT

__all__ = [
    "BACKEND_KIND",
    "CATALOG",
    "INFLIGHT",
    "Backend",
    "MilvusCollection",
    "close_backend",
    "create_milvus_collection",
    "delete_milvus_collection",
    "list_milvus_collections",
    "open_backend_collection",
    "open_milvus_collection",
    "parse_backend",
    "rename_milvus_collection",
]
