"""``python -m rag.eval.compare``: two rankings of one benchmark's questions side by side.

Reads two ``--dump`` files of ``python -m rag.eval legalbench`` (the same questions, e.g. before
and after a change) and prints, at each budget, recall on the dev and held-out halves (the seeded
split of ``bench/span_tuning.py``: choose on dev, report held-out) and the paired difference per
question with a bootstrap 95% interval, so a change can be told from noise:

    python -m rag.eval.compare --benchmark ../shared/eval/legal/benchmarks/cuad_dev_parties.json \\
        --documents-of ../shared/eval/legal/benchmarks/cuad_dev.json --limit 30 --queries 150 \\
        before-hybrid.jsonl after-hybrid.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path
from typing import Sequence

from rag.eval.legalbench import Benchmark, load_paired
from rag.eval.metrics import char_precision_recall_at_budget

SEED = 13  # bench/span_tuning.py's


def split(n: int, seed: int = SEED) -> tuple[list[int], list[int]]:
    """Dev and held-out question indices: a seeded shuffle cut in half (as bench/span_tuning.py)."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    half = n // 2
    return sorted(idx[:half]), sorted(idx[half:])


def read_dump(path: Path) -> list[list[tuple[str, int, int]]]:
    """Ranked (file, start, end) per question, in question order."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda r: r["query_index"])
    return [[(x["file_path"], int(x["span"][0]), int(x["span"][1])) for x in r["retrieved"]] for r in rows]


def recalls(ranked: Sequence[Sequence[tuple[str, int, int]]], bench: Benchmark, budget: int) -> list[float]:
    """Character recall of each question at ``budget`` characters."""
    if len(ranked) != len(bench.gold):
        raise ValueError(f"the dump has {len(ranked)} questions, the benchmark {len(bench.gold)}: not the same run")
    return [char_precision_recall_at_budget(list(r), g, budget)[1] for r, g in zip(ranked, bench.gold)]


def paired(a: Sequence[float], b: Sequence[float], samples: int = 2000,
           seed: int = 0) -> tuple[float, float, float, int, int]:
    """Mean of ``b - a`` per question, its bootstrap 95% interval, and how many questions got
    better and worse."""
    d = [y - x for x, y in zip(a, b, strict=True)]
    if not d:
        raise ValueError("no questions to compare")
    rng = random.Random(seed)
    boots = sorted(statistics.fmean(rng.choices(d, k=len(d))) for _ in range(samples))
    lo, hi = boots[int(0.025 * samples)], boots[int(0.975 * samples) - 1]
    return statistics.fmean(d), lo, hi, sum(x > 1e-9 for x in d), sum(x < -1e-9 for x in d)


def compare(bench: Benchmark, before: Path, after: Path, budgets: Sequence[int]) -> list[dict[str, float]]:
    """One row per budget: recall (%) of both on the dev / held-out halves and all, and the paired difference."""
    a_ranked, b_ranked = read_dump(before), read_dump(after)
    dev, held = split(len(bench.gold))
    rows = []
    for budget in budgets:
        a, b = recalls(a_ranked, bench, budget), recalls(b_ranked, bench, budget)
        mean, lo, hi, better, worse = paired(a, b)
        row: dict[str, float] = {"budget": budget}
        for name, idx in (("dev", dev), ("held_out", held), ("all", range(len(a)))):
            row[f"before_{name}"] = round(100 * statistics.fmean(a[i] for i in idx), 2)
            row[f"after_{name}"] = round(100 * statistics.fmean(b[i] for i in idx), 2)
        row.update(diff=round(100 * mean, 2), ci_low=round(100 * lo, 2), ci_high=round(100 * hi, 2),
                   better=better, worse=worse)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rag.eval.compare", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--documents-of", type=Path)
    p.add_argument("--limit", type=int)
    p.add_argument("--queries", type=int)
    p.add_argument("--budgets", default="2000,8000", help="comma-separated character budgets")
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    args = p.parse_args(argv)
    bench = load_paired(args.benchmark, args.limit, args.documents_of, args.queries)
    rows = compare(bench, args.before, args.after, [int(b) for b in args.budgets.split(",") if b.strip()])
    for r in rows:
        print(f"R@{r['budget']}ch  dev {r['before_dev']} -> {r['after_dev']}  held-out {r['before_held_out']} -> "
              f"{r['after_held_out']}  all {r['before_all']} -> {r['after_all']}  paired {r['diff']:+.2f} "
              f"[{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]  better {r['better']}, worse {r['worse']} of {len(bench.gold)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
