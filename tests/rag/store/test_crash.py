"""``kill -9`` a writer at random moments; the collection must open consistent every time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.store import Collection, IndexOptions, ModelInfo, create_collection
from tests.reliability.conftest import full_reliability

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def start_writer(path: Path, seed: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(HERE / "crash_writer.py"), str(path), str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def check_consistent(path: Path, acknowledged: int) -> int:
    col = Collection.open(path)
    v = col.view()
    assert v.generation >= acknowledged, f"acknowledged generation {acknowledged} lost (now {v.generation})"
    v.verify()  # catalog ids == dense ids == sparse rows == ColBERT rows; per-document chunk counts
    ids = v.chunk_ids()
    if len(ids):
        rng = np.random.default_rng(len(ids))
        found, _ = v.dense_search(rng.standard_normal(col.info.dim).astype(np.float32), 10)
        assert len(found) == min(10, len(ids)) and set(found.tolist()) <= set(ids.tolist())
        some = ids[rng.integers(0, len(ids), 3)]
        chunks = v.chunks(some)
        assert [c.id for c in chunks] == some.tolist()
        q = {t: 1.0 for t in range(0, 200, 3)}
        found, _ = v.sparse_search(q, 10)
        assert set(found.tolist()) <= set(ids.tolist())
        if col.info.colbert_dim:
            assert all(a.shape[1] == col.info.colbert_dim for a in v.colbert(some))
    # the next writer cleans up after the dead one: no orphan segment folders remain
    with col.writer():
        pass
    known = {r[0] for r in col._conn().execute("SELECT path FROM files WHERE path NOT LIKE '%/%'")}
    on_disk = {p.name for p in col.parts_dir.iterdir()}
    assert on_disk <= known, f"orphans left: {sorted(on_disk - known)}"
    gen = v.generation
    col.close()
    return gen


def crash_loop(tmp_path: Path, info: ModelInfo, options: IndexOptions, iterations: int, max_wait: float, seed: int) -> None:
    col = create_collection(tmp_path, "crash", info, options)
    path = col.path
    rng = np.random.default_rng(seed)
    acknowledged = 0
    commits_seen = 0
    for it in range(iterations):
        proc = start_writer(path, seed * 1000 + it)
        try:
            # wait until the writer is up and committing, then kill it at a random moment
            first = proc.stdout.readline()
            assert first, f"writer died: {proc.stderr.read()}"
            acknowledged = max(acknowledged, int(first))
            time.sleep(float(rng.uniform(0.0, max_wait)))
        finally:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
        lines = [int(x) for x in out.split()]
        commits_seen += 1 + len(lines)
        acknowledged = max([acknowledged, *lines])
        check_consistent(path, acknowledged)
    assert commits_seen >= iterations


def test_kill_writer_at_random_points(tmp_path):
    info = ModelInfo("test/model", 16, colbert_dim=4, dense_index="hnsw")
    options = IndexOptions(approx_min_rows=60, merge_factor=3, max_deleted_fraction=0.2, durable=False)
    crash_loop(tmp_path, info, options, iterations=20, max_wait=0.6, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("kind,sparse", [("flat", "bm25"), ("ivf", "lexical")])
def test_kill_writer_many_times_durable(tmp_path, kind, sparse):
    info = ModelInfo("test/model", 16, sparse=sparse, colbert_dim=4, dense_index=kind)
    options = IndexOptions(approx_min_rows=100, merge_factor=3, durable=True)
    iterations = 60 if full_reliability() else 30  # RAG_RELIABILITY_FULL=1: the full-strength run
    crash_loop(tmp_path, info, options, iterations=iterations, max_wait=1.5, seed=2 if kind == "flat" else 3)
