"""Dense and sparse search against brute-force references, with filters, deletions and merges."""

from __future__ import annotations

import numpy as np
import pytest

from rag.store import IndexOptions, ModelInfo, create_collection
from rag.store import snapshot as snapshot_mod
from rag.store.sparse import csc_from_coo, merge_csc


class Reference:
    """What the collection should contain, kept in plain Python."""

    def __init__(self):
        self.dense: dict[int, np.ndarray] = {}
        self.sparse: dict[int, dict[int, float]] = {}
        self.doc: dict[int, int] = {}

    def add(self, view, doc_id, batch):
        ids = view.chunk_ids([doc_id])
        for cid, vec, sp in zip(ids.tolist(), batch.dense, batch.sparse):
            self.dense[cid] = vec / np.linalg.norm(vec)
            self.sparse[cid] = sp
            self.doc[cid] = doc_id

    def delete(self, doc_id):
        for cid in [c for c, d in self.doc.items() if d == doc_id]:
            del self.dense[cid], self.sparse[cid], self.doc[cid]

    def dense_top(self, q, k, docs=None):
        ids = [c for c in sorted(self.dense) if docs is None or self.doc[c] in docs]
        scores = np.array([self.dense[c] @ (q / np.linalg.norm(q)) for c in ids], dtype=np.float64)
        order = np.lexsort((np.array(ids), -scores))[:k]
        return [ids[i] for i in order], scores[order]

    def lexical(self, q, cid):
        return sum(w * self.sparse[cid].get(t, 0.0) for t, w in q.items())

    def sparse_top(self, q, k, docs=None):
        ids = [c for c in sorted(self.sparse) if docs is None or self.doc[c] in docs]
        scores = np.array([self.lexical(q, c) for c in ids])
        keep = scores > 0
        ids = np.array(ids)[keep]
        scores = scores[keep]
        order = np.lexsort((ids, -scores))[:k]
        return ids[order].tolist(), scores[order]


def build(col, doc_factory, n_docs, chunks=20, batches=4, dim=16, bm25=False, vocab=200):
    ref = Reference()
    per = n_docs // batches
    for b in range(batches):
        with col.writer() as w:
            made = [(db.add_to(w), db) for db in (doc_factory(f"d{b}-{i}.txt", chunks, dim=dim, bm25=bm25, vocab=vocab) for i in range(per))]
        v = col.view()
        for doc_id, db in made:
            ref.add(v, doc_id, db)
    return ref


def check_dense(view, ref, rng, k=10, docs=None, exact=True, n_queries=10):
    recalls = []
    for _ in range(n_queries):
        q = rng.standard_normal(view.info.dim).astype(np.float32)
        ids, scores = view.dense_search(q, k, doc_ids=docs)
        want_ids, want_scores = ref.dense_top(q, k, docs)
        assert set(ids.tolist()) <= set(ref.dense) and (docs is None or {ref.doc[i] for i in ids.tolist()} <= set(docs))
        assert (np.diff(scores) <= 1e-6).all()
        if exact:
            np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
            assert ids.tolist() == want_ids
        recalls.append(len(set(ids.tolist()) & set(want_ids)) / max(len(want_ids), 1))
    return float(np.mean(recalls))


@pytest.fixture
def flat(data_dir):
    return create_collection(data_dir, "flat", ModelInfo("m", 16), IndexOptions(merge_factor=3, durable=False))


def test_flat_dense_is_exact(flat, doc_factory, rng):
    ref = build(flat, doc_factory, 8)
    v = flat.view()
    assert v.stats()["segments"] > 1
    check_dense(v, ref, rng)


