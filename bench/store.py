"""Collection store at 10k / 100k / 1M chunks: build time, bytes on disk, memory, query latency.

Synthetic data, deterministic per seed (no models needed):

* dense: 1024-d, L2-normalised; each chunk is one of ``--clusters`` random centres plus
  Gaussian noise of the same norm (cosine ~0.7 to its centre, ~0.5 within a cluster,
  ~0 across), so nearest neighbours are meaningful and approximate indexes can be judged
  by recall. Queries: a centre plus fresh noise.
* sparse: ``--draws`` token draws per chunk from a Zipf(s=1) distribution over a 250k
  vocabulary (ranks shuffled onto token ids); the distinct tokens (~60 per chunk) are the
  chunk's postings. Lexical weights are log-normal (median 0.12, like BGE-M3 output);
  repeated draws are the term frequencies of the BM25 corpus. Queries: ``--query-draws``
  draws from the same distribution (so they include very frequent tokens).
* text: ~500 characters per chunk, 20 chunks per document, so the catalog is realistic.

Per size, one run builds:

* ``lexical``: the collection under test (``sparse="lexical"``, ``--dense-index``),
  added in commits of ``--batch`` chunks, then compacted into one segment;
* ``bm25``: the same postings as term frequencies (``sparse="bm25"``; its dense part is
  8-d, as only its sparse search is timed), compared with ``bm25s`` over the very same
  postings (each chunk's token ids repeated by their term frequency, ``method="lucene"``,
  ``k1=1.5, b=0.75``: the same scoring formula).

Queries run in fresh subprocesses (one for the collections, one for bm25s) so resident
memory is that of a reader process, not of the builder. Latency is per single query
(p50/p95 over ``--queries`` after warm-up) with ``--threads`` OpenMP/BLAS threads:
dense top-100, sparse top-100 (lexical and BM25), dense + lexical sparse one after the
other and side by side (two threads, as retrieval runs them: ``rag.retrieve.channels``),
bm25s ``retrieve`` and bm25s' scoring core (``get_scores_from_ids`` + ``selection.topk``). Dense recall@100 is against exact
search over the same vectors (computed while generating them).

Run:  python bench/store.py --sizes 10k,100k [--dense-index ivf] [--queries 200]
Writes bench/results/store-<machine>.json (``--prefix`` names another file; sizes already there from earlier runs are kept
unless re-run) and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from rag.documents import Chunk, Document  # noqa: E402
from rag.eval.machine import cpu_model, package_versions  # noqa: E402

CHUNKS_PER_DOC = 20
TEXT_POOL = 4096


# ---------------------------------------------------------------------- synthetic data
class Synth:
    """Deterministic synthetic chunks, generated in batches (the same batch index gives the same data)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.dim = args.dim
        self.vocab = args.vocab
        self.draws = args.draws
        self.seed = args.seed
        # independent streams, so that e.g. the dimension does not change the vocabulary mapping
        rng = np.random.default_rng([args.seed, 1])
        centres = rng.standard_normal((args.clusters, args.dim)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        p = 1.0 / np.arange(1, args.vocab + 1, dtype=np.float64) ** args.zipf
        self.cdf = np.cumsum(p) / p.sum()
        self.rank_to_term = np.random.default_rng([args.seed, 2]).permutation(args.vocab).astype(np.int64)
        words = np.array("agreement party shall term notice breach liability indemnity licence payment fee "
                         "confidential termination governing law warranty assignment clause schedule".split())
        rng = np.random.default_rng([args.seed, 3])
        self.texts = [" ".join(rng.choice(words, size=int(rng.integers(60, 90)))) for _ in range(TEXT_POOL)]

    def dense(self, rng: np.random.Generator, n: int) -> np.ndarray:
        cl = rng.integers(0, len(self.centres), n)
        x = self.centres[cl] + rng.standard_normal((n, self.dim), dtype=np.float32) / np.float32(np.sqrt(self.dim))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def tokens(self, rng: np.random.Generator, n: int, draws: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """COO ``(rows, terms, tf)``: distinct terms per row with their counts."""
        t = self.rank_to_term[np.searchsorted(self.cdf, rng.random((n, draws)))]
        t.sort(axis=1)
        first = np.ones_like(t, dtype=bool)
        first[:, 1:] = t[:, 1:] != t[:, :-1]
        rows = np.repeat(np.arange(n), first.sum(axis=1))
        starts = np.flatnonzero(first.ravel())
        tf = np.diff(np.append(starts, t.size))
        return rows, t.ravel()[starts], tf.astype(np.float32)

    def batch(self, b: int, n: int) -> dict:
        rng = np.random.default_rng([self.seed, b])
        dense = self.dense(rng, n)
        rows, terms, tf = self.tokens(rng, n, self.draws)
        weights = np.clip(rng.lognormal(np.log(0.12), 0.5, len(terms)), 0.01, 0.6).astype(np.float32)
        text_ids = rng.integers(0, TEXT_POOL, n)
        return {"dense": dense, "rows": rows, "terms": terms, "tf": tf, "weights": weights, "text_ids": text_ids}

    def queries(self, n: int) -> dict:
        rng = np.random.default_rng([self.seed, 10**9])
        dense = self.dense(rng, n)
        rows, terms, _ = self.tokens(rng, n, QUERY_DRAWS)
        weights = np.clip(rng.lognormal(np.log(0.12), 0.5, len(terms)), 0.01, 0.6)
        sparse = [dict() for _ in range(n)]
        for r, t, w in zip(rows.tolist(), terms.tolist(), weights.tolist()):
            sparse[r][t] = w
        return {"dense": dense, "sparse": sparse}


QUERY_DRAWS = 12


def batches(total: int, size: int):
    b = 0
    for start in range(0, total, size):
        yield b, start, min(size, total - start)
        b += 1


def split_rows(rows: np.ndarray, values: np.ndarray, terms: np.ndarray, n: int) -> list[dict[int, float]]:
    bounds = np.searchsorted(rows, np.arange(n + 1))
    t, v = terms.tolist(), values.tolist()
    return [dict(zip(t[a:b], v[a:b])) for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist())]


# ---------------------------------------------------------------------- build
def batch_inputs(synth: Synth, b: int, start: int, m: int, small: np.random.Generator) -> tuple:
    """One commit's workload: the synthetic batch, its lexical and BM25 sparse dicts, the BM25
    collection's 8-d vectors and the documents ``(Document, chunks, first row, end row)``."""
    data = synth.batch(b, m)
    lex_sparse = split_rows(data["rows"], data["weights"], data["terms"], m)
    bm_sparse = split_rows(data["rows"], data["tf"], data["terms"], m)
    dense8 = small.standard_normal((m, 8)).astype(np.float32)
    docs = []
    for d0 in range(0, m, CHUNKS_PER_DOC):
        d1 = min(m, d0 + CHUNKS_PER_DOC)
        texts = [synth.texts[i] for i in data["text_ids"][d0:d1].tolist()]
        chunks, pos = [], 0
        for t in texts:
            chunks.append(Chunk(pos, pos + len(t), t, t))
            pos += len(t) + 1
        docs.append((Document(name=f"doc-{start + d0:08d}.txt", text="\n".join(texts)), chunks, d0, d1))
    return data, lex_sparse, bm_sparse, dense8, docs


def add_batch(lex, bm, data: dict, lex_sparse: list, bm_sparse: list, dense8: np.ndarray, docs: list,
              start: int) -> tuple[float, float]:
    """Commit one batch to each collection (whatever its backend); the seconds each took."""
    t0 = time.perf_counter()
    with lex.writer() as w:
        for doc, chunks, d0, d1 in docs:
            w.add_document(doc, chunks, data["dense"][d0:d1], lex_sparse[d0:d1], content_hash=f"h{start + d0}")
    t_lex = time.perf_counter() - t0
    t0 = time.perf_counter()
    with bm.writer() as w:
        for doc, chunks, d0, d1 in docs:
            w.add_document(doc, chunks, dense8[d0:d1], bm_sparse[d0:d1], content_hash=f"h{start + d0}")
    return t_lex, time.perf_counter() - t0


def compact_both(lex, bm) -> tuple[float, float]:
    """Compact each collection; the seconds each took."""
    t0 = time.perf_counter()
    lex.compact()
    t_lex = time.perf_counter() - t0
    t0 = time.perf_counter()
    bm.compact()
    return t_lex, time.perf_counter() - t0


def build(args, synth: Synth, n: int, root: Path, queries: dict) -> dict:
    """Build both collections; returns timings and the exact dense top-100 of the queries."""
    from rag.store import IndexOptions, ModelInfo, create_collection

    opts = IndexOptions(merge_factor=64, flush_rows=args.batch, approx_min_rows=args.approx_min_rows,
                        ivf_nprobe=args.nprobe, hnsw_ef_search=args.ef_search)
    lex = create_collection(root, "lexical", ModelInfo("synthetic-1024", args.dim, "lexical", None, args.dense_index), opts)
    bm = create_collection(root, "bm25", ModelInfo("synthetic-8", 8, "bm25", None, "flat"), opts)
    k = 100
    gt_scores = np.full((len(queries["dense"]), k), -np.inf, dtype=np.float32)
    gt_ids = np.full((len(queries["dense"]), k), -1, dtype=np.int64)
    t_lex = t_bm = t_gen = 0.0
    small = np.random.default_rng(args.seed + 7)
    next_id = 1
    terms_per_chunk = []
    for b, start, m in batches(n, args.batch):
        t0 = time.perf_counter()
        data, lex_sparse, bm_sparse, dense8, docs = batch_inputs(synth, b, start, m, small)
        # exact dense top-100 of the queries, for recall (chunk ids are assigned in order from 1)
        scores = queries["dense"] @ data["dense"].T
        ids = np.arange(next_id, next_id + m)
        all_s = np.hstack([gt_scores, scores])
        all_i = np.hstack([gt_ids, np.broadcast_to(ids, scores.shape)])
        top = np.argpartition(-all_s, k - 1, axis=1)[:, :k]
        gt_scores = np.take_along_axis(all_s, top, 1)
        gt_ids = np.take_along_axis(all_i, top, 1)
        next_id += m
        terms_per_chunk.append(np.bincount(data["rows"], minlength=m))
        t_gen += time.perf_counter() - t0

        dt_lex, dt_bm = add_batch(lex, bm, data, lex_sparse, bm_sparse, dense8, docs, start)
        t_lex += dt_lex
        t_bm += dt_bm
        print(f"  built {start + m:>9,} / {n:,} chunks", flush=True)
    t_lex_compact, t_bm_compact = compact_both(lex, bm)
    tpc = np.concatenate(terms_per_chunk)
    return {
        "generate_s": round(t_gen, 2),
        "lexical_add_commit_s": round(t_lex, 2),
        "lexical_compact_s": round(t_lex_compact, 2),
        "bm25_add_commit_s": round(t_bm, 2),
        "bm25_compact_s": round(t_bm_compact, 2),
        "terms_per_chunk_mean": round(float(tpc.mean()), 2),
        "postings": int(tpc.sum()),
        "_gt_ids": gt_ids,
    }


# ---------------------------------------------------------------------- query children
def memory() -> dict:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(line.split()[1]) // 1024  # MiB
    return out


def pct(times: list[float]) -> dict:
    a = np.array(times) * 1000
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "mean_ms": round(float(a.mean()), 2)}


