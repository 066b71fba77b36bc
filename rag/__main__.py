"""``python -m rag``: the command line. Each subcommand lives with its package and registers here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rag.answer import cli as answer_cli
from rag.review import cli as review_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Contract-intelligence RAG on BAAI BGE models.")
    parser.add_argument("--user", metavar="EMAIL_OR_SUBJECT",
                        help="act as this user: only their collections, with their role (default: RAG_USER, "
                             "else the local admin)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (answer_cli.add_parser, review_cli.add_parser):
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.user is None:
        return int(args.func(args))
    if not args.user.strip():
        print("error: --user must not be empty", file=sys.stderr)
        return 2
    # every subcommand builds its Engine from the settings, where RAG_USER names the user; set for
    # this call only, so a caller's process (a test, an embedding program) keeps its own environment
    before = os.environ.get("RAG_USER")
    os.environ["RAG_USER"] = args.user.strip()
    try:
        return int(args.func(args))
    finally:
        if before is None:
            os.environ.pop("RAG_USER", None)
        else:
            os.environ["RAG_USER"] = before


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):  # a non-UTF-8 terminal must not crash on CJK answers
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    sys.exit(main())
