"""``python -m ingest PATH... --collection NAME_OR_DIR``: ingest files and folders."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ingest", description=(
        "Ingest PDFs, .txt and .md files (folders recursively) into a collection: clause-aware "
        "chunks with page and span provenance, embedded with the configured encoder."))
    p.add_argument("paths", nargs="+", type=Path, help="files or folders")
    p.add_argument("--collection", "-c", required=True,
                   help="collection name (under RAG_DATA_DIR) or a folder path")
    p.add_argument("--data-dir", type=Path, help="overrides RAG_DATA_DIR")
    p.add_argument("--backend", help="where the collection lives: faiss (default: a folder under the data "
                   "directory) or a Milvus address, e.g. milvus-lite:///data/rag.db or milvus://host:19530 "
                   "(overrides RAG_BACKEND)")
    p.add_argument("--model", help="overrides RAG_EMBED_MODEL (Hub id or folder)")
    p.add_argument("--colbert", action="store_true",
                   help="also store ColBERT vectors (new collections; BGE-M3 only)")
    p.add_argument("--no-create", action="store_true", help="fail if the collection does not exist")
    p.add_argument("--user", metavar="EMAIL_OR_SUBJECT",
                   help="add as this user (needs the editor role on an existing collection; owns a new one); "
                        "default: RAG_USER, else the local admin")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from tqdm import tqdm

    from ingest.pipeline import discover
    from rag.config import load_settings
    from rag.engine import Engine

    settings = load_settings()
    if args.data_dir:
        settings = replace(settings, data_dir=args.data_dir)
    if args.model:
        settings = replace(settings, embed_model=args.model)
    if args.backend:
        settings = replace(settings, backend=args.backend)
    if args.user is not None:
        if not args.user.strip():
            print("error: --user must not be empty", file=sys.stderr)
            return 2
        settings = replace(settings, user=args.user.strip())
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        print("error: not found: " + ", ".join(missing), file=sys.stderr)
        return 2
    sources = discover(args.paths)
    if not sources:
        print("error: no .pdf, .txt or .md files found", file=sys.stderr)
        return 2

    engine = Engine(settings)
    from rag.models import ModelLoadError
    from rag.store import CollectionError

    try:
        engine.encoder
    except ModelLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    files_bar = tqdm(total=len(sources), unit="file", disable=args.quiet, position=0)
    batch_bar = tqdm(total=0, unit="text", disable=args.quiet, position=1, leave=False)

    def on_file(i: int, n: int, name: str) -> None:
        files_bar.n = i
        files_bar.set_description(name[-40:])
        files_bar.refresh()
        batch_bar.reset(total=0)

    def advance(what: str, done: int, total: int) -> None:
        batch_bar.set_description(what, refresh=False)
        batch_bar.total = total
        batch_bar.n = done
        batch_bar.refresh()

    def on_batch(done: int, total: int) -> None:
        advance("passages", done, total)

    def on_units(name: str, done: int, total: int) -> None:
        # the file is searchable now; its sentence units (precise citations) are embedded next
        advance("sentences", done, total)

    try:
        report = engine.ingest(sources, args.collection, create=not args.no_create,
                               colbert=args.colbert, on_file=on_file, on_batch=on_batch, on_units=on_units)
    except CollectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files_bar.n = len(sources)
    files_bar.close()
    batch_bar.close()

    for f in report.files:
        if f.status == "failed":
            print(f"FAILED     {f.error}")
        elif f.status == "duplicate":
            print(f"duplicate  {f.name} (same content already in the collection)")
        else:
            print(f"{f.status:<10} {f.name}: {f.pages} pages, {f.chunks} chunks, {f.seconds:.1f} s")
            for w in f.warnings:
                print(f"           warning: {w}")
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
