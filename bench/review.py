"""Clause review on CUAD dev: presence AUPR, precision at 80% recall, location, grid time.

Every (contract, clause type) pair of CUAD dev is a cell: 4,339 with the clause (cuad_dev.json)
and 11,093 without (cuad_dev_negatives.json). Each is scored by the product's own path
(``rag.review``: units, question, leave-one-contract-out examples, hybrid retrieval), side by
side with three references computed in the same run from the same units and hits:

* ``retriever``: the product's plain hybrid retriever told the right document (its best hit's score);
* ``query``: zero-shot, the best unit's cosine with the type's question;
* ``question``: ``query`` plus the hybrid hits' bonus (how a user's own column is scored);
* ``prototypes``: few-shot only, the best unit's mean cosine with its 3 nearest examples;
* ``no_hub``: prototypes + 0.5 x query + the hybrid hits' bonus;
* ``review``: what ships, ``no_hub`` minus each unit's mean prototype score over all types
  (a unit that resembles every clause type says little about any one).

AUPR and precision at 80% recall rank the cells of one type over all contracts (per type, then
the macro mean). Found/not-found decisions use per-type calibrations cross-fitted over 5 folds of
contracts (a contract's decision never comes from a fit that saw it). Location: of the cells
decided found that have the clause, the share whose cited text overlaps a gold span, and the
share with Jaccard >= 0.5 (CUAD's match rule). Grid time: a 41-column review of a ~50-page CUAD
PDF from an empty review store (unit encoding included, ingest not).

With ``--dev-contracts FILE`` (the contracts the scoring rules were chosen on) the figures are
also given apart for those and for the others, held out: their decisions come from calibrations
fit on the dev contracts only, so neither a rule nor a calibration saw them.

    RAG_EMBED_MODEL=demo RAG_RERANK_MODEL=none python bench/review.py [--contracts N | --contracts-file F]
        [--dev-contracts F] [--write-calibration] [--stop-at HH:MM] [--dump F.pkl | --from-dump F.pkl]

A run that may not finish in the time at hand takes ``--stop-at`` (dev contracts first, the rest
in a seeded random order: the figures are those of the contracts scored, and the file says so);
``--dump`` keeps the scored signals so that a citation rule can be measured on them later
(``--from-dump``; presence scores, and so AUPR, come from the dump unchanged).

Writes bench/results/review-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EVAL = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval"))
VARIANTS = ("retriever", "query", "question", "prototypes", "no_hub", "review")
ANCHORS = {"CUAD RoBERTa-large AUPR": 48.2, "CUAD DeBERTa-xlarge AUPR": 47.8,
           "CUAD DeBERTa-xlarge precision at 80% recall": 44.0}


def load_pairs(eval_dir: Path) -> tuple[dict[tuple[str, str], list[tuple[int, int]]], list[tuple[str, str]]]:
    """Gold spans of each positive (contract, category) and the negative pairs."""
    bench = eval_dir / "legal" / "benchmarks"
    pos: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for t in json.loads((bench / "cuad_dev.json").read_text(encoding="utf-8"))["tests"]:
        pos[(t["contract"], t["category"])] = [(int(s["span"][0]), int(s["span"][1])) for s in t["snippets"]]
    neg = [(t["contract"], t["category"]) for t in
           json.loads((bench / "cuad_dev_negatives.json").read_text(encoding="utf-8"))["tests"]]
    return pos, neg


def column_of(category: str, columns: list[Any]) -> Any:
    """The shipped column scoring a CUAD dev category ("... - Answer" is CUAD's second notice-period field)."""
    name = category.split("- Answer")[0].strip().lower()
    for c in columns:
        if c.name.lower() == name:
            return c
    raise KeyError(category)


def spread(items: list[str], n: int | None) -> list[str]:
    if not n or n >= len(items):
        return items
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def ingest_missing(engine: Any, name: str, files: list[str], corpus: Path) -> dict[str, Any]:
    from ingest.pipeline import Source, ingest

    col = engine.collection(name, create=True)
    have = {d.name for d in col.view().documents()}
    todo = [Source(name=f"cuad/{f}", path=corpus / f) for f in files if f"cuad/{f}" not in have]
    t0 = time.perf_counter()
    if todo:
        report = ingest(todo, col, engine.encoder, commit_every=32)
        if report.failed:
            raise SystemExit(f"{len(report.failed)} contracts failed to ingest: the figures would be wrong")
    return {"ingested_now": len(todo), "seconds": round(time.perf_counter() - t0, 1)}


def score_contracts(engine: Any, name: str, contracts: list[str], corpus: Path, *, deadline: float | None = None,
                    dump: Path | None = None, dump_at: set[int] | None = None) -> dict[str, Any]:
    """Every variant's raw score and the shipped cell of each (contract, column).

    With ``deadline`` (a ``time.time()``), no contract is started after it: ``out["scored"]``
    names the contracts done. With ``dump``, the signals so far are pickled after the counts in
    ``dump_at`` and at the end (:func:`save_dump`), so location rules can be tried on them later.
    """
    from tqdm import tqdm

    from rag.eval.legalbench import OffsetMap
    from rag.review.cells import ScoringConfig
    from rag.review.columns import cuad_columns
    from rag.review.grid import document_signals, document_units
    from rag.review.storage import ReviewStore, store_path

    columns = cuad_columns()
    retriever = engine.retriever(name)
    store = ReviewStore(store_path(engine.data_dir, name))
    view = retriever.collection.view()
    by_name = {d.name: d for d in view.documents()}
    config = ScoringConfig()
    out: dict[str, Any] = {"raw": defaultdict(dict), "signals": {}, "docs": {}, "seconds": [], "units": 0,
                           "scored": []}
    for contract in tqdm(contracts, desc="review", unit="contract", file=sys.stderr):
        if deadline is not None and time.time() >= deadline:
            print(f"time budget reached after {len(out['scored'])} of {len(contracts)} contracts", file=sys.stderr)
            break
        info = by_name[f"cuad/{contract}"]
        t0 = time.perf_counter()
        document = view.document(info.id)
        units, vecs = document_units(engine.encoder, store, info.content_hash, document.text)
        signals = document_signals(retriever, info.id, info.name, document.text, units, vecs, columns, config, store)
        clauses = view.clauses(info.id)
        original = (corpus / contract).read_text(encoding="utf-8")
        to_file = OffsetMap(document.text, original)
        out["docs"][contract] = (info, document, clauses, units, to_file)
        for col, sig in zip(columns, signals):
            out["signals"][(contract, col.key)] = sig
            raw = float(sig.combined(config).max()) if len(units) else -1e9
            out["raw"][contract][col.key] = {
                "retriever": sig.hybrid_top if np.isfinite(sig.hybrid_top) else -1e9,
                "query": float(sig.query.max()) if len(units) else -1e9,
                "question": float((sig.query + config.hybrid_weight * sig.hybrid).max()) if len(units) else -1e9,
                "prototypes": float(sig.proto.max()) if sig.proto is not None and len(units) else -1e9,
                "no_hub": float(sig.combined(config, hub=False).max()) if len(units) else -1e9,
                "review": raw}
        out["seconds"].append(time.perf_counter() - t0)
        out["units"] += len(units)
        out["scored"].append(contract)
        if dump is not None and len(out["scored"]) in (dump_at or ()):
            save_dump(out, dump)
    if dump is not None:
        save_dump(out, dump)
    return out


def save_dump(scored: dict[str, Any], path: Path) -> None:
    """Pickle the scored contracts' signals, units and documents (offset maps are rebuilt on load)."""
    import pickle

    docs = {c: (info, document, clauses, units) for c, (info, document, clauses, units, _) in scored["docs"].items()}
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        pickle.dump({"raw": dict(scored["raw"]), "signals": scored["signals"], "docs": docs,
                     "scored": list(scored["scored"]), "scorer_version": _scorer_version()}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def load_dump(path: Path, corpus: Path) -> dict[str, Any]:
    """A :func:`save_dump` file back as ``score_contracts`` output (offset maps rebuilt)."""
    import pickle

    from rag.eval.legalbench import OffsetMap

    with path.open("rb") as f:
        data = pickle.load(f)
    docs = {c: (info, document, clauses, units,
                OffsetMap(document.text, (corpus / c).read_text(encoding="utf-8")))
            for c, (info, document, clauses, units) in data["docs"].items()}
    return {"raw": defaultdict(dict, data["raw"]), "signals": data["signals"], "docs": docs,
            "scored": data["scored"], "seconds": [], "units": sum(len(d[3]) for d in docs.values()),
            "dump_scorer_version": data["scorer_version"]}


def _scorer_version() -> str:
    from rag.review.grid import SCORER_VERSION

    return SCORER_VERSION


def _git_commit() -> str | None:
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}{'+changes' if dirty else ''}" if head else None


def prepare(engine: Any, name: str, contracts: list[str]) -> None:
    """Store the unit vectors of every contract (the expensive, cacheable part of a review)."""
    from tqdm import tqdm

    from rag.review.grid import document_units
    from rag.review.storage import ReviewStore, store_path

    store = ReviewStore(store_path(engine.data_dir, name))
    view = engine.collection(name).view()
    by_name = {d.name: d for d in view.documents()}
    for contract in tqdm(contracts, desc="units", unit="contract", file=sys.stderr):
        info = by_name[f"cuad/{contract}"]
        document_units(engine.encoder, store, info.content_hash, view.document(info.id).text)


def evaluate(pos: dict, neg: list, contracts: list[str], scored: dict[str, Any], folds: int = 5,
             fit_on: list[str] | None = None) -> dict[str, Any]:
    """Presence, decisions and location over ``contracts``.

    Decisions use per-type calibrations cross-fitted over ``folds`` folds of ``contracts``, or,
    with ``fit_on`` (contracts disjoint from ``contracts``, scored too), one fit on those.
    """
    from rag.review.calibration import fit_logistic
    from rag.review.columns import cuad_columns
    from rag.review.grid import make_cell
    from rag.review.metrics import average_precision, location_match, precision_at_recall

    columns = cuad_columns()
    chosen = set(contracts)
    fit_set = set(fit_on or ())
    if fit_set & chosen:
        raise ValueError("a calibration fit on evaluated contracts would flatter the decisions")
    fold_of = {c: i % folds for i, c in enumerate(contracts)}
    pairs: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for (c, cat) in pos:
        if c in chosen:
            pairs[cat].append((c, 1))
    for (c, cat) in neg:
        if c in chosen:
            pairs[cat].append((c, 0))
    per_type = []
    decided = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    loc_hits = loc_j = loc_n = 0
    loc_chars = 0  # characters the found positive cells cite (a longer citation overlaps more easily)
    top_hits = top_j = top_n = 0
    for cat in sorted(pairs):
        col = column_of(cat, columns)
        rows = pairs[cat]
        labels = np.array([y for _, y in rows])
        row = {"type": cat, "column": col.key, "positives": int(labels.sum()), "negatives": int(len(labels) - labels.sum())}
        for v in VARIANTS:
            s = np.array([scored["raw"][c][col.key][v] for c, _ in rows])
            row[f"aupr_{v}"] = round(100 * average_precision(s, labels), 2) if labels.sum() else None
            row[f"p_at_80r_{v}"] = round(100 * precision_at_recall(s, labels, 0.8), 2) if labels.sum() else None
        raw = np.array([scored["raw"][c][col.key]["review"] for c, _ in rows])
        found = np.zeros(len(rows), dtype=bool)
        cited: dict[str, list[tuple[int, int]]] = {}
        if fit_on is not None:
            fit_rows = [(c, 1) for (c, k) in pos if k == cat and c in fit_set] + \
                [(c, 0) for (c, k) in neg if k == cat and c in fit_set]
            fit_raw = np.array([scored["raw"][c][col.key]["review"] for c, _ in fit_rows])
            fit_y = np.array([y for _, y in fit_rows])
        for f in range(1 if fit_on is not None else folds):
            if fit_on is not None:
                test = np.ones(len(rows), dtype=bool)
                tr_raw, tr_y = fit_raw, fit_y
            else:
                test = np.array([fold_of[c] == f for c, _ in rows])
                tr_raw, tr_y = raw[~test], labels[~test]
            if not test.any():
                continue
            cal = fit_logistic(tr_raw, tr_y) if tr_y.sum() and (1 - tr_y).sum() else None
            for i in np.flatnonzero(test):
                c = rows[i][0]
                info, document, clauses, units, to_file = scored["docs"][c]
                cell = make_cell(info.id, info.name, document, clauses, units, col, scored["signals"][(c, col.key)],
                                 calibration=cal)
                found[i] = cell.found if cal is not None else False
                cited[c] = [(to_file(s), to_file(e)) for s, e in cell.spans]
        t = {"tp": int((found & (labels == 1)).sum()), "fp": int((found & (labels == 0)).sum()),
             "fn": int((~found & (labels == 1)).sum()), "tn": int((~found & (labels == 0)).sum())}
        for k in decided:
            decided[k] += t[k]
        row.update(t)
        th = tj = tn_ = 0
        for (c, y), fnd in zip(rows, found):
            if not y:
                continue
            hit, jac = location_match(cited[c], pos[(c, cat)])
            top_n += 1
            top_hits += hit
            top_j += jac >= 0.5
            if fnd:
                tn_ += 1
                loc_chars += sum(e - s for s, e in cited[c])
                th += hit
                tj += jac >= 0.5
        loc_n += tn_
        loc_hits += th
        loc_j += tj
        row["location_overlap"] = round(100 * th / tn_, 1) if tn_ else None
        row["location_jaccard50"] = round(100 * tj / tn_, 1) if tn_ else None
        per_type.append(row)
    macro = {}
    for v in VARIANTS:
        vals = [r[f"aupr_{v}"] for r in per_type if r[f"aupr_{v}"] is not None]
        p80 = [r[f"p_at_80r_{v}"] for r in per_type if r[f"p_at_80r_{v}"] is not None]
        macro[v] = {"aupr": round(statistics.fmean(vals), 2), "p_at_80r": round(statistics.fmean(p80), 2),
                    "types": len(vals)}
    tp, fp, fn = decided["tp"], decided["fp"], decided["fn"]
    return {
        "macro": macro, "per_type": per_type,
        "decisions": {**decided, "precision": round(100 * tp / max(tp + fp, 1), 1),
                      "recall": round(100 * tp / max(tp + fn, 1), 1)},
        "location": {"found_positive_cells": loc_n, "overlap": round(100 * loc_hits / max(loc_n, 1), 1),
                     "cited_chars_mean": round(loc_chars / max(loc_n, 1)),
                     "jaccard50": round(100 * loc_j / max(loc_n, 1), 1),
                     "all_positive_cells": top_n, "overlap_any_decision": round(100 * top_hits / max(top_n, 1), 1),
                     "jaccard50_any_decision": round(100 * top_j / max(top_n, 1), 1)},
        "pairs": {"positive": sum(r["positives"] for r in per_type), "negative": sum(r["negatives"] for r in per_type)},
    }


def write_calibration(pos: dict, neg: list, contracts: list[str], scored: dict[str, Any], path: Path) -> None:
    """Per-type logistic fits on every evaluated contract (what the product ships)."""
    from rag.review.calibration import fit_logistic
    from rag.review.columns import cuad_columns

    columns = cuad_columns()
    chosen = set(contracts)
    out: dict[str, dict[str, float]] = {}
    pooled_q, pooled_y = [], []
    for col in columns:
        rows = [(c, 1) for (c, cat) in pos if c in chosen and cat.lower() == col.name.lower()]
        rows += [(c, 0) for (c, cat) in neg if c in chosen and cat.lower() == col.name.lower()]
        if not rows:
            continue
        y = np.array([r[1] for r in rows])
        if y.sum() == 0 or y.sum() == len(y):
            continue
        cal = fit_logistic(np.array([scored["raw"][c][col.key]["review"] for c, _ in rows]), y)
        out[col.key] = {"a": round(cal.a, 4), "b": round(cal.b, 4), "positives": int(y.sum()), "pairs": len(y)}
        pooled_q += [scored["raw"][c][col.key]["question"] for c, _ in rows]
        pooled_y += list(y)
    cal = fit_logistic(np.array(pooled_q), np.array(pooled_y))
    out["custom"] = {"a": round(cal.a, 4), "b": round(cal.b, 4), "positives": int(sum(pooled_y)), "pairs": len(pooled_y)}
    path.write_text(json.dumps({
        "source": f"bench/review.py on CUAD dev ({len(contracts)} contracts), leave-one-contract-out examples",
        "license": "fit on CUAD (CC BY 4.0, The Atticus Project)", "columns": out}, indent=1) + "\n", encoding="utf-8")


def grid_speed(engine_settings: Any, pdf: Path, label: str, quantize: list[str] | None = None) -> list[dict[str, Any]]:
    """A 41-column review of one PDF from an empty review store: seconds, pages, units.

    ``quantize`` lists precisions to time one after the other on one ingest (done with the first);
    by default the settings' own. Each variant starts from an empty review store.
    """
    from rag.engine import Engine
    from rag.review import prototypes
    from rag.review.columns import cuad_columns
    from rag.review.grid import review
    from rag.review.storage import ReviewStore

    variants = quantize or [engine_settings.quantize]
    out = []
    with tempfile.TemporaryDirectory(prefix="review-speed-") as tmp:
        engine = Engine(replace(engine_settings, data_dir=tmp, quantize=variants[0]))
        t0 = time.perf_counter()
        report = engine.ingest([pdf], "speed")
        ingest_s = time.perf_counter() - t0
        if report.failed:
            raise SystemExit(f"{pdf.name} failed to ingest: {report.failed[0].error}")
        for i, variant in enumerate(variants):
            if i:
                engine = Engine(replace(engine_settings, data_dir=tmp, quantize=variant))
            retriever = engine.retriever("speed")
            retriever.search("warm up", top_k=1)
            columns = cuad_columns()
            t1 = time.perf_counter()
            prototypes.vectors(engine.encoder, [c.key for c in columns])  # once per model, then stored
            examples_s = time.perf_counter() - t1
            load = os.getloadavg()
            store = Path(tmp) / f"review-{variant}.sqlite"
            grid = review(retriever, columns, store=ReviewStore(store))
            again = review(retriever, columns, store=ReviewStore(store))
            info = retriever.collection.view().documents()[0]
            out.append({"model": label, "quantize": variant, "encoder_dtype": engine.encoder.dtype,
                        "reranker": engine.settings.rerank_model or None,
                        "pdf": pdf.name, "pages": info.pages, "chunks": info.chunks,
                        "columns": len(columns), "grid_seconds": round(grid.seconds, 2), "cells": grid.computed,
                        "stored_rerun_seconds": round(again.seconds, 3), "rerun_computed": again.computed,
                        **({"ingest_seconds": round(ingest_s, 1)} if i == 0 else
                           {"ingest": f"the collection ingested with quantize={variants[0]}"}),
                        "examples_seconds_once_per_model": round(examples_s, 1),
                        "load_before": [round(x, 2) for x in load],
                        "load_after": [round(x, 2) for x in os.getloadavg()]})
            print(f"grid: {out[-1]}", flush=True)
    return out


def _speed_pdf(args: argparse.Namespace) -> Path:
    """``--speed-pdf``, else the CUAD PDF nearest 50 pages."""
    if args.speed_pdf:
        return args.speed_pdf
    import csv

    rows = list(csv.DictReader((args.eval_dir / "pdfs" / "manifest.csv").open(encoding="utf-8")))
    return args.eval_dir / "pdfs" / min(rows, key=lambda r: abs(int(r["pages"]) - 50))["pdf"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--eval-dir", type=Path, default=EVAL)
    p.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "review-bench" / "data",
                   help="where the CUAD collection and its review store are kept between runs")
    p.add_argument("--collection", default="cuad-demo")
    p.add_argument("--contracts", type=int, help="evaluate an even spread of N contracts (default: all)")
    p.add_argument("--speed-pdf", type=Path, help="PDF for the grid time (default: the CUAD PDF nearest 50 pages)")
    p.add_argument("--speed-model", action="append", default=[], help="also time the grid with this model folder")
    p.add_argument("--speed-quantize", help="comma-separated precisions (none,int8) to time the grid in, one ingest "
                                            "(default: RAG_QUANTIZE's)")
    p.add_argument("--no-speed", action="store_true")
    p.add_argument("--speed-only", action="store_true",
                   help="time the grid only and add it to an existing results file (quality runs are long)")
    p.add_argument("--write-calibration", action="store_true", help="refit the shipped calibration file")
    p.add_argument("--only-ingested", action="store_true",
                   help="evaluate the contracts already in the collection (a stated subset), ingest nothing")
    p.add_argument("--contracts-file", type=Path,
                   help="evaluate exactly the contracts named in this file (one a line), ingesting any missing")
    p.add_argument("--first", type=int, help="only the first N of the chosen contracts (a smoke check)")
    p.add_argument("--prepare-only", action="store_true",
                   help="ingest the contracts and store their unit vectors, then stop (a later run reuses both)")
    p.add_argument("--dev-contracts", type=Path,
                   help="file of contract names (one a line) the scoring was tuned on: figures are also reported "
                        "for them and for the others (held out, decided with a calibration fit on the dev ones)")
    p.add_argument("--stop-at", help="UTC time HH:MM after which no further contract is started: the figures are "
                                       "then those of the contracts scored (dev ones first, then the others in a "
                                       "seeded random order, so any prefix is a fair sample of them)")
    p.add_argument("--dump", type=Path, help="pickle the signals of the scored contracts here (every 50 and at the end)")
    p.add_argument("--from-dump", type=Path,
                   help="evaluate the signals of a --dump file instead of scoring (cells are made by the current "
                        "code: a rule that picks or cites differently is measured without re-scoring)")
    p.add_argument("--results", type=Path)
    args = p.parse_args(argv)
    if not (args.eval_dir / "legal" / "benchmarks" / "cuad_dev.json").is_file():
        print(f"no CUAD dev data under {args.eval_dir}; nothing to measure")
        return 1

    from rag.config import load_settings
    from rag.engine import Engine
    from rag.eval.machine import machine_info, machine_tag

    settings = replace(load_settings(), data_dir=args.data_dir)
    out = args.results or REPO / "bench" / "results" / f"review-{machine_tag()}.json"
    if args.speed_only:
        payload = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {"machine": machine_info()}
        variants = args.speed_quantize.split(",") if args.speed_quantize else None
        payload["speed"] = grid_speed(settings, _speed_pdf(args), settings.embed_model, variants)
        for m in args.speed_model:
            payload["speed"] += grid_speed(replace(settings, embed_model=m), _speed_pdf(args), m, variants)
        payload["speed_date"] = time.strftime("%Y-%m-%d %H:%M")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"saved {out}")
        return 0
    engine = Engine(settings)
    corpus = args.eval_dir / "legal" / "corpus" / "cuad"
    pos, neg = load_pairs(args.eval_dir)
    contracts = spread(sorted({c for c, _ in pos} | {c for c, _ in neg}), args.contracts)
    load_start = os.getloadavg()
    if args.only_ingested:
        have = {d.name.removeprefix("cuad/") for d in engine.collection(args.collection).view().documents()}
        contracts = [c for c in sorted({c for c, _ in pos} | {c for c, _ in neg}) if c in have]
    if args.contracts_file:
        named = {line.strip() for line in args.contracts_file.read_text(encoding="utf-8").splitlines() if line.strip()}
        contracts = [c for c in sorted({c for c, _ in pos} | {c for c, _ in neg}) if c in named]
        if len(contracts) != len(named):
            raise SystemExit(f"{len(named) - len(contracts)} names in {args.contracts_file} are no CUAD dev contracts")
    if args.first:
        contracts = contracts[: args.first]
    index = ingest_missing(engine, args.collection, contracts, corpus)
    print(f"ingest: {index}", flush=True)
    if args.prepare_only:
        prepare(engine, args.collection, contracts)
        return 0
    dev_named = ({line.strip() for line in args.dev_contracts.read_text(encoding="utf-8").splitlines() if line.strip()}
                 if args.dev_contracts else set())
    planned = len(contracts)
    if args.stop_at:  # dev contracts first (the held-out calibration is fit on them), the rest shuffled
        import random

        rest = [c for c in contracts if c not in dev_named]
        random.Random(14).shuffle(rest)
        contracts = [c for c in contracts if c in dev_named] + rest
    deadline = None
    if args.stop_at:
        import calendar

        hh, mm = (int(x) for x in args.stop_at.split(":"))
        now = time.gmtime()
        deadline = calendar.timegm((now.tm_year, now.tm_mon, now.tm_mday, hh, mm, 0))
    t0 = time.perf_counter()
    if args.from_dump:
        scored = load_dump(args.from_dump, corpus)
        scored["scored"] = [c for c in scored["scored"] if c in set(contracts)]
    else:
        scored = score_contracts(engine, args.collection, contracts, corpus, deadline=deadline, dump=args.dump,
                                 dump_at={len(dev_named)} | set(range(50, len(contracts), 50)))
    review_s = time.perf_counter() - t0
    stopped = len(scored["scored"]) < len(contracts)
    contracts = sorted(scored["scored"])
    result = evaluate(pos, neg, contracts, scored)
    if args.dev_contracts:
        dev = [c for c in contracts if c in dev_named]
        held = [c for c in contracts if c not in dev_named]
        result["split"] = {"dev_contracts_file": str(args.dev_contracts.name), "dev_contract_names": dev,
                           "dev": evaluate(pos, neg, dev, scored) if dev else None,
                           "held_out": evaluate(pos, neg, held, scored, fit_on=dev) if held and dev else None}
        for part in ("dev", "held_out"):
            r = result["split"][part]
            if r:
                print(f"{part}: {len(dev) if part == 'dev' else len(held)} contracts, pairs {r['pairs']}, "
                      f"macro {r['macro']['review']}, decisions {r['decisions']}, location {r['location']}")
    if args.write_calibration:
        from rag.review.calibration import CALIBRATION_FILE

        write_calibration(pos, neg, contracts, scored, CALIBRATION_FILE)
        print(f"wrote {CALIBRATION_FILE}")
    speed = []
    if not args.no_speed:
        pdf = _speed_pdf(args)
        variants = args.speed_quantize.split(",") if args.speed_quantize else None
        speed += grid_speed(settings, pdf, settings.embed_model, variants)
        for model in args.speed_model:
            speed += grid_speed(replace(settings, embed_model=model), pdf, model, variants)

    m = result["macro"]
    print(f"{len(contracts)} contracts, {result['pairs']['positive']} positive and {result['pairs']['negative']} "
          f"negative pairs, model {settings.embed_model}")
    print("variant     | macro AUPR | macro P@80%R")
    for v in VARIANTS:
        print(f"{v:<11} | {m[v]['aupr']:>10} | {m[v]['p_at_80r']:>12}")
    print(f"decisions (cross-fitted calibration): {result['decisions']}")
    print(f"location: {result['location']}")
    if args.no_speed and out.is_file():  # keep the grid time of an earlier --speed-only run
        earlier = json.loads(out.read_text(encoding="utf-8"))
        speed = earlier.get("speed") or []
        payload_extra = {"speed_date": earlier.get("speed_date")} if speed else {}
    else:
        payload_extra = {}
    subset = (f"the {len(contracts)} contracts of {args.from_dump.name}" if args.from_dump else
              f"stopped by the time budget (--stop-at {args.stop_at} UTC) after {len(contracts)} of {planned}: "
              f"the dev contracts, then the others in a seeded random order" if stopped else
              "the contracts already ingested" if args.only_ingested else
              f"the contracts named in {args.contracts_file.name}" if args.contracts_file else
              f"an even spread of {args.contracts}" if args.contracts else None)
    payload = {"benchmark": "cuad_dev clause review", "contracts": len(contracts), "subset": subset,
               "contract_names": contracts if subset else None,
               "model": settings.embed_model, "reranker": settings.rerank_model, "anchors": ANCHORS,
               "scorer_version": _scorer_version(), "code": _git_commit(),
               **({"signals_from": {"dump": args.from_dump.name, "scorer_version": scored["dump_scorer_version"]}}
                  if args.from_dump else {}),
               **result, "speed": speed, "index": index,
               "review_seconds": round(review_s, 1),
               "seconds_per_contract_p50": round(statistics.median(scored["seconds"]), 2) if scored["seconds"] else None,
               "units": scored["units"], "load_start": [round(x, 2) for x in load_start],
               "load_end": [round(x, 2) for x in os.getloadavg()], "machine": machine_info(),
               "date": time.strftime("%Y-%m-%d %H:%M"), **payload_extra}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
