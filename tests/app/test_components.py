"""The app's text-safety and upload helpers (no Streamlit run needed)."""

from __future__ import annotations

import re

import pytest

from app_pages.components import (
    SourceRef,
    chip_label,
    display_name,
    escaped_stream,
    md_answer,
    md_escape,
    md_lines,
    upload_problem,
)

HOSTILE = "<script>alert(1)</script> **bold** [link](http://evil.example) :red[x] $x^2$ # head\n- item `code`"


def test_md_escape_leaves_no_markdown_or_html_syntax() -> None:
    out = md_escape(HOSTILE)
    # every syntax character is preceded by a backslash
    assert re.search(r"(?<!\\)[<>*\[\]()$:#`^-]", out.replace("\\\\", "")) is None
    assert re.sub(r"\\(.)", r"\1", out).replace("\u2060", "") == HOSTILE


def test_bare_urls_and_addresses_do_not_become_links() -> None:
    text = "Pay at http://evil.example/x, https://a.example, WWW.evil.example or mail bob@evil.example."
    shown = re.sub(r"\\(.)", r"\1", md_escape(text))  # what GFM's autolinking sees
    assert re.search(r"https?://|www\.|@\w", shown, re.I) is None, shown
    assert shown.replace("\u2060", "") == text
    pieces = [text[i: i + 3] for i in range(0, len(text), 3)]
    assert "".join(escaped_stream(pieces)) == md_answer(text)
    assert re.search(r"https?://|www\.|@\w", re.sub(r"\\(.)", r"\1", md_answer(text)), re.I) is None


def test_md_lines_keeps_line_breaks_as_hard_breaks() -> None:
    out = md_lines("12.3 Termination\n(a) Customer may terminate")
    assert out == "12\\.3 Termination  \n\\(a\\) Customer may terminate"


@pytest.mark.parametrize("uploaded, shown", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("C:\\Users\\me\\contract.pdf", "contract.pdf"),
    ("nda\x00\x1b[31m.pdf", "nda[31m.pdf"),
    ("/", "upload"),
])
def test_display_name_is_a_bare_printable_name(uploaded: str, shown: str) -> None:
    assert display_name(uploaded) == shown


def test_upload_problem_refuses_non_documents_and_oversized_files() -> None:
    pdf = b"%PDF-1.4\n..."
    assert upload_problem("a.pdf", pdf, 1024) is None
    assert "not a PDF" in upload_problem("a.pdf", b"MZ\x90\x00binary", 1024)
    assert "PDF, TXT or Markdown" in upload_problem("setup.exe", b"MZ", 1024)
    assert "over the upload limit of 1 MB" in upload_problem("big.txt", b"x" * (2 * 2**20), 2**20)
    assert "empty" in upload_problem("a.txt", b"", 1024)


def test_chip_label_names_document_page_and_clause() -> None:
    ref = SourceRef(collection="c", doc_id=1, doc_name="msa.pdf", start=0, end=10, pages=(4, 4),
                    clause="12.3(b)", text="...", n=2)
    assert chip_label(ref) == "[2] msa.pdf p.4 §12.3(b)"
    spread = SourceRef(collection="c", doc_id=1, doc_name="notes.txt", start=0, end=10, pages=None,
                       clause=None, text="...", n=1)
    assert chip_label(spread) == "[1] notes.txt"


def test_answers_keep_quotes_and_lists_but_nothing_inline() -> None:
    answer = ("The notice period is 60 days [2].\n> 12.3 (a) Customer may terminate ... [see](http://x) <b>\n"
              "- first point ![img](http://tracker)\n12. numbered point, 3.5 (b)")
    whole = md_answer(answer)
    lines = whole.split("\n")
    assert lines[1].startswith("> 12\\.3 \\(a\\)") and "\\[see\\]\\(http\u2060\\:" in lines[1] and "\\<b\\>" in lines[1]
    assert lines[2].startswith("- first point \\!\\[img\\]")
    assert lines[3] == "12. numbered point, 3\\.5 \\(b\\)"
    # streamed in arbitrary pieces, the result is the same
    pieces = [answer[i: i + 5] for i in range(0, len(answer), 5)]
    assert "".join(escaped_stream(pieces)) == whole


