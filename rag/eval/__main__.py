"""``python -m rag.eval legalbench|beir ...``: retrieval quality of the real pipeline.

Both commands ingest the benchmark's documents through the product's own ingest pipeline into a
throw-away collection (or reuse a named one), run every query through :class:`Retriever` once
per ``--modes`` entry, print one row per mode and save the figures under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.eval.machine import machine_info, machine_tag

ALL_MODES = "dense,sparse,hybrid,hybrid+colbert,hybrid+rerank"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rag.eval", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--modes", default="hybrid", help=f"comma-separated, of: {ALL_MODES}")
    common.add_argument("--collection", help="reuse (or fill) this collection instead of a throw-away one")
    common.add_argument("--results", type=Path, help="JSON results file (default: bench/results/...)")
    common.add_argument("--limit", type=int, help="evaluate an even spread of N queries")
    common.add_argument("--backend", help="faiss (default) or a Milvus address, e.g. milvus-lite:///tmp/eval.db "
                        "(overrides RAG_BACKEND; a throw-away collection there is deleted afterwards)")
    lb = sub.add_parser("legalbench", parents=[common], help="LegalBench-RAG character-level P@k/R@k")
    lb.add_argument("--corpus", type=Path, required=True, help="folder holding the benchmark's .txt files")
    lb.add_argument("--benchmark", type=Path, required=True, help="benchmark JSON file")
    lb.add_argument("--dump", type=Path, help="write the ranked spans per query (JSON lines)")
    lb.add_argument("--documents-of", type=Path,
                    help="index the documents of this benchmark (same --limit) and ask only this benchmark's "
                         "questions about them, e.g. cuad_dev_parties over cuad_dev's documents")
    lb.add_argument("--queries", type=int, help="with --documents-of: an even spread of N of the questions "
                    "about those documents (default: --limit)")
    lb.add_argument("--scoping", default="on,off",
                    help="on, off or on,off: rows with document scoping, and/or over the whole collection")
    lb.add_argument("--identity", choices=("embed", "lexical", "none"),
                    help="where chunks carry their document's title and parties (ChunkingConfig.identity; "
                         "default: the product's); a collection reused keeps what it was indexed with")
    be = sub.add_parser("beir", parents=[common], help="BEIR nDCG@10, Recall@10/100, MRR@10")
    be.add_argument("--data", type=Path, required=True, help="folder with corpus.jsonl, queries.jsonl, qrels/")
    be.add_argument("--split", default="test")
    return p


def _modes(text: str) -> list[str]:
    from rag.retrieve import MODES

    modes = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SystemExit(f"unknown mode(s) {unknown}; choose from {ALL_MODES}")
    return modes


@contextlib.contextmanager
def _collection(engine: Any, name: str | None, colbert: bool) -> Iterator[Any]:
    """The collection to evaluate: ``name``, or a throw-away one that is deleted afterwards."""
    if name:
        yield engine.collection(name, create=True, colbert=colbert)
    elif engine.backend.is_milvus:
        throwaway = f"eval-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            yield engine.collection(throwaway, create=True, colbert=colbert)
        finally:
            engine.delete_collection(throwaway)
    else:
        with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
            yield engine.collection(str(Path(tmp) / "collection"), create=True, colbert=colbert)


def _retriever(engine: Any, col: Any, mode: str, scope: bool = True) -> tuple[Any, Any] | None:
    from rag.retrieve import MODES, RetrievalOptions, Retriever

    opts = replace(RetrievalOptions(), **MODES[mode], scope_documents=scope)
    reranker = None
    if opts.rerank:
        reranker = engine.reranker
        if reranker is None:
            print(f"  {mode}: skipped, reranking is disabled (RAG_RERANK_MODEL=none)")
            return None
    if opts.colbert and not engine.encoder.has_colbert:
        print(f"  {mode}: skipped, {engine.encoder.name} has no ColBERT head")
        return None
    return Retriever(col, engine.encoder, reranker, opts), opts


def _ingest(engine: Any, col: Any, sources: list[Any], identity: str | None = None) -> dict[str, Any]:
    from tqdm import tqdm

    from ingest.chunking import ChunkingConfig
    from ingest.pipeline import chunking_for, ingest

    chunking = chunking_for(engine.encoder, ChunkingConfig)
    if identity is not None:
        chunking = replace(chunking, identity=identity)
    bar = tqdm(total=len(sources), unit="doc", desc="ingest", file=sys.stderr)
    t0 = time.perf_counter()
    report = ingest(sources, col, engine.encoder, commit_every=32, chunking=chunking,
                    on_file=lambda i, n, name: (setattr(bar, "n", i), bar.refresh()))
    bar.n = len(sources)
    bar.close()
    failed = report.failed
    for f in failed:
        print(f"  ingest failed: {f.error}", file=sys.stderr)
    if failed:
        raise SystemExit(f"{len(failed)} of {len(sources)} documents failed to ingest: the figures would be wrong")
    return {"seconds": round(time.perf_counter() - t0, 1), "documents": len(sources),
            "failed": len(failed), "chunks": sum(f.chunks for f in report.files if f.status != "failed"),
            "skipped_duplicates": report.count("duplicate")}


def _save(path: Path | None, default_name: str, payload: dict[str, Any]) -> Path:
    out = path or Path("bench/results") / f"{default_name}-{machine_tag()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return out


def run_legalbench(args: argparse.Namespace, engine: Any) -> dict[str, Any]:
    from ingest.pipeline import Source
    from rag.eval.legalbench import OffsetMap, dump, load_paired, print_table, run_queries, score
    from rag.eval.metrics import BUDGETS

    bench = load_paired(args.benchmark, args.limit, args.documents_of, args.queries)
    modes = _modes(args.modes)
    scopings = [s.strip() for s in args.scoping.split(",") if s.strip()]
    if not scopings or set(scopings) - {"on", "off"}:
        raise SystemExit(f"--scoping takes on, off or on,off, not {args.scoping!r}")
    print(f"{bench.name}: {len(bench.queries)} queries over {len(bench.files)} documents, "
          f"model {engine.settings.embed_model}")
    with _collection(engine, args.collection, colbert="hybrid+colbert" in modes) as col:
        sources = [Source(name=f, path=args.corpus / f) for f in bench.files]
        index = _ingest(engine, col, sources, args.identity)
        index["identity"] = args.identity or "default"
        view = col.view()
        index["collection_documents"] = len(view.documents())
        maps = {}
        t0 = time.perf_counter()
        for d in view.documents():
            original = (args.corpus / d.name).read_text(encoding="utf-8")
            maps[d.name] = OffsetMap(view.document(d.id).text, original)
        offsets_s = time.perf_counter() - t0
        rows = []
        for mode in modes:
            for scoping in scopings:
                built = _retriever(engine, col, mode, scope=scoping == "on")
                if built is None:
                    continue
                retriever, opts = built
                label = mode if scoping == "on" else f"{mode}, scoping off"
                results, seconds = run_queries(retriever, bench, maps, opts)
                metrics = score(results, bench)
                rows.append({"mode": label, "scoping": scoping == "on",
                             **{k: round(v, 2) for k, v in metrics.items()},
                             "query_ms_p50": round(1000 * statistics.median(seconds), 1),
                             "query_ms_mean": round(1000 * statistics.fmean(seconds), 1)})
                if args.dump:
                    tag = label.replace(", scoping off", "-noscope")
                    dump(results, args.dump if len(modes) * len(scopings) == 1 else
                         args.dump.with_name(f"{args.dump.stem}-{tag}{args.dump.suffix}"))
    print_table(rows, ["query_ms_p50"])
    index["offset_map_seconds"] = round(offsets_s, 1)
    print(f"index: {index}")
    payload = {"benchmark": bench.name, "queries": len(bench.queries), "limit": args.limit,
               "budgets_chars": list(BUDGETS), "scoping": scopings,
               "documents_of": args.documents_of.stem if args.documents_of else None, "queries_asked": args.queries,
               "backend": engine.settings.backend,
               "model": engine.settings.embed_model, "reranker": engine.settings.rerank_model,
               "index": index, "rows": rows, "machine": machine_info(),
               "date": time.strftime("%Y-%m-%d")}
    saved = _save(args.results, f"legalbench-{bench.name}", payload)
    print(f"saved {saved}")
    return payload


def run_beir(args: argparse.Namespace, engine: Any) -> dict[str, Any]:
    from ingest.pipeline import Source
    from rag.eval.metrics import mrr_at, ndcg_at, recall_at

    data = args.data
    corpus = [json.loads(line) for line in (data / "corpus.jsonl").open(encoding="utf-8") if line.strip()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (data / "queries.jsonl").open(encoding="utf-8"))}
    qrels: dict[str, dict[str, float]] = {}
    for i, line in enumerate((data / "qrels" / f"{args.split}.tsv").open(encoding="utf-8")):
        parts = line.rstrip("\n").split("\t")
        if i == 0 and not parts[-1].lstrip("-").isdigit():
            continue
        qrels.setdefault(parts[0], {})[parts[1]] = float(parts[2])
    qids = [q for q in qrels if q in queries]
    if args.limit and args.limit < len(qids):
        step = len(qids) / args.limit
        qids = [qids[int(i * step)] for i in range(args.limit)]
    modes = _modes(args.modes)
    print(f"{data.name}: {len(qids)} queries over {len(corpus)} documents, model {engine.settings.embed_model}")
    with _collection(engine, args.collection, colbert="hybrid+colbert" in modes) as col:
        sources = [Source.upload(f"{d['_id']}.txt", ((d.get("title") or "").strip() + "\n\n" + d["text"]).strip().encode())
                   for d in corpus]
        index = _ingest(engine, col, sources)
        rows = []
        for mode in modes:
            built = _retriever(engine, col, mode)
            if built is None:
                continue
            retriever, opts = built
            stats: dict[str, list[float]] = {"nDCG@10": [], "R@10": [], "R@100": [], "MRR@10": []}
            seconds = []
            for qid in qids:
                t0 = time.perf_counter()
                hits = retriever.search(queries[qid], top_k=100, options=opts).hits
                seconds.append(time.perf_counter() - t0)
                ranked: list[str] = []
                for h in hits:
                    doc = h.chunk.doc_name.removesuffix(".txt")
                    if doc not in ranked:
                        ranked.append(doc)
                rel = qrels[qid]
                stats["nDCG@10"].append(ndcg_at(ranked, rel, 10))
                stats["R@10"].append(recall_at(ranked, rel, 10))
                stats["R@100"].append(recall_at(ranked, rel, 100))
                stats["MRR@10"].append(mrr_at(ranked, rel, 10))
            rows.append({"mode": mode, **{k: round(100 * statistics.fmean(v), 2) for k, v in stats.items()},
                         "query_ms_p50": round(1000 * statistics.median(seconds), 1)})
    for r in rows:
        print(" | ".join(f"{k}={v}" for k, v in r.items()))
    payload = {"benchmark": data.name, "queries": len(qids), "model": engine.settings.embed_model,
               "index": index, "rows": rows, "machine": machine_info(), "date": time.strftime("%Y-%m-%d")}
    saved = _save(args.results, f"beir-{data.name}", payload)
    print(f"saved {saved}")
    return payload


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from rag.config import load_settings
    from rag.engine import Engine

    settings = load_settings()
    engine = Engine(replace(settings, backend=args.backend) if args.backend else settings)
    if args.command == "legalbench":
        run_legalbench(args, engine)
    else:
        run_beir(args, engine)
    return 0


if __name__ == "__main__":
    sys.exit(main())
