"""The ingest driver: per-file results, duplicates, replacement, failures that stay alone, the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ingest.pipeline import Limits, Source, discover, ingest

CONTRACT = """SUPPLY AGREEMENT

1. Supply
1.1 The Supplier shall deliver the Products listed in Schedule 1 each month.

2. Payment
2.1 The Buyer shall pay each invoice within thirty days.

3. Termination
3.1 Either party may terminate this Agreement on ninety days written notice.
"""


def _pdf(lines: list[str]) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    y = 800
    for line in lines:
        c.drawString(72, y, line)
        y -= 16
    c.showPage()
    c.drawString(72, 800, "2. Payment terms continue on the second page.")
    c.save()
    return buf.getvalue()


@pytest.fixture()
def collection(tmp_path, tiny_encoder_for_ingest):
    from rag.store import ModelInfo, create_collection

    enc = tiny_encoder_for_ingest
    return create_collection(tmp_path / "data", "c", ModelInfo(name=enc.name, dim=enc.dim, sparse="lexical"))


@pytest.fixture(scope="module")
def tiny_encoder_for_ingest(tiny_m3_dir):
    from rag.models import load_encoder

    return load_encoder(str(tiny_m3_dir), device="cpu", dtype="float32")


def test_discover_recurses_into_folders_and_keeps_supported_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("x")
    (tmp_path / "a" / "two.PDF").write_bytes(b"%PDF-1.4")
    (tmp_path / "a" / "skip.docx").write_bytes(b"zip")
    (tmp_path / "three.md").write_text("# t")
    names = [s.name for s in discover([tmp_path / "a", tmp_path / "three.md"])]
    assert names == ["one.txt", "two.PDF", "three.md"]


def test_ingest_reports_each_file_and_stores_provenance(collection, tiny_encoder_for_ingest):
    pdf = _pdf(["SUPPLY AGREEMENT", "1. Supply", "1.1 The Supplier shall deliver monthly."])
    report = ingest([Source.upload("supply.txt", CONTRACT.encode()), Source.upload("supply.pdf", pdf)],
                    collection, tiny_encoder_for_ingest)
    assert [f.status for f in report.files] == ["added", "added"]
    assert report.files[1].pages == 2 and all(f.chunks > 0 for f in report.files)
    view = collection.view()
    docs = {d.name: d for d in view.documents()}
    assert docs["supply.pdf"].pages == 2 and docs["supply.pdf"].media_type == "application/pdf"
    chunks = view.chunks(list(view.chunk_ids([docs["supply.pdf"].id])))
    doc = view.document(docs["supply.pdf"].id)
    assert all(doc.text[c.start:c.end] == c.text for c in chunks)
    assert chunks[-1].pages is not None and chunks[-1].pages[1] == 2
    assert view.source(docs["supply.pdf"].id) == pdf
    assert view.clauses(docs["supply.txt"].id), "the clause tree is stored"
    assert "ingested" in report.summary()


def test_same_content_is_skipped_and_changed_content_replaces(collection, tiny_encoder_for_ingest):
    enc = tiny_encoder_for_ingest
    ingest([Source.upload("supply.txt", CONTRACT.encode())], collection, enc)
    again = ingest([Source.upload("copy-of-supply.txt", CONTRACT.encode())], collection, enc)
    assert again.files[0].status == "duplicate"
    changed = CONTRACT.replace("ninety days", "sixty days")
    rep = ingest([Source.upload("supply.txt", changed.encode())], collection, enc)
    assert rep.files[0].status == "replaced"
    view = collection.view()
    assert [d.name for d in view.documents()] == ["supply.txt"]
    assert "sixty days" in view.document(view.documents()[0].id).text


def test_a_broken_file_fails_alone_with_a_clear_message(collection, tiny_encoder_for_ingest):
    good = Source.upload("good.txt", CONTRACT.encode())
    truncated = Source.upload("broken.pdf", _pdf(["x"])[:200])
    not_pdf = Source.upload("photo.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    empty = Source.upload("empty.txt", b"")
    report = ingest([truncated, good, not_pdf, empty], collection, tiny_encoder_for_ingest)
    status = {f.name: f for f in report.files}
    assert status["good.txt"].status == "added"
    for name in ("broken.pdf", "photo.pdf", "empty.txt"):
        f = status[name]
        assert f.status == "failed" and f.error.startswith(name + ":"), f.error
        assert "Traceback" not in f.error
    assert [d.name for d in collection.view().documents()] == ["good.txt"]


def test_size_limit_is_enforced_before_reading(collection, tiny_encoder_for_ingest):
    report = ingest([Source.upload("big.txt", b"a" * 5000)], collection, tiny_encoder_for_ingest,
                    limits=Limits(max_bytes=1000))
    assert report.files[0].status == "failed" and "limit" in report.files[0].error


def test_batch_commits_together(collection, tiny_encoder_for_ingest):
    srcs = [Source.upload(f"c{i}.txt", CONTRACT.replace("thirty", f"{i} and thirty").encode()) for i in range(3)]
    seen = []
    report = ingest(srcs, collection, tiny_encoder_for_ingest, commit_every=3,
                    on_file=lambda i, n, name: seen.append((i, n, name)))
    assert report.count("added") == 3
    assert seen == [(0, 3, "c0.txt"), (1, 3, "c1.txt"), (2, 3, "c2.txt")]
    assert len(collection.view().documents()) == 3


def test_cli_ingests_a_folder_and_prints_a_summary(tmp_path, tiny_m3_dir, monkeypatch, capsys):
    from ingest.__main__ import main

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "supply.txt").write_text(CONTRACT)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    monkeypatch.setenv("RAG_EMBED_MODEL", str(tiny_m3_dir))
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    code = main([str(folder), "--collection", "cli", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1, out  # one file failed
    assert "added      supply.txt" in out and "FAILED     broken.pdf:" in out
    assert "1 file(s) ingested" in out and "1 failed" in out
    code = main([str(folder / "supply.txt"), "--collection", "cli", "--quiet"])
    assert code == 0 and "duplicate  supply.txt" in capsys.readouterr().out
    assert main([str(tmp_path / "nope"), "--collection", "cli"]) == 2
    assert Path(tmp_path / "data" / "cli").is_dir()


PARTIES_CONTRACT = ("SUPPLY AGREEMENT\n\nThis Supply Agreement is made by and between Quillon Widgets Inc. "
                    "(\"Supplier\") and Marbeck Foods LLC (\"Buyer\").\n\n" + CONTRACT.split("\n", 1)[1])


def test_the_lexical_terms_of_every_chunk_carry_the_parties(tiny_encoder_for_ingest):
    """A BM25 collection stores each chunk's terms from its embedded text: the parties named
    in the preamble count in the termination clause too, its text stays the document's."""
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import prepare
    from rag.documents import Document
    from rag.lexical import term_id

    doc = Document(name="supply.txt", text=PARTIES_CONTRACT)
    config = ChunkingConfig(target_tokens=16, max_tokens=32, min_tokens=4)
    p = prepare(doc, PARTIES_CONTRACT.encode(), tiny_encoder_for_ingest, sparse_kind="bm25", chunking=config)
    last = p.chunks[-1]
    assert "ninety days" in last.text and "Quillon" not in last.text
    assert last.text == PARTIES_CONTRACT[last.start:last.end]
    assert term_id("quillon") in p.sparse[-1] and term_id("marbeck") in p.sparse[-1]


