"""Ingestion: files -> documents -> clause trees -> chunks -> embeddings -> a collection.

Each file goes through extraction in a separate, disposable process (ingest/isolation.py: a hostile PDF can hang
the parser or eat memory: it gets a time limit and a memory limit, and fails alone), then
through structure parsing, chunking and one encoder pass that produces every output the
collection stores. A file is committed to the collection on its own, so a broken file, a
crash or a kill never leaves half a document behind and never costs the files before it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ingest.errors import ExtractionError
from ingest.isolation import (  # noqa: F401 - Source, Limits and the readers are part of this module's API
    CHARS_PER_PAGE, Limits, Source, extract_isolated, one_line, read_isolated)
from rag.documents import Chunk, Clause, DefinedTerm, Document
from rag.lexical import term_counts

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown", ".text"}


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
        if getattr(config, "identity", None) == "lexical":
            sparse = _with_identity(sparse, document.text, config.identity_chars, encoder, lexical)
        colbert = list(out.colbert) if store_colbert else None
    else:
        dense = np.zeros((0, encoder.dim), np.float32)
        sparse, colbert = [], ([] if store_colbert else None)
    return Prepared(document, clauses, terms, chunks, dense, sparse, colbert,
                    hashlib.sha256(data).hexdigest(), data)


def _with_identity(sparse: list[dict[int, float]], text: str, max_chars: int, encoder: Any,
                   learned: bool) -> list[dict[int, float]]:
    """Each chunk's lexical weights with its document's title and parties added (BM25 counts
    added; a learned sparse head's weights merged by max, as its own pooling does)."""
    from ingest.identity import document_identity

    identity = document_identity(text, max_chars)
    if not identity:
        return sparse
    if learned:
        extra = dict(encoder.encode([identity], dense=False, sparse=True).sparse[0])
        return [{**s, **{t: max(w, s.get(t, 0.0)) for t, w in extra.items()}} for s in sparse]
    extra = term_counts(identity)
    return [{**s, **{t: s.get(t, 0.0) + c for t, c in extra.items()}} for s in sparse]


def ingest(sources: Iterable[Source], collection: Any, encoder: Any, *, limits: Limits = Limits(),
           chunking: Any = None, wait_for_lock: bool = True, commit_every: int = 1,
           on_file: Callable[[int, int, str], None] | None = None,
           on_batch: Callable[[int, int], None] | None = None,
           on_units: Callable[[str, int, int], None] | None = None, visual: Any = None) -> IngestReport:
    """Ingest files into a collection; never raises for a bad file.

    With a ``visual`` model (Visualized BGE) a PDF's pictures and image pages become image items
    stored with the document (ingest.images); without one nothing of that runs.

    Files are committed ``commit_every`` at a time (one atomic commit each time; 1 for the app
    and the CLI, so a crash costs at most the file in hand; more for bulk loads such as the
    benchmarks). ``on_file(i, n, name)`` is called before each file, ``on_batch(done, total)``
    after each embedding batch of the current file (progress bars in the CLI and the app), and
    ``on_units(name, done, total)`` after each batch of a committed file's sentence units: the
    file is searchable by then, and with BGE-M3 on a CPU this second pass takes longer than the
    first (bench/latency.py times the two apart).
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
            # span ranking's unit vectors, embedded now so the first question does not (issue 13)
            from rag.retrieve.unit_vectors import fill_committed

            fill_committed(collection, encoder, [(r, p) for r, p in pending if r.status in ("added", "replaced")],
                           on_units=on_units)
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
        result.error = f"{src.name}: could not be indexed ({type(exc).__name__}: {one_line(exc)})"
        log.error("%s", result.error)
        log.debug("ingesting %s failed", src.name, exc_info=True)
    finally:
        result.seconds = time.perf_counter() - t0
    return result, prepared


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
        log.error("committing %d file(s) failed: %s", len(pending), one_line(exc))
        log.debug("committing %d file(s) failed", len(pending), exc_info=True)
        for result, _ in pending:
            result.status, result.doc_id = "failed", None
            result.error = f"{result.name}: could not be saved to the collection ({one_line(exc)})"
    share = (time.perf_counter() - t0) / len(pending)
    for result, _ in pending:
        result.seconds += share
