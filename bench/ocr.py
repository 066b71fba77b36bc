"""OCR engines side by side on pages whose text is known, and text-layer extraction speed.

Pages of the real contracts in ``<shared eval>/pdfs`` (all have a text layer) are rendered with
pypdfium2 and read by each OCR engine; the reference is the page's canonical text from
``ingest.extract`` (pypdf's text layer). A synthetic Chinese contract page (reportlab,
STSong-Light; pdfium substitutes an installed CJK font) covers ``chi_sim``.

Reported per engine: character accuracy = 1 - edit distance / reference length, on texts with
whitespace runs collapsed to one space (so lost word spaces count as errors, as
"MASTERSUPPLYAGREEMENT" should), the same with all whitespace removed (recognition alone),
and seconds per page (first page separately: it includes model loading).

Also times ``ingest.extract.extract`` on every shared PDF (the longest has 154 pages), since
a scanned page's OCR cost only means something next to a text page's cost.

Engines are named ``tesseract-<languages>`` (ingest.ocr's default segmentation: psm 6, and 4
again for a page that comes out mostly Han), ``tesseract-<languages>-psm<N>`` (that mode
only) or ``rapidocr``; the first of each list is ingest.ocr's default engine.

Run:  python bench/ocr.py [--pages 6] [--dpi 300] [--engines tesseract-eng+chi_sim-psm6 rapidocr ...]
Writes bench/results/ocr-<machine>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from ingest import ocr
from ingest.extract import extract, extract_bytes
from rag.eval.machine import cpu_model, package_versions

SHARED_EVAL = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval"))


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, one numpy row at a time (insertions by a running minimum)."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    bb = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    idx = np.arange(len(b) + 1)
    prev = idx.copy()
    aa = np.frombuffer(a.encode("utf-32-le"), dtype=np.uint32)
    for i in range(1, len(aa) + 1):
        sub = prev[:-1] + (bb != aa[i - 1])
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(sub, prev[1:] + 1)
        # insertions: cur[j] = min_k<=j cur[k] + (j - k)
        cur = np.minimum.accumulate(cur - idx) + idx
        prev = cur
    return int(prev[-1])


def accuracy(ocr_text: str, ref: str, *, spaces: bool) -> float:
    if spaces:
        a, b = re.sub(r"\s+", " ", ocr_text).strip(), re.sub(r"\s+", " ", ref).strip()
    else:
        a, b = re.sub(r"\s+", "", ocr_text), re.sub(r"\s+", "", ref)
    return max(0.0, 1 - edit_distance(a, b) / max(len(b), 1))


def sample_pages(n: int) -> list[tuple[str, bytes, int, str]]:
    """``n`` pages from different shared PDFs (every k-th file, its 2nd page when it has one)."""
    pdfs = sorted(p for p in (SHARED_EVAL / "pdfs").iterdir() if p.suffix.lower() == ".pdf")
    step = max(len(pdfs) // n, 1)
    out = []
    for path in pdfs[::step][:n]:
        doc = extract(path, ocr=False)
        page = 1 if doc.page_count > 1 else 0
        s, e = doc.page_spans[page]
        out.append((f"{path.name[:40]} p{page + 1}", path.read_bytes(), page, doc.text[s:e]))
    return out


def chinese_page() -> tuple[str, bytes, int, str]:
    from pdf_factory import chinese_contract_pdf

    data, _ = chinese_contract_pdf()
    doc = extract_bytes(data, "zh.pdf", ocr=False)
    s, e = doc.page_spans[0]
    return ("synthetic Chinese contract p1", data, 0, doc.text[s:e])


def make_engine(spec: str) -> ocr.OcrEngine:
    if spec.startswith("tesseract-"):  # tesseract-<langs>: ingest.ocr's default; -psm<N>: that mode only
        parts = spec.split("-")
        if len(parts) > 2:
            return ocr.TesseractEngine(parts[1], psm=int(parts[2][3:]), cjk_psm=None)
        return ocr.TesseractEngine(parts[1])
    if spec == "rapidocr":
        return ocr.RapidOcrEngine()
    raise SystemExit(f"unknown engine spec {spec!r}")


def run_engine(spec: str, pages: list[tuple[str, bytes, int, str]], dpi: int) -> dict:
    t0 = time.perf_counter()
    try:
        engine = make_engine(spec)
    except ocr.OcrUnavailableError as exc:
        return {"engine": spec, "error": str(exc)}
    load_s = time.perf_counter() - t0
    rows = []
    for label, data, index, ref in pages:
        pdf = ocr.open_pdf(data)
        try:
            t = time.perf_counter()
            image, scale = ocr.render_page(pdf, index, dpi)
            render_s = time.perf_counter() - t
        finally:
            pdf.close()
        t, cpu = time.perf_counter(), _cpu_seconds()
        page = ocr.page_from_lines(engine.read(image), scale)
        read_s = time.perf_counter() - t
        cpu_s = _cpu_seconds() - cpu
        rows.append({
            "page": label, "ref_chars": len(ref), "render_s": round(render_s, 3), "ocr_s": round(read_s, 2),
            "ocr_cpu_s": round(cpu_s, 2),
            "acc_spaced": round(accuracy(page.text, ref, spaces=True), 4),
            "acc_no_space": round(accuracy(page.text, ref, spaces=False), 4),
            "sample": page.text[:120],
        })
        print(f"  {spec:24s} {label:42s} {read_s:6.1f}s (cpu {cpu_s:5.1f}s)  acc {rows[-1]['acc_spaced']:.3f} "
              f"(no-space {rows[-1]['acc_no_space']:.3f})", flush=True)
    return {"engine": spec, "load_s": round(load_s, 2), "pages": rows}


def _cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of finished children (tesseract): less
    sensitive than wall time to other people's jobs on a shared machine."""
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def summarise(result: dict) -> dict:
    rows = result.get("pages", [])
    if not rows:
        return {}
    total_ref = sum(r["ref_chars"] for r in rows)
    return {
        "acc_spaced": round(sum(r["acc_spaced"] * r["ref_chars"] for r in rows) / total_ref, 4),
        "acc_no_space": round(sum(r["acc_no_space"] * r["ref_chars"] for r in rows) / total_ref, 4),
        "s_per_page": round(sum(r["ocr_s"] for r in rows) / len(rows), 2),
        "cpu_s_per_page": round(sum(r["ocr_cpu_s"] for r in rows) / len(rows), 2),
        "first_page_s_incl_load": round(result["load_s"] + rows[0]["ocr_s"], 2),
    }


