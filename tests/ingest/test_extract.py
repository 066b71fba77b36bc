"""ingest.extract: canonical text, page spans and line boxes; every bad input fails cleanly."""

from __future__ import annotations

import csv
import io
import logging
import pickle
import re
from pathlib import Path

import pytest

from ingest import extract as extract_mod
from ingest import pdf_document, pdf_page, pdf_runs
from ingest.errors import ExtractionError
from ingest.extract import detect_language, extract, extract_bytes
from rag.documents import PAGE_SEPARATOR, Document
from tests.reliability.conftest import full_reliability

pytest.importorskip("reportlab")
import pdf_factory as F  # registered by tests/ingest/conftest.py

TOL = 1.5  # points: where reportlab drew a line vs the box we report


@pytest.fixture(autouse=True)
def _quiet_pypdf():
    """pypdf logs a warning for every oddity in the hostile PDFs; the assertions say what matters."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    yield


def _line_for(doc: Document, text: str, page: int):
    hits = [ln for ln in doc.lines if ln.page == page and doc.text[ln.start:ln.end] == text]
    assert hits, f"no line {text!r} on page {page}; lines there: " + repr(
        [doc.text[ln.start:ln.end] for ln in doc.lines if ln.page == page][:8])
    return hits[0]


def _assert_invariants(doc: Document) -> None:
    """PAGE_SEPARATOR, page spans and lines agree with the text."""
    if not doc.page_spans:
        assert doc.lines == []
        return
    pages = [doc.text[s:e] for s, e in doc.page_spans]
    assert doc.text.split(PAGE_SEPARATOR) == pages
    assert PAGE_SEPARATOR.join(pages) == doc.text
    for text in pages:
        assert "\f" not in text
        assert text == text.strip("\n")
    for (_, e), (s2, _) in zip(doc.page_spans, doc.page_spans[1:], strict=False):
        assert s2 == e + len(PAGE_SEPARATOR)
    prev_end = 0
    for ln in doc.lines:
        s, e = doc.page_spans[ln.page - 1]
        assert s <= ln.start < ln.end <= e, ln
        assert ln.start >= prev_end, "lines must be sorted and disjoint"
        prev_end = ln.end
        chunk = doc.text[ln.start:ln.end]
        assert "\n" not in chunk and chunk == chunk.strip(), repr(chunk)
        assert ln.x0 < ln.x1 and ln.top < ln.bottom
        assert doc.pages_of(ln.start, ln.end) == (ln.page, ln.page)


# --------------------------------------------------------------------------- errors


def test_error_reads_as_one_line_with_the_file_name():
    err = ExtractionError(Path("/srv/uploads/contract.pdf"), "file is encrypted and needs a password")
    assert str(err) == "contract.pdf: file is encrypted and needs a password"
    assert err.name == "contract.pdf" and err.reason == "file is encrypted and needs a password"
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and isinstance(again, ExtractionError)


# --------------------------------------------------------------------------- text files


def test_text_file_is_normalised_and_has_no_pages():
    doc = extract_bytes(b"Clause 1\r\nPayment\x00 terms\x07\tnet 30\rEnd\fNext", "terms.txt")
    assert doc.text == "Clause 1\nPayment terms\tnet 30\nEnd\nNext"
    assert doc.media_type == "text/plain" and doc.page_spans == [] and doc.lines == []
    assert doc.page_count == 0 and doc.pages_of(0, 5) is None and doc.warnings == []


@pytest.mark.parametrize("name,media", [("a.md", "text/markdown"), ("a.markdown", "text/markdown"),
                                        ("a.text", "text/plain"), ("A.TXT", "text/plain")])
def test_text_extensions(name, media):
    assert extract_bytes(b"# Title\n\nBody", name).media_type == media


@pytest.mark.parametrize("data", [
    "\ufeff12.3 Termination – notice".encode("utf-8"),
    "12.3 Termination – notice".encode("utf-16"),  # BOM + little endian
    b"\xfe\xff" + "12.3 Termination – notice".encode("utf-16-be"),
    "12.3 Termination – notice".encode("utf-32"),
])
def test_unicode_encodings_by_bom(data):
    doc = extract_bytes(data, "t.txt")
    assert doc.text == "12.3 Termination – notice" and doc.warnings == []


def test_legacy_encodings_fall_back_with_a_warning():
    doc = extract_bytes(b"caf\xe9 \x93quoted\x94", "legacy.txt")
    assert doc.text == "café “quoted”"
    assert doc.warnings == ["not valid UTF-8; decoded as Windows-1252"]
    doc = extract_bytes(b"undefined \x81 byte \xe9", "legacy.txt")  # 0x81 is a hole in cp1252
    assert doc.text == "undefined  byte é" and "Latin-1" in doc.warnings[0]


@pytest.mark.parametrize("data,name,reason", [
    (b"", "empty.txt", "file is empty"),
    (b" \n\t\n", "blank.md", "file contains no text"),
    (b"PK\x03\x04" + bytes(300), "notes.txt", "binary data"),
    (b"\x89PNG\r\n\x1a\n" + bytes(100), "scan.png", "unsupported file type (.png)"),
    (b"plain words", "contract.docx", "unsupported file type (.docx)"),
    (b"plain words", "README", "unsupported file type (no extension)"),
    (b"This is text, not a PDF", "contract.pdf", "not a PDF"),
    (b"\xff\xfe" + b"\x00\xd8", "odd.txt", "not valid UTF-16"),
])
def test_bad_inputs_raise_a_clear_error(data, name, reason):
    with pytest.raises(ExtractionError) as info:
        extract_bytes(data, name)
    assert reason in str(info.value) and str(info.value).startswith(f"{name}: ")


def test_media_type_decides_without_an_extension():
    assert extract_bytes(b"Body", "upload", media_type="text/markdown; charset=utf-8").media_type == "text/markdown"
    with pytest.raises(ExtractionError, match="not a PDF"):
        extract_bytes(b"Body", "upload", media_type="application/pdf")


def test_content_wins_over_the_extension():
    data, _ = F.simple_pdf([["Governing law is New York."]])
    doc = extract_bytes(data, "mislabelled.txt")
    assert doc.media_type == "application/pdf" and doc.text == "Governing law is New York."
    doc = extract_bytes(b"junk before the header\n" + data, "prefixed.pdf")  # within the first KiB
    assert doc.text == "Governing law is New York."


def test_ocr_argument_is_checked():
    with pytest.raises(ValueError, match="ocr must be"):
        extract_bytes(b"text", "a.txt", ocr="tesserect")


def test_name_is_only_displayed(tmp_path):
    doc = extract_bytes(b"text", "../../etc/passwd.txt")
    assert doc.name == "../../etc/passwd.txt" and doc.text == "text"


def test_language_by_script():
    assert detect_language("第一条 本合同适用中华人民共和国法律 (PRC law)") == "zh"
    assert detect_language("This Agreement is governed by 中国 law.") == "en"
    assert detect_language("12345 ...") == "en"
    assert extract_bytes("第一条 总则\n本合同自签订之日起生效。".encode(), "zh.txt").language == "zh"


def test_files_on_disk(tmp_path):
    (tmp_path / "a.md").write_text("# Payment\nNet 30 days.", encoding="utf-8")
    doc = extract(tmp_path / "a.md")
    assert doc.name == "a.md" and doc.text == "# Payment\nNet 30 days."
    with pytest.raises(ExtractionError, match="missing.pdf: file not found"):
        extract(tmp_path / "missing.pdf")
    with pytest.raises(ExtractionError, match="not a regular file"):
        extract(tmp_path)
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 2048)
    with pytest.raises(ExtractionError, match=r"big.txt: file is too large \(0.0 MiB; the limit is 0.0 MiB\)"):
        extract(big, max_bytes=1024)
    with pytest.raises(ExtractionError, match="too large"):
        extract_bytes(b"x" * 2048, "big.txt", max_bytes=1024)


# --------------------------------------------------------------------------- PDFs: text


@pytest.fixture(scope="module")
def contract() -> tuple[Document, dict]:
    data, expected = F.contract_pdf()
    return extract_bytes(data, "contract.pdf"), expected


def test_contract_text_pages_and_invariants(contract):
    doc, expected = contract
    assert doc.media_type == "application/pdf" and doc.language == "en" and doc.warnings == []
    assert doc.page_count == expected["pages"] >= 2
    _assert_invariants(doc)
    for _, block in expected["blocks"]:
        words = block.split()
        # each paragraph's words appear in order (lines are wrapped where reportlab wrapped them)
        assert re.search(r"\s+".join(map(re.escape, words)), doc.text), block


def test_clause_labels_start_lines(contract):
    doc, _ = contract
    for label in ("1.1 \"Confidential Information\" means", "12.3(b)(ii) cancel", "12.3(a) Buyer",
                  "ARTICLE 13 GOVERNING LAW", "Section 3 Payment Terms", "12. Termination",
                  "WHEREAS, Buyer", "RECITALS", "SCHEDULE 1 PRODUCTS", "NOW, THEREFORE"):
        i = doc.text.find(label)
        assert i >= 0, label
        assert i == 0 or doc.text[i - 1] == "\n", f"{label!r} does not start a line"


def test_paragraph_gaps_become_blank_lines(contract):
    doc, _ = contract
    assert "\n\nARTICLE 13 GOVERNING LAW\n\n13.1 This Agreement" in doc.text
    # a wrapped paragraph stays one block
    assert "1.1 \"Confidential Information\" means all non-public information disclosed by one party to the other,\n" \
           "whether oral" in doc.text


def test_page_spans_locate_text(contract):
    doc, expected = contract
    last_page_line = next(ln for ln in reversed(expected["lines"]))
    i = doc.text.find(last_page_line["text"])
    assert doc.pages_of(i, i + len(last_page_line["text"])) == (last_page_line["page"],) * 2
    assert doc.pages_of(0, len(doc.text)) == (1, doc.page_count)
    footer = f"Page 2 of {expected['pages']}"
    s, e = doc.page_spans[1]
    assert footer in doc.text[s:e]


# --------------------------------------------------------------------------- PDFs: positions


def test_every_drawn_line_is_boxed_where_reportlab_drew_it(contract):
    doc, expected = contract
    for exp in expected["lines"]:
        ln = _line_for(doc, exp["text"], exp["page"])
        for key in ("x0", "x1", "top", "bottom"):
            assert getattr(ln, key) == pytest.approx(exp[key], abs=TOL), (exp["text"], key)


def test_boxes_of_a_phrase(contract):
    doc, expected = contract
    exp = next(x for x in expected["lines"] if x["text"].startswith("12.1 Either party"))
    phrase = "terminate this Agreement for convenience"
    i = doc.text.find(phrase)
    boxes = doc.boxes_of(i, i + len(phrase))
    assert len(boxes) == 1
    box = boxes[0]
    assert box.page == exp["page"]
    assert exp["x0"] < box.x0 < box.x1 < exp["x1"]
    assert box.top == pytest.approx(exp["top"], abs=TOL) and box.bottom == pytest.approx(exp["bottom"], abs=TOL)
    # a span across two lines gives two boxes, in order
    j = doc.text.find("12.2 Either party")
    two = doc.boxes_of(j, doc.text.find("(30) days.", j) + 10)
    assert len(two) == 2 and two[0].top < two[1].top


def test_chinese_contract(pdf_factory):
    data, expected = pdf_factory.chinese_contract_pdf()
    doc = extract_bytes(data, "合同.pdf")
    assert doc.language == "zh"
    _assert_invariants(doc)
    for label in ("第一章 总则", "第三条 甲方", "一、首付款", "（一）逾期付款", "第五条 本合同适用"):
        i = doc.text.find(label)
        assert i == 0 or (i > 0 and doc.text[i - 1] == "\n"), label
    for exp in expected["lines"]:
        ln = _line_for(doc, exp["text"], exp["page"])
        # CID font widths: x1 may differ by a space's width where reportlab and pypdf disagree
        assert ln.x0 == pytest.approx(exp["x0"], abs=TOL)
        assert ln.x1 == pytest.approx(exp["x1"], abs=3)
        assert ln.top == pytest.approx(exp["top"], abs=TOL) and ln.bottom == pytest.approx(exp["bottom"], abs=TOL)


@pytest.mark.parametrize("factory", ["form_xobject_pdf", "spaced_pdf"])
def test_positions_follow_forms_and_text_state(factory):
    """Text inside a scaled form XObject and lines with Tc/Tw/Tz land where they are drawn."""
    data, expected = getattr(F, factory)()
    doc = extract_bytes(data, f"{factory}.pdf")
    _assert_invariants(doc)
    for exp in expected["lines"]:
        ln = _line_for(doc, exp["text"], exp["page"])
        for key in ("x0", "x1", "top", "bottom"):
            assert getattr(ln, key) == pytest.approx(exp[key], abs=TOL), (exp["text"], key)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_pages_use_viewer_coordinates(rotation):
    """A box must cover ink in the page as pdfium renders it (crop box, /Rotate applied)."""
    pdfium = pytest.importorskip("pypdfium2")
    import numpy as np

    data, _ = F.simple_pdf([["Limitation of liability applies here."]], rotate=rotation)
    doc = extract_bytes(data, "rotated.pdf")
    (ln,) = doc.lines
    pdf = pdfium.PdfDocument(data)
    scale = 2.0
    img = np.asarray(pdf[0].render(scale=scale, grayscale=True).to_pil().convert("L"))
    h, w = img.shape
    assert (w, h) == ((792 * scale, 612 * scale) if rotation in (90, 270) else (612 * scale, 792 * scale))
    inside = img[int(ln.top * scale):int(ln.bottom * scale), int(ln.x0 * scale):int(ln.x1 * scale)]
    assert inside.size and (inside < 128).mean() > 0.05, "box misses the text"
    ink = np.argwhere(img < 128)
    top, left = ink.min(axis=0) / scale
    bottom, right = (ink.max(axis=0) + 1) / scale
    # all ink lies within the box (glyph ink sits inside the font's ascent/descent box)
    assert ln.x0 - TOL <= left and right <= ln.x1 + TOL and ln.top - TOL <= top and bottom <= ln.bottom + TOL


def test_content_slimming_changes_nothing(monkeypatch):
    """Dropping drawing operators before pypdf parses a page yields the same text and boxes."""
    from pypdf import PdfReader

    data = F.contract_pdf()[0]
    slim = [extract_mod.read_pdf_page(p, i + 1) for i, p in enumerate(PdfReader(io.BytesIO(data)).pages)]
    monkeypatch.setattr(pdf_page, "_text_only", lambda d: d)
    full = [extract_mod.read_pdf_page(p, i + 1) for i, p in enumerate(PdfReader(io.BytesIO(data)).pages)]
    assert slim == full


def test_text_only_keeps_strings_and_text_operators():
    stream = (b"q 1 0 0 RG 0.5 w 10 10 m 20 20 l S Q q Q q q Q Q\n"
              b"BT /F1 12 Tf 72 700 Td (keep 1 2 l q Q S inside) Tj <0041 20 l> Tj ET\n"
              b"q 0 0 100 100 re W n BT /F1 9 Tf [(a) -250 (b)] TJ ET Q")
    out = pdf_page._text_only(stream)
    assert b"(keep 1 2 l q Q S inside)" in out and b"<0041 20 l>" in out
    assert b" re " not in out and b" RG " not in out and b" m " not in out
    ops = out.replace(b"(keep 1 2 l q Q S inside)", b"").split()
    assert ops.count(b"BT") == 2 and ops.count(b"q") == ops.count(b"Q") == 1
    assert b"[(a) -250 (b)] TJ" in out
    inline = b"q BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q 1 2 m"
    assert pdf_page._text_only(inline) == inline  # inline images: left alone


def test_alignment_survives_runs_that_differ_from_the_text():
    """When pypdf's output is not the concatenation of the runs it reported, spans still map."""
    runs = [pdf_runs._Run(t, (1, 0, 0, 1, 0, 0), None, 10.0) for t in ("Governing", "law.", "\n", "Next")]
    raw = "Governing law.\nNext"  # a space was added between two runs
    pdf_runs._align(runs, raw)
    assert [raw[r.start:r.end] for r in runs] == ["Governing", "law.", "\n", "Next"]


