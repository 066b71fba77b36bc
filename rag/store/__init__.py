"""Collections: durable, incremental knowledge bases (a catalog plus a vector store).

A collection (:mod:`rag.store.collection`) is

* a SQLite catalog (:mod:`rag.store.catalog`): documents, chunks, clause trees, defined terms,
  the model the collection was built with, and the generations: the source of truth;
* a vector store behind one small interface (:mod:`rag.store.vectors`): immutable FAISS +
  inverted-map segments in the collection folder (:mod:`rag.store.faiss_vectors`), or a Milvus
  collection (:mod:`rag.store.milvus_vectors`, opened through :mod:`rag.store.milvus`).

Writes are batches (:mod:`rag.store.writer`): the vector store writes first, then one catalog
transaction records the batch's rows and the new generation's manifest, so ``kill -9`` at any
moment leaves the last committed generation intact. Readers take :class:`View` snapshots of a
generation (:mod:`rag.store.view`) that stay consistent while writers commit; old generations
are collected once no reader leases them (:mod:`rag.store.locks`, :mod:`rag.store.cleanup`). The
store knows nothing of models: it keeps what it is given. FAISS and pymilvus are imported on
first use.

Usage::

    col = create_collection(data_dir, "contracts", ModelInfo("BAAI/bge-m3", 1024))
    with col.writer() as w:
        doc_id = w.add_document(document, chunks, dense, sparse, content_hash=h)
    v = col.view()
    ids, scores = v.dense_search(q, k=100)
"""

from rag.store.collection import (
    Collection,
    create_collection,
    delete_collection,
    list_collections,
    open_collection,
    rename_collection,
)
from rag.store.errors import CollectionBusy, CollectionError, ModelMismatch
from rag.store.model import IndexOptions, ModelInfo
from rag.store.names import validate_name
from rag.store.view import View
from rag.store.writer import Writer

__all__ = [
    "Collection",
    "CollectionBusy",
    "CollectionError",
    "IndexOptions",
    "ModelInfo",
    "ModelMismatch",
    "View",
    "Writer",
    "create_collection",
    "delete_collection",
    "list_collections",
    "open_collection",
    "rename_collection",
    "validate_name",
]
