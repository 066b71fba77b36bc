"""One collection on a Milvus server (``milvus-lite server``) shared by several processes.

Two ingest processes and two reader processes work on one collection at once, as app
replicas and ``python -m ingest`` do; then a writer is killed in the middle of a batch on the
server. Nothing committed is lost, nothing uncommitted is seen, and ``verify()`` passes. Both
run twice: with the catalogs in SQLite files (one host) and in a PostgreSQL server (what
replicas on several hosts use; the test starts a throw-away cluster, see pg_server.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from rag.store import IndexOptions, ModelInfo  # noqa: E402
from rag.store.milvus import (  # noqa: E402
    INFLIGHT,
    close_backend,
    create_milvus_collection,
    open_milvus_collection,
    parse_backend,
)
from tests.rag.store.milvus_server import running_server  # noqa: E402

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": str(HERE.parents[2])}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    """A Milvus Lite gRPC server on loopback; yields its address with a catalog folder or PostgreSQL."""
    catalog = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    root = tmp_path_factory.mktemp("milvus-server")
    with running_server(root) as address:
        yield f"milvus://{address}?catalog={catalog or root / 'catalogs'}"


def _run(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(HERE / "milvus_server_worker.py"), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_ingest_and_two_reader_processes(server, tmp_path):
    backend = parse_backend(server)
    info = ModelInfo("test/model", 16, sparse="bm25")
    col = create_milvus_collection(backend, "shared", info, IndexOptions(durable=False))
    stop = tmp_path / "stop"
    readers = [_run("read", server, "shared", str(stop)) for _ in range(2)]
    # the writers start once both readers read: on a loaded machine a reader could start after
    # they finished and see one generation only
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("stop.ready-*"))) < 2:
        assert time.monotonic() < deadline and all(p.poll() is None for p in readers), "readers did not start"
        time.sleep(0.1)
    writers = [_run("ingest", server, "shared", tag, "6") for tag in ("a", "b")]
    try:
        added = [_result(p)["added"] for p in writers]
    finally:
        stop.touch()
    seen = [_result(p) for p in readers]
    assert all(s["checks"] > 0 for s in seen) and max(s["generations"] for s in seen) > 1
    try:
        v = col.view()
        docs = v.documents()
        assert sorted(d.id for d in docs) == sorted(added[0] + added[1])  # nothing lost, nothing twice
        assert sorted(d.name for d in docs) == sorted(f"{t}-{i}.txt" for t in "ab" for i in range(6))
        assert v.generation == 12 and v.stats()["milvus_rows"] == len(v.chunk_ids())
        v.verify()
    finally:
        col.close()
        close_backend(backend)


def test_writer_killed_mid_batch_on_the_server(server):
    uri = server.replace("?", "/crashed?")  # the collection named in the address
    out = subprocess.run([sys.executable, str(HERE / "milvus_crash_writer.py"), uri, "crashed"],
                         capture_output=True, text=True, timeout=300, env=ENV)
    assert out.returncode == -9 and "flushed" in out.stdout, out.stderr[-2000:]
    backend = parse_backend(server)
    try:
        col = open_milvus_collection(backend, "crashed")
        v = col.view()
        assert [d.name for d in v.documents()] == ["kept-0.txt", "kept-1.txt", "kept-2.txt"]
        assert col.db.get_marker(INFLIGHT) is not None and v.stats()["milvus_rows"] > 15  # the dead batch's rows
        assert len(v.dense_search(np.ones(16, np.float32), 100)[0]) == 15  # ... never seen
        v.verify()
        reader = open_milvus_collection(backend, "crashed")  # another app process's object
        with col.writer() as w:  # the next writer deletes the orphans first
            assert w.generation == 2
        assert reader.view().stats()["milvus_rows"] == 15 and col.db.get_marker(INFLIGHT) is None
        reader.view().verify()
    finally:
        close_backend(backend)
