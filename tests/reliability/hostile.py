"""A seeded corpus of hostile and broken files, each with what ingest must make of it.

Every case is derived from real PDFs (synthetic ones drawn here and by ``tests/pdf_factory.py``,
plus the smallest of ``/work/shared/eval/pdfs`` when given) or built byte by byte, so the same
seed always gives the same bytes. A case says whether ingest must refuse it (``"fail"``, with a
word its message must hold), must accept it (``"ok"``), or may do either (``"either"``: e.g.
random bytes in a content stream may still parse); when it is accepted, ``base`` names the
intact original and ``intact`` the pages whose text must come out exactly as the original's.
"""

from __future__ import annotations

import importlib.util
import io
import random
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: the lines of the uncompressed base, page by page (distinct words, so a damaged line is found)
WORD = re.compile("[A-Za-z]+")

PLAIN_PAGES = [
    [f"Clause {p}.{i} The Supplier shall deliver batch {p * 10 + i} of the Products on time."
     for i in range(1, 7)]
    for p in range(1, 4)
]


@dataclass(frozen=True)
class Case:
    """One hostile file and the rule its outcome is checked against."""

    name: str
    data: bytes
    kind: str
    expect: str  # "fail", "ok" or "either"
    reason: str | None = None  # for "fail": a word the error message must contain
    base: str | None = None  # key into Corpus.bases: the intact original, for text checks
    intact: tuple[int, ...] | None = None  # 0-based pages whose text must equal the base's; None: all
    note: str = ""
    warn: str | None = None  # when accepted: a word the document's warnings must contain
    words: tuple[str, ...] | None = None  # when accepted: the ASCII words the text must hold, in order


@dataclass
class Corpus:
    """The cases plus the intact originals they were made from."""

    cases: list[Case] = field(default_factory=list)
    bases: dict[str, bytes] = field(default_factory=dict)

    def by_kind(self, *kinds: str) -> list[Case]:
        return [c for c in self.cases if c.kind in kinds]


# -- building PDFs byte by byte --------------------------------------------------------------

def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def raw_pdf(objects: list[bytes], *, root: int = 1, trailer: bytes = b"") -> bytes:
    """A PDF with ``objects`` numbered from 1, a classic xref table and a trailer."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, trailer, xref)
    return bytes(out)


def _escape(text: str) -> bytes:
    return text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_content(lines: list[str], *, size: int = 11) -> bytes:
    """A content stream drawing one line per string, top-down, in Helvetica."""
    ops = [b"BT /F1 %d Tf 14 TL 72 720 Td" % size]
    for i, line in enumerate(lines):
        ops.append((b"" if i == 0 else b"T* ") + b"(" + _escape(line) + b") Tj")
    ops.append(b"ET")
    return b"\n".join(ops)


def pages_pdf(contents: list[bytes], *, media_box: bytes = b"[0 0 612 792]", compress: bool = False,
              resources: bytes = b"<< /Font << /F1 3 0 R >> >>") -> bytes:
    """Catalog (1), page tree (2), Helvetica (3), then each page and its content stream."""
    n = len(contents)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    for i, content in enumerate(contents):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources %s /Contents %d 0 R >>"
                    % (media_box, resources, 5 + 2 * i))
        objs.append(stream(zlib.compress(content), b"/Filter /FlateDecode ") if compress else stream(content))
    return raw_pdf(objs)


def plain_pdf(pages: list[list[str]] | None = None) -> bytes:
    """The uncompressed base: every page's text sits in plain ``(...) Tj`` strings."""
    return pages_pdf([text_content(lines) for lines in (pages or PLAIN_PAGES)])


def content_span(data: bytes, page: int) -> tuple[int, int]:
    """Byte range of page ``page``'s (0-based) content stream data in a :func:`pages_pdf` file."""
    obj = 5 + 2 * page
    at = data.index(b"\n%d 0 obj\n" % obj)
    start = data.index(b"stream\n", at) + len(b"stream\n")
    return start, data.index(b"\nendstream", start)


# -- bases ----------------------------------------------------------------------------------