# --------------------------------------------------------------------------- PDFs: bad input


@pytest.mark.parametrize("factory,reason", [
    ("encrypted_pdf", "file is encrypted and needs a password"),
    ("truncated_pdf", "PDF is truncated"),
    ("corrupt_pdf", "PDF is damaged"),
    ("zero_page_pdf", "PDF has no pages"),
    ("blank_pdf", "PDF contains no text"),
])
def test_bad_pdfs_raise_a_clear_error(factory, reason):
    data = getattr(F, factory)()
    with pytest.raises(ExtractionError) as info:
        extract_bytes(data, "contract.pdf", ocr=False)
    assert str(info.value).startswith("contract.pdf: ") and reason in str(info.value)
    assert "Traceback" not in str(info.value) and "\n" not in str(info.value)


def test_empty_user_password_opens():
    data, expected = F.empty_password_pdf()
    doc = extract_bytes(data, "owner-only.pdf")
    assert doc.text == expected["lines"][0]["text"]


def test_aes_encryption():
    from pypdf.errors import DependencyError

    try:
        data = F.aes_empty_password_pdf()
    except DependencyError as exc:  # pypdf needs cryptography to write AES too
        pytest.skip(f"cannot build an AES PDF here: {exc}")
    assert extract_bytes(data, "aes.pdf").text == "Payment is due within 30 days."


