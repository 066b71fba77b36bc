"""Collections: durable, incremental knowledge bases (catalog + dense + sparse + ColBERT parts).

A collection is a folder (see :mod:`rag.store.collection`) holding

* a SQLite catalog (:mod:`rag.store.catalog`): documents, chunks, clause trees,
  defined terms, the model the collection was built with, and the generations;
* immutable *segments* (:mod:`rag.store.segment`), each holding the FAISS dense
  index (:mod:`rag.store.dense`), the term-major sparse postings
  (:mod:`rag.store.sparse`) and optionally float16 ColBERT vectors of a run of
  chunks, merged log-structured style (:mod:`rag.store.merge`).

Writes are batches (:mod:`rag.store.writer`): new files are written and renamed
first, then one SQLite transaction records the batch's rows and the new
generation's manifest, so ``kill -9`` at any moment leaves the last committed
generation intact. Readers take :class:`View` snapshots of a generation
(:mod:`rag.store.view`) that stay consistent while writers commit; old
generations are collected once no reader leases them (:mod:`rag.store.locks`,
:mod:`rag.store.cleanup`). The store knows nothing of models: it keeps what it
is given. FAISS is imported on first use.

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
