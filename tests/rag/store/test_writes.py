"""Adding, deleting and replacing documents; atomic batches; generations and clean-up."""

from __future__ import annotations

import numpy as np
import pytest

from rag.store import CollectionError, IndexOptions, ModelInfo, create_collection

INFO = ModelInfo(name="test/model", dim=16, colbert_dim=4)


@pytest.fixture
def col(data_dir):
    return create_collection(data_dir, "c", INFO, IndexOptions(merge_factor=3, durable=False))


def segment_dirs(col):
    return sorted(p.name for p in col.parts_dir.iterdir())


def test_round_trip_of_everything_stored(col, doc_factory):
    doc = doc_factory("contract.pdf", 4, colbert_dim=4, pdf=True)
    with col.writer() as w:
        doc_id = doc.add_to(w)
    v = col.view()
    assert v.generation == 1
    info = v.document_info(doc_id)
    assert (info.name, info.content_hash, info.media_type, info.pages, info.chunks) == (
        "contract.pdf", doc.content_hash, "application/pdf", 4, 4)
    assert info.size_bytes == len(doc.source)
    assert v.documents() == [info]
    assert v.find_document(name="contract.pdf") == info
    assert v.find_document(content_hash=doc.content_hash) == info
    assert v.find_document(name="other.pdf") is None
    assert v.document(doc_id) == doc.document
    assert v.source(doc_id) == doc.source
    assert v.clauses(doc_id) == doc.clauses
    assert v.defined_terms(doc_id) == doc.terms
    ids = v.chunk_ids([doc_id])
    assert len(ids) == 4
    chunks = v.chunks(ids[::-1])
    assert [c.id for c in chunks] == ids[::-1].tolist()
    for c, src in zip(chunks[::-1], doc.chunks):
        assert (c.doc_id, c.doc_name, c.start, c.end, c.text, c.clause, list(c.heading_path), c.pages) == (
            doc_id, "contract.pdf", src.start, src.end, src.text, src.clause, src.heading_path, src.pages)
    expected = doc.dense / np.linalg.norm(doc.dense, axis=1, keepdims=True)
    np.testing.assert_allclose(v.dense_vectors(ids), expected, rtol=1e-6, atol=1e-6)
    for got, want in zip(v.colbert(ids), doc.colbert):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want.astype(np.float16).astype(np.float32))
    v.verify()


def test_text_document_without_source(col, doc_factory):
    doc = doc_factory("notes.txt", 2, colbert_dim=4)
    with col.writer() as w:
        doc_id = doc.add_to(w)
    v = col.view()
    assert v.source(doc_id) is None
    assert v.document_info(doc_id).size_bytes == len(doc.document.text.encode())
    assert v.document(doc_id).page_spans == [] and v.chunks(v.chunk_ids())[0].pages is None


def test_chunk_must_match_document_text(col, doc_factory):
    doc = doc_factory("a.txt", 2, colbert_dim=4)
    doc.chunks[1].text = "something else"
    with col.writer() as w, pytest.raises(ValueError, match="chunk 1 text"):
        doc.add_to(w)


def test_delete_leaves_no_orphans(col, doc_factory):
    docs = [doc_factory(f"d{i}.txt", 6, colbert_dim=4) for i in range(4)]
    with col.writer() as w:
        ids = [d.add_to(w) for d in docs]
    with col.writer() as w:
        w.delete_document(ids[1])
    v = col.view()
    assert [d.id for d in v.documents()] == [ids[0], ids[2], ids[3]]
    assert len(v.chunk_ids()) == 18 and len(v.chunk_ids([ids[1]])) == 0
    with pytest.raises(CollectionError, match=f"no document {ids[1]}"):
        v.document(ids[1])
    # no search returns a chunk of the deleted document
    for q in docs[1].dense:
        found, _ = v.dense_search(q, 30)
        assert set(found.tolist()) <= set(v.chunk_ids().tolist())
    for q in docs[1].sparse:
        found, _ = v.sparse_search(q, 30)
        assert set(found.tolist()) <= set(v.chunk_ids().tolist())
    v.verify()
    # after compaction the deleted rows are gone from every part, and the catalog rows are purged
    del v
    col.compact()
    v = col.view()
    v.verify()
    assert v.stats()["deleted_rows"] == 0 and v.stats()["segments"] == 1
    conn = col._conn()
    assert conn.execute("SELECT COUNT(*) FROM chunks WHERE doc_id = ?", (ids[1],)).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM clauses WHERE doc_id = ?", (ids[1],)).fetchone()[0] == 0
    seg = v._snap.segments[0]
    assert ids[1] not in set(np.asarray(seg.doc_ids).tolist())
    assert len(seg.colbert_offsets) == 19


def test_delete_unknown_or_deleted_document(col, doc_factory):
    with col.writer() as w:
        doc_id = doc_factory("a.txt", 2, colbert_dim=4).add_to(w)
    with col.writer() as w:
        with pytest.raises(CollectionError, match="no document 999"):
            w.delete_document(999)
        w.delete_document(doc_id)
        with pytest.raises(CollectionError, match=f"no document {doc_id}"):
            w.delete_document(doc_id)


def test_replace_document(col, doc_factory):
    old = doc_factory("a.txt", 3, colbert_dim=4)
    new = doc_factory("a.txt", 5, colbert_dim=4)
    with col.writer() as w:
        old_id = old.add_to(w)
    v_before = col.view()
    with col.writer() as w:
        new_id = w.replace_document(old_id, new.document, new.chunks, new.dense, new.sparse, new.colbert,
                                    content_hash=new.content_hash)
    v = col.view()
    assert new_id != old_id
    assert [d.id for d in v.documents()] == [new_id]
    assert v.find_document(name="a.txt").chunks == 5
    assert v_before.find_document(name="a.txt").id == old_id  # the old view still sees the old document
    v.verify()
    v_before.verify()


