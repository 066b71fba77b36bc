"""In a real browser, hostile document text and a hostile answer are shown as text.

The app runs (``streamlit run app.py``) over a collection of documents carrying scripts, event
handlers, remote images, links and Markdown tricks (tests/reliability/injection.py), with the
OpenAI-compatible fake server answering as a fooled model would. Chromium (Debian's, through
Playwright) opens the chat answer, every cited source (text highlights and the PDF viewer), the
Documents list and the clause viewer. Throughout: every request to a host other than 127.0.0.1
is recorded and refused, ``window.__pwned`` (what every injected script sets) stays undefined
in every frame, no element loads from the hostile host, and the API key is nowhere on the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.reliability.injection import EVIL, HOSTILE_ANSWER, ingest_injections
from tests.streamlit_server import running_app

CHROMIUM = Path("/usr/bin/chromium")
LOCAL = {"127.0.0.1", "localhost"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, tiny_m3_dir: Path) -> Iterator[tuple[str, Any]]:
    """The app over the hostile collection, answering through a fake server; (URL, server)."""
    from tests.fake_openai_server import DEFAULT_MODEL, FakeOpenAIServer, Reply

    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install it with: apt-get install -y chromium)")
    pytest.importorskip("playwright")
    tmp_path = tmp_path_factory.mktemp("browser-injection")
    data_dir = tmp_path / "collections"
    ingest_injections(data_dir, tiny_m3_dir)
    with FakeOpenAIServer(models=(DEFAULT_MODEL,), api_key="sk-test-0123456789abcdef") as server:
        server.default = Reply(text=HOSTILE_ANSWER)
        settings = dict(RAG_EMBED_MODEL=str(tiny_m3_dir), RAG_RERANK_MODEL="none", RAG_LLM_BACKEND="openai",
                        RAG_LLM_BASE_URL=server.base_url, RAG_LLM_MODEL=DEFAULT_MODEL,
                        RAG_LLM_API_KEY=server.api_key, RAG_DATA_DIR=str(data_dir), RAG_DEVICE="cpu")
        log_path = tmp_path / "streamlit.log"
        with running_app(settings, log_path, start_timeout_s=120) as url:
            yield url, server
        server_log = log_path.read_text(errors="replace")
        assert server.api_key not in server_log, "the API key appears in the server's log"
        assert "Traceback" not in server_log, server_log[-3000:]


def _nav(page: Any, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()


@pytest.fixture(scope="module")
def browsed(app_url: tuple[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Chromium through the chat answer, each source, the Documents list and the clause viewer;
    what it saw at each step (recorded, not asserted: each test below asserts one property)."""
    from playwright.sync_api import expect, sync_playwright

    url, server = app_url
    seen: dict[str, Any] = {"requests": [], "sockets": [], "scripts_ran": [], "hostile_elements": [],
                            "key_on_page": [], "links": [], "steps": [], "text_shown": False}

    def guard(route: Any) -> None:
        req_url = route.request.url
        if urlsplit(req_url).scheme in ("http", "https", "ws", "wss") and urlsplit(req_url).hostname not in LOCAL:
            seen["requests"].append(req_url)
            route.abort()
        else:
            route.continue_()

    def look(page: Any, where: str) -> None:
        seen["steps"].append(where)
        for frame in page.frames:
            if frame.evaluate("typeof window.__pwned") != "undefined":
                seen["scripts_ran"].append(f"{where}: {frame.url}")
            found = frame.locator(f'img[src*="{EVIL}"], iframe[src*="{EVIL}"], script, svg[onload], '
                                  '[onerror], [onload], [ontoggle]').evaluate_all(
                "els => els.filter(e => e.tagName !== 'SCRIPT' || (e.textContent || '').includes('__pwned'))"
                ".map(e => e.outerHTML)")
            seen["hostile_elements"] += [f"{where}: {h}" for h in found]
            if server.api_key in frame.content():
                seen["key_on_page"].append(f"{where}: {frame.url}")
        # links made from text in the app's own page (the PDF viewer's frame draws the PDF's own
        # link annotation, as any PDF viewer does)
        seen["links"] += [f"{where}: {h}" for h in page.locator(f'a[href*="{EVIL}"], a[href^="javascript:"]')
                          .evaluate_all("els => els.map(e => e.outerHTML)")]

    out = tmp_path_factory.mktemp("browser-shots")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 1800})
        context.route("**/*", guard)
        page = context.new_page()
        page.on("websocket", lambda ws: seen["sockets"].append(ws.url))
        page.set_default_timeout(120_000)
        expect.set_options(timeout=120_000)
        try:
            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("When must the Buyer pay, and how much notice ends the agreement?")
            box.press("Enter")
            chips = page.get_by_test_id("stButtonGroup").get_by_role("radio")
            expect(chips.first).to_be_visible()
            answer = page.get_by_test_id("stChatMessage").nth(1)
            expect(answer.get_by_text("window.__pwned", exact=False).first).to_be_visible()
            seen["text_shown"] = True  # the injected markup is on the page as text
            look(page, "the answer")

            for i in range(chips.count()):  # every source: text highlights and the PDF viewer
                chips.nth(i).click()
                page.wait_for_timeout(1500)
                label = chips.nth(i).inner_text()
                if ".pdf" in label:
                    frame = page.frame_locator("iframe[title*='pdf_viewer']")
                    expect(frame.locator("canvas").first).to_be_visible()
                    page.wait_for_timeout(1500)  # pdf.js draws its text and annotation layers
                look(page, f"source {label}")
            page.screenshot(path=str(out / "hostile-chat.png"))

            _nav(page, "Documents")
            expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
            page.get_by_text("Delete documents").click()
            page.wait_for_timeout(1000)
            look(page, "the documents list")

            _nav(page, "Clause lookup")
            page.get_by_label("By number or by description").fill("2")
            page.keyboard.press("Enter")
            expect(page.get_by_text("Notices follow", exact=False).first).to_be_visible()
            page.get_by_text("Show it highlighted in the text").first.click()
            page.wait_for_timeout(1500)
            look(page, "the clause viewer")
            page.screenshot(path=str(out / "hostile-clause.png"))
        finally:
            browser.close()
    assert server.chat_requests, "the answer came from the fake server"
    assert len(seen["steps"]) >= 5, seen["steps"]
    return seen


def test_injected_scripts_and_handlers_never_run(browsed: dict[str, Any]) -> None:
    assert browsed["text_shown"], "the injected markup must be shown, as text"
    assert browsed["scripts_ran"] == []
    assert browsed["hostile_elements"] == [], "document markup became elements"


def test_nothing_loads_from_the_hosts_documents_name(browsed: dict[str, Any]) -> None:
    assert [u for u in browsed["requests"] + browsed["sockets"] if EVIL in u] == []


def test_the_api_key_is_never_on_the_page(browsed: dict[str, Any]) -> None:
    assert browsed["key_on_page"] == []


def test_document_and_answer_text_never_becomes_a_link(browsed: dict[str, Any]) -> None:
    assert browsed["links"] == []


def test_no_page_contacts_a_host_but_the_app(browsed: dict[str, Any]) -> None:
    local = [u for u in browsed["sockets"] if urlsplit(u).hostname in LOCAL]
    assert local, "the page talks to its own server"
    assert browsed["requests"] == [] and len(local) == len(browsed["sockets"]), browsed["requests"]
