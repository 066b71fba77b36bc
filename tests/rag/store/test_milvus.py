"""The Milvus backend (on Milvus Lite) against the FAISS backend: same documents, same ids, same results.

Every test builds a Milvus-backed collection and, where results are compared, a FAISS twin
filled by the very same calls. Milvus Lite runs inside this process, one server per ``.db``
folder, shared by the whole module (each test uses its own collection in it). The tests that use
it run twice: with the catalogs in SQLite files, and in PostgreSQL (a throw-away server).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from rag.store import (  # noqa: E402
    Collection,
    CollectionBusy,
    CollectionError,
    IndexOptions,
    ModelInfo,
    ModelMismatch,
    create_collection,
)
from rag.store.milvus import (  # noqa: E402
    INFLIGHT,
    MilvusCollection,
    close_backend,
    create_milvus_collection,
    delete_milvus_collection,
    list_milvus_collections,
    open_backend_collection,
    open_milvus_collection,
)
from rag.store.milvus_uri import milvus_collection_name, parse_backend  # noqa: E402

OPTS = IndexOptions(merge_factor=3, durable=False)
_names = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def lite(request, tmp_path_factory):
    """One Milvus Lite server for the module (starting one costs a few seconds); catalogs in files or PostgreSQL."""
    catalog = f"?catalog={request.getfixturevalue('pg_url')}" if request.param == "postgresql" else ""
    backend = parse_backend(f"milvus-lite://{tmp_path_factory.mktemp('milvus') / 'vectors.db'}{catalog}")
    yield backend
    close_backend(backend)


def address(backend):
    """The backend's address as a user writes it (with its PostgreSQL catalog, if any)."""
    return backend.uri + (f"?catalog={backend.catalog_url}" if backend.catalog_url else "")


def lose_catalog(col):
    """Remove a collection's catalog behind its back (another machine's, or an interrupted create)."""
    if col.path is not None:
        import shutil

        shutil.rmtree(col.path)
        return
    from rag.store.pg_catalog import connect

    conn = connect(col.backend.catalog_url, None)
    conn.execute("DELETE FROM rag.collections WHERE schema_name = ?", (col.db.schema,))
    conn.execute(f"DROP SCHEMA {col.db.schema} CASCADE")
    conn.close()


@pytest.fixture
def pair(lite, data_dir):
    """``make(info, options) -> (milvus collection, FAISS twin)`` under a fresh name."""

    def make(info: ModelInfo, options: IndexOptions = OPTS):
        name = f"t{next(_names)}"
        return create_milvus_collection(lite, name, info, options), create_collection(data_dir, name, info, options)

    return make


def timeless(docs):
    """Document infos without ``added_at``: the two backends' batches may straddle a second."""
    return [replace(d, added_at="") for d in (docs if isinstance(docs, list) else [docs])]


def both(cols, action):
    """Run ``action(writer)`` in one batch on each collection; the results (ids) must agree."""
    out = []
    for col in cols:
        with col.writer() as w:
            out.append(action(w))
    assert out[0] == out[1]
    return out[0]


def assert_same_dense(mv, fv, rng, k=10, docs=None, n=8):
    for _ in range(n):
        q = rng.standard_normal(mv.info.dim).astype(np.float32)
        ids, scores = mv.dense_search(q, k, doc_ids=docs)
        want_ids, want_scores = fv.dense_search(q, k, doc_ids=docs)
        assert ids.tolist() == want_ids.tolist()
        np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)


def random_query(rng, vocab=200, bm25=False):
    terms = rng.choice(vocab, size=int(rng.integers(1, 6)), replace=False)
    return {int(t): (1.0 if bm25 else float(rng.uniform(0.1, 1))) for t in terms}


def assert_same_sparse(mv, fv, rng, k=15, docs=None, n=15, vocab=200, bm25=False, rtol=1e-5):
    for _ in range(n):
        q = random_query(rng, vocab, bm25)
        ids, scores = mv.sparse_search(q, k, doc_ids=docs)
        want_ids, want_scores = fv.sparse_search(q, k, doc_ids=docs)
        assert ids.tolist() == want_ids.tolist()
        np.testing.assert_allclose(scores, want_scores, rtol=rtol)
        some = fv.chunk_ids()[::3]
        np.testing.assert_allclose(mv.sparse_scores(q, some), fv.sparse_scores(q, some), rtol=rtol, atol=1e-7)


