"""Synthetic PDFs for tests, drawn with reportlab at known places, with what they must yield.

Every function returns the PDF's bytes and, where useful, a dict of expectations: the text of
each drawn line with its page and box in viewer space (PDF points from the page's top-left
corner, the space of ``rag.documents.TextLine``). The contract texts are meant to be reused
by retrieval tests: real-sounding clauses on termination, governing law, confidentiality,
limitation of liability and payment terms.

Load it in a test module with ``from pdf_factory import contract_pdf`` once the fixture module
``tests/ingest/conftest.py`` (or the root conftest) has registered it, or through the
``pdf_factory`` fixture.
"""

from __future__ import annotations

import io
from typing import Any

PAGE_W, PAGE_H = 612.0, 792.0  # US Letter
MARGIN_X = 72.0
TOP_Y = 720.0
BOTTOM_Y = 80.0
BODY_FONT, BODY_SIZE = "Helvetica", 10.5
HEAD_FONT, HEAD_SIZE = "Helvetica-Bold", 12.0
LEADING = 14.0
PARAGRAPH_GAP = 12.0

#: (style, text) blocks of the English contract; "h" = heading, "p" = body paragraph.
CONTRACT_BLOCKS: list[tuple[str, str]] = [
    ("title", "MASTER SUPPLY AGREEMENT"),
    ("p", ("This Master Supply Agreement (the \"Agreement\") is entered into as of March 1, 2024 (the "
           "\"Effective Date\") by and between Northwind Components Ltd., a company incorporated in England "
           "(\"Supplier\"), and Contoso Manufacturing Inc., a Delaware corporation (\"Buyer\").")),
    ("h", "RECITALS"),
    ("p", "WHEREAS, Supplier designs and manufactures precision sensor assemblies; and"),
    ("p", "WHEREAS, Buyer wishes to purchase such assemblies from Supplier on the terms set out below."),
    ("p", "NOW, THEREFORE, in consideration of the mutual covenants herein, the parties agree as follows."),
    ("h", "ARTICLE 1 DEFINITIONS"),
    ("p", ("1.1 \"Confidential Information\" means all non-public information disclosed by one party to the "
           "other, whether oral or written, that is designated as confidential or that ought reasonably to be "
           "understood to be confidential.")),
    ("p", "1.2 \"Products\" means the sensor assemblies listed in Schedule 1, as amended from time to time."),
    ("p", "1.3 \"Business Day\" means a day other than a Saturday, Sunday or public holiday in London."),
    ("h", "ARTICLE 2 SUPPLY AND ORDERS"),
    ("p", ("2.1 Supplier shall supply the Products to Buyer in accordance with purchase orders issued under "
          "this Agreement.")),
    ("p", ("2.2 Each purchase order shall state the quantity, delivery date and delivery location of the "
          "Products ordered.")),
    ("h", "Section 3 Payment Terms"),
    ("p", ("3.1 Buyer shall pay each undisputed invoice within thirty (30) days after receipt. Late payments "
          "bear interest at one percent (1%) per month.")),
    ("p", "3.2 All amounts are stated exclusive of value added tax, which Buyer shall pay in addition."),
    ("h", "ARTICLE 9 CONFIDENTIALITY"),
    ("p", ("9.1 Each party shall keep the other party's Confidential Information secret and shall not disclose "
          "it to any third party without prior written consent.")),
    ("p", "9.2 The obligations in this Article 9 survive termination of this Agreement for five (5) years."),
    ("h", "ARTICLE 11 LIMITATION OF LIABILITY"),
    ("p", ("11.1 Neither party shall be liable for any indirect, incidental or consequential loss, including "
          "loss of profit, arising out of this Agreement.")),
    ("p", ("11.2 Each party's total liability under this Agreement shall not exceed the fees paid by Buyer in "
          "the twelve (12) months preceding the claim.")),
    ("h", "12. Termination"),
    ("p", ("12.1 Either party may terminate this Agreement for convenience by giving ninety (90) days' written "
          "notice to the other party.")),
    ("p", ("12.2 Either party may terminate this Agreement with immediate effect if the other party commits a "
          "material breach that is not remedied within thirty (30) days.")),
    ("p", "12.3 Upon termination:"),
    ("p", "12.3(a) Buyer shall pay for all Products delivered before the termination date; and"),
    ("p", "12.3(b) Supplier shall, at Buyer's option:"),
    ("p", "12.3(b)(i) complete any purchase order accepted before the termination date; or"),
    ("p", "12.3(b)(ii) cancel such purchase orders and refund any prepayment within ten (10) Business Days."),
    ("h", "ARTICLE 13 GOVERNING LAW"),
    ("p", ("13.1 This Agreement and any dispute arising out of it shall be governed by the laws of England and "
          "Wales.")),
    ("p", "13.2 The courts of London shall have exclusive jurisdiction over any such dispute."),
    ("h", "SCHEDULE 1 PRODUCTS"),
    ("p", "Part A: Pressure sensor assembly PS-200, unit price USD 48.00."),
    ("p", "Part B: Temperature sensor assembly TS-110, unit price USD 31.50."),
]

