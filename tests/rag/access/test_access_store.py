"""The access catalog: roles, identities from ID-token claims, sign-outs, the audit log and its CSV."""

from __future__ import annotations

import csv
import io
import threading
import time
from pathlib import Path

import pytest

from rag.access import (LOCAL_ADMIN, Access, AccessDenied, AccessStore, Role, SignInRefused, allows, from_claims,
                        named_user, to_csv)

NOW = 1_800_000_000.0


def claims(sub: str = "sub-a", email: str | None = "a@example.org", iat: float = NOW - 60, **extra: object) -> dict:
    c: dict[str, object] = {"sub": sub, "iat": iat, "iss": "http://127.0.0.1:1"}
    if email is not None:
        c["email"] = email
    c.update(extra)
    return c


def test_roles_order_and_actions():
    assert Role.parse(" Editor ") is Role.EDITOR and Role.READER < Role.EDITOR < Role.OWNER
    assert allows(Role.READER, "read") and not allows(Role.READER, "edit")
    assert allows(Role.EDITOR, "edit") and not allows(Role.EDITOR, "share")
    assert all(allows(Role.OWNER, a) for a in ("read", "edit", "share", "rename", "delete", "audit"))
    assert not allows(None, "read")
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("admin")
    with pytest.raises(ValueError, match="unknown action"):
        allows(Role.OWNER, "fly")


def test_identity_from_claims_and_refusals():
    me = from_claims(claims(email="A@Example.org"), admins=(), session_hours=12, now=NOW)
    assert me.subject == "sub-a" and me.email == "a@example.org" and not me.admin
    assert me.principals() == {"sub-a", "a@example.org"}
    assert from_claims(claims(), admins=("a@example.org",), session_hours=12, now=NOW).admin
    assert from_claims(claims(), admins=("sub-a",), session_hours=12, now=NOW).admin
    # an e-mail the provider did not verify matches nothing (and makes no admin)
    unverified = from_claims(claims(email_verified=False), admins=("a@example.org",), session_hours=12, now=NOW)
    assert unverified.email is None and not unverified.admin and unverified.principal == "sub-a"
    with pytest.raises(SignInRefused, match="expired"):
        from_claims(claims(iat=NOW - 13 * 3600), admins=(), session_hours=12, now=NOW)
    with pytest.raises(SignInRefused, match="expired"):
        from_claims(claims(iat=None), admins=(), session_hours=12, now=NOW)  # type: ignore[arg-type]
    with pytest.raises(SignInRefused, match="future"):
        from_claims(claims(iat=NOW + 3600), admins=(), session_hours=12, now=NOW)
    with pytest.raises(SignInRefused, match="signed out"):
        from_claims(claims(), admins=(), session_hours=12, signed_out_at=NOW - 30, now=NOW)
    assert from_claims(claims(), admins=(), session_hours=12, signed_out_at=NOW - 600, now=NOW)
    with pytest.raises(SignInRefused, match="subject"):
        from_claims(claims(sub=""), admins=(), session_hours=12, now=NOW)


def test_named_users_for_the_command_line():
    assert named_user("local") is LOCAL_ADMIN
    bob = named_user("Bob@Example.org", admins=())
    assert bob.email == "bob@example.org" and not bob.admin
    assert named_user("root@example.org", admins=("root@example.org",)).admin
    with pytest.raises(ValueError):
        named_user("  ")


def test_store_reads_nothing_before_anything_is_written(tmp_path: Path):
    store = AccessStore(tmp_path / "not-yet")
    assert store.members("x") == [] and store.roles_of({"a"}) == {} and store.audit() == []
    assert store.signed_out_at("a") is None
    assert not (tmp_path / "not-yet").exists()  # reading creates no file