def test_collections_indexed_without_the_identity_still_search(collection, tiny_encoder_for_ingest):
    """Collections built before chunks carried the identity hold the same chunks (only what was
    embedded differs): they open and search as before, next to documents indexed today."""
    from ingest.chunking import ChunkingConfig
    from rag.retrieve import Retriever

    enc = tiny_encoder_for_ingest
    old = ingest([Source.upload("old.txt", PARTIES_CONTRACT.encode())], collection, enc,
                 chunking=ChunkingConfig(target_tokens=16, max_tokens=32, min_tokens=4, identity="none"))
    new = ingest([Source.upload("new.txt", PARTIES_CONTRACT.replace("Quillon", "Quinton").encode())], collection, enc,
                 chunking=ChunkingConfig(target_tokens=16, max_tokens=32, min_tokens=4))
    assert old.files[0].status == new.files[0].status == "added"
    view = collection.view()
    spans = {d.name: [(c.start, c.end) for c in view.chunks(list(view.chunk_ids([d.id])))] for d in view.documents()}
    assert spans["old.txt"] == spans["new.txt"]  # same cuts: the prefix is embed-only
    hits = Retriever(collection, enc).search("When may either party terminate?", top_k=8).hits
    assert {h.chunk.doc_name for h in hits} == {"old.txt", "new.txt"}


@pytest.mark.parametrize("sparse_kind", ["bm25", "lexical"])
def test_identity_in_the_lexical_weights_only(tiny_encoder_for_ingest, sparse_kind):
    """identity="lexical": what is embedded stays the chunk (dense vectors as without it), and
    each chunk's lexical weights gain the parties' terms (BM25 counts, or BGE-M3's own weights)."""
    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import prepare
    from rag.documents import Document

    enc = tiny_encoder_for_ingest
    doc = Document(name="supply.txt", text=PARTIES_CONTRACT)
    sizes = dict(target_tokens=16, max_tokens=32, min_tokens=4)
    plain = prepare(doc, PARTIES_CONTRACT.encode(), enc, sparse_kind=sparse_kind,
                    chunking=ChunkingConfig(**sizes, identity="none"))
    lex = prepare(doc, PARTIES_CONTRACT.encode(), enc, sparse_kind=sparse_kind,
                  chunking=ChunkingConfig(**sizes, identity="lexical"))
    assert [c.embed_text for c in lex.chunks] == [c.embed_text for c in plain.chunks]
    assert "Quillon" not in lex.chunks[-1].embed_text
    assert (lex.dense == plain.dense).all()
    if sparse_kind == "bm25":
        from rag.lexical import term_id

        assert term_id("quillon") in lex.sparse[-1] and term_id("quillon") not in plain.sparse[-1]
    else:
        extra = dict(enc.encode(["SUPPLY AGREEMENT between Quillon Widgets Inc. and Marbeck Foods LLC"],
                                dense=False, sparse=True).sparse[0])
        assert extra and all(lex.sparse[-1][t] >= w for t, w in extra.items())
        assert all(lex.sparse[-1][t] >= w for t, w in plain.sparse[-1].items())
    with pytest.raises(ValueError, match="identity"):
        ChunkingConfig(identity="dense")