def synthetic_bases() -> dict[str, bytes]:
    """Intact originals: the plain base, reportlab contracts (EN, ZH) and a compressed raw PDF."""
    from reportlab import rl_config

    from tests.pdf_factory import chinese_contract_pdf, contract_pdf, simple_pdf

    invariant, rl_config.invariant = rl_config.invariant, 1  # no dates or random ids: same bytes each run
    try:
        return {
            "plain": plain_pdf(),
            "contract": contract_pdf()[0],
            "chinese": chinese_contract_pdf()[0],
            "simple": simple_pdf([["Payment is due within thirty days of the invoice."],
                                  ["Either party may terminate on ninety days notice."]])[0],
            "flate": pages_pdf([text_content(p) for p in PLAIN_PAGES[:2]], compress=True),
        }
    finally:
        rl_config.invariant = invariant


def shared_bases(pdf_dir: Path | None, count: int = 3) -> dict[str, bytes]:
    """The ``count`` smallest real contract PDFs (CUAD exhibits), when the shared data is here."""
    if pdf_dir is None or not pdf_dir.is_dir():
        return {}
    files = sorted((p for p in pdf_dir.iterdir() if p.suffix.lower() == ".pdf"), key=lambda p: p.stat().st_size)
    return {f"cuad{i}": p.read_bytes() for i, p in enumerate(files[:count])}


# -- mutations ------------------------------------------------------------------------------

def truncated(rng: random.Random, bases: dict[str, bytes], n: int) -> Iterable[Case]:
    keys = sorted(bases)
    for i in range(n):
        key = keys[i % len(keys)]
        data = bases[key]
        cut = rng.randrange(1, len(data))
        tail = data[cut:]
        # a cut after the last %%EOF only drops trailing whitespace: the file is whole
        whole = b"%%EOF" not in tail
        yield Case(f"truncated-{i:03d}-{key}.pdf", data[:cut], "truncated",
                   "either" if whole else "fail", None if whole else "truncated", key,
                   note=f"cut at byte {cut} of {len(data)}")


