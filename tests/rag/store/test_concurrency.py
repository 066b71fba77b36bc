"""Reader threads query while a writer adds and deletes; every view stays consistent."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from rag.store import IndexOptions, ModelInfo, create_collection


def reader_loop(col, stop: threading.Event, errors: list, seen: list, seed: int) -> None:
    rng = np.random.default_rng(seed)
    last_gen = -1
    try:
        while not stop.is_set():
            v = col.view()
            assert v.generation >= last_gen, "a new view went back in time"
            last_gen = v.generation
            ids = v.chunk_ids()
            docs = v.documents()
            assert sum(d.chunks for d in docs) == len(ids)
            if len(ids) == 0:
                continue
            q = rng.standard_normal(col.info.dim).astype(np.float32)
            found, _ = v.dense_search(q, 20)
            assert set(found.tolist()) <= set(ids.tolist())
            sq = {int(t): 1.0 for t in rng.choice(200, size=4, replace=False)}
            sfound, _ = v.sparse_search(sq, 20)
            assert set(sfound.tolist()) <= set(ids.tolist())
            chunks = v.chunks(np.concatenate([found, sfound]))  # rows of this generation are still there
            assert all(c.doc_id in {d.id for d in docs} for c in chunks)
            doc = docs[int(rng.integers(len(docs)))]
            assert len(v.chunk_ids([doc.id])) == doc.chunks
            assert len(v.document(doc.id).text) > 0 or doc.chunks == 0
            fdocs = [d.id for d in docs[:2]]
            ffound, _ = v.dense_search(q, 5, doc_ids=fdocs)
            assert {c.doc_id for c in v.chunks(ffound)} <= set(fdocs)
            if rng.random() < 0.1:
                v.verify()
            seen.append(v.generation)
    except BaseException as exc:  # surfaced by the main thread
        errors.append(exc)
        stop.set()


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_readers_while_writer_adds_and_deletes(data_dir, doc_factory, rng, kind):
    info = ModelInfo("test/model", 16, colbert_dim=4, dense_index=kind)
    col = create_collection(data_dir, "c", info, IndexOptions(approx_min_rows=80, merge_factor=3, durable=False))
    with col.writer() as w:
        for i in range(3):
            doc_factory(f"seed{i}.txt", 10, colbert_dim=4).add_to(w)
    pinned = col.view()
    q0 = rng.standard_normal(16).astype(np.float32)
    pinned_result = pinned.dense_search(q0, 10)
    pinned_docs = pinned.documents()

    stop = threading.Event()
    errors: list = []
    seen: list = []
    readers = [threading.Thread(target=reader_loop, args=(col, stop, errors, seen, s)) for s in range(3)]
    for t in readers:
        t.start()
    try:
        for b in range(25):
            if stop.is_set():
                break
            live = [d.id for d in col.view().documents()]
            with col.writer() as w:
                for j in range(int(rng.integers(1, 3))):
                    doc_factory(f"b{b}-{j}.txt", int(rng.integers(1, 15)), colbert_dim=4).add_to(w)
                if len(live) > 2:
                    w.delete_document(int(rng.choice(live)))
                if b % 10 == 9:
                    w.compact()
    finally:
        stop.set()
        for t in readers:
            t.join(60)
    if errors:
        raise errors[0]
    assert len(set(seen)) > 3, "readers did not observe several generations"
    # the view taken before all of this still answers from its own generation
    again = pinned.dense_search(q0, 10)
    assert again[0].tolist() == pinned_result[0].tolist()
    assert pinned.documents() == pinned_docs
    pinned.verify()
    final = col.view()
    final.verify()
    assert final.generation > pinned.generation


READER = """
import sys
from rag.store import Collection
col = Collection.open(sys.argv[1])
v = col.view()
ids = v.chunk_ids()
before = [c.text for c in v.chunks(ids)]
print(v.generation, flush=True)
sys.stdin.readline()  # the parent commits, deletes everything and compacts meanwhile
v.verify()
assert [c.text for c in v.chunks(ids)] == before
assert len(v.dense_vectors(ids)) == len(ids)
assert v.dense_search(v.dense_vectors(ids[:1])[0], 1)[0].tolist() == ids[:1].tolist()
print("ok", len(ids), flush=True)
"""


def test_reader_in_another_process_keeps_its_generation(data_dir, doc_factory):
    col = create_collection(data_dir, "c", ModelInfo("test/model", 16), IndexOptions(durable=False))
    with col.writer() as w:
        ids = [doc_factory(f"d{i}.txt", 5).add_to(w) for i in range(3)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.Popen([sys.executable, "-c", READER, str(col.path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert int(proc.stdout.readline()) == 1
        with col.writer() as w:
            for d in ids:
                w.delete_document(d)
        col.compact()
        with col.writer() as w:
            doc_factory("new.txt", 2).add_to(w)
        assert col.view().documents()[0].name == "new.txt"
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().split() == ["ok", "15"]
    finally:
        proc.kill()
        proc.wait()
    # with the reader gone, the next writer forgets generation 1 and its segment
    with col.writer():
        pass
    gens = [g for (g,) in col._conn().execute("SELECT gen FROM generations")]
    assert 1 not in gens
