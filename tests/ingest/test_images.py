"""ingest.images on synthetic pages with known pictures, and on the shared real contract PDFs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import ExtractionError
from tests.ingest.image_pages import Placed, build_pdf

pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")


@pytest.fixture(scope="module")
def synthetic() -> tuple[bytes, list[Placed], Any]:
    from ingest.extract import extract_bytes

    data, placed = build_pdf()
    return data, placed, extract_bytes(data, "synthetic.pdf", ocr=False)


@pytest.fixture(scope="module")
def items(synthetic: tuple[bytes, list[Placed], Any]) -> list[Any]:
    from ingest.images import extract_images

    data, _, doc = synthetic
    return extract_images(data, doc, name="synthetic.pdf")


def _by_page(items: list[Any], page: int) -> list[Any]:
    return [it for it in items if it.page == page]


def test_each_known_picture_is_one_item_with_its_box(synthetic: tuple[bytes, list[Placed], Any], items: list[Any]) -> None:
    _, placed, _ = synthetic
    for p in placed:
        if p.name == "scan":
            continue
        found = [it for it in _by_page(items, p.page) if it.kind == "image"]
        match = [it for it in found if abs(it.x0 - p.view_box()[0]) < 0.5 and abs(it.top - p.view_box()[1]) < 0.5]
        assert len(match) == 1, (p.name, [(it.x0, it.top) for it in found])
        assert (match[0].x0, match[0].top, match[0].x1, match[0].bottom) == pytest.approx(p.view_box(), abs=0.5)


def test_captions_are_the_lines_beside_the_picture_with_spans(synthetic: tuple[bytes, list[Placed], Any],
                                                              items: list[Any]) -> None:
    _, placed, doc = synthetic
    for p in placed:
        if not p.caption:
            continue
        item = next(it for it in _by_page(items, p.page) if abs(it.top - p.view_box()[1]) < 0.5)
        assert item.text == p.caption, p.name
        assert [doc.text[s:e] for s, e in item.spans] == [p.caption]
    chart = next(it for it in _by_page(items, 1) if it.x1 - it.x0 > 300)
    assert "far below" not in chart.text


def test_scanned_page_is_one_page_item(items: list[Any]) -> None:
    page2 = _by_page(items, 2)
    assert [(it.kind, it.x0, it.top, it.x1, it.bottom) for it in page2] == [("page", 0.0, 0.0, 612.0, 792.0)]
    assert page2[0].coverage == 1.0
    assert page2[0].image.size == pytest.approx((612 * 150 / 72, 792 * 150 / 72), abs=1)


def test_repeated_logo_is_dropped_unless_asked(synthetic: tuple[bytes, list[Placed], Any], items: list[Any]) -> None:
    from ingest.images import extract_images

    data, _, doc = synthetic
    assert _by_page(items, 4) == []
    kept = extract_images(data, doc, repeat_pages=None)
    logos = [it for it in kept if it.kind == "image" and it.top == pytest.approx(30, abs=0.5)]  # drawn at y=PAGE_H-60, 30 high
    assert sorted(it.page for it in logos) == [1, 3, 4]
    assert len({it.digest for it in logos}) == 1


def test_rotated_page_box_in_viewer_space(items: list[Any]) -> None:
    (seal,) = _by_page(items, 5)
    # drawn at x=100..190, y=300..390 on a page shown turned by 90 degrees: x' = y, y' = x
    assert (seal.x0, seal.top, seal.x1, seal.bottom) == pytest.approx((300, 100, 390, 190), abs=0.5)


def test_crops_show_the_picture(items: list[Any]) -> None:
    from PIL import Image

    seal = next(it for it in _by_page(items, 1) if it.x1 - it.x0 == pytest.approx(120, abs=0.5))
    r, g, b = seal.image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert r > g + 20 and r > b + 20  # a red seal, not a white page corner
    thumb = Image.open(io.BytesIO(seal.thumbnail))
    assert max(thumb.size) <= 256 and thumb.format == "PNG"


def test_without_document_items_have_no_text(synthetic: tuple[bytes, list[Placed], Any]) -> None:
    from ingest.images import extract_images

    data, _, _ = synthetic
    found = extract_images(data)
    assert len(found) == 6 and all(it.text == "" and it.spans == [] for it in found)


def test_small_pictures_are_skipped(synthetic: tuple[bytes, list[Placed], Any]) -> None:
    from ingest.images import extract_images

    data, _, _ = synthetic
    assert all(it.kind == "page" for it in extract_images(data, min_side=400))


def test_bad_pdf_names_the_file() -> None:
    from ingest.images import extract_images

    with pytest.raises(ExtractionError, match="broken.pdf"):
        extract_images(b"%PDF-1.4 not really", name="broken.pdf")


def test_image_query_finds_its_picture(synthetic: tuple[bytes, list[Placed], Any], items: list[Any],
                                       tmp_path: Path) -> None:
    """Plumbing from PDF to vectors: the source picture as a query ("find pages like this seal")
    ranks its own item first. The tiny model has random weights, so only near-duplicates are
    expected to match; what is checked is that crops, boxes and vectors stay aligned."""
    import numpy as np

    from rag.models.visual_loading import load_visual_encoder
    from rag.models.visual_testing import build_tiny
    from tests.ingest import image_pages as P

    _, placed, _ = synthetic
    model = load_visual_encoder(build_tiny(tmp_path), device="cpu", dtype="float32")
    composed = model.encode_composed([it.image for it in items], [it.text for it in items])
    assert composed.shape == (len(items), model.dim) and np.isfinite(composed).all()
    vectors = model.encode_images([it.image for it in items])
    queries = {"seal": P.seal(), "signature": P.signature(), "chart": P.chart(), "scan": P.scan()}
    sims = model.encode_images(list(queries.values())) @ vectors.T
    for name, row in zip(queries, sims, strict=True):
        want = next(p for p in placed if p.name == name)
        top = items[int(np.argmax(row))]
        assert (top.page, top.x0, top.top) == pytest.approx((want.page, *want.view_box()[:2]), abs=0.5), name


@pytest.mark.slow
@pytest.mark.shared_eval
def test_real_contract_pdfs(shared_eval: Path) -> None:
    """Every shared PDF goes through; each item lies on its page and has a thumbnail."""
    import pypdfium2

    from ingest.images import extract_images

    pdfs = sorted((shared_eval / "pdfs").glob("*.[pP][dD][fF]"))
    assert len(pdfs) >= 30
    total = 0
    for path in pdfs:
        data = path.read_bytes()
        found = extract_images(data, name=path.name)
        doc = pypdfium2.PdfDocument(data)
        sizes = [doc[i].get_size() for i in range(len(doc))]
        doc.close()
        for it in found:
            w, h = sizes[it.page - 1]
            assert 0 <= it.x0 < it.x1 <= max(w, h) + 0.01 and 0 <= it.top < it.bottom <= max(w, h) + 0.01
            assert it.thumbnail.startswith(b"\x89PNG")
        total += len(found)
    assert total > 0


def test_ocr_page_becomes_a_page_item_with_its_ocr_text() -> None:
    import pdf_factory as F  # registered by tests/ingest/conftest.py

    from ingest import ocr
    from ingest.errors import OcrUnavailableError
    from ingest.extract import extract_bytes
    from ingest.images import extract_images

    try:
        ocr.get_engine("tesseract")
    except OcrUnavailableError as exc:
        pytest.skip(str(exc))
    data, _ = F.scanned_pdf()
    doc = extract_bytes(data, "scan.pdf", ocr="tesseract")
    (item,) = extract_images(data, doc, name="scan.pdf")
    assert item.kind == "page" and item.page == 1 and item.coverage == 1.0
    assert "12.1 Either party may terminate this Agreement" in item.text
    assert all(doc.text[s:e] in item.text for s, e in item.spans) and len(item.spans) >= 3


def test_strips_merge_and_coverage_counts_overlaps_once() -> None:
    from ingest.images import _coverage, _merge

    strips = [(0, 0, 10, 5), (0, 5, 10, 10), (0, 10.5, 10, 12), (20, 20, 30, 30)]
    assert _merge(strips) == [(0, 0, 10, 12), (20, 20, 30, 30)]
    assert _merge([(0, 0, 5, 5), (4, 4, 9, 9), (8, 8, 12, 12)], gap=0) == [(0, 0, 12, 12)]
    half = [(0, 0, 306, 792), (0, 0, 306, 400)]
    assert _coverage(half, 612, 792) == pytest.approx(0.5, abs=0.01)


def test_many_pictures_or_a_huge_page_stay_bounded(synthetic: tuple[bytes, list[Placed], Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.images as images

    data, _, doc = synthetic
    monkeypatch.setattr(images, "MAX_BOXES", 3)  # page 1 draws 4 images (logo, seal, signature, chart)
    monkeypatch.setattr(images, "MAX_PIXELS", 100_000)
    page1 = [it for it in images.extract_images(data, doc) if it.page == 1]
    assert [it.kind for it in page1] == ["page"]
    width, height = page1[0].image.size
    assert width * height <= 101_000 and width == pytest.approx(height * 612 / 792, abs=2)