#: Chinese contract blocks: 第X章 / 第X条 / 一、 / （一） structure.
CHINESE_BLOCKS: list[tuple[str, str]] = [
    ("title", "设备采购合同"),
    ("h", "第一章 总则"),
    ("p", "第一条 本合同由甲方华东精密仪器有限公司与乙方北方电子科技有限公司于二〇二四年三月一日签订。"),
    ("p", "第二条 本合同所称“保密信息”，是指一方向另一方披露的、未经公开的技术信息和经营信息。"),
    ("h", "第二章 付款条件"),
    ("p", "第三条 甲方应在收到乙方发票后三十日内支付货款。"),
    ("p", "一、首付款为合同总价的百分之三十；"),
    ("p", "二、余款在设备验收合格后支付。"),
    ("p", "（一）逾期付款的，每日按应付金额的万分之五支付违约金。"),
    ("h", "第三章 合同的解除"),
    ("p", "第四条 任何一方严重违约且在三十日内未予纠正的，另一方有权书面通知解除本合同。"),
    ("h", "第四章 法律适用与争议解决"),
    ("p", "第五条 本合同适用中华人民共和国法律。因本合同引起的争议，提交上海国际仲裁中心仲裁。"),
]


def _canvas(buf: io.BytesIO, **kwargs: Any) -> Any:
    from reportlab.pdfgen import canvas

    return canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1, **kwargs)


def _box(x: float, y: float, text: str, font: str, size: float, page: int) -> dict[str, Any]:
    """Where reportlab drew ``text`` (baseline origin x, y; bottom-left origin), in viewer space."""
    from reportlab.pdfbase import pdfmetrics

    ascent, descent = pdfmetrics.getAscentDescent(font, size)
    width = pdfmetrics.stringWidth(text, font, size)
    return {"text": text, "page": page, "x0": x, "x1": x + width,
            "top": PAGE_H - (y + ascent), "bottom": PAGE_H - (y + descent), "baseline": PAGE_H - y}


def _flow(c: Any, blocks: list[tuple[str, str]], fonts: dict[str, tuple[str, float]], *, wrap_width: float,
          split: Any) -> list[dict[str, Any]]:
    """Draw blocks top to bottom across pages; return every drawn line with its box."""
    lines: list[dict[str, Any]] = []
    page, y = 1, TOP_Y
    for style, text in blocks:
        font, size = fonts[style]
        parts = split(text, font, size, wrap_width)
        needed = len(parts) * LEADING
        if y - needed < BOTTOM_Y:
            c.showPage()
            page, y = page + 1, TOP_Y
        for part in parts:
            c.setFont(font, size)
            x = (PAGE_W - _width(part, font, size)) / 2 if style == "title" else MARGIN_X
            c.drawString(x, y, part)
            lines.append(_box(x, y, part, font, size, page))
            y -= LEADING
        y -= PARAGRAPH_GAP
    c.showPage()
    return lines


def _width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase import pdfmetrics

    return pdfmetrics.stringWidth(text, font, size)