def test_add_then_delete_in_same_batch(col, doc_factory):
    opts_col = col
    with opts_col.writer() as w:
        a = doc_factory("a.txt", 3, colbert_dim=4).add_to(w)
        b = doc_factory("b.txt", 3, colbert_dim=4).add_to(w)
        w.delete_document(a)
    v = col.view()
    assert [d.id for d in v.documents()] == [b]
    v.verify()


def test_add_then_delete_after_flush_in_same_batch(data_dir, doc_factory):
    col = create_collection(data_dir, "f", INFO, IndexOptions(flush_rows=4, durable=False))
    with col.writer() as w:
        a = doc_factory("a.txt", 5, colbert_dim=4).add_to(w)  # flushed to a segment at once
        b = doc_factory("b.txt", 2, colbert_dim=4).add_to(w)
        w.delete_document(a)
    v = col.view()
    assert [d.id for d in v.documents()] == [b]
    assert len(v.chunk_ids()) == 2
    v.verify()


def test_exception_rolls_back_whole_batch(col, doc_factory):
    with col.writer() as w:
        keep = doc_factory("keep.txt", 3, colbert_dim=4).add_to(w)
    before = segment_dirs(col)
    with pytest.raises(RuntimeError, match="boom"):
        with col.writer() as w:
            doc_factory("x.txt", 3, colbert_dim=4).add_to(w)
            w.delete_document(keep)
            w.compact()
            raise RuntimeError("boom")
    v = col.view()
    assert v.generation == 1
    assert [d.name for d in v.documents()] == ["keep.txt"]
    assert segment_dirs(col) == before
    v.verify()


def test_chunk_and_document_ids_are_never_reused(col, doc_factory):
    with col.writer() as w:
        a = doc_factory("a.txt", 3, colbert_dim=4).add_to(w)
    first_chunks = set(col.view().chunk_ids().tolist())
    with col.writer() as w:
        w.delete_document(a)
    col.compact()
    with col.writer() as w:
        b = doc_factory("b.txt", 3, colbert_dim=4).add_to(w)
    assert b > a
    assert not first_chunks & set(col.view().chunk_ids().tolist())


def test_view_keeps_its_generation_and_files(col, doc_factory):
    with col.writer() as w:
        a = doc_factory("a.txt", 4, colbert_dim=4).add_to(w)
    old = col.view()
    q = col.view().dense_vectors(old.chunk_ids()[:1])[0]
    before = old.dense_search(q, 3)
    for i in range(6):  # commits, merges and clean-ups while the old view lives
        with col.writer() as w:
            doc_factory(f"n{i}.txt", 4, colbert_dim=4).add_to(w)
            if i == 2:
                w.delete_document(a)
    col.compact()
    assert old.generation == 1
    assert [d.id for d in old.documents()] == [a]
    assert old.chunks(old.chunk_ids())[0].doc_id == a
    after = old.dense_search(q, 3)
    assert after[0].tolist() == before[0].tolist()
    old.verify()
    new = col.view()
    assert new.generation > 1 and a not in [d.id for d in new.documents()]
    # once the old view is gone, the next writer forgets generation 1 and purges document a
    del old
    with col.writer():
        pass
    with col.writer() as w:
        doc_factory("last.txt", 1, colbert_dim=4).add_to(w)
    conn = col._conn()
    assert conn.execute("SELECT COUNT(*) FROM documents WHERE id = ?", (a,)).fetchone()[0] == 0
    gens = [g for (g,) in conn.execute("SELECT gen FROM generations")]
    assert gens == [col.view().generation] or min(gens) >= new.generation
    live_segments = {s["name"] for s in col.view()._snap.manifest["segments"]}
    assert set(segment_dirs(col)) <= live_segments | {s["name"] for s in new._snap.manifest["segments"]}


def test_orphans_from_a_dead_writer_are_removed(col, doc_factory):
    with col.writer() as w:
        doc_factory("a.txt", 2, colbert_dim=4).add_to(w)
    (col.parts_dir / "seg-99999999").mkdir()
    (col.parts_dir / "seg-00000001.tmp-123").mkdir()
    (col.sources_dir / "dead.bin").write_bytes(b"x")
    live = col.view()._snap.manifest["segments"][0]["name"]
    (col.parts_dir / live / "del-000000000099.npy").write_bytes(b"x")
    with col.writer():
        pass
    assert segment_dirs(col) == [live]
    assert not (col.parts_dir / live / "del-000000000099.npy").exists()
    assert list(col.sources_dir.iterdir()) == []
    col.view().verify()


def test_merges_keep_segment_count_small(data_dir, doc_factory):
    col = create_collection(data_dir, "m", INFO, IndexOptions(merge_factor=3, durable=False))
    for i in range(30):
        with col.writer() as w:
            doc_factory(f"d{i}.txt", 3, colbert_dim=4).add_to(w)
    v = col.view()
    assert v.stats()["chunks"] == 90
    assert v.stats()["segments"] <= 6
    v.verify()
    ids = v._snap.ids
    assert (np.diff(ids) > 0).all()


def test_stats_bytes_per_part(col, doc_factory):
    with col.writer() as w:
        doc_factory("a.pdf", 5, colbert_dim=4, pdf=True).add_to(w)
    st = col.view().stats()
    assert st["documents"] == 1 and st["chunks"] == 5 and st["segments"] == 1
    for part in ("catalog", "dense", "sparse", "colbert", "sources"):
        assert st["bytes"][part] > 0, part
    assert st["bytes"]["total"] == sum(v for k, v in st["bytes"].items() if k != "total")
