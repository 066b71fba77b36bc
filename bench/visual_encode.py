"""Visualized BGE encode speed on CPU: rag.models' VisualBGE against the reference, side by side.

Same checkpoint (``python -m rag.models.visual_testing full DIR``: bge-visualized-m3's shape, bge-m3 +
EVA02-CLIP-L-14, random weights), same images (synthetic contract images: seals, signature blocks,
charts, a scanned-page look, in several sizes) and captions, fp32, batches of the same size on
both sides, preprocessing included on both sides. Reports images/s (image only), composed items/s
(image + caption) and texts/s, and the max abs difference between the two implementations' outputs
(full-shape parity). Both run in this process, batch by batch, alternating which goes first, so the
shared machine's load drifts over both alike; the reference's import shims
(tests/comparison/visual_reference.py) are applied first, and it needs RAG_VISUAL_REF_SITE or
installed torchvision/timm/einops/ftfy. ``--tiny`` runs on a tiny checkpoint (a smoke test).

    nice -n 5 python bench/visual_encode.py --model /tmp/visual-full [--items 6] [--batch 2]

Writes bench/results/visual-encode-<machine>.json and prints a table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
REFERENCE = Path(os.environ.get("RAG_SHARED_REFERENCE", REPO.parent / "shared" / "reference")) / "visual_bge"
HARNESS = REPO / "tests" / "comparison" / "visual_reference.py"

CAPTIONS = [
    "Company seal of the Licensor affixed on the signature page",
    "签字页：甲方（盖章）乙方（盖章）",
    "Figure 3: quarterly revenue by region, Exhibit B",
    "IN WITNESS WHEREOF, the parties have executed this Agreement. By: /s/ Name, Title: CEO",
    "Exhibit C - site plan of the premises",
    "Scanned annex: schedule of equipment",
]


def make_images(folder: Path, n: int) -> list[str]:
    """``n`` PNG files: seal, signature block, bar chart, text-like scan, in varied sizes."""
    from PIL import Image, ImageDraw

    rng = np.random.RandomState(0)
    paths = []
    for i in range(n):
        kind = i % 4
        w, h = [(300, 300), (640, 200), (800, 500), (850, 1100)][kind]
        img = Image.new("RGB", (w, h), "white")
        d = ImageDraw.Draw(img)
        if kind == 0:
            d.ellipse((15, 15, w - 15, h - 15), outline=(200, 0, 0), width=10)
            d.regular_polygon((w / 2, h / 2, 50), 5, fill=(200, 0, 0))
        elif kind == 1:
            pts = [(40 + 8 * k, 120 + 30 * np.sin(k / 3 + i)) for k in range(60)]
            d.line(pts, fill=(10, 10, 80), width=3)
            d.line((30, 160, 600, 160), fill="black", width=1)
        elif kind == 2:
            for k in range(8):
                top = int(450 - rng.randint(50, 400))
                d.rectangle((60 + 85 * k, top, 120 + 85 * k, 450), fill=(30 + 25 * k, 90, 160))
            d.line((50, 450, 780, 450), fill="black", width=2)
        else:
            for y in range(60, 1040, 22):
                d.line((70, y, 70 + rng.randint(400, 720), y), fill=(40, 40, 40), width=7)
        path = folder / f"img{i}.png"
        img.save(path)
        paths.append(str(path))
    return paths


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def load_both(model_dir: str, batch: int, tiny: bool = False) -> tuple[Any, Any, dict[str, float]]:
    """Our encoder and the reference, in this process (the reference's import shims applied first)."""
    sys.path.insert(0, str(HARNESS.parent))
    import visual_reference as vr

    try:
        vr._prepare_imports(REFERENCE)
        import visual_bge.modeling  # noqa: F401
    except ImportError as exc:
        raise SystemExit(f"the reference cannot be imported here ({exc}); set RAG_VISUAL_REF_SITE, see {HARNESS}")
    from rag.models.visual_loading import load_visual_encoder

    t0 = time.perf_counter()
    ours = load_visual_encoder(model_dir, device="cpu", dtype="float32", image_batch=batch)
    t1 = time.perf_counter()
    ref = vr.load_reference(Path(model_dir), tiny)
    t2 = time.perf_counter()
    gc.collect()
    return ours, ref, {"ours": round(t1 - t0, 1), "reference": round(t2 - t1, 1)}


def runners(ours: Any, ref: Any, images: list[str], captions: list[str]) -> dict[str, tuple[Any, Any]]:
    """Per kind, ``(ours(indices), reference(indices))``: each encodes the given items, preprocessing included."""
    import torch
    from PIL import Image

    def pixels(idx: list[int]) -> Any:
        return torch.stack([ref.preprocess_val(Image.open(images[i])) for i in idx])

    def tokens(idx: list[int], empty: bool = False) -> Any:
        return ref.tokenizer(["" if empty else captions[i] for i in idx], return_tensors="pt", padding=True)

    return {
        "text": (lambda idx: ours.encode_text([captions[i] for i in idx]),
                 lambda idx: ref.encode_text(tokens(idx)).numpy()),
        "image": (lambda idx: ours.encode_images([images[i] for i in idx]),
                  lambda idx: ref.encode_image(pixels(idx)).numpy()),
        "composed": (lambda idx: ours.encode_composed([images[i] for i in idx], [captions[i] for i in idx]),
                     lambda idx: ref.encode_mm(pixels(idx), tokens(idx)).numpy()),
    }


def time_interleaved(fns: tuple[Any, Any], n: int, batch: int) -> dict[str, Any]:
    """Both sides batch by batch, alternating which goes first, so that the shared machine's load
    drifts over both alike; per-batch speed ratios (ours / reference) and their median."""
    import torch

    seconds = {"ours": 0.0, "reference": 0.0}
    ratios, outs = [], {"ours": [], "reference": []}
    loads = [load_avg()]
    with torch.inference_mode():
        for b, start in enumerate(range(0, n, batch)):
            idx = list(range(start, min(start + batch, n)))
            spent = {}
            for side in (("ours", "reference") if b % 2 == 0 else ("reference", "ours")):
                t0 = time.perf_counter()
                outs[side].append(fns[0 if side == "ours" else 1](idx))
                spent[side] = time.perf_counter() - t0
                seconds[side] += spent[side]
            ratios.append(spent["reference"] / spent["ours"])
            loads.append(load_avg())
    return {
        "ours_per_s": round(n / seconds["ours"], 4), "reference_per_s": round(n / seconds["reference"], 4),
        "ours_seconds": round(seconds["ours"], 2), "reference_seconds": round(seconds["reference"], 2),
        "batch_speed_ratios": [round(r, 3) for r in ratios], "median_speed_ratio": round(float(np.median(ratios)), 3),
        "load_avg_per_batch": loads,
        "max_abs_diff": float(np.abs(np.concatenate(outs["ours"]) - np.concatenate(outs["reference"])).max()),
    }


def main() -> None:
    from rag.eval.machine import machine_info, machine_tag, package_versions

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="folder from `python -m rag.models.visual_testing full DIR`")
    ap.add_argument("--items", type=int, default=6)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--tiny", action="store_true", help="the model is a tiny checkpoint (smoke test)")
    args = ap.parse_args()
    captions = (CAPTIONS * (args.items // len(CAPTIONS) + 1))[: args.items]
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        images = make_images(Path(tmp), args.items)
        ours, ref, load_s = load_both(args.model, args.batch, args.tiny)
        fns = runners(ours, ref, images, captions)
        with torch.inference_mode():
            fns["composed"][0]([0]), fns["composed"][1]([0])  # warm-up, both sides
        timings = {kind: time_interleaved(fns[kind], args.items, args.batch) for kind in ("text", "image", "composed")}

    result: dict[str, Any] = {
        "benchmark": "visual_encode",
        "model": f"{args.model} (bge-visualized-m3 shape: bge-m3 24x1024 + EVA02-CLIP-L-14 224px, random weights)",
        "dtype": "float32",
        "threads": torch.get_num_threads(),
        "items": args.items,
        "batch": args.batch,
        "inputs": "synthetic PNGs (seal 300x300, signature 640x200, chart 800x500, scan 850x1100), "
                  "captions of 10-40 tokens",
        "method": "one process, same batches; per batch ours and the reference alternate which runs first",
        "load_seconds": load_s,
        "timings": timings,
        "machine": machine_info(),
        "extra_versions": package_versions(("torchvision", "timm", "pillow")),
        "note": "shared machine: load average recorded per batch; absolute figures are pessimistic",
    }
    out = args.out or REPO / "bench" / "results" / f"visual-encode-{machine_tag()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'':10} {'ours /s':>9} {'ref /s':>9} {'median ratio':>13} {'max |diff|':>11}")
    for kind, t in timings.items():
        print(f"{kind:10} {t['ours_per_s']:9.4f} {t['reference_per_s']:9.4f} {t['median_speed_ratio']:13.3f} "
              f"{t['max_abs_diff']:11.2e}")
    print(f"load average {timings['image']['load_avg_per_batch'][0]} -> {timings['composed']['load_avg_per_batch'][-1]}; "
          f"wrote {out}")


if __name__ == "__main__":
    main()