def contract_pdf() -> tuple[bytes, dict[str, Any]]:
    """A multi-page English supply agreement with numbered clauses (1.1, 12.3(b)(ii)), Article and
    Section headings, recitals, definitions and a schedule; plus a footer on every page.

    Expectations: ``pages``, ``lines`` (each drawn line: text, page, x0, x1, top, bottom,
    baseline in viewer space) and ``blocks`` (the source paragraphs).
    """
    from reportlab.lib.utils import simpleSplit

    buf = io.BytesIO()
    c = _canvas(buf)
    c.setTitle("Master Supply Agreement")
    fonts = {"title": ("Helvetica-Bold", 16.0), "h": (HEAD_FONT, HEAD_SIZE), "p": (BODY_FONT, BODY_SIZE)}
    lines = _flow(c, CONTRACT_BLOCKS, fonts, wrap_width=PAGE_W - 2 * MARGIN_X, split=simpleSplit)
    c.save()
    pages = max(ln["page"] for ln in lines)
    return _with_footers(buf.getvalue(), pages), {"pages": pages, "lines": lines, "blocks": CONTRACT_BLOCKS}


def _with_footers(data: bytes, pages: int) -> bytes:
    """Stamp "Page i of n" at the bottom centre of every page (a second drawing pass, as
    generators often add footers) using pypdf's page merging."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    stamp_buf = io.BytesIO()
    sc = canvas.Canvas(stamp_buf, pagesize=(PAGE_W, PAGE_H))
    for i in range(pages):
        sc.setFont("Helvetica", 8)
        sc.drawCentredString(PAGE_W / 2, 40, f"Page {i + 1} of {pages}")
        sc.showPage()
    sc.save()
    stamps = PdfReader(io.BytesIO(stamp_buf.getvalue()))
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    for page, stamp in zip(writer.pages, stamps.pages, strict=True):
        page.merge_page(stamp)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _cjk_split(text: str, font: str, size: float, width: float) -> list[str]:
    """Wrap Chinese text by characters (no spaces to break at)."""
    out, line = [], ""
    for ch in text:
        if line and _width(line + ch, font, size) > width:
            out.append(line)
            line = ""
        line += ch
    if line:
        out.append(line)
    return out


def chinese_contract_pdf() -> tuple[bytes, dict[str, Any]]:
    """A Chinese equipment purchase contract (第一章, 第一条, 一、, （一）) in reportlab's
    built-in CID font STSong-Light (not embedded; pypdf extracts it through its UCS-2 CMap)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = _canvas(buf)
    fonts = {"title": ("STSong-Light", 16.0), "h": ("STSong-Light", 13.0), "p": ("STSong-Light", 11.0)}
    lines = _flow(c, CHINESE_BLOCKS, fonts, wrap_width=PAGE_W - 2 * MARGIN_X, split=_cjk_split)
    c.save()
    return buf.getvalue(), {"pages": max(ln["page"] for ln in lines), "lines": lines, "blocks": CHINESE_BLOCKS}


def simple_pdf(pages: list[list[str]], *, font: str = BODY_FONT, size: float = 11.0,
               rotate: int = 0, **canvas_kwargs: Any) -> tuple[bytes, dict[str, Any]]:
    """One line per string, top-down from y=720; ``rotate`` sets every page's /Rotate."""
    buf = io.BytesIO()
    c = _canvas(buf, **canvas_kwargs)
    lines = []
    for number, page_lines in enumerate(pages, 1):
        y = TOP_Y
        for text in page_lines:
            c.setFont(font, size)
            c.drawString(MARGIN_X, y, text)
            lines.append(_box(MARGIN_X, y, text, font, size, number))
            y -= LEADING
        c.showPage()
    c.save()
    data = buf.getvalue()
    if rotate:  # /Rotate on an unchanged portrait page, as scanners and "rotate page" tools set it
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        for page in writer.pages:
            page.rotate(rotate)
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    return data, {"pages": len(pages), "lines": lines}


