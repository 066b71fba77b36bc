"""Image items in the catalog: same commit as their document, versioned visibility, deletion, old catalogs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from rag.store import CollectionError, IndexOptions, ModelInfo, create_collection
from rag.store import image_rows

INFO = ModelInfo(name="test/model", dim=16)


@dataclass
class Item:
    page: int
    kind: str = "image"
    x0: float = 10.0
    top: float = 20.0
    x1: float = 110.0
    bottom: float = 80.0
    text: str = ""
    spans: list[tuple[int, int]] = field(default_factory=list)
    coverage: float = 0.01
    digest: str = "abc"
    thumbnail: bytes = b"\x89PNG fake"


@pytest.fixture(params=["faiss", "milvus+postgresql"])
def col(request, data_dir, tmp_path):
    """The same rows whichever catalog holds them: a FAISS folder's SQLite file, or PostgreSQL
    (with Milvus Lite for the vectors), where the portable SQL is rewritten."""
    if request.param == "faiss":
        yield create_collection(data_dir, "c", INFO, IndexOptions(durable=False))
        return
    pytest.importorskip("milvus_lite")
    from rag.store.milvus import close_backend, create_milvus_collection
    from rag.store.milvus_uri import parse_backend

    backend = parse_backend(f"milvus-lite://{tmp_path / 'vectors.db'}?catalog={request.getfixturevalue('pg_url')}")
    col = create_milvus_collection(backend, f"img{abs(hash(request.node.name)) % 10**8}", INFO,
                                   IndexOptions(durable=False))
    yield col
    col.close()
    close_backend(backend)


def _items(rng, doc, n=2, dim=8):
    items = [Item(page=i + 1, text=doc.chunks[i].text, spans=[(doc.chunks[i].start, doc.chunks[i].end)],
                  thumbnail=f"thumb{i}".encode()) for i in range(n)]
    return items, rng.standard_normal((n, dim)).astype(np.float32), rng.standard_normal((n, 16)).astype(np.float32)


def test_items_are_stored_with_their_document_and_read_back(col, doc_factory, rng):
    doc = doc_factory("a.pdf", 3, pdf=True)
    items, vec, tvec = _items(rng, doc)
    items[1].text, items[1].spans = "", []
    with col.writer() as w:
        doc_id = doc.add_to(w)
        w.add_images(doc_id, items, vec, tvec, "vis:8")
        assert col.view().image_items().rows == []  # not visible before the commit
    got = col.view().image_items()
    assert [(r.doc_id, r.doc_name, r.idx, r.page, r.text, r.model) for r in got.rows] == [
        (doc_id, "a.pdf", 0, 1, doc.chunks[0].text, "vis:8"), (doc_id, "a.pdf", 1, 2, "", "vis:8")]
    assert got.rows[0].spans == ((doc.chunks[0].start, doc.chunks[0].end),)
    assert got.rows[0].box.page == 1 and (got.rows[0].box.x0, got.rows[0].box.bottom) == (10.0, 80.0)
    np.testing.assert_allclose(got.vectors, vec / np.linalg.norm(vec, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(got.text_vectors[0], tvec[0])
    assert got.has_text.tolist() == [True, False] and not got.text_vectors[1].any()
    assert col.view().image_thumbnail(doc_id, 1) == b"thumb1"
    assert col.view().image_thumbnail(doc_id, 7) is None
    assert col.view().image_items([doc_id + 1]).rows == []


def test_a_failed_batch_leaves_no_image_rows(col, doc_factory, rng):
    doc = doc_factory("a.pdf", 2, pdf=True)
    items, vec, tvec = _items(rng, doc)
    with pytest.raises(RuntimeError), col.writer() as w:
        doc_id = doc.add_to(w)
        w.add_images(doc_id, items, vec, tvec, "vis")
        raise RuntimeError("crash before commit")
    assert col.view().image_items().rows == []
    with col.writer() as w:  # the same file again: ids may repeat, rows must not clash
        doc_id = doc.add_to(w)
        w.add_images(doc_id, items, vec, tvec, "vis")
    assert len(col.view().image_items().rows) == 2


def test_deleting_a_document_hides_its_items_and_older_views_keep_them(col, doc_factory, rng):
    a, b = doc_factory("a.pdf", 2, pdf=True), doc_factory("b.pdf", 2, pdf=True)
    with col.writer() as w:
        ida = a.add_to(w)
        w.add_images(ida, *_items(rng, a), "vis")
        idb = b.add_to(w)
        w.add_images(idb, *_items(rng, b, n=1), "vis")
    old = col.view()
    with col.writer() as w:
        w.delete_document(ida)
    assert [r.doc_id for r in col.view().image_items().rows] == [idb]
    assert [r.doc_id for r in old.image_items().rows] == [ida, ida, idb]  # its generation still sees them
    assert old.image_thumbnail(ida, 0) == b"thumb0"
    del old
    for i in range(2):  # once no reader needs them, the next writers purge the rows
        with col.writer() as w:
            doc_factory(f"x{i}.txt", 1).add_to(w)
    conn = col._conn()
    assert {r[0] for r in conn.execute("SELECT doc_id FROM image_items")} == {idb}


def test_document_added_and_deleted_in_one_batch_leaves_nothing(col, doc_factory, rng):
    doc = doc_factory("a.pdf", 2, pdf=True)
    with col.writer() as w:
        doc_id = doc.add_to(w)
        w.add_images(doc_id, *_items(rng, doc), "vis")
        w.delete_document(doc_id)
        other = doc_factory("b.pdf", 1).add_to(w)
    assert col.view().image_items().rows == []
    assert col._conn().execute("SELECT COUNT(*) FROM image_items").fetchone()[0] == 0
    assert other


def test_bad_image_vectors_name_the_document_and_lose_nothing(col, doc_factory, rng):
    doc = doc_factory("a.pdf", 2, pdf=True)
    items, vec, tvec = _items(rng, doc)
    with col.writer() as w:
        doc_id = doc.add_to(w)
        with pytest.raises(ValueError, match="'a.pdf'.*shape"):
            w.add_images(doc_id, items, vec[:1], tvec, "vis")
        with pytest.raises(ValueError, match="zero vector"):
            w.add_images(doc_id, items, np.zeros_like(vec), tvec, "vis")
        with pytest.raises(ValueError, match="text vectors"):
            w.add_images(doc_id, items, vec, tvec[:, :3], "vis")
        w.add_images(doc_id, items, vec, None, "vis")
    assert len(col.view().image_items().rows) == 2


def test_images_only_go_with_a_document_of_the_same_batch(col, doc_factory, rng):
    doc = doc_factory("a.pdf", 2, pdf=True)
    with col.writer() as w:
        doc_id = doc.add_to(w)
    with col.writer() as w, pytest.raises(CollectionError, match="same batch"):
        w.add_images(doc_id, *_items(rng, doc), "vis")


def test_a_catalog_without_the_table_reads_as_no_items(col):
    conn = col._conn()
    exists = ("SELECT COUNT(*) FROM sqlite_master WHERE name = 'image_items'" if col.path is not None else
              "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
              " AND table_name = 'image_items'")
    assert conn.execute(exists).fetchone()[0] == 0
    view = col.view()
    assert view.image_items().rows == [] and view.image_thumbnail(1, 0) is None
    assert view.documents() == []  # the failed lookup did not spoil the view's connection


def test_a_catalog_without_the_table_purges_deleted_documents(col, doc_factory):
    """Writes that store no picture never create the table; the purge of a deleted document does,
    in the same transaction as the document's other rows."""
    with col.writer() as w:
        doc_id = doc_factory("a.txt", 1).add_to(w)
    with col.writer() as w:
        w.delete_document(doc_id)
    for i in range(2):
        with col.writer() as w:
            doc_factory(f"x{i}.txt", 1).add_to(w)
    conn = col._conn()
    assert conn.execute("SELECT COUNT(*) FROM documents WHERE id = ?", (doc_id,)).fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM image_items").fetchone()[0] == 0
    assert [d.name for d in col.view().documents()] == ["x0.txt", "x1.txt"]


def test_the_sql_uses_only_portable_placeholders_and_types():
    import inspect

    source = inspect.getsource(image_rows)
    assert ":gen" not in source and "WITHOUT ROWID" not in source and "json_each" not in source
    assert "AUTOINCREMENT" not in source and "INSERT OR" not in source
