"""Span-ranking settings, tuned on half the questions and reported on the other half.

Runs a LegalBench-RAG benchmark's questions through the real pipeline (the same ingest, the
same scoring as ``python -m rag.eval legalbench``) once per plan, and reports recall at
1,000-8,000 characters separately on a **dev** half (fixed seed; choose settings there) and on
the **held-out** half (report there), and on all questions. A plan is a name and settings:

    --plan "default:"  --plan "strip:drop_naming_words=sparse"  --plan "c30:span_chunks=30,parent=0.5"

Settings are ``RetrievalOptions`` fields (``span_chunks``, ``drop_naming_words``,
``scope_documents``, ...) and ``SpanWeights`` fields (``dense``, ``sparse``, ``parent``,
``merge_chars``, ``merge_window``), and ``ScopingConfig.naming_max_df``; ``told=1`` searches each
question's gold document(s) only.

    RAG_EMBED_MODEL=demo RAG_RERANK_MODEL=none nice -n 5 python bench/span_tuning.py \\
        --benchmark ../shared/eval/legal/benchmarks/privacy_qa.json \\
        --corpus ../shared/eval/legal/corpus --collection /tmp/cols/privacy_qa --plan "default:"
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.eval.legalbench import OffsetMap, hit_span, load_paired  # noqa: E402
from rag.eval.machine import save_results  # noqa: E402
from rag.eval.metrics import BUDGETS, char_precision_recall_at_budget  # noqa: E402

SEED = 13


def split(n: int, seed: int = SEED) -> tuple[list[int], list[int]]:
    """Dev and held-out query indices: a seeded shuffle cut in half."""
    idx = list(range(n))
    random.Random(seed).shuffle(idx)
    half = n // 2
    return sorted(idx[:half]), sorted(idx[half:])


def parse_plan(text: str) -> tuple[str, dict[str, Any]]:
    """``"name:key=value,key=value"`` -> (name, settings); values are numbers, 0/1 or words."""
    name, _, rest = text.partition(":")
    settings: dict[str, Any] = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        key, _, value = item.partition("=")
        value = value.strip()
        try:
            settings[key.strip()] = float(value) if "." in value else int(value)
        except ValueError:
            settings[key.strip()] = value
    return name.strip() or "default", settings


def options_for(settings: dict[str, Any]) -> tuple[Any, bool]:
    from rag.retrieve import RetrievalOptions
    from rag.retrieve.spans import SpanWeights

    base = RetrievalOptions(rerank=False, colbert=False)
    weights = {f.name for f in dataclasses.fields(SpanWeights)}
    opts = {f.name: f.type for f in dataclasses.fields(RetrievalOptions)}
    told = bool(settings.get("told", 0))
    w, o = {}, {}
    for k, v in settings.items():
        if k in ("told", "naming_max_df"):
            continue
        if k in weights:
            w[k] = int(v) if k in ("merge_chars", "merge_window") else float(v)
        elif k in opts:
            o[k] = bool(v) if isinstance(getattr(base, k), bool) else type(getattr(base, k))(v)
        else:
            raise SystemExit(f"unknown setting {k!r}")
    return dataclasses.replace(base, span_weights=dataclasses.replace(base.span_weights, **w), **o), told


def recalls(retriever: Any, bench: Any, maps: dict[str, OffsetMap], options: Any, told: bool
            ) -> tuple[list[dict[int, float]], list[float]]:
    per_query, seconds = [], []
    for q, gold in zip(bench.queries, bench.gold):
        docs = sorted({f for f, _, _ in gold}) if told else None
        t0 = time.perf_counter()
        hits = retriever.search(q, top_k=64, options=options, documents=docs).hits
        seconds.append(time.perf_counter() - t0)
        ranked = []
        for h in hits:
            m = maps[h.chunk.doc_name]
            s, e = hit_span(h)
            ranked.append((h.chunk.doc_name, m(s), m.end(e)))
        per_query.append({b: char_precision_recall_at_budget(ranked, gold, b)[1] for b in BUDGETS})
    return per_query, seconds


def summarise(per_query: list[dict[int, float]], idx: list[int]) -> dict[str, float]:
    return {f"R@{b}": round(100 * statistics.fmean(per_query[i][b] for i in idx), 2) for b in BUDGETS}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--collection", type=Path, required=True, help="collection folder (ingested if new)")
    p.add_argument("--limit", type=int)
    p.add_argument("--documents-of", type=Path)
    p.add_argument("--queries", type=int)
    p.add_argument("--plan", action="append", default=[], help="name:key=value,... (repeat)")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--results", type=Path)
    p.add_argument("--per-query", type=Path, help="write each plan's recall per question here (JSON lines)")
    args = p.parse_args()

    from ingest.pipeline import Source, ingest
    from rag.config import load_settings
    from rag.engine import Engine
    from rag.retrieve import Retriever
    from rag.retrieve.scoping import ScopingConfig

    engine = Engine(load_settings())
    bench = load_paired(args.benchmark, args.limit, args.documents_of, args.queries)
    dev, held = split(len(bench.queries), args.seed)
    col = engine.collection(str(args.collection), create=True)
    report = ingest([Source(name=f, path=args.corpus / f) for f in bench.files], col, engine.encoder, commit_every=32)
    if report.failed:
        raise SystemExit(f"{len(report.failed)} documents failed to ingest")
    view = col.view()
    maps = {d.name: OffsetMap(view.document(d.id).text, (args.corpus / d.name).read_text(encoding="utf-8"))
            for d in view.documents()}
    retriever = Retriever(col, engine.encoder, None)
    print(f"{bench.name}: {len(bench.queries)} queries ({len(dev)} dev, {len(held)} held out), "
          f"{len(bench.files)} documents, model {engine.settings.embed_model}, load {os.getloadavg()[0]:.1f}",
          flush=True)
    rows = []
    for text in args.plan or ["default:"]:
        name, settings = parse_plan(text)
        options, told = options_for(settings)
        retriever.scoping = dataclasses.replace(ScopingConfig(), naming_max_df=float(settings.get("naming_max_df", 1.0)))
        per_query, seconds = recalls(retriever, bench, maps, options, told)
        row = {"plan": name, "settings": settings, "dev": summarise(per_query, dev),
               "held_out": summarise(per_query, held), "all": summarise(per_query, list(range(len(per_query)))),
               "query_ms_p50": round(1000 * statistics.median(seconds), 1), "load_1min": round(os.getloadavg()[0], 1)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.per_query:
            with args.per_query.open("a", encoding="utf-8") as fh:
                for i, r in enumerate(per_query):
                    fh.write(json.dumps({"plan": name, "query_index": i, "dev": i in dev,
                                         **{f"R@{b}": round(v, 4) for b, v in r.items()}}) + "\n")
    payload = {"benchmark": bench.name, "queries": len(bench.queries), "limit": args.limit,
               "documents_of": args.documents_of.stem if args.documents_of else None, "seed": args.seed,
               "dev_queries": len(dev), "held_out_queries": len(held), "model": engine.settings.embed_model,
               "rows": rows}
    save_results(payload, args.results, f"span-tuning-{bench.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