def encrypted_pdf(password: str = "secret") -> bytes:
    """A one-page PDF that opens only with ``password`` (RC4-128: no extra crypto package)."""
    from reportlab.lib import pdfencrypt

    enc = pdfencrypt.StandardEncryption(password, ownerPassword=password + "-owner", strength=128)
    return simple_pdf([["This document is confidential and encrypted."]], encrypt=enc)[0]


def empty_password_pdf() -> tuple[bytes, dict[str, Any]]:
    """Encrypted with an empty user password (only an owner password restricts it): opens as is."""
    from reportlab.lib import pdfencrypt

    enc = pdfencrypt.StandardEncryption("", ownerPassword="owner-only", canPrint=0, strength=128)
    return simple_pdf([["Governing law: this Agreement is governed by the laws of New York."]], encrypt=enc)


def aes_empty_password_pdf() -> bytes:
    """AES-256 encrypted with an empty user password (pypdf writer; needs ``cryptography``)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(simple_pdf([["Payment is due within 30 days."]])[0])))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def truncated_pdf() -> bytes:
    """The contract cut at 60% of its bytes, as an interrupted download leaves it."""
    data = contract_pdf()[0]
    return data[: int(len(data) * 0.6)]


def corrupt_pdf() -> bytes:
    """A ``%PDF-`` header and trailer around garbage: looks like a PDF, parses as nothing."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\nstartxref\n999999\n%%EOF\n"


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    from pypdf import PdfWriter

    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