def test_dense_batch_queries_pad_missing(flat, doc_factory, rng):
    build(flat, doc_factory, 2, chunks=3, batches=1)
    v = flat.view()
    q = rng.standard_normal((3, 16)).astype(np.float32)
    ids, scores = v.dense_search(q, 10)
    assert ids.shape == (3, 10) and scores.shape == (3, 10)
    assert (ids[:, :6] >= 0).all() and (ids[:, 6:] == -1).all() and np.isneginf(scores[:, 6:]).all()
    single_ids, _ = v.dense_search(q[1], 10)
    assert single_ids.tolist() == ids[1, :6].tolist()
    doc = int(v.documents()[0].id)
    fids, _ = v.dense_search(q, 10, doc_ids=[doc])
    assert fids.shape == (3, 10) and (fids[:, :3] >= 0).all() and (fids[:, 3:] == -1).all()
    for row in range(3):
        assert fids[row, :3].tolist() == v.dense_search(q[row], 3, doc_ids=[doc])[0].tolist()
    with pytest.raises(Exception, match="16-d"):
        v.dense_search(np.ones(8, np.float32), 3)


@pytest.mark.parametrize("exact_rows", [0, 8192])
def test_dense_filter_by_document(flat, doc_factory, rng, monkeypatch, exact_rows):
    monkeypatch.setattr(snapshot_mod, "EXACT_FILTER_ROWS", exact_rows)  # 0: FAISS IDSelector path
    ref = build(flat, doc_factory, 8)
    v = flat.view()
    docs = sorted(set(ref.doc.values()))
    check_dense(v, ref, rng, docs=[docs[1], docs[5]])
    check_dense(v, ref, rng, k=100, docs=[docs[2]])
    assert v.dense_search(np.ones(16, np.float32), 5, doc_ids=[10_000])[0].tolist() == []


def test_dense_deletions_are_never_returned(flat, doc_factory, rng):
    ref = build(flat, doc_factory, 8)
    docs = sorted(set(ref.doc.values()))
    with flat.writer() as w:
        w.delete_document(docs[0])  # few deletions: kept as masks
    ref.delete(docs[0])
    v = flat.view()
    assert v.stats()["deleted_rows"] > 0
    check_dense(v, ref, rng, k=50)
    check_dense(v, ref, rng, k=50, docs=docs[:3])


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_indexes(data_dir, doc_factory, rng, kind):
    opts = IndexOptions(approx_min_rows=200, merge_factor=3, ivf_nprobe=10_000, hnsw_ef_search=400, durable=False)
    col = create_collection(data_dir, kind, ModelInfo("m", 16, dense_index=kind), opts)
    ref = build(col, doc_factory, 40, chunks=20, batches=4)
    col.compact()
    v = col.view()
    assert v.stats()["dense_kinds"] == [kind] and v.stats()["segments"] == 1
    recall = check_dense(v, ref, rng, k=10, exact=(kind == "ivf"))  # IVF probing every list is exact
    assert recall >= 0.95
    ids = v.chunk_ids()[::37]
    np.testing.assert_allclose(v.dense_vectors(ids), np.stack([ref.dense[i] for i in ids.tolist()]), atol=1e-6)
    # deletions in an approximate segment: masked at search time, then physically removed by compaction
    docs = sorted(set(ref.doc.values()))
    with col.writer() as w:
        w.delete_document(docs[3])
    ref.delete(docs[3])
    v = col.view()
    assert v.stats()["deleted_rows"] == 20
    check_dense(v, ref, rng, k=10, exact=False)
    check_dense(v, ref, rng, k=10, docs=docs[:5], exact=True)  # small filters are scored exactly
    col.compact()
    v = col.view()
    assert v.stats()["deleted_rows"] == 0 and v.stats()["chunks"] == 780
    v.verify()
    assert check_dense(v, ref, rng, k=10, exact=False) >= 0.95


