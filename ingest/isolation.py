"""Reading a file in a separate, disposable process, under limits.

A hostile PDF can hang the parser or eat memory: the reader process gets a wall-clock, CPU and
memory limit, and its death or a timeout becomes one file's :class:`ExtractionError`, never the
ingest's. ``Source`` and ``Limits`` (what is read, and within what) live here with it.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import ExtractionError
from rag.documents import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """A file to ingest: a path on disk, or bytes with a display name (an upload)."""

    name: str
    path: Path | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None
        return self.path.read_bytes()

    @classmethod
    def upload(cls, name: str, data: bytes) -> Source:
        return cls(name=name, data=data)


#: characters of text a page may hold on average before a file counts as a text bomb: a dense
#: contract page holds about 4,000; ``Limits.from_settings`` scales this by the page limit
CHARS_PER_PAGE = 10_000


@dataclass(frozen=True)
class Limits:
    """Per-file limits: size, pages, text, wall time and memory of the extraction process.

    ``max_chars`` bounds the text a file may yield (a 1 MB PDF can inflate to 60 MB of text),
    and with it the time chunking and embedding take, which run in this process.
    """

    max_bytes: int = 100 * 2**20
    max_pages: int = 2000
    timeout_s: float = 600.0
    memory_mb: int = 4096
    max_chars: int = 2000 * CHARS_PER_PAGE

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(max_bytes=int(settings.max_file_mb * 2**20), max_pages=settings.max_pages,
                   timeout_s=settings.file_timeout_s, max_chars=settings.max_pages * CHARS_PER_PAGE)


# -- extraction in a disposable process ----------------------------------------------------

#: imported once by the fork server, so that each reader process starts in milliseconds rather
#: than re-importing numpy and pypdf (about 0.4 s a file); "__main__" is the default preload
_PRELOAD = ["__main__", "ingest.isolation", "ingest.extract"]
#: reader messages kept per file (a damaged file can log one per object)
_MAX_READER_MESSAGES = 20


def _context() -> Any:
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)  # takes effect when the server starts (first use)
    return ctx


class _ReaderLog(logging.Handler):
    """Collects what pypdf logs about a damaged file, instead of printing it to stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        try:
            text = one_line(record.getMessage())
        except Exception:  # noqa: BLE001 - a malformed record must not fail the file
            return
        if len(self.messages) < _MAX_READER_MESSAGES and text not in self.messages:
            self.messages.append(text)


def one_line(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _limit_resources(limits: Limits) -> None:
    """Memory, and CPU time: the parent enforces the wall-clock limit, but a reader orphaned by
    a killed parent must still stop on its own."""
    import resource

    cpu = int(limits.timeout_s * (os.cpu_count() or 1)) + 5  # OCR engines may use every core
    for what, soft in ((resource.RLIMIT_AS, limits.memory_mb * 2**20), (resource.RLIMIT_CPU, cpu)):
        try:
            _, hard = resource.getrlimit(what)
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(what, (soft, hard))
        except (ValueError, OSError):
            pass


def _extract_child(conn: Any, data: bytes, name: str, limits: Limits, images: bool = False) -> None:
    from ingest.extract import extract_bytes

    _limit_resources(limits)
    reader_log = _ReaderLog()
    pypdf_log = logging.getLogger("pypdf")
    pypdf_log.addHandler(reader_log)
    pypdf_log.propagate = False
    try:
        doc = extract_bytes(data, name, max_bytes=limits.max_bytes, max_pages=limits.max_pages)
        if len(doc.text) > limits.max_chars:
            raise ExtractionError(name, f"holds {len(doc.text) / 1e6:.1f} million characters of text; "
                                        f"the limit is {limits.max_chars / 1e6:.1f} million")
        if reader_log.count:
            doc.warnings.append(
                f"the PDF is damaged or unusual: the reader repaired or skipped parts of it, so text may "
                f"be missing ({reader_log.count} reader message(s); first: {reader_log.messages[0]})")
        items = []
        if images:  # issue 17: pictures and image pages, for the visual model (pdfium, same limits)
            from ingest.images import items_for_ingest

            items = items_for_ingest(data, doc, name)
        conn.send(("ok", (doc, items), reader_log.messages))
    except ExtractionError as exc:
        reason = exc.reason
        if reader_log.count and "damaged" not in reason:  # e.g. "no text" because a page would not parse
            reason += f"; the reader also reported damage: {reader_log.messages[0]}"
        conn.send(("error", one_line(reason, 400), reader_log.messages))
    except MemoryError:
        conn.send(("error", f"needs more than {limits.memory_mb} MB of memory to read", reader_log.messages))
    except Exception as exc:  # noqa: BLE001 - a parser bug on hostile input: this file's failure
        conn.send(("error", f"could not be read ({type(exc).__name__}: {one_line(exc)})", reader_log.messages))
    finally:
        conn.close()


def extract_isolated(source: Source, limits: Limits) -> Document:
    """Extract one file in a fresh process with a time, memory and text limit.

    Raises :class:`ExtractionError` as :func:`read_isolated` does."""
    return read_isolated(source, limits)[0]


def read_isolated(source: Source, limits: Limits, images: bool = False) -> tuple[Document, list[Any]]:
    """The document of one file and, with ``images``, its image items (ingest.images), read in a
    fresh process with a time, memory and text limit.

    Raises :class:`ExtractionError` (``"name: reason"``, one line) for every way a file can
    fail: unreadable, over a limit, or a reader process that died or hung.
    """
    data = source.read()
    if len(data) > limits.max_bytes:
        raise ExtractionError(source.name, f"file is {len(data) / 2**20:.1f} MB, over the "
                                           f"{limits.max_bytes / 2**20:.0f} MB limit")
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_extract_child, args=(child, data, source.name, limits, images), daemon=True)
    try:
        proc.start()
    except OSError as exc:
        parent.close()
        child.close()
        raise ExtractionError(source.name, f"could not start a reader process ({exc.strerror or exc})") from exc
    child.close()
    try:
        if not parent.poll(limits.timeout_s):
            raise ExtractionError(source.name, f"reading took longer than {limits.timeout_s:g} s")
        try:
            status, payload, messages = parent.recv()
        except (EOFError, OSError):
            raise ExtractionError(source.name, "the reader process died (out of memory or a parser crash)") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    for message in messages:
        log.info("%s: PDF reader: %s", source.name, message)
    if status == "error":
        raise ExtractionError(source.name, payload)
    return payload
