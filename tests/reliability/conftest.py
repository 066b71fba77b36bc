"""Fixtures for the reliability suite: the tiny encoder loaded once, the hostile corpus, and a
place to record the figures ``docs/reliability.md`` quotes (``test-output/reliability/``)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIGURES = REPO / "test-output" / "reliability"


def full_reliability() -> bool:
    """``RAG_RELIABILITY_FULL=1``: the crash and load tests at the strength docs/reliability.md
    reports (50 kills, 60 s; 60 store-level kills per index kind), with every real and hostile PDF.
    The README's test command runs them shorter (10 kills, 30 s, 30 store-level kills; every other
    real PDF, every third truncated or damaged one) so the suite stays well under 20 minutes on 2 cores."""
    return os.environ.get("RAG_RELIABILITY_FULL", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True, scope="session")
def _faiss_single_thread():
    """Small indexes: OpenMP threads only add contention on a shared 2-core machine."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_encoder(tiny_m3_dir: Path) -> Any:
    """The seeded BGE-M3-layout checkpoint, loaded once for every in-process ingest."""
    from rag.models import load_encoder

    return load_encoder(str(tiny_m3_dir), device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def shared_pdfs() -> Path | None:
    """``shared/eval/pdfs`` when present (real CUAD exhibits as mutation bases), else ``None``.

    Not the ``shared_eval`` fixture, which skips: the corpus must be built without it too.
    The same place as tests/conftest.py's ``SHARED_EVAL`` (``RAG_SHARED_EVAL`` overrides it).
    """
    shared = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval"))
    path = shared / "pdfs"
    return path if path.is_dir() else None


@pytest.fixture(scope="session")
def corpus(shared_pdfs: Path | None) -> Any:
    """The seeded hostile corpus (tests/reliability/hostile.py)."""
    pytest.importorskip("reportlab")
    from tests.reliability.hostile import build

    return build(seed=20240, shared_pdfs=shared_pdfs)


def machine() -> dict[str, Any]:
    """What the figures were measured on: the machine is shared, so its load is recorded too."""
    from rag.eval.machine import cpu_model

    return {"cores": os.cpu_count(), "cpu": cpu_model(), "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version()}


@pytest.fixture
def record_figures(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``record_figures(name, dict)``: write measured figures to test-output/reliability/NAME.json."""

    def record(name: str, figures: dict[str, Any]) -> None:
        FIGURES.mkdir(parents=True, exist_ok=True)
        payload = {"test": request.node.nodeid, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                   "machine": machine(), **figures}
        (FIGURES / f"{name}.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False))

    return record
