"""Eight sessions query one shared Engine while another ingests, replaces and deletes documents.

As in the Streamlit app (``st.cache_resource``), one :class:`rag.engine.Engine` and its shared
retriever serve every session from threads of one process. Each reader asks, retrieves with
``engine.retriever(name).search`` and answers with the extractive backend; each numbered source
of each answer must resolve in a view of the generation the answer was retrieved from, with its
text equal to the document's text at its span. The writer goes through the app's own paths:
``engine.ingest`` for uploads and ``collection.writer()`` for deletions. Zero errors allowed.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import full_reliability

QUESTIONS = [
    "When must the Buyer pay each invoice?",
    "How can either party terminate the agreement?",
    "Which law governs the agreement?",
    "What does Section 3 say?",
    "What does clause 2.1 require?",
    "How long do the confidentiality obligations last?",
    "What is the limit of liability?",
    "Who must deliver the products and when?",
]
TOPICS = [
    ("Payment", "The Buyer shall pay each undisputed invoice within {n} days of receipt."),
    ("Delivery", "The Supplier shall deliver the Products within {n} days of each purchase order."),
    ("Termination", "Either party may terminate this Agreement on {n} days written notice."),
    ("Confidentiality", "The confidentiality obligations survive for {n} years after termination."),
    ("Liability", "Total liability shall not exceed the fees paid in the {n} months before the claim."),
    ("Governing Law", "This Agreement is governed by the laws of {place}."),
]
PLACES = ["England and Wales", "New York", "Delaware", "Singapore", "Ontario"]


def contract(rng: random.Random, tag: str) -> bytes:
    """A short numbered contract; every file differs in its numbers and clause order."""
    topics = rng.sample(TOPICS, k=rng.randint(3, len(TOPICS)))
    parts = [f"AGREEMENT {tag.upper()}", ""]
    for i, (title, body) in enumerate(topics, 1):
        parts.append(f"{i}. {title}")
        parts.append(f"{i}.1 " + body.format(n=rng.randint(5, 120), place=rng.choice(PLACES)))
        parts.append(f"{i}.2 The parties record this clause for {tag} with reference {rng.randint(1000, 9999)}.")
        parts.append("")
    return "\n".join(parts).encode()


class RecordingCollection:
    """The shared collection, remembering per thread the view its last search used: the
    generation an answer came from (the retriever takes exactly one view per search)."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self._local = threading.local()

    def view(self) -> Any:
        v = self._collection.view()
        self._local.view = v
        return v

    @property
    def last_view(self) -> Any:
        return self._local.view

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


def check_answer(result: Any, view: Any) -> int:
    """Every numbered source resolves in ``view`` to the same chunk, its text the document's span."""
    assert result.error is None, result.error
    assert not result.issues, [str(i) for i in result.issues]
    chunks = [c.hit.chunk for c in result.citations]
    if not chunks:
        return 0
    stored = view.chunks([c.id for c in chunks])
    for c, s in zip(chunks, stored):
        assert (s.doc_id, s.start, s.end, s.text) == (c.doc_id, c.start, c.end, c.text), c.id
        assert view.document(c.doc_id).text[c.start:c.end] == c.text, c.id
    return len(chunks)


def serve(tmp_path: Path, tiny_m3_dir: Path, seconds: float, readers: int, seed: int,
          **store: str) -> dict[str, Any]:
    from ingest.pipeline import Source
    from rag.answer import answer, make_llm
    from rag.config import Settings
    from rag.engine import Engine

    settings = replace(Settings(), embed_model=str(tiny_m3_dir), rerank_model=None, data_dir=tmp_path / "data",
                       device="cpu", llm_backend="extractive", **store)
    engine = Engine(settings)
    rng = random.Random(seed)
    first = [Source.upload(f"base-{i}.txt", contract(rng, f"base-{i}")) for i in range(6)]
    assert not engine.ingest(first, "live").failed
    retriever = engine.retriever("live")
    shared = RecordingCollection(retriever.collection)
    retriever.collection = shared
    llm = make_llm(settings, backend="extractive")

    stop = threading.Event()
    errors: list[str] = []
    latencies: list[float] = []
    cited = [0]
    generations: set[int] = set()
    writes = {"added": 0, "replaced": 0, "deleted": 0}
    lock = threading.Lock()

    def reader(k: int) -> None:
        r = random.Random(seed * 100 + k)
        while not stop.is_set():
            question = r.choice(QUESTIONS)
            t0 = time.perf_counter()
            try:
                retrieval = engine.retriever("live").search(question)
                view = shared.last_view
                stream = answer(question, retrieval.hits, llm)
                "".join(stream)
                n = check_answer(stream.result, view)
            except Exception:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    errors.append(f"reader {k}, {question!r}:\n{traceback.format_exc()}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)
                cited[0] += n
                generations.add(view.generation)

    def writer() -> None:
        r = random.Random(seed)
        i = 0
        while not stop.is_set():
            try:
                docs = shared.view().documents()
                action = r.random()
                if action < 0.45 or len(docs) < 4:  # upload a new file, as the Documents page does
                    report = engine.ingest([Source.upload(f"new-{i}.txt", contract(r, f"new-{i}"))], "live")
                    assert not report.failed, report.files[0].error
                    writes["added"] += 1
                elif action < 0.65:  # upload a changed file under a stored name: replaces it
                    name = r.choice(docs).name
                    report = engine.ingest([Source.upload(name, contract(r, f"{name}-v{i}"))], "live")
                    assert report.files[0].status == "replaced", report.files[0]
                    writes["replaced"] += 1
                else:  # delete, as the Documents page does
                    doomed = r.sample(docs, k=min(len(docs) - 3, r.randint(1, 2)))
                    with shared.writer() as w:
                        for d in doomed:
                            w.delete_document(d.id)
                    writes["deleted"] += len(doomed)
                i += 1
            except Exception:  # noqa: BLE001
                with lock:
                    errors.append(f"writer:\n{traceback.format_exc()}")
                time.sleep(0.1)

    threads = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(readers)]
    threads.append(threading.Thread(target=writer, daemon=True))
    import psutil

    me = psutil.Process()
    fds_before, threads_before = me.num_fds(), threading.active_count()
    start_gen = shared.current_generation()
    started = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join(120)
    wall = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "a thread did not stop"
    assert not errors, f"{len(errors)} error(s); first:\n{errors[0]}"
    final = shared.view()
    final.verify()
    import gc

    gc.collect()
    fds_after = me.num_fds()
    lat = sorted(latencies)
    return {
        "sessions": readers, "seconds": round(wall, 1), "queries": len(lat), "errors": len(errors),
        "queries_per_s": round(len(lat) / wall, 2),
        "latency_ms": {"p50": round(1000 * statistics.median(lat), 1),
                       "p95": round(1000 * lat[min(len(lat) - 1, int(0.95 * len(lat)))], 1),
                       "max": round(1000 * lat[-1], 1)},
        "sources_checked": cited[0], "writes": writes,
        "generations_committed": final.generation - start_gen, "generations_answered_from": len(generations),
        "documents_at_end": len(final.documents()),
        "open_fds": {"before": fds_before, "after": fds_after}, "threads_before": threads_before,
        "model": "tiny BGE-M3-layout checkpoint (2 layers, hidden 64), extractive answers, no reranker",
    }


