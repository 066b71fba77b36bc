"""Fixtures for the app tests: the app configured on the tiny checkpoint, and a ready collection.

AppTest runs the app's scripts in this process, so configuration is environment variables set
with monkeypatch before ``AppTest.from_file``. Streamlit's resource cache lives as long as the
process: every test that uses the same settings shares one loaded model.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
SAMPLES = REPO / "data" / "samples"
#: seconds one AppTest run may take: the first run loads the model, ingest runs take longer
TIMEOUT = 240

_RAG_VARS = ("RAG_CONFIG", "RAG_LLM_BASE_URL", "RAG_LLM_MODEL", "RAG_LLM_API_KEY", "OPENAI_API_KEY",
             "RAG_DEVICE", "RAG_MAX_FILE_MB", "RAG_MAX_PAGES", "RAG_FILE_TIMEOUT_S")


def unescape(markdown: str) -> str:
    """Markdown as the app wrote it (escaped document text) back to the text a user reads
    (without the invisible word joiners that keep URLs from becoming links)."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("  \n", "\n").replace("\u2060", "")


@pytest.fixture
def plain():  # type: ignore[no-untyped-def]
    """``plain(markdown)``: the text a user reads (the app escapes document text)."""
    return unescape


def configure(monkeypatch: pytest.MonkeyPatch, model: Path | str, data_dir: Path, **extra: str) -> None:
    """The app's environment: this model, no reranker, extractive answers, this data folder."""
    for var in _RAG_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("RAG_EMBED_MODEL", str(model))
    monkeypatch.setenv("RAG_RERANK_MODEL", "none")
    monkeypatch.setenv("RAG_LLM_BACKEND", "extractive")
    monkeypatch.setenv("RAG_DATA_DIR", str(data_dir))
    monkeypatch.setenv("RAG_DEVICE", "cpu")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(REPO)


@pytest.fixture(scope="session")
def samples_data_dir(tmp_path_factory: pytest.TempPathFactory, tiny_m3_dir: Path) -> Path:
    """A data folder whose ``samples`` collection holds the three sample PDFs (tiny model)."""
    from dataclasses import replace

    from rag.config import Settings
    from rag.engine import Engine

    data_dir = tmp_path_factory.mktemp("app-data")
    settings = replace(Settings(), embed_model=str(tiny_m3_dir), rerank_model=None, data_dir=data_dir,
                       device="cpu")
    report = Engine(settings).ingest(sorted(SAMPLES.glob("*.pdf")), "samples")
    assert not report.failed, report.summary()
    return data_dir


@pytest.fixture
def make_app(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``make_app(model, data_dir, **env)``: an AppTest of the app so configured (not yet run)."""
    from streamlit.testing.v1 import AppTest

    def make(model: Path | str, data_dir: Path, **extra: str) -> AppTest:
        configure(monkeypatch, model, data_dir, **extra)
        return AppTest.from_file(str(APP), default_timeout=TIMEOUT)

    return make


@pytest.fixture
def samples_app(make_app, tiny_m3_dir: Path, samples_data_dir: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """An AppTest of the app over the ready samples collection (not yet run)."""
    yield make_app(tiny_m3_dir, samples_data_dir)