def truncated_claiming_whole(rng: random.Random, bases: dict[str, bytes], n: int) -> Iterable[Case]:
    """Cut short, then given a fake end (``startxref 0 %%EOF``), as a careless repair tool leaves
    it: the reader must not present what survived as the whole document."""
    keys = sorted(bases)
    for i in range(n):
        key = keys[i % len(keys)]
        data = bases[key]
        cut = rng.randrange(len(data) // 4, len(data))
        yield Case(f"truncated-eof-{i:03d}-{key}.pdf", data[:cut] + b"\nstartxref\n0\n%%EOF\n", "truncated-eof",
                   "either", None, key, note=f"cut at byte {cut} of {len(data)}, fake trailer")


def overwritten(rng: random.Random, bases: dict[str, bytes], n: int) -> Iterable[Case]:
    """Random bytes over a random range anywhere in the file: refused, or read with exact spans."""
    keys = sorted(bases)
    for i in range(n):
        key = keys[i % len(keys)]
        data = bytearray(bases[key])
        size = rng.choice([1, 4, 16, 64, 256])
        at = rng.randrange(len(data) - size)
        data[at: at + size] = rng.randbytes(size)
        intact = _pages_outside(bases[key], at, at + size) if key in ("plain",) else ()
        yield Case(f"overwritten-{i:03d}-{key}.pdf", bytes(data), "overwritten", "either", None, key,
                   intact=intact, note=f"{size} random bytes at {at}")


def _pages_outside(data: bytes, a: int, b: int) -> tuple[int, ...] | None:
    """Pages of a :func:`pages_pdf` file whose content streams do not overlap ``[a, b)``; None
    (all) when the range hits none of them but only a content stream can change one page alone."""
    spans = [content_span(data, p) for p in range(len(PLAIN_PAGES))]
    hit = [p for p, (s, e) in enumerate(spans) if a < e and b > s]
    if not hit:
        return ()  # structure, font or xref: no page promised (recovery may still read all)
    return tuple(p for p in range(len(spans)) if p not in hit)


def stream_damage(rng: random.Random, n: int) -> Iterable[Case]:
    """Random bytes inside one page's content stream of the plain base: the other pages must
    come out exactly as before (a page that no longer parses is skipped with a warning)."""
    data = plain_pdf()
    pages = len(PLAIN_PAGES)
    for i in range(n):
        page = rng.randrange(pages)
        start, end = content_span(data, page)
        body = bytearray(data[start:end])
        strings = [m.span() for m in re.finditer(rb"\((?:[^()\\]|\\.)*\)", bytes(body))]
        a, b = strings[rng.randrange(len(strings))]
        size = rng.randint(1, 12)
        at = rng.randrange(a + 1, max(a + 2, b - size))
        body[at: at + size] = rng.randbytes(size)
        # the stream keeps its length, so /Length and the xref stay right
        out = data[:start] + bytes(body) + data[end:]
        yield Case(f"stream-damage-{i:03d}-p{page + 1}.pdf", out, "stream-damage", "either", None, "plain",
                   intact=tuple(p for p in range(pages) if p != page), note=f"page {page + 1}, {size} bytes")


def xref_destroyed(rng: random.Random, bases: dict[str, bytes]) -> Iterable[Case]:
    """The cross-reference section overwritten (table only, or with the trailer), cut out, or
    pointed elsewhere: a reader may rebuild it by scanning, and must then read every page."""
    for key in sorted(bases):
        data = bases[key]
        m = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
        at = int(m.group(1))
        trailer = data.find(b"trailer", at)
        table_end = trailer if data[at:at + 4] == b"xref" and trailer > 0 else min(at + 200, m.start())
        variants = {
            "table-garbage": data[:at] + bytes(rng.randrange(32, 127) for _ in range(table_end - at)) + data[table_end:],
            "table-blank": data[:at] + b" " * (table_end - at) + data[table_end:],
            "all-garbage": data[:at] + bytes(rng.randrange(32, 127) for _ in range(m.start() - at)) + data[m.start():],
            "pointer": data[:m.start(1)] + b"%d" % (len(data) * 7 + 13) + data[m.end(1):],
            "removed": data[:at] + data[m.start():].replace(b"startxref", b"startxrefX", 1),
        }
        for how, out in variants.items():
            yield Case(f"xref-{how}-{key}.pdf", out, "xref", "either", None, key, note=how)


def encrypted(rng: random.Random, bases: dict[str, bytes]) -> Iterable[Case]:
    """Password-protected (a user password): refused, saying a password is needed.

    The writers' random salts and file ids come from ``rng``, so the bytes are the same each run.
    """
    from unittest import mock

    from pypdf import PdfReader, PdfWriter
    from reportlab import rl_config
    from reportlab.lib import pdfencrypt

    from tests.pdf_factory import encrypted_pdf

    invariant, rl_config.invariant = rl_config.invariant, 1
    try:
        with mock.patch.object(pdfencrypt, "os_urandom", rng.randbytes):
            data = encrypted_pdf("s3cret")
    finally:
        rl_config.invariant = invariant
    yield Case("encrypted-rc4-reportlab.pdf", data, "encrypted", "fail", "password")
    # pypdf writes AES only with the 'cryptography' package (not a dependency of the project)
    aes = ("AES-128", "AES-256") if importlib.util.find_spec("cryptography") else ()
    for algorithm in ("RC4-40", "RC4-128", *aes):
        for key in ("contract", "plain"):
            with mock.patch("secrets.token_bytes", rng.randbytes):
                writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bases[key])))
                writer.encrypt(user_password="hunter2", owner_password="owner", algorithm=algorithm)
                buf = io.BytesIO()
                writer.write(buf)
            yield Case(f"encrypted-{algorithm.lower()}-{key}.pdf", buf.getvalue(), "encrypted", "fail", "password")


def not_pdf(rng: random.Random) -> Iterable[Case]:
    """Other files renamed ``.pdf``."""
    fakes = {
        "png": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + rng.randbytes(400),
        "jpeg": b"\xff\xd8\xff\xe0\0\x10JFIF\0" + rng.randbytes(400),
        "zip": b"PK\x03\x04\x14\0\x06\0" + rng.randbytes(400),
        "elf": b"\x7fELF\x02\x01\x01" + bytes(400),
        "html": b"<!doctype html><html><body><h1>Invoice</h1><script>alert(1)</script></body></html>",
        "text": b"This is a plain text letter about the supply agreement.\n",
        "utf16": "An UTF-16 file about the agreement.".encode("utf-16"),
        "random": rng.randbytes(2000),
        "near-miss": b"%PDX-1.7\n" + plain_pdf()[9:],
        "docx-as-pdf": b"PK\x03\x04" + b"word/document.xml" + rng.randbytes(200),
    }
    for what, data in fakes.items():
        yield Case(f"renamed-{what}.pdf", data, "not-pdf", "fail", "not a PDF")
    # %PDF- within the first KiB but nothing of a PDF after it: refused as damaged
    yield Case("renamed-html-quoting-pdf.pdf", b"<html>see %PDF-1.4 spec</html>" + rng.randbytes(300),
               "not-pdf", "fail", None)


