"""``kill -9`` of ``python -m ingest`` on a Milvus server with the catalog in PostgreSQL; nothing is lost.

The kill loop of test_crash.py (two ingest processes on one collection, killed before, during
and after their commits; after every round the collection verifies, every committed document is
still there unchanged, none is half-written or listed twice, a scoped query ranks the same; one
clean run per lane completes the work), with the collection on the pair that app replicas on
several hosts use: vectors on a Milvus server (``milvus-lite server``, a process of its own) and
the catalog in PostgreSQL (a throw-away cluster, tests/rag/store/pg_server.py). A kill there
also ends a PostgreSQL session holding the write lock and leaves Milvus rows of a dead batch.

Skips without pymilvus and milvus-lite, psycopg or the PostgreSQL binaries. Two kills by
default (about 4 minutes at load 15 on 2 cores, most of it starting processes);
``RAG_RELIABILITY_FULL=1`` runs 20, their delays set by an unkilled first round.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from tests.reliability import test_crash as kill_loop  # noqa: E402 (a module: its tests are not collected again)
from tests.reliability.conftest import full_reliability  # noqa: E402


@pytest.fixture(scope="module")
def milvus_pg(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``milvus://127.0.0.1:PORT?catalog=postgresql://...``: a Milvus Lite server and a PostgreSQL cluster."""
    from rag.store.milvus import close_backend, parse_backend
    from tests.rag.store.milvus_server import running_server
    from tests.rag.store.pg_server import cluster_or_skip

    with cluster_or_skip() as pg_url, running_server(tmp_path_factory.mktemp("milvus-server")) as address:
        uri = f"milvus://{address}?catalog={pg_url}"
        yield uri
        close_backend(parse_backend(uri))  # this process's client, before its server stops


def test_kills_on_milvus_with_a_postgresql_catalog_lose_nothing(tmp_path: Path, tiny_encoder: Any, milvus_pg: str,
                                                                record_figures: Any) -> None:
    full = full_reliability()
    kills = 20 if full else 2
    # the quick run skips the unkilled calibration round: a file took 1.2 s at load 15
    figures = kill_loop.crash_rounds(tmp_path, tiny_encoder, lanes=2, kills_wanted=kills, seed=1818,
                                     max_rounds=kills + 6, per_file_s=None if full else 1.0, backend=milvus_pg)
    record_figures("crash-milvus-pg" if full else "crash-milvus-pg-quick", figures)
    assert figures["kills"] >= kills and figures["documents_after_rerun"] == figures["files"]