def broken_page_pdf() -> tuple[bytes, dict[str, Any]]:
    """Three pages; page 2's content stream ends inside a string, so pypdf's parser raises on
    that page (PdfStreamError) and only there."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    data, expected = simple_pdf([
        ["Page one: the Supplier shall deliver the Products."],
        ["Page two cannot be read."],
        ["Page three: the Buyer shall pay within thirty days."],
    ])
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    bad = DecodedStreamObject()
    bad.set_data(b"BT /F1 11 Tf 72 720 Td (Page two cannot be read. Tj ET")
    writer.pages[1][NameObject("/Contents")] = writer._add_object(bad)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), expected


def form_xobject_pdf() -> tuple[bytes, dict[str, Any]]:
    """Text drawn inside a form XObject placed with a scaling CTM (as EvoPdf's EDGAR exhibits
    do): pypdf reports it in form space; the boxes must still land where it is drawn."""
    buf = io.BytesIO()
    c = _canvas(buf)
    c.beginForm("clause", lowerx=0, lowery=0, upperx=1000, uppery=1000)
    c.setFont(BODY_FONT, 12)
    c.drawString(10, 500, "Confidentiality obligations survive termination.")
    c.endForm()
    c.saveState()
    c.translate(100, 100)
    c.scale(0.5, 0.5)
    c.doForm("clause")
    c.restoreState()
    c.setFont(BODY_FONT, 12)
    c.drawString(MARGIN_X, 700, "Outside the form.")
    c.showPage()
    c.save()
    inner = _box(10, 500, "Confidentiality obligations survive termination.", BODY_FONT, 12, 1)
    # user space = 100 + 0.5 * form space
    scaled = {**inner, "x0": 100 + 0.5 * 10, "x1": 100 + 0.5 * inner["x1"],
              "top": PAGE_H - (100 + 0.5 * (PAGE_H - inner["top"])),
              "bottom": PAGE_H - (100 + 0.5 * (PAGE_H - inner["bottom"]))}
    return buf.getvalue(), {"pages": 1, "lines": [_box(MARGIN_X, 700, "Outside the form.", BODY_FONT, 12, 1), scaled]}


def spaced_pdf() -> tuple[bytes, dict[str, Any]]:
    """Lines with character spacing (Tc), word spacing (Tw) and horizontal scaling (Tz):
    widths pypdf does not report but that move where a line ends."""
    from reportlab.pdfbase import pdfmetrics

    buf = io.BytesIO()
    c = _canvas(buf)
    specs = [
        ("Tc", "Late payments bear interest at one percent per month.", {"charSpace": 1.5}),
        ("Tw", "Either party may terminate this Agreement on notice.", {"wordSpace": 6.0}),
        ("Tz", "Governed by the laws of England and Wales.", {"horizScale": 80}),
    ]
    lines = []
    y = TOP_Y
    for _, text, kw in specs:
        c.saveState()  # Tc, Tw and Tz are graphics state: q/Q confines them to one line
        t = c.beginText(MARGIN_X, y)
        t.setFont(BODY_FONT, 11)
        if "charSpace" in kw:
            t.setCharSpace(kw["charSpace"])
        if "wordSpace" in kw:
            t.setWordSpace(kw["wordSpace"])
        if "horizScale" in kw:
            t.setHorizScale(kw["horizScale"])
        t.textOut(text)
        c.drawText(t)
        c.restoreState()
        width = pdfmetrics.stringWidth(text, BODY_FONT, 11)
        width += kw.get("charSpace", 0) * len(text) + kw.get("wordSpace", 0) * text.count(" ")
        width *= kw.get("horizScale", 100) / 100
        box = _box(MARGIN_X, y, text, BODY_FONT, 11, 1)
        box["x1"] = MARGIN_X + width
        lines.append(box)
        y -= 3 * LEADING
    c.showPage()
    c.save()
    return buf.getvalue(), {"pages": 1, "lines": lines}


def _text_image(lines: list[str], *, font_path: str | None = None, size: int = 42, dpi: int = 300) -> Any:
    """A white US-Letter page image at ``dpi`` with ``lines`` in black, as a scanner gives."""
    from PIL import Image, ImageDraw, ImageFont

    w, h = int(PAGE_W / 72 * dpi), int(PAGE_H / 72 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(font_path, size) if font_path else _latin_font(size)
    y = int(1.0 * dpi)
    for line in lines:
        draw.text((int(1.0 * dpi), y), line, fill=0, font=font)
        y += int(size * 1.6)
    return img


def _latin_font(size: int) -> Any:
    from PIL import ImageFont

    for path in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"):
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


SCANNED_LINES = [
    "12. TERMINATION",
    "12.1 Either party may terminate this Agreement",
    "by giving ninety days written notice.",
    "13. GOVERNING LAW",
    "This Agreement is governed by the laws of England.",
]


def scanned_pdf(lines: list[str] | None = None, *, font_path: str | None = None) -> tuple[bytes, dict[str, Any]]:
    """An image-only page (no text layer): ``lines`` rendered with PIL at 300 dpi and placed
    full-page, as a scanner's PDF holds it. Expectations: the text and each line's box."""
    from reportlab.lib.utils import ImageReader

    lines = lines or SCANNED_LINES
    dpi, size = 300, 42
    img = _text_image(lines, font_path=font_path, size=size, dpi=dpi)
    buf = io.BytesIO()
    c = _canvas(buf)
    c.drawImage(ImageReader(img), 0, 0, width=PAGE_W, height=PAGE_H)
    c.showPage()
    c.save()
    boxes = []
    for i, text in enumerate(lines):
        top_px = int(1.0 * dpi) + i * int(size * 1.6)
        boxes.append({"text": text, "page": 1, "x0": 72.0, "top": top_px * 72 / dpi,
                      "bottom": (top_px + size) * 72 / dpi})
    return buf.getvalue(), {"pages": 1, "text": "\n".join(lines), "lines": boxes}


def mixed_scan_pdf() -> tuple[bytes, dict[str, Any]]:
    """Page 1 has a text layer, page 2 is an image only."""
    from pypdf import PdfReader, PdfWriter

    text_page = simple_pdf([["Page one has a text layer: payment within thirty days."]])[0]
    scan = scanned_pdf()[0]
    writer = PdfWriter()
    for data in (text_page, scan):
        writer.append(PdfReader(io.BytesIO(data)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), {"pages": 2}


def blank_pdf(pages: int = 2) -> bytes:
    """Pages with nothing on them."""
    return simple_pdf([[] for _ in range(pages)])[0]


def large_pdf(pages: int) -> bytes:
    """``pages`` short pages (for page-limit checks)."""
    return simple_pdf([[f"Clause {i + 1}. The parties agree to page {i + 1}."] for i in range(pages)])[0]