def empty_files() -> Iterable[Case]:
    yield Case("empty.pdf", b"", "empty", "fail", "empty")
    yield Case("empty.txt", b"", "empty", "fail", "empty")
    yield Case("empty.md", b"", "empty", "fail", "empty")
    yield Case("blank.txt", b" \n\t\r\n   \n", "empty", "fail", "no text")
    yield Case("controls-only.txt", bytes(range(1, 9)) * 20, "empty", "fail", "no text")
    yield Case("nuls.txt", b"\0" * 5000, "empty", "fail", "binary")


def zero_byte_pages() -> Iterable[Case]:
    """Pages with an empty (0-byte) content stream, or a zero-sized page box."""
    lines = PLAIN_PAGES
    yield Case("zero-byte-middle-page.pdf", pages_pdf([text_content(lines[0]), b"", text_content(lines[2])]),
               "zero-page", "ok", base="zero-middle-base", intact=(0, 2))
    yield Case("zero-byte-only-page.pdf", pages_pdf([b""]), "zero-page", "fail", "no text")
    yield Case("zero-byte-all-pages.pdf", pages_pdf([b"", b"", b""]), "zero-page", "fail", "no text")
    yield Case("zero-size-mediabox.pdf", pages_pdf([text_content(lines[0])], media_box=b"[0 0 0 0]"),
               "zero-page", "either", base="zero-box-base")
    yield Case("no-pages.pdf", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]),
               "zero-page", "fail", "no pages")


