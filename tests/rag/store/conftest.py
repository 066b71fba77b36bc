"""Fixtures for store tests: a data directory and synthetic documents (no models needed)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from store_synth import make_doc  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _faiss_single_thread():
    """Tiny indexes: OpenMP threads only add contention on a shared 2-core machine."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "collections"


@pytest.fixture
def doc_factory(rng):
    def make(name: str, n_chunks: int = 5, **kw):
        return make_doc(rng, name, n_chunks, **kw)

    return make


@pytest.fixture(scope="session")
def pg_url():
    """A throw-away PostgreSQL server on loopback for the session (skips without the binaries or psycopg)."""
    from pg_server import cluster_or_skip

    with cluster_or_skip() as url:
        yield url
