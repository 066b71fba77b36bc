"""Visualized BGE loading rules and encoder behaviour on the tiny checkpoint (maths: tests/comparison)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.models.loading import ModelLoadError


@pytest.fixture(scope="module")
def tiny_visual_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rag.models.visual_testing import build_tiny

    return build_tiny(tmp_path_factory.mktemp("tiny-visual"))


@pytest.fixture(scope="module")
def visual(tiny_visual_dir: Path) -> Any:
    from rag.models.visual_loading import load_visual_encoder

    return load_visual_encoder(tiny_visual_dir, device="cpu", dtype="float32")


def _image(color: tuple[int, int, int], size: tuple[int, int] = (80, 60)) -> Any:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).rectangle((10, 10, size[0] - 10, size[1] - 10), fill=color)
    return img


def test_loads_from_folder_file_and_explicit_text_model(tiny_visual_dir: Path, visual: Any) -> None:
    from rag.models.visual_loading import load_visual_encoder

    assert visual.dim == 64 and visual.image_size == 56 and visual.image_tokens == 16
    assert visual.text_folder == tiny_visual_dir / "bge-m3"
    by_file = load_visual_encoder(tiny_visual_dir / "Visualized_m3.pth", device="cpu", dtype="float32")
    renamed = tiny_visual_dir.parent / "renamed"
    renamed.mkdir(exist_ok=True)
    shutil.copy(tiny_visual_dir / "Visualized_m3.pth", renamed / "custom.pth")
    explicit = load_visual_encoder(renamed / "custom.pth", text_model=tiny_visual_dir / "bge-m3",
                                   device="cpu", dtype="float32")
    texts = ["termination for convenience", "公章"]
    assert np.array_equal(visual.encode_text(texts), by_file.encode_text(texts))
    assert np.array_equal(visual.encode_text(texts), explicit.encode_text(texts))


def test_unknown_file_name_needs_text_model(tiny_visual_dir: Path, tmp_path: Path) -> None:
    from rag.models.visual_loading import load_visual_encoder

    shutil.copy(tiny_visual_dir / "Visualized_m3.pth", tmp_path / "custom.pth")
    with pytest.raises(ModelLoadError, match="pass text_model"):
        load_visual_encoder(tmp_path / "custom.pth", device="cpu", dtype="float32")


def test_missing_files_are_named(tmp_path: Path) -> None:
    from rag.models.visual_loading import load_visual_encoder

    with pytest.raises(ModelLoadError, match="does not exist"):
        load_visual_encoder(tmp_path / "nowhere" / "Visualized_m3.pth", device="cpu")
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_visual_encoder("models/Visualized_m3.pth", device="cpu")  # a relative path, not a Hub id
    with pytest.raises(ModelLoadError, match=r"holds no \.pth file"):
        load_visual_encoder(tmp_path, device="cpu")


def test_hub_id_offline_names_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rag.models.visual_loading import load_visual_encoder

    import huggingface_hub.constants as hf_constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ModelLoadError, match=r"Visualized_m3\.pth from BAAI/bge-visualized is not in the local"):
        load_visual_encoder("BAAI/bge-visualized-m3", device="cpu")


def _with_state(tiny_visual_dir: Path, tmp_path: Path, edit: Any) -> Path:
    import torch

    state = torch.load(tiny_visual_dir / "Visualized_m3.pth", weights_only=True)
    edit(state)
    shutil.copytree(tiny_visual_dir / "bge-m3", tmp_path / "bge-m3")
    torch.save(state, tmp_path / "Visualized_m3.pth")
    return tmp_path


def test_missing_weight_fails_instead_of_random(tiny_visual_dir: Path, tmp_path: Path) -> None:
    from rag.models.visual_loading import load_visual_encoder

    folder = _with_state(tiny_visual_dir, tmp_path, lambda s: s.pop("model_visual.visual.blocks.1.mlp.w3.weight"))
    with pytest.raises(ModelLoadError, match=r"EVA tower.*1 missing.*blocks\.1\.mlp\.w3\.weight"):
        load_visual_encoder(folder, device="cpu", dtype="float32")


def test_missing_text_weight_fails(tiny_visual_dir: Path, tmp_path: Path) -> None:
    from rag.models.visual_loading import load_visual_encoder

    folder = _with_state(tiny_visual_dir, tmp_path,
                         lambda s: s.pop("bge_encoder.layer.0.attention.self.query.weight"))
    with pytest.raises(ModelLoadError, match=r"BGE text.*1 missing.*layer\.0\.attention\.self\.query\.weight"):
        load_visual_encoder(folder, device="cpu", dtype="float32")


def test_foreign_keys_and_shapes_are_refused(tiny_visual_dir: Path, tmp_path: Path) -> None:
    import torch

    from rag.models.visual_loading import load_visual_encoder

    a = _with_state(tiny_visual_dir, tmp_path / "a", lambda s: s.__setitem__("classifier.weight", torch.zeros(2)))
    with pytest.raises(ModelLoadError, match="not Visualized BGE's.*classifier.weight"):
        load_visual_encoder(a, device="cpu", dtype="float32")
    b = _with_state(tiny_visual_dir, tmp_path / "b",
                    lambda s: s.__setitem__("visual_proj.weight", torch.zeros(64, 32)))
    with pytest.raises(ModelLoadError, match="visual_proj.*another shape"):
        load_visual_encoder(b, device="cpu", dtype="float32")


def test_not_a_checkpoint(tiny_visual_dir: Path, tmp_path: Path) -> None:
    from rag.models.visual_loading import load_visual_encoder

    (tmp_path / "Visualized_m3.pth").write_bytes(b"not a torch file")
    with pytest.raises(ModelLoadError, match="cannot read Visualized BGE checkpoint"):
        load_visual_encoder(tmp_path / "Visualized_m3.pth", text_model=tiny_visual_dir / "bge-m3", device="cpu")


def test_outputs_are_unit_vectors_in_input_order(visual: Any) -> None:
    imgs = [_image((200, 0, 0)), _image((0, 0, 200), (40, 120)), _image((0, 150, 0), (300, 90))]
    texts = ["seal", "the signature block of the Licensee, signed and dated", ""]
    for out in (visual.encode_text(texts), visual.encode_images(imgs), visual.encode_composed(imgs, texts)):
        assert out.dtype == np.float32 and out.shape == (3, visual.dim)
        assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    one_by_one = np.concatenate([visual.encode_composed([im], [t]) for im, t in zip(imgs, texts)])
    assert np.abs(visual.encode_composed(imgs, texts) - one_by_one).max() < 1e-5


def test_empty_inputs_and_bad_arguments(visual: Any) -> None:
    assert visual.encode_text([]).shape == (0, visual.dim)
    assert visual.encode_images([]).shape == (0, visual.dim)
    with pytest.raises(TypeError, match="not a single str"):
        visual.encode_text("a query")
    with pytest.raises(ValueError, match="2 images but 1 texts"):
        visual.encode_composed([_image((1, 2, 3))] * 2, ["x"])
    with pytest.raises(ValueError, match="cannot read image"):
        visual.encode_images([b"not an image"])
    with pytest.raises(TypeError, match="PIL image, a path or bytes"):
        visual.encode_images([42])


def test_long_text_beside_an_image_is_cut_to_the_position_table(visual: Any) -> None:
    long = " ".join(["The Supplier shall deliver the Goods to the site shown in Exhibit C."] * 200)
    assert len(visual.tokenizer(long)["input_ids"]) > visual.max_composed_length
    out = visual.encode_composed([_image((9, 9, 9))], [long])
    assert np.isfinite(out).all()


def test_bfloat16_stays_close_to_float32(tiny_visual_dir: Path, visual: Any) -> None:
    from rag.models.visual_loading import load_visual_encoder

    bf16 = load_visual_encoder(tiny_visual_dir, device="cpu", dtype="bfloat16")
    imgs = [_image((200, 0, 0)), _image((0, 0, 200))]
    cos = np.sum(bf16.encode_composed(imgs, ["a", "b"]) * visual.encode_composed(imgs, ["a", "b"]), axis=1)
    assert cos.min() > 0.98


def test_importing_the_modules_is_light(python_runner: Any) -> None:
    code = ("import sys, rag.models.visual_loading, rag.models.visual_bge, rag.models.visual_preprocess; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = python_runner("-c", code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_builder_cli(python_runner: Any, tmp_path: Path) -> None:
    out = python_runner("-m", "rag.models.visual_testing", "tiny", str(tmp_path / "t"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "t" / "Visualized_m3.pth").is_file() and (tmp_path / "t" / "bge-m3" / "config.json").is_file()
