"""ingest.ocr: engines behind one interface, boxes in viewer space, clean skips without them."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

from ingest import ocr
from ingest.errors import ExtractionError, OcrUnavailableError
from ingest.extract import extract_bytes

pytest.importorskip("reportlab")
import pdf_factory as F  # registered by tests/ingest/conftest.py


@pytest.fixture(autouse=True)
def _quiet_pypdf():
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    yield


def _engine_or_skip(name: str) -> ocr.OcrEngine:
    pytest.importorskip("pypdfium2")
    try:
        return ocr.get_engine(name)
    except OcrUnavailableError as exc:
        pytest.skip(str(exc))


# --------------------------------------------------------------------------- no engine needed

TSV = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    "1\t1\t0\t0\t0\t0\t0\t0\t2550\t3300\t-1\t\n"
    "5\t1\t1\t1\t1\t1\t300\t300\t120\t40\t96.5\t12.\n"
    "5\t1\t1\t1\t1\t2\t440\t300\t400\t40\t95.0\tTERMINATION\n"
    "5\t1\t1\t1\t2\t1\t300\t360\t200\t40\t91.0\tEither\n"
    "5\t1\t1\t1\t2\t2\t520\t362\t150\t40\t-1\t \n"
    "5\t1\t2\t1\t1\t1\t300\t600\t60\t50\t88.0\t第一条\n"
    "5\t1\t2\t1\t1\t2\t365\t600\t60\t50\t90.0\t总则\n"
)


def test_tesseract_tsv_becomes_lines_with_paragraphs():
    lines = ocr.TesseractEngine.parse_tsv(TSV)
    assert [ln.text for ln in lines] == ["12. TERMINATION", "Either", "第一条总则"]
    assert (lines[0].x0, lines[0].top, lines[0].x1, lines[0].bottom) == (300, 300, 840, 340)
    assert lines[0].block == lines[1].block != lines[2].block
    assert lines[0].confidence == pytest.approx(95.75)


def test_page_from_lines_scales_boxes_to_points_and_marks_paragraphs():
    lines = ocr.TesseractEngine.parse_tsv(TSV)
    page = ocr.page_from_lines(lines, scale=300 / 72)
    assert page.text == "12. TERMINATION\nEither\n\n第一条总则"
    s, e, x0, top, x1, bottom = page.lines[0]
    assert page.text[s:e] == "12. TERMINATION"
    assert (x0, top, x1, bottom) == (72.0, 72.0, 201.6, 81.6)
    assert [page.text[s:e] for s, e, *_ in page.lines] == ["12. TERMINATION", "Either", "第一条总则"]


def test_join_words_keeps_english_spaces_and_joins_chinese():
    assert ocr.join_words(["MASTER", "SUPPLY", "AGREEMENT"]) == "MASTER SUPPLY AGREEMENT"
    assert ocr.join_words(["第一条", "定义", "(a)", "Price"]) == "第一条定义 (a) Price"


def test_missing_tesseract_explains_the_install(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(OcrUnavailableError, match="apt-get install tesseract-ocr"):
        ocr.TesseractEngine()


def test_unknown_engine():
    pytest.importorskip("pypdfium2")
    with pytest.raises(OcrUnavailableError, match="unknown OCR engine 'abbyy'"):
        ocr.get_engine("abbyy")


def test_scan_without_any_engine_fails_with_install_hint(monkeypatch):
    def unavailable(name=None):
        raise OcrUnavailableError("OCR", "no OCR engine is installed; install ...")

    monkeypatch.setattr(ocr, "get_engine", unavailable)
    data, _ = F.scanned_pdf()
    with pytest.raises(OcrUnavailableError) as info:
        extract_bytes(data, "scan.pdf")
    assert str(info.value).startswith("scan.pdf: PDF has no text layer (a scan?) and OCR is not available")
    assert isinstance(info.value, ExtractionError)
    # a text PDF with one scanned page still loads in "auto" mode, with a warning
    doc = extract_bytes(F.mixed_scan_pdf()[0], "mixed.pdf")
    assert doc.text.startswith("Page one") and doc.warnings[0].startswith("page 2: no text layer, left empty")
    with pytest.raises(OcrUnavailableError, match="mixed.pdf: page 2: no text layer"):
        extract_bytes(F.mixed_scan_pdf()[0], "mixed.pdf", ocr=True)


def test_a_page_where_ocr_fails_is_left_empty_with_a_warning(monkeypatch):
    pytest.importorskip("pypdfium2")

    class Broken:
        name = "broken"

        def read(self, image):
            raise RuntimeError("engine crashed")

    monkeypatch.setattr(ocr, "get_engine", lambda name=None: Broken())
    doc = extract_bytes(F.mixed_scan_pdf()[0], "mixed.pdf")
    assert doc.page_count == 2
    assert doc.warnings == ["page 2: no text layer and OCR failed (RuntimeError: engine crashed), left empty"]


# --------------------------------------------------------------------------- with tesseract


def test_tesseract_reads_a_scan_with_word_spaces_and_boxes():
    engine = _engine_or_skip("tesseract")
    data, expected = F.scanned_pdf()
    doc = extract_bytes(data, "scan.pdf", ocr="tesseract")
    assert doc.page_count == 1 and doc.media_type == "application/pdf" and doc.language == "en"
    assert "12.1 Either party may terminate this Agreement" in doc.text
    assert "This Agreement is governed by the laws of England." in doc.text
    assert doc.warnings[0].startswith(f"page 1: no text layer, text recognised by OCR ({engine.name}")
    for exp in expected["lines"]:
        i = doc.text.find(exp["text"])
        assert i >= 0, exp["text"]
        (box,) = doc.boxes_of(i, i + len(exp["text"]))
        assert box.page == 1
        assert box.x0 == pytest.approx(exp["x0"], abs=3)
        assert box.top == pytest.approx(exp["top"], abs=3) and box.bottom == pytest.approx(exp["bottom"], abs=3)


def test_auto_ocr_fills_only_the_textless_page():
    _engine_or_skip("tesseract")
    doc = extract_bytes(F.mixed_scan_pdf()[0], "mixed.pdf")
    first, second = (doc.text[s:e] for s, e in doc.page_spans)
    assert first == "Page one has a text layer: payment within thirty days."
    assert "governed by the laws of England" in second
    assert {ln.page for ln in doc.lines} == {1, 2}


def test_tesseract_reads_chinese():
    engine = _engine_or_skip("tesseract")
    if "chi_sim" not in getattr(engine, "languages", ""):
        pytest.skip("tesseract-ocr-chi-sim is not installed")
    font = next((p for p in ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                             "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
                             "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc") if os.path.exists(p)),
                None)
    if font is None:
        pytest.skip("no CJK font to draw the scan with (apt-get install fonts-wqy-microhei)")
    data, _ = F.scanned_pdf(["第一条 本合同适用中华人民共和国法律。", "第二条 付款期限为三十日。"], font_path=font)
    doc = extract_bytes(data, "扫描件.pdf")
    assert doc.language == "zh"
    assert "本合同适用中华人民共和国法律" in doc.text.replace(" ", "")
    assert "付款期限为三十日" in doc.text.replace(" ", "")


@pytest.mark.slow
def test_rapidocr_option_reads_a_scan():
    """The alternative engine (model load takes ~10-20 s on 2 cores)."""
    _engine_or_skip("rapidocr")
    data, _ = F.scanned_pdf()
    doc = extract_bytes(data, "scan.pdf", ocr="rapidocr")
    assert "TERMINATION" in doc.text and "England" in doc.text
    assert doc.lines and all(ln.page == 1 for ln in doc.lines)