def test_aes_without_crypto_package_says_what_to_install(monkeypatch):
    from pypdf.errors import DependencyError

    class Reader:
        is_encrypted = True

        def __init__(self, *a, **k):
            pass

        def decrypt(self, password):
            raise DependencyError("cryptography is required for AES algorithm")

    monkeypatch.setattr("pypdf.PdfReader", Reader)
    with pytest.raises(ExtractionError, match="aes.pdf: file is encrypted with AES.*pip install cryptography"):
        extract_bytes(F.simple_pdf([["x"]])[0], "aes.pdf")


def test_a_page_that_breaks_the_parser_is_skipped_with_a_warning():
    data, expected = F.broken_page_pdf()
    doc = extract_bytes(data, "broken.pdf")
    assert doc.page_count == 3
    _assert_invariants(doc)
    pages = [doc.text[s:e] for s, e in doc.page_spans]
    assert pages == [expected["lines"][0]["text"], "", expected["lines"][2]["text"]]
    assert len(doc.warnings) == 1 and doc.warnings[0].startswith("page 2 could not be read and was skipped")
    assert {ln.page for ln in doc.lines} == {1, 3}


def test_a_page_missing_from_a_damaged_page_tree_is_reported():
    from pypdf import PdfReader

    data, _ = F.simple_pdf([["first page"], ["second page"], ["third page"]])
    third = PdfReader(io.BytesIO(data)).pages[2].indirect_reference.idnum
    kids = re.search(rb"/Kids \[[^\]]*\]", data)
    assert kids and b"%d 0 R" % third in kids.group()
    # the page tree points at an object the file does not have
    broken = kids.group().replace(b"%d 0 R" % third, b"%d 0 R" % (third + 1000))
    damaged = data[:kids.start()] + broken + data[kids.end():]
    doc = extract_bytes(damaged, "damaged.pdf")
    assert doc.page_count == 2 and "third page" not in doc.text
    assert doc.warnings == ["the file says it has 3 pages but only 2 could be found; 1 page(s) are missing "
                            "from the text"]
    assert extract_bytes(data, "whole.pdf").warnings == []


