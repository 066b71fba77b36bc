"""Checks and shapes every vector store's searches share: the query matrix, ``k``, id arrays, errors."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rag.store import dense as dense_mod
from rag.store.errors import CollectionError


def query_matrix(q: np.ndarray, dim: int, collection: str) -> tuple[np.ndarray, bool]:
    """``(normalised [m, dim] float32 queries, whether one 1-d query was given)``; ``CollectionError`` on a bad shape."""
    q = np.asarray(q, dtype=np.float32)
    single = q.ndim == 1
    Q = q[None, :] if single else q
    if Q.ndim != 2 or Q.shape[1] != dim:
        raise CollectionError(f"collection {collection!r} holds {dim}-d vectors; query has shape {q.shape}")
    return np.ascontiguousarray(dense_mod.normalise(Q)), single


def check_k(k: int) -> int:
    k = int(k)
    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    return k


def id_array(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """Chunk or document ids as a flat int64 array."""
    return np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64).reshape(-1)


def no_chunks(collection: str, gen: int, missing: np.ndarray) -> CollectionError:
    return CollectionError(f"collection {collection!r} generation {gen} has no chunk(s) {missing[:10].tolist()}")


def dense_result(ids: np.ndarray, scores: np.ndarray, single: bool) -> tuple[np.ndarray, np.ndarray]:
    """``[m, k]`` results as they are, or the one query's row without its ``-1`` padding."""
    if single:
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]
    return ids, scores


EMPTY = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))


def unique_ids(ids: Iterable[int]) -> np.ndarray:
    """Sorted distinct ids as int64 (document scopes)."""
    return np.unique(np.asarray(list(ids), dtype=np.int64))
