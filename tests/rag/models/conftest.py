"""Encoders loaded once per session on the tiny checkpoints (fp32 unless a test says otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def m3(tiny_m3_dir: Path) -> Any:
    from rag.models import load_encoder

    return load_encoder(tiny_m3_dir, device="cpu", dtype="float32")


@pytest.fixture(scope="session")
def tiny_bge_v1_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rag.models.testing import build_tiny_bge_v1

    return build_tiny_bge_v1(tmp_path_factory.mktemp("tiny-bge-v1"))


@pytest.fixture(scope="session")
def reranker(tiny_reranker_dir: Path) -> Any:
    from rag.models import load_reranker

    return load_reranker(tiny_reranker_dir, device="cpu", dtype="float32")


def run_python(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python args...`` from the repository root with the repo importable."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), full_env.get("PYTHONPATH", "")]))
    return subprocess.run(
        [sys.executable, *args], check=False, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def python_runner() -> Any:
    return run_python
