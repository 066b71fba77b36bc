"""Fusing image items with text hits (rag.retrieve.images), measured on real contracts.

One collection: the 35 real contract PDFs of ../shared/eval/pdfs plus two synthetic PDFs with known
pictures (tests/ingest/image_pages.py: a signature page; a seal, a signature block, charts and a
site plan), ingested with the real MiniLM text encoder (demo profile) and the seeded *tiny*
Visualized BGE checkpoint. Two question sets:

* image questions (hand-written, the expected picture known): "show the signature page", "the
  site plan in Exhibit C", ... on the synthetic pages and on pictures of the real PDFs (signatures,
  charts, an order form; the real ones asked with their document selected, as a user would);
  metric: the expected picture is among the top 8 hits, and its rank;
* text questions: CUAD questions (cuad_dev_parties.json) about the same 35 contracts; metric: how
  many image items enter their top 8, and how many *relevant* text hits that costs (a text hit is
  relevant when it holds the CUAD answer: its text, or 60 % of its words for answers of 5+ words).

Text retrieval runs once per question (top 8, no reranker); each fusion setting is then applied
to the same text hits and image scores with the library's own functions (admitted, mark_same_page,
fuse_with_text), so every setting sees identical inputs. What can carry meaning here is the caption
/ OCR part (MiniLM is real) and the same-page rule; the tiny checkpoint's visual scores are random
(no Visualized BGE weights can be had), so settings with visual_weight > 0 show only how much noise
in that part reorders admitted items. It says nothing about the real model's visual quality.

    nice -n 5 python bench/visual_fusion.py [--data /tmp/visual-fusion] [--text-questions 200]

Writes bench/results/visual-fusion-<machine>.json and prints a table.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EVAL = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval"))
K = 8

#: (question, document name (part), expected page, caption part or None, ask with the document selected)
IMAGE_QUESTIONS = [
    ("Show me the signature page", "signed-services.pdf", 2, None, False),
    ("Who signed the agreement?", "signed-services.pdf", 2, None, False),
    ("Where is the company seal?", "synthetic-exhibits.pdf", 1, "Company Seal", False),
    ("the site plan in Exhibit C", "synthetic-exhibits.pdf", 3, None, False),
    ("the chart of quarterly revenue by region", "synthetic-exhibits.pdf", 1, "Quarterly revenue", False),
    ("the seal on the rotated page", "synthetic-exhibits.pdf", 5, None, False),
    ("show the signature page", "BizzingoInc", 8, None, True),
    ("show the signature page", "FerroglobePlc", 15, "Name:", True),
    ("show the signature page", "InmodeLtd", 13, None, True),
    ("the standard exchange order form in Exhibit 7", "AzulSa", 71, None, True),
    ("the chart of FTEs and dollars", "CERES", 111, None, True),
    ("the milestone timeline summary", "CERES", 118, None, True),
    ("the quarterly report format", "CERES", 109, None, True),
]


def build_collection(data: Path, encoder: Any, visual: Any) -> Any:
    """The 35 PDFs + 2 synthetic ones in one collection (reused when ``data`` already holds it)."""
    from ingest.pipeline import Limits, Source, discover, ingest
    from rag.store import ModelInfo, create_collection, open_collection
    from tests.ingest.image_pages import build_pdf, signed_contract

    done = data / "fusion.done"
    if done.is_file():
        return open_collection(data, "fusion"), json.loads(done.read_text())
    if (data / "fusion").exists():  # an interrupted build: start again
        import shutil

        shutil.rmtree(data / "fusion")
    if not (EVAL / "pdfs" / "manifest.csv").is_file():
        raise SystemExit(f"no contract PDFs at {EVAL / 'pdfs'}: set RAG_SHARED_EVAL to the shared eval folder")
    col = create_collection(data, "fusion", ModelInfo(name=encoder.name, dim=encoder.dim, sparse="bm25"))
    sources = discover([EVAL / "pdfs"]) + [Source.upload("signed-services.pdf", signed_contract()),
                                           Source.upload("synthetic-exhibits.pdf", build_pdf()[0])]
    t0 = time.perf_counter()
    report = ingest(sources, col, encoder, limits=Limits(), commit_every=8, visual=visual)
    seconds = time.perf_counter() - t0
    print(report.summary())
    info = {"files": len(report.files), "failed": [f.error for f in report.failed], "seconds": round(seconds, 1),
                 "pages": sum(f.pages for f in report.files), "chunks": sum(f.chunks for f in report.files)}
    done.write_text(json.dumps(info))
    return col, info


def cuad_questions(n: int, names: set[str]) -> list[dict[str, Any]]:
    tests = json.loads((EVAL / "legal" / "benchmarks" / "cuad_dev_parties.json").read_text())["tests"]
    txt = {Path(r["txt"]).name: r["pdf"] for r in csv.DictReader((EVAL / "pdfs" / "manifest.csv").open())}
    out = []
    for t in tests:
        snip = t["snippets"][0]
        name = Path(snip["file_path"]).name
        if name in txt and txt[name] in names:
            corpus = (EVAL / "legal" / "corpus" / snip["file_path"]).read_text()
            out.append({"query": t["query"], "pdf": txt[name],
                        "gold": [corpus[s["span"][0]:s["span"][1]] for s in t["snippets"]]})
    random.Random(17).shuffle(out)
    return out[:n]


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def relevant(hit_text: str, gold: list[str]) -> bool:
    hay = _norm(hit_text)
    for g in gold:
        words = _norm(g).split()
        if not words:
            continue
        if " ".join(words) in hay:
            return True
        if len(words) >= 5 and sum(w in hay.split() for w in set(words)) >= 0.6 * len(set(words)):
            return True
    return False


def settings_grid() -> list[Any]:
    from rag.retrieve.images import ImageSearchOptions

    grid = []
    for cap, same, weight, vis in itertools.product((0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 2.0), (0, 1, 3),
                                                     (1.0, 0.9), (0.0, 0.5)):
        grid.append(ImageSearchOptions(caption_min=cap, same_page_top=same, weight=weight,
                                       visual_weight=vis, caption_weight=1.0 - vis))
    return grid


def observe(retriever: Any, encoder: Any, question: str, documents: list[str] | None) -> dict[str, Any]:
    """Text hits (images off) and every in-scope item's score parts for one question."""
    from rag.retrieve.images import ImageSearchOptions, model_key, score_question

    r = retriever.search(question, documents=documents, top_k=K, image_search=ImageSearchOptions(enabled=False))
    view = retriever.collection.view()
    state = retriever._state(view)
    scope = None
    if documents:
        scope = [state.by_name[d] for d in documents]
    elif r.trace.scoped_docs:
        scope = [state.by_name[d] for d in r.trace.scoped_docs]
    q = encoder.encode([question], dense=True, sparse=False, query=True).dense[0]
    items = retriever._images.items(view)
    notes: list[str] = []
    vis = ImageSearchOptions(visual_weight=1.0, caption_weight=0.0)  # parts only; mixing is redone per setting
    ranked = score_question(items, retriever.visual, model_key(retriever.visual), q, question, vis, scope, notes)
    return {"text_hits": r.hits, "ranked": ranked, "items": items, "text_of": state.text}


