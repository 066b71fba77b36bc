"""Ingestion: files -> documents -> clause trees -> chunks -> embeddings -> a collection.

Each file goes through extraction in a separate, disposable process (a hostile PDF can hang
the parser or eat memory: it gets a time limit and a memory limit, and fails alone), then
through structure parsing, chunking and one encoder pass that produces every output the
collection stores. A file is committed to the collection on its own, so a broken file, a
crash or a kill never leaves half a document behind and never costs the files before it.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import ExtractionError
from rag.documents import Chunk, Clause, DefinedTerm, Document
from rag.lexical import term_counts

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown", ".text"}


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


@dataclass
class FileResult:
    name: str
    status: str  # "added", "replaced", "duplicate", "failed"
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    doc_id: int | None = None
    images: int = 0  # image items stored with it (issue 17; 0 without a visual model)


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(f.status in statuses for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def summary(self) -> str:
        ok = self.count("added", "replaced")
        return (f"{ok} file(s) ingested ({self.count('replaced')} replaced), "
                f"{self.count('duplicate')} skipped as duplicate, {self.count('failed')} failed; "
                f"{sum(f.pages for f in self.files)} pages, {sum(f.chunks for f in self.files)} chunks, "
                f"{self.seconds:.1f} s")


def discover(paths: Iterable[str | Path]) -> list[Source]:
    """Files named, and supported files under folders named (recursively), sorted."""
    out: list[Source] = []
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES:
                    out.append(Source(name=str(f.relative_to(p)), path=f))
        else:
            out.append(Source(name=p.name, path=p))
    return out


# -- extraction in a disposable process ----------------------------------------------------

#: imported once by the fork server, so that each reader process starts in milliseconds rather
#: than re-importing numpy and pypdf (about 0.4 s a file); "__main__" is the default preload
_PRELOAD = ["__main__", "ingest.pipeline", "ingest.extract"]
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
            text = _one_line(record.getMessage())
        except Exception:  # noqa: BLE001 - a malformed record must not fail the file
            return
        if len(self.messages) < _MAX_READER_MESSAGES and text not in self.messages:
            self.messages.append(text)


def _one_line(text: str, limit: int = 200) -> str:
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
        conn.send(("error", _one_line(reason, 400), reader_log.messages))
    except MemoryError:
        conn.send(("error", f"needs more than {limits.memory_mb} MB of memory to read", reader_log.messages))
    except Exception as exc:  # noqa: BLE001 - a parser bug on hostile input: this file's failure
        conn.send(("error", f"could not be read ({type(exc).__name__}: {_one_line(exc)})", reader_log.messages))
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


# -- the pipeline ----------------------------------------------------------------------------

@dataclass
class Prepared:
    """A document ready to store: everything computed, nothing written yet."""

    document: Document
    clauses: list[Clause]
    terms: list[DefinedTerm]
    chunks: list[Chunk]
    dense: np.ndarray
    sparse: list[dict[int, float]]
    colbert: list[np.ndarray] | None
    content_hash: str
    source: bytes
    images: Any = None  # issue 17: ingest.images.EmbeddedImages (None without a visual model)


def chunking_for(encoder: Any, config_type: Any) -> Any:
    """Chunk sizes that fit the encoder: at most its max length, at most 512 tokens.

    Retrieval quality and cited-span precision both suffer from long chunks; clause-sized
    chunks of about 256 tokens keep a clause whole and its citation tight.
    """
    max_tokens = max(16, min(512, int(getattr(encoder, "max_length", 512))))
    target = min(256, max_tokens)
    return config_type(target_tokens=target, max_tokens=max_tokens, min_tokens=min(48, target))


def prepare(document: Document, data: bytes, encoder: Any, *, sparse_kind: str,
            store_colbert: bool = False, chunking: Any = None,
            on_batch: Callable[[int, int], None] | None = None) -> Prepared:
    """Structure, chunk and embed a document (all three encoder outputs in one pass)."""
    from ingest.chunking import ChunkingConfig, chunk_document
    from ingest.structure import parse_structure
    from ingest.terms import find_defined_terms

    clauses = parse_structure(document.text, document.language)
    terms = find_defined_terms(document.text, clauses)
    config = chunking or chunking_for(encoder, ChunkingConfig)
    chunks = chunk_document(document, clauses, getattr(encoder, "tokenizer", None), config)
    texts = [c.embed_text for c in chunks]
    lexical = sparse_kind == "lexical"
    if texts:
        out = encoder.encode(texts, dense=True, sparse=lexical, colbert=store_colbert, progress=on_batch)
        dense = np.asarray(out.dense, dtype=np.float32)
        sparse = list(out.sparse) if lexical else [term_counts(t) for t in texts]
        colbert = list(out.colbert) if store_colbert else None
    else:
        dense = np.zeros((0, encoder.dim), np.float32)
        sparse, colbert = [], ([] if store_colbert else None)
    return Prepared(document, clauses, terms, chunks, dense, sparse, colbert,
                    hashlib.sha256(data).hexdigest(), data)


def ingest(sources: Iterable[Source], collection: Any, encoder: Any, *, limits: Limits = Limits(),
           chunking: Any = None, wait_for_lock: bool = True, commit_every: int = 1,
           on_file: Callable[[int, int, str], None] | None = None,
           on_batch: Callable[[int, int], None] | None = None, visual: Any = None) -> IngestReport:
    """Ingest files into a collection; never raises for a bad file.

    With a ``visual`` model (Visualized BGE) a PDF's pictures and image pages become image items
    stored with the document (ingest.images); without one nothing of that runs.

    Files are committed ``commit_every`` at a time (one atomic commit each time; 1 for the app
    and the CLI, so a crash costs at most the file in hand; more for bulk loads such as the
    benchmarks). ``on_file(i, n, name)`` is called before each file, ``on_batch(done, total)``
    after each embedding batch of the current file (progress bars in the CLI and the app).
    """
    sources = list(sources)
    report = IngestReport()
    started = time.perf_counter()
    info = collection.info
    pending: list[tuple[FileResult, Prepared]] = []
    for i, src in enumerate(sources):
        if on_file:
            on_file(i, len(sources), src.name)
        result, prepared = _prepare_one(src, collection, encoder, info, limits, chunking, on_batch,
                                        pending_hashes={p.content_hash for _, p in pending}, visual=visual)
        report.files.append(result)
        if prepared is not None:
            pending.append((result, prepared))
        if pending and (len(pending) >= commit_every or i == len(sources) - 1):
            _commit(pending, collection, wait_for_lock)
            _store_unit_vectors(pending, collection, encoder)  # span-ranking hook (issue 13)
            pending = []
    report.seconds = time.perf_counter() - started
    return report


def _prepare_one(src: Source, collection: Any, encoder: Any, info: Any, limits: Limits,
                 chunking: Any, on_batch: Callable[[int, int], None] | None,
                 pending_hashes: set[str], visual: Any = None) -> tuple[FileResult, Prepared | None]:
    """Everything but the commit for one file; a failure is recorded, never raised."""
    t0 = time.perf_counter()
    result = FileResult(name=src.name, status="failed")
    prepared = None
    try:
        data = src.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest in pending_hashes or collection.view().find_document(content_hash=digest) is not None:
            result.status = "duplicate"
            return result, None
        document, items = read_isolated(Source(src.name, data=data), limits, images=visual is not None)
        document.name = src.name
        prepared = prepare(document, data, encoder, sparse_kind=info.sparse,
                           store_colbert=info.colbert_dim is not None, chunking=chunking,
                           on_batch=on_batch)
        if items:  # issue 17 hook: embed the image items (ingest.images)
            from ingest.images import embed_items

            prepared.images = embed_items(items, visual, encoder)
            result.images = len(items)
        if not prepared.chunks:
            raise ExtractionError(src.name, "no text found to index")
        result.status = "prepared"
        result.pages = document.page_count
        result.chunks = len(prepared.chunks)
        result.warnings = list(document.warnings)
    except ExtractionError as exc:
        result.status, result.error, prepared = "failed", str(exc), None
    except OSError as exc:
        result.status, prepared = "failed", None
        result.error = f"{src.name}: cannot read the file ({exc.strerror or exc})"
    except Exception as exc:  # one file's failure must not cost the others
        # the message is for users (CLI, app); the traceback only for whoever turns on debug logs
        result.status, prepared = "failed", None
        result.error = f"{src.name}: could not be indexed ({type(exc).__name__}: {_one_line(exc)})"
        log.error("%s", result.error)
        log.debug("ingesting %s failed", src.name, exc_info=True)
    finally:
        result.seconds = time.perf_counter() - t0
    return result, prepared


# -- hook: unit vectors for span ranking (rag/retrieve/unit_vectors.py; issue 13) -------------

def _store_unit_vectors(pending: list[tuple[FileResult, Prepared]], collection: Any, encoder: Any) -> None:
    """Embed the units of each committed document now, so the first question over it does not."""
    from rag.retrieve.unit_vectors import fill_committed

    fill_committed(collection, encoder, [(r, p) for r, p in pending if r.status in ("added", "replaced")])


def _commit(pending: list[tuple[FileResult, Prepared]], collection: Any, wait_for_lock: bool) -> None:
    """One atomic commit for prepared files; a file named like a stored one replaces it."""
    t0 = time.perf_counter()
    try:
        with collection.writer(wait=wait_for_lock) as w:
            # under the lock the committed view is the latest: no other writer can race us
            view = collection.view()
            for result, p in pending:
                old = view.find_document(name=p.document.name)
                if old is not None:
                    w.delete_document(old.id)
                result.status = "replaced" if old is not None else "added"
                result.doc_id = w.add_document(
                    p.document, p.chunks, p.dense, p.sparse, p.colbert, clauses=p.clauses,
                    terms=p.terms, content_hash=p.content_hash, source=p.source)
                if p.images is not None:  # issue 17 hook: image items commit with their document
                    w.add_images(result.doc_id, *p.images.rows())
    except Exception as exc:
        log.error("committing %d file(s) failed: %s", len(pending), _one_line(exc))
        log.debug("committing %d file(s) failed", len(pending), exc_info=True)
        for result, _ in pending:
            result.status, result.doc_id = "failed", None
            result.error = f"{result.name}: could not be saved to the collection ({_one_line(exc)})"
    share = (time.perf_counter() - t0) / len(pending)
    for result, _ in pending:
        result.seconds += share