def test_lexical_sparse_matches_reference(flat, doc_factory, rng):
    ref = build(flat, doc_factory, 8)
    docs = sorted(set(ref.doc.values()))
    with flat.writer() as w:
        w.delete_document(docs[2])
    ref.delete(docs[2])
    v = flat.view()
    for _ in range(20):
        q = {int(t): float(rng.uniform(0.1, 1)) for t in rng.choice(200, size=int(rng.integers(1, 6)), replace=False)}
        for docs_filter in (None, docs[:4]):
            ids, scores = v.sparse_search(q, 15, doc_ids=docs_filter)
            want_ids, want_scores = ref.sparse_top(q, 15, docs_filter)
            assert ids.tolist() == want_ids
            np.testing.assert_allclose(scores, want_scores, rtol=1e-5)
        some = v.chunk_ids()[::7]
        np.testing.assert_allclose(v.sparse_scores(q, some), [ref.lexical(q, c) for c in some.tolist()], rtol=1e-5, atol=1e-7)
    assert v.sparse_search({}, 5)[0].tolist() == []
    assert v.sparse_search({10**6: 1.0}, 5)[0].tolist() == []


def test_sparse_rejects_bad_weights(flat, doc_factory):
    db = doc_factory("a.txt", 2)
    db.sparse[1] = {3: -1.0}
    with flat.writer() as w, pytest.raises(ValueError, match="chunk 1"):
        db.add_to(w)


def test_bm25_matches_bm25s(data_dir, doc_factory, rng):
    bm25s = pytest.importorskip("bm25s")
    col = create_collection(data_dir, "bm", ModelInfo("m", 16, sparse="bm25"), IndexOptions(merge_factor=3, durable=False))
    ref = build(col, doc_factory, 8, bm25=True, vocab=60)
    docs = sorted(set(ref.doc.values()))
    with col.writer() as w:
        w.delete_document(docs[4])  # live statistics (N, df, avgdl) must exclude it
    ref.delete(docs[4])
    v = col.view()
    live = sorted(ref.sparse)
    corpus = [[t for t, tf in ref.sparse[c].items() for _ in range(int(tf))] for c in live]
    vocab = {str(t): t for t in range(60)}
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    retriever.index((corpus, vocab), show_progress=False)
    for _ in range(10):
        terms = [int(t) for t in rng.choice(60, size=3, replace=False)]
        want = retriever.get_scores([str(t) for t in terms])
        q = {t: 1.0 for t in terms}
        got = v.sparse_scores(q, live)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
        ids, scores = v.sparse_search(q, 10)
        order = np.lexsort((np.array(live), -want))[:10]
        np.testing.assert_allclose(scores, want[order], rtol=1e-4)  # the top-10 scores
        np.testing.assert_allclose(want[np.searchsorted(live, ids)], scores, rtol=1e-4)  # held by these chunks


def test_merge_csc_equals_rebuild(rng):
    parts, coo_rows, coo_terms, coo_vals = [], [], [], []
    offset = 0
    for n in (7, 1, 12):
        rows = np.repeat(np.arange(n), rng.integers(0, 5, size=n))
        terms = rng.integers(0, 15, size=len(rows))
        # unique (row, term) pairs
        pairs = np.unique(np.stack([rows, terms], 1), axis=0)
        rows, terms = pairs[:, 0], pairs[:, 1]
        vals = rng.uniform(0.1, 1, size=len(rows))
        t, ip, r, v = csc_from_coo(rows, terms, vals)
        dead = rng.random(n) < 0.3
        new_row = np.full(n, -1)
        new_row[~dead] = offset + np.arange((~dead).sum())
        offset += int((~dead).sum())
        parts.append((t, ip, r, v, new_row))
        keep = ~dead[rows]
        coo_rows.append(new_row[rows[keep]])
        coo_terms.append(terms[keep])
        coo_vals.append(vals[keep])
    got = merge_csc(parts)
    want = csc_from_coo(np.concatenate(coo_rows), np.concatenate(coo_terms), np.concatenate(coo_vals))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("n", [50, 5_000, 200_000])