def timed(fn, items, warmup: int):
    for it in items[:warmup]:
        fn(it)
    times, results = [], []
    for it in items:
        t0 = time.perf_counter()
        r = fn(it)
        times.append(time.perf_counter() - t0)
        results.append(r)
    return pct(times), results


def bm25s_corpus(args, synth: Synth) -> list[list[int]]:
    """Each chunk's token ids repeated by term frequency: the postings of the ``bm25`` collection."""
    corpus: list[list[int]] = []
    for b, _start, m in batches(args.n, args.batch):
        data = synth.batch(b, m)
        tf = data["tf"].astype(np.int64)
        rep = np.repeat(data["terms"], tf).tolist()
        bounds = np.searchsorted(np.repeat(data["rows"], tf), np.arange(m + 1)).tolist()
        corpus.extend(rep[a:e] for a, e in zip(bounds[:-1], bounds[1:]))
    return corpus


def child_query(args) -> None:
    """Open the collections (memory measured), build bm25s, then time everything interleaved per query."""
    import bm25s
    import faiss
    from bm25s import selection

    from rag.retrieve.channels import search_channels
    from rag.store import Collection

    synth = Synth(args)
    queries = synth.queries(args.queries)
    gt = np.load(args.gt)
    mem0 = memory()
    t0 = time.perf_counter()
    lex = Collection.open(Path(args.root) / "lexical").view()
    bm = Collection.open(Path(args.root) / "bm25").view()
    open_s = time.perf_counter() - t0
    mem_open = memory()
    k = 100
    idx = list(range(len(queries["dense"])))
    bm_q = [{t: 1.0 for t in q} for q in queries["sparse"]]
    dense_r = [lex.dense_search(queries["dense"][i], k) for i in idx]  # also warms the page cache
    bm_r = [bm.sparse_search(bm_q[i], k) for i in idx]
    for i in idx:
        lex.sparse_search(queries["sparse"][i], k)
    mem_warm = memory()

    t0 = time.perf_counter()
    corpus = bm25s_corpus(args, synth)
    t_corpus = time.perf_counter() - t0
    retriever = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    t0 = time.perf_counter()
    retriever.index((corpus, {str(t): t for t in range(args.vocab)}), show_progress=False)
    t_index = time.perf_counter() - t0
    del corpus
    mem_bm25s = memory()
    qids = [sorted(q) for q in queries["sparse"]]

    def bm25s_core(i):
        return selection.topk(retriever.get_scores_from_ids(qids[i]), k=k, sorted=True)

    ops = {
        "dense": lambda i: lex.dense_search(queries["dense"][i], k),
        "sparse_lexical": lambda i: lex.sparse_search(queries["sparse"][i], k),
        "sparse_bm25": lambda i: bm.sparse_search(bm_q[i], k),
        "dense_plus_sparse": lambda i: (lex.dense_search(queries["dense"][i], k), lex.sparse_search(queries["sparse"][i], k)),
        # what retrieval runs: the two searches side by side (rag.retrieve.channels)
        "dense_and_sparse_side_by_side": lambda i: search_channels(lex, queries["dense"][i], queries["sparse"][i], k, k),
        "bm25s_retrieve": lambda i: retriever.retrieve([qids[i]], k=k, show_progress=False, n_threads=0),
        "bm25s_core": bm25s_core,
    }
    names = list(ops)
    load_before = os.getloadavg()
    per_threads = {}
    for threads in args.thread_list:
        faiss.omp_set_num_threads(threads)  # FAISS only: sparse search is single-threaded numpy either way
        times: dict[str, list[float]] = {n: [] for n in names}
        for w in idx[: args.warmup]:
            for n in names:
                ops[n](w)
        for i in idx:
            for j in range(len(names)):  # rotate the order so no method always runs first
                n = names[(i + j) % len(names)]
                t1 = time.perf_counter()
                ops[n](i)
                times[n].append(time.perf_counter() - t1)
        per_threads[str(threads)] = {n: pct(times[n]) for n in names}
    ret_r = [retriever.retrieve([qids[i]], k=k, show_progress=False, n_threads=0) for i in idx]
    recall = np.mean([len(set(r[0].tolist()) & set(g.tolist())) / k for r, g in zip(dense_r, gt)])
    overlap = np.mean([len(set((r.documents[0] + 1).tolist()) & set(o[0].tolist())) / k for r, o in zip(ret_r, bm_r)])
    print(json.dumps({
        "open_s": round(open_s, 3),
        "memory_mib": {"start": mem0, "after_open": mem_open, "after_warm_queries": mem_warm,
                       "after_bm25s_index": mem_bm25s},
        "bm25s_build": {"corpus_lists_s": round(t_corpus, 2), "index_s": round(t_index, 2)},
        "latency_by_faiss_threads": per_threads,
        "loadavg_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "dense_recall_at_100": round(float(recall), 4),
        "bm25_top100_overlap_with_bm25s": round(float(overlap), 4),
        "postings_touched_per_query": postings_touched(lex, queries["sparse"]),
        "stats": {"lexical": lex.stats(), "bm25": bm.stats()},
    }))


