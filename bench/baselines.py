"""Plain chunk-and-embed baselines on LegalBench-RAG, for side-by-side comparison.

Reproduces ``../shared/eval/BASELINES.md`` (the LegalBench-RAG paper's RCTS baseline):
RecursiveCharacterTextSplitter(500, overlap 0) tiling each document; BM25 = bm25s (lucene,
k1 1.5, b 0.75, English stop words, PyStemmer); dense = all-MiniLM-L6-v2 (mean pooling,
max_length 256) with exact inner product; hybrid = RRF (k 60) of the two top-64 lists.

Two settings, each with the three rankers:

* **whole corpus**: one index over every chunk of the benchmark's documents, as it is;
* **told the right document**: each query searches only the chunks of its gold document(s)
  (BM25 statistics from those chunks alone), the fair reference for ranking *inside* a
  document once scoping has found it.

Scored with the same code as ``python -m rag.eval legalbench`` (character-level P/R at k spans
and at character budgets), on the same (optionally ``--limit``-ed) queries, so the result
files compare row by row.

    python bench/baselines.py --benchmark ../shared/eval/legal/benchmarks/privacy_qa.json \\
        --corpus ../shared/eval/legal/corpus [--limit N] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.eval.legalbench import Benchmark, load_paired, print_table, score  # noqa: E402
from rag.eval.machine import machine_info, machine_tag  # noqa: E402
from rag.eval.metrics import BUDGETS  # noqa: E402

SEPARATORS = ["\n\n", "\n", "!", "?", ".", ":", ";", ",", " ", ""]
TOP = 64
RRF_K = 60
RIGHT_DOC = ", right document"

Ranked = list[tuple[str, int, int, float]]
Embed = Callable[[list[str]], np.ndarray]


def rcts_chunks(text: str) -> list[tuple[int, int]]:
    """500-character RCTS chunks that tile the text exactly (spans by running offset)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=0, separators=SEPARATORS,
                                              strip_whitespace=False)
    spans, pos = [], 0
    for piece in splitter.split_text(text):
        spans.append((pos, pos + len(piece)))
        pos += len(piece)
    return spans


def minilm_embed(texts: list[str], batch: int = 64) -> np.ndarray:
    """all-MiniLM-L6-v2 sentence vectors (mean pooling, L2-normalised), as the paper's baseline."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from rag.config import resolve_model

    folder = resolve_model("demo")
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    out = np.zeros((len(texts), model.config.hidden_size), np.float32)
    order = np.argsort([len(t) for t in texts])
    with torch.inference_mode():
        for i in range(0, len(texts), batch):
            idx = order[i: i + batch]
            enc = tok([texts[j] for j in idx], padding=True, truncation=True, max_length=256,
                      return_tensors="pt")
            h = model(**enc).last_hidden_state
            m = enc["attention_mask"].unsqueeze(-1).float()
            v = torch.nn.functional.normalize((h * m).sum(1) / m.sum(1), dim=-1)
            out[idx] = v.numpy()
    return out


def cached(embed: Embed, cache: Path | None) -> Embed:
    """``embed`` with vectors kept on disk per text (chunks are re-used by benchmarks over the
    same documents, e.g. cuad_dev and cuad_dev_parties); only unseen texts are embedded."""
    if cache is None:
        return embed

    def run(texts: list[str]) -> np.ndarray:
        path = cache / "minilm-vectors.npz"
        known: dict[str, np.ndarray] = {}
        if path.exists():
            with np.load(path) as z:
                known = dict(zip(z["keys"].tolist(), z["vectors"]))
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        todo = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
        if todo:
            for i, v in zip(todo, embed([texts[i] for i in todo])):
                known[keys[i]] = v
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cache / "minilm-vectors.tmp.npz"
            np.savez(tmp, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
            tmp.replace(path)
        return np.stack([known[k] for k in keys]) if keys else np.zeros((0, 384), np.float32)

    return run


class _BM25:
    """bm25s over a set of chunk texts with the baseline's tokenisation."""

    def __init__(self, texts: Sequence[str]) -> None:
        import bm25s
        import Stemmer

        self.stemmer = Stemmer.Stemmer("english")
        self.model = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
        self.model.index(bm25s.tokenize(list(texts), stopwords="en", stemmer=self.stemmer, show_progress=False),
                         show_progress=False)
        self.size = len(texts)

    def search(self, queries: list[str], k: int) -> list[list[int]]:
        import bm25s

        k = min(k, self.size)
        tokens = bm25s.tokenize(queries, stopwords="en", stemmer=self.stemmer, show_progress=False)
        ids, _ = self.model.retrieve(tokens, k=k, show_progress=False)
        # as the published baseline: bm25s's top k as it returns them (zero scores included)
        return [[int(i) for i in row] for row in ids]


def rrf(*lists: Sequence[int], k: int = RRF_K, top: int = TOP) -> list[int]:
    """Reciprocal rank fusion of ranked id lists (ties keep first-seen order)."""
    fused: dict[int, float] = {}
    for ranked in lists:
        for rank, cid in enumerate(ranked, 1):
            fused[cid] = fused.get(cid, 0.0) + 1 / (k + rank)
    return sorted(fused, key=lambda c: -fused[c])[:top]


