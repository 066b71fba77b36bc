"""Small to big, measured: what granularity to rank inside a document, at equal reading budgets.

Ingests a LegalBench-RAG benchmark's documents twice through the product's ingest pipeline
(clause chunks as the app makes them, and fine chunks of unit size: ``ingest.units.UnitConfig``)
and scores, side by side on the same queries:

- ``clause``: clause chunks ranked as they are (spans off): the pre-issue-13 pipeline;
- ``fine-index``: fine units indexed separately at ingest, ranked directly;
- ``derived``: clause chunks, their units derived and ranked at query time (the default).

The units of ``derived`` are embedded at ingest (``rag/retrieve/unit_vectors.py``), so its query
times no longer include embedding them; ``bench/unit_vectors.py`` measures that difference. ``--answers`` adds the median length of a cited span and of a quote in
extractive answers (no LLM).

Figures: character-level recall and precision at budgets of 1,000-8,000 characters read in
rank order (``rag.eval.metrics.char_precision_recall_at_budget``), P@1 and R@1 of the first
hit, R@16, the median length of the first hit, and query time.

    RAG_EMBED_MODEL=demo RAG_RERANK_MODEL=none nice -n 5 python bench/spans.py \\
        --benchmark ../shared/eval/legal/benchmarks/privacy_qa.json \\
        --corpus ../shared/eval/legal/corpus --limit 100
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.eval.legalbench import OffsetMap, load_benchmark  # noqa: E402
from rag.eval.machine import save_results  # noqa: E402
from rag.eval.metrics import BUDGETS, char_precision_recall, char_precision_recall_at_budget  # noqa: E402


def _ingest(engine: Any, path: Path, corpus: Path, files: list[str], chunking: Any) -> tuple[Any, dict]:
    from ingest.pipeline import Source, ingest

    if path.exists():  # --workdir: reuse what an earlier run ingested
        col = engine.collection(str(path))
        return col, {"reused": str(path), "chunks": sum(d.chunks for d in col.view().documents())}
    col = engine.collection(str(path), create=True)
    t0 = time.perf_counter()
    report = ingest([Source(name=f, path=corpus / f) for f in files], col, engine.encoder,
                    chunking=chunking, commit_every=64)
    if report.failed:
        raise SystemExit(f"{len(report.failed)} documents failed to ingest")
    n = sum(f.chunks for f in report.files if f.status != "failed")
    return col, {"seconds": round(time.perf_counter() - t0, 1), "chunks": n}


def _evaluate(retriever: Any, bench: Any, maps: dict[str, OffsetMap], options: Any,
              told: bool = False) -> dict[str, float]:
    """Figures of one plan; ``told``: each query searches only its gold document(s), as the
    told-the-right-document baseline does (bench/baselines.py)."""
    rows: dict[str, list[float]] = {}
    seconds, first_len = [], []
    for q, gold in zip(bench.queries, bench.gold):
        t0 = time.perf_counter()
        docs = sorted({f for f, _, _ in gold}) if told else None
        hits = retriever.search(q, top_k=64, options=options, documents=docs).hits
        seconds.append(time.perf_counter() - t0)
        ranked = [(h.chunk.doc_name, maps[h.chunk.doc_name](h.start), maps[h.chunk.doc_name](h.end)) for h in hits]
        if hits:
            first_len.append(len(hits[0].text))
        for k in (1, 16):
            p, r = char_precision_recall(ranked, gold, k)
            rows.setdefault(f"P@{k}", []).append(p)
            rows.setdefault(f"R@{k}", []).append(r)
        for b in BUDGETS:
            p, r = char_precision_recall_at_budget(ranked, gold, b)
            rows.setdefault(f"P@{b}c", []).append(p)
            rows.setdefault(f"R@{b}c", []).append(r)
    out = {k: round(100 * statistics.fmean(v), 2) for k, v in rows.items()}
    out["first_hit_chars_p50"] = statistics.median(first_len) if first_len else 0
    out["query_ms_p50"] = round(1000 * statistics.median(seconds), 1)
    return out


def _answer_lengths(retriever: Any, bench: Any, options: Any) -> dict[str, float]:
    """Extractive answers (no LLM): median characters of a cited span and of a quote."""
    from rag.answer import answer, make_llm
    from rag.config import Settings

    llm = make_llm(Settings())  # nothing configured: the extractive backend
    cited, quoted = [], []
    for q in bench.queries:
        hits = retriever.search(q, top_k=8, options=options).hits
        stream = answer(q, hits, llm)
        text = "".join(stream)
        cited += [len(c.hit.text) for c in stream.result.citations if c.cited]
        quoted += [len(line) - 2 for line in text.splitlines() if line.startswith("> ")]
    return {"cited_span_chars_p50": statistics.median(cited) if cited else 0,
            "quote_chars_p50": statistics.median(quoted) if quoted else 0, "cited_spans": len(cited)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--variants", default="clause,fine-index,derived")
    p.add_argument("--parent-weights", default="0.5", help="span_parent_weight values to try (derived)")
    p.add_argument("--merge-chars", default="600", help="span merge caps to try (derived)")
    p.add_argument("--sparse-weights", default="0.3", help="span_sparse weights to try (derived)")
    p.add_argument("--merge-window", default="3", help="span merge windows to try (derived)")
    p.add_argument("--told", action="store_true", help="also run each plan told the right document")
    p.add_argument("--answers", action="store_true", help="also measure cited-span length in extractive answers")
    p.add_argument("--workdir", type=Path, help="keep the ingested collections here and reuse them")
    p.add_argument("--results", type=Path)
    args = p.parse_args()

    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import chunking_for
    from ingest.units import UnitConfig
    from rag.config import load_settings
    from rag.engine import Engine
    from rag.retrieve import RetrievalOptions, Retriever
    from rag.retrieve.spans import SpanWeights

    engine = Engine(load_settings())
    bench = load_benchmark(args.benchmark, args.limit)
    variants = args.variants.split(",")
    print(f"{bench.name}: {len(bench.queries)} queries over {len(bench.files)} documents, "
          f"model {engine.settings.embed_model}", flush=True)
    base = RetrievalOptions(rerank=False, colbert=False)
    rows, index = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-spans-") as scratch:
        tmp = str(args.workdir / f"{bench.name}-{args.limit}") if args.workdir else scratch
        cols = {}
        if {"clause", "derived"} & set(variants):
            cols["clause"], index["clause"] = _ingest(engine, Path(tmp) / "clause", args.corpus, bench.files,
                                                      chunking_for(engine.encoder, ChunkingConfig))
        if "fine-index" in variants:
            cols["fine"], index["fine"] = _ingest(engine, Path(tmp) / "fine", args.corpus, bench.files,
                                                  UnitConfig().chunking())
        print(f"index: {index}", flush=True)
        some = next(iter(cols.values())).view()
        maps = {d.name: OffsetMap(some.document(d.id).text, (args.corpus / d.name).read_text(encoding="utf-8"))
                for d in some.documents()}
        plans: list[tuple[str, str, Any]] = []
        if "clause" in variants:
            plans.append(("clause", "clause", replace(base, spans=False)))
        if "fine-index" in variants:
            plans.append(("fine-index", "fine", replace(base, spans=False)))
        if "derived" in variants:
            for w in (float(x) for x in args.parent_weights.split(",")):
                for cap in (int(x) for x in args.merge_chars.split(",")):
                    for win in (int(x) for x in args.merge_window.split(",")):
                        for sw in (float(x) for x in args.sparse_weights.split(",")):
                            tag = f",sparse={sw}" if sw != SpanWeights().sparse else ""
                            plans.append((f"derived(parent={w},merge={cap},window={win}{tag})", "clause",
                                          replace(base, span_weights=SpanWeights(
                                              sparse=sw, parent=w, merge_chars=cap, merge_window=win))))
        #: one retriever per collection: the derived units are embedded once and shared by the plans
        retrievers = {c: Retriever(cols[c], engine.encoder, None, base) for c in cols}
        for name, col, opts in plans:
            retriever = retrievers[col]
            row = {"variant": name, **_evaluate(retriever, bench, maps, opts)}
            if args.told:
                print(json.dumps(row), flush=True)
                rows.append(row)
                row = {"variant": name + ", right document", **_evaluate(retriever, bench, maps, opts, told=True)}
            if args.answers:
                row.update(_answer_lengths(retriever, bench, opts))
            rows.append(row)
            print(json.dumps(row), flush=True)
    payload = {"benchmark": bench.name, "queries": len(bench.queries), "limit": args.limit,
               "model": engine.settings.embed_model, "reranker": engine.settings.rerank_model,
               "index": index, "rows": rows}
    save_results(payload, args.results, f"spans-{bench.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
