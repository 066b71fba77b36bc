"""Visualized BGE encode speed on CPU: rag.models' VisualBGE against the reference, side by side.

Same checkpoint (``python -m rag.models.visual_testing full DIR``: bge-visualized-m3's shape, bge-m3 +
EVA02-CLIP-L-14, random weights), same images (synthetic contract images: seals, signature blocks,
charts, a scanned-page look, in several sizes) and captions, fp32, batches of the same size on
both sides, preprocessing included on both sides. Reports images/s (image only), composed items/s
(image + caption) and texts/s, and the max abs difference between the two implementations' outputs
(full-shape parity). The reference runs in a subprocess through tests/comparison/visual_reference.py
(its import shims); it needs RAG_VISUAL_REF_SITE or installed torchvision/timm/einops/ftfy.

    nice -n 5 python bench/visual_encode.py --model /tmp/visual-full [--items 6] [--batch 2]

Writes bench/results/visual-encode-<machine>.json and prints a table.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
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


def time_ours(model_dir: str, images: list[str], captions: list[str], batch: int) -> dict[str, Any]:
    import torch

    from rag.models.visual_loading import load_visual_encoder

    t0 = time.perf_counter()
    model = load_visual_encoder(model_dir, device="cpu", dtype="float32", image_batch=batch)
    load_s = time.perf_counter() - t0
    model.encode_composed(images[:1], captions[:1])  # warm-up
    out: dict[str, Any] = {"load_s": round(load_s, 1), "threads": torch.get_num_threads()}
    for kind, fn in (("text", lambda: model.encode_text(captions)),
                     ("image", lambda: model.encode_images(images)),
                     ("composed", lambda: model.encode_composed(images, captions))):
        before = load_avg()
        t0 = time.perf_counter()
        vecs = fn()
        seconds = time.perf_counter() - t0
        out[kind] = {"seconds": round(seconds, 2), "per_s": round(len(vecs) / seconds, 3), "load_before": before,
                     "load_after": load_avg()}
        out[kind + "_vecs"] = vecs
    return out


_REFERENCE_TIMER = r"""
import json, sys, time, os
import numpy as np
sys.path.insert(0, sys.argv[4])
import visual_reference as vr
inputs = json.loads(open(sys.argv[2]).read())
try:
    vr._prepare_imports(__import__("pathlib").Path(inputs["reference_dir"]))
    import torch
    from PIL import Image
except ImportError as exc:
    print(exc, file=sys.stderr); sys.exit(3)
t0 = time.perf_counter()
model = vr.load_reference(__import__("pathlib").Path(sys.argv[1]), False)
load_s = time.perf_counter() - t0
images, captions, batch = inputs["images"], inputs["captions"], inputs["batch"]
def pixels(paths):
    return torch.stack([model.preprocess_val(Image.open(p)) for p in paths])
def run(kind):
    outs = []
    if kind == "text":
        return model.encode_text(model.tokenizer(captions, return_tensors="pt", padding=True))
    for i in range(0, len(images), batch):
        px = pixels(images[i:i + batch])
        if kind == "image":
            outs.append(model.encode_image(px))
        else:
            outs.append(model.encode_mm(px, model.tokenizer(captions[i:i + batch], return_tensors="pt", padding=True)))
    return torch.cat(outs)
res = {"load_s": round(load_s, 1), "threads": torch.get_num_threads()}
with torch.no_grad():
    model.encode_mm(pixels(images[:1]), model.tokenizer(captions[:1], return_tensors="pt", padding=True))
    vecs = {}
    for kind in ("text", "image", "composed"):
        before = [round(x, 2) for x in os.getloadavg()]
        t0 = time.perf_counter()
        v = run(kind)
        s = time.perf_counter() - t0
        res[kind] = {"seconds": round(s, 2), "per_s": round(len(v) / s, 3), "load_before": before,
                     "load_after": [round(x, 2) for x in os.getloadavg()]}
        vecs[kind] = v.numpy()
np.savez(sys.argv[3], **vecs)
print(json.dumps(res))
"""


def time_reference(model_dir: str, images: list[str], captions: list[str], batch: int, work: Path) -> dict[str, Any]:
    inputs = work / "inputs.json"
    inputs.write_text(json.dumps({"reference_dir": str(REFERENCE), "images": images, "captions": captions,
                                  "batch": batch}))
    script = work / "ref_timer.py"
    script.write_text(_REFERENCE_TIMER)
    out = work / "ref.npz"
    proc = subprocess.run([sys.executable, str(script), model_dir, str(inputs), str(out), str(HARNESS.parent)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"reference run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(out) as data:
        for kind in ("text", "image", "composed"):
            res[kind + "_vecs"] = data[kind]
    return res


def main() -> None:
    from rag.eval.machine import machine_info, machine_tag, package_versions

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="folder from `python -m rag.models.visual_testing full DIR`")
    ap.add_argument("--items", type=int, default=6)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    captions = (CAPTIONS * (args.items // len(CAPTIONS) + 1))[: args.items]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        images = make_images(work, args.items)
        ours = time_ours(args.model, images, captions, args.batch)
        gc.collect()
        ref = time_reference(args.model, images, captions, args.batch, work)
    result: dict[str, Any] = {
        "benchmark": "visual_encode",
        "model": f"{args.model} (bge-visualized-m3 shape: bge-m3 24x1024 + EVA02-CLIP-L-14 224px, random weights)",
        "dtype": "float32",
        "items": args.items,
        "batch": args.batch,
        "inputs": "synthetic PNGs (seal 300x300, signature 640x200, chart 800x500, scan 850x1100), "
                  "captions of 10-40 tokens",
        "machine": machine_info(),
        "extra_versions": package_versions(("torchvision", "timm", "pillow")),
        "note": "shared machine: load average recorded before/after each timing; absolute figures are pessimistic",
    }
    for kind in ("text", "image", "composed"):
        diff = float(np.abs(ours.pop(kind + "_vecs") - ref.pop(kind + "_vecs")).max())
        result.setdefault("parity_max_abs_diff", {})[kind] = diff
    result["ours"], result["reference"] = ours, ref
    result["speedup"] = {k: round(ours[k]["per_s"] / ref[k]["per_s"], 2) for k in ("text", "image", "composed")}
    out = args.out or REPO / "bench" / "results" / f"visual-encode-{machine_tag()}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'':10} {'ours /s':>10} {'reference /s':>13} {'speed-up':>9} {'max |diff|':>11}")
    for kind in ("text", "image", "composed"):
        print(f"{kind:10} {ours[kind]['per_s']:10.3f} {ref[kind]['per_s']:13.3f} {result['speedup'][kind]:9.2f} "
              f"{result['parity_max_abs_diff'][kind]:11.2e}")
    print(f"load average: ours {ours['image']['load_before']} / reference {ref['image']['load_before']}; wrote {out}")


if __name__ == "__main__":
    main()
