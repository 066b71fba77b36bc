"""Search on Milvus for one generation: what its views see, and how Milvus is asked.

The catalog half of a view (documents, chunks, clause trees, terms, sources) is the common
:class:`~rag.store.view.View`. The search half asks Milvus, restricted to what the generation
can see:

* every Milvus expression carries ``id < next_chunk_id(G)``, which hides rows of later batches
  and of batches that never committed, and ``doc_id not in [...]`` for documents deleted at or
  before G whose rows are still in Milvus (see :mod:`rag.store.milvus_catalog`);
* every hit is checked against the generation's live chunk ids before it is returned (the
  safety net when the hidden list is too long for an expression): when that drops hits, the
  search is repeated with a larger ``limit``.

Results are ordered like the FAISS backend's: score descending, then chunk id ascending.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from rag.store import milvus_bm25 as bm25
from rag.store import milvus_catalog as mcat
from rag.store.errors import CollectionError
from rag.store.locks import release_lease
from rag.store.milvus_engine import MAX_LIMIT, MilvusTable, id_list, sparse_arrays
from rag.store.model import ModelInfo
from rag.store.queries import EMPTY, check_k, dense_result, id_array, no_chunks, query_matrix, unique_ids
from rag.store.sparse import query_arrays

#: documents listed in a ``doc_id not in [...]`` expression at most (beyond, the live-id check alone hides them)
MAX_HIDDEN_IN_EXPR = 1024
#: extra candidates asked for so that ties at the k-th place are ordered by id, as in the FAISS backend
TIE_MARGIN = 8

Hit = tuple[int, float, dict[str, Any]]


class MilvusSnapshot:
    """One generation on Milvus: its live chunk ids, hidden documents, BM25 length statistics, and search."""

    def __init__(self, collection: str, gen: int, bound: int, ids: np.ndarray, doc_of: np.ndarray,
                 hidden_docs: list[int], hidden_rows: int, length_sum: float, lease_fd: int | None,
                 table: MilvusTable, info: ModelInfo, reader: Callable[[], Any]) -> None:
        self.collection = collection
        self._table = table
        self._info = info
        self._reader = reader
        self.gen = gen
        self.bound = int(bound)
        self.ids = ids
        self.doc_of = doc_of
        self.n_live = int(len(ids))
        self.hidden_docs = hidden_docs
        self.hidden_rows = int(hidden_rows)
        self.length_sum = float(length_sum)
        self.avgdl = self.length_sum / self.n_live if self.n_live and self.length_sum > 0 else 1.0
        if lease_fd is not None:
            self._finalizer = weakref.finalize(self, release_lease, lease_fd)

    def positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(positions, live)``: where each id is in ``self.ids`` and whether it is live here."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        pos = np.searchsorted(self.ids, ids)
        ok = pos < self.n_live
        ok[ok] = self.ids[pos[ok]] == ids[ok]
        return pos, ok

    def rows_of(self, ids: Iterable[int] | np.ndarray) -> np.ndarray:
        ids = id_array(ids)
        pos, ok = self.positions(ids)
        if not ok.all():
            raise no_chunks(self.collection, self.gen, ids[~ok])
        return pos

    def rows_of_docs(self, doc_ids: Iterable[int]) -> np.ndarray:
        docs = unique_ids(doc_ids)
        if len(docs) == 0 or self.n_live == 0:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(np.isin(self.doc_of, docs))

    def chunk_ids(self, doc_ids: Iterable[int] | None = None) -> np.ndarray:
        """Live chunk ids (ascending), of the given documents when ``doc_ids`` is given."""
        if doc_ids is None:
            return self.ids.copy()
        return self.ids[self.rows_of_docs(doc_ids)]

    # ------------------------------------------------------------------ search plumbing
    def _expr(self, scope: np.ndarray | None) -> str:
        parts = [f"id < {self.bound}"]
        hidden = self.hidden_docs
        if hidden and len(hidden) <= MAX_HIDDEN_IN_EXPR:
            parts.append(f"doc_id not in {id_list(hidden)}")
        if scope is not None:
            parts.append(f"doc_id in {id_list(scope.tolist())}")
        return " and ".join(parts)

    def _scope(self, doc_ids: Iterable[int] | None) -> tuple[np.ndarray | None, int]:
        """Documents of ``doc_ids`` with live chunks here (``None``: all) and how many chunks they hold."""
        if doc_ids is None:
            return None, self.n_live
        rows = self.rows_of_docs(doc_ids)
        return np.unique(self.doc_of[rows]), len(rows)

    def _search(self, field: str, queries: list[Any], k: int, limit: int, scope: np.ndarray | None,
                eligible: int, output_fields: list[str] | None = None) -> list[list[Hit]]:
        """Milvus hits that are live here (and in scope), widening ``limit`` until each query has ``k`` or all."""
        want = min(k, eligible)
        hidden_margin = self.hidden_rows if len(self.hidden_docs) > MAX_HIDDEN_IN_EXPR else 0
        limit = min(MAX_LIMIT, limit + hidden_margin)
        expr = self._expr(scope)
        while True:
            results = self._table.search(field, queries, limit, expr, output_fields)
            kept: list[list[Hit]] = []
            short = False
            for hits in results:
                if hits:
                    pos, ok = self.positions(np.fromiter((h[0] for h in hits), np.int64, len(hits)))
                    if scope is not None:
                        ok[ok] = np.isin(self.doc_of[pos[ok]], scope)
                    good = [h for h, keep in zip(hits, ok.tolist()) if keep]
                else:
                    good = []
                kept.append(good)
                short |= len(good) < want and len(hits) >= limit
            if not short or limit >= MAX_LIMIT:
                return kept
            limit = min(MAX_LIMIT, limit * 4)

    @staticmethod
    def _top(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((ids, -scores))[:k]
        return ids[order], scores[order].astype(np.float32)

    # ------------------------------------------------------------------ dense
    def dense_search(
        self, q: np.ndarray, k: int, doc_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` chunks by inner product with the normalised query (same contract as the FAISS backend)."""
        Q, single = query_matrix(q, self._info.dim, self.collection)
        k = check_k(k)
        m = Q.shape[0]
        scope, eligible = self._scope(doc_ids)
        out_i = np.full((m, k), -1, dtype=np.int64)
        out_d = np.full((m, k), -np.inf, dtype=np.float32)
        if eligible:
            results = self._search("dense", list(Q), k, k + TIE_MARGIN, scope, eligible)
            for r, hits in enumerate(results):
                if hits:
                    ids = np.fromiter((h[0] for h in hits), np.int64, len(hits))
                    scores = np.fromiter((h[1] for h in hits), np.float64, len(hits))
                    ids, scores = self._top(ids, scores, k)
                    out_i[r, : len(ids)] = ids
                    out_d[r, : len(ids)] = scores
        return dense_result(out_i, out_d, single)

    def dense_vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        wanted = id_array(ids)
        self.rows_of(wanted)
        rows = self._table.fetch(wanted.tolist(), ["dense"])
        out = np.zeros((len(wanted), self._info.dim), dtype=np.float32)
        for i, cid in enumerate(wanted.tolist()):
            row = rows.get(cid)
            if row is None:
                raise self._lost([cid])
            out[i] = np.asarray(row["dense"], dtype=np.float32)
        return out

    # ------------------------------------------------------------------ sparse
    def _query_factors(self, q: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
        """The query's terms and per-term factors: the weights (lexical) or weight * live idf (BM25)."""
        terms, weights = query_arrays(q)
        if (weights < 0).any():
            raise ValueError("sparse query weights must be >= 0 on the Milvus backend")
        if len(terms) == 0 or self._info.sparse != "bm25":
            return terms, weights
        df = mcat.document_frequencies(self._reader(), terms)
        known = df > 0  # a term no live chunk holds scores nothing
        terms, weights, df = terms[known], weights[known], df[known]
        return terms, weights * bm25.bm25_idf(self.n_live, df)

    def _bm25_score(self, entity: dict[str, Any], terms: np.ndarray, factors: np.ndarray) -> float:
        """Exact BM25 of one chunk with the live average length, from its stored weights (``terms`` sorted)."""
        t, w = sparse_arrays(entity["sparse"])
        pos = np.searchsorted(terms, t)
        hit = pos < len(terms)
        hit[hit] = terms[pos[hit]] == t[hit]
        if not hit.any():
            return 0.0
        n_live = bm25.length_norm(float(entity["dl"]), self.avgdl)
        return float(np.sum(factors[pos[hit]] * bm25.live_term_scores(w[hit], float(entity["nref"]), n_live)))

    def sparse_search(
        self, q: Mapping[int, float], k: int, doc_ids: Iterable[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` chunks by sparse score (chunks sharing no query term are not returned)."""
        k = check_k(k)
        empty = EMPTY
        terms, factors = self._query_factors(q)
        if len(terms) == 0 or self.n_live == 0:
            return empty
        scope, eligible = self._scope(doc_ids)
        if not eligible:
            return empty
        query = dict(zip(terms.tolist(), factors.astype(np.float32).tolist()))
        if self._info.sparse == "bm25":
            hits = self._search("sparse", [query], k, bm25.overfetch(k) + TIE_MARGIN, scope, eligible,
                                ["sparse", "dl", "nref"])[0]
            order = np.argsort(terms)
            terms, factors = terms[order], factors[order]
            scores = np.array([self._bm25_score(h[2], terms, factors) for h in hits], dtype=np.float64)
        else:
            hits = self._search("sparse", [query], k, k + TIE_MARGIN, scope, eligible)[0]
            scores = np.array([h[1] for h in hits], dtype=np.float64)
        if not hits:
            return empty
        ids = np.array([h[0] for h in hits], dtype=np.int64)
        keep = scores > 0
        return self._top(ids[keep], scores[keep], k)

    def sparse_scores(self, q: Mapping[int, float], ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """Scores of the given live chunks (0 where no query term matches), in ``ids`` order."""
        wanted = id_array(ids)
        self.rows_of(wanted)
        out = np.zeros(len(wanted), dtype=np.float32)
        terms, factors = self._query_factors(q)
        if len(terms) == 0 or len(wanted) == 0:
            return out
        order = np.argsort(terms)
        terms, factors = terms[order], factors[order]
        bm = self._info.sparse == "bm25"
        rows = self._table.fetch(wanted.tolist(), ["sparse", "dl", "nref"] if bm else ["sparse"])
        for i, cid in enumerate(wanted.tolist()):
            row = rows.get(cid)
            if row is None:
                raise self._lost([cid])
            if bm:
                out[i] = self._bm25_score(row, terms, factors)
            else:
                t, w = sparse_arrays(row["sparse"])
                pos = np.searchsorted(terms, t)
                hit = pos < len(terms)
                hit[hit] = terms[pos[hit]] == t[hit]
                out[i] = float(np.sum(w[hit] * factors[pos[hit]]))
        return out

    # ------------------------------------------------------------------ ColBERT
    def colbert(self, ids: Sequence[int] | np.ndarray) -> list[np.ndarray] | None:
        """Float32 copies of the chunks' ColBERT token vectors; ``None`` without a multi-vector part."""
        cdim = self._info.colbert_dim
        if not cdim:
            return None
        wanted = id_array(ids)
        self.rows_of(wanted)
        found = mcat.colbert_vectors(self._reader(), wanted.tolist(), cdim)
        missing = [i for i in wanted.tolist() if i not in found]
        if missing:
            raise CollectionError(
                f"collection {self.collection!r}: catalog has no ColBERT vectors of chunk(s) {missing[:10]}"
            )
        return [found[i] for i in wanted.tolist()]

    def _lost(self, ids: list[int]) -> CollectionError:
        return CollectionError(
            f"collection {self.collection!r} generation {self.gen}: Milvus collection {self._table.name!r} "
            f"has no vectors of chunk(s) {ids[:10]} that the catalog lists (run verify(); re-ingest the documents)"
        )