def text_garbage(rng: random.Random, n: int) -> Iterable[Case]:
    """Text with C0/C1 control characters and invalid UTF-8 (.txt, .md and inside PDF strings)."""
    words = ["The", "Buyer", "shall", "pay", "each", "invoice", "within", "thirty", "days", "of", "receipt", "and", "the", "Supplier", "shall", "deliver", "the", "Products"]
    bad = [b"\xff", b"\xfe\xfe", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x28\xa1", b"\x80", b"\xf8\x88\x80\x80\x80"]
    for i in range(n):
        parts: list[bytes] = []
        for _ in range(rng.randint(40, 120)):
            parts.append(rng.choice(words).encode())
            r = rng.random()
            if r < 0.25:
                parts.append(bytes([rng.choice([*range(1, 9), 11, 12, *range(14, 32), 127])]))
            elif r < 0.35:
                parts.append("\u0085\u2028\u009b".encode()[rng.randrange(0, 6, 2):][:2])
            elif r < 0.5 and i % 2:
                parts.append(rng.choice(bad))
            parts.append(b" ")
        data = b"".join(parts)
        suffix = ".md" if i % 3 == 0 else ".txt"
        yield Case(f"controls-{i:03d}{suffix}", data, "text-garbage", "ok",
                   note="controls" + (" + bad utf-8" if i % 2 else ""),
                   words=tuple(WORD.findall(data.decode("latin-1"))))
    # control characters inside PDF text strings
    for i in range(max(2, n // 4)):
        lines = [f"Line {j} " + "".join(chr(rng.choice([1, 2, 7, 8, 27, 31, 127])) for _ in range(3)) + " ends"
                 for j in range(6)]
        yield Case(f"controls-in-pdf-{i:03d}.pdf", pages_pdf([text_content(lines)]), "text-garbage", "ok",
                   words=tuple(WORD.findall(" ".join(lines))))


def enormous_lines(rng: random.Random) -> Iterable[Case]:
    """One line without a break: 300 KB of words, 100 KB of one word, a 140 KB PDF line; and a
    2 MB line that the batch's text limit (``Limits.max_chars``) must refuse."""
    words = ["supplier", "buyer", "shall", "deliver", "pay", "invoice", "thirty", "days", "notice", "terminate", "agreement"]
    yield Case("one-line-300kb.txt", " ".join(rng.choice(words) for _ in range(45_000)).encode(), "enormous-line", "ok")
    yield Case("one-word-100kb.txt", b"x" * 100_000, "enormous-line", "ok")
    yield Case("one-line-pdf.pdf", pages_pdf([text_content([" ".join(rng.choice(words) for _ in range(20_000))])]),
               "enormous-line", "ok")
    yield Case("one-line-2mb.txt", " ".join(rng.choice(words) for _ in range(300_000)).encode(), "enormous-line",
               "fail", "million characters")


def hostile_names() -> Iterable[Case]:
    """Valid content under names a careless server would use as paths."""
    body = b"1. Payment\nThe Buyer shall pay within thirty days.\n"
    yield Case("../../../../etc/passwd.txt", body + b"traversal one", "name", "ok")
    yield Case("..\\..\\windows\\system.ini.txt", body + b"traversal two", "name", "ok")
    yield Case("/absolute/path/contract.txt", body + b"absolute", "name", "ok")
    yield Case("nul\0byte.txt", body + b"nul in name", "name", "ok")
    yield Case("x" * 300 + ".txt", body + b"long name", "name", "ok")
    yield Case("../" * 100 + "deep.txt", body + b"deep traversal", "name", "ok")
    yield Case("new\nline\r.txt", body + b"newline", "name", "ok")
    yield Case("<img src=x onerror=alert(1)>.md", body + b"html name", "name", "ok")
    yield Case("../broken\0" + "y" * 300 + ".pdf", b"%PDF-1.7\n garbage", "name", "fail", None)
    yield Case("exhibit: schedule A.pdf", b"%PDF-1.7\n garbage", "name", "fail", None)


# -- bombs ----------------------------------------------------------------------------------

def _many_pages(n: int, text_last: bool) -> bytes:
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(n))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    objs += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>"] * (n - 1)
    if text_last:
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                    b" /Contents %d 0 R >>" % (4 + n))
        objs.append(stream(text_content(["The last page holds the only text."])))
    else:
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>")
    return raw_pdf(objs)


def _flate_bomb(size_mb: int, unit: bytes, head: bytes = b"", tail: bytes = b"") -> bytes:
    """``head``, ``unit`` repeated to ``size_mb`` MiB, ``tail``: Flate-compressed, in pieces."""
    c = zlib.compressobj(9)
    block = unit * (2**20 // len(unit))
    return c.compress(head) + b"".join(c.compress(block) for _ in range(size_mb)) + c.compress(tail) + c.flush()


def bombs() -> Iterable[Case]:
    """Resource bombs: each must fail (or be read) within the time and page limits."""
    text = text_content(["A page of text before the bomb."])
    yield Case("bomb-5000-empty-pages.pdf", _many_pages(5000, False), "bomb", "fail", "limit")
    yield Case("bomb-1500-empty-pages-then-text.pdf", _many_pages(1500, True), "bomb", "either",
               note="under the page limit: read, or refused by the time limit")
    depth = 100_000
    nested = b"[" * depth + b"]" * depth
    yield Case("bomb-nested-arrays-page.pdf", pages_pdf([text], resources=b"<< /Font << /F1 3 0 R >> /Bomb %s >>" % nested),
               "bomb", "either", note="deeply nested array in the page's resources")
    yield Case("bomb-nested-dicts-catalog.pdf", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R /Bomb " + b"<< /A " * depth
                                                         + b"1" + b" >>" * depth + b" >>",
                                                         b"<< /Type /Pages /Kids [] /Count 0 >>"]), "bomb", "fail", None)
    zeros = _flate_bomb(256, b"\0")
    yield Case("bomb-flate-256mb-zeros.pdf", _single_stream_pdf(zeros, text), "bomb", "either",
               note="a 256 MiB (inflated) content stream on page 2")
    ops = _flate_bomb(60, b"1 0 0 1 0 0 cm\n")
    yield Case("bomb-3m-operators.pdf", _single_stream_pdf(ops, None), "bomb", "fail", None,
               note="4 million cm operators on one page")
    yield Case("bomb-page-tree-cycle.pdf", raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>",
                                                    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                                    b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"]),
               "bomb", "fail", None)
    yield Case("bomb-form-fanout.pdf", _form_fanout(levels=8, fanout=10), "bomb", "either", None,
               note="form XObjects drawing each other 10 times, 8 levels deep: 10^8 draws", warn="damaged")
    yield Case("bomb-form-self-reference.pdf", _form_self(), "bomb", "either",
               note="a form XObject that draws itself")
    yield Case("bomb-huge-size.pdf", plain_pdf().replace(b"/Size 10 ", b"/Size 2147483647 "), "bomb", "either",
               base="plain", note="trailer /Size 2^31-1")
    yield Case("bomb-huge-length.pdf", plain_pdf().replace(b"<< /Length ", b"<< /Length 99999999999", 1), "bomb",
               "either", note="a stream /Length of 10^11")
    yield Case("bomb-60m-text.pdf", text_bomb(), "bomb", "fail", None,
               note="60 MB of shown text on one page (60 KB on disk)")