def time_extraction() -> list[dict]:
    out = []
    for path in sorted(p for p in (SHARED_EVAL / "pdfs").iterdir() if p.suffix.lower() == ".pdf"):
        t, cpu = time.perf_counter(), time.process_time()
        doc = extract(path, ocr=False)
        dt, cpu_s = time.perf_counter() - t, time.process_time() - cpu
        out.append({"pdf": path.name, "pages": doc.page_count, "chars": len(doc.text), "seconds": round(dt, 2),
                    "cpu_seconds": round(cpu_s, 2), "s_per_page": round(dt / doc.page_count, 4)})
    return out


def machine_info() -> dict:
    cpu = cpu_model()
    versions = package_versions(("pypdf", "pypdfium2", "rapidocr-onnxruntime", "onnxruntime", "reportlab"))
    try:
        versions["tesseract"] = ocr.TesseractEngine("eng").version()
    except (ocr.OcrUnavailableError, OSError, subprocess.SubprocessError):
        versions["tesseract"] = None
    return {"machine": platform.node(), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "versions": versions,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=6, help="English pages from the shared PDFs")
    ap.add_argument("--dpi", type=int, default=ocr.DEFAULT_DPI)
    ap.add_argument("--engines", nargs="+", default=[
        "tesseract-eng+chi_sim", "tesseract-eng", "tesseract-eng+chi_sim-psm3", "tesseract-eng+chi_sim-psm4",
        "rapidocr"])
    ap.add_argument("--zh-engines", nargs="+", default=[
        "tesseract-eng+chi_sim", "tesseract-eng+chi_sim-psm3", "tesseract-eng+chi_sim-psm6", "rapidocr"])
    ap.add_argument("--no-extract-timing", action="store_true")
    ap.add_argument("--extract-only", action="store_true",
                    help="only time extraction; keep the OCR results of the last run in the JSON")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # pypdf's notes on odd PDFs
    if not (SHARED_EVAL / "pdfs").is_dir():
        raise SystemExit(f"shared eval PDFs not found at {SHARED_EVAL / 'pdfs'}")

    info = machine_info()
    print(f"machine {info['machine']}: {info['cpu']}, {info['cores']} cores, load average "
          f"{info['load_average_at_start']}; dpi {args.dpi}", flush=True)
    out = REPO / "bench" / "results" / f"ocr-{re.sub(r'[^A-Za-z0-9_.-]', '_', info['machine'])}.json"
    if args.extract_only:
        args.engines, args.zh_engines = [], []
    en_pages = sample_pages(args.pages) if args.engines else []
    zh_pages = [chinese_page()] if args.zh_engines else []
    results = {"en": [], "zh": []}
    for spec in args.engines:
        r = run_engine(spec, en_pages, args.dpi)
        r["summary"] = summarise(r)
        results["en"].append(r)
    for spec in args.zh_engines:
        r = run_engine(spec, zh_pages, args.dpi)
        r["summary"] = summarise(r)
        results["zh"].append(r)

    print(f"\nOCR vs text layer, {len(en_pages)} English contract pages + 1 Chinese page, {args.dpi} dpi")
    print(f"{'set':3s} {'engine':24s} {'char acc':>9s} {'no-space':>9s} {'s/page':>7s} {'cpu s/pg':>9s} "
          f"{'1st page':>9s}")
    for lang, rows in results.items():
        for r in rows:
            s = r.get("summary") or {}
            if not s:
                print(f"{lang:3s} {r['engine']:24s} {r.get('error', 'no result')}")
                continue
            print(f"{lang:3s} {r['engine']:24s} {s['acc_spaced']:9.3f} {s['acc_no_space']:9.3f} "
                  f"{s['s_per_page']:7.1f} {s['cpu_s_per_page']:9.1f} {s['first_page_s_incl_load']:9.1f}")

    timing = [] if args.no_extract_timing else time_extraction()
    if timing:
        longest = max(timing, key=lambda t: t["pages"])
        total_pages = sum(t["pages"] for t in timing)
        total_s = sum(t["seconds"] for t in timing)
        total_cpu = sum(t["cpu_seconds"] for t in timing)
        print(f"\ntext-layer extraction (ingest.extract, pypdf {info['versions']['pypdf']}): "
              f"{len(timing)} PDFs, {total_pages} pages in {total_s:.1f} s wall, {total_cpu:.1f} s CPU "
              f"({total_cpu / total_pages:.3f} CPU s/page); longest {longest['pages']} pages in "
              f"{longest['seconds']:.1f} s wall, {longest['cpu_seconds']:.1f} s CPU")
        for t in sorted(timing, key=lambda t: -t["seconds"])[:5]:
            print(f"  {t['seconds']:6.2f} s wall {t['cpu_seconds']:6.2f} s CPU {t['pages']:4d} pages  {t['pdf'][:60]}")

    result = {"machine": info, "dpi": args.dpi, "ocr": results, "extraction": timing}
    if args.extract_only and out.is_file():
        previous = json.loads(out.read_text())
        result = {**previous, "extraction": timing, "extraction_machine": info}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nwrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