def test_memberships_claim_share_unshare_rename(tmp_path: Path):
    store = AccessStore(tmp_path)
    alice = named_user("alice@example.org")
    a = Access(store, alice)
    assert a.claim("deals") and not Access(store, named_user("eve@example.org")).claim("deals")
    assert a.role("deals") is Role.OWNER
    bob = Access(store, named_user("bob@example.org"))
    assert bob.role("deals") is None and bob.visible(["deals", "other"]) == []
    with pytest.raises(AccessDenied, match="no collection 'deals'"):
        bob.require("deals", "read")
    # the message is the same for a collection that does not exist at all
    with pytest.raises(AccessDenied, match="no collection 'nothing'"):
        bob.require("nothing", "read")
    a.share("deals", "Bob@Example.org", Role.READER)
    assert bob.role("deals") is Role.READER and bob.visible(["deals", "other"]) == ["deals"]
    with pytest.raises(AccessDenied, match="reader of 'deals'.*editor"):
        bob.require("deals", "edit")
    with pytest.raises(AccessDenied):
        bob.share("deals", "eve@example.org", Role.OWNER)  # readers cannot share
    with pytest.raises(ValueError, match="only owner"):
        a.unshare("deals", "alice@example.org")
    a.share("deals", "bob@example.org", Role.OWNER)
    a.unshare("deals", "alice@example.org")  # another owner is left: allowed
    assert a.role("deals") is None and bob.role("deals") is Role.OWNER
    store.rename_collection("deals", "deals-2024")
    assert bob.role("deals-2024") is Role.OWNER and bob.role("deals") is None
    assert {e.collection for e in store.audit()} == {"deals-2024"}
    store.forget_collection("deals-2024")
    assert store.members("deals-2024") == []
    # admins own everything, recorded or not
    assert Access(store, LOCAL_ADMIN).visible(["x", "y"]) == ["x", "y"]


def test_audit_log_and_csv_export(tmp_path: Path):
    store = AccessStore(tmp_path)
    a = Access(store, named_user("alice@example.org"))
    a.claim("deals")
    a.record("add", "deals", "=HYPERLINK(\"http://evil\"), nda.pdf")
    a.asked("deals", "what is the cap?")  # questions are off by default
    Access(store, named_user("alice@example.org"), audit_questions=True).asked("deals", "what is the cap?")
    entries = store.audit("deals")
    assert [e.action for e in entries] == ["ask", "add", "create"]
    assert entries[0].detail == "what is the cap?" and entries[0].actor == "alice@example.org"
    rows = list(csv.reader(io.StringIO(to_csv(entries))))
    assert rows[0] == ["id", "at", "actor", "action", "collection", "detail"]
    assert len(rows) == 4 and rows[2][5].startswith("'=HYPERLINK")  # no formula runs in a spreadsheet
    assert len(store.audit("deals", limit=1)) == 1 and store.audit("other") == []


def test_sign_out_is_recorded_per_subject(tmp_path: Path):
    store = AccessStore(tmp_path)
    store.record_sign_out("sub-a", at=NOW)
    assert store.signed_out_at("sub-a") == NOW and store.signed_out_at("sub-b") is None
    store.record_sign_out("sub-a")
    assert store.signed_out_at("sub-a") >= time.time() - 5


def test_concurrent_writers_lose_nothing(tmp_path: Path):
    store = AccessStore(tmp_path)

    def work(i: int) -> None:
        for j in range(20):
            store.record(f"user{i}", "add", "c", str(j))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.audit("c")) == 80


def test_catalog_command_line_checks_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]):
    from rag.access.__main__ import main

    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("RAG_USER", raising=False)
    Access(AccessStore(tmp_path), named_user("alice@example.org")).claim("deals")
    assert main(["--user", "bob@example.org", "share", "deals", "bob@example.org", "owner"]) == 1
    assert "no collection 'deals'" in capsys.readouterr().err
    assert main(["--user", "alice@example.org", "share", "deals", "bob@example.org", "reader"]) == 0
    assert main(["--user", "bob@example.org", "audit", "deals"]) == 1
    assert "need to be owner" in capsys.readouterr().err
    assert main(["audit", "deals"]) == 0  # the local admin
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert [r[3] for r in rows[1:]] == ["share", "create"]
    assert main(["members", "deals"]) == 0
    assert "bob@example.org\treader" in capsys.readouterr().out
    assert main(["share", "deals"]) == 2
