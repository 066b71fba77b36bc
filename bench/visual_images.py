"""Image items (ingest.images) of the shared contract PDFs: counts per file, kinds, captions, time.

For each PDF in ../shared/eval/pdfs: text extraction (ingest.extract, OCR off: all have a text
layer) then extract_images; counts image and page items, items with text beside them, pictures
dropped as repeated decoration, and the seconds both steps took. ``--draw DIR`` also saves each
page that has items, rendered with the item boxes (green) and text line boxes (blue), for a
spot-check by eye.

    nice -n 5 python bench/visual_images.py [--draw /tmp/boxes]

Writes bench/results/visual-images-<machine>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PDFS = Path(os.environ.get("RAG_SHARED_EVAL", REPO.parent / "shared" / "eval")) / "pdfs"


def draw(data: bytes, items: list[Any], doc: Any, folder: Path, stem: str) -> list[str]:
    import pypdfium2
    from PIL import ImageDraw

    pdf = pypdfium2.PdfDocument(data)
    written = []
    try:
        for page in sorted({it.page for it in items}):
            im = pdf[page - 1].render(scale=1).to_pil().convert("RGB")
            d = ImageDraw.Draw(im)
            for ln in doc.lines:
                if ln.page == page:
                    d.rectangle((ln.x0, ln.top, ln.x1, ln.bottom), outline=(0, 0, 255), width=1)
            for it in items:
                if it.page == page:
                    d.rectangle((it.x0, it.top, it.x1, it.bottom), outline=(0, 190, 0), width=3)
            path = folder / f"{stem[:40]}-p{page}.png"
            im.save(path)
            written.append(str(path))
    finally:
        pdf.close()
    return written


def main() -> None:
    from ingest.extract import extract_bytes
    from ingest.images import extract_images
    from rag.eval.machine import machine_info, machine_tag, package_versions

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--draw", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.draw:
        args.draw.mkdir(parents=True, exist_ok=True)
    rows = []
    load_before = os.getloadavg()
    for path in sorted(PDFS.glob("*.[pP][dD][fF]")):
        data = path.read_bytes()
        t0 = time.perf_counter()
        doc = extract_bytes(data, path.name, ocr=False)
        t1 = time.perf_counter()
        items = extract_images(data, doc, name=path.name)
        t2 = time.perf_counter()
        everything = extract_images(data, doc, name=path.name, repeat_pages=None)
        row = {
            "file": path.name, "pages": doc.page_count,
            "image_items": sum(it.kind == "image" for it in items),
            "page_items": sum(it.kind == "page" for it in items),
            "with_text": sum(bool(it.text) for it in items),
            "dropped_repeated": len(everything) - len(items),
            "extract_s": round(t1 - t0, 2), "images_s": round(t2 - t1, 2),
            "items": [{"page": it.page, "kind": it.kind, "box": [it.x0, it.top, it.x1, it.bottom],
                       "coverage": it.coverage, "text": it.text[:120]} for it in items],
        }
        if args.draw and items:
            row["drawn"] = draw(data, items, doc, args.draw, path.stem)
        rows.append(row)
        print(f"{row['image_items']:4d} img {row['page_items']:3d} page {row['with_text']:3d} text "
              f"{row['dropped_repeated']:3d} rep {row['pages']:4d} pp {row['images_s']:6.2f}s  {path.name[:60]}")
    totals = {k: sum(r[k] for r in rows) for k in ("pages", "image_items", "page_items", "with_text", "dropped_repeated")}
    totals["files"] = len(rows)
    totals["files_with_items"] = sum(1 for r in rows if r["image_items"] or r["page_items"])
    totals["images_s"] = round(sum(r["images_s"] for r in rows), 1)
    result = {"benchmark": "visual_images", "source": str(PDFS), "totals": totals, "files": rows,
              "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
              "machine": machine_info(), "extra_versions": package_versions(("pypdfium2", "pillow", "pypdf"))}
    out = args.out or REPO / "bench" / "results" / f"visual-images-{machine_tag()}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(totals), f"load {result['load_before']} -> {result['load_after']}; wrote {out}")


if __name__ == "__main__":
    main()
