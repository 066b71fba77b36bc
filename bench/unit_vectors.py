"""Unit vectors stored at ingest vs embedded at the first question: latency, side by side.

Ingests a LegalBench-RAG benchmark's documents twice through the product's ingest pipeline:

- ``stored``: as the app does now: every chunk's units embedded right after the commit
  (``rag/retrieve/unit_vectors.py``, the hook in ``ingest/pipeline.py``);
- ``lazy``: the hook switched off, as before: the units of a chunk are embedded the first time
  it is a candidate (and then kept in the unit-vector file).

Then, on each collection, one retriever asks for each document the first of the benchmark's
questions about it (told the document, as the Clause lookup page and a scoped chat question
are), then the same question again: "first" is the first question over that document, "warm"
the repeat. Figures: ingest seconds, and first / warm query time (p50, mean, max) per plan.

    RAG_EMBED_MODEL=demo RAG_RERANK_MODEL=none nice -n 5 python bench/unit_vectors.py \\
        --benchmark ../shared/eval/legal/benchmarks/cuad_dev.json \\
        --corpus ../shared/eval/legal/corpus --documents 10
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.eval.legalbench import load_benchmark  # noqa: E402
from rag.eval.machine import save_results  # noqa: E402


def _ingest(engine: Any, path: Path, corpus: Path, files: list[str], hook: bool) -> tuple[Any, float]:
    import ingest.pipeline as pipeline

    col = engine.collection(str(path), create=True)
    saved = pipeline._store_unit_vectors
    if not hook:
        pipeline._store_unit_vectors = lambda *a, **k: None  # type: ignore[assignment]
    try:
        t0 = time.perf_counter()
        report = pipeline.ingest([pipeline.Source(name=f, path=corpus / f) for f in files], col, engine.encoder)
        seconds = time.perf_counter() - t0
    finally:
        pipeline._store_unit_vectors = saved  # type: ignore[assignment]
    if report.failed:
        raise SystemExit(f"{len(report.failed)} documents failed to ingest")
    return col, seconds


def _stats(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": round(1000 * statistics.median(xs), 1), "mean_ms": round(1000 * statistics.fmean(xs), 1),
            "max_ms": round(1000 * max(xs), 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--documents", type=int, default=10, help="an even spread of this many documents")
    p.add_argument("--results", type=Path)
    args = p.parse_args()

    from rag.config import load_settings
    from rag.engine import Engine
    from rag.retrieve import RetrievalOptions, Retriever

    engine = Engine(load_settings())
    everything = load_benchmark(args.benchmark)
    files = everything.files
    if args.documents < len(files):
        step = len(files) / args.documents
        files = [files[int(i * step)] for i in range(args.documents)]
    first_q = {}
    for q, gold in zip(everything.queries, everything.gold):
        f = gold[0][0]
        if f in files and f not in first_q:
            first_q[f] = q
    load = [os.getloadavg()[0]]
    print(f"{everything.name}: {len(files)} documents, model {engine.settings.embed_model}", flush=True)
    opts = RetrievalOptions(rerank=False, colbert=False)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-units-") as tmp:
        for plan, hook in (("stored", True), ("lazy", False)):
            col, ingest_s = _ingest(engine, Path(tmp) / plan, args.corpus, files, hook)
            load.append(os.getloadavg()[0])
            retriever = Retriever(col, engine.encoder, None, opts)
            retriever.search("warm-up: notice period", top_k=8)  # per-collection state, not per document
            first, warm = [], []
            for f in files:
                for out in (first, warm):
                    t0 = time.perf_counter()
                    retriever.search(first_q[f], top_k=64, documents=[f])
                    out.append(time.perf_counter() - t0)
            index = retriever._cache._units  # type: ignore[union-attr]
            row = {"plan": plan, "ingest_s": round(ingest_s, 1),
                   "chunks": sum(d.chunks for d in col.view().documents()),
                   "first": _stats(first), "warm": _stats(warm),
                   "chunks_read_from_disk": index.loaded, "chunks_embedded_at_query": index.embedded}
            rows.append(row)
            print(json.dumps(row), flush=True)
            load.append(os.getloadavg()[0])
    payload = {"benchmark": everything.name, "documents": len(files), "model": engine.settings.embed_model,
               "rows": rows, "load_1min": [round(x, 1) for x in load]}
    save_results(payload, args.results, f"unit-vectors-{everything.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
