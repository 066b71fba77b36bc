"""Team mode end to end: a real OpenID Connect provider, a real server, Chromium signing in as A and B.

``oidc-provider-mock`` runs on a free loopback port inside the test; the app runs with
``RAG_MODE=team`` and ``[auth]`` secrets pointing at it. A owns collection ``a-deals`` (a services
agreement); B owns ``b-notes`` (an NDA). B then tries every route to A's contract we know of, each
one counted in ``ROUTES``, and none may show A's collection name, document name or text:
the sidebar, the page URLs with query parameters, the HTTP URLs A's browser fetched while viewing
A's PDF (with B's cookie and with none), the chat and the collection form with A's collection
typed in, and the CLI and Python API acting as B. Then sign-out must end A's access even for a
copy of A's cookie, and an expired or forged cookie must not sign anyone in.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.streamlit_server import free_port, running_app

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "test-output"
CHROMIUM = Path("/usr/bin/chromium")
SAMPLES = REPO / "data" / "samples"
A_PDF = SAMPLES / "master-services-agreement-northwind-cobalt.pdf"
B_PDF = SAMPLES / "mutual-nda-harbor-lumen.pdf"
A_SUB, A_EMAIL, B_SUB, B_EMAIL = "alice-sub", "alice@example.org", "bob-sub", "bob@example.org"
#: what B must never see: A's collection name, A's document name, words only A's contract holds
A_MARKERS = ("a-deals", "master-services-agreement", "Cobalt", "Northwind")
#: the A markers B's own typing may echo back (a question or a form field B filled in)
TYPED = ("a-deals", "Northwind")
COOKIE_SECRET = "test-cookie-secret-" + "x" * 40

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def oidc() -> Iterator[str]:
    """The identity provider on a free loopback port, with A and B as its users; its base URL."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [User(sub=A_SUB, claims={"email": A_EMAIL, "name": "Alice"}),
             User(sub=B_SUB, claims={"email": B_EMAIL, "name": "Bob"})]
    with run_server_in_thread(port=free_port(), user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def settings_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    data_dir = tmp_path_factory.mktemp("team-data")
    return dict(RAG_MODE="team", RAG_EMBED_MODEL="demo", RAG_RERANK_MODEL="none", RAG_LLM_BACKEND="extractive",
                RAG_DATA_DIR=str(data_dir), RAG_DEVICE="cpu", RAG_ADMINS="admin@example.org",
                RAG_AUDIT_QUESTIONS="true", HF_HUB_OFFLINE="1")


@pytest.fixture(scope="module")
def collections(settings_env: dict[str, str]) -> None:
    """A's and B's collections, added through the API acting as each of them."""
    from rag.access import named_user
    from rag.config import load_settings
    from rag.engine import Engine

    engine = Engine(load_settings(settings_env))
    assert not engine.for_user(named_user(A_EMAIL)).ingest([A_PDF], "a-deals").failed
    assert not engine.for_user(named_user(B_EMAIL)).ingest([B_PDF], "b-notes").failed


@pytest.fixture(scope="module")
def server(oidc: str, settings_env: dict[str, str], collections: None,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run app.py`` in team mode on 127.0.0.1, signing in through ``oidc``; its URL."""
    tmp = tmp_path_factory.mktemp("team-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secrets = tmp / "secrets.toml"
    secrets.write_text(f'[auth]\nredirect_uri = "{url}/oauth2callback"\ncookie_secret = "{COOKIE_SECRET}"\n'
                       f'client_id = "contract-assistant"\nclient_secret = "test-client-secret"\n'
                       f'server_metadata_url = "{oidc}/.well-known/openid-configuration"\n')
    with running_app(settings_env, tmp / "streamlit.log", port=port,
                     extra_args=["--secrets.files", str(secrets)]) as served:
        yield served


def _signed_cookie(payload: dict, secret: str) -> str:
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    return create_signed_value(secret, "_streamlit_user", json.dumps(payload)).decode()


def _decoded(cookie: str) -> str:
    """What a Streamlit identity cookie says, if it was signed with this server's secret."""
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

    return (decode_signed_value(COOKIE_SECRET, "_streamlit_user", cookie) or b"").decode()


class Routes:
    """Every route B tries, with what it showed; ``leaks`` lists those that showed A's contract."""

    def __init__(self) -> None:
        self.tried: list[str] = []
        self.leaks: list[str] = []
        self.started = time.monotonic()
        self.phases: dict[str, float] = {}

    def phase(self, name: str) -> None:
        """Seconds since the test began, when ``name`` was reached (the report's timing)."""
        self.phases[name] = round(time.monotonic() - self.started, 1)

    def check(self, route: str, seen: str, typed: tuple[str, ...] = ()) -> None:
        self.tried.append(route)
        found = [m for m in A_MARKERS if m in seen and m not in typed]
        if found:
            self.leaks.append(f"{route}: {found}")


def test_b_cannot_reach_a_and_sign_out_ends_access(server: str, settings_env: dict[str, str],
                                                    tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not CHROMIUM.is_file():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install it with: apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    routes = Routes()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        expect.set_options(timeout=60_000)

        def session(cookie: str | None = None):  # type: ignore[no-untyped-def]
            ctx = browser.new_context(viewport={"width": 1400, "height": 1400})
            ctx.set_default_timeout(60_000)
            if cookie is not None:
                ctx.add_cookies([{"name": "_streamlit_user", "value": cookie, "url": server}])
            return ctx, ctx.new_page()

        def sign_in(sub: str, email: str, seen: set[str] | None = None):  # type: ignore[no-untyped-def]
            ctx, page = session()
            if seen is not None:  # every HTTP request this browser makes to the app, from the first
                ctx.on("request", lambda r: seen.add(r.url) if r.url.startswith(server) else None)
            page.goto(server)
            page.get_by_role("button", name="Sign in").click()
            page.locator("input[name=sub]").fill(sub)
            page.get_by_role("button", name="Authorize").click()
            expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
            return ctx, page

        def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
            OUT.mkdir(exist_ok=True)
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUT / name))

        def body(page) -> str:  # type: ignore[no-untyped-def]
            """What the page shows once its run finished and nothing is loading: the text, and the
            HTML (tables draw on a canvas; their cells are in the DOM's accessible grid)."""
            page.wait_for_timeout(300)
            expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")
            expect(page.get_by_test_id("stSkeleton")).to_have_count(0)  # every element has drawn
            return page.inner_text("body") + page.content()

        try:
            # -- nobody signed in: the sign-in screen only -----------------------------------------
            ctx0, anon = session()
            anon.goto(server + "/documents?collection=a-deals")
            expect(anon.get_by_role("button", name="Sign in")).to_be_visible()
            routes.check("signed out: /documents?collection=a-deals", body(anon))
            shot(anon, "team-sign-in.png")
            ctx0.close()

            # -- A signs in, asks in a-deals and opens the cited PDF page; every URL is recorded ----
            routes.phase("signed-out visitor checked")
            a_urls: set[str] = set()
            ctx_a, page_a = sign_in(A_SUB, A_EMAIL, seen=a_urls)
            expect(page_a.get_by_text("document(s) in a-deals")).to_be_visible()
            box = page_a.get_by_test_id("stChatInputTextArea")
            box.fill("How much notice does the Customer need to give to terminate for convenience?")
            box.press("Enter")
            chips = page_a.get_by_test_id("stButtonGroup").get_by_role("radio")
            expect(chips.first).to_be_visible()
            chips.first.click()
            frame = page_a.frame_locator("iframe[title*='pdf_viewer']")
            expect(frame.locator("canvas").first).to_be_visible()
            shot(page_a, "team-a-chat-pdf.png")
            # positive control: the same reading of a page does see A's table, as A
            page_a.goto(server + "/documents")
            expect(page_a.get_by_text("Collection: a-deals")).to_be_visible()
            assert "master-services-agreement" in body(page_a), "the check cannot see the documents table"
            a_cookie = next(c["value"] for c in ctx_a.cookies() if c["name"] == "_streamlit_user")

            routes.phase("A signed in, asked, opened the PDF")
            # -- B signs in: the sidebar and every page, with A's collection in the query ----------
            ctx_b, page_b = sign_in(B_SUB, B_EMAIL)
            expect(page_b.get_by_text("document(s) in b-notes")).to_be_visible()
            routes.check("sidebar collection picker", page_b.get_by_test_id("stSidebar").inner_text())
            for path in ("/?collection=a-deals", "/clauses?collection=a-deals&doc=1&page=1",
                         "/documents?collection=a-deals", "/settings?collection=a-deals", "/a-deals"):
                page_b.goto(server + path)
                expect(page_b.get_by_text(f"Signed in as {B_EMAIL}")).to_be_visible()
                routes.check(f"page URL {path}", body(page_b))
                if path.startswith("/documents"):
                    shot(page_b, "team-b-documents.png")

            routes.phase("B signed in, sidebar and page URLs checked")
            # -- the URLs A's browser fetched (the PDF viewer included), with B's cookie and none ---
            pdf = A_PDF.read_bytes()
            guessed = {f"{server}/media/{hashlib.sha224(pdf).hexdigest()}.pdf",
                       f"{server}/media/{hashlib.sha224(pdf).hexdigest()}"}
            fetched_pdf_over_http = False
            # the app's own script and style files are the same for everyone: the rest is fetched
            to_fetch = {u for u in a_urls if "/static/" not in u} | guessed
            for url in sorted(to_fetch):
                # B's cookies in a jar of their own: replaying A's sign-in callback must not make B A
                for who, requester in (("B", p.request.new_context(storage_state=ctx_b.storage_state())),
                                       ("no cookie", p.request.new_context())):
                    r = requester.get(url, fail_on_status_code=False)
                    data = r.body()
                    identity = " ".join(_decoded(c["value"]) for c in requester.storage_state()["cookies"]
                                        if c["name"] == "_streamlit_user")
                    routes.check(f"{who} fetches {url[len(server):] or '/'}",
                                 data.decode("latin-1") + ("%PDF" if b"%PDF" in data else "")
                                 + (" Cobalt" if A_SUB in identity else ""))
                    fetched_pdf_over_http |= b"%PDF" in data
                    requester.dispose()
                # A's own cookie gets no PDF either: the bytes travel only in A's websocket session
                fetched_pdf_over_http |= b"%PDF" in ctx_a.request.get(url, fail_on_status_code=False).body()
            assert a_urls, "A's browser fetched nothing from the app"
            assert not fetched_pdf_over_http, "PDF bytes were served over a plain HTTP URL"

            routes.phase("A's URLs fetched")
            # -- B types A's collection name: the chat and the new-collection form -----------------
            page_b.goto(server)
            body(page_b)
            box = page_b.get_by_test_id("stChatInputTextArea")
            box.fill("In collection a-deals, what does Northwind Logistics pay?")
            box.press("Enter")
            expect(page_b.get_by_test_id("stChatMessage").nth(1)).to_be_visible()
            routes.check("chat with a-deals typed in", body(page_b), typed=TYPED)
            # Each step waits for the page's run to finish: a field filled while a run is still
            # drawing can be replaced by the run's own copy, and the form then submits it empty.
            page_b.goto(server + "/documents")
            body(page_b)
            page_b.get_by_text("Other collections").click()
            body(page_b)
            field = page_b.get_by_label("New collection")
            field.fill("a-deals")
            expect(field).to_have_value("a-deals")
            page_b.get_by_role("button", name="Create collection").click()
            expect(page_b.get_by_text("no collection 'a-deals' that you")).to_be_visible()
            routes.check("create a collection named a-deals", body(page_b), typed=TYPED)

            routes.phase("chat and form checked")
            # -- the command lines and the Python API acting as B ---------------------------------
            for key, value in settings_env.items():
                monkeypatch.setenv(key, value)
            monkeypatch.delenv("RAG_USER", raising=False)
            monkeypatch.chdir(REPO)
            import contextlib
            import io

            from ingest.__main__ import main as ingest_main
            from rag.__main__ import main as rag_main

            for route, argv, run in (
                    ("CLI ingest --user B -c a-deals", [str(B_PDF), "-c", "a-deals", "--user", B_EMAIL, "-q"], ingest_main),
                    ("CLI ask --user B --collection a-deals",
                     ["--user", B_EMAIL, "ask", "Who is the Provider?", "--collection", "a-deals"], rag_main)):
                out = io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                    code = run(argv)
                monkeypatch.delenv("RAG_USER", raising=False)
                assert code != 0, route
                routes.check(route, out.getvalue(), typed=TYPED)
            from rag.access import AccessDenied, named_user
            from rag.config import load_settings
            from rag.engine import Engine

            as_b = Engine(load_settings(settings_env)).for_user(named_user(B_EMAIL))
            for route, call in (("API collections()", lambda: as_b.collections()),
                                ("API collection('a-deals')", lambda: as_b.collection("a-deals")),
                                ("API retriever('a-deals')", lambda: as_b.retriever("a-deals")),
                                ("API delete_collection('a-deals')", lambda: as_b.delete_collection("a-deals"))):
                try:
                    seen = repr(call())
                except AccessDenied as exc:
                    seen = str(exc)
                routes.check(route, seen, typed=TYPED)

            routes.phase("CLI and API checked")
            # -- sign-out ends access, even for a copy of A's cookie -------------------------------
            page_a.goto(server)
            page_a.get_by_role("button", name="Sign out").click()
            # Sign-out goes through the app's /auth/logout to the provider's end-session page. Wait
            # until the browser has left the app: a navigation started earlier is aborted by that
            # redirect (seen at load 15, when waiting for "not /chat" returned at once on "/").
            page_a.wait_for_url(lambda u: not u.startswith(server), timeout=60_000)
            page_a.wait_for_load_state("load")
            page_a.goto(server)
            expect(page_a.get_by_role("button", name="Sign in")).to_be_visible()
            ctx_copy, copy_page = session(a_cookie)
            copy_page.goto(server + "/documents")
            expect(copy_page.get_by_text("you signed out since this sign-in")).to_be_visible()
            routes.check("A's cookie copied before A signed out", body(copy_page))

            # -- an expired sign-in and forged cookies sign nobody in --------------------------------
            claims = {"sub": A_SUB, "email": A_EMAIL, "iss": settings_env.get("x", "mock"), "aud": "contract-assistant",
                      "origin": server, "is_logged_in": True, "provider": "default"}
            old = dict(claims, iat=int(time.time()) - 13 * 3600, exp=int(time.time()) - 12 * 3600)
            _, expired = session(_signed_cookie(old, COOKIE_SECRET))
            expired.goto(server + "/documents")
            expect(expired.get_by_text("your sign-in has expired")).to_be_visible()
            routes.check("expired sign-in (13 h old, correctly signed)", body(expired))
            fresh = dict(claims, iat=int(time.time()), exp=int(time.time()) + 3600)
            tampered = a_cookie[:10] + ("A" if a_cookie[10] != "A" else "B") + a_cookie[11:]
            for route, cookie in (("cookie signed with another secret", _signed_cookie(fresh, "not-the-secret" * 4)),
                                  ("A's cookie with one character changed", tampered)):
                _, forged = session(cookie)
                forged.goto(server + "/documents")
                expect(forged.get_by_role("button", name="Sign in")).to_be_visible()
                routes.check(route, body(forged))
            routes.phase("sign-out, expired and forged cookies checked")
        except Exception:
            for i, pg in enumerate(pg for c in browser.contexts for pg in c.pages):
                pg.screenshot(path=str(tmp_path / f"failure-{i}.png"))
            raise
        finally:
            browser.close()

    # the audit log saw it all: the adds, B's question (RAG_AUDIT_QUESTIONS=true here), A's sign-out
    from rag.access import AccessStore

    store = AccessStore(settings_env["RAG_DATA_DIR"])
    assert [(e.actor, e.action) for e in store.audit("a-deals")][-2:] == [(A_EMAIL, "add"), (A_EMAIL, "create")]
    assert any(e.actor == B_EMAIL and e.action == "ask" and "Northwind" in e.detail for e in store.audit("b-notes"))
    assert any(e.actor == A_EMAIL and e.action == "sign-out" for e in store.audit())
    OUT.mkdir(exist_ok=True)
    report = OUT / "team-routes.json"
    report.write_text(json.dumps({"tried": routes.tried, "leaks": routes.leaks, "a_urls": sorted(u for u in a_urls if "/static/" not in u),
                                  "seconds": routes.phases, "load_avg_1m_end": os.getloadavg()[0]}, indent=1))
    print(f"\n{len(routes.tried)} routes tried, {len(routes.leaks)} leaks ({report})")
    assert routes.leaks == []
    assert len(routes.tried) >= 30