def text_bomb(size_mb: int = 60) -> bytes:
    """One page showing ``size_mb`` MiB of text (a Flate stream of about 60 KB)."""
    content = _flate_bomb(size_mb, b"(" + b"A" * 1017 + b") Tj\n", b"BT /F1 11 Tf 72 720 Td\n", b"ET\n")
    return _single_stream_pdf(content, None)


def _single_stream_pdf(compressed: bytes, first_page: bytes | None) -> bytes:
    """Page 1 with ``first_page`` (if given), last page's content stream ``compressed`` (Flate)."""
    pages = ([stream(first_page)] if first_page is not None else []) + [
        stream(compressed, b"/Filter /FlateDecode ")]
    n = len(pages)
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, s in enumerate(pages):
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                    b" /Contents %d 0 R >>" % (5 + 2 * i))
        objs.append(s)
    return raw_pdf(objs)


def _form_fanout(levels: int, fanout: int) -> bytes:
    # 1 catalog, 2 pages, 3 font, 4 page, 5 page content, 6.. forms (form k draws form k+1)
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >>"
             b" /XObject << /X 6 0 R >> >> /Contents 5 0 R >>"),
            stream(b"/X Do")]
    for k in range(levels):
        if k < levels - 1:
            body = b" ".join([b"/X Do"] * fanout)
            res = b"<< /XObject << /X %d 0 R >> /Font << /F1 3 0 R >> >>" % (7 + k)
        else:
            body = b"BT /F1 9 Tf 10 10 Td (leaf text) Tj ET"
            res = b"<< /Font << /F1 3 0 R >> >>"
        objs.append(stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources %s " % res))
    return raw_pdf(objs)


def _form_self() -> bytes:
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >>"
             b" /XObject << /X 6 0 R >> >> /Contents 5 0 R >>"),
            stream(b"BT /F1 11 Tf 72 720 Td (Text beside a looping form.) Tj ET /X Do"),
            stream(b"BT /F1 9 Tf 10 10 Td (loop) Tj ET /X Do",
                   b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /XObject << /X 6 0 R >>"
                   b" /Font << /F1 3 0 R >> >> ")]
    return raw_pdf(objs)


# -- the corpus -----------------------------------------------------------------------------

def valid_controls() -> list[tuple[str, bytes]]:
    """Good files each batch carries: they must be added whatever the hostile ones do."""
    return [
        ("good-supply.txt", (b"1. Supply\n1.1 The Supplier shall deliver the Products monthly.\n"
                             b"2. Payment\n2.1 The Buyer shall pay within thirty days.\n")),
        ("good-notes.md", b"# Notes\n\nThe governing law is the law of England and Wales.\n"),
        ("good-letter.pdf", pages_pdf([text_content(["Termination: ninety days written notice is required."]),
                                       text_content(["Confidentiality survives for five years."])], compress=True)),
    ]


def build(seed: int = 20240, shared_pdfs: Path | None = None, *, scale: float = 1.0) -> Corpus:
    """The whole corpus, deterministic in ``seed``; ``scale`` shrinks the random families."""
    rng = random.Random(seed)
    bases = synthetic_bases() | shared_bases(shared_pdfs)
    extra = {"zero-middle-base": pages_pdf([text_content(p) for p in PLAIN_PAGES]),
             "zero-box-base": pages_pdf([text_content(PLAIN_PAGES[0])])}
    corpus = Corpus(bases=bases | extra)
    n = max(1, round(48 * scale))
    families: list[Iterable[Case]] = [
        truncated(rng, bases, n),
        truncated_claiming_whole(rng, bases, max(1, round(16 * scale))),
        overwritten(rng, bases, n),
        stream_damage(rng, max(1, round(30 * scale))),
        xref_destroyed(rng, bases),
        encrypted(rng, bases),
        not_pdf(rng),
        empty_files(),
        zero_byte_pages(),
        text_garbage(rng, max(2, round(12 * scale))),
        enormous_lines(rng),
        hostile_names(),
        bombs(),
    ]
    for family in families:
        corpus.cases.extend(family)
    names = [c.name for c in corpus.cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return corpus
