"""Dense and sparse candidate search side by side: same results as one after the other, errors kept."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from rag.retrieve.channels import search_channels


def _queries(tiny_encoder, question: str):
    enc = tiny_encoder.encode([question], dense=True, sparse=True, colbert=False, query=True)
    return np.asarray(enc.dense[0], dtype=np.float32), dict(enc.sparse[0])


@pytest.mark.parametrize("scope", [None, "first document"])
def test_side_by_side_finds_what_one_after_the_other_finds(contract_collection, tiny_encoder, scope):
    view = contract_collection.view()
    docs = None if scope is None else [view.documents()[0].id]
    q_dense, q_sparse = _queries(tiny_encoder, "Who may terminate by written notice?")
    both = search_channels(view, q_dense, q_sparse, 20, 20, docs, parallel=True)
    seq = search_channels(view, q_dense, q_sparse, 20, 20, docs, parallel=False)
    assert len(both.dense_ids) and len(both.sparse_ids)
    np.testing.assert_array_equal(both.dense_ids, seq.dense_ids)
    np.testing.assert_array_equal(both.sparse_ids, seq.sparse_ids)
    np.testing.assert_array_equal(both.dense_ids, view.dense_search(q_dense, 20, docs)[0])
    assert both.dense_s > 0 and both.sparse_s > 0


def test_a_channel_without_a_query_is_skipped(contract_collection, tiny_encoder):
    view = contract_collection.view()
    q_dense, q_sparse = _queries(tiny_encoder, "governing law")
    only_dense = search_channels(view, q_dense, {}, 10, 10)
    assert len(only_dense.dense_ids) == 10 and len(only_dense.sparse_ids) == 0 and only_dense.sparse_s == 0
    only_sparse = search_channels(view, None, q_sparse, 10, 10)
    assert len(only_sparse.dense_ids) == 0 and len(only_sparse.sparse_ids) > 0 and only_sparse.dense_s == 0


class _View:
    """A view whose searches record the threads they ran on and can fail."""

    def __init__(self, dense_error: Exception | None = None, sparse_error: Exception | None = None) -> None:
        self.dense_error, self.sparse_error = dense_error, sparse_error
        self.threads: dict[str, str] = {}
        self.dense_done = threading.Event()

    def dense_search(self, q, k, doc_ids=None):
        self.threads["dense"] = threading.current_thread().name
        time.sleep(0.05)
        self.dense_done.set()
        if self.dense_error:
            raise self.dense_error
        return np.arange(k), np.ones(k, np.float32)

    def sparse_search(self, q, k, doc_ids=None):
        self.threads["sparse"] = threading.current_thread().name
        if self.sparse_error:
            raise self.sparse_error
        return np.arange(k)[::-1], np.ones(k, np.float32)


def test_the_dense_search_runs_on_a_worker_and_the_sparse_on_the_caller():
    view = _View()
    found = search_channels(view, np.ones(4, np.float32), {1: 1.0}, 3, 2)
    assert view.threads["sparse"] == threading.current_thread().name
    assert view.threads["dense"].startswith("dense-search")
    assert found.dense_ids.tolist() == [0, 1, 2] and found.sparse_ids.tolist() == [1, 0]


def test_a_dense_error_reaches_the_caller():
    with pytest.raises(RuntimeError, match="index gone"):
        search_channels(_View(dense_error=RuntimeError("index gone")), np.ones(4, np.float32), {1: 1.0}, 3, 2)


def test_a_sparse_error_waits_for_the_dense_search_before_it_is_raised():
    view = _View(sparse_error=ValueError("bad query"))
    with pytest.raises(ValueError, match="bad query"):
        search_channels(view, np.ones(4, np.float32), {1: 1.0}, 3, 2)
    assert view.dense_done.is_set()
