"""The access store in PostgreSQL (``RAG_CATALOG``): what app replicas on several hosts share.

Two store objects stand for two hosts; each sees what the other records. Runs against a
throw-away PostgreSQL server (skips without Debian's postgresql or psycopg).
"""

from __future__ import annotations

import uuid

import pytest

from rag.access import Access, AccessStore, Role, named_user


@pytest.fixture(scope="module")
def pg_database():
    from tests.rag.store.pg_server import cluster_or_skip

    with cluster_or_skip() as url:
        yield url


@pytest.fixture
def catalog(pg_database):
    """A fresh database of the server for each test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_database.rsplit("/", 1)[0] + f"/{name}"


def test_two_hosts_share_roles_audit_and_sign_outs(catalog, tmp_path):
    host_a, host_b = AccessStore(tmp_path / "a", catalog), AccessStore(tmp_path / "b", catalog)
    assert host_b.members("deals") == [] and host_b.audit() == [] and host_b.signed_out_at("x") is None
    alice, bob = named_user("alice@example.org"), named_user("bob@example.org")
    assert Access(host_a, alice).claim("deals") and not Access(host_b, bob).claim("deals")
    Access(host_a, alice).share("deals", "Bob@Example.org", Role.READER)
    assert Access(host_b, bob).role("deals") is Role.READER
    assert host_b.roles_of({"bob@example.org", "alice@example.org"}) == {"deals": Role.OWNER}
    assert [m.principal for m in host_b.members("deals")] == ["alice@example.org", "bob@example.org"]
    host_b.rename_collection("deals", "deals-2024")
    assert Access(host_a, bob).role("deals-2024") is Role.READER
    host_a.record("bob@example.org", "ask", "deals-2024", "100% sure?")
    entries = host_b.audit("deals-2024")
    assert entries[0].action == "ask" and entries[0].detail == "100% sure?" and entries[0].id > entries[-1].id
    assert [e.action for e in host_b.audit(limit=1)] == ["ask"]
    host_a.record_sign_out("sub-1", at=5.0)
    host_a.record_sign_out("sub-1", at=7.0)
    assert host_b.signed_out_at("sub-1") == 7.0
    assert host_b.remove_member("deals-2024", "bob@example.org") and not host_b.remove_member("deals-2024", "x")
    host_a.forget_collection("deals-2024")
    assert host_b.members("deals-2024") == []
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # no SQLite file beside it


def test_an_unusable_catalog_is_named_without_its_password(tmp_path):
    pytest.importorskip("psycopg")
    store = AccessStore(tmp_path, "postgresql://rag:s3cret@127.0.0.1:1/rag")
    with pytest.raises(Exception, match=r"postgresql://rag:\*\*\*@") as err:
        store.members("x")
    assert "s3cret" not in str(err.value)
