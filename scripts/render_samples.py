"""Render the sample contracts in ``data/samples/*.txt`` to PDF (reportlab), and check them.

Why: the offline demo needs real PDFs (pages, positions, highlights) that anyone may
redistribute, so the project writes its own contracts and renders them reproducibly.

    python scripts/render_samples.py            # writes data/samples/<name>.pdf next to each .txt
    python scripts/render_samples.py --check    # renders to a temp dir, fails if pypdf cannot read the text back

Text format: the first line is the title; paragraphs are separated by blank lines; a
paragraph that is a heading (``12. TERM AND TERMINATION``, ``第十二条 适用法律``,
``SCHEDULE 2 - ...``, ``BACKGROUND``) is set in bold.

Chinese text is set in WenQuanYi Micro Hei (Debian: ``apt-get install fonts-wqy-microhei``;
Apache-2.0), embedded as a subset so that every viewer, pdf.js in the app included, draws it
without a local CJK font. Without that font file the script falls back to reportlab's built-in
CID font STSong-Light, which is not embedded (readers substitute a local Song font, and pdf.js on
a machine without CJK fonts draws nothing). Either way pypdf reads the text back (``--check``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import unicodedata
from pathlib import Path
from xml.sax.saxutils import escape

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
_HEADING = re.compile(r"^(\d+\.\s+[A-Z][A-Z ,\-&]+|第[一二三四五六七八九十百零]+条\s*\S.*|SCHEDULE \d+.*|[A-Z][A-Z ]{3,}|附件[一二三四五六七八九十]+[：:].*)$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
#: a TrueType CJK font to embed (reportlab reads TrueType outlines, not the CFF of Noto CJK)
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


def is_chinese(text: str) -> bool:
    """True when CJK characters make up a good part of the letters (the document's script)."""
    letters = [c for c in text if unicodedata.category(c).startswith("L")]
    return bool(letters) and sum(bool(_CJK.match(c)) for c in letters) / len(letters) > 0.3


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; lines inside a paragraph keep their breaks."""
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def cjk_font() -> str:
    """Register and name the Chinese font: embedded WenQuanYi Micro Hei, else STSong-Light."""
    from reportlab.pdfbase import pdfmetrics

    if CJK_FONT.is_file():
        from reportlab.pdfbase.ttfonts import TTFont

        pdfmetrics.registerFont(TTFont("WenQuanYiMicroHei", str(CJK_FONT), subfontIndex=0))
        return "WenQuanYiMicroHei"
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    print(f"note: {CJK_FONT} not found; using the non-embedded CID font STSong-Light", file=sys.stderr)
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def render(source: Path, target: Path) -> None:
    """Write ``target`` (PDF) from the text contract ``source``."""
    from reportlab import rl_config
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    rl_config.invariant = 1  # no timestamps or random ids: the same text gives the same bytes
    text = source.read_text(encoding="utf-8")
    zh = is_chinese(text)
    if zh:
        body_font = bold_font = cjk_font()  # no bold face: headings are set larger instead
    else:
        body_font, bold_font = "Times-Roman", "Times-Bold"
    wrap = "CJK" if zh else None
    body = ParagraphStyle("body", fontName=body_font, fontSize=10.5, leading=15, spaceAfter=6,
                          wordWrap=wrap)
    heading = ParagraphStyle("heading", parent=body, fontName=bold_font, fontSize=12 if zh else 11,
                             spaceBefore=6)
    title = ParagraphStyle("title", parent=body, fontName=bold_font, fontSize=16, leading=22,
                           alignment=TA_CENTER, spaceAfter=12)

    paras = paragraphs(text)
    story = [Paragraph(escape(paras[0]), title)]
    for para in paras[1:]:
        style = heading if _HEADING.match(para) else body
        story.append(Paragraph(escape(para).replace("\n", "<br/>"), style))

    doc = SimpleDocTemplate(str(target), pagesize=A4, leftMargin=25 * mm, rightMargin=25 * mm,
                            topMargin=22 * mm, bottomMargin=22 * mm, title=paras[0],
                            author="bge-contract-rag sample (fictitious)", subject="Sample contract")
    doc.build(story)


def extracted_text(pdf: Path) -> str:
    """The text pypdf reads back from a rendered PDF (what ingest will see)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def check(source: Path, pdf: Path) -> list[str]:
    """Problems found when reading ``pdf`` back; empty when every paragraph's words came back."""
    got = re.sub(r"\s+", "", extracted_text(pdf))
    problems = []
    for para in paragraphs(source.read_text(encoding="utf-8")):
        want = re.sub(r"\s+", "", para)
        if want not in got:
            problems.append(f"{pdf.name}: text not extracted back: {para[:60]!r}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="render into a temporary folder and check the text reads back; write nothing")
    args = parser.parse_args(argv)
    sources = sorted(SAMPLES.glob("*.txt"))
    if not sources:
        print(f"no sample .txt files in {SAMPLES}", file=sys.stderr)
        return 2
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for src in sources:
            target = (Path(tmp) if args.check else SAMPLES) / f"{src.stem}.pdf"
            render(src, target)
            found = check(src, target)
            problems += found
            from pypdf import PdfReader

            pages = len(PdfReader(target).pages)
            print(f"{'FAILED' if found else 'ok':<6} {target.name}: {pages} page(s), {target.stat().st_size} bytes")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
