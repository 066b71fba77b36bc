"""BM25 fallback collections on Milvus: the same scores as the FAISS backend, from inner products.

The FAISS backend stores term frequencies and scores Lucene BM25 at query time,
``sum_t q_t * idf_t * tf / (tf + n_d)`` with ``n_d = k1 * (1 - b + b * dl_d / avgdl)`` and
``N``, ``df_t``, ``avgdl`` taken over the live chunks of the generation queried
(:mod:`rag.store.sparse`). Milvus ranks by an inner product of stored weights only, so each
chunk stores its *saturated* term frequencies

    ``w_td = tf / (tf + nref_d)``, ``nref_d = k1 * (1 - b + b * dl_d / avgdl_ref)``

with ``avgdl_ref`` the collection's average length when the row was written, plus ``dl`` and
``nref`` as scalar fields, and the query is ``f_t = q_t * idf_t`` (live ``N`` and ``df``; the
catalog keeps ``df``). Milvus's inner product is then BM25 with ``avgdl_ref`` in place of the
live ``avgdl``; a search takes Milvus's best ``overfetch(k)`` candidates and rescores them
exactly with the live average:

    ``tf / (tf + n_live) = w * nref / (w * nref + (1 - w) * n_live)``

(from the stored float32 ``w``, no tf needs to be recovered). Scores are therefore the FAISS
backend's to float precision. The ranking can only differ when ``avgdl`` drifted since rows
were written (many additions or deletions of longer or shorter chunks) *and* a chunk's drifted
score falls below the overfetched candidates while its exact score is in the top k;
``compact()`` rewrites the weights with the current average and removes the drift.
"""

from __future__ import annotations

import numpy as np

from rag.store.sparse import BM25_B, BM25_K1, bm25_idf

__all__ = ["bm25_idf", "length_norm", "live_term_scores", "overfetch", "saturate"]

#: candidates taken from Milvus per requested result before the exact rescoring
OVERFETCH_FACTOR = 2
OVERFETCH_MIN_EXTRA = 32


def length_norm(dl: np.ndarray | float, avgdl: float) -> np.ndarray:
    """``k1 * (1 - b + b * dl / avgdl)`` (float64); ``avgdl <= 0`` counts as 1, like the FAISS backend."""
    avgdl = float(avgdl) if avgdl > 0 else 1.0
    return BM25_K1 * (1.0 - BM25_B + BM25_B * np.asarray(dl, dtype=np.float64) / avgdl)


def saturate(tf: np.ndarray, nref: float) -> np.ndarray:
    """Stored weights ``tf / (tf + nref)`` of one chunk's term frequencies."""
    tf = np.asarray(tf, dtype=np.float64)
    return tf / (tf + float(nref))


def live_term_scores(w: np.ndarray, nref: np.ndarray | float, n_live: np.ndarray | float) -> np.ndarray:
    """``tf / (tf + n_live)`` from stored weights ``w = tf / (tf + nref)``."""
    w = np.asarray(w, dtype=np.float64)
    a = w * np.asarray(nref, dtype=np.float64)
    return a / (a + (1.0 - w) * np.asarray(n_live, dtype=np.float64))


def overfetch(k: int) -> int:
    """How many candidates to take from Milvus for an exact top ``k``."""
    return max(OVERFETCH_FACTOR * k, k + OVERFETCH_MIN_EXTRA)
