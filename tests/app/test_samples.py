"""The sample contracts: every source has its committed PDF, and pypdf reads each paragraph back."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "data" / "samples"


def _render_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("render_samples", REPO / "scripts" / "render_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("source", sorted(SAMPLES.glob("*.txt")), ids=lambda p: p.stem)
def test_committed_pdf_reads_back_as_its_source(source: Path) -> None:
    pdf = source.with_suffix(".pdf")
    assert pdf.is_file(), f"{pdf.name} is missing: run python scripts/render_samples.py"
    assert _render_module().check(source, pdf) == []


def test_there_is_an_nda_a_services_agreement_and_a_chinese_contract() -> None:
    render = _render_module()
    texts = {p.stem: p.read_text(encoding="utf-8") for p in SAMPLES.glob("*.txt")}
    assert any("NON-DISCLOSURE" in t for t in texts.values())
    assert any("12.3(b)" in t and '"Services" means' in t for t in texts.values())
    assert any(render.is_chinese(t) and "第十二条" in t for t in texts.values())
