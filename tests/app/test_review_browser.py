"""Clause review in a real browser: the grid, a click on a cell opens its highlighted page, the CSV downloads.

The app runs with the offline demo profile (all-MiniLM-L6-v2 from PyPI, no reranker) over a data
folder whose collection already holds one sample PDF (ingested in the test process), so the test
spends its time on the page, not on uploads (tests/app/test_browser.py covers those).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.streamlit_server import running_app

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
PDF = REPO / "data" / "samples" / "master-services-agreement-northwind-cobalt.pdf"
OUT = REPO / "test-output"

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, minilm_dir: Path) -> Iterator[str]:
    from rag.config import Settings
    from rag.engine import Engine

    data_dir = tmp_path / "collections"
    engine = Engine(replace(Settings(), embed_model="demo", rerank_model=None, data_dir=data_dir, device="cpu"))
    report = engine.ingest([PDF], "contracts")
    assert not report.failed, report.summary()
    settings = dict(RAG_EMBED_MODEL="demo", RAG_RERANK_MODEL="none", RAG_LLM_BACKEND="extractive",
                    RAG_DATA_DIR=str(data_dir), RAG_DEVICE="cpu", HF_HUB_OFFLINE="1")
    with running_app(settings, tmp_path / "streamlit.log") as url:
        yield url


def test_review_grid_click_a_cell_and_export(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install it with: apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1800}, accept_downloads=True)
        page.set_default_timeout(240_000)
        expect.set_options(timeout=240_000)
        try:
            page.goto(server)
            page.get_by_test_id("stSidebarNav").get_by_role("link", name="Clause review").click()
            grid = page.get_by_test_id("stDataFrame")
            expect(grid).to_be_visible()
            expect(page.get_by_text("1 contract(s) × 8 column(s)")).to_be_visible()
            page.wait_for_timeout(1000)
            box = grid.bounding_box()
            assert box is not None
            # the second column (Governing Law) of the first row: header and rows are about 35 px high
            page.mouse.click(box["x"] + 260, box["y"] + 35 + 17)
            expect(page.get_by_text("Question: Which state/country").first).to_be_visible()
            frame = page.frame_locator("iframe[title*='pdf_viewer']")
            expect(frame.locator("canvas").first).to_be_visible()
            expect(frame.locator("[id^=annotation-]").first).to_be_attached()
            page.wait_for_timeout(1500)
            path = tmp_path / "review-grid.png"
            page.screenshot(path=str(path))
            OUT.mkdir(exist_ok=True)
            shutil.copy(path, OUT / "review-grid.png")

            with page.expect_download() as info:
                page.get_by_role("button", name="Download CSV").click()
            saved = tmp_path / "review.csv"
            info.value.save_as(saved)
            rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
            assert rows[0][:2] == ["document", "Governing Law"]
            assert rows[1][0] == PDF.name and rows[1][1].startswith(("Found (p=", "Not found (p="))
        finally:
            browser.close()