def test_all_pages_broken_fails_the_file(monkeypatch):
    def boom(page, number, metrics=None):
        raise ValueError("bad page")

    monkeypatch.setattr(pdf_document, "read_pdf_page", boom)
    with pytest.raises(ExtractionError, match="no page of the PDF could be read"):
        extract_bytes(F.simple_pdf([["a"], ["b"]])[0], "x.pdf")


def test_limits():
    data = F.large_pdf(3)
    assert extract_bytes(data, "ok.pdf", max_pages=3).page_count == 3
    with pytest.raises(ExtractionError, match="big.pdf: PDF has 3 pages; the limit is 2"):
        extract_bytes(data, "big.pdf", max_pages=2)
    with pytest.raises(ExtractionError, match="too large"):
        extract_bytes(data, "big.pdf", max_bytes=len(data) - 1)


def test_defaults_come_from_settings():
    from rag.config import Settings

    assert extract_mod.DEFAULT_MAX_PAGES == Settings().max_pages
    assert extract_mod.DEFAULT_MAX_BYTES == int(Settings().max_file_mb * 2**20)


def test_scanned_pdf_without_ocr_is_a_clear_error():
    data, _ = F.scanned_pdf()
    with pytest.raises(ExtractionError, match="scan.pdf: PDF has no text layer .* OCR is turned off"):
        extract_bytes(data, "scan.pdf", ocr=False)