def test_a_span_hit_shows_its_sentence_clause_and_page() -> None:
    from rag.documents import StoredChunk
    from rag.retrieve.hits import Hit

    text = "7. Notices. 7.1 All notices must be in writing. 7.2 Notices go to the address on the cover page."
    chunk = StoredChunk(5, 1, "msa.pdf", 100, 100 + len(text), text, "7", ("7 Notices",), (3, 4))
    s = text.index("7.2")
    hit = Hit(chunk, 0.8, {"fused": 0.5, "span": 0.8}, span=(100 + s, 100 + len(text)), span_pages=(4, 4),
              span_clause="7.2")
    ref = SourceRef.from_hit("c", hit, n=1)
    assert (ref.start, ref.end, ref.text) == (100 + s, 100 + len(text), text[s:])
    assert (ref.context_start, ref.context_end) == (100, 100 + len(text)) and ref.is_span
    assert chip_label(ref) == "[1] msa.pdf p.4 §7.2 “7.2 Notices go to the address on the cover page.”"
    whole = SourceRef.from_hit("c", Hit(chunk, 0.5), n=2)
    assert not whole.is_span and chip_label(whole) == "[2] msa.pdf pp.3-4 §7"


def test_the_highlight_of_a_span_is_a_subset_of_its_clauses() -> None:
    """The span's boxes outline only its own lines: each lies inside a box of the clause."""
    from app_pages.components import highlight_boxes
    from rag.documents import Document, TextLine

    lines, text, pos = [], "", 0
    for i in range(8):  # eight 40-character lines on page 1, 12 points apart
        line = f"line {i} " + "w" * 32
        lines.append(TextLine(pos, pos + len(line), 1, 72.0, 100.0 + 12 * i, 472.0, 110.0 + 12 * i))
        text += line + "\n"
        pos += len(line) + 1
    doc = Document("a.pdf", text, page_spans=[(0, len(text))], lines=lines, media_type="application/pdf")
    clause = SourceRef("c", 1, "a.pdf", 0, len(text) - 1, (1, 1), "7", text)
    span = SourceRef("c", 1, "a.pdf", 41 * 2 + 10, 41 * 4 + 20, (1, 1), "7.2", text[92:184],
                     context_start=0, context_end=len(text) - 1)
    outer = highlight_boxes(doc, clause, 1, 1)
    inner = highlight_boxes(doc, span, 1, 1)
    assert len(outer) == 8 and len(inner) == 3  # lines 2, 3 and 4 only
    for b in inner:
        assert any(o.page == b.page and o.x0 <= b.x0 and b.x1 <= o.x1 and o.top <= b.top and b.bottom <= o.bottom
                   for o in outer)
    assert inner[0].x0 > 72.0 and inner[-1].x1 < 472.0  # cut at the span's ends


def test_an_image_hit_becomes_a_ref_outlined_by_its_own_box() -> None:
    from app_pages import components as ui
    from rag.documents import Box
    from rag.retrieve.images import make_hit
    from rag.store.image_rows import ImageRow

    text = "IN WITNESS WHEREOF\nAuthorized Signature: John Smith"
    row = ImageRow(3, "a.pdf", 1, 2, "image", 72.0, 160.0, 292.0, 230.0, text[19:], ((19, len(text)),), 0.03, "m")
    ref = ui.SourceRef.from_hit("c", make_hit(row, 0.6, {"image": 0.6}, text), n=2)
    assert ref.is_image and ref.image_idx == 1 and ref.image_box == (2, 72.0, 160.0, 292.0, 230.0)
    assert ui.chip_label(ref) == "[2] picture a.pdf p.2"
    assert ui.highlight_boxes(None, ref, 2, 2) == [Box(2, 72.0, 160.0, 292.0, 230.0)]
    assert not ui.SourceRef("c", 1, "a.pdf", 0, 5, (1, 1), None, "x").is_image
    plain = ui.SourceRef("c", 1, "a.pdf", 0, 5, (1, 1), None, "x")
    assert "image" not in ui.hit_rows([plain])[0]
    assert ui.hit_rows([plain, ref])[1]["image"] == 0.6 and ui.hit_rows([plain, ref])[1]["via"] == "image"
