"""Synthetic PDFs with known pictures (seal, signature block, chart, scan, logo) for ingest.images tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

PAGE_W, PAGE_H = 612.0, 792.0


@dataclass(frozen=True)
class Placed:
    """A picture drawn at ``(x, y, w, h)`` in PDF user space (origin bottom-left), and its caption."""

    name: str
    page: int
    x: float
    y: float
    w: float
    h: float
    caption: str = ""

    def view_box(self) -> tuple[float, float, float, float]:
        """(x0, top, x1, bottom) in viewer space on an unrotated Letter page."""
        return self.x, PAGE_H - (self.y + self.h), self.x + self.w, PAGE_H - self.y


def seal(size: int = 300):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    d.ellipse((8, 8, size - 8, size - 8), outline=(210, 20, 20), width=14)
    d.regular_polygon((size / 2, size / 2, size / 6), 5, fill=(210, 20, 20))
    return img


def signature(w: int = 500, h: int = 160):
    import math

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    pts = [(20 + 6 * k, h / 2 + 35 * math.sin(k / 4) * math.cos(k / 11)) for k in range(75)]
    d.line(pts, fill=(15, 20, 90), width=4)
    return img


def chart(w: int = 640, h: int = 400):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    for k, v in enumerate([120, 260, 180, 330, 290, 210]):
        d.rectangle((50 + 95 * k, h - 30 - v, 110 + 95 * k, h - 30), fill=(40 + 30 * k, 100, 170))
    d.line((40, h - 30, w - 20, h - 30), fill="black", width=3)
    return img


def scan(w: int = 850, h: int = 1100):
    from PIL import Image, ImageDraw

    img = Image.new("L", (w, h), 245)
    d = ImageDraw.Draw(img)
    for i, y in enumerate(range(90, h - 90, 26)):
        d.line((80, y, 80 + 300 + (i * 97) % 400, y), fill=40, width=9)
    return img.convert("RGB")


def logo():
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (200, 60), (20, 60, 120))
    ImageDraw.Draw(img).rectangle((10, 10, 50, 50), fill=(250, 200, 0))
    return img


def build_pdf() -> tuple[bytes, list[Placed]]:
    """Five pages; returns the PDF and where each expected item lies.

    1: seal + signature block + chart with captions, header logo; 2: a scanned page (no text layer);
    3: a chart drawn inside a form XObject (moved by the form's matrix); 4: logo and a plain paragraph;
    5: a seal on a page turned by /Rotate 90.
    """
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H))
    placed: list[Placed] = []

    def img(pic, p: Placed) -> None:
        c.drawImage(ImageReader(pic), p.x, p.y, p.w, p.h)
        placed.append(p)

    def header() -> None:
        c.drawImage(ImageReader(logo()), 40, PAGE_H - 60, 100, 30)

    # page 1
    header()
    c.setFont("Helvetica", 11)
    c.drawString(72, 700, "IN WITNESS WHEREOF, the parties have executed this Agreement as of the Effective Date.")
    img(seal(), Placed("seal", 1, 72, 520, 120, 120, "Company Seal of the Licensor"))
    c.drawString(72, 505, "Company Seal of the Licensor")
    img(signature(), Placed("signature", 1, 320, 560, 200, 64, "By: John Smith, Chief Executive Officer"))
    c.drawString(320, 545, "By: John Smith, Chief Executive Officer")
    img(chart(), Placed("chart", 1, 72, 150, 320, 200, "Figure 1: Quarterly revenue by region"))
    c.drawString(72, 135, "Figure 1: Quarterly revenue by region")
    c.drawString(72, 90, "This paragraph is far below the chart and is not its caption.")
    c.showPage()
    # page 2: a scan, no text
    img(scan(), Placed("scan", 2, 0, 0, PAGE_W, PAGE_H))
    c.showPage()
    # page 3: chart inside a form XObject, translated by the CTM at the Do
    header()
    c.beginForm("chartform", lowerx=0, lowery=0, upperx=300, uppery=200)
    c.drawImage(ImageReader(chart()), 0, 0, 300, 200)
    c.endForm()
    c.saveState()
    c.translate(150, 300)
    c.doForm("chartform")
    c.restoreState()
    placed.append(Placed("form_chart", 3, 150, 300, 300, 200, "Exhibit C site plan"))
    c.setFont("Helvetica", 11)
    c.drawString(150, 285, "Exhibit C site plan")
    c.showPage()
    # page 4: logo again, text only otherwise
    header()
    c.drawString(72, 600, "Section 4. Payment terms. Invoices are payable within thirty days.")
    c.showPage()
    # page 5: rotated page with a seal
    c.drawImage(ImageReader(seal(200)), 100, 300, 90, 90)
    c.drawString(100, 285, "Seal on a rotated page")
    c.showPage()
    c.save()
    data = buf.getvalue()
    return _rotate_page(data, 4, 90), placed


def _rotate_page(data: bytes, index: int, degrees: int) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.pages[index].rotate(degrees)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def signed_contract() -> bytes:
    """Two pages: terms, then the signature page with a signature block and its caption."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(PAGE_W, PAGE_H))
    c.setFont("Helvetica", 11)
    for i, line in enumerate(["SERVICES AGREEMENT", "1. Services. The Supplier shall provide the services in Schedule 1.",
                              "2. Payment. Invoices are payable within thirty days of receipt.",
                              "3. Term. This Agreement runs for two years from the Effective Date."]):
        c.drawString(72, 720 - 20 * i, line)
    c.showPage()
    c.setFont("Helvetica", 11)
    c.drawString(72, 720, "IN WITNESS WHEREOF, the parties have executed this Agreement.")
    c.drawImage(ImageReader(signature()), 72, 560, 220, 70)
    c.drawString(72, 545, "Authorized Signature: John Smith, Chief Executive Officer")
    c.showPage()
    c.save()
    return buf.getvalue()
