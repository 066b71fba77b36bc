"""``python -m rag ask``: retrieve, stream a cited answer to the terminal, then list the sources.

LLM failures never end in a traceback: the message is printed, the sources are still
listed, and the exit status is 1. Retrieval failures (unknown collection, ...) print a
message and exit 1 too; ``--debug`` shows their traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from rag.answer.errors import LLMError
from rag.answer.llm import BACKENDS, make_llm
from rag.answer.result import Answer, Citation
from rag.answer.stream import answer

DEFAULT_TOP_K = 8


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ``ask`` subcommand."""
    p = subparsers.add_parser(
        "ask",
        help="answer a question from a collection, with citations",
        description="Retrieve passages from a collection, stream a cited answer, then list the sources.",
    )
    p.add_argument("question", help="the question, in any language")
    p.add_argument("--collection", required=True, help="collection name")
    p.add_argument("--doc", action="append", metavar="NAME", help="only search this document (repeatable)")
    p.add_argument(
        "--llm",
        choices=BACKENDS,
        help="answer backend (default: RAG_LLM_BACKEND, else openai when configured, else extractive)",
    )
    p.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, help=f"passages to retrieve (default {DEFAULT_TOP_K})")
    p.add_argument("--debug", action="store_true", help="show tracebacks of retrieval failures and log details")
    p.set_defaults(func=run_ask)


def _pages(c: Citation) -> str:
    pages = c.hit.pages  # the cited span's pages (the chunk's when the hit is a whole chunk)
    if pages is None:
        return "-"
    return f"p. {pages[0]}" if pages[0] == pages[1] else f"p. {pages[0]}-{pages[1]}"


def print_sources(result: Answer, out: TextIO) -> None:
    """The numbered sources (document, page, clause, score), then hits that were not sent."""
    numbered = {id(c.hit) for c in result.citations}
    rest = [h for h in result.hits if id(h) not in numbered]
    if not result.citations and not rest:
        out.write("\nSources: none (nothing was retrieved)\n")
        return
    out.write("\nSources:\n")
    for c in result.citations:
        clause = f"clause {c.hit.clause}" if c.hit.clause else "-"
        marks = [m for m, on in (("cited", c.cited), ("truncated", c.truncated)) if on]
        out.write(
            f"  [{c.n}] {c.hit.chunk.doc_name}  {_pages(c)}  {clause}  score {c.hit.score:.3f}"
            + ("  " + ", ".join(marks) if marks else "")
            + "\n"
        )
    for h in rest:
        clause = f"clause {h.clause}" if h.clause else "-"
        pages = "-" if h.pages is None else f"p. {h.pages[0]}"
        out.write(f"   -  {h.chunk.doc_name}  {pages}  {clause}  score {h.score:.3f}  (not sent: context budget)\n")


def print_checks(result: Answer, out: TextIO) -> None:
    if result.issues:
        out.write("\nCitation check failed:\n")
        for issue in result.issues:
            out.write(f"  ! {issue.message}\n")
    for note in result.notes:
        out.write(f"\nNote: {note}\n")


def run_ask(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR, format="%(levelname)s %(name)s: %(message)s"
    )
    from rag.config import load_settings

    try:
        settings = load_settings()
        llm = make_llm(settings, backend=args.llm)
    except (LLMError, ValueError, FileNotFoundError) as e:
        err.write(f"error: {e}\n")
        return 2
    try:
        from rag.engine import Engine

        engine = Engine(settings)
        retriever = engine.retriever(args.collection)
        engine.access.asked(args.collection, args.question)  # audited only with RAG_AUDIT_QUESTIONS=true
        retrieval = retriever.search(args.question, documents=args.doc or None, top_k=args.top_k)
    except Exception as e:  # the CLI's edge: say what failed instead of a traceback
        if args.debug:
            raise
        err.write(
            f"error: retrieval from collection {args.collection!r} failed: {type(e).__name__}: {llm.scrub(str(e))}\n"
        )
        return 1

    stream = answer(args.question, retrieval.hits, llm)
    try:
        for piece in stream:
            out.write(piece)
            out.flush()
    except KeyboardInterrupt:
        stream.close()
        out.write("\n[interrupted]\n")
    result = stream.result
    out.write("\n")
    if result.error:
        err.write(f"\nerror: {result.error}\n")
        err.flush()
    print_checks(result, out)
    print_sources(result, out)
    out.flush()
    return 1 if result.error else 0
