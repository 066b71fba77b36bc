"""LegalBench-RAG evaluation: ingest a benchmark's documents, run its queries, score spans.

The benchmark's ``.txt`` documents are ingested under the names the benchmark uses
(``cuad/Foo.txt``), through the same pipeline as any upload, so the figures measure the
product, not a special path. Retrieved spans are reported in the original files' offsets,
mapped back by the text canonicaliser itself (:func:`ingest.canonical.clean_text_with_origin`).

Scores: character-level P@k/R@k (k spans), and P/R at character budgets (the ranked spans read
in order until 1,000 ... 8,000 characters are spent), which compares methods whose spans differ
in length.
"""

from __future__ import annotations

import difflib
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rag.eval.metrics import BUDGETS, Span, char_precision_recall, char_precision_recall_at_budget

KS = (1, 2, 4, 8, 16, 32, 64)


@dataclass
class Benchmark:
    name: str
    queries: list[str]
    gold: list[list[Span]]
    files: list[str] = field(default_factory=list)


def load_benchmark(path: Path, limit: int | None = None, within: set[str] | None = None) -> Benchmark:
    """Queries and gold spans; with ``within``, only queries whose gold lies in those files;
    with ``limit``, an even spread of that many queries."""
    tests = json.loads(Path(path).read_text(encoding="utf-8"))["tests"]
    if within is not None:
        tests = [t for t in tests if {s["file_path"] for s in t["snippets"]} <= within]
    if limit and limit < len(tests):
        step = len(tests) / limit
        tests = [tests[int(i * step)] for i in range(limit)]
    queries = [t["query"] for t in tests]
    gold = [[(s["file_path"], int(s["span"][0]), int(s["span"][1])) for s in t["snippets"]] for t in tests]
    files = sorted({f for g in gold for f, _, _ in g})
    return Benchmark(Path(path).stem, queries, gold, files)


def load_paired(path: Path, limit: int | None, documents_of: Path | None,
                queries: int | None = None) -> Benchmark:
    """``path``'s queries; with ``documents_of``, over the documents of that benchmark (``limit``-ed
    the same way), keeping only the queries about them (an even spread of ``queries`` of them,
    default ``limit``): two phrasings of one question set (cuad_dev, cuad_dev_parties) then share
    one collection and one baseline index."""
    if documents_of is None:
        return load_benchmark(path, limit)
    other = load_benchmark(documents_of, limit)
    bench = load_benchmark(path, queries or limit, within=set(other.files))
    bench.files = other.files
    return bench


class OffsetMap:
    """Maps offsets in a stored (canonical) text back to the original file's offsets.

    The canonicaliser re-run on the original gives the map directly (linear time: MAUD's 51 MB
    in seconds). Only where the stored text is not the original's canonical form (a PDF, or
    an ingest change this module does not know) does it fall back to a difflib alignment.
    """

    def __init__(self, canonical: str, original: str) -> None:
        from ingest.canonical import clean_text_with_origin

        self.identity = canonical == original
        self.aligned = False
        if self.identity:
            return
        bom = 1 if original.startswith("\ufeff") else 0  # decoding drops a UTF-8 byte-order mark
        clean, origin = clean_text_with_origin(original[bom:])
        if clean == canonical:
            self.origin, self.bom = origin, bom
            return
        print("  offset map: stored text is not the canonical form of the original; aligning with difflib",
              file=sys.stderr)
        self.aligned = True
        sm = difflib.SequenceMatcher(None, canonical, original, autojunk=False)
        self.blocks = sm.get_matching_blocks()

    def __call__(self, pos: int) -> int:
        """Original offset of a span start at canonical ``pos``."""
        if self.identity:
            return pos
        if not self.aligned:
            return self.bom + self.origin.start(pos)
        for a, b, size in self.blocks:
            if a <= pos <= a + size:
                return b + (pos - a)
            if a > pos:
                return b
        last = self.blocks[-1]
        return last[1] + last[2]

    def end(self, pos: int) -> int:
        """Original offset of a span end at canonical ``pos``."""
        if self.identity or self.aligned:
            return self(pos)
        return self.bom + self.origin.end(pos)


def hit_span(hit: Any) -> tuple[int, int]:
    """The canonical span a hit points at: its ``span`` where retrieval gives one, else its chunk's."""
    span = getattr(hit, "span", None)
    if span is not None:
        if isinstance(span, tuple):
            return int(span[0]), int(span[1])
        return int(span.start), int(span.end)
    return hit.chunk.start, hit.chunk.end


def run_queries(retriever: Any, bench: Benchmark, offset_maps: dict[str, OffsetMap],
                options: Any, top: int = 64) -> tuple[list[list[tuple[str, int, int, float]]], list[float]]:
    """Ranked (file, start, end, score) per query in original offsets, and seconds per query."""
    results, seconds = [], []
    for q in bench.queries:
        t0 = time.perf_counter()
        ret = retriever.search(q, top_k=top, options=options)
        seconds.append(time.perf_counter() - t0)
        ranked = []
        for h in ret.hits:
            m = offset_maps[h.chunk.doc_name]
            start, end = hit_span(h)  # the ranked span
            ranked.append((h.chunk.doc_name, m(start), m.end(end), h.score))
        results.append(ranked)
    return results, seconds


def score(results: Sequence[Sequence[tuple[str, int, int, float]]], bench: Benchmark) -> dict[str, float]:
    """Mean character-level P@k and R@k, and P/R at each character budget, in percent."""
    out: dict[str, float] = {}
    cases: list[tuple[str, Any]] = [(f"@{k}", lambda r, g, k=k: char_precision_recall(r, g, k)) for k in KS]
    cases += [(budget_label(b), lambda r, g, b=b: char_precision_recall_at_budget(r, g, b)) for b in BUDGETS]
    for label, fn in cases:
        ps, rs = [], []
        for ranked, gold in zip(results, bench.gold):
            p, r = fn([(f, s, e) for f, s, e, _ in ranked], gold)
            ps.append(p)
            rs.append(r)
        out[f"P{label}"] = 100 * statistics.fmean(ps) if ps else 0.0
        out[f"R{label}"] = 100 * statistics.fmean(rs) if rs else 0.0
    return out


def budget_label(budget: int) -> str:
    """``@2000ch``: the suffix of the P/R keys at a character budget."""
    return f"@{budget}ch"


def table_header(extra: Sequence[str] = ()) -> list[str]:
    """Columns of a printed result table: the mode, P/R at every budget, then at every k."""
    return (["mode"] + [f"R{budget_label(b)}" for b in BUDGETS] + [f"P{budget_label(b)}" for b in BUDGETS]
            + [f"P@{k}" for k in KS] + [f"R@{k}" for k in KS] + list(extra))


def print_table(rows: Sequence[dict[str, Any]], extra: Sequence[str] = ()) -> None:
    header = table_header(extra)
    print(" | ".join(header))
    for r in rows:
        print(" | ".join(str(r.get(h, "")) for h in header))


def dump(results: Sequence[Sequence[tuple[str, int, int, float]]], path: Path) -> None:
    """One JSON line per query: ``{"query_index", "retrieved": [{file_path, span, score}]}``."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for i, ranked in enumerate(results):
            row = {"query_index": i, "retrieved": [
                {"file_path": f, "span": [s, e], "score": round(float(sc), 6)} for f, s, e, sc in ranked[:64]]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
