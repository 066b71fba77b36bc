"""Every Engine entry point checks the user's role: listing, opening, searching, adding, deleting,
and the command lines that act as a named user (``--user``)."""

from __future__ import annotations

import io
import os
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import replace
from pathlib import Path

import pytest

from rag.access import AccessDenied, Role, named_user
from rag.config import Settings
from rag.engine import Engine

A, B = "alice@example.org", "bob@example.org"
NDA = "1. Confidentiality\nThe Recipient shall keep the Disclosing Party's secret recipe confidential for five years.\n"


@pytest.fixture
def settings(tmp_path: Path, tiny_m3_dir: Path) -> Settings:
    return replace(Settings(), embed_model=str(tiny_m3_dir), rerank_model=None, data_dir=tmp_path / "cols",
                   device="cpu", mode="team")


@pytest.fixture
def engines(settings: Settings, tmp_path: Path) -> tuple[Engine, Engine, Path]:
    """A process-wide engine bound to Alice (who fills "a-deals") and to Bob; the file Alice added."""
    base = Engine(settings)
    doc = tmp_path / "nda.txt"
    doc.write_text(NDA)
    alice, bob = base.for_user(named_user(A)), base.for_user(named_user(B))
    report = alice.ingest([doc], "a-deals")
    assert not report.failed
    return alice, bob, doc


def test_bound_engines_share_the_models(settings: Settings):
    base = Engine(settings)
    bound = base.for_user(named_user(A))
    assert bound.encoder is base.encoder and bound.user.email == A and base.user.admin


def test_b_reaches_nothing_of_a_by_any_engine_route(engines: tuple[Engine, Engine, Path]):
    alice, bob, doc = engines
    assert alice.collections() == ["a-deals"] and bob.collections() == []
    assert alice.access.role("a-deals") is Role.OWNER
    routes = {
        "collection": lambda: bob.collection("a-deals"),
        "retriever": lambda: bob.retriever("a-deals"),
        "ingest into it": lambda: bob.ingest([doc], "a-deals", create=False),
        "create over it": lambda: bob.collection("a-deals", create=True),
        "ingest creating it": lambda: bob.ingest([doc], "a-deals"),
        "delete documents": lambda: bob.delete_documents("a-deals", [1]),
        "delete collection": lambda: bob.delete_collection("a-deals"),
        "rename collection": lambda: bob.rename_collection("a-deals", "b-deals"),
        "folder path": lambda: bob.collection(str(alice.data_dir / "a-deals")),
    }
    leaks = []
    for route, call in routes.items():
        try:
            call()
            leaks.append(route)
        except AccessDenied as exc:
            assert "recipe" not in str(exc)
    assert leaks == []
    # what B is told does not depend on whether the collection exists
    with pytest.raises(AccessDenied) as real:
        bob.collection("a-deals")
    with pytest.raises(AccessDenied) as made_up:
        bob.collection("no-such")
    assert str(real.value).replace("a-deals", "X") == str(made_up.value).replace("no-such", "X")
    # and A's collection is whole
    assert len(alice.collection("a-deals").view().documents()) == 1


def test_a_rename_needs_the_owner_and_keeps_the_members(engines: tuple[Engine, Engine, Path]):
    alice, bob, _ = engines
    alice.access.share("a-deals", B, Role.EDITOR)
    with pytest.raises(AccessDenied):
        bob.rename_collection("a-deals", "b-deals")  # an editor may add documents, not rename
    alice.rename_collection("a-deals", "deals-2026")
    assert alice.collections() == ["deals-2026"] and bob.collections() == ["deals-2026"]
    assert bob.access.role("deals-2026") is Role.EDITOR and bob.access.role("a-deals") is None
    assert any(e.action == "rename" and e.detail == "from a-deals" and e.actor == A
               for e in alice.access.store.audit("deals-2026"))


