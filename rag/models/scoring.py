"""Relevance scores for BGE-M3's three outputs, as plain numpy (retrieval reuses them).

Definitions follow FlagEmbedding's ``M3Embedder``: dense = dot product of L2-normalised vectors;
lexical = sum over shared token ids of the product of weights; ColBERT = for each query vector the
best dot product with any passage vector, averaged over query vectors; and the weighted blends of
``compute_score`` (``weights_for_different_modes`` = dense, sparse, colbert).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

MODES = ("dense", "sparse", "colbert", "sparse+dense", "colbert+sparse+dense")
DEFAULT_WEIGHTS = (1.0, 1.0, 1.0)


def dense_scores(queries: np.ndarray, passages: np.ndarray) -> np.ndarray:
    """``queries @ passages.T``: ``[d]x[m,d] -> [m]`` or ``[n,d]x[m,d] -> [n,m]``."""
    return np.asarray(queries, dtype=np.float32) @ np.asarray(passages, dtype=np.float32).T


def lexical_matching_score(weights_1: Mapping[int, float], weights_2: Mapping[int, float]) -> float:
    """Sum over token ids present in both of the product of their weights."""
    if len(weights_2) < len(weights_1):
        weights_1, weights_2 = weights_2, weights_1
    return float(sum(w * weights_2[t] for t, w in weights_1.items() if t in weights_2))


def lexical_scores(query: Mapping[int, float], passages: Sequence[Mapping[int, float]]) -> np.ndarray:
    """:func:`lexical_matching_score` of one query against each passage, ``[m]`` float32."""
    return np.fromiter((lexical_matching_score(query, p) for p in passages), dtype=np.float32, count=len(passages))


def colbert_score(query_vecs: np.ndarray, passage_vecs: np.ndarray) -> float:
    """Max-sim: each query vector's best dot product with a passage vector, averaged over query vectors."""
    q = np.asarray(query_vecs, dtype=np.float32)
    p = np.asarray(passage_vecs, dtype=np.float32)
    if len(q) == 0 or len(p) == 0:
        return 0.0
    return float((q @ p.T).max(axis=1).sum() / len(q))


def colbert_scores(query_vecs: np.ndarray, passages: Sequence[np.ndarray]) -> np.ndarray:
    """:func:`colbert_score` of one query against each passage, one matrix product for all, ``[m]``."""
    q = np.asarray(query_vecs, dtype=np.float32)
    out = np.zeros(len(passages), dtype=np.float32)
    if len(q) == 0 or not passages:
        return out
    sizes = np.array([len(p) for p in passages])
    keep = np.flatnonzero(sizes)
    if len(keep) == 0:
        return out
    sims = q @ np.concatenate([np.asarray(passages[i], dtype=np.float32) for i in keep]).T  # [tq, sum tp]
    starts = np.concatenate([[0], np.cumsum(sizes[keep])[:-1]])
    best = np.maximum.reduceat(sims, starts, axis=1)  # [tq, len(keep)]
    out[keep] = best.sum(axis=0) / len(q)
    return out


def combine_scores(
    dense: Any, sparse: Any, colbert: Any, weights: Sequence[float] | None = None
) -> dict[str, np.ndarray]:
    """The five ``compute_score`` modes from per-mode scores; ``weights`` = (dense, sparse, colbert)."""
    w_dense, w_sparse, w_colbert = DEFAULT_WEIGHTS if weights is None else tuple(float(w) for w in weights)
    d = np.asarray(dense, dtype=np.float32)
    s = np.asarray(sparse, dtype=np.float32)
    c = np.asarray(colbert, dtype=np.float32)
    return {
        "dense": d,
        "sparse": s,
        "colbert": c,
        "sparse+dense": (s * w_sparse + d * w_dense) / (w_sparse + w_dense),
        "colbert+sparse+dense": (c * w_colbert + s * w_sparse + d * w_dense) / (w_colbert + w_sparse + w_dense),
    }


def pair_scores(queries: Any, passages: Any, weights: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """Scores of aligned pairs (query i vs passage i) from two :class:`~rag.models.Encoded` results.

    Both need dense, sparse and colbert outputs. Same modes as FlagEmbedding's ``compute_score``.
    """
    for what, enc in (("queries", queries), ("passages", passages)):
        missing = [k for k in ("dense", "sparse", "colbert") if getattr(enc, k) is None]
        if missing:
            raise ValueError(f"pair_scores needs dense, sparse and colbert outputs; {what} lack {missing}")
    n = len(queries.dense)
    if len(passages.dense) != n:
        raise ValueError(f"{n} queries but {len(passages.dense)} passages; pairs must align")
    dense = np.einsum("ij,ij->i", queries.dense, passages.dense)
    sparse = [lexical_matching_score(queries.sparse[i], passages.sparse[i]) for i in range(n)]
    colbert = [colbert_score(queries.colbert[i], passages.colbert[i]) for i in range(n)]
    return combine_scores(dense, sparse, colbert, weights)
