"""Plain chunk-and-embed baselines on LegalBench-RAG, for side-by-side comparison.

Reproduces ``../shared/eval/BASELINES.md`` (the LegalBench-RAG paper's RCTS baseline):
RecursiveCharacterTextSplitter(500, overlap 0) tiling each document; BM25 = bm25s (lucene,
k1 1.5, b 0.75, English stop words, PyStemmer); dense = all-MiniLM-L6-v2 (mean pooling,
max_length 256) with faiss IndexFlatIP; hybrid = RRF (k 60) of the two top-64 lists. Scored
with the same character-level metric code as ``python -m rag.eval legalbench``, on the same
(optionally ``--limit``-ed) queries, so the two result files compare row by row.

    python bench/baselines.py --benchmark ../shared/eval/legal/benchmarks/privacy_qa.json \\
        --corpus ../shared/eval/legal/corpus [--limit N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.eval.legalbench import KS, load_benchmark, score  # noqa: E402
from rag.eval.machine import machine_info, machine_tag  # noqa: E402

SEPARATORS = ["\n\n", "\n", "!", "?", ".", ":", ";", ",", " ", ""]


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
    import torch

    from rag.config import resolve_model
    from transformers import AutoModel, AutoTokenizer

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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--benchmark", type=Path, required=True)
    p.add_argument("--corpus", type=Path, required=True)
    p.add_argument("--limit", type=int)
    p.add_argument("--results", type=Path)
    args = p.parse_args()

    import bm25s
    import faiss
    import Stemmer

    bench = load_benchmark(args.benchmark, args.limit)
    chunks: list[tuple[str, int, int]] = []
    texts: list[str] = []
    for f in bench.files:
        text = (args.corpus / f).read_text(encoding="utf-8")
        for s, e in rcts_chunks(text):
            chunks.append((f, s, e))
            texts.append(text[s:e])
    print(f"{bench.name}: {len(bench.queries)} queries, {len(bench.files)} documents, {len(chunks)} chunks")

    t0 = time.perf_counter()
    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False),
                    show_progress=False)
    bm25_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    vectors = minilm_embed(texts)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    dense_s = time.perf_counter() - t0

    k = min(64, len(chunks))
    q_tokens = bm25s.tokenize(bench.queries, stopwords="en", stemmer=stemmer, show_progress=False)
    bm_ids, bm_scores = retriever.retrieve(q_tokens, k=k, show_progress=False)
    _, dn_ids = index.search(minilm_embed(bench.queries), k)

    results: dict[str, list] = {"bm25": [], "dense": [], "hybrid": []}
    for qi in range(len(bench.queries)):
        b = [int(i) for i in bm_ids[qi]]
        d = [int(i) for i in dn_ids[qi] if i >= 0]
        rrf: dict[int, float] = {}
        for ranked in (b, d):
            for rank, cid in enumerate(ranked, 1):
                rrf[cid] = rrf.get(cid, 0.0) + 1 / (60 + rank)
        h = sorted(rrf, key=lambda c: -rrf[c])[:64]
        for name, ranked in (("bm25", b), ("dense", d), ("hybrid", h)):
            results[name].append([(*chunks[c], 0.0) for c in ranked])

    rows = [{"mode": name, **{m: round(v, 2) for m, v in score(r, bench).items()}} for name, r in results.items()]
    header = ["mode"] + [f"P@{k}" for k in KS] + [f"R@{k}" for k in KS]
    print(" | ".join(header))
    for r in rows:
        print(" | ".join(str(r[h]) for h in header))
    out = args.results or Path("bench/results") / f"baselines-{bench.name}-{machine_tag()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": bench.name, "queries": len(bench.queries), "limit": args.limit,
                               "chunks": len(chunks), "index_seconds": {"bm25": round(bm25_s, 1),
                                                                        "dense": round(dense_s, 1)},
                               "rows": rows, "machine": machine_info(), "date": time.strftime("%Y-%m-%d")},
                              indent=2), encoding="utf-8")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