def run_baselines(bench: Benchmark, texts_by_file: dict[str, str], embed: Embed
                  ) -> tuple[dict[str, list[Ranked]], int]:
    """Ranked spans per query for every baseline row (bm25/dense/hybrid over the whole corpus,
    and the same three told the right document), and the number of chunks."""
    chunks: list[tuple[str, int, int]] = []
    by_file: dict[str, list[int]] = {}
    for f in bench.files:
        text = texts_by_file[f]
        for s, e in rcts_chunks(text):
            by_file.setdefault(f, []).append(len(chunks))
            chunks.append((f, s, e))
    texts = [texts_by_file[f][s:e] for f, s, e in chunks]
    vectors = embed(texts)
    qvecs = embed(list(bench.queries))

    def spans(ids: Sequence[int]) -> Ranked:
        return [(*chunks[c], 0.0) for c in ids]

    out: dict[str, list[Ranked]] = {}
    # whole corpus
    bm = _BM25(texts).search(list(bench.queries), TOP)
    dn = [list(np.argsort(-(vectors @ q), kind="stable")[:TOP]) for q in qvecs]
    out["bm25"] = [spans(b) for b in bm]
    out["dense"] = [spans(d) for d in dn]
    out["hybrid"] = [spans(rrf(b, d)) for b, d in zip(bm, dn)]
    # told the right document: only the gold document's chunks, BM25 statistics from them alone
    indexes: dict[tuple[str, ...], tuple[list[int], _BM25]] = {}
    rows: dict[str, list[Ranked]] = {f"{m}{RIGHT_DOC}": [] for m in ("bm25", "dense", "hybrid")}
    for qi, gold in enumerate(bench.gold):
        key = tuple(sorted({f for f, _, _ in gold}))
        if key not in indexes:
            ids = [c for f in key for c in by_file.get(f, [])]
            indexes[key] = (ids, _BM25([texts[c] for c in ids]))
        ids, index = indexes[key]
        b = [ids[i] for i in index.search([bench.queries[qi]], TOP)[0]]
        order = np.argsort(-(vectors[ids] @ qvecs[qi]), kind="stable")[:TOP]
        d = [ids[i] for i in order]
        rows[f"bm25{RIGHT_DOC}"].append(spans(b))
        rows[f"dense{RIGHT_DOC}"].append(spans(d))
        rows[f"hybrid{RIGHT_DOC}"].append(spans(rrf(b, d)))
    out.update(rows)
    return out, len(chunks)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--results", type=Path)
    p.add_argument("--cache", type=Path, help="keep chunk vectors here (re-used across runs and benchmarks)")
    p.add_argument("--documents-of", type=Path,
                   help="index the documents of this benchmark (same --limit) and ask only this benchmark's "
                        "questions about them, as python -m rag.eval legalbench --documents-of")
    p.add_argument("--queries", type=int, help="with --documents-of: an even spread of N questions about them")
    args = p.parse_args()

    bench = load_paired(args.benchmark, args.limit, args.documents_of, args.queries)
    texts = {f: (args.corpus / f).read_text(encoding="utf-8") for f in bench.files}
    timings: dict[str, float] = {}

    def timed_embed(batch: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        v = cached(minilm_embed, args.cache)(batch)
        timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t0
        return v

    t0 = time.perf_counter()
    results, n_chunks = run_baselines(bench, texts, timed_embed)
    total = time.perf_counter() - t0
    print(f"{bench.name}: {len(bench.queries)} queries, {len(bench.files)} documents, {n_chunks} chunks")
    rows = [{"mode": name, "told_document": name.endswith(RIGHT_DOC),
             **{m: round(v, 2) for m, v in score(r, bench).items()}} for name, r in results.items()]
    # the same halves as bench/span_tuning.py (settings tuned on "dev"): the held-out comparison
    from bench.span_tuning import SEED, split

    halves = dict(zip(("dev", "held_out"), split(len(bench.queries), SEED)))
    for row, r in zip(rows, results.values()):
        for half, idx in halves.items():
            sub = Benchmark(bench.name, [bench.queries[i] for i in idx], [bench.gold[i] for i in idx], bench.files)
            row[half] = {m: round(v, 2) for m, v in score([r[i] for i in idx], sub).items() if "ch" in m}
    print_table(rows)
    from bench.span_tuning import SEED

    out = args.results or Path("bench/results") / f"baselines-{bench.name}-{machine_tag()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": bench.name, "queries": len(bench.queries), "limit": args.limit,
                               "documents": len(bench.files),
                               "documents_of": args.documents_of.stem if args.documents_of else None, "queries_asked": args.queries,
                               "chunks": n_chunks, "budgets_chars": list(BUDGETS), "split_seed": SEED,
                               "seconds": {"embed (chunks and queries; 0 when cached)": round(timings.get("embed", 0), 1),
                                           "total": round(total, 1)},
                               "rows": rows, "machine": machine_info(), "date": time.strftime("%Y-%m-%d")},
                              indent=2), encoding="utf-8")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