def postings_touched(view, sparse_queries) -> dict:
    from rag.store.sparse import query_arrays

    counts = [sum(len(p[3]) for p in view._snap._postings(query_arrays(q)[0])) for q in sparse_queries]
    return {"median": int(np.median(counts)), "p95": int(np.percentile(counts, 95)),
            "query_terms_mean": round(float(np.mean([len(q) for q in sparse_queries])), 2)}


def run_child(kind: str, args, extra: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--child", kind] + extra
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "OPENBLAS_NUM_THREADS": str(args.threads),
           "MKL_NUM_THREADS": str(args.threads)}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- main
def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r}")
    return int(m.group(1)) * {"": 1, "k": 1000, "m": 1_000_000}[m.group(2).lower()]


def machine_info() -> dict:
    cpu = cpu_model()
    mem = next((int(x.split()[1]) // 1024 for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")), None)
    return {"machine": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem,
            "python": platform.python_version()}


def versions() -> dict:
    out = package_versions(("faiss-cpu", "numpy", "scipy", "bm25s"))
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    return out


def common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--vocab", type=int, default=250_000)
    p.add_argument("--draws", type=int, default=68, help="Zipf draws per chunk (~60 distinct terms)")
    p.add_argument("--zipf", type=float, default=1.0)
    p.add_argument("--clusters", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=100_000, help="chunks per commit")
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=2, help="OpenMP/BLAS threads of the query processes")
    p.add_argument("--thread-list", type=lambda t: [int(x) for x in t.split(",")], default=[2, 1],
                   help="FAISS thread counts to time queries with")


def run_args(p: argparse.ArgumentParser, workdir: Path) -> None:
    """Index settings, the work folder and the query child's arguments (also bench/store_milvus.py's)."""
    p.add_argument("--dense-index", default="ivf", choices=["flat", "hnsw", "ivf"])
    p.add_argument("--approx-min-rows", type=int, default=50_000)
    p.add_argument("--nprobe", type=int, default=32)
    p.add_argument("--ef-search", type=int, default=128)
    p.add_argument("--workdir", type=Path, default=workdir)
    p.add_argument("--keep", action="store_true", help="keep the built collections")
    p.add_argument("--prefix", default="store", help="results file name: bench/results/<prefix>-<machine>.json")
    p.add_argument("--child", choices=["query"], help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.add_argument("--gt", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)


def results_file(prefix: str, info: dict) -> tuple[Path, dict]:
    """``bench/results/<prefix>-<machine>.json`` and what it holds already (sizes not re-run are kept)."""
    out_path = REPO / "bench" / "results" / f"{prefix}-{re.sub(r'[^A-Za-z0-9_.-]', '_', info['machine'])}.json"
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    results.setdefault("sizes", {})
    return out_path, results


def save(out_path: Path, results: dict, remove: Path | None) -> None:
    """Write the results so far (one size at a time), then remove the built collections if asked."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(results, indent=1))
    if remove is not None:
        shutil.rmtree(remove)


def workload_config(args: argparse.Namespace) -> dict:
    """The settings a result was measured with (recorded beside it)."""
    return {"dense_index": args.dense_index, "approx_min_rows": args.approx_min_rows, "nprobe": args.nprobe,
            "ef_search": args.ef_search, "batch": args.batch, "dim": args.dim, "vocab": args.vocab,
            "draws": args.draws, "zipf": args.zipf, "query_draws": QUERY_DRAWS, "clusters": args.clusters,
            "queries": args.queries, "threads": args.threads}


def child_args(args: argparse.Namespace) -> list[str]:
    """The workload arguments a query child process needs to regenerate the same queries."""
    return ["--dim", str(args.dim), "--vocab", str(args.vocab), "--draws", str(args.draws), "--zipf", str(args.zipf),
            "--clusters", str(args.clusters), "--seed", str(args.seed), "--batch", str(args.batch),
            "--queries", str(args.queries), "--warmup", str(args.warmup), "--threads", str(args.threads),
            "--thread-list", ",".join(map(str, args.thread_list))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_args(p)
    p.add_argument("--sizes", default="10k,100k", help="comma-separated chunk counts, e.g. 10k,100k,1m")
    run_args(p, Path("/tmp/store-bench"))
    args = p.parse_args()
    if args.child == "query":
        return child_query(args)

    info = machine_info()
    out_path, results = results_file(args.prefix, info)
    results.update({"machine": info, "versions": versions()})
    synth = Synth(args)
    queries = synth.queries(args.queries)
    shared = child_args(args)
    for n in [parse_size(s) for s in args.sizes.split(",")]:
        root = args.workdir / f"n{n}"
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        print(f"size {n:,}: building", flush=True)
        built = build(args, synth, n, root, queries)
        gt_path = root / "gt.npy"
        np.save(gt_path, built.pop("_gt_ids"))
        print(f"size {n:,}: querying (store and bm25s, interleaved)", flush=True)
        coll = run_child("query", args, shared + ["--root", str(root), "--gt", str(gt_path), "--n", str(n)])
        results["sizes"][str(n)] = {
            "chunks": n,
            "config": {**workload_config(args), "thread_list": args.thread_list},
            "build": built, "query": coll,
        }
        save(out_path, results, None if args.keep else root)
    print_table(results)
    print(f"wrote {out_path}")


def print_table(results: dict) -> None:
    rows = []
    for n, r in sorted(results["sizes"].items(), key=lambda kv: int(kv[0])):
        q, b = r["query"], r["build"]
        by = q["stats"]["lexical"]["bytes"]
        mem = q["memory_mib"]["after_warm_queries"]
        for threads, lat in q["latency_by_faiss_threads"].items():
            def cell(name, lat=lat):
                return f"{lat[name]['p50_ms']}/{lat[name]['p95_ms']}"

            rows.append([
                f"{int(n):,}", r["config"]["dense_index"], threads,
                f"{b['lexical_add_commit_s']:.0f}+{b['lexical_compact_s']:.0f}",
                f"{by['dense'] / 2**20:.0f}/{by['sparse'] / 2**20:.0f}/{by['catalog'] / 2**20:.0f}",
                f"{mem['RssAnon']}/{mem['RssFile']}",
                cell("dense"), f"{q['dense_recall_at_100']:.3f}", cell("sparse_lexical"), cell("sparse_bm25"),
                cell("bm25s_retrieve"), cell("bm25s_core"), cell("dense_plus_sparse"),
                cell("dense_and_sparse_side_by_side") if "dense_and_sparse_side_by_side" in lat else "-",
            ])
    head = ["chunks", "dense idx", "faiss thr", "build s (add+compact)", "MiB dense/sparse/catalog",
            "reader RSS anon/file MiB", "dense p50/p95", "recall@100", "lexical p50/p95", "bm25 p50/p95",
            "bm25s retrieve p50/p95", "bm25s core p50/p95", "dense+lexical p50/p95",
            "side by side p50/p95"]
    aligned(head, rows, "latencies in ms per single query (store and bm25s interleaved query by query); sizes "
            "and memory in MiB; RSS file = page cache of the memory-mapped parts")


def aligned(head: list[str], rows: list[list[str]], note: str) -> None:
    """A plain-text table with aligned columns, then a note on its units."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(note)


if __name__ == "__main__":
    main()