def test_textless_page_in_a_text_pdf_is_reported(monkeypatch):
    data, _ = F.mixed_scan_pdf()
    doc = extract_bytes(data, "mixed.pdf", ocr=False)
    assert doc.page_count == 2 and doc.text.startswith("Page one has a text layer")
    assert doc.warnings == ["page 2: no text layer, left empty (OCR is turned off)"]


# --------------------------------------------------------------------------- real PDFs


@pytest.mark.shared_eval
def test_all_shared_pdfs_extract(shared_eval):
    """All 35 real contracts: text on their pages, page counts as in the manifest, sane boxes.

    The README's test command reads the manifest's odd rows here and its even rows in
    test_real_pdfs.py (through the whole ingest), so each run still reads every PDF once;
    RAG_RELIABILITY_FULL=1 reads all 35 in both."""
    folder = shared_eval / "pdfs"
    with (folder / "manifest.csv").open(newline="") as fh:
        manifest = {row["pdf"]: int(row["pages"]) for row in csv.DictReader(fh)}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".pdf")
    assert len(files) == 35 and {p.name for p in files} == set(manifest)
    if not full_reliability():
        files = [folder / name for name in list(manifest)[1::2]]
    for path in files:
        doc = extract(path, ocr=False)
        assert doc.page_count == manifest[path.name], path.name
        assert len(doc.text) > 500 * doc.page_count * 0.2, path.name
        empty = sum(1 for s, e in doc.page_spans if s == e)  # Array BioPharma: 16 blank pages of 107
        assert empty <= max(1, doc.page_count // 5), (path.name, empty)
        assert doc.language == "en" and doc.warnings == []
        _assert_invariants(doc)
        for ln in doc.lines:
            assert -1 <= ln.x0 and ln.x1 <= 612 + 1 and -1 <= ln.top and ln.bottom <= 842 + 1, (path.name, ln)


@pytest.mark.shared_eval
def test_shared_pdf_boxes_match_pdfium_glyph_boxes(shared_eval):
    """On real exhibits (form XObjects, Tc, CID fonts) line boxes agree with pdfium's glyph boxes."""
    pdfium = pytest.importorskip("pypdfium2")
    names = ["IGENEBIOTECHNOLOGYINC_05_13_2003-EX-1-JOINT VENTURE AGREEMENT.PDF",
             "SouthernStarEnergyInc_20051202_SB-2A_EX-9_801890_EX-9_Affiliate Agreement.pdf",
             "GULFSOUTHMEDICALSUPPLYINC_12_24_1997-EX-4-AFFILIATE AGREEMENT.PDF",
             "Array BioPharma Inc. - LICENSE, DEVELOPMENT AND COMMERCIALIZATION AGREEMENT.PDF"]
    errors = {"x0": [], "x1": [], "top": [], "bottom": []}
    for name in names:
        path = shared_eval / "pdfs" / name
        doc = extract(path, ocr=False)
        pdf = pdfium.PdfDocument(str(path))
        for ln in doc.lines:
            if ln.page > 3 or ln.end - ln.start < 8:
                continue
            page = pdf[ln.page - 1]
            tp = page.get_textpage()
            height = page.get_height()
            search = tp.search(doc.text[ln.start:ln.end], match_case=True)
            best = None
            while (hit := search.get_next()) is not None:
                i, n = hit
                a, b = tp.get_charbox(i, loose=True), tp.get_charbox(i + n - 1, loose=True)
                cand = (a[0], b[2], height - max(a[3], b[3]), height - min(a[1], b[1]))
                if best is None or abs(cand[2] - ln.top) < abs(best[2] - ln.top):
                    best = cand
            if best is None:
                continue
            for key, value in zip(("x0", "x1", "top", "bottom"), best, strict=True):
                errors[key].append(abs(getattr(ln, key) - value))
    for key, errs in errors.items():
        errs.sort()
        assert len(errs) > 200
        assert errs[len(errs) // 2] < 0.5, key  # median
        assert errs[int(len(errs) * 0.9)] < 3.0, key  # 90th percentile
