"""Build the shipped prototype file from CUAD's dev annotations (run once, by a maintainer).

``python -m rag.review.make_prototypes --eval-dir ../shared/eval/legal --out rag/review/data/cuad_prototypes.json``

Each of the 41 CUAD clause types (``cuad_categories.csv``) gets its name, description and answer
format, and up to ``--per-type`` example clauses: one gold span per contract, from contracts spread
evenly over the dev split, each expanded to the sentences that hold it and cut to ``--max-chars``.
Every example records its contract and span, so a review never uses an example taken from the
document under review (leave-one-contract-out) and anyone can trace it back to CUAD.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from rag.review.units import split_units

ATTRIBUTION = ("Clause types, descriptions and example clauses from CUAD (the Contract Understanding Atticus "
               "Dataset), The Atticus Project, https://www.atticusprojectai.org/cuad, licensed CC BY 4.0 "
               "(https://creativecommons.org/licenses/by/4.0/). Hendrycks, Burns, Chen and Ball, 'CUAD: An "
               "Expert-Annotated NLP Dataset for Legal Contract Review', NeurIPS 2021. Examples are gold spans "
               "of the LegalBench-RAG CUAD dev split, expanded to whole sentences and shortened.")


def read_categories(path: Path) -> list[dict[str, str]]:
    """The clause types of ``cuad_categories.csv`` (each cell starts with its column name)."""
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    out = []
    for row in rows[1:]:
        if not row:
            continue
        cells = [c.split(":", 1)[1].replace("\xa0", " ").strip() if ":" in c else c.strip() for c in row]
        name, description, answer_format, group = (cells + ["", "", "", ""])[:4]
        out.append({"name": name, "description": " ".join(description.split()),
                    "answer_format": answer_format, "group": group})
    return out


def _example(text: str, start: int, end: int, max_chars: int) -> tuple[int, int]:
    """The sentences holding ``[start, end)`` (a bare date or name says little), cut to ``max_chars``."""
    lo, hi = max(0, start - 600), min(len(text), end + 600)
    units = split_units(text[lo:hi])
    s, e = start, end
    for us, ue in zip(units.starts.tolist(), units.ends.tolist()):
        if us + lo < end and ue + lo > start:
            s, e = min(s, us + lo), max(e, ue + lo)
    if e - s > max_chars:  # keep the gold span, then as much context as fits after it
        s = start
        e = min(e, s + max_chars)
    return s, e


def build(eval_dir: Path, per_type: int = 32, max_chars: int = 500) -> dict[str, Any]:
    categories = read_categories(eval_dir / "cuad_categories.csv")
    tests = json.loads((eval_dir / "benchmarks" / "cuad_dev.json").read_text(encoding="utf-8"))["tests"]
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in tests:
        if t["snippets"]:
            by_type[t["category"].lower()].append(t)
    texts: dict[str, str] = {}
    types = []
    for cat in categories:
        positives = sorted(by_type.get(cat["name"].lower(), []), key=lambda t: t["contract"])
        if len(positives) > per_type:
            step = len(positives) / per_type
            positives = [positives[int(i * step)] for i in range(per_type)]
        examples = []
        for t in positives:
            snip = max(t["snippets"], key=lambda s: s["span"][1] - s["span"][0])
            path = snip["file_path"]
            if path not in texts:
                texts[path] = (eval_dir / "corpus" / path).read_text(encoding="utf-8")
            text = texts[path]
            s, e = _example(text, int(snip["span"][0]), int(snip["span"][1]), max_chars)
            examples.append({"text": " ".join(text[s:e].split()), "contract": t["contract"], "span": [s, e]})
        types.append({**cat, "examples": examples})
    return {"name": "cuad", "version": 1, "source": "CUAD v1 via LegalBench-RAG cuad_dev.json (dev split)",
            "license": "CC BY 4.0", "attribution": ATTRIBUTION, "per_type": per_type, "max_chars": max_chars,
            "types": types}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rag.review.make_prototypes", description=__doc__)
    p.add_argument("--eval-dir", type=Path, required=True, help="folder holding cuad_categories.csv, benchmarks/, corpus/")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--per-type", type=int, default=32)
    p.add_argument("--max-chars", type=int, default=500)
    args = p.parse_args(argv)
    data = build(args.eval_dir, args.per_type, args.max_chars)
    args.out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    n = sum(len(t["examples"]) for t in data["types"])
    print(f"{len(data['types'])} types, {n} examples -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
