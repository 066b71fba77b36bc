"""OCR for PDF pages without a text layer: pypdfium2 renders, an engine reads, boxes are kept.

Engines sit behind :class:`OcrEngine` (``read(image) -> lines with pixel boxes``):

* ``tesseract`` (default): Debian's ``tesseract-ocr`` binary with ``tesseract-ocr-eng`` and
  ``tesseract-ocr-chi-sim``, called with TSV output (no Python wrapper needed).
* ``rapidocr``: ``rapidocr-onnxruntime`` (PP-OCRv4 Chinese/English models in its wheel), an
  option for those who have it.

Chosen by ``bench/ocr.py`` (300 dpi, 6 pages of the shared contracts against their text layer
plus one Chinese page; 2 shared cores): Tesseract (eng+chi_sim) reached 0.995 character
accuracy on the English pages, word spaces included, and 0.932 on the Chinese page, at 5.4
CPU seconds per English page; RapidOCR 0.885 and 0.831 at 18 CPU seconds per page, losing
some word spaces (0.950 with spaces against 0.991 without on one page).

Rendering needs the ``ocr`` extra (``pypdfium2``). Boxes come back in viewer space (PDF
points from the page's displayed top-left corner), the same space as text-layer lines:
pdfium renders the crop box with ``/Rotate`` applied, so pixels / scale are exactly that.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Protocol

from ingest.errors import OcrUnavailableError

log = logging.getLogger(__name__)

DEFAULT_DPI = 300
#: Tesseract page segmentation modes, chosen in bench/ocr.py. 6 (one uniform block, read row
#: by row) reads English contract pages in their text layer's order: 0.995 character accuracy
#: against 0.960 for 3 (automatic layout, which split a table of contents into a titles column
#: and a garbled page-number column) and 0.981 for 4. On a Chinese page 6 scored 0.805 and
#: 4 scored 0.932, so a page that comes out mostly Han is read again with 4.
DEFAULT_PSM = 6
CJK_PSM = 4
ENGINES = ("tesseract", "rapidocr")
MAX_PIXELS = 40_000_000  # a Letter page at 300 dpi is 8.4 million
_TESSERACT_LANGS = ("eng", "chi_sim")
_HAN = re.compile("[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_INSTALL = ("install the OCR extra (pip install 'bge-contract-rag[ocr]') and Tesseract "
            "(apt-get install tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-sim)")


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: text and box in image pixels; ``block`` groups a paragraph."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    block: int = 0
    confidence: float = 0.0  # 0..100


class OcrEngine(Protocol):
    """What an OCR backend provides: a name and lines from one page image."""

    name: str

    def read(self, image: Any) -> list[OcrLine]: ...


def _mostly_han(text: str) -> bool:
    letters = sum(1 for ch in text if ch.isalpha())
    return letters > 0 and 2 * len(_HAN.findall(text)) > letters


def join_words(words: list[str]) -> str:
    """Join recognised words with spaces, except between two CJK characters."""
    out = ""
    for w in words:
        if out and not (_HAN.match(out[-1]) and _HAN.match(w[0])):
            out += " "
        out += w
    return out


class TesseractEngine:
    """The ``tesseract`` binary, TSV output: words with boxes, grouped by block/paragraph/line."""

    name = "tesseract"

    def __init__(self, languages: str | None = None, *, psm: int = DEFAULT_PSM, cjk_psm: int | None = CJK_PSM,
                 binary: str | None = None, timeout_s: float = 300) -> None:
        path = binary or shutil.which("tesseract")
        if not path:
            raise OcrUnavailableError("OCR", f"tesseract is not installed; {_INSTALL}")
        self.binary = path
        self.psm = psm
        self.cjk_psm = cjk_psm if cjk_psm != psm else None
        self.timeout_s = timeout_s
        installed = self.installed_languages()
        if languages is None:
            chosen = [lang for lang in _TESSERACT_LANGS if lang in installed]
            if not chosen:
                raise OcrUnavailableError("OCR", f"tesseract has neither 'eng' nor 'chi_sim' data; {_INSTALL}")
            languages = "+".join(chosen)
        missing = [lang for lang in languages.split("+") if lang not in installed]
        if missing:
            raise OcrUnavailableError("OCR", f"tesseract language data missing: {', '.join(missing)}; {_INSTALL}")
        self.languages = languages

    def installed_languages(self) -> set[str]:
        out = subprocess.run([self.binary, "--list-langs"], capture_output=True, text=True, timeout=60, check=False)
        return {ln.strip() for ln in out.stdout.splitlines()[1:] if ln.strip()}

    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, timeout=60, check=False)
        return (out.stdout or out.stderr).splitlines()[0].strip()

    def read(self, image: Any) -> list[OcrLine]:
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        png = buf.getvalue()
        lines = self._run(png, self.psm)
        if self.cjk_psm is not None and _mostly_han(" ".join(ln.text for ln in lines)):
            lines = self._run(png, self.cjk_psm)
        return lines

    def _run(self, png: bytes, psm: int) -> list[OcrLine]:
        proc = subprocess.run(
            [self.binary, "stdin", "stdout", "-l", self.languages, "--psm", str(psm), "tsv"],
            input=png, capture_output=True, timeout=self.timeout_s, check=False,
        )
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"tesseract failed ({err[-1] if err else proc.returncode})")
        return self.parse_tsv(proc.stdout.decode("utf-8", "replace"))

    @staticmethod
    def parse_tsv(tsv: str) -> list[OcrLine]:
        """Lines from Tesseract's TSV (level 5 rows are words)."""
        groups: dict[tuple[int, int, int, int], list[dict[str, str]]] = {}
        for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
            if row.get("level") != "5" or not (row.get("text") or "").strip():
                continue
            key = (int(row["page_num"]), int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
            groups.setdefault(key, []).append(row)
        lines: list[OcrLine] = []
        paragraphs: dict[tuple[int, int, int], int] = {}
        for key, words in groups.items():
            block = paragraphs.setdefault(key[:3], len(paragraphs))
            x0 = min(int(w["left"]) for w in words)
            top = min(int(w["top"]) for w in words)
            x1 = max(int(w["left"]) + int(w["width"]) for w in words)
            bottom = max(int(w["top"]) + int(w["height"]) for w in words)
            confs = [float(w["conf"]) for w in words if float(w["conf"]) >= 0]
            text = join_words([w["text"].strip() for w in words])
            lines.append(OcrLine(text, x0, top, x1, bottom, block, sum(confs) / len(confs) if confs else 0.0))
        return lines


class RapidOcrEngine:
    """``rapidocr-onnxruntime``: detected text boxes, merged into lines by vertical overlap."""

    name = "rapidocr"

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise OcrUnavailableError("OCR", "rapidocr-onnxruntime is not installed "
                                             "(pip install rapidocr-onnxruntime)") from exc
        self._ocr = RapidOCR()

    def read(self, image: Any) -> list[OcrLine]:
        import numpy as np

        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        boxes = []
        for quad, text, score in result or []:
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            if text.strip():
                boxes.append((min(xs), min(ys), max(xs), max(ys), text.strip(), float(score) * 100))
        boxes.sort(key=lambda b: (b[1], b[0]))
        rows: list[list[tuple[float, float, float, float, str, float]]] = []
        for b in boxes:
            row = rows[-1] if rows else None
            if row is not None:
                top, bottom = min(r[1] for r in row), max(r[3] for r in row)
                if min(bottom, b[3]) - max(top, b[1]) > 0.5 * min(bottom - top, b[3] - b[1]):
                    row.append(b)
                    continue
            rows.append([b])
        lines = []
        for row in rows:
            row.sort(key=lambda r: r[0])
            lines.append(OcrLine(  # no paragraph information: block 0, gaps decide
                join_words([r[4] for r in row]), min(r[0] for r in row), min(r[1] for r in row),
                max(r[2] for r in row), max(r[3] for r in row), 0, sum(r[5] for r in row) / len(row),
            ))
        return lines


@functools.lru_cache(maxsize=4)
def _engine(name: str) -> OcrEngine:
    if name == "tesseract":
        return TesseractEngine()
    if name == "rapidocr":
        return RapidOcrEngine()
    raise OcrUnavailableError("OCR", f"unknown OCR engine {name!r}; known: {', '.join(ENGINES)}")


def get_engine(name: str | None = None) -> OcrEngine:
    """The named engine, or the first installed one in :data:`ENGINES` order (cached: model
    loading is slow). Raises :class:`OcrUnavailableError` with install instructions."""
    _require_pdfium()
    if name is not None:
        return _engine(name)
    reasons = []
    for candidate in ENGINES:
        try:
            return _engine(candidate)
        except OcrUnavailableError as exc:
            reasons.append(exc.reason)
    raise OcrUnavailableError("OCR", f"no OCR engine is installed; {_INSTALL}")


def available_engines() -> list[str]:
    """Names of the engines that can run here."""
    out = []
    for name in ENGINES:
        try:
            get_engine(name)
            out.append(name)
        except OcrUnavailableError:
            pass
    return out


def _require_pdfium() -> Any:
    try:
        import pypdfium2
    except ImportError as exc:
        raise OcrUnavailableError("OCR", f"pypdfium2 is not installed; {_INSTALL}") from exc
    return pypdfium2


def open_pdf(data: bytes) -> Any:
    """A pypdfium2 document (close it when done)."""
    return _require_pdfium().PdfDocument(data)


def render_page(pdf: Any, index: int, dpi: int = DEFAULT_DPI) -> tuple[Any, float]:
    """Grayscale PIL image of a 0-based page, /Rotate applied, and its pixels per point.

    The resolution drops for pages so large that ``dpi`` would exceed :data:`MAX_PIXELS`
    (a hostile or poster-sized MediaBox must not exhaust memory).
    """
    page = pdf[index]
    try:
        width, height = page.get_size()
        scale = min(dpi / 72, (MAX_PIXELS / max(width * height, 1.0)) ** 0.5)
        return page.render(scale=scale, grayscale=True).to_pil(), scale
    finally:
        page.close()


@dataclass
class OcrPage:
    """A page's OCR text (lines joined by newlines, blank line between paragraphs) and
    line boxes ``(start, end, x0, top, x1, bottom)`` in points, spans relative to ``text``."""

    text: str
    lines: list[tuple[int, int, float, float, float, float]] = field(default_factory=list)
    confidence: float = 0.0


def page_from_lines(lines: list[OcrLine], scale: float) -> OcrPage:
    """Join lines with newlines, a blank line where the engine starts a new paragraph or the
    vertical gap exceeds a line's height; boxes from pixels to points (``/ scale``)."""
    parts: list[str] = []
    spans: list[tuple[int, int, float, float, float, float]] = []
    pos = 0
    prev: OcrLine | None = None
    confs = []
    for ln in lines:
        text = _CONTROL.sub("", ln.text).strip()
        if not text:
            continue
        if prev is not None:
            height = max(ln.bottom - ln.top, prev.bottom - prev.top)
            new_paragraph = ln.block != prev.block or ln.top - prev.bottom > height
            sep = "\n\n" if new_paragraph else "\n"
            parts.append(sep)
            pos += len(sep)
        prev = ln
        parts.append(text)
        spans.append((pos, pos + len(text), round(ln.x0 / scale, 2), round(ln.top / scale, 2),
                      round(ln.x1 / scale, 2), round(ln.bottom / scale, 2)))
        pos += len(text)
        confs.append(ln.confidence)
    return OcrPage("".join(parts), spans, sum(confs) / len(confs) if confs else 0.0)


def ocr_pdf_pages(
    data: bytes, indices: list[int], engine: OcrEngine, *, dpi: int = DEFAULT_DPI
) -> tuple[dict[int, OcrPage], dict[int, str]]:
    """OCR the given 0-based pages of a PDF: pages read, and a reason for each that failed."""
    done: dict[int, OcrPage] = {}
    failed: dict[int, str] = {}
    pdf = open_pdf(data)
    try:
        for i in indices:
            try:
                image, scale = render_page(pdf, i, dpi)
                done[i] = page_from_lines(engine.read(image), scale)
            except Exception as exc:  # noqa: BLE001 - one page's failure must not lose the others
                failed[i] = f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        pdf.close()
    return done, failed
