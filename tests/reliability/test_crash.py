"""``kill -9`` of ``python -m ingest`` at random points of a multi-file ingest; nothing is lost.

Each round, every lane (a separate ``python -m ingest`` process, two at once on one collection
so that kills also land while the other one holds or waits for the write lock) gets 6 new small
files in its folder and ingests the whole folder; once the process has started on its files
(its progress bar names one) it is killed after a random delay. After every round the
collection is opened afresh and must verify; every document committed before the round must
still be there with the same chunks, and a query scoped to them must return the same top
chunks; every visible document must be whole (its chunk count is the one a clean ingest gives
and each chunk is its document's text at its span); no reader process may outlive the kill.
At the end one clean run per lane must complete the work.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import full_reliability

REPO = Path(__file__).resolve().parents[2]
FILES_PER_ROUND = 6
QUERY = "When must the Buyer pay the invoice and how can the agreement be terminated?"
WORDS = ["supplier", "buyer", "products", "invoice", "payment", "delivery", "warranty", "notice", "termination", "breach", "remedy", "liability", "indemnity", "confidential", "governing", "law", "dispute", "arbitration", "schedule", "price", "rebate", "audit", "records", "insurance", "force", "majeure", "assignment"]


def _file(rng: random.Random, tag: str, pdf: bool) -> bytes:
    """A short contract-like file whose every clause names its tag (distinct chunks everywhere)."""
    from tests.reliability.hostile import pages_pdf, text_content

    clauses = []
    for k in range(1, rng.randint(4, 7)):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30)))
        clauses.append(f"{k}. Clause {k} of {tag}: the {words} within {rng.randint(2, 90)} days.")
    if pdf:
        return pages_pdf([text_content([c[:90]]) for c in clauses[:3]] +
                         [text_content([c[:90] for c in clauses[3:]] or ["End of the file " + tag])], compress=True)
    return ("\n\n".join(clauses) + "\n").encode()


@dataclass
class Lane:
    """One ``python -m ingest`` process over its own folder."""

    folder: Path
    proc: subprocess.Popen | None = None
    started: threading.Event = field(default_factory=threading.Event)
    output: list[bytes] = field(default_factory=list)
    #: when the progress bar first named each of ``watch`` (the files of this round)
    marks: dict[str, float] = field(default_factory=dict)
    watch: list[str] = field(default_factory=list)

    def start(self, args: list[str], env: dict[str, str], watch: list[str] = ()) -> None:
        self.started.clear()
        self.output, self.marks, self.watch = [], {}, list(watch)
        self.proc = subprocess.Popen([sys.executable, "-m", "ingest", str(self.folder), *args], cwd=REPO, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        threading.Thread(target=self._watch, args=(self.proc,), daemon=True).start()

    def _watch(self, proc: subprocess.Popen) -> None:
        """Set ``started`` once the progress bar names a file (the ingest itself has begun), and
        note when it names each watched file (the CLI names a file as it starts on it)."""
        assert proc.stderr is not None
        seen = b""
        while True:
            data = os.read(proc.stderr.fileno(), 65536)
            if not data:
                return
            self.output.append(data)
            seen = (seen + data)[-4096:]
            if b"crash-" in seen:
                self.started.set()
            for name in self.watch:
                if name not in self.marks and name.encode() in seen:
                    self.marks[name] = time.perf_counter()



def _reference_chunks(encoder: Any, name: str, data: bytes) -> int:
    """How many chunks a clean ingest makes of a file (same extraction, chunking and encoder)."""
    from ingest.chunking import ChunkingConfig, chunk_document
    from ingest.extract import extract_bytes
    from ingest.pipeline import chunking_for
    from ingest.structure import parse_structure

    doc = extract_bytes(data, name)
    return len(chunk_document(doc, parse_structure(doc.text, doc.language), encoder.tokenizer,
                              chunking_for(encoder, ChunkingConfig)))


def _top(retriever: Any, doc_ids: list[int]) -> list[frozenset[int]]:
    """Top chunks of the query inside ``doc_ids``, as groups of equal score (ties may reorder)."""
    hits = retriever.search(QUERY, documents=doc_ids, top_k=8).hits
    groups: dict[float, set[int]] = {}
    for h in hits:
        groups.setdefault(round(h.score, 5), set()).add(h.chunk.id)
    return [frozenset(groups[s]) for s in sorted(groups, reverse=True)]


def _check(open_col: Callable[[], Any], encoder: Any, expected_chunks: dict[str, int],
           committed: dict[str, tuple[int, int, str]],
           query_before: tuple[list[int], list[frozenset[int]]] | None) -> dict[str, tuple[int, int, str]]:
    """Everything a kill must leave true; returns the documents now committed."""
    from rag.retrieve import RetrievalOptions, Retriever

    col = open_col()
    try:
        view = col.view()
        view.verify()
        docs = view.documents()
        by_name = {d.name: d for d in docs}
        assert len(by_name) == len(docs), "a file appears twice"
        for name, (doc_id, chunks, digest) in committed.items():
            d = by_name.get(name)
            assert d is not None, f"committed document {name} is gone"
            assert (d.id, d.chunks, d.content_hash) == (doc_id, chunks, digest), f"{name} changed"
        for d in docs:
            assert d.chunks == expected_chunks[d.name], f"{d.name}: {d.chunks} chunks, a clean ingest makes " \
                                                        f"{expected_chunks[d.name]}: a half document"
            if d.name not in committed:  # new since the last check: read it whole
                text = view.document(d.id).text
                for c in view.chunks(list(view.chunk_ids([d.id]))):
                    assert text[c.start:c.end] == c.text, f"{d.name}: chunk {c.id} is not its span"
        if query_before is not None:
            ids, top = query_before
            retriever = Retriever(col, encoder, None, RetrievalOptions(rerank=False))
            assert _top(retriever, ids) == top, "the same query over the same documents ranks differently"
        return {d.name: (d.id, d.chunks, d.content_hash) for d in docs}
    finally:
        col.close()


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive (and not zombies) after ``timeout`` seconds."""
    import psutil

    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return [p.pid for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def crash_rounds(tmp_path: Path, encoder: Any, *, lanes: int, kills_wanted: int, seed: int, max_rounds: int,
                 per_file_s: float | None = None, backend: str | None = None) -> dict[str, Any]:
    """Rounds of ingest-and-kill until ``kills_wanted`` kills.

    Each kill picks one of the round's files at random, waits until the process starts on it,
    then a random part of ``per_file_s`` (the time one file takes; ``None``: measured in an
    unkilled first round): kills land before, during and after each file's commit alike.
    ``backend``: where the collection lives (``python -m ingest --backend``; default FAISS).
    """
    import psutil

    from rag.retrieve import RetrievalOptions, Retriever
    from rag.store import ModelInfo
    from rag.store.backends import open_backend_collection

    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    info = ModelInfo(name=encoder.name, dim=encoder.dim, sparse="lexical")

    def open_col() -> Any:
        return open_backend_collection(backend, "crash", data_dir=data_dir)

    open_backend_collection(backend, "crash", data_dir=data_dir, create=True, info=info).close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "OPENAI_API_KEY"}
    env.update(PYTHONPATH=str(REPO), RAG_DEVICE="cpu", OMP_NUM_THREADS="1", TQDM_MININTERVAL="0")
    args = ["--collection", "crash", "--data-dir", str(data_dir), "--model", str(encoder.name)]
    args += ["--backend", backend] if backend else []
    all_lanes = [Lane(tmp_path / f"lane{i}") for i in range(lanes)]
    for lane in all_lanes:
        lane.folder.mkdir()

    expected: dict[str, int] = {}
    committed: dict[str, tuple[int, int, str]] = {}
    query: tuple[list[int], list[frozenset[int]]] | None = None
    kills, finished_first, rounds, readers_waited_for = 0, 0, 0, 0
    progress: list[int] = []  # per kill: new files of the round the killed process had committed
    startup_s: list[float] = []
    started = time.perf_counter()
    while kills < kills_wanted:
        assert rounds < max_rounds, f"only {kills} kills in {rounds} rounds"
        new: dict[int, list[str]] = {}
        for li, lane in enumerate(all_lanes):
            new[li] = []
            for j in range(FILES_PER_ROUND):
                pdf = j % 3 == 2
                name = f"crash-r{rounds:02d}-l{li}-{j}.{'pdf' if pdf else 'txt'}"
                data = _file(rng, name, pdf)
                (lane.folder / name).write_bytes(data)
                expected[name] = _reference_chunks(encoder, name, data)
                new[li].append(name)
        t_start = time.perf_counter()
        for li, lane in enumerate(all_lanes):
            lane.start(args, env, watch=new[li])
        killed_now: list[int] = []
        children: list[int] = []
        if per_file_s is None:  # calibration round: let the runs finish, time their files
            for li, lane in enumerate(all_lanes):
                assert lane.proc is not None
                assert lane.proc.wait(600) == 0, b"".join(lane.output).decode(errors="replace")[-3000:]
                marks = [lane.marks[n] for n in new[li]]
                per_file_s = max(per_file_s or 0.0, (marks[-1] - marks[0]) / (len(marks) - 1))
        else:  # each lane: a random file of the round, then a random part of a file's time
            plan = {li: (rng.choice(new[li]), rng.uniform(0, per_file_s)) for li in range(len(all_lanes))}
            deadline = time.perf_counter() + 300
            while plan:
                assert time.perf_counter() < deadline, "no progress in 300 s"
                for li, (target, delay) in list(plan.items()):
                    lane = all_lanes[li]
                    assert lane.proc is not None
                    at = lane.marks.get(target)
                    if lane.proc.poll() is not None:
                        finished_first += 1
                        del plan[li]
                    elif at is not None and time.perf_counter() >= at + delay:
                        try:
                            children += [c.pid for c in psutil.Process(lane.proc.pid).children(recursive=True)]
                        except psutil.NoSuchProcess:
                            pass
                        lane.proc.send_signal(signal.SIGKILL)
                        killed_now.append(li)
                        startup_s.append(min(lane.marks.values()) - t_start)
                        del plan[li]
                time.sleep(0.002)
        for lane in all_lanes:
            assert lane.proc is not None
            lane.proc.wait(60)
        left = _wait_gone(children, timeout=20)
        assert not left, f"reader processes outlived the killed ingest: {left}"
        readers_waited_for += len(children)
        now = _check(open_col, encoder, expected, committed, query)
        for li in killed_now:
            progress.append(sum(n in now for n in new[li]))
        kills += len(killed_now)
        committed = now
        ids = sorted(d for d, _, _ in committed.values())
        if ids:
            col = open_col()
            query = (ids, _top(Retriever(col, encoder, None, RetrievalOptions(rerank=False)), ids))
            col.close()
        rounds += 1
    loop_s = time.perf_counter() - started

    # clean runs complete the work: every file of every round, exactly once, whole
    for lane in all_lanes:
        lane.start(args, env)
        assert lane.proc is not None and lane.proc.wait(600) == 0, b"".join(lane.output).decode(errors="replace")
    final = _check(open_col, encoder, expected, committed, query)
    assert set(final) == set(expected), f"missing after the re-run: {sorted(set(expected) - set(final))[:5]}"
    return {"lanes": lanes, "rounds": rounds, "kills": kills, "runs_finished_before_their_kill": finished_first,
            "files": len(expected), "documents_after_rerun": len(final),
            "chunks_after_rerun": sum(c for _, c, _ in final.values()),
            "new_files_committed_at_kill": {str(k): progress.count(k) for k in range(FILES_PER_ROUND + 1)},
            "seconds_per_file": round(per_file_s or 0.0, 2),
            "process_start_to_first_file_s": round(statistics.median(startup_s), 1) if startup_s else None,
            "child_processes_at_kill": readers_waited_for, "children_alive_20s_after_kill": 0,
            "loop_wall_s": round(loop_s, 1)}


def test_a_few_kills_lose_nothing(tmp_path: Path, tiny_encoder: Any) -> None:
    """The quick suite's version: one lane, one kill."""
    figures = crash_rounds(tmp_path, tiny_encoder, lanes=1, kills_wanted=1, seed=7, max_rounds=6, per_file_s=0.3)
    assert figures["kills"] >= 1


@pytest.mark.slow
@pytest.mark.timeout(1800)  # 50 kills: about 4 minutes on an idle 2-core machine; far longer on a loaded one
def test_many_kills_lose_nothing(tmp_path: Path, tiny_encoder: Any, record_figures: Any) -> None:
    """Two lanes, kills before, during and after commits. The suite runs 10 kills (about a minute);
    ``RAG_RELIABILITY_FULL=1`` runs the 50 that docs/reliability.md reports."""
    kills = 50 if full_reliability() else 10
    figures = crash_rounds(tmp_path, tiny_encoder, lanes=2, kills_wanted=kills, seed=2024, max_rounds=kills + 10)
    record_figures("crash" if kills == 50 else "crash-quick", figures)
    assert figures["kills"] >= kills