# ---------------------------------------------------------------------- addresses
def test_backend_addresses(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_MILVUS_TOKEN", raising=False)
    assert parse_backend(None).kind == "faiss" and parse_backend("faiss").kind == "faiss"
    b = parse_backend(f"milvus-lite://{tmp_path}/x.db")
    assert (b.kind, b.address, b.name) == ("milvus-lite", str(tmp_path / "x.db"), None)
    assert b.catalogs(None) == Path(f"{tmp_path}/x.db.catalogs")
    monkeypatch.chdir(tmp_path)
    assert parse_backend("milvus-lite:rel/y.db").address == str(tmp_path / "rel" / "y.db")
    s = parse_backend("milvus://alice:s3cret@db.internal:19531/contracts?db=legal")
    assert (s.kind, s.address, s.name, s.token, s.db_name) == (
        "milvus", "http://db.internal:19531", "contracts", "alice:s3cret", "legal")
    assert s.catalogs(tmp_path) == tmp_path / "milvus" / "db.internal_19531_legal"
    assert s.collection_name(None) == "contracts" and s.collection_name("contracts") == "contracts"
    with pytest.raises(CollectionError, match="names collection 'contracts'"):
        s.collection_name("other")
    assert parse_backend("milvus+https://h").address == "https://h:19530"
    assert parse_backend(f"milvus://h?catalog={tmp_path}/cat").catalogs(None) == tmp_path / "cat"
    for bad, msg in [("milvus-lite:///tmp/x.sqlite", "must end in .db"), ("milvus://", "no host"),
                     ("milvus://h?colour=red", "unknown option"), ("postgres://h", "unknown backend"),
                     ("milvus://h/../x", "invalid collection name"), ("milvus://h?db=a-b", "database name")]:
        with pytest.raises(CollectionError, match=msg):
            parse_backend(bad)
    with pytest.raises(CollectionError, match="data directory"):
        parse_backend("milvus://h").catalogs(None)
    names = {milvus_collection_name(n) for n in ("a_b", "a.b", "a-b", "a_2eb", "ab")}
    assert len(names) == 5 and all(n.startswith("rag_") and n.replace("_", "").isalnum() for n in names)


# ---------------------------------------------------------------------- writes and reads
def test_round_trip_of_everything_stored(pair, doc_factory):
    mc, fc = pair(ModelInfo("test/model", 16, colbert_dim=4))
    doc = doc_factory("contract.pdf", 4, colbert_dim=4, pdf=True)
    doc_id = both((mc, fc), doc.add_to)
    v, f = mc.view(), fc.view()
    assert v.generation == f.generation == 1
    assert timeless(v.documents()) == timeless(f.documents())
    assert timeless(v.document_info(doc_id)) == timeless(f.document_info(doc_id))
    assert timeless(v.find_document(name="contract.pdf")) == timeless(f.find_document(name="contract.pdf"))
    assert v.document(doc_id) == doc.document
    assert v.source(doc_id) == doc.source
    assert v.clauses(doc_id) == doc.clauses and v.defined_terms(doc_id) == doc.terms
    ids = v.chunk_ids([doc_id])
    assert ids.tolist() == f.chunk_ids([doc_id]).tolist()
    assert v.chunks(ids[::-1]) == f.chunks(ids[::-1])
    np.testing.assert_allclose(v.dense_vectors(ids[::-1]), f.dense_vectors(ids[::-1]), rtol=1e-6, atol=1e-7)
    for got, want in zip(v.colbert(ids), f.colbert(ids)):
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
    with pytest.raises(CollectionError, match="no chunk"):
        v.dense_vectors([ids[-1] + 100])
    v.verify()
    stats = v.stats()
    assert (stats["documents"], stats["chunks"], stats["milvus_rows"]) == (1, 4, 4)
    assert stats["bytes"]["total"] == sum(b for p, b in stats["bytes"].items() if p != "total") > 0


def test_validation_matches_the_faiss_writer(pair, doc_factory):
    mc, _ = pair(ModelInfo("m", 16))
    with mc.writer() as w:
        bad = doc_factory("a.txt", 2)
        bad.sparse[1] = {3: -1.0}
        with pytest.raises(ValueError, match="chunk 1"):
            bad.add_to(w)
        wrong = doc_factory("b.txt", 2)
        wrong.chunks[1].text = "something else"
        with pytest.raises(ValueError, match="chunk 1 text"):
            wrong.add_to(w)
        with pytest.raises(ValueError, match="shape"):
            w.add_document(wrong.document, wrong.chunks, np.ones((2, 8)), wrong.sparse, content_hash="h")
        strings = doc_factory("c.txt", 2)
        strings.sparse = [{str(t): x for t, x in d.items()} for d in strings.sparse]  # FlagEmbedding's format
        strings.add_to(w)
    v = mc.view()
    assert [d.name for d in v.documents()] == ["c.txt"]
    assert v.sparse_search({str(t): 1.0 for t in strings.sparse[0]}, 1)[0].tolist() == v.chunk_ids()[:1].tolist()


def test_adds_deletes_and_replacements_search_like_faiss(pair, doc_factory, rng):
    mc, fc = pair(ModelInfo("m", 16))
    docs = [doc_factory(f"d{i}.txt", 12) for i in range(8)]
    ids = both((mc, fc), lambda w: [d.add_to(w) for d in docs[:5]])
    ids += both((mc, fc), lambda w: [d.add_to(w) for d in docs[5:]])
    new = doc_factory("d3.txt", 7)
    replaced = both((mc, fc), lambda w: (w.delete_document(ids[1]),
                                         w.replace_document(ids[3], new.document, new.chunks, new.dense, new.sparse,
                                                            content_hash=new.content_hash))[1])
    v, f = mc.view(), fc.view()
    assert timeless(v.documents()) == timeless(f.documents()) and v.chunk_ids().tolist() == f.chunk_ids().tolist()
    assert v.find_document(name="d3.txt").id == replaced and len(v.chunk_ids([replaced])) == 7
    assert len(v.chunk_ids([ids[1]])) == 0
    for docs_filter in (None, [ids[0], ids[4]], [replaced], [ids[1]], [10_000]):
        assert_same_dense(v, f, rng, k=10, docs=docs_filter)
        assert_same_sparse(v, f, rng, k=15, docs=docs_filter)
    assert_same_dense(v, f, rng, k=200)  # more than there are chunks
    # batch queries: [m, k] padded with -1 / -inf
    q = rng.standard_normal((3, 16)).astype(np.float32)
    got, want = v.dense_search(q, 100, doc_ids=[ids[0]]), f.dense_search(q, 100, doc_ids=[ids[0]])
    assert got[0].tolist() == want[0].tolist() and got[0].shape == (3, 100)
    np.testing.assert_allclose(got[1][:, :12], want[1][:, :12], rtol=1e-5)
    assert np.isneginf(got[1][:, 12:]).all()
    with pytest.raises(CollectionError, match="16-d"):
        v.dense_search(np.ones(8, np.float32), 3)
    assert v.sparse_search({}, 5)[0].tolist() == [] and v.sparse_search({10**6: 1.0}, 5)[0].tolist() == []
    v.verify()
    with pytest.raises(CollectionError, match=f"no document {ids[1]}"):
        with mc.writer() as w:
            w.delete_document(ids[1])


def test_bm25_scores_like_faiss_despite_length_drift(pair, doc_factory, rng):
    """Rows written while the average length changed a lot: exact rescoring keeps the FAISS backend's results."""
    mc, fc = pair(ModelInfo("m", 16, sparse="bm25"))
    made, lengths = [], {}
    for b in range(6):  # chunk lengths grow batch by batch: early rows saw a much shorter average
        batch = []
        for i in range(3):
            d = doc_factory(f"b{b}-{i}.txt", 8, bm25=True, vocab=60)
            d.sparse = [{t: tf * (1 + 3 * b) for t, tf in s.items()} for s in d.sparse]
            batch.append(d)
        got = both((mc, fc), lambda w: [d.add_to(w) for d in batch])
        made += got
        lengths.update({doc: [sum(s.values()) for s in d.sparse] for doc, d in zip(got, batch)})
    both((mc, fc), lambda w: [w.delete_document(made[i]) for i in (0, 7, 15)])
    v, f = mc.view(), fc.view()
    live = [x for doc in made if doc not in (made[0], made[7], made[15]) for x in lengths[doc]]
    assert v.stats()["bm25_avgdl"] == pytest.approx(np.mean(live), rel=1e-4)
    assert np.mean(live) > 3 * np.mean(lengths[made[1]])  # the first rows' reference length is far off
    assert_same_sparse(v, f, rng, k=10, vocab=60, bm25=True, n=25, rtol=1e-4)
    assert_same_sparse(v, f, rng, k=5, docs=made[3:9], vocab=60, bm25=True, rtol=1e-4)
    v.verify()
    mc.compact()  # re-normalised to the current average: identical scores, and Milvus's own ranking agrees
    v2 = mc.view()
    v2.verify()
    assert_same_sparse(v2, f, rng, k=10, vocab=60, bm25=True, n=10, rtol=1e-4)


def test_old_views_keep_their_generation_until_released(pair, doc_factory, rng):
    mc, fc = pair(ModelInfo("m", 16))
    a, b = doc_factory("a.txt", 6), doc_factory("b.txt", 6)
    a_id = both((mc, fc), lambda w: [a.add_to(w), b.add_to(w)][0])
    old = mc.view()
    q = a.dense[0]
    before = old.dense_search(q, 3)
    with mc.writer() as w:
        w.delete_document(a_id)
        doc_factory("c.txt", 4).add_to(w)
    new = mc.view()
    assert old.dense_search(q, 3)[0].tolist() == before[0].tolist() and before[0][0] in old.chunk_ids([a_id])
    assert not set(new.dense_search(q, 20)[0].tolist()) & set(old.chunk_ids([a_id]).tolist())
    assert not set(new.sparse_search(a.sparse[0], 20)[0].tolist()) & set(old.chunk_ids([a_id]).tolist())
    assert new.stats()["hidden_rows"] == 6 and new.stats()["milvus_rows"] == 16
    old.verify()
    new.verify()
    del old, before
    with mc.writer():  # nobody leases generation 1 any more: document a is purged, its vectors deleted
        pass
    with mc.writer() as w:
        doc_factory("d.txt", 1).add_to(w)
    st = mc.view().stats()
    assert (st["hidden_rows"], st["milvus_rows"], st["chunks"]) == (0, 11, 11)
    assert mc._conn().execute("SELECT COUNT(*) FROM documents WHERE id = ?", (a_id,)).fetchone()[0] == 0
    mc.view().verify()


def test_exception_rolls_back_the_batch_and_its_vectors(pair, doc_factory):
    mc, _ = pair(ModelInfo("m", 16), IndexOptions(flush_rows=2, durable=False))
    with mc.writer() as w:
        keep = doc_factory("keep.txt", 3).add_to(w)
    with pytest.raises(RuntimeError, match="boom"):
        with mc.writer() as w:
            doc_factory("x.txt", 3).add_to(w)  # flushed to Milvus at once
            w.delete_document(keep)
            raise RuntimeError("boom")
    v = mc.view()
    assert v.generation == 1 and [d.name for d in v.documents()] == ["keep.txt"]
    assert v.stats()["milvus_rows"] == 3 and mc.db.get_marker(INFLIGHT) is None
    v.verify()


def test_add_then_delete_in_the_same_batch(pair, doc_factory):
    mc, fc = pair(ModelInfo("m", 16, colbert_dim=4), IndexOptions(flush_rows=4, durable=False))

    docs = [doc_factory(n, k, colbert_dim=4) for n, k in (("a.txt", 5), ("b.txt", 2), ("c.txt", 2))]

    def action(w):
        a = docs[0].add_to(w)  # flushed to Milvus at once
        b = docs[1].add_to(w)  # still buffered
        c = docs[2].add_to(w)
        w.delete_document(a)
        w.delete_document(c)
        return b

    b = both((mc, fc), action)
    v = mc.view()
    assert [d.id for d in v.documents()] == [b] and len(v.chunk_ids()) == 2
    assert v.stats()["milvus_rows"] == 2
    assert mc._conn().execute("SELECT COUNT(*) FROM milvus_colbert").fetchone()[0] == 2
    v.verify()


def test_kill_mid_batch_leaves_the_last_commit_and_the_next_writer_sweeps(tmp_path):
    """SIGKILL while a batch's vectors are in Milvus but its catalog transaction is open."""
    uri = f"milvus-lite://{tmp_path / 'crash.db'}"
    helper = Path(__file__).with_name("milvus_crash_writer.py")
    out = subprocess.run([sys.executable, str(helper), uri, "c"], capture_output=True, text=True, timeout=300)
    assert out.returncode == -9 and "flushed" in out.stdout, out.stderr[-2000:]
    backend = parse_backend(uri)
    try:
        col = open_milvus_collection(backend, "c")
        v = col.view()
        assert [d.name for d in v.documents()] == ["kept-0.txt", "kept-1.txt", "kept-2.txt"]
        assert v.stats()["milvus_rows"] > 15 and (col.path / INFLIGHT).exists()  # the dead batch's orphans
        for cid in range(16, 31):  # orphan ids: never returned by a search
            assert cid not in v.sparse_search({t: 1.0 for t in range(200)}, 100)[0].tolist()
        assert v.dense_search(np.ones(16, np.float32), 100)[0].tolist() == v.dense_search(
            np.ones(16, np.float32), 15)[0].tolist()
        v.verify()
        with col.writer() as w:  # re-running the ingest: the first writer deletes the orphans first
            assert w.generation == 2
        v = col.view()
        assert v.stats()["milvus_rows"] == 15 and not (col.path / INFLIGHT).exists()
        v.verify()
    finally:
        close_backend(backend)


# ---------------------------------------------------------------------- collections
def test_create_open_list_delete(lite, tmp_path):
    info = ModelInfo("test/model", 16)
    name = f"life{next(_names)}"
    col = create_milvus_collection(lite, name, info)
    assert name in list_milvus_collections(lite)
    with pytest.raises(CollectionError, match="already exists"):
        create_milvus_collection(lite, name, info)
    again = open_backend_collection(address(lite), name)
    assert isinstance(again, MilvusCollection) and again.info == info and again.catalog_id == col.catalog_id
    with pytest.raises(ModelMismatch):
        again.check_model(ModelInfo("other", 16))
    with col.writer():
        with pytest.raises(CollectionBusy):
            again.writer()
    with pytest.raises(CollectionError, match="no collection 'missing'"):
        open_milvus_collection(lite, "missing")
    with pytest.raises(CollectionError, match="needs the model"):
        open_backend_collection(lite, "missing", create=True)
    # a Milvus collection whose catalog is gone (another machine's, or an interrupted create)
    delete_milvus_collection(lite, name)
    assert name not in list_milvus_collections(lite)
    orphan = create_milvus_collection(lite, name, info)
    lose_catalog(orphan)
    with pytest.raises(CollectionError, match="no catalog for it"):
        create_milvus_collection(lite, name, info)
    with pytest.raises(CollectionError, match="no collection"):
        delete_milvus_collection(lite, name)
    delete_milvus_collection(lite, name, force=True)
    create_milvus_collection(lite, name, info)
    # the default backend is FAISS, under the data directory
    faiss_col = open_backend_collection(None, "plain", data_dir=tmp_path, create=True, info=info)
    assert isinstance(faiss_col, Collection)
    assert open_backend_collection("faiss", "plain", data_dir=tmp_path).info == info


def test_a_collection_deleted_by_another_host_says_so(lite, doc_factory):
    """Another host deletes the collection (drops its PostgreSQL schema and its Milvus collection):
    this host's open object and views fail with a CollectionError that says the collection was
    deleted, on reads and on writes, not with the database driver's error."""
    if not lite.catalog_url:
        pytest.skip("a PostgreSQL catalog's case: a catalog folder is deleted on its own host")
    name = f"gone{next(_names)}"
    col = create_milvus_collection(lite, name, ModelInfo("test/model", 16), OPTS)
    with col.writer() as w:
        doc_factory("a.txt", 3).add_to(w)
    view = col.view()
    doc_id = view.documents()[0].id
    delete_milvus_collection(parse_backend(address(lite)), name)  # its own connections, as on another host
    deleted = f"collection '{name}' no longer exists: its catalog .* was deleted"
    reads = [col.view, col.current_generation, view.documents, lambda: view.document(doc_id),
             view.image_items, lambda: col.db.get_marker(INFLIGHT)]
    for read in reads:
        with pytest.raises(CollectionError, match=deleted):
            read()
    with pytest.raises(CollectionError, match=deleted):
        with col.writer() as w:
            doc_factory("b.txt", 3).add_to(w)
    with pytest.raises(CollectionError, match=deleted):
        col.db.set_marker("note", b"x")
    with pytest.raises(CollectionError, match=f"no collection '{name}'"):
        open_milvus_collection(lite, name)
    col.close()


def test_durable_commit_and_approximate_index(pair, doc_factory, rng):
    """HNSW on Milvus: recall against the exact FAISS twin; durable commits flush Milvus Lite."""
    mc, fc = pair(ModelInfo("m", 16, dense_index="hnsw"), IndexOptions(durable=True, hnsw_ef_search=200))
    docs = [doc_factory(f"d{i}.txt", 20) for i in range(10)]
    both((mc, fc), lambda w: [d.add_to(w) for d in docs])
    v, f = mc.view(), fc.view()
    recalls = []
    for _ in range(10):
        q = rng.standard_normal(16).astype(np.float32)
        got, want = v.dense_search(q, 10)[0], f.dense_search(q, 10)[0]
        recalls.append(len(set(got.tolist()) & set(want.tolist())) / 10)
    assert np.mean(recalls) >= 0.9
    v.verify()


# ---------------------------------------------------------------------- the retrieval pipeline on both backends
def test_retriever_gives_the_same_hits_on_both_backends(lite, tmp_path, tiny_m3_dir):
    """The three contracts of the retrieval tests, ingested into each backend: identical rankings and scores."""
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import discover, ingest
    from rag.models import load_encoder
    from rag.retrieve import RetrievalOptions, Retriever
    from tests.rag.retrieve.conftest import CHUNKING, DOCS

    enc = load_encoder(str(tiny_m3_dir), device="cpu", dtype="float32")
    folder = tmp_path / "contracts"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    info = ModelInfo(name=enc.name, dim=enc.dim, sparse="lexical", colbert_dim=enc.dim)
    name = f"r{next(_names)}"
    cols = [create_milvus_collection(lite, name, info, OPTS), create_collection(tmp_path / "faiss", name, info, OPTS)]
    for col in cols:
        report = ingest(discover([folder]), col, enc, chunking=ChunkingConfig(**CHUNKING))
        assert not report.failed, report.failed
    questions = ["Who may terminate by giving written notice?", "archival copy legal department",
                 "In the Acme/Beta NDA, how long does the agreement last?", "哪些情况属于不可抗力 force majeure?",
                 "late payment interest", "nightly backups data centres", "Section 3.3"]
    variants = [dict(), dict(fusion="rrf"), dict(use_dense=False), dict(use_sparse=False), dict(colbert=True),
                dict(dense_k=3, sparse_k=3)]
    compared = 0
    for extra in variants:
        opts = RetrievalOptions(rerank=False, **extra)
        milvus, faiss_ = (Retriever(col, enc, None, opts) for col in cols)
        for q in questions:
            got, want = milvus.search(q, top_k=10).hits, faiss_.search(q, top_k=10).hits
            assert [h.chunk.id for h in got] == [h.chunk.id for h in want], (extra, q)
            # span scores use unit vectors rounded through float16: a folder collection stores them at
            # ingest, a PostgreSQL-catalog one embeds them at query time in another batch, and a float32
            # difference of 1e-7 can flip one float16 rounding (measured: 1.4e-5 relative); with spans
            # off the two backends agree within 1e-5
            np.testing.assert_allclose([h.score for h in got], [h.score for h in want], rtol=1e-4, atol=1e-6)
            compared += len(got)
    assert compared > 200


def test_rename_keeps_vectors_and_frees_the_old_name(lite, doc_factory):
    from rag.store.milvus import rename_milvus_collection

    info = ModelInfo("test/model", 16)
    name, new = f"ren{next(_names)}", f"ren{next(_names)}"
    col = create_milvus_collection(lite, name, info)
    with col.writer() as w:
        doc_factory("a.txt").add_to(w)
    q = col.view().dense_vectors(col.view().chunk_ids()[:1])[0]
    before = col.view().dense_search(q, k=3)
    renamed = rename_milvus_collection(lite, name, new)
    assert new in list_milvus_collections(lite) and name not in list_milvus_collections(lite)
    after = renamed.view().dense_search(q, k=3)
    assert np.array_equal(before[0], after[0])
    renamed.view().verify()
    fresh = create_milvus_collection(lite, name, info)  # the old name is free; its vectors go elsewhere
    assert fresh.table.name != renamed.table.name and fresh.view().stats()["chunks"] == 0
    delete_milvus_collection(lite, name)
    delete_milvus_collection(lite, new)
    assert not renamed.table.exists()
