"""``python -m rag review``: the clause-review grid of a collection, written to CSV, XLSX or JSON lines.

Cells already computed (same document content, column, model and scoring generation) are read
from the collection's review store; only new documents and new columns are computed, with a
progress bar and ETA on stderr. Bad input (unknown collection, column file, output suffix)
prints one clear line and exits 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``review`` subcommand."""
    p = subparsers.add_parser(
        "review", help="review every document of a collection against clause types (a cited grid)",
        description="Documents x columns: for each, the clause that answers it (page, clause id, quote) or "
                    "'not found'. Columns: CUAD's 41 clause types (CC BY 4.0) or your own questions.")
    p.add_argument("--collection", required=True, help="collection name")
    p.add_argument("--columns", default="cuad",
                   help="'cuad' (default: the 41 CUAD clause types) or a .txt (one question a line), "
                        ".csv (name,question) or .json file")
    p.add_argument("--question", action="append", default=[], metavar="TEXT",
                   help="add a column asking this question (repeatable)")
    p.add_argument("--doc", action="append", metavar="NAME", help="only these documents (repeatable)")
    p.add_argument("--out", required=True, type=Path, help="output file: .csv, .xlsx or .jsonl")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.set_defaults(func=run_review)


def run_review(args: argparse.Namespace, err: TextIO | None = None) -> int:
    err = err or sys.stderr
    from rag.review.columns import ColumnError, custom_column, load_columns
    from rag.review.export import SUFFIXES, write

    suffix = args.out.suffix.lower()
    if suffix not in SUFFIXES:
        err.write(f"error: --out must end in .csv, .xlsx or .jsonl, not {suffix or '(no suffix)'}\n")
        return 2
    if not args.out.parent.is_dir():
        err.write(f"error: folder {args.out.parent} does not exist\n")
        return 2
    try:
        columns = load_columns(args.columns) + [custom_column(q) for q in args.question]
    except ColumnError as exc:
        err.write(f"error: {exc}\n")
        return 2
    try:
        from tqdm import tqdm

        from rag.config import load_settings
        from rag.engine import Engine
        from rag.review.grid import review
        from rag.review.storage import ReviewStore, store_path

        engine = Engine(load_settings())
        retriever = engine.retriever(args.collection)
        store = ReviewStore(store_path(engine.data_dir, args.collection))
        bar = tqdm(total=0, unit="cell", desc="review", file=err)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        grid = review(retriever, columns, store=store, documents=args.doc or None, progress=progress)
        bar.close()
        path = write(grid, args.out, retriever.collection.view())
    except Exception as exc:  # the CLI's edge: one line saying what failed
        if args.debug:
            raise
        err.write(f"error: review of collection {args.collection!r} failed: {type(exc).__name__}: {exc}\n")
        return 1
    found = sum(c.found for c in grid.cells.values())
    err.write(f"{len(grid.documents)} document(s) x {len(grid.columns)} column(s): {grid.computed} cell(s) computed, "
              f"{len(grid.cells) - grid.computed} from the store; {found} found; written to {path}\n")
    return 0