def test_sparse_candidates_never_miss_the_top_k(rng, n):
    from rag.store.sparse import candidates

    for frac in (0.0, 0.0005, 0.3, 1.0):
        scores = np.zeros(n, np.float32)
        hit = rng.random(n) < frac
        scores[hit] = rng.integers(1, 50, hit.sum()).astype(np.float32)  # many ties
        positive = np.flatnonzero(scores > 0)
        for k in (1, 10, 100):
            cand = candidates(scores, k)
            assert (scores[cand] > 0).all()
            if len(positive):
                kth = np.sort(scores[positive])[-min(k, len(positive))]
                assert set(np.flatnonzero(scores >= kth).tolist()) <= set(cand.tolist())
            else:
                assert len(cand) == 0


def test_sparse_keys_may_be_digit_strings(flat, doc_factory):
    db = doc_factory("a.txt", 2)
    db.sparse = [{str(t): w for t, w in d.items()} for d in db.sparse]  # FlagEmbedding's lexical_weights format
    with flat.writer() as w:
        db.add_to(w)
    v = flat.view()
    q = {str(t): 1.0 for t in db.sparse[0]}
    ids, _ = v.sparse_search(q, 1)
    assert ids.tolist() == v.chunk_ids()[:1].tolist()
    bad = doc_factory("b.txt", 1)
    bad.sparse = [{1.5: 1.0}]
    with flat.writer() as w, pytest.raises(ValueError, match="integer token ids"):
        bad.add_to(w)


def test_scatter_add_uses_the_compiled_kernel_with_this_scipy():
    """The fast path of scatter_add is scipy's private csc_matvec; if scipy moves it, search still
    works (np.add.at) but its scoring is 2-3x slower: this test says so before the figures do."""
    from rag.store import sparse

    assert sparse._csc_matvec is not None, "scipy.sparse._sparsetools.csc_matvec is gone: update scatter_add"


@pytest.mark.parametrize("fast", [True, False])
def test_scatter_add_equals_numpy_add_at(rng, tmp_path, monkeypatch, fast):
    from rag.store import sparse

    if not fast:
        monkeypatch.setattr(sparse, "_csc_matvec", None)
    n = 10_000
    out = rng.random(n).astype(np.float32)
    want = out.astype(np.float64)
    for size in (0, 1, 37, 5_000):
        rows = np.sort(rng.choice(n, size, replace=False)).astype(np.int32)
        vals = rng.random(size).astype(np.float32)
        np.save(tmp_path / "rows.npy", rows)
        np.save(tmp_path / "vals.npy", vals)
        # the segments' postings are read-only memory maps
        rows_map = np.load(tmp_path / "rows.npy", mmap_mode="r").view(np.ndarray)
        vals_map = np.load(tmp_path / "vals.npy", mmap_mode="r").view(np.ndarray)
        sparse.scatter_add(out, rows_map, vals_map, 0.75)
        np.add.at(want, rows, vals.astype(np.float64) * 0.75)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    # another layout (int64 rows, float64 values) takes numpy's path with the same result
    rows = np.arange(0, n, 7, dtype=np.int64)
    vals = np.ones(len(rows))
    sparse.scatter_add(out, rows, vals, 2.0)
    want[rows] += 2.0
    np.testing.assert_allclose(out, want, rtol=1e-6)


@pytest.mark.parametrize("bad_row", [-1, 10**6])
def test_a_segment_whose_postings_point_outside_it_is_refused(data_dir, doc_factory, bad_row):
    """scatter_add's kernel does not check bounds: a damaged rows.npy must fail at load, not write
    scores into memory that is not the score array."""
    from rag.store import Collection

    col = create_collection(data_dir, "c", ModelInfo("test/model", 16))
    with col.writer() as w:
        doc_factory("a.txt", 3).add_to(w)
    (seg_dir,) = [p for p in (col.path / "parts").iterdir() if (p / "rows.npy").is_file()]
    rows = np.load(seg_dir / "rows.npy")
    rows[len(rows) // 2] = bad_row
    np.save(seg_dir / "rows.npy", rows)
    with pytest.raises(OSError, match="postings do not fit"):
        Collection.open(col.path).view()