def fused(obs: dict[str, Any], opt: Any) -> list[Any]:
    from rag.retrieve.images import admitted, fuse_with_text, make_hit, mark_same_page

    ranked = [(i, s, dict(p)) for i, s, p in obs["ranked"]]
    if opt.same_page_top:
        mark_same_page(ranked, obs["items"].rows, obs["text_hits"], opt.same_page_top)
    both = opt.visual_weight + opt.caption_weight
    rescored = []
    for i, _, p in ranked:
        score = p["visual"] if "caption" not in p else (opt.visual_weight * p["visual"] + opt.caption_weight * p["caption"]) / both
        rescored.append((i, score, p))
    rescored.sort(key=lambda t: -t[1])
    kept = [(i, s, p) for i, s, p in rescored if admitted(p, opt)][: opt.top_k]
    rows = obs["items"].rows
    hits = [make_hit(rows[i], s, p, obs["text_of"](rows[i].doc_id)) for i, s, p in kept]
    return fuse_with_text(obs["text_hits"], hits, K, opt)


def main() -> None:
    from rag.config import demo_model_dir
    from rag.eval.machine import machine_info, machine_tag, package_versions
    from rag.models import load_encoder, load_visual_encoder
    from rag.models.visual_testing import build_tiny
    from rag.retrieve import RetrievalOptions, Retriever

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/tmp/visual-fusion"))
    ap.add_argument("--text-questions", type=int, default=200)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    load_before = os.getloadavg()
    encoder = load_encoder(str(demo_model_dir()), device="cpu")
    vdir = args.data / "tiny-visual"
    if not (vdir / "Visualized_m3.pth").is_file():
        build_tiny(vdir)
    visual = load_visual_encoder(str(vdir / "Visualized_m3.pth"), device="cpu", dtype="float32")
    col, ingest_info = build_collection(args.data, encoder, visual)
    retriever = Retriever(col, encoder, None, RetrievalOptions(rerank=False), visual=visual)
    view = col.view()
    names = {d.name for d in view.documents()}
    items = view.image_items(vectors=False)
    print(f"{len(names)} documents, {len(items.rows)} image items "
          f"({sum(r.kind == 'page' for r in items.rows)} page items, {sum(bool(r.text) for r in items.rows)} with text)")

    t0 = time.perf_counter()
    image_obs = []
    for question, doc, page, caption, select in IMAGE_QUESTIONS:
        name = next(n for n in sorted(names) if doc in n)
        obs = observe(retriever, encoder, question, [name] if select else None)
        expected = {(r.doc_id, r.idx) for r in obs["items"].rows
                    if r.doc_name == name and r.page == page and (caption is None or caption in r.text)}
        if not expected:
            raise SystemExit(f"no image item on {name} p.{page} ({caption}): the extraction changed?")
        image_obs.append((question, name, page, select, expected, obs))
    text_qs = cuad_questions(args.text_questions, names)
    text_obs = []
    for tq in text_qs:
        obs = observe(retriever, encoder, tq["query"], None)
        text_obs.append((tq, obs, [relevant(h.text, tq["gold"]) for h in obs["text_hits"]]))
    retrieval_s = time.perf_counter() - t0

    results = []
    for opt in settings_grid():
        found, ranks = 0, []
        per_q = []
        for question, name, page, select, expected, obs in image_obs:
            hits = fused(obs, opt)
            rank = next((i + 1 for i, h in enumerate(hits) if h.via == "image" and (h.image.doc_id, h.image.idx) in expected), None)
            found += rank is not None
            ranks.append(rank)
            per_q.append({"question": question, "document": name, "page": page, "selected": select, "rank": rank})
        with_images, images_in, lost, rel_before, q_lost = 0, 0, 0, 0, 0
        for tq, obs, rel in text_obs:
            hits = fused(obs, opt)
            n_img = sum(h.via == "image" for h in hits)
            with_images += n_img > 0
            images_in += n_img
            kept_ids = {id(h) for h in hits}
            rel_hits = [h for h, r in zip(obs["text_hits"], rel) if r]
            rel_before += len(rel_hits)
            gone = [h for h in rel_hits if id(h) not in kept_ids]
            lost += len(gone)
            q_lost += bool(rel_hits) and len(gone) == len(rel_hits)
        results.append({
            "setting": {"caption_min": opt.caption_min, "same_page_top": opt.same_page_top, "weight": opt.weight,
                        "visual_weight": opt.visual_weight, "caption_weight": opt.caption_weight, "top_k": opt.top_k},
            "image_questions": {"n": len(image_obs), "found_at_8": found,
                                "synthetic_found": sum(q["rank"] is not None for q in per_q if not q["selected"]),
                                "real_found": sum(q["rank"] is not None for q in per_q if q["selected"]),
                                "per_question": per_q},
            "text_questions": {"n": len(text_obs), "with_an_image_in_top8": with_images,
                               "images_in_top8": images_in, "relevant_text_hits_top8": rel_before,
                               "relevant_text_hits_lost": lost, "questions_losing_all_relevant_hits": q_lost,
                               "questions_with_a_relevant_hit": sum(any(r) for _, _, r in text_obs)}})

    print(f"{'cap':>5} {'page':>4} {'w':>4} {'vis':>4} | img found/{len(image_obs)} (synth, real) | "
          f"text q with img /{len(text_obs)}  rel lost/{results[0]['text_questions']['relevant_text_hits_top8']}  q lost")
    for r in results:
        s, i, t = r["setting"], r["image_questions"], r["text_questions"]
        print(f"{s['caption_min']:5.2f} {s['same_page_top']:4d} {s['weight']:4.1f} {s['visual_weight']:4.1f} | "
              f"{i['found_at_8']:3d} ({i['synthetic_found']}, {i['real_found']}) | {t['with_an_image_in_top8']:4d} "
              f"{t['relevant_text_hits_lost']:4d} {t['questions_losing_all_relevant_hits']:3d}")
    out = args.out or REPO / "bench" / "results" / f"visual-fusion-{machine_tag()}.json"
    result = {
        "benchmark": "visual_fusion", "k": K, "text_encoder": "all-MiniLM-L6-v2 (demo profile, real weights)",
        "visual_model": "seeded tiny Visualized BGE checkpoint (random weights: visual scores carry no meaning)",
        "reranker": None, "collection": {"documents": len(names), "image_items": len(items.rows),
                                         "page_items": sum(r.kind == "page" for r in items.rows),
                                         "with_text": sum(bool(r.text) for r in items.rows), "ingest": ingest_info},
        "retrieval_s": round(retrieval_s, 1), "results": results,
        "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
        "machine": machine_info(), "extra_versions": package_versions(("pypdfium2", "pillow", "torch", "transformers")),
    }
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"load {result['load_before']} -> {result['load_after']}; wrote {out}")


if __name__ == "__main__":
    main()
