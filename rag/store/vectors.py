"""The vector side of a collection, as the one Collection / View / Writer see it.

A collection is its catalog (documents, chunks, clause trees, terms, generations: the source of
truth, whose commit is the commit point of every batch) plus a *vector store* that keeps each
chunk's dense, sparse and ColBERT vectors keyed by chunk id. Two stores implement these
protocols: FAISS + inverted-map segments in the collection folder
(:mod:`rag.store.faiss_vectors`) and a Milvus collection (:mod:`rag.store.milvus_vectors`).
A new backend (Qdrant, pgvector) is one more module with these three classes plus its tests.

Order of a batch, for every store: the writer holds the write lock and an open catalog
transaction; ``VectorBatch.add``/``delete`` take the batch's changes; ``prepare`` writes what
the store needs (files, Milvus rows) and may add rows to the open transaction; the writer then
commits the catalog (the commit point) and calls ``committed``; on any error, ``rollback``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from rag.store.document_rows import CheckedVectors


class VectorSnapshot(Protocol):
    """One generation's vectors, immutable, shared by all views of that generation."""

    gen: int
    n_live: int

    def chunk_ids(self, doc_ids: Iterable[int] | None = None) -> np.ndarray:
        """Live chunk ids (ascending), of the given documents when ``doc_ids`` is given."""

    def dense_search(self, q: np.ndarray, k: int, doc_ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` by inner product, within the chunks of ``doc_ids`` when given."""

    def sparse_search(self, q: Mapping[int, float], k: int,
                      doc_ids: Iterable[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` by sparse score (positive scores only)."""

    def sparse_scores(self, q: Mapping[int, float], ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Sparse scores of the given live chunks, in ``ids`` order."""

    def dense_vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Stored (normalised) dense vectors of live chunks."""

    def colbert(self, ids: Sequence[int] | np.ndarray) -> list[np.ndarray] | None:
        """Float32 ColBERT token vectors of live chunks; ``None`` without a multi-vector part."""


class VectorBatch(Protocol):
    """One batch's changes to the vectors; lives inside a writer."""

    def add(self, doc_id: int, ids: np.ndarray, vectors: CheckedVectors) -> None:
        """Take a new document's vectors (written by ``prepare`` at the latest)."""

    def delete(self, doc_id: int, n_chunks: int, added_here: bool) -> None:
        """Drop a document's vectors; called before the catalog forgets or hides its rows."""

    def compact(self) -> None:
        """Ask for a full compaction at commit."""

    def prepare(self, generation: int, next_chunk: int) -> tuple[dict[str, Any], dict[str, str]]:
        """Write everything before the catalog commit; ``(manifest, extra meta values)`` to record in it."""

    def committed(self) -> None:
        """The catalog committed: tidy what only this batch needed."""

    def rollback(self) -> None:
        """Undo what the batch wrote (the catalog transaction is rolled back by the writer)."""


class VectorStore(Protocol):
    """A collection's vectors: loads snapshots, starts batches, cleans up (the writer holds the lock)."""

    #: keep the current snapshot loaded between views (worth it when loading asks a server)
    keeps_current: bool

    def load(self, conn: Any, gen: int, manifest: dict[str, Any], lease_fd: Any) -> VectorSnapshot:
        """Load generation ``gen``; the snapshot owns the lease ``lease_fd`` and releases it when dropped."""

    def begin(self, conn: Any, meta: dict[str, str], base: Callable[[], Any]) -> VectorBatch:
        """A batch inside the writer's open transaction; ``base()`` loads the current generation if needed."""

    def clean_up(self, conn: Any) -> None:
        """Collect old generations and what only they used (before a batch and after a commit)."""

    def stats(self, snap: Any) -> tuple[dict[str, Any], dict[str, int]]:
        """What the store holds in generation ``snap``: counts, and bytes by part."""

    def problems(self, snap: Any) -> list[str]:
        """Where the store's own parts of ``snap`` disagree with each other or with the catalog."""
