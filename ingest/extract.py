"""Turn PDF, text and Markdown files into canonical documents with exact provenance.

Every downstream span is a half-open range into ``Document.text``; this module decides the
file's type and limits and hands it to its reader: :mod:`ingest.text_files` (decoding),
:mod:`ingest.pdf_document` (pages, OCR) with :mod:`ingest.pdf_page`, :mod:`ingest.pdf_runs` and
:mod:`ingest.pdf_geometry` (text and line boxes, so any span can be highlighted:
``Document.boxes_of``); :mod:`ingest.canonical` gives every text its one canonical form.
Bad input never yields a partial document: it raises :class:`~ingest.errors.ExtractionError`
naming the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

from ingest.canonical import clean_text, detect_language
from ingest.errors import ExtractionError
from ingest.limits import DEFAULT_MAX_BYTES, DEFAULT_MAX_PAGES
from ingest.limits import too_large as _too_large
from ingest.ocr import ENGINES as _OCR_ENGINES  # stdlib-only module: cheap to import
from ingest.pdf_document import extract_pdf as _extract_pdf
from ingest.pdf_geometry import page_to_view
from ingest.pdf_page import PageText, read_pdf_page
from ingest.text_files import extract_text_file
from rag.documents import Document

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PAGES", "PDF_MAGIC", "TEXT_SUFFIXES", "PageText", "clean_text",
           "detect_language", "extract", "extract_bytes", "page_to_view", "read_pdf_page"]

TEXT_SUFFIXES = {".txt": "text/plain", ".text": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown"}
_TEXT_MEDIA_TYPES = {"text/plain", "text/markdown", "text/x-markdown"}
PDF_MAGIC = b"%PDF-"



def extract(
    path: Path | str,
    *,
    max_bytes: int | None = None,
    max_pages: int | None = None,
    ocr: bool | str = "auto",
) -> Document:
    """Read a file from disk into a :class:`Document`; see :func:`extract_bytes` for the rules."""
    path = Path(path)
    if not path.is_file():
        raise ExtractionError(path, "file not found" if not path.exists() else "not a regular file")
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > limit:  # checked before reading: a huge file must not be loaded at all
        raise ExtractionError(path, _too_large(size, limit))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(path, f"cannot be read ({exc.strerror or exc})") from exc
    return extract_bytes(data, path.name, max_bytes=limit, max_pages=max_pages, ocr=ocr)


def extract_bytes(
    data: bytes,
    name: str,
    *,
    media_type: str | None = None,
    max_bytes: int | None = None,
    max_pages: int | None = None,
    ocr: bool | str = "auto",
) -> Document:
    """Extract an upload. ``name`` is for display and the extension only, never opened.

    The type comes from the content (``%PDF-`` in the first KiB) and else from the
    extension or ``media_type``: .txt/.text/.md/.markdown. ``ocr`` is ``"auto"`` (OCR pages
    without a text layer when an engine is installed), ``True`` (require OCR for them),
    ``False`` (never) or an engine name (``"tesseract"``, ``"rapidocr"``).
    """
    if not (ocr in (True, False, "auto") or ocr in _OCR_ENGINES):
        raise ValueError(f"ocr must be True, False, 'auto' or one of {_OCR_ENGINES}, not {ocr!r}")
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise ExtractionError(name, _too_large(len(data), limit))
    if not data:
        raise ExtractionError(name, "file is empty")
    suffix = Path(name).suffix.lower()
    mt = (media_type or "").split(";")[0].strip().lower()
    if PDF_MAGIC in data[:1024]:
        return _extract_pdf(data, name, DEFAULT_MAX_PAGES if max_pages is None else max_pages, ocr)
    if suffix == ".pdf" or mt == "application/pdf":
        raise ExtractionError(name, "not a PDF (no %PDF- header at the start of the file)")
    if suffix in TEXT_SUFFIXES or (not suffix and mt in _TEXT_MEDIA_TYPES):
        kind = TEXT_SUFFIXES.get(suffix) or ("text/markdown" if "markdown" in mt else "text/plain")
        return extract_text_file(data, name, kind)
    shown = suffix or mt or "no extension"
    raise ExtractionError(name, f"unsupported file type ({shown}); expected .pdf, .txt or .md")
