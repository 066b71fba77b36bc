"""Image items in a real browser (issue 17): ask for the signature page, see its thumbnail, open the
page with the picture outlined; then find pages like an uploaded picture.

The collection is filled beforehand in this process (MiniLM demo encoder + the seeded tiny
Visualized BGE checkpoint, the settings the app then runs with), so the test spends its time in
the browser, not ingesting. The tiny checkpoint's weights are random: the question finds the
signature through its caption (the real MiniLM scores it), the image query through the very
picture it was cut from.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest.image_pages import signature, signed_contract
from tests.streamlit_server import running_app

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
OUT = REPO / "test-output"

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path: Path, minilm_dir: Path) -> Iterator[str]:
    pytest.importorskip("pypdfium2")
    pytest.importorskip("reportlab")
    from ingest.pipeline import Source
    from rag.config import load_settings
    from rag.engine import Engine
    from rag.models.visual_testing import build_tiny

    settings = dict(RAG_LLM_BACKEND="extractive", RAG_DATA_DIR=str(tmp_path / "collections"), RAG_DEVICE="cpu",
                    RAG_EMBED_MODEL="demo", RAG_RERANK_MODEL="none",
                    RAG_VISUAL_MODEL=str(build_tiny(tmp_path / "visual") / "Visualized_m3.pth"),
                    HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf-home"))
    report = Engine(load_settings(settings)).ingest([Source.upload("signed-services.pdf", signed_contract())],
                                                    "contracts")
    assert report.count("added") == 1, report.files
    with running_app(settings, tmp_path / "streamlit.log") as url:
        yield url


def _shot(page, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    page.screenshot(path=str(path))
    OUT.mkdir(exist_ok=True)
    shutil.copy(path, OUT / name)


def test_ask_for_the_signature_page_see_its_thumbnail_and_open_it(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install it with: apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        try:
            page.goto(server)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("Show me the signature page")
            box.press("Enter")
            answer = page.get_by_test_id("stChatMessage").nth(1)
            thumb = answer.get_by_test_id("stImage").first
            expect(thumb).to_be_visible()
            expect(answer.get_by_text("picture").first).to_be_visible()
            answer.get_by_role("button", name="Open page").first.click()
            frame = page.frame_locator("iframe[title*='pdf_viewer']")
            expect(frame.locator("canvas").first).to_be_visible()
            expect(frame.locator("[id^=annotation-]").first).to_be_attached()
            expect(page.get_by_text("Page 2 of 2").first).to_be_visible()
            page.wait_for_timeout(1500)  # let pdf.js paint before the screenshot
            _shot(page, tmp_path, "visual-signature-page.png")

            # an image query: the signature picture itself, uploaded
            png = tmp_path / "signature.png"
            signature().save(png)
            page.get_by_text("Find pages like a picture").click()
            page.locator("input[type=file]").set_input_files(str(png))
            page.get_by_role("button", name="Find pages like this").click()
            expect(page.get_by_role("button", name="Open page")).to_have_count(2)
            page.get_by_role("button", name="Open page").first.click()
            expect(page.get_by_text("Page 2 of 2")).to_have_count(2)
            viewer = page.frame_locator("iframe[title*='pdf_viewer'] >> nth=0")  # the panel sits above the chat
            expect(viewer.locator("canvas").first).to_be_visible()
            expect(viewer.locator("[id^=annotation-]").first).to_be_attached()
            page.wait_for_timeout(1500)
            _shot(page, tmp_path, "visual-image-query.png")
        finally:
            browser.close()
