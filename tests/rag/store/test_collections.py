"""Collections under a data directory: names, create/open/list/delete, model checks, writer lock."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from rag.store import (
    Collection,
    CollectionBusy,
    CollectionError,
    IndexOptions,
    ModelInfo,
    ModelMismatch,
    create_collection,
    delete_collection,
    list_collections,
    open_collection,
)

INFO = ModelInfo(name="test/model", dim=16)


@pytest.mark.parametrize("name", ["a", "Contracts_2024", "x.y-z", "a" * 64])
def test_valid_names(data_dir, name):
    create_collection(data_dir, name, INFO)
    assert list_collections(data_dir) == [name]


@pytest.mark.parametrize("name", ["", ".", "..", ".hidden", "a/b", "../x", "a b", "é", "a" * 65, "x\x00"])
def test_invalid_names_are_refused(data_dir, name):
    with pytest.raises(CollectionError, match="invalid collection name"):
        create_collection(data_dir, name, INFO)
    with pytest.raises(CollectionError):
        open_collection(data_dir, name)
    assert not data_dir.exists() or list(data_dir.iterdir()) == []


def test_create_open_list_delete(data_dir):
    assert list_collections(data_dir) == []
    a = create_collection(data_dir, "alpha", INFO)
    create_collection(data_dir, "beta", ModelInfo("other", 8, sparse="bm25", colbert_dim=4, dense_index="hnsw"))
    assert list_collections(data_dir) == ["alpha", "beta"]
    with pytest.raises(CollectionError, match="already exists"):
        create_collection(data_dir, "alpha", INFO)
    b = open_collection(data_dir, "beta")
    assert b.info == ModelInfo("other", 8, sparse="bm25", colbert_dim=4, dense_index="hnsw")
    assert Collection.open(a.path).info == INFO
    with pytest.raises(CollectionError, match="no collection 'gamma'"):
        open_collection(data_dir, "gamma")
    with pytest.raises(CollectionError, match="not a collection"):
        Collection.open(data_dir)
    delete_collection(data_dir, "alpha")
    assert list_collections(data_dir) == ["beta"]
    with pytest.raises(CollectionError):
        delete_collection(data_dir, "alpha")


def test_options_are_persisted(data_dir):
    opts = IndexOptions(approx_min_rows=10, merge_factor=3, ivf_nprobe=4)
    create_collection(data_dir, "c", INFO, opts)
    assert open_collection(data_dir, "c").options == opts


def test_model_info_validation():
    with pytest.raises(ValueError):
        ModelInfo("m", 0)
    with pytest.raises(ValueError):
        ModelInfo("m", 8, sparse="splade")
    with pytest.raises(ValueError):
        ModelInfo("m", 8, dense_index="pq")
    with pytest.raises(ValueError):
        ModelInfo("m", 8, colbert_dim=0)


def test_check_model_names_both(data_dir):
    col = create_collection(data_dir, "c", ModelInfo("BAAI/bge-m3", 1024))
    col.check_model(ModelInfo("BAAI/bge-m3", 1024, dense_index="hnsw"))  # index choice is not a model property
    with pytest.raises(ModelMismatch) as err:
        col.check_model(ModelInfo("all-MiniLM-L6-v2", 384))
    assert "BAAI/bge-m3 (dim 1024" in str(err.value) and "all-MiniLM-L6-v2 (dim 384" in str(err.value)
    with pytest.raises(ModelMismatch, match="dim 768"):
        col.check_model(ModelInfo("BAAI/bge-m3", 768))
    with pytest.raises(ModelMismatch, match="bm25"):
        col.check_model(ModelInfo("BAAI/bge-m3", 1024, sparse="bm25"))


def test_writer_rejects_wrong_dimensions(data_dir, doc_factory):
    col = create_collection(data_dir, "c", INFO)
    doc = doc_factory("a.txt", 3, dim=8)
    with col.writer() as w:
        with pytest.raises(ValueError, match=r"shape \(3, 16\)"):
            doc.add_to(w)
    assert col.view().documents() == []


def test_second_writer_is_refused_with_pid(data_dir):
    col = create_collection(data_dir, "c", INFO)
    with col.writer():
        with pytest.raises(CollectionBusy, match=r"collection 'c' is being written by pid \d+"):
            col.writer()
        with pytest.raises(CollectionBusy, match="gave up waiting"):
            col.writer(wait=True, timeout=0.2)
        with pytest.raises(CollectionBusy):
            delete_collection(data_dir, "c")


def test_second_writer_in_another_process_is_refused(data_dir):
    col = create_collection(data_dir, "c", INFO)
    code = (
        "import sys, time; from rag.store import Collection; "
        "w = Collection.open(sys.argv[1]).writer(); print('locked', flush=True); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(col.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(CollectionBusy, match=f"pid {proc.pid}"):
            col.writer()
    finally:
        proc.kill()
        proc.wait()
    with col.writer():  # the kernel released the dead writer's lock
        pass


def test_waiting_writer_gets_the_lock(data_dir, doc_factory):
    col = create_collection(data_dir, "c", INFO)
    order = []
    first = col.writer()

    def second():
        with col.writer(wait=True, timeout=30) as w:
            order.append(("second", w.generation))
            doc_factory("b.txt").add_to(w)

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.2)
    doc_factory("a.txt").add_to(first)
    order.append(("first", first.generation))
    first.commit()
    t.join(30)
    assert order == [("first", 1), ("second", 2)]
    assert [d.name for d in col.view().documents()] == ["a.txt", "b.txt"]


def test_empty_batch_creates_no_generation(data_dir):
    col = create_collection(data_dir, "c", INFO)
    with col.writer():
        pass
    assert col.view().generation == 0


def test_view_of_empty_collection(data_dir):
    col = create_collection(data_dir, "c", INFO)
    v = col.view()
    assert v.documents() == []
    assert v.chunk_ids().tolist() == []
    ids, scores = v.dense_search(np.ones(16, np.float32), 5)
    assert ids.tolist() == [] and scores.tolist() == []
    assert v.sparse_search({1: 1.0}, 5)[0].tolist() == []
    v.verify()
    st = v.stats()
    assert st["documents"] == 0 and st["chunks"] == 0 and st["bytes"]["catalog"] > 0


def test_rename_keeps_documents_and_frees_the_old_name(data_dir, doc_factory):
    from rag.store import rename_collection

    col = create_collection(data_dir, "my-contracts", INFO)
    with col.writer() as w:
        doc_id = doc_factory("a.txt").add_to(w)
    before = col.view().chunk_ids()
    renamed = rename_collection(data_dir, "my-contracts", "leases")
    assert list_collections(data_dir) == ["leases"] and renamed.name == "leases"
    view = renamed.view()
    assert np.array_equal(view.chunk_ids(), before) and view.document_info(doc_id).name == "a.txt"
    view.verify()
    assert open_collection(data_dir, "leases").name == "leases"
    create_collection(data_dir, "my-contracts", INFO)  # the old name is free again
    with pytest.raises(CollectionError, match="already exists"):
        rename_collection(data_dir, "leases", "my-contracts")
    with pytest.raises(CollectionError, match="invalid collection name"):
        rename_collection(data_dir, "leases", "../x")
    with pytest.raises(CollectionError, match="no collection 'nope'"):
        rename_collection(data_dir, "nope", "other")
    with renamed.writer():  # a running batch: the rename waits for it, or gives up
        with pytest.raises(CollectionBusy):
            rename_collection(data_dir, "leases", "later", wait=False)
    assert sorted(list_collections(data_dir)) == ["leases", "my-contracts"]


def test_engine_rename_collection(data_dir):
    from rag.config import Settings
    from rag.engine import Engine

    create_collection(data_dir, "my-contracts", INFO)
    engine = Engine(Settings(data_dir=data_dir))
    engine.rename_collection("my-contracts", "leases")
    assert engine.collections() == ["leases"]
    with pytest.raises(CollectionError, match="no collection 'my-contracts'"):
        engine.rename_collection("my-contracts", "other")