def test_the_milvus_backend_is_checked_alike(settings: Settings, tmp_path: Path):
    pytest.importorskip("pymilvus")
    pytest.importorskip("milvus_lite")
    base = Engine(replace(settings, backend=f"milvus-lite://{tmp_path / 'vectors.db'}"))
    doc = tmp_path / "nda.txt"
    doc.write_text(NDA)
    alice, bob = base.for_user(named_user(A)), base.for_user(named_user(B))
    assert not alice.ingest([doc], "a-deals").failed
    assert alice.collections() == ["a-deals"] and bob.collections() == []
    for call in (lambda: bob.collection("a-deals"), lambda: bob.retriever("a-deals"),
                 lambda: bob.ingest([doc], "a-deals"), lambda: bob.delete_collection("a-deals")):
        with pytest.raises(AccessDenied, match="no collection 'a-deals'"):
            call()
    alice.access.share("a-deals", B, Role.READER)
    assert "recipe" in bob.retriever("a-deals").search("secret recipe", top_k=1).hits[0].chunk.text


def test_roles_allow_what_they_name(engines: tuple[Engine, Engine, Path], tmp_path: Path):
    alice, bob, doc = engines
    alice.access.share("a-deals", B, Role.READER)
    assert bob.collections() == ["a-deals"]
    hits = bob.retriever("a-deals").search("secret recipe", top_k=1).hits
    assert "recipe" in hits[0].chunk.text
    col = bob.collection("a-deals")  # a reader's collection object refuses to write
    assert len(col.view().documents()) == 1
    with pytest.raises(AccessDenied, match="reader"):
        col.writer()
    with pytest.raises(AccessDenied, match="editor"):
        bob.delete_documents("a-deals", [1])
    with pytest.raises(AccessDenied, match="owner"):
        bob.access.share("a-deals", "eve@example.org", Role.READER)
    alice.access.share("a-deals", B, Role.EDITOR)
    other = tmp_path / "msa.txt"
    other.write_text("2. Payment\nInvoices are payable within thirty days.\n")
    assert not bob.ingest([other], "a-deals", create=False).failed
    doc_id = next(d.id for d in bob.collection("a-deals").view().documents() if d.name == "msa.txt")
    assert bob.delete_documents("a-deals", [doc_id]) == 1
    with pytest.raises(AccessDenied, match="owner"):
        bob.delete_collection("a-deals")
    actions = [(e.actor, e.action) for e in alice.access.store.audit("a-deals")]
    assert (B, "add") in actions and (B, "delete-documents") in actions and (A, "share") in actions
    alice.delete_collection("a-deals")
    assert alice.collections() == [] and alice.access.store.members("a-deals") == []


def test_command_lines_act_as_the_named_user(engines: tuple[Engine, Engine, Path], settings: Settings,
                                             monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from ingest.__main__ import main as ingest_main
    from rag.__main__ import main as rag_main

    _, _, doc = engines
    monkeypatch.setenv("RAG_EMBED_MODEL", settings.embed_model)
    monkeypatch.setenv("RAG_RERANK_MODEL", "none")
    monkeypatch.setenv("RAG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("RAG_DEVICE", "cpu")
    monkeypatch.setenv("RAG_LLM_BACKEND", "extractive")
    # --user sets RAG_USER in os.environ (each subcommand builds its Engine from the settings):
    # recorded here so that the teardown restores the state before this test, not a user's name
    monkeypatch.setenv("RAG_USER", "")
    monkeypatch.delenv("RAG_USER")
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        refused = ingest_main([str(doc), "-c", "a-deals", "--user", B, "--quiet"])
        asked = rag_main(["--user", B, "ask", "What must stay confidential?", "--collection", "a-deals"])
    assert refused == 2 and "no collection 'a-deals'" in err.getvalue()
    assert asked == 1 and "recipe" not in out.getvalue()
    assert "RAG_USER" not in os.environ  # --user holds for its own call only
    monkeypatch.delenv("RAG_USER", raising=False)
    monkeypatch.setenv("RAG_AUDIT_QUESTIONS", "true")  # the CLI audits questions like the chat page
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert rag_main(["--user", A, "ask", "What must stay confidential?", "--collection", "a-deals"]) == 0
    assert "recipe" in out.getvalue()
    from rag.access import AccessStore

    asks = [e for e in AccessStore(settings.data_dir).audit("a-deals") if e.action == "ask"]
    assert [(e.actor, e.detail) for e in asks] == [(A, "What must stay confidential?")]
