"""Candidate search over the dense and the sparse channel, side by side.

The two searches are independent, and each spends its time outside the GIL (FAISS releases
it while searching; the sparse scoring runs in compiled kernels), so on two or more cores a
question costs about the slower of the two instead of their sum: at a million chunks on two
cores, p95 10.4 ms against 15.8 ms one after the other (``bench/store.py``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import numpy as np

#: enough for several sessions searching at once; a busy pool only queues, never fails
_WORKERS = 8
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _one_openmp_thread() -> None:
    """Worker start-up: FAISS splits a search across queries, and a question is one query, so an
    OpenMP team per worker (a new thread gets the default team size) would only add start-up
    cost and contend with the sparse search for the cores."""
    try:
        import faiss
    except ImportError:  # a backend without FAISS
        return
    faiss.omp_set_num_threads(1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="dense-search",
                                       initializer=_one_openmp_thread)
        return _pool


@dataclass(frozen=True)
class Candidates:
    """Each channel's candidate chunk ids (best first) and the seconds its search took."""

    dense_ids: np.ndarray
    sparse_ids: np.ndarray
    dense_s: float
    sparse_s: float


def _timed(fn: Any, *args: Any) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    ids, _scores = fn(*args)
    return np.asarray(ids, dtype=np.int64), time.perf_counter() - start


def search_channels(view: Any, q_dense: np.ndarray | None, q_sparse: Mapping[int, float] | None,
                    dense_k: int, sparse_k: int, scope: Sequence[int] | None = None,
                    parallel: bool = True) -> Candidates:
    """Top ``dense_k`` chunks by dense similarity and top ``sparse_k`` by sparse score.

    A channel whose query is ``None`` (or an empty sparse query) is skipped. With both
    channels and ``parallel``, the dense search runs on a worker thread while the sparse
    search runs on the caller's.
    """
    empty = np.empty(0, np.int64)
    dense_ids, sparse_ids, dense_s, sparse_s = empty, empty, 0.0, 0.0
    want_sparse = bool(q_sparse)
    if q_dense is not None and want_sparse and parallel:
        future = _executor().submit(_timed, view.dense_search, q_dense, dense_k, scope)
        try:
            sparse_ids, sparse_s = _timed(view.sparse_search, q_sparse, sparse_k, scope)
        finally:
            wait([future])  # never leave a search running behind an error
        dense_ids, dense_s = future.result()
    else:
        if q_dense is not None:
            dense_ids, dense_s = _timed(view.dense_search, q_dense, dense_k, scope)
        if want_sparse:
            sparse_ids, sparse_s = _timed(view.sparse_search, q_sparse, sparse_k, scope)
    return Candidates(dense_ids, sparse_ids, dense_s, sparse_s)