def test_ten_seconds_of_queries_during_ingest_and_delete(tmp_path: Path, tiny_m3_dir: Path) -> None:
    figures = serve(tmp_path, tiny_m3_dir, seconds=10, readers=8, seed=11)
    assert figures["queries"] > 0 and sum(figures["writes"].values()) > 0


def test_ten_seconds_on_milvus_with_a_postgresql_catalog(tmp_path: Path, tiny_m3_dir: Path) -> None:
    """The same on the multi-host pair: Milvus vectors (Milvus Lite here), the catalog in PostgreSQL."""
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    from tests.rag.store.pg_server import cluster_or_skip

    with cluster_or_skip() as catalog:
        figures = serve(tmp_path, tiny_m3_dir, seconds=10, readers=8, seed=13,
                        backend=f"milvus-lite://{tmp_path / 'vectors.db'}", catalog=catalog)
    assert figures["queries"] > 0 and sum(figures["writes"].values()) > 0


@pytest.mark.slow
def test_a_long_run_of_queries_during_ingest_and_delete(tmp_path: Path, tiny_m3_dir: Path,
                                                        record_figures: Any) -> None:
    """30 s in the suite; ``RAG_RELIABILITY_FULL=1`` runs the 60 s that docs/reliability.md reports."""
    seconds = 60 if full_reliability() else 30
    figures = serve(tmp_path, tiny_m3_dir, seconds=seconds, readers=8, seed=12)
    record_figures("concurrency" if seconds == 60 else "concurrency-quick", figures)
    assert figures["queries"] > 0 and figures["generations_committed"] > 5


def test_two_ingests_creating_one_collection_at_once_both_succeed(tmp_path: Path, tiny_m3_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Two ``python -m ingest -c new`` started together: both see no collection, both create it.
    The race is made deterministic: the other process's create lands between our open and ours."""
    import rag.store
    from rag.config import Settings
    from rag.engine import Engine

    settings = replace(Settings(), embed_model=str(tiny_m3_dir), rerank_model=None, data_dir=tmp_path / "data",
                       device="cpu")
    ours, theirs = Engine(settings), Engine(settings)
    real_create = rag.store.create_collection

    def create_after_the_other(data_dir: Any, name: str, info: Any, options: Any = None) -> Any:
        real_create(data_dir, name, theirs.model_info())  # the other process wins the race
        return real_create(data_dir, name, info, options)

    monkeypatch.setattr(rag.store, "create_collection", create_after_the_other)
    col = ours.collection("new", create=True)
    assert col.name == "new"


def test_segments_are_loaded_one_header_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic form of the failure's precondition: no two threads inside the header parser."""
    import ast

    import numpy as np

    from rag.store.fsutil import load_npy

    path = tmp_path / "ids.npy"
    np.save(path, np.arange(10))
    real = ast.literal_eval
    state = {"inside": 0, "overlaps": 0}
    guard = threading.Lock()

    def watched(*args: Any, **kwargs: Any) -> Any:
        with guard:
            state["inside"] += 1
            state["overlaps"] += state["inside"] > 1
        time.sleep(0.002)  # widen the window, as a garbage collection inside the parser does
        try:
            return real(*args, **kwargs)
        finally:
            with guard:
                state["inside"] -= 1

    monkeypatch.setattr(ast, "literal_eval", watched)

    def load_many() -> None:
        for _ in range(20):
            load_npy(path)

    threads = [threading.Thread(target=load_many) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["overlaps"] == 0, f"{state['overlaps']} header parses overlapped another thread's"
