"""Team mode in the app without a browser (AppTest): refusals, the sign-in screen, each user's view,
sharing and the audit log; and the start-up check ``scripts/dev.sh app`` runs first."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rag.access import named_user
from rag.access.serving import is_loopback, serving_problems
from rag.config import Settings

REPO = Path(__file__).resolve().parents[2]
A, B = "alice@example.org", "bob@example.org"
AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "s" * 48,
        "client_id": "contract-assistant", "client_secret": "x",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def user(email: str, **extra: object) -> dict:
    return {"is_logged_in": True, "sub": email.split("@")[0] + "-sub", "email": email,
            "iat": int(time.time()) - 60, **extra}


@pytest.fixture(scope="module")
def team_dir(tmp_path_factory: pytest.TempPathFactory, tiny_m3_dir: Path) -> Path:
    """A data folder where A owns ``a-deals`` (the NDA text) and B owns nothing."""
    from rag.engine import Engine

    data_dir = tmp_path_factory.mktemp("team")
    settings = replace(Settings(), embed_model=str(tiny_m3_dir), rerank_model=None, data_dir=data_dir,
                       device="cpu", mode="team")
    doc = data_dir.parent / "harbor-nda.txt"
    doc.write_text((REPO / "data" / "samples" / "mutual-nda-harbor-lumen.txt").read_text())
    assert not Engine(settings).for_user(named_user(A)).ingest([doc], "a-deals").failed
    return data_dir


@pytest.fixture
def team_app(make_app, tiny_m3_dir: Path, team_dir: Path):  # type: ignore[no-untyped-def]
    def make(who: dict | None, auth: dict | None = AUTH, **env: str):  # type: ignore[no-untyped-def]
        at = make_app(tiny_m3_dir, team_dir, RAG_MODE="team", RAG_ADMINS="root@example.org", **env)
        if auth is not None:
            at.secrets["auth"] = auth
        if who is not None:
            at.user = who
        return at
    return make


def texts(at) -> str:  # type: ignore[no-untyped-def]
    parts = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "title") for e in getattr(at, kind)]
    parts += [str(o) for s in at.selectbox for o in s.options]
    return "\n".join(map(str, parts))


def test_team_mode_refuses_to_run_without_a_cookie_secret(team_app) -> None:  # type: ignore[no-untyped-def]
    at = team_app(user(A), auth=None).run()
    assert any("[auth] section" in e.value for e in at.error) and "a-deals" not in texts(at)
    weak = team_app(user(A), auth=dict(AUTH, cookie_secret="short")).run()
    assert any("cookie_secret is 5 characters" in e.value for e in weak.error) and "a-deals" not in texts(weak)


def test_signed_out_visitors_see_only_the_sign_in_screen(team_app) -> None:  # type: ignore[no-untyped-def]
    at = team_app({"is_logged_in": False}).run()
    assert [b.label for b in at.button] == ["Sign in"]
    assert "a-deals" not in texts(at) and not at.sidebar.selectbox
    old = team_app(user(A, iat=int(time.time()) - 13 * 3600)).run()
    assert any("expired" in w.value for w in old.warning) and "a-deals" not in texts(old)


def test_each_user_sees_their_own_collections_and_owners_share(team_app, team_dir: Path) -> None:  # type: ignore[no-untyped-def]
    bob = team_app(user(B)).run()
    assert not bob.exception, bob.exception
    assert "a-deals" not in texts(bob) and any("no collection yet" in i.value for i in bob.info)
    # the first upload would go to a collection named for B: "my-contracts" may be someone else's
    bob.switch_page("app_pages/documents.py").run()
    assert any("my-contracts-bob-example.org" in i.value.replace("\\", "") for i in bob.info), texts(bob)

    alice = team_app(user(A)).run()
    alice.switch_page("app_pages/documents.py").run()
    assert not alice.exception, alice.exception
    assert alice.sidebar.selectbox(key="collection_picker").options == ["a-deals"]
    assert alice.sidebar.caption[0].value == f"Signed in as {A}"
    share = next(t for t in alice.text_input if t.label.startswith("Add a member"))
    share.input(B)
    alice.selectbox(key="share-role-a-deals").select("reader")
    next(b for b in alice.button if b.label == "Share").click().run()
    assert not alice.exception, alice.exception
    members = alice.dataframe[1].value
    assert dict(zip(members["member"], members["role"])) == {A: "owner", B: "reader"}
    audit = alice.dataframe[2].value
    assert list(audit["what"])[:2] == ["share", "add"]

    bob = team_app(user(B)).run()
    bob.switch_page("app_pages/documents.py").run()
    assert bob.sidebar.selectbox(key="collection_picker").options == ["a-deals"]
    assert not bob.file_uploader, "a reader is offered no upload"
    assert not [b for b in bob.button if b.label in ("Delete", "Share")]
    assert any("You are a reader of a-deals" in c.value.replace("\\", "") for c in bob.caption)

    # unshared again: B's next run no longer lists it
    from rag.access import Access, AccessStore

    Access(AccessStore(team_dir), named_user(A)).unshare("a-deals", B)
    bob.run()
    assert "a-deals" not in texts(bob)


def test_serving_rules() -> None:
    local, team = Settings(), replace(Settings(), mode="team")
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback(None) and not is_loopback("192.168.1.5")
    assert serving_problems(local, "127.0.0.1", None) == []
    assert "serves this computer only" in serving_problems(local, "0.0.0.0", None)[0]
    assert "every network interface" in serving_problems(local, None, None)[0]
    assert serving_problems(replace(local, allow_remote=True), "0.0.0.0", None) == []
    assert serving_problems(team, "0.0.0.0", AUTH) == []
    assert "cookie_secret" in serving_problems(team, "127.0.0.1", {k: v for k, v in AUTH.items()
                                                                    if k != "cookie_secret"})[0]
    named = {"redirect_uri": AUTH["redirect_uri"], "cookie_secret": AUTH["cookie_secret"],
             "keycloak": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}}
    assert serving_problems(team, "127.0.0.1", named) == []


def test_start_up_check_refuses_what_must_not_be_served(tmp_path: Path) -> None:
    def check(*args: str, **env: str) -> subprocess.CompletedProcess:
        base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        return subprocess.run([sys.executable, "-m", "rag.access", "check", *args], cwd=REPO, env={**base, **env},
                              capture_output=True, text=True, timeout=60)

    assert check().returncode == 0  # .streamlit/config.toml binds 127.0.0.1
    wide = check("--server.address", "0.0.0.0")
    assert wide.returncode == 1 and "serves this computer only" in wide.stderr
    assert check("--server.address=0.0.0.0", RAG_ALLOW_REMOTE="true").returncode == 0
    assert check(STREAMLIT_SERVER_ADDRESS="0.0.0.0").returncode == 1
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[auth]\nredirect_uri = "http://127.0.0.1:8501/oauth2callback"\n')
    team = check("--secrets.files", str(secrets), RAG_MODE="team")
    assert team.returncode == 1 and "cookie_secret" in team.stderr


def test_signing_out_ends_the_users_other_sessions(team_app, team_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from rag.access import AccessStore

    claims = user(A, iat=int(time.time()) - 5)
    other_tab = team_app(claims).run()
    assert other_tab.sidebar.selectbox(key="collection_picker").options == ["a-deals"]
    AccessStore(team_dir).record_sign_out(claims["sub"])  # what "Sign out" records, in another browser
    other_tab.run()  # the next interaction in the tab that still holds the cookie
    assert any("signed out since" in w.value for w in other_tab.warning)
    assert "a-deals" not in texts(other_tab) and not other_tab.sidebar.selectbox
    fresh = team_app(user(A, iat=int(time.time()) + 1)).run()  # a new sign-in works again
    assert fresh.sidebar.selectbox(key="collection_picker").options == ["a-deals"]
