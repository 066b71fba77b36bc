"""``python -m rag``: the command line. Each subcommand lives with its package and registers here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rag.answer import cli as answer_cli
from rag.review import cli as review_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rag", description="Contract-intelligence RAG on BAAI BGE models.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in (answer_cli.add_parser, review_cli.add_parser):
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):  # a non-UTF-8 terminal must not crash on CJK answers
        sys.stdout.reconfigure(errors="replace")  # type: ignore[union-attr]
    sys.exit(main())
