"""Our Visualized BGE against the reference (FlagEmbedding research/visual_bge) on the same checkpoint.

Text-only, image-only and composed (image+text) embeddings, fp32 CPU, max abs difference <= 1e-5;
the reference's torchvision pixels and its freshly computed rotary tables must match exactly.
The reference runs in a subprocess (see visual_reference.py for why and for its import shims);
skipped when ``../shared/reference/visual_bge`` or its packages (torchvision, timm, einops, ftfy,
optionally from a ``pip install --target`` folder named by ``RAG_VISUAL_REF_SITE``) are absent.

The full-shape check (bge-visualized-m3's shape, ~3.5 GB) runs when ``RAG_VISUAL_FULL_DIR`` names a
folder built by ``python -m rag.models.visual_testing full DIR``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
REFERENCE = Path(os.environ.get("RAG_SHARED_REFERENCE", REPO.parent / "shared" / "reference")) / "visual_bge"
HARNESS = Path(__file__).with_name("visual_reference.py")
TOL = 1e-5

TEXTS = [
    "What is the notice period for termination?",
    "本合同适用中华人民共和国法律。因本合同引起的争议，提交仲裁委员会仲裁。",
    "a",
    "Company seal 公章 on the signature page of the Supply Agreement",
]
CAPTIONS = ["Exhibit C: site plan", "签字页", "", "Figure 2: revenue by quarter", "seal of the Licensor"]


def _write_images(folder: Path) -> list[str]:
    """Five images exercising the preprocessing: sizes above/below the crop, both aspect ratios,
    RGB/RGBA/L/P modes, PNG and JPEG."""
    from PIL import Image, ImageDraw

    rng = np.random.RandomState(7)
    seal = Image.new("RGB", (150, 150), "white")
    ImageDraw.Draw(seal).ellipse((10, 10, 140, 140), outline=(200, 0, 0), width=8)
    specs = [
        ("noise.png", Image.fromarray((rng.rand(90, 130, 3) * 255).astype("uint8"))),
        ("tall.jpg", Image.fromarray((rng.rand(300, 61, 3) * 255).astype("uint8"))),
        ("small_rgba.png", Image.fromarray((rng.rand(40, 30, 4) * 255).astype("uint8"), "RGBA")),
        ("gray.png", Image.fromarray((rng.rand(70, 70) * 255).astype("uint8"), "L")),
        ("seal_p.png", seal.convert("P")),
    ]
    paths = []
    for name, img in specs:
        path = folder / name
        img.save(path, quality=90) if name.endswith(".jpg") else img.save(path)
        paths.append(str(path))
    return paths


def run_reference(checkpoint: Path, tiny: bool, images: list[str], texts: list[str], captions: list[str],
                  work: Path) -> dict[str, np.ndarray]:
    if not (REFERENCE / "visual_bge" / "modeling.py").is_file():
        pytest.skip(f"reference Visualized BGE not found at {REFERENCE}")
    inputs = work / "inputs.json"
    inputs.write_text(json.dumps({"reference_dir": str(REFERENCE), "tiny": tiny, "texts": texts,
                                  "images": images, "captions": captions}))
    out = work / "reference.npz"
    proc = subprocess.run([sys.executable, str(HARNESS), str(checkpoint), str(inputs), str(out)],
                          capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode == 3:
        pytest.skip(f"reference Visualized BGE cannot run here: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as data:
        return dict(data)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rag.models.visual_testing import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny-visual"))


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return _write_images(tmp_path_factory.mktemp("visual-images"))


@pytest.fixture(scope="module")
def reference(tiny_dir: Path, images: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    return run_reference(tiny_dir, True, images, TEXTS, CAPTIONS, tmp_path_factory.mktemp("visual-ref"))


@pytest.fixture(scope="module")
def ours(tiny_dir: Path) -> Any:
    from rag.models.visual_loading import load_visual_encoder

    # Small batches: several length-sorted batches where the reference encodes one item at a time.
    return load_visual_encoder(tiny_dir, device="cpu", dtype="float32", image_batch=2, tokens_per_batch=64)


def test_pixels_identical_to_torchvision(reference: dict[str, np.ndarray], images: list[str]) -> None:
    from rag.models.visual_preprocess import preprocess_batch

    ours = preprocess_batch(images, reference["pixels"].shape[-1])
    assert ours.dtype == np.float32
    assert np.array_equal(ours, reference["pixels"])


def test_rotary_tables_identical(reference: dict[str, np.ndarray]) -> None:
    from rag.models.eva_clip import rope_tables
    from rag.models.visual_testing import TINY_TOWER

    cos, sin = rope_tables(TINY_TOWER.head_dim, TINY_TOWER.grid)
    assert np.abs(cos.numpy() - reference["rope_cos"]).max() <= 1e-7
    assert np.abs(sin.numpy() - reference["rope_sin"]).max() <= 1e-7


def test_text_embeddings_match(ours: Any, reference: dict[str, np.ndarray]) -> None:
    got = ours.encode_text(TEXTS)
    assert got.shape == reference["text"].shape == (len(TEXTS), ours.dim)
    assert np.abs(got - reference["text"]).max() <= TOL
    assert np.abs(got - reference["text_batched"]).max() <= TOL


def test_image_embeddings_match(ours: Any, reference: dict[str, np.ndarray], images: list[str]) -> None:
    got = ours.encode_images(images)
    assert np.abs(got - reference["image"]).max() <= TOL
    sims = got @ got.T
    assert sims[~np.eye(len(images), dtype=bool)].max() < 0.99  # the comparison is not vacuous


def test_composed_embeddings_match(ours: Any, reference: dict[str, np.ndarray], images: list[str]) -> None:
    got = ours.encode_composed(images, CAPTIONS)
    assert np.abs(got - reference["composed"]).max() <= TOL
    assert np.abs(got - ours.encode_images(images)).max() > 1e-3  # the caption changes the vector


def test_inputs_as_pil_and_bytes_match_paths(ours: Any, images: list[str]) -> None:
    from PIL import Image

    by_path = ours.encode_images(images[:2])
    as_pil = ours.encode_images([Image.open(p) for p in images[:2]])
    as_bytes = ours.encode_images([Path(p).read_bytes() for p in images[:2]])
    assert np.array_equal(by_path, as_pil) and np.array_equal(by_path, as_bytes)


@pytest.mark.slow
def test_full_shape_parity(tmp_path: Path) -> None:
    """bge-visualized-m3's shape: 24-layer bge-m3 + EVA02-CLIP-L-14 (minutes on 2 cores)."""
    full = os.environ.get("RAG_VISUAL_FULL_DIR")
    if not full:
        pytest.skip("set RAG_VISUAL_FULL_DIR to a folder from `python -m rag.models.visual_testing full DIR`")
    from rag.models.visual_loading import load_visual_encoder

    imgs = _write_images(tmp_path)[:2]
    texts, captions = TEXTS[:2], CAPTIONS[:2]
    ref = run_reference(Path(full), False, imgs, texts, captions, tmp_path)
    ours = load_visual_encoder(full, device="cpu", dtype="float32")
    assert np.abs(ours.encode_text(texts) - ref["text"]).max() <= TOL
    assert np.abs(ours.encode_images(imgs) - ref["image"]).max() <= TOL
    assert np.abs(ours.encode_composed(imgs, captions) - ref["composed"]).max() <= TOL
