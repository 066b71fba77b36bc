"""LegalBench-RAG evaluation: ingest a benchmark's documents, run its queries, score spans.

The benchmark's ``.txt`` documents are ingested under the names the benchmark uses
(``cuad/Foo.txt``), through the same pipeline as any upload, so the figures measure the
product, not a special path. Retrieved spans are reported in the original files' offsets.
"""

from __future__ import annotations

import difflib
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rag.eval.metrics import Span, char_precision_recall

KS = (1, 2, 4, 8, 16, 32, 64)


@dataclass
class Benchmark:
    name: str
    queries: list[str]
    gold: list[list[Span]]
    files: list[str] = field(default_factory=list)


def load_benchmark(path: Path, limit: int | None = None) -> Benchmark:
    """Queries and gold spans; with ``limit``, an even spread of that many queries."""
    tests = json.loads(Path(path).read_text(encoding="utf-8"))["tests"]
    if limit and limit < len(tests):
        step = len(tests) / limit
        tests = [tests[int(i * step)] for i in range(limit)]
    queries = [t["query"] for t in tests]
    gold = [[(s["file_path"], int(s["span"][0]), int(s["span"][1])) for s in t["snippets"]] for t in tests]
    files = sorted({f for g in gold for f, _, _ in g})
    return Benchmark(Path(path).stem, queries, gold, files)


class OffsetMap:
    """Maps offsets in a stored (canonical) text back to the original file's offsets."""

    def __init__(self, canonical: str, original: str) -> None:
        self.identity = canonical == original
        if not self.identity:
            sm = difflib.SequenceMatcher(None, canonical, original, autojunk=False)
            self.blocks = sm.get_matching_blocks()

    def __call__(self, pos: int) -> int:
        if self.identity:
            return pos
        for a, b, size in self.blocks:
            if a <= pos <= a + size:
                return b + (pos - a)
            if a > pos:
                return b
        last = self.blocks[-1]
        return last[1] + last[2]


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
            ranked.append((h.chunk.doc_name, m(h.start), m(h.end), h.score))  # the ranked span
        results.append(ranked)
    return results, seconds


def score(results: Sequence[Sequence[tuple[str, int, int, float]]], bench: Benchmark) -> dict[str, float]:
    """Mean character-level P@k and R@k over queries, in percent."""
    out: dict[str, float] = {}
    for k in KS:
        ps, rs = [], []
        for ranked, gold in zip(results, bench.gold):
            p, r = char_precision_recall([(f, s, e) for f, s, e, _ in ranked], gold, k)
            ps.append(p)
            rs.append(r)
        out[f"P@{k}"] = 100 * statistics.fmean(ps) if ps else 0.0
        out[f"R@{k}"] = 100 * statistics.fmean(rs) if rs else 0.0
    return out


def dump(results: Sequence[Sequence[tuple[str, int, int, float]]], path: Path) -> None:
    """One JSON line per query: ``{"query_index", "retrieved": [{file_path, span, score}]}``."""
    with Path(path).open("w", encoding="utf-8") as fh:
        for i, ranked in enumerate(results):
            row = {"query_index": i, "retrieved": [
                {"file_path": f, "span": [s, e], "score": round(float(sc), 6)} for f, s, e, sc in ranked[:64]]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
