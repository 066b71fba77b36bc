"""Fixtures for ingest tests: the synthetic PDF factory (tests/pdf_factory.py).

Under ``--import-mode=importlib`` tests/ is not on ``sys.path``, so the factory is loaded by
file path once and registered as the module ``pdf_factory``; after that a plain
``from pdf_factory import contract_pdf`` works in any test module collected later.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def load_pdf_factory() -> ModuleType:
    """Import tests/pdf_factory.py as ``pdf_factory`` (idempotent)."""
    if "pdf_factory" in sys.modules:
        return sys.modules["pdf_factory"]
    path = Path(__file__).resolve().parents[1] / "pdf_factory.py"
    spec = importlib.util.spec_from_file_location("pdf_factory", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules["pdf_factory"] = module
    spec.loader.exec_module(module)
    return module


load_pdf_factory()


@pytest.fixture(scope="session")
def pdf_factory() -> ModuleType:
    """The synthetic PDF factory module (reportlab needed)."""
    pytest.importorskip("reportlab")
    return load_pdf_factory()
