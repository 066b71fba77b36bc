"""Ingest with a visual model (issue 17): image items stored with their document, searched by text
and by image, cited, deleted with the document; nothing of it without a visual model.

The visual model is the seeded tiny checkpoint (random weights: its text-to-image scores mean
nothing, so question tests lean on the captions, scored by the real MiniLM text encoder); an image
query of the very picture is found by any fixed network.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.ingest.image_pages import build_pdf, seal

pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")


@pytest.fixture(scope="module")
def tiny_visual_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rag.models.visual_testing import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny-visual"))


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path, tiny_visual_dir: Path) -> Any:
    from rag.config import Settings

    return Settings(embed_model=str(minilm_dir), rerank_model=None, visual_model=str(tiny_visual_dir / "Visualized_m3.pth"),
                    data_dir=tmp_path_factory.mktemp("data"), device="cpu")


@pytest.fixture(scope="module")
def engine(settings: Any) -> Any:
    from ingest.pipeline import Source
    from rag.engine import Engine

    eng = Engine(settings)
    data, _ = build_pdf()
    report = eng.ingest([Source.upload("signed.pdf", data)], "c")
    assert report.count("added") == 1, report.files
    assert report.files[0].images == len(eng.collection("c").view().image_items().rows) >= 6
    return eng


def test_image_items_are_stored_with_boxes_captions_and_vectors(engine: Any) -> None:
    view = engine.collection("c").view()
    items = view.image_items()
    kinds = sorted((r.page, r.kind) for r in items.rows)
    assert (2, "page") in kinds and sum(k == "image" for _, k in kinds) >= 4  # seal, signature, chart (p1), chart (p3), seal (p5)
    caps = {r.text for r in items.rows}
    assert "Company Seal of the Licensor" in caps and "By: John Smith, Chief Executive Officer" in caps
    doc = view.document(items.rows[0].doc_id)
    for r in items.rows:
        assert all(doc.text[s:e] in r.text for s, e in r.spans)
    assert items.vectors.shape[0] == len(items.rows) and items.text_vectors.shape[1] == engine.encoder.dim
    seal_row = next(r for r in items.rows if r.text == "Company Seal of the Licensor")
    assert view.image_thumbnail(seal_row.doc_id, seal_row.idx).startswith(b"\x89PNG")


def test_a_question_about_a_caption_gets_the_picture_among_its_hits(engine: Any) -> None:
    hits = engine.retriever("c").search("Where is the company seal of the licensor?").hits
    images = [h for h in hits if h.via == "image"]
    assert images and images[0].chunk.text == "Company Seal of the Licensor"
    hit = images[0]
    assert hit.image.page == 1 and hit.image.kind == "image" and hit.pages == (1, 1)
    assert hit.scores["caption"] > 0.5 and "visual" in hit.scores
    assert hit.chunk.heading_path == ("Picture on page 1",)
    assert len(hits) <= 8 and any(h.via != "image" for h in hits)


def test_an_unrelated_question_gets_no_picture(engine: Any) -> None:
    hits = engine.retriever("c").search("When are invoices payable?").hits
    assert hits and not [h for h in hits if h.via == "image"]


def test_an_image_query_finds_its_picture(engine: Any) -> None:
    hits = engine.retriever("c").search_image(seal(), top_k=3).hits
    assert hits and hits[0].via == "image" and hits[0].image.page in (1, 5)
    assert "Seal" in hits[0].chunk.text


def test_image_hits_are_cited_like_text_hits(engine: Any) -> None:
    from rag.answer import answer, build_context, check_citations
    from rag.answer.extractive import Extractive

    question = "Where is the company seal of the licensor?"
    hits = engine.retriever("c").search(question).hits
    blocks = build_context(hits).blocks
    block = next(b for b in blocks if b.hit.via == "image")
    assert block.label() == "signed.pdf, picture, p. 1" and block.text == "Company Seal of the Licensor"
    cited, issues = check_citations(f'The seal is captioned "Company Seal of the Licensor" [{block.n}].', blocks)
    assert cited == {block.n} and not issues
    stream = answer(question, hits, Extractive())
    "".join(stream)
    result = stream.result
    assert any(c.hit.via == "image" for c in result.citations)


def test_deleting_the_document_deletes_its_items(settings: Any, tmp_path: Path) -> None:
    from ingest.pipeline import Source
    from rag.engine import Engine

    eng = Engine(replace(settings, data_dir=tmp_path))
    data, _ = build_pdf()
    report = eng.ingest([Source.upload("signed.pdf", data)], "d")
    assert eng.collection("d").view().image_items().rows
    eng.delete_documents("d", [report.files[0].doc_id])
    assert eng.collection("d").view().image_items().rows == []


def test_a_file_whose_images_fail_to_embed_is_not_added_at_all(settings: Any, tmp_path: Path) -> None:
    from ingest.pipeline import Source, ingest
    from rag.engine import Engine

    class Broken:
        name, dim = "broken", 8

        def encode_composed(self, images: Any, texts: Any) -> Any:
            raise RuntimeError("visual model failed")

    eng = Engine(replace(settings, data_dir=tmp_path, visual_model=None))
    col = eng.collection("e", create=True)
    data, _ = build_pdf()
    report = ingest([Source.upload("signed.pdf", data)], col, eng.encoder, visual=Broken())
    assert report.files[0].status == "failed" and "visual model failed" in report.files[0].error
    assert col.view().documents() == [] and col.view().image_items().rows == []


def test_without_a_visual_model_nothing_is_extracted(settings: Any, tmp_path: Path) -> None:
    from ingest.pipeline import Source
    from rag.engine import Engine

    eng = Engine(replace(settings, data_dir=tmp_path, visual_model=None))
    assert eng.visual is None
    data, _ = build_pdf()
    eng.ingest([Source.upload("signed.pdf", data)], "f")
    assert eng.collection("f").view().image_items().rows == []
    with pytest.raises(ValueError, match="RAG_VISUAL_MODEL"):
        eng.retriever("f").search_image(seal())


def test_a_configured_visual_model_that_cannot_load_fails_loudly(settings: Any, tmp_path: Path) -> None:
    from rag.engine import Engine
    from rag.models import ModelLoadError

    eng = Engine(replace(settings, data_dir=tmp_path, visual_model=str(tmp_path / "missing.pth")))
    with pytest.raises(ModelLoadError, match="missing.pth"):
        _ = eng.visual
