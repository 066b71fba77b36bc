"""Text and Markdown files: decoding (BOMs, legacy code pages) into a canonical document."""

from __future__ import annotations

from ingest.canonical import clean_text, detect_language
from ingest.errors import ExtractionError
from rag.documents import Document

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "UTF-8"),
    (b"\xff\xfe\x00\x00", "utf-32", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32", "UTF-32"),
    (b"\xff\xfe", "utf-16", "UTF-16"),
    (b"\xfe\xff", "utf-16", "UTF-16"),
)


def _decode(data: bytes, name: str) -> tuple[str, list[str]]:
    """UTF-8 (BOM or not), UTF-16/32 by BOM, else cp1252 (latin-1 for its 5 holes) with a warning."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), []
            except UnicodeDecodeError as exc:
                if label == "UTF-8":
                    break  # a stray BOM on a legacy file: the fallbacks below apply
                raise ExtractionError(name, f"starts with a {label} byte-order mark but is not valid {label} "
                                            f"(at byte {exc.start})") from exc
    head = data[:8192]
    if head.count(0) > max(len(head) // 100, 4):  # stray NULs are stripped later; many mean binary
        raise ExtractionError(name, "contains binary data, not text (NUL bytes and no UTF-16 byte-order mark)")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), ["not valid UTF-8; decoded as Windows-1252"]
    except UnicodeDecodeError:
        return data.decode("latin-1"), ["not valid UTF-8; decoded as Latin-1"]


def extract_text_file(data: bytes, name: str, media_type: str) -> Document:
    raw, warnings = _decode(data, name)
    text = clean_text(raw)
    if not text.strip():
        raise ExtractionError(name, "file contains no text")
    return Document(name=name, text=text, media_type=media_type, language=detect_language(text),
                    warnings=warnings)
