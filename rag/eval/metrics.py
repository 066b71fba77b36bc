"""Retrieval metrics: LegalBench-RAG's character-level precision/recall, and BEIR's.

Character level (Pipitone & Houir Alami 2024): the top-k retrieved spans of a query are
merged per file (overlaps count once: a clause and its own sub-clause earn nothing twice),
then Precision@k = gold characters covered / characters retrieved and Recall@k = gold
characters covered / gold characters.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

Span = tuple[str, int, int]  # (file, start, end)


def merge_spans(spans: Iterable[Span]) -> dict[str, list[tuple[int, int]]]:
    """Per file, the union of the spans as sorted disjoint intervals."""
    by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for f, s, e in spans:
        if e > s:
            by_file[f].append((s, e))
    merged: dict[str, list[tuple[int, int]]] = {}
    for f, items in by_file.items():
        items.sort()
        out = [items[0]]
        for s, e in items[1:]:
            if s <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], e))
            else:
                out.append((s, e))
        merged[f] = out
    return merged


def _length(intervals: Mapping[str, list[tuple[int, int]]]) -> int:
    return sum(e - s for items in intervals.values() for s, e in items)


def _overlap(a: Mapping[str, list[tuple[int, int]]], b: Mapping[str, list[tuple[int, int]]]) -> int:
    total = 0
    for f, xs in a.items():
        ys = b.get(f)
        if not ys:
            continue
        i = j = 0
        while i < len(xs) and j < len(ys):
            lo = max(xs[i][0], ys[j][0])
            hi = min(xs[i][1], ys[j][1])
            if hi > lo:
                total += hi - lo
            if xs[i][1] < ys[j][1]:
                i += 1
            else:
                j += 1
    return total


def char_precision_recall(retrieved: Sequence[Span], gold: Sequence[Span], k: int) -> tuple[float, float]:
    """Character-level (precision, recall) of the top ``k`` retrieved spans against gold spans."""
    got = merge_spans(retrieved[:k])
    want = merge_spans(gold)
    hit = _overlap(got, want)
    n_got, n_want = _length(got), _length(want)
    precision = hit / n_got if n_got else 0.0
    recall = hit / n_want if n_want else 0.0
    return precision, recall


def ndcg_at(ranked: Sequence[str], relevant: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k with graded relevance (BEIR's definition, log2 discount)."""
    dcg = sum(relevant.get(d, 0.0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    rel = {d for d, r in relevant.items() if r > 0}
    return len(rel.intersection(ranked[:k])) / len(rel) if rel else 0.0


def mrr_at(ranked: Sequence[str], relevant: Mapping[str, float], k: int = 10) -> float:
    for i, d in enumerate(ranked[:k]):
        if relevant.get(d, 0.0) > 0:
            return 1.0 / (i + 1)
    return 0.0


BUDGETS = (1000, 2000, 4000, 8000)


def read_within_budget(retrieved: Sequence[Span], budget: int) -> dict[str, list[tuple[int, int]]]:
    """The characters a reader sees taking ``retrieved`` in rank order until ``budget`` is spent.

    Characters already read (a span overlapping or repeating an earlier one) cost nothing
    again: only a span's unread parts are charged, left to right, and the span that crosses
    the budget is cut so exactly ``budget`` characters are read (fewer if the list runs out).
    """
    read: dict[str, list[tuple[int, int]]] = {}
    left = budget
    for f, s, e in retrieved:
        if left <= 0:
            break
        have = read.get(f, [])
        pieces, cur = [], s
        for a, b in have:
            if b <= cur or a >= e:
                continue
            if a > cur:
                pieces.append((cur, a))
            cur = max(cur, b)
        if cur < e:
            pieces.append((cur, e))
        taken = []
        for a, b in pieces:
            if left <= 0:
                break
            b = min(b, a + left)
            taken.append((f, a, b))
            left -= b - a
        if taken:
            read = merge_spans([(g, x, y) for g, xs in read.items() for x, y in xs] + taken)
    return read


def char_precision_recall_at_budget(
    retrieved: Sequence[Span], gold: Sequence[Span], budget: int
) -> tuple[float, float]:
    """Character-level (precision, recall) of what fits in ``budget`` characters read in rank order."""
    got = read_within_budget(retrieved, budget)
    want = merge_spans(gold)
    hit = _overlap(got, want)
    n_got, n_want = _length(got), _length(want)
    return (hit / n_got if n_got else 0.0), (hit / n_want if n_want else 0.0)
